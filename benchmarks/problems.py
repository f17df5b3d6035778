"""Evaluation throughput of the planning problems: ``python -m benchmarks.problems``.

Prints warm figures (numba compilation is paid by a first, untimed call) for

* ``DGSiting`` on ieee33: 100 candidates per call, one load level (and over 4 typical days);
* ``DGEVCSPlanning`` on ieee33 and pge69: a population of 50 over its typical days (with the
  evaluation-only estimate of a 200-iteration run), and a measured scheme-1 run (MO-I-HSPSO,
  swarm 50, ``--run-gens`` iterations, default 200).

* ``EVSSiting`` (paper 004) on ieee33: a population of 60 over the default 10 copula scenarios,
  split into the dispatcher (:func:`grid.storage.flatten`) and the power flow (median of
  ``--repeat`` calls), and a measured MOPSO run (swarm 60, ``--evs-gens`` iterations, default 300).

* ``EVScheduling`` (paper 001) on ieee34: per region, a population of 60 (repair and power flow of
  (60, 24, 34)) and a measured ``mopso_001`` run (60 x ``--ev-gens``, default 300; target 20 s);
  and ``formulation="vehicle"`` at its 200-vehicle limit against the aggregate of the same fleet.

Targets (one core): a DGEVCSPlanning population of 50 in under 100 ms; a scheme-1 run under 60 s
(ieee33) and 120 s (pge69); an EVSSiting population of 60 in under 50 ms and its MOPSO 60 x 300 run
under 30 s (also timed with lighter dispatcher and power-flow settings, with how far the
objectives move); a SOPPlanning (paper 002) population of 50 with the SOP dispatch for 24 h under
200 ms. Set ``NUMBA_NUM_THREADS=1`` to measure on one core (the EVSSiting section also calls
``numba.set_num_threads(1)``). ``--only NAME`` runs one section (``dg_siting``, ``dgevcs``,
``evs_siting``, ``ev_scheduling``, ``staged_planning``, ``sop_planning``).

* ``StagedPlanning`` (paper 000) on ieee33 and ieee123: a population of 100 over 3 stages x 24
  scenarios x 24 h (172 800 power flows per population), median of ``--repeat`` calls, split into
  the lower level before the power flow and the whole evaluation (wall and CPU). 000's GA runs 200
  generations, so 200 times this figure estimates one run, printed against issue 15's targets (5 min
  on ieee33, 10 min on ieee123); ``--staged-gens 200`` also measures the GA run itself.

* ``SOPPlanning`` (paper 002) on ieee33: a population of 50 over the 24 hours, plans 2 and 4, split
  into the SOP dispatcher (:func:`grid.sop.dispatch`) and the two sweeps (median of ``--repeat``).
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


def _median(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` over ``max(repeat, 3)`` calls, after one warm-up call."""
    fn()
    ts = []
    for _ in range(max(repeat, 3)):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


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


def bench_evs_siting(repeat: int, n_gen: int) -> None:
    """EVSSiting: population of 60 over the default scenarios (dispatch + power flow), one core, and
    a MOPSO run of swarm 60 x ``n_gen`` (compile excluded)."""
    import os

    import numba

    from grid import storage
    from grid.powerflow import solve
    from problems.evs_siting import EVSSiting

    numba.set_num_threads(1)
    prob = EVSSiting()
    X = np.random.default_rng(0).uniform(prob.xl, prob.xu, (60, prob.n_var))
    X[:, prob.int_mask] = np.round(X[:, prob.int_mask])
    site, p_kw = prob._split(X)
    dev = prob.devices(p_kw)
    sched = storage.flatten(prob.net_load_kw, dev, sweeps=prob.config.sweeps)
    # the power-flow input compute() builds: fixed load and DG plus the dispatched devices at their buses
    onehot = np.eye(prob.net.n_bus)[prob.cand_idx[site]]  # (60, n_dev, n_bus); devices at one bus add
    p = prob._p_load[None] - prob._p_gen[None] + np.einsum("nsdt,ndb->nstb", sched.p_net_kw, onehot)
    q = np.broadcast_to(prob._q_load[None], p.shape)

    t_eval = _median(lambda: prob.evaluate(X), repeat)
    t_disp = _median(lambda: storage.flatten(prob.net_load_kw, dev, sweeps=prob.config.sweeps), repeat)
    t_pf = _median(lambda: solve(prob.net, p, q, tol=prob.tol, v_start=prob._v_start), repeat)
    n_pf = p.shape[0] * p.shape[1] * p.shape[2]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"EVSSiting ieee33, {prob.scenarios.n_scenarios} scenarios: "
        f"population of 60 in {1e3 * t_eval:7.2f} ms "
        f"(dispatch {1e3 * t_disp:6.2f} ms, power flow {1e3 * t_pf:6.2f} ms for {n_pf} flows, "
        f"the rest {1e3 * (t_eval - t_disp - t_pf):6.2f} ms; target 50 ms); "
        f"numba threads {numba.get_num_threads()}, load average {load:.2f}"
    )
    # the defaults against the settings of the earlier releases (a 1e-8 pu power-flow tolerance from
    # the flat start) and against two Gauss-Seidel sweeps: time and how far the objectives move
    f0 = prob.evaluate(X, return_values_of=["F"])
    for label, other in (
        ("tol=1e-8 from the flat start", EVSSiting(tol=1e-8)),
        ("sweeps=2", EVSSiting(config={"sweeps": 2})),
    ):
        if label.startswith("tol"):
            other._v_start = None
        t_other = _median(lambda other=other: other.evaluate(X), repeat)
        f1 = other.evaluate(X, return_values_of=["F"])
        moved = (np.abs(f1 - f0) / np.maximum(np.abs(f0), 1e-12)).max(axis=0)
        print(
            f"EVSSiting ieee33, {label}: population of 60 in {1e3 * t_other:7.2f} ms "
            f"({t_other / t_eval:.2f} x the defaults); largest relative change of "
            + ", ".join(f"{n} {m:.1e}" for n, m in zip(prob.objective_names, moved, strict=True))
        )
    if n_gen > 0:
        from pymoo.optimize import minimize

        from algorithms import MOPSO

        t0 = time.perf_counter()
        minimize(prob, MOPSO(pop_size=60), ("n_gen", n_gen), seed=1)
        print(
            f"EVSSiting ieee33: MOPSO swarm 60 x {n_gen} iterations in {time.perf_counter() - t0:6.1f} s "
            f"(compile excluded; target 30 s), load average {os.getloadavg()[0]:.2f}"
        )


def bench_ev_scheduling(repeat: int, n_gen: int) -> None:
    """EVScheduling: per region, a population of 60 (median of ``repeat`` calls) and a MOPSO-001 run
    of 60 x ``n_gen`` on one core (fleet sampling and compile excluded; target 20 s per region)."""
    import os

    import numba
    from pymoo.optimize import minimize

    from algorithms import mopso_001
    from problems.ev_scheduling import REGIONS, EVScheduling

    numba.set_num_threads(1)
    for region in REGIONS:
        prob = EVScheduling(region=region)
        X = np.random.default_rng(0).uniform(prob.xl, prob.xu, (60, prob.n_var))
        t_pop = _median(lambda prob=prob, X=X: prob.evaluate(X), repeat)
        line = f"EVScheduling ieee34 {region:11s}: population of 60 in {1e3 * t_pop:7.2f} ms"
        if n_gen > 0:
            t0 = time.perf_counter()
            minimize(prob, mopso_001(), ("n_gen", n_gen), seed=1)
            line += f"; MOPSO-001 60 x {n_gen} in {time.perf_counter() - t0:6.1f} s (target 20 s)"
        print(f"{line}; load average {os.getloadavg()[0]:.2f}")
    # formulation="vehicle" at its size limit, against the aggregate formulation of the same fleet
    med = {}
    for form in ("aggregate", "vehicle"):
        prob = EVScheduling(region="residential", config={"n_vehicles": 200}, formulation=form)
        X = np.random.default_rng(0).uniform(prob.xl, prob.xu, (60, prob.n_var))
        med[form] = (_median(lambda prob=prob, X=X: prob.evaluate(X), repeat), prob.n_var)
    (ta, _), (tv, nv) = med["aggregate"], med["vehicle"]
    print(f"EVScheduling residential, 200 vehicles: population of 60, vehicle ({nv} variables) "
          f"{1e3 * tv:.2f} ms, aggregate {1e3 * ta:.2f} ms, ratio {tv / ta:.2f}; "
          f"load average {os.getloadavg()[0]:.2f}")


def bench_staged_planning(repeat: int, n_gen: int = 0) -> None:
    import os

    from problems.staged_planning import StagedPlanning

    targets_min = {"ieee33": 5.0, "ieee123": 10.0}  # issue 15: one GA run of 100 x 200
    for case, target in targets_min.items():
        prob = StagedPlanning("D", config={"case": case})
        X = np.random.default_rng(0).uniform(prob.xl, prob.xu, (100, prob.n_var))
        plans = prob.plans(X)
        prob.evaluate(X)  # compile / warm caches
        t_low, t_all, cpu = [], [], []
        for _ in range(max(repeat, 3)):
            t0 = time.perf_counter()
            for a in range(0, 100, prob.chunk_size()):  # in the evaluation's chunks
                prob.operate({k: v[a : a + prob.chunk_size()] for k, v in plans.items()})
            t1 = time.perf_counter()
            c0 = time.process_time()
            prob.evaluate(X)
            t2 = time.perf_counter()
            cpu.append(time.process_time() - c0)
            t_low.append(t1 - t0)
            t_all.append(t2 - t1)
        med = float(np.median(t_all))
        line = (
            f"StagedPlanning {case}, scheme D: population of 100 in {med:6.2f} s wall, "
            f"{float(np.median(cpu)):5.2f} s CPU (lower level before the power flow "
            f"{float(np.median(t_low)):5.2f} s); 200 generations ~ {200 * med / 60:5.1f} min "
            f"(target {target:.0f} min)"
        )
        if n_gen > 0:
            from pymoo.optimize import minimize

            from algorithms import ga

            t0 = time.perf_counter()
            minimize(prob, ga(pop_size=100), ("n_gen", n_gen), seed=0)
            line += f"; GA 100 x {n_gen} measured {(time.perf_counter() - t0) / 60:5.1f} min"
        print(f"{line}; load average {os.getloadavg()[0]:.2f}")


def bench_sop_planning(repeat: int) -> None:
    """SOPPlanning (paper 002): a population of 50 with the SOP dispatch for 24 h on one core (plans 2
    and 4), split into the two sweeps and the dispatcher (median of ``repeat`` calls)."""
    import contextlib
    import os

    import numba

    from grid import sop
    from grid.powerflow import solve
    from problems.sop_planning import SOPPlanning

    numba.set_num_threads(1)
    try:  # numpy's BLAS (the batched Newton solves) on one thread too
        from threadpoolctl import threadpool_limits

        limit: contextlib.AbstractContextManager = threadpool_limits(1)
    except ImportError:  # pragma: no cover
        limit = contextlib.nullcontext()

    with limit:
        for plan in (2, 4):
            prob = SOPPlanning(plan=plan)
            X = np.random.default_rng(0).uniform(prob.xl, prob.xu, (50, prob.n_var))
            p = np.broadcast_to(prob._p_load + (prob._ev_unc if plan == 2 else 0.0), (50, 24, prob.net.n_bus))
            q = np.broadcast_to(prob._q_load, p.shape)
            base = solve(prob.net, p, q)
            s_kva, _ = prob._split(X)
            t_eval = _median(lambda: prob.evaluate(X), repeat)  # noqa: B023
            t_pf = _median(lambda: solve(prob.net, p, q), repeat)  # noqa: B023
            t_disp = _median(lambda: sop.dispatch(prob.sops, s_kva[:, None], base.v_pu, base.i_a), repeat)  # noqa: B023
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            print(
                f"SOPPlanning ieee33 plan {plan}: population of 50 x 24 h in {1e3 * t_eval:7.2f} ms "
                f"(SOP dispatch {1e3 * t_disp:6.2f} ms, one sweep {1e3 * t_pf:6.2f} ms of two, the rest "
                f"{1e3 * (t_eval - t_disp - 2 * t_pf):6.2f} ms; target 200 ms); load average {load:.2f}"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions (best is reported)")
    parser.add_argument(
        "--run-gens", type=int, default=200, help="iterations of the timed scheme-1 runs (0 skips them)"
    )
    parser.add_argument(
        "--evs-gens", type=int, default=300, help="iterations of the timed EVSSiting MOPSO run (0 skips it)"
    )
    parser.add_argument(
        "--ev-gens", type=int, default=300, help="iterations of the timed EVScheduling runs (0 skips them)"
    )
    parser.add_argument(
        "--staged-gens", type=int, default=0,
        help="generations of a measured StagedPlanning GA run (pop 100) per feeder (0, default, skips it)",
    )
    parser.add_argument(
        "--only",
        choices=("dg_siting", "dgevcs", "evs_siting", "ev_scheduling", "staged_planning", "sop_planning"),
        default=None,
        help="run only this section",
    )
    args = parser.parse_args(argv)
    import numba

    print(f"numba threads: {numba.get_num_threads()}")
    if args.only in (None, "dg_siting"):
        bench_dg_siting(args.repeat)
    if args.only in (None, "dgevcs"):
        bench_dgevcs(args.repeat)
        if args.run_gens > 0:
            bench_scheme1_run(args.run_gens)
    if args.only in (None, "evs_siting"):
        bench_evs_siting(args.repeat, args.evs_gens)
    if args.only in (None, "ev_scheduling"):
        bench_ev_scheduling(args.repeat, args.ev_gens)
    if args.only in (None, "staged_planning"):
        bench_staged_planning(args.repeat, args.staged_gens)
    if args.only in (None, "sop_planning"):
        bench_sop_planning(args.repeat)


if __name__ == "__main__":
    main()
