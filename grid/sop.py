"""Soft open points (SOP): back-to-back converters across tie lines (paper 002 eqs. (7)-(13)).

Fang et al., *EV and Soft Open Points Co-Planning for Active Distribution Grid Flexibility
Enhancement*, Energies 2025 (paper 002).

The model
---------
An SOP joins the two ends ``a`` and ``b`` of a normally-open tie. Each end's converter injects
``P_a + j Q_a`` (``P_b + j Q_b``) into its bus (generation positive); the two reactive powers are
independent (the DC link isolates them). With the loss coefficient ``A`` (002 table 1 lists a "loss
factor" 0.98, read as ``A = 1 - 0.98 = 0.02``):

* 002 eq. (7), active balance across the DC link: ``P_a + P_b + P_loss = 0``;
* 002 eq. (8), converter losses: ``P_loss = A (|P_a| + |P_b|)``;
* 002 eqs. (9)-(10), capacity discs: ``P_a^2 + Q_a^2 <= S^2`` and ``P_b^2 + Q_b^2 <= S^2``, one
  rating ``S`` for both converters (002: "usually equal").

Eqs. (7)-(8) fix the sending end from the receiving one, in closed form: if ``a`` receives
``P_a >= 0``, then ``P_b = -k P_a`` with ``k = (1 + A) / (1 - A)`` (and symmetrically), which
:func:`other_end` computes; the balance then holds to rounding.

In the power flow an SOP is a pair of injections at the tie's ends (:func:`injections`). The tie
stays open, so the feeder stays radial and :func:`grid.powerflow.solve` serves unchanged.

The dispatcher (:func:`dispatch`)
--------------------------------
For every batch element (candidate x hour) it chooses each SOP's transfer and reactive powers to

    minimise  network losses + converter losses + w * sum_i (|V_i|^2 - 1)^2

inside the discs, on the current-injection linearisation of :mod:`grid.sensitivity` around the sweep
without SOPs (losses exact in the currents, voltages linear). The transfer is split into the two
directions ``x+`` (``b`` to ``a``) and ``x-`` (``a`` to ``b``), which makes the model convex (a
simultaneous flow both ways only wastes loss, and is netted afterwards, which keeps the discs); the
convex QP with disc constraints is solved by a log-barrier interior-point method, all batch elements
at once (Newton steps on ``(n_batch, 4 m, 4 m)`` systems, each with a backtracking line search
from the largest feasible step, closed form for the discs: no loop per candidate or hour).
Finally the result is made exact in eqs. (7)-(8) with :func:`other_end`. The gap to the exact
DistFlow SOCP (cvxpy + Clarabel, test extra) is measured in ``tests/grid/test_sop.py``.

Cost, 002 eqs. (11)-(13)
------------------------
:func:`annual_cost`: investment ``w_SOP * sum S`` annualised, and O&M ``eta`` times that. Eq. (12) as
printed divides by the life ``y_SOP`` and ignores the 8 % discount rate 002 table 1 lists; the
default here is the capital recovery factor at that rate, ``annuity="crf"``; the printed reading is
``annuity="straight"``. ``S`` is the rating of one converter (the two ends share it).

Example
-------
>>> import numpy as np
>>> from grid import cases, sop
>>> net = cases.load("ieee33")
>>> sops = sop.SOPSet.on(net, [(12, 22), (25, 29), (8, 21)])
>>> p_b = sop.other_end(np.array([100.0]), sops.loss_coeff)   # 100 kW received at end a
>>> print(f"{p_b[0]:.3f}", abs(100 + p_b[0] + 0.02 * (100 + abs(p_b[0]))) < 1e-12)  # eqs. (7)-(8)
-104.082 True
>>> inv, om = sop.annual_cost(np.array([210.0, 310.0, 380.0]))   # 002 table 4, plan 2 (kVA)
>>> print(f"{inv / 1e4:.2f} {om / 1e4:.2f}")                      # 10^4 CNY/yr
9.17 1.83
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from .network import Network

__all__ = [
    "SOPError",
    "SOPSiteError",
    "SOPCapacityError",
    "SOPLossError",
    "SOPSet",
    "SOPDispatch",
    "other_end",
    "injections",
    "annual_cost",
    "capital_recovery_factor",
    "dispatch",
]


class SOPError(ValueError):
    """Bad input to the SOP model."""


class SOPSiteError(SOPError):
    """An SOP on a branch that is not a tie of the network, or two SOPs on one tie."""


class SOPCapacityError(SOPError):
    """A negative or non-finite SOP capacity, or a capacity array of the wrong shape."""


class SOPLossError(SOPError):
    """A loss coefficient outside [0, 1)."""


@dataclass(frozen=True, eq=False)
class SOPSet:
    """SOPs on ties of one network; build with :meth:`on`.

    ``ties`` are the ``(a, b)`` bus labels as given; ``a_idx``, ``b_idx`` the internal indices of the
    ends; ``loss_coeff`` is 002's ``A`` (eq. (8)).
    """

    net: Network
    ties: tuple[tuple[int, int], ...]
    a_idx: NDArray[np.int64]
    b_idx: NDArray[np.int64]
    loss_coeff: float

    @staticmethod
    def on(net: Network, ties: Sequence[Sequence[int]], loss_coeff: float = 0.02) -> SOPSet:
        """SOPs on the given ties of ``net`` (each a pair of bus labels, either order)."""
        a = float(loss_coeff)
        if not (np.isfinite(a) and 0.0 <= a < 1.0):
            raise SOPLossError(f"loss coefficient must lie in [0, 1), got {loss_coeff!r}")
        known = {frozenset((int(f), int(t))) for f, t in zip(net.tie_from, net.tie_to, strict=True)}
        pairs: list[tuple[int, int]] = []
        seen: set[frozenset[int]] = set()
        for tie in ties:
            pair = tuple(int(b) for b in tie)
            if len(pair) != 2:
                raise SOPSiteError(f"an SOP site is a pair of bus labels, got {tie!r}")
            key = frozenset(pair)
            if key not in known:
                raise SOPSiteError(
                    f"buses {pair[0]}-{pair[1]} are not joined by a tie of {net.name!r} (ties: "
                    f"{sorted(tuple(sorted(k)) for k in known)}); an SOP must sit on a normally-open tie"
                )
            if key in seen:
                raise SOPSiteError(f"two SOPs on the tie {pair[0]}-{pair[1]}")
            seen.add(key)
            pairs.append((pair[0], pair[1]))
        if not pairs:
            raise SOPSiteError("an SOPSet needs at least one tie")
        ai = net.index_of([p[0] for p in pairs])
        bi = net.index_of([p[1] for p in pairs])
        for arr in (ai, bi):
            arr.setflags(write=False)
        return SOPSet(net, tuple(pairs), ai, bi, a)

    @property
    def n_sop(self) -> int:
        return len(self.ties)

    @property
    def ratio(self) -> float:
        """``k = (1 + A) / (1 - A)``: kW the sending end draws per kW the receiving end gets."""
        return (1.0 + self.loss_coeff) / (1.0 - self.loss_coeff)

    def check_capacity(self, capacity_kva: ArrayLike) -> NDArray[np.float64]:
        """``capacity_kva`` as float, last axis the SOPs, finite and ``>= 0`` (else SOPCapacityError)."""
        s = np.asarray(capacity_kva, dtype=np.float64)
        if s.ndim < 1 or s.shape[-1] != self.n_sop:
            raise SOPCapacityError(f"capacity: last axis must be the {self.n_sop} SOPs, got shape {s.shape}")
        if not np.all(np.isfinite(s)) or np.any(s < 0):
            raise SOPCapacityError(f"SOP capacities must be finite and >= 0 kVA, got min {np.min(s)!r}")
        return s


def other_end(p_recv: ArrayLike, loss_coeff: float) -> NDArray[np.float64]:
    """The other end's active power given one end's, 002 eqs. (7)-(8) solved in closed form.

    ``p_recv >= 0`` (this end receives): the other sends ``-k p``, ``k = (1 + A)/(1 - A)``;
    ``p_recv < 0`` (this end sends ``|p|``): the other receives ``|p| / k``.
    """
    p = np.asarray(p_recv, dtype=np.float64)
    a = float(loss_coeff)
    if not 0.0 <= a < 1.0:
        raise SOPLossError(f"loss coefficient must lie in [0, 1), got {loss_coeff!r}")
    k = (1.0 + a) / (1.0 - a)
    return np.where(p >= 0, -k * p, -p / k)


def injections(
    sops: SOPSet, p_a: ArrayLike, q_a: ArrayLike, p_b: ArrayLike, q_b: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-bus demand changes ``(dp_kw, dq_kvar)``, shape ``(..., n_bus)``, of SOP end injections
    ``(..., n_sop)`` (add them to the demand handed to :func:`grid.powerflow.solve`)."""
    arrs = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (p_a, q_a, p_b, q_b)))
    if arrs[0].shape[-1:] != (sops.n_sop,):
        raise SOPCapacityError(f"SOP powers: last axis must be the {sops.n_sop} SOPs, got {arrs[0].shape}")
    n = sops.net.n_bus
    dp = np.zeros((*arrs[0].shape[:-1], n))
    dq = np.zeros_like(dp)
    for j in range(sops.n_sop):  # n_sop columns (3), vectorised over the batch
        dp[..., sops.a_idx[j]] -= arrs[0][..., j]
        dq[..., sops.a_idx[j]] -= arrs[1][..., j]
        dp[..., sops.b_idx[j]] -= arrs[2][..., j]
        dq[..., sops.b_idx[j]] -= arrs[3][..., j]
    return dp, dq


def capital_recovery_factor(rate: float, life_y: float) -> float:
    """``r (1 + r)^y / ((1 + r)^y - 1)``; ``1 / y`` at ``r = 0``."""
    if not (life_y > 0 and rate >= 0):
        raise SOPError(f"need life_y > 0 and rate >= 0, got {life_y}, {rate}")
    if rate == 0:
        return 1.0 / life_y
    g = (1.0 + rate) ** life_y
    return rate * g / (g - 1.0)


def annual_cost(
    capacity_kva: ArrayLike,
    *,
    unit_cny_per_kva: float = 1000.0,
    life_y: float = 20.0,
    rate: float = 0.08,
    om_factor: float = 0.2,
    annuity: str = "crf",
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Annualised investment and O&M of SOPs, 002 eqs. (12)-(13), CNY/yr, summed over the last axis.

    ``unit_cny_per_kva``, ``life_y``, ``rate``: 002 table 1 (1000 CNY/kVA, 20 y, 0.08). ``om_factor``:
    002's eta, not given; 0.2 fits table 5 (2.3 / 11.6). ``annuity``: ``"crf"`` (default, the
    capital recovery factor at ``rate``) or ``"straight"`` (eq. (12) as printed, ``1 / life_y``).
    """
    s = np.asarray(capacity_kva, dtype=np.float64)
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise SOPCapacityError("SOP capacities must be finite and >= 0 kVA")
    if annuity == "crf":
        f = capital_recovery_factor(rate, life_y)
    elif annuity == "straight":
        f = capital_recovery_factor(0.0, life_y)
    else:
        raise SOPError(f"annuity must be 'crf' or 'straight', got {annuity!r}")
    inv = unit_cny_per_kva * f * s.sum(axis=-1)  # eq. (12)
    return inv, om_factor * inv  # eq. (13)


@dataclass(frozen=True)
class SOPDispatch:
    """A dispatch, arrays ``(*batch, n_sop)``: end injections (kW, kvar; generation positive) and the
    converter losses ``loss_kw = A (|p_a| + |p_b|)`` (002 eq. (8))."""

    p_a_kw: NDArray[np.float64]
    q_a_kvar: NDArray[np.float64]
    p_b_kw: NDArray[np.float64]
    q_b_kvar: NDArray[np.float64]
    loss_kw: NDArray[np.float64]

    def injections(self, sops: SOPSet) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Per-bus demand changes of this dispatch (:func:`injections`)."""
        return injections(sops, self.p_a_kw, self.q_a_kvar, self.p_b_kw, self.q_b_kvar)


def _structure(m: int, k: float) -> NDArray[np.complex128]:
    """``G`` ``(2 m, 4 m)``: complex end injections ``P - jQ`` (per unit of S) from the variables
    ``z = [x+_j, x-_j, qa_j, qb_j]_j`` (ends ``a_0 .. a_{m-1}, b_0 .. b_{m-1}``)."""
    g = np.zeros((2 * m, 4 * m), dtype=np.complex128)
    for j in range(m):
        xp, xm, qa, qb = 4 * j, 4 * j + 1, 4 * j + 2, 4 * j + 3
        g[j, xp], g[j, xm], g[j, qa] = 1.0, -k, -1j  # end a: P_a = x+ - k x-, Q_a = qa
        g[m + j, xm], g[m + j, xp], g[m + j, qb] = 1.0, -k, -1j  # end b: P_b = x- - k x+
    return g


def dispatch(
    sops: SOPSet,
    capacity_kva: ArrayLike,
    v_pu: NDArray[np.complex128],
    i_a: NDArray[np.complex128],
    *,
    voltage_weight_kw: float = 100.0,
    t0: float = 1.0,
    t_growth: float = 20.0,
    stages: int = 5,
    newton_steps: int = 5,
) -> SOPDispatch:
    """Dispatch the SOPs of every batch element at once (module docstring).

    Parameters
    ----------
    sops:
        The SOPs.
    capacity_kva:
        ``(*batch, n_sop)`` ratings, broadcast against the batch of ``v_pu`` (pass ``(n, 1, n_sop)``
        against ``(n, 24, n_bus)``).
    v_pu, i_a:
        ``(*batch, n_bus)``, ``(*batch, n_branch)``: the sweep without SOPs
        (:class:`grid.powerflow.PowerFlowResult` fields).
    voltage_weight_kw:
        ``w``: kW of objective per pu^2 of ``sum_i (|V_i|^2 - 1)^2`` (a named input of the
        operation step; 002 states a voltage-deviation term without a weight).
    t0, t_growth, stages, newton_steps:
        Barrier schedule: weights ``t0 * t_growth**s`` for ``s < stages``, that many Newton steps
        each (backtracking line search from the largest feasible step). The final duality gap is
        ``4 n_sop / (t0 t_growth^(stages-1))`` kW (7.5e-5 kW for 3 SOPs with the defaults; 4 steps
        a stage already reach the linearisation's own 0.06 % gap in ``tests/grid/test_sop.py``).
    """
    from .sensitivity import Sensitivity

    w = float(voltage_weight_kw)
    if not (np.isfinite(w) and w >= 0):
        raise SOPError(f"voltage_weight_kw must be finite and >= 0, got {voltage_weight_kw!r}")
    v_pu = np.asarray(v_pu)
    batch = v_pu.shape[:-1]
    cap = np.broadcast_to(sops.check_capacity(capacity_kva), (*batch, sops.n_sop))
    m, k = sops.n_sop, sops.ratio
    nv = 4 * m
    sens = Sensitivity.of(sops.net)
    ends = np.r_[sops.a_idx, sops.b_idx]
    lin = sens.linearise(v_pu, np.asarray(i_a), ends)
    g_struct = _structure(m, k)
    scale = np.repeat(cap, 4, axis=-1)  # (*batch, nv): z is in units of each SOP's S
    gs = g_struct * scale[..., None, :]  # (*batch, 2m, nv)
    kmat = lin.current @ gs  # (*batch, n_branch, nv): dI (pu) per unit z
    wmat = lin.voltage @ gs  # (*batch, n_bus, nv): dV (pu)
    r = sens.r_pu
    # losses: 1000 sum_b r_b |i0_b + K z|^2 (kW)
    kr = kmat * r[:, None]
    hess = 2000.0 * np.real(np.conj(kr).swapaxes(-1, -2) @ kmat)
    grad = 2000.0 * np.real(np.einsum("...bi,...b->...i", np.conj(kr), lin.i0_pu))
    # converter losses (k - 1) S (x+ + x-): linear (002 eq. (8))
    lin_loss = np.zeros(nv)
    lin_loss[0::4] = lin_loss[1::4] = k - 1.0
    grad = grad + lin_loss * scale
    if w > 0:
        amat = 2.0 * np.real(np.conj(lin.v0_pu)[..., None] * wmat)  # d|V|^2 / dz
        dev = np.abs(lin.v0_pu) ** 2 - 1.0
        hess = hess + 2.0 * w * (amat.swapaxes(-1, -2) @ amat)
        grad = grad + 2.0 * w * np.einsum("...bi,...b->...i", amat, dev)
    g2 = np.ascontiguousarray(np.broadcast_to(grad, (*batch, nv)).reshape(-1, nv))
    h2 = np.ascontiguousarray(np.broadcast_to(hess, (*batch, nv, nv)).reshape(-1, nv, nv))
    z = _newton_kernel(g2, h2, k, float(t0), float(t_growth), int(stages), int(newton_steps))
    return _exact(sops, z.reshape(*batch, nv), cap)


@njit(cache=True)
def _bar_one(z, k, m):  # pragma: no cover - numba
    """``-sum log c(z)`` of one case (``inf`` outside the domain): both discs and ``x+, x- >= 0``."""
    tot = 0.0
    for j in range(m):
        xp, xm, qa, qb = z[4 * j], z[4 * j + 1], z[4 * j + 2], z[4 * j + 3]
        c1 = 1.0 - (xp - k * xm) ** 2 - qa * qa
        c2 = 1.0 - (xm - k * xp) ** 2 - qb * qb
        if c1 <= 0.0 or c2 <= 0.0 or xp <= 0.0 or xm <= 0.0:
            return np.inf
        tot -= np.log(c1) + np.log(c2) + np.log(xp) + np.log(xm)
    return tot


@njit(cache=True)
def _disc_root(u0, du, v0, dv):  # pragma: no cover - numba
    """Positive ``a`` where ``|(u0, v0) + a (du, dv)| = 1`` (``inf`` if the ray stays inside)."""
    a2 = du * du + dv * dv
    if a2 <= 0.0:
        return np.inf
    b = 2.0 * (u0 * du + v0 * dv)
    c = 1.0 - u0 * u0 - v0 * v0
    root = 2.0 * c / (b + np.sqrt(max(b * b + 4.0 * a2 * c, 0.0)))
    return root if root > 0.0 else np.inf


@njit(cache=True)
def _newton_kernel(grad, hess, k, t0, growth, stages, steps):  # pragma: no cover - numba
    """The barrier method of :func:`dispatch` for every case (row) of ``grad`` ``(N, nv)``, ``hess``
    ``(N, nv, nv)``: Newton steps on ``t f - sum log c``, Cholesky solves, Armijo backtracking from
    the largest feasible step (closed form for discs and bounds)."""
    n, nv = grad.shape
    m = nv // 4
    out = np.empty((n, nv))
    z = np.empty(nv)
    zt = np.empty(nv)
    g = np.empty(nv)
    gf = np.empty(nv)
    h = np.empty((nv, nv))
    dz = np.empty(nv)
    for c in range(n):
        for j in range(m):
            z[4 * j], z[4 * j + 1], z[4 * j + 2], z[4 * j + 3] = 0.2, 0.2, 0.0, 0.0
        t = t0
        for _s in range(stages):
            for _it in range(steps):
                # gradient and Hessian of t f + barrier
                for i in range(nv):
                    acc = grad[c, i]
                    for l in range(nv):
                        acc += hess[c, i, l] * z[l]
                        h[i, l] = t * hess[c, i, l]
                    gf[i] = acc
                    g[i] = t * acc
                    h[i, i] += 1e-12
                for j in range(m):
                    o = 4 * j
                    xp, xm, qa, qb = z[o], z[o + 1], z[o + 2], z[o + 3]
                    pa, pb = xp - k * xm, xm - k * xp
                    c1 = 1.0 - pa * pa - qa * qa
                    c2 = 1.0 - pb * pb - qb * qb
                    g1 = (2 * pa / c1, -2 * k * pa / c1, 2 * qa / c1, 0.0)
                    g2 = (-2 * k * pb / c2, 2 * pb / c2, 0.0, 2 * qb / c2)
                    l1 = (1.0, -k, 0.0, 0.0)
                    l2 = (-k, 1.0, 0.0, 0.0)
                    for r in range(4):
                        g[o + r] += g1[r] + g2[r]
                        for q in range(4):
                            hv = 2.0 * l1[r] * l1[q] / c1 + 2.0 * l2[r] * l2[q] / c2
                            hv += g1[r] * g1[q] + g2[r] * g2[q]
                            h[o + r, o + q] += hv
                    h[o + 2, o + 2] += 2.0 / c1
                    h[o + 3, o + 3] += 2.0 / c2
                    g[o] -= 1.0 / xp
                    g[o + 1] -= 1.0 / xm
                    h[o, o] += 1.0 / (xp * xp)
                    h[o + 1, o + 1] += 1.0 / (xm * xm)
                # Cholesky solve h dz = -g (in place, lower triangle)
                for i in range(nv):
                    for l in range(i + 1):
                        acc = h[i, l]
                        for p in range(l):
                            acc -= h[i, p] * h[l, p]
                        if i == l:
                            h[i, i] = np.sqrt(max(acc, 1e-300))
                        else:
                            h[i, l] = acc / h[l, l]
                for i in range(nv):
                    acc = -g[i]
                    for p in range(i):
                        acc -= h[i, p] * dz[p]
                    dz[i] = acc / h[i, i]
                for i in range(nv - 1, -1, -1):
                    acc = dz[i]
                    for p in range(i + 1, nv):
                        acc -= h[p, i] * dz[p]
                    dz[i] = acc / h[i, i]
                # largest feasible step
                amax = 1.0
                for j in range(m):
                    o = 4 * j
                    xp, xm, qa, qb = z[o], z[o + 1], z[o + 2], z[o + 3]
                    dxp, dxm, dqa, dqb = dz[o], dz[o + 1], dz[o + 2], dz[o + 3]
                    amax = min(amax, 0.99 * _disc_root(xp - k * xm, dxp - k * dxm, qa, dqa))
                    amax = min(amax, 0.99 * _disc_root(xm - k * xp, dxm - k * dxp, qb, dqb))
                    if dxp < 0.0:
                        amax = min(amax, -0.99 * xp / dxp)
                    if dxm < 0.0:
                        amax = min(amax, -0.99 * xm / dxm)
                # Armijo backtracking; f is quadratic: t f(z + a dz) - t f(z) = t (a gf.dz + a^2 dz.H dz / 2)
                slope_f = 0.0
                slope = 0.0
                curv = 0.0
                for i in range(nv):
                    slope_f += gf[i] * dz[i]
                    slope += g[i] * dz[i]
                    acc = 0.0
                    for l in range(nv):
                        acc += hess[c, i, l] * dz[l]
                    curv += dz[i] * acc
                if slope >= 0.0:
                    break  # converged to rounding
                bar0 = _bar_one(z, k, m)
                a = amax
                for _try in range(12):
                    for i in range(nv):
                        zt[i] = z[i] + a * dz[i]
                    d = _bar_one(zt, k, m) - bar0 + t * (a * slope_f + 0.5 * a * a * curv)
                    if d <= 0.25 * a * slope:
                        for i in range(nv):
                            z[i] = zt[i]
                        break
                    a *= 0.5
            t *= growth
        for i in range(nv):
            out[c, i] = z[i]
    return out


def _exact(sops: SOPSet, z: NDArray[np.float64], cap: NDArray[np.float64]) -> SOPDispatch:
    """Net the two directions and make eqs. (7)-(8) exact: the end with the larger injection
    receives it (if positive), the other sends ``k`` times as much; the discs still hold (the
    sending power only shrinks in magnitude)."""
    k = sops.ratio
    xp, xm, qa, qb = z[..., 0::4], z[..., 1::4], z[..., 2::4], z[..., 3::4]
    pa, pb = cap * (xp - k * xm), cap * (xm - k * xp)
    recv_a = pa >= pb
    got = np.maximum(np.where(recv_a, pa, pb), 0.0)
    p_a = np.where(recv_a, got, -k * got)
    p_b = np.where(recv_a, -k * got, got)
    # reactive powers within what the exact active powers leave (rounding guard only)
    room_a = np.sqrt(np.maximum(cap**2 - p_a**2, 0.0))
    room_b = np.sqrt(np.maximum(cap**2 - p_b**2, 0.0))
    q_a = np.clip(cap * qa, -room_a, room_a)
    q_b = np.clip(cap * qb, -room_b, room_b)
    loss = sops.loss_coeff * (np.abs(p_a) + np.abs(p_b))
    return SOPDispatch(p_a, q_a, p_b, q_b, loss)
