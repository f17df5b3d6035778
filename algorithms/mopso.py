"""Multi-objective particle swarms: MOPSO (papers 001 sec. 5.3 and 004) and multi-objective I-HSPSO.

One implementation, :class:`MOPSO`, with the following parts, all vectorised over the swarm:

* an external archive (:class:`CrowdingArchive`) of the non-dominated *feasible* solutions found so
  far, bounded to ``archive_size`` by removing, one at a time, the member with the smallest crowding
  distance (recomputed after each removal, as in SMPSO's ``CrowdingDistanceArchive``), or, with three
  or more objectives, one member of the closest pair (SPEA2-style truncation);
* leaders drawn from the archive by binary tournament on crowding distance (favouring sparse
  regions); while the archive is still empty (no feasible point yet), the leader is the personal best
  with the least constraint violation of a binary tournament;
* the velocity rule :func:`algorithms.operators.pso_equation` with linearly decreasing inertia
  (001 eq. (27)), coefficients drawn per particle and generation from ``[c_min, c_max]``, SMPSO's
  constriction factor (switch ``constriction``) and a velocity clamp of ``max_velocity_rate`` of the
  range; a particle leaving the box is put on the boundary and its velocity component reversed
  (``boundary="reflect"``, the default) or kept (``boundary="clip"``, 001 sec. 5.3: position and
  velocity replaced by their bounds, the velocity's bound being the clamp);
* polynomial mutation (turbulence) on every ``round(1 / mutation_share)``-th particle;
* personal bests updated by constrained dominance (the new position replaces the personal best if it
  dominates it, is kept out if dominated, and replaces it with probability 1/2 if neither dominates).

Every generation evaluates the moved swarm (and any harmonies) exactly once through the evaluator;
unlike pymoo's ``MOPSO_CD`` nothing is evaluated in ``_setup`` and thrown away, no Python loop runs per
particle, crowding is computed once per archive change rather than inside a per-particle loop, the
archive admits feasible points only, and no ``except Exception`` hides errors.

:class:`MOIHSPSO` is the same class with the I-HSPSO switches of paper 003 on: chaotic
initialisation (003 eqs. (31)-(32)), cosine-decreasing inertia (003 eq. (33)) and linearly
time-varying c1, c2 (003 eq. (34)) in place of the random coefficients, and the harmony-search step
with the *archive* as harmony memory: with probability ``hs_prob`` per generation, ``hs_size``
harmonies are improvised from archive members (memory consideration, pitch adjustment, random
selection), evaluated with the swarm, offered to the archive, and each replaces the position and
personal best of one of the worst particles (the most dominated personal bests; infeasible ones
first) if it constrained-dominates that personal best.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from pymoo.core.algorithm import Algorithm
from pymoo.core.population import Population
from pymoo.core.problem import Problem
from pymoo.util.display.multi import MultiObjectiveOutput

from algorithms._common import (
    AlgorithmConfigError,
    RoundingRepair,
    chaotic_sample,
    clip_to_bounds,
    constrained_dominance,
    crowding_distance,
    non_dominated_mask,
    place_initial_points,
    truncate_by_crowding,
    truncate_by_nearest,
    uniform_sample,
)
from algorithms.operators import (
    constriction_factor,
    cosine_inertia,
    improvise_harmonies,
    linear_inertia,
    polynomial_mutation,
    pso_equation,
    time_varying_coefficients,
)
from algorithms.pso import _check_positive, _check_unit, _progress

__all__ = ["CrowdingArchive", "MOPSO", "MOIHSPSO", "mopso_001", "BOUNDARY_VELOCITY_FACTOR"]

#: Boundary handling of :class:`MOPSO`: the factor on the velocity component that carried a particle
#: out of the box (see :func:`algorithms._common.clip_to_bounds`).
BOUNDARY_VELOCITY_FACTOR = {"reflect": -1.0, "clip": 1.0}


class CrowdingArchive:
    """A bounded archive of mutually non-dominated feasible solutions, kept as a pymoo population.

    Immutable in use: :meth:`add` returns a new archive. The members' ``X`` and ``F`` are kept as
    arrays beside the population (reading them back from pymoo individuals costs more than the whole
    archive update). Invariants (tested): every member is feasible, no member dominates another, no
    two members share the same ``X``, and ``len(archive) <= max_size``.
    """

    def __init__(
        self,
        max_size: int,
        pop: Population | None = None,
        truncation: str = "auto",
        X: NDArray[np.float64] | None = None,
        F: NDArray[np.float64] | None = None,
    ) -> None:
        if truncation not in ("auto", "crowding", "nearest"):
            raise AlgorithmConfigError(
                f"archive truncation must be 'auto', 'crowding' or 'nearest', got {truncation!r}"
            )
        self.max_size = int(max_size)
        self.truncation = truncation
        self.pop = Population.empty() if pop is None else pop
        if len(self.pop) and (X is None or F is None):
            X, F = self.pop.get("X", "F")
        self.X, self.F = X, F
        self._cd: NDArray[np.float64] | None = None

    def __len__(self) -> int:
        return len(self.pop)

    @property
    def crowding(self) -> NDArray[np.float64]:
        """Crowding distance of the members, shape (len,); computed once per archive."""
        if self._cd is None:
            self._cd = crowding_distance(self.F) if len(self) else np.zeros(0)
        return self._cd

    def add(
        self,
        candidates: Population,
        X: NDArray[np.float64] | None = None,
        F: NDArray[np.float64] | None = None,
        CV: NDArray[np.float64] | None = None,
    ) -> CrowdingArchive:
        """A new archive from the members and the feasible, non-dominated ones among ``candidates``.

        ``X`` (n, n_var), ``F`` (n, n_obj), ``CV`` (n,) are the candidates' arrays when the caller has
        them already; otherwise they are read from the population.
        """
        if X is None or F is None or CV is None:
            X, F, CV = candidates.get("X", "F", "CV")
            CV = CV[:, 0]
        feasible = np.flatnonzero(CV <= 0.0)
        if feasible.size == 0:
            return self
        if len(self):
            pop = Population.merge(self.pop, candidates[feasible])
            X = np.vstack([self.X, X[feasible]])
            F = np.vstack([self.F, F[feasible]])
        else:
            pop, X, F = candidates[feasible], X[feasible], F[feasible]
        keep = np.flatnonzero(non_dominated_mask(F))
        _, first = np.unique(X[keep], axis=0, return_index=True)
        keep = keep[np.sort(first)]
        if keep.size > self.max_size:
            rule = self.truncation
            if rule == "auto":
                rule = "crowding" if F.shape[1] <= 2 else "nearest"
            truncate = truncate_by_crowding if rule == "crowding" else truncate_by_nearest
            keep = keep[truncate(F[keep], self.max_size)]
        return CrowdingArchive(self.max_size, pop[keep], self.truncation, X[keep], F[keep])


class MOPSO(Algorithm):
    """Multi-objective PSO with a crowding-distance archive (001 sec. 5.3, 004; maths after SMPSO).

    Parameters
    ----------
    pop_size : int
        Swarm size (001: 60; default 100 as in SMPSO).
    archive_size : int
        Bound of the external archive.
    archive_truncation : str
        How the full archive drops members: ``"crowding"`` (smallest crowding distance first, SMPSO),
        ``"nearest"`` (closest pair first, SPEA2-style) or ``"auto"``: crowding with two objectives,
        nearest with more (crowding distance is a poor density estimate in 3-D; measured on DTLZ2).
    w_start, w_end : float
        Linearly decreasing inertia, 001 eq. (27). 001 starts at 0.85 with a constant c = 1.25 and no
        constriction; with SMPSO's constriction (which does the damping) the default 0.2 -> 0 measured
        better than SMPSO's constant 0.1 (ZDT1 median IGD 3.8e-3 vs 4.2e-3 over 3 seeds).
    c_min, c_max : float
        Cognitive and social coefficients drawn per particle from U(c_min, c_max) every generation
        (SMPSO: 1.5, 2.5; 001 uses a constant 1.25: set both to 1.25 and ``constriction="none"``).
    constriction : str
        ``"smpso"`` (jMetal's SMPSO formula, signed), ``"clerc"`` (its absolute value) or ``"none"``;
        see :func:`algorithms.operators.constriction_factor`.
    r_per_particle : bool
        One random ``r1``, ``r2`` per particle and generation (SMPSO) rather than per variable; on
        ZDT1 this halves the median IGD (measured).
    max_velocity_rate : float
        Velocity clamp as a fraction of each variable's range (SMPSO: 0.5).
    mutation_share : float
        Share of the swarm mutated each generation (every ``round(1/share)``-th particle; SMPSO: 1/6).
        0 switches the mutation off.
    boundary : str
        ``"reflect"`` (default, SMPSO): a particle leaving the box is put on the boundary and the
        velocity component that carried it out is reversed. ``"clip"`` (001 sec. 5.3: "the boundary
        value is used instead of the out-of-bounds value" for position and velocity): the position is
        put on the boundary and the velocity, already clamped to ``max_velocity_rate`` of the range,
        is kept.
    mutation_eta : float
        Distribution index of the polynomial mutation.
    mutation_prob : float
        Per-variable mutation probability; ``-1`` (default) means ``1 / n_var``.
    chaotic_init, cosine_inertia, time_varying_c, harmony_search : bool
        The I-HSPSO switches (see :class:`MOIHSPSO`); all off here.
    chaos_lambda, w_max, w_min, c1_max, c1_min, c2_min, c2_max : float
        Parameters of those switches (003 eqs. (31)-(34)).
    hs_prob, hs_size, hmcr, par, bw_max, bw_min
        Harmony-search step (see :class:`algorithms.IHSPSO`); the memory is the archive.
    initial_points : None, "problem" or array (k, n_var)
        Starting points that replace the first ``k`` particles of the initial swarm (``"problem"``:
        the problem's ``initial_points()``); None: none.
    **kwargs
        Passed to :class:`pymoo.core.algorithm.Algorithm`.
    """

    def __init__(
        self,
        pop_size: int = 100,
        *,
        archive_size: int = 100,
        archive_truncation: str = "auto",
        w_start: float = 0.2,
        w_end: float = 0.0,
        c_min: float = 1.5,
        c_max: float = 2.5,
        constriction: str = "smpso",
        r_per_particle: bool = True,
        max_velocity_rate: float = 0.5,
        mutation_share: float = 1.0 / 6.0,
        mutation_eta: float = 20.0,
        mutation_prob: float = -1.0,
        boundary: str = "reflect",
        chaotic_init: bool = False,
        cosine_inertia: bool = False,
        time_varying_c: bool = False,
        harmony_search: bool = False,
        chaos_lambda: float = 4.0,
        w_max: float = 0.9,
        w_min: float = 0.4,
        c1_max: float = 2.5,
        c1_min: float = 0.5,
        c2_min: float = 0.5,
        c2_max: float = 2.5,
        hs_prob: float = 1.0,
        hs_size: int = 10,
        hmcr: float = 0.95,
        par: float = 0.3,
        bw_max: float = 0.05,
        bw_min: float = 1e-4,
        initial_points: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("output", MultiObjectiveOutput())
        super().__init__(**kwargs)
        if int(pop_size) != pop_size or pop_size < 2:
            raise AlgorithmConfigError(f"pop_size must be an integer >= 2, got {pop_size!r}")
        if int(archive_size) != archive_size or archive_size < 1:
            raise AlgorithmConfigError(f"archive_size must be an integer >= 1, got {archive_size!r}")
        if int(hs_size) != hs_size or hs_size < 1:
            raise AlgorithmConfigError(f"hs_size must be an integer >= 1, got {hs_size!r}")
        for name in (
            "w_start",
            "w_end",
            "c_min",
            "c_max",
            "w_max",
            "w_min",
            "c1_max",
            "c1_min",
            "c2_min",
            "c2_max",
            "bw_max",
            "bw_min",
        ):
            _check_positive(name, locals()[name], allow_zero=True)
        if c_min > c_max:
            raise AlgorithmConfigError(f"c_min ({c_min}) must not exceed c_max ({c_max})")
        _check_positive("max_velocity_rate", max_velocity_rate)
        _check_positive("mutation_eta", mutation_eta)
        _check_positive("chaos_lambda", chaos_lambda)
        for name in ("mutation_share", "hs_prob", "hmcr", "par"):
            _check_unit(name, locals()[name])
        if mutation_prob != -1.0:
            _check_unit("mutation_prob", mutation_prob)
        self.pop_size, self.archive_size = int(pop_size), int(archive_size)
        self.archive_truncation = str(archive_truncation)
        CrowdingArchive(1, truncation=self.archive_truncation)  # validates the name
        self.w_start, self.w_end = float(w_start), float(w_end)
        self.c_min, self.c_max = float(c_min), float(c_max)
        if constriction not in ("smpso", "clerc", "none"):
            raise AlgorithmConfigError(
                f"constriction must be 'smpso', 'clerc' or 'none', got {constriction!r}"
            )
        self.constriction = str(constriction)
        if boundary not in BOUNDARY_VELOCITY_FACTOR:
            raise AlgorithmConfigError(f"boundary must be 'reflect' or 'clip', got {boundary!r}")
        self.boundary = str(boundary)
        self.r_per_particle = bool(r_per_particle)
        self.max_velocity_rate = float(max_velocity_rate)
        self.mutation_share, self.mutation_eta = float(mutation_share), float(mutation_eta)
        self.mutation_prob = float(mutation_prob)
        self.chaotic_init, self.cosine_inertia = bool(chaotic_init), bool(cosine_inertia)
        self.time_varying_c, self.harmony_search = bool(time_varying_c), bool(harmony_search)
        self.chaos_lambda = float(chaos_lambda)
        self.w_max, self.w_min = float(w_max), float(w_min)
        self.c1_max, self.c1_min, self.c2_min, self.c2_max = map(float, (c1_max, c1_min, c2_min, c2_max))
        self.hs_prob, self.hs_size = float(hs_prob), int(hs_size)
        self.hmcr, self.par = float(hmcr), float(par)
        self.bw_max, self.bw_min = float(bw_max), float(bw_min)
        self.initial_points = initial_points
        self.repair = RoundingRepair()
        self.swarm_archive: CrowdingArchive | None = None
        self._X: NDArray[np.float64] | None = None
        self._V: NDArray[np.float64] | None = None
        self._n_swarm_infill = 0

    # ------------------------------------------------------------------ pymoo hooks
    def _setup(self, problem: Problem, **kwargs: Any) -> None:
        if not problem.has_bounds():
            raise AlgorithmConfigError(f"{type(self).__name__} needs finite bounds xl, xu on the problem")
        self._xl = np.asarray(problem.xl, dtype=np.float64)
        self._xu = np.asarray(problem.xu, dtype=np.float64)
        self._v_max = self.max_velocity_rate * (self._xu - self._xl)
        self._pm_prob = 1.0 / problem.n_var if self.mutation_prob < 0 else self.mutation_prob
        self.swarm_archive = CrowdingArchive(self.archive_size, truncation=self.archive_truncation)
        step = round(1.0 / self.mutation_share) if self.mutation_share > 0 else 0
        self._mutate_rows = np.arange(0, self.pop_size, step) if step > 0 else np.zeros(0, dtype=np.int64)

    def _initialize_infill(self) -> Population:
        rng = self.random_state
        if self.chaotic_init:
            X = chaotic_sample(self._xl, self._xu, self.pop_size, rng, self.chaos_lambda)
        else:
            X = uniform_sample(self._xl, self._xu, self.pop_size, rng)
        X = place_initial_points(self.problem, X, self.initial_points)
        return Population.new(X=self.repair.round(self.problem, X))

    def _initialize_advance(self, infills: Population | None = None, **kwargs: Any) -> None:
        X, F, CV = infills.get("X", "F", "CV")
        self._X = X.copy()
        self._V = np.zeros_like(self._X)
        self.pop = infills.copy()  # personal bests, with their arrays beside
        self._P_X, self._P_F, self._P_CV = X.copy(), F.copy(), CV[:, 0].copy()
        self.swarm_archive = self.swarm_archive.add(infills, X, F, CV[:, 0])

    def coefficients(
        self, progress: float, rng: np.random.Generator
    ) -> tuple[float, NDArray[np.float64] | float, NDArray[np.float64] | float]:
        """``(w, c1, c2)`` at ``progress = t/T``; c1, c2 are (n, 1) draws unless ``time_varying_c``."""
        if self.cosine_inertia:
            w = cosine_inertia(progress, self.w_max, self.w_min)  # 003 eq. (33)
        else:
            w = linear_inertia(progress, self.w_start, self.w_end)  # 001 eq. (27)
        if self.time_varying_c:
            c1, c2 = time_varying_coefficients(progress, self.c1_max, self.c1_min, self.c2_min, self.c2_max)
            return float(w), c1, c2
        c = rng.uniform(self.c_min, self.c_max, (2, self.pop_size, 1))
        return float(w), c[0], c[1]

    def _leaders(self, rng: np.random.Generator) -> NDArray[np.float64]:
        """Leader position for every particle, (n, n_var): crowding tournament on the archive."""
        n = self.pop_size
        arch = self.swarm_archive
        if len(arch):
            i = rng.integers(0, len(arch), (2, n))
            cd = arch.crowding
            pick = np.where(cd[i[0]] > cd[i[1]], i[0], i[1])
            return arch.X[pick]
        i = rng.integers(0, n, (2, n))
        pick = np.where(self._P_CV[i[0]] < self._P_CV[i[1]], i[0], i[1])
        return self._P_X[pick]

    def _infill(self) -> Population:
        rng = self.random_state
        progress = _progress(self)
        w, c1, c2 = self.coefficients(progress, rng)
        chi = 1.0 if self.constriction == "none" else constriction_factor(c1, c2, self.constriction)
        leaders = self._leaders(rng)
        P_X = self._P_X
        X, V = pso_equation(
            self._X,
            self._V,
            P_X,
            leaders,
            w,
            c1,
            c2,
            rng,
            v_max=self._v_max,
            chi=chi,
            r_per_particle=self.r_per_particle,
        )
        X, V = clip_to_bounds(X, V, self._xl, self._xu, BOUNDARY_VELOCITY_FACTOR[self.boundary])
        if self._mutate_rows.size:
            X[self._mutate_rows] = polynomial_mutation(
                X[self._mutate_rows], self._xl, self._xu, self._pm_prob, self.mutation_eta, rng
            )
        X = self.repair.round(self.problem, X)
        self._X, self._V = X, V
        self._n_swarm_infill = X.shape[0]
        if self.harmony_search and rng.random() < self.hs_prob:
            memory = self.swarm_archive.X if len(self.swarm_archive) else P_X
            bw = self.bw_max * (self.bw_min / self.bw_max) ** progress if self.bw_max > 0 else 0.0
            H = improvise_harmonies(memory, self.hs_size, self._xl, self._xu, self.hmcr, self.par, bw, rng)
            X = np.vstack([X, self.repair.round(self.problem, H)])
        return Population.new(X=X)

    def _advance(self, infills: Population | None = None, **kwargs: Any) -> None:
        if infills is None:
            raise AlgorithmConfigError(f"{type(self).__name__} follows ask/tell: advance needs the infills")
        rng = self.random_state
        n = self._n_swarm_infill
        X, F, CV = infills.get("X", "F", "CV")
        CV = CV[:, 0]
        # personal best by constrained dominance; a tie (neither dominates) is a coin flip
        dom = constrained_dominance(F[:n], CV[:n], self._P_F, self._P_CV)
        coin = rng.random(n) < 0.5
        replace = np.flatnonzero((dom == 1) | ((dom == 0) & coin))
        self._replace_pbest(replace, infills, replace, X, F, CV)
        self.swarm_archive = self.swarm_archive.add(infills, X, F, CV)
        if len(infills) > n:
            self._harmony_replacement(infills, n, X, F, CV)

    def _replace_pbest(self, rows, source: Population, src_rows, X, F, CV) -> None:
        """Personal bests ``rows`` become the ``src_rows`` of ``source`` (arrays X, F, CV of source)."""
        if len(rows) == 0:
            return
        self.pop[rows] = source[src_rows]
        self._P_X[rows], self._P_F[rows], self._P_CV[rows] = X[src_rows], F[src_rows], CV[src_rows]

    def _harmony_replacement(self, infills: Population, n: int, X, F, CV) -> None:
        """Each harmony (rows ``n:`` of the infills) replaces one of the worst particles (the most
        dominated personal bests, infeasible ones first) if it constrained-dominates that personal best."""
        P_F, cv = self._P_F, self._P_CV
        feas = cv <= 0.0
        dominated_by = np.zeros(self.pop_size, dtype=np.int64)
        if feas.any():
            Ff = P_F[feas]
            le = np.ones((Ff.shape[0], self.pop_size), dtype=bool)
            lt = np.zeros((Ff.shape[0], self.pop_size), dtype=bool)
            for k in range(P_F.shape[1]):  # loop over objectives only
                le &= Ff[:, None, k] <= P_F[None, :, k]
                lt |= Ff[:, None, k] < P_F[None, :, k]
            dominated_by = (le & lt).sum(axis=0)  # how many feasible pbests dominate each pbest
        badness = np.where(feas, dominated_by, self.pop_size + 1.0 + cv / (cv.max() + 1e-300))
        n_h = len(infills) - n
        worst = np.argsort(-badness, kind="stable")[:n_h]
        h = n + np.arange(worst.size)
        wins = constrained_dominance(F[h], CV[h], P_F[worst], cv[worst]) == 1
        if wins.any():
            self._replace_pbest(worst[wins], infills, h[wins], X, F, CV)
            self._X[worst[wins]] = X[h[wins]]

    def _set_optimum(self) -> None:
        if len(self.swarm_archive):
            self.opt = self.swarm_archive.pop
        else:
            super()._set_optimum()


class MOIHSPSO(MOPSO):
    """Multi-objective I-HSPSO: :class:`MOPSO`'s archive, leaders, mutation and personal bests with the
    I-HSPSO enhancements of paper 003 switched on (see the module docstring for the design).

    Defaults: chaotic initialisation (lambda 4), cosine inertia 0.9 -> 0.4, c1 2.5 -> 0.5 and
    c2 0.5 -> 2.5, harmony search every generation with 10 harmonies from the archive; SMPSO's
    constriction stays on (with c1 + c2 = 3 it equals 1, so the velocity clamp does the damping).
    Every switch can be turned off individually for an ablation.
    """

    def __init__(
        self,
        pop_size: int = 100,
        *,
        chaotic_init: bool = True,
        cosine_inertia: bool = True,
        time_varying_c: bool = True,
        harmony_search: bool = True,
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


def mopso_001(
    pop_size: int = 60,
    *,
    w_start: float = 0.85,
    w_end: float = 0.4,
    c: float = 1.25,
    max_velocity_rate: float = 0.5,
    archive_size: int = 100,
    initial_points: Any = None,
    **kwargs: Any,
) -> MOPSO:
    """MOPSO as paper 001 runs it (sec. 5.3 and 6.2): a named preset of :class:`MOPSO`.

    001: 60 particles, 300 iterations (set ``n_gen = 300`` in the termination), initial inertia
    0.85 falling linearly (eq. (27)), c1 = c2 = 1.25 (a constant: ``c_min = c_max = c``), r1, r2
    uniform per variable (eq. (25)), no constriction and no mutation, out-of-range positions and
    velocities replaced by their bounds (``boundary="clip"``). Unstated by 001, named here: the final
    inertia ``w_end = 0.4`` (the usual value of linearly decreasing inertia), the velocity bound
    ``max_velocity_rate = 0.5`` of each variable's range (SMPSO's) and the archive size 100.
    ``kwargs`` override any other :class:`MOPSO` parameter.

    >>> a = mopso_001()
    >>> (a.pop_size, a.w_start, a.c_min, a.c_max, a.constriction, a.boundary, a.mutation_share)
    (60, 0.85, 1.25, 1.25, 'none', 'clip', 0.0)
    """
    kwargs.setdefault("constriction", "none")
    kwargs.setdefault("boundary", "clip")
    kwargs.setdefault("mutation_share", 0.0)
    kwargs.setdefault("r_per_particle", False)
    return MOPSO(
        pop_size,
        w_start=w_start,
        w_end=w_end,
        c_min=c,
        c_max=c,
        max_velocity_rate=max_velocity_rate,
        archive_size=archive_size,
        initial_points=initial_points,
        **kwargs,
    )
