"""Power-flow throughput: the batched numba BFS against pandapower's Newton-Raphson.

Run ``python -m benchmarks.powerflow`` (about two minutes) or ``python -m benchmarks.powerflow --quick``
(a few seconds). Prints power flows per second (PF/s) of :func:`grid.powerflow.solve` on ieee33 and
pge69 for batch sizes 1, 24, 1e3 and 1e5, with one numba thread and with all threads, and
pandapower's per-call time (default options, and its fastest time-series options), with the ratios.
At the largest batch it also times ``solve`` with per-candidate branch impedances (``r_ohm``,
``x_ohm`` of shape ``(batch, n_branch)``) beside the plain call, interleaved, with their ratio
(``--impedance-only`` runs just those rows).

Figures are warm: the kernel is compiled (or loaded from numba's cache) before timing, and the
first-call time is printed on its own. Each figure is the median over repeats; a small batch is
called many times per repeat so that one repeat lasts at least ``--min-time`` seconds. Beside the
wall-clock rate, ``PF/CPU-s`` divides by the process CPU time (all threads), which a shared,
loaded machine disturbs far less than the wall clock. Operating
points are random per-bus load scalings in [0.5, 1.5] (seeded), so every case iterates.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numba
import numpy as np

from grid import cases
from grid.io import to_pandapower
from grid.network import Network
from grid.powerflow import solve

FEEDERS = ("ieee33", "pge69")


def _median_time(fn: Callable[[], object], *, repeats: int, min_time: float) -> tuple[float, float]:
    """Median wall and process-CPU seconds per call of ``fn`` over ``repeats`` repeats.

    Each repeat lasts at least ``min_time`` seconds. CPU time (``time.process_time``, all threads)
    is what the work costs when the machine is shared and the wall clock counts other processes.
    """
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    number = max(1, int(min_time / once))
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(number):
            fn()
        wall.append((time.perf_counter() - t0) / number)
        cpu.append((time.process_time() - c0) / number)
    return float(np.median(wall)), float(np.median(cpu))


def _operating_points(net: Network, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    scale = rng.uniform(0.5, 1.5, (n, net.n_bus))
    return scale * net.p_kw, scale * net.q_kvar


def bench_pandapower(net: Network, rng: np.random.Generator, *, calls: int) -> dict[str, float]:
    """Seconds per ``pp.runpp`` call, default options and fastest time-series options.

    The fastest mode follows pandapower's own time-series loop: ``recycle=dict(trafo=False,
    gen=False, bus_pq=True)`` (reuse the stored Ybus and internal tables, update only the PQ
    injections), ``init="results"`` (warm start from the previous solution),
    ``calculate_voltage_angles=False`` and ``check_connectivity=False``. Line results (losses,
    currents) are still computed, as ours are.
    """
    import pandapower as pp

    ppn = to_pandapower(net)
    p, q = _operating_points(net, calls, rng)
    out = {}

    def run_all(**kw):
        t0 = time.perf_counter()
        for c in range(calls):
            ppn.load["p_mw"] = p[c] / 1e3
            ppn.load["q_mvar"] = q[c] / 1e3
            pp.runpp(ppn, **kw)
        return (time.perf_counter() - t0) / calls

    pp.runpp(ppn)                                            # import and numba warm-up of pandapower
    out["default"] = run_all()
    fast = dict(recycle=dict(trafo=False, gen=False, bus_pq=True), init="results",
                calculate_voltage_angles=False, check_connectivity=False)
    pp.runpp(ppn, **fast)                                    # stores the internal variables to recycle
    out["fastest"] = run_all(**fast)
    return out


def bench_impedance(net: Network, p: np.ndarray, q: np.ndarray, rng: np.random.Generator, *,
                    threads: list[int], repeats: int, min_time: float) -> None:
    """PF/s of ``solve`` with per-candidate ``r_ohm``/``x_ohm`` beside the plain call, same batch.

    Three rows per thread count, timed in alternation (plain, same, reinforced, plain, ...) so that
    a noisy neighbour disturbs all three alike and their ratios are of one run:

    * ``plain``: no impedance argument (the network's own, one row);
    * ``per-case, own values``: one ``(n, n_branch)`` row per case equal to the network's, so every
      case does the same sweeps as in ``plain`` and the ratio is the pure cost of the per-case path
      (validation, the per-unit table, the row index, the row lookup in the kernel);
    * ``per-case, reinforced``: each case scales a random third of its branches by 0.3-1.2 (as a
      population of reinforcement plans would); its iteration count differs, so it is printed.
    """
    n = p.shape[0]
    r_same = np.tile(net.r_ohm, (n, 1))
    x_same = np.tile(net.x_ohm, (n, 1))
    factor = np.where(rng.random((n, net.n_branch)) < 0.33, rng.uniform(0.3, 1.2, (n, net.n_branch)), 1.0)
    r_re, x_re = net.r_ohm * factor, net.x_ohm * np.sqrt(factor)
    calls = {
        "plain": lambda: solve(net, p, q),
        "per-case, own values": lambda: solve(net, p, q, r_ohm=r_same, x_ohm=x_same),
        "per-case, reinforced": lambda: solve(net, p, q, r_ohm=r_re, x_ohm=x_re),
    }
    iters = {k: float(f().iterations.mean()) for k, f in calls.items()}
    print(f"  per-candidate impedance, batch {n} (mean iterations: "
          + ", ".join(f"{k} {v:.2f}" for k, v in iters.items()) + ")")
    print(f"  {'path':>22} {'threads':>7} {'PF/s (wall)':>12} {'PF/CPU-s':>12} {'ratio to plain':>15}")
    for th in threads:
        numba.set_num_threads(th)
        wall: dict[str, list[float]] = {k: [] for k in calls}
        cpu: dict[str, list[float]] = {k: [] for k in calls}
        for _ in range(repeats):
            for k, f in calls.items():
                w, c = _median_time(f, repeats=1, min_time=min_time)
                wall[k].append(w)
                cpu[k].append(c)
        base = float(np.median(wall["plain"]))
        for k in calls:
            sec = float(np.median(wall[k]))
            print(f"  {k:>22} {th:>7} {n / sec:>12,.0f} {n / float(np.median(cpu[k])):>12,.0f} "
                  f"{base / sec:>15.3f}")
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def cold_compile_seconds() -> float:
    """Seconds of the first ``solve`` in a fresh interpreter with an empty numba cache (compile)."""
    code = ("import time; from grid import cases; from grid.powerflow import solve; "
            "n = cases.load('ieee33'); t = time.perf_counter(); solve(n, n.p_kw, n.q_kvar); "
            "print(time.perf_counter() - t)")
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([sys.executable, "-c", code], env=os.environ | {"NUMBA_CACHE_DIR": cache},
                             capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small batches and few repeats (seconds)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats per figure (default 7, quick 3)")
    parser.add_argument("--min-time", type=float, default=None, help="seconds per repeat (default 0.2)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--impedance-only", action="store_true",
                        help="only the per-candidate impedance rows, at the largest batch")
    args = parser.parse_args(argv)

    quick = args.quick
    batches = (1, 24, 1_000, 10_000) if quick else (1, 24, 1_000, 100_000)
    repeats = args.repeats or (3 if quick else 7)
    min_time = args.min_time if args.min_time is not None else (0.05 if quick else 0.2)
    pp_calls = 20 if quick else 200
    all_threads = numba.config.NUMBA_NUM_THREADS
    threads = sorted({1, all_threads})
    rng = np.random.default_rng(args.seed)

    print(f"numba {numba.__version__}, {all_threads} threads available; warm figures (compile excluded), "
          f"median of {repeats} repeats")
    if args.impedance_only:
        for name in FEEDERS:
            net = cases.load(name)
            p, q = _operating_points(net, max(batches), rng)
            solve(net, p[:1], q[:1])                                  # compile or cache load
            print(f"\n{name}: {net.n_bus} buses")
            bench_impedance(net, p, q, rng, threads=threads, repeats=repeats, min_time=min_time)
        return
    if not quick:
        print(f"cold compile of the kernel (fresh process, empty numba cache): "
              f"{cold_compile_seconds():.1f} s")
    for name in FEEDERS:
        net = cases.load(name)
        p, q = _operating_points(net, max(batches), rng)
        t0 = time.perf_counter()
        res = solve(net, p[:1], q[:1])
        first = time.perf_counter() - t0
        print(f"\n{name}: {net.n_bus} buses; first call (compile or numba cache load) {first:.2f} s; "
              f"mean iterations {solve(net, p[:1000], q[:1000]).iterations.mean():.2f} at tol 1e-8")
        if not res.converged.all():
            raise RuntimeError(f"{name}: the benchmark's operating point did not converge")
        print(f"  {'batch':>7} {'threads':>7} {'PF/s (wall)':>12} {'us/PF':>9} {'PF/CPU-s':>12}")
        rate_1t = {}
        for n in batches:
            pb, qb = p[:n], q[:n]
            for th in threads:
                numba.set_num_threads(th)
                sec, cpu = _median_time(lambda net=net, pb=pb, qb=qb: solve(net, pb, qb),
                                        repeats=repeats, min_time=min_time)
                rate = n / sec
                if th == 1:
                    rate_1t[n] = rate
                print(f"  {n:>7} {th:>7} {rate:>12,.0f} {1e6 / rate:>9.2f} {n / cpu:>12,.0f}")
        numba.set_num_threads(all_threads)
        bench_impedance(net, p, q, rng, threads=threads, repeats=repeats, min_time=min_time)
        pp_t = bench_pandapower(net, rng, calls=pp_calls)
        single, _ = _median_time(lambda net=net, p0=p[0], q0=q[0]: solve(net, p0, q0),
                                 repeats=repeats, min_time=min_time)
        print(f"  pandapower NR ({pp_calls} calls): default {1e3 * pp_t['default']:.2f} ms/call "
              f"({1 / pp_t['default']:,.0f} PF/s); fastest time-series mode "
              f"{1e3 * pp_t['fastest']:.2f} ms/call ({1 / pp_t['fastest']:,.0f} PF/s)")
        big = rate_1t[max(batches)]
        print(f"  ratio, ours batch {max(batches)} 1 thread / pandapower fastest: "
              f"{big * pp_t['fastest']:,.0f}x (default: {big * pp_t['default']:,.0f}x)")
        print(f"  ratio, ours batch 1 / pandapower fastest: {pp_t['fastest'] / single:,.0f}x")


if __name__ == "__main__":
    main()
