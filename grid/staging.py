"""Staged (multi-period) planning physics and economics, paper 000 (Li & Li): investments that
persist across stages, a discrete transformer ladder, discounting, and the operating rules of 000's
lower level that run before the one batched power flow (PV curtailment, lost load).

Pieces, each vectorised over any leading batch axes:

* :func:`check_monotone` / :func:`monotone_repair`: an investment may grow from stage to stage but
  never shrink (000 section 3.1: what stage I builds stays; "investments persist").
* :func:`ladder_index`: transformer sizes on a standard ladder (named error off it).
* :func:`stage_discount`: present-worth factors of 000 section 3.1's LCC,
  ``sum_t (1+r)^-t [...]``, split into the factor of a stage's first year (investment) and the sum
  over the stage's years (yearly costs).
* :func:`lindistflow_vm`: the linearised DistFlow (Baran & Wu 1989) voltage magnitudes, used only to
  size overvoltage curtailment before the exact power flow (000 section 3.2.3's band; 000 solves an
  SOCP, which a rule plus the BFS replace here).
* :func:`curtail_fraction`: the uniform PV curtailment fraction that keeps the reverse power within
  ``k_inv S_trans`` (000 section 3.2.2) and the linearised voltages within ``v_max``.

Example
-------
>>> import numpy as np
>>> from grid import staging
>>> staging.monotone_repair(np.array([[2.0, 1.0, 3.0]])).tolist()
[[2.0, 2.0, 3.0]]
>>> f = staging.stage_discount((3, 4, 3), 0.05)
>>> [round(float(x), 4) for x in f.first_year], round(float(f.years.sum()), 4)   # 1.05^-1, ^-4, ^-8
([0.9524, 0.8227, 0.6768], 7.7217)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .network import Network

__all__ = [
    "StagingError",
    "StageDiscount",
    "check_monotone",
    "monotone_repair",
    "ladder_index",
    "stage_discount",
    "downstream_matrix",
    "lindistflow_vm",
    "curtail_fraction",
]


class StagingError(ValueError):
    """Bad staged-planning input: a shrinking investment, a size off the ladder, a share outside
    [0, 1], stage data of the wrong length."""


def check_monotone(values: ArrayLike, name: str, *, axis: int = -1) -> NDArray[np.float64]:
    """``values`` (stages along ``axis``) checked to never decrease from one stage to the next."""
    v = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise StagingError(f"{name}: values must be finite, got {v.tolist()}")
    d = np.diff(v, axis=axis)
    if np.any(d < 0):
        raise StagingError(
            f"{name}: a stage sequence may not shrink an investment (it persists), got {v.tolist()}"
        )
    return v


def monotone_repair(x: ArrayLike, *, axis: int = -1) -> NDArray[np.float64]:
    """The smallest non-decreasing sequence above ``x`` along ``axis`` (running maximum): what a
    plan has built in a stage is kept in every later stage."""
    return np.maximum.accumulate(np.asarray(x, dtype=np.float64), axis=axis)


def ladder_index(size_kva: ArrayLike, ladder_kva: ArrayLike) -> NDArray[np.int64]:
    """Index of each size on the ladder (sizes must be rungs of it, exactly)."""
    lad = np.asarray(ladder_kva, dtype=np.float64)
    if lad.ndim != 1 or lad.size == 0 or np.any(np.diff(lad) <= 0) or lad[0] <= 0:
        raise StagingError(f"transformer ladder must be increasing positive sizes, got {lad.tolist()}")
    s = np.asarray(size_kva, dtype=np.float64)
    idx = np.searchsorted(lad, s)
    ok = (idx < lad.size) & (lad[np.minimum(idx, lad.size - 1)] == s)
    if not np.all(ok):
        raise StagingError(
            f"transformer size(s) {np.unique(s[~ok]).tolist()} kVA not on the ladder {lad.tolist()}"
        )
    return idx.astype(np.int64)


@dataclass(frozen=True)
class StageDiscount:
    """Present-worth factors per stage: ``first_year[s] = (1+r)^-t0_s`` (investment paid in the
    stage's first year, t counted from 1), ``years[s] = sum_{t in stage s} (1+r)^-t`` (yearly costs)."""

    first_year: NDArray[np.float64]
    years: NDArray[np.float64]
    start_year: NDArray[np.int64]


def stage_discount(stage_years: ArrayLike, rate: float) -> StageDiscount:
    """000 section 3.1's discounting for stages of ``stage_years`` years (e.g. 3, 4, 3)."""
    n = np.asarray(stage_years, dtype=np.int64)
    if n.ndim != 1 or n.size == 0 or np.any(n < 1):
        raise StagingError(f"stage_years must be positive integers, got {n.tolist()}")
    if not (np.isfinite(rate) and rate > -1):
        raise StagingError(f"discount rate must be > -1, got {rate}")
    start = np.r_[0, np.cumsum(n)[:-1]] + 1
    t = np.arange(1, n.sum() + 1)
    df = (1.0 + rate) ** -t.astype(np.float64)
    years = np.add.reduceat(df, start - 1)
    return StageDiscount(first_year=df[start - 1], years=years, start_year=start)


def downstream_matrix(net: Network) -> NDArray[np.float64]:
    """``D[k, i] = 1`` when bus ``i`` is fed through branch ``k`` (branch k feeds internal bus k+1).

    Branch flows are ``p @ D.T``; the path to bus ``i`` is column ``i``.
    """
    n = net.n_bus
    D = np.zeros((n - 1, n))
    for i in range(1, n):  # walk up from every bus (children have larger indices than parents)
        j = i
        while j > 0:
            D[j - 1, i] = 1.0
            j = int(net.parent[j])
    return D


def lindistflow_vm(
    net: Network,
    D: NDArray[np.float64],
    p_kw: NDArray[np.float64],
    q_kvar: NDArray[np.float64],
    r_ohm: NDArray[np.float64],
    x_ohm: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Linearised DistFlow voltage magnitudes (pu), losses neglected (Baran & Wu 1989):
    ``V_i = V_nl,i - sum_{k on path to i} (r_k P_k + x_k Q_k) / V_nl,k`` in per unit (1 MVA base),
    ``V_nl`` the no-load voltage (slack over the taps on the path).

    ``p_kw``/``q_kvar`` ``(..., n_bus)``, ``r_ohm``/``x_ohm`` ``(..., n_branch)`` broadcasting with
    them. Used to size curtailment; the BFS gives the voltages that are reported.
    """
    vnl = np.empty(net.n_bus)
    vnl[0] = net.slack_vm_pu
    for k in range(1, net.n_bus):
        vnl[k] = vnl[net.parent[k]] / net.tap[k - 1]
    zb = net.z_base_ohm
    P = p_kw @ D.T / 1000.0
    Q = q_kvar @ D.T / 1000.0
    drop = (r_ohm / zb * P + x_ohm / zb * Q) / vnl[1:]
    return vnl - drop @ D


def curtail_fraction(
    vm_pu: NDArray[np.float64],
    rise_pu: NDArray[np.float64],
    head_kw: NDArray[np.float64],
    pv_kw: NDArray[np.float64],
    *,
    v_max_pu: float,
    reverse_limit_kw: ArrayLike,
) -> NDArray[np.float64]:
    """Uniform share of every PV unit's output to curtail, per case (``(...)`` in [0, 1]).

    Two rules, the larger wins: the reverse power ``-head_kw`` may not exceed ``reverse_limit_kw``
    (000 section 3.2.2: ``P_reverse <= k_inv S_trans``, with the PV total ``pv_kw``), and the
    linearised voltage ``vm_pu - f rise_pu`` (``rise_pu`` the voltage rise the whole PV output
    causes, ``(..., n_bus)``) may not exceed ``v_max_pu`` (000 section 3.2.3).
    """
    lim = np.asarray(reverse_limit_kw, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        f_rev = np.where(pv_kw > 0, (-head_kw - lim) / pv_kw, 0.0)
        need = np.where(rise_pu > 1e-12, (vm_pu - v_max_pu) / rise_pu, np.where(vm_pu > v_max_pu, 1.0, 0.0))
    f_v = need.max(axis=-1)
    return np.clip(np.maximum(f_rev, f_v), 0.0, 1.0)
