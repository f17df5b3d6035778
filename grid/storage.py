"""Storage devices and a batched net-load flattening dispatcher (papers 004, 002 plan 3, 000).

Two kinds of device, one interface (:class:`StorageBounds`, arrays ``(..., 24)``):

* a stationary battery (:func:`battery`): power and energy ratings, one efficiency for charging
  and discharging, a SOC window, cyclic over the typical day (end state = start state);
* an EV station seen as storage (:func:`ev_station`): the station's vehicles aggregated by
  :func:`grid.ev.station_limits` (004 eqs. (6)-(9), the same aggregation as 002 eq. (5)):
  time-varying power limits (connected chargers) capped by the station's installed power, energy
  bounds of the vehicles present, and the energy that arrivals bring and departures take.

The model of every device, hour ``t = 0..23`` of a cyclic typical day (004 eqs. (6)-(9); 002 eq.
(1) with ``eta_ref = 1``)::

    S_t = S_{t-1} + dS_t + eta * p_ch_t - p_dis_t / eta          S_{-1} = S_23   (cyclic)
    E_min_t <= S_t <= E_max_t
    0 <= p_ch_t <= P_ch_max_t,   0 <= p_dis_t <= P_dis_max_t,   p_ch_t * p_dis_t = 0

``S_t`` is the stored energy (battery side, kWh) at the end of hour ``t``, ``dS_t`` the energy brought
by arriving vehicles minus the energy departing vehicles take (0 for a battery), ``p_ch``/``p_dis``
the grid-side powers (kW). Reading of 004 eq. (7), ``S_T = S_exp``: each departing vehicle takes its
feasible departure energy (``dS``), and the day is cyclic, so the expected energy is delivered every
day rather than once at a horizon's end.

The dispatcher (:func:`flatten`)
-------------------------------
For every batch element (candidate x scenario) with devices ``j``::

    minimise  sum_t (L_t + sum_j (p_ch_jt - p_dis_jt))^2

the squared grid draw of the feeder's net load ``L`` (load minus DG) with the devices: the classic
valley-filling objective (Gan, Topcu & Low, IEEE Trans. Power Syst. 28(2), 2013). 004 states
"stabilise the DG fluctuations" and fig. 8 (charge at the midday DG peak, discharge when DG is low)
but no lower-level formula; the issue asks to flatten the net load (squared deviation from its
mean). For lossless storage both objectives have the same minimiser (``sum_t p_t`` is then fixed by
the energy balance, and ``sum (g - mean g)^2 = sum g^2 - (sum g)^2 / 24``); with losses the squared
draw also charges the lost energy to the schedule, which the deviation from the mean would not (it
would even reward burning energy in a valley). That is the stated reading; :func:`flatten_qp` solves
the same problem exactly.

Algorithm (a numba kernel over the flattened batch, no Python loop per candidate or scenario):

1. *What cannot be served.* Where a device cannot reach its lower energy bound even charging at
   full power whenever it can (a station capped below its fleet's needs), the missing energy is
   unserved: the greedy full-charge trajectory of the cyclic day is the highest possible at every
   hour, so its deficits are the least unserved energy for that cap. They are added to ``dS``
   (departing vehicles take less) and reported as ``unserved_kwh``.
2. *One device, given the others* (an exact solver). For an energy price ``nu`` each hour's best
   power is closed form (KKT of ``(r_t + p)^2 - nu * delta(p)``, ``delta`` the stored energy);
   ``nu`` is found where the day's energy balances: a safeguarded Newton iteration on the
   piecewise-linear balance, exact once no hour changes regime. (Under reverse flow, ``r < 0``, a
   lossy device's best response in an hour jumps from discharging to charging as ``nu`` rises;
   when the balance falls inside such a jump, the jumping hour takes the partial power that
   closes it, so the energy balance holds exactly.) Where the trajectory leaves the energy bounds, the
   worst violation is pinned to its bound and the two arcs on either side are solved again
   (the taut-string construction); the cyclic day is first cut at the pair of hours that make the
   start energy infeasible.
3. *Devices together.* Block coordinate descent (Gauss-Seidel): each device in turn is solved
   exactly against the net load plus the others' schedules, ``sweeps`` times. The objective is
   smooth and convex and the constraints separate by device, so this converges to the joint
   optimum.

The gap to the exact QP (:func:`flatten_qp`, cvxpy + Clarabel; test extra) is measured in
``tests/grid/test_storage.py``: at most 1.3e-9 relative on random batteries and 6.7e-8 on 004's EV
stations (the QP solver's own tolerance), the unserved energy equal to an LP's minimum.

Reverse flow (net load below zero, DG above load) with lossy devices: the squared draw then
rewards *burning* energy, and the QP's convex relaxation does it by charging and discharging one
device in the same hour, which :func:`flatten` never does (``p_ch * p_dis = 0``). There the QP is
a lower bound, not the optimum (``test_qp_relaxation_burns_energy_under_reverse_flow``). Two
devices can still exchange energy (one charges while the other discharges), and Gauss-Seidel
then stalls short of the best such exchange: on 004's scenario 4 (two batteries, 600
candidate-scenario pairs of a random population) 45 pairs end more than 1e-4 above what 200
sweeps reach, the worst 0.38 % (1.7 % above the QP bound); 004's EV stations (scenario 3) are
within 1e-4 of 200 sweeps on all 600 (the benchmark's population, ``python -m
benchmarks.problems --only evs_siting``).

Example
-------
A 500 kW / 2 MWh battery (SOC 0.1-0.9, efficiency 0.95) under a day of 12 low and 12 high
hours. The 1600 kWh window binds, so by hand: charge ``c`` kW for 12 h stores ``0.95 * 12 c =
1600`` kWh, and discharging it over 12 h gives ``0.95 * 1600 / 12`` kW:

>>> import numpy as np
>>> from grid import storage
>>> day = np.r_[np.full(12, 1000.0), np.full(12, 3000.0)]
>>> s = storage.flatten(day, storage.battery([500.0], [2000.0]))
>>> print(f"{s.grid_kw.min():.2f} {s.grid_kw.max():.2f}")   # valley raised, peak shaved
1140.35 2873.33
>>> print(f"{1000 + 1600 / (0.95 * 12):.2f} {3000 - 0.95 * 1600 / 12:.2f}")
1140.35 2873.33
>>> bool(np.all(s.energy_kwh <= 0.9 * 2000.0 + 1e-6))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._flatten_kernels import ENERGY_TOL_KWH, _flatten_kernel, _flatten_parallel
from .ev import N_HOURS, StationLimits

__all__ = [
    "ENERGY_TOL_KWH",
    "StorageError",
    "StorageBounds",
    "StorageSchedule",
    "battery",
    "ev_station",
    "flatten",
    "flatten_qp",
]

#: Absolute tolerance (kWh) on the energy bounds of a returned schedule (``ENERGY_TOL_KWH``, from
#: the kernels module).


class StorageError(ValueError):
    """Storage parameters out of range, or shapes that do not broadcast."""


def _f64(x: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(x, dtype=np.float64)


@dataclass(frozen=True)
class StorageBounds:
    """Storage devices as hourly bounds (read-only arrays).

    Hourly arrays have shape ``(..., 24)`` and ``efficiency`` has ``(...)``; the leading axes are any
    batch of devices (for example ``(n_candidates, n_devices)``), broadcast against the net load by
    :func:`flatten`.

    Attributes
    ----------
    p_ch_max_kw, p_dis_max_kw:
        Grid-side charging and discharging limits per hour (kW, >= 0).
    energy_min_kwh, energy_max_kwh:
        Bounds on the stored energy at the end of each hour (kWh, battery side).
    inflow_kwh:
        ``dS_t``: energy brought by arrivals minus energy taken by departures in hour ``t`` (kWh);
        zero for a battery.
    efficiency:
        Charging (= discharging) efficiency in ``(0, 1]``.
    kind:
        ``"battery"`` or ``"ev_station"`` (labels for plots and tables).
    """

    p_ch_max_kw: NDArray[np.float64]
    p_dis_max_kw: NDArray[np.float64]
    energy_min_kwh: NDArray[np.float64]
    energy_max_kwh: NDArray[np.float64]
    inflow_kwh: NDArray[np.float64]
    efficiency: NDArray[np.float64]
    kind: str = "battery"

    def __post_init__(self) -> None:
        hourly = ("p_ch_max_kw", "p_dis_max_kw", "energy_min_kwh", "energy_max_kwh", "inflow_kwh")
        arrays = {name: _f64(getattr(self, name)) for name in (*hourly, "efficiency")}
        for name in hourly:
            if arrays[name].ndim < 1 or arrays[name].shape[-1] != N_HOURS:
                raise StorageError(f"{name}: last axis must be the {N_HOURS} hours, got {arrays[name].shape}")
        try:
            shape = np.broadcast_shapes(*(arrays[n].shape for n in hourly), (*arrays["efficiency"].shape, 1))
        except ValueError as exc:
            raise StorageError(f"storage bounds do not broadcast: {exc}") from None
        for name, a in arrays.items():
            if not np.all(np.isfinite(a)):
                raise StorageError(f"{name}: values must be finite")
        for name in ("p_ch_max_kw", "p_dis_max_kw"):
            if np.any(arrays[name] < 0):
                raise StorageError(f"{name}: power limits must be >= 0 kW")
        eff = arrays["efficiency"]
        if np.any(eff <= 0) or np.any(eff > 1):
            raise StorageError(f"efficiency must lie in (0, 1], got {eff.min():.4g}..{eff.max():.4g}")
        if np.any(arrays["energy_min_kwh"] > arrays["energy_max_kwh"] + ENERGY_TOL_KWH):
            raise StorageError("energy_min_kwh exceeds energy_max_kwh in some hour")
        if self.kind not in ("battery", "ev_station"):
            raise StorageError(f"kind must be 'battery' or 'ev_station', got {self.kind!r}")
        for name, a in arrays.items():
            b = np.ascontiguousarray(np.broadcast_to(a, shape if name != "efficiency" else shape[:-1]))
            b = b.copy()
            b.setflags(write=False)
            object.__setattr__(self, name, b)

    @property
    def shape(self) -> tuple[int, ...]:
        """The device batch shape (without the hour axis)."""
        return tuple(self.efficiency.shape)

    def expand_dims(self, axis: int) -> StorageBounds:
        """The same devices with a new batch axis of length one at ``axis`` of :attr:`shape`
        (e.g. ``(n_candidates, n_devices)`` -> ``(n_candidates, 1, n_devices)`` to broadcast
        against ``(n_candidates, n_scenarios, 24)`` net loads)."""
        nd = len(self.shape)
        if not -nd - 1 <= axis <= nd:
            raise StorageError(f"expand_dims: axis {axis} out of range for shape {self.shape}")
        ax = axis if axis >= 0 else nd + 1 + axis
        hourly = {
            name: np.expand_dims(getattr(self, name), ax)
            for name in ("p_ch_max_kw", "p_dis_max_kw", "energy_min_kwh", "energy_max_kwh", "inflow_kwh")
        }
        return StorageBounds(**hourly, efficiency=np.expand_dims(self.efficiency, ax), kind=self.kind)


def battery(
    power_kw: ArrayLike,
    energy_kwh: ArrayLike,
    *,
    efficiency: float = 0.95,
    soc_min: float = 0.1,
    soc_max: float = 0.9,
) -> StorageBounds:
    """Stationary batteries, cyclic over the typical day.

    ``power_kw`` and ``energy_kwh`` broadcast to the device batch shape (e.g. ``(n_candidates,
    n_devices)``); the SOC window bounds the stored energy to ``[soc_min, soc_max] * energy_kwh``.
    Defaults (0.95, 0.1-0.9) are the values proposed for 004's "normal energy storage" (004 gives
    none).
    """
    p = _f64(power_kw)
    e = _f64(energy_kwh)
    if np.any(p < 0) or np.any(e < 0) or not (np.all(np.isfinite(p)) and np.all(np.isfinite(e))):
        raise StorageError("battery: power_kw and energy_kwh must be finite and >= 0")
    if not (0.0 <= soc_min <= soc_max <= 1.0):
        raise StorageError(f"battery: need 0 <= soc_min <= soc_max <= 1, got {soc_min}, {soc_max}")
    p, e = np.broadcast_arrays(p, e)
    hours = (*p.shape, N_HOURS)
    return StorageBounds(
        p_ch_max_kw=np.broadcast_to(p[..., None], hours),
        p_dis_max_kw=np.broadcast_to(p[..., None], hours),
        energy_min_kwh=np.broadcast_to(soc_min * e[..., None], hours),
        energy_max_kwh=np.broadcast_to(soc_max * e[..., None], hours),
        inflow_kwh=np.zeros(hours),
        efficiency=np.full(p.shape, float(efficiency)),
        kind="battery",
    )


def ev_station(
    limits: StationLimits, capacity_kw: ArrayLike, *, stations: ArrayLike | None = None
) -> StorageBounds:
    """EV stations as storage (004 eqs. (6)-(9)) under an installed power per candidate.

    Parameters
    ----------
    limits:
        :func:`grid.ev.station_limits` of the sampled fleet, ``(n_stations, 24)``.
    capacity_kw:
        ``(n_candidates, n_devices)`` installed power of each device (its converters bound charging
        and discharging, 004 eq. (9)).
    stations:
        ``(n_devices,)`` which station of ``limits`` feeds each device; default ``0..n_devices-1``.

    Returns
    -------
    StorageBounds of shape ``(n_candidates, n_devices)``.
    """
    cap = _f64(capacity_kw)
    if cap.ndim != 2:
        raise StorageError(f"ev_station: capacity_kw must be (n_candidates, n_devices), got {cap.shape}")
    if np.any(cap < 0) or not np.all(np.isfinite(cap)):
        raise StorageError("ev_station: capacity_kw must be finite and >= 0")
    n_dev = cap.shape[1]
    idx = np.arange(n_dev) if stations is None else np.asarray(stations, dtype=np.int64)
    if idx.shape != (n_dev,) or np.any(idx < 0) or np.any(idx >= limits.n_stations):
        raise StorageError(
            f"ev_station: stations must be {n_dev} indices into the fleet's "
            f"{limits.n_stations} stations, got {idx}"
        )
    c = cap[..., None]
    return StorageBounds(
        p_ch_max_kw=np.minimum(limits.p_ch_max_kw[idx][None], c),
        p_dis_max_kw=np.minimum(limits.p_dis_max_kw[idx][None], c),
        energy_min_kwh=np.broadcast_to(limits.energy_min_kwh[idx], (*cap.shape, N_HOURS)),
        energy_max_kwh=np.broadcast_to(limits.energy_max_kwh[idx], (*cap.shape, N_HOURS)),
        inflow_kwh=np.broadcast_to(limits.delta_kwh[idx], (*cap.shape, N_HOURS)),
        efficiency=np.broadcast_to(limits.efficiency[idx], cap.shape),
        kind="ev_station",
    )


@dataclass(frozen=True)
class StorageSchedule:
    """A dispatch: arrays ``(..., n_devices, 24)`` unless noted.

    ``p_ch_kw``, ``p_dis_kw`` (grid side), ``energy_kwh`` (stored energy at the end of each hour),
    ``unserved_kwh`` (``(..., n_devices, 24)``, energy departing vehicles could not be given),
    ``grid_kw`` (``(..., 24)``, the net load with the devices) and ``objective`` (``(...)``,
    ``sum_t grid_kw^2`` in kW^2).
    """

    p_ch_kw: NDArray[np.float64]
    p_dis_kw: NDArray[np.float64]
    energy_kwh: NDArray[np.float64]
    unserved_kwh: NDArray[np.float64]
    grid_kw: NDArray[np.float64]
    objective: NDArray[np.float64]

    @property
    def p_net_kw(self) -> NDArray[np.float64]:
        """Net grid-side demand of each device, ``p_ch - p_dis``."""
        return self.p_ch_kw - self.p_dis_kw

    @property
    def charged_kwh(self) -> NDArray[np.float64]:
        """``(..., n_devices)`` grid-side energy charged over the day (004 f3 reading)."""
        return self.p_ch_kw.sum(-1)


# --------------------------------------------------------------------------------------------------
# kernel
# --------------------------------------------------------------------------------------------------


def flatten(
    net_load_kw: ArrayLike,
    devices: StorageBounds,
    *,
    sweeps: int = 4,
    tol_kw: float = 1e-3,
    parallel: bool = False,
) -> StorageSchedule:
    """Flatten net-load profiles with storage devices, for a whole batch at once.

    Parameters
    ----------
    net_load_kw:
        ``(..., 24)`` the feeder's net load without the devices (load minus DG, kW), e.g.
        ``(n_candidates, n_scenarios, 24)``.
    devices:
        :class:`StorageBounds` whose shape is ``(..., n_devices)`` broadcastable against the net
        load's batch shape with a device axis appended (``(n_candidates, 1, n_devices)`` against
        ``(n_candidates, n_scenarios, 24)``, for instance).
    sweeps:
        Most Gauss-Seidel passes over the devices (step 3 of the module docstring); ignored for
        one device.
    tol_kw:
        A batch element stops its passes once no device's power moved by more than this (kW).
    parallel:
        Spread the batch over numba's threads (``numba.get_num_threads()``); the same result bit
        for bit (each batch element is solved alone). Worth it from a few hundred elements.

    Returns
    -------
    StorageSchedule with arrays ``(..., n_devices, 24)``.
    """
    base = _f64(net_load_kw)
    if base.ndim < 1 or base.shape[-1] != N_HOURS:
        raise StorageError(f"net_load_kw: last axis must be the {N_HOURS} hours, got {base.shape}")
    if not np.all(np.isfinite(base)):
        raise StorageError("net_load_kw: values must be finite")
    if not isinstance(devices, StorageBounds):
        raise StorageError(f"devices must be StorageBounds, got {type(devices).__name__}")
    if int(sweeps) < 1:
        raise StorageError(f"sweeps must be >= 1, got {sweeps}")
    dev_shape = devices.shape
    if len(dev_shape) < 1:
        raise StorageError("devices: need a device axis (shape (..., n_devices))")
    n_dev = dev_shape[-1]
    try:
        batch = np.broadcast_shapes(base.shape[:-1], dev_shape[:-1])
    except ValueError:
        raise StorageError(
            f"net load batch {base.shape[:-1]} and device batch {dev_shape[:-1]} do not broadcast"
        ) from None
    B = int(np.prod(batch, dtype=np.int64))
    hb = (*batch, n_dev, N_HOURS)

    def dev(a: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.ascontiguousarray(np.broadcast_to(a, hb).reshape(B, n_dev, N_HOURS))

    base_b = np.ascontiguousarray(np.broadcast_to(base, (*batch, N_HOURS)).reshape(B, N_HOURS))
    eta = np.ascontiguousarray(np.broadcast_to(devices.efficiency, (*batch, n_dev)).reshape(B, n_dev))
    pc = np.zeros((B, n_dev, N_HOURS))
    pd = np.zeros_like(pc)
    S = np.zeros_like(pc)
    u = np.zeros_like(pc)
    args = (
        base_b,
        dev(devices.p_ch_max_kw),
        dev(devices.p_dis_max_kw),
        dev(devices.energy_min_kwh),
        dev(devices.energy_max_kwh),
        dev(devices.inflow_kwh),
        eta,
        int(sweeps),
        float(tol_kw),
        pc,
        pd,
        S,
        u,
    )
    threads = numba.get_num_threads()
    if parallel and threads > 1 and B > 1:
        _flatten_parallel(*args, int(min(B, 8 * threads)))
    else:
        _flatten_kernel(*args)
    grid = base_b + (pc - pd).sum(1)
    return StorageSchedule(
        p_ch_kw=pc.reshape(hb),
        p_dis_kw=pd.reshape(hb),
        energy_kwh=S.reshape(hb),
        unserved_kwh=u.reshape(hb),
        grid_kw=grid.reshape((*batch, N_HOURS)),
        objective=(grid**2).sum(-1).reshape(batch),
    )


def flatten_qp(net_load_kw: ArrayLike, devices: StorageBounds) -> StorageSchedule:
    """The exact reference of :func:`flatten`: the same problem as a QP, one per batch element,
    solved by cvxpy with Clarabel (test extra: ``pip install -e ".[test]"``). Charging and
    discharging are separate non-negative variables (a convex relaxation of ``p_ch p_dis = 0``);
    the unserved energy is a variable with a penalty above any marginal of the quadratic, so it
    is used only where the bounds cannot be met. Slow (tens of ms per element): tests only.
    """
    try:
        import cvxpy as cp
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise StorageError('flatten_qp needs cvxpy (pip install -e ".[test]")') from exc
    base = _f64(net_load_kw)
    dev_shape = devices.shape
    n_dev = dev_shape[-1]
    batch = np.broadcast_shapes(base.shape[:-1], dev_shape[:-1])
    B = int(np.prod(batch, dtype=np.int64))
    hb = (*batch, n_dev, N_HOURS)

    def dev(a: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.broadcast_to(a, hb).reshape(B, n_dev, N_HOURS)

    L = np.broadcast_to(base, (*batch, N_HOURS)).reshape(B, N_HOURS)
    pcm, pdm = dev(devices.p_ch_max_kw), dev(devices.p_dis_max_kw)
    lo, hi, dS = dev(devices.energy_min_kwh), dev(devices.energy_max_kwh), dev(devices.inflow_kwh)
    eta = np.broadcast_to(devices.efficiency, (*batch, n_dev)).reshape(B, n_dev)
    out = {k: np.zeros((B, n_dev, N_HOURS)) for k in ("pc", "pd", "S", "u")}
    scale = max(1.0, float(np.abs(L).max()))
    for b in range(B):
        pc = cp.Variable((n_dev, N_HOURS), nonneg=True)
        pd = cp.Variable((n_dev, N_HOURS), nonneg=True)
        S = cp.Variable((n_dev, N_HOURS))
        u = cp.Variable((n_dev, N_HOURS), nonneg=True)
        cons = [pc <= pcm[b], pd <= pdm[b], S >= lo[b], S <= hi[b]]
        prev = cp.hstack([S[:, N_HOURS - 1 : N_HOURS], S[:, : N_HOURS - 1]])
        e = eta[b][:, None]
        cons.append(S == prev + dS[b] + cp.multiply(e, pc) - cp.multiply(1.0 / e, pd) + u)
        g = L[b] + cp.sum(pc - pd, axis=0)
        penalty = 1e3 * scale  # above 2 * max|g| per kWh
        prob = cp.Problem(cp.Minimize(cp.sum_squares(g / scale) * scale + penalty * cp.sum(u) / scale), cons)
        prob.solve(solver=cp.CLARABEL)
        if prob.status not in ("optimal", "optimal_inaccurate"):
            raise StorageError(f"flatten_qp: element {b}: {prob.status}")
        out["pc"][b], out["pd"][b], out["S"][b], out["u"][b] = pc.value, pd.value, S.value, u.value
    grid = L + (out["pc"] - out["pd"]).sum(1)
    return StorageSchedule(
        p_ch_kw=out["pc"].reshape(hb),
        p_dis_kw=out["pd"].reshape(hb),
        energy_kwh=out["S"].reshape(hb),
        unserved_kwh=out["u"].reshape(hb),
        grid_kw=grid.reshape((*batch, N_HOURS)),
        objective=(grid**2).sum(-1).reshape(batch),
    )
