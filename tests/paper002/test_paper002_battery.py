"""experiments.paper002.battery_breakeven: below the printed break-even price a battery lowers plan 3's
cost, above it it raises it (checked by re-pricing Config002, not by the script's own arithmetic)."""

from __future__ import annotations

import numpy as np

from experiments.paper002.battery_breakeven import annuity_per_kwh, breakeven
from problems.sop_planning import SOPPlanning

SOP = [810.0, 570.0, 80.0]


def test_breakeven_price_flips_the_battery_decision():
    prob = SOPPlanning(plan=3)
    df = breakeven(prob, SOP, [10.0])
    row = df[df["where"] == "bus 15"].iloc[0]
    assert row["annuity per kWh-yr"] == round(annuity_per_kwh(prob.config), 1)
    share = float(row["price share"])
    assert 0.0 < share < 1.0  # the default price does not pay: plan 3's optimum builds no battery
    x = np.r_[SOP, 0.0, 10.0, 0.0, 0.0]
    for scale, cheaper in ((0.95 * share, True), (1.05 * share, False)):
        c0 = prob.config
        cfg = {"battery_cny_per_kwh": c0.battery_cny_per_kwh * scale,
               "battery_cny_per_kw": c0.battery_cny_per_kw * scale}
        p = SOPPlanning(plan=3, config=cfg)
        cost = p.compute(np.vstack([np.r_[SOP, 0, 0, 0, 0], x]))["cost"]
        assert (cost[1] < cost[0]) == cheaper
