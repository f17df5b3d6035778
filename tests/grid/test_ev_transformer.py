"""Paper 001's transformer-capacity model (eqs. 1-9) against the numbers of its sec. 6 and table 2."""

import numpy as np
import pytest

from grid import ev_transformer as et


def _residential():
    p_r = et.planned_region_load_kw(et.household_load_kw(8.0, 2000), demand_coeff=0.6, simultaneity=0.6)
    s_r = et.planned_capacity_kva(p_r, margin=0.8, power_factor=0.85)
    alpha = et.penetration_rate(500, 1000)
    s_ev = et.planned_ev_load_kw(7.0, penetration=alpha, n_cars=1000, simultaneity=0.6, efficiency=0.95)
    return p_r, s_r, s_ev


def test_residential_example_9_units_and_12_disordered():
    p_r, s_r, s_ev = _residential()
    assert p_r == pytest.approx(5760.0)
    assert s_r == pytest.approx(8470.588, rel=1e-6)  # 001: "about 9000 kVA"
    assert s_ev == pytest.approx(2210.526, rel=1e-6)
    assert et.transformer_units(s_r, 0.0, p_r, overlay=1.0) == 9
    # table 2's disordered overlay rate 0.96 -> 12 units with the margin reading ...
    assert et.transformer_units(s_r, s_ev, p_r, overlay=0.96) == 12
    # ... and 10 as printed (without phi): the reason for the margin reading
    assert et.transformer_units(s_r, s_ev, p_r, overlay=0.96, reading="printed") == 10
    saving = et.investment_cny(12 - 9)
    assert saving == pytest.approx(5.25e6)  # 001 sec. 6.2: "saving CNY 5.25 million"
    assert et.TABLE2_UNITS_SWAPPED[0] - et.TABLE2_UNITS_SWAPPED[1] == 3
    assert et.TABLE2_UNITS_PRINTED == et.TABLE2_UNITS_SWAPPED[::-1]


def test_commercial_counts_7_to_6_with_assumed_base():
    # 1000 piles of 7 kW, simultaneity 0.4, base peak 2000 kW (assumption, 001 gives none)
    s_ev = et.planned_ev_load_kw(7.0, penetration=1.0, n_cars=1000, simultaneity=0.4, efficiency=0.95)
    s_r = et.planned_capacity_kva(2000.0, margin=0.8, power_factor=0.85)
    assert et.transformer_units(s_r, s_ev, 2000.0, overlay=0.88) == 7
    assert et.transformer_units(s_r, s_ev, 2000.0, overlay=0.79) == 6
    assert np.array_equal(et.transformer_units(s_r, s_ev, 2000.0, overlay=[0.88, 0.79]), [7, 6])


def test_rates_from_load_curves():
    base = np.r_[np.full(12, 1000.0), np.full(12, 3000.0)]
    ev = np.r_[np.full(12, 500.0), np.zeros(12)]  # EV peak in the base valley
    assert float(et.overlay_rate(base, ev)) == pytest.approx(3000.0 / 3500.0)
    assert float(et.overlay_rate(base, ev[::-1])) == pytest.approx(1.0)
    assert float(et.simultaneity_rate(ev, 7.0, 100)) == pytest.approx(500.0 / 700.0)
    assert float(et.max_load_rate(base + ev, 4)) == pytest.approx(3000.0 / (0.85 * 4000.0))


@pytest.mark.parametrize("bad", [0.0, -1000.0, float("nan")])
def test_unit_size_must_be_positive(bad):
    with pytest.raises(et.TransformerPlanningError, match="unit size"):
        et.transformer_units(8000.0, 0.0, 5000.0, overlay=1.0, unit_kva=bad)


@pytest.mark.parametrize("bad", [-0.1, 1.2])
def test_simultaneity_outside_unit_interval(bad):
    with pytest.raises(et.TransformerPlanningError, match="simultaneity"):
        et.planned_ev_load_kw(7.0, penetration=0.5, n_cars=1000, simultaneity=bad, efficiency=0.95)
    with pytest.raises(et.TransformerPlanningError, match="simultaneity"):
        et.simultaneity_rate(np.full(24, 800.0), 7.0, 100)  # 800 kW from 700 kW of chargers
