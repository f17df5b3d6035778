"""Gap of the cluster heuristic to the exact LP across station capacities (issue 16).

Run ``python -m benchmarks.dispatch_gap`` (about half a minute). For each fleet sample (003's
preset, :func:`grid.ev.fleet_003`, seeds ``--seeds``) and each capacity per station (``--caps``,
the same on all 5 stations; default 100-500 kW in 25 kW steps, the range ``DGEVCSPlanning``
searches), it runs :func:`grid.dispatch.dispatch_heuristic` and :func:`grid.dispatch.dispatch_lp`
with 003's prices (:func:`grid.tariffs.v2g_prices` of :func:`grid.tariffs.tou_003`) and prints

* the gap ``(cost_heuristic - cost_lp) / |cost_lp|`` of the summed station costs (the LP relaxes
  the cluster rules, so it is a lower bound and the gap is >= 0);
* unserved kWh per day summed over the stations, heuristic / LP.

and, last, the worst gap per capacity and over the whole sweep.
"""

from __future__ import annotations

import argparse

import numpy as np

from grid import dispatch, ev, tariffs

DEFAULT_SEEDS = (101, 202, 303, 404, 505, 606, 707, 808)
DEFAULT_CAPS = tuple(float(c) for c in range(100, 501, 25))


def sweep(
    seeds: tuple[int, ...] = DEFAULT_SEEDS,
    caps_kw: tuple[float, ...] = DEFAULT_CAPS,
    **heuristic_kw: object,
) -> dict[str, np.ndarray]:
    """Gap and unserved energy, heuristic vs LP, per seed and capacity.

    Returns
    -------
    dict of ``(n_seeds, n_caps)`` arrays: ``gap``, ``unserved_h``, ``unserved_lp`` (kWh/day, all
    stations), ``cost_h``, ``cost_lp`` (CNY/day, all stations).
    """
    c, v = tariffs.v2g_prices(tariffs.tou_003())
    shape = (len(seeds), len(caps_kw))
    keys = ("gap", "gap_cl", "unserved_h", "unserved_lp", "unserved_cl", "cost_h", "cost_lp", "cost_cl")
    out = {k: np.zeros(shape) for k in keys}
    for i, seed in enumerate(seeds):
        m = dispatch.dispatch_model(ev.sample_fleet(ev.fleet_003(), np.random.default_rng(seed)))
        cap = np.repeat(np.asarray(caps_kw, dtype=np.float64)[:, None], m.n_stations, axis=1)
        h = dispatch.dispatch_heuristic(m, cap, c, v, **heuristic_kw)
        lp = dispatch.dispatch_lp(m, cap, c, v)
        lpc = dispatch.dispatch_lp(m, cap, c, v, per_cluster=True)
        ch, cl, cc = h.cost_cny.sum((1, 2)), lp.cost_cny.sum((1, 2)), lpc.cost_cny.sum((1, 2))
        out["cost_h"][i], out["cost_lp"][i], out["cost_cl"][i] = ch, cl, cc
        out["gap"][i] = (ch - cl) / np.abs(cl)
        out["gap_cl"][i] = (ch - cc) / np.abs(cc)
        out["unserved_cl"][i] = lpc.unserved_kwh.sum((1, 2))
        out["unserved_h"][i] = h.unserved_kwh.sum((1, 2))
        out["unserved_lp"][i] = lp.unserved_kwh.sum((1, 2))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    ap.add_argument("--caps", type=float, nargs="+", default=list(DEFAULT_CAPS))
    args = ap.parse_args(argv)
    seeds, caps = tuple(args.seeds), tuple(args.caps)
    r = sweep(seeds, caps)
    print("gap to LP (%) | unserved kWh/day heuristic / LP, per fleet seed (rows) and kW per station")
    print("(LP: the aggregated storage LP, dispatch_lp; the cluster LP, per_cluster=True, after the table)")
    print(f"{'seed':>6} " + " ".join(f"{c:>15.0f}" for c in caps))
    for i, s in enumerate(seeds):
        cells = [
            f"{100 * r['gap'][i, j]:5.2f}|{r['unserved_h'][i, j]:4.0f}/{r['unserved_lp'][i, j]:<4.0f}"
            for j in range(len(caps))
        ]
        print(f"{s:>6} " + " ".join(f"{x:>15}" for x in cells))
    worst = r["gap"].max(axis=0)
    print(f"{'worst':>6} " + " ".join(f"{100 * w:>14.2f}%" for w in worst))
    worst_cl = r["gap_cl"].max(axis=0)
    print(f"{'cl-LP':>6} " + " ".join(f"{100 * w:>14.2f}%" for w in worst_cl))
    ex = (r["unserved_h"] - r["unserved_cl"]).max(axis=0)
    print(f"{'dE_cl':>6} " + " ".join(f"{x:>15.1f}" for x in ex))
    print("(worst: worst gap to the aggregate LP; cl-LP: worst gap to the cluster LP;")
    print(" dE_cl: most unserved kWh of the heuristic above the cluster LP's)")
    for key, name in (("gap", "aggregate LP"), ("gap_cl", "cluster LP")):
        i, j = np.unravel_index(np.argmax(r[key]), r[key].shape)
        print(
            f"worst gap to the {name} over the sweep: {100 * r[key][i, j]:.2f} % "
            f"(seed {seeds[i]}, {caps[j]:.0f} kW per station)"
        )


if __name__ == "__main__":
    main()
