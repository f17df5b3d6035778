"""``ChunkedDuplicateElimination``: pymoo's default duplicate rule, in bounded blocks (issue 9)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from pymoo.core.duplicate import DefaultDuplicateElimination
from pymoo.core.population import Population
from pymoo.core.problem import Problem

from algorithms import AlgorithmConfigError, ga, nsga2
from algorithms.ga import ChunkedDuplicateElimination
from optim.registry import make_algorithm

ga_module = importlib.import_module("algorithms.ga")  # the package's ``ga`` is the preset function


def _population_with_planted_duplicates(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer sites and continuous sizes, as in dg_siting, with exact and near duplicates."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(0, 4, (60, 2)), rng.random((60, 2))]).astype(float)
    X[[5, 17, 40]] = X[[2, 3, 2]]                        # exact copies of earlier rows
    X[30] = X[10] + np.array([0, 0, 5e-17, 0])           # within pymoo's epsilon (1e-16)
    X[31] = X[11] + np.array([0, 0, 0, 3e-16])           # just outside it
    X[[12, 13]] = X[[14, 14]]                            # copies of a later row: the first stays
    X[20, 2] = np.nan                                     # NaN distances never match
    X[[21, 22]] = np.inf                                  # nor inf - inf
    Y = np.vstack([X[[7, 8, 30]], rng.random((10, 4)), X[[50]] + 1e-17])
    return X, Y


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("epsilon", [1e-16, 0.0, 0.3])
@pytest.mark.parametrize(("block_elements", "rows_per_block"), [(1, 1), (3, 2), (7, 128), (2**22, 128)])
def test_same_indices_as_pymoo_default(seed, epsilon, block_elements, rows_per_block):
    X, Y = _population_with_planted_duplicates(seed)
    for others in ((), (Population.new(X=Y),), (Population.new(X=Y[:4]), Population.new(X=Y[4:]))):
        want = DefaultDuplicateElimination(epsilon=epsilon).do(
            Population.new(X=X), *others, return_indices=True)
        got = ChunkedDuplicateElimination(
            epsilon=epsilon, block_elements=block_elements, rows_per_block=rows_per_block,
        ).do(Population.new(X=X), *others, return_indices=True)
        assert got[1] == want[1] and got[2] == want[2]
        assert len(want[2]) >= 4  # the planted duplicates are there to be found
        np.testing.assert_array_equal(got[0].get("X"), want[0].get("X"))


def test_no_block_holds_more_than_block_elements(monkeypatch):
    X, Y = _population_with_planted_duplicates(0)
    shapes = []
    real = ga_module._cdist

    def watched(A, B):
        shapes.append((len(A), len(B)))
        return real(A, B)

    monkeypatch.setattr(ga_module, "_cdist", watched)
    ChunkedDuplicateElimination(block_elements=6, rows_per_block=4).do(
        Population.new(X=X), Population.new(X=Y))
    assert len(shapes) > 10 and max(a * b for a, b in shapes) <= 6


def test_a_large_population_never_builds_the_full_matrix(monkeypatch):
    # pymoo's default asks for n x n float64 at once: 74.5 GiB at n = 100000 (the probe).
    # Sorted on a continuous column, a block of r rows meets about r columns: about r * n distances
    # in all (r = rows_per_block = 128), where pymoo's default computes n^2 = 4e8 at once.
    n = 20000
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.integers(0, 32, (n, 3)), rng.random((n, 3)) * 2000.0])
    X[::100] = X[1::100]  # 200 duplicates planted
    shapes = []
    real = ga_module._cdist

    def watched(A, B):
        shapes.append((len(A), len(B)))
        return real(A, B)

    monkeypatch.setattr(ga_module, "_cdist", watched)
    elim = ChunkedDuplicateElimination()
    _, _, dup = elim.do(Population.new(X=X), return_indices=True)
    assert dup == list(range(1, n, 100))
    assert max(a * b for a, b in shapes) <= elim.block_elements
    assert sum(a * b for a, b in shapes) < 2 * elim.rows_per_block * n


def test_block_shape_stays_under_the_bound():
    elim = ChunkedDuplicateElimination(block_elements=1000, rows_per_block=128)
    assert elim.block_shape(100_000) == (128, 7)
    assert elim.block_shape(3) == (128, 3)
    assert ChunkedDuplicateElimination(block_elements=5).block_shape(100_000) == (5, 1)


@pytest.mark.parametrize("bad", [{"block_elements": 0}, {"rows_per_block": 1.5}, {"block_elements": True}])
def test_bad_block_setting_is_a_named_error(bad):
    with pytest.raises(AlgorithmConfigError, match=r"must be an integer >= 1"):
        ChunkedDuplicateElimination(**bad)


@pytest.mark.parametrize("build", [
    lambda: ga(pop_size=10), lambda: nsga2(pop_size=10),
    lambda: make_algorithm("pymoo_ga", 1), lambda: make_algorithm("pymoo_nsga2", 2),
    lambda: make_algorithm("nsga3", 2), lambda: make_algorithm("smsemoa", 2),
    lambda: make_algorithm("pymoo_ga", 1, eliminate_duplicates=True),
])
def test_presets_and_registry_use_the_chunked_eliminator(build):
    algo = build()
    for holder in (algo, algo.initialization, algo.mating):
        assert isinstance(holder.eliminate_duplicates, ChunkedDuplicateElimination)


def test_duplicate_elimination_can_still_be_switched_off():
    from pymoo.core.duplicate import NoDuplicateElimination

    algo = make_algorithm("pymoo_ga", 1, eliminate_duplicates=False)
    assert isinstance(algo.eliminate_duplicates, NoDuplicateElimination)


class _FewPoints(Problem):
    """Three integer variables in [0, 3]: 64 points, so a GA of 30 keeps meeting duplicates."""

    int_mask = np.array([True, True, True])

    def __init__(self) -> None:
        super().__init__(n_var=3, n_obj=1, xl=0.0, xu=3.0)

    def _evaluate(self, x, out, *args, **kwargs):
        out["F"] = ((x - 1.2) ** 2).sum(axis=1)


def test_a_ga_run_is_the_same_as_with_pymoo_default():
    from pymoo.algorithms.soo.nonconvex.ga import GA
    from pymoo.optimize import minimize

    ops = ga_module._operators(0.9, 15.0, 20.0, -1.0)
    ours = minimize(_FewPoints(), GA(pop_size=30, **ops), ("n_gen", 8), seed=5)
    ops["eliminate_duplicates"] = DefaultDuplicateElimination()
    pymoos = minimize(_FewPoints(), GA(pop_size=30, **ops), ("n_gen", 8), seed=5)
    assert ours.algorithm.evaluator.n_eval == pymoos.algorithm.evaluator.n_eval
    np.testing.assert_array_equal(ours.pop.get("X"), pymoos.pop.get("X"))
