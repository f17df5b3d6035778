"""DGSiting: published placements, vectorised == reference, constraints, senses, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymoo.algorithms.soo.nonconvex.de import DE
from pymoo.optimize import minimize

from grid import cases
from grid.powerflow import solve
from problems._common import PENALTY, ProblemConfigError
from problems.dg_siting import DGSiting


def _eval(prob: DGSiting, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    F, G = prob.evaluate(np.atleast_2d(X), return_values_of=["F", "G"])
    return F, G


class _Days:
    """A minimal ScenarioSet stand-in: (n_scenarios, 24) arrays and weights."""

    def __init__(self, load_pu, pv_pu, wind_pu, weight):
        self.load_pu, self.pv_pu, self.wind_pu, self.weight = load_pu, pv_pu, wind_pu, weight


# ---------------------------------------------------------------- published results (fast: one plan)
def test_ieee33_published_three_dg_plan_gives_published_loss():
    # 3 DGs, unity pf, buses 14/24/30 at 754.7/1099.9/1071.4 kW: 71.457 kW on the Baran & Wu data.
    prob = DGSiting("ieee33", n_dg=3, objectives=["loss", "vmin"])
    F, G = _eval(prob, prob.encode([14, 24, 30], [754.7, 1099.9, 1071.4]))
    assert F[0, 0] == pytest.approx(71.457, abs=0.01)
    assert -F[0, 1] == pytest.approx(0.9687, abs=2e-4)
    assert np.all(G <= 0)


def test_pge69_published_single_dg_plan_gives_published_loss():
    prob = DGSiting("pge69", n_dg=1, p_max_kw=4000.0)
    F, G = _eval(prob, prob.encode([61], [1872.7]))
    assert F[0, 0] == pytest.approx(83.22, abs=0.01)
    assert np.all(G <= 0)


@pytest.mark.parametrize(("case", "loss_kw"), [("ieee33", 202.677), ("pge69", 224.99)])
def test_no_dg_gives_the_base_case(case, loss_kw):
    prob = DGSiting(case, n_dg=2)
    x = prob.encode(prob.candidates[:2], [0.0, 0.0])
    F, G = _eval(prob, x)
    assert F[0, 0] == pytest.approx(loss_kw, abs=0.01)
    # The base case of both feeders violates the 0.95 pu floor.
    assert G[0, prob.constraint_names.index("v_low")] > 0


def test_de_run_to_convergence_finds_the_published_ieee33_placement():
    prob = DGSiting("ieee33", n_dg=3, p_max_kw=3000.0, duplicates="forbid")
    res = minimize(prob, DE(pop_size=60), ("n_gen", 150), seed=1)
    plan = prob.decode(res.X)
    assert sorted(plan["bus"].tolist()) == [14, 24, 30]
    assert res.F[0] == pytest.approx(71.457, abs=0.05)
    np.testing.assert_allclose(plan["p_kw"], [754.7, 1099.9, 1071.4], atol=15.0)


def test_de_run_to_convergence_finds_the_published_pge69_placement():
    prob = DGSiting("pge69", n_dg=1, p_max_kw=4000.0)
    res = minimize(prob, DE(pop_size=40), ("n_gen", 60), seed=2)
    plan = prob.decode(res.X)
    assert plan["bus"].tolist() == [61]
    assert res.F[0] == pytest.approx(83.22, abs=0.02)
    assert plan["p_kw"].iloc[0] == pytest.approx(1872.7, abs=15.0)


# ---------------------------------------------------------------- vectorised == per-candidate reference
def _reference(prob: DGSiting, x: np.ndarray) -> tuple[float, float, float]:
    """Loss, vdev and vmin of one plan, built with a plain loop and one solve per plan."""
    net = prob.net
    plan = prob.decode(x)
    p = net.p_kw.copy()
    q = net.q_kvar.copy()
    for row in plan.itertuples():
        i = int(np.atleast_1d(net.index_of(row.bus))[0])
        p[i] -= row.p_kw
        q[i] -= row.q_kvar
    res = solve(net, p, q)
    vm = res.vm_pu
    return float(res.loss_kw), float(((1 - vm) ** 2).sum()), float(vm.min())


@pytest.mark.parametrize("pf_variable", [False, True])
def test_vectorised_evaluation_equals_per_candidate_reference(pf_variable):
    prob = DGSiting("ieee33", n_dg=3, objectives=["loss", "vdev", "vmin", "dg_kw"], pf_variable=pf_variable)
    rng = np.random.default_rng(7)
    X = rng.uniform(prob.xl, prob.xu, size=(12, prob.n_var))
    X[0, :2] = 5.0  # two DGs at the same bus: merged
    F, _ = _eval(prob, X)
    for k in range(len(X)):
        loss, vdev, vmin = _reference(prob, X[k])
        np.testing.assert_allclose(F[k, :3], [loss, vdev, -vmin], rtol=1e-9, atol=1e-9)
        assert F[k, 3] == pytest.approx(prob.decode(X[k])["p_kw"].sum())


def test_same_bus_twice_merges_and_forbid_flags_it():
    merge = DGSiting("ieee33", n_dg=2)
    forbid = DGSiting("ieee33", n_dg=2, duplicates="forbid")
    one = DGSiting("ieee33", n_dg=1, p_max_kw=4000.0)
    F2, _ = _eval(merge, merge.encode([18, 18], [300.0, 200.0]))
    F1, _ = _eval(one, one.encode([18], [500.0]))
    assert F2[0, 0] == pytest.approx(F1[0, 0], rel=1e-12)
    by_bus = merge.plan_by_bus(merge.encode([18, 18], [300.0, 200.0]))
    assert by_bus[["bus", "n_dg", "p_kw"]].values.tolist() == [[18, 2, 500.0]]
    _, G = _eval(forbid, forbid.encode([18, 18], [300.0, 200.0]))
    assert G[0, forbid.constraint_names.index("duplicate_sites")] == 1.0
    _, G = _eval(forbid, forbid.encode([18, 17], [300.0, 200.0]))
    assert G[0, forbid.constraint_names.index("duplicate_sites")] == 0.0


# ---------------------------------------------------------------- constraints and senses
def test_infeasible_plans_get_positive_violations():
    prob = DGSiting("ieee33", n_dg=3, p_max_kw=3000.0)
    names = prob.constraint_names
    # 9 MW at the feeder ends: over-voltage and over the total-DG bound.
    _, G = _eval(prob, prob.encode([18, 33, 25], [3000.0, 3000.0, 3000.0]))
    assert G[0, names.index("v_high")] > 0
    assert G[0, names.index("dg_total")] > 0
    assert G[0, names.index("pf_failed")] == 0


def test_non_converged_power_flow_is_a_violation_with_penalised_objectives():
    prob = DGSiting("ieee33", n_dg=1, load_level=12.0)  # far beyond the feeder's loadability
    F, G = _eval(prob, prob.encode([2], [0.0]))
    assert G[0, prob.constraint_names.index("pf_failed")] == 1.0
    assert F[0, 0] == PENALTY
    assert np.isfinite(G).all()


def test_objective_senses_and_units():
    prob = DGSiting("ieee33", n_dg=1, objectives=["loss", "vdev", "vmin", "dg_kw"])
    assert prob.objective_senses == ["min", "min", "max", "min"]
    assert prob.objective_units == ["kW", "pu^2", "pu", "kW"]
    F_none, _ = _eval(prob, prob.encode([18], [0.0]))
    F_dg, _ = _eval(prob, prob.encode([18], [500.0]))
    assert F_dg[0, 0] < F_none[0, 0]  # a DG at the weakest bus lowers loss ...
    assert F_dg[0, 1] < F_none[0, 1]  # ... and the voltage deviation ...
    assert F_dg[0, 2] < F_none[0, 2]  # ... and raises vmin, stored negated
    assert F_dg[0, 3] == 500.0 and F_none[0, 3] == 0.0


def test_lagging_power_factor_injects_reactive_power_and_cuts_loss_further():
    unity = DGSiting("ieee33", n_dg=1, p_max_kw=4000.0)
    pf09 = DGSiting("ieee33", n_dg=1, p_max_kw=4000.0, pf=0.9)
    plan = pf09.decode(pf09.encode([6], [2000.0]))
    assert plan["q_kvar"].iloc[0] == pytest.approx(2000.0 * np.tan(np.arccos(0.9)))
    Fu, _ = _eval(unity, unity.encode([6], [2000.0]))
    Fq, _ = _eval(pf09, pf09.encode([6], [2000.0]))
    assert Fq[0, 0] < Fu[0, 0]


# ---------------------------------------------------------------- scenario mode
def test_scenario_mode_reduces_to_one_load_level():
    net = cases.load("ieee33")
    ones = np.ones((1, 24))
    days = _Days(ones, 0.0 * ones, 0.0 * ones, [365.0])
    single = DGSiting("ieee33", n_dg=2, objectives=["loss", "vdev", "vmin"])
    multi = DGSiting("ieee33", n_dg=2, objectives=["loss", "vdev", "vmin"], scenarios=days, dg_type="firm")
    x = single.encode([14, 30], [700.0, 900.0])
    Fs, Gs = _eval(single, x)
    Fm, Gm = _eval(multi, x)
    assert Fm[0, 0] == pytest.approx(24 * Fs[0, 0], rel=1e-9)  # kWh per day at a constant level
    np.testing.assert_allclose(Fm[0, 1:], Fs[0, 1:], rtol=1e-9)
    np.testing.assert_allclose(Gm, Gs, rtol=1e-9, atol=1e-12)
    assert multi.objective_units[0] == "kWh/day"
    # A PV unit with no sun is no DG at all.
    pv = DGSiting("ieee33", n_dg=2, scenarios=days, dg_type="pv")
    Fpv, _ = _eval(pv, x)
    base = float(solve(net, net.p_kw, net.q_kvar).loss_kw)
    assert Fpv[0, 0] == pytest.approx(24 * base, rel=1e-9)


def test_scenario_weights_weigh_the_typical_days():
    rng = np.random.default_rng(3)
    load = rng.uniform(0.4, 1.0, (2, 24))
    pv = rng.uniform(0.0, 1.0, (2, 24))
    wind = rng.uniform(0.0, 1.0, (2, 24))
    both = DGSiting("ieee33", n_dg=2, scenarios=_Days(load, pv, wind, [100.0, 265.0]), dg_type=["pv", "wind"])
    day0 = DGSiting(
        "ieee33", n_dg=2, scenarios=_Days(load[:1], pv[:1], wind[:1], [1.0]), dg_type=["pv", "wind"]
    )
    day1 = DGSiting(
        "ieee33", n_dg=2, scenarios=_Days(load[1:], pv[1:], wind[1:], [1.0]), dg_type=["pv", "wind"]
    )
    X = rng.uniform(both.xl, both.xu, (5, both.n_var))
    F, _ = _eval(both, X)
    F0, _ = _eval(day0, X)
    F1, _ = _eval(day1, X)
    np.testing.assert_allclose(F, (100 * F0 + 265 * F1) / 365, rtol=1e-9)


# ---------------------------------------------------------------- determinism and configuration
def test_same_seed_same_result_and_evaluation_is_pure():
    prob = DGSiting("ieee33", n_dg=2)
    a = minimize(prob, DE(pop_size=20), ("n_gen", 10), seed=5)
    b = minimize(prob, DE(pop_size=20), ("n_gen", 10), seed=5)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.F, b.F)
    X = np.random.default_rng(0).uniform(prob.xl, prob.xu, (8, prob.n_var))
    np.testing.assert_array_equal(_eval(prob, X)[0], _eval(prob, X.copy())[0])


def test_int_mask_marks_the_site_variables():
    prob = DGSiting("ieee33", n_dg=3, pf_variable=True)
    assert prob.int_mask.tolist() == [True] * 3 + [False] * 6
    assert prob.xu[:3].tolist() == [31.0] * 3  # 32 non-slack candidate buses
    assert prob.candidates.tolist() == list(range(2, 34))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_dg": 0},
        {"candidates": [1, 2]},  # the slack
        {"candidates": [2, 2]},
        {"candidates": [99]},
        {"objectives": ["loss", "cost"]},
        {"p_min_kw": 100.0, "p_max_kw": 50.0},
        {"pf": 1.2},
        {"dg_type": "diesel"},
        {"duplicates": "ignore"},
        {"v_min_pu": 1.05, "v_max_pu": 0.95},
    ],
)
def test_bad_configuration_raises_a_named_error(kwargs):
    with pytest.raises(ProblemConfigError, match=next(iter(kwargs)).removesuffix("s")):  # names the parameter
        DGSiting("ieee33", **kwargs)


def test_typical_days_by_name_for_campaign_files():
    prob = DGSiting(
        "ieee33", n_dg=2, scenarios="typical_days", dg_type=["pv", "wind"], objectives=["loss", "vmin"]
    )
    assert prob.objective_units == ["kWh/day", "pu"]
    F, G = _eval(prob, prob.encode([14, 30], [800.0, 800.0]))
    assert 0 < F[0, 0] < 24 * 202.68 and np.isfinite(G).all()
    with pytest.raises(ProblemConfigError, match="must be a ScenarioSet or 'typical_days', got 'winter'"):
        DGSiting("ieee33", scenarios="winter")


def test_branch_current_limits_become_a_constraint_where_the_network_has_them():
    from dataclasses import replace

    net = replace(cases.load("ieee33"), i_max_a=np.full(32, 150.0))  # the feeder head carries ~200 A
    prob = DGSiting(net, n_dg=1, p_max_kw=3000.0)
    assert "i_max" in prob.constraint_names
    assert "i_max" not in DGSiting("ieee33", n_dg=1).constraint_names  # no limits in the case data
    _, G = _eval(prob, np.vstack([prob.encode([18], [0.0]), prob.encode([6], [2500.0])]))
    col = prob.constraint_names.index("i_max")
    assert G[0, col] > 0  # base case overloads the 150 A head
    assert G[1, col] < 0  # a large DG near the head relieves it


@settings(max_examples=25, deadline=None)
@given(
    sites=st.lists(st.integers(0, 31), min_size=3, max_size=3),
    p_kw=st.lists(st.floats(0.0, 2000.0), min_size=3, max_size=3),
    perm=st.permutations([0, 1, 2]),
)
def test_the_order_of_the_dgs_does_not_matter(sites, p_kw, perm):
    prob = DGSiting("ieee33", n_dg=3, objectives=["loss", "vdev", "vmin", "dg_kw"])
    x = np.array(sites + p_kw, dtype=float)
    y = np.concatenate([x[:3][list(perm)], x[3:][list(perm)]])
    Fx, Gx = _eval(prob, x)
    Fy, Gy = _eval(prob, y)
    np.testing.assert_allclose(Fx, Fy, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(Gx, Gy, rtol=1e-10, atol=1e-12)
