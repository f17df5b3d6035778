"""grid.flexibility: 002 eqs. (18)-(21) on hand-computed cases, the current-limit rule, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from grid import cases, flexibility, storage
from grid.powerflow import solve


def test_current_limits_rule_keeps_real_ratings():
    net = cases.load("ieee33")
    res = solve(net, net.p_kw, net.q_kvar)
    lim = flexibility.with_current_limits(net, factor=2.0)
    np.testing.assert_allclose(lim.i_max_a, 2.0 * np.abs(res.i_a))
    rated = net.i_max_a.copy()
    rated[0] = 400.0
    own = flexibility.with_current_limits(dataclasses.replace(net, i_max_a=rated), factor=3.0)
    assert own.i_max_a[0] == 400.0 and own.i_max_a[1] == pytest.approx(3.0 * abs(res.i_a[1]))
    # loading at 1.5 x nominal load is about 1.5 / factor (a little more: losses grow faster)
    heavy = solve(lim, 1.5 * net.p_kw, 1.5 * net.q_kvar)
    ibf = flexibility.branch_loading_index(heavy.i_a[None], lim.i_max_a)
    assert 0.75 < float(ibf) < 0.85
    with pytest.raises(flexibility.FlexibilityError, match="with_current_limits"):
        flexibility.branch_loading_index(heavy.i_a[None], net.i_max_a)
    with pytest.raises(flexibility.FlexibilityError):
        flexibility.with_current_limits(net, factor=0.0)
    # uniform rule: one rating, factor x the head branch's nominal current, rated branches kept
    uni = flexibility.with_current_limits(dataclasses.replace(net, i_max_a=rated), rule="uniform")
    assert uni.i_max_a[0] == 400.0
    np.testing.assert_allclose(uni.i_max_a[1:], 2.0 * np.abs(res.i_a).max())
    with pytest.raises(flexibility.FlexibilityError, match="rule"):
        flexibility.with_current_limits(net, rule="thermal")


def test_flexibility_index_readings():
    p = np.array([1000.0, 1200.0, 1100.0, 1100.0])  # ramps +200, -100, 0, -100 (cyclic)
    up = np.array([400.0, 400.0, 400.0, 400.0])
    down = np.array([50.0, 50.0, 50.0, 50.0])
    # direction: 400/200, 50/100, 50/max(0, 1 % of 1200 = 12), 50/100
    want = (2.0 + 0.5 + 50.0 / 12.0 + 0.5) / 4
    assert float(flexibility.flexibility_index(up, down, p)) == pytest.approx(want)
    lit = flexibility.flexibility_index(up[:2], down[:2], p[:2], mode="literal")
    assert float(lit) == pytest.approx(350.0 / (2 * 200.0) + 350.0 / (2 * -200.0))  # = 0: sign cancels
    assert not np.isfinite(flexibility.flexibility_index(up, down, p, mode="literal"))  # flat hour
    with pytest.raises(flexibility.FlexibilityError):
        flexibility.flexibility_index(up, down, p, mode="other")


def test_storage_up_down_and_grid():
    b = storage.battery([100.0], [400.0])  # 40..360 kWh window
    pc = np.zeros((1, 24))
    pd = np.zeros((1, 24))
    pc[0, 3] = 50.0
    e = np.full((1, 24), 45.0)
    up, down = flexibility.storage_up_down(pc, pd, e, b)
    assert up[3] == pytest.approx(50.0 + 0.95 * 5.0)  # drop the charge + discharge the 5 kWh above 40
    assert down[0] == pytest.approx(100.0) and down[3] == pytest.approx(50.0)
    fu, fd = flexibility.up_down(np.full(24, 3000.0), 5500.0, up, down)
    assert fu[3] == pytest.approx(2500.0 + up[3]) and fd[0] == pytest.approx(3000.0 + 100.0)
    assert float(flexibility.flexibility(1.5, 0.4)) == pytest.approx(1.1)
