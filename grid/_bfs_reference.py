"""A readable NumPy backward/forward sweep, the reference the numba kernel is tested against.

Written for clarity, not speed: complex arrays, vectorised over the batch, a plain Python loop over
the branches. It implements the same model and the same iteration as :func:`grid.powerflow.solve`
(constant-power loads, constant-admittance shunts, an ideal tap at each branch's sending end, flat
start, stop on ``max |dV| <= tol``), so the two agree to rounding (about 1e-12 pu).

Not part of the public API; tests import it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .network import Network

__all__ = ["reference_bfs"]


def reference_bfs(
    net: Network,
    p_kw: NDArray[np.float64],
    q_kvar: NDArray[np.float64],
    *,
    tol: float = 1e-8,
    max_iter: int = 100,
) -> tuple[NDArray[np.complex128], NDArray[np.complex128], NDArray[np.bool_], NDArray[np.int64]]:
    """Solve a batch of operating points with a plain backward/forward sweep.

    Parameters
    ----------
    net : Network
    p_kw, q_kvar : ndarray, shape (n_case, n_bus)
        Net demand per bus (consumption positive), internal bus order.

    Returns
    -------
    v_pu : ndarray of complex128, shape (n_case, n_bus)
        Bus voltages (the last iterate, also for cases that did not converge).
    j_pu : ndarray of complex128, shape (n_case, n_branch)
        Branch currents in per unit on 1 MVA (branch k feeds bus k+1).
    converged : ndarray of bool, shape (n_case,)
    iterations : ndarray of int64, shape (n_case,)
    """
    p_kw = np.atleast_2d(np.asarray(p_kw, dtype=float))
    q_kvar = np.atleast_2d(np.asarray(q_kvar, dtype=float))
    n_case, n_bus = p_kw.shape
    s_pu = (p_kw + 1j * q_kvar) / 1000.0           # demand on a 1 MVA base
    b_pu = net.shunt_kvar / 1000.0                  # shunt susceptance (kvar injected at 1 pu)
    z_pu = (net.r_ohm + 1j * net.x_ohm) / net.z_base_ohm
    tap = net.tap
    v_slack = net.slack_vm_pu * np.exp(1j * np.deg2rad(net.slack_va_deg))

    v = np.full((n_case, n_bus), v_slack, dtype=complex)   # flat start
    j = np.zeros((n_case, n_bus), dtype=complex)            # j[:, k]: current into bus k from its parent
    converged = np.zeros(n_case, dtype=bool)
    iterations = np.zeros(n_case, dtype=np.int64)
    active = np.ones(n_case, dtype=bool)                    # cases still iterating

    for _ in range(max_iter):
        if not active.any():
            break
        a = active
        iterations[a] += 1
        # load current: constant power plus constant-admittance shunt
        j_load = np.conj(s_pu[a] / v[a]) + 1j * b_pu * v[a]
        # backward sweep: each bus passes its current (through the tap) to its parent
        jj = j_load.copy()
        for k in range(n_bus - 1, 0, -1):
            jj[:, net.parent[k]] += jj[:, k] / tap[k - 1]
        # forward sweep: parents first
        v_new = v[a].copy()
        for k in range(1, n_bus):
            v_new[:, k] = v_new[:, net.parent[k]] / tap[k - 1] - z_pu[k - 1] * jj[:, k]
        dv = np.abs(v_new - v[a]).max(axis=1)
        v[a] = v_new
        j[a] = jj
        done = dv <= tol
        idx = np.flatnonzero(a)
        converged[idx[done]] = True
        active[idx[done | ~np.isfinite(dv)]] = False
    return v, j[:, 1:], converged, iterations
