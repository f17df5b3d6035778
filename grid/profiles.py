"""A real year of hourly irradiance, wind speed and load shape, from files that installed packages
ship (no network access at run time).

* Weather: pvlib's TMY3 file ``pvlib/data/723170TYA.CSV`` (Greensboro Piedmont Triad Intl., NC,
  USA; 8760 hours of global horizontal irradiance and 10 m wind speed), read with
  :func:`pvlib.iotools.read_tmy3`. TMY3 rows are hour-ending; row ``i`` is taken as hour ``i``
  of the year (``[i, i+1)`` local standard time).
* Load: the BDEW standard load profile H0 (German households; 15-minute values averaged to hours)
  for calendar year 2021 (a non-leap year), without holidays, from the BDEW table that demandlib
  ships, copied to ``grid/data/bdew_selp_series.csv`` (MIT, see ``grid/data/SOURCES.md``) and
  evaluated here bit-identically to demandlib 0.2.2 on pandas 2.3 (demandlib is not imported: it
  sets ``warnings.simplefilter("error")`` process-wide and fails on pandas 3). 2021 also supplies
  the weekday of each of the 365 days.

:func:`reference_year` joins the two (cached with :func:`functools.cache`; the pvlib import and the
TMY3 read take most of its time) and labels its source. A user file goes through
:func:`read_hourly_csv`, which rejects missing or duplicated hours. Wind speed is scaled from 10 m to
hub height with a power law (``(h/10)**alpha``, default 80 m and ``alpha = 1/7``); say so when you
compare with a paper.
"""

from __future__ import annotations

import csv
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .generation import WIND_003, WindTurbine, pv_power_pu, wind_power_pu

__all__ = [
    "ProfileError",
    "YearProfile",
    "HOURS_PER_YEAR",
    "tmy3_path",
    "read_tmy3_weather",
    "bdew_load_pu",
    "reference_year",
    "read_hourly_csv",
    "synthetic_year",
]

HOURS_PER_YEAR = 8760
CALENDAR_YEAR = 2021


class ProfileError(ValueError):
    """A profile file or array with missing hours, wrong length or non-finite values."""


@dataclass(frozen=True)
class YearProfile:
    """One year of hourly data, arrays ``(8760,)`` (read-only).

    Attributes
    ----------
    name, source:
        Label and where the data come from ("synthetic" for made-up data).
    ghi_w_m2:
        Global horizontal irradiance.
    wind_speed_m_s:
        Wind speed at hub height.
    load_pu:
        Load per unit of the year's peak.
    weekday:
        ``(365,)`` day of week of each day (0 = Monday).
    """

    name: str
    source: str
    ghi_w_m2: NDArray[np.float64]
    wind_speed_m_s: NDArray[np.float64]
    load_pu: NDArray[np.float64]
    weekday: NDArray[np.int64]

    def __post_init__(self) -> None:
        for attr in ("ghi_w_m2", "wind_speed_m_s", "load_pu"):
            a = np.array(getattr(self, attr), dtype=np.float64)
            if a.shape != (HOURS_PER_YEAR,):
                raise ProfileError(f"YearProfile {self.name!r}: {attr} has shape {a.shape}, expected (8760,)")
            bad = ~np.isfinite(a)
            if bad.any():
                raise ProfileError(
                    f"YearProfile {self.name!r}: {attr} is missing hour {int(np.flatnonzero(bad)[0])}"
                )
            if np.any(a < 0):
                raise ProfileError(f"YearProfile {self.name!r}: {attr} has negative values")
            a.setflags(write=False)
            object.__setattr__(self, attr, a)
        wd = np.array(self.weekday, dtype=np.int64)
        if wd.shape != (365,) or np.any((wd < 0) | (wd > 6)):
            raise ProfileError(f"YearProfile {self.name!r}: weekday must be (365,) in 0..6")
        wd.setflags(write=False)
        object.__setattr__(self, "weekday", wd)

    def daily(self, attr: str) -> NDArray[np.float64]:
        """``(365, 24)`` view of one hourly attribute."""
        return getattr(self, attr).reshape(365, 24)

    def pv_pu(self, rated_irradiance_w_m2: float = 1000.0) -> NDArray[np.float64]:
        """``(365, 24)`` PV output per unit (003 eq. (1))."""
        return pv_power_pu(self.daily("ghi_w_m2"), rated_irradiance_w_m2)

    def wind_pu(self, turbine: WindTurbine = WIND_003) -> NDArray[np.float64]:
        """``(365, 24)`` wind output per unit (003 eq. (2))."""
        return wind_power_pu(self.daily("wind_speed_m_s"), turbine)


def tmy3_path() -> Path:
    """Path of the TMY3 file shipped with pvlib."""
    import pvlib

    return Path(os.path.dirname(pvlib.__file__)) / "data" / "723170TYA.CSV"


def read_tmy3_weather(
    path: str | os.PathLike | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Hourly GHI (W/m^2) and 10 m wind speed (m/s) from a TMY3 file, each ``(8760,)``."""
    import pvlib.iotools

    p = Path(path) if path is not None else tmy3_path()
    if not p.exists():
        raise ProfileError(f"TMY3 file not found: {p}")
    data, _meta = pvlib.iotools.read_tmy3(str(p), map_variables=True)
    if len(data) != HOURS_PER_YEAR:
        raise ProfileError(f"{p}: {len(data)} hourly rows, expected {HOURS_PER_YEAR}")
    ghi = data["ghi"].to_numpy(dtype=np.float64)
    wind = data["wind_speed"].to_numpy(dtype=np.float64)
    for name, a in (("ghi", ghi), ("wind_speed", wind)):
        bad = ~np.isfinite(a)
        if bad.any():
            raise ProfileError(f"{p}: column {name} missing at row {int(np.flatnonzero(bad)[0])}")
    return np.clip(ghi, 0.0, None), np.clip(wind, 0.0, None)


BDEW_SELP_FILE = Path(__file__).parent / "data" / "bdew_selp_series.csv"
BDEW_PROFILES = ("h0", "g0", "g1", "g2", "g3", "g4", "g5", "g6", "l0", "l1", "l2")

# BDEW seasons as demandlib 0.2.2's ElecSlp defaults them: (period, first month, day, last month, day)
_BDEW_PERIODS = ("summer", "transition", "winter")
_BDEW_SEASONS = (
    ("winter", 1, 1, 3, 20),
    ("transition", 3, 21, 5, 14),
    ("summer", 5, 15, 9, 14),
    ("transition", 9, 15, 10, 31),
    ("winter", 11, 1, 12, 31),
)


def _bdew_table(profile: str) -> NDArray[np.float64]:
    """``(period, weekday, quarter-hour) = (3, 7, 96)`` table of one BDEW profile from the shipped file.

    Periods in the order summer, transition, winter; weekday 0 (Monday) .. 6 (Sunday and holidays).
    """
    p = BDEW_SELP_FILE
    # Python's float() is correctly rounded (and equals pandas' parse of this file): no pandas here, so
    # the doubles cannot move with a pandas release
    with open(p, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    for col in ("period", "weekday", profile):
        if col not in header:
            raise ProfileError(f"{p}: missing column {col!r}")
    i_period, i_weekday, i_value = (header.index(c) for c in ("period", "weekday", profile))
    table = np.full((3, 7, 96), np.nan)
    for line, row in enumerate(body, start=2):
        try:
            period = _BDEW_PERIODS.index(row[i_period])
            weekday = int(row[i_weekday]) - 1
            # the first column is a timestamp "2007-01-01 hh:mm:ss"; its time of day is the quarter-hour
            hh, mm = (int(x) for x in row[0].split(" ")[1].split(":")[:2])
            table[period, weekday, hh * 4 + mm // 15] = float(row[i_value])
        except (ValueError, IndexError) as e:
            raise ProfileError(f"{p}: line {line} is not a BDEW row ({e})") from None
    if np.isnan(table).any():
        raise ProfileError(f"{p}: profile {profile!r} does not cover every period, weekday and quarter-hour")
    return table


def bdew_load_pu(profile: str = "h0", year: int = CALENDAR_YEAR) -> NDArray[np.float64]:
    """BDEW standard load profile, hourly, per unit of its peak, ``(8760,)``, without holidays.

    Computed from the BDEW table demandlib ships (copied to ``grid/data/bdew_selp_series.csv``, see
    ``grid/data/SOURCES.md``) the way ``demandlib.bdew.ElecSlp(year).get_scaled_power_profiles`` does
    in demandlib 0.2.2: each quarter-hour takes the value of its season, weekday and time of day, the
    year is normalised to sum 1, and the quarter-hours are averaged to hours. The values are
    bit-identical to demandlib's on pandas 2.3. demandlib itself is not called: its ``ElecSlp`` turns
    every warning of the process into an error (``warnings.simplefilter("error")``), which breaks it on
    pandas 3 (``Pandas4Warning`` from its own ``sort_index(inplace=True)``).

    Parameters
    ----------
    profile:
        One of :data:`BDEW_PROFILES` (``h0``: households).
    year:
        A non-leap calendar year (its weekdays place the weekday/Saturday/Sunday values).
    """
    if profile not in BDEW_PROFILES:
        raise ProfileError(f"bdew_load_pu: unknown profile {profile!r}; known: {', '.join(BDEW_PROFILES)}")
    if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0:
        raise ProfileError(f"bdew_load_pu: use a non-leap year to get 8760 hours, got {year}")
    table = _bdew_table(profile)
    days = np.arange(np.datetime64(f"{year}-01-01"), np.datetime64(f"{year + 1}-01-01"))
    period_of_day = np.full(days.size, -1, dtype=np.int64)
    for name, m0, d0, m1, d1 in _BDEW_SEASONS:
        first = np.datetime64(f"{year}-{m0:02d}-{d0:02d}")
        last = np.datetime64(f"{year}-{m1:02d}-{d1:02d}")
        period_of_day[(days >= first) & (days <= last)] = _BDEW_PERIODS.index(name)
    assert (period_of_day >= 0).all(), "the BDEW seasons leave a day uncovered"
    quarter = table[period_of_day[:, None], _weekdays(year)[:, None], np.arange(96)[None, :]]  # (365, 96)
    # demandlib's arithmetic, in its order, so the doubles match it bit for bit: normalise the year to
    # sum 1 (numpy's pairwise sum, as pandas' Series.sum), scale by 1.0 and by 4 quarter-hours per
    # hour, then average each hour's four values with Kahan-compensated summation, as pandas 2.3's
    # resample().mean() does (pandas 3.1's differs in the last bit, so pandas is not used here)
    quarter = quarter.ravel() / quarter.ravel().sum() * 1.0 * 4
    acc = np.zeros(HOURS_PER_YEAR)
    comp = np.zeros(HOURS_PER_YEAR)
    for q in quarter.reshape(HOURS_PER_YEAR, 4).T:
        y = q - comp
        t = acc + y
        comp = (t - acc) - y
        acc = t
    hourly = acc / 4
    return hourly / hourly.max()


def _weekdays(year: int) -> NDArray[np.int64]:
    """``(365,)`` day of week of each day of a non-leap ``year`` (0 = Monday); 1970-01-01 was a Thursday."""
    days = np.arange(np.datetime64(f"{year}-01-01"), np.datetime64(f"{year}-01-01") + 365)
    return ((days.astype(np.int64) + 3) % 7).astype(np.int64)


@functools.cache
def reference_year(hub_height_m: float = 80.0, shear_exponent: float = 1.0 / 7.0) -> YearProfile:
    """TMY3 723170 (Greensboro, NC) weather and BDEW H0 load: the project's real reference year.

    Parameters
    ----------
    hub_height_m, shear_exponent:
        Power-law scaling of the 10 m TMY3 wind speed to hub height.
    """
    ghi, wind10 = read_tmy3_weather()
    wind = wind10 * (hub_height_m / 10.0) ** shear_exponent
    return YearProfile(
        name="TMY3 723170 Greensboro NC + BDEW H0",
        source=(
            "pvlib data/723170TYA.CSV (TMY3; GHI, 10 m wind scaled to "
            f"{hub_height_m:g} m with exponent {shear_exponent:.3g}); BDEW H0 {CALENDAR_YEAR} "
            "(demandlib's table, grid/data/bdew_selp_series.csv)"
        ),
        ghi_w_m2=ghi,
        wind_speed_m_s=wind,
        load_pu=bdew_load_pu(),
        weekday=_weekdays(CALENDAR_YEAR),
    )


def read_hourly_csv(
    path: str | os.PathLike,
    *,
    ghi: str = "ghi_w_m2",
    wind: str = "wind_speed_m_s",
    load: str = "load_kw",
    name: str | None = None,
    year: int = CALENDAR_YEAR,
) -> YearProfile:
    """A year of hourly data from a CSV with an ``hour`` column (0..8759) and three value columns.

    Every hour must appear exactly once with finite values; load is scaled to per unit of its peak.
    """
    p = Path(path)
    try:
        df = pd.read_csv(p)
    except FileNotFoundError:
        raise ProfileError(f"profile file not found: {p}") from None
    missing_cols = [c for c in ("hour", ghi, wind, load) if c not in df.columns]
    if missing_cols:
        raise ProfileError(f"{p}: missing column(s) {missing_cols}")
    hours = df["hour"].to_numpy()
    expected = np.arange(HOURS_PER_YEAR)
    dup = pd.Index(hours).duplicated()
    if dup.any():
        raise ProfileError(f"{p}: hour {int(hours[np.flatnonzero(dup)[0]])} appears twice")
    absent = np.setdiff1d(expected, hours)
    if absent.size:
        raise ProfileError(f"{p}: {absent.size} missing hour(s), first {int(absent[0])}")
    df = df.set_index("hour").loc[expected]
    vals = {}
    for c in (ghi, wind, load):
        a = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(a)
        if bad.any():
            raise ProfileError(f"{p}: column {c!r} has no value for hour {int(np.flatnonzero(bad)[0])}")
        vals[c] = a
    peak = vals[load].max()
    if not peak > 0:
        raise ProfileError(f"{p}: load column {load!r} has no positive value")
    return YearProfile(
        name=name or p.stem,
        source=str(p),
        ghi_w_m2=vals[ghi],
        wind_speed_m_s=vals[wind],
        load_pu=vals[load] / peak,
        weekday=_weekdays(year),
    )


def synthetic_year(rng: np.random.Generator, name: str = "synthetic") -> YearProfile:
    """A labelled synthetic year (clear-sky-like irradiance with random clouds, Weibull wind, a
    two-peak load); for tests and examples, never for a study that claims real data."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"synthetic_year needs a numpy.random.Generator, got {type(rng).__name__}")
    h = np.arange(24)
    day = np.arange(365)
    season = 0.5 * (1 - np.cos(2 * np.pi * (day + 10) / 365))  # 0 winter, 1 summer
    span = 5.0 + 2.0 * season[:, None]
    sun = np.clip(np.cos(np.pi * (h[None, :] + 0.5 - 12.5) / (2 * span)), 0, None)
    cloud = rng.beta(2.0, 1.2, size=(365, 1))
    ghi = 1000.0 * (0.7 + 0.3 * season[:, None]) * sun * cloud
    wind = rng.weibull(2.0, size=(365, 24)) * (7.0 - 2.0 * season[:, None])
    shape = 0.55 + 0.25 * np.exp(-((h - 8.0) ** 2) / 4.0) + 0.4 * np.exp(-((h - 19.0) ** 2) / 6.0)
    load = shape[None, :] * (1.0 + 0.15 * np.cos(2 * np.pi * day / 365))[:, None]
    load = load * rng.uniform(0.95, 1.05, size=(365, 24))
    return YearProfile(
        name=name,
        source="synthetic (grid.profiles.synthetic_year)",
        ghi_w_m2=ghi.ravel(),
        wind_speed_m_s=wind.ravel(),
        load_pu=(load / load.max()).ravel(),
        weekday=_weekdays(CALENDAR_YEAR),
    )
