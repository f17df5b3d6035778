"""Batched backward/forward-sweep (BFS) power flow for radial feeders: :func:`solve`.

One call solves any number of operating points of one :class:`grid.network.Network` in a single
numba kernel (``parallel=True``, ``prange`` over chunks of the flattened batch). The injection
arrays carry any number of leading batch axes and a last axis of buses, for example
``(n_candidates, n_scenarios, 24, n_bus)``; every result keeps those batch axes.

Model (balanced single-phase equivalent of a three-phase feeder)
-----------------------------------------------------------------
* Per unit inside, on ``S_base = 1 MVA`` (three-phase) and ``V_base = net.base_kv`` (line-to-line),
  so ``Z_base = base_kv**2`` ohm and ``I_base = S_base / (sqrt(3) * V_base) = 1000 / (sqrt(3) *
  base_kv)`` ampere. Outside: kW, kvar, ampere. A branch current in ampere is the phase (line)
  current of the balanced three-phase equivalent, the quantity pandapower reports as
  ``res_line.i_ka`` (times 1000).
* Loads are constant power: ``p_kw`` and ``q_kvar`` are the net demand per bus (consumption
  positive, a generator is negative demand). A shunt capacitor (``net.shunt_kvar``, the kvar it
  injects at 1.0 pu) is a constant admittance. A branch is an ideal transformer of ratio
  ``net.tap[k] : 1`` at its sending end followed by the series impedance ``r_ohm + j x_ohm``
  (``tap == 1`` for a line). Taps and shunts are supported by the kernel at a cost of a few
  multiplications; voltage-dependent (ZIP) loads are not yet: they would change only the load
  current line of the kernel (see ``_sweep_kernel``).
* Iteration (Shirmohammadi et al., IEEE Trans. Power Syst. 3(2), 1988; Kersting, *Distribution
  System Modeling and Analysis*, ch. 10), from a flat start ``V = V_slack``:

  - load current ``I_k = conj(S_k / V_k) + j b_k V_k``;
  - backward sweep in reverse internal order (children have larger indices than parents): the
    current of branch ``k`` (feeding bus ``k+1``) is the load current of bus ``k+1`` plus the
    currents of the branches leaving it, each referred through its tap;
  - forward sweep in internal order: ``V[k+1] = V[parent[k+1]] / tap[k] - Z[k] * J[k]``;
  - converged when ``max_k |V_new - V_old| <= tol`` (pu).

* Results of a converged case come from the last sweep: branch currents from the previous
  voltages, voltages from those currents. Power balance therefore holds to ``O(tol)``.
* A case that does not converge within ``max_iter`` sweeps, or whose iterate becomes non-finite or
  blows up (a step ``|dV| >= 1000`` pu ends it early), gets ``converged = False``, its iteration
  count, and ``nan`` in every other result field (voltages, currents, losses, slack power): never a
  silent wrong number, never an exception. Other cases of the batch are unaffected. BFS converges
  linearly and slows near voltage collapse (ieee33 at uniform load scaling 1, 3, 3.6: 8, 19, 87
  sweeps at tol 1e-8; 4x and beyond diverge), so a hopeless case costs ``max_iter`` sweeps: no
  heuristic guesses divergence earlier, and a point close to collapse may need ``max_iter > 100``.

Inputs and performance
----------------------
* ``p_kw`` and ``q_kvar`` must each carry the bus axis last (a scalar is refused as ambiguous);
  their batch axes broadcast, so one ``(n_bus,)`` reactive profile may serve a whole batch.
* Per-case branch impedances: ``r_ohm``/``x_ohm`` of shape ``(*batch_z, n_branch)`` (branch axis in
  the network's internal order, see :func:`branch_index`) broadcast with the demand's batch axes,
  so a population of reinforcement plans, ``(n_cand, 1, 1, n_branch)`` against demand
  ``(n_cand, n_scen, 24, n_bus)``, is one call. Each distinct row is kept once (a view of the input
  where its layout allows) and each case reads its row through an int64 index (8 bytes per case,
  only when there is more than one row): no impedance is copied per case. Without them the kernel
  reads the network's one row, as before.
* Memory: the result arrays, plus one copy of an input only where it is broadcast, strided or not
  float64, plus a few ``n_bus`` scratch arrays per chunk of cases; nothing is allocated inside the
  iteration loop. Batches under ``_PARALLEL_MIN_WORK`` bus-cases run on the calling thread.
* Throughput: ``python -m benchmarks.powerflow`` (warm, compile excluded).

Example
-------
>>> import numpy as np
>>> from grid import cases
>>> from grid.powerflow import solve
>>> net = cases.load("ieee33")
>>> res = solve(net, net.p_kw, net.q_kvar)
>>> round(float(res.loss_kw), 2), round(float(res.vm_pu.min()), 5)
(202.68, 0.91309)
>>> scale = np.linspace(0.5, 1.5, 24)[:, None]               # 24 hours, last axis the buses
>>> solve(net, scale * net.p_kw, scale * net.q_kvar).v_pu.shape
(24, 33)
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from .errors import InputShapeError
from .network import Network

__all__ = ["PowerFlowResult", "solve", "base_current_a", "branch_index"]

S_BASE_KVA = 1000.0  # 1 MVA three-phase base, in kVA
# Below this many bus-cases (n_case * n_bus) the kernel runs on the calling thread alone: waking a
# thread pool costs more than the sweep (tens of microseconds, and far more on a loaded machine).
_PARALLEL_MIN_WORK = 4096


def base_current_a(base_kv: float) -> float:
    """Base current in ampere for 1 MVA at ``base_kv`` (line-to-line kV): 1000 / (sqrt(3) base_kv)."""
    return S_BASE_KVA / (math.sqrt(3.0) * base_kv)


@dataclass(frozen=True, eq=False)
class PowerFlowResult:
    """Result of :func:`solve`; every array keeps the batch axes ``(*batch,)`` of the input.

    Attributes
    ----------
    v_pu : ndarray of complex128, shape (*batch, n_bus)
        Bus voltages in per unit (internal bus order); ``nan`` where not converged.
    i_a : ndarray of complex128, shape (*batch, n_branch)
        Current of branch ``k`` (the branch feeding bus ``k+1``), parent to child, in ampere
        (phase current of the balanced three-phase equivalent, through the series impedance).
    loss_kw, loss_kvar : ndarray of float64, shape (*batch,)
        Total series losses, ``sum |I|^2 R`` and ``sum |I|^2 X``.
    branch_loss_kw, branch_loss_kvar : ndarray of float64, shape (*batch, n_branch)
        Per-branch series losses.
    slack_p_kw, slack_q_kvar : ndarray of float64, shape (*batch,)
        Power drawn from the slack (external grid): total demand plus losses (minus shunt kvar).
    converged : ndarray of bool, shape (*batch,)
        Whether ``max |dV| <= tol`` was reached within ``max_iter`` sweeps.
    iterations : ndarray of int64, shape (*batch,)
        Sweeps done (the count at which convergence was found, or at which the case gave up).
    """

    v_pu: NDArray[np.complex128]
    i_a: NDArray[np.complex128]
    loss_kw: NDArray[np.float64]
    loss_kvar: NDArray[np.float64]
    branch_loss_kw: NDArray[np.float64]
    branch_loss_kvar: NDArray[np.float64]
    slack_p_kw: NDArray[np.float64]
    slack_q_kvar: NDArray[np.float64]
    converged: NDArray[np.bool_]
    iterations: NDArray[np.int64]

    @property
    def vm_pu(self) -> NDArray[np.float64]:
        """Voltage magnitudes in per unit, shape (*batch, n_bus)."""
        return np.abs(self.v_pu)

    @property
    def va_deg(self) -> NDArray[np.float64]:
        """Voltage angles in degrees, shape (*batch, n_bus)."""
        return np.angle(self.v_pu, deg=True)

    @property
    def n_failed(self) -> int:
        """Number of cases that did not converge."""
        return int(self.converged.size - np.count_nonzero(self.converged))


# --------------------------------------------------------------------------- kernel
@njit(cache=True, parallel=True)
def _sweep_kernel(
    p_kw, q_kvar, parent, r_tab, x_tab, z_row, z_base, inv_tap, shunt_pu, v0_re, v0_im, i_base_a, tol,
    max_iter, n_chunks, v_out, i_out, bl_kw, bl_kvar, loss_kw, loss_kvar, slack_p_kw, slack_q_kvar, converged,
    iterations, vs_re, vs_im, vs_row,
):  # pragma: no cover - compiled
    """BFS over a flattened batch. Inputs (n_case, n_bus) in kW/kvar; outputs preallocated.

    Branch impedances come from a table ``r_tab``, ``x_tab`` of shape (n_z, n_branch) in ohm:
    case ``c`` reads row ``z_row[c]``, or row 0 for every case when ``z_row`` is empty (the
    network's own impedances, one row, no per-case index array at all). The row is converted to
    per unit (``/ z_base``, the same correctly rounded division for both paths, hence bit-identical
    results) into a scratch vector only when it differs from the previous case's row: once per
    chunk on the plain path, once per candidate when the hours of a candidate are consecutive.

    Scratch arrays (a few of length n_bus) are allocated once per chunk of cases, never inside the
    iteration loop. Real and imaginary parts are kept in separate float arrays.

    The sweeps start from the flat profile (the slack voltage at every bus), or, when the start
    table ``vs_re``/``vs_im`` (n_v, n_bus) has rows, from row ``vs_row[c]`` (row 0 for every case
    when ``vs_row`` is empty).
    """
    n_case, n_bus = p_kw.shape
    n_br = n_bus - 1
    chunk = (n_case + n_chunks - 1) // n_chunks
    tol2 = tol * tol
    nan = np.nan
    per_case_z = z_row.shape[0] > 0
    n_br_tab = r_tab.shape[1]
    has_start = vs_re.shape[0] > 0
    per_case_start = vs_row.shape[0] > 0
    for ch in prange(n_chunks):
        vr = np.empty(n_bus)
        vi = np.empty(n_bus)
        jr = np.empty(n_bus)
        ji = np.empty(n_bus)
        pp = np.empty(n_bus)
        qq = np.empty(n_bus)
        r_pu = np.empty(n_br_tab)
        x_pu = np.empty(n_br_tab)
        last_zr = -1
        start = ch * chunk
        stop = min(start + chunk, n_case)
        for c in range(start, stop):
            zr = z_row[c] if per_case_z else 0
            if zr != last_zr:
                for k in range(n_br_tab):
                    r_pu[k] = r_tab[zr, k] / z_base
                    x_pu[k] = x_tab[zr, k] / z_base
                last_zr = zr
            for k in range(n_bus):
                pp[k] = p_kw[c, k] * 1e-3  # kW -> pu on 1 MVA
                qq[k] = q_kvar[c, k] * 1e-3
            if has_start:
                vsr = vs_row[c] if per_case_start else 0
                for k in range(n_bus):
                    vr[k] = vs_re[vsr, k]
                    vi[k] = vs_im[vsr, k]
                vr[0] = v0_re  # the slack is fixed
                vi[0] = v0_im
            else:
                for k in range(n_bus):
                    vr[k] = v0_re
                    vi[k] = v0_im
            ok = False
            it = 0
            while it < max_iter:
                it += 1
                # load current I = conj(S / V) + j b V (constant power + constant admittance shunt);
                # a ZIP load would scale S by |V|**alpha here (Shirmohammadi et al. 1988, step 1)
                for k in range(n_bus):
                    a = vr[k]
                    b = vi[k]
                    inv = 1.0 / (a * a + b * b)
                    jr[k] = (pp[k] * a + qq[k] * b) * inv - shunt_pu[k] * b
                    ji[k] = (pp[k] * b - qq[k] * a) * inv + shunt_pu[k] * a
                # backward sweep (Shirmohammadi et al. 1988, step 2): children (larger index) into
                # parents, referred through the ideal tap (I_primary = I_secondary / t)
                for k in range(n_bus - 1, 0, -1):
                    m = parent[k]
                    t = inv_tap[k - 1]
                    jr[m] += jr[k] * t
                    ji[m] += ji[k] * t
                # forward sweep (step 3): V[k] = V[parent] / tap - Z J, tracking max |dV|^2 (step 4)
                dmax = 0.0
                for k in range(1, n_bus):
                    m = parent[k]
                    t = inv_tap[k - 1]
                    r = r_pu[k - 1]
                    x = x_pu[k - 1]
                    nr = vr[m] * t - (r * jr[k] - x * ji[k])
                    ni = vi[m] * t - (r * ji[k] + x * jr[k])
                    dr = nr - vr[k]
                    di = ni - vi[k]
                    d = dr * dr + di * di
                    if d > dmax:
                        dmax = d
                    vr[k] = nr
                    vi[k] = ni
                if dmax <= tol2:
                    ok = True
                    break
                if not dmax < 1e6:  # nan, inf or a blow-up: give up early
                    break
            converged[c] = ok
            iterations[c] = it
            if ok:
                lp = 0.0
                lq = 0.0
                for k in range(n_bus):
                    v_out[c, k] = complex(vr[k], vi[k])
                for k in range(n_br):
                    i_out[c, k] = complex(jr[k + 1] * i_base_a, ji[k + 1] * i_base_a)
                    i2 = jr[k + 1] * jr[k + 1] + ji[k + 1] * ji[k + 1]
                    bp = i2 * r_pu[k] * 1e3
                    bq = i2 * x_pu[k] * 1e3
                    bl_kw[c, k] = bp
                    bl_kvar[c, k] = bq
                    lp += bp
                    lq += bq
                loss_kw[c] = lp
                loss_kvar[c] = lq
                # S_slack = V0 conj(J0): J0 is the slack's own load current plus its branches'
                slack_p_kw[c] = (v0_re * jr[0] + v0_im * ji[0]) * 1e3
                slack_q_kvar[c] = (v0_im * jr[0] - v0_re * ji[0]) * 1e3
            else:
                for k in range(n_bus):
                    v_out[c, k] = complex(nan, nan)
                for k in range(n_br):
                    i_out[c, k] = complex(nan, nan)
                    bl_kw[c, k] = nan
                    bl_kvar[c, k] = nan
                loss_kw[c] = nan
                loss_kvar[c] = nan
                slack_p_kw[c] = nan
                slack_q_kvar[c] = nan


# --------------------------------------------------------------------------- public API
def _ro(a: NDArray, dtype: Any = np.float64) -> NDArray:
    """A C-contiguous read-only view (a copy only if needed), so the kernel compiles one signature."""
    out = np.ascontiguousarray(a, dtype=dtype).view()
    out.flags.writeable = False
    return out


def _as_demand(name: str, a: Any, n_bus: int, net_name: str) -> NDArray[np.float64]:
    arr = np.asarray(a)
    if arr.dtype.kind == "c":
        raise InputShapeError(
            f"{name}: got a complex array; pass real power p_kw and reactive power q_kvar as two real "
            f"arrays of shape (..., {n_bus})"
        )
    if arr.dtype.kind not in "fiub":
        raise InputShapeError(f"{name}: expected a real numeric array in kW/kvar, got dtype {arr.dtype}")
    if arr.ndim == 0:
        raise InputShapeError(
            f"{name}: got a scalar; expected an array of shape (..., n_bus={n_bus}) with the buses of "
            f"{net_name!r} on the last axis"
        )
    if arr.shape[-1] != n_bus:
        raise InputShapeError(
            f"{name}: last axis has length {arr.shape[-1]} (shape {arr.shape}); expected "
            f"n_bus={n_bus} buses of {net_name!r} on the last axis, in internal order"
        )
    return arr.astype(np.float64, copy=False)


def _as_impedance(name: str, a: Any, net: Network) -> NDArray[np.float64]:
    """Check a per-case branch impedance array (ohm): real, last axis n_branch, finite, >= 0."""
    n_br = net.n_branch
    arr = np.asarray(a)
    if arr.dtype.kind == "c":
        raise InputShapeError(
            f"{name}: got a complex array; pass resistance r_ohm and reactance x_ohm as two real arrays "
            f"of shape (..., {n_br})"
        )
    if arr.dtype.kind not in "fiu":
        raise InputShapeError(f"{name}: expected a real numeric array in ohm, got dtype {arr.dtype}")
    if arr.ndim == 0:
        raise InputShapeError(
            f"{name}: got a scalar; expected an array of shape (..., n_branch={n_br}) with the branches "
            f"of {net.name!r} on the last axis, in internal order (see branch_index)"
        )
    if arr.shape[-1] != n_br:
        raise InputShapeError(
            f"{name}: last axis has length {arr.shape[-1]} (shape {arr.shape}); expected "
            f"n_branch={n_br} branches of {net.name!r} on the last axis, in internal order (see branch_index)"
        )
    arr = arr.astype(np.float64, copy=False)
    if arr.size and (not arr.min() >= 0 or not arr.max() < np.inf):   # two passes, no temporaries
        bad = ~(np.isfinite(arr) & (arr >= 0))
        idx = np.unravel_index(int(np.argmax(bad)), arr.shape)
        k = int(idx[-1])
        raise InputShapeError(
            f"{name}: {'negative' if np.isfinite(arr[idx]) else 'non-finite'} value {float(arr[idx])!r} "
            f"at index {tuple(int(i) for i in idx)} (branch {k}: bus {int(net.bus[net.from_idx[k]])} -> "
            f"{int(net.bus[net.to_idx[k]])}); impedances must be finite and >= 0 ohm"
        )
    return arr


def branch_index(net: Network, from_bus: Any, to_bus: Any) -> NDArray[np.int64]:
    """Internal index ``k`` of tree branches given by their end bus labels (either orientation).

    The per-case ``r_ohm``/``x_ohm`` of :func:`solve` carry the branches on their last axis in the
    network's internal order: branch ``k`` feeds internal bus ``k + 1`` from ``parent[k + 1]``, the
    order of ``net.r_ohm`` and of the rows of ``net.branches()``. Use this to place a user's
    reinforcement, written as bus pairs, on that axis.

    Parameters
    ----------
    net : Network
    from_bus, to_bus : int or array_like of int
        Bus labels of each branch's two ends, in either order (the tree may have flipped the row).

    Returns
    -------
    ndarray of int64
        Indices into the branch axis, with the broadcast shape of ``from_bus`` and ``to_bus``.

    Raises
    ------
    KeyError
        An unknown bus label, or a pair of buses joined by no tree branch (a tie is no tree branch).

    Example
    -------
    >>> from grid import cases
    >>> net = cases.load("ieee33")
    >>> k = branch_index(net, [2, 19], [3, 2])
    >>> r = np.tile(net.r_ohm, (4, 1)); r[1:, k] *= 0.5    # three candidates halve two lines
    >>> solve(net, net.p_kw, net.q_kvar, r_ohm=r).loss_kw.shape
    (4,)
    """
    fb, tb = np.broadcast_arrays(np.asarray(from_bus, dtype=np.int64), np.asarray(to_bus, dtype=np.int64))
    a = net.index_of(fb.ravel())
    b = net.index_of(tb.ravel())
    child = np.maximum(a, b)
    ok = (np.minimum(a, b) == net.parent[child]) & (child > 0)
    if not ok.all():
        j = int(np.argmin(ok))
        raise KeyError(
            f"buses {int(fb.ravel()[j])} and {int(tb.ravel()[j])} are not joined by a tree branch of "
            f"network {net.name!r}"
        )
    return (child - 1).reshape(fb.shape)


def solve(
    net: Network,
    p_kw: Any,
    q_kvar: Any,
    *,
    r_ohm: Any = None,
    x_ohm: Any = None,
    tol: float = 1e-8,
    max_iter: int = 100,
    v_start: Any = None,
) -> PowerFlowResult:
    """Solve the power flow of ``net`` for a batch of operating points.

    Parameters
    ----------
    net : Network
        The radial feeder.
    p_kw, q_kvar : array_like, shape (*batch, n_bus)
        Net demand per bus in kW and kvar, in the network's internal bus order (consumption
        positive, generation negative). Both need the bus axis last; their batch axes broadcast
        against each other (e.g. ``q_kvar = net.q_kvar`` with a ``(24, n_bus)`` ``p_kw``). A 1-d
        input is one case and gives 0-d (scalar) batch results.
    r_ohm, x_ohm : array_like, shape (*batch_z, n_branch), optional
        Per-case series resistance and reactance in ohm, replacing ``net.r_ohm``/``net.x_ohm``
        (either may be given alone; the other is the network's). The branch axis is last, in the
        network's internal order (branch ``k`` feeds internal bus ``k + 1``, the order of
        ``net.r_ohm``; map bus pairs with :func:`branch_index`), on the child side of any tap as
        ``net.r_ohm`` is. Their batch axes broadcast with those of ``p_kw``/``q_kvar``, so
        ``(n_cand, 1, 1, n_branch)`` against ``(n_cand, n_scen, 24, n_bus)`` gives every candidate
        its own reinforced lines in one call. Each distinct row is stored once and read by every
        case that shares it; values must be finite and ``>= 0``. Passing the network's own
        impedances gives results bit-identical to omitting them.
    tol : float
        Convergence tolerance on ``max |dV|`` between sweeps, in per unit.
    max_iter : int
        Sweeps allowed per case before it is reported as not converged.
    v_start : array_like of complex, shape (*batch_v, n_bus), optional
        Bus voltages (per unit, internal order) to start the sweeps from instead of the flat
        profile, e.g. a solved base case when only a few injections change: fewer sweeps to the
        same ``tol``. Its batch axes broadcast with the others (``(n_scen, 24, n_bus)`` against
        ``(n_cand, n_scen, 24, n_bus)``: each distinct row is stored once). The slack entry is
        ignored; values must be finite and nonzero. The result differs from a flat start by at
        most about ``tol`` per unit.

    Returns
    -------
    PowerFlowResult
        Arrays with the broadcast batch shape; non-converged cases are flagged and hold ``nan``.

    Raises
    ------
    InputShapeError
        A scalar or complex input, a last axis other than ``n_bus`` (``n_branch`` for ``r_ohm``,
        ``x_ohm``), batch axes that do not broadcast, non-finite demand, a non-finite or negative
        impedance, a bad ``tol``/``max_iter``, or a ``v_start`` of the wrong shape or with
        non-finite or zero entries.
    """
    n_bus = net.n_bus
    p = _as_demand("p_kw", p_kw, n_bus, net.name)
    q = _as_demand("q_kvar", q_kvar, n_bus, net.name)
    try:
        shape = np.broadcast_shapes(p.shape, q.shape)
    except ValueError:
        raise InputShapeError(
            f"p_kw shape {p.shape} and q_kvar shape {q.shape} do not broadcast to one (*batch, {n_bus}) shape"
        ) from None
    n_br = net.n_branch
    z_base = net.z_base_ohm
    if r_ohm is None and x_ohm is None:
        # the network's own impedances: one table row, no per-case index (the original fast path)
        r_tab = net.r_ohm.reshape(1, n_br)
        x_tab = net.x_ohm.reshape(1, n_br)
        z_batch: tuple[int, ...] = ()
    else:
        r = net.r_ohm if r_ohm is None else _as_impedance("r_ohm", r_ohm, net)
        x = net.x_ohm if x_ohm is None else _as_impedance("x_ohm", x_ohm, net)
        try:
            z_shape = np.broadcast_shapes(r.shape, x.shape)
        except ValueError:
            raise InputShapeError(
                f"r_ohm shape {r.shape} and x_ohm shape {x.shape} do not broadcast to one "
                f"(*batch, {n_br}) shape"
            ) from None
        try:
            shape = np.broadcast_shapes(shape[:-1], z_shape[:-1]) + (n_bus,)
        except ValueError:
            raise InputShapeError(
                f"r_ohm/x_ohm batch shape {z_shape[:-1]} does not broadcast with the demand batch shape "
                f"{shape[:-1]} (p_kw {p.shape}, q_kvar {q.shape})"
            ) from None
        z_batch = z_shape[:-1]
        # one row per distinct impedance set, (n_z, n_br) in ohm: a view of the input where it already
        # has that layout (the kernel converts a row to per unit when a case first needs it)
        r_tab = np.broadcast_to(r, z_shape).reshape(-1, n_br)
        x_tab = np.broadcast_to(x, z_shape).reshape(-1, n_br)
    if isinstance(tol, bool) or not (isinstance(tol, numbers.Real) and math.isfinite(tol) and tol > 0):
        raise InputShapeError(f"tol must be a positive finite number of per unit, got {tol!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise InputShapeError(f"max_iter must be a positive integer, got {max_iter!r}")
    for name, arr in (("p_kw", p), ("q_kvar", q)):
        finite = np.isfinite(arr)
        if not finite.all():
            idx = np.unravel_index(int(np.argmin(finite)), arr.shape)
            raise InputShapeError(
                f"{name}: non-finite value {float(arr[idx])} at index {tuple(int(i) for i in idx)} "
                f"(bus {int(net.bus[idx[-1]])})"
            )
    batch = shape[:-1]
    n_case = math.prod(batch)
    p2 = np.ascontiguousarray(np.broadcast_to(p, shape)).reshape(n_case, n_bus)
    q2 = np.ascontiguousarray(np.broadcast_to(q, shape)).reshape(n_case, n_bus)

    if v_start is None:
        vs = np.empty((0, n_bus), dtype=np.complex128)
        vs_row = np.empty(0, dtype=np.int64)
    else:
        vs_full = np.asarray(v_start, dtype=np.complex128)
        if vs_full.ndim < 1 or vs_full.shape[-1] != n_bus:
            raise InputShapeError(f"v_start: expected shape (..., n_bus={n_bus}), got {vs_full.shape}")
        body = vs_full[..., 1:]
        if not (np.isfinite(body).all() and (body != 0).all()):
            raise InputShapeError("v_start: voltages must be finite and nonzero (solve the base case first)")
        try:
            np.broadcast_shapes(vs_full.shape[:-1], batch)
        except ValueError:
            raise InputShapeError(
                f"v_start batch shape {vs_full.shape[:-1]} does not broadcast with the batch shape {batch}"
            ) from None
        if np.broadcast_shapes(vs_full.shape[:-1], batch) != batch:
            raise InputShapeError(
                f"v_start batch shape {vs_full.shape[:-1]} is larger than the batch shape {batch}"
            )
        vs = vs_full.reshape(-1, n_bus)
        if vs.shape[0] > 1:
            v_batch = (1,) * (len(batch) - (vs_full.ndim - 1)) + vs_full.shape[:-1]
            vs_row = np.broadcast_to(np.arange(vs.shape[0], dtype=np.int64).reshape(v_batch), batch).reshape(
                n_case
            )
        else:
            vs_row = np.empty(0, dtype=np.int64)
    if math.prod(z_batch) > 1:
        # case c reads impedance row z_row[c]: the batch position of c, broadcast back onto z_batch
        z_row = np.broadcast_to(
            np.arange(math.prod(z_batch), dtype=np.int64).reshape(z_batch), batch
        ).reshape(n_case)
    else:
        z_row = np.empty(0, dtype=np.int64)                 # every case reads row 0
    v0 = net.slack_vm_pu * np.exp(1j * np.deg2rad(net.slack_va_deg))
    v = np.empty((n_case, n_bus), dtype=np.complex128)
    i = np.empty((n_case, n_br), dtype=np.complex128)
    bl_kw = np.empty((n_case, n_br))
    bl_kvar = np.empty((n_case, n_br))
    loss_kw = np.empty(n_case)
    loss_kvar = np.empty(n_case)
    sp = np.empty(n_case)
    sq = np.empty(n_case)
    conv = np.empty(n_case, dtype=np.bool_)
    iters = np.empty(n_case, dtype=np.int64)
    threads = numba.get_num_threads()
    use = threads if n_case * n_bus >= _PARALLEL_MIN_WORK else 1
    n_chunks = max(1, min(n_case, 8 * use))        # scratch is allocated once per chunk
    if use != threads:
        numba.set_num_threads(use)                 # thread-local in numba; restored below
    try:
        _sweep_kernel(
            _ro(p2), _ro(q2),
            _ro(net.parent, np.int64),
            _ro(r_tab),
            _ro(x_tab),
            _ro(z_row, np.int64), float(z_base),
            _ro(1.0 / net.tap),
            _ro(net.shunt_kvar / S_BASE_KVA),
            float(v0.real), float(v0.imag), base_current_a(net.base_kv),
            float(tol), int(max_iter), int(n_chunks),
            v, i, bl_kw, bl_kvar, loss_kw, loss_kvar, sp, sq, conv, iters,
            _ro(vs.real), _ro(vs.imag), _ro(vs_row, np.int64),
        )
    finally:
        if use != threads:
            numba.set_num_threads(threads)
    return PowerFlowResult(
        v_pu=v.reshape(*batch, n_bus),
        i_a=i.reshape(*batch, n_br),
        loss_kw=loss_kw.reshape(batch),
        loss_kvar=loss_kvar.reshape(batch),
        branch_loss_kw=bl_kw.reshape(*batch, n_br),
        branch_loss_kvar=bl_kvar.reshape(*batch, n_br),
        slack_p_kw=sp.reshape(batch),
        slack_q_kvar=sq.reshape(batch),
        converged=conv.reshape(batch),
        iterations=iters.reshape(batch),
    )
