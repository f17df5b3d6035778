"""DG curtailment: how much distributed generation a feeder cannot take (003's "consumption of DG").

003 counts the DG energy the distribution network *consumes* (table 7, "consumption of DG"; section
6.2: V2G "improve[s] the consumption capacity of the distribution network to DG") but does not say
what limits it. The rule here is the simplest that needs no extra power flow:

* **Reverse flow at the substation.** The feeder may export at most ``export_limit_kw`` to the
  upstream grid in any hour (default 0: no reverse flow). With ``D`` the hour's total demand
  (load plus EV charging minus V2G discharge, summed over the buses) and ``G`` the DG output
  available, the lossless import is ``D - G``; where ``D - G < -export_limit_kw`` the excess
  ``-export_limit_kw - (D - G)`` is curtailed (never more than ``G``).
* **Proportional sharing.** Every DG unit is curtailed by the same share of its output (no unit has
  priority; 003 gives no order).
* **Lossless balance.** Network losses are ignored: they are absorbed inside the feeder, so the
  power flow's actual import ``D - G_used + losses`` is a little above the limit. The rule errs on the
  side of curtailing slightly too much (by at most the hour's losses), never too little, and it is
  applied before the one batched power flow of a population.

The voltage band is not part of the rule: an upper-voltage violation stays a constraint of the
planning problem (e.g. 003 eq. (26)), which the optimiser must meet by choosing less DG.

Everything is vectorised over any leading axes, e.g. ``(n_candidates, n_scenarios, 24)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["CurtailmentError", "export_curtailment"]


class CurtailmentError(ValueError):
    """Bad input to the curtailment rule (negative DG output or limit, mismatched shapes)."""


def export_curtailment(
    demand_kw: ArrayLike, dg_kw: ArrayLike, export_limit_kw: float = 0.0
) -> NDArray[np.float64]:
    """Curtailed kW of every DG unit so that the substation exports at most ``export_limit_kw``.

    Parameters
    ----------
    demand_kw : array (..., n_bus)
        Net demand per bus WITHOUT the DG (load plus EV charging minus discharge), kW. Summed over
        the last axis.
    dg_kw : array (..., n_dg)
        Available output of every DG unit (or site), kW, ``>= 0``; leading axes broadcast with
        ``demand_kw``'s.
    export_limit_kw : float
        Largest reverse flow (feeder to upstream grid) allowed in an hour, kW, ``>= 0``.

    Returns
    -------
    ndarray (..., n_dg)
        Curtailed kW per DG unit, ``0 <= curtailed <= dg_kw``; every unit curtailed by the same share
        of its output in an hour.
    """
    d = np.asarray(demand_kw, dtype=np.float64)
    g = np.asarray(dg_kw, dtype=np.float64)
    limit = float(export_limit_kw)
    if not (np.isfinite(limit) and limit >= 0.0):
        raise CurtailmentError(f"export_limit_kw must be a finite number >= 0, got {export_limit_kw}")
    if d.ndim < 1 or g.ndim < 1:
        raise CurtailmentError(
            f"demand_kw needs a bus axis and dg_kw a unit axis, got shapes {d.shape}, {g.shape}"
        )
    if np.any(g < 0.0):
        raise CurtailmentError("dg_kw must be >= 0 (available output)")
    total_d = d.sum(-1)[..., None]  # (..., 1)
    total_g = g.sum(-1, keepdims=True)
    try:
        excess = total_g - total_d - limit  # export beyond the limit, (..., 1)
    except ValueError:
        raise CurtailmentError(
            f"leading axes of demand_kw {d.shape[:-1]} and dg_kw {g.shape[:-1]} do not broadcast"
        ) from None
    share = np.clip(excess, 0.0, None) / np.where(total_g > 0.0, total_g, 1.0)
    return np.minimum(share, 1.0) * g
