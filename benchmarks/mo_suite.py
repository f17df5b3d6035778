"""Multi-objective suite: our MOPSO and MO-I-HSPSO against NSGA-II and pymoo's MOPSO_CD and CMOPSO.

    python -m benchmarks.mo_suite            # 10 seeds, ZDT1-3, ZDT6 (25,000 evals), DTLZ2 (30,000)
    python -m benchmarks.mo_suite --quick    # 3 seeds, a tenth of the budget
    python -m benchmarks.mo_suite --seeds 20 --jobs 2 --csv mo.csv

Per problem and algorithm: median and interquartile range of IGD and hypervolume of the final
non-dominated set, and the median wall time per run. The IGD reference sets are pymoo's Pareto fronts
(DTLZ2: 861 Das-Dennis points projected on the sphere); the hypervolume reference point is
``nadir + 0.1 * (nadir - ideal)`` of the true front.

pymoo 0.6.2 ships two multi-objective swarms in ``pymoo.algorithms.moo``: ``mopso_cd.MOPSO_CD`` and
``cmopso.CMOPSO``; both run with their defaults (pop 100). Population size 100 for every algorithm.

A second table (skip with ``--no-overhead``) measures each algorithm's per-generation overhead on a
trivial problem (ZDT1 with 30 variables for the multi-objective ones, the 30-variable sphere for the
single-objective ones, NSGA-II on both; their evaluation is negligible) at the same population size:
wall time per generation after the first, the median over a few repetitions, single process.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from pymoo.algorithms.moo.cmopso import CMOPSO
from pymoo.algorithms.moo.mopso_cd import MOPSO_CD
from pymoo.indicators.hv import HV
from pymoo.indicators.igd import IGD
from pymoo.optimize import minimize
from pymoo.util.ref_dirs import get_reference_directions

from algorithms import IHSPSO, MOIHSPSO, MOPSO, PSO, ga, nsga2
from problems.test_functions import DTLZ2, ZDT1, ZDT2, ZDT3, ZDT6, Sphere

ALGORITHMS = {
    "mopso": lambda pop: MOPSO(pop_size=pop),
    "moihspso": lambda pop: MOIHSPSO(pop_size=pop),
    "nsga2": lambda pop: nsga2(pop_size=pop),
    "pymoo_mopso_cd": lambda pop: MOPSO_CD(pop_size=pop),
    "pymoo_cmopso": lambda pop: CMOPSO(pop_size=pop),
}

#: name -> (constructor, evaluation budget)
PROBLEMS = {
    "zdt1": (lambda: ZDT1(), 25_000),
    "zdt2": (lambda: ZDT2(), 25_000),
    "zdt3": (lambda: ZDT3(), 25_000),
    "zdt6": (lambda: ZDT6(), 25_000),
    "dtlz2": (lambda: DTLZ2(n_obj=3), 30_000),
}


def reference_front(name: str) -> np.ndarray:
    problem = PROBLEMS[name][0]()
    if name == "dtlz2":
        return problem.pareto_front(get_reference_directions("das-dennis", 3, n_partitions=40))
    return problem.pareto_front()


@dataclass(frozen=True)
class RunRecord:
    problem: str
    algorithm: str
    seed: int
    igd: float
    hv: float
    n_front: int
    n_eval: int
    wall_s: float


def one_run(problem_name: str, algorithm: str, seed: int, pop: int, budget_scale: float) -> RunRecord:
    make, budget = PROBLEMS[problem_name]
    problem = make()
    pf = reference_front(problem_name)
    ideal, nadir = pf.min(axis=0), pf.max(axis=0)
    t0 = time.perf_counter()
    res = minimize(problem, ALGORITHMS[algorithm](pop), ("n_eval", int(budget * budget_scale)), seed=seed)
    wall_s = time.perf_counter() - t0
    F = np.atleast_2d(res.F) if res.F is not None else np.empty((0, problem.n_obj))
    igd = float(IGD(pf)(F)) if len(F) else np.inf
    hv = float(HV(ref_point=nadir + 0.1 * (nadir - ideal))(F)) if len(F) else 0.0
    return RunRecord(
        problem_name, algorithm, seed, igd, hv, len(F), int(res.algorithm.evaluator.n_eval), wall_s
    )


def iqr(x: pd.Series) -> float:
    return float(x.quantile(0.75) - x.quantile(0.25))


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby(["problem", "algorithm"], sort=False)
    return pd.DataFrame(
        {
            "igd_median": g["igd"].median(),
            "igd_iqr": g["igd"].agg(iqr),
            "hv_median": g["hv"].median(),
            "hv_iqr": g["hv"].agg(iqr),
            "n_front": g["n_front"].median(),
            "evals": g["n_eval"].median(),
            "wall_s_median": g["wall_s"].median(),
            "runs": g.size(),
        }
    )


def overhead(pop: int, n_gen: int = 60, repeats: int = 3) -> pd.DataFrame:
    """Per-generation wall time (ms) on trivial problems, excluding the first generation, median of
    ``repeats``: the multi-objective algorithms on ZDT1 (30 variables), the single-objective ones on
    the 30-variable sphere, each beside NSGA-II on the same problem at the same population size.
    """
    cases = [(name, make, "zdt1", ZDT1) for name, make in ALGORITHMS.items()] + [
        ("pso", lambda p: PSO(pop_size=p), "sphere30", lambda: Sphere(n_var=30)),
        ("ihspso", lambda p: IHSPSO(pop_size=p), "sphere30", lambda: Sphere(n_var=30)),
        ("ga", lambda p: ga(pop_size=p), "sphere30", lambda: Sphere(n_var=30)),
        ("nsga2", lambda p: nsga2(pop_size=p), "sphere30", lambda: Sphere(n_var=30)),
    ]
    rows = []
    for name, make, problem_name, make_problem in cases:
        times = []
        for r in range(repeats):
            stamps: list[float] = []
            minimize(
                make_problem(),
                make(pop),
                ("n_gen", n_gen),
                seed=r,
                callback=lambda algorithm, s=stamps: s.append(time.perf_counter()),
            )
            times.append((stamps[-1] - stamps[0]) / (len(stamps) - 1))
        probe = make_problem()
        X = np.random.default_rng(0).random((pop, probe.n_var))
        t0 = time.perf_counter()
        for _ in range(50):
            probe.evaluate(X)
        eval_ms = (time.perf_counter() - t0) / 50 * 1e3
        rows.append(
            {
                "problem": problem_name,
                "algorithm": name,
                "ms_per_generation": 1e3 * float(np.median(times)),
                "of_which_evaluation_ms": eval_ms,
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--pop", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2026, help="root of the SeedSequence the run seeds come from")
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--algorithms", default=",".join(ALGORITHMS))
    ap.add_argument("--quick", action="store_true", help="3 seeds, a tenth of the evaluation budget")
    ap.add_argument("--no-overhead", action="store_true", help="skip the per-generation overhead table")
    ap.add_argument("--csv", default=None, help="also write the per-run records here")
    args = ap.parse_args(argv)
    scale = 0.1 if args.quick else 1.0
    if args.quick:
        args.seeds = 3
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(args.seed).spawn(args.seeds)]
    tasks = [(p, a, s) for p in args.problems.split(",") for a in args.algorithms.split(",") for s in seeds]
    t0 = time.perf_counter()
    records = Parallel(n_jobs=args.jobs)(delayed(one_run)(p, a, s, args.pop, scale) for p, a, s in tasks)
    df = pd.DataFrame([r.__dict__ for r in records])
    if args.csv:
        df.to_csv(args.csv, index=False)
    with pd.option_context(
        "display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4g}".format
    ):
        print(
            f"MO suite: {args.seeds} seeds, pop {args.pop}, budget x{scale}, {args.jobs} jobs, "
            f"total wall {time.perf_counter() - t0:.0f} s"
        )
        print(summarise(df).to_string())
        if not args.no_overhead:
            print(f"\nPer-generation overhead on trivial problems, pop {args.pop}, single process:")
            print(overhead(args.pop).to_string(index=False))


if __name__ == "__main__":
    main()
