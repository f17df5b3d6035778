"""One run: (problem, algorithm, termination, seed) -> :class:`RunRecord`.

The record holds the non-dominated set (X, F, G, feasibility and the decoded plans where the problem
can ``decode``), the final population, light per-generation records taken by a pymoo callback (no
``save_history`` deep copies), wall time, evaluation count, seed and package versions.

Example
-------
>>> from optim.run import run
>>> rec = run("zdt1", "nsga2", {"n_gen": 10}, seed=1, problem_params={"n_var": 5},
...           algorithm_params={"pop_size": 20})
>>> rec.n_eval
200
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from optim.config import RunSpec, Termination
from optim.indicators import Normalisation, hypervolume, igd, reference_front

__all__ = ["FailedRun", "LightRecorder", "RunRecord", "execute_spec", "failed_run", "package_versions",
           "run"]

_VERSIONED = ("gridplan", "numpy", "scipy", "pandas", "numba", "pymoo", "joblib")


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages a result depends on."""
    import platform

    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@dataclass(frozen=True)
class RunRecord:
    """The result of one run.

    Attributes
    ----------
    problem, algorithm : str
        Labels (registry names unless a campaign labels them).
    seed : int
    termination : dict
        ``{"n_gen": N}`` or ``{"n_eval": N}``.
    objective_names, objective_units : tuple of str, length n_obj
    X : ndarray, shape (n_nd, n_var)
        Non-dominated set (pymoo's ``res.opt``: the feasible non-dominated points), or, when no
        point is feasible, the points of least constraint violation in the final population and
        the algorithm's optimum (``feasible`` is then all False and :attr:`n_feasible` is 0).
    F : ndarray, shape (n_nd, n_obj)
    G : ndarray, shape (n_nd, n_constr)
    feasible : ndarray of bool, shape (n_nd,)
    plans : tuple of DataFrame, length n_nd, or None
        ``problem.decode(x)`` for each point of the set, where the problem has ``decode``.
    pop_X, pop_F, pop_G : ndarray
        Final population, shapes (pop, n_var), (pop, n_obj), (pop, n_constr).
    history : DataFrame
        One row per generation: ``n_gen``, ``n_eval``, ``feasible_share``, ``best_<objective>``
        (over feasible members), and ``hv``, ``igd`` where the true front is known.
    fronts : DataFrame
        Per generation the feasible non-dominated objective vectors: ``n_gen``, ``n_eval``,
        ``f0`` .. ``f<n_obj-1>`` (for convergence curves against any reference, after the fact).
    wall_s : float
    n_eval : int
    versions : dict
    """

    problem: str
    algorithm: str
    seed: int
    termination: dict[str, int]
    objective_names: tuple[str, ...]
    objective_units: tuple[str, ...]
    X: NDArray[np.float64]
    F: NDArray[np.float64]
    G: NDArray[np.float64]
    feasible: NDArray[np.bool_]
    plans: tuple[pd.DataFrame, ...] | None
    pop_X: NDArray[np.float64]
    pop_F: NDArray[np.float64]
    pop_G: NDArray[np.float64]
    history: pd.DataFrame
    fronts: pd.DataFrame
    wall_s: float
    n_eval: int
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def n_obj(self) -> int:
        return self.F.shape[1]

    @property
    def n_feasible(self) -> int:
        """Feasible points in the non-dominated set; 0 for a run that found no feasible point."""
        return int(np.count_nonzero(self.feasible))

    @property
    def min_cv(self) -> float:
        """Least total constraint violation (sum of positive ``G``) over the set; 0 when feasible."""
        if self.G.size == 0 or len(self.G) == 0:
            return 0.0
        return float(np.maximum(self.G, 0).sum(axis=1).min())

    def front_table(self) -> pd.DataFrame:
        """The non-dominated set as one table: ``x0..``, objective columns, ``g0..``, ``feasible``."""
        return _table(self.X, self.F, self.G, self.feasible)

    def population_table(self) -> pd.DataFrame:
        cv = np.maximum(self.pop_G, 0).sum(axis=1) if self.pop_G.size else np.zeros(len(self.pop_F))
        return _table(self.pop_X, self.pop_F, self.pop_G, cv <= 0)


@dataclass(frozen=True)
class FailedRun:
    """A run that raised: its spec, the error in one line, the full traceback and versions."""

    spec: dict[str, Any]
    error: str
    traceback: str
    wall_s: float
    versions: dict[str, str] = field(default_factory=dict)


def _table(X: NDArray, F: NDArray, G: NDArray, feasible: NDArray) -> pd.DataFrame:
    cols: dict[str, Any] = {}
    for j in range(X.shape[1]):
        cols[f"x{j}"] = X[:, j]
    for j in range(F.shape[1]):
        cols[f"f{j}"] = F[:, j]
    for j in range(G.shape[1]):
        cols[f"g{j}"] = G[:, j]
    cols["feasible"] = np.asarray(feasible, dtype=bool)
    return pd.DataFrame(cols)


class LightRecorder:
    """pymoo callback taking a few numbers per generation (no copies of the algorithm).

    Parameters
    ----------
    objective_names : sequence of str
    pareto_front : ndarray, shape (k, n_obj), optional
        True front; when given, ``hv`` and ``igd`` are recorded (normalised over this front; ``hv``
        only up to 3 objectives, where it is cheap).
    progress : callable, optional
        Called with the share of the termination done (0..1) after each generation.
    """

    def __init__(self, objective_names: list[str], pareto_front: NDArray | None = None,
                 progress: Callable[[float], None] | None = None) -> None:
        self.objective_names = list(objective_names)
        self.pf = pareto_front
        self.norm = Normalisation.from_front(pareto_front) if pareto_front is not None else None
        self.progress = progress
        self.rows: list[dict[str, float]] = []
        self.front_parts: list[NDArray[np.float64]] = []

    def __call__(self, algorithm: Any) -> None:
        n_gen = int(algorithm.n_gen)
        n_eval = int(algorithm.evaluator.n_eval)
        pop = algorithm.pop
        F = np.asarray(pop.get("F"), dtype=float)
        cv = np.asarray(pop.get("CV"), dtype=float).reshape(len(F))
        feas = cv <= 0
        row: dict[str, float] = {"n_gen": n_gen, "n_eval": n_eval, "feasible_share": float(feas.mean())}
        best = F[feas].min(axis=0) if feas.any() else np.full(F.shape[1], np.nan)
        for name, b in zip(self.objective_names, best, strict=True):
            row[f"best_{name}"] = float(b)
        opt = algorithm.opt
        oF = np.asarray(opt.get("F"), dtype=float).reshape(len(opt), -1)
        ofeas = np.asarray(opt.get("CV"), dtype=float).reshape(len(opt)) <= 0
        oF = oF[ofeas]
        if self.norm is not None and oF.shape[1] > 1:
            Fn = self.norm(oF)
            row["igd"] = igd(Fn, self.norm(self.pf))
            if oF.shape[1] <= 3:
                row["hv"] = hypervolume(Fn)
        self.rows.append(row)
        part = np.column_stack([np.full(len(oF), n_gen), np.full(len(oF), n_eval), oF])
        self.front_parts.append(part)
        if self.progress is not None:
            self.progress(float(min(1.0, algorithm.termination.perc)))

    def history(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def fronts(self, n_obj: int) -> pd.DataFrame:
        data = np.vstack(self.front_parts) if self.front_parts else np.zeros((0, 2 + n_obj))
        df = pd.DataFrame(data, columns=["n_gen", "n_eval"] + [f"f{j}" for j in range(n_obj)])
        return df.astype({"n_gen": "int64", "n_eval": "int64"})


def _as_termination(termination: Any) -> Any:
    if isinstance(termination, Termination):
        return termination.to_pymoo()
    if isinstance(termination, Mapping):
        (kind, value), = termination.items()
        return Termination(kind, int(value)).to_pymoo()
    if isinstance(termination, int):
        return Termination("n_gen", termination).to_pymoo()
    return termination


def _termination_dict(termination: Any) -> dict[str, int]:
    if isinstance(termination, Termination):
        return termination.as_dict()
    if isinstance(termination, Mapping):
        return {k: int(v) for k, v in termination.items()}
    if isinstance(termination, int):
        return {"n_gen": termination}
    return {}


def run(
    problem: Any,
    algorithm: Any,
    termination: Any,
    seed: int,
    *,
    problem_params: Mapping[str, Any] | None = None,
    algorithm_params: Mapping[str, Any] | None = None,
    problem_label: str | None = None,
    algorithm_label: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> RunRecord:
    """Run one optimisation and return its record.

    Parameters
    ----------
    problem : str or pymoo Problem
        A registry name (built with ``problem_params``) or a problem object.
    algorithm : str or pymoo Algorithm
        A registry name (built with ``algorithm_params`` for the problem's ``n_obj``) or an
        algorithm object (copied by pymoo, so it can be reused).
    termination : Termination, dict, int or pymoo Termination
        ``{"n_gen": 100}``, ``{"n_eval": 10000}``, an int (generations) or a pymoo object.
    seed : int
        Passed to pymoo (``minimize(seed=...)``); the same seed gives the same record.
    progress : callable, optional
        ``progress(share_done)`` after every generation.
    """
    from pymoo.optimize import minimize

    from optim.registry import make_algorithm, make_problem

    if isinstance(problem, str):
        problem_label = problem_label or problem
        problem = make_problem(problem, **dict(problem_params or {}))
    if isinstance(algorithm, str):
        algorithm_label = algorithm_label or algorithm
        algorithm = make_algorithm(algorithm, problem.n_obj, **dict(algorithm_params or {}))
    n_obj = int(problem.n_obj)
    names = list(getattr(problem, "objective_names", None) or [f"f{j}" for j in range(n_obj)])
    units = list(getattr(problem, "objective_units", None) or [""] * n_obj)
    pf = reference_front(problem) if n_obj > 1 else None
    recorder = LightRecorder(names, pf, progress)

    t0 = time.perf_counter()
    res = minimize(problem, algorithm, _as_termination(termination), seed=int(seed),
                   callback=recorder, verbose=False)
    wall_s = time.perf_counter() - t0

    opt = res.opt
    if opt is None or len(opt) == 0:  # nothing feasible: pymoo reports no optimum
        opt = _least_infeasible(res)
    X = np.asarray(opt.get("X"), dtype=float).reshape(len(opt), -1)
    F = np.asarray(opt.get("F"), dtype=float).reshape(len(opt), n_obj)
    G = _constraints(opt, len(opt))
    feasible = np.asarray(opt.get("CV"), dtype=float).reshape(len(opt)) <= 0
    pop = res.pop
    plans = None
    if callable(getattr(problem, "decode", None)):
        plans = tuple(problem.decode(x) for x in X)
    return RunRecord(
        problem=problem_label or type(problem).__name__.lower(),
        algorithm=algorithm_label or type(algorithm).__name__.lower(),
        seed=int(seed), termination=_termination_dict(termination),
        objective_names=tuple(names), objective_units=tuple(units),
        X=X, F=F, G=G, feasible=feasible, plans=plans,
        pop_X=np.asarray(pop.get("X"), dtype=float).reshape(len(pop), -1),
        pop_F=np.asarray(pop.get("F"), dtype=float).reshape(len(pop), n_obj),
        pop_G=_constraints(pop, len(pop)),
        history=recorder.history(), fronts=recorder.fronts(n_obj),
        wall_s=wall_s, n_eval=int(res.algorithm.evaluator.n_eval), versions=package_versions(),
    )


def _least_infeasible(res: Any) -> Any:
    """The least-infeasible members of the final population and the algorithm's own optimum.

    pymoo's ``Result.opt`` is ``None`` when no evaluated point is feasible (for most algorithms); the
    record keeps instead the points of least total constraint violation (ties kept, duplicates of
    the same ``X`` dropped), so that an infeasible run still says how close it came and where.
    """
    from pymoo.core.population import Population

    parts = [p for p in (getattr(res.algorithm, "opt", None), res.pop) if p is not None and len(p)]
    pool = Population.merge(*parts) if len(parts) > 1 else parts[0]
    cv = np.asarray(pool.get("CV"), dtype=float).reshape(len(pool))
    best = np.flatnonzero(cv <= np.nanmin(cv)) if np.isfinite(cv).any() else np.arange(len(pool))
    X = np.asarray(pool.get("X"), dtype=float).reshape(len(pool), -1)[best]
    _, first = np.unique(X, axis=0, return_index=True)
    return pool[best[np.sort(first)]]


def _constraints(pop: Any, n: int) -> NDArray[np.float64]:
    G = pop.get("G")
    if G is None or np.size(G) == 0:
        return np.zeros((n, 0))
    return np.asarray(G, dtype=float).reshape(n, -1)


def execute_spec(spec: Mapping[str, Any], progress: Callable[[float], None] | None = None,
                 ) -> RunRecord | FailedRun:
    """Worker entry point: run a plain spec (``RunSpec.to_dict()``), never raising for the run itself.

    A run whose problem or algorithm raises comes back as :class:`FailedRun` with its traceback, so
    that one broken run does not stop a campaign.
    """
    s = RunSpec.from_dict(spec)
    t0 = time.perf_counter()
    try:
        return run(
            s.problem.name, s.algorithm.name, s.termination, s.seed,
            problem_params=s.problem.kwargs, algorithm_params=s.algorithm.kwargs,
            problem_label=s.problem.label, algorithm_label=s.algorithm.label, progress=progress,
        )
    except Exception as err:  # recorded as a failed run (with traceback), never swallowed
        return failed_run(spec, err, time.perf_counter() - t0)


def failed_run(spec: Mapping[str, Any], err: BaseException, wall_s: float) -> FailedRun:
    """The record of a run that raised ``err``: the error in one line, its full traceback, versions.

    Campaigns (:func:`execute_spec`) and ``optim run`` record a failure through this one function,
    so both write the same ``meta.json`` (``status = "failed"``, ``error``, ``traceback``).
    """
    return FailedRun(
        spec=dict(spec), error=f"{type(err).__name__}: {err}".splitlines()[0],
        traceback="".join(traceback.format_exception(err)), wall_s=wall_s,
        versions=package_versions(),
    )
