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
from numba import njit, prange
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
    "no_load_vm",
    "lindistflow_drop",
    "StageOperation",
    "operate_rules",
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


def no_load_vm(net: Network) -> NDArray[np.float64]:
    """No-load voltage magnitudes (pu): the slack's, divided by the taps on the path to each bus."""
    vnl = np.empty(net.n_bus)
    vnl[0] = net.slack_vm_pu
    for k in range(1, net.n_bus):
        vnl[k] = vnl[net.parent[k]] / net.tap[k - 1]
    return vnl


def lindistflow_drop(
    net: Network,
    D: NDArray[np.float64],
    p_kw: NDArray[np.float64],
    q_kvar: NDArray[np.float64],
    r_ohm: NDArray[np.float64],
    x_ohm: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Linearised DistFlow voltage drop (pu) below the no-load voltage, ``no_load_vm - V``: linear
    in the demand, so the drop of a demand *pattern* is the sensitivity of every bus's voltage to
    that pattern's size (arguments as :func:`lindistflow_vm`)."""
    vnl = no_load_vm(net)
    zb = net.z_base_ohm
    P = p_kw @ D.T / 1000.0
    Q = q_kvar @ D.T / 1000.0
    return ((r_ohm / zb * P + x_ohm / zb * Q) / vnl[1:]) @ D


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
    return no_load_vm(net) - lindistflow_drop(net, D, p_kw, q_kvar, r_ohm, x_ohm)


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


@dataclass(frozen=True)
class StageOperation:
    """Result of :func:`operate_rules`: the bus demand after curtailment and shedding, ``p_kw`` and
    ``q_kvar`` ``(n, S, W, T, n_bus)``, and per case ``(n, S, W, T)``: ``curtail_frac`` (share of
    the PV output curtailed), ``ev_shed_kw`` and ``load_shed_kw``."""

    p_kw: NDArray[np.float64]
    q_kvar: NDArray[np.float64]
    curtail_frac: NDArray[np.float64]
    ev_shed_kw: NDArray[np.float64]
    load_shed_kw: NDArray[np.float64]


@njit(cache=True)
def _path_to(j, parent, mark):  # pragma: no cover - compiled
    """``mark[l]``: bus ``l`` lies on the path from the slack to bus ``j`` (the slack excluded)."""
    for m in range(mark.shape[0]):
        mark[m] = False
    while j > 0:
        mark[j] = True
        j = parent[j]


@njit(cache=True)
def _common(rp, parent, mark, out):  # pragma: no cover - compiled
    """``out[l] = rp[lca(l, j)]`` for the bus ``j`` whose path is ``mark``: the voltage change at
    every bus per kW injected at ``j`` (LinDistFlow, resistances only); parents precede children."""
    out[0] = 0.0
    for m in range(1, out.shape[0]):
        out[m] = rp[m] if mark[m] else out[parent[m]]


@njit(cache=True)
def _greedy_curtail(vm, pv, rp, parent, v_max, cut, mark, a):  # pragma: no cover - compiled
    """Sensitivity rule: while a bus is above ``v_max``, curtail the PV unit with the largest
    voltage sensitivity at the worst bus (``rp`` of the common path; a tie goes to the deeper
    unit) just enough to bring that bus to the limit or the unit to zero; ``vm`` is updated.
    Where no unit can lower the worst bus, everything is curtailed (as the uniform rule). Returns
    the curtailed total. For one violated bus this is the LP optimum (a fractional knapsack)."""
    nb = vm.shape[0]
    total = 0.0
    for _ in range(4 * nb):  # each pass fixes a bus or empties a unit
        iw = -1
        worst = 1e-12
        for m in range(nb):
            if vm[m] - v_max > worst:
                worst = vm[m] - v_max
                iw = m
        if iw < 0:
            break
        _path_to(iw, parent, mark)
        _common(rp, parent, mark, a)
        best = -1
        best_a = 0.0
        best_r = -1.0
        for m in range(1, nb):
            better = a[m] > best_a or (a[m] == best_a and rp[m] > best_r)
            if better and a[m] > 0.0 and pv[m] - cut[m] > 1e-12:
                best, best_a, best_r = m, a[m], rp[m]
        if best < 0:
            for m in range(nb):
                total += pv[m] - cut[m]
                cut[m] = pv[m]
            break
        dc = min(pv[best] - cut[best], worst / best_a)
        cut[best] += dc
        total += dc
        _path_to(best, parent, mark)
        _common(rp, parent, mark, a)
        for m in range(nb):
            vm[m] -= dc * a[m]
    return total


@njit(cache=True, parallel=True)
def _rules_kernel(
    a, b, qh, ev, bat, site, ev_idx, p_nom, q_nom, pv_bus, vnl, U, trafo, v_max, k_inv, parent, w_r, rule,
    p_out, q_out, frac_out, evs_out, lds_out,
):  # pragma: no cover - compiled
    """Steps 3-4 of 000's lower level for every case; parallel over (candidate, stage) pairs.
    ``rule`` 0: one uniform share of every PV unit; 1: the sensitivity rule (:func:`_greedy_curtail`)."""
    n, S, W, T, k = ev.shape
    nb = p_nom.shape[0]
    p_tot = 0.0
    pv_tot = 0.0
    for j in range(nb):
        p_tot += p_nom[j]
        pv_tot += pv_bus[j]
    for c in prange(n * S):
        i = c // S
        s = c % S
        st = site[i]
        cap = trafo[i, s]
        vmv = np.empty(nb)
        pvb = np.empty(nb)
        cut = np.empty(nb)
        rp = np.zeros(nb)
        mark = np.zeros(nb, dtype=np.bool_)
        scratch = np.empty(nb)
        for j in range(1, nb):  # resistance of the path to j, weighted as LinDistFlow's drops
            rp[j] = rp[parent[j]] + w_r[i, s, j - 1]
        for w in range(W):
            for t in range(T):
                A = a[s, w, t]
                B = b[s, w, t]
                pb = bat[i, s, w, t]
                e_sum = 0.0
                e_pos = 0.0
                for j in range(k):
                    e_sum += ev[i, s, w, t, j]
                    e_pos += max(ev[i, s, w, t, j], 0.0)
                pv = B * pv_tot
                head = A * p_tot + e_sum + pb - pv  # feeder-head demand before curtailment
                # reverse power within k_inv S_trans (000 3.2.2)
                f = (-head - k_inv * cap) / pv if pv > 0.0 else 0.0
                # linearised voltages within v_max (000 3.2.3): V = V_nl - sum_m size_m U_m
                over = False
                for j in range(nb):
                    rise = B * U[i, s, 1, j]
                    vm = vnl[j] - A * U[i, s, 0, j] + rise - pb * U[i, s, 2 + k, j]
                    for m in range(k):
                        vm -= ev[i, s, w, t, m] * U[i, s, 2 + m, j]
                    vmv[j] = vm
                    pvb[j] = B * pv_bus[j]
                    over = over or vm > v_max
                    if rule == 0:
                        if rise > 1e-12:
                            need = (vm - v_max) / rise
                        else:
                            need = 1.0 if vm > v_max else 0.0
                        if need > f:
                            f = need
                if rule == 0:
                    f = min(max(f, 0.0), 1.0)
                    for j in range(nb):
                        cut[j] = f * pvb[j]
                else:
                    for j in range(nb):
                        cut[j] = 0.0
                    done = _greedy_curtail(vmv, pvb, rp, parent, v_max, cut, mark, scratch) if over else 0.0
                    more = (-head - k_inv * cap) - done  # the reverse-power limit, from what is left
                    if more > 0.0 and pv - done > 0.0:
                        g = min(more / (pv - done), 1.0)
                        for j in range(nb):
                            cut[j] += g * (pvb[j] - cut[j])
                        done += g * (pv - done)
                    f = done / pv if pv > 0.0 else 0.0
                # lost load: head apparent power beyond the rating, EV charging shed first
                q_head = qh[s, w, t]
                p_cap = np.sqrt(max(cap * cap - q_head * q_head, 0.0))
                excess = max(head + pv * f - p_cap, 0.0)
                e_shed = min(excess, e_pos)
                l_shed = min(excess - e_shed, A * p_tot)
                f_ev = e_shed / e_pos if e_pos > 0.0 else 0.0
                f_ld = l_shed / (A * p_tot) if A * p_tot > 0.0 else 0.0
                keep = 1.0 - f_ld
                for j in range(nb):
                    p_out[i, s, w, t, j] = A * p_nom[j] * keep - (pvb[j] - cut[j])
                    q_out[i, s, w, t, j] = A * q_nom[j] * keep
                for m in range(k):
                    e = ev[i, s, w, t, m]
                    p_out[i, s, w, t, ev_idx[m]] += e - max(e, 0.0) * f_ev
                p_out[i, s, w, t, st] += pb
                frac_out[i, s, w, t] = f
                evs_out[i, s, w, t] = e_shed
                lds_out[i, s, w, t] = l_shed


def operate_rules(
    load_scale: NDArray[np.float64],
    pv_scale: NDArray[np.float64],
    p_nom_kw: NDArray[np.float64],
    q_nom_kvar: NDArray[np.float64],
    pv_pattern: NDArray[np.float64],
    ev_kw: NDArray[np.float64],
    ev_idx: NDArray[np.int64],
    battery_kw: NDArray[np.float64],
    site: NDArray[np.int64],
    sensitivity: NDArray[np.float64],
    no_load_pu: NDArray[np.float64],
    trafo_kva: NDArray[np.float64],
    *,
    v_max_pu: float,
    k_inv: float,
    parent: NDArray[np.int64] | None = None,
    branch_weight: NDArray[np.float64] | None = None,
    rule: str = "uniform",
) -> StageOperation:
    """000's operating rules after the dispatch, for every case in one pass (steps 3-4 of
    :mod:`problems.staged_planning`): PV curtailment by the rule of :func:`curtail_fraction`, lost
    load beyond the transformer's rating (EV charging first), and the bus demand of the power flow.

    Demand of case ``(i, s, w, t)`` at bus ``j``: ``load_scale[s, w, t] * p_nom_kw[j]`` (reactive
    alike), PV ``pv_scale[s, w, t] * pv_pattern[j]``, EV stations ``ev_kw[i, s, w, t, m]`` at
    ``ev_idx[m]``, the battery ``battery_kw[i, s, w, t]`` at ``site[i]``. LinDistFlow is linear, so
    every voltage is ``no_load_pu - sum_m size_m sensitivity[i, s, m]`` with the rows of
    ``sensitivity`` ``(n, S, 3 + k, n_bus)`` the :func:`lindistflow_drop` of (load p and q), PV
    (sign: a generation, so ``-pv_pattern``; the row is the rise per unit), station m, the site:
    the same numbers as :func:`lindistflow_vm` on the assembled demand, at O(n_bus) per case.

    ``rule``: ``"uniform"`` curtails one share of every PV unit (:func:`curtail_fraction`);
    ``"sensitivity"`` curtails at the units that lower the worst bus most (the common-path
    resistance with it: LinDistFlow's sensitivity), one bus at a time, then tops up uniformly for
    the reverse-power limit. It needs the tree (``parent``, the network's) and ``branch_weight``
    ``(n, S, n_branch)``, each branch's ``r / (Z_base 1000 V_nl)`` (pu per kW, the weights of
    :func:`lindistflow_drop`). The curtailed total is ``curtail_frac`` times the PV output.
    """
    if rule not in ("uniform", "sensitivity"):
        raise StagingError(f"rule must be 'uniform' or 'sensitivity', got {rule!r}")
    if rule == "sensitivity" and (parent is None or branch_weight is None):
        raise StagingError("the sensitivity rule needs parent and branch_weight")
    ev = np.ascontiguousarray(ev_kw, dtype=np.float64)
    n, S, W, T, k = ev.shape
    U = np.ascontiguousarray(sensitivity, dtype=np.float64)
    nb = U.shape[-1]
    if U.shape != (n, S, 3 + k, nb) or battery_kw.shape != (n, S, W, T) or load_scale.shape != (S, W, T):
        raise StagingError(
            f"operate_rules: shapes do not agree (ev {ev.shape}, battery {battery_kw.shape}, "
            f"sensitivity {U.shape}, load_scale {load_scale.shape})"
        )
    p = np.empty((n, S, W, T, nb))
    q = np.empty_like(p)
    frac, evs, lds = np.empty((n, S, W, T)), np.empty((n, S, W, T)), np.empty((n, S, W, T))
    qh = np.ascontiguousarray(load_scale * q_nom_kvar.sum())
    par = np.zeros(nb, np.int64) if parent is None else np.ascontiguousarray(parent, dtype=np.int64)
    w_r = np.zeros((n, S, nb - 1)) if branch_weight is None else branch_weight
    w_r = np.ascontiguousarray(np.broadcast_to(w_r, (n, S, nb - 1)), dtype=np.float64)
    _rules_kernel(
        np.ascontiguousarray(load_scale, dtype=np.float64),
        np.ascontiguousarray(pv_scale, dtype=np.float64),
        qh,
        ev,
        np.ascontiguousarray(battery_kw, dtype=np.float64),
        np.ascontiguousarray(site, dtype=np.int64),
        np.ascontiguousarray(ev_idx, dtype=np.int64),
        np.ascontiguousarray(p_nom_kw, dtype=np.float64),
        np.ascontiguousarray(q_nom_kvar, dtype=np.float64),
        np.ascontiguousarray(pv_pattern, dtype=np.float64),
        np.ascontiguousarray(no_load_pu, dtype=np.float64),
        U,
        np.ascontiguousarray(np.broadcast_to(trafo_kva, (n, S)), dtype=np.float64),
        float(v_max_pu),
        float(k_inv),
        par,
        w_r,
        0 if rule == "uniform" else 1,
        p, q, frac, evs, lds,
    )
    return StageOperation(p_kw=p, q_kvar=q, curtail_frac=frac, ev_shed_kw=evs, load_shed_kw=lds)


@njit(cache=True, parallel=True)
def _vm_range_kernel(v, lo, hi):  # pragma: no cover - compiled
    for i in prange(v.shape[0]):
        mn = np.inf
        mx = -np.inf
        bad = False
        for j in range(v.shape[1]):
            m2 = v[i, j].real ** 2 + v[i, j].imag ** 2
            if not m2 == m2:
                bad = True
            mn = min(mn, m2)
            mx = max(mx, m2)
        lo[i] = np.nan if bad else np.sqrt(mn)
        hi[i] = np.nan if bad else np.sqrt(mx)


def vm_range(v_pu: NDArray[np.complex128]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Lowest and highest voltage magnitude of each row of ``v_pu`` ``(n, ...)`` (``nan`` where a
    row holds a ``nan``: a power flow that failed), without the ``(n, ...)`` array of magnitudes."""
    v = np.ascontiguousarray(v_pu).reshape(v_pu.shape[0], -1)
    lo, hi = np.empty(v.shape[0]), np.empty(v.shape[0])
    _vm_range_kernel(v, lo, hi)
    return lo, hi
