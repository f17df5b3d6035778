from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grid import dispatch, ev, tariffs

BIG = 1e6


@pytest.fixture(scope="module")
def fleet():
    return ev.sample_fleet(ev.fleet_003(), np.random.default_rng(11))


@pytest.fixture(scope="module")
def model(fleet):
    return dispatch.dispatch_model(fleet)


@pytest.fixture(scope="module")
def prices():
    return tariffs.v2g_prices(tariffs.tou_003())


def _spiky_prices():
    """Cheap charging except 20-22 h, where discharging pays well: forces V2G discharges."""
    c = np.full(24, 0.3)
    c[19:23] = 2.0
    v = np.full(24, -1.0)
    v[19:23] = 3.0
    return c, v


@pytest.fixture(scope="module")
def caps():
    rng = np.random.default_rng(5)
    return np.vstack([np.full((1, 5), BIG), rng.uniform(100.0, 400.0, (3, 5))])


def _v2g_part(res):
    return res.p_ch_kw - res.p_uncoordinated_kw


def _check_invariants(model, res, cap):
    """Bounds and energy balance, exact up to floating point: ``tol`` (1e-6 kW or kWh) is round-off
    on sums of ~1e3 kWh (~1e-13 relative) and HiGHS's primal feasibility tolerance (1e-7) for the
    LP, with margin; no modelling slack."""
    lim = model.limits
    eta = lim.efficiency[None, None, :, None]
    ch = _v2g_part(res)
    dis = res.p_dis_kw
    tol = 1e-6
    # power limits: vehicles present, station capacity, no discharge without willing vehicles
    assert np.all(ch <= lim.p_ch_max_kw + tol) and np.all(dis <= lim.p_dis_max_kw + tol)
    # the station's converters: all charging (plug-and-charge included) plus all discharging in an
    # hour within its kW (issue 10 item 5), so charge and discharge each are too
    assert np.all(res.p_ch_kw + dis <= cap[:, None, :, None] + tol)
    assert np.all(ch >= -tol) and np.all(dis >= -tol)
    # SOC (energy) limits never crossed (003 eq. (28); 002 eq. (5))
    assert np.all(res.energy_kwh >= lim.energy_min_kwh - tol)
    assert np.all(res.energy_kwh <= lim.energy_max_kwh + tol)
    # storage dynamics (002 eq. (1)): what is not explained by flows is the departure shortfall
    s_prev = np.roll(res.energy_kwh, 1, axis=-1)
    short_t = res.energy_kwh - s_prev - lim.delta_kwh - (eta * ch - dis / eta)
    assert np.all(short_t >= -1e-6)
    # energy conservation: delivered = energy at departure - at arrival (+ losses in eta)
    need_v2g = model.departure_need_kwh.sum(-1)
    delivered_v2g = (eta * ch - dis / eta).sum(-1)
    np.testing.assert_allclose(
        delivered_v2g + short_t.sum(-1), np.broadcast_to(need_v2g, delivered_v2g.shape), atol=1e-6
    )
    # plug-and-charge stores eta per grid kWh: one efficiency in these fleets (the queue moves load
    # between hours, so the uncapped profile's stored/drawn ratio per hour does not apply)
    eta_pc = np.unique(model.plug_queue.efficiency)
    assert eta_pc.size <= 1
    pc_stored = eta_pc.sum() * res.p_uncoordinated_kw.sum(-1)
    np.testing.assert_allclose(
        pc_stored + delivered_v2g + res.unserved_kwh,
        np.broadcast_to(res.energy_required_kwh, delivered_v2g.shape),
        atol=1e-6,
    )


@pytest.mark.parametrize("method", ["heuristic", "lp", "lp_clusters"])
@pytest.mark.parametrize("price_kind", ["tou003", "spiky"])
def test_dispatch_invariants(model, caps, prices, method, price_kind):
    c, v = prices if price_kind == "tou003" else _spiky_prices()
    fn = {
        "heuristic": dispatch.dispatch_heuristic,
        "lp": dispatch.dispatch_lp,
        "lp_clusters": functools.partial(dispatch.dispatch_lp, per_cluster=True),
    }[method]
    res = fn(model, caps, c, v)
    assert res.p_ch_kw.shape == (4, 1, 5, 24)
    _check_invariants(model, res, caps)
    if price_kind == "spiky":
        # V2G happens when it pays: at 19-22 h a discharged kWh earns 3.0 * eta^2 = 2.43 CNY against
        # 0.3 to put it back, and every station has night clusters connected then with energy
        # above SOC_min after their first charge, so every uncapped station discharges.
        assert np.all(res.p_dis_kw[0, 0].sum(-1) > 0.0)
    assert np.all(res.completion <= 1.0 + 1e-9)


def test_uncapped_plug_and_charge_serves_everything(model, prices):
    res = dispatch.dispatch_heuristic(model, np.full((1, 5), BIG), *prices)
    np.testing.assert_allclose(res.unserved_kwh, 0.0, atol=1e-6)
    np.testing.assert_allclose(res.energy_delivered_kwh[0, 0], model.energy_required_kwh)


def test_unwilling_fleet_never_discharges(fleet, caps):
    m = dispatch.dispatch_model(fleet, v2g=np.zeros(fleet.n_vehicles, bool))
    c, v = _spiky_prices()
    for fn in (dispatch.dispatch_heuristic, dispatch.dispatch_lp):
        res = fn(m, caps[:2], c, v)
        assert res.p_dis_kw.max() == 0.0
    # with no V2G group, everything is plug-and-charge (003 eq. (3))
    np.testing.assert_allclose(res.p_ch_kw[0, 0], ev.uncoordinated_load_kw(fleet))


def test_heuristic_plan_rules(model):
    """One contiguous discharge block per cluster, after the first charge (003 fig. 2, eq. (30))."""
    cl = model.clusters
    c, v = _spiky_prices()
    n_st = model.n_stations
    pch, pdis = dispatch._plan_kernel(
        np.ascontiguousarray(cl.avail_kw),
        cl.arrival_slot.astype(np.int64),
        cl.window_len.astype(np.int64),
        cl.energy_arrival_kwh,
        cl.energy_required_kwh,
        cl.energy_min_kwh,
        cl.energy_max_kwh,
        cl.efficiency,
        cl.station.astype(np.int64),
        np.broadcast_to(c, (1, n_st, 24)).copy(),
        np.broadcast_to(v, (1, n_st, 24)).copy(),
        6,
        True,
    )
    n_discharging = 0
    for k in range(cl.n_clusters):
        slots = (cl.arrival_slot[k] + np.arange(cl.window_len[k])) % 24
        d = pdis[0, k, slots] > 1e-9
        chg = pch[0, k, slots] > 1e-9
        if not d.any():
            continue
        n_discharging += 1
        idx = np.flatnonzero(d)
        assert np.all(np.diff(idx) == 1), "more than one discharge block"
        assert not np.any(chg[idx]), "charging while discharging"
        # the first charge is complete before the discharge starts
        e = cl.energy_arrival_kwh[k] + cl.efficiency[k] * pch[0, k, slots][: idx[0]].sum()
        assert e >= cl.energy_required_kwh[k] - 1e-6
        # discharge never below the SOC_min floor
        assert e - pdis[0, k, slots].sum() / cl.efficiency[k] >= cl.energy_min_kwh[k] - 1e-6
    assert n_discharging > 0


#: The heuristic's stated accuracy (module docstring of grid.dispatch): its cost is within 5 % of a
#: lower bound that keeps each cluster's energy apart (the cluster LP). Not fitted: measured worst
#: 2.1 % on 003's fleet over 100-500 kW and fleet seeds 101-808 (``python -m
#: benchmarks.dispatch_gap``), 0.9 % / 1.1 % on 002's / 004's uncapped fleets.
HEURISTIC_BOUND = 0.05


@pytest.mark.parametrize("fleet_name", ["003", "002", "004"])
def test_heuristic_close_to_lp(fleet_name):
    """The LPs relax the cluster rules, so they are lower bounds: aggregate LP <= cluster LP <=
    heuristic. The heuristic is within HEURISTIC_BOUND of the cluster LP. Against the aggregate LP
    the stated gaps are 5 % for 003's fleet where capacity does not bind (uncapped and 300 kW:
    there both LPs serve everything and pooling the vehicles' energy gains little; measured
    3.7 % and 3.3 %), and 15 % for 002's and 004's fleets (all vehicles V2G, arbitrage on the purchase
    price, ``charge_first=False``; measured 7.7 % / 11.3 %, of which all but ~1 % is the aggregate
    LP pooling energy between vehicles, i.e. the cluster LP's own gap to it)."""
    if fleet_name == "003":
        v = ev.sample_fleet(ev.fleet_003(), np.random.default_rng(2))
        c, val = tariffs.v2g_prices(tariffs.tou_003())
        cap = np.vstack([np.full((1, 5), BIG), np.full((1, 5), 300.0)])
        kw = {}
        bound = 0.05
    else:
        v = ev.sample_fleet(getattr(ev, f"fleet_{fleet_name}")(), np.random.default_rng(2))
        c = tariffs.tou_002().hourly("purchase")
        val = c.copy()
        cap = np.full((1, 4), BIG)
        kw = {"charge_first": False}
        bound = 0.15
    m = dispatch.dispatch_model(v)
    h = dispatch.dispatch_heuristic(m, cap, c, val, **kw)
    lp = dispatch.dispatch_lp(m, cap, c, val)
    lpc = dispatch.dispatch_lp(m, cap, c, val, per_cluster=True)
    ch, cl, cc = h.cost_cny.sum(-1), lp.cost_cny.sum(-1), lpc.cost_cny.sum(-1)
    assert np.all(cl <= cc + 1e-6) and np.all(cc <= ch + 1e-6)
    gap = (ch - cl) / np.abs(cl)
    assert np.all(gap <= bound), gap
    assert np.all((ch - cc) / np.abs(cc) <= HEURISTIC_BOUND)


def _capacity_sweep(seeds, n_stations):
    """Heuristic, aggregate LP and cluster LP on 003's fleet and prices for 100-500 kW per station
    in 25 kW steps (the range DGEVCSPlanning searches, where capacity goes from binding hard to
    not at all); one row per seed."""
    c, v = tariffs.v2g_prices(tariffs.tou_003())
    caps = np.repeat(np.arange(100.0, 501.0, 25.0)[:, None], n_stations, axis=1)
    out = []
    for seed in seeds:
        m = dispatch.dispatch_model(ev.sample_fleet(ev.fleet_003(n_stations), np.random.default_rng(seed)))
        h = dispatch.dispatch_heuristic(m, caps, c, v)
        _check_invariants(m, h, caps)
        out.append(
            (m, h, dispatch.dispatch_lp(m, caps, c, v), dispatch.dispatch_lp(m, caps, c, v, per_cluster=True))
        )
    return out


def _assert_sweep_bounds(runs):
    """Issue 16: near a station's capacity the cluster-by-cluster pass stranded energy that could
    be served (up to 2.5x the unavoidable shortfall at 250 kW; gap 11.6-19.7 % to the aggregate LP).

    * The heuristic leaves unserved exactly what the cluster LP does (the least any schedule that
      keeps each cluster's energy apart can; none of these clusters discharges where capacity is
      short, so the repair's optimum is the global one), up to HiGHS's tolerance.
    * Cost within HEURISTIC_BOUND of the cluster LP, at every capacity.
    * aggregate LP <= cluster LP <= heuristic (relaxations), exactly.
    * Where both LPs serve the same energy, pooling gains the aggregate LP little and the heuristic
      is within the same bound of it too. Elsewhere (150-250 kW here) the aggregate LP serves energy
      no charger schedule can and its bound is loose (cluster LP up to ~9 % above it).
    """
    for m, h, lp, lpc in runs:
        need = m.energy_required_kwh.sum()
        uh, ul, uc = (r.unserved_kwh.sum((1, 2)) for r in (h, lp, lpc))
        np.testing.assert_allclose(uh, uc, atol=1e-6 * need)
        ch, cl, cc = (r.cost_cny.sum((1, 2)) for r in (h, lp, lpc))
        assert np.all(cl <= cc + 1e-6) and np.all(cc <= ch + 1e-6)
        assert np.all((ch - cc) / np.abs(cc) <= HEURISTIC_BOUND), (ch - cc) / np.abs(cc)
        same = np.abs(uc - ul) <= 1e-6 * need
        assert same.sum() >= 2 and not same.all()  # the sweep crosses the transition
        assert np.all(((ch - cl) / np.abs(cl))[same] <= HEURISTIC_BOUND)


def test_heuristic_bound_across_capacities():
    """The bound over 100-500 kW per station for three one-station fleet samples (each station of
    003's fleet is an independent sample of the same 180 vehicles; ~4 s)."""
    _assert_sweep_bounds(_capacity_sweep((101, 202, 303), n_stations=1))


@pytest.mark.slow
def test_heuristic_bound_across_capacities_full():
    """The same bound on 003's five-station fleet, fleet seeds 101-808 (the issue's table; ~1 min)."""
    _assert_sweep_bounds(_capacity_sweep((101, 202, 303, 404, 505, 606, 707, 808), n_stations=5))


def test_batch_shapes_and_determinism(model, prices):
    c, v = prices
    cap = np.random.default_rng(0).uniform(100, 400, (6, 5))
    pc = np.broadcast_to(c, (3, 5, 24)) * np.array([1.0, 1.1, 0.9])[:, None, None]
    a = dispatch.dispatch_heuristic(model, cap, pc, v)
    b = dispatch.dispatch_heuristic(model, cap, pc, v)
    assert a.p_ch_kw.shape == (6, 3, 5, 24) and a.unserved_kwh.shape == (6, 3, 5)
    np.testing.assert_array_equal(a.p_ch_kw, b.p_ch_kw)
    # a candidate's result does not depend on the rest of the batch
    one = dispatch.dispatch_heuristic(model, cap[2:3], pc, v)
    np.testing.assert_array_equal(one.p_ch_kw[0], a.p_ch_kw[2])
    # prices given per candidate (all equal) give the same schedules as shared prices
    per_cand = dispatch.dispatch_heuristic(model, cap, np.broadcast_to(pc, (6, 3, 5, 24)), v)
    np.testing.assert_array_equal(per_cand.p_ch_kw, a.p_ch_kw)


def test_more_capacity_serves_more(model, prices):
    """Strictly: 50 and 150 kW are below the plug-and-charge peak alone, so each step serves more."""
    cap = np.array([[50.0] * 5, [150.0] * 5, [400.0] * 5])
    res = dispatch.dispatch_heuristic(model, cap, *prices)
    served = res.energy_delivered_kwh.sum((1, 2))
    assert served[0] < served[1] < served[2]


def test_bad_inputs(model, prices):
    c, v = prices
    with pytest.raises(dispatch.DispatchError, match="capacity_kw"):
        dispatch.dispatch_heuristic(model, np.ones((2, 4)), c, v)
    with pytest.raises(dispatch.DispatchError, match="capacity"):
        dispatch.dispatch_heuristic(model, -np.ones((2, 5)), c, v)
    with pytest.raises(dispatch.DispatchError, match="24"):
        dispatch.dispatch_heuristic(model, np.ones((2, 5)), c[:23], v)
    with pytest.raises(dispatch.DispatchError, match="broadcast"):
        dispatch.dispatch_heuristic(model, np.ones((2, 5)), np.ones((3, 5, 24)), np.ones((2, 5, 24)))


@functools.cache
def _small_model(seed: int = 21):
    spec = ev.fleet_003(n_stations=2)
    return dispatch.dispatch_model(ev.sample_fleet(spec, np.random.default_rng(seed)))


@settings(max_examples=15, deadline=None)
@given(
    cap=st.lists(st.floats(0.0, 600.0), min_size=2, max_size=2),
    c=st.lists(st.floats(0.1, 2.0), min_size=24, max_size=24),
    v=st.lists(st.floats(-1.0, 3.0), min_size=24, max_size=24),
    charge_first=st.booleans(),
    seed=st.sampled_from([21, 22, 23]),
)
def test_heuristic_invariants_random_prices_and_capacity(cap, c, v, charge_first, seed):
    m = _small_model(seed)
    capa = np.array([cap])
    res = dispatch.dispatch_heuristic(m, capa, np.array(c), np.array(v), charge_first=charge_first)
    _check_invariants(m, res, capa)
    lp = dispatch.dispatch_lp(m, capa, np.array(c), np.array(v))
    lpc = dispatch.dispatch_lp(m, capa, np.array(c), np.array(v), per_cluster=True)
    _check_invariants(m, lp, capa)
    _check_invariants(m, lpc, capa)
    assert np.all(lp.cost_cny <= lpc.cost_cny + 1e-6)  # the LPs are relaxations
    assert np.all(lpc.cost_cny <= res.cost_cny + 1e-6)


def test_a_plan_that_does_not_fit_is_replanned_and_may_still_discharge(model):
    """With spiky prices every cluster plans the same cheapest hours, so on 200 kW stations many
    uncapped plans do not fit. Planned again on the capacity left, clusters still discharge where it
    pays (the former fallback, valley filling without discharge, discharged nothing here, so any
    discharge on every station tells them apart; measured: 67 % of the uncapped discharge, 84 % before
    charge and discharge shared one converter rating)."""
    c, v = _spiky_prices()
    cap = np.full((1, 5), 200.0)
    res = dispatch.dispatch_heuristic(model, cap, c, v)
    _check_invariants(model, res, cap)
    big = dispatch.dispatch_heuristic(model, np.full((1, 5), BIG), c, v)
    assert (big.p_ch_kw[0, 0] > 200.0 + 1e-6).any()  # the uncapped plans overflow 200 kW
    assert np.all(res.p_dis_kw[0, 0].sum(-1) > 0.0) and np.all(big.p_dis_kw[0, 0].sum(-1) > 0.0)
    assert res.p_dis_kw[..., :19].sum() == 0.0 and res.p_dis_kw[..., 23:].sum() == 0.0  # only when it pays


# ---------------------------------------------------------------- plug-and-charge queue (issue 10 item 4)
def _queue_oracle(v: ev.VehicleSet, cap: np.ndarray, n_days: int = 12):
    """Plain per-vehicle simulation over ``n_days`` consecutive days, every vehicle arriving every
    day, from an empty station: in each absolute hour the connected vehicles are served in order of
    their absolute arrival time, each up to ``P_e`` times the part of the hour it is connected and
    its need left, until the station's kWh for that hour are used. The last day's load per clock
    hour and the energy (battery side) missing at departure of the vehicles leaving on the last day.
    Independent of the kernel: no midnight split, no fixed point."""
    need = v.charger_kw * v.charge_h
    inst = []  # (absolute arrival, absolute departure, vehicle)
    for d in range(n_days):
        for i in range(v.n_vehicles):
            a = d * 24.0 + v.arrival_h[i]
            inst.append([a, a + v.dwell_h[i], i, need[i]])
    inst.sort(key=lambda r: r[0])
    load = np.zeros((v.n_stations, 24))
    unserved = np.zeros(v.n_stations)
    last = (n_days - 1) * 24
    for h in range(n_days * 24):
        left = cap.astype(float).copy()
        for r in inst:
            a, dep, i, rem = r
            conn = min(dep, h + 1) - max(a, h)
            if conn <= 0 or rem <= 0:
                continue
            j = v.station[i]
            x = min(v.charger_kw[i] * conn, rem, left[j])
            r[3] -= x
            left[j] -= x
            if h >= last:
                load[j, h - last] += x
    for _a, dep, i, rem in inst:
        if last < dep <= last + 24:
            unserved[v.station[i]] += v.efficiency[i] * rem
    return load, unserved


def _plug_fleet(seed: int) -> ev.VehicleSet:
    v = ev.sample_fleet(ev.fleet_003(n_stations=2), np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    return v.subset(rng.random(v.n_vehicles) < 0.25)  # ~90 vehicles: the oracle stays quick


@pytest.mark.parametrize("seed", [3, 4])
def test_plug_and_charge_queue_matches_a_per_vehicle_simulation(seed):
    v = _plug_fleet(seed)
    m = dispatch.dispatch_model(v, v2g=np.zeros(v.n_vehicles, bool))
    caps = np.array([[BIG, BIG], [120.0, 60.0], [40.0, 25.0], [10.0, 0.0]])
    load, unserved = dispatch.plug_and_charge(m, caps)
    need = np.bincount(v.station, v.efficiency * v.charger_kw * v.charge_h, 2)
    for c in range(caps.shape[0]):
        ref_load, ref_un = _queue_oracle(v, caps[c])
        np.testing.assert_allclose(load[c], ref_load, atol=1e-9)
        np.testing.assert_allclose(unserved[c], ref_un, atol=1e-9)
        # conservation: delivered (battery side, all eta equal) + unserved = need
        np.testing.assert_allclose(0.9 * load[c].sum(-1) + unserved[c], need, rtol=1e-12)
        assert np.all(load[c] <= caps[c][:, None] + 1e-9)
    # with capacity to spare: 003 eq. (3), today's uncoordinated profile
    np.testing.assert_allclose(load[0], ev.uncoordinated_load_kw(v), atol=1e-9)
    assert unserved[0].max() == 0.0
    assert np.all(unserved[2] > 0.0)  # the small stations do bind
    # a queue waits where dropping the excess loses it: less unserved than capping each hour.
    # The queue's numbers are the oracle's (asserted above), so this line states the claim, not the
    # kernel: measured, the queue leaves 0.32 (seed 3) and 0.51 (seed 4) of what capping drops at the
    # two binding capacities; 0.7 is the worse seed with a margin for another fleet draw, and fails
    # for a queue that recovers under 30 % of the dropped energy (with vehicles dwelling 9.4 h on
    # average for 2.8 h of charging, a working queue recovers far more)
    dropped = (np.maximum(m.uncoordinated_kw[None] - caps[..., None], 0.0) * 0.9).sum(-1)
    assert np.all(unserved[1:3] <= dropped[1:3] + 1e-9) and unserved[1:3].sum() < 0.7 * dropped[1:3].sum()


def test_dispatchers_serve_plug_and_charge_from_the_queue(model, prices):
    cap = np.full((1, 5), 150.0)
    load, unserved = dispatch.plug_and_charge(model, cap)
    for fn in (dispatch.dispatch_heuristic, dispatch.dispatch_lp):
        res = fn(model, cap, *prices)
        np.testing.assert_array_equal(res.p_uncoordinated_kw[:, 0], load)
    with pytest.raises(dispatch.DispatchError, match="capacity_kw"):
        dispatch.plug_and_charge(model, np.ones((1, 4)))
