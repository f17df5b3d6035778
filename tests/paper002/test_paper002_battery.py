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


def test_flex_diagnosis_parts_add_up_to_the_problems_i_f():
    from experiments.paper002.flex_diagnosis import diagnose

    d = diagnose([810.0, 570.0, 80.0], [400.0, 500.0, 0.0])
    for plan in (1, 2, 4):
        col = d[plan]
        # rising + falling hours rebuild eq. (18) (direction reading) from eq. (19)'s terms
        assert abs(col["from rising hours"] + col["from falling hours"] - col["I_F"]) < 2e-3
        assert abs(col["I_F"] - col["I_BF nominal rule"] - col["F nominal rule"]) < 2e-3
    # no regulating storage in plans 1-2: I_F is the main grid's alone; plan 4's stations add to it
    assert d[1]["main-grid share of I_F"] == d[2]["main-grid share of I_F"] == 1.0
    assert d[4]["main-grid share of I_F"] < 1.0
