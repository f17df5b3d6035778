"""problems.sop_planning: paper 002's SOP / EV co-planning (plans 1-4), its accounting and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from grid import sop
from problems._common import ProblemConfigError
from problems.sop_planning import SOPPlanning


@pytest.fixture(scope="module")
def p2():
    return SOPPlanning(plan=2)


@pytest.fixture(scope="module")
def p4():
    return SOPPlanning(plan=4, objectives=["cost", "flexibility"])


def test_bad_input():
    for plan in (1, 5, "2"):
        with pytest.raises(ProblemConfigError, match="plan"):
            SOPPlanning(plan=plan)
    with pytest.raises(ProblemConfigError, match="unknown"):
        SOPPlanning(config={"no_such_field": 1})
    with pytest.raises(ProblemConfigError, match="4 stations"):
        SOPPlanning(config={"station_buses": [7, 15]})
    with pytest.raises(ProblemConfigError, match="not in"):
        SOPPlanning(config={"pv_buses": [7, 15, 22, 99]})
    with pytest.raises(ProblemConfigError, match="objectives"):
        SOPPlanning(objectives=["cost", "nope"])
    with pytest.raises(sop.SOPSiteError):
        SOPPlanning(config={"sop_ties": [[2, 3]]})
    with pytest.raises(sop.SOPLossError):
        SOPPlanning(config={"loss_coeff": 1.0})


def test_encode_checks(p2):
    with pytest.raises(ProblemConfigError, match="sop_kva"):
        p2.encode([-1.0, 0.0, 0.0])
    with pytest.raises(ProblemConfigError, match="plan 3"):
        p2.encode([0.0, 0.0, 0.0], [100.0] * 4)
    with pytest.raises(ProblemConfigError, match="battery_kwh"):
        SOPPlanning(plan=3).encode([0.0] * 3, [5000.0] * 4)


def test_energy_balance_and_cost_terms(p2):
    out = p2.compute(np.r_[p2.encode([210, 310, 380]), p2.encode([0, 0, 0])])
    d = out["sop"]
    # eqs. (7)-(8) exact for every SOP and hour
    bal = d.p_a_kw + d.p_b_kw + 0.02 * (np.abs(d.p_a_kw) + np.abs(d.p_b_kw))
    np.testing.assert_allclose(bal, 0.0, atol=1e-9)
    # the substation supplies demand - DG used + network and converter losses, hour by hour
    dem = (p2._p_load + p2._ev_unc).sum(-1)
    dg_used = p2._dg_kw.sum() * 1e-3 - out["curtailed_mwh"]
    imported = out["slack_kw"].sum(-1) * 1e-3
    np.testing.assert_allclose(imported, dem.sum() * 1e-3 - dg_used + out["loss_mwh"], rtol=1e-6)
    parts = out["c_si"] + out["c_oms"] + out["c_pc"] + out["c_nlc"]
    np.testing.assert_allclose(out["cost"], parts)
    inv, om = sop.annual_cost([210.0, 310.0, 380.0])
    assert out["c_si"][0] == pytest.approx(inv / 1e4) and out["c_oms"][0] == pytest.approx(om / 1e4)
    # zero capacity is plan 1; the SOPs lower the cost and the losses
    base = p2.baseline()
    assert out["cost"][1] == pytest.approx(base["cost"][0])
    assert out["cost"][0] < base["cost"][0] and out["loss_mwh"][0] < 0.8 * base["loss_mwh"][0]


def test_voltage_is_soft_and_reported(p2):
    X = p2.encode([0, 0, 0])
    out: dict = {}
    p2._evaluate(X, out)
    c = p2.compute(X)
    assert c["vmin_pu"][0] < 0.9 and c["v_band_violation_pu"][0] > 0.03  # plan 1-3: band unattainable
    assert np.all(out["G"] <= 0)  # ... yet the candidate is not dropped
    hard = SOPPlanning(plan=2, config={"voltage_hard": True})
    out_h: dict = {}
    hard._evaluate(X, out_h)
    assert out_h["G"].shape == (1, 3) and out_h["G"][0, 1] == pytest.approx(0.93 - c["vmin_pu"][0])


def test_plan4_stations_and_front(p4):
    s = p4.ev_schedule
    lim = p4.limits
    # the stations deliver their fleet's energy: stored energy balances arrivals and departures
    stored = (s.p_ch_kw * lim.efficiency[:, None] - s.p_dis_kw / lim.efficiency[:, None]).sum(-1)[0]
    np.testing.assert_allclose(stored, -lim.delta_kwh.sum(-1), rtol=1e-6, atol=1e-3)
    assert float(s.unserved_kwh.sum()) == 0.0
    X = np.r_[p4.encode([190, 500, 380]), p4.encode([0, 0, 0])]
    out: dict = {}
    p4._evaluate(X, out)
    c = p4.compute(X)
    assert out["F"].shape == (2, 2)
    np.testing.assert_allclose(out["F"][:, 1], -c["flexibility"])  # maximised
    # plan 4 (stations as storage) costs less than plan 2 with the same SOPs, and is more flexible
    p2 = SOPPlanning(plan=2).compute(X)
    assert np.all(c["cost"] < p2["cost"]) and np.all(c["i_f"] > p2["i_f"])


def test_plan3_batteries():
    p3 = SOPPlanning(plan=3)
    X = np.r_[p3.encode([210, 310, 340], [0.0] * 4), p3.encode([210, 310, 340], [1000.0] * 4)]
    c = p3.compute(X)
    c2 = SOPPlanning(plan=2).compute(X[:1, :3])
    assert c["cost"][0] == pytest.approx(c2["cost"][0])  # no battery: plan 2
    # 4 x 1000 kWh, 500 kW: annualised at the CRF of 8 %, 10 y; they shift energy to cheap hours
    crf = 0.08 * 1.08**10 / (1.08**10 - 1)
    assert c["c_si"][1] - c["c_si"][0] == pytest.approx(crf * (1200 * 4000 + 800 * 2000) / 1e4)
    assert c["c_pc"][1] < c["c_pc"][0] and c["storage_kw"][1].min() < 0 < c["storage_kw"][1].max()


def test_registry_builds():
    from optim.registry import make_problem

    prob = make_problem("sop_planning")
    assert prob.n_var == 3 and prob.n_obj == 1


def test_dispatch_scale_zero_is_plan1_and_half_keeps_the_balance(p2):
    x = p2.encode([810, 570, 80])
    idle, base = p2.compute(x, dispatch_scale=0.0), p2.baseline()
    for k in ("c_pc", "c_nlc", "i_f", "i_bf", "vmin_pu"):
        np.testing.assert_allclose(idle[k], base[k], rtol=1e-9)
    full, half = p2.compute(x), p2.compute(x, dispatch_scale=0.5)
    np.testing.assert_allclose(half["sop"].p_a_kw, 0.5 * full["sop"].p_a_kw)
    # eq. (7)-(8) still hold: P_a + P_b + loss = 0 (generation positive at both ends)
    d = half["sop"]
    np.testing.assert_allclose(d.p_a_kw + d.p_b_kw + d.loss_kw, 0.0, atol=1e-9)
    assert half["loss_mwh"][0] < base["loss_mwh"][0]
    with pytest.raises(ProblemConfigError, match="dispatch_scale"):
        p2.compute(x, dispatch_scale=1.5)
