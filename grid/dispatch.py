"""V2G dispatch of charging stations for a whole batch of candidates and scenarios (003 section 3,
eqs. (28)-(30); station storage model of 002 eqs. (1), (4)-(6)).

Interface (shared by both dispatchers)
-------------------------------------
Build once per planning problem, from the fleet sampled once with a fixed seed::

    vehicles = ev.sample_fleet(ev.fleet_003(), np.random.default_rng(seed))
    model = dispatch.dispatch_model(vehicles)          # StationFleet, (n_stations, 24) arrays

then, for every population::

    res = dispatch.dispatch_heuristic(model, capacity_kw, price_charge, value_discharge)
    res = dispatch.dispatch_lp(model, capacity_kw, price_charge, value_discharge)   # reference

``capacity_kw``
    ``(n_candidates, n_stations)`` station capacity in kW chosen by the upper level: the rating of
    the station's converters, which bounds its total charging (plug-and-charge included) plus its
    total discharging in every hour (reading of issue 10: a station must not charge one cluster
    while it discharges another beyond what its converters allow; it bounds the net as well). The
    fleet is not resampled (see :meth:`grid.ev.StationLimits.capped`).
``price_charge``, ``value_discharge``
    CNY/kWh, broadcastable to ``(n_candidates, n_scenarios, n_stations, 24)``; the number of
    scenarios is taken from them (a ``(24,)`` tariff means one scenario). For 003 use
    :func:`grid.tariffs.v2g_prices` (charging price ``c_e(t)``; discharge compensation minus
    battery wear ``c_f(t) - c_b``).

Both return a :class:`DispatchResult` with arrays ``(n_candidates, n_scenarios, n_stations, 24)``:
``p_ch_kw`` (all charging at the station, plug-and-charge included), ``p_dis_kw`` (V2G discharge),
``p_uncoordinated_kw`` (the plug-and-charge part), ``energy_kwh`` (stored energy of the V2G group at
the end of each hour), and per ``(n_candidates, n_scenarios, n_stations)``: ``unserved_kwh`` (energy
short of the feasible departure energy, battery side; 003 eq. (29) violation), ``cost_cny`` (the V2G
group's objective, below). ``energy_desired_kwh``/``energy_required_kwh`` (``(n_stations,)``) and
the properties ``energy_delivered_kwh`` and ``completion`` give 003's charging completion ``c_wcd``
(eq. (14)); the unit charging cost ``c_cb`` follows from ``p_ch_kw``, ``p_dis_kw`` and the tariff.
The station's net demand for the power flow is ``p_ch_kw - p_dis_kw``.

The model
---------
Vehicles unwilling or unable to do V2G (003 section 3 steps 1-2, and 003's buses, taxis and
business cars) charge plug-and-charge (003 eq. (3)); where a station's capacity is below that load
they wait, served first come first served within the station's kW and their stay, and what they
lack at departure is unserved (:func:`plug_and_charge`). The V2G group sees the capacity left, one
rating per hour for its charging and discharging together. Both dispatchers minimise, per
candidate, scenario and station, the V2G group's

    cost = sum_t price_charge(t) p_ch(t) - value_discharge(t) p_dis(t) + penalty * unserved

* :func:`dispatch_heuristic` -- 003's cluster strategy (section 3, fig. 2): vehicles clustered by
  (arrival hour, ``ceil(T_f)``, departure hour) (:func:`grid.ev.v2g_clusters`); each cluster first
  charges its full requirement (valley filling: cheapest hours first), then may discharge once, in
  one contiguous block of at most ``max_discharge_hours`` hours, down to no lower than ``SOC_min``
  (eq. (28)), and recharges (valley filling) to its departure energy (eq. (29)); the sequence fits
  in the connection time (eq. (30)). The plan with the lowest cost over every block start and
  length is kept. Plans depend only on prices, so they are made once per distinct price row; each
  candidate then applies them station by station, least-flexible clusters first, against the
  capacity left; a cluster whose plan does not fit is planned again by the same search on the
  capacity left (so it may still discharge, if its uncapped plan did). Applied one at a time, a
  cluster may take an hour that a later one cannot do without (issue 16: near a station's
  capacity this stranded up to 2.5x the energy that must go unserved), so what is left short is
  then served where possible by moving other, non-discharging clusters' charge within their stays
  (augmenting paths, :func:`_repair`); what still cannot be charged is unserved -- the least
  possible with the discharging clusters' plans given. A numba kernel does the batch.
* :func:`dispatch_lp` -- the aggregated storage model (002 eq. (1) with the bounds of eq. (5),
  cyclic over the typical day, a shortfall variable per departure hour) as a linear program solved
  by HiGHS, one per candidate, scenario and station. It relaxes the cluster rules (one discharge,
  discharge after the first charge, per-cluster energy), so its cost is a lower bound on the
  heuristic's; the heuristic's schedule is a feasible point of the LP. The aggregate pools the
  energy of all connected vehicles, so where capacity binds it serves energy that no charger
  schedule can (a vehicle charged early counts for one that leaves earlier): there its bound is
  loose (on 003's fleet at 250 kW per station its cost is ~9 % below the cluster LP's).
  ``per_cluster=True`` keeps each cluster's energy apart: a tighter lower bound on the heuristic.

Gap of the heuristic to the LPs on 003's fleet and prices (``python -m benchmarks.dispatch_gap``:
fleet seeds 101-808, 100-500 kW per station in 25 kW steps): at most 2.1 % above the cluster LP,
with the same unserved energy in every case; 1-12 % above the aggregate LP where capacity binds
(125-250 kW), at most 3.3 % elsewhere (measured with the shared converter rating and the
plug-and-charge queue of issue 10; before them: 2.1 %, and 1.5-11.1 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from scipy.optimize import linprog

from .ev import (
    N_HOURS,
    ClusterSet,
    StationLimits,
    VehicleSet,
    slot_overlap,
    station_limits,
    uncoordinated_load_kw,
    v2g_clusters,
)

__all__ = [
    "DispatchError",
    "StationFleet",
    "DispatchResult",
    "dispatch_model",
    "plug_and_charge",
    "PlugQueue",
    "dispatch_heuristic",
    "dispatch_lp",
    "PENALTY_CNY_KWH",
]

#: Default cost of a kWh short at departure (above any price spread, so energy is served first).
PENALTY_CNY_KWH = 10.0


class DispatchError(ValueError):
    """Bad dispatch input: shapes that do not broadcast, negative capacity, non-finite prices."""


@dataclass(frozen=True)
class PlugQueue:
    """The plug-and-charge vehicles, one row each, ordered by station and arrival (first come,
    first served; built by :func:`dispatch_model`, used by :func:`plug_and_charge`).

    Attributes
    ----------
    station, efficiency:
        ``(n,)``.
    need_kwh:
        ``(n,)`` grid-side energy to charge, ``P_e T_cd`` (003 eq. (3)).
    slot_kwh:
        ``(n, 24)`` the most the charger can draw in each clock hour of the day the vehicle arrives
        (``P_e`` times the part of the hour it is connected).
    wrap_kwh:
        ``(n, 24)`` the same after midnight, for a stay that runs into the next day (zero otherwise).
    st_ptr:
        ``(n_stations + 1,)``: station ``j``'s vehicles are rows ``st_ptr[j]:st_ptr[j + 1]``.
    """

    station: NDArray[np.int64]
    efficiency: NDArray[np.float64]
    need_kwh: NDArray[np.float64]
    slot_kwh: NDArray[np.float64]
    wrap_kwh: NDArray[np.float64]
    st_ptr: NDArray[np.int64]


def _plug_queue(pc: VehicleSet) -> PlugQueue:
    order = np.lexsort((pc.arrival_h, pc.station))  # first come, first served at each station
    v = pc
    arr, dwell, kw = v.arrival_h[order], v.dwell_h[order], v.charger_kw[order]
    # connection per clock hour, split at midnight: [arr, 24) today, [24, arr + dwell) tomorrow
    s = arr[:, None]
    e = (arr + dwell)[:, None]
    h = np.arange(2 * N_HOURS, dtype=np.float64)[None, :]
    ov = np.clip(np.minimum(e, h + 1.0) - np.maximum(s, h), 0.0, 1.0)
    st = v.station[order]
    return PlugQueue(
        station=np.ascontiguousarray(st, dtype=np.int64),
        efficiency=np.ascontiguousarray(v.efficiency[order]),
        need_kwh=np.ascontiguousarray(kw * v.charge_h[order]),
        slot_kwh=np.ascontiguousarray(ov[:, :N_HOURS] * kw[:, None]),
        wrap_kwh=np.ascontiguousarray(ov[:, N_HOURS:] * kw[:, None]),
        st_ptr=np.searchsorted(st, np.arange(pc.n_stations + 1)).astype(np.int64),
    )


@dataclass(frozen=True)
class StationFleet:
    """What the dispatchers need from a sampled fleet (built by :func:`dispatch_model`).

    Attributes
    ----------
    uncoordinated_kw:
        ``(n_stations, 24)`` plug-and-charge load of the vehicles outside the V2G group (003 eq. (3)),
        where station capacity does not bind.
    uncoordinated_stored_kwh:
        ``(n_stations, 24)`` battery energy that load stores (``eta * load``).
    limits:
        Generalized storage of the V2G group (002 eqs. (4)-(6)).
    departure_need_kwh:
        ``(n_stations, 24)`` charge the V2G group's vehicles leaving in each hour need
        (``E_req - E_arr``), the bound of the LP's shortfall.
    clusters:
        The V2G group's clusters (003 section 3).
    energy_required_kwh, energy_desired_kwh:
        ``(n_stations,)`` feasible (``T_cd``-limited) and desired (``SOC_e``) charge of all vehicles.
    plug_queue:
        The plug-and-charge vehicles one by one, for the capacity-bound queue
        (:func:`plug_and_charge`).
    """

    uncoordinated_kw: NDArray[np.float64]
    uncoordinated_stored_kwh: NDArray[np.float64]
    limits: StationLimits
    departure_need_kwh: NDArray[np.float64]
    clusters: ClusterSet
    energy_required_kwh: NDArray[np.float64]
    energy_desired_kwh: NDArray[np.float64]
    plug_queue: PlugQueue

    @property
    def n_stations(self) -> int:
        return int(self.uncoordinated_kw.shape[0])


def dispatch_model(vehicles: VehicleSet, v2g: ArrayLike | None = None) -> StationFleet:
    """Split a fleet into plug-and-charge and V2G groups and aggregate both.

    Parameters
    ----------
    vehicles:
        The sampled fleet.
    v2g:
        ``(n_vehicles,)`` mask of the V2G group; default ``vehicles.v2g_able``. Pass all-false for
        003's plug-and-charge scheme 2.
    """
    mask = vehicles.v2g_able if v2g is None else np.asarray(v2g, dtype=bool)
    if mask.shape != (vehicles.n_vehicles,):
        raise DispatchError(f"v2g mask: expected shape ({vehicles.n_vehicles},), got {mask.shape}")
    pc = vehicles.subset(~mask)
    grp = vehicles.subset(mask)
    u = uncoordinated_load_kw(pc)
    u_stored = np.zeros_like(u)  # battery side: eta * load, per vehicle
    np.add.at(
        u_stored,
        pc.station,
        slot_overlap(pc.arrival_h, pc.charge_h) * (pc.charger_kw * pc.efficiency)[:, None],
    )
    need = np.zeros((vehicles.n_stations, N_HOURS))
    dep_slot = (np.ceil(grp.arrival_h + grp.dwell_h).astype(np.int64) - 1) % N_HOURS
    np.add.at(need, (grp.station, dep_slot), grp.energy_required_kwh - grp.energy_arrival_kwh)
    n_st = vehicles.n_stations
    req = np.bincount(vehicles.station, vehicles.energy_required_kwh - vehicles.energy_arrival_kwh, n_st)
    des = np.bincount(vehicles.station, vehicles.energy_desired_kwh - vehicles.energy_arrival_kwh, n_st)
    return StationFleet(
        uncoordinated_kw=u,
        uncoordinated_stored_kwh=u_stored,
        limits=station_limits(grp),
        departure_need_kwh=need,
        clusters=v2g_clusters(grp),
        energy_required_kwh=req,
        energy_desired_kwh=des,
        plug_queue=_plug_queue(pc),
    )


@dataclass(frozen=True)
class DispatchResult:
    """Station schedules for a batch; see the module docstring for shapes and meanings."""

    p_ch_kw: NDArray[np.float64]
    p_dis_kw: NDArray[np.float64]
    p_uncoordinated_kw: NDArray[np.float64]
    energy_kwh: NDArray[np.float64]
    unserved_kwh: NDArray[np.float64]
    cost_cny: NDArray[np.float64]
    energy_required_kwh: NDArray[np.float64]
    energy_desired_kwh: NDArray[np.float64]
    method: str

    @property
    def energy_delivered_kwh(self) -> NDArray[np.float64]:
        """``(n_candidates, n_scenarios, n_stations)`` charge delivered to all vehicles (battery side)."""
        return self.energy_required_kwh - self.unserved_kwh

    @property
    def completion(self) -> NDArray[np.float64]:
        """003's charging completion ``c_wcd``: delivered over desired charge, per station."""
        return self.energy_delivered_kwh / np.maximum(self.energy_desired_kwh, 1e-12)

    @property
    def p_net_kw(self) -> NDArray[np.float64]:
        """Station net demand for the power flow, ``p_ch - p_dis``."""
        return self.p_ch_kw - self.p_dis_kw


# --------------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------------


def _inputs(
    model: StationFleet, capacity_kw: ArrayLike, price_charge: ArrayLike, value_discharge: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], int, int]:
    n_st = model.n_stations
    cap = np.asarray(capacity_kw, dtype=np.float64)
    if cap.ndim != 2 or cap.shape[1] != n_st:
        raise DispatchError(f"capacity_kw: expected (n_candidates, {n_st}), got {cap.shape}")
    if not np.all(np.isfinite(cap)) or np.any(cap < 0):
        raise DispatchError("capacity_kw: capacities must be finite and non-negative")
    n_c = cap.shape[0]
    prices = []
    for name, arr in (("price_charge", price_charge), ("value_discharge", value_discharge)):
        a = np.asarray(arr, dtype=np.float64)
        if a.ndim > 4 or a.ndim == 0 or a.shape[-1] != N_HOURS:
            raise DispatchError(f"{name}: expected a last axis of 24 hours and at most 4 axes, got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise DispatchError(f"{name}: non-finite price")
        prices.append(a.reshape((1,) * (4 - a.ndim) + a.shape))
    n_s = max(prices[0].shape[1], prices[1].shape[1])
    full = (n_c, n_s, n_st, N_HOURS)
    try:
        shape = np.broadcast_shapes(prices[0].shape, prices[1].shape, full)
    except ValueError:
        raise DispatchError(
            f"prices of shapes {prices[0].shape} and {prices[1].shape} do not broadcast to {full}"
        ) from None
    if shape != full:
        raise DispatchError(f"prices broadcast to {shape}, expected {full}")
    return cap, prices[0], prices[1], n_c, n_s


def _price_rows(
    pc: NDArray[np.float64], pd: NDArray[np.float64], n_c: int, n_s: int, n_st: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Distinct price rows ``(P, n_st, 24)`` and the row of each ``(candidate, scenario)``.

    Cluster plans are made once per distinct row, so prices shared by all candidates (the usual
    case: a tariff per scenario) cost one plan per scenario."""
    vary_c = pc.shape[0] > 1 or pd.shape[0] > 1
    rc = n_c if vary_c else 1
    shp = (rc, n_s, n_st, N_HOURS)
    c = np.ascontiguousarray(np.broadcast_to(pc if vary_c else pc[:1], shp)).reshape(rc * n_s, n_st, N_HOURS)
    d = np.ascontiguousarray(np.broadcast_to(pd if vary_c else pd[:1], shp)).reshape(rc * n_s, n_st, N_HOURS)
    row = np.broadcast_to(np.arange(rc * n_s).reshape(rc, n_s), (n_c, n_s))
    if vary_c:  # keep only distinct rows
        both = np.concatenate([c.reshape(rc * n_s, -1), d.reshape(rc * n_s, -1)], axis=1)
        _, first, inv = np.unique(both, axis=0, return_index=True, return_inverse=True)
        c, d = np.ascontiguousarray(c[first]), np.ascontiguousarray(d[first])
        row = inv.reshape(rc, n_s)
    return c, d, np.ascontiguousarray(row, dtype=np.int64)


#: Most typical days the plug-and-charge queue is run to reach its periodic state (see
#: :func:`plug_and_charge`); 003's fleet needs at most a few.
QUEUE_MAX_DAYS = 60


@njit(cache=True)
def _queue_day(c, lo, hi, wrap_ptr, wrap_idx, day_ptr, day_idx, slot_kwh, wrap_kwh, need, r_w, r_t, load):
    """One typical day of station rows ``lo:hi`` at ``c`` kW: ``r_w`` (need left of yesterday's
    vehicles still connected) and ``r_t`` (today's, from ``need``) are updated, ``load`` (24,)
    written. ``*_ptr[t]:*_ptr[t + 1]`` index the vehicles connected in hour ``t``, in arrival order."""
    for i in range(lo, hi):
        r_t[i] = need[i]
    for t in range(24):
        left = c
        x_t = 0.0
        # yesterday's arrivals came first, then today's, each in arrival order
        for q in range(wrap_ptr[t], wrap_ptr[t + 1]):
            if left <= 0.0:
                break
            i = wrap_idx[q]
            x = min(wrap_kwh[i, t], r_w[i], left)
            r_w[i] -= x
            left -= x
            x_t += x
        for q in range(day_ptr[t], day_ptr[t + 1]):
            if left <= 0.0:
                break
            i = day_idx[q]
            x = min(slot_kwh[i, t], r_t[i], left)
            r_t[i] -= x
            left -= x
            x_t += x
        load[t] = x_t


@njit(cache=True)
def _queue_kernel(cap, eff, need, slot_kwh, wrap_kwh, st_ptr, max_days):
    """First come, first served per station and hour; see :func:`plug_and_charge`.

    Returns the load (n_c, n_st, 24) grid kW, unserved (n_c, n_st) battery kWh, and the number of
    days each candidate's station took to repeat itself (n_c, n_st; 0: capacity never binds)."""
    n_c, n_st = cap.shape
    n = need.shape[0]
    load = np.zeros((n_c, n_st, 24))
    unserved = np.zeros((n_c, n_st))
    days = np.zeros((n_c, n_st), dtype=np.int64)
    wraps = np.zeros(n, dtype=np.bool_)
    r0 = np.zeros(n)  # left at midnight with no capacity limit (a lower bound of the periodic state)
    for i in range(n):
        today = 0.0
        for t in range(24):
            today += slot_kwh[i, t]
            if wrap_kwh[i, t] > 0.0:
                wraps[i] = True
        r0[i] = max(need[i] - today, 0.0) if wraps[i] else 0.0
    # vehicles connected per station and hour, in arrival order (rows are sorted so)
    wrap_ptr = np.zeros((n_st, 25), dtype=np.int64)
    day_ptr = np.zeros((n_st, 25), dtype=np.int64)
    wrap_idx = np.zeros(24 * n + 1, dtype=np.int64)
    day_idx = np.zeros(24 * n + 1, dtype=np.int64)
    nw = 0
    nd = 0
    for j in range(n_st):
        for t in range(24):
            wrap_ptr[j, t] = nw
            day_ptr[j, t] = nd
            for i in range(st_ptr[j], st_ptr[j + 1]):
                if wrap_kwh[i, t] > 0.0:
                    wrap_idx[nw] = i
                    nw += 1
                if slot_kwh[i, t] > 0.0:
                    day_idx[nd] = i
                    nd += 1
        wrap_ptr[j, 24] = nw
        day_ptr[j, 24] = nd
    r_w = np.zeros(n)
    r_t = np.zeros(n)
    # with no capacity limit (the same loop, so a station that never binds gets the same numbers)
    free = np.zeros((n_st, 24))
    peak = np.zeros(n_st)
    for j in range(n_st):
        lo = st_ptr[j]
        hi = st_ptr[j + 1]
        for i in range(lo, hi):
            r_w[i] = r0[i]
        _queue_day(
            np.inf,
            lo,
            hi,
            wrap_ptr[j],
            wrap_idx,
            day_ptr[j],
            day_idx,
            slot_kwh,
            wrap_kwh,
            need,
            r_w,
            r_t,
            free[j],
        )
        for t in range(24):
            peak[j] = max(peak[j], free[j, t])
    for ci in range(n_c):
        for j in range(n_st):
            c = cap[ci, j]
            if c >= peak[j]:  # never binds: 003 eq. (3) as it stands, all served
                for t in range(24):
                    load[ci, j, t] = free[j, t]
                continue
            lo = st_ptr[j]
            hi = st_ptr[j + 1]
            r_in = r0.copy()
            for d in range(max_days):
                for i in range(lo, hi):
                    r_w[i] = r_in[i]
                _queue_day(
                    c,
                    lo,
                    hi,
                    wrap_ptr[j],
                    wrap_idx,
                    day_ptr[j],
                    day_idx,
                    slot_kwh,
                    wrap_kwh,
                    need,
                    r_w,
                    r_t,
                    load[ci, j],
                )
                days[ci, j] = d + 1
                change = 0.0
                for i in range(lo, hi):
                    if wraps[i]:
                        change = max(change, abs(r_t[i] - r_in[i]))
                        r_in[i] = r_t[i]
                if change <= 1e-9:
                    break
            u = 0.0
            for i in range(lo, hi):  # what is left when each vehicle leaves, battery side
                u += eff[i] * (r_w[i] if wraps[i] else r_t[i])
            unserved[ci, j] = u
    return load, unserved, days


def plug_and_charge(
    model: StationFleet, capacity_kw: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Plug-and-charge load a station serves, first come first served (issue 10 item 4).

    Every vehicle outside the V2G group wants to charge at its charger power from arrival for
    ``T_cd`` hours (003 eq. (3)). In each hour a station serves its connected vehicles in arrival
    order, each up to its charger power (times the part of the hour it is connected) and its need
    left, until the station's kW are used up; a vehicle waits, connected, for capacity to come free,
    and what it has not received by departure is unserved. Vehicles whose stay runs past midnight
    (yesterday's arrivals) come before today's. The day is periodic, so the energy such vehicles
    still need at midnight is a fixed point: the day is repeated, from the need left with no
    capacity limit, until it changes by less than 1e-9 kWh (at most :data:`QUEUE_MAX_DAYS` days).
    With capacity to spare this is 003 eq. (3) exactly (:func:`grid.ev.uncoordinated_load_kw`).
    Hourly resolution: vehicles arriving within one hour share it in arrival order, whatever the
    minutes.

    Parameters
    ----------
    model:
        From :func:`dispatch_model`.
    capacity_kw:
        ``(n_candidates, n_stations)``.

    Returns
    -------
    load_kw:
        ``(n_candidates, n_stations, 24)`` grid side.
    unserved_kwh:
        ``(n_candidates, n_stations)`` battery side, per typical day.
    """
    cap = np.asarray(capacity_kw, dtype=np.float64)
    if cap.ndim != 2 or cap.shape[1] != model.n_stations:
        raise DispatchError(f"capacity_kw: expected (n_candidates, {model.n_stations}), got {cap.shape}")
    q = model.plug_queue
    load, unserved, _ = _queue_kernel(
        np.ascontiguousarray(cap),
        q.efficiency,
        q.need_kwh,
        q.slot_kwh,
        q.wrap_kwh,
        q.st_ptr,
        QUEUE_MAX_DAYS,
    )
    return load, unserved


def _uncoordinated(model: StationFleet, cap: NDArray[np.float64]):
    return plug_and_charge(model, cap)


# --------------------------------------------------------------------------------------------------
# heuristic
# --------------------------------------------------------------------------------------------------


@njit(cache=True)
def _fill(order, lo, hi, skip_lo, skip_hi, energy, a, out, price, pre_end, pre_cap):
    """Valley filling: put ``energy`` (grid kWh) into window positions ``lo <= i < hi`` outside
    ``[skip_lo, skip_hi)``, cheapest first (``order``), up to ``a[i] - out[i]``; positions
    ``i < pre_end`` take at most ``pre_cap`` in total. Adds to ``out``; returns (leftover, cost)."""
    cost = 0.0
    rem = energy
    for q in range(order.shape[0]):
        if rem <= 1e-12:
            break
        i = order[q]
        if i < lo or i >= hi or (skip_lo <= i < skip_hi):
            continue
        x = min(a[i] - out[i], rem)
        if i < pre_end:
            x = min(x, pre_cap)
        if x > 0.0:
            out[i] += x
            rem -= x
            cost += x * price[i]
            if i < pre_end:
                pre_cap -= x
    return rem, cost


@njit(cache=True)
def _plan_one(
    a, a_dis, c, v, L, e_arr, e_req, e_min, e_max, ek, max_block, charge_first, best_ch, best_dis, trial, dis
):
    """Best plan of one cluster over its window positions ``0..L-1`` (grid kW per position).

    Plan = charge in [0, s), one discharge block [s, s+m), charge in [s+m, L) (003 fig. 2); the
    best (s, m) by cost, or no discharge. With ``charge_first`` (003) the first charge delivers the
    whole requirement before the block; otherwise only what the block needs above SOC_min.
    ``a``/``a_dis`` are the charge/discharge power available per position. Writes ``best_ch``,
    ``best_dis``; returns the energy (grid kWh) that could not be charged.
    """
    order = np.argsort(c[:L], kind="mergesort")
    g1 = max(e_req - e_arr, 0.0) / ek
    best_ch[:] = 0.0
    best_dis[:] = 0.0
    # option without discharge: valley filling over the whole stay
    short, best = _fill(order, 0, L, 0, 0, g1, a, best_ch, c, 0, 0.0)
    d_batt = max(e_req - e_min, 0.0)  # 003 eq. (28): never below SOC_min
    if d_batt <= 1e-9 or short > 1e-9 or max_block <= 0:
        return short
    # Global bound: a block earns at most v_max per discharged grid kWh, i.e. v_max * ek per
    # battery kWh removed, and every removed kWh costs at least c_min / ek to put back (on top of
    # the no-discharge plan's cost). If that can never pay, no block can: skip the search.
    v_max = -np.inf
    c_min = np.inf
    for i in range(L):
        c_min = min(c_min, c[i])
        if a_dis[i] > 0.0:
            v_max = max(v_max, v[i])
    if v_max * ek * ek <= c_min + 1e-12:
        return 0.0
    # prefix / suffix sums of the charge power and suffix minima of the charging price
    pre = np.zeros(L + 1)
    suf = np.zeros(L + 1)
    cmin = np.full(L + 1, np.inf)
    for i in range(L):
        pre[i + 1] = pre[i] + a[i]
    for i in range(L - 1, -1, -1):
        suf[i] = suf[i + 1] + a[i]
        cmin[i] = min(cmin[i + 1], c[i])
    s0 = 1 if charge_first else 0
    for s in range(s0, L - 1):
        cap_before = pre[s]
        if charge_first and cap_before < g1 - 1e-9:
            continue  # the first charge does not fit before the block
        for m in range(1, min(max_block, L - 1 - s) + 1):
            cap_after = suf[s + m]
            d_max = min(d_batt, ek * ek * cap_after)  # recharged before departure, eq. (29)
            if not charge_first:
                d_max = min(d_max, e_arr + ek * cap_before - e_min)
            if d_max <= 1e-9:
                break
            dis[:] = 0.0
            rev = 0.0
            removed = 0.0
            for i in range(s, s + m):  # one contiguous discharge block
                x = min(a_dis[i], (d_max - removed) * ek)
                dis[i] = x
                rev += x * v[i]
                removed += x / ek
            if removed <= 1e-9:
                continue
            # With charge_first the first charge costs at least the no-discharge plan (the same
            # energy in fewer hours) and the recharge at least removed / ek * min price after the
            # block: a block that cannot beat that is skipped without the fills (same result).
            if charge_first and rev <= removed / ek * cmin[s + m] + 1e-12:
                continue
            trial[:] = 0.0
            if charge_first:  # 003: the whole first charge before the discharge
                left, cost_c = _fill(order, 0, s, 0, 0, g1, a, trial, c, 0, 0.0)
                if left > 1e-9:
                    continue
                left, cost_r = _fill(order, s + m, L, 0, 0, removed / ek, a, trial, c, 0, 0.0)
            else:
                a_min = max(0.0, (e_min + removed - e_arr) / ek)
                left, cost_c = _fill(order, 0, s, 0, 0, a_min, a, trial, c, 0, 0.0)
                if left > 1e-9:
                    continue
                room = max(0.0, (e_max - e_arr) / ek - a_min)  # SOC_max before the block
                rest = g1 + removed / ek - a_min
                left, cost_r = _fill(order, 0, L, s, s + m, rest, a, trial, c, s, room)
            if left > 1e-9:
                continue
            tot = cost_c + cost_r - rev
            if tot < best - 1e-9:
                best = tot
                best_ch[:] = trial
                best_dis[:] = dis
    return 0.0


@njit(cache=True)
def _plan_kernel(
    avail, arr_slot, win, e_arr, e_req, e_min, e_max, eta, station, c_ch, c_dis, max_block, charge_first
):
    """Uncapped cluster plans for every price row: (P, K, 24) charge and discharge, grid kW."""
    n_p = c_ch.shape[0]
    n_k = avail.shape[0]
    plan_ch = np.zeros((n_p, n_k, 24))
    plan_dis = np.zeros((n_p, n_k, 24))
    a = np.zeros(24)
    c = np.zeros(24)
    v = np.zeros(24)
    w = np.zeros((4, 24))
    for p in range(n_p):
        for k in range(n_k):
            L = win[k]
            j = station[k]
            for i in range(L):
                t = (arr_slot[k] + i) % 24
                a[i] = avail[k, t]
                c[i] = c_ch[p, j, t]
                v[i] = c_dis[p, j, t]
            _plan_one(
                a,
                a,
                c,
                v,
                L,
                e_arr[k],
                e_req[k],
                e_min[k],
                e_max[k],
                eta[k],
                max_block,
                charge_first,
                w[0],
                w[1],
                w[2],
                w[3],
            )
            for i in range(L):
                t = (arr_slot[k] + i) % 24
                plan_ch[p, k, t] = w[0, i]
                plan_dis[p, k, t] = w[1, i]
    return plan_ch, plan_dis


@njit(cache=True)
def _repair(members, wc, wd, short, rch, avail, arr, win, price):
    """Serve what the cluster-by-cluster pass left short at one station, by augmenting paths.

    The pass applies clusters one at a time, each taking its cheapest hours; a cluster applied
    early may take an hour that a later one cannot do without, though it could have charged in
    another hour of its own stay. Here a short cluster takes an hour of its stay where another
    cluster charges, that one moves its charge to another hour of its stay, and so on, until an
    hour with capacity left is reached (an augmenting path over hours; Ford-Fulkerson from the
    pass's flow). Only clusters that do not discharge move (their charge may sit anywhere in
    their stay). All clusters of a station see the same price per hour, so a path costs the price
    of the hour it ends in: each step ends in the cheapest reachable hour with capacity left.
    With no path left the unserved energy is the least possible, the discharging clusters' plans
    given. ``wc``/``wd`` are (K, 24) per window position, ``rch``/``price`` (24,) clock hours;
    updates ``wc``, ``short`` (grid kWh) and ``rch``."""
    eps = 1e-9
    n_m = members.shape[0]
    movable = np.ones(n_m, dtype=np.bool_)
    for q in range(n_m):
        k = members[q]
        for i in range(win[k]):
            if wd[k, i] > 0.0:
                movable[q] = False
                break
    visited = np.zeros(24, dtype=np.bool_)
    par_hour = np.zeros(24, dtype=np.int64)
    par_k = np.zeros(24, dtype=np.int64)
    queue = np.zeros(24, dtype=np.int64)
    while True:
        visited[:] = False
        head = 0
        tail = 0
        for q in range(n_m):  # sources: short clusters, into hours of their stay with charger room
            k = members[q]
            if short[k] <= eps:
                continue
            for i in range(win[k]):
                t = (arr[k] + i) % 24
                if not visited[t] and avail[k, i] - wc[k, i] > eps:
                    visited[t] = True
                    par_hour[t] = -1
                    par_k[t] = k
                    queue[tail] = t
                    tail += 1
        if tail == 0:
            return
        while head < tail:  # breadth-first over hours: a cluster charging at t may move to t2
            t = queue[head]
            head += 1
            for q in range(n_m):
                if not movable[q]:
                    continue
                k = members[q]
                i = (t - arr[k]) % 24
                if i >= win[k] or wc[k, i] <= eps:
                    continue
                for i2 in range(win[k]):
                    t2 = (arr[k] + i2) % 24
                    if not visited[t2] and avail[k, i2] - wc[k, i2] > eps:
                        visited[t2] = True
                        par_hour[t2] = t
                        par_k[t2] = k
                        queue[tail] = t2
                        tail += 1
        best = -1
        for t in range(24):
            if visited[t] and rch[t] > eps and (best < 0 or price[t] < price[best]):
                best = t
        if best < 0:
            return
        amt = rch[best]  # bottleneck along the path
        t = best
        while True:
            k = par_k[t]
            amt = min(amt, avail[k, (t - arr[k]) % 24] - wc[k, (t - arr[k]) % 24])
            prev = par_hour[t]
            if prev < 0:
                amt = min(amt, short[k])
                break
            amt = min(amt, wc[k, (prev - arr[k]) % 24])
            t = prev
        rch[best] -= amt
        t = best
        while True:
            k = par_k[t]
            wc[k, (t - arr[k]) % 24] += amt
            prev = par_hour[t]
            if prev < 0:
                short[k] -= amt
                break
            wc[k, (prev - arr[k]) % 24] -= amt
            t = prev


@njit(cache=True)
def _apply_kernel(
    plan_ch,
    plan_dis,
    row,
    rc,
    proc_order,
    st_ptr,
    avail,
    slots,
    win,
    e_arr,
    e_req,
    e_min,
    e_max,
    eta,
    station,
    c_pos,
    d_pos,
    c_rows,
    n_st,
    max_block,
    charge_first,
):
    """Apply plans per candidate and scenario against the capacity left; a cluster whose plan does
    not fit is planned again (:func:`_plan_one`) on the capacity left, so it may still discharge;
    what is then left short is served where possible by :func:`_repair`.

    Plans, prices and availability are indexed by window position (``slots[k, i]`` is the clock
    hour of position ``i`` of cluster ``k``); ``proc_order[st_ptr[j]:st_ptr[j + 1]]`` are station
    ``j``'s clusters in the order they are applied."""
    n_c, n_s = row.shape
    out_ch = np.zeros((n_c, n_s, n_st, 24))
    out_dis = np.zeros((n_c, n_s, n_st, 24))
    energy = np.zeros((n_c, n_s, n_st, 24))
    unserved = np.zeros((n_c, n_s, n_st))
    rch = np.zeros((n_st, 24))  # converter rating left: charge + discharge of all clusters
    a = np.zeros(24)
    a_dis = np.zeros(24)
    w = np.zeros((4, 24))
    n_k = win.shape[0]
    wc = np.zeros((n_k, 24))  # this candidate's and scenario's flows per cluster and window position
    wd = np.zeros((n_k, 24))
    short = np.zeros(n_k)  # grid kWh
    arr = np.zeros(n_k, dtype=np.int64)
    for k in range(n_k):
        arr[k] = slots[k, 0]
    # price order of each cluster's window, per price row (valley filling, cheapest first)
    n_p = c_pos.shape[0]
    order = np.zeros((n_p, n_k, 24), dtype=np.int64)
    for p in range(n_p):
        for k in range(n_k):
            order[p, k, : win[k]] = np.argsort(c_pos[p, k, : win[k]], kind="mergesort")
    for ci in range(n_c):
        for si in range(n_s):
            p = row[ci, si]
            rch[:, :] = rc[ci]
            for q in range(proc_order.shape[0]):
                k = proc_order[q]
                j = station[k]
                L = win[k]
                pc = plan_ch[p, k]
                pd = plan_dis[p, k]
                sl = slots[k]
                short[k] = 0.0
                fits = True
                for i in range(L):
                    t = sl[i]
                    if pc[i] + pd[i] > rch[j, t] + 1e-9:
                        fits = False
                        break
                if fits:
                    for i in range(L):
                        wc[k, i] = pc[i]
                        wd[k, i] = pd[i]
                else:  # capacity is short: plan again on what is left (valley filling, may discharge)
                    # Only a cluster whose uncapped plan discharges searches for a discharge block
                    # again (a simplification: one that did not discharge uncapped is valley-filled
                    # on what is left); the search costs ~8x the valley filling on tight stations.
                    blk = 0
                    for i in range(L):
                        a[i] = min(avail[k, i], max(rch[j, sl[i]], 0.0))
                        a_dis[i] = a[i]  # a plan never charges and discharges in the same hour
                        if pd[i] > 0.0:
                            blk = max_block
                    w[0, :] = 0.0
                    w[1, :] = 0.0
                    if blk == 0:  # valley filling on what is left, no discharge
                        sh, _ = _fill(
                            order[p, k, :L],
                            0,
                            L,
                            0,
                            0,
                            max(e_req[k] - e_arr[k], 0.0) / eta[k],
                            a,
                            w[0],
                            c_pos[p, k],
                            0,
                            0.0,
                        )
                    else:
                        sh = _plan_one(
                            a,
                            a_dis,
                            c_pos[p, k],
                            d_pos[p, k],
                            L,
                            e_arr[k],
                            e_req[k],
                            e_min[k],
                            e_max[k],
                            eta[k],
                            blk,
                            charge_first,
                            w[0],
                            w[1],
                            w[2],
                            w[3],
                        )
                    short[k] = max(sh, 0.0)
                    for i in range(L):
                        wc[k, i] = w[0, i]
                        wd[k, i] = w[1, i]
                for i in range(L):
                    t = sl[i]
                    rch[j, t] -= wc[k, i] + wd[k, i]
            for j in range(n_st):
                members = proc_order[st_ptr[j] : st_ptr[j + 1]]
                for q in range(members.shape[0]):
                    if short[members[q]] > 1e-9:
                        _repair(members, wc, wd, short, rch[j], avail, arr, win, c_rows[p, j])
                        break
            och = out_ch[ci, si]
            odis = out_dis[ci, si]
            oen = energy[ci, si]
            for k in range(n_k):
                j = station[k]
                ek = eta[k]
                e = e_arr[k]
                sl = slots[k]
                L = win[k]
                unserved[ci, si, j] += short[k] * ek
                for i in range(L):
                    t = sl[i]
                    och[j, t] += wc[k, i]
                    odis[j, t] += wd[k, i]
                    e += ek * wc[k, i] - wd[k, i] / ek  # 002 eq. (1)
                    if i < L - 1:  # present at the end of every slot but the departure slot
                        oen[j, t] += e
    return out_ch, out_dis, energy, unserved


def _check_budget(cl: ClusterSet) -> None:
    if np.any(cl.window_len > N_HOURS):
        raise DispatchError("a cluster's stay covers more than 24 hour slots")


def dispatch_heuristic(
    model: StationFleet,
    capacity_kw: ArrayLike,
    price_charge: ArrayLike,
    value_discharge: ArrayLike,
    *,
    max_discharge_hours: int = 6,
    charge_first: bool = True,
    penalty_cny_kwh: ArrayLike = PENALTY_CNY_KWH,
) -> DispatchResult:
    """003's cluster V2G dispatch for a batch of candidates and scenarios (numba).

    Parameters
    ----------
    model:
        From :func:`dispatch_model`.
    capacity_kw:
        ``(n_candidates, n_stations)``.
    price_charge, value_discharge:
        CNY/kWh, broadcastable to ``(n_candidates, n_scenarios, n_stations, 24)``.
    max_discharge_hours:
        Longest discharge block searched.
    charge_first:
        003's rule: discharge only after the first charge has delivered the whole requirement.
        ``False`` lets a cluster discharge earlier (after charging only what keeps it above
        SOC_min); it stays one discharge block per day.
    penalty_cny_kwh:
        Cost of unserved energy in the reported objective: a number, or an array broadcastable to
        ``(n_candidates, n_scenarios, n_stations)``.

    Returns
    -------
    DispatchResult (method ``"heuristic"``).
    """
    cap, pc, pd, n_c, n_s = _inputs(model, capacity_kw, price_charge, value_discharge)
    n_st = model.n_stations
    cl = model.clusters
    _check_budget(cl)
    c_rows, d_rows, row = _price_rows(pc, pd, n_c, n_s, n_st)
    win = cl.window_len.astype(np.int64)
    eta = cl.efficiency.astype(np.float64)
    plan_ch, plan_dis = _plan_kernel(
        np.ascontiguousarray(cl.avail_kw),
        cl.arrival_slot.astype(np.int64),
        win,
        cl.energy_arrival_kwh,
        cl.energy_required_kwh,
        cl.energy_min_kwh,
        cl.energy_max_kwh,
        eta,
        cl.station.astype(np.int64),
        c_rows,
        d_rows,
        int(max_discharge_hours),
        bool(charge_first),
    )
    u_eff, pc_unserved = _uncoordinated(model, cap)
    # one converter rating per station and hour, shared by charging and discharging (module docstring)
    rc = np.ascontiguousarray(cap[..., None] - u_eff)
    laxity = (win - cl.charge_hours).astype(np.float64)
    proc_order = np.lexsort((laxity, cl.station)).astype(np.int64)  # least flexible first
    st_ptr = np.searchsorted(cl.station[proc_order], np.arange(n_st + 1)).astype(np.int64)
    slots = (cl.arrival_slot[:, None] + np.arange(N_HOURS)[None, :]) % N_HOURS  # (K, 24) window -> clock
    kk = np.arange(cl.n_clusters)[:, None]
    ch, dis, energy, unserved = _apply_kernel(
        np.ascontiguousarray(plan_ch[:, kk, slots]),
        np.ascontiguousarray(plan_dis[:, kk, slots]),
        row,
        rc,
        proc_order,
        st_ptr,
        np.ascontiguousarray(cl.avail_kw[kk, slots]),
        np.ascontiguousarray(slots),
        win,
        cl.energy_arrival_kwh,
        cl.energy_required_kwh,
        cl.energy_min_kwh,
        cl.energy_max_kwh,
        eta,
        cl.station.astype(np.int64),
        np.ascontiguousarray(c_rows[:, cl.station[:, None], slots]),
        np.ascontiguousarray(d_rows[:, cl.station[:, None], slots]),
        c_rows,
        n_st,
        int(max_discharge_hours),
        bool(charge_first),
    )
    return _result(model, pc, pd, u_eff, pc_unserved, ch, dis, energy, unserved, penalty_cny_kwh, "heuristic")


def _result(model, pc, pd, u_eff, pc_unserved, ch, dis, energy, unserved, penalty, method) -> DispatchResult:
    n_c, n_s = ch.shape[:2]
    cost = (pc * ch - pd * dis).sum(-1) + penalty * unserved
    u_full = np.broadcast_to(u_eff[:, None], ch.shape)
    return DispatchResult(
        p_ch_kw=ch + u_full,
        p_dis_kw=dis,
        p_uncoordinated_kw=u_full,
        energy_kwh=energy,
        unserved_kwh=unserved + pc_unserved[:, None, :],
        cost_cny=np.broadcast_to(cost, (n_c, n_s, model.n_stations)).copy(),
        energy_required_kwh=model.energy_required_kwh,
        energy_desired_kwh=model.energy_desired_kwh,
        method=method,
    )


# --------------------------------------------------------------------------------------------------
# LP reference
# --------------------------------------------------------------------------------------------------


def _lp_station(
    lim: StationLimits, need: NDArray[np.float64], j: int, ch_max, dis_max, rating, c, v, penalty
):
    """One station's cyclic storage LP, ``p_ch(t) + p_dis(t) <= rating(t)`` (the converters);
    returns (p_ch, p_dis, energy, shortfall) or raises."""
    T = N_HOURS
    eta = float(lim.efficiency[j])
    n = 4 * T  # p_ch, p_dis, S, u
    a_eq = np.zeros((T, n))
    for t in range(T):
        a_eq[t, 2 * T + t] = 1.0
        a_eq[t, 2 * T + (t - 1) % T] -= 1.0  # cyclic typical day
        a_eq[t, t] = -eta
        a_eq[t, T + t] = 1.0 / eta
        a_eq[t, 3 * T + t] = -1.0
    b_eq = lim.delta_kwh[j]  # 002 eq. (1): S_t = S_{t-1} + dS_t + eta p_ch - p_dis / eta (+ shortfall)
    bounds = (
        [(0.0, float(x)) for x in ch_max]
        + [(0.0, float(x)) for x in dis_max]
        + [
            (float(lo), float(hi))
            for lo, hi in zip(lim.energy_min_kwh[j], lim.energy_max_kwh[j], strict=True)
        ]
        + [(0.0, float(x)) for x in need[j]]
    )
    a_ub = np.zeros((T, n))
    a_ub[np.arange(T), np.arange(T)] = 1.0
    a_ub[np.arange(T), T + np.arange(T)] = 1.0
    cost = np.concatenate([c, -v, np.zeros(T), np.full(T, penalty)])
    res = linprog(cost, A_ub=a_ub, b_ub=rating, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status != 0:
        raise DispatchError(f"LP for station {j} failed: {res.message}")
    x = res.x
    return x[:T], x[T : 2 * T], x[2 * T : 3 * T], x[3 * T :]


def _lp_clusters_station(cl: ClusterSet, j: int, rating, c, v, penalty):
    """One station's LP at cluster resolution: every cluster its own storage (002 eq. (1)) over
    its stay, ``min(e_min, e_arr) <= S <= e_max``, a shortfall at its departure, and the station's
    converter rating shared by the clusters' charging and discharging per hour (``rating``, kW).
    Returns (p_ch, p_dis, energy, shortfall), clock-hour arrays, or raises."""
    ks = np.flatnonzero(cl.station == j)
    T = N_HOURS
    if ks.size == 0:
        return np.zeros(T), np.zeros(T), np.zeros(T), 0.0
    win = cl.window_len[ks].astype(np.int64)
    off = np.concatenate([[0], np.cumsum(win)])
    n_pos = int(off[-1])
    nk = ks.size
    # variables: ch (n_pos), dis (n_pos), S (n_pos), short (nk)
    n = 3 * n_pos + nk
    pos_k = np.repeat(np.arange(nk), win)
    pos_i = np.arange(n_pos) - off[pos_k]
    pos_t = (cl.arrival_slot[ks][pos_k] + pos_i) % T
    ek = cl.efficiency[ks][pos_k]
    idx = np.arange(n_pos)
    # storage: S_i - S_{i-1} - eta ch_i + dis_i / eta = e_arr (i = 0) or 0
    rows = np.concatenate([idx, idx, idx, idx[pos_i > 0]])
    cols = np.concatenate([2 * n_pos + idx, idx, n_pos + idx, 2 * n_pos + idx[pos_i > 0] - 1])
    vals = np.concatenate([np.ones(n_pos), -ek, 1.0 / ek, -np.ones(int((pos_i > 0).sum()))])
    a_eq = sparse.csr_matrix((vals, (rows, cols)), shape=(n_pos, n))
    b_eq = np.where(pos_i == 0, cl.energy_arrival_kwh[ks][pos_k], 0.0)
    # converter rating per hour (charge + discharge) and departure energy: -S_last - short <= -e_req
    last = off[1:] - 1
    rows = np.concatenate([pos_t, pos_t, T + np.arange(nk), T + np.arange(nk)])
    cols = np.concatenate([idx, n_pos + idx, 2 * n_pos + last, 3 * n_pos + np.arange(nk)])
    vals = np.concatenate([np.ones(2 * n_pos), -np.ones(2 * nk)])
    a_ub = sparse.csr_matrix((vals, (rows, cols)), shape=(T + nk, n))
    e_arr, e_req = cl.energy_arrival_kwh[ks], cl.energy_required_kwh[ks]
    b_ub = np.concatenate([rating, -e_req])
    av = cl.avail_kw[ks][pos_k, pos_t]
    lo_s = np.minimum(cl.energy_min_kwh[ks], e_arr)[pos_k]
    hi_s = np.maximum(cl.energy_max_kwh[ks], np.maximum(e_arr, e_req))[pos_k]
    lb = np.concatenate([np.zeros(2 * n_pos), lo_s, np.zeros(nk)])
    ub = np.concatenate([av, av, hi_s, np.maximum(e_req - e_arr, 0.0)])
    cost = np.concatenate([c[pos_t], -v[pos_t], np.zeros(n_pos), np.full(nk, penalty)])
    bounds = np.stack([lb, ub], 1)
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status != 0:
        raise DispatchError(f"cluster LP for station {j} failed: {res.message}")
    x = res.x
    ch = np.bincount(pos_t, x[:n_pos], T)
    dis = np.bincount(pos_t, x[n_pos : 2 * n_pos], T)
    present = pos_i < win[pos_k] - 1  # stored at the end of every slot but the departure slot
    energy = np.bincount(pos_t[present], x[2 * n_pos : 3 * n_pos][present], T)
    return ch, dis, energy, float(x[3 * n_pos :].sum())


def dispatch_lp(
    model: StationFleet,
    capacity_kw: ArrayLike,
    price_charge: ArrayLike,
    value_discharge: ArrayLike,
    *,
    penalty_cny_kwh: ArrayLike = PENALTY_CNY_KWH,
    per_cluster: bool = False,
) -> DispatchResult:
    """Exact dispatch of the aggregated storage model by linear programming (HiGHS).

    Same interface as :func:`dispatch_heuristic`. One LP per candidate, scenario and station (a
    reference for tests and studies, not for the optimisation loop).

    Parameters
    ----------
    per_cluster:
        ``False`` (default): the station's V2G group as one aggregated storage (002 eqs. (1),
        (4)-(6)). The aggregate lets energy charged into one vehicle count for another that leaves
        earlier, which no charger can do, so where capacity binds it serves energy no physical
        schedule can (its bound is loose there). ``True``: every cluster of
        :func:`grid.ev.v2g_clusters` is its own storage, sharing the station's capacity; it still
        relaxes the heuristic's plan rules (one discharge block, first charge before it), so it is
        a lower bound on :func:`dispatch_heuristic` and a tighter one; the aggregate LP is a lower
        bound on it. Larger LPs (about 3x the time).
    penalty_cny_kwh:
        Cost of unserved energy (CNY/kWh): a number, or an array broadcastable to
        ``(n_candidates, n_scenarios, n_stations)`` so that each candidate can carry its own (a
        caller that derives it from prices should do so per candidate: then no candidate's
        schedule depends on the rest of the batch).
    """
    cap, pc, pd, n_c, n_s = _inputs(model, capacity_kw, price_charge, value_discharge)
    n_st = model.n_stations
    lim = model.limits
    pen = np.broadcast_to(np.asarray(penalty_cny_kwh, dtype=np.float64), (n_c, n_s, n_st))
    u_eff, pc_unserved = _uncoordinated(model, cap)
    full = (n_c, n_s, n_st, N_HOURS)
    cb = np.broadcast_to(pc, full)
    vb = np.broadcast_to(pd, full)
    ch = np.zeros(full)
    dis = np.zeros(full)
    energy = np.zeros(full)
    unserved = np.zeros(full[:3])
    for ci in range(n_c):
        rating = np.maximum(cap[ci][:, None] - u_eff[ci], 0.0)  # converters left by plug-and-charge
        ch_max = np.minimum(lim.p_ch_max_kw, rating)
        dis_max = np.minimum(lim.p_dis_max_kw, rating)
        for si in range(n_s):
            for j in range(n_st):
                if per_cluster:
                    x = _lp_clusters_station(
                        model.clusters, j, rating[j], cb[ci, si, j], vb[ci, si, j], pen[ci, si, j]
                    )
                    ch[ci, si, j], dis[ci, si, j], energy[ci, si, j] = x[0], x[1], x[2]
                    unserved[ci, si, j] = x[3]
                    continue
                x = _lp_station(
                    lim,
                    model.departure_need_kwh,
                    j,
                    ch_max[j],
                    dis_max[j],
                    rating[j],
                    cb[ci, si, j],
                    vb[ci, si, j],
                    pen[ci, si, j],
                )
                ch[ci, si, j], dis[ci, si, j], energy[ci, si, j] = x[0], x[1], x[2]
                unserved[ci, si, j] = x[3].sum()
    method = "lp_clusters" if per_cluster else "lp"
    return _result(model, pc, pd, u_eff, pc_unserved, ch, dis, energy, unserved, pen, method)
