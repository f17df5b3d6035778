"""Physics invariants of the power flow, over random operating points drawn by hypothesis."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from grid import cases
from grid.powerflow import solve

FEEDERS = st.sampled_from(["ieee33", "pge69"])


@st.composite
def operating_points(draw: st.DrawFn, n_max: int = 6) -> tuple[str, np.ndarray, np.ndarray]:
    """A feeder and a batch of 1..n_max points: per-bus load scaling, up to two DG units."""
    case = draw(FEEDERS)
    net = cases.load(case)
    n = draw(st.integers(1, n_max))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.0, draw(st.floats(0.0, 2.0)), (n, net.n_bus))
    p = scale * net.p_kw
    q = scale * net.q_kvar
    dg_share = draw(st.floats(0.0, 1.5))             # up to 1.5x the feeder load: reverse flow
    for _ in range(2):
        bus = rng.integers(1, net.n_bus, n)
        p[np.arange(n), bus] -= 0.5 * dg_share * net.p_kw.sum() * rng.uniform(0, 1, n)
    return case, p, q


@settings(max_examples=25, deadline=None)
@given(operating_points())
def test_slack_injection_is_demand_plus_losses(point) -> None:
    case, p, q = point
    net = cases.load(case)
    res = solve(net, p, q, tol=1e-12)
    assert res.converged.all()
    # pandapower test/consistency_checks.py: slack = load - generation + losses
    np.testing.assert_allclose(res.slack_p_kw, p.sum(axis=1) + res.loss_kw, rtol=0, atol=1e-7)
    np.testing.assert_allclose(res.slack_q_kvar, q.sum(axis=1) + res.loss_kvar, rtol=0, atol=1e-7)
    assert (res.loss_kw >= 0).all() and (res.branch_loss_kw >= 0).all()


@settings(max_examples=25, deadline=None)
@given(operating_points())
def test_branch_loss_is_i_squared_r(point) -> None:
    case, p, q = point
    net = cases.load(case)
    res = solve(net, p, q)
    i2 = np.abs(res.i_a) ** 2
    # balanced three-phase: 3 |I_phase|^2 R, W -> kW
    np.testing.assert_allclose(res.branch_loss_kw, 3 * i2 * net.r_ohm / 1e3, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.branch_loss_kvar, 3 * i2 * net.x_ohm / 1e3, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.loss_kw, res.branch_loss_kw.sum(axis=-1), rtol=1e-12)
    # and KVL on every branch: V_parent - V_child = Z I
    z_pu = (net.r_ohm + 1j * net.x_ohm) / net.z_base_ohm
    i_pu = res.i_a / (1e3 / (np.sqrt(3) * net.base_kv))
    np.testing.assert_allclose(res.v_pu[:, net.from_idx] - res.v_pu[:, net.to_idx], z_pu * i_pu, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(operating_points(n_max=8))
def test_batch_equals_each_case_alone(point) -> None:
    case, p, q = point
    net = cases.load(case)
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
