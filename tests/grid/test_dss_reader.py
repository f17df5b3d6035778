"""grid.io.read_dss / write_dss: script semantics, bad input, and the round trip through OpenDSS."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from grid import cases
from grid.errors import (
    DssDisconnectedError,
    DssError,
    DssFileNotFoundError,
    DssLoopError,
    DssMissingLineCodeError,
    DssPhaseError,
    DssUnsupportedError,
    LoopError,
)
from grid.io import read_dss, read_dss_model, write_dss
from grid.powerflow import solve

HEAD = """Clear
New Circuit.t basekv=12.47 bus1=1 pu=1.02
New LineCode.lc3 nphases=3 units=kft rmatrix=[0.3 | 0.1 0.3 | 0.1 0.1 0.3]
~ xmatrix=[0.6 | 0.2 0.6 | 0.2 0.2 0.6]
New LineCode.lc1 nphases=1 units=kft rmatrix=[0.3] xmatrix=[0.6]
"""


def _write(tmp_path: Path, body: str, name: str = "case.dss") -> Path:
    f = tmp_path / name
    f.write_text(HEAD + body)
    return f


# --------------------------------------------------------------------------- semantics
def test_balanced_equivalent_rules(tmp_path: Path) -> None:
    f = _write(tmp_path, """New Line.a phases=3 bus1=1 bus2=2 linecode=lc3 length=2 units=kft
New Line.b phases=1 bus1=2.2 bus2=3.2 linecode=lc1 length=1000 units=ft
New Load.l3 bus1=3.2 phases=1 kv=7.2 kw=30 kvar=10
New Load.l2 bus1=2 phases=3 kv=12.47 kw=(50 2 *) pf=0.8
New Capacitor.c2 bus1=2 phases=3 kvar=300 kv=12.47
""")
    net = read_dss(f, line_charging=False)
    br = net.branches().set_index("to_bus")
    # three-phase: Z1 = Zs - Zm per kft, times 2 kft; one-phase: 3 Zs, 1000 ft = 1 kft
    assert br.loc[2, "r_ohm"] == pytest.approx(2 * (0.3 - 0.1))
    assert br.loc[2, "x_ohm"] == pytest.approx(2 * (0.6 - 0.2))
    assert br.loc[3, "r_ohm"] == pytest.approx(3 * 0.3)
    bus = net.buses().set_index("bus")
    assert bus.loc[2, "p_kw"] == pytest.approx(100.0)  # RPN (50 2 *)
    assert bus.loc[2, "q_kvar"] == pytest.approx(75.0)  # kW tan(acos 0.8)
    assert bus.loc[2, "shunt_kvar"] == pytest.approx(300.0)
    assert bus.loc[3, "p_kw"] == pytest.approx(30.0)
    assert net.slack_vm_pu == pytest.approx(1.02) and net.base_kv == pytest.approx(12.47)


def test_regulator_boost_lowers_tap_and_auxiliary_bus_is_merged(tmp_path: Path) -> None:
    f = _write(tmp_path, """New Line.a phases=3 bus1=1 bus2=2 linecode=lc3 length=1 units=kft
New Transformer.r phases=3 windings=2 buses=[2 2r] kvs=[12.47 12.47] kvas=[5000 5000] xhl=0.1 %rs=[0.01 0.01]
New RegControl.cr transformer=r winding=2 vreg=122 band=2
Transformer.r.wdg=2 Tap=(0.00625 8 * 1 +)
New Line.b phases=3 bus1=2r bus2=3 linecode=lc3 length=1 units=kft
New Load.l3 bus1=3 phases=3 kv=12.47 kw=500 kvar=100
""")
    model = read_dss_model(f, line_charging=False)
    net = model.network
    assert sorted(net.bus.tolist()) == [1, 2, 3]  # 2r merged into the branch 2-3
    k = int(np.flatnonzero(net.bus[net.to_idx] == 3)[0])
    assert net.tap[k] == pytest.approx(1 / 1.05)  # boost 1 + 0.00625*8 -> tap < 1
    z_xf = complex(0.02, 0.1) / 100 * 12.47**2 * 1000 / 5000
    # composed exactly: (t1, Z_xf) then (1, Z_line) = (t1, Z_xf + Z_line)
    assert net.r_ohm[k] == pytest.approx(z_xf.real + 0.2, rel=1e-12)
    assert net.x_ohm[k] == pytest.approx(z_xf.imag + 0.4, rel=1e-12)
    # V_3 = V_2 / tap - (Z_xf + Z_line) I: the regulator raises bus 3 above bus 2
    res = solve(net, net.p_kw, net.q_kvar)
    vm = dict(zip(net.bus.tolist(), res.vm_pu.tolist(), strict=True))
    assert vm[3] > vm[2] + 0.04


def test_redirect_and_compile_resolve_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "codes.dss").write_text(
        "New LineCode.lc3 nphases=3 units=kft rmatrix=[0.3|0.1 0.3|0.1 0.1 0.3]\n"
        "~ xmatrix=[0.6|0.2 0.6|0.2 0.2 0.6]\n"
    )
    # Redirect inside sub/ resolves against sub/ (the redirected file's folder), here ../codes.dss
    (tmp_path / "sub" / "lines.dss").write_text("Redirect ../codes.dss\nRedirect deeper/more.dss\n")
    (tmp_path / "sub" / "deeper" / "more.dss").write_text(
        "New Line.a phases=3 bus1=1 bus2=2 linecode=lc3 length=1 units=kft\n"
    )
    (tmp_path / "master.dss").write_text(
        "Clear\nNew Circuit.t basekv=12.47 bus1=1\nRedirect sub/lines.dss\n"
        "New Load.l bus1=2 kv=12.47 kw=10 kvar=1\n"
    )
    # Compile changes the folder for the rest of the calling script (OpenDSS semantics)
    (tmp_path / "run.dss").write_text("Compile master.dss\nRedirect codes.dss\nSolve\nShow voltages\n")
    net = read_dss(tmp_path / "run.dss")
    assert net.n_bus == 2 and float(net.p_kw.sum()) == 10.0


def test_open_switch_is_a_tie(tmp_path: Path) -> None:
    f = _write(tmp_path, """New Line.a phases=3 bus1=1 bus2=2 linecode=lc3 length=1 units=kft
New Line.b phases=3 bus1=2 bus2=3 linecode=lc3 length=1 units=kft
New Line.d phases=3 bus1=1 bus2=4 linecode=lc3 length=1 units=kft
New Line.c phases=3 bus1=3 bus2=4 linecode=lc3 length=1 units=kft
New Line.sw phases=3 bus1=2 bus2=4 switch=yes r1=1e-3 r0=1e-3 x1=0 x0=0 c1=0 c0=0
Open Line.c term=2
Disable Line.sw
""")
    net = read_dss(f)
    assert net.n_branch == 3
    assert sorted(zip(net.tie_from.tolist(), net.tie_to.tolist(), strict=True)) == [(2, 4), (3, 4)]


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("body", "error", "match"),
    [
        ("New Line.a bus1=1 bus2=2 linecode=lc3 length=1\nNew PVSystem.pv bus1=2 kva=10\n",
         DssUnsupportedError, r"case\.dss:7: .*'pvsystem'"),
        ("New Line.a bus1=1 bus2=2 linecode=nope length=1\n",
         DssMissingLineCodeError, r"case\.dss:6: line\.a: linecode 'nope' is not defined"),
        ("New Line.a bus1=1 bus2=2 linecode=lc3 length=1\n"
         "New Line.b phases=1 bus1=2.2 bus2=3.2 linecode=lc1\n"
         "New Load.x bus1=3.1 phases=1 kv=7.2 kw=5\n",
         DssPhaseError, r"case\.dss:8: load\.x: uses phases \[1\] of bus '3', which has only \[2\]"),
        ("New Line.a bus1=1 bus2=2 linecode=lc3 length=1\nNew Line.b bus1=2 bus2=3 linecode=lc3 length=1\n"
         "New Line.c bus1=3 bus2=1 linecode=lc3 length=1\n",
         DssLoopError, r"case\.dss:[78]: line\.[bc] \(.*\) closes a loop"),
        ("Redirect missing/lines.dss\n",
         DssFileNotFoundError, r"case\.dss:6: redirect missing/lines\.dss: file not found"),
        ("New Line.a bus1=1 bus2=2 linecode=lc3 length=1\nSet loadmult=1.5\n",
         DssUnsupportedError, r"case\.dss:7: Set option 'loadmult'"),
        ("New Line.a bus1=1 bus2=2 linecode=lc3 length=1 geometry=g1\n",
         DssUnsupportedError, r"case\.dss:6: line\.a: property 'geometry' is not supported"),
        ("New Line.a phases=3 bus1=1.1.2 bus2=2 linecode=lc3 length=1\n",
         DssPhaseError, r"case\.dss:6: line\.a: bus '1' gives 2 node\(s\)"),
    ],
    ids=["unknown-class", "missing-linecode", "inconsistent-phases", "loop", "missing-redirect",
         "unknown-set", "unknown-property", "node-count"],
)
def test_bad_input_is_a_named_error_with_file_and_line(tmp_path, body, error, match) -> None:
    f = _write(tmp_path, body)
    with pytest.raises(error, match=match) as info:
        read_dss(f)
    assert isinstance(info.value, DssError) and info.value.line is not None
    assert Path(info.value.file).name == "case.dss"


def test_loop_error_is_also_a_network_loop_error(tmp_path: Path) -> None:
    f = _write(tmp_path, "New Line.a bus1=1 bus2=2 linecode=lc3\n"
                         "New Line.b bus1=2 bus2=1 linecode=lc1 phases=1\n")
    with pytest.raises(LoopError, match=r"line\.b"):
        read_dss(f)


def test_bus_fed_only_through_an_open_switch_is_a_named_error(tmp_path: Path) -> None:
    # bus 3 hangs off an open switch and nothing else feeds it (a dead-end alternate-feed bus)
    f = _write(tmp_path, """New Line.a phases=3 bus1=1 bus2=2 linecode=lc3 length=1 units=kft
New Line.sw phases=3 bus1=2 bus2=3 switch=yes r1=1e-3 r0=1e-3 x1=0 x0=0 c1=0 c0=0
New Load.l3 bus1=3 phases=3 kv=12.47 kw=10 kvar=5
Open Line.sw term=2
""")
    match = r"case\.dss:7: line\.sw: open switch to bus '3', which nothing else feeds"
    with pytest.raises(DssDisconnectedError, match=match) as info:
        read_dss(f)
    assert Path(info.value.file).name == "case.dss" and info.value.line == 7


def test_missing_top_file() -> None:
    with pytest.raises(DssFileNotFoundError, match="no_such.dss"):
        read_dss("/nonexistent/no_such.dss")


# --------------------------------------------------------------------------- write and round trip
@pytest.mark.parametrize("name", ["ieee33", "ieee34", "ieee123"])
def test_write_read_round_trip(tmp_path: Path, name: str) -> None:
    net = cases.load(name)
    back = read_dss(write_dss(net, tmp_path / f"{name}.dss"), line_charging=False)
    order = back.index_of(net.bus)
    assert np.array_equal(back.bus[order], net.bus)
    np.testing.assert_allclose(back.p_kw[order], net.p_kw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(back.shunt_kvar[order], net.shunt_kvar, rtol=1e-12, atol=1e-12)
    res, res_back = solve(net, net.p_kw, net.q_kvar), solve(back, back.p_kw, back.q_kvar)
    assert np.max(np.abs(res_back.v_pu[order] - res.v_pu)) < 1e-8
    assert len(back.tie_from) == len(net.tie_from)


@pytest.mark.parametrize("name", ["ieee33", "ieee34", "ieee123"])
def test_written_model_solved_by_opendss_gives_our_voltages(tmp_path: Path, name: str) -> None:
    dss = pytest.importorskip("dss")
    net = cases.load(name)
    path = write_dss(net, tmp_path / f"{name}.dss")
    here = os.getcwd()
    try:
        eng = dss.DSS
        eng.Text.Command = "clear"
        eng.Text.Command = f"compile [{path}]"
        eng.Text.Command = "solve"
        ckt = eng.ActiveCircuit
        assert ckt.Solution.Converged
        v_dss = np.empty(net.n_bus, dtype=complex)
        for i, b in enumerate(net.bus):
            ckt.SetActiveBus(str(int(b)))
            va = np.asarray(ckt.ActiveBus.puVmagAngle)
            v_dss[i] = va[0] * np.exp(1j * np.deg2rad(va[1]))
    finally:
        os.chdir(here)
    res = solve(net, net.p_kw, net.q_kvar, tol=1e-10)
    dv = float(np.max(np.abs(res.v_pu - v_dss)))
    print(f"{name}: max |V_ours - V_OpenDSS| = {dv:.2e} pu (written balanced model)")
    assert dv <= 1e-5
