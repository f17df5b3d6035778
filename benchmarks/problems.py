"""Evaluation throughput of the planning problems: ``python -m benchmarks.problems``.

Prints warm figures (numba compilation is paid by a first, untimed call) for

* ``DGSiting`` on ieee33: 100 candidates per call, one load level (and over 4 typical days);
* ``DGEVCSPlanning`` on ieee33 and pge69: a population of 50 over its typical days (with the
  evaluation-only estimate of a 200-iteration run), and a measured scheme-1 run (MO-I-HSPSO,
  swarm 50, ``--run-gens`` iterations, default 200).

Targets (one core): a DGEVCSPlanning population of 50 in under 100 ms; a scheme-1 run under 60 s
(ieee33) and 120 s (pge69). Set ``NUMBA_NUM_THREADS=1``
to measure on one core.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np


def _timeit(fn: Callable[[], object], repeat: int) -> float:
    """Best-of-``repeat`` wall time of ``fn`` in seconds, after one warm-up call."""
    fn()
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_dg_siting(repeat: int) -> None:
    from problems.dg_siting import DGSiting

    rng = np.random.default_rng(0)
    prob = DGSiting("ieee33", n_dg=3)
    X = rng.uniform(prob.xl, prob.xu, (100, prob.n_var))
    t = _timeit(lambda: prob.evaluate(X), repeat)
    print(
        f"DGSiting ieee33, 3 DGs, one load level: 100 candidates in {1e3 * t:7.2f} ms "
        f"= {100 / t:10.0f} evaluations/s"
    )

    class _Days:  # four synthetic typical days, shape (4, 24)
        hours = np.arange(24)
        load_pu = np.tile(0.6 + 0.4 * np.sin(np.pi * hours / 24), (4, 1))
        pv_pu = np.tile(np.clip(np.sin(np.pi * (hours - 6) / 12), 0, None), (4, 1))
        wind_pu = np.full((4, 24), 0.4)
        weight = np.array([91.0, 91.0, 91.0, 92.0])

    prob = DGSiting("ieee33", n_dg=3, scenarios=_Days(), dg_type=["pv", "wind", "firm"])
    t = _timeit(lambda: prob.evaluate(X), repeat)
    print(
        f"DGSiting ieee33, 3 DGs, 4 days x 24 h:  100 candidates in {1e3 * t:7.2f} ms "
        f"= {100 / t:10.0f} evaluations/s ({9600 / t:.0f} power flows/s)"
    )


def bench_dgevcs(repeat: int) -> None:
    try:
        from problems.dgevcs import DGEVCSPlanning
    except ImportError as exc:  # the grid-model modules it needs are not there yet
        print(f"DGEVCSPlanning: not available ({exc})")
        return
    for case in ("ieee33", "pge69"):
        prob = DGEVCSPlanning(case=case, seed=0)
        X = np.random.default_rng(0).uniform(prob.xl, prob.xu, (50, prob.n_var))
        t = _timeit(lambda prob=prob, X=X: prob.evaluate(X), repeat)
        print(
            f"DGEVCSPlanning {case}, scheme 1: population of 50 in {1e3 * t:7.2f} ms "
            f"= {50 / t:8.0f} evaluations/s; swarm 50 x 200 iterations ~ {201 * t:6.1f} s of evaluation"
        )


def bench_scheme1_run(n_gen: int) -> None:
    """Wall time of a scheme-1 run (MO-I-HSPSO, swarm 50) on both feeders, compile excluded."""
    from pymoo.optimize import minimize

    from algorithms import MOIHSPSO
    from problems.dgevcs import DGEVCSPlanning

    for case in ("ieee33", "pge69"):
        prob = DGEVCSPlanning(case=case, scheme=1)
        prob.evaluate(np.atleast_2d(prob.xl))  # compile / load the numba caches
        t0 = time.perf_counter()
        minimize(prob, MOIHSPSO(pop_size=50), ("n_gen", n_gen), seed=1)
        print(
            f"DGEVCSPlanning {case}, scheme 1: MO-I-HSPSO swarm 50 x {n_gen} iterations in "
            f"{time.perf_counter() - t0:6.1f} s (compile excluded)"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions (best is reported)")
    parser.add_argument(
        "--run-gens", type=int, default=200, help="iterations of the timed scheme-1 runs (0 skips them)"
    )
    args = parser.parse_args(argv)
    import numba

    print(f"numba threads: {numba.get_num_threads()}")
    bench_dg_siting(args.repeat)
    bench_dgevcs(args.repeat)
    if args.run_gens > 0:
        bench_scheme1_run(args.run_gens)


if __name__ == "__main__":
    main()
