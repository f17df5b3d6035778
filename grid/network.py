"""The immutable radial feeder: :class:`Network`.

A network is input, never state: numpy arrays frozen at construction, a fixed internal bus order in
which the slack comes first and every branch's parent comes before its child, and normally-open tie
branches kept apart from the radial tree.

Internal layout (what the power-flow kernel relies on)
-------------------------------------------------------
* Buses are numbered ``0 .. n_bus-1`` internally in breadth-first order from the slack (index 0).
  ``bus[i]`` is the user's label of internal bus ``i`` (1..33, 800..890, ...).
* Branch ``k`` (``0 .. n_bus-2``) feeds internal bus ``k + 1`` from ``parent[k + 1]``: so
  ``to_idx == arange(1, n_bus)`` and ``from_idx[k] < to_idx[k]``. A forward pass over ``k`` visits
  parents before children; a backward pass visits children before parents.
* Tie branches (``tie_*``) are not part of the tree and carry no flow.

Example
-------
>>> from grid import cases
>>> net = cases.load("ieee33")
>>> net.n_bus, net.n_branch, len(net.tie_from)
(33, 32, 5)
>>> float(net.p_kw.sum())
3715.0
"""

from __future__ import annotations

import numbers
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .errors import (
    DisconnectedBusError,
    DuplicateBranchError,
    ImpedanceError,
    LoadError,
    LoopError,
    NetworkError,
    SlackError,
    SlackVoltageError,
)

__all__ = ["Network"]


def _check_slack_voltage(vm_pu: Any, va_deg: Any, where: str) -> None:
    """Refuse a slack voltage that is not a positive finite magnitude with a finite angle."""
    try:
        vm, va = float(vm_pu), float(va_deg)
    except (TypeError, ValueError):
        raise SlackVoltageError(
            f"{where}: slack voltage must be numbers, got slack_vm_pu={vm_pu!r}, slack_va_deg={va_deg!r}"
        ) from None
    if not (np.isfinite(vm) and vm > 0):
        raise SlackVoltageError(f"{where}: slack_vm_pu must be a positive finite number (pu), got {vm_pu!r}")
    if not np.isfinite(va):
        raise SlackVoltageError(f"{where}: slack_va_deg must be finite (degrees), got {va_deg!r}")


def _check_optional_rating(value: Any, key: str, unit: str, where: str, *, positive: bool) -> float | None:
    """``None``, or a finite number (``> 0`` if ``positive``, else ``>= 0``) returned as float."""
    if value is None:
        return None
    need = "> 0" if positive else ">= 0"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise NetworkError(f"{where}: {key} must be None or a number of {unit} ({need}), got {value!r}")
    v = float(value)
    if not np.isfinite(v) or (v <= 0 if positive else v < 0):
        raise NetworkError(f"{where}: {key} must be None or a finite number of {unit} {need}, got {value!r}")
    return v


def _frozen(a: Any, dtype: Any) -> NDArray:
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False, repr=False)
class Network:
    """An immutable radial distribution feeder (balanced, single-phase equivalent).

    Build one with :func:`grid.cases.load`, :meth:`Network.from_tables` or the readers in
    :mod:`grid.io`; the constructor is for internal use and does no validation.

    Attributes
    ----------
    name : str
        Case name.
    bus : ndarray of int64, shape (n_bus,)
        Bus labels in internal order; ``bus[0]`` is the slack.
    parent : ndarray of int64, shape (n_bus,)
        Internal index of each bus's parent, ``-1`` for the slack.
    from_idx, to_idx : ndarray of int64, shape (n_branch,)
        Internal end indices of the tree branches (``to_idx == arange(1, n_bus)``).
    r_ohm, x_ohm : ndarray of float64, shape (n_branch,)
        Series impedance of each tree branch, in ohm.
    tap : ndarray of float64, shape (n_branch,)
        Off-nominal ratio of an ideal transformer at the sending end (1.0 for a line). Reserved for
        regulators and transformers of the IEEE 34/123 feeders.
    i_max_a : ndarray of float64, shape (n_branch,)
        Branch current limit in ampere, ``nan`` where unknown.
    p_kw, q_kvar : ndarray of float64, shape (n_bus,)
        Nominal net demand per bus (consumption positive).
    shunt_kvar : ndarray of float64, shape (n_bus,)
        Reactive power a shunt capacitor injects at 1.0 pu (constant impedance), 0 where none.
    base_kv : float
        Nominal line-to-line voltage in kV.
    slack_vm_pu, slack_va_deg : float
        Slack voltage magnitude (pu) and angle (degrees).
    tie_from, tie_to : ndarray of int64, shape (n_tie,)
        Labels of the ends of the normally-open tie branches.
    tie_r_ohm, tie_x_ohm : ndarray of float64, shape (n_tie,)
        Their impedances.
    source : str
        Where the data come from (citation and file).
    transformer_kva : float or None
        Rating of the substation transformer feeding the slack bus, in kVA (``None``: not given).
        Used by :mod:`grid.transformer` for loading rate, heavy-load hours and overload.
    reverse_limit_kw : float or None
        Largest reverse active power (feeder exporting through the slack) the substation accepts, in
        kW (``None``: not given). Paper 000 (sec. 3.2.2) sets it to ``k_inv * S_trans`` with
        ``k_inv = 0.8``; :func:`grid.transformer.reverse_limit_kw` computes that.

    Both optional fields are plain data: the power flow ignores them. Set them on an existing
    network with ``dataclasses.replace(net, transformer_kva=..., reverse_limit_kw=...)`` (validated
    the same way).
    """

    name: str
    bus: NDArray[np.int64]
    parent: NDArray[np.int64]
    from_idx: NDArray[np.int64]
    to_idx: NDArray[np.int64]
    r_ohm: NDArray[np.float64]
    x_ohm: NDArray[np.float64]
    tap: NDArray[np.float64]
    i_max_a: NDArray[np.float64]
    p_kw: NDArray[np.float64]
    q_kvar: NDArray[np.float64]
    shunt_kvar: NDArray[np.float64]
    base_kv: float
    slack_vm_pu: float
    slack_va_deg: float
    tie_from: NDArray[np.int64]
    tie_to: NDArray[np.int64]
    tie_r_ohm: NDArray[np.float64]
    tie_x_ohm: NDArray[np.float64]
    source: str = ""
    _index: dict[int, int] = field(default_factory=dict, compare=False)
    transformer_kva: float | None = None
    reverse_limit_kw: float | None = None

    def __post_init__(self) -> None:
        # A NaN or zero slack voltage would "converge" to NaN voltages and losses in every power flow
        # (no iteration can fail a NaN comparison), so it is refused here, for every way of building.
        _check_slack_voltage(self.slack_vm_pu, self.slack_va_deg, self.name)
        # a NaN rating would make every loading comparison False: a silent "never overloaded"
        check = _check_optional_rating
        kva = check(self.transformer_kva, "transformer_kva", "kVA", self.name, positive=True)
        rev = check(self.reverse_limit_kw, "reverse_limit_kw", "kW", self.name, positive=False)
        object.__setattr__(self, "transformer_kva", kva)
        object.__setattr__(self, "reverse_limit_kw", rev)

    # ------------------------------------------------------------------ basic views
    @property
    def n_bus(self) -> int:
        return int(self.bus.shape[0])

    @property
    def n_branch(self) -> int:
        return int(self.r_ohm.shape[0])

    @property
    def slack_bus(self) -> int:
        """Label of the slack bus."""
        return int(self.bus[0])

    @property
    def z_base_ohm(self) -> float:
        """Base impedance for a 1 MVA base: ``base_kv**2 / 1 MVA``."""
        return self.base_kv**2

    def __repr__(self) -> str:
        return (
            f"Network({self.name!r}: {self.n_bus} buses, {self.n_branch} branches, "
            f"{len(self.tie_from)} ties, {self.base_kv} kV, load {self.p_kw.sum():.1f} kW "
            f"+ {self.q_kvar.sum():.1f} kvar)"
        )

    def index_of(self, labels: Any) -> NDArray[np.int64]:
        """Internal indices of bus labels (scalar or array-like); unknown labels raise ``KeyError``."""
        arr = np.atleast_1d(np.asarray(labels, dtype=np.int64))
        try:
            out = np.array([self._index[int(b)] for b in arr], dtype=np.int64)
        except KeyError as exc:
            raise KeyError(f"bus {exc.args[0]} is not in network {self.name!r}") from None
        return out.reshape(np.shape(labels))

    # ------------------------------------------------------------------ tables and graphs
    def buses(self) -> pd.DataFrame:
        """One row per bus in internal order: label, parent label, nominal load."""
        parent_label = np.where(self.parent >= 0, self.bus[np.maximum(self.parent, 0)], -1)
        return pd.DataFrame(
            {
                "bus": self.bus,
                "parent": parent_label,
                "p_kw": self.p_kw,
                "q_kvar": self.q_kvar,
                "shunt_kvar": self.shunt_kvar,
            }
        )

    def branches(self, *, ties: bool = False) -> pd.DataFrame:
        """One row per tree branch (parent to child), and the ties after them if ``ties``."""
        df = pd.DataFrame(
            {
                "from_bus": self.bus[self.from_idx],
                "to_bus": self.bus[self.to_idx],
                "r_ohm": self.r_ohm,
                "x_ohm": self.x_ohm,
                "tap": self.tap,
                "i_max_a": self.i_max_a,
                "is_tie": False,
            }
        )
        if ties and len(self.tie_from):
            tie = pd.DataFrame(
                {
                    "from_bus": self.tie_from,
                    "to_bus": self.tie_to,
                    "r_ohm": self.tie_r_ohm,
                    "x_ohm": self.tie_x_ohm,
                    "tap": 1.0,
                    "i_max_a": np.nan,
                    "is_tie": True,
                }
            )
            df = pd.concat([df, tie], ignore_index=True)
        return df

    def graph(self, *, ties: bool = False) -> nx.Graph:
        """A networkx view (nodes are bus labels, edges carry ``r_ohm``, ``x_ohm``, ``is_tie``)."""
        g = nx.Graph()
        for b, p, q in zip(self.bus.tolist(), self.p_kw.tolist(), self.q_kvar.tolist(), strict=True):
            g.add_node(b, p_kw=p, q_kvar=q)
        for row in self.branches(ties=ties).itertuples(index=False):
            g.add_edge(
                int(row.from_bus), int(row.to_bus), r_ohm=row.r_ohm, x_ohm=row.x_ohm, is_tie=bool(row.is_tie)
            )
        return g

    def with_loads(self, p_kw: Any, q_kvar: Any) -> Network:
        """A copy with other nominal loads, given per bus in internal order (shape (n_bus,))."""
        p = np.asarray(p_kw, dtype=np.float64)
        q = np.asarray(q_kvar, dtype=np.float64)
        if p.shape != (self.n_bus,) or q.shape != (self.n_bus,):
            raise LoadError(
                f"{self.name}: loads must have shape ({self.n_bus},), got {p.shape} and {q.shape}"
            )
        bad = np.flatnonzero(~(np.isfinite(p) & np.isfinite(q)))
        if bad.size:
            raise LoadError(f"{self.name}: non-finite load at bus {int(self.bus[bad[0]])}")
        kw = {f: getattr(self, f) for f in self.__dataclass_fields__}
        kw.update(p_kw=_frozen(p, np.float64), q_kvar=_frozen(q, np.float64))
        return Network(**kw)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_tables(
        cls,
        branches: pd.DataFrame,
        loads: pd.DataFrame,
        *,
        slack_bus: int | list[int] | None = None,
        base_kv: float,
        slack_vm_pu: float = 1.0,
        slack_va_deg: float = 0.0,
        name: str = "network",
        source: str = "",
        file: str | None = None,
        loads_file: str | None = None,
        transformer_kva: float | None = None,
        reverse_limit_kw: float | None = None,
    ) -> Network:
        """Build and validate a network from two tables.

        Parameters
        ----------
        branches : DataFrame
            Columns ``from_bus``, ``to_bus``, ``r_ohm``, ``x_ohm``; optional ``in_service`` (0 marks a
            normally-open tie), ``is_tie`` (1 marks a tie), ``i_max_a`` and ``tap``.
        loads : DataFrame
            Columns ``bus``, ``p_kw``, ``q_kvar``; optional ``shunt_kvar`` and ``slack`` (1 marks the
            slack, used when ``slack_bus`` is None). Buses missing here but named by a branch get
            zero load.
        slack_bus : int or list of int, optional
            The slack bus label. A list with other than one element is an error.
        base_kv : float
            Nominal line-to-line voltage in kV.
        file, loads_file : str, optional
            File names used in error messages (rows are counted from 1 after the header).
        transformer_kva, reverse_limit_kw : float, optional
            Substation transformer rating (kVA, > 0) and reverse-power limit (kW, >= 0); see the
            class attributes.

        Raises
        ------
        SlackError, DisconnectedBusError, LoopError, DuplicateBranchError, ImpedanceError, LoadError
            With a message naming the file, the row or bus, and the fault.
        NetworkError
            A missing column, a bad ``base_kv``, ``transformer_kva`` or ``reverse_limit_kw``.
        """
        bfile = file or "branches table"
        lfile = loads_file or file or "loads table"
        _check_optional_rating(transformer_kva, "transformer_kva", "kVA", bfile, positive=True)
        _check_optional_rating(reverse_limit_kw, "reverse_limit_kw", "kW", bfile, positive=False)
        for col in ("from_bus", "to_bus", "r_ohm", "x_ohm"):
            if col not in branches.columns:
                raise NetworkError(f"{bfile}: missing column {col!r} (have {list(branches.columns)})")
        for col in ("bus", "p_kw", "q_kvar"):
            if col not in loads.columns:
                raise NetworkError(f"{lfile}: missing column {col!r} (have {list(loads.columns)})")
        if not (np.isfinite(base_kv) and base_kv > 0):
            raise NetworkError(f"{bfile}: base_kv must be a positive number of kV, got {base_kv!r}")
        _check_slack_voltage(slack_vm_pu, slack_va_deg, bfile)

        n_rows = len(branches)
        fb = branches["from_bus"].to_numpy(dtype=np.int64)
        tb = branches["to_bus"].to_numpy(dtype=np.int64)
        r = branches["r_ohm"].to_numpy(dtype=np.float64)
        x = branches["x_ohm"].to_numpy(dtype=np.float64)
        tie = np.zeros(n_rows, dtype=bool)
        if "in_service" in branches.columns:
            tie |= branches["in_service"].to_numpy(dtype=np.float64) == 0
        if "is_tie" in branches.columns:
            tie |= branches["is_tie"].to_numpy(dtype=np.float64) != 0
        imax = (
            branches["i_max_a"].to_numpy(dtype=np.float64)
            if "i_max_a" in branches.columns
            else np.full(n_rows, np.nan)
        )
        tap = branches["tap"].to_numpy(dtype=np.float64) if "tap" in branches.columns else np.ones(n_rows)

        # impedance: r > 0, x >= 0, both finite (rows counted from 1 after the header)
        for k in range(n_rows):
            if not (np.isfinite(r[k]) and np.isfinite(x[k])):
                raise ImpedanceError(
                    f"{bfile}: row {k + 1} (branch {fb[k]}-{tb[k]}): non-finite impedance "
                    f"r_ohm={r[k]!r}, x_ohm={x[k]!r}"
                )
            if r[k] <= 0 or x[k] < 0:
                raise ImpedanceError(
                    f"{bfile}: row {k + 1} (branch {fb[k]}-{tb[k]}): non-positive impedance "
                    f"r_ohm={r[k]!r}, x_ohm={x[k]!r} (need r_ohm > 0, x_ohm >= 0)"
                )
            if not (np.isfinite(tap[k]) and tap[k] > 0):
                raise ImpedanceError(f"{bfile}: row {k + 1} (branch {fb[k]}-{tb[k]}): bad tap {tap[k]!r}")
            if fb[k] == tb[k]:
                raise LoopError(f"{bfile}: row {k + 1}: branch joins bus {fb[k]} to itself")

        # duplicates, ties included (an unordered pair of buses may appear once)
        seen: dict[tuple[int, int], int] = {}
        for k in range(n_rows):
            key = (min(fb[k], tb[k]), max(fb[k], tb[k]))
            if key in seen:
                raise DuplicateBranchError(
                    f"{bfile}: row {k + 1} duplicates row {seen[key] + 1}: "
                    f"both join buses {key[0]} and {key[1]}"
                )
            seen[key] = k

        # loads
        lb = loads["bus"].to_numpy(dtype=np.int64)
        lp = loads["p_kw"].to_numpy(dtype=np.float64)
        lq = loads["q_kvar"].to_numpy(dtype=np.float64)
        lsh = (
            loads["shunt_kvar"].to_numpy(dtype=np.float64)
            if "shunt_kvar" in loads.columns
            else np.zeros(len(lb))
        )
        for k in range(len(lb)):
            if not (np.isfinite(lp[k]) and np.isfinite(lq[k]) and np.isfinite(lsh[k])):
                raise LoadError(
                    f"{lfile}: row {k + 1} (bus {lb[k]}): non-finite load p_kw={lp[k]!r}, q_kvar={lq[k]!r}"
                )
        uniq, counts = np.unique(lb, return_counts=True)
        if (counts > 1).any():
            raise LoadError(f"{lfile}: bus {int(uniq[counts > 1][0])} appears more than once")

        labels = sorted(set(fb.tolist()) | set(tb.tolist()) | set(lb.tolist()))
        label_set = set(labels)

        # slack
        if slack_bus is None:
            if "slack" not in loads.columns:
                raise SlackError(f"{lfile}: no slack bus given (no slack_bus argument and no 'slack' column)")
            cand = lb[loads["slack"].to_numpy(dtype=np.float64) != 0].tolist()
        else:
            cand = [int(b) for b in np.atleast_1d(slack_bus)]
        if len(cand) != 1:
            what = "no slack bus" if not cand else f"{len(cand)} slack buses {cand}"
            raise SlackError(f"{lfile}: {what}; a radial feeder needs exactly one")
        slack = int(cand[0])
        if slack not in label_set:
            raise SlackError(f"{lfile}: slack bus {slack} is not a bus of the network")

        # breadth-first tree from the slack over in-service branches
        adj: dict[int, list[tuple[int, int]]] = {b: [] for b in labels}
        for k in np.flatnonzero(~tie):
            adj[int(fb[k])].append((int(tb[k]), int(k)))
            adj[int(tb[k])].append((int(fb[k]), int(k)))
        order = [slack]
        parent_label = {slack: -1}
        branch_of: dict[int, int] = {}
        used: set[int] = set()
        queue = deque([slack])
        while queue:
            b = queue.popleft()
            for nb, k in sorted(adj[b]):
                if k in used:
                    continue
                used.add(k)
                if nb in parent_label:
                    raise LoopError(
                        f"{bfile}: row {k + 1} (branch {fb[k]}-{tb[k]}) closes a loop among in-service "
                        f"branches; mark it in_service=0 if it is a tie"
                    )
                parent_label[nb] = b
                branch_of[nb] = int(k)
                order.append(nb)
                queue.append(nb)
        missing = [b for b in labels if b not in parent_label]
        if missing:
            raise DisconnectedBusError(
                f"{bfile}: bus {missing[0]} is not connected to slack bus {slack} through in-service "
                f"branches ({len(missing)} disconnected bus(es): {missing[:10]})"
            )

        index = {b: i for i, b in enumerate(order)}
        n = len(order)
        parent = np.array([index[parent_label[b]] if parent_label[b] != -1 else -1 for b in order])
        rows = np.array([branch_of[b] for b in order[1:]], dtype=np.int64)
        p = np.zeros(n)
        q = np.zeros(n)
        sh = np.zeros(n)
        li = np.array([index[int(b)] for b in lb], dtype=np.int64)
        p[li], q[li], sh[li] = lp, lq, lsh
        # a transformer tap is defined at the row's from-end, its impedance on the to-side; if the tree
        # orients the row backwards, the ideal ratio t:1 at the child becomes 1/t at the parent and the
        # impedance is referred through it (times t**2), so that V_child = t V_parent - t**2 Z I_child
        tap_tree = tap[rows].copy()
        flipped = fb[rows] != np.array([parent_label[b] for b in order[1:]], dtype=np.int64)
        z_ref = np.where(flipped, tap_tree**2, 1.0)
        tap_tree[flipped] = 1.0 / tap_tree[flipped]
        ties = np.flatnonzero(tie)
        return cls(
            name=name,
            bus=_frozen(order, np.int64),
            parent=_frozen(parent, np.int64),
            from_idx=_frozen(parent[1:], np.int64),
            to_idx=_frozen(np.arange(1, n), np.int64),
            r_ohm=_frozen(r[rows] * z_ref, np.float64),
            x_ohm=_frozen(x[rows] * z_ref, np.float64),
            tap=_frozen(tap_tree, np.float64),
            i_max_a=_frozen(imax[rows], np.float64),
            p_kw=_frozen(p, np.float64),
            q_kvar=_frozen(q, np.float64),
            shunt_kvar=_frozen(sh, np.float64),
            base_kv=float(base_kv),
            slack_vm_pu=float(slack_vm_pu),
            slack_va_deg=float(slack_va_deg),
            tie_from=_frozen(fb[ties], np.int64),
            tie_to=_frozen(tb[ties], np.int64),
            tie_r_ohm=_frozen(r[ties], np.float64),
            tie_x_ohm=_frozen(x[ties], np.float64),
            source=source,
            _index=index,
            transformer_kva=transformer_kva,
            reverse_limit_kw=reverse_limit_kw,
        )
