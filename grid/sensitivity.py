"""Linear sensitivities of a radial feeder, built once per :class:`~grid.network.Network`.

A current-injection linearisation around a solved operating point (a backward/forward sweep): an
extra complex power ``dS_k`` injected at bus ``k`` (kW + j kvar, generation positive) changes

* every tree branch current by ``dI_b = -D[b, k] * conj(dS_k / V_k)`` (``D[b, k] = 1`` when bus ``k``
  is fed through branch ``b``), exactly for a constant-current reading at the operating voltages;
* every bus voltage by ``dV_i = -sum_b Zpath[i, b] dI_b`` (``Zpath[i, b] = z_b`` on the path from the
  slack to ``i``), the forward sweep of the same currents.

Losses ``sum_b r_b |I_b|^2`` are then an exact quadratic of the injections (given ``V``), and the
squared voltage magnitudes are linear to first order: ``|V_i|^2 ~ |V0_i|^2 + 2 Re(conj(V0_i) dV_i)``.
This is LinDistFlow (Baran & Wu 1989) written with currents, so it starts from the true base point
of the sweep and not from flat 1 pu voltages. :mod:`grid.sop` uses it to dispatch soft open points.

Example
-------
>>> import numpy as np
>>> from grid import cases, sensitivity
>>> from grid.powerflow import solve
>>> net = cases.load("ieee33")
>>> sens = sensitivity.Sensitivity.of(net)
>>> sens.downstream.shape, sens.zpath_pu.shape      # (branches, buses), (buses, branches)
((32, 33), (33, 32))
>>> res = solve(net, net.p_kw, net.q_kvar)
>>> k = net.index_of([18])
>>> lin = sens.linearise(res.v_pu, res.i_a, k)      # 100 kW injected at bus 18:
>>> d = 100.0 * lin.current[..., 0]
>>> loss = 1000 * (sens.r_pu * np.abs(lin.i0_pu + d) ** 2).sum()
>>> p = net.p_kw.copy(); p[k] -= 100.0
>>> bool(abs(loss - solve(net, p, net.q_kvar).loss_kw) < 1.5)   # kW, of about 190
True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .network import Network
from .powerflow import base_current_a

__all__ = ["Sensitivity", "Linearisation"]


@dataclass(frozen=True)
class Linearisation:
    """The current-injection model around a batch of operating points (arrays ``(*batch, ...)``).

    ``i0_pu`` ``(*batch, n_branch)``: base branch currents (pu); ``v0_pu`` ``(*batch, n_bus)``: base
    voltages; ``current`` ``(*batch, n_branch, n_inj)``: ``dI`` (pu) per kW of active power injected
    at each chosen bus; a kvar of reactive injection gives ``-1j`` times that column
    (``conj(dS / V) = (dP - j dQ) / conj(V)``); ``voltage`` ``(*batch, n_bus, n_inj)``: ``dV`` per kW.
    """

    i0_pu: NDArray[np.complex128]
    v0_pu: NDArray[np.complex128]
    current: NDArray[np.complex128]
    voltage: NDArray[np.complex128]


@dataclass(frozen=True, eq=False)
class Sensitivity:
    """Topology matrices of one network (pu on 1 MVA and ``net.base_kv``); build with :meth:`of`."""

    net: Network
    downstream: NDArray[np.float64]  # (n_branch, n_bus): 1 where the bus is fed through the branch
    zpath_pu: NDArray[np.complex128]  # (n_bus, n_branch): branch impedance on the slack-to-bus path
    r_pu: NDArray[np.float64]  # (n_branch,)
    i_base_a: float

    @staticmethod
    @functools.cache
    def of(net: Network) -> Sensitivity:
        """The sensitivities of ``net`` (cached per network object)."""
        n = net.n_bus
        down = np.zeros((net.n_branch, n))
        # branch k feeds internal bus k + 1; a bus is below branch k when k + 1 is on its root path
        for i in range(1, n):
            j = i
            while j > 0:
                down[j - 1, i] = 1.0
                j = int(net.parent[j])
        z = (net.r_ohm + 1j * net.x_ohm) / net.z_base_ohm
        down.setflags(write=False)
        zpath = np.ascontiguousarray(down.T * z[None, :])
        zpath.setflags(write=False)
        r = np.ascontiguousarray(net.r_ohm / net.z_base_ohm)
        r.setflags(write=False)
        return Sensitivity(net, down, zpath, r, base_current_a(net.base_kv))

    def linearise(
        self, v_pu: NDArray[np.complex128], i_a: NDArray[np.complex128], buses: NDArray[np.int64]
    ) -> Linearisation:
        """The model around solved points (``PowerFlowResult.v_pu``, ``.i_a``) for injections at the
        internal bus indices ``buses`` (``(n_inj,)``)."""
        buses = np.asarray(buses, dtype=np.int64)
        # conj(dS / V) per kW of dP: 1e-3 / conj(V_k) pu (S base 1 MVA)
        per_kw = 1e-3 / np.conj(v_pu[..., buses])  # (*batch, n_inj)
        cur = -self.downstream[:, buses] * per_kw[..., None, :]  # (*batch, n_branch, n_inj)
        volt = -np.einsum("ib,...bk->...ik", self.zpath_pu, cur)
        return Linearisation(i_a / self.i_base_a, v_pu, cur, volt)
