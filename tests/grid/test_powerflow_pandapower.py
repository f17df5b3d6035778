"""The numba power flow against pandapower's Newton-Raphson, the project's independent oracle.

The oracle net is built from our :class:`Network` by :func:`grid.io.to_pandapower` (lines of
1 km with r/x in ohm, no capacitance; one load per bus carrying the net demand; an ext_grid at the
slack), because pandapower ships no 69-bus case and ``from_mpc`` mis-converts ``case69.m``. Each
pandapower call takes 10-50 ms, so the random operating points are kept to 55 per feeder.
"""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from grid import cases
from grid.io import to_pandapower
from grid.network import Network
from grid.powerflow import solve

N_RANDOM = 55


def run_oracle(
    ppn: pp.pandapowerNet, p_kw: np.ndarray, q_kvar: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """Complex voltages, total line losses (kW, kvar) of pandapower NR at one operating point."""
    ppn.load["p_mw"] = p_kw / 1e3
    ppn.load["q_mvar"] = q_kvar / 1e3
    pp.runpp(ppn, algorithm="nr", tolerance_mva=1e-10)
    v = ppn.res_bus.vm_pu.to_numpy() * np.exp(1j * np.deg2rad(ppn.res_bus.va_degree.to_numpy()))
    return v, ppn.res_line.pl_mw.sum() * 1e3, ppn.res_line.ql_mvar.sum() * 1e3


def random_points(net: Network, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random per-bus load scaling in [0, 2] and 1-3 DG units totalling up to 2x the feeder load.

    Half of the points carry large DG (heavy reverse flow: the feeder exports to the slack).
    """
    scale = rng.uniform(0.0, 2.0, (n, net.n_bus))
    p = scale * net.p_kw
    q = scale * net.q_kvar
    total = net.p_kw.sum()
    for c in range(n):
        n_dg = rng.integers(1, 4)
        buses = rng.choice(np.arange(1, net.n_bus), n_dg, replace=False)
        size = rng.uniform(1.0, 2.0, n_dg) * total if c % 2 else rng.uniform(0.0, 0.3, n_dg) * total
        p[c, buses] -= size / n_dg
        q[c, buses] -= rng.uniform(-0.3, 0.3, n_dg) * size / n_dg  # DG at a power factor near 1
    return p, q


@pytest.mark.parametrize("case", ["ieee33", "pge69"])
def test_matches_pandapower_nr(case: str) -> None:
    net = cases.load(case)
    rng = np.random.default_rng(20261124)
    p, q = random_points(net, N_RANDOM, rng)
    p = np.vstack([net.p_kw, p])          # nominal first
    q = np.vstack([net.q_kvar, q])
    res = solve(net, p, q)
    assert res.converged.all()
    assert (p.sum(axis=1) < 0).sum() >= N_RANDOM // 4, "the sample must include heavy reverse flow"
    ppn = to_pandapower(net)
    for c in range(p.shape[0]):
        v_ref, loss_kw, loss_kvar = run_oracle(ppn, p[c], q[c])
        np.testing.assert_allclose(res.v_pu[c], v_ref, rtol=0, atol=1e-6, err_msg=f"{case} point {c}")
        np.testing.assert_allclose(res.loss_kw[c], loss_kw, rtol=1e-4, err_msg=f"{case} point {c}")
        np.testing.assert_allclose(res.loss_kvar[c], loss_kvar, rtol=1e-4, err_msg=f"{case} point {c}")
        i_ref_a = ppn.res_line.i_ka.to_numpy() * 1e3
        np.testing.assert_allclose(np.abs(res.i_a[c]), i_ref_a, rtol=1e-6, atol=1e-6)


def test_shunt_capacitors_match_pandapower() -> None:
    base = cases.load("ieee33")
    tables = base.buses()
    tables.loc[tables.bus.isin([18, 30, 33]), "shunt_kvar"] = [300.0, 900.0, 450.0]
    net = Network.from_tables(base.branches(), tables, slack_bus=base.slack_bus, base_kv=base.base_kv)
    res = solve(net, net.p_kw, net.q_kvar)
    ppn = to_pandapower(net)
    v_ref, loss_kw, _ = run_oracle(ppn, net.p_kw, net.q_kvar)
    np.testing.assert_allclose(res.v_pu, v_ref, rtol=0, atol=1e-6)
    np.testing.assert_allclose(res.loss_kw, loss_kw, rtol=1e-4)
    assert res.loss_kw < 0.9 * solve(base, base.p_kw, base.q_kvar).loss_kw  # capacitors cut losses


def test_ieee33_equals_pandapower_case33bw() -> None:
    ppn = pn.case33bw()
    pp.runpp(ppn, algorithm="nr", tolerance_mva=1e-10)
    net = cases.load("ieee33")
    res = solve(net, net.p_kw, net.q_kvar)
    # pandapower bus b is our label b + 1
    v_ref = ppn.res_bus.vm_pu.to_numpy() * np.exp(1j * np.deg2rad(ppn.res_bus.va_degree.to_numpy()))
    np.testing.assert_allclose(res.v_pu, v_ref[net.bus - 1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(res.loss_kw, ppn.res_line.pl_mw.sum() * 1e3, rtol=1e-4)
    assert res.loss_kw == pytest.approx(202.68, abs=0.005)
    assert res.vm_pu.min() == pytest.approx(0.91309, abs=5e-6)
    assert net.bus[np.argmin(res.vm_pu)] == 18


def test_pge69_published_solution() -> None:
    net = cases.load("pge69")
    res = solve(net, net.p_kw, net.q_kvar)
    assert res.loss_kw == pytest.approx(224.99, abs=0.005)
    assert res.vm_pu.min() == pytest.approx(0.90919, abs=5e-6)
    assert net.bus[np.argmin(res.vm_pu)] == 65
