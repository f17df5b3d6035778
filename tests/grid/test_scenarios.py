from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from grid import profiles, scenarios
from grid.scenarios import ScenarioError, ScenarioSet


@pytest.fixture(scope="module")
def year():
    return profiles.reference_year()


@pytest.fixture(scope="module")
def td(year):
    return scenarios.typical_days(year, np.random.default_rng(0), k_range=range(2, 7), n_init=4)


def test_typical_days_choose_max_pseudo_f(td):
    scores = td.info["pseudo_f"]
    assert td.info["k"] == max(scores, key=scores.get)
    assert td.n_scenarios == td.info["k"]
    assert td.days.sum() == 365
    np.testing.assert_allclose(td.weight, td.days / 365)
    assert td.pv_pu.shape == (td.n_scenarios, 24)


def test_typical_days_are_member_means(year, td):
    lab = td.info["labels"]
    for i in range(td.n_scenarios):
        np.testing.assert_allclose(td.load_pu[i], year.daily("load_pu")[lab == i].mean(0))
        np.testing.assert_allclose(td.pv_pu[i], year.pv_pu()[lab == i].mean(0))


def test_typical_days_deterministic(year, td):
    again = scenarios.typical_days(year, np.random.default_rng(0), k_range=range(2, 7), n_init=4)
    np.testing.assert_array_equal(again.pv_pu, td.pv_pu)
    forced = scenarios.typical_days(year, np.random.default_rng(0), k_range=range(2, 4), k=4, n_init=2)
    assert forced.n_scenarios == 4 and 4 in forced.info["pseudo_f"]


def test_pseudo_f_matches_definition():
    rng = np.random.default_rng(3)
    x = np.vstack([rng.normal(0, 1, (30, 2)), rng.normal(6, 1, (30, 2))])
    lab = np.repeat([0, 1], 30)
    m = x.mean(0)
    b = sum(30 * ((x[lab == i].mean(0) - m) ** 2).sum() for i in range(2))
    w = sum(((x[lab == i] - x[lab == i].mean(0)) ** 2).sum() for i in range(2))
    assert scenarios.pseudo_f(x, lab) == pytest.approx(b / (w / 58))
    labels, centers, _ = scenarios.kmeans_pp(x, 2, rng)
    assert len(set(labels[:30])) == 1 and labels[0] != labels[-1]


def test_seasonal_24_scenarios(year):
    s = scenarios.seasonal_scenarios(year)
    assert s.n_scenarios == 24 and s.days.sum() == 365
    assert s.weight.sum() == pytest.approx(1.0)
    keys = s.info["keys"]
    sunny = [i for i, k in enumerate(keys) if k[0] == "summer" and k[1] == "sunny"]
    overcast = [i for i, k in enumerate(keys) if k[0] == "summer" and k[1] == "overcast"]
    assert s.pv_pu[sunny].sum() > s.pv_pu[overcast].sum()
    weekend = [i for i, k in enumerate(keys) if k[2] == "weekend"]
    assert 100 < s.days[weekend].sum() < 110


@pytest.mark.parametrize("tau", [-0.5, -0.2, 0.0, 0.3, 0.7])
def test_frank_tau_round_trip(tau):
    theta = scenarios.frank_theta_from_tau(tau)
    assert scenarios.frank_tau(theta) == pytest.approx(tau, abs=1e-8)
    assert np.sign(theta) == np.sign(tau)


@pytest.mark.parametrize("tau", [-0.3, 0.5])
def test_frank_samples_reproduce_rank_correlation(tau):
    n = 4000
    uv = scenarios.frank_sample(scenarios.frank_theta_from_tau(tau), n, np.random.default_rng(1))
    assert uv.min() >= 0 and uv.max() <= 1
    t_hat = stats.kendalltau(uv[:, 0], uv[:, 1]).statistic
    se = np.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1)))  # null standard error, a safe upper scale
    assert abs(t_hat - tau) < 4 * se


def test_copula_scenarios(year):
    s = scenarios.copula_scenarios(year, np.random.default_rng(4), n_samples=500, n_scenarios=8)
    assert s.n_scenarios <= 8 and s.weight.sum() == pytest.approx(1.0)
    w, p = s.info["samples_wind_pu"], s.info["samples_pv_pu"]
    assert w.shape == (500, 24)
    # the samples reproduce the fitted (negative or positive) rank correlation within sampling error
    t_hat = stats.kendalltau(w.mean(1), p.mean(1)).statistic
    assert abs(t_hat - s.info["tau"]) < 4 * np.sqrt(2 * 1005 / (9 * 500 * 499))
    # the marginals follow the data: mean PV at noon close to the year's
    assert abs(p[:, 12].mean() - year.pv_pu()[:, 12].mean()) < 0.05
    assert np.all(p[:, 0] == 0.0)


def test_scenario_set_validation():
    z = np.zeros((2, 24))
    with pytest.raises(ScenarioError, match="sum to"):
        ScenarioSet("x", "s", z, z, z, [0.5, 0.6])
    with pytest.raises(ScenarioError, match="shape"):
        ScenarioSet("x", "s", z[:, :23], z, z, [0.5, 0.5])
    with pytest.raises(ScenarioError, match="negative"):
        ScenarioSet("x", "s", -np.ones((2, 24)), z, z, [0.5, 0.5])
    with pytest.raises(ScenarioError, match=r"Kendall's tau must lie in \(-1, 1\), got 1.0"):
        scenarios.frank_theta_from_tau(1.0)
    with pytest.raises(TypeError, match="typical_days needs a numpy.random.Generator, got int"):
        scenarios.typical_days(profiles.synthetic_year(np.random.default_rng(0)), 0)
