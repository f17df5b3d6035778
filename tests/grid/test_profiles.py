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


# Measured once with demandlib 0.2.2 on pandas 2.3.3 (/work/venv-test):
#   q = demandlib.bdew.ElecSlp(year).get_scaled_power_profiles({profile: 1.0})[profile]
#   h = q.resample("1h").mean().to_numpy(); h / h.max()
# sha256 of the little-endian float64 bytes, so any change in any bit of any hour is caught.
_BDEW_MEASURED = {
    ("h0", 2021): "b20d512d323e6a63e4266c49d6790631b6a0f624f105d8b631073bda03dcebb6",
    ("g0", 2023): "dbed5f21180d3a138205a917bd5de80801c8017f51bd3cfc737d6321691450d8",
}


@pytest.mark.parametrize("profile, year", sorted(_BDEW_MEASURED))
def test_bdew_load_is_bit_identical_to_demandlib_on_pandas_2_3(profile, year):
    import hashlib

    a = profiles.bdew_load_pu(profile, year)
    assert a.shape == (8760,) and a.max() == 1.0
    assert hashlib.sha256(a.astype("<f8").tobytes()).hexdigest() == _BDEW_MEASURED[profile, year]


def test_bdew_h0_readable_values():
    # the same measurement as above, in numbers a reader can check (peak at 19:00 on 2 January)
    a = profiles.bdew_load_pu()
    assert int(a.argmax()) == 43 and int(a.argmin()) == 28
    np.testing.assert_array_equal(a[:3], [0.27750809061488674, 0.2053588425661527, 0.18822577574719213])
    assert a.sum() == pytest.approx(4750.869027222539, rel=1e-15)


@pytest.mark.parametrize("year", [2021, 2019])
def test_bdew_load_matches_demandlib_itself(monkeypatch, year):
    # demandlib as the oracle, where it is installed (the test extra). Its ElecSlp calls
    # warnings.simplefilter("error"); the test disarms that so demandlib also runs on pandas 3.
    import warnings

    bdew = pytest.importorskip("demandlib.bdew")
    with warnings.catch_warnings():
        monkeypatch.setattr(warnings, "simplefilter", lambda *a, **k: None)
        slp = bdew.ElecSlp(year)
    monkeypatch.undo()
    for profile in profiles.BDEW_PROFILES:
        q = slp.get_scaled_power_profiles({profile: 1.0})[profile]
        ref = q.resample("1h").mean().to_numpy(dtype=np.float64)
        ref = ref / ref.max()
        mine = profiles.bdew_load_pu(profile, year)
        if int(pd.__version__.split(".")[0]) < 3:
            np.testing.assert_array_equal(mine, ref, err_msg=profile)
        else:  # pandas 3.1's resample().mean() rounds differently in the last bit
            np.testing.assert_allclose(mine, ref, rtol=2e-15, atol=0, err_msg=profile)


def test_bdew_load_refuses_unknown_profile_and_leap_year():
    with pytest.raises(ProfileError, match="unknown profile 'h1'"):
        profiles.bdew_load_pu("h1")
    with pytest.raises(ProfileError, match="non-leap year.*2020"):
        profiles.bdew_load_pu("h0", 2020)
