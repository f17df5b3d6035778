"""Single-objective particle swarms: global-best PSO and I-HSPSO (paper 003, sec. 5.1).

One implementation, :class:`IHSPSO`, carries four switches (chaotic initialisation, cosine inertia,
time-varying coefficients, harmony search). :class:`PSO` is the same class with every switch off and
constant ``w``, ``c1``, ``c2``, so that PSO vs I-HSPSO (003 table 10) and every ablation in between
is one configuration line. The update rule is :func:`algorithms.operators.pso_equation`.

State between generations (arrays, the whole swarm at once): positions ``X`` and velocities ``V``
(n, n_var) and the personal bests, kept as the pymoo population ``self.pop`` (so ``self.opt`` and
``Result`` work as for pymoo's algorithms). One generation evaluates the moved swarm and, in a
generation where the harmony-search step fires, ``hs_size`` harmonies with it, in a single call of
the evaluator: the evaluation count is exactly what the problem was asked to compute.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from pymoo.core.algorithm import Algorithm
from pymoo.core.population import Population
from pymoo.core.problem import Problem
from pymoo.util.display.single import SingleObjectiveOutput

from algorithms._common import (
    AlgorithmConfigError,
    RoundingRepair,
    chaotic_sample,
    clip_to_bounds,
    feasibility_first_better,
    feasibility_first_order,
    place_initial_points,
    uniform_sample,
)
from algorithms.operators import (
    cosine_inertia,
    improvise_harmonies,
    pso_equation,
    time_varying_coefficients,
)

__all__ = ["IHSPSO", "PSO"]


def _progress(algorithm: Algorithm) -> float:
    """Fraction of the termination budget used so far (pymoo's ``Termination.perc``), in [0, 1]."""
    perc = getattr(algorithm.termination, "perc", 0.0)
    return float(min(max(perc, 0.0), 1.0))


def _check_positive(name: str, value: float, allow_zero: bool = False) -> None:
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise AlgorithmConfigError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


def _check_unit(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise AlgorithmConfigError(f"{name} must lie in [0, 1], got {value!r}")


class IHSPSO(Algorithm):
    """Improved harmony-search particle swarm optimisation (I-HSPSO), paper 003 sec. 5.1.

    Parameters
    ----------
    pop_size : int
        Swarm size (003 table 10: 50).
    chaotic_init : bool
        Logistic-map initialisation, 003 eqs. (31)-(32), with ``chaos_lambda`` (003: 4). Off: uniform.
    cosine_inertia : bool
        Cosine-decreasing inertia from ``w_max`` to ``w_min``, 003 eq. (33). Off: constant ``w``.
    time_varying_c : bool
        c1 falls from ``c1_max`` to ``c1_min`` and c2 rises from ``c2_min`` to ``c2_max``, 003 eq. (34).
        Off: constant ``c1``, ``c2``.
    harmony_search : bool
        The harmony-search step. With probability ``hs_prob`` per generation, ``hs_size`` harmonies are
        improvised from a harmony memory formed by the ``hms`` best personal bests (memory
        consideration with rate ``hmcr``, pitch adjustment with rate ``par`` and bandwidth ``bw``, a
        fraction of each variable's range, falling geometrically from ``bw_max`` to ``bw_min`` over
        the run as in Mahdavi et al.'s improved HS), evaluated with the swarm, and each replaces the
        position and personal best of one of the ``hs_size`` worst particles if it is better
        (feasibility first). 003 does not state these rates nor the memory's source; these are our
        choices, tuned on f1-f4 (see ``benchmarks/table10.py``): hmcr 0.95, par 0.3, bandwidth
        0.05 -> 1e-12 of the range, 10 harmonies every generation, and the memory is the whole set of
        personal bests (``hms = 50`` >= swarm): with a memory of the 10 best the swarm stalled on
        Schaffer F6's first ring in 9 of 20 runs, with the whole set in 1 of 20 (6 of 30 in the
        full table-10 run, against 9 of 30 for PSO).
    w, c1, c2 : float
        Constant inertia and coefficients used when the matching switch is off (defaults: Clerc and
        Kennedy's constriction-equivalent 0.7298 and 1.49618).
    w_max, w_min, c1_max, c1_min, c2_min, c2_max : float
        Schedule ends. 003 leaves them unstated; c1 2.5 -> 0.5 and c2 0.5 -> 2.5 are the customary
        values; for w the customary 0.9 -> 0.4 explored too long for f1/f2 within 1000 iterations, so
        the default starts at 0.7298 (measured on f1-f4 with ``benchmarks/table10.py``).
    max_velocity_rate : float
        Velocity clamp as a fraction of each variable's range.
    bound_velocity_factor : float
        A particle leaving the box is put on the boundary and the velocity component that carried it
        out is multiplied by this factor (0: stop).
    initial_points : None, "problem" or array (k, n_var)
        Starting points that replace the first ``k`` particles of the initial swarm (``"problem"``:
        the problem's ``initial_points()``, such as a plan that builds nothing); None: none.
    **kwargs
        Passed to :class:`pymoo.core.algorithm.Algorithm` (``seed``, ``callback``, ``verbose``...).

    Notes
    -----
    Constraints: feasibility first everywhere (personal best, global best, harmony memory, harmony
    replacement). Integer variables: :class:`algorithms.RoundingRepair` after every move. Schedules
    run on ``t/T`` = pymoo's ``termination.perc``, so they need a generation or evaluation budget.
    """

    def __init__(
        self,
        pop_size: int = 50,
        *,
        chaotic_init: bool = True,
        cosine_inertia: bool = True,
        time_varying_c: bool = True,
        harmony_search: bool = True,
        chaos_lambda: float = 4.0,
        w: float = 0.7298,
        c1: float = 1.49618,
        c2: float = 1.49618,
        w_max: float = 0.7298,
        w_min: float = 0.4,
        c1_max: float = 2.5,
        c1_min: float = 0.5,
        c2_min: float = 0.5,
        c2_max: float = 2.5,
        max_velocity_rate: float = 0.2,
        bound_velocity_factor: float = 0.0,
        hs_prob: float = 1.0,
        hs_size: int = 10,
        hms: int = 50,
        hmcr: float = 0.95,
        par: float = 0.3,
        bw_max: float = 0.05,
        bw_min: float = 1e-12,
        initial_points: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("output", SingleObjectiveOutput())
        super().__init__(**kwargs)
        if int(pop_size) != pop_size or pop_size < 2:
            raise AlgorithmConfigError(f"pop_size must be an integer >= 2, got {pop_size!r}")
        for name in ("w", "c1", "c2", "w_max", "w_min", "c1_max", "c1_min", "c2_min", "c2_max"):
            _check_positive(name, locals()[name], allow_zero=True)
        _check_positive("max_velocity_rate", max_velocity_rate)
        _check_positive("chaos_lambda", chaos_lambda)
        _check_positive("bw_max", bw_max, allow_zero=True)
        _check_positive("bw_min", bw_min, allow_zero=True)
        for name in ("hs_prob", "hmcr", "par"):
            _check_unit(name, locals()[name])
        if int(hs_size) != hs_size or hs_size < 1 or int(hms) != hms or hms < 1:
            raise AlgorithmConfigError(f"hs_size and hms must be integers >= 1, got {hs_size!r}, {hms!r}")
        self.pop_size = int(pop_size)
        self.chaotic_init = bool(chaotic_init)
        self.cosine_inertia = bool(cosine_inertia)
        self.time_varying_c = bool(time_varying_c)
        self.harmony_search = bool(harmony_search)
        self.chaos_lambda = float(chaos_lambda)
        self.w, self.c1, self.c2 = float(w), float(c1), float(c2)
        self.w_max, self.w_min = float(w_max), float(w_min)
        self.c1_max, self.c1_min, self.c2_min, self.c2_max = map(float, (c1_max, c1_min, c2_min, c2_max))
        self.max_velocity_rate = float(max_velocity_rate)
        self.bound_velocity_factor = float(bound_velocity_factor)
        self.hs_prob, self.hs_size, self.hms = float(hs_prob), int(hs_size), int(hms)
        self.hmcr, self.par = float(hmcr), float(par)
        self.bw_max, self.bw_min = float(bw_max), float(bw_min)
        self.initial_points = initial_points
        self.repair = RoundingRepair()
        self._X: NDArray[np.float64] | None = None
        self._V: NDArray[np.float64] | None = None
        self._n_swarm_infill = 0

    # ------------------------------------------------------------------ schedules
    def coefficients(self, progress: float) -> tuple[float, float, float]:
        """``(w, c1, c2)`` at ``progress = t/T`` in [0, 1] under the configured switches."""
        w = cosine_inertia(progress, self.w_max, self.w_min) if self.cosine_inertia else self.w
        if self.time_varying_c:
            c1, c2 = time_varying_coefficients(progress, self.c1_max, self.c1_min, self.c2_min, self.c2_max)
        else:
            c1, c2 = self.c1, self.c2
        return float(w), float(c1), float(c2)

    # ------------------------------------------------------------------ pymoo hooks
    def _setup(self, problem: Problem, **kwargs: Any) -> None:
        if problem.n_obj != 1:
            raise AlgorithmConfigError(
                f"{type(self).__name__} is single-objective; {type(problem).__name__} has {problem.n_obj} "
                "objectives (use MOPSO or MOIHSPSO)"
            )
        if not problem.has_bounds():
            raise AlgorithmConfigError(f"{type(self).__name__} needs finite bounds xl, xu on the problem")
        self._xl = np.asarray(problem.xl, dtype=np.float64)
        self._xu = np.asarray(problem.xu, dtype=np.float64)
        self._v_max = self.max_velocity_rate * (self._xu - self._xl)

    def _initialize_infill(self) -> Population:
        rng = self.random_state
        if self.chaotic_init:
            X = chaotic_sample(self._xl, self._xu, self.pop_size, rng, self.chaos_lambda)
        else:
            X = uniform_sample(self._xl, self._xu, self.pop_size, rng)
        X = place_initial_points(self.problem, X, self.initial_points)
        X = self.repair.round(self.problem, X)
        return Population.new(X=X)

    def _initialize_advance(self, infills: Population | None = None, **kwargs: Any) -> None:
        X, F, CV = infills.get("X", "F", "CV")
        self._X = X.copy()
        self._V = np.zeros_like(self._X)
        self.pop = infills.copy()  # personal bests, with their arrays beside
        self._P_X, self._P_F, self._P_CV = X.copy(), F[:, 0].copy(), CV[:, 0].copy()

    def _infill(self) -> Population:
        rng = self.random_state
        progress = _progress(self)
        w, c1, c2 = self.coefficients(progress)
        P_X, P_F, P_CV = self._pbest_arrays()
        g = feasibility_first_order(P_F, P_CV)[0]
        leaders = np.broadcast_to(P_X[g], P_X.shape)
        X, V = pso_equation(self._X, self._V, P_X, leaders, w, c1, c2, rng, v_max=self._v_max)
        X, V = clip_to_bounds(X, V, self._xl, self._xu, self.bound_velocity_factor)
        X = self.repair.round(self.problem, X)
        self._X, self._V = X, V
        self._n_swarm_infill = X.shape[0]
        if self.harmony_search and rng.random() < self.hs_prob:
            order = feasibility_first_order(P_F, P_CV)
            memory = P_X[order[: self.hms]]  # the hms best personal bests (all of them if hms >= n)
            bw = self.bw_max * (self.bw_min / self.bw_max) ** progress if self.bw_max > 0 else 0.0
            H = improvise_harmonies(memory, self.hs_size, self._xl, self._xu, self.hmcr, self.par, bw, rng)
            X = np.vstack([X, self.repair.round(self.problem, H)])
        return Population.new(X=X)

    def _advance(self, infills: Population | None = None, **kwargs: Any) -> None:
        if infills is None:
            raise AlgorithmConfigError(f"{type(self).__name__} follows ask/tell: advance needs the infills")
        n = self._n_swarm_infill
        X, F, CV = infills.get("X", "F", "CV")
        F, CV = F[:, 0], CV[:, 0]
        # personal best: replace unless the old one is strictly better (feasibility first)
        keep = feasibility_first_better(self._P_F, self._P_CV, F[:n], CV[:n])
        replace = np.flatnonzero(~keep)
        self._replace_pbest(replace, infills, replace, X, F, CV)
        if len(infills) > n:
            self._harmony_replacement(infills, n, X, F, CV)

    def _replace_pbest(self, rows, source: Population, src_rows, X, F, CV) -> None:
        """Personal bests ``rows`` become the ``src_rows`` of ``source`` (arrays X, F, CV of source)."""
        if len(rows) == 0:
            return
        self.pop[rows] = source[src_rows]
        self._P_X[rows], self._P_F[rows], self._P_CV[rows] = X[src_rows], F[src_rows], CV[src_rows]

    def _harmony_replacement(self, infills: Population, n: int, X, F, CV) -> None:
        """Each harmony (rows ``n:``) replaces one of the worst particles (position and pbest) if better."""
        worst = feasibility_first_order(self._P_F, self._P_CV)[::-1][: len(infills) - n]
        h = n + feasibility_first_order(F[n:], CV[n:])[: worst.size]  # best harmony against worst particle
        better = feasibility_first_better(F[h], CV[h], self._P_F[worst], self._P_CV[worst])
        if better.any():
            self._replace_pbest(worst[better], infills, h[better], X, F, CV)
            self._X[worst[better]] = X[h[better]]

    def _pbest_arrays(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        return self._P_X, self._P_F, self._P_CV


class PSO(IHSPSO):
    """Global-best PSO with constant inertia and coefficients and a velocity clamp (003 table 10's PSO).

    :class:`IHSPSO` with all four switches off (``chaotic_init``, ``cosine_inertia``,
    ``time_varying_c``, ``harmony_search`` all False by default here; pass any of them True for an
    ablation). Defaults ``w = 0.7298``, ``c1 = c2 = 1.49618`` (Clerc and Kennedy), clamp 0.2 of the
    range; paper 001's MOPSO values would be ``w = 0.85``, ``c1 = c2 = 1.25``. Swarm 50 (003).
    """

    def __init__(
        self,
        pop_size: int = 50,
        *,
        chaotic_init: bool = False,
        cosine_inertia: bool = False,
        time_varying_c: bool = False,
        harmony_search: bool = False,
        initial_points: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            pop_size,
            chaotic_init=chaotic_init,
            cosine_inertia=cosine_inertia,
            time_varying_c=time_varying_c,
            harmony_search=harmony_search,
            initial_points=initial_points,
            **kwargs,
        )
