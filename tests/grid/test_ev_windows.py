"""grid.ev_windows: the per-vehicle windows against grid.ev's aggregate limits, and the repair on
wishes beyond the limits and on event times at whole hours (the slot convention's edge)."""

import numpy as np
import pytest

from grid import ev
from grid.ev_windows import plug_and_charge_kw, repair, vehicle_windows


def _fleet(arrival, dwell, soc0=0.2):
    n = len(arrival)
    one = np.ones(n)
    return ev.VehicleSet(
        station=np.zeros(n, int), type_index=np.zeros(n, int), arrival_h=np.asarray(arrival, float),
        dwell_h=np.asarray(dwell, float), battery_kwh=25 * one, charger_kw=7 * one, efficiency=0.9 * one,
        soc_min=0.1 * one, soc_max=0.95 * one, soc_target=0.9 * one, soc_arrival=soc0 * one,
        v2g_willing=np.arange(n) % 2 == 0, n_stations=1)


@pytest.fixture(scope="module")
def fleet():
    # whole-hour and fractional events, stays across midnight, the longest stay (23 h), a stay too
    # short for the target (E_req below the target)
    return _fleet([0.0, 5.0, 5.3, 18.0, 18.5, 23.9, 7.0, 12.25],
                  [23.0, 23.0, 23.0, 14.0, 13.2, 4.0, 1.5, 6.0])


def test_windows_sum_to_station_limits(fleet):
    w = vehicle_windows(fleet, fleet.v2g_willing)
    lim = ev.station_limits(fleet, fleet.v2g_willing)
    np.testing.assert_allclose(w.to_clock(w.p_ch_max_kw).sum(0), lim.p_ch_max_kw[0], atol=1e-12)
    np.testing.assert_allclose(w.to_clock(w.p_dis_max_kw).sum(0), lim.p_dis_max_kw[0], atol=1e-12)
    present = w.to_clock(w.present)
    np.testing.assert_allclose((present * (0.95 * 25)).sum(0), lim.energy_max_kwh[0], atol=1e-12)
    np.testing.assert_array_equal(w.to_window(w.to_clock(w.p_ch_max_kw)), w.p_ch_max_kw)
    assert w.n_steps.max() <= 24


def test_repair_bounds_any_wish_and_keeps_plug_and_charge(fleet):
    w = vehicle_windows(fleet, fleet.v2g_willing)
    want = np.random.default_rng(0).uniform(-30, 30, (50, fleet.n_vehicles, 24))  # far beyond 7 kW
    P, E = repair(w, want)
    assert np.all(P <= w.p_ch_max_kw + 1e-9) and np.all(P >= -w.p_dis_max_kw - 1e-9)
    dep = E[:, np.arange(fleet.n_vehicles), w.n_steps - 1]
    np.testing.assert_array_equal(dep, np.broadcast_to(fleet.energy_required_kwh, dep.shape))
    lo = np.minimum(fleet.soc_min * fleet.battery_kwh, fleet.energy_arrival_kwh)[:, None]
    assert np.all(np.where(w.present, E, np.inf) >= lo - 1e-9)
    assert np.all(np.where(w.present, E, -np.inf) <= (fleet.soc_max * fleet.battery_kwh)[:, None] + 1e-9)
    pc = plug_and_charge_kw(fleet)
    P0, _ = repair(w, w.to_window(pc)[None])
    np.testing.assert_allclose(w.to_clock(P0)[0], pc, atol=1e-9)
    np.testing.assert_allclose(pc.sum(0), ev.uncoordinated_load_kw(fleet)[0], atol=1e-12)


def test_bad_shapes_are_named():
    f = _fleet([1.0], [5.0])
    with pytest.raises(ev.FleetError, match="discharge_mask"):
        vehicle_windows(f, [True, False])
    with pytest.raises(ev.FleetError, match="want_kw"):
        repair(vehicle_windows(f), np.zeros((2, 24)))
