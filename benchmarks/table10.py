"""PSO vs I-HSPSO (and pymoo's PSO and GA) on paper 003's test functions f1-f4: table 10 re-run.

    python -m benchmarks.table10                 # 30 runs, n = 30, swarm 50, 1000 iterations
    python -m benchmarks.table10 --quick         # 5 runs, 200 iterations: a smoke run
    python -m benchmarks.table10 --runs 100 --jobs 2 --csv out.csv

For each function: best / worst / mean / median of the final best value over independent runs, the
evaluations per run and the mean wall time per run, printed beside the published table 10 (003,
MATLAB, swarm 50, 1000 iterations, 100 runs; the paper does not state n: we use n = 30, and f3 is
two-dimensional by definition), and a one-sided Mann-Whitney U test of "I-HSPSO's final values are
smaller than PSO's". Runs are independent joblib tasks with seeds from one ``SeedSequence``. Note that
I-HSPSO evaluates its harmonies on top of the swarm (reported in the ``evals`` column).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.algorithms.soo.nonconvex.pso import PSO as PymooPSO
from pymoo.optimize import minimize
from scipy.stats import mannwhitneyu

from algorithms import IHSPSO, PSO
from problems.test_functions import TEST_FUNCTIONS

#: 003 table 10 (best, worst, mean), as published.
PUBLISHED = {
    ("f1", "pso"): (3.832e-23, 2.194e-5, 2.577e-7),
    ("f1", "ihspso"): (9.001e-24, 9.168e-8, 4.258e-9),
    ("f2", "pso"): (0.1795, 143.274, 14.165),
    ("f2", "ihspso"): (3.745e-4, 1.992e-1, 1.849e-2),
    ("f3", "pso"): (9.368e-13, 0.009, 0.004),
    ("f3", "ihspso"): (0.0, 0.009, 6.802e-4),
    ("f4", "pso"): (3.980, 29.849, 12.696),
    ("f4", "ihspso"): (3.836e-24, 9.949, 3.872),
}

ALGORITHMS = {
    "pso": lambda pop: PSO(pop_size=pop),
    "ihspso": lambda pop: IHSPSO(pop_size=pop),
    "pymoo_pso": lambda pop: PymooPSO(pop_size=pop),
    "pymoo_ga": lambda pop: GA(pop_size=pop),
}


@dataclass(frozen=True)
class RunRecord:
    function: str
    algorithm: str
    seed: int
    best_f: float
    n_eval: int
    wall_s: float


def one_run(function: str, algorithm: str, seed: int, n_var: int, pop: int, n_iter: int) -> RunRecord:
    problem = TEST_FUNCTIONS[function](n_var=2 if function == "f3" else n_var)
    t0 = time.perf_counter()
    res = minimize(problem, ALGORITHMS[algorithm](pop), ("n_gen", n_iter), seed=seed)
    wall_s = time.perf_counter() - t0
    return RunRecord(
        function, algorithm, seed, float(np.min(res.F)), int(res.algorithm.evaluator.n_eval), wall_s
    )


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby(["function", "algorithm"], sort=False)
    out = g["best_f"].agg(best="min", worst="max", mean="mean", median="median")
    out["evals"] = g["n_eval"].median().astype(int)
    out["wall_s"] = g["wall_s"].mean()
    out["runs"] = g.size()
    pub = pd.DataFrame(
        [(f, a, *v) for (f, a), v in PUBLISHED.items()],
        columns=["function", "algorithm", "paper_best", "paper_worst", "paper_mean"],
    ).set_index(["function", "algorithm"])
    return out.join(pub, how="left")


def mann_whitney(df: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for f, sub in df.groupby("function", sort=False):
        a = sub.loc[sub.algorithm == "ihspso", "best_f"].to_numpy()
        b = sub.loc[sub.algorithm == "pso", "best_f"].to_numpy()
        if a.size and b.size:
            test = mannwhitneyu(a, b, alternative="less")
            rows.append(
                {
                    "function": f,
                    "U": test.statistic,
                    "p_ihspso_less_than_pso": test.pvalue,
                    "ihspso_mean_below_pso": bool(a.mean() < b.mean()),
                }
            )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--n-var", type=int, default=30)
    ap.add_argument("--pop", type=int, default=50)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2026, help="root of the SeedSequence the run seeds come from")
    ap.add_argument("--functions", default="f1,f2,f3,f4")
    ap.add_argument("--algorithms", default=",".join(ALGORITHMS))
    ap.add_argument("--quick", action="store_true", help="5 runs of 200 iterations")
    ap.add_argument("--csv", default=None, help="also write the per-run records here")
    args = ap.parse_args(argv)
    if args.quick:
        args.runs, args.iterations = 5, 200
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(args.seed).spawn(args.runs)]
    tasks = [(f, a, s) for f in args.functions.split(",") for a in args.algorithms.split(",") for s in seeds]
    t0 = time.perf_counter()
    records = Parallel(n_jobs=args.jobs)(
        delayed(one_run)(f, a, s, args.n_var, args.pop, args.iterations) for f, a, s in tasks
    )
    df = pd.DataFrame([r.__dict__ for r in records])
    if args.csv:
        df.to_csv(args.csv, index=False)
    with pd.option_context(
        "display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4g}".format
    ):
        print(
            f"003 table 10 re-run: n = {args.n_var} (f3: 2), swarm {args.pop}, {args.iterations} iterations, "
            f"{args.runs} runs, {args.jobs} jobs, total wall {time.perf_counter() - t0:.0f} s"
        )
        print(summarise(df).to_string())
        print("\nOne-sided Mann-Whitney U, H1: I-HSPSO < PSO")
        print(mann_whitney(df).to_string(index=False))


if __name__ == "__main__":
    main()
