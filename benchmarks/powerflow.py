"""Power-flow throughput: the batched numba BFS against pandapower and OpenDSS.

Run ``python -m benchmarks.powerflow`` (about three minutes on a quiet machine) or ``python -m
benchmarks.powerflow --quick`` (under a minute); ``--feeders ieee34 ieee123`` runs a subset.
Prints power flows per second (PF/s) of :func:`grid.powerflow.solve` on ieee33, pge69, ieee34 and
ieee123 for batch sizes 1, 24, 1e3 and 1e5 (quick: 1e4 at most), with one numba
thread and with all threads, and each feeder's mean iteration count (ieee34 takes about twice the
sweeps of ieee33, hence its lower PF/s).

References, measured in the same run:

* ieee33, pge69: pandapower's per-call time (default options, and its fastest time-series options),
  with the ratios. At the largest batch it also times ``solve`` with per-candidate branch impedances
  (``r_ohm``, ``x_ohm`` of shape ``(batch, n_branch)``) beside the plain call, interleaved, with
  their ratio (``--impedance-only`` runs just those rows).
* ieee34, ieee123: OpenDSS (dss-python, the DSS C-API engine) snapshot solves per second of the
  shipped three-phase models (``grid/data/opendss/*/*_fixed_taps.dss``, regulator taps fixed,
  ``controlmode=off``). Before each solve every load's kW and kvar is scaled by its own random
  factor in [0.5, 1.5], so no solve is a re-solve of the previous one. Printed twice: the engine's
  solve time alone, and with the per-load update through the Python API included. The ratio ours /
  OpenDSS uses the solve alone. OpenDSS solves the three-phase unbalanced model (to its default
  tolerance 1e-4); ours the balanced equivalent (tol 1e-8), so the ratio compares tools on one
  feeder, not equal work. dss-python is optional: without it the OpenDSS rows are skipped.

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

FEEDERS = ("ieee33", "pge69", "ieee34", "ieee123")
#: Feeders with the pandapower reference and the per-candidate impedance rows.
PANDAPOWER_FEEDERS = ("ieee33", "pge69")
#: Feeders with the OpenDSS reference: the shipped three-phase model, folder and top file.
OPENDSS_MODELS = {
    "ieee34": ("ieee34", "ieee34_fixed_taps.dss"),
    "ieee123": ("ieee123", "ieee123_fixed_taps.dss"),
}


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


def bench_opendss(name: str, rng: np.random.Generator, *, solves: int,
                  repeats: int) -> dict[str, float] | None:
    """OpenDSS snapshot solves per second on the shipped three-phase model of ``name``, warm.

    Each solve follows a change of every load (kW and kvar times one random factor per load in
    [0.5, 1.5]) made through the Python API. Returns the medians over ``repeats`` blocks of
    ``solves`` solves: ``solve`` (the engine's ``Solution.Solve`` alone, s/solve), ``with_update``
    (the load update included) and the mean ``iterations``; ``None`` without dss-python.
    """
    try:
        import dss
    except ImportError:
        return None
    from importlib.resources import as_file, files

    folder, top = OPENDSS_MODELS[name]
    here = os.getcwd()  # the engine's Compile changes the process's directory
    eng = dss.DSS
    try:
        with as_file(files("grid") / "data" / "opendss" / folder / top) as path:
            eng.Text.Command = "clear"
            eng.Text.Command = f"compile [{path}]"
    finally:
        os.chdir(here)
    ckt = eng.ActiveCircuit
    sol, loads = ckt.Solution, ckt.Loads
    base = []
    k = loads.First
    while k:
        base.append((loads.kW, loads.kvar))
        k = loads.Next
    kw0, kvar0 = np.array(base).T

    def block(factors: np.ndarray) -> tuple[float, float, float]:
        t_solve, iters = 0.0, 0
        t0 = time.perf_counter()
        for f in factors:
            kw, kvar = (kw0 * f).tolist(), (kvar0 * f).tolist()
            j, k = 0, loads.First
            while k:
                loads.kW = kw[j]
                loads.kvar = kvar[j]
                j, k = j + 1, loads.Next
            t1 = time.perf_counter()
            sol.Solve()
            t_solve += time.perf_counter() - t1
            if not sol.Converged:
                raise RuntimeError(f"{name}: OpenDSS did not converge")
            iters += sol.Iterations
        n = len(factors)
        return t_solve / n, (time.perf_counter() - t0) / n, iters / n

    block(rng.uniform(0.5, 1.5, (max(20, solves // 5), len(kw0))))  # warm-up
    runs = [block(rng.uniform(0.5, 1.5, (solves, len(kw0)))) for _ in range(repeats)]
    t_solve, t_all, iters = (float(np.median(c)) for c in zip(*runs, strict=True))
    return {"solve": t_solve, "with_update": t_all, "iterations": iters, "loads": float(len(kw0))}


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
    parser.add_argument("--feeders", nargs="+", choices=FEEDERS, default=list(FEEDERS),
                        help="feeders to run (default: all)")
    args = parser.parse_args(argv)

    quick = args.quick
    batches = (1, 24, 1_000, 10_000) if quick else (1, 24, 1_000, 100_000)
    repeats = args.repeats or (3 if quick else 7)
    min_time = args.min_time if args.min_time is not None else (0.05 if quick else 0.2)
    pp_calls = 20 if quick else 200
    dss_solves = 100 if quick else 500
    all_threads = numba.config.NUMBA_NUM_THREADS
    threads = sorted({1, all_threads})
    rng = np.random.default_rng(args.seed)

    print(f"numba {numba.__version__}, {all_threads} threads available; warm figures (compile excluded), "
          f"median of {repeats} repeats")
    if args.impedance_only:
        for name in (f for f in args.feeders if f in PANDAPOWER_FEEDERS):
            net = cases.load(name)
            p, q = _operating_points(net, max(batches), rng)
            solve(net, p[:1], q[:1])                                  # compile or cache load
            print(f"\n{name}: {net.n_bus} buses")
            bench_impedance(net, p, q, rng, threads=threads, repeats=repeats, min_time=min_time)
        return
    if not quick:
        print(f"cold compile of the kernel (fresh process, empty numba cache): "
              f"{cold_compile_seconds():.1f} s")
    for name in args.feeders:
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
        big = rate_1t[max(batches)]
        if name in OPENDSS_MODELS:
            ref = bench_opendss(name, rng, solves=dss_solves, repeats=repeats)
            if ref is None:
                print("  OpenDSS: dss-python is not installed, the OpenDSS column is skipped")
                continue
            print(f"  OpenDSS (dss-python, {dss_solves} solves x {repeats} repeats, {ref['loads']:.0f} "
                  f"loads re-scaled at random before each solve; mean iterations {ref['iterations']:.2f} "
                  f"at its tol 1e-4): {1 / ref['solve']:,.0f} solves/s (solve alone), "
                  f"{1 / ref['with_update']:,.0f} solves/s (load update through the Python API included)")
            print(f"  ratio, ours batch {max(batches)} 1 thread / OpenDSS solve alone: "
                  f"{big * ref['solve']:,.0f}x (with its load update: {big * ref['with_update']:,.0f}x); "
                  f"ours batch 1 / OpenDSS solve alone: {rate_1t[1] * ref['solve']:.1f}x; "
                  f"OpenDSS solves the three-phase unbalanced model; ours the balanced equivalent")
            continue
        bench_impedance(net, p, q, rng, threads=threads, repeats=repeats, min_time=min_time)
        pp_t = bench_pandapower(net, rng, calls=pp_calls)
        single, _ = _median_time(lambda net=net, p0=p[0], q0=q[0]: solve(net, p0, q0),
                                 repeats=repeats, min_time=min_time)
        print(f"  pandapower NR ({pp_calls} calls): default {1e3 * pp_t['default']:.2f} ms/call "
              f"({1 / pp_t['default']:,.0f} PF/s); fastest time-series mode "
              f"{1e3 * pp_t['fastest']:.2f} ms/call ({1 / pp_t['fastest']:,.0f} PF/s)")
        print(f"  ratio, ours batch {max(batches)} 1 thread / pandapower fastest: "
              f"{big * pp_t['fastest']:,.0f}x (default: {big * pp_t['default']:,.0f}x)")
        print(f"  ratio, ours batch 1 / pandapower fastest: {pp_t['fastest'] / single:,.0f}x")


if __name__ == "__main__":
    main()
