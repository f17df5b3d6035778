"""experiments.paper000.sensitivity and .figures, Config000.ev_price_response and compute()'s LCC terms,
on IEEE 33 with one scenario and tiny GA budgets."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.paper000 import figures, sensitivity, tables
from grid.staging import StagingError
from problems.staged_planning import StagedPlanning

ONE = {"n_scenarios": 1}
PLAN = dict(
    lines=[0, 1, 0, 0, 0, 0, 2, 3],
    transformer_kva=[6300, 8000, 8000],
    storage_bus=18,
    storage_kw=[0, 200, 500],
    smart=[0.1, 0.3, 0.3],
    v2g=[0, 0.05, 0.4],
)


def test_lcc_terms_sum_to_lcc():
    prob = StagedPlanning("D", config=ONE)
    X = np.random.default_rng(1).uniform(prob.xl, prob.xu, (5, prob.n_var))
    c = prob.compute(X)
    total = sum(v.sum(-1) for v in c["lcc_terms_cny"].values())
    np.testing.assert_allclose(total, c["lcc_cny"], rtol=1e-12)
    # investment term: the stage's new capital discounted to its first year
    np.testing.assert_allclose(c["lcc_terms_cny"]["investment"], c["invest_cny"] * prob.disc.first_year)
    np.testing.assert_allclose(c["loss_kw"].sum(-1) @ prob.weight * 365, c["loss_kwh_yr"], rtol=1e-12)


def test_ev_price_response():
    full = StagedPlanning("D", config=ONE)
    x = full.encode(**PLAN)
    none = StagedPlanning("D", config={**ONE, "ev_price_response": 0.0})
    # nobody follows the signal: EVs charge as with no smart or V2G pile, the piles are still paid
    x0 = none.encode(**{**PLAN, "smart": [0, 0, 0], "v2g": [0, 0, 0]})
    c_none, c_unc = none.compute(x[None]), none.compute(x0[None])
    np.testing.assert_allclose(c_none["slack_p_kw"], c_unc["slack_p_kw"])
    assert c_none["invest_cny"][0, -1] > c_unc["invest_cny"][0, -1]
    c_full = full.compute(x[None])
    assert c_full["peak_kw"][0, -1] < c_none["peak_kw"][0, -1] - 100.0  # coordination lowers the peak
    np.testing.assert_array_equal(
        StagedPlanning("D", config={**ONE, "ev_price_response": 1.0}).compute(x[None])["lcc_cny"],
        c_full["lcc_cny"],
    )
    with pytest.raises(StagingError, match="ev_price_response"):
        StagedPlanning("D", config={**ONE, "ev_price_response": 1.2})


def test_plan_kwargs_round_trip():
    prob = StagedPlanning("D", config=ONE)
    x = prob.encode(**PLAN)
    kw = sensitivity.plan_kwargs(prob, x)
    assert kw["lines"] == PLAN["lines"] and kw["storage_bus"] == 18
    np.testing.assert_array_equal(prob.encode(**kw), x)
    c = prob.compute(sensitivity.null_plan(prob)[None])  # builds nothing: no investment at all
    assert np.all(c["invest_cny"] == 0) and np.all(c["plan"]["trafo_kva"] == prob.ladder_kva[0])


def test_v2g_day_and_figures(tmp_path):
    prob = StagedPlanning("D", config={"n_scenarios": 3})  # the third most probable day is summer
    x = prob.encode(**PLAN)
    day = tables.v2g_day(prob, x)
    assert day["scenario"].startswith("summer")
    no = prob.compute(x[None], v2g=False)["slack_p_kw"][0, -1]
    w = [" ".join(k) for k in prob.scenario_keys].index(day["scenario"])
    np.testing.assert_array_equal(day["head_no_v2g_kw"], no[w])
    assert day["peak with V2G (MW)"] < day["peak without V2G (MW)"]
    assert day["V2G head-load reduction 18-20 h (MW)"] > 0.1
    assert day["transformer load rate without V2G (%)"] == pytest.approx(100 * no[w].max() / 8000)
    # a plan without V2G: both days coincide
    x0 = prob.encode(**{**PLAN, "v2g": [0, 0, 0]})
    d0 = tables.v2g_day(prob, x0)
    assert d0["peak with V2G (MW)"] == d0["peak without V2G (MW)"]
    assert d0["V2G head-load reduction 18-20 h (MW)"] == 0.0
    for path in (
        figures.peak_day(day, tmp_path / "day.png"),
        figures.lcc_by_stage({"D": (prob, x), "D0": (prob, x0)}, tmp_path / "lcc.png"),
    ):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sensitivity_studies_tiny(tmp_path):
    df = sensitivity.run_studies(
        ["v2g", "response"],
        n_scenarios=1,
        pop=4,
        n_gen=2,
        seed=3,
        values={"v2g": (0.0, 0.3, 0.6), "response": (0.25, 1.0)},
    )
    assert list(df["study"]) == ["v2g"] * 3 + ["response"] * 2
    v = df[df.study == "v2g"]
    # nested caps + continuation: the LCC cannot rise with participation, the share never exceeds it
    assert np.all(np.diff(v["lcc_mcny"].to_numpy()) <= 1e-9)
    assert np.all(v["v2g_III"].to_numpy() <= v["value"].to_numpy() + 1e-12)
    # scheme A's optimum is a plan of D in every start population: D never above A
    assert (df["lcc_mcny"] <= df.attrs["lcc_a_first_mcny"] + 1e-9).all()
    assert df.attrs["lcc_a_mcny"] <= df.attrs["lcc_a_first_mcny"]  # A re-optimised from the D bests
    np.testing.assert_allclose(df["d_vs_a_pct"], 100 * (1 - df["lcc_mcny"] / df.attrs["lcc_a_mcny"]))
    ben = df.attrs["v2g_benefit"]
    np.testing.assert_array_equal(ben["v2g_III"], [0.0, 0.3, 0.6])
    assert ben["v2g_invest_mcny"].iloc[0] == 0 and np.all(np.diff(ben["v2g_invest_mcny"]) > 0)
    text = sensitivity.report(df, "tiny")
    assert "V2G participation cap 0, 0.3, 0.6: LCC" in text and "EV price response 0.25, 1:" in text
    assert sensitivity.write_figure(df, tmp_path / "s.png").stat().st_size > 0
    # a second pass starts each setting from its first-pass best: it can only improve
    one = sensitivity.run_studies(
        ["response"], n_scenarios=1, pop=4, n_gen=2, seed=3, passes=1, values={"response": (0.25, 1.0)}
    )
    assert np.all(df[df.study == "response"]["lcc_mcny"].to_numpy() <= one["lcc_mcny"].to_numpy() + 1e-9)
