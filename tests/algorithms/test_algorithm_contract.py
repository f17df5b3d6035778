"""The pymoo contract every algorithm of the package keeps: determinism, minimize == manual loop,
bounds and integrality at every generation, exact evaluation counts, feasibility on constrained
problems."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from pymoo.core.callback import Callback
from pymoo.core.problem import Problem
from pymoo.optimize import minimize
from pymoo.problems.multi.bnh import BNH
from pymoo.problems.multi.zdt import ZDT1
from pymoo.termination import get_termination

from algorithms import ALGORITHMS, IHSPSO, MOIHSPSO, MOPSO, PSO, AlgorithmConfigError, ga, nsga2
from problems.test_functions import Rastrigin, Sphere

SO = ["pso", "ihspso", "ga"]
MO = ["mopso", "moihspso", "nsga2"]
SMALL = {
    "pso": {"pop_size": 12},
    "ihspso": {"pop_size": 12, "hs_size": 3, "hms": 4},
    "ga": {"pop_size": 12},
    "mopso": {"pop_size": 12, "archive_size": 15},
    "moihspso": {"pop_size": 12, "archive_size": 15, "hs_size": 4},
    "nsga2": {"pop_size": 12},
}


def make(name: str, **kw):
    return ALGORITHMS[name](**{**SMALL[name], **kw})


class CountingMixedInteger(Problem):
    """Shifted sphere(s) with integer variables; records every matrix it evaluates."""

    def __init__(self, n_obj: int = 1, constrained: bool = False) -> None:
        super().__init__(
            n_var=6,
            n_obj=n_obj,
            n_ieq_constr=1 if constrained else 0,
            xl=np.array([-5.0, -5.0, -5.0, 0.0, -3.5, 0.0]),
            xu=np.array([5.0, 5.0, 5.0, 10.0, 3.5, 1.0]),
        )
        self.int_mask = np.array([False, False, False, True, True, True])
        self.calls = 0
        self.n_rows = 0
        self.seen: list[np.ndarray] = []

    def _evaluate(self, x, out, *args, **kwargs):
        self.calls += 1
        self.n_rows += x.shape[0]
        self.seen.append(x.copy())
        f1 = np.sum((x - 1.3) ** 2, axis=1)
        F = [f1] if self.n_obj == 1 else [f1, np.sum((x + 1.1) ** 2, axis=1)]
        out["F"] = np.column_stack(F)
        if self.n_ieq_constr:
            out["G"] = (1.0 - x[:, 0] - x[:, 1])[:, None]  # x0 + x1 >= 1


class ConstrainedSphere(Problem):
    """min sum x^2 s.t. x0 + x1 >= 2 (optimum 2 at x0 = x1 = 1); the unconstrained optimum is infeasible."""

    def __init__(self) -> None:
        super().__init__(n_var=5, n_obj=1, n_ieq_constr=1, xl=-5.0, xu=5.0)

    def _evaluate(self, x, out, *args, **kwargs):
        out["F"] = np.sum(x * x, axis=1)
        out["G"] = 2.0 - x[:, 0] - x[:, 1]


def problem_for(name: str, **kw) -> Problem:
    return CountingMixedInteger(n_obj=1 if name in SO else 2, **kw)


@pytest.mark.parametrize("name", SO + MO)
def test_same_seed_same_result_different_seed_differs(name):
    p = ZDT1(n_var=6) if name in MO else Sphere(n_var=6)
    r1 = minimize(p, make(name), ("n_gen", 8), seed=3)
    r2 = minimize(p, make(name), ("n_gen", 8), seed=3)
    r3 = minimize(p, make(name), ("n_gen", 8), seed=4)
    np.testing.assert_array_equal(r1.X, r2.X)
    np.testing.assert_array_equal(r1.F, r2.F)
    np.testing.assert_array_equal(r1.pop.get("X"), r2.pop.get("X"))
    assert not np.array_equal(r1.pop.get("X"), r3.pop.get("X"))


@pytest.mark.parametrize("name", SO + MO)
def test_minimize_equals_manual_next_loop_and_ask_tell(name):
    p = problem_for(name)
    res = minimize(p, make(name), ("n_gen", 6), seed=11)

    alg = make(name)
    alg.setup(problem_for(name), termination=get_termination("n_gen", 6), seed=11)
    while alg.has_next():
        alg.next()
    manual = alg.result()

    alg2 = make(name)
    p2 = problem_for(name)
    alg2.setup(p2, termination=get_termination("n_gen", 6), seed=11)
    while alg2.has_next():
        infills = alg2.ask()
        alg2.evaluator.eval(p2, infills, algorithm=alg2)
        alg2.tell(infills=infills)
    asked = alg2.result()

    for other in (manual, asked):
        np.testing.assert_array_equal(np.atleast_2d(res.X), np.atleast_2d(other.X))
        np.testing.assert_array_equal(np.atleast_2d(res.F), np.atleast_2d(other.F))


class GenerationCheck(Callback):
    """Records, per generation, the population/archive the algorithm holds."""

    def __init__(self) -> None:
        super().__init__()
        self.pops: list[np.ndarray] = []
        self.opts: list[tuple[np.ndarray, np.ndarray]] = []

    def notify(self, algorithm):
        self.pops.append(algorithm.pop.get("X").copy())
        self.opts.append((algorithm.opt.get("F").copy(), algorithm.opt.get("CV").copy()))


@pytest.mark.parametrize("name", SO + MO)
def test_bounds_and_integrality_at_every_generation(name):
    p = problem_for(name)
    cb = GenerationCheck()
    minimize(p, make(name), ("n_gen", 15), seed=5, callback=cb)
    assert len(p.seen) == 15
    for X in p.seen + cb.pops:
        assert np.all(X >= p.xl) and np.all(X <= p.xu)
        np.testing.assert_array_equal(X[:, p.int_mask], np.rint(X[:, p.int_mask]))
    # the continuous variables are not rounded
    assert np.any(p.seen[-1][:, ~p.int_mask] != np.rint(p.seen[-1][:, ~p.int_mask]))


@pytest.mark.parametrize("name", SO + MO)
def test_counted_evaluations_equal_problem_calls(name):
    p = problem_for(name)
    res = minimize(p, make(name), ("n_gen", 12), seed=2)
    assert res.algorithm.evaluator.n_eval == p.n_rows
    assert p.calls == 12  # one evaluator call per generation, nothing evaluated in setup


@pytest.mark.parametrize("name", ["ihspso", "moihspso"])
def test_harmony_candidates_are_counted_under_an_evaluation_budget(name):
    p = problem_for(name)
    res = minimize(p, make(name), ("n_eval", 200), seed=2)
    assert res.algorithm.evaluator.n_eval == p.n_rows
    first = p.seen[0].shape[0]
    assert any(X.shape[0] > first for X in p.seen[1:])  # the harmony step added candidates


@pytest.mark.parametrize("name", ["pso", "ihspso", "ga"])
def test_single_objective_constrained_optimum_is_feasible_and_close(name):
    res = minimize(ConstrainedSphere(), ALGORITHMS[name](pop_size=30), ("n_gen", 120), seed=1)
    assert res.CV[0] <= 0.0
    assert res.F[0] == pytest.approx(2.0, abs=0.05)


@pytest.mark.parametrize("name", MO)
def test_multi_objective_constrained_benchmark_returns_feasible_points(name):
    p = BNH()
    res = minimize(p, ALGORITHMS[name](pop_size=40), ("n_gen", 40), seed=1)
    assert res.F is not None and len(res.F) >= 10
    G = p.evaluate(res.X, return_values_of=["G"])
    assert np.all(G <= 1e-12)


@pytest.mark.parametrize("name", ["mopso", "moihspso"])
def test_archive_is_feasible_non_dominated_and_bounded_every_generation(name):
    p = CountingMixedInteger(n_obj=2, constrained=True)
    cb = GenerationCheck()
    minimize(p, make(name, archive_size=6), ("n_gen", 25), seed=8, callback=cb)
    sizes = []
    for F, CV in cb.opts:
        sizes.append(len(F))
        assert len(F) <= 6
        assert np.all(CV <= 0.0)
        dominated = (np.all(F[:, None] <= F[None], axis=2) & np.any(F[:, None] < F[None], axis=2)).any(axis=0)
        assert not dominated.any()
    assert max(sizes) == 6  # the bound was reached, so truncation ran


def test_pso_is_ihspso_with_every_switch_off():
    p = Rastrigin(n_var=5)
    a = minimize(p, PSO(pop_size=10), ("n_gen", 20), seed=9)
    off = dict(chaotic_init=False, cosine_inertia=False, time_varying_c=False, harmony_search=False)
    b = minimize(p, IHSPSO(pop_size=10, **off), ("n_gen", 20), seed=9)
    c = minimize(p, IHSPSO(pop_size=10), ("n_gen", 20), seed=9)
    np.testing.assert_array_equal(a.pop.get("X"), b.pop.get("X"))
    assert not np.array_equal(a.pop.get("X"), c.pop.get("X"))


def test_mopso_is_moihspso_with_every_switch_off():
    p = ZDT1(n_var=5)
    off = dict(chaotic_init=False, cosine_inertia=False, time_varying_c=False, harmony_search=False)
    a = minimize(p, MOPSO(pop_size=10), ("n_gen", 10), seed=9)
    b = minimize(p, MOIHSPSO(pop_size=10, **off), ("n_gen", 10), seed=9)
    np.testing.assert_array_equal(a.F, b.F)


def test_swarms_improve_on_their_problems():
    r = minimize(Sphere(n_var=10), IHSPSO(), ("n_gen", 200), seed=0)
    assert r.F[0] < 1e-3
    z = ZDT1(n_var=10)
    r = minimize(z, MOPSO(), ("n_gen", 100), seed=0)
    from pymoo.indicators.igd import IGD

    assert IGD(z.pareto_front())(r.F) < 0.02


def test_algorithms_registry_names_and_plain_keywords():
    assert set(ALGORITHMS) == {"pso", "ihspso", "mopso", "moihspso", "mopso001", "ga", "nsga2"}
    for name, ctor in ALGORITHMS.items():
        alg = ctor(pop_size=20)
        copy.deepcopy(alg)  # minimize deep-copies algorithms
        assert alg.pop_size == 20, name
    assert ga().pop_size == 100 and nsga2().pop_size == 100


@pytest.mark.parametrize(
    "ctor, kw",
    [
        (PSO, {"pop_size": 1}),
        (IHSPSO, {"hmcr": 1.5}),
        (IHSPSO, {"hs_size": 0}),
        (MOPSO, {"c_min": 3.0}),
        (MOPSO, {"constriction": "bogus"}),
        (MOPSO, {"archive_truncation": "x"}),
        (MOIHSPSO, {"par": -0.1}),
        (ga, {"crossover_prob": 2.0}),
        (nsga2, {"pop_size": 0}),
    ],
)
def test_bad_configuration_is_a_named_error(ctor, kw):
    with pytest.raises(AlgorithmConfigError, match=next(iter(kw)).replace("_", "[_ ]")):  # names the param
        ctor(**kw)


def test_single_objective_swarm_rejects_multi_objective_problem():
    with pytest.raises(AlgorithmConfigError, match="single-objective"):
        minimize(ZDT1(), PSO(), ("n_gen", 2), seed=1)


def test_bad_int_mask_is_a_named_error():
    p = Sphere(n_var=3)
    p.int_mask = np.array([1, 0, 1])
    with pytest.raises(AlgorithmConfigError, match="int_mask"):
        minimize(p, PSO(pop_size=5), ("n_gen", 2), seed=1)


@pytest.mark.parametrize("n_obj", [2, 3])
def test_crowding_archive_add_keeps_its_invariants(n_obj):
    from pymoo.core.population import Population

    from algorithms import CrowdingArchive

    g = np.random.default_rng(n_obj)
    arch = CrowdingArchive(20)
    for _ in range(6):
        X = g.random((40, 4))
        X[:5] = X[0]  # duplicates
        F = np.column_stack([X[:, k] + 0.1 * X[:, 3] for k in range(n_obj)])
        F[:, -1] = 1.0 - F[:, 0] + 0.1 * X[:, 3]
        CV = np.where(g.random(40) < 0.3, g.random(40), 0.0)
        pop = Population.new(X=X, F=F, CV=CV[:, None])
        arch = arch.add(pop, X, F, CV)
        assert 0 < len(arch) <= 20
        np.testing.assert_array_equal(arch.pop.get("X"), arch.X)
        assert np.all(arch.pop.get("CV") <= 0.0)
        Fa = arch.F
        dominated = (np.all(Fa[:, None] <= Fa[None], axis=2) & np.any(Fa[:, None] < Fa[None], axis=2)).any(
            axis=0
        )
        assert not dominated.any()
        assert len(np.unique(arch.X, axis=0)) == len(arch)
    assert len(arch) == 20


def test_ihspso_beats_pso_on_rastrigin_at_equal_seeds():
    """A small table-10 check: I-HSPSO's harmony step escapes Rastrigin's local minima that stop PSO."""
    p = Rastrigin(n_var=10)
    pso = [minimize(p, PSO(pop_size=30), ("n_gen", 300), seed=s).F[0] for s in range(3)]
    ihs = [minimize(p, IHSPSO(pop_size=30), ("n_gen", 300), seed=s).F[0] for s in range(3)]
    assert max(ihs) < min(pso)
