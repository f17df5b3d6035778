from __future__ import annotations

import numpy as np
import pytest

from grid import ev


@pytest.fixture(scope="module")
def fleet003():
    return ev.sample_fleet(ev.fleet_003(), np.random.default_rng(7))


def test_same_seed_same_fleet_different_seed_differs():
    a = ev.sample_fleet(ev.fleet_002(), np.random.default_rng(1))
    b = ev.sample_fleet(ev.fleet_002(), np.random.default_rng(1))
    c = ev.sample_fleet(ev.fleet_002(), np.random.default_rng(2))
    np.testing.assert_array_equal(a.arrival_h, b.arrival_h)
    np.testing.assert_array_equal(a.soc_arrival, b.soc_arrival)
    assert not np.array_equal(a.arrival_h[:100], c.arrival_h[:100])


def test_sampler_needs_generator():
    with pytest.raises(TypeError, match="sample_fleet needs a numpy.random.Generator, got int"):
        ev.sample_fleet(ev.fleet_003(), 1)


def test_003_fleet_matches_paper(fleet003):
    v = fleet003
    assert v.n_vehicles == 900 and v.n_stations == 5
    private = np.isin(v.type_index, [0, 1])
    assert private.sum() == 740
    assert np.all(v.battery_kwh[private] == 32.0) and np.all(v.charger_kw[private] == 7.0)
    assert 0.85 < v.v2g_willing[private].mean() < 0.95
    assert not v.v2g_willing[~private].any()
    day = v.type_index == 0
    assert abs(v.arrival_h[day].mean() - 9.0) < 0.15
    np.testing.assert_allclose(v.departure_h[day], 17.0)


def test_departures_after_midnight_wrap(fleet003):
    night = fleet003.type_index == 1
    dep = fleet003.departure_h[night]
    np.testing.assert_allclose(dep, 7.0, atol=1e-9)
    arr = fleet003.arrival_h[night]
    np.testing.assert_allclose(fleet003.dwell_h[night], (7.0 - arr) % 24.0)
    late = arr > 12  # evening arrivals stay past midnight
    assert late.sum() > 300 and np.all(fleet003.dwell_h[night][late] > 24 - arr[late])


def test_002_004_counts_within_tables():
    v = ev.sample_fleet(ev.fleet_002(), np.random.default_rng(3))
    counts = np.zeros((4, 3), dtype=int)
    np.add.at(counts, (v.station, v.type_index), 1)
    assert 180 <= counts[0, 0] <= 220 and counts[0, 2] == 0 and 90 <= counts[2, 1] <= 110
    assert 1900 < v.n_vehicles < 2150
    w = ev.sample_fleet(ev.fleet_004(), np.random.default_rng(3))
    assert 1850 < w.n_vehicles < 2100


def test_full_charge_time_eq3(fleet003):
    v = fleet003
    expected = (v.soc_target - v.soc_arrival) * v.battery_kwh / (v.efficiency * v.charger_kw)
    np.testing.assert_allclose(v.full_charge_h, np.maximum(expected, 0))
    np.testing.assert_allclose(v.charge_h, np.minimum(v.full_charge_h, v.dwell_h))


def test_slot_overlap_rows_sum_to_length():
    s = np.array([0.0, 22.5, 10.25])
    length = np.array([3.0, 4.0, 0.5])
    ov = ev.slot_overlap(s, length)
    np.testing.assert_allclose(ov.sum(1), length)
    np.testing.assert_allclose(ov[1, [22, 23, 0, 1, 2]], [0.5, 1, 1, 1, 0.5])


def test_uncoordinated_load_energy(fleet003):
    v = fleet003
    load = ev.uncoordinated_load_kw(v)
    assert load.shape == (5, 24)
    per_station = np.bincount(v.station, v.charger_kw * v.charge_h, 5)
    np.testing.assert_allclose(load.sum(1), per_station)


def test_station_limits_balance(fleet003):
    v = fleet003.subset(fleet003.v2g_able)
    lim = ev.station_limits(v)
    # over a cyclic day, arrivals minus departures equals minus the charge the vehicles need
    need = np.bincount(v.station, v.energy_required_kwh - v.energy_arrival_kwh, 5)
    np.testing.assert_allclose(lim.delta_kwh.sum(1), -need)
    assert np.all(lim.energy_min_kwh <= lim.energy_max_kwh)
    np.testing.assert_allclose(lim.p_ch_max_kw.sum(1), np.bincount(v.station, v.charger_kw * v.dwell_h, 5))
    ch, dis = lim.capped(np.array([[100.0] * 5, [1e6] * 5]))
    assert ch.shape == (2, 5, 24) and ch[0].max() <= 100.0
    np.testing.assert_array_equal(dis[1], lim.p_dis_max_kw)


def test_no_discharge_capacity_for_unwilling(fleet003):
    v = fleet003
    lim = ev.station_limits(v, discharge_mask=v.v2g_willing)
    lim_none = ev.station_limits(v, discharge_mask=np.zeros(v.n_vehicles, bool))
    assert lim_none.p_dis_max_kw.max() == 0.0
    assert lim.p_dis_max_kw.sum() < lim.p_ch_max_kw.sum()


def test_clusters_partition_v2g_group(fleet003):
    g = fleet003.subset(fleet003.v2g_able)
    cl = ev.v2g_clusters(g)
    assert cl.n_vehicles.sum() == g.n_vehicles
    np.testing.assert_allclose(cl.energy_required_kwh.sum(), g.energy_required_kwh.sum())
    np.testing.assert_allclose(cl.avail_kw.sum(), (g.charger_kw * g.dwell_h).sum())
    assert np.all(cl.window_len <= 24)


def _one(**kw):
    base = dict(
        station=[0],
        type_index=[0],
        arrival_h=[19.0],
        dwell_h=[12.0],
        battery_kwh=[32.0],
        charger_kw=[7.0],
        efficiency=[0.9],
        soc_min=[0.2],
        soc_max=[1.0],
        soc_target=[0.9],
        soc_arrival=[0.3],
        v2g_willing=[True],
        n_stations=1,
    )
    base.update(kw)
    return ev.VehicleSet(**base)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(dwell_h=[0.0]), "departure equals arrival"),
        (dict(soc_min=[0.9], soc_max=[0.2]), "SOC limits"),
        (dict(station=[3]), "station index"),
        (dict(arrival_h=[np.nan]), "non-finite"),
        (dict(soc_arrival=[1.2]), "soc_arrival"),
    ],
)
def test_bad_vehicle_arrays(kw, match):
    with pytest.raises(ev.FleetError, match=match):
        _one(**kw)


def test_bad_specs():
    t = ev.fleet_003().types[0]
    with pytest.raises(ev.FleetError, match="count"):
        ev.FleetSpec("x", "s", (t,), ((-1,),))
    with pytest.raises(ev.FleetError, match="SOC limits"):
        ev.VehicleType("x", 32, 7, 0.9, 0.9, 0.2, 0.5, ev.fixed(9), ev.fixed(17), ev.fixed(0.3))
    with pytest.raises(ev.FleetError, match="departure equals arrival"):
        ev.VehicleType("x", 32, 7, 0.9, 0.2, 0.9, 0.5, ev.fixed(9), ev.fixed(33), ev.fixed(0.3))
    with pytest.raises(ev.FleetError, match="upper bound 1.0 below lower bound 2.0"):
        ev.uniform(2.0, 1.0)
