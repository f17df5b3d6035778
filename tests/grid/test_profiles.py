from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grid import profiles
from grid.profiles import ProfileError


@pytest.fixture(scope="module")
def year():
    return profiles.reference_year()


def test_reference_year_is_real_and_labelled(year):
    assert "TMY3 723170" in year.name and "BDEW H0" in year.name
    assert year.ghi_w_m2.shape == (8760,)
    assert year.ghi_w_m2.max() > 800  # a real sunny noon
    assert year.daily("ghi_w_m2")[:, 0].max() == 0.0  # dark at midnight
    assert year.load_pu.max() == pytest.approx(1.0)
    assert 0 < year.wind_pu().mean() < 1 and 0 < year.pv_pu().mean() < 1
    # summer days carry more sun than winter days
    e = year.daily("ghi_w_m2").sum(1)
    assert e[150:240].mean() > 1.5 * e[:60].mean()


def test_reference_year_is_cached(year):
    assert profiles.reference_year() is year


def test_weekdays_follow_calendar(year):
    assert year.weekday[0] == pd.Timestamp("2021-01-01").weekday()
    assert np.bincount(year.weekday, minlength=7).min() == 52


def _csv(tmp_path, drop=None, dup=None, nan_at=None):
    df = pd.DataFrame(
        {
            "hour": np.arange(8760),
            "ghi_w_m2": 100.0,
            "wind_speed_m_s": 5.0,
            "load_kw": np.linspace(1, 2, 8760),
        }
    )
    if nan_at is not None:
        df.loc[nan_at, "load_kw"] = np.nan
    if drop is not None:
        df = df.drop(index=drop)
    if dup is not None:
        df = pd.concat([df, df.iloc[[dup]]])
    p = tmp_path / "year.csv"
    df.to_csv(p, index=False)
    return p


def test_read_hourly_csv(tmp_path):
    y = profiles.read_hourly_csv(_csv(tmp_path), name="mine")
    assert y.name == "mine" and y.load_pu.max() == 1.0


@pytest.mark.parametrize(
    "kw, match", [({"drop": [17]}, "missing hour"), ({"dup": 5}, "twice"), ({"nan_at": 30}, "hour 30")]
)
def test_bad_files(tmp_path, kw, match):
    with pytest.raises(ProfileError, match=match):
        profiles.read_hourly_csv(_csv(tmp_path, **kw))


def test_missing_file(tmp_path):
    with pytest.raises(ProfileError, match="not found"):
        profiles.read_hourly_csv(tmp_path / "nope.csv")


def test_year_profile_rejects_gaps(year):
    ghi = year.ghi_w_m2.copy()
    ghi[100] = np.nan
    with pytest.raises(ProfileError, match="hour 100"):
        profiles.YearProfile("x", "s", ghi, year.wind_speed_m_s, year.load_pu, year.weekday)
    with pytest.raises(ProfileError, match="8760"):
        profiles.YearProfile("x", "s", ghi[:-1], year.wind_speed_m_s, year.load_pu, year.weekday)


def test_synthetic_year_is_labelled_and_seeded():
    a = profiles.synthetic_year(np.random.default_rng(1))
    b = profiles.synthetic_year(np.random.default_rng(1))
    assert "synthetic" in a.source
    np.testing.assert_array_equal(a.wind_speed_m_s, b.wind_speed_m_s)
    with pytest.raises(TypeError, match="synthetic_year needs a numpy.random.Generator, got int"):
        profiles.synthetic_year(1)


def test_bdew_load_leaves_the_warning_filters_alone():
    # demandlib 0.2.2 sets warnings.simplefilter("error") process-wide; bdew_load_pu must contain it
    import warnings

    from grid.profiles import bdew_load_pu

    before = list(warnings.filters)
    bdew_load_pu()
    assert warnings.filters == before
