"""Readers that build a :class:`grid.network.Network` from files and from other tools' objects.

* :func:`read_csv`: a branches CSV plus a loads CSV (and optionally a JSON of metadata), the format
  of the cases shipped in ``grid/data``.
* :func:`from_pandapower`: a pandapower net (duck-typed: pandapower is not imported here), and
  :func:`to_pandapower`, the way back (imports pandapower when called; it is not a runtime
  dependency of this package).
* :func:`read_matpower`: a MATPOWER case file (``.m``) whose branch data are in ohm and loads in kW, as
  in ``case33bw.m``/``case69.m`` before their final per-unit conversion, or in per unit (``units="pu"``).
* :func:`read_dss` / :func:`write_dss`: an OpenDSS model as a balanced equivalent, and back
  (defined in :mod:`grid.dss`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .dss import read_dss, read_dss_model, write_dss
from .errors import FeederFileError, NetworkError, SlackError
from .network import Network

__all__ = ["read_csv", "from_pandapower", "to_pandapower", "read_matpower", "read_dss", "read_dss_model",
           "write_dss"]

#: Metadata keys ``read_csv`` uses.
_META_USED = ("base_kv", "slack_bus", "slack_vm_pu", "slack_va_deg", "source", "case",
              "transformer_kva", "reverse_limit_kw")
#: Descriptive keys (the shipped ``grid/data/*_meta.json``) that are accepted and not used.
_META_INFO = ("base_mva", "z_base_ohm", "bus_numbering", "n_bus", "n_branch_total", "n_branch_in_service",
              "total_load_kw", "total_load_kvar", "note")
#: Columns of the two tables that hold bus ids (integers) and numbers.
_ID_COLUMNS = ("from_bus", "to_bus", "bus")
_NUMBER_COLUMNS = ("r_ohm", "x_ohm", "in_service", "is_tie", "i_max_a", "tap", "p_kw", "q_kvar",
                   "shunt_kvar", "slack")


def _read_table(path: Path) -> pd.DataFrame:
    """One feeder CSV, with every known column checked: numbers where numbers belong, integer bus
    ids; rows are counted from 1 after the header, as :meth:`Network.from_tables` counts them."""
    try:  # bus ids as text: "2.0" must be refused, and pandas would read it as the number 2
        df = pd.read_csv(path, skipinitialspace=True, dtype=dict.fromkeys(_ID_COLUMNS, str))
    except pd.errors.EmptyDataError:
        raise FeederFileError(f"{path}: the file is empty (expected a header and rows)") from None
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise NetworkError(f"{path}: cannot read feeder table: {exc}") from None
    if df.empty:
        raise FeederFileError(f"{path}: no rows after the header")
    for col in df.columns:
        if col not in _ID_COLUMNS and col not in _NUMBER_COLUMNS:
            continue
        raw = df[col].str.strip() if col in _ID_COLUMNS else df[col]
        num = pd.to_numeric(raw, errors="coerce")
        bad = np.flatnonzero(num.isna().to_numpy() & raw.notna().to_numpy())
        if bad.size:
            k = int(bad[0])
            raise FeederFileError(f"{path}: row {k + 1}, column {col!r}: {raw.iloc[k]!r} is not a number")
        if col in _ID_COLUMNS:
            # an id is an integer written as one: "2.0" or "2e0" is refused like "7.5", not rounded
            odd = np.flatnonzero(~raw.str.fullmatch(r"[+-]?\d+").fillna(False).to_numpy(dtype=bool))
            if odd.size:
                k = int(odd[0])
                val = float(num.iloc[k])
                hint = (f" (write it as {int(val)})" if np.isfinite(val) and val == np.round(val)
                        else "")
                raise FeederFileError(
                    f"{path}: row {k + 1}, column {col!r}: bus id {raw.iloc[k]} is not an integer{hint}"
                )
            num = num.astype(np.int64)
        df[col] = num
    return df


def read_csv(
    branches: str | Path,
    loads: str | Path,
    meta: str | Path | dict[str, Any] | None = None,
    *,
    name: str | None = None,
    source: str = "",
) -> Network:
    """Read a network from ``branches`` and ``loads`` CSV files.

    ``meta`` (a JSON file or dict) supplies ``base_kv``, ``slack_bus``, ``slack_vm_pu``,
    ``slack_va_deg``, ``source`` and ``case``; keys given there override nothing else. The
    descriptive keys of the shipped cases (``base_mva``, ``n_bus``, ``note``, ...) are accepted and
    unused; any other key is refused (:class:`~grid.errors.FeederFileError`), as are an empty file,
    a cell that is not a number and a bus id that is not written as an integer (``7.5``, and also
    ``2.0`` or ``2e0``), naming file, row and column.

    Example
    -------
    >>> from importlib.resources import files
    >>> d = files("grid") / "data"
    >>> net = read_csv(d / "case33bw_branches.csv", d / "case33bw_loads.csv", d / "case33bw_meta.json")
    >>> net.n_bus
    33
    """
    branches, loads = Path(str(branches)), Path(str(loads))
    if isinstance(meta, dict):
        info = dict(meta)
    elif meta is not None:
        try:
            info = json.loads(Path(str(meta)).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise NetworkError(f"{meta}: cannot read metadata: {exc}") from None
    else:
        info = {}
    where = meta if isinstance(meta, (str, Path)) else "metadata"
    if not isinstance(info, dict):
        raise FeederFileError(f"{where}: metadata must be a JSON object, got {type(info).__name__}")
    unknown = sorted(set(info) - set(_META_USED) - set(_META_INFO))
    if unknown:  # a misspelt key (say "slack_vm") would otherwise be ignored without a word
        raise FeederFileError(
            f"{where}: unknown metadata key(s) {unknown}; known: {list(_META_USED + _META_INFO)}"
        )
    if "base_kv" not in info:
        raise NetworkError(f"{meta or branches}: 'base_kv' is required (line-to-line kV)")
    numbers = {}
    for key, default in (("base_kv", None), ("slack_vm_pu", 1.0), ("slack_va_deg", 0.0)):
        value = info.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FeederFileError(f"{where}: metadata {key!r} must be a number, got {value!r}")
        numbers[key] = float(value)
    optional = {}  # the substation transformer's rating and reverse-power limit (Network checks them)
    for key in ("transformer_kva", "reverse_limit_kw"):
        value = info.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise FeederFileError(f"{where}: metadata {key!r} must be a number, got {value!r}")
        optional[key] = None if value is None else float(value)
    bdf = _read_table(branches)
    ldf = _read_table(loads)
    return Network.from_tables(
        bdf,
        ldf,
        slack_bus=info.get("slack_bus"),
        base_kv=numbers["base_kv"],
        slack_vm_pu=numbers["slack_vm_pu"],
        slack_va_deg=numbers["slack_va_deg"],
        name=name or str(info.get("case", branches.stem)),
        source=source or str(info.get("source", "")),
        file=str(branches),
        loads_file=str(loads),
        **optional,
    )


def from_pandapower(net: Any, *, name: str = "pandapower") -> Network:
    """Build a network from a pandapower net with lines only (no transformers).

    Loads are summed per bus from ``net.load`` (MW, Mvar; scaled, in service) minus ``net.sgen``;
    out-of-service lines become ties; the external grid bus is the slack. Bus labels are pandapower's
    bus indices (use ``net.bus.name`` yourself if you need other labels).
    """
    if len(getattr(net, "trafo", [])):
        raise NetworkError(f"{name}: pandapower nets with transformers are not supported yet")
    ext = net.ext_grid[net.ext_grid.in_service]
    if len(ext) != 1:
        raise SlackError(
            f"{name}: {len(ext)} in-service ext_grid elements; a radial feeder needs exactly one"
        )
    line = net.line
    length = line.length_km.to_numpy(dtype=float) / line.parallel.to_numpy(dtype=float)
    branches = pd.DataFrame(
        {
            "from_bus": line.from_bus.to_numpy(dtype=np.int64),
            "to_bus": line.to_bus.to_numpy(dtype=np.int64),
            "r_ohm": line.r_ohm_per_km.to_numpy(dtype=float) * length,
            "x_ohm": line.x_ohm_per_km.to_numpy(dtype=float) * length,
            "in_service": line.in_service.to_numpy(dtype=int),
            "i_max_a": line.max_i_ka.to_numpy(dtype=float) * 1e3 * line.parallel.to_numpy(dtype=float),
        }
    )
    p = pd.Series(0.0, index=net.bus.index)
    q = pd.Series(0.0, index=net.bus.index)
    for table, sign in ((net.load, 1.0), (net.sgen, -1.0)):
        if len(table):
            on = table[table.in_service]
            p = p.add(sign * (on.p_mw * on.scaling * 1e3).groupby(on.bus).sum(), fill_value=0.0)
            q = q.add(sign * (on.q_mvar * on.scaling * 1e3).groupby(on.bus).sum(), fill_value=0.0)
    loads = pd.DataFrame(
        {"bus": p.index.to_numpy(dtype=np.int64), "p_kw": p.to_numpy(), "q_kvar": q.to_numpy()}
    )
    slack = int(ext.bus.iloc[0])
    return Network.from_tables(
        branches,
        loads,
        slack_bus=slack,
        base_kv=float(net.bus.vn_kv.loc[slack]),
        slack_vm_pu=float(ext.vm_pu.iloc[0]),
        slack_va_deg=float(ext.va_degree.iloc[0]),
        name=name,
        source="pandapower net",
        file=f"pandapower net {name!r}",
    )



def to_pandapower(net: Network) -> Any:
    """An equivalent pandapower net, for cross-checks with pandapower's solvers.

    Bus ``k`` of the pandapower net is internal bus ``k`` of ``net`` (its label is in
    ``bus.name``); each branch is a line of 1 km with ``r_ohm``/``x_ohm`` per km and no capacitance;
    each bus carries one load with its nominal demand (``load.index == bus``) and, where
    ``shunt_kvar`` is non-zero, a shunt; the slack is an ext_grid. Ties are omitted. Needs
    pandapower (``pip install pandapower``); transformer taps other than 1 are not translated.
    """
    import pandapower as pp

    if np.any(net.tap != 1.0):
        raise NetworkError(f"{net.name}: to_pandapower does not translate off-nominal taps yet")
    ppn = pp.create_empty_network(name=net.name, sn_mva=1.0)
    for k in range(net.n_bus):
        pp.create_bus(ppn, vn_kv=net.base_kv, index=k, name=str(int(net.bus[k])))
    for k in range(net.n_branch):
        pp.create_line_from_parameters(
            ppn, from_bus=int(net.from_idx[k]), to_bus=int(net.to_idx[k]), length_km=1.0,
            r_ohm_per_km=float(net.r_ohm[k]), x_ohm_per_km=float(net.x_ohm[k]), c_nf_per_km=0.0,
            max_i_ka=float(net.i_max_a[k]) / 1e3 if np.isfinite(net.i_max_a[k]) else 1.0,
        )
    for k in range(net.n_bus):
        pp.create_load(ppn, bus=k, p_mw=net.p_kw[k] / 1e3, q_mvar=net.q_kvar[k] / 1e3, index=k)
        if net.shunt_kvar[k] != 0:
            # pandapower: q_mvar > 0 absorbs at 1 pu; a capacitor injecting shunt_kvar is negative
            pp.create_shunt(ppn, bus=k, q_mvar=-net.shunt_kvar[k] / 1e3, p_mw=0.0)
    pp.create_ext_grid(ppn, bus=0, vm_pu=net.slack_vm_pu, va_degree=net.slack_va_deg)
    return ppn

_MATRIX = re.compile(r"mpc\.(\w+)\s*=\s*\[(.*?)\];", re.S)
_SCALAR = re.compile(r"mpc\.(\w+)\s*=\s*([-+0-9.eE]+)\s*;")


def _parse_matrix(body: str) -> np.ndarray:
    rows = []
    for line in body.splitlines():
        line = line.split("%", 1)[0].strip().rstrip(";").strip()
        if line:
            rows.append([float(v) for v in line.replace(",", " ").split()])
    width = max(len(r) for r in rows)
    return np.array([r + [np.nan] * (width - len(r)) for r in rows])


def read_matpower(path: str | Path, *, units: str = "ohm_kw", name: str | None = None) -> Network:
    """Read a MATPOWER case file.

    Parameters
    ----------
    units : {"ohm_kw", "pu"}
        ``"ohm_kw"``: branch r, x in ohm and bus Pd, Qd in kW/kvar, as written in MATPOWER's
        distribution cases (``case33bw.m``, ``case69.m``) before their closing per-unit conversion
        (which this reader does not execute). ``"pu"``: standard MATPOWER units (r, x in pu on
        ``baseMVA`` and the bus base kV; Pd, Qd in MW/Mvar).
    """
    path = Path(str(path))
    try:
        text = path.read_text()
    except OSError as exc:
        raise NetworkError(f"{path}: cannot read: {exc}") from None
    mats = {m.group(1): m.group(2) for m in _MATRIX.finditer(text)}
    scalars = {m.group(1): float(m.group(2)) for m in _SCALAR.finditer(text)}
    for key in ("bus", "branch"):
        if key not in mats:
            raise NetworkError(f"{path}: no 'mpc.{key}' matrix found")
    bus = _parse_matrix(mats["bus"])
    br = _parse_matrix(mats["branch"])
    labels = bus[:, 0].astype(np.int64)
    slack = labels[bus[:, 1] == 3].tolist()
    if len(slack) != 1:
        raise SlackError(f"{path}: {len(slack)} buses of type 3 (slack); a radial feeder needs exactly one")
    base_kv = float(bus[labels == slack[0], 9][0])
    if units == "ohm_kw":
        zscale, pscale = 1.0, 1.0
    elif units == "pu":
        zscale, pscale = base_kv**2 / scalars.get("baseMVA", 100.0), 1e3
    else:
        raise ValueError(f"units must be 'ohm_kw' or 'pu', got {units!r}")
    gen_rows = _parse_matrix(mats["gen"]) if "gen" in mats else np.zeros((0, 6))
    vm = float(gen_rows[gen_rows[:, 0] == slack[0], 5][0]) if len(gen_rows) else 1.0
    branches = pd.DataFrame(
        {
            "from_bus": br[:, 0].astype(np.int64),
            "to_bus": br[:, 1].astype(np.int64),
            "r_ohm": br[:, 2] * zscale,
            "x_ohm": br[:, 3] * zscale,
            "in_service": br[:, 10] if br.shape[1] > 10 else 1,
        }
    )
    loads = pd.DataFrame({"bus": labels, "p_kw": bus[:, 2] * pscale, "q_kvar": bus[:, 3] * pscale})
    return Network.from_tables(
        branches,
        loads,
        slack_bus=slack[0],
        base_kv=base_kv,
        slack_vm_pu=vm,
        name=name or path.stem,
        source=f"MATPOWER case {path.name}",
        file=str(path),
    )
