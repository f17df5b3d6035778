"""OpenDSS models in and out: :func:`read_dss` (a balanced equivalent :class:`Network`) and
:func:`write_dss`.

A pure-Python reader: the OpenDSS engine is not needed (``dss-python`` is used by the tests only, as
an oracle). It interprets the script as OpenDSS would (``New``, ``Edit``, ``~``/``More``,
``Class.Name.prop=value``, ``like=``, RPN inline math ``(0.00625 12 * 1 +)``, ``Redirect`` and
``Compile`` with their relative-path rules, ``Clear``, ``Open``/``Close``, ``Enable``/``Disable``) and
then builds the balanced single-phase equivalent of the three-phase model.

Supported: ``Circuit``/``Vsource.source`` (the slack), ``LineCode``, ``Line`` (linecode, phase matrices
or sequence impedances, ``switch=yes``, ``enabled``, open terminals), ``Load``, ``Capacitor``,
``Transformer`` (two windings), ``RegControl`` (taps fixed at the transformer's present tap).
``EnergyMeter`` and ``Monitor`` (measure only) and the commands in ``_IGNORED_COMMANDS`` are skipped
because they do not change the network. Anything else (another element class, an unknown command,
property or ``Set`` option, a three-winding transformer, ...) raises
:class:`~grid.errors.DssUnsupportedError` naming the file, line and element: nothing is dropped
silently and nothing partial is returned.

Balanced equivalent (Kersting, *Distribution System Modeling and Analysis*, chs. 4, 6, 10):

* **Lines.** From the phase impedance matrix (or from sequence values via ``Zs = (2 Z1 + Z0)/3``,
  ``Zm = (Z0 - Z1)/3``) take the mean self impedance ``Zs`` and mean mutual ``Zm``. A three-phase
  segment gets its positive-sequence impedance ``Z1 = Zs - Zm`` (the ``z11`` term of the symmetrical
  component transform of the averaged matrix). An ``n``-phase lateral that carries the
  three-phase-total load in the equivalent gets ``Z_eq = (3/n) (Zs - (n-1)/2 Zm)``: for one phase
  ``3 Zs``, for two phases ``1.5 (Zs - Zm/2)``. With these, the equivalent reproduces both the
  series loss and the voltage drop of an ``n``-phase lateral whose load is spread evenly over its
  phases, whose currents are 120 degrees apart (``Re(I_a* I_c) = -|I|^2/2``); for ``n = 3`` it is Z1.
* **Line charging** (``line_charging=True``): ``n V_LN^2 w (Cs - (n-1)/2 Cm) length``, the same
  rule applied to the capacitance matrix, as a constant-admittance shunt, half at each end.
* **Loads** are lumped per bus as three-phase totals (sum over the phases and elements) and treated
  as constant power at their nominal kW/kvar: OpenDSS ``model=2`` (Z) and ``model=5`` (I) loads are
  approximated, as are delta connections.
* **Capacitors** are constant admittance: the kvar they inject at 1.0 pu of the bus base,
  ``kvar (V_nominal / kV_rated)^2``.
* **Transformers and regulators** are ideal ratios ``tap = tap_1 / tap_2`` (project convention:
  ``V_child = V_parent / tap - Z I``, so a boosting regulator at ``1 + 0.00625 n`` has ``tap < 1``)
  followed by their short-circuit impedance ``(%r_1 + %r_2 + j X_HL)/100`` referred to the secondary.
  Single-phase units between the same two buses form one bank: the mean of their taps, and the
  lateral rule ``3/n`` on their per-phase impedance. Winding phase shifts (delta-wye) are not
  modelled: angles downstream of such a transformer differ from OpenDSS by a multiple of 30 degrees.
* **One voltage base.** Bus bases are propagated from the source through the transformers' rated
  ratios; every impedance is referred to the slack bus's base (``Z (kV_slack / kV_bus)^2``), so an
  in-line transformer (IEEE 34's XFM-1, 24.9/4.16 kV) is a branch at nominal ratio. Currents
  (``i_a``) on the far side of such a transformer are referred to the slack base too.
* **Auxiliary buses.** A bus whose name is not an integer (``814r``, ``150r``, ``61s``) that carries no
  load or capacitor and joins exactly two series elements is eliminated: the two branches are
  composed exactly, ``(t1, Z1) then (t2, Z2) = (t1 t2, Z1/t2^2 + Z2)``, and any line charging at it
  moves to the far end of its line. Other non-integer buses get labels from ``10**d`` up (``d`` the
  number of digits of the largest integer bus); :func:`read_dss_model` returns the mapping.
* **Switches.** A closed switch is a short line. A line that is disabled or has an open terminal
  (``Open Line.X term=2``) is a normally-open tie.
* **Source.** The slack is the circuit's ``bus1`` at ``pu`` and ``angle``; the Vsource's Thevenin
  impedance is not modelled (an ideal slack). ``slack_bus=`` moves the slack down to another bus,
  dropping the (load-free) chain above it, at the source's ``pu`` divided by the taps on the way.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import (
    DssDisconnectedError,
    DssError,
    DssFileNotFoundError,
    DssLoopError,
    DssMissingLineCodeError,
    DssPhaseError,
    DssSyntaxError,
    DssUndefinedError,
    DssUnsupportedError,
)
from .network import Network

__all__ = ["read_dss", "read_dss_model", "write_dss", "DssModel"]

#: Commands that do not change the network (solution, reporting, plotting, meters' bookkeeping).
_IGNORED_COMMANDS = frozenset(
    "solve calcvoltagebases calcv buscoords show plot interpolate help export summary visualize "
    "sample reset closedi makebuslist cleanup dump".split()
)
#: ``Set`` options that do not change the balanced network (taps are fixed anyway; voltage bases
#: are propagated from the source through the transformers' ratings).
_IGNORED_SET = frozenset(
    "defaultbasefrequency defaultbasefreq voltagebases controlmode maxcontroliter marktransformers "
    "maxiterations maxiter tolerance mode algorithm datapath basefrequency frequency editor "
    "markswitches markcapacitors markregulators markpvsystems markstorage demandinterval overloadreport "
    "voltexceptionreport trapezoidal normvminpu normvmaxpu emergvminpu emergvmaxpu ueweight lossweight "
    "ueregs lossregs number hour sec year time".split()
)
#: Element classes that measure and do not change the network.
_IGNORED_CLASSES = frozenset({"energymeter", "monitor"})

_LINE_PROPS = frozenset(
    "bus1 bus2 linecode length phases r1 x1 r0 x0 c1 c0 b1 b0 rmatrix xmatrix cmatrix switch units "
    "normamps emergamps faultrate pctperm repair basefreq enabled like rg xg rho earthmodel "
    "seasons ratings linetype".split()
)
_LINECODE_PROPS = frozenset(
    "nphases r1 x1 r0 x0 c1 c0 b1 b0 units rmatrix xmatrix cmatrix basefreq normamps emergamps "
    "faultrate pctperm repair rg xg rho like seasons ratings linetype".split()
)
_LOAD_PROPS = frozenset(
    "bus1 phases kv kw kvar pf kva conn model yearly daily duty growth vminpu vmaxpu vminnorm "
    "vminemerg status class xfkva allocationfactor cvrwatts cvrvars zipv %mean %stddev spectrum "
    "basefreq enabled like numcust rneut xneut kwh kwhdays cfactor cvrcurve %seriesrl "
    "relweight vlowpu puxharm xrharm".split()
)
_CAP_PROPS = frozenset(
    "bus1 bus2 phases kvar kv conn numsteps states basefreq enabled like normamps emergamps "
    "faultrate pctperm repair r xl harm".split()
)
_XF_WINDING_PROPS = frozenset("bus conn kv kva tap %r rneut xneut".split())
_XF_ARRAY_PROPS = {"buses": "bus", "conns": "conn", "kvs": "kv", "kvas": "kva", "taps": "tap", "%rs": "%r"}
_XF_PROPS = frozenset(
    "phases windings wdg xhl xht xlt x12 x13 x23 thermal n m flrise hsrise %loadloss %noloadloss "
    "normhkva emerghkva sub subname %imag ppm_antifloat ppm bank xrconst leadlag core basefreq "
    "enabled like faultrate pctperm repair maxtap mintap numtaps rdcohms seasons ratings".split()
) | _XF_WINDING_PROPS | frozenset(_XF_ARRAY_PROPS)
_REG_PROPS = frozenset(
    "transformer winding vreg band ptratio ctprim r x bus delay reversible revvreg revband revr revx "
    "tapdelay debugtrace maxtapchange inversetime tapwinding vlimit ptphase revthreshold revdelay "
    "revneutral eventlog remoteptratio tapnum reset basefreq enabled like".split()
)
_SOURCE_PROPS = frozenset(
    "basekv bus1 pu angle frequency phases mvasc3 mvasc1 x1r1 x0r0 isc3 isc1 r1 x1 r0 x0 scantype "
    "sequence basefreq enabled like basemva puz1 puz0 puz2 z1 z0 z2 spectrum yearly daily duty "
    "model puzideal".split()
)
_PROPS = {
    "line": _LINE_PROPS, "linecode": _LINECODE_PROPS, "load": _LOAD_PROPS, "capacitor": _CAP_PROPS,
    "transformer": _XF_PROPS, "regcontrol": _REG_PROPS, "vsource": _SOURCE_PROPS,
}
#: Metres per length unit (OpenDSS ``units``); ``none`` means "same as the impedances".
_UNIT_M = {"mi": 1609.344, "kft": 304.8, "km": 1000.0, "m": 1.0, "ft": 0.3048, "in": 0.0254, "cm": 0.01}
_TRUE = {"y", "yes", "true", "t", "1"}


# --------------------------------------------------------------------------- parsing
@dataclass
class _Prop:
    value: str
    file: str
    line: int


@dataclass
class _Element:
    cls: str
    name: str
    file: str
    line: int
    props: dict[str, _Prop] = field(default_factory=dict)
    windings: list[dict[str, _Prop]] = field(default_factory=lambda: [{}, {}])
    active_wdg: int = 0
    open_terminals: set[int] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.cls}.{self.name}"

    def get(self, key: str, default: Any = None) -> Any:
        p = self.props.get(key)
        return default if p is None else p.value


_OPEN = {"(": ")", "[": "]", "{": "}", '"': '"', "'": "'"}


def _strip_comment(text: str) -> str:
    depth: list[str] = []
    for i, ch in enumerate(text):
        if depth:
            if ch == _OPEN[depth[-1]]:
                depth.pop()
            elif ch in _OPEN and depth[-1] not in "\"'":
                depth.append(ch)
            continue
        if ch in _OPEN:
            depth.append(ch)
        elif ch == "!" or text.startswith("//", i):
            return text[:i]
    return text


def _read_item(text: str, i: int, file: str, line: int) -> tuple[str, int]:
    """One item starting at ``text[i]``: a bracketed/quoted group (kept with its delimiters) or a
    run of characters up to whitespace, ``=`` or ``,``."""
    if text[i] in _OPEN:
        stack = [text[i]]
        j = i + 1
        while j < len(text) and stack:
            ch = text[j]
            if ch == _OPEN[stack[-1]]:
                stack.pop()
            elif ch in _OPEN and stack[-1] not in "\"'":
                stack.append(ch)
            j += 1
        if stack:
            raise DssSyntaxError(f"unbalanced {text[i]!r} in {text.strip()!r}", file=file, line=line)
        return text[i:j], j
    j = i
    while j < len(text) and not text[j].isspace() and text[j] not in "=,":
        j += 1
    return text[i:j], j


def _tokenize(text: str, file: str, line: int) -> list[tuple[str | None, str]]:
    """``[(key or None, value), ...]`` of one command line (comments already stripped)."""
    out: list[tuple[str | None, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and (text[i].isspace() or text[i] == ","):
            i += 1
        if i >= n:
            return out
        item, i = _read_item(text, i, file, line)
        k = i
        while k < n and text[k].isspace():
            k += 1
        if k < n and text[k] == "=":
            k += 1
            while k < n and text[k].isspace():
                k += 1
            if k >= n:
                out.append((item, ""))
                return out
            value, i = _read_item(text, k, file, line)
            out.append((item, value))
        else:
            out.append((None, item))


def _unwrap(value: str) -> str:
    if len(value) >= 2 and value[0] in _OPEN and value[-1] == _OPEN[value[0]]:
        return value[1:-1]
    return value


_RPN_OPS = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
    "^": lambda a, b: a**b,
}


def _number(value: str, what: str, file: str, line: int) -> float:
    """A number, or OpenDSS RPN inline math in parentheses: ``(0.00625 12 * 1 +)``."""
    body = _unwrap(value.strip()).strip()
    try:
        return float(body)
    except ValueError:
        pass
    stack: list[float] = []
    try:
        for tok in body.replace(",", " ").split():
            low = tok.lower()
            if tok in _RPN_OPS:
                b, a = stack.pop(), stack.pop()
                stack.append(_RPN_OPS[tok](a, b))
            elif low == "sqrt":
                stack.append(math.sqrt(stack.pop()))
            elif low == "sqr":
                stack.append(stack.pop() ** 2)
            elif low == "inv":
                stack.append(1.0 / stack.pop())
            else:
                stack.append(float(tok))
        if len(stack) != 1:
            raise ValueError
    except (ValueError, IndexError, ZeroDivisionError):
        raise DssSyntaxError(f"{what}: {value!r} is not a number", file=file, line=line) from None
    return stack[0]


def _numbers(value: str, what: str, file: str, line: int) -> list[float]:
    return [_number(t, what, file, line) for t in re.split(r"[\s,|]+", _unwrap(value.strip())) if t]


def _strings(value: str) -> list[str]:
    return [t for t in re.split(r"[\s,]+", _unwrap(value.strip())) if t]


class _Interpreter:
    """Runs an OpenDSS script into element tables (no electrical meaning yet)."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.elements: dict[tuple[str, str], _Element] = {}
        self.active: _Element | None = None
        self.active_ignored = False
        self.circuit: _Element | None = None

    # ------------------------------------------------------------------ files
    def run_file(self, path: Path, cwd: Path, *, compile_: bool, stack: tuple[Path, ...] = ()) -> Path:
        """Run ``path`` (resolved against ``cwd``). Returns the directory in force afterwards: the
        file's own for Compile (OpenDSS changes directory), ``cwd`` again for Redirect."""
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise DssFileNotFoundError(f"cannot read {path}: {exc.strerror}", file=str(path)) from None
        if path.resolve() in stack:
            raise DssSyntaxError(f"{path} redirects to itself (through {[str(p) for p in stack]})")
        here = path.parent
        in_block = False
        for lineno, raw in enumerate(text.splitlines(), start=1):
            s = raw.strip()
            if in_block:  # /* ... */ block comment
                if "*/" in s:
                    in_block = False
                continue
            if s.startswith("/*"):
                in_block = "*/" not in s
                continue
            s = _strip_comment(s).strip()
            if not s:
                continue
            here = self.command(s, str(path), lineno, here, stack + (path.resolve(),))
        return here if compile_ else cwd

    # ------------------------------------------------------------------ commands
    def command(self, s: str, file: str, line: int, cwd: Path, stack: tuple[Path, ...]) -> Path:
        if s.startswith("~"):
            s = "more " + s[1:]
        toks = _tokenize(s, file, line)
        if not toks:
            return cwd
        key, first = toks[0]
        if key is not None:  # Class.Name.prop=value ... (an implicit Edit)
            parts = key.split(".")
            if len(parts) < 3:
                raise DssUnsupportedError(f"cannot read command {s!r}", file=file, line=line)
            el = self._find(parts[0].lower(), ".".join(parts[1:-1]).lower(), file, line)
            self.set_props(el, [(parts[-1], first)] + toks[1:], file, line)
            return cwd
        verb = first.lower()
        rest = toks[1:]
        if verb in ("new", "edit"):
            if not rest:
                raise DssSyntaxError(f"{verb} needs an element", file=file, line=line)
            k0, v0 = rest[0]
            target = v0 if k0 is None or k0.lower() == "object" else None
            if target is None or "." not in target:
                raise DssSyntaxError(f"{verb}: expected Class.Name, got {s!r}", file=file, line=line)
            cls, name = target.split(".", 1)
            cls, name = cls.lower(), name.lower()
            if cls == "circuit":
                if verb == "edit":
                    raise DssUnsupportedError("Edit Circuit is not supported", file=file, line=line)
                self.clear()
                el = _Element("vsource", "source", file, line)
                el.props["_circuit"] = _Prop(name, file, line)
                self.elements[("vsource", "source")] = el
                self.circuit = el
            elif verb == "new":
                if cls in _IGNORED_CLASSES:
                    self.active = None
                    self.active_ignored = True
                    return cwd
                if cls not in _PROPS or cls == "vsource":
                    raise DssUnsupportedError(
                        f"element class {cls!r} ({target}) is not supported by grid.io.read_dss "
                        f"(supported: circuit, {', '.join(sorted(set(_PROPS) - {'vsource'}))}; "
                        f"ignored: {', '.join(sorted(_IGNORED_CLASSES))})",
                        file=file, line=line,
                    )
                el = _Element(cls, name, file, line)
                self.elements[(cls, name)] = el
            else:
                el = self._find(cls, name, file, line)
            self.active = el
            self.active_ignored = False
            self.set_props(el, rest[1:], file, line)
        elif verb in ("more", "m", "~"):
            if self.active is None:
                if self.active_ignored:  # more properties of an EnergyMeter/Monitor
                    return cwd
                raise DssSyntaxError("'~' (More) with no active element", file=file, line=line)
            self.set_props(self.active, rest, file, line)
        elif verb in ("redirect", "compile"):
            if not rest:
                raise DssSyntaxError(f"{verb} needs a file name", file=file, line=line)
            target = Path(_unwrap(rest[0][1].strip()))
            full = target if target.is_absolute() else cwd / target
            if not full.is_file():
                raise DssFileNotFoundError(
                    f"{verb} {rest[0][1]}: file not found (resolved to {full})", file=file, line=line
                )
            return self.run_file(full, cwd, compile_=verb == "compile", stack=stack)
        elif verb == "clear":
            self.clear()
        elif verb == "set":
            for k, v in rest:
                opt = (k or v).lower()
                if opt not in _IGNORED_SET:
                    raise DssUnsupportedError(
                        f"Set option {opt!r} is not supported (it may change the network)",
                        file=file, line=line,
                    )
        elif verb in ("open", "close"):
            if not rest:
                raise DssSyntaxError(f"{verb} needs an element", file=file, line=line)
            cls, _, name = rest[0][1].partition(".")
            el = self._find(cls.lower(), name.lower(), file, line)
            term = 1
            for k, v in rest[1:]:
                if k is None or k.lower() in ("term", "terminal"):
                    term = int(_number(v, "terminal", file, line))
                elif k.lower() not in ("cond", "conductor"):
                    raise DssUnsupportedError(f"{verb}: unknown option {k!r}", file=file, line=line)
                elif int(_number(v, "conductor", file, line)) != 0:
                    raise DssUnsupportedError(
                        f"{verb} {el.label}: opening single conductors is not supported", file=file, line=line
                    )
            if verb == "open":
                el.open_terminals.add(term)
            else:
                el.open_terminals.discard(term)
        elif verb in ("enable", "disable"):
            if not rest:
                raise DssSyntaxError(f"{verb} needs an element", file=file, line=line)
            cls, _, name = rest[0][1].partition(".")
            el = self._find(cls.lower(), name.lower(), file, line)
            el.props["enabled"] = _Prop("yes" if verb == "enable" else "no", file, line)
        elif verb in _IGNORED_COMMANDS:
            pass
        else:
            raise DssUnsupportedError(f"command {first!r} is not supported", file=file, line=line)
        return cwd

    def _find(self, cls: str, name: str, file: str, line: int) -> _Element:
        circ = self.circuit
        if cls in ("circuit", "vsource") and circ is not None and name in (circ.get("_circuit"), "source"):
            return self.circuit
        el = self.elements.get((cls, name))
        if el is None:
            raise DssUndefinedError(f"{cls}.{name} is not defined", file=file, line=line)
        return el

    def set_props(self, el: _Element, toks: list[tuple[str | None, str]], file: str, line: int) -> None:
        allowed = _PROPS[el.cls]
        for k, v in toks:
            if k is None:
                raise DssUnsupportedError(
                    f"{el.label}: positional property value {v!r} is not supported; write name=value",
                    file=file, line=line,
                )
            key = k.lower()
            if key not in allowed:
                raise DssUnsupportedError(
                    f"{el.label}: property {k!r} is not supported", file=file, line=line
                )
            if key == "like":
                src = self._find(el.cls, v.lower(), file, line)
                for pk, pv in src.props.items():
                    if pk != "_circuit":
                        el.props[pk] = pv
                el.windings = [dict(w) for w in src.windings]
                continue
            if el.cls == "transformer":
                if key == "wdg":
                    w = int(_number(v, "wdg", file, line))
                    if w < 1:
                        raise DssSyntaxError(f"{el.label}: wdg={v}", file=file, line=line)
                    while len(el.windings) < w:
                        el.windings.append({})
                    el.active_wdg = w - 1
                    continue
                if key in _XF_WINDING_PROPS:
                    el.windings[el.active_wdg][key] = _Prop(v, file, line)
                    continue
                if key in _XF_ARRAY_PROPS:
                    vals = _strings(v)
                    while len(el.windings) < len(vals):
                        el.windings.append({})
                    for w, item in enumerate(vals):
                        el.windings[w][_XF_ARRAY_PROPS[key]] = _Prop(item, file, line)
                    continue
                if key == "windings":
                    nw = int(_number(v, "windings", file, line))
                    while len(el.windings) < nw:
                        el.windings.append({})
            el.props[key] = _Prop(v, file, line)


# --------------------------------------------------------------------------- building
def _bus_ref(value: str) -> tuple[str, list[int]]:
    parts = _unwrap(value.strip()).lower().split(".")
    nodes = [int(p) for p in parts[1:] if p.strip() not in ("", "0")]
    return parts[0], nodes


def _prop_num(el: _Element, key: str, default: float | None) -> float | None:
    p = el.props.get(key)
    return default if p is None else _number(p.value, f"{el.label} {key}", p.file, p.line)


def _enabled(el: _Element) -> bool:
    v = el.get("enabled")
    return v is None or _unwrap(v).strip().lower() in _TRUE


def _err(cls: type[DssError], el: _Element, msg: str, key: str | None = None) -> DssError:
    p = el.props.get(key) if key else None
    file, line = (p.file, p.line) if p else (el.file, el.line)
    return cls(f"{el.label}: {msg}", file=file, line=line)


def _matrix(el: _Element, key: str, n: int) -> np.ndarray | None:
    p = el.props.get(key)
    if p is None:
        return None
    rows = [r for r in _unwrap(p.value.strip()).split("|")]
    vals = [[_number(t, f"{el.label} {key}", p.file, p.line) for t in re.split(r"[\s,]+", r.strip()) if t]
            for r in rows]
    m = np.zeros((n, n))
    if len(vals) == n and all(len(r) == i + 1 for i, r in enumerate(vals)):  # lower triangle
        for i, r in enumerate(vals):
            for j, x in enumerate(r):
                m[i, j] = m[j, i] = x
    elif len(vals) == n and all(len(r) == n for r in vals):
        m[:] = vals
    elif len(vals) == 1 and len(vals[0]) == n * n:
        m[:] = np.reshape(vals[0], (n, n))
    else:
        raise _err(
            DssSyntaxError, el, f"{key} is not a {n}x{n} matrix (full or lower triangle): {p.value}", key
        )
    return m


@dataclass
class _LineZ:
    zs: complex  # mean self impedance, ohm per unit length
    zm: complex  # mean mutual
    cs: float  # nF per unit length
    cm: float
    units: str
    normamps: float


#: OpenDSS's defaults for a line's sequence data, and those ``switch=yes`` sets (per unit length).
_SEQ_DEFAULTS = {"r1": 0.058, "x1": 0.1206, "r0": 0.1784, "x0": 0.4047, "c1": 3.4, "c0": 1.6}
_SWITCH_DEFAULTS = {"r1": 1.0, "x1": 1.0, "r0": 1.0, "x0": 1.0, "c1": 1.1, "c0": 1.0}


def _seq_to_phase(el: _Element, switch: bool) -> tuple[complex, complex, float, float] | None:
    """Mean self and mutual Z and C from sequence data; None if the element gives none (and is no
    switch). Missing values take OpenDSS's defaults (those of ``switch=yes`` for a switch)."""
    keys = ("r1", "x1", "r0", "x0", "c1", "c0", "b1", "b0")
    if not switch and not any(k in el.props for k in keys):
        return None
    d = _SWITCH_DEFAULTS if switch else _SEQ_DEFAULTS
    r1, x1, r0, x0, c1, c0 = (_prop_num(el, k, d[k]) for k in ("r1", "x1", "r0", "x0", "c1", "c0"))
    w = 2 * math.pi * _prop_num(el, "basefreq", 60.0)
    if "b1" in el.props:  # microsiemens per unit length
        c1 = _prop_num(el, "b1", 0.0) / w * 1e3
    if "b0" in el.props:
        c0 = _prop_num(el, "b0", 0.0) / w * 1e3
    z1, z0 = complex(r1, x1), complex(r0, x0)
    return (2 * z1 + z0) / 3, (z0 - z1) / 3, (2 * c1 + c0) / 3, (c0 - c1) / 3


def _means(m: np.ndarray) -> tuple[float, float]:
    n = m.shape[0]
    off = (m.sum() - np.trace(m)) / (n * (n - 1)) if n > 1 else 0.0
    return float(np.trace(m) / n), float(off)


def _impedance_of(el: _Element, n: int, *, switch_defaults: bool) -> _LineZ | None:
    """Mean self/mutual impedance and capacitance per unit length of a line or linecode."""
    units = _unwrap(el.get("units", "none")).lower()
    normamps = _prop_num(el, "normamps", math.nan)
    rm = _matrix(el, "rmatrix", n)
    xm = _matrix(el, "xmatrix", n)
    if (rm is None) != (xm is None):
        key = "rmatrix" if rm is not None else "xmatrix"
        raise _err(DssUnsupportedError, el, "give both rmatrix and xmatrix, or neither", key)
    if rm is not None:
        rs, rmu = _means(rm)
        xs, xmu = _means(xm)
        cmat = _matrix(el, "cmatrix", n)
        if cmat is None:  # OpenDSS keeps its default capacitance unless c1/c0 or cmatrix is given
            seq = _seq_to_phase(el, switch_defaults)
            c1, c0 = _SEQ_DEFAULTS["c1"], _SEQ_DEFAULTS["c0"]
            cs, cmu = (seq[2], seq[3]) if seq is not None else ((2 * c1 + c0) / 3, (c0 - c1) / 3)
        else:
            cs, cmu = _means(cmat)
        return _LineZ(complex(rs, xs), complex(rmu, xmu), cs, cmu, units, normamps)
    seq = _seq_to_phase(el, switch_defaults)
    if seq is None:
        return None
    return _LineZ(seq[0], seq[1], seq[2], seq[3], units, normamps)


def _lateral(zs: complex, zm: complex, n: int) -> complex:
    """Kersting-style balanced equivalent of an ``n``-phase segment: ``(3/n) (Zs - (n-1)/2 Zm)``."""
    return (3.0 / n) * (zs - 0.5 * (n - 1) * zm)


@dataclass
class _Branch:
    a: str
    b: str
    tap: float  # ideal ratio at the a-end (project convention)
    z: complex  # ohm on the b-end bus base
    kv_ratio: float  # base(b) / base(a)
    phases: set[int]
    el: _Element
    is_line: bool
    closed: bool
    q_charge_kvar: float = 0.0  # total charging at 1 pu (split half/half)
    i_max_a: float = math.nan
    extra: list[_Element] = field(default_factory=list)


@dataclass(frozen=True)
class DssModel:
    """What :func:`read_dss_model` returns: the network and the names behind its integer labels.

    Attributes
    ----------
    network : Network
    bus_names : dict[int, str]
        OpenDSS bus name of each label (lower case, as OpenDSS stores them).
    bus_kv : dict[str, float]
        Nominal line-to-line kV of every OpenDSS bus (including eliminated auxiliary buses).
    """

    network: Network
    bus_names: dict[int, str]
    bus_kv: dict[str, float]


def read_dss(
    path: str | Path,
    *,
    slack_bus: str | int | None = None,
    slack_va_deg: float | None = None,
    line_charging: bool = True,
    name: str | None = None,
) -> Network:
    """Read an OpenDSS model into a balanced single-phase equivalent :class:`Network`.

    See the module docstring for the rules. ``path`` is run like an OpenDSS ``Compile``.

    Parameters
    ----------
    slack_bus : str or int, optional
        Make this bus the slack (for example ``"800"`` below IEEE 34's stiff substation transformer);
        the elements above it must carry no load or capacitor. Default: the circuit's ``bus1``.
    slack_va_deg : float, optional
        Slack angle; default the circuit's ``angle``.
    line_charging : bool
        Model line capacitance as shunts (half at each end).

    Raises
    ------
    DssError
        A subclass naming the file, line and element: ``DssUnsupportedError`` (unknown class,
        command or property), ``DssMissingLineCodeError``, ``DssPhaseError``, ``DssLoopError``,
        ``DssDisconnectedError``, ``DssFileNotFoundError``, ``DssSyntaxError``.
    """
    return read_dss_model(
        path, slack_bus=slack_bus, slack_va_deg=slack_va_deg, line_charging=line_charging, name=name
    ).network


def read_dss_model(
    path: str | Path,
    *,
    slack_bus: str | int | None = None,
    slack_va_deg: float | None = None,
    line_charging: bool = True,
    name: str | None = None,
) -> DssModel:
    """:func:`read_dss`, also returning the bus names behind the labels and every bus's kV."""
    path = Path(str(path))
    if not path.is_file():
        raise DssFileNotFoundError(f"file not found: {path}", file=str(path))
    it = _Interpreter()
    it.run_file(path, path.parent, compile_=True)
    return _build(it, path, slack_bus, slack_va_deg, line_charging, name)


def _build(
    it: _Interpreter, path: Path, slack_bus: Any, slack_va: float | None, charging: bool, name: str | None
) -> DssModel:
    src = it.circuit
    if src is None:
        raise DssError("no circuit defined (New Circuit.<name> ...)", file=str(path))
    els = list(it.elements.values())
    source_bus, _ = _bus_ref(src.get("bus1", "sourcebus"))
    base_src = _prop_num(src, "basekv", 115.0)
    pu = _prop_num(src, "pu", 1.0)
    angle = _prop_num(src, "angle", 0.0)
    if src.get("bus2") is not None:
        raise _err(DssUnsupportedError, src, "an ungrounded source (bus2) is not supported", "bus2")

    branches: list[_Branch] = []
    xf_groups: dict[tuple[str, str], list[_Element]] = {}
    shunt_els: list[_Element] = []
    for el in els:
        if el.cls in ("linecode", "regcontrol", "vsource"):
            continue
        if el.cls in ("load", "capacitor"):
            if _enabled(el):
                shunt_els.append(el)
            continue
        if el.cls == "line":
            branches.append(_line_branch(el, it))
        elif el.cls == "transformer":
            if not _enabled(el):
                raise _err(DssUnsupportedError, el, "a disabled transformer is not supported", "enabled")
            if el.open_terminals:
                raise _err(DssUnsupportedError, el, "a transformer with an open terminal is not supported")
            if len(el.windings) != 2 or int(_prop_num(el, "windings", 2)) != 2:
                raise _err(DssUnsupportedError, el, "only two-winding transformers are supported", "windings")
            a, _ = _bus_ref(_wprop(el, 0, "bus"))
            b, _ = _bus_ref(_wprop(el, 1, "bus"))
            xf_groups.setdefault((a, b), []).append(el)
    for (a, b), group in xf_groups.items():
        branches.append(_xf_branch(a, b, group))
    for el in els:  # RegControl: taps fixed; check that its transformer exists
        if el.cls == "regcontrol" and _enabled(el):
            t = el.get("transformer")
            if t is None or ("transformer", _unwrap(t).lower()) not in it.elements:
                raise _err(DssUndefinedError, el, f"transformer {t!r} is not defined", "transformer")

    # ---- radial tree from the source (closed branches), with file/line in every error
    adj: dict[str, list[tuple[int, str]]] = {}
    for k, br in enumerate(branches):
        if br.closed:
            adj.setdefault(br.a, []).append((k, br.b))
            adj.setdefault(br.b, []).append((k, br.a))
    if source_bus not in adj:
        raise _err(
            DssDisconnectedError, src, f"the source bus {source_bus!r} has no line or transformer", "bus1"
        )
    parent: dict[str, tuple[str, int] | None] = {source_bus: None}
    order = [source_bus]
    used: set[int] = set()
    queue = deque([source_bus])
    while queue:
        u = queue.popleft()
        for k, v in adj[u]:
            if k in used:
                continue
            used.add(k)
            if v in parent:
                el = branches[k].el
                raise DssLoopError(
                    f"{el.label} ({u} - {v}) closes a loop: a radial feeder needs it open "
                    f"(Open {el.label} term=2, or enabled=no)", file=el.file, line=el.line,
                )
            parent[v] = (u, k)
            order.append(v)
            queue.append(v)
    for br in branches:
        for bus in (br.a, br.b):
            if bus in parent:
                continue
            if br.closed:
                raise DssDisconnectedError(
                    f"{br.el.label}: bus {bus!r} is not reached from the source {source_bus!r} through "
                    f"closed lines and transformers", file=br.el.file, line=br.el.line,
                )
            raise DssDisconnectedError(
                f"{br.el.label}: open switch to bus {bus!r}, which nothing else feeds (a dead-end "
                f"alternate-feed bus); a Network cannot hold an unenergised bus: close the switch or "
                f"remove it", file=br.el.file, line=br.el.line,
            )

    # ---- orient, propagate voltage bases and phases
    bus_kv = {source_bus: base_src}
    phases: dict[str, set[int]] = {source_bus: {1, 2, 3}}
    feeder: dict[str, _Branch] = {}
    for v in order[1:]:
        u, k = parent[v]  # type: ignore[misc]
        br = branches[k]
        if br.a != u:  # flip: an ideal t:1 at the child becomes 1/t at the parent, Z referred by t^2
            br.a, br.b = br.b, br.a
            br.z = br.z * br.tap**2 / br.kv_ratio**2
            br.tap = 1.0 / br.tap
            br.kv_ratio = 1.0 / br.kv_ratio
        bus_kv[v] = bus_kv[u] * br.kv_ratio
        if not br.phases <= phases[u]:
            raise _err(
                DssPhaseError, br.el,
                f"uses phases {sorted(br.phases)} of bus {u!r}, which has only {sorted(phases[u])}",
            )
        phases[v] = set(br.phases)
        feeder[v] = br
    for br in branches:
        if not br.closed and not (br.phases <= phases[br.a] and br.phases <= phases[br.b]):
            # a tie's phases must exist at both of its ends
            raise _err(DssPhaseError, br.el, f"phases {sorted(br.phases)} not present at both ends")

    # ---- slack (optionally moved down)
    slack = source_bus
    vm = pu
    if slack_bus is not None:
        slack = str(slack_bus).lower()
        if slack not in parent:
            raise DssError(f"slack_bus {slack_bus!r} is not a bus of the model", file=str(path))
        b = slack
        while parent[b] is not None:
            vm /= feeder[b].tap
            b = parent[b][0]  # type: ignore[index]
        keep = {slack}
        for v in order[order.index(slack) + 1:]:
            if parent[v][0] in keep:  # type: ignore[index]
                keep.add(v)
        for el in shunt_els:
            bname, _ = _bus_ref(el.get("bus1", ""))
            if bname not in keep:
                raise _err(
                    DssUnsupportedError, el, f"slack_bus={slack_bus!r} would drop this element above it"
                )
        order = [v for v in order if v in keep]
    base_kv = bus_kv[slack]

    # ---- loads and capacitors (three-phase totals per bus)
    p_kw: dict[str, float] = {}
    q_kvar: dict[str, float] = {}
    sh_kvar: dict[str, float] = {}
    for el in shunt_els:
        bname, nodes = _bus_ref(el.get("bus1", ""))
        if bname not in parent:
            raise _err(DssDisconnectedError, el, f"bus {bname!r} is not reached from the source", "bus1")
        nph = int(_prop_num(el, "phases", 3))
        use = set(nodes) if nodes else set(range(1, nph + 1))
        if not use <= phases[bname]:
            raise _err(
                DssPhaseError, el,
                f"uses phases {sorted(use)} of bus {bname!r}, which has only {sorted(phases[bname])} "
                f"(from {feeder[bname].el.label if bname in feeder else 'the source'})", "bus1",
            )
        if el.cls == "load":
            kw = _prop_num(el, "kw", 10.0)
            if "kvar" in el.props:
                kvar = _prop_num(el, "kvar", 0.0)
            else:
                if "kva" in el.props and "kw" not in el.props:
                    kva = _prop_num(el, "kva", 0.0)
                    pf = _prop_num(el, "pf", 0.88)
                    kw = kva * abs(pf)
                pf = _prop_num(el, "pf", 0.88)
                kvar = kw * math.tan(math.acos(min(1.0, abs(pf)))) * (1.0 if pf >= 0 else -1.0)
            p_kw[bname] = p_kw.get(bname, 0.0) + kw
            q_kvar[bname] = q_kvar.get(bname, 0.0) + kvar
        else:
            if el.get("bus2") is not None:
                b2, n2 = _bus_ref(el.get("bus2"))
                if b2 != bname or any(n2):
                    raise _err(
                        DssUnsupportedError, el, "series or ungrounded capacitors are not supported", "bus2"
                    )
            for key in ("r", "xl"):
                if any(x != 0 for x in _numbers(el.get(key, "0"), key, el.file, el.line)):
                    raise _err(DssUnsupportedError, el, f"capacitor with {key} is not supported", key)
            steps = _numbers(el.get("kvar", "1200"), "kvar", el.file, el.line)
            all_on = "[" + " ".join(["1"] * len(steps)) + "]"
            states = _numbers(el.get("states", all_on), "states", el.file, el.line)
            kvar = sum(k for k, s in zip(steps, states, strict=False) if s)
            kv = _prop_num(el, "kv", 12.47)
            conn = _unwrap(el.get("conn", "wye")).lower()
            v_nom = bus_kv[bname] if (nph > 1 or conn.startswith("d")) else bus_kv[bname] / math.sqrt(3)
            sh_kvar[bname] = sh_kvar.get(bname, 0.0) + kvar * (v_nom / kv) ** 2

    # ---- line charging (half at each end), on the bus's own base: q = n V_LN^2 w C_eq length
    if charging:
        for br in branches:
            if br.is_line and br.closed and br.q_charge_kvar and br.a in bus_kv:
                q = br.q_charge_kvar * bus_kv[br.a] ** 2
                for bus in (br.a, br.b):
                    sh_kvar[bus] = sh_kvar.get(bus, 0.0) + 0.5 * q

    # ---- eliminate auxiliary (non-integer, load-free, pass-through) buses
    children: dict[str, list[str]] = {v: [] for v in order}
    for v in order[1:]:
        children[parent[v][0]].append(v)  # type: ignore[index]
    tie_buses = {b for br in branches if not br.closed for b in (br.a, br.b)}
    ref = {v: (base_kv / bus_kv[v]) ** 2 for v in order}
    zc = {v: feeder[v].z * ref[v] for v in order[1:]}  # impedances on the common base
    tap = {v: feeder[v].tap for v in order[1:]}
    imax = {v: feeder[v].i_max_a * bus_kv[v] / base_kv for v in order[1:]}
    up = {v: parent[v][0] for v in order[1:]}  # type: ignore[index]
    alive = list(order)
    for m in order[1:]:
        if (_is_int(m) or m in tie_buses or len(children[m]) != 1 or p_kw.get(m) or q_kvar.get(m)
                or m not in up):
            continue
        cap_here = any(_bus_ref(e.get("bus1", ""))[0] == m for e in shunt_els if e.cls == "capacitor")
        if cap_here:
            continue
        c = children[m][0]
        # charging at m moves to the far end of its line (the child if that branch is a line)
        if sh_kvar.get(m):
            dest = c if feeder[c].is_line else up[m]
            sh_kvar[dest] = sh_kvar.get(dest, 0.0) + sh_kvar.pop(m)
        zc[c] = zc[m] / tap[c] ** 2 + zc[c]
        tap[c] = tap[m] * tap[c]
        imax[c] = float(np.fmin(imax[m], imax[c]))
        up[c] = up[m]
        p = up[m]
        children[p] = [c if x == m else x for x in children[p]]
        alive.remove(m)
        for d in (zc, tap, imax, up):
            d.pop(m)

    # ---- integer labels
    ints = [int(b) for b in alive if _is_int(b)] + [int(b) for b in tie_buses if _is_int(b)]
    nxt = 10 ** len(str(max(ints))) if ints else 1
    label: dict[str, int] = {}
    for b in alive:
        if _is_int(b):
            label[b] = int(b)
    for b in alive + sorted(tie_buses - set(alive)):
        if b not in label:
            label[b] = nxt
            nxt += 1
    rows = []
    for v in alive[1:]:
        z = zc[v]
        rows.append((label[up[v]], label[v], z.real, z.imag, tap[v], imax[v], 0))
    for br in branches:
        if not br.closed:
            if br.a not in label or br.b not in label:
                raise _err(DssDisconnectedError, br.el, "an open switch to a bus the radial network drops")
            z = br.z * (base_kv / bus_kv[br.b]) ** 2
            rows.append((label[br.a], label[br.b], z.real, z.imag, 1.0, math.nan, 1))
    bdf = pd.DataFrame(rows, columns=["from_bus", "to_bus", "r_ohm", "x_ohm", "tap", "i_max_a", "is_tie"])
    ldf = pd.DataFrame(
        {
            "bus": [label[b] for b in alive],
            "p_kw": [p_kw.get(b, 0.0) for b in alive],
            "q_kvar": [q_kvar.get(b, 0.0) for b in alive],
            "shunt_kvar": [sh_kvar.get(b, 0.0) for b in alive],
        }
    )
    net = Network.from_tables(
        bdf, ldf, slack_bus=label[slack], base_kv=base_kv, slack_vm_pu=vm,
        slack_va_deg=angle if slack_va is None else slack_va,
        name=name or str(src.get("_circuit")), source=f"OpenDSS model {path.name} (balanced equivalent)",
        file=str(path),
    )
    return DssModel(net, {v: k for k, v in label.items()}, dict(bus_kv))


def _is_int(name: str) -> bool:
    return name.isdigit()


def _wprop(el: _Element, w: int, key: str, default: str | None = None) -> str:
    p = el.windings[w].get(key)
    if p is None:
        if default is None:
            raise _err(DssUnsupportedError, el, f"winding {w + 1} has no {key}")
        return default
    return p.value


def _line_branch(el: _Element, it: _Interpreter) -> _Branch:
    a, na = _bus_ref(el.get("bus1", ""))
    b, nb = _bus_ref(el.get("bus2", ""))
    if not a or not b:
        raise _err(DssSyntaxError, el, "needs bus1 and bus2")
    code = None
    if "linecode" in el.props:
        cname = _unwrap(el.get("linecode")).lower()
        code = it.elements.get(("linecode", cname))
        if code is None:
            raise _err(DssMissingLineCodeError, el, f"linecode {cname!r} is not defined", "linecode")
    n = int(_prop_num(el, "phases", _prop_num(code, "nphases", 3) if code else 3))
    for nodes, bus in ((na, a), (nb, b)):
        if nodes and len(nodes) != n:
            raise _err(DssPhaseError, el,
                       f"bus {bus!r} gives {len(nodes)} node(s) {nodes} for a {n}-phase line",
                       "bus1" if bus == a else "bus2")
    if na and nb and len(na) != len(nb):
        raise _err(DssPhaseError, el, f"bus1 nodes {na} and bus2 nodes {nb} differ in number")
    ph = set(na or nb or range(1, n + 1))
    is_switch = _unwrap(el.get("switch", "no")).lower() in _TRUE
    # impedances given on the line itself are per unit of the line's own length units; those of a
    # linecode per unit of the linecode's, converted when both units are known (as OpenDSS does)
    imp = _impedance_of(el, n, switch_defaults=is_switch)
    own = imp is not None
    if imp is None and code is not None:
        imp = _impedance_of(code, n, switch_defaults=False)
        if imp is None:
            raise _err(DssUnsupportedError, code, "linecode without impedances (r1/x1 or rmatrix/xmatrix)")
    if imp is None:
        raise _err(DssUnsupportedError, el, "no impedance given (LineCode, r1/x1 or rmatrix/xmatrix); "
                   "OpenDSS's default line impedances are not assumed")
    if el.get("geometry") is not None or el.get("spacing") is not None:
        raise _err(DssUnsupportedError, el, "geometry/spacing lines are not supported")
    length = _prop_num(el, "length", 0.001 if is_switch else 1.0)
    line_units = _unwrap(el.get("units", "none")).lower()
    z_units = line_units if own else imp.units
    if line_units != "none" and z_units != "none":
        if line_units not in _UNIT_M or z_units not in _UNIT_M:
            raise _err(DssUnsupportedError, el, f"unknown length units {line_units!r}/{z_units!r}", "units")
        length = length * _UNIT_M[line_units] / _UNIT_M[z_units]
    z = _lateral(imp.zs, imp.zm, n) * length
    freq = _prop_num(el, "basefreq", _prop_num(code, "basefreq", 60.0) if code else 60.0)
    # three-phase-total charging at 1 pu per kV_LL^2 of its bus: n V_LN^2 w C_eq = (n/3) V_LL^2 w C_eq,
    # C_eq = Cs - (n-1)/2 Cm (the lateral rule on the capacitance matrix); kV^2 * S = MVA -> kvar
    c_eq_nf = (n / 3.0) * (imp.cs - 0.5 * (n - 1) * imp.cm) * length
    q_per_kv2 = (2 * math.pi * freq) * c_eq_nf * 1e-9 * 1e3
    amps = _prop_num(el, "normamps", imp.normamps)
    closed = _enabled(el) and not el.open_terminals
    if z.real <= 0:
        raise _err(DssUnsupportedError, el, f"balanced equivalent resistance {z.real} ohm <= 0")
    return _Branch(a, b, 1.0, z, 1.0, ph, el, True, closed, q_per_kv2, amps * n / 3.0)


def _xf_branch(a: str, b: str, group: list[_Element]) -> _Branch:
    taps, zs, phs = [], [], set()
    ratio = None
    for el in group:
        nph = int(_prop_num(el, "phases", 3))
        for key in ("%noloadloss", "%imag"):
            if _prop_num(el, key, 0.0):
                raise _err(DssUnsupportedError, el, f"{key} (magnetising branch) is not supported", key)
        conns = [_unwrap(_wprop(el, w, "conn", "wye")).lower() for w in (0, 1)]
        if nph == 1 and any(c.startswith("d") for c in conns):
            raise _err(DssUnsupportedError, el, "single-phase delta (line-to-line) units are not supported")
        kv = [_number(_wprop(el, w, "kv", "12.47"), "kv", el.file, el.line) for w in (0, 1)]
        kva = _number(_wprop(el, 0, "kva", "1000"), "kva", el.file, el.line)
        tp = [_number(_wprop(el, w, "tap", "1"), "tap", el.file, el.line) for w in (0, 1)]
        if "%loadloss" in el.props:
            rpct = _prop_num(el, "%loadloss", 0.4)
        else:
            rpct = sum(_number(_wprop(el, w, "%r", "0.2"), "%r", el.file, el.line) for w in (0, 1))
        xpct = _prop_num(el, "xhl", _prop_num(el, "x12", 7.0))
        # per-phase (wye) ohm on winding 2: kV is line-to-neutral for a 1-phase unit, line-to-line
        # with the three-phase kVA for a 3-phase one; both give kV^2 / MVA per phase
        z = complex(rpct, xpct) / 100.0 * kv[1] ** 2 * 1000.0 / kva
        if ratio is not None and abs(ratio - kv[1] / kv[0]) > 1e-9 * ratio:
            raise _err(DssUnsupportedError, el, "units of one bank with different kV ratings")
        ratio = kv[1] / kv[0]
        _, na = _bus_ref(_wprop(el, 0, "bus"))
        p = set(na) if na else set(range(1, nph + 1))
        if p & phs:
            raise _err(
                DssUnsupportedError, el, f"parallel transformers between {a!r} and {b!r} are not supported"
            )
        phs |= p
        taps.append(tp[0] / tp[1])
        zs.append(z)
    n = len(phs)
    z_eq = (3.0 / n) * (sum(zs) / len(zs))  # the lateral rule; a single three-phase unit keeps its Z
    return _Branch(a, b, float(np.mean(taps)), z_eq, float(ratio), phs, group[0], False, True,
                   extra=group[1:])


# --------------------------------------------------------------------------- writing
def write_dss(net: Network, path: str | Path, *, circuit: str | None = None) -> Path:
    """Write ``net`` as a balanced three-phase OpenDSS model that solves to the same voltages.

    Lines are three-phase with ``r1 = r_ohm``, ``x1 = x_ohm`` (and ``r0 = r1``, ``x0 = x1``, no
    capacitance); a branch with ``tap != 1`` is a stiff transformer at nominal kV with winding-1 tap
    ``tap`` into an auxiliary bus ``<from>_<to>_tap``, then the line; loads are three-phase constant
    power (``model=1``, ``vminpu=0``, ``vmaxpu=10`` so that OpenDSS never switches them to constant
    impedance); shunts are capacitors rated at the base kV; ties are disabled lines. The slack is a
    Vsource of negligible impedance (1e-9 ohm). :func:`read_dss` reads the file back to ``net``
    (up to the stiff transformer's impedance, 2e-8 + j1e-8 pu on its 100 MVA rating). An extremely
    stiff transformer (1e-12 %) makes OpenDSS's admittance matrix singular in practice.
    """
    path = Path(str(path))
    kv = net.base_kv
    if np.any(net.shunt_kvar < 0):
        raise DssError(f"{net.name}: negative shunt_kvar (a reactor) cannot be written yet", file=str(path))
    lab = [str(int(b)) for b in net.bus]
    out = [
        f"! {net.name}: balanced equivalent written by grid.io.write_dss",
        "Clear",
        f"New Circuit.{circuit or re.sub(r'[^A-Za-z0-9_-]', '_', net.name)} basekv={kv!r} bus1={lab[0]} "
        f"pu={net.slack_vm_pu!r} angle={net.slack_va_deg!r} phases=3 r1=1e-9 x1=1e-9 r0=1e-9 x0=1e-9",
    ]
    for k in range(net.n_branch):
        f, t = lab[net.from_idx[k]], lab[net.to_idx[k]]
        a = f
        if net.tap[k] != 1.0:
            a = f"{f}_{t}_tap"
            out.append(
                f"New Transformer.T{f}_{t} phases=3 windings=2 buses=[{f} {a}] conns=[wye wye] "
                f"kvs=[{kv!r} {kv!r}] kvas=[1e5 1e5] taps=[{float(net.tap[k])!r} 1] %rs=[1e-6 1e-6] "
                f"xhl=1e-6 %noloadloss=0 %imag=0 ppm=0"
            )
        amps = "" if not np.isfinite(net.i_max_a[k]) else f" normamps={float(net.i_max_a[k])!r}"
        out.append(
            f"New Line.B{f}_{t} phases=3 bus1={a} bus2={t} r1={float(net.r_ohm[k])!r} "
            f"x1={float(net.x_ohm[k])!r} r0={float(net.r_ohm[k])!r} x0={float(net.x_ohm[k])!r} "
            f"c1=0 c0=0 length=1 units=none{amps}"
        )
    for k in range(len(net.tie_from)):
        f, t = int(net.tie_from[k]), int(net.tie_to[k])
        out.append(
            f"New Line.Tie{f}_{t} phases=3 bus1={f} bus2={t} r1={float(net.tie_r_ohm[k])!r} "
            f"x1={float(net.tie_x_ohm[k])!r} r0={float(net.tie_r_ohm[k])!r} x0={float(net.tie_x_ohm[k])!r} "
            f"c1=0 c0=0 length=1 units=none switch=yes enabled=no"
        )
    for i in range(net.n_bus):
        if net.p_kw[i] != 0 or net.q_kvar[i] != 0:
            out.append(
                f"New Load.L{lab[i]} bus1={lab[i]} phases=3 conn=wye model=1 kv={kv!r} "
                f"kw={float(net.p_kw[i])!r} kvar={float(net.q_kvar[i])!r} vminpu=0 vmaxpu=10"
            )
        if net.shunt_kvar[i] != 0:
            out.append(
                f"New Capacitor.C{lab[i]} bus1={lab[i]} phases=3 kvar={float(net.shunt_kvar[i])!r} kv={kv!r}"
            )
    # OpenDSS's default tolerance (1e-4 pu) would leave errors of that order on a long feeder
    out += [f"Set VoltageBases=[{kv!r}]", "CalcVoltageBases", "Set Tolerance=1e-10", "Set MaxIterations=100",
            ""]
    path.write_text("\n".join(out))
    return path
