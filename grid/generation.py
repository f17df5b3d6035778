"""PV and wind power curves (003 eqs. (1) and (2)).

Both are elementwise and broadcast over any array shape, so a whole year ``(8760,)`` or a batch of
typical days ``(n_scenarios, 24)`` goes through in one call.

Wind-speed parameters: 003's case-study text gives "cut-in, rated and cut-off wind speed 13.5, 3 and
20 m/s", which cannot be right (the cut-in speed would exceed the rated one); the first two are
swapped. This module uses cut-in 3 m/s, rated 13.5 m/s, cut-out 20 m/s (:data:`WIND_003`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "GenerationError",
    "WindTurbine",
    "WIND_003",
    "PV_RATED_IRRADIANCE_003_W_M2",
    "pv_power_pu",
    "pv_power_kw",
    "wind_power_pu",
    "wind_power_kw",
]


class GenerationError(ValueError):
    """Invalid generator parameters (non-positive rating, unordered wind speeds)."""


#: Rated solar irradiance of 003's case study, 1 kW/m^2.
PV_RATED_IRRADIANCE_003_W_M2 = 1000.0


@dataclass(frozen=True)
class WindTurbine:
    """Piecewise-linear wind turbine curve, 003 eq. (2).

    Attributes
    ----------
    cut_in_m_s, rated_m_s, cut_out_m_s:
        Wind speeds with ``0 <= cut_in < rated <= cut_out``.
    """

    cut_in_m_s: float = 3.0
    rated_m_s: float = 13.5
    cut_out_m_s: float = 20.0

    def __post_init__(self) -> None:
        if not (0.0 <= self.cut_in_m_s < self.rated_m_s <= self.cut_out_m_s):
            raise GenerationError(
                "wind speeds must satisfy 0 <= cut_in < rated <= cut_out, got "
                f"cut_in={self.cut_in_m_s}, rated={self.rated_m_s}, cut_out={self.cut_out_m_s} m/s"
            )


#: 003's turbine with the cut-in and rated speeds un-swapped (see module docstring).
WIND_003 = WindTurbine(cut_in_m_s=3.0, rated_m_s=13.5, cut_out_m_s=20.0)


def pv_power_pu(
    irradiance_w_m2: ArrayLike, rated_irradiance_w_m2: float = PV_RATED_IRRADIANCE_003_W_M2
) -> NDArray[np.float64]:
    """PV output per unit of rated power, 003 eq. (1).

    Parameters
    ----------
    irradiance_w_m2:
        Solar irradiance, any shape. Negative values (sensor noise at night) count as zero.
    rated_irradiance_w_m2:
        Irradiance at which the array reaches its rating (003: 1 kW/m^2).

    Returns
    -------
    ndarray, same shape, in ``[0, 1]``.
    """
    if not rated_irradiance_w_m2 > 0:
        raise GenerationError(f"rated irradiance must be positive, got {rated_irradiance_w_m2}")
    h = np.clip(np.asarray(irradiance_w_m2, dtype=np.float64), 0.0, None)
    # 003 eq. (1): P = P_r h / h_s for h <= h_s, else P_r
    return np.minimum(h / rated_irradiance_w_m2, 1.0)


def pv_power_kw(
    irradiance_w_m2: ArrayLike,
    rated_kw: ArrayLike,
    rated_irradiance_w_m2: float = PV_RATED_IRRADIANCE_003_W_M2,
) -> NDArray[np.float64]:
    """PV output in kW: :func:`pv_power_pu` times ``rated_kw`` (broadcast)."""
    return pv_power_pu(irradiance_w_m2, rated_irradiance_w_m2) * np.asarray(rated_kw, dtype=np.float64)


def wind_power_pu(wind_speed_m_s: ArrayLike, turbine: WindTurbine = WIND_003) -> NDArray[np.float64]:
    """Wind turbine output per unit of rated power, 003 eq. (2).

    Zero below cut-in and at or above cut-out, linear from cut-in to rated, one from rated to
    cut-out.

    Parameters
    ----------
    wind_speed_m_s:
        Hub-height wind speed, any shape.
    turbine:
        The curve's speeds (default :data:`WIND_003`).
    """
    v = np.asarray(wind_speed_m_s, dtype=np.float64)
    vi, vs, vo = turbine.cut_in_m_s, turbine.rated_m_s, turbine.cut_out_m_s
    # 003 eq. (2)
    ramp = (v - vi) / (vs - vi)
    out = np.where(v < vs, ramp, 1.0)
    return np.where((v < vi) | (v >= vo), 0.0, out)


def wind_power_kw(
    wind_speed_m_s: ArrayLike, rated_kw: ArrayLike, turbine: WindTurbine = WIND_003
) -> NDArray[np.float64]:
    """Wind output in kW: :func:`wind_power_pu` times ``rated_kw`` (broadcast)."""
    return wind_power_pu(wind_speed_m_s, turbine) * np.asarray(rated_kw, dtype=np.float64)
