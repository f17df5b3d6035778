"""PSO vs I-HSPSO (and pymoo's PSO and GA) on paper 003's test functions f1-f4: table 10 re-run.

    python -m benchmarks.table10                 # 30 runs, n = 30, swarm 50, both budgets
    python -m benchmarks.table10 --quick         # 5 runs, 200 iterations: a smoke run
    python -m benchmarks.table10 --runs 100 --jobs 2 --algorithms pso,ihspso --csv out.csv --markdown t.md

Two budgets, side by side (``--budget both``, the default):

* ``iterations`` -- every algorithm runs ``--iterations`` generations (003's setting: swarm 50, 1000
  iterations). I-HSPSO evaluates its ``hs_size`` harmonies on top of the swarm in every generation,
  so it spends 50 + 999 x 60 = 59,990 evaluations where PSO spends 50,000.
* ``evaluations`` -- every algorithm stops at the same number of evaluations, ``--evals`` (default
  swarm x iterations = 50,000; pymoo's ``("n_eval", N)`` termination). pymoo stops after the first
  generation that reaches the budget and does not cut a generation short, so an algorithm whose
  generation is ``g`` evaluations may overshoot by at most ``g - 1``: I-HSPSO (g = 60 after the
  initial 50) stops at 50 + 833 x 60 = 50,030 (+0.06 %, 834 generations); PSO and pymoo's PSO and
  GA (g = 50) stop at exactly 50,000. The ``evals`` column reports what each run actually used.

A run under the iteration budget that evaluated exactly ``pop`` points in every generation (PSO,
pymoo's PSO and GA) is the same run under the evaluation budget ``pop x iterations``: its
``n_eval / budget`` equals ``n_gen / iterations`` after every generation, so both terminations give
the algorithm the same progress ``perc`` and stop it at the same generation. Such runs are recorded
once (a callback checks the condition after every generation) and reused for the evaluation budget
(``reused`` in the CSV); ``tests/paper003/test_table10_budgets.py`` checks the identity.

For each function: best / worst / mean / median of the final best value over independent runs, the
evaluations per run, beside the published table 10 (003, MATLAB, swarm 50, 1000 iterations, 100 runs;
the paper does not state n: we use n = 30, and f3 is two-dimensional by definition), and per budget a
one-sided Mann-Whitney U test of "I-HSPSO's final values are smaller than PSO's". Runs are independent
joblib tasks with seeds from one ``SeedSequence``; the same seeds serve both budgets.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.algorithms.soo.nonconvex.pso import PSO as PymooPSO
from pymoo.core.callback import Callback
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

BUDGETS = ("iterations", "evaluations")


@dataclass(frozen=True)
class RunRecord:
    function: str
    algorithm: str
    budget: str
    seed: int
    best_f: float
    n_eval: int
    n_gen: int
    wall_s: float
    uniform: bool  # every generation evaluated exactly pop points
    reused: bool = False


class _EvalsPerGeneration(Callback):
    """Records whether ``n_eval == pop x n_gen`` held after every generation."""

    def __init__(self, pop: int) -> None:
        super().__init__()
        self.pop = pop
        self.uniform = True
        self.generations = 0  # pymoo's n_gen moves one past the last generation when the run ends

    def notify(self, algorithm) -> None:
        self.generations = algorithm.n_gen
        if algorithm.evaluator.n_eval != self.pop * algorithm.n_gen:
            self.uniform = False


def termination(budget: str, pop: int, iterations: int, evals: int | None) -> tuple[str, int]:
    """pymoo termination: ``("n_gen", iterations)`` or ``("n_eval", evals or pop x iterations)``."""
    if budget == "iterations":
        return ("n_gen", iterations)
    if budget == "evaluations":
        return ("n_eval", evals if evals is not None else pop * iterations)
    raise ValueError(f"budget must be one of {BUDGETS}, got {budget!r}")


def one_run(
    function: str,
    algorithm: str,
    seed: int,
    n_var: int,
    pop: int,
    iterations: int,
    budget: str = "iterations",
    evals: int | None = None,
) -> RunRecord:
    """One run of ``algorithm`` on ``function`` under ``budget`` (see :func:`termination`)."""
    problem = TEST_FUNCTIONS[function](n_var=2 if function == "f3" else n_var)
    cb = _EvalsPerGeneration(pop)
    t0 = time.perf_counter()
    res = minimize(
        problem,
        ALGORITHMS[algorithm](pop),
        termination(budget, pop, iterations, evals),
        seed=seed,
        callback=cb,
    )
    wall_s = time.perf_counter() - t0
    return RunRecord(
        function,
        algorithm,
        budget,
        seed,
        float(np.min(res.F)),
        int(res.algorithm.evaluator.n_eval),
        cb.generations,
        wall_s,
        cb.uniform,
    )


def run_cell(
    function: str,
    algorithm: str,
    seed: int,
    n_var: int,
    pop: int,
    iterations: int,
    budgets: tuple[str, ...] = BUDGETS,
    evals: int | None = None,
) -> list[RunRecord]:
    """One seed of ``algorithm`` on ``function`` under each of ``budgets``.

    An iteration-budget run that evaluated ``pop`` points in every generation is reused as the
    evaluation-budget run when that budget is ``pop x iterations`` (identical by construction, see the
    module docstring) instead of being run again.
    """
    out: list[RunRecord] = []
    if "iterations" in budgets:
        out.append(one_run(function, algorithm, seed, n_var, pop, iterations, "iterations"))
    if "evaluations" in budgets:
        first = out[0] if out else None
        if first is not None and first.uniform and (evals is None or evals == pop * iterations):
            out.append(replace(first, budget="evaluations", reused=True))
        else:
            out.append(one_run(function, algorithm, seed, n_var, pop, iterations, "evaluations", evals))
    return out


def run_table(
    functions: list[str],
    algorithms: list[str],
    seeds: list[int],
    *,
    n_var: int = 30,
    pop: int = 50,
    iterations: int = 1000,
    budgets: tuple[str, ...] = BUDGETS,
    evals: int | None = None,
    jobs: int = 1,
    sink: Callable[[list[RunRecord]], None] | None = None,
) -> pd.DataFrame:
    """Every (seed, function, algorithm) under each budget (:func:`run_cell`); one row per run.

    Cells go seed by seed, and ``sink`` (if given) receives each cell's records in that order as
    they come in, so a run stopped early has written whole seeds (a prefix of ``seeds``) first.
    """
    for b in budgets:
        termination(b, pop, iterations, evals)  # validates the name
    cells = [(f, a, s) for s in seeds for f in functions for a in algorithms]
    results = Parallel(n_jobs=jobs, return_as="generator")(
        delayed(run_cell)(f, a, s, n_var, pop, iterations, budgets, evals) for f, a, s in cells
    )
    records: list[RunRecord] = []
    for cell in results:
        if sink is not None:
            sink(cell)
        records += cell
    df = pd.DataFrame([r.__dict__ for r in records])
    # one block per budget, so that the summary lists the budgets in the order asked
    return df.sort_values("budget", key=lambda b: b.map(budgets.index), kind="stable", ignore_index=True)


def _evals_label(n: pd.Series) -> str:
    lo, hi = int(n.min()), int(n.max())
    return f"{lo:,}" if lo == hi else f"{lo:,}-{hi:,}"


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Per (function, algorithm): for each budget best/worst/mean/median/evals, then 003's values."""
    parts = []
    for budget, sub in df.groupby("budget", sort=False):
        g = sub.groupby(["function", "algorithm"], sort=False)
        out = g["best_f"].agg(best="min", worst="max", mean="mean", median="median")
        out["evals"] = g["n_eval"].agg(_evals_label)
        out["gens"] = g["n_gen"].agg(_evals_label)
        out["runs"] = g.size()
        out["wall_s"] = g["wall_s"].mean()
        out.columns = pd.MultiIndex.from_product([[budget], out.columns])
        parts.append(out)
    pub = pd.DataFrame(
        [(f, a, *v) for (f, a), v in PUBLISHED.items()],
        columns=["function", "algorithm", "best", "worst", "mean"],
    ).set_index(["function", "algorithm"])
    pub.columns = pd.MultiIndex.from_product([["003"], pub.columns])
    return pd.concat(parts, axis=1).join(pub, how="left")


def complete_seeds(df: pd.DataFrame) -> pd.DataFrame:
    """The records of the seeds that have a run in every (function, algorithm, budget) of ``df``."""
    n_cells = df.groupby(["function", "algorithm", "budget"]).ngroups
    per_seed = df.groupby("seed")[["function", "algorithm", "budget"]].apply(
        lambda g: len(g.drop_duplicates())
    )
    return df[df["seed"].isin(per_seed.index[per_seed == n_cells])].reset_index(drop=True)


def mann_whitney(df: pd.DataFrame) -> pd.DataFrame:
    """Per function and budget: one-sided Mann-Whitney U, H1 = I-HSPSO's final values are below PSO's."""
    rows = []
    for (f, budget), sub in df.groupby(["function", "budget"], sort=False):
        a = sub.loc[sub.algorithm == "ihspso", "best_f"].to_numpy()
        b = sub.loc[sub.algorithm == "pso", "best_f"].to_numpy()
        if a.size and b.size:
            test = mannwhitneyu(a, b, alternative="less")
            rows.append(
                {
                    "function": f,
                    "budget": budget,
                    "U": test.statistic,
                    "p_ihspso_less_than_pso": test.pvalue,
                    "p_pso_less_than_ihspso": mannwhitneyu(b, a, alternative="less").pvalue,
                    "ihspso_mean_below_pso": bool(a.mean() < b.mean()),
                    "ihspso_median_below_pso": bool(np.median(a) < np.median(b)),
                }
            )
    return pd.DataFrame(rows)


def _g(x: float) -> str:
    return "" if pd.isna(x) else f"{x:.4g}"


def markdown(summary: pd.DataFrame, mw: pd.DataFrame, budget_titles: dict[str, str]) -> str:
    """The side-by-side table and the test table as GitHub markdown."""
    budgets = [b for b in BUDGETS if b in summary.columns.get_level_values(0)]
    head = ["function", "algorithm"]
    for b in budgets:
        t = budget_titles[b]
        head += [f"{t}: evals", "best", "worst", "mean", "median"]
    head += ["003 best", "003 worst", "003 mean"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (f, a), row in summary.iterrows():
        cells = [f, a]
        for b in budgets:
            cells += [row[(b, "evals")]] + [_g(row[(b, k)]) for k in ("best", "worst", "mean", "median")]
        cells += [_g(row[("003", k)]) for k in ("best", "worst", "mean")]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    if not mw.empty:
        head = ["function"]
        for b in budgets:
            head += [f"{budget_titles[b]}: p (I-HSPSO < PSO)", "p (PSO < I-HSPSO)"]
        lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for f, sub in mw.groupby("function", sort=False):
            p = sub.set_index("budget")
            cells = [f]
            for b in budgets:
                cells += (
                    [f"{p.loc[b, 'p_ihspso_less_than_pso']:.3g}", f"{p.loc[b, 'p_pso_less_than_ihspso']:.3g}"]
                    if b in p.index
                    else ["", ""]
                )
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--evals", type=int, default=None, help="evaluation budget (default: pop x iterations)")
    ap.add_argument("--budget", choices=(*BUDGETS, "both"), default="both")
    ap.add_argument("--n-var", type=int, default=30)
    ap.add_argument("--pop", type=int, default=50)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2026, help="root of the SeedSequence the run seeds come from")
    ap.add_argument("--functions", default="f1,f2,f3,f4")
    ap.add_argument("--algorithms", default=",".join(ALGORITHMS))
    ap.add_argument("--quick", action="store_true", help="5 runs of 200 iterations")
    ap.add_argument("--csv", default=None, help="also write the per-run records here")
    ap.add_argument("--markdown", default=None, help="also write the tables as markdown here")
    ap.add_argument(
        "--from-csv",
        default=None,
        help="do not run: tabulate the records of an earlier --csv (of a run stopped early: its whole seeds)",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.runs, args.iterations = 5, 200
    functions, algorithms = args.functions.split(","), args.algorithms.split(",")
    for name, known in ((functions, TEST_FUNCTIONS), (algorithms, ALGORITHMS)):
        unknown = [x for x in name if x not in known]
        if unknown:
            ap.error(f"unknown name(s) {unknown}; known: {sorted(known)}")
    budgets = BUDGETS if args.budget == "both" else (args.budget,)
    n_evals = args.evals if args.evals is not None else args.pop * args.iterations
    titles = {"iterations": f"{args.iterations} iterations", "evaluations": f"{n_evals:,} evaluations"}
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(args.seed).spawn(args.runs)]
    sink = None
    if args.csv and not args.from_csv:
        fh_csv = open(args.csv, "w")  # noqa: SIM115 -- written record by record, closed below
        fh_csv.write(",".join(RunRecord.__dataclass_fields__) + "\n")

        def sink(cell: list[RunRecord]) -> None:
            pd.DataFrame([r.__dict__ for r in cell]).to_csv(fh_csv, header=False, index=False)
            fh_csv.flush()

    t0 = time.perf_counter()
    if args.from_csv:
        df = complete_seeds(pd.read_csv(args.from_csv))
        args.runs = df["seed"].nunique()
    else:
        df = run_table(
            functions,
            algorithms,
            seeds,
            n_var=args.n_var,
            pop=args.pop,
            iterations=args.iterations,
            budgets=budgets,
            evals=args.evals,
            jobs=args.jobs,
            sink=sink,
        )
    wall = time.perf_counter() - t0
    if sink is not None:
        fh_csv.close()
    summary, mw = summarise(df), mann_whitney(df)
    header = (
        f"003 table 10 re-run: n = {args.n_var} (f3: 2), swarm {args.pop}, budgets: "
        f"{' | '.join(titles[b] for b in budgets)}; {args.runs} runs, "
        + (f"from {args.from_csv}" if args.from_csv else f"{args.jobs} jobs, total wall {wall:.0f} s")
    )
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(header + "\n\n" + markdown(summary, mw, titles))
    with pd.option_context(
        "display.width", 250, "display.max_columns", 40, "display.float_format", "{:.4g}".format
    ):
        print(header)
        print(summary.to_string())
        print("\nOne-sided Mann-Whitney U, H1: I-HSPSO < PSO (and the reverse)")
        print(mw.to_string(index=False))


if __name__ == "__main__":
    main()
