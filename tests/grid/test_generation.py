from __future__ import annotations

import numpy as np
import pytest

from grid.generation import WIND_003, GenerationError, WindTurbine, pv_power_kw, pv_power_pu, wind_power_pu


def test_pv_linear_below_rating_and_flat_above():
    h = np.array([-5.0, 0.0, 250.0, 1000.0, 1200.0])
    np.testing.assert_allclose(pv_power_pu(h), [0.0, 0.0, 0.25, 1.0, 1.0])
    np.testing.assert_allclose(pv_power_kw(h, 100.0), [0.0, 0.0, 25.0, 100.0, 100.0])


def test_wind_curve_uses_unswapped_003_speeds():
    assert (WIND_003.cut_in_m_s, WIND_003.rated_m_s, WIND_003.cut_out_m_s) == (3.0, 13.5, 20.0)
    v = np.array([0.0, 2.99, 3.0, 8.25, 13.5, 19.99, 20.0, 25.0])
    np.testing.assert_allclose(wind_power_pu(v), [0, 0, 0, 0.5, 1, 1, 0, 0])


def test_curves_broadcast_over_batches():
    v = np.full((3, 24), 8.25)
    assert wind_power_pu(v).shape == (3, 24)


@pytest.mark.parametrize("speeds", [(13.5, 3.0, 20.0), (3.0, 25.0, 20.0), (-1.0, 3.0, 4.0)])
def test_bad_turbine(speeds):
    with pytest.raises(GenerationError, match="wind speeds must satisfy 0 <= cut_in < rated <= cut_out"):
        WindTurbine(*speeds)


def test_bad_rating():
    with pytest.raises(GenerationError, match="rated irradiance must be positive, got 0.0"):
        pv_power_pu(1.0, rated_irradiance_w_m2=0.0)
