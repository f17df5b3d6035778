"""Speed of the grid models the planning loop calls: fleet sampling, station limits, V2G dispatch.

Run ``python -m benchmarks.grid_models`` (about half a minute; ``--repeats`` to change). Prints the
median wall time (and process CPU time) over repeats of

* sampling a 2,000-vehicle fleet (002's preset) and building its station limits, clusters and the
  plug-and-charge load (:func:`grid.dispatch.dispatch_model`);
* :func:`grid.dispatch.dispatch_heuristic` on 003's fleet (5 stations) for 1,000 candidates x 4
  scenarios x 24 hours, with per-candidate station capacities drawn in [150, 450] kW and 003's
  tariff scaled per scenario;
* :func:`grid.dispatch.plug_and_charge` (the first-come-first-served queue) for the same 1,000
  candidates with the whole 003 fleet plug-and-charge (003's scheme 2);
* :func:`grid.dispatch.dispatch_lp` for one candidate x 4 scenarios (the reference), per LP.

Accuracy of the heuristic against the LPs over station capacities: ``python -m
benchmarks.dispatch_gap``.

Figures are warm: numba kernels are compiled (or loaded from numba's cache) before timing, and the
first-call time is printed on its own. Numba runs single-threaded here (the kernels are serial).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from grid import dispatch, ev, tariffs


def _median_time(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall-clock and process-CPU seconds of ``fn()`` over ``repeats`` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return float(np.median(wall)), float(np.median(cpu))


def _fmt(w: float, c: float) -> str:
    return f"{1e3 * w:8.2f} ms wall, {1e3 * c:8.2f} ms CPU (medians)"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--candidates", type=int, default=1000)
    ap.add_argument("--scenarios", type=int, default=4)
    args = ap.parse_args(argv)

    spec002 = ev.fleet_002()

    def build() -> dispatch.StationFleet:
        v = ev.sample_fleet(spec002, np.random.default_rng(0))
        return dispatch.dispatch_model(v)

    n_veh = ev.sample_fleet(spec002, np.random.default_rng(0)).n_vehicles
    w, c = _median_time(build, args.repeats)
    print(f"sample {n_veh}-vehicle fleet (002) + station limits/clusters/load: {_fmt(w, c)}")

    v003 = ev.sample_fleet(ev.fleet_003(), np.random.default_rng(0))
    m = dispatch.dispatch_model(v003)
    rng = np.random.default_rng(1)
    cap = rng.uniform(150.0, 450.0, (args.candidates, m.n_stations))
    pch, pdis = tariffs.v2g_prices(tariffs.tou_003())
    scale = np.linspace(0.9, 1.1, args.scenarios)[:, None, None]
    pc = np.broadcast_to(pch, (args.scenarios, m.n_stations, 24)) * scale
    pdv = np.broadcast_to(pdis, (args.scenarios, m.n_stations, 24)) * scale
    t0 = time.perf_counter()
    dispatch.dispatch_heuristic(m, cap[:2], pc, pdv)
    print(f"heuristic first call (compile or cache load): {time.perf_counter() - t0:8.2f} s")
    w, c = _median_time(lambda: dispatch.dispatch_heuristic(m, cap, pc, pdv), args.repeats)
    print(
        f"heuristic dispatch, 003 fleet ({m.clusters.n_clusters} clusters), {args.candidates} candidates x "
        f"{args.scenarios} scenarios x 24 h x {m.n_stations} stations: {_fmt(w, c)}"
    )
    m_plug = dispatch.dispatch_model(v003, v2g=np.zeros(v003.n_vehicles, bool))
    dispatch.plug_and_charge(m_plug, cap[:2])
    w, c = _median_time(lambda: dispatch.plug_and_charge(m_plug, cap), args.repeats)
    print(f"plug-and-charge queue, 003 fleet all plug-and-charge, {args.candidates} candidates: {_fmt(w, c)}")
    n_lp = args.scenarios * m.n_stations
    w, c = _median_time(lambda: dispatch.dispatch_lp(m, cap[:1], pc, pdv), max(3, args.repeats // 5))
    print(
        f"LP reference, 1 candidate x {args.scenarios} scenarios x {m.n_stations} stations: "
        f"{1e3 * w:8.2f} ms wall ({1e3 * w / n_lp:.2f} ms per LP)"
    )


if __name__ == "__main__":
    main()
