"""The power flow against an independent solver: a dense Newton-Raphson on the bus admittance matrix.

The BFS kernel, its NumPy reference (``grid/_bfs_reference.py``) and the KVL / ``3|I|^2 R`` sums
are one algorithm written twice; a fault in the model (a tap taken the wrong way, a shunt dropped)
would pass them all. The oracle here shares nothing with the kernel but the model as documented:

* ``grid/powerflow.py`` (module docstring): per unit on 1 MVA and ``base_kv``; loads constant
  power ``p_kw + j q_kvar`` (consumption positive); a shunt is a constant admittance injecting
  ``shunt_kvar`` at 1.0 pu; a branch is an ideal transformer of ratio ``tap : 1`` at its *sending*
  end followed by the series impedance ``r_ohm + j x_ohm`` (``V_secondary = V_sending / tap``).
* ``grid/network.py`` (``Network.tap`` and ``from_tables``): in a branches table the tap sits at
  the row's ``from_bus`` end and the impedance on the ``to_bus`` side, whatever the row's
  orientation in the tree.

An ideal ``t:1`` transformer at bus ``f`` followed by admittance ``y`` to bus ``c`` gives the
textbook two-port (Grainger & Stevenson, *Power System Analysis*, sec. 9.6; MATPOWER manual,
eq. 3.2 with the tap at the from bus): ``Y_ff = y / t**2``, ``Y_fc = Y_cf = -y / t``, ``Y_cc = y``.
The Newton-Raphson iteration is the polar one (MATPOWER's ``newtonpf``, Jacobian from
``dSbus_dV``), solved until the largest power mismatch is below 1e-10 pu (1e-7 kW).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csc_matrix
from scipy.sparse.linalg import spsolve

from grid import cases
from grid.network import Network
from grid.powerflow import base_current_a, solve

FEEDERS = st.sampled_from(["ieee33", "pge69"])
S_BASE_KVA = 1000.0


# --------------------------------------------------------------------------- the oracle
def admittance_matrix(labels, from_bus, to_bus, r_ohm, x_ohm, tap, shunt_kvar, base_kv):
    """Dense bus admittance matrix (pu on 1 MVA) of branches given as table rows.

    ``labels`` fixes the bus order; ``tap[k]`` sits at ``from_bus[k]``'s end of row ``k``.
    """
    index = {int(b): i for i, b in enumerate(labels)}
    n = len(labels)
    Y = np.zeros((n, n), dtype=complex)
    y = base_kv**2 / (np.asarray(r_ohm) + 1j * np.asarray(x_ohm))      # 1 / z_pu
    for fb, tb, yk, t in zip(from_bus, to_bus, y, tap, strict=True):
        f, c = index[int(fb)], index[int(tb)]
        Y[f, f] += yk / t**2
        Y[f, c] -= yk / t
        Y[c, f] -= yk / t
        Y[c, c] += yk
    Y[np.diag_indices(n)] += 1j * np.asarray(shunt_kvar) / S_BASE_KVA     # capacitor: +j b
    return Y


def _solve(A, b):
    """``A x = b`` by SuperLU: LAPACK's threaded dense solve is 50x slower on a busy 2-core machine."""
    return spsolve(csc_matrix(A), b)


def newton_raphson(Y, v_slack, p_kw, q_kvar, *, tol=1e-10, max_iter=30):
    """Polar Newton-Raphson, bus 0 the slack, every other bus PQ with constant-power demand."""
    n = Y.shape[0]
    s_inj = -(np.asarray(p_kw) + 1j * np.asarray(q_kvar)) / S_BASE_KVA
    pq = np.arange(1, n)
    # start from the no-load solution (linear: Y_pp V_p = -Y_p0 V_0), not a flat profile: a flat start
    # across an off-nominal tap on a near-zero impedance (pge69 has 0.0005 ohm) is a mismatch of
    # thousands of pu from which Newton wanders
    V = np.full(n, v_slack, dtype=complex)
    V[pq] = _solve(Y[np.ix_(pq, pq)], -Y[pq, 0] * v_slack)
    vm, va = np.abs(V), np.angle(V)
    for _ in range(max_iter):
        V = vm * np.exp(1j * va)
        ibus = Y @ V
        mis = V * np.conj(ibus) - s_inj
        F = np.r_[mis[pq].real, mis[pq].imag]
        if np.max(np.abs(F)) < tol:
            return V
        # MATPOWER dSbus_dV, with diag(a) @ M written as a[:, None] * M
        u = V / vm
        dS_dvm = V[:, None] * np.conj(Y * u[None, :]) + np.diag(np.conj(ibus) * u)
        dS_dva = 1j * V[:, None] * np.conj(np.diag(ibus) - Y * V[None, :])
        J = np.block([[dS_dva[np.ix_(pq, pq)].real, dS_dvm[np.ix_(pq, pq)].real],
                      [dS_dva[np.ix_(pq, pq)].imag, dS_dvm[np.ix_(pq, pq)].imag]])
        dx = _solve(J, -F)
        va[pq] += dx[: len(pq)]
        vm[pq] += dx[len(pq):]
    raise AssertionError(f"oracle Newton-Raphson did not converge in {max_iter} iterations")


def oracle(net: Network, p_kw, q_kvar) -> np.ndarray:
    """NR voltages (internal bus order) of each operating point in ``p_kw`` (n, n_bus)."""
    Y = admittance_matrix(net.bus, net.bus[net.from_idx], net.bus[net.to_idx], net.r_ohm, net.x_ohm,
                          net.tap, net.shunt_kvar, net.base_kv)
    v0 = net.slack_vm_pu * np.exp(1j * np.deg2rad(net.slack_va_deg))
    return np.array([newton_raphson(Y, v0, p, q) for p, q in zip(p_kw, q_kvar, strict=True)])


def branch_currents_pu(net: Network, V: np.ndarray) -> np.ndarray:
    """Series current of each tree branch from the oracle's voltages: (V_f / t - V_c) / z."""
    z = (net.r_ohm + 1j * net.x_ohm) / net.z_base_ohm
    return (V[..., net.from_idx] / net.tap - V[..., net.to_idx]) / z


# --------------------------------------------------------------------------- networks and points
def tapped_network(case: str, seed: int, *, n_tap: int = 4, n_shunt: int = 4,
                   slack_vm_pu: float = 1.0, slack_va_deg: float = 0.0):
    """The case with random off-nominal taps (half their rows written child -> parent) and shunts.

    Returns the network and the branches/loads tables it was built from.
    """
    base = cases.load(case)
    rng = np.random.default_rng(seed)
    br = base.branches()[["from_bus", "to_bus", "r_ohm", "x_ohm"]].assign(tap=1.0)
    rows = rng.choice(len(br), n_tap, replace=False)
    br.loc[rows, "tap"] = rng.uniform(0.93, 1.07, n_tap)
    flip = rows[: n_tap // 2]
    br.loc[flip, ["from_bus", "to_bus"]] = br.loc[flip, ["to_bus", "from_bus"]].to_numpy()
    loads = base.buses()[["bus", "p_kw", "q_kvar"]].assign(shunt_kvar=0.0)
    buses = rng.choice(np.arange(1, base.n_bus), n_shunt, replace=False)
    loads.loc[buses, "shunt_kvar"] = rng.uniform(150.0, 900.0, n_shunt)
    net = Network.from_tables(br, loads, slack_bus=base.slack_bus, base_kv=base.base_kv,
                              slack_vm_pu=slack_vm_pu, slack_va_deg=slack_va_deg)
    return net, br, loads


def operating_points(net: Network, seed: int, n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Light, nominal and heavy load, and three points with reverse flow from one or two DGs."""
    rng = np.random.default_rng(seed)
    level = np.r_[0.3, 1.0, 1.7, rng.uniform(0.2, 1.2, n - 3)]
    scale = level[:, None] * rng.uniform(0.7, 1.3, (n, net.n_bus))
    p, q = scale * net.p_kw, scale * net.q_kvar
    for c in range(3, n):                       # DG of 1.4x .. 1.9x the point's load: export at the slack
        dg = rng.uniform(1.4, 1.9) * p[c].sum()
        for b in rng.choice(np.arange(1, net.n_bus), 2, replace=False):
            p[c, b] -= dg / 2
    return p, q


# --------------------------------------------------------------------------- the oracle itself
def test_oracle_reproduces_the_published_ieee33_solution() -> None:
    """Baran & Wu (1989) 33-bus feeder: 202.68 kW loss, 0.9131 pu at bus 18 (the README's figures)."""
    net = cases.load("ieee33")
    V = oracle(net, net.p_kw[None], net.q_kvar[None])[0]
    i = branch_currents_pu(net, V)
    loss_kw = float((np.abs(i) ** 2 * net.r_ohm / net.z_base_ohm).sum() * S_BASE_KVA)
    assert loss_kw == pytest.approx(202.68, abs=0.01)
    assert np.abs(V).min() == pytest.approx(0.91309, abs=1e-5) and np.abs(V).argmin() == net.index_of(18)


def test_oracle_follows_the_documented_tap_convention() -> None:
    """No load, no shunt: the voltage steps by 1/tap at a tap (``V_secondary = V_sending / tap``)."""
    net, _, _ = tapped_network("ieee33", seed=0, n_tap=2, n_shunt=0)
    V = oracle(net, np.zeros((1, net.n_bus)), np.zeros((1, net.n_bus)))[0]
    np.testing.assert_allclose(V[net.to_idx], V[net.from_idx] / net.tap, rtol=0, atol=1e-12)
    assert not np.allclose(np.abs(V), 1.0)


# --------------------------------------------------------------------------- the kernel against it
@pytest.mark.parametrize("case", ["ieee33", "pge69"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bfs_equals_newton_with_taps_and_shunts(case: str, seed: int) -> None:
    net, br, loads = tapped_network(case, seed, slack_vm_pu=1.02, slack_va_deg=-3.0)
    p, q = operating_points(net, seed)
    V = oracle(net, p, q)
    res = solve(net, p, q, tol=1e-11, max_iter=500)
    assert res.converged.all()
    assert (res.slack_p_kw[3:] < 0).all()                      # the reverse-flow points do export
    np.testing.assert_allclose(res.v_pu, V, rtol=0, atol=1e-6)
    # the same oracle built straight from the table rows (tap at each row's from_bus end): checks
    # the tree's flipping of the rows written child -> parent as well as the kernel
    Y = admittance_matrix(net.bus, br.from_bus, br.to_bus, br.r_ohm, br.x_ohm, br.tap,
                          loads.set_index("bus").shunt_kvar.reindex(net.bus).to_numpy(), net.base_kv)
    v0 = 1.02 * np.exp(1j * np.deg2rad(-3.0))
    V_table = np.array([newton_raphson(Y, v0, p[c], q[c]) for c in range(len(p))])
    np.testing.assert_allclose(res.v_pu, V_table, rtol=0, atol=1e-6)
    # currents and losses from the oracle's voltages (KVL through the tap, 3 |I|^2 R)
    i_pu = branch_currents_pu(net, V)
    np.testing.assert_allclose(res.i_a / base_current_a(net.base_kv), i_pu, rtol=0, atol=1e-5)
    loss_kw = (np.abs(i_pu) ** 2 * net.r_ohm / net.z_base_ohm).sum(axis=1) * S_BASE_KVA
    np.testing.assert_allclose(res.loss_kw, loss_kw, rtol=1e-5, atol=1e-4)
    # slack power: S = V0 conj(sum_j Y_0j V_j)
    s0 = V[:, 0] * np.conj(V @ Y[0]) * S_BASE_KVA
    np.testing.assert_allclose(res.slack_p_kw + 1j * res.slack_q_kvar, s0, rtol=0, atol=1e-3)


def test_the_taps_and_shunts_matter_at_this_tolerance() -> None:
    """The comparison above is not vacuous: the same points without taps or without shunts differ."""
    net, br, loads = tapped_network("ieee33", 1)
    p, q = operating_points(net, 1)
    V = oracle(net, p, q)
    no_tap = Network.from_tables(br.assign(tap=1.0), loads, slack_bus=1, base_kv=net.base_kv)
    no_shunt = Network.from_tables(br, loads.assign(shunt_kvar=0.0), slack_bus=1, base_kv=net.base_kv)
    for other in (no_tap, no_shunt):
        assert np.abs(solve(other, p, q).v_pu - V).max() > 1e-3


@st.composite
def loaded_points(draw: st.DrawFn, n_max: int = 6) -> tuple[Network, np.ndarray, np.ndarray]:
    """A feeder with random taps and shunts and 1..n_max points: per-bus load scaling, two DGs."""
    case = draw(FEEDERS)
    seed = draw(st.integers(0, 2**32 - 1))
    net, _, _ = tapped_network(case, seed % 1000, n_tap=draw(st.integers(0, 6)),
                               n_shunt=draw(st.integers(0, 6)))
    n = draw(st.integers(1, n_max))
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.0, draw(st.floats(0.0, 2.0)), (n, net.n_bus))
    p = scale * net.p_kw
    q = scale * net.q_kvar
    dg_share = draw(st.floats(0.0, 1.5))             # up to 1.5x the feeder load: reverse flow
    for _ in range(2):
        bus = rng.integers(1, net.n_bus, n)
        p[np.arange(n), bus] -= 0.5 * dg_share * net.p_kw.sum() * rng.uniform(0, 1, n)
    return net, p, q


@settings(max_examples=25, deadline=None)
@given(loaded_points())
def test_kvl_and_losses_against_newton(point) -> None:
    """Branch currents, ``3 |I|^2 R`` losses and the slack balance, all from the oracle's voltages."""
    net, p, q = point
    res = solve(net, p, q, tol=1e-11, max_iter=500)
    assert res.converged.all()
    V = oracle(net, p, q)
    np.testing.assert_allclose(res.v_pu, V, rtol=0, atol=1e-6)
    i_pu = branch_currents_pu(net, V)
    i_a = i_pu * base_current_a(net.base_kv)
    np.testing.assert_allclose(res.i_a, i_a, rtol=0, atol=1e-5 * base_current_a(net.base_kv))
    # balanced three-phase: 3 |I_phase|^2 R, W -> kW, on the oracle's currents
    i2 = np.abs(i_a) ** 2
    np.testing.assert_allclose(res.branch_loss_kw, 3 * i2 * net.r_ohm / 1e3, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(res.branch_loss_kvar, 3 * i2 * net.x_ohm / 1e3, rtol=1e-5, atol=1e-5)
    # slack = demand + losses - shunt injection (pandapower test/consistency_checks.py)
    shunt_kvar = (net.shunt_kvar * np.abs(V) ** 2).sum(axis=1)
    np.testing.assert_allclose(res.slack_p_kw, p.sum(axis=1) + res.loss_kw, rtol=0, atol=1e-6)
    q_balance = q.sum(axis=1) + res.loss_kvar - shunt_kvar
    np.testing.assert_allclose(res.slack_q_kvar, q_balance, rtol=0, atol=1e-3)
    assert (res.branch_loss_kw >= 0).all()


@pytest.mark.slow
@pytest.mark.parametrize("case", ["ieee33", "pge69"])
def test_bfs_equals_newton_over_many_load_levels(case: str) -> None:
    """The fast test's comparison on 20 tapped networks, from 10 % load to near voltage collapse."""
    for seed in range(20):
        net, _, _ = tapped_network(case, 100 + seed, n_tap=6, n_shunt=6)
        levels = np.r_[np.linspace(0.1, 2.4 if case == "ieee33" else 2.0, 12), -np.linspace(0.2, 1.0, 4)]
        p, q = levels[:, None] * net.p_kw, np.abs(levels)[:, None] * net.q_kvar
        res = solve(net, p, q, tol=1e-11, max_iter=2000)
        assert res.converged.all(), (seed, levels[~res.converged])
        np.testing.assert_allclose(res.v_pu, oracle(net, p, q), rtol=0, atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(loaded_points(n_max=8))
def test_batch_equals_each_case_alone(point) -> None:
    net, p, q = point
    batch = solve(net, p, q)
    for c in range(p.shape[0]):
        alone = solve(net, p[c], q[c])
        np.testing.assert_array_equal(batch.v_pu[c], alone.v_pu)
        np.testing.assert_array_equal(batch.i_a[c], alone.i_a)
        assert batch.iterations[c] == alone.iterations


@settings(max_examples=10, deadline=None)
@given(FEEDERS, st.floats(0.9, 1.1), st.floats(-30.0, 30.0))
def test_zero_load_gives_a_flat_profile(case: str, vm: float, va: float) -> None:
    base = cases.load(case)
    net = type(base).from_tables(base.branches(), base.buses(), slack_bus=base.slack_bus,
                                 base_kv=base.base_kv, slack_vm_pu=vm, slack_va_deg=va)
    res = solve(net, np.zeros(net.n_bus), np.zeros(net.n_bus))
    assert res.converged and res.iterations == 1
    np.testing.assert_allclose(res.v_pu, vm * np.exp(1j * np.deg2rad(va)), rtol=0, atol=1e-15)
    assert res.loss_kw == 0 and res.slack_p_kw == 0
    np.testing.assert_array_equal(res.i_a, 0)
