"""Time-of-use (peak / normal / valley) tariffs as data, with hour-of-day lookups.

Two tariffs ship:

* :func:`tou_003` -- 003 table 1: the distribution company's purchase price (``purchase``), its sale
  price to ordinary load (``sale``), the EV charging price at the stations (``ev_charge``) and the
  V2G discharge compensation (``discharge_compensation``), all in CNY/kWh. 003 does not say which
  hours are peak, normal or valley; this module uses 002's periods (below) and says so in the
  tariff's ``source``.
* :func:`tou_002` -- 002 section 5: peak 09:00-11:00 and 14:00-18:00, normal (002: "level")
  06:00-08:00, 12:00-13:00 and 19:00-22:00, valley 23:00-05:00, purchase price 0.6 / 0.4 / 0.3
  CNY/kWh. The clock times are read as hour-starting labels, both ends included, so that the three
  sets tile the 24 hours: peak {9, 10, 11, 14..18} (8 h), normal {6, 7, 8, 12, 13, 19..22} (9 h),
  valley {23, 0..5} (7 h).

Hour ``h`` means the interval ``[h, h+1)``; hourly arrays have shape ``(24,)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "TariffError",
    "PERIODS",
    "TouTariff",
    "periods_002",
    "tou_002",
    "tou_003",
    "v2g_prices",
]

#: Period names, in the order of the ``(3,)`` price vectors.
PERIODS = ("peak", "normal", "valley")


class TariffError(ValueError):
    """A tariff with missing hours, unknown periods or non-finite prices."""


def periods_002() -> tuple[str, ...]:
    """002's peak / normal / valley label of each hour of the day, ``len == 24``."""
    labels = ["normal"] * 24
    for h in (9, 10, 11, 14, 15, 16, 17, 18):
        labels[h] = "peak"
    for h in (23, 0, 1, 2, 3, 4, 5):
        labels[h] = "valley"
    return tuple(labels)


@dataclass(frozen=True)
class TouTariff:
    """A time-of-use tariff: a period label per hour and, per quantity, a price per period.

    Attributes
    ----------
    name, source:
        Short name and where the numbers come from (paper, table, assumptions).
    period_of_hour:
        ``(24,)`` labels from :data:`PERIODS`.
    prices_cny_kwh:
        ``{quantity: {period: price}}`` in CNY/kWh (read-only view).
    """

    name: str
    source: str
    period_of_hour: tuple[str, ...]
    prices_cny_kwh: Mapping[str, Mapping[str, float]] = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.period_of_hour) != 24:
            raise TariffError(
                f"tariff {self.name!r}: need 24 hourly period labels, got {len(self.period_of_hour)}"
            )
        bad = sorted(set(self.period_of_hour) - set(PERIODS))
        if bad:
            raise TariffError(f"tariff {self.name!r}: unknown period label(s) {bad}; expected {PERIODS}")
        frozen: dict[str, Mapping[str, float]] = {}
        used = set(self.period_of_hour)
        for quantity, table in self.prices_cny_kwh.items():
            missing = sorted(used - set(table))
            if missing:
                raise TariffError(
                    f"tariff {self.name!r}, quantity {quantity!r}: no price for period(s) {missing}"
                )
            vals = {p: float(v) for p, v in table.items()}
            if not all(np.isfinite(v) for v in vals.values()):
                raise TariffError(f"tariff {self.name!r}, quantity {quantity!r}: non-finite price in {vals}")
            frozen[quantity] = MappingProxyType(vals)
        object.__setattr__(self, "prices_cny_kwh", MappingProxyType(frozen))
        object.__setattr__(self, "period_of_hour", tuple(self.period_of_hour))

    @property
    def quantities(self) -> tuple[str, ...]:
        """Names of the priced quantities."""
        return tuple(self.prices_cny_kwh)

    def period_index(self) -> NDArray[np.int64]:
        """``(24,)`` index into :data:`PERIODS` of each hour."""
        return np.array([PERIODS.index(p) for p in self.period_of_hour], dtype=np.int64)

    def hourly(self, quantity: str) -> NDArray[np.float64]:
        """``(24,)`` price of ``quantity`` in CNY/kWh for hours 0..23."""
        try:
            table = self.prices_cny_kwh[quantity]
        except KeyError:
            raise TariffError(
                f"tariff {self.name!r} has no quantity {quantity!r}; it has {self.quantities}"
            ) from None
        return np.array([table[p] for p in self.period_of_hour], dtype=np.float64)

    def at_hour(self, quantity: str, hour: ArrayLike) -> NDArray[np.float64]:
        """Price at (fractional) clock hours of any shape; hours wrap modulo 24."""
        h = np.floor(np.asarray(hour, dtype=np.float64)).astype(np.int64) % 24
        return self.hourly(quantity)[h]


def tou_003() -> TouTariff:
    """003 table 1 (CNY/kWh), on 002's peak / normal / valley hours (003 gives no hours)."""
    return TouTariff(
        name="003",
        source="003 table 1 prices; periods from 002 section 5 (003 does not state its peak/valley hours)",
        period_of_hour=periods_002(),
        prices_cny_kwh={
            "purchase": {"peak": 0.6129, "normal": 0.4430, "valley": 0.2189},
            "sale": {"peak": 1.11, "normal": 0.68, "valley": 0.35},
            "ev_charge": {"peak": 1.5, "normal": 1.0, "valley": 0.75},
            "discharge_compensation": {"peak": 2.20, "normal": 1.23, "valley": 0.35},
        },
    )


def tou_002() -> TouTariff:
    """002 section 5 / table 1: purchase price from the upstream grid (CNY/kWh)."""
    return TouTariff(
        name="002",
        source="002 section 5 and table 1",
        period_of_hour=periods_002(),
        prices_cny_kwh={"purchase": {"peak": 0.6, "normal": 0.4, "valley": 0.3}},
    )


def v2g_prices(
    tariff: TouTariff, battery_loss_cny_kwh: float = 0.854
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Hourly prices an EV owner faces in 003's V2G mode, for :mod:`grid.dispatch`.

    Charging costs ``ev_charge(t)``; discharging earns ``discharge_compensation(t)`` less the
    battery-wear cost ``c_b`` (003 eq. (5): ``ce Pc - cf Pd - cb Pd``; 003 section 6.1:
    ``c_b = 0.854`` CNY/kWh).

    Returns
    -------
    price_charge_cny_kwh, value_discharge_cny_kwh : ndarray, each ``(24,)``
    """
    return tariff.hourly("ev_charge"), tariff.hourly("discharge_compensation") - battery_loss_cny_kwh
