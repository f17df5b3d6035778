from __future__ import annotations

import numpy as np
import pytest

from grid.tariffs import TariffError, TouTariff, periods_002, tou_002, tou_003, v2g_prices


def test_002_periods_tile_the_day():
    p = periods_002()
    assert len(p) == 24
    assert [h for h in range(24) if p[h] == "peak"] == [9, 10, 11, 14, 15, 16, 17, 18]
    assert [h for h in range(24) if p[h] == "valley"] == [0, 1, 2, 3, 4, 5, 23]
    assert p.count("normal") == 9


def test_003_table1_values():
    t = tou_003()
    assert t.hourly("purchase")[10] == 0.6129
    assert t.hourly("sale")[12] == 0.68
    assert t.hourly("ev_charge")[3] == 0.75
    assert t.hourly("discharge_compensation")[15] == 2.20
    np.testing.assert_allclose(t.at_hour("ev_charge", [9.5, 33.0, -1.0]), [1.5, 1.5, 0.75])


def test_002_purchase_prices():
    t = tou_002()
    assert sorted(set(t.hourly("purchase"))) == [0.3, 0.4, 0.6]


def test_v2g_prices_subtract_battery_wear():
    c, v = v2g_prices(tou_003(), battery_loss_cny_kwh=0.854)
    np.testing.assert_allclose(v[10], 2.20 - 0.854)
    np.testing.assert_allclose(c, tou_003().hourly("ev_charge"))


def test_bad_tariffs():
    with pytest.raises(TariffError, match="24"):
        TouTariff("x", "s", ("peak",) * 23, {"a": {"peak": 1.0}})
    with pytest.raises(TariffError, match="no price"):
        TouTariff("x", "s", periods_002(), {"a": {"peak": 1.0}})
    with pytest.raises(TariffError, match="no quantity"):
        tou_002().hourly("sale")
