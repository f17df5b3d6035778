"""grid.storage: the flattening dispatcher against the exact QP (cvxpy + Clarabel) and an LP of the
least unserved energy (HiGHS), on batteries and on 004's EV stations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from grid import ev, storage

pytest.importorskip("cvxpy")

T = np.arange(24)


def _net_load(rng: np.random.Generator, n: int, *, dip_kw: float = 1500.0) -> np.ndarray:
    """Evening-peaked feeder load with a midday DG dip and noise (kW), positive."""
    shape = 2500 + 900 * np.sin((T - 8) / 24 * 2 * np.pi) - dip_kw * np.exp(-(((T - 12) / 3) ** 2))
    return np.maximum(shape + rng.normal(0, 250, (n, 24)), 50.0)


@pytest.fixture(scope="module")
def limits_004() -> ev.StationLimits:
    return ev.station_limits(ev.sample_fleet(ev.fleet_004(), np.random.default_rng(7)))


def _check_feasible(devices: storage.StorageBounds, s: storage.StorageSchedule) -> None:
    eta = devices.efficiency[..., None]
    S = s.energy_kwh
    stored = eta * s.p_ch_kw - s.p_dis_kw / eta
    balance = S - np.roll(S, 1, -1) - devices.inflow_kwh - s.unserved_kwh - stored
    tol = storage.ENERGY_TOL_KWH
    assert np.abs(balance).max() <= tol  # 004 eq. (6), cyclic
    assert (devices.energy_min_kwh - S).max() <= tol  # eq. (8)
    assert (S - devices.energy_max_kwh).max() <= tol
    assert s.p_ch_kw.min() >= 0 and s.p_dis_kw.min() >= 0  # eq. (9)
    assert (s.p_ch_kw - devices.p_ch_max_kw).max() <= 1e-9
    assert (s.p_dis_kw - devices.p_dis_max_kw).max() <= 1e-9
    assert np.minimum(s.p_ch_kw, s.p_dis_kw).max() == 0.0  # never both in one hour


def test_two_batteries_match_the_exact_qp() -> None:
    rng = np.random.default_rng(0)
    base = _net_load(rng, 16)
    power = rng.uniform(50, 600, (16, 2))
    devices = storage.battery(power, rng.uniform(1, 6, (16, 2)) * power)
    fast = storage.flatten(base, devices)
    exact = storage.flatten_qp(base, devices)
    _check_feasible(devices, fast)
    gap = (fast.objective - exact.objective) / exact.objective
    # measured: |gap| <= 3e-9 (the QP solver's own tolerance); the bound is 1 %
    assert np.abs(gap).max() <= 1e-6
    # the devices flatten: the day's variance of the net load falls (measured: by 27 % on average)
    assert np.mean(1 - fast.grid_kw.var(-1) / base.var(-1)) > 0.1


def test_ev_stations_match_the_qp_including_unserved_energy(limits_004) -> None:
    rng = np.random.default_rng(1)
    cap = np.array([[400, 400], [300, 300], [250, 200], [100, 400], [50, 50], [400, 150], [800, 1200]], float)
    devices = storage.ev_station(limits_004, cap, stations=[0, 1])
    base = _net_load(rng, len(cap))
    fast = storage.flatten(base, devices)
    exact = storage.flatten_qp(base, devices)
    _check_feasible(devices, fast)
    # station 1's vehicles need ~9.8 MWh/day: 400 kW cannot deliver it, so energy goes unserved,
    # exactly as much as the QP leaves unserved (its penalty is above any marginal of the square)
    np.testing.assert_allclose(fast.unserved_kwh.sum(-1), exact.unserved_kwh.sum(-1), rtol=1e-6, atol=1e-3)
    assert fast.unserved_kwh[0, 1].sum() > 100
    assert fast.unserved_kwh[-1].sum() == 0.0
    gap = (fast.objective - exact.objective) / exact.objective
    assert np.abs(gap).max() <= 1e-6


def test_unserved_energy_is_the_least_possible(limits_004) -> None:
    """Oracle: an LP minimising the unserved energy alone (HiGHS), one station at several caps."""
    lim = limits_004
    j = 1
    for cap_kw in (50.0, 200.0, 380.0):
        dev = storage.ev_station(lim, np.array([[cap_kw]]), stations=[j])
        s = storage.flatten(np.full(24, 1000.0), dev)
        eta = float(lim.efficiency[j])
        n = 4 * 24  # p_ch, p_dis, S, u
        a_eq = np.zeros((24, n))
        for t in range(24):
            a_eq[t, 48 + t] = 1.0
            a_eq[t, 48 + (t - 1) % 24] -= 1.0
            a_eq[t, t] = -eta
            a_eq[t, 24 + t] = 1.0 / eta
            a_eq[t, 72 + t] = -1.0
        bounds = (
            [(0, float(x)) for x in dev.p_ch_max_kw[0, 0]]
            + [(0, float(x)) for x in dev.p_dis_max_kw[0, 0]]
            + list(zip(dev.energy_min_kwh[0, 0], dev.energy_max_kwh[0, 0], strict=True))
            + [(0, None)] * 24
        )
        cost = np.r_[np.zeros(72), np.ones(24)]
        lp = linprog(cost, A_eq=a_eq, b_eq=dev.inflow_kwh[0, 0], bounds=bounds, method="highs")
        assert lp.status == 0
        assert s.unserved_kwh.sum() == pytest.approx(lp.fun, rel=1e-6, abs=1e-3)


def test_reverse_flow_hours_stay_within_one_percent() -> None:
    """With net export at midday the QP may charge and discharge in one hour to burn energy (a
    relaxation the dispatcher does not take); the gap stays far inside the issue's 1 %."""
    rng = np.random.default_rng(3)
    base = _net_load(rng, 8, dip_kw=3200.0)
    assert (base < 0).any() or base.min() < 200
    base = base - 600.0
    assert (base < 0).any()
    power = rng.uniform(100, 500, (8, 2))
    devices = storage.battery(power, 4 * power)
    fast = storage.flatten(base, devices)
    exact = storage.flatten_qp(base, devices)
    _check_feasible(devices, fast)
    assert np.max((fast.objective - exact.objective) / exact.objective) <= 0.01


def test_reverse_flow_jumps_keep_the_energy_balance() -> None:
    """Deep reverse flow with lossy batteries: where ``r < 0`` an hour's best response jumps from
    discharging to charging as the energy price rises, and an arc's target can fall inside the
    jump. The arc solver then gives the jumping hour a partial power; the day's energy balance and
    the bounds must hold exactly. (The selection search it replaced took one side of the jump and
    left up to 173 kWh unbalanced in 16 of these 64 instances.)"""
    rng = np.random.default_rng(11)
    n = 64
    shape = 2500 + 900 * np.sin((T - 8) / 24 * 2 * np.pi) - 3200 * np.exp(-(((T - 12) / 3) ** 2))
    base = shape + rng.normal(0, 250, (n, 24)) - rng.uniform(0, 1500, (n, 1))
    assert 0.05 < (base < 0).mean() < 0.3
    power = rng.uniform(50, 500, (n, 2))
    devices = storage.battery(power, rng.uniform(2, 6, (n, 2)) * power, efficiency=0.9)
    fast = storage.flatten(base, devices)
    _check_feasible(devices, fast)
    # the QP burns energy here (a lower bound only); measured: at most 1.9 % above it
    exact = storage.flatten_qp(base, devices)
    assert np.max((fast.objective - exact.objective) / exact.objective) <= 0.03


def test_batch_equals_each_element_alone(limits_004) -> None:
    rng = np.random.default_rng(4)
    cap = rng.uniform(0, 400, (5, 2))
    base = _net_load(rng, 3)
    devices = storage.ev_station(limits_004, cap, stations=[0, 1])
    # candidates x scenarios: devices (5, 1, 2) against loads (3, 24)
    whole = storage.flatten(base, devices.expand_dims(1))
    assert whole.p_ch_kw.shape == (5, 3, 2, 24)
    one = storage.flatten(base[2], storage.ev_station(limits_004, cap[4:5], stations=[0, 1]))
    np.testing.assert_array_equal(whole.p_ch_kw[4, 2], one.p_ch_kw[0])
    np.testing.assert_array_equal(whole.energy_kwh[4, 2], one.energy_kwh[0])


def test_gauss_seidel_sweeps_converge() -> None:
    rng = np.random.default_rng(5)
    base = _net_load(rng, 6)
    devices = storage.battery(np.full((6, 2), 400.0), np.full((6, 2), 1600.0))
    objs = [storage.flatten(base, devices, sweeps=k).objective for k in (1, 2, 8)]
    assert np.all(objs[1] <= objs[0] + 1e-6) and np.all(objs[2] <= objs[1] + 1e-6)
    # one pass is the sequential (greedy) reading; it is measurably worse than the joint optimum
    assert np.any(objs[0] > objs[2] * (1 + 1e-7))
    # two identical devices are Gauss-Seidel's slowest case: two sweeps are within 3.5e-6 of eight
    assert np.allclose(objs[1], objs[2], rtol=1e-5)


def test_qp_relaxation_burns_energy_under_reverse_flow() -> None:
    """Under reverse flow a lossy battery lowers the squared draw by burning energy: the QP's
    relaxation charges and discharges in the same hour (a lower bound only), flatten never does."""
    pytest.importorskip("cvxpy")
    day = np.r_[np.full(12, -600.0), np.full(12, 300.0)]
    dev = storage.battery([400.0], [1600.0], efficiency=0.9)
    qp, fast = storage.flatten_qp(day, dev), storage.flatten(day, dev)
    assert (qp.p_ch_kw * qp.p_dis_kw).max() > 1e4  # 400 kW in and 228 kW out at once
    assert np.all(fast.p_ch_kw * fast.p_dis_kw == 0.0)
    assert fast.objective > qp.objective * 1.1


def test_battery_is_cyclic_and_lossy() -> None:
    dev = storage.battery(np.array([[500.0]]), np.array([[2000.0]]), efficiency=0.9)
    s = storage.flatten(np.r_[np.full(12, 500.0), np.full(12, 3000.0)], dev)
    # charged energy exceeds discharged energy by the round-trip loss (cyclic day)
    ch, dis = s.p_ch_kw.sum(), s.p_dis_kw.sum()
    assert ch * 0.9 == pytest.approx(dis / 0.9, rel=1e-9)
    assert dis > 0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: storage.battery(-1.0, 10.0), "finite and >= 0"),
        (lambda: storage.battery(np.nan, 10.0), "finite and >= 0"),
        (lambda: storage.battery(1.0, 10.0, soc_min=0.9, soc_max=0.1), "soc_min <= soc_max"),
        (lambda: storage.battery(1.0, 10.0, efficiency=1.5), r"efficiency must lie in \(0, 1\]"),
        (lambda: storage.flatten(np.zeros(23), storage.battery([1.0], [1.0])), "24 hours"),
        (lambda: storage.flatten(np.full(24, np.inf), storage.battery([1.0], [1.0])), "finite"),
        (lambda: storage.flatten(np.zeros((3, 24)), storage.battery(np.ones((2, 1)), 1.0)), "broadcast"),
        (lambda: storage.flatten(np.zeros(24), storage.battery([1.0], [1.0]), sweeps=0), "sweeps"),
    ],
)
def test_bad_input_is_refused(call, match) -> None:
    with pytest.raises(storage.StorageError, match=match):
        call()


def test_ev_station_bad_input(limits_004) -> None:
    with pytest.raises(storage.StorageError, match="capacity_kw must be finite"):
        storage.ev_station(limits_004, np.array([[-1.0, 2.0]]))
    with pytest.raises(storage.StorageError, match="indices into the fleet's 4 stations"):
        storage.ev_station(limits_004, np.array([[1.0, 2.0]]), stations=[0, 9])


def test_parallel_equals_serial_bit_for_bit(limits_004) -> None:
    numba = pytest.importorskip("numba")
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one numba thread: the parallel path is not taken")
    rng = np.random.default_rng(5)
    devices = storage.ev_station(limits_004, rng.uniform(0, 400, (7, 2)), stations=[0, 1]).expand_dims(1)
    base = _net_load(rng, 5)
    serial = storage.flatten(base, devices)
    par = storage.flatten(base, devices, parallel=True)
    for name in ("p_ch_kw", "p_dis_kw", "energy_kwh", "unserved_kwh"):
        np.testing.assert_array_equal(getattr(par, name), getattr(serial, name), err_msg=name)
    assert serial.p_ch_kw.std(-1).max() > 1.0  # dispatched, not flat
