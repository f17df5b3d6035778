"""The numba kernels of :func:`grid.storage.flatten` (its module docstring states the model and
the algorithm): one hour's best response at an energy price, the arc solver (safeguarded Newton on
the piecewise-linear energy balance), the pinned taut-string construction with warm-started pins,
the least unserved energy, and the Gauss-Seidel loop over devices for a flattened batch."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Energy tolerance of the bounds and the balance (kWh); grid.storage re-exports it.
ENERGY_TOL_KWH = 1e-6


@njit(cache=True)
def _hour(nu, r, pcmax, pdmax, eta):
    """Best (p_ch, p_dis, regime) of one hour at energy price ``nu`` (KKT of
    ``(r + p)^2 - nu * delta(p)``, ``delta = eta p_ch - p_dis / eta``). Regimes: 0 full discharge,
    1 partial discharge, 2 idle, 3 partial charge, 4 full charge."""
    c = 0.5 * nu * eta - r
    d = r - 0.5 * nu / eta
    if c > 0.0 and d > 0.0:  # nu < 0: both pieces are candidates (non-convex in p); take the better
        pc = min(c, pcmax)
        pd = min(d, pdmax)
        fc = (r + pc) ** 2 - nu * eta * pc
        fd = (r - pd) ** 2 + nu * pd / eta
        if r * r <= fc and r * r <= fd:
            return 0.0, 0.0, 2
        if fc <= fd:
            return pc, 0.0, 4 if c >= pcmax else 3
        return 0.0, pd, 0 if d >= pdmax else 1
    if c > 0.0:
        return min(c, pcmax), 0.0, 4 if c >= pcmax else 3
    if d > 0.0:
        return 0.0, min(d, pdmax), 0 if d >= pdmax else 1
    return 0.0, 0.0, 2


@njit(cache=True)
def _balance(nu, hours, n, r, pcmax, pdmax, eta, regime):
    """Stored-energy change over ``hours[:n]`` at price ``nu``; fills ``regime``."""
    tot = 0.0
    for k in range(n):
        t = hours[k]
        pc, pd, reg = _hour(nu, r[t], pcmax[t], pdmax[t], eta)
        regime[k] = reg
        tot += eta * pc - pd / eta
    return tot


@njit(cache=True)
def _linear_nu(hours, n, target, r, pcmax, pdmax, eta, regime):
    """Solve ``balance(nu) = target`` where every hour keeps ``regime`` (the balance is linear
    there, ``a nu + b``); returns nan when it does not depend on ``nu``."""
    a = 0.0
    b = 0.0
    for k in range(n):
        t = hours[k]
        g = regime[k]
        if g == 3:
            a += 0.5 * eta * eta
            b -= eta * r[t]
        elif g == 4:
            b += eta * pcmax[t]
        elif g == 1:
            a += 0.5 / (eta * eta)
            b -= r[t] / eta
        elif g == 0:
            b -= pdmax[t] / eta
    return (target - b) / a if a > 0.0 else np.nan


@njit(cache=True)
def _solve_arc(hours, n, target, r, pcmax, pdmax, eta, pc_out, pd_out, reg):
    """Powers over ``hours[:n]`` minimising ``sum (r + p)^2`` with stored-energy change ``target``
    (clipped to what the powers allow). Writes ``pc_out``/``pd_out`` at those hours and returns
    ``(nu, clipped)``: the energy price of the solution and whether the target was out of reach.

    The balance is piecewise linear and nondecreasing in ``nu`` with the breakpoints of each hour
    (charging starts at ``2 r / eta``, is full at ``2 (r + P_ch) / eta``; discharging starts below
    ``2 eta r``, is full below ``2 eta (r - P_dis)``). A safeguarded Newton iteration finds the
    root: at the current ``nu`` the hours' regimes fix a linear balance ``a nu + b``, whose root is
    the next ``nu``; once no hour changes regime the root is exact. A bracket ``[lo, hi]`` with
    ``balance(lo) < target <= balance(hi)`` is kept, and a step that leaves it (or makes no
    progress) is replaced by regula falsi on the bracket (Illinois). On a piecewise-linear monotone
    function this ends in a few steps. (Where ``r < 0`` an hour may switch between charging and
    discharging, a jump of the balance; the bracket then closes on the jump by bisection.)"""
    lo = 1e300
    hi = -1e300
    f_lo = 0.0
    f_hi = 0.0
    for k in range(n):
        t = hours[k]
        lo = min(lo, 2.0 * eta * (r[t] - pdmax[t]), 2.0 * r[t] / eta)
        hi = max(hi, 2.0 * (r[t] + pcmax[t]) / eta, 2.0 * eta * r[t])
        f_lo -= pdmax[t] / eta  # every hour fully discharging below all breakpoints
        f_hi += eta * pcmax[t]  # fully charging above them
    lo -= 1.0
    hi += 1.0
    scale = 1e-12 * (1.0 + abs(f_lo) + abs(f_hi))
    clipped = target <= f_lo or target >= f_hi
    if target <= f_lo:
        nu = lo
    elif target >= f_hi:
        nu = hi
    else:
        # first point: the secant of the bracket
        nu = lo + (target - f_lo) * (hi - lo) / (f_hi - f_lo)
        side = 0  # Illinois: which end was kept last
        for _ in range(200):
            f = _balance(nu, hours, n, r, pcmax, pdmax, eta, reg)
            if abs(f - target) <= scale:
                break
            if f < target:
                lo = nu
                f_lo = f
                if side == -1:
                    f_hi = target + 0.5 * (f_hi - target)
                side = -1
            else:
                hi = nu
                f_hi = f
                if side == 1:
                    f_lo = target + 0.5 * (f_lo - target)
                side = 1
            if hi - lo <= 1e-12 * max(1.0, abs(hi)):
                nu = np.nan
                break
            nxt = _linear_nu(hours, n, target, r, pcmax, pdmax, eta, reg)  # Newton on this piece
            if not (nxt > lo and nxt < hi):
                nxt = lo + (target - f_lo) * (hi - lo) / (f_hi - f_lo)
                if not (nxt > lo and nxt < hi):
                    nxt = 0.5 * (lo + hi)
            nu = nxt
        else:
            nu = np.nan  # the bracket closed on a jump: split it below
        if nu != nu:
            # the target lies in a jump of the balance (an hour with r < 0 switching from
            # discharging to charging: the hour's cost is not convex there). Keep every hour's
            # response at the bracket's ends and move the hours that differ between them towards
            # the upper end by the share that meets the target exactly: the balance holds, and the
            # hours that jump take a partial power between their two responses.
            d_lo = 0.0
            d_hi = 0.0
            for k in range(n):
                t = hours[k]
                pc, pd, _ = _hour(lo, r[t], pcmax[t], pdmax[t], eta)
                qc, qd, _ = _hour(hi, r[t], pcmax[t], pdmax[t], eta)
                d_lo += eta * pc - pd / eta
                d_hi += eta * qc - qd / eta
            theta = (target - d_lo) / (d_hi - d_lo) if d_hi > d_lo else 1.0
            theta = min(1.0, max(0.0, theta))
            for k in range(n):
                t = hours[k]
                pc, pd, _ = _hour(lo, r[t], pcmax[t], pdmax[t], eta)
                qc, qd, _ = _hour(hi, r[t], pcmax[t], pdmax[t], eta)
                delta = (eta * pc - pd / eta) * (1.0 - theta) + (eta * qc - qd / eta) * theta
                if delta >= 0.0:
                    pc_out[t] = delta / eta
                    pd_out[t] = 0.0
                else:
                    pc_out[t] = 0.0
                    pd_out[t] = -delta * eta
            return 0.5 * (lo + hi), False
    for k in range(n):
        t = hours[k]
        pc, pd, _ = _hour(nu, r[t], pcmax[t], pdmax[t], eta)
        pc_out[t] = pc
        pd_out[t] = pd
    return nu, clipped


@njit(cache=True)
def _greedy_cycle(s, pcmax, emin, emax, dS, eta, u):
    """One day of the greedy full-charge policy from ``S_{-1} = s``; fills ``u`` with the deficits
    lifted to the lower bound and returns ``S_23``."""
    for t in range(pcmax.shape[0]):
        u[t] = 0.0
        s = min(emax[t], s + dS[t] + eta * pcmax[t])
        if s < emin[t]:
            u[t] = emin[t] - s
            s = emin[t]
    return s


@njit(cache=True)
def _unserved(pcmax, emin, emax, dS, eta, u):
    """Least unserved energy of a cyclic device (step 1 of the module docstring): the deficits of
    the greedy full-charge trajectory at its highest cyclic fixed point. The end-of-day map
    ``G(s)`` of that policy is nondecreasing with slope 0 or 1, so ``G(s) - s`` is nonincreasing and
    the largest fixed point is found by bisection. Fills ``u`` (24,)."""
    T = pcmax.shape[0]
    lo = emin[T - 1]
    hi = emax[T - 1]
    if _greedy_cycle(hi, pcmax, emin, emax, dS, eta, u) >= hi:
        _greedy_cycle(hi, pcmax, emin, emax, dS, eta, u)
        return
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if _greedy_cycle(mid, pcmax, emin, emax, dS, eta, u) >= mid:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(1.0, abs(hi)):
            break
    _greedy_cycle(lo, pcmax, emin, emax, dS, eta, u)


@njit(cache=True)
def _solve_pinned(r, pcmax, pdmax, emin, emax, dS, eta, pc, pd, kind, n_start, stack_a, stack_b, hours, reg):
    """Solve the arcs between the pins in ``kind`` (+1 upper bound, -1 lower bound, 0 free; at
    least two, or one for the whole cycle): the arcs on the stack ``stack_a/b[:n_start]``, each
    split at its worst bound violation, which becomes a pin (step 2 of the module docstring).
    Returns whether every pin's multiplier has the sign of its bound (the energy price may only
    rise across an upper-bound pin and fall across a lower-bound one; tested on the finished arcs)
    and no arc's target was out of reach: then the schedule is optimal (KKT)."""
    T = r.shape[0]
    nu_in = np.zeros(T)  # energy price of the finished arc that ends at each pin
    nu_out = np.zeros(T)  # ... and of the one that starts there
    ok = True
    top = n_start
    while top > 0:
        top -= 1
        a = stack_a[top]
        b = stack_b[top]
        n = (b - a) % T
        if n == 0:
            n = T  # one pin: the arc is the whole cycle, from the pin back to it
        inflow = 0.0
        for k in range(n):
            t = (a + 1 + k) % T
            hours[k] = t
            inflow += dS[t]
        va = emax[a] if kind[a] > 0 else emin[a]
        vb = emax[b] if kind[b] > 0 else emin[b]
        nu, clipped = _solve_arc(hours, n, vb - va - inflow, r, pcmax, pdmax, eta, pc, pd, reg)
        s = va
        worst = ENERGY_TOL_KWH * 0.1
        tw = -1
        kw = 0
        for k in range(n - 1):
            t = hours[k]
            s += dS[t] + eta * pc[t] - pd[t] / eta
            if s - emax[t] > worst:
                worst = s - emax[t]
                tw = t
                kw = 1
            if emin[t] - s > worst:
                worst = emin[t] - s
                tw = t
                kw = -1
        if tw >= 0:
            kind[tw] = kw
            stack_a[top] = a
            stack_b[top] = tw
            top += 1
            stack_a[top] = tw
            stack_b[top] = b
            top += 1
        else:
            nu_out[a] = nu
            nu_in[b] = nu
            if clipped:
                ok = False
    for t in range(T):
        if kind[t] != 0 and emax[t] - emin[t] > ENERGY_TOL_KWH:
            eps = 1e-9 * (1.0 + abs(nu_in[t]) + abs(nu_out[t]))
            if kind[t] > 0 and nu_in[t] > nu_out[t] + eps:
                ok = False
            if kind[t] < 0 and nu_in[t] < nu_out[t] - eps:
                ok = False
    return ok


@njit(cache=True)
def _solve_device(r, pcmax, pdmax, emin, emax, dS, eta, pc, pd, s_out, kind):
    """Exact single-device flattening on the cyclic day (step 2); fills pc, pd, s_out.

    ``kind`` (T,) holds the pins of a previous solve of this device (Gauss-Seidel's last sweep,
    whose ``r`` differed only by the other devices' moves): where any are given they are tried
    first, and kept when every arc between them is feasible and every multiplier has its sign
    (optimal by KKT); otherwise, and where none are given, the cold construction runs. On return
    ``kind`` holds this solve's pins."""
    T = r.shape[0]
    hours = np.empty(T, dtype=np.int64)
    reg = np.empty(T, dtype=np.int64)
    stack_a = np.empty(2 * T + 4, dtype=np.int64)
    stack_b = np.empty(2 * T + 4, dtype=np.int64)
    first = -1
    n_pins = 0
    for t in range(T):
        if kind[t] != 0:
            n_pins += 1
            if first < 0:
                first = t
    if n_pins > 0:
        # warm start: the arcs between consecutive pins, cyclically
        top = 0
        prev = first
        for k in range(1, T + 1):
            t = (first + k) % T
            if kind[t] != 0:
                stack_a[top] = prev
                stack_b[top] = t
                top += 1
                prev = t
        kept = _solve_pinned(
            r, pcmax, pdmax, emin, emax, dS, eta, pc, pd, kind, top, stack_a, stack_b, hours, reg
        )
        if kept:
            _energies(first, emin[first] if kind[first] < 0 else emax[first], dS, eta, pc, pd, s_out)
            return
        for t in range(T):
            kind[t] = 0
    total_in = 0.0
    for t in range(T):
        hours[t] = t
        total_in += dS[t]
    _solve_arc(hours, T, -total_in, r, pcmax, pdmax, eta, pc, pd, reg)
    # trajectory up to a constant: P_t
    P = np.empty(T)
    acc = 0.0
    for t in range(T):
        acc += dS[t] + eta * pc[t] - pd[t] / eta
        P[t] = acc
    c_lo = -1e300
    c_hi = 1e300
    t1 = 0
    t2 = 0
    for t in range(T):
        if emin[t] - P[t] > c_lo:
            c_lo = emin[t] - P[t]
            t1 = t
        if emax[t] - P[t] < c_hi:
            c_hi = emax[t] - P[t]
            t2 = t
    if c_lo <= c_hi + ENERGY_TOL_KWH * 0.1 or t1 == t2:
        c = 0.5 * (c_lo + c_hi) if c_lo <= c_hi else c_lo
        for t in range(T):
            s_out[t] = c + P[t]
        return
    # cut the cycle at t1 (lower bound) and t2 (upper bound); solve arcs with pinned ends
    kind[t1] = -1
    kind[t2] = 1
    stack_a[0] = t1
    stack_b[0] = t2
    stack_a[1] = t2
    stack_b[1] = t1
    _solve_pinned(r, pcmax, pdmax, emin, emax, dS, eta, pc, pd, kind, 2, stack_a, stack_b, hours, reg)
    _energies(t1, emin[t1], dS, eta, pc, pd, s_out)


@njit(cache=True)
def _energies(t0, s0, dS, eta, pc, pd, s_out):
    """Energies by the recursion from the pin ``t0`` at ``s0``, so the balance holds exactly."""
    T = dS.shape[0]
    s = s0
    for k in range(T):
        t = (t0 + 1 + k) % T
        s += dS[t] + eta * pc[t] - pd[t] / eta
        s_out[t] = s


@njit(cache=True)
def _flatten_kernel(base, pcmax, pdmax, emin, emax, dS, eta, sweeps, tol_kw, pc, pd, S, u):
    """base (B, 24); device arrays (B, D, 24), eta (B, D); outputs (B, D, 24). Gauss-Seidel stops
    early once no device's power moves by more than ``tol_kw`` in a sweep."""
    B, D, T = pcmax.shape
    r = np.empty(T)
    dSu = np.empty(T)
    old = np.empty(T)
    kind = np.zeros((D, T), dtype=np.int64)  # each device's pins, kept from sweep to sweep
    for b in range(B):
        for j in range(D):
            _unserved(pcmax[b, j], emin[b, j], emax[b, j], dS[b, j], eta[b, j], u[b, j])
            for t in range(T):
                pc[b, j, t] = 0.0
                pd[b, j, t] = 0.0
                kind[j, t] = 0
        for sweep in range(sweeps if D > 1 else 1):
            moved = 0.0
            for j in range(D):
                for t in range(T):
                    acc = base[b, t]
                    for k in range(D):
                        if k != j:
                            acc += pc[b, k, t] - pd[b, k, t]
                    r[t] = acc
                    dSu[t] = dS[b, j, t] + u[b, j, t]
                    old[t] = pc[b, j, t] - pd[b, j, t]
                _solve_device(
                    r,
                    pcmax[b, j],
                    pdmax[b, j],
                    emin[b, j],
                    emax[b, j],
                    dSu,
                    eta[b, j],
                    pc[b, j],
                    pd[b, j],
                    S[b, j],
                    kind[j],
                )
                for t in range(T):
                    moved = max(moved, abs(pc[b, j, t] - pd[b, j, t] - old[t]))
            if sweep > 0 and moved <= tol_kw:
                break


@njit(cache=True, parallel=True)
def _flatten_parallel(base, pcmax, pdmax, emin, emax, dS, eta, sweeps, tol_kw, pc, pd, S, u, n_chunks):
    """:func:`_flatten_kernel` over ``n_chunks`` slices of the batch on numba's threads: every
    batch element is solved alone, so the result is the serial kernel's, bit for bit."""
    B = base.shape[0]
    chunk = (B + n_chunks - 1) // n_chunks
    for ch in prange(n_chunks):
        a = min(ch * chunk, B)
        b = min(a + chunk, B)
        _flatten_kernel(
            base[a:b], pcmax[a:b], pdmax[a:b], emin[a:b], emax[a:b], dS[a:b], eta[a:b], sweeps, tol_kw,
            pc[a:b], pd[a:b], S[a:b], u[a:b],
        )
