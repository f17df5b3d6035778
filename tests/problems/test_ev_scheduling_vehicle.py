"""Paper 001's per-vehicle formulation (``EVScheduling(formulation="vehicle")``, grid.ev_windows).

Oracles, independent of grid.ev_windows: each vehicle's energy replayed from its powers in clock
hours; the aggregate bounds of grid.ev.station_limits and its energy balance; grid.ev's
plug-and-charge load; and QPs (cvxpy + Clarabel, test extra) minimising 001's f1 over the
per-vehicle model and over the aggregate model, which is its relaxation.
"""

import numpy as np
import pytest

from grid import ev
from problems.ev_scheduling import EVScheduling, FleetTooLargeError

N = 24


@pytest.fixture(scope="module")
def com():
    return EVScheduling(region="commercial", config={"n_vehicles": 40}, formulation="vehicle")


@pytest.fixture(scope="module")
def sta():
    return EVScheduling(region="stations", config={"n_vehicles": 24}, formulation="vehicle")


def _slots(v):
    """Each vehicle's clock slots from arrival to departure, from grid.ev's event convention."""
    arr = (np.ceil(v.arrival_h).astype(int) - 1) % N
    dep = (np.ceil(v.arrival_h + v.dwell_h).astype(int) - 1) % N
    return [[(a + k) % N for k in range((d - a) % N + 1)] for a, d in zip(arr, dep, strict=True)]


def _check_schedule(p, P, E):
    """Per-vehicle feasibility (replayed in clock hours) and the aggregate bounds of station_limits."""
    v = p.vehicles
    x = ev.slot_overlap(v.arrival_h, v.dwell_h)
    dis = v.v2g_willing & p.config.v2g
    lo = np.minimum(v.soc_min * v.battery_kwh, v.energy_arrival_kwh)
    hi = v.soc_max * v.battery_kwh
    for i, slots in enumerate(_slots(v)):
        s = np.asarray(slots)
        other = np.setdiff1d(np.arange(N), s)
        assert np.all(P[:, i, other] == 0.0) and np.all(E[:, i, other] == 0.0)  # only while connected
        pi = P[:, i, s]
        assert np.all(pi <= x[i, s] * v.charger_kw[i] + 1e-9)
        assert np.all(pi >= -x[i, s] * v.charger_kw[i] * dis[i] - 1e-9)
        e = v.energy_arrival_kwh[i] + np.cumsum(np.where(pi >= 0, p.eta * pi, pi / p.eta), axis=1)
        np.testing.assert_allclose(e[:, :-1], E[:, i, s[:-1]], atol=1e-9)  # the balance, eq. (13)
        assert np.all(e[:, :-1] >= lo[i] - 1e-9) and np.all(e[:, :-1] <= hi[i] + 1e-9)  # eq. (15)
        np.testing.assert_allclose(e[:, -1], v.energy_required_kwh[i], atol=1e-9)  # eq. (16), delivered
    lim = ev.station_limits(v)
    tot, S = P.sum(1), E.sum(1)
    assert np.all(tot <= lim.p_ch_max_kw.sum(0) + 1e-9)
    assert np.all(tot >= -(lim.p_dis_max_kw.sum(0) if p.config.v2g else 0) - 1e-9)
    assert np.all(S >= lim.energy_min_kwh.sum(0) - 1e-9) and np.all(S <= lim.energy_max_kwh.sum(0) + 1e-9)
    # the aggregate balance of 002 eq. (1) around the clock, with charging and discharging apart
    pc, pd = np.maximum(P, 0).sum(1), np.maximum(-P, 0).sum(1)
    np.testing.assert_allclose(S, np.roll(S, 1, axis=1) + lim.delta_kwh.sum(0) + p.eta * pc - pd / p.eta,
                               atol=1e-8)


@pytest.mark.parametrize("fixture", ["com", "sta"])
def test_repaired_schedules_are_feasible_per_vehicle_and_in_aggregate(fixture, request):
    p = request.getfixturevalue(fixture)
    X = np.random.default_rng(5).uniform(p.xl - 0.5, p.xu + 0.5, (60, p.n_var))  # beyond the bounds too
    P, E = p.vehicle_schedule(X)
    _check_schedule(p, P, E)
    # exactly the departure energy: the repair ends on E_req, not near it
    w = p.windows
    from grid.ev_windows import repair

    x = np.zeros((60, p.vehicles.n_vehicles * N))
    x[:, p._var] = np.clip(X, p.xl, p.xu)
    x = x.reshape(60, -1, N)
    _, Ew = repair(w, np.where(x >= 0, x * w.p_ch_max_kw, x * w.p_dis_max_kw))
    dep = Ew[:, np.arange(w.n_vehicles), w.n_steps - 1]
    np.testing.assert_array_equal(dep, np.broadcast_to(p.vehicles.energy_required_kwh, dep.shape))
    # the problem's totals are the vehicles' sums
    tot, S = p.repair_power(X)
    np.testing.assert_allclose(tot, P.sum(1), atol=1e-12)
    np.testing.assert_allclose(S, E.sum(1), atol=1e-12)


def test_plug_and_charge_is_kept_and_ordered_charging_never_discharges(com):
    P, _ = com.vehicle_schedule(com.disordered_x()[None])
    np.testing.assert_allclose(P.sum(1)[0], ev.uncoordinated_load_kw(com.vehicles).sum(0), atol=1e-9)
    p = EVScheduling(region="commercial", config={"n_vehicles": 40, "v2g": False}, formulation="vehicle")
    assert p.xl.min() == 0.0
    P, E = p.vehicle_schedule(np.random.default_rng(2).uniform(-1, 1, (30, p.n_var)))
    assert np.all(P >= 0)
    _check_schedule(p, P, E)


def _qp_vehicle(p):
    """min f1 over the per-vehicle model, built from the VehicleSet alone; returns (f1, P (n, 24))."""
    cp = pytest.importorskip("cvxpy")
    v = p.vehicles
    x = ev.slot_overlap(v.arrival_h, v.dwell_h)
    lo = np.minimum(v.soc_min * v.battery_kwh, v.energy_arrival_kwh)
    hi = v.soc_max * v.battery_kwh
    load, cons, parts = p.base_kw.copy(), [], []
    for i, slots in enumerate(_slots(v)):
        s = np.asarray(slots)
        m = len(s)
        pc, pd = cp.Variable(m, nonneg=True), cp.Variable(m, nonneg=True)
        e = v.energy_arrival_kwh[i] + cp.cumsum(p.eta * pc - pd / p.eta)
        cons += [pc <= x[i, s] * v.charger_kw[i], pd <= x[i, s] * v.charger_kw[i] * p.config.v2g,
                 e[m - 1] == v.energy_required_kwh[i]]
        if m > 1:
            cons += [e[: m - 1] >= lo[i], e[: m - 1] <= hi[i]]
        onehot = np.zeros((N, m))
        onehot[s, np.arange(m)] = 1.0
        parts.append((i, s, pc, pd))
        load = load + onehot @ (pc - pd)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(load - cp.sum(load) / N)), cons)
    prob.solve(solver=cp.CLARABEL)
    assert prob.status == "optimal"
    P = np.zeros((v.n_vehicles, N))
    for i, s, pc, pd in parts:
        P[i, s] = pc.value - pd.value
    return prob.value, P


def _qp_aggregate(p):
    """min f1 over the aggregate model (station_limits summed, cyclic, no fixed hour): a relaxation."""
    cp = pytest.importorskip("cvxpy")
    lim = ev.station_limits(p.vehicles)
    pc, pd, S = cp.Variable(N, nonneg=True), cp.Variable(N, nonneg=True), cp.Variable(N)
    prev = cp.hstack([S[N - 1:], S[: N - 1]])
    cons = [pc <= lim.p_ch_max_kw.sum(0), pd <= lim.p_dis_max_kw.sum(0), S >= lim.energy_min_kwh.sum(0),
            S <= lim.energy_max_kwh.sum(0), S == prev + lim.delta_kwh.sum(0) + p.eta * pc - pd / p.eta]
    load = p.base_kw + pc - pd
    prob = cp.Problem(cp.Minimize(cp.sum_squares(load - cp.sum(load) / N)), cons)
    prob.solve(solver=cp.CLARABEL)
    assert prob.status == "optimal"
    return prob.value


def test_qp_bounds_the_repair_and_aggregation_relaxes_it(sta):
    f_veh, _ = _qp_vehicle(sta)
    assert _qp_aggregate(sta) <= f_veh * (1 + 1e-6)  # aggregation is a relaxation of the per-vehicle model
    # the QP's separate charge and discharge variables relax the repair's net power too: no repaired
    # schedule beats it
    X = np.random.default_rng(9).uniform(sta.xl, sta.xu, (200, sta.n_var))
    assert sta.compute(X)["f1"].min() >= f_veh * (1 - 1e-6)


def test_lossless_qp_optimum_is_kept_by_the_repair():
    """At efficiency 1 the net power determines the energy, so the QP is exactly the repaired model
    and the optimum, handed over as a decision, comes back unchanged."""
    p = EVScheduling(region="stations", config={"n_vehicles": 24, "efficiency": 1.0}, formulation="vehicle")
    f_veh, P = _qp_vehicle(p)
    assert _qp_aggregate(p) <= f_veh * (1 + 1e-6)
    w = p.windows
    net = w.to_window(P)
    x = np.divide(net, np.where(net >= 0, w.p_ch_max_kw, w.p_dis_max_kw), out=np.zeros_like(net),
                  where=w.p_ch_max_kw > 0)
    c = p.compute(x.ravel()[p._var][None])
    assert c["f1"][0] == pytest.approx(f_veh, rel=1e-6)
    np.testing.assert_allclose(p.vehicle_schedule(x.ravel()[p._var][None])[0][0], P, atol=1e-4)


def test_same_outputs_as_the_aggregate_formulation(com):
    agg = EVScheduling(region="commercial", config={"n_vehicles": 40})
    assert com.n_obj == agg.n_obj and com.n_ieq_constr == agg.n_ieq_constr
    assert com.units_disordered == agg.units_disordered
    X = np.random.default_rng(1).uniform(com.xl, com.xu, (4, com.n_var))
    c = com.compute(X)
    assert set(c) == set(agg.compute(agg.disordered_x()[None]))
    c_agg = agg.compute(None, ev_kw=c["ev_kw"])  # the same EV load through the aggregate's evaluation
    for k in ("f1", "f2", "f3"):
        np.testing.assert_allclose(c[k], c_agg[k], rtol=1e-12)
    F, G = com.evaluate(X, return_values_of=["F", "G"])
    assert F.shape == (4, 3) and G.shape == (4, 2)
    rows = com.table_rows(X)
    np.testing.assert_allclose(rows["peak_valley_kw"], c["f2"])


def test_fleet_above_the_limit_is_refused_naming_the_aggregate_option():
    with pytest.raises(FleetTooLargeError, match="formulation='aggregate'"):
        EVScheduling(region="residential", config={"n_vehicles": 201}, formulation="vehicle")
    EVScheduling(region="residential", config={"n_vehicles": 201})  # the aggregate takes it
    from problems._common import ProblemConfigError

    with pytest.raises(ProblemConfigError, match="formulation"):
        EVScheduling(region="residential", formulation="per_vehicle")


def test_chunked_evaluation_is_bit_identical(com):
    """A budget of a few candidates' memory splits the population; the outputs do not change."""
    small = EVScheduling(region="commercial", config={"n_vehicles": 40}, formulation="vehicle",
                         memory_budget_gib=3 * com.bytes_per_candidate() / 2**30)
    assert small.chunk_size() == 3
    X = np.random.default_rng(4).uniform(com.xl, com.xu, (10, com.n_var))
    F, G = com.evaluate(X, return_values_of=["F", "G"])
    F2, G2 = small.evaluate(X, return_values_of=["F", "G"])
    np.testing.assert_array_equal(F, F2)
    np.testing.assert_array_equal(G, G2)
    assert com.bytes_per_candidate() > EVScheduling(region="commercial", config={"n_vehicles": 40}
                                                    ).bytes_per_candidate()  # the repair's share
