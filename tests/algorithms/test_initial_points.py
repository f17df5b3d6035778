"""``initial_points``: given starting points replace the first members of every algorithm's first
population (the rest stays the seeded random sample), and bad points are named errors."""

from __future__ import annotations

import numpy as np
import pytest
from pymoo.core.callback import Callback
from pymoo.optimize import minimize

from algorithms import ALGORITHMS, AlgorithmConfigError
from problems.test_functions import Sphere

SMALL = {
    "pso": {"pop_size": 12},
    "ihspso": {"pop_size": 12, "hs_size": 3, "hms": 4},
    "ga": {"pop_size": 12},
    "mopso": {"pop_size": 12, "archive_size": 15},
    "moihspso": {"pop_size": 12, "archive_size": 15, "hs_size": 4},
    "mopso001": {"pop_size": 12},
    "nsga2": {"pop_size": 12},
}


class FirstPopulation(Callback):
    """Keeps the matrix of the first generation's evaluated points."""

    def __init__(self) -> None:
        super().__init__()
        self.X0: np.ndarray | None = None

    def notify(self, algorithm) -> None:
        if self.X0 is None:
            self.X0 = np.asarray(algorithm.pop.get("X"), dtype=float).copy()


class TwoSpheres(Sphere):
    """Sphere with a second objective, for the multi-objective algorithms."""

    def __init__(self, n_var: int = 4) -> None:
        super().__init__(n_var=n_var)
        self.n_obj = 2

    def _evaluate(self, x, out, *args, **kwargs):
        out["F"] = np.column_stack([np.sum(x**2, axis=1), np.sum((x - 1.0) ** 2, axis=1)])


class WithKnownPlan(Sphere):
    """A sphere that offers its optimum as a known starting point."""

    def initial_points(self) -> np.ndarray:
        return np.zeros((1, self.n_var))


def _problem(name: str):
    return TwoSpheres() if name in ("mopso", "moihspso", "mopso001", "nsga2") else Sphere(n_var=4)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_given_points_start_the_run_and_the_rest_is_the_seeded_sample(name):
    prob = _problem(name)
    P = np.array([[0.5, -0.25, 1.0, 2.0], [3.0, 3.0, -3.0, 0.0]])
    seen, plain = FirstPopulation(), FirstPopulation()
    minimize(prob, ALGORITHMS[name](**SMALL[name], initial_points=P.tolist()), ("n_gen", 1), seed=3,
             callback=seen)
    minimize(prob, ALGORITHMS[name](**SMALL[name]), ("n_gen", 1), seed=3, callback=plain)
    # every given point is a member of the first population ...
    for p in P:
        assert np.min(np.abs(seen.X0 - p).max(axis=1)) == 0.0
    # ... and the other members are the unseeded run's (same seed), not a different draw
    rest = [x for x in seen.X0 if np.abs(P - x).max(axis=1).min() > 0]
    assert len(rest) >= 10
    for x in rest:
        assert np.min(np.abs(plain.X0 - x).max(axis=1)) == 0.0


@pytest.mark.parametrize("name", ["pso", "ihspso", "ga"])
def test_problem_points_reach_the_optimum_at_once(name):
    res = minimize(WithKnownPlan(n_var=5), ALGORITHMS[name](**SMALL[name], initial_points="problem"),
                   ("n_gen", 1), seed=1)
    assert float(res.F[0]) == 0.0  # a random sample never lands on the optimum exactly


@pytest.mark.parametrize(
    "points, match",
    [
        ("problem", "has no initial_points"),
        ("best", "must be 'problem' or an array"),
        ([[0.0, 0.0]], r"shape \(k, 4\)"),
        ([[0.0, 0.0, 0.0, 101.0]], r"variable 3 = 101.0 lies outside"),
        ([[0.0, np.nan, 0.0, 0.0]], "variable 1 = nan"),
    ],
)
@pytest.mark.parametrize("name", ["pso", "ga"])
def test_bad_points_are_named_errors(name, points, match):
    with pytest.raises(AlgorithmConfigError, match=match):
        minimize(Sphere(n_var=4), ALGORITHMS[name](**SMALL[name], initial_points=points), ("n_gen", 1),
                 seed=1)


@pytest.mark.parametrize("name", ["pso", "ihspso", "ga", "mopso001", "nsga2"])
def test_a_campaign_can_set_initial_points_by_registry_name(name):
    from optim.registry import get_algorithm

    assert "initial_points" in get_algorithm(name).param_names  # so a campaign file may set it


def test_run_by_registry_name_starts_from_the_given_point():
    from optim.run import run

    rec = run("sphere", "pso", {"n_gen": 1}, seed=1, problem_params={"n_var": 3},
              algorithm_params={"pop_size": 5, "initial_points": [[0.0, 0.0, 0.0]]})
    assert float(rec.F.min()) == 0.0
