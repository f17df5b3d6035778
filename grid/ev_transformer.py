"""Distribution-transformer capacity for EV charging: paper 001's planning model, eqs. (1)-(9).

Pure closed-form functions (no power flow), the planning side beside :mod:`grid.transformer`
(which measures a solved feeder's transformer loading):

* :func:`penetration_rate` (001 eq. (1)), :func:`simultaneity_rate` (eq. (2)),
  :func:`overlay_rate` (eq. (3));
* :func:`planned_ev_load_kw` (eq. (4)), :func:`household_load_kw` (eq. (6)),
  :func:`planned_region_load_kw` (eq. (5)), :func:`planned_capacity_kva` (eq. (7));
* :func:`transformer_units` (eqs. (8)-(9)) and :func:`investment_cny` (001 sec. 6.2, 1.75 M CNY per
  1000 kVA, its ref. [38]); :func:`max_load_rate` (tables 2-4's "maximum load rate").

Reading of eq. (8). As printed, (8) asks ``S^R <= sum_m S_m^U`` and
``S^U cos(phi) >= (max P^EV + max P^Base) * gamma``. Without the planning margin ``phi^R`` in the
second line, 001's residential example gives 10 units under disordered charging, not 12. The
reading that reproduces every residential number divides the second line by the planning margin
as eq. (7) does::

    n = ceil( max( S^R, (max P^EV + max P^Base) * gamma / (phi^R * cos phi) ) / S_unit )

Residential (001 sec. 6.1): ``P^R = 8 kW * 2000 * 0.6 * 0.6 = 5760 kW``, ``S^R = 5760 / (0.8 * 0.85)
= 8471 kVA`` (001: "about 9000 kVA"), 9 units of 1000 kVA; disordered charging with
``S^ev = 7 * 0.5 * 1000 * 0.6 / 0.95 = 2210.5 kW`` and ``gamma = 0.96`` (table 2):
``(2210.5 + 5760) * 0.96 / 0.68 = 11 252 kVA``, 12 units. The load simultaneity ``delta^R = 0.6``
is not stated by 001 (it gives ``zeta^R = 0.6``); 0.6 is the value that gives "about 9000 kVA".
``reading="printed"`` selects eq. (8) without the margin.

Table 2 prints 9 units under disordered charging and 12 under V2G, the reverse of its text (V2G
"saves 5.25 M CNY" = 3 units x 1.75 M CNY) and of the model above (12 disordered, 9 planned):
:data:`TABLE2_UNITS_PRINTED` and :data:`TABLE2_UNITS_SWAPPED` keep both readings.

Example
-------
>>> p_r = planned_region_load_kw(household_load_kw(8.0, 2000), demand_coeff=0.6, simultaneity=0.6)
>>> s_r = planned_capacity_kva(p_r, margin=0.8, power_factor=0.85)
>>> round(p_r), round(s_r), transformer_units(s_r, 0.0, p_r, overlay=1.0)
(5760, 8471, 9)
>>> s_ev = planned_ev_load_kw(7.0, penetration=0.5, n_cars=1000, simultaneity=0.6, efficiency=0.95)
>>> round(s_ev, 1), transformer_units(s_r, s_ev, p_r, overlay=0.96)
(2210.5, 12)
>>> investment_cny(12 - 9)
5250000.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "TransformerPlanningError",
    "UNIT_KVA",
    "COST_CNY_PER_1000_KVA",
    "TABLE2_UNITS_PRINTED",
    "TABLE2_UNITS_SWAPPED",
    "penetration_rate",
    "simultaneity_rate",
    "overlay_rate",
    "planned_ev_load_kw",
    "household_load_kw",
    "planned_region_load_kw",
    "planned_capacity_kva",
    "transformer_units",
    "investment_cny",
    "max_load_rate",
]

#: Rated capacity of one S13 distribution transformer in 001 sec. 6.1 (kVA).
UNIT_KVA = 1000.0
#: Investment in distribution capacity and equipment per 1000 kVA (001 sec. 6.2, its ref. [38]).
COST_CNY_PER_1000_KVA = 1.75e6
#: 001 table 2 as printed: (disordered, V2G) transformer units in the residential area.
TABLE2_UNITS_PRINTED = (9, 12)
#: The same row read as swapped, consistent with 001's text (V2G saves 5.25 M CNY = 3 units).
TABLE2_UNITS_SWAPPED = (12, 9)


class TransformerPlanningError(ValueError):
    """Planning input out of range: unit size <= 0, a rate outside [0, 1], a non-positive count."""


def _positive(name: str, value: Any) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise TransformerPlanningError(f"{name} must be positive and finite, got {value!r}")
    return v


def _non_negative(name: str, value: Any) -> float:
    v = float(value)
    if not (math.isfinite(v) and v >= 0):
        raise TransformerPlanningError(f"{name} must be finite and >= 0, got {value!r}")
    return v


def _rate(name: str, value: Any, *, allow_zero: bool = True) -> float:
    """A rate in [0, 1] (001 writes "beta in [1, 0]" for eq. (2): read as [0, 1])."""
    v = float(value)
    if not (math.isfinite(v) and (0.0 <= v <= 1.0) and (allow_zero or v > 0)):
        lo = "[0, 1]" if allow_zero else "(0, 1]"
        raise TransformerPlanningError(f"{name} must lie in {lo}, got {value!r}")
    return v


def penetration_rate(n_ev: float, n_cars: float) -> float:
    """001 eq. (1): ``alpha = N^EV / N^R`` (EVs over cars in the area), in [0, 1]."""
    a = _non_negative("n_ev", n_ev) / _positive("n_cars", n_cars)
    return _rate("penetration rate N_EV / N_R", a)


def simultaneity_rate(ev_load_kw: ArrayLike, charger_kw: float, n_ev: float) -> NDArray[np.float64]:
    """001 eq. (2): ``beta = max_t P_t^EV / (P_EV * N_EV)`` over the last (hour) axis.

    ``ev_load_kw`` is ``(..., 24)``; returns ``(...)``. A load above the fleet's total charger power
    (beta > 1) is an error.
    """
    p = np.asarray(ev_load_kw, dtype=np.float64)
    beta = p.max(axis=-1) / (_positive("charger_kw", charger_kw) * _positive("n_ev", n_ev))
    if np.any(beta > 1.0 + 1e-9) or np.any(beta < 0):
        raise TransformerPlanningError(f"simultaneity outside [0, 1]: max {float(np.max(beta)):.4g}")
    return beta


def overlay_rate(base_kw: ArrayLike, ev_kw: ArrayLike) -> NDArray[np.float64]:
    """001 eq. (3): ``gamma = max_t (P^Base + P^EV) / (max_t P^EV + max_t P^Base)``, last axis hours.

    1 when the two peaks coincide; below 1 when they are apart (a V2G discharge at the base peak
    lowers it further). With no load at all it is ``nan``.
    """
    b = np.asarray(base_kw, dtype=np.float64)
    e = np.asarray(ev_kw, dtype=np.float64)
    den = e.max(axis=-1) + b.max(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (b + e).max(axis=-1) / np.where(den > 0, den, 1.0), np.nan)


def planned_ev_load_kw(
    charger_kw: float, *, penetration: float, n_cars: float, simultaneity: float, efficiency: float
) -> float:
    """001 eq. (4): ``S^ev = P_EV * alpha * N^R * beta / eta`` (kW), the planned EV charging load."""
    return (
        _positive("charger_kw", charger_kw)
        * _rate("penetration", penetration)
        * _non_negative("n_cars", n_cars)
        * _rate("simultaneity", simultaneity)
        / _rate("efficiency", efficiency, allow_zero=False)
    )


def household_load_kw(per_household_kw: float, n_households: float) -> float:
    """001 eq. (6): ``P^J = P^J_residential * N^R_residential`` (kW)."""
    return _non_negative("per_household_kw", per_household_kw) * _non_negative("n_households", n_households)


def planned_region_load_kw(user_load_kw: float, *, demand_coeff: float, simultaneity: float) -> float:
    """001 eq. (5): ``P^R = P^J * zeta^R * delta^R`` (kW)."""
    return (
        _non_negative("user_load_kw", user_load_kw)
        * _rate("demand_coeff", demand_coeff)
        * _rate("simultaneity", simultaneity)
    )


def planned_capacity_kva(region_load_kw: float, *, margin: float, power_factor: float) -> float:
    """001 eq. (7): ``S^R = P^R / (phi^R cos phi)`` (kVA)."""
    return _non_negative("region_load_kw", region_load_kw) / (
        _rate("margin", margin, allow_zero=False) * _rate("power_factor", power_factor, allow_zero=False)
    )


def transformer_units(
    capacity_kva: float,
    peak_ev_kw: ArrayLike,
    peak_base_kw: ArrayLike,
    *,
    overlay: ArrayLike,
    unit_kva: float = UNIT_KVA,
    margin: float = 0.8,
    power_factor: float = 0.85,
    reading: str = "margin",
) -> Any:
    """001 eqs. (8)-(9): the number of ``unit_kva`` transformers in parallel.

    ``n = ceil(max(S^R, (max P^EV + max P^Base) * gamma / (phi cos phi)) / S_unit)`` with the
    default ``reading="margin"`` (see the module docstring); ``reading="printed"`` drops ``phi`` from
    the second line. ``peak_ev_kw``, ``peak_base_kw`` and ``overlay`` broadcast (one count per
    candidate); note ``(max P^EV + max P^Base) * gamma`` is the peak of the combined load (eq. (3)).
    Returns an int for scalar input, else an int array.
    """
    unit = _positive("unit_kva (transformer unit size)", unit_kva)
    s_r = _non_negative("capacity_kva", capacity_kva)
    pf = _rate("power_factor", power_factor, allow_zero=False)
    phi = _rate("margin", margin, allow_zero=False)
    if reading not in ("margin", "printed"):
        raise TransformerPlanningError(f"reading must be 'margin' or 'printed', got {reading!r}")
    g = np.asarray(overlay, dtype=np.float64)
    if np.any(~np.isfinite(g)) or np.any(g < 0) or np.any(g > 1 + 1e-12):
        raise TransformerPlanningError("overlay rate gamma must lie in [0, 1]")
    peak = (np.asarray(peak_ev_kw, dtype=np.float64) + np.asarray(peak_base_kw, dtype=np.float64)) * g
    need_kva = peak / (pf * (phi if reading == "margin" else 1.0))  # eq. (8), second line
    # the small tolerance keeps an exact multiple (9000.0000001 kVA from rounding) at 9 units
    n = np.ceil(np.maximum(s_r, need_kva) / unit - 1e-9).astype(np.int64)  # eqs. (8)-(9)
    return int(n) if n.ndim == 0 else n


def investment_cny(units: ArrayLike, *, unit_kva: float = UNIT_KVA,
                   cost_per_1000_kva: float = COST_CNY_PER_1000_KVA) -> Any:
    """Transformer investment (CNY) of ``units`` units, 001 sec. 6.2 (1.75 M CNY per 1000 kVA)."""
    unit = _positive("unit_kva (transformer unit size)", unit_kva)
    c = np.asarray(units, dtype=np.float64) * unit / 1000.0 * _non_negative("cost_per_1000_kva",
                                                                            cost_per_1000_kva)
    return float(c) if c.ndim == 0 else c


def max_load_rate(load_kw: ArrayLike, units: ArrayLike, *, unit_kva: float = UNIT_KVA,
                  power_factor: float = 0.85) -> NDArray[np.float64]:
    """Tables 2-4's "maximum load rate": ``max_t P(t) / (cos phi * n * S_unit)`` over the last axis.

    001 does not define it; the peak apparent power over the installed capacity is the usual
    transformer load rate (the reading of :mod:`grid.transformer`).
    """
    unit = _positive("unit_kva (transformer unit size)", unit_kva)
    pf = _rate("power_factor", power_factor, allow_zero=False)
    p = np.asarray(load_kw, dtype=np.float64).max(axis=-1)
    return p / (pf * np.asarray(units, dtype=np.float64) * unit)
