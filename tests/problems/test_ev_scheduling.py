"""Paper 001's EV scheduling problem: the repair's invariants, objectives against closed forms and a
second power flow, tables 2-4 rows, eq. (20) and the named errors."""

import numpy as np
import pytest

from problems._common import ProblemConfigError
from problems.ev_scheduling import EVScheduling, UndeliverableFleetError


@pytest.fixture(scope="module")
def res():
    return EVScheduling(region="residential", config={"n_vehicles": 120})


def _energy(p, P):
    """Replay the energy balance S_t = S_{t-1} + dS_t + eta p_ch - p_dis / eta around the day."""
    S = np.empty_like(P)
    s = np.full(P.shape[0], p._s_unc[p.t0])
    for k in range(1, 25):
        t = (p.t0 + k) % 24
        s = s + p.delta_kwh[t] + np.where(P[:, t] >= 0, p.eta * P[:, t], P[:, t] / p.eta)
        S[:, t] = s
    return S


def test_repair_keeps_energy_and_power_inside_bounds_and_closes_the_day(res):
    X = np.random.default_rng(3).uniform(res.xl, res.xu, (200, 24))
    P, S = res.repair_power(X)
    np.testing.assert_allclose(_energy(res, P), S, atol=1e-6)  # the reported energy is the balance's
    assert np.all(S >= res.e_min_kwh - 1e-6) and np.all(S <= res.e_max_kwh + 1e-6)  # eqs. (15)-(16)
    assert np.all(P <= res.p_ch_max_kw + 1e-6) and np.all(P >= -res.p_dis_max_kw - 1e-6)
    np.testing.assert_allclose(S[:, res.t0], res._s_unc[res.t0], atol=1e-6)  # cyclic day
    # a feasible wish is kept as it is: plug-and-charge
    P0, _ = res.repair_power(res.disordered_x()[None])
    np.testing.assert_allclose(P0[0], res.ev_disordered_kw, atol=1e-9)


def test_ordered_charging_only_never_discharges():
    p = EVScheduling(region="commercial", config={"n_vehicles": 80, "v2g": False})
    P, _ = p.repair_power(np.random.default_rng(1).uniform(-1, 1, (50, 24)))
    assert p.xl.min() == 0.0 and np.all(P >= -1e-9)


def test_objectives_closed_form_and_powerflow(res):
    from grid.powerflow import solve

    X = np.random.default_rng(4).uniform(res.xl, res.xu, (3, 24))
    c = res.compute(X)
    load = res.base_kw + c["ev_kw"]
    assert np.allclose(c["f1"], 24 * load.var(axis=1))  # eq. (10) = 24 x variance
    assert np.allclose(c["f2"], np.ptp(load, axis=1))  # eq. (11)
    # eq. (12) from a separate power flow of candidate 1, built by hand
    net = res.net
    p = res._p_other.copy()
    p[:, net.index_of([888])[0]] += res.k_scale * load[1]
    q = res._q_other.copy()
    q[:, net.index_of([888])[0]] += res.k_scale * load[1] * np.tan(np.arccos(0.85))
    vm = solve(net, p, q).vm_pu
    assert c["f3"][1] == pytest.approx(np.abs(vm - 1).sum(), rel=1e-9)
    # the scaled disordered peak equals the nominal load of 888 + 890 (450 kW)
    assert res.k_scale * (res.base_kw + res.ev_disordered_kw).max() == pytest.approx(450.0)


def test_table_rows_and_eq20(res):
    d = res.table_rows(ev_kw=res.ev_disordered_kw[None])
    load = res.base_kw + res.ev_disordered_kw
    assert d["peak_valley_kw"][0] == pytest.approx(np.ptp(load))
    assert d["load_std_kw"][0] == pytest.approx(load.std())
    units = int(np.ceil(max(res.capacity_kva, load.max() / 0.68) / 1000 - 1e-9))
    assert d["transformer_units"][0] == units == res.units_disordered
    assert d["max_load_rate"][0] == pytest.approx(load.max() / (0.85 * 1000 * units))
    peaks = res.base_kw.max() + res.ev_disordered_kw.max()
    assert d["overlay_rate"][0] == pytest.approx(load.max() / peaks)
    # eq. (20): the disordered schedule sits within its own count; one unit fewer makes it infeasible
    tight = EVScheduling(region="residential", config={"n_vehicles": 120, "transformer_units_max": units - 1})
    G = tight.evaluate(tight.disordered_x()[None], return_values_of=["G"])
    assert G[0, 0] > 0
    G = res.evaluate(res.disordered_x()[None], return_values_of=["G"])
    assert G[0, 0] <= 0


def test_named_errors():
    with pytest.raises(ProblemConfigError, match="no vehicles"):
        EVScheduling(region="stations", config={"n_vehicles": 0})
    with pytest.raises(UndeliverableFleetError, match="cannot reach"):
        EVScheduling(region="commercial", config={"n_vehicles": 50, "charger_kw": 1.0})
    with pytest.raises(ProblemConfigError, match="region"):
        EVScheduling(region="industrial")
