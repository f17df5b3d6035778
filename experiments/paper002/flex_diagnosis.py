"""Why I_F, I_BF and F do not follow 002's table 6: the terms of eqs. (18)-(20) plan by plan.

Usage::

    python -m experiments.paper002.flex_diagnosis [--plan2 810 570 80] [--plan4 400 500 0]

Evaluates plans 1, 2 and 4 of :class:`problems.sop_planning.SOPPlanning` at the given SOP ratings
(defaults: the optima of ``sop_ieee33.toml``; plan 3 at the default battery price equals plan 2)
and prints, per plan: ``I_F`` in the default (direction) and literal readings of eq. (18); the part
of the direction reading's sum from rising hours (``F_U``) and falling hours (``F_D``); the share of
``F_U + F_D`` that is the main grid's (``S_head - P_MG`` and ``P_MG``, eq. (19)) rather than the
stations'; ``P_MG``'s daily mean and peak against ``S_head``; the mean |ramp| of the non-flexible
net load; and ``I_BF`` under both current-limit rules of :func:`grid.flexibility.with_current_limits`.
Then :func:`phase2_probe`: F with the SOPs' dispatch scaled from 0 (idle) to 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd


def diagnose(sop2: Sequence[float], sop4: Sequence[float]) -> pd.DataFrame:
    from grid import flexibility as fx
    from problems.sop_planning import SOPPlanning

    probs = {rule: {p: SOPPlanning(plan=p, config={"current_limit_rule": rule}) for p in (2, 4)}
             for rule in ("nominal", "uniform")}
    recs = []
    for plan, sop in ((1, sop2), (2, sop2), (4, sop4)):
        prob = probs["nominal"][4 if plan == 4 else 2]
        x = prob.encode(sop)
        out = prob.baseline() if plan == 1 else prob.compute(x)
        uni = probs["uniform"][4 if plan == 4 else 2]
        out_u = uni.baseline() if plan == 1 else uni.compute(x)
        cfg = prob.config
        slack = out["slack_kw"][0]
        p_nl = out["net_load_nonflex_kw"][0]
        up, down = out["storage_up_kw"][0], out["storage_down_kw"][0]
        fu, fd = fx.up_down(slack, cfg.head_kva, up, down)
        mu, md = fx.up_down(slack, cfg.head_kva)  # the main grid's terms alone
        dp = np.roll(p_nl, -1) - p_nl
        ramp = np.maximum(np.abs(dp), 0.01 * np.abs(p_nl).max())
        r = np.where(dp > 0, fu, fd) / ramp
        r_mg = np.where(dp > 0, mu, md) / ramp
        recs.append(
            {
                "plan": plan,
                "I_F": round(float(out["i_f"][0]), 3),
                "I_F literal": round(float(fx.flexibility_index(fu, fd, p_nl, mode="literal")), 3),
                "from rising hours": round(float(r[dp > 0].sum() / 24), 3),
                "from falling hours": round(float(r[dp <= 0].sum() / 24), 3),
                "main-grid share of I_F": round(float(r_mg.sum() / r.sum()), 3),
                "P_MG mean kW": round(float(slack.mean())),
                "P_MG peak kW": round(float(slack.max())),
                "hours P_MG > S_head": int((slack > cfg.head_kva).sum()),
                "mean |ramp| kW": round(float(np.abs(dp).mean())),
                "I_BF nominal rule": round(float(out["i_bf"][0]), 3),
                "I_BF uniform rule": round(float(out_u["i_bf"][0]), 3),
                "F nominal rule": round(float(out["flexibility"][0]), 3),
                "F uniform rule": round(float(out_u["flexibility"][0]), 3),
            }
        )
    return pd.DataFrame(recs).set_index("plan").T


def phase2_probe(sop2: Sequence[float], sop4: Sequence[float],
                 scales: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0)) -> pd.DataFrame:
    """F = I_F - I_BF with the SOPs' cost-optimal dispatch scaled by each of ``scales`` (0 idles
    them), plans 2 and 4, both current-limit rules: a probe of 002's phase 2 ("max F" over the
    operation), restricted to one line of operating points."""
    from problems.sop_planning import SOPPlanning

    recs = []
    for rule in ("nominal", "uniform"):
        for plan, sop in ((2, sop2), (4, sop4)):
            prob = SOPPlanning(plan=plan, config={"current_limit_rule": rule})
            x = prob.encode(sop)
            rec: dict[str, object] = {"plan": plan, "current limits": rule}
            for a in scales:
                rec[f"F at x{a:g}"] = round(float(prob.compute(x, dispatch_scale=a)["flexibility"][0]), 3)
            recs.append(rec)
    return pd.DataFrame(recs)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plan2", nargs=3, type=float, default=[810.0, 570.0, 80.0])
    ap.add_argument("--plan4", nargs=3, type=float, default=[400.0, 500.0, 0.0])
    args = ap.parse_args(argv)
    print(diagnose(args.plan2, args.plan4).to_string())
    print("\nphase 2 probe: F with the SOP dispatch scaled (x0 = SOPs idle)")
    print(phase2_probe(args.plan2, args.plan4).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
