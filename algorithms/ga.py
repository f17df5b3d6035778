"""Ready-made genetic-algorithm presets: pymoo's GA and NSGA-II with SBX, polynomial mutation and the
shared integer repair, so that a campaign can say ``ga`` or ``nsga2`` like any of our algorithms.

pymoo's GA and NSGA-II already rank feasibility first (binary tournament on constraint violation,
then objective / rank and crowding), the same rule as our swarms.

Duplicates are dropped by :class:`ChunkedDuplicateElimination`: pymoo's default rule (a candidate is a
duplicate when its Euclidean distance to an earlier one, or to one of the others, is ``<= epsilon``)
with the distances computed in bounded blocks, where pymoo's default builds the full distance matrix
(``pop_size=100000`` asked for 74.5 GiB at once).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.core.duplicate import DefaultDuplicateElimination
from pymoo.core.sampling import Sampling
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.sampling.rnd import FloatRandomSampling

from algorithms._common import AlgorithmConfigError, RoundingRepair, place_initial_points

__all__ = ["ChunkedDuplicateElimination", "PointsFirstSampling", "duplicate_elimination", "ga", "nsga2"]


class PointsFirstSampling(Sampling):
    """pymoo's uniform :class:`FloatRandomSampling` whose first rows are given starting points
    (``"problem"``: the problem's ``initial_points()``; or an array (k, n_var)); see
    :func:`algorithms._common.place_initial_points`. The rest of the sample is random as usual."""

    def __init__(self, points: Any) -> None:
        super().__init__()
        self.points = points
        self.base = FloatRandomSampling()

    def _do(self, problem: Any, n_samples: int, *args: Any, random_state: Any = None,
            **kwargs: Any) -> NDArray[np.float64]:
        X = self.base._do(problem, n_samples, *args, random_state=random_state, **kwargs)
        return place_initial_points(problem, np.asarray(X, dtype=np.float64), self.points)


def _cdist(A: NDArray[np.float64], B: NDArray[np.float64]) -> NDArray[np.float64]:
    """scipy's Euclidean ``cdist``, the function pymoo's default eliminator calls (one place to
    watch in the tests)."""
    from scipy.spatial.distance import cdist

    return cdist(A, B)


class ChunkedDuplicateElimination(DefaultDuplicateElimination):
    """pymoo's :class:`~pymoo.core.duplicate.DefaultDuplicateElimination`, without the n x m matrix.

    The rule is pymoo's, unchanged: with ``D = cdist(X, Y)`` (scipy, Euclidean, on ``astype(float)``
    copies) and NaN distances read as infinite, row ``i`` is a duplicate when some ``D[i, j] <=
    epsilon``, where ``Y`` is the other population ("to others"), or ``Y = X`` with only ``j < i``
    counted ("within self": pymoo sets the upper triangle and the diagonal to ``inf``, so the first
    of equal points stays). The same ``do`` (inherited) calls it, so ``do``'s results and indices are
    pymoo's.

    What changes is the cost. Distances are computed for blocks of at most ``block_elements``
    entries (default 2**22, 32 MiB of float64), and only where a pair can pass the test: scipy sums
    non-negative squares, so ``D[i, j] <= epsilon`` implies ``|X[i, k] - Y[j, k]| <= epsilon`` in every
    column ``k``. The rows are sorted on one column (the one with the most distinct values) and each
    block of rows meets only the columns whose value in that column lies within a widened
    ``epsilon`` of the block's range. Every distance that is computed is scipy's, bit for bit, and a
    pair left out cannot pass the test, so the result is pymoo's; for a population with one
    continuous variable this is near-linear in the population size where pymoo's is quadratic.

    Parameters
    ----------
    epsilon : float
        Distance at or below which two points are duplicates (pymoo's default 1e-16).
    block_elements : int
        Largest number of distances held at once.
    rows_per_block : int
        Rows of one block (fewer when ``block_elements`` is smaller).
    """

    def __init__(self, epsilon: float = 1e-16, block_elements: int = 2**22, rows_per_block: int = 128,
                 **kwargs: Any) -> None:
        super().__init__(epsilon=epsilon, **kwargs)
        for name, value in (("block_elements", block_elements), ("rows_per_block", rows_per_block)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise AlgorithmConfigError(f"{name} must be an integer >= 1, got {value!r}")
        self.block_elements = int(block_elements)
        self.rows_per_block = int(rows_per_block)

    def block_shape(self, n_cols: int) -> tuple[int, int]:
        """(rows, columns) of one distance block against ``n_cols`` candidate columns."""
        rows = max(1, min(self.rows_per_block, self.block_elements))
        return rows, max(1, min(n_cols, self.block_elements // rows))

    def _do(self, pop: Any, other: Any, is_duplicate: NDArray[np.bool_]) -> NDArray[np.bool_]:
        X = np.asarray(self.func(pop)).astype(float)
        Y = X if other is None else np.asarray(self.func(other)).astype(float)
        X, Y = X.reshape(len(X), -1), Y.reshape(len(Y), -1)
        if len(X) == 0 or len(Y) == 0 or not self.epsilon >= 0:  # D >= 0: nothing can be <= eps < 0
            return is_duplicate
        # the sort column: the one with the most distinct values narrows the windows most
        both = X if other is None else np.vstack([X, Y])
        key = int(np.argmax([len(np.unique(both[:, k])) for k in range(both.shape[1])]))
        # |fl(x - y)| <= eps in every column is necessary (or |fl(x - y)| < 1.2e-162, whose square
        # underflows to 0); widen for the rounding of x - y and of the window bounds (a wider window
        # only costs distances, never changes the answer)
        tol = 4.0 * max(float(self.epsilon), 1e-150)
        # a non-finite key gives a NaN or infinite distance: such a row or column never matches
        rows = np.flatnonzero(np.isfinite(X[:, key]))
        rows = rows[np.argsort(X[rows, key], kind="stable")]
        cols = np.flatnonzero(np.isfinite(Y[:, key]))
        cols = cols[np.argsort(Y[cols, key], kind="stable")]
        ycol = Y[cols, key]
        r, _ = self.block_shape(len(cols))
        for a in range(0, len(rows), r):
            block = rows[a:a + r]
            xk = X[block, key]
            lo = int(np.searchsorted(ycol, xk[0] - tol - abs(xk[0]) * 1e-15, side="left"))
            hi = int(np.searchsorted(ycol, xk[-1] + tol + abs(xk[-1]) * 1e-15, side="right"))
            _, c = self.block_shape(hi - lo)
            left = block
            for b in range(lo, hi, c):
                cand = cols[b:min(hi, b + c)]
                D = _cdist(X[left], Y[cand])
                if other is None:  # within self: only earlier points count (pymoo's triangle)
                    D[cand[None, :] >= left[:, None]] = np.inf
                D[np.isnan(D)] = np.inf
                hit = np.any(D <= self.epsilon, axis=1)
                is_duplicate[left[hit]] = True
                left = left[~hit]
                if len(left) == 0:
                    break
        return is_duplicate


def duplicate_elimination(value: Any = True) -> Any:
    """What to pass pymoo as ``eliminate_duplicates``: ``True`` -> :class:`ChunkedDuplicateElimination`
    (pymoo's own ``True`` builds the full-matrix default), ``False`` and objects unchanged."""
    if value is True or (isinstance(value, np.bool_) and bool(value)):
        return ChunkedDuplicateElimination()
    return value


def _operators(
    crossover_prob: float,
    crossover_eta: float,
    mutation_eta: float,
    mutation_prob: float,
    initial_points: Any = None,
) -> dict:
    for name, value in (("crossover_prob", crossover_prob), ("mutation_prob", mutation_prob)):
        if not (0.0 <= value <= 1.0 or (name == "mutation_prob" and value == -1.0)):
            raise AlgorithmConfigError(
                f"{name} must lie in [0, 1] (mutation_prob: or -1 for 1/n_var), got {value}"
            )
    for name, value in (("crossover_eta", crossover_eta), ("mutation_eta", mutation_eta)):
        if not value > 0:
            raise AlgorithmConfigError(f"{name} must be > 0, got {value}")
    mutation = PM(eta=mutation_eta) if mutation_prob == -1.0 else PM(eta=mutation_eta, prob_var=mutation_prob)
    return {
        "sampling": FloatRandomSampling() if initial_points is None else PointsFirstSampling(initial_points),
        "crossover": SBX(prob=crossover_prob, eta=crossover_eta),
        "mutation": mutation,
        "repair": RoundingRepair(),
        "eliminate_duplicates": ChunkedDuplicateElimination(),
    }


def ga(
    pop_size: int = 100,
    *,
    crossover_prob: float = 0.9,
    crossover_eta: float = 15.0,
    mutation_eta: float = 20.0,
    mutation_prob: float = -1.0,
    initial_points: Any = None,
    **kwargs: Any,
) -> GA:
    """pymoo's single-objective GA with SBX, polynomial mutation and :class:`RoundingRepair`.

    ``mutation_prob = -1`` means pymoo's default per-variable probability ``1 / n_var``. Paper 000
    uses pop 100 for 200 generations. ``initial_points``: ``None`` (a uniform first population),
    ``"problem"`` (the problem's ``initial_points()``, e.g. the plan that builds nothing, then uniform
    points) or an array (k, n_var) of starting points. Extra keywords go to
    :class:`pymoo.algorithms.soo.nonconvex.ga.GA`.
    """
    if int(pop_size) != pop_size or pop_size < 2:
        raise AlgorithmConfigError(f"pop_size must be an integer >= 2, got {pop_size!r}")
    return GA(
        pop_size=int(pop_size),
        **_operators(crossover_prob, crossover_eta, mutation_eta, mutation_prob, initial_points),
        **kwargs,
    )


def nsga2(
    pop_size: int = 100,
    *,
    crossover_prob: float = 0.9,
    crossover_eta: float = 15.0,
    mutation_eta: float = 20.0,
    mutation_prob: float = -1.0,
    initial_points: Any = None,
    **kwargs: Any,
) -> NSGA2:
    """pymoo's NSGA-II with SBX, polynomial mutation and :class:`RoundingRepair`.

    Same keywords as :func:`ga`; extra keywords go to :class:`pymoo.algorithms.moo.nsga2.NSGA2`.
    """
    if int(pop_size) != pop_size or pop_size < 2:
        raise AlgorithmConfigError(f"pop_size must be an integer >= 2, got {pop_size!r}")
    return NSGA2(
        pop_size=int(pop_size),
        **_operators(crossover_prob, crossover_eta, mutation_eta, mutation_prob, initial_points),
        **kwargs,
    )
