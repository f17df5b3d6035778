"""Flexibility indices of an active distribution network, paper 002 eqs. (18)-(21).

* :func:`flexibility_index`, eq. (18): ``I_F``, how well the up/down regulation the feeder has in
  each hour covers the ramp of its net load;
* :func:`up_down`, eq. (19): ``F_U``, ``F_D`` from the storage devices (EV stations, batteries) and
  the substation (``MG``, the main grid);
* :func:`branch_loading_index`, eq. (20): ``I_BF``, the mean branch loading ``|I| / I_max``;
* ``F = I_F - I_BF``, eq. (21) (:func:`flexibility`).

Readings (002 is silent or garbled):

* **Eq. (18)** as printed, ``I_F = sum_t (F_U^t - F_D^t) / (T (P_{t+1} - P_t))``, divides by zero
  on a flat hour and changes sign with the ramp. The default reading (``mode="direction"``) takes
  the regulation in the direction of the ramp: ``r_t = F_U^t / dP_t`` when the net load rises
  (``dP_t > 0``), else ``F_D^t / |dP_t|``, with ``|dP_t|`` floored at ``floor_share`` (1 %) of the
  day's peak net load, and ``I_F = mean_t r_t`` (uncapped: 002 table 6 has values above 1). The day
  is cyclic (hour 23 ramps to hour 0). ``mode="literal"`` computes the printed formula (no floor;
  a flat hour gives ``inf``/``nan``).
* **Eq. (19), storage** (002 gives no formula for ``F^up_EV``): up = the charging it can drop plus
  the discharge it can add within power and energy, ``p_ch + min(P_dis_max, eta (S - S_min))``;
  down = the discharge it can drop plus the charging it can add,
  ``p_dis + min(P_ch_max - p_ch, (S_max - S) / eta)`` (1 h steps). The same rule serves batteries.
* **Eq. (19), main grid**: ``F^up_MG = S_head - P_MG`` (headroom at the substation) and
  ``F^down_MG = P_MG`` (no export), ``S_head`` a named input of the caller.
* **Eq. (20)'s ``I_max``**: IEEE 33 has no branch ratings. :func:`with_current_limits` gives a
  network the documented rule ``I_max = factor x |I|`` at the network's nominal load (factor 2:
  the branch currents of the nominal point run from 210 A to 4 A, and ``L`` is then about 0.3-0.5,
  the scale of 002 table 6). Branches that already have a rating keep it: a feeder with real limits
  uses its own. ``rule="uniform"`` gives every unrated branch one rating, ``factor x`` the largest
  nominal current (one conductor for the feeder). Under the per-branch rule a lightly loaded lateral
  gets a limit of a few amperes, so an SOP's transfer through it raises ``I_BF`` (paper 002 on
  IEEE 33: 0.476 -> 0.507 from plan 1 to plan 2; 21-22, rated 9.1 A, goes from L = 1.37 to 3.07)
  even though most branches unload; under the uniform rule ``I_BF`` falls with SOPs as 002's table 6
  does (0.099 -> 0.078). 002 gives no ratings, so neither rule is the paper's.

Where I_F comes from (``experiments/paper002/README.md``): with no regulating storage, eq. (19) is
the main grid alone, ``S_head - P_MG`` up and ``P_MG`` down, thousands of kW against ramps of
hundreds, so ``I_F`` is about ``S_head / ramp``. An SOP supplies no net power and enters ``I_F``
only through ``P_MG`` (its loss savings), which lowers ``F_D`` as much as it raises ``F_U``: SOPs
barely move ``I_F`` in either reading of eq. (18). The SOP's rating is not a term of eq. (19) and is
not counted.

Example
-------
>>> import numpy as np
>>> from grid import cases, flexibility
>>> from grid.powerflow import solve
>>> net = flexibility.with_current_limits(cases.load("ieee33"))
>>> res = solve(net, net.p_kw, net.q_kvar)
>>> float(flexibility.branch_loading_index(res.i_a[None], net.i_max_a))   # nominal load: 1 / factor
0.5
>>> ramp = np.r_[np.linspace(1000, 3000, 12), np.linspace(3000, 1000, 12)]
>>> up = np.full(24, 500.0); down = np.full(24, 100.0)
>>> # ((11 * 500 + 11 * 100) / (2000 / 11) + 2 * 100 / 30) / 24: rises use up, falls and flats down
>>> round(float(flexibility.flexibility_index(up, down, ramp)), 2)
1.79
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .network import Network

__all__ = [
    "FlexibilityError",
    "with_current_limits",
    "branch_loading_index",
    "flexibility_index",
    "storage_up_down",
    "up_down",
    "flexibility",
]


class FlexibilityError(ValueError):
    """Bad input to a flexibility index (shapes, unknown mode, missing current limits)."""


def with_current_limits(net: Network, *, factor: float = 2.0, rule: str = "nominal") -> Network:
    """``net`` with a current limit on every branch that has no rating (``nan``); rated branches keep it.

    ``rule="nominal"`` (default): ``I_max = factor x |I(nominal load)|`` branch by branch (this
    module's docstring). ``rule="uniform"``: one conductor rating for the whole feeder,
    ``I_max = factor x max |I(nominal load)|`` (the head branch's), so a lightly loaded lateral is
    not rated at a few amperes.
    """
    from .powerflow import solve

    f = float(factor)
    if not (np.isfinite(f) and f > 0):
        raise FlexibilityError(f"factor must be positive and finite, got {factor!r}")
    if rule not in ("nominal", "uniform"):
        raise FlexibilityError(f"rule must be 'nominal' or 'uniform', got {rule!r}")
    res = solve(net, net.p_kw, net.q_kvar)
    nominal = np.abs(res.i_a)
    if rule == "uniform":
        nominal = np.full_like(nominal, nominal.max())
    known = np.isfinite(net.i_max_a)
    imax = np.where(known, net.i_max_a, f * np.maximum(nominal, 1e-6))
    imax.setflags(write=False)
    return dataclasses.replace(net, i_max_a=imax)


def branch_loading_index(i_a: ArrayLike, i_max_a: ArrayLike) -> NDArray[np.float64]:
    """002 eq. (20): ``I_BF = (1/T) sum_t sum_ij (|I_ij,t| / I_max,ij) / N_B``.

    ``i_a`` ``(..., T, n_branch)`` (complex or magnitude); result ``(...)``.
    """
    i = np.abs(np.asarray(i_a))
    imax = np.asarray(i_max_a, dtype=np.float64)
    if i.ndim < 2 or i.shape[-1] != imax.shape[-1]:
        raise FlexibilityError(f"i_a must be (..., T, {imax.shape[-1]}), got {i.shape}")
    if not np.all(np.isfinite(imax)) or np.any(imax <= 0):
        raise FlexibilityError(
            "I_BF needs a positive current limit on every branch: use with_current_limits(net)"
        )
    return (i / imax).mean(axis=(-2, -1))


def flexibility_index(
    f_up_kw: ArrayLike,
    f_down_kw: ArrayLike,
    net_load_kw: ArrayLike,
    *,
    mode: str = "direction",
    floor_share: float = 0.01,
) -> NDArray[np.float64]:
    """002 eq. (18): ``I_F`` from hourly up/down regulation and the net load, all ``(..., T)``."""
    arrays = (np.asarray(a, dtype=np.float64) for a in (f_up_kw, f_down_kw, net_load_kw))
    up, down, p = np.broadcast_arrays(*arrays)
    if p.ndim < 1 or p.shape[-1] < 2:
        raise FlexibilityError(f"need an hour axis of length >= 2, got shape {p.shape}")
    dp = np.roll(p, -1, axis=-1) - p  # P_{t+1} - P_t, cyclic day
    t = p.shape[-1]
    if mode == "literal":
        with np.errstate(divide="ignore", invalid="ignore"):
            return ((up - down) / (t * dp)).sum(axis=-1)
    if mode != "direction":
        raise FlexibilityError(f"mode must be 'direction' or 'literal', got {mode!r}")
    if not 0 < floor_share < 1:
        raise FlexibilityError(f"floor_share must lie in (0, 1), got {floor_share!r}")
    floor = floor_share * np.abs(p).max(axis=-1, keepdims=True)
    ramp = np.maximum(np.abs(dp), np.maximum(floor, 1e-9))
    return (np.where(dp > 0, up, down) / ramp).mean(axis=-1)


def storage_up_down(
    p_ch_kw: ArrayLike,
    p_dis_kw: ArrayLike,
    energy_kwh: ArrayLike,
    bounds: object,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Up and down regulation ``(..., 24)`` of storage devices (EV stations or batteries), summed over
    the device axis: ``p_ch``, ``p_dis``, ``energy`` ``(..., n_dev, 24)`` of a schedule and its
    :class:`grid.storage.StorageBounds` (reading of eq. (19) in the module docstring)."""
    pc, pd, s = (np.asarray(a, dtype=np.float64) for a in (p_ch_kw, p_dis_kw, energy_kwh))
    eta = np.asarray(bounds.efficiency)[..., None]  # type: ignore[attr-defined]
    up = pc + np.minimum(bounds.p_dis_max_kw, np.maximum(eta * (s - bounds.energy_min_kwh), 0.0))  # type: ignore[attr-defined]
    room = np.maximum(bounds.energy_max_kwh - s, 0.0) / eta  # type: ignore[attr-defined]
    down = pd + np.minimum(np.maximum(bounds.p_ch_max_kw - pc, 0.0), room)  # type: ignore[attr-defined]
    return up.sum(axis=-2), down.sum(axis=-2)


def up_down(
    slack_p_kw: ArrayLike, head_kva: float, storage_up: ArrayLike = 0.0, storage_down: ArrayLike = 0.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """002 eq. (19): ``F_U = F^up_EV + (S_head - P_MG)``, ``F_D = F^down_EV + P_MG`` (``P_MG >= 0``)."""
    pmg = np.maximum(np.asarray(slack_p_kw, dtype=np.float64), 0.0)
    if not (np.isfinite(head_kva) and head_kva > 0):
        raise FlexibilityError(f"head_kva must be positive and finite, got {head_kva!r}")
    return np.asarray(storage_up) + np.maximum(head_kva - pmg, 0.0), np.asarray(storage_down) + pmg


def flexibility(i_f: ArrayLike, i_bf: ArrayLike) -> NDArray[np.float64]:
    """002 eq. (21): ``F = I_F - I_BF``."""
    return np.asarray(i_f, dtype=np.float64) - np.asarray(i_bf, dtype=np.float64)
