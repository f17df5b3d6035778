"""Per-vehicle connection windows of an EV fleet, and a vectorised funnel repair of per-vehicle
charge/discharge schedules that keeps each battery inside its window and delivers its departure
energy exactly.

The per-vehicle counterpart of :func:`grid.ev.station_limits` (which aggregates the same vehicles
into one storage per station), for small fleets: paper 001's per-vehicle model (eqs. (13),
(15)-(17): each vehicle charges or discharges within its connection time, SOC in
``[SOC_min, SOC_max]``, and leaves with its target energy).

Window coordinates. Vehicle ``i`` arrives in slot ``a_i = ceil(arrival) - 1 (mod 24)`` and leaves in
slot ``ceil(arrival + dwell) - 1``, :mod:`grid.ev`'s event convention. Its window has
``m_i = ceil(arrival + dwell) - ceil(arrival) + 1 <= 24`` steps; step ``k`` is clock slot
``(a_i + k) mod 24``, so the 24 steps are a rotation of the clock day (:meth:`VehicleWindows.to_clock`
turns it back). At step ``k``:

* power ``p in [-x_k P_i d_i, x_k P_i]`` (grid side), ``x_k`` the connected fraction of the slot
  (002 eq. (4)), ``P_i`` the charger, ``d_i`` 1 where the vehicle may discharge;
* energy ``E_k = E_{k-1} + eta p`` (charging) or ``E_{k-1} + p / eta`` (discharging), ``E_{-1}``
  the arrival energy (002 eq. (1), one vehicle);
* ``E_k in [min(SOC_min E, E_arr), SOC_max E]`` for ``k < m_i - 1`` (present at the end of the slot;
  001 eq. (15)), ``E_{m_i - 1} = E_req`` (departure, 001 eq. (16) at :attr:`grid.ev.VehicleSet.
  energy_required_kwh`, the energy :func:`grid.ev.station_limits` lets departures take). Steps after
  the departure have no power and keep ``E_req``.

Summed over vehicles these are exactly the station's aggregate model (powers within
``p_ch_max_kw`` / ``p_dis_max_kw``, energies of present vehicles within ``energy_min_kwh`` /
``energy_max_kwh``, arrivals and departures as ``delta_kwh``), so the aggregate model is a
relaxation of this one.

Repair (:func:`repair`). A backward pass over the steps gives each vehicle's funnel ``[L_k, U_k]``:
the energies from which ``E_req`` is still reachable at departure at full charging / discharging
power. The forward pass moves every vehicle by the wished power, clipped to the step's power limits,
and then into the funnel (which the step's power reaches from the last funnel). It is vectorised
over (candidates, vehicles), with a loop over the 24 steps. The repaired schedule is the wished one
wherever that is feasible, and feasible whenever the vehicle's plug-and-charge schedule is (always,
by the definition of ``E_req``).

Example
-------
>>> import numpy as np
>>> from grid import ev
>>> v = ev.sample_fleet(ev.fleet_002(), np.random.default_rng(0))
>>> v = v.subset(np.arange(v.n_vehicles) < 30)
>>> w = vehicle_windows(v)
>>> p, e = repair(w, np.zeros((2, v.n_vehicles, 24)))  # wish: no power at all
>>> bool(np.all(e[:, np.arange(30), w.n_steps - 1] == w.energy_departure_kwh))  # delivered exactly
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .ev import N_HOURS, FleetError, VehicleSet, slot_overlap

__all__ = ["VehicleWindows", "vehicle_windows", "repair", "plug_and_charge_kw"]


@dataclass(frozen=True)
class VehicleWindows:
    """Each vehicle's connection window, in window steps (module docstring). Arrays ``(n, 24)``
    over (vehicle, step) unless noted, read-only.

    Attributes
    ----------
    arrival_slot, n_steps:
        ``(n,)`` the clock slot of step 0 and the number of steps up to the departure slot.
    p_ch_max_kw, p_dis_max_kw:
        Power limits (grid side); zero outside the window.
    energy_arrival_kwh, energy_departure_kwh, efficiency:
        ``(n,)`` energy brought in, energy taken away (``E_req``), charger efficiency.
    funnel_min_kwh, funnel_max_kwh:
        The backward funnels ``L_k``, ``U_k`` (``E_req`` from the departure step on).
    present:
        Bool: the vehicle is connected at the end of the step (``k < n_steps - 1``).
    """

    arrival_slot: NDArray[np.int64]
    n_steps: NDArray[np.int64]
    p_ch_max_kw: NDArray[np.float64]
    p_dis_max_kw: NDArray[np.float64]
    energy_arrival_kwh: NDArray[np.float64]
    energy_departure_kwh: NDArray[np.float64]
    efficiency: NDArray[np.float64]
    funnel_min_kwh: NDArray[np.float64]
    funnel_max_kwh: NDArray[np.float64]
    present: NDArray[np.bool_]

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            a = np.array(getattr(self, name))
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    @property
    def n_vehicles(self) -> int:
        return int(self.arrival_slot.shape[0])

    def _clock_index(self) -> NDArray[np.int64]:
        """``(n, 24)``: the window step of each clock slot."""
        return (np.arange(N_HOURS)[None, :] - self.arrival_slot[:, None]) % N_HOURS

    def to_clock(self, values: ArrayLike) -> NDArray[np.float64]:
        """Window-step values ``(..., n, 24)`` rearranged to clock slots ``(..., n, 24)``."""
        a = np.asarray(values)
        idx = np.broadcast_to(self._clock_index(), a.shape)
        return np.take_along_axis(a, idx, axis=-1)

    def to_window(self, values: ArrayLike) -> NDArray[np.float64]:
        """Clock-slot values ``(..., n, 24)`` rearranged to window steps (inverse of :meth:`to_clock`)."""
        a = np.asarray(values)
        k = (self.arrival_slot[:, None] + np.arange(N_HOURS)[None, :]) % N_HOURS
        return np.take_along_axis(a, np.broadcast_to(k, a.shape), axis=-1)


def vehicle_windows(v: VehicleSet, discharge_mask: ArrayLike | None = None) -> VehicleWindows:
    """The windows and funnels of every vehicle of ``v`` (module docstring).

    Parameters
    ----------
    v:
        The vehicles.
    discharge_mask:
        ``(n_vehicles,)`` vehicles allowed to discharge (V2G); default all.

    Raises
    ------
    grid.ev.FleetError
        If a vehicle's departure energy cannot be reached inside its window (cannot happen for
        ``E_req``, which plug-and-charge reaches; kept as a guard against inconsistent input).
    """
    n = v.n_vehicles
    dis = np.ones(n, dtype=bool) if discharge_mask is None else np.asarray(discharge_mask, dtype=bool)
    if dis.shape != (n,):
        raise FleetError(f"discharge_mask: expected shape ({n},), got {dis.shape}")
    start = np.ceil(v.arrival_h)
    arrival_slot = ((start - 1) % N_HOURS).astype(np.int64)
    n_steps = (np.ceil(v.arrival_h + v.dwell_h) - start + 1).astype(np.int64)  # <= 24 (dwell <= 23)
    k = (arrival_slot[:, None] + np.arange(N_HOURS)[None, :]) % N_HOURS
    x = np.take_along_axis(slot_overlap(v.arrival_h, v.dwell_h), k, axis=1)  # 002 eq. (4) per step
    inside = np.arange(N_HOURS)[None, :] < n_steps[:, None]
    x = np.where(inside, x, 0.0)
    ch = x * v.charger_kw[:, None]
    dch = ch * dis[:, None]
    e_arr, e_req, eta = v.energy_arrival_kwh, v.energy_required_kwh, v.efficiency
    present = np.arange(N_HOURS)[None, :] < (n_steps - 1)[:, None]
    lo = np.where(present, np.minimum(v.soc_min * v.battery_kwh, e_arr)[:, None], e_req[:, None])
    hi = np.where(present, (v.soc_max * v.battery_kwh)[:, None], e_req[:, None])  # 001 eq. (15)
    L, U = lo.copy(), hi.copy()  # step 23 is at or after the departure: L = U = E_req (eq. (16))
    for s in range(N_HOURS - 2, -1, -1):  # backward funnels, vectorised over vehicles
        L[:, s] = np.maximum(lo[:, s], L[:, s + 1] - eta * ch[:, s + 1])
        U[:, s] = np.minimum(hi[:, s], U[:, s + 1] + dch[:, s + 1] / eta)
    tol = 1e-9 * np.maximum(1.0, v.battery_kwh)
    bad = np.any(L > U + tol[:, None], axis=1) | (e_arr + eta * ch[:, 0] < L[:, 0] - tol) | (
        e_arr - dch[:, 0] / eta > U[:, 0] + tol)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise FleetError(f"vehicle_windows: {int(bad.sum())} vehicles cannot reach their departure "
                         f"energy inside their window (first: vehicle {i}, station {int(v.station[i])})")
    return VehicleWindows(
        arrival_slot=arrival_slot, n_steps=n_steps, p_ch_max_kw=ch, p_dis_max_kw=dch,
        energy_arrival_kwh=e_arr, energy_departure_kwh=e_req, efficiency=eta,
        funnel_min_kwh=L, funnel_max_kwh=U, present=present,
    )


def repair(w: VehicleWindows, want_kw: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Feasible per-vehicle power and energy closest to the wished power, step by step.

    Parameters
    ----------
    w:
        The fleet's windows.
    want_kw:
        ``(n_candidates, n_vehicles, 24)`` wished grid-side power in window steps (positive charges).

    Returns
    -------
    p_kw, e_kwh : ``(n_candidates, n_vehicles, 24)`` in window steps; ``e_kwh`` is the battery energy
        at the end of the step (``E_req`` from the departure step on, exactly).
    """
    want = np.asarray(want_kw, dtype=np.float64)
    if want.ndim != 3 or want.shape[1:] != (w.n_vehicles, N_HOURS):
        raise FleetError(f"repair: want_kw must be (n, {w.n_vehicles}, {N_HOURS}), got {want.shape}")
    eta = w.efficiency[None, :]
    P, E_out = np.empty_like(want), np.empty_like(want)
    E = np.broadcast_to(w.energy_arrival_kwh, want.shape[:2]).copy()
    for s in range(N_HOURS):  # vectorised over (candidates, vehicles)
        ch, dch = w.p_ch_max_kw[None, :, s], w.p_dis_max_kw[None, :, s]
        wish = np.clip(want[..., s], -dch, ch)  # the step's power limits
        e = E + np.where(wish >= 0, eta * wish, wish / eta)
        # into the funnel: reachable at this step's power from E, since E is in the last one
        e = np.minimum(np.maximum(e, w.funnel_min_kwh[None, :, s]), w.funnel_max_kwh[None, :, s])
        d = e - E
        P[..., s] = np.where(d >= 0, d / eta, d * eta)
        E = E_out[..., s] = e
    return P, E_out


def plug_and_charge_kw(v: VehicleSet) -> NDArray[np.float64]:
    """Each vehicle's plug-and-charge power ``(n_vehicles, 24)`` in clock slots (003 eq. (3)); summed
    per station it is :func:`grid.ev.uncoordinated_load_kw`."""
    return slot_overlap(v.arrival_h, v.charge_h) * v.charger_kw[:, None]
