"""Substation transformer metrics from the slack power of a power flow: :func:`transformer_metrics`.

The substation transformer feeds the slack bus, so its apparent power is the slack power
``S_t = slack_p_kw + j slack_q_kvar`` of :func:`grid.powerflow.solve` (demand plus losses, minus
shunt kvar; negative P when the feeder exports). Post-processing only: the power flow does not
change. Per time step ``t`` of length ``dt_h`` hours, with rating ``S_trans`` (kVA) and reverse
limit ``P_rev,max`` (kW):

* **loading rate** ``rho_t = |S_t| / S_trans`` (paper 001, sec. 3: "the load rate of distribution
  transformers ... judge whether there is overload"; its eq. (20) bounds the branch's peak load by
  ``S_j cos(phi)``). Direction-blind: reverse flow loads the windings as forward flow does.
* **heavy-load hours** ``dt_h * #{t : rho_t > threshold}``, ``threshold`` default
  :data:`HEAVY_LOAD_THRESHOLD` ``= 0.8`` (paper 000, Table 3 row "Duration of transformer heavy
  load (>80%) (h/year)"). Strictly above, as the paper's ">80%".
* **overload** ``max(0, |S_t| - S_trans)`` kVA per step and its energy ``sum_t ... * dt_h`` kVAh
  (the reading notes ``shared/papers/NOTES_000_001_002_004.md``, sec. 1.1, lower level step 6,
  read paper 000 this way: apparent power beyond the rating is lost load).
* **reverse power** ``P_rev,t = max(0, -P_t)`` kW and its violation
  ``max(0, P_rev,t - P_rev,max)`` per step and energy (kWh), the constraint
  ``P_reverse,t <= k_inv * S_trans`` of paper 000, sec. 3.2.2, with ``k_inv`` typically
  :data:`K_INV` ``= 0.8`` (:func:`reverse_limit_kw`).

Axes: the inputs carry any leading batch axes and one time axis, ``hour_axis`` (default the last).
Per-step outputs keep the input shape; totals drop the time axis. A case whose power flow did not
converge (``nan`` slack power) gives ``nan`` in every output that depends on it (a count of hours
included): never a silent zero.

Example
-------
>>> import numpy as np
>>> m = transformer_metrics([900.0, 500.0, -700.0], [0.0, 0.0, 0.0], rating_kva=800.0,
...                         reverse_limit_kw=reverse_limit_kw(800.0))
>>> m.loading_rate.tolist(), float(m.heavy_load_hours), float(m.overload_kvah)
([1.125, 0.625, 0.875], 2.0, 100.0)
>>> m.reverse_kw.tolist(), float(m.reverse_violation_kwh)
([0.0, 0.0, 700.0], 60.0)
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import InputShapeError
from .network import Network
from .powerflow import PowerFlowResult

__all__ = [
    "HEAVY_LOAD_THRESHOLD",
    "K_INV",
    "TransformerMetrics",
    "reverse_limit_kw",
    "transformer_metrics",
    "metrics_from_result",
]

#: Loading rate above which an hour counts as heavy load (paper 000, Table 3: "heavy load (>80%)").
HEAVY_LOAD_THRESHOLD = 0.8
#: Reverse-power factor of a distribution transformer rated for forward power (paper 000, sec. 3.2.2:
#: ``P_reverse,t <= k_inv * S_trans``, "k_inv is typically 0.8").
K_INV = 0.8


def reverse_limit_kw(rating_kva: float, k_inv: float = K_INV) -> float:
    """Reverse-power limit ``k_inv * S_trans`` in kW (paper 000, sec. 3.2.2).

    ``k_inv = 1.0`` reads the paper's "relaxed in Stage III if transformers are replaced with
    bi-directionally rated units".
    """
    rating = _positive("rating_kva", rating_kva)
    return _positive("k_inv", k_inv, allow_zero=True) * rating


@dataclass(frozen=True, eq=False)
class TransformerMetrics:
    """Output of :func:`transformer_metrics`.

    Per-step arrays have the input shape ``(..., n_t, ...)`` (time on ``hour_axis``); totals have
    it with the time axis removed. Units are in the names; energies use the step length ``dt_h``.

    Attributes
    ----------
    s_kva : ndarray
        Apparent power through the transformer ``|S_t|``, kVA.
    loading_rate : ndarray
        ``|S_t| / rating_kva`` (dimensionless; 1.0 is the rating).
    peak_loading_rate : ndarray
        Largest loading rate over the time axis.
    heavy_load_hours : ndarray
        Hours with loading rate strictly above ``threshold``.
    overload_kva : ndarray
        ``max(0, |S_t| - rating_kva)`` per step.
    overload_kvah : ndarray
        Its sum over the time axis times ``dt_h``.
    overload_hours : ndarray
        Hours with ``|S_t| > rating_kva``.
    reverse_kw : ndarray
        Reverse active power ``max(0, -P_t)`` per step (the feeder exporting through the slack).
    reverse_violation_kw : ndarray
        ``max(0, reverse_kw - reverse_limit_kw)`` per step; ``nan`` everywhere if no limit was given.
    reverse_violation_kwh : ndarray
        Its sum over the time axis times ``dt_h``.
    reverse_violation_hours : ndarray
        Hours with a reverse-power violation (``> 0``).
    rating_kva, reverse_limit_kw, threshold, dt_h : float
        The parameters used (``reverse_limit_kw`` may be ``None``).
    """

    s_kva: NDArray[np.float64]
    loading_rate: NDArray[np.float64]
    peak_loading_rate: NDArray[np.float64]
    heavy_load_hours: NDArray[np.float64]
    overload_kva: NDArray[np.float64]
    overload_kvah: NDArray[np.float64]
    overload_hours: NDArray[np.float64]
    reverse_kw: NDArray[np.float64]
    reverse_violation_kw: NDArray[np.float64]
    reverse_violation_kwh: NDArray[np.float64]
    reverse_violation_hours: NDArray[np.float64]
    rating_kva: float
    reverse_limit_kw: float | None
    threshold: float
    dt_h: float


def _positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (value < 0 if allow_zero else value <= 0):
        need = ">= 0" if allow_zero else "> 0"
        raise InputShapeError(f"{name} must be a finite number {need}, got {value!r}")
    return float(value)


def _hours_where(
    mask: NDArray[np.bool_], bad: NDArray[np.bool_], axis: int, dt_h: float
) -> NDArray[np.float64]:
    """``dt_h`` times the count of ``mask`` along ``axis``; ``nan`` where any step is ``bad``."""
    hours = np.count_nonzero(mask, axis=axis) * dt_h
    return np.where(bad.any(axis=axis), np.nan, hours)


def transformer_metrics(
    slack_p_kw: Any,
    slack_q_kvar: Any,
    *,
    rating_kva: float,
    reverse_limit_kw: float | None = None,
    threshold: float = HEAVY_LOAD_THRESHOLD,
    hour_axis: int = -1,
    dt_h: float = 1.0,
) -> TransformerMetrics:
    """Loading, heavy-load hours, overload and reverse-power violations of the substation transformer.

    Parameters
    ----------
    slack_p_kw, slack_q_kvar : array_like, shape (..., n_t, ...)
        Slack (substation) active and reactive power per case and time step, as
        :class:`grid.powerflow.PowerFlowResult` gives them; broadcast against each other.
    rating_kva : float
        Transformer rating ``S_trans`` in kVA (> 0).
    reverse_limit_kw : float, optional
        Reverse active-power limit in kW (>= 0), e.g. :func:`reverse_limit_kw` ``(rating_kva)``.
        ``None``: the violation outputs are ``nan``.
    threshold : float
        Loading rate above which a step is heavy load; default :data:`HEAVY_LOAD_THRESHOLD`.
    hour_axis : int
        The time axis of the inputs (default the last); totals are taken over it.
    dt_h : float
        Length of one time step in hours (1.0 for hourly profiles).

    Returns
    -------
    TransformerMetrics

    Raises
    ------
    InputShapeError
        A scalar or complex input, shapes that do not broadcast, an ``hour_axis`` out of range, or
        a bad rating, limit, threshold or ``dt_h``.
    """
    rating = _positive("rating_kva", rating_kva)
    limit = (None if reverse_limit_kw is None
             else _positive("reverse_limit_kw", reverse_limit_kw, allow_zero=True))
    thr = _positive("threshold", threshold)
    dt = _positive("dt_h", dt_h)
    arrs = []
    for name, a in (("slack_p_kw", slack_p_kw), ("slack_q_kvar", slack_q_kvar)):
        arr = np.asarray(a)
        if arr.dtype.kind not in "fiu":
            raise InputShapeError(f"{name}: expected a real numeric array in kW/kvar, got dtype {arr.dtype}")
        if arr.ndim == 0:
            raise InputShapeError(f"{name}: got a scalar; expected an array with a time axis (hour_axis)")
        arrs.append(arr.astype(np.float64, copy=False))
    try:
        p, q = np.broadcast_arrays(*arrs)
    except ValueError:
        raise InputShapeError(
            f"slack_p_kw shape {arrs[0].shape} and slack_q_kvar shape {arrs[1].shape} do not broadcast"
        ) from None
    is_int = isinstance(hour_axis, int | np.integer) and not isinstance(hour_axis, bool)
    if not (is_int and -p.ndim <= hour_axis < p.ndim):
        raise InputShapeError(f"hour_axis={hour_axis!r} is not an axis of the inputs of shape {p.shape}")
    ax = int(hour_axis) % p.ndim

    bad = ~(np.isfinite(p) & np.isfinite(q))                 # a case that did not converge
    s = np.hypot(p, q)
    rate = s / rating
    over = np.maximum(s - rating, 0.0)
    rev = np.maximum(-p, 0.0)
    with np.errstate(invalid="ignore"):
        heavy = rate > thr
        overloaded = s > rating
    if limit is None:
        viol = np.full(p.shape, np.nan)
        viol_hours = np.full(np.delete(p.shape, ax), np.nan)
    else:
        viol = np.maximum(rev - limit, 0.0)
        with np.errstate(invalid="ignore"):
            viol_hours = _hours_where(viol > 0, bad, ax, dt)
    return TransformerMetrics(
        s_kva=s,
        loading_rate=rate,
        peak_loading_rate=np.max(rate, axis=ax),
        heavy_load_hours=_hours_where(heavy, bad, ax, dt),
        overload_kva=over,
        overload_kvah=over.sum(axis=ax) * dt,
        overload_hours=_hours_where(overloaded, bad, ax, dt),
        reverse_kw=rev,
        reverse_violation_kw=viol,
        reverse_violation_kwh=viol.sum(axis=ax) * dt,
        reverse_violation_hours=viol_hours,
        rating_kva=rating,
        reverse_limit_kw=limit,
        threshold=thr,
        dt_h=dt,
    )


def metrics_from_result(
    net: Network,
    result: PowerFlowResult,
    *,
    hour_axis: int = -1,
    threshold: float = HEAVY_LOAD_THRESHOLD,
    dt_h: float = 1.0,
    rating_kva: float | None = None,
    reverse_limit_kw: float | None = None,
) -> TransformerMetrics:
    """:func:`transformer_metrics` of a power-flow result, with the network's transformer data.

    ``rating_kva`` and ``reverse_limit_kw`` default to ``net.transformer_kva`` and
    ``net.reverse_limit_kw``; the rating is required from one of the two. ``hour_axis`` indexes the
    batch axes of the result (its ``slack_p_kw`` shape), e.g. ``-1`` for ``(n_cand, n_scen, 24)``.
    """
    rating = net.transformer_kva if rating_kva is None else rating_kva
    if rating is None:
        raise InputShapeError(
            f"{net.name}: no transformer rating: the network has transformer_kva=None and no rating_kva "
            f"was given"
        )
    limit = net.reverse_limit_kw if reverse_limit_kw is None else reverse_limit_kw
    return transformer_metrics(
        result.slack_p_kw, result.slack_q_kvar, rating_kva=rating, reverse_limit_kw=limit,
        threshold=threshold, hour_axis=hour_axis, dt_h=dt_h,
    )
