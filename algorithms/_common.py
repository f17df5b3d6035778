"""Bookkeeping shared by every algorithm of the package: bounds, integer repair, constraint order.

Everything here is vectorised over the population axis; nothing loops per candidate. These are the
pieces that make a comparison between the algorithms compare the search and not the bookkeeping:
all of them start from the same kind of sample, clip to the box the same way, round integer variables
with the same :class:`RoundingRepair`, and rank candidates with the same feasibility-first order.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pymoo.core.problem import Problem
from pymoo.core.repair import Repair

__all__ = [
    "AlgorithmConfigError",
    "RoundingRepair",
    "int_mask_of",
    "chaotic_sample",
    "uniform_sample",
    "initial_points_of",
    "place_initial_points",
    "clip_to_bounds",
    "feasibility_first_better",
    "feasibility_first_order",
    "constrained_dominance",
    "non_dominated_mask",
    "crowding_distance",
    "truncate_by_crowding",
    "truncate_by_nearest",
]


class AlgorithmConfigError(ValueError):
    """An algorithm was configured with a parameter that does not make sense (the message says which)."""


def int_mask_of(problem: Problem) -> NDArray[np.bool_]:
    """The problem's integer-variable mask, shape (n_var,); all False when it declares none.

    Raises
    ------
    AlgorithmConfigError
        If ``problem.int_mask`` exists but is not a boolean vector of length ``n_var``.
    """
    mask = getattr(problem, "int_mask", None)
    if mask is None:
        return np.zeros(problem.n_var, dtype=bool)
    mask = np.asarray(mask)
    if mask.shape != (problem.n_var,) or mask.dtype != np.bool_:
        raise AlgorithmConfigError(
            f"{type(problem).__name__}.int_mask must be a bool array of shape ({problem.n_var},), "
            f"got dtype {mask.dtype} and shape {mask.shape}"
        )
    return mask


class RoundingRepair(Repair):
    """Round the problem's integer variables to the nearest integer inside their bounds.

    The one integer repair shared by every algorithm here (and by the GA presets). A problem declares
    its integer variables with ``int_mask`` (bool, shape (n_var,)); without it nothing is rounded.
    Integer variables are rounded half to even and then clipped to ``[ceil(xl), floor(xu)]``, so the
    result is integral and inside the box.
    """

    def _do(self, problem: Problem, X: NDArray[np.float64], **kwargs: object) -> NDArray[np.float64]:
        mask = int_mask_of(problem)
        if not mask.any():
            return X
        X = np.array(X, dtype=np.float64, copy=True)
        lo = np.ceil(np.asarray(problem.xl, dtype=np.float64)[mask])
        hi = np.floor(np.asarray(problem.xu, dtype=np.float64)[mask])
        X[:, mask] = np.clip(np.rint(X[:, mask]), lo, hi)
        return X

    def round(self, problem: Problem, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """Repaired copy of the matrix ``X`` (n, n_var); the same as :meth:`do` on a population."""
        return self._do(problem, X)


def uniform_sample(
    xl: NDArray[np.float64], xu: NDArray[np.float64], n: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """``n`` points uniformly distributed in the box, shape (n, n_var)."""
    return xl + rng.random((n, xl.size)) * (xu - xl)


def initial_points_of(problem: Problem, points: object) -> NDArray[np.float64]:
    """The starting points an algorithm was given, checked against ``problem``, shape (k, n_var).

    ``points`` is ``"problem"`` (the problem's own ``initial_points()``: known plans such as the one
    that builds nothing) or an array-like of shape (k, n_var) or (n_var,). Each point must lie in the
    box ``[xl, xu]``; integer variables are rounded by the caller's repair like any sample.

    Raises
    ------
    AlgorithmConfigError
        ``"problem"`` for a problem without ``initial_points``, a wrong shape, or a point outside
        the box (the message names the first offending variable).
    """
    if isinstance(points, str):
        if points != "problem":
            raise AlgorithmConfigError(f"initial_points must be 'problem' or an array, got {points!r}")
        fn = getattr(problem, "initial_points", None)
        if not callable(fn):
            raise AlgorithmConfigError(
                f"initial_points='problem', but {type(problem).__name__} has no initial_points() method"
            )
        points = fn()
    P = np.array(points, dtype=np.float64, ndmin=2)
    if P.ndim != 2 or P.shape[1] != problem.n_var:
        raise AlgorithmConfigError(
            f"initial_points must have shape (k, {problem.n_var}) for {type(problem).__name__}, "
            f"got {np.shape(points)}"
        )
    xl = np.asarray(problem.xl, dtype=np.float64)
    xu = np.asarray(problem.xu, dtype=np.float64)
    bad = ~np.isfinite(P) | (P < xl - 1e-12) | (P > xu + 1e-12)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise AlgorithmConfigError(
            f"initial point {i}, variable {j} = {P[i, j]} lies outside its bounds [{xl[j]}, {xu[j]}]"
        )
    return np.clip(P, xl, xu)


def place_initial_points(problem: Problem, X: NDArray[np.float64], points: object) -> NDArray[np.float64]:
    """``X`` (an initial sample, (n, n_var)) with its first rows replaced by the given starting points
    (:func:`initial_points_of`; at most ``n`` of them, the first ones). ``points=None``: ``X`` as it is.

    The other rows stay the algorithm's own random sample, so the seed still fixes the whole run.
    """
    if points is None:
        return X
    P = initial_points_of(problem, points)[: X.shape[0]]
    X = np.array(X, dtype=np.float64, copy=True)
    X[: P.shape[0]] = P
    return X


def chaotic_sample(
    xl: NDArray[np.float64],
    xu: NDArray[np.float64],
    n: int,
    rng: np.random.Generator,
    lam: float = 4.0,
    burn_in: int = 20,
) -> NDArray[np.float64]:
    """Logistic-map chaotic initialisation, shape (n, n_var).

    003 eq. (32): ``chi_{k+1} = lam * chi_k * (1 - chi_k)``, then 003 eq. (31):
    ``x_ij = xl_j + (xu_j - xl_j) chi_ij``. Reading chosen: the map is iterated along the *particle*
    axis, one chaotic sequence per variable started from a random seed and run ``burn_in`` steps
    first. The paper's index (``chi_{i,j+1}`` from ``chi_{i,j}``) can also be read as iterating along
    the variables of one particle, but then every particle of a 2-D problem lies on the one parabola
    ``chi_2 = 4 chi_1 (1 - chi_1)``, which cannot be what "a more uniform initial swarm" means.
    Seeds near the map's stalling points (0, 1) are redrawn. The loop runs over particles; each step
    is one vector operation over all variables.
    """
    n_var = xl.size
    chi = np.empty((n, n_var))
    c = rng.uniform(0.01, 0.99, n_var)
    for k in range(burn_in + n):
        # floating point can land the map on 0 or 1, where it stays: reseed those components
        c = np.where((c <= 1e-9) | (c >= 1.0 - 1e-9), rng.uniform(0.01, 0.99, n_var), c)
        if k >= burn_in:
            chi[k - burn_in] = c
        c = lam * c * (1.0 - c)  # 003 eq. (32)
    return xl + (xu - xl) * chi  # 003 eq. (31)


def clip_to_bounds(
    X: NDArray[np.float64],
    V: NDArray[np.float64],
    xl: NDArray[np.float64],
    xu: NDArray[np.float64],
    velocity_factor: float = -1.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Put positions that left the box back on its boundary and scale their velocity component.

    001 sec. 5.3: "if the range is exceeded, the boundary value is used instead". The velocity
    component that carried the particle out is multiplied by ``velocity_factor`` (-1 reverses it, as
    in SMPSO; 0 stops it; 1 leaves it).

    Returns new arrays ``(X, V)``, both (n, n_var).
    """
    out = (X < xl) | (X > xu)
    Xc = np.clip(X, xl, xu)
    Vc = np.where(out, velocity_factor * V, V)
    return Xc, Vc


def feasibility_first_better(
    f_a: NDArray[np.float64], cv_a: NDArray[np.float64], f_b: NDArray[np.float64], cv_b: NDArray[np.float64]
) -> NDArray[np.bool_]:
    """Element-wise "a is strictly better than b" for single-objective candidates, shape (n,).

    Feasibility first: a feasible point (cv <= 0) beats an infeasible one; two feasible points
    compare by objective; two infeasible points compare by total constraint violation.
    """
    feas_a, feas_b = cv_a <= 0.0, cv_b <= 0.0
    return (feas_a & ~feas_b) | (feas_a & feas_b & (f_a < f_b)) | (~feas_a & ~feas_b & (cv_a < cv_b))


def feasibility_first_order(f: NDArray[np.float64], cv: NDArray[np.float64]) -> NDArray[np.int64]:
    """Indices sorting single-objective candidates best first under the feasibility-first rule."""
    feasible = cv <= 0.0
    key = np.where(feasible, f, np.inf)
    # lexsort: last key is primary -> infeasible after feasible, then objective, then violation
    return np.lexsort((np.where(feasible, 0.0, cv), key, ~feasible))


def constrained_dominance(
    F_a: NDArray[np.float64], cv_a: NDArray[np.float64], F_b: NDArray[np.float64], cv_b: NDArray[np.float64]
) -> NDArray[np.int8]:
    """Row-wise constrained dominance between ``a`` and ``b``, shape (n,): 1 a wins, -1 b wins, 0 neither.

    Deb's rule: feasible beats infeasible; two infeasible compare by violation; two feasible by Pareto
    dominance. ``F_*`` are (n, n_obj), ``cv_*`` are (n,).
    """
    feas_a, feas_b = cv_a <= 0.0, cv_b <= 0.0
    a_le = np.all(F_a <= F_b, axis=1)
    b_le = np.all(F_b <= F_a, axis=1)
    a_dom = a_le & np.any(F_a < F_b, axis=1)
    b_dom = b_le & np.any(F_b < F_a, axis=1)
    both_feas = feas_a & feas_b
    both_inf = ~feas_a & ~feas_b
    a_wins = (feas_a & ~feas_b) | (both_inf & (cv_a < cv_b)) | (both_feas & a_dom)
    b_wins = (feas_b & ~feas_a) | (both_inf & (cv_b < cv_a)) | (both_feas & b_dom)
    return a_wins.astype(np.int8) - b_wins.astype(np.int8)


def non_dominated_mask(F: NDArray[np.float64]) -> NDArray[np.bool_]:
    """True for the rows of ``F`` (n, n_obj) that no other row dominates, shape (n,).

    One (n, n) comparison per objective; the archives here hold a few hundred points, where this is
    faster than a sort-based method.
    """
    n = F.shape[0]
    if n == 0:
        return np.zeros(0, dtype=bool)
    le = np.ones((n, n), dtype=bool)
    lt = np.zeros((n, n), dtype=bool)
    for k in range(F.shape[1]):  # loop over objectives (2-3), not candidates
        le &= F[:, None, k] <= F[None, :, k]
        lt |= F[:, None, k] < F[None, :, k]
    return ~(le & lt).any(axis=0)  # [i, j] of le & lt: i dominates j


def crowding_distance(F: NDArray[np.float64]) -> NDArray[np.float64]:
    """NSGA-II crowding distance of the rows of ``F`` (n, n_obj), shape (n,); extremes get inf.

    Each objective is normalised by its range in ``F``; a constant objective adds nothing.
    """
    n, m = F.shape
    if n <= 2:
        return np.full(n, np.inf)
    order = np.argsort(F, axis=0, kind="stable")
    Fs = np.take_along_axis(F, order, axis=0)
    span = Fs[-1] - Fs[0]
    span = np.where(span > 0.0, span, 1.0)
    gap = np.empty((n, m))
    gap[1:-1] = (Fs[2:] - Fs[:-2]) / span
    gap[0] = np.inf
    gap[-1] = np.inf
    cd = np.zeros(n)
    for k in range(m):  # loop over objectives (2-3), not candidates
        cd[order[:, k]] += gap[:, k]
    return cd


def truncate_by_crowding(F: NDArray[np.float64], n_keep: int) -> NDArray[np.bool_]:
    """Keep-mask (n,) that drops rows of ``F`` one at a time by smallest crowding distance.

    Crowding is recomputed after each removal (as SMPSO's ``CrowdingDistanceArchive`` does); ties go
    to the lowest index.
    """
    alive = np.ones(F.shape[0], dtype=bool)
    while alive.sum() > n_keep:
        idx = np.flatnonzero(alive)
        alive[idx[np.argmin(crowding_distance(F[idx]))]] = False
    return alive


def truncate_by_nearest(F: NDArray[np.float64], n_keep: int) -> NDArray[np.bool_]:
    """Keep-mask (n,) that drops rows of ``F`` one at a time from the closest pair (SPEA2-style).

    Objectives are normalised to [0, 1] over ``F``. Each step takes the closest remaining pair and
    removes the member whose second-nearest neighbour is closer. Better spread than crowding distance
    with three or more objectives, where crowding distance is known to be a poor density estimate.
    The extreme point of each objective is never removed.
    """
    n = F.shape[0]
    alive = np.ones(n, dtype=bool)
    if n <= n_keep:
        return alive
    lo, hi = F.min(axis=0), F.max(axis=0)
    Fn = (F - lo) / np.where(hi > lo, hi - lo, 1.0)
    D = np.sqrt(((Fn[:, None, :] - Fn[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(D, np.inf)
    protected = np.zeros(n, dtype=bool)
    protected[np.argmin(F, axis=0)] = True
    protected[np.argmax(F, axis=0)] = True
    n_alive = n
    while n_alive > n_keep:
        flat = np.argmin(D)
        i, j = divmod(int(flat), n)
        if protected[i] and protected[j]:
            D[i, j] = D[j, i] = np.inf  # two extremes: never remove either; look at the next pair
            if not np.isfinite(D).any():
                break
            continue
        di, dj = np.partition(D[i], 1)[1], np.partition(D[j], 1)[1]
        if protected[i]:
            out = j
        elif protected[j]:
            out = i
        else:
            out = i if di < dj else j
        alive[out] = False
        D[out, :] = np.inf
        D[:, out] = np.inf
        n_alive -= 1
    if n_alive > n_keep:  # only extremes left: fall back to crowding among them
        idx = np.flatnonzero(alive)
        alive[idx] = truncate_by_crowding(F[idx], n_keep)
    return alive
