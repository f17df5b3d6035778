"""Network construction and validation: the shipped cases, bad files, and the other readers."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pandapower.networks as pn
import pandas as pd
import pytest

from grid import cases
from grid.errors import (
    DisconnectedBusError,
    DuplicateBranchError,
    FeederFileError,
    ImpedanceError,
    LoadError,
    LoopError,
    NetworkError,
    SlackError,
    SlackVoltageError,
    UnknownCaseError,
)
from grid.io import from_pandapower, read_csv, read_matpower
from grid.network import Network
from grid.powerflow import solve


# ----------------------------------------------------------------------------- helpers
def tables(net: Network) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Branch and load tables of ``net`` in the shipped CSV format (ties as in_service=0)."""
    br = net.branches(ties=True)
    br = pd.DataFrame({"from_bus": br.from_bus, "to_bus": br.to_bus, "r_ohm": br.r_ohm, "x_ohm": br.x_ohm,
                       "in_service": (~br.is_tie).astype(int)})
    loads = net.buses()[["bus", "p_kw", "q_kvar"]].sort_values("bus", ignore_index=True)
    return br, loads


def write_case(tmp_path: Path, br: pd.DataFrame, loads: pd.DataFrame, meta: dict | None = None):
    bfile, lfile = tmp_path / "bad_branches.csv", tmp_path / "bad_loads.csv"
    br.to_csv(bfile, index=False)
    loads.to_csv(lfile, index=False)
    return bfile, lfile, {"base_kv": 12.66, "slack_bus": 1} if meta is None else meta


def same_network(a: Network, b: Network) -> None:
    np.testing.assert_array_equal(a.bus, b.bus)
    np.testing.assert_array_equal(a.parent, b.parent)
    for f in ("r_ohm", "x_ohm", "p_kw", "q_kvar", "tap", "shunt_kvar"):
        np.testing.assert_allclose(getattr(a, f), getattr(b, f), rtol=1e-12, atol=1e-12, err_msg=f)
    assert a.base_kv == pytest.approx(b.base_kv) and a.slack_vm_pu == pytest.approx(b.slack_vm_pu)
    ties_a = sorted(map(sorted, zip(a.tie_from.tolist(), a.tie_to.tolist(), strict=True)))
    ties_b = sorted(map(sorted, zip(b.tie_from.tolist(), b.tie_to.tolist(), strict=True)))
    assert ties_a == ties_b


# ----------------------------------------------------------------------------- shipped cases
@pytest.mark.parametrize(("case", "n_bus", "n_tie", "load_kw"),
                         [("ieee33", 33, 5, 3715.0), ("pge69", 69, 0, 3802.1)])
def test_internal_order_invariant(case: str, n_bus: int, n_tie: int, load_kw: float) -> None:
    net = cases.load(case)
    assert (net.n_bus, net.n_branch, len(net.tie_from)) == (n_bus, n_bus - 1, n_tie)
    assert net.bus[0] == net.slack_bus == 1 and net.parent[0] == -1
    np.testing.assert_array_equal(net.to_idx, np.arange(1, n_bus))
    np.testing.assert_array_equal(net.from_idx, net.parent[1:])
    assert (net.parent[1:] < np.arange(1, n_bus)).all()          # parents before children
    assert net.p_kw.sum() == pytest.approx(load_kw)
    np.testing.assert_array_equal(net.index_of(net.bus), np.arange(n_bus))
    with pytest.raises(KeyError, match="bus 999"):
        net.index_of(999)


def test_networkx_view() -> None:
    net = cases.load("ieee33")
    g = net.graph()
    assert nx.is_tree(g) and g.number_of_edges() == net.n_bus - 1
    gt = net.graph(ties=True)
    assert gt.number_of_edges() == net.n_bus - 1 + 5 and len(nx.cycle_basis(gt)) == 5
    assert {frozenset(e) for e, tie in nx.get_edge_attributes(gt, "is_tie").items() if tie} == {
        frozenset(p) for p in [(8, 21), (9, 15), (12, 22), (18, 33), (25, 29)]}


def test_unknown_case_lists_known_names() -> None:
    with pytest.raises(UnknownCaseError, match=r"unknown case 'ieee999'.*ieee33.*pge69"):
        cases.load("ieee999")
    same_network(cases.load("CASE33BW"), cases.load("ieee33"))


# ----------------------------------------------------------------------------- bad files
def test_good_tables_round_trip(tmp_path: Path) -> None:
    net = cases.load("ieee33")
    b, ld, meta = write_case(tmp_path, *tables(net))
    same_network(read_csv(b, ld, meta), net)


def test_transformer_rating_read_from_metadata(tmp_path: Path) -> None:
    b, ld, _ = write_case(tmp_path, *tables(cases.load("ieee33")))
    meta = {"base_kv": 12.66, "slack_bus": 1, "transformer_kva": 5000, "reverse_limit_kw": 4000}
    net = read_csv(b, ld, meta)
    assert (net.transformer_kva, net.reverse_limit_kw) == (5000.0, 4000.0)
    assert read_csv(b, ld, {"base_kv": 12.66, "slack_bus": 1}).transformer_kva is None
    with pytest.raises(FeederFileError, match="'transformer_kva' must be a number"):
        read_csv(b, ld, {"base_kv": 12.66, "slack_bus": 1, "transformer_kva": "5 MVA"})


def test_two_slacks(tmp_path: Path) -> None:
    br, loads = tables(cases.load("ieee33"))
    loads["slack"] = loads.bus.isin([1, 5]).astype(int)
    b, ld, _ = write_case(tmp_path, br, loads)
    with pytest.raises(SlackError, match=r"bad_loads\.csv: 2 slack buses \[1, 5\]"):
        read_csv(b, ld, {"base_kv": 12.66})


def test_no_slack(tmp_path: Path) -> None:
    b, ld, _ = write_case(tmp_path, *tables(cases.load("ieee33")))
    with pytest.raises(SlackError, match=r"bad_loads\.csv: no slack bus"):
        read_csv(b, ld, {"base_kv": 12.66})
    br, loads = tables(cases.load("ieee33"))
    loads["slack"] = 0
    b, ld, _ = write_case(tmp_path, br, loads)
    with pytest.raises(SlackError, match="no slack bus"):
        read_csv(b, ld, {"base_kv": 12.66})


def test_disconnected_bus(tmp_path: Path) -> None:
    br, loads = tables(cases.load("ieee33"))
    br.loc[br.from_bus.eq(17) & br.to_bus.eq(18), "in_service"] = 0     # bus 18 now hangs on a tie only
    b, ld, meta = write_case(tmp_path, br, loads)
    msg = r"bad_branches\.csv: bus 18 is not connected to slack bus 1"
    with pytest.raises(DisconnectedBusError, match=msg):
        read_csv(b, ld, meta)
    br, loads = tables(cases.load("ieee33"))
    loads.loc[len(loads)] = [40, 10.0, 5.0]                                  # a load on an unknown island
    loads["bus"] = loads["bus"].astype(int)  # the row made the column float ("40.0" is refused)
    b, ld, meta = write_case(tmp_path, br, loads)
    with pytest.raises(DisconnectedBusError, match="bus 40"):
        read_csv(b, ld, meta)


def test_loop_among_in_service_branches(tmp_path: Path) -> None:
    br, loads = tables(cases.load("ieee33"))
    row = br.index[br.from_bus.eq(21) & br.to_bus.eq(8)][0]          # the tie 8-21, as the file writes it
    br.loc[row, "in_service"] = 1
    b, ld, meta = write_case(tmp_path, br, loads)
    with pytest.raises(LoopError, match=r"bad_branches\.csv: row \d+ \(branch \d+-\d+\) closes a loop"):
        read_csv(b, ld, meta)
    br.loc[row, ["from_bus", "to_bus", "in_service"]] = [8, 8, 0]    # a self-loop, even as a tie
    b, ld, meta = write_case(tmp_path, br, loads)
    with pytest.raises(LoopError, match=rf"row {row + 1}: branch joins bus 8 to itself"):
        read_csv(b, ld, meta)


def test_duplicate_branch(tmp_path: Path) -> None:
    br, loads = tables(cases.load("ieee33"))
    dup = br.iloc[[4]].copy()
    dup[["from_bus", "to_bus"]] = dup[["to_bus", "from_bus"]].to_numpy()     # same pair, reversed
    br = pd.concat([br, dup], ignore_index=True)
    b, ld, meta = write_case(tmp_path, br, loads)
    with pytest.raises(DuplicateBranchError, match=rf"bad_branches\.csv: row {len(br)} duplicates row 5"):
        read_csv(b, ld, meta)


@pytest.mark.parametrize(("col", "value", "fault"), [
    ("r_ohm", 0.0, "non-positive impedance"), ("r_ohm", -0.1, "non-positive impedance"),
    ("x_ohm", -0.2, "non-positive impedance"), ("r_ohm", np.nan, "non-finite impedance"),
    ("x_ohm", np.inf, "non-finite impedance"),
])
def test_bad_impedance(tmp_path: Path, col: str, value: float, fault: str) -> None:
    br, loads = tables(cases.load("ieee33"))
    br.loc[6, col] = value
    b, ld, meta = write_case(tmp_path, br, loads)
    f, t = br.from_bus[6], br.to_bus[6]
    with pytest.raises(ImpedanceError, match=rf"bad_branches\.csv: row 7 \(branch {f}-{t}\): {fault}"):
        read_csv(b, ld, meta)


def test_non_finite_load(tmp_path: Path) -> None:
    br, loads = tables(cases.load("ieee33"))
    loads.loc[9, "q_kvar"] = np.nan
    b, ld, meta = write_case(tmp_path, br, loads)
    with pytest.raises(LoadError, match=rf"bad_loads\.csv: row 10 \(bus {loads.bus[9]}\): non-finite load"):
        read_csv(b, ld, meta)
    net = cases.load("ieee33")
    with pytest.raises(LoadError, match="non-finite load at bus"):
        net.with_loads(np.full(33, np.nan), net.q_kvar)


def test_missing_column_and_base_kv(tmp_path: Path) -> None:
    br, loads = tables(cases.load("ieee33"))
    b, ld, meta = write_case(tmp_path, br.drop(columns="x_ohm"), loads)
    with pytest.raises(NetworkError, match=r"bad_branches\.csv: missing column 'x_ohm'"):
        read_csv(b, ld, meta)
    with pytest.raises(NetworkError, match="'base_kv' is required"):
        read_csv(b, ld, {"slack_bus": 1})


# ----------------------------------------------------------------------------- other readers
def to_matpower(net: Network, *, units: str) -> str:
    """``net`` as MATPOWER text: ohm and kW as in case33bw.m before its closing conversion, or pu."""
    zs, ps = (1.0, 1.0) if units == "ohm_kw" else (10.0 / net.base_kv**2, 1e-3)   # baseMVA = 10
    br, loads = tables(net)
    bus_rows = "\n".join(
        f"\t{b}\t{3 if b == net.slack_bus else 1}\t{p * ps:.12g}\t{q * ps:.12g}\t0\t0\t1\t1\t0\t{net.base_kv}"
        f"\t1\t1.1\t0.9;" for b, p, q in loads.itertuples(index=False))
    br_rows = "\n".join(
        f"\t{f}\t{t}\t{r * zs:.15g}\t{x * zs:.15g}\t0\t0\t0\t0\t0\t0\t{s}\t-360\t360;"
        for f, t, r, x, s in br.itertuples(index=False))
    return (f"function mpc = roundtrip\nmpc.version = '2';\nmpc.baseMVA = 10;\n"
            f"mpc.bus = [\n{bus_rows}\n];\n"
            f"mpc.gen = [\n\t{net.slack_bus}\t0\t0\t10\t-10\t{net.slack_vm_pu}\t100\t1\t10\t0;\n];\n"
            f"mpc.branch = [\n{br_rows}\n];\n")


@pytest.mark.parametrize("units", ["ohm_kw", "pu"])
def test_read_matpower_round_trip(tmp_path: Path, units: str) -> None:
    net = cases.load("ieee33")
    path = tmp_path / "roundtrip.m"
    path.write_text(to_matpower(net, units=units))
    same_network(read_matpower(path, units=units), net)


def test_read_matpower_errors(tmp_path: Path) -> None:
    path = tmp_path / "broken.m"
    path.write_text("mpc.baseMVA = 10;\n")
    with pytest.raises(NetworkError, match=r"broken\.m: no 'mpc\.bus' matrix"):
        read_matpower(path)
    path.write_text(to_matpower(cases.load("ieee33"), units="pu").replace("\t3\t", "\t1\t"))
    with pytest.raises(SlackError, match="0 buses of type 3"):
        read_matpower(path)


def test_from_pandapower_case33bw() -> None:
    ppn = pn.case33bw()
    net = from_pandapower(ppn, name="case33bw")
    ours = cases.load("ieee33")
    assert net.n_bus == 33 and net.bus[0] == 0                        # pandapower's 0-based labels
    np.testing.assert_array_equal(net.bus + 1, ours.bus)
    np.testing.assert_array_equal(net.parent, ours.parent)
    np.testing.assert_allclose(net.r_ohm, ours.r_ohm, rtol=1e-12)
    np.testing.assert_allclose(net.x_ohm, ours.x_ohm, rtol=1e-12)
    np.testing.assert_allclose(net.p_kw, ours.p_kw, rtol=1e-12, atol=1e-9)   # MW -> kW
    np.testing.assert_allclose(net.q_kvar, ours.q_kvar, rtol=1e-12, atol=1e-9)
    assert net.base_kv == ours.base_kv
    ties = {frozenset((int(f) + 1, int(t) + 1)) for f, t in zip(net.tie_from, net.tie_to, strict=True)}
    assert ties == {frozenset(p) for p in [(8, 21), (9, 15), (12, 22), (18, 33), (25, 29)]}
    a, b = solve(net, net.p_kw, net.q_kvar), solve(ours, ours.p_kw, ours.q_kvar)
    np.testing.assert_allclose(a.v_pu, b.v_pu, atol=1e-12)
    assert a.loss_kw == pytest.approx(b.loss_kw, rel=1e-12)


def test_meta_json_file(tmp_path: Path) -> None:
    b, ld, meta = write_case(tmp_path, *tables(cases.load("ieee33")))
    mfile = tmp_path / "meta.json"
    mfile.write_text(json.dumps(meta | {"slack_vm_pu": 1.02}))
    assert read_csv(b, ld, mfile).slack_vm_pu == 1.02
    mfile.write_text("{not json")
    with pytest.raises(NetworkError, match=r"meta\.json: cannot read metadata"):
        read_csv(b, ld, mfile)


# ----------------------------------------------------------------------------- refused inputs (issue 9)
@pytest.mark.parametrize(("vm", "va", "fault"), [
    (np.nan, 0.0, "slack_vm_pu must be a positive finite number"),
    (0.0, 0.0, "slack_vm_pu must be a positive finite number"),
    (-1.0, 0.0, "slack_vm_pu must be a positive finite number"),
    (np.inf, 0.0, "slack_vm_pu must be a positive finite number"),
    (1.0, np.nan, "slack_va_deg must be finite"),
])
def test_bad_slack_voltage_is_refused_at_construction(tmp_path: Path, vm: float, va: float,
                                                      fault: str) -> None:
    # before: solve() reported converged=True with NaN losses for such a network
    br, loads = tables(cases.load("ieee33"))
    b, ld, _ = write_case(tmp_path, br, loads)
    with pytest.raises(SlackVoltageError, match=rf"bad_branches\.csv: {fault}"):
        read_csv(b, ld, {"base_kv": 12.66, "slack_bus": 1, "slack_vm_pu": vm, "slack_va_deg": va})
    net = cases.load("ieee33")
    with pytest.raises(SlackVoltageError, match=rf"ieee33: {fault}"):
        Network(**{**{f: getattr(net, f) for f in net.__dataclass_fields__},
                   "slack_vm_pu": vm, "slack_va_deg": va})


def test_unknown_metadata_key_is_refused(tmp_path: Path) -> None:
    b, ld, _ = write_case(tmp_path, *tables(cases.load("ieee33")))
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"base_kv": 12.66, "slack_bus": 1, "slack_vm": 1.05}))  # misspelt
    with pytest.raises(FeederFileError, match=r"meta\.json: unknown metadata key\(s\) \['slack_vm'\]"):
        read_csv(b, ld, meta)
    with pytest.raises(FeederFileError, match=r"metadata 'slack_vm_pu' must be a number, got 'high'"):
        read_csv(b, ld, {"base_kv": 12.66, "slack_bus": 1, "slack_vm_pu": "high"})


@pytest.mark.parametrize(("table", "col", "value", "fault"), [
    ("branches", "r_ohm", "0.1O", "'0.1O' is not a number"),
    ("branches", "to_bus", "x7", "'x7' is not a number"),
    ("loads", "p_kw", "100kW", "'100kW' is not a number"),
    ("branches", "to_bus", "7.5", "bus id 7.5 is not an integer"),
    ("loads", "bus", "9.5", "bus id 9.5 is not an integer"),
])
def test_bad_cells_name_file_row_and_column(tmp_path: Path, table: str, col: str, value: str,
                                            fault: str) -> None:
    br, loads = tables(cases.load("ieee33"))
    df = (br if table == "branches" else loads).astype(object)
    df.loc[6, col] = value
    b, ld, meta = write_case(tmp_path, *((df, loads) if table == "branches" else (br, df)))
    with pytest.raises(FeederFileError, match=rf"bad_{table}\.csv: row 7, column '{col}': {fault}"):
        read_csv(b, ld, meta)


@pytest.mark.parametrize(("table", "col"), [("branches", "from_bus"), ("branches", "to_bus"),
                                            ("loads", "bus")])
def test_float_bus_ids_with_integer_values_are_refused(tmp_path: Path, table: str, col: str) -> None:
    # issue 9: read_csv must refuse float bus ids with a named error (it used to read "2.0" as 2)
    br, loads = tables(cases.load("ieee33"))
    df = br if table == "branches" else loads
    df[col] = df[col].astype(float)                                   # "1.0", "2.0", ...
    want = int(df.loc[0, col])
    b, ld, meta = write_case(tmp_path, br, loads)
    with pytest.raises(FeederFileError, match=rf"bad_{table}\.csv: row 1, column '{col}': bus id "
                                              rf"{want}\.0 is not an integer \(write it as {want}\)"):
        read_csv(b, ld, meta)


def test_a_bus_id_in_exponent_form_is_refused(tmp_path: Path) -> None:
    br, loads = tables(cases.load("ieee33"))
    loads = loads.astype(object)
    loads.loc[2, "bus"] = "3e0"
    b, ld, meta = write_case(tmp_path, br, loads)
    with pytest.raises(FeederFileError, match=r"bad_loads\.csv: row 3, column 'bus': bus id 3e0 is not "
                                              r"an integer \(write it as 3\)"):
        read_csv(b, ld, meta)


def test_integer_bus_ids_with_spaces_and_signs_are_read(tmp_path: Path) -> None:
    br, loads = tables(cases.load("ieee33"))
    br = br.astype(object)
    br["to_bus"] = [f" +{v} " for v in br["to_bus"]]
    b, ld, meta = write_case(tmp_path, br, loads)
    same_network(read_csv(b, ld, meta), cases.load("ieee33"))


@pytest.mark.parametrize(("text", "fault"), [("", "the file is empty"),
                                             ("bus,p_kw,q_kvar\n", "no rows after the header")])
def test_empty_file_is_refused(tmp_path: Path, text: str, fault: str) -> None:
    br, loads = tables(cases.load("ieee33"))
    b, ld, meta = write_case(tmp_path, br, loads)
    ld.write_text(text)
    with pytest.raises(FeederFileError, match=rf"bad_loads\.csv: {fault}"):
        read_csv(b, ld, meta)
