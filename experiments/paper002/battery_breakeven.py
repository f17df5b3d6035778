"""Why plan 3 builds no battery: the operating saving a kWh of battery buys against its annuity.

Usage::

    python -m experiments.paper002.battery_breakeven [--sop 810 570 80] [--sizes 10 100 250 500 1000]

Plan 3 of :class:`problems.sop_planning.SOPPlanning` is evaluated at fixed SOP ratings (default:
plan 2's optimum of ``sop_ieee33.toml``) and fixed battery energies, one station bus at a time and
all four together. For each size it prints the yearly operating saving ``C_PC + C_NLC`` against
no battery (CNY/yr, and per kWh of battery), the marginal saving of the last step, and the battery
annuity per kWh-yr at the configured price (``Config002.battery_cny_per_kwh``, ``battery_cny_per_kw``,
``battery_hours``, ``battery_life_y``, the CRF at ``rate``). ``price share`` = saving / annuity:
below 1 the battery costs more than it saves. A battery is built by a cost-minimising search once the
price falls below the best first-kWh share times the configured price (the break-even price).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd


def annuity_per_kwh(cfg: object) -> float:
    """Yearly cost of one kWh of plan 3's battery (with its kW at ``E / battery_hours``), CNY/yr."""
    from grid.sop import capital_recovery_factor

    rate = cfg.rate if cfg.annuity == "crf" else 0.0  # type: ignore[attr-defined]
    crf = capital_recovery_factor(rate, cfg.battery_life_y)  # type: ignore[attr-defined]
    return float(crf * (cfg.battery_cny_per_kwh + cfg.battery_cny_per_kw / cfg.battery_hours))  # type: ignore[attr-defined]


def breakeven(prob: object, sop_kva: Sequence[float], sizes: Sequence[float]) -> pd.DataFrame:
    """One row per (where, size): saving, marginal saving, price share (module docstring)."""
    sizes = np.asarray(sorted(float(s) for s in sizes))
    buses = list(prob.config.station_buses)  # type: ignore[attr-defined]
    where = [(f"bus {b}", np.eye(4)[j]) for j, b in enumerate(buses)] + [("all four", np.ones(4))]
    E = np.vstack([np.zeros(4)] + [e * mask for _, mask in where for e in sizes])
    X = np.c_[np.tile(np.asarray(sop_kva, dtype=float), (len(E), 1)), E]
    c = prob.compute(X)  # type: ignore[attr-defined]
    op = (c["c_pc"] + c["c_nlc"]) * 1e4  # CNY/yr
    ann = annuity_per_kwh(prob.config)  # type: ignore[attr-defined]
    recs, k = [], 1
    for name, mask in where:
        prev_e, prev_op = 0.0, op[0]
        for e in sizes:
            kwh = e * mask.sum()
            save = op[0] - op[k]
            marg = (prev_op - op[k]) / (kwh - prev_e)
            recs.append(
                {
                    "where": name,
                    "kWh each": e,
                    "saving CNY/yr": round(save),
                    "per kWh-yr": round(save / kwh, 1),
                    "marginal per kWh-yr": round(marg, 1),
                    "annuity per kWh-yr": round(ann, 1),
                    "price share": round(marg / ann, 3),
                    "cost 1e4 CNY/yr": round(float(c["cost"][k]), 2),
                }
            )
            prev_e, prev_op, k = kwh, op[k], k + 1
    return pd.DataFrame(recs)


def main(argv: Sequence[str] | None = None) -> int:
    from problems.sop_planning import SOPPlanning

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sop", nargs=3, type=float, default=[810.0, 570.0, 80.0], help="SOP kVA on the ties")
    ap.add_argument("--sizes", nargs="+", type=float, default=[10.0, 100.0, 250.0, 500.0, 1000.0])
    args = ap.parse_args(argv)
    prob = SOPPlanning(plan=3)
    df = breakeven(prob, args.sop, args.sizes)
    print(df.to_string(index=False))
    best = df.loc[df["kWh each"] == df["kWh each"].min(), "price share"].max()
    cfg = prob.config
    print(
        f"\nbreak-even: the best first kWh saves {best:.3f} x its annuity; a battery pays below "
        f"{best * cfg.battery_cny_per_kwh:.0f} CNY/kWh + {best * cfg.battery_cny_per_kw:.0f} CNY/kW "
        f"(configured {cfg.battery_cny_per_kwh:g} + {cfg.battery_cny_per_kw:g})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
