"""``EVScheduling``: paper 001's EV charge/discharge scheduling of one region on IEEE 34.

Zou et al., *Optimization Model of Electric Vehicles Charging and Discharging Strategy Considering
the Safe Operation of Distribution Network*, World Electr. Veh. J. 13 (2022) 117.

The study (001 sections 4-6)
----------------------------
Three regions (``region=``): a residential area (node 888), a commercial area (822) and three
centralised charging stations (844, 846, 848). Each region's EVs are one aggregated storage
(:func:`grid.ev.station_limits`, 002 eq. (5)); the decision is the region's hourly EV power.

Decision ``x_t in [-1, 1]`` (``[0, 1]`` with ``v2g=False``), ``t = 0..23``: power
``x_t P_ch,max(t)`` if ``x_t >= 0`` else ``x_t P_dis,max(t)`` (grid side). 001's per-vehicle
ternary variables (eqs. (13), (15)-(17)) become the aggregated energy balance of 002 eq. (1)
(``S_t = S_{t-1} + dS_t + eta p_ch - p_dis / eta``, :mod:`grid.storage`'s model).

Repair (vectorised over the population, a loop over the 24 hours only): the stored energy must
stay inside ``[E_min(t), E_max(t)]`` (001 eq. (15): SOC in [0.1, 0.95]) and every departure takes
its energy (eq. (16); departures are in ``dS``, so ``S_t >= E_min(t)`` after a departure is the
delivery). The day is cut at the hour ``t0`` with the narrowest energy window and ``S_t0`` is fixed
to the plug-and-charge trajectory's (feasible by construction), so the day closes (cyclic). A
backward pass gives funnels ``[L_t, U_t]`` of energies from which ``S_t0`` is still reachable at
full charge / discharge power; the forward pass clips each hour's energy into the intersection of
the funnel and what the hour's power limits reach. The repaired schedule is the closest to the
desired one hour by hour; it is feasible whenever any schedule is.

Objectives (001 eqs. (10)-(12), minimised, in its units):

========== ======================================================================= =====
``f1``     eq. (10): ``sum_t (P_t - mean P)^2``, region load ``P = base + EV``         kW^2
``f2``     eq. (11): ``max P - min P`` (peak-valley difference)                        kW
``f3``     eq. (12): ``sum_t sum_j |U_jt - 1|`` over the 34 buses, balanced IEEE 34     pu
========== ======================================================================= =====

Constraint eq. (20), from :mod:`grid.ev_transformer`: the schedule's transformer count (eqs.
(8)-(9), margin reading) must not exceed ``transformer_units_max`` (default: the disordered
case's count), i.e. ``max_t P(t) <= n * 1000 kVA * phi * cos phi``.

Scaling onto the feeder. The regions' loads (MW) dwarf the 1.77 MW feeder, and 888 sits behind the
500 kVA XFM-1. The region's load is scaled by ``k = nominal kW of its node group / peak of the
region's disordered load`` (residential 888 + 890: 450 kW; commercial 822: 67.5 kW; stations
844 + 846 + 848: 537.5 kW) and replaces those nodes' nominal loads (stations share it equally,
one station per node), at ``power_factor``. The other nodes follow the region's base shape times
their nominal load. f3 is therefore the feeder's response to the region's *shape*.

Every unstated input is a :class:`Config001` field; the fleets are :func:`fleet_001`.

Example
-------
>>> from problems.ev_scheduling import EVScheduling
>>> p = EVScheduling(region="commercial", config={"n_vehicles": 200})
>>> rows = p.table_rows(p.disordered_x()[None])
>>> bool(rows["peak_valley_kw"][0] > 0), int(rows["transformer_units"][0]) >= 1
(True, True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pymoo.core.problem import Problem

from ._common import ChunkedEvaluation, ProblemConfigError, config_from, objective_list, penalise_failed

__all__ = ["Config001", "EVScheduling", "OBJECTIVES", "REGIONS", "UndeliverableFleetError", "fleet_001"]

#: name -> (unit, sense)
OBJECTIVES: dict[str, tuple[str, str]] = {"f1": ("kW^2", "min"), "f2": ("kW", "min"), "f3": ("pu", "min")}

#: region -> (its IEEE 34 nodes [G], the node group whose nominal load it replaces [A]).
REGIONS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "residential": ((888,), (888, 890)),
    "commercial": ((822,), (822,)),
    "stations": ((844, 846, 848), (844, 846, 848)),
}


class UndeliverableFleetError(ProblemConfigError):
    """A fleet whose vehicles cannot get their target energy before they leave."""


@dataclass(frozen=True)
class Config001:
    """Inputs of one region ([G] 001, [A] assumed, [D] derived); ``None`` means the region's preset
    (:data:`PRESETS`)."""

    n_vehicles: int | None = None  # [G]/[D] residential 1000 cars x 0.5; commercial/stations piles
    charger_kw: float = 7.0  # [G] AC 7 kW (commercial DC 120 kW split not given; stations: see fleet_001)
    battery_kwh: float = 25.0  # [G]
    efficiency: float = 0.95  # [G] charging facility; discharging the same [A]
    soc_min: float = 0.1  # [G] eq. (15)
    soc_max: float = 0.95  # [G]
    soc_target: float = 0.9  # [A] SOC_min,i of eq. (16)
    base_peak_kw: float | None = None  # [D] residential 5760; [A] commercial 2000, stations 0
    base_profile: str | None = None  # [A] BDEW h0 (residential, stations' feeder), g1 (commercial)
    v2g: bool = True  # 001's V2G mode; False = ordered charging only
    power_factor: float = 0.85  # [G]
    margin: float = 0.8  # [G] planning margin phi
    unit_kva: float = 1000.0  # [G] S13 1000 kVA
    transformer_units_max: int | None = None  # eq. (20): None = the disordered count
    fleet_seed: int = 1  # [A] the Monte Carlo fleet is sampled once
    tol: float = 1e-8


#: Region presets: n_vehicles, base_peak_kw, base_profile.
PRESETS: dict[str, dict[str, Any]] = {
    "residential": {"n_vehicles": 500, "base_peak_kw": 5760.0, "base_profile": "h0"},
    "commercial": {"n_vehicles": 1000, "base_peak_kw": 2000.0, "base_profile": "g1"},
    "stations": {"n_vehicles": 5000, "base_peak_kw": 0.0, "base_profile": "h0"},
}


def fleet_001(region: str, cfg: Config001 | None = None) -> Any:
    """The EV fleet of a region (001 gives pile counts, powers and simultaneity, not behaviour).

    Assumptions [A]: residential: 002's type I timing, arrival N(18, 2^2), departure N(8, 2^2),
    arrival SOC U(0.2, 0.5), one station; commercial: arrival N(9, 1^2) (001: charging concentrated
    9:00-12:00), departure N(17.5, 1^2), SOC U(0.3, 0.6), one station; stations: three equal
    stations, arrivals half N(12, 3^2) and half N(19, 2^2), SOC U(0.1, 0.3), departure N(arrival + 5,
    1^2) (7 kW piles: the 15-20 kWh need 2.3-3 h, so a stay of about 5 h leaves room to shift).
    Every vehicle: 25 kWh, 7 kW, efficiency 0.95, SOC in [0.1, 0.95], target SOC 0.9, V2G willing;
    stays shorter than 3.5 h are lengthened to 3.5 h (SOC 0.1 -> 0.9 takes 3.0 h at 7 kW x 0.95).
    """
    from grid import ev

    c = Config001() if cfg is None else cfg
    if region not in REGIONS:
        raise ProblemConfigError(f"region must be one of {sorted(REGIONS)}, got {region!r}")
    n = PRESETS[region]["n_vehicles"] if c.n_vehicles is None else int(c.n_vehicles)
    if n < 1:
        raise ProblemConfigError(f"region {region!r} has no vehicles (n_vehicles = {n})")
    common = dict(
        battery_kwh=c.battery_kwh, charger_kw=c.charger_kw, efficiency=c.efficiency, soc_min=c.soc_min,
        soc_max=c.soc_max, soc_target=c.soc_target, v2g_share=1.0,
    )
    if region == "residential":
        types = (ev.VehicleType("resident", arrival_h=ev.normal(18, 2), departure_h=ev.normal(8, 2),
                                soc_arrival=ev.uniform(0.2, 0.5), **common),)
        counts: tuple = ((n,),)
    elif region == "commercial":
        types = (ev.VehicleType("shopper", arrival_h=ev.normal(9, 1), departure_h=ev.normal(17.5, 1),
                                soc_arrival=ev.uniform(0.3, 0.6), **common),)
        counts = ((n,),)
    else:
        # departure N(arrival + 5, 1): the mean arrival plus 5 h, sampled per type (FleetSpec draws
        # departures independently of arrivals, so the spread is sqrt(3^2 + 1) and sqrt(2^2 + 1) h)
        soc = ev.uniform(0.1, 0.3)
        types = (
            ev.VehicleType("midday", arrival_h=ev.normal(12, 3), departure_h=ev.normal(17, 1),
                           soc_arrival=soc, **common),
            ev.VehicleType("evening", arrival_h=ev.normal(19, 2), departure_h=ev.normal(24, 1),
                           soc_arrival=soc, **common),
        )
        per = [n // 3 + (1 if k < n % 3 else 0) for k in range(3)]
        counts = tuple((p // 2, p - p // 2) for p in per)
    spec = ev.FleetSpec(name=f"001_{region}", source="001 sec. 6.1; timing and SOC assumed (fleet_001)",
                        types=types, counts=counts, min_dwell_h=3.5)
    return ev.sample_fleet(spec, np.random.default_rng(c.fleet_seed))


def _base_day(profile: str) -> NDArray[np.float64]:
    """The profile's mean day, per unit of its peak, ``(24,)``."""
    from grid import profiles

    day = profiles.bdew_load_pu(profile).reshape(-1, 24).mean(axis=0)
    return day / day.max()


def _stored_energy_plug_and_charge(v: Any) -> NDArray[np.float64]:
    """Fleet energy at the end of each hour under plug-and-charge (each vehicle charges at full power
    from arrival for ``T_cd``), summed over the stations, ``(24,)``."""
    tau = np.arange(1, 25, dtype=np.float64)[None, :]
    r = (tau - v.arrival_h[:, None]) % 24.0
    present = r < v.dwell_h[:, None]
    rate = (v.efficiency * v.charger_kw)[:, None]
    e = v.energy_arrival_kwh[:, None] + rate * np.minimum(r, v.charge_h[:, None])
    return (present * e).sum(axis=0)


class EVScheduling(ChunkedEvaluation, Problem):
    """Paper 001: one region's aggregated EV charge/discharge schedule on IEEE 34 (module docstring).

    Parameters
    ----------
    region : {"residential", "commercial", "stations"}
    objectives : list of str
        Names from :data:`OBJECTIVES` (default 001's three).
    config : Config001 or mapping, optional
        Every other input (:class:`Config001`).
    """

    bytes_per_bus_case = 160.0

    def __init__(
        self,
        region: str = "residential",
        objectives: Sequence[str] | str = ("f1", "f2", "f3"),
        config: Config001 | dict[str, Any] | None = None,
        memory_budget_gib: float | None = None,
    ) -> None:
        from grid import cases, ev
        from grid import ev_transformer as et

        from ._common import memory_budget

        if region not in REGIONS:
            raise ProblemConfigError(f"region must be one of {sorted(REGIONS)}, got {region!r}")
        cfg = config_from(Config001, config)
        preset = {k: v for k, v in PRESETS[region].items() if getattr(cfg, k) is None}
        self.config = cfg = dataclasses.replace(cfg, **preset)
        self.region = region
        self.objectives = objective_list(objectives, OBJECTIVES)
        self.objective_names = list(self.objectives)
        self.objective_units = [OBJECTIVES[o][0] for o in self.objectives]
        self.memory_budget_bytes = memory_budget(memory_budget_gib)

        self.vehicles = v = fleet_001(region, cfg)
        short = v.energy_desired_kwh - v.energy_required_kwh
        if np.any(short > 1e-9):  # eq. (16): SOC_min,i at departure must be reachable
            k = int(np.sum(short > 1e-9))
            raise UndeliverableFleetError(
                f"region {region!r}: {k} of {v.n_vehicles} vehicles cannot reach SOC {cfg.soc_target} "
                f"before departure at {cfg.charger_kw} kW (missing {short.sum():.1f} kWh in all)"
            )
        lim = ev.station_limits(v)
        self.p_ch_max_kw = lim.p_ch_max_kw.sum(0)
        self.p_dis_max_kw = lim.p_dis_max_kw.sum(0) if cfg.v2g else np.zeros(24)
        self.e_min_kwh, self.e_max_kwh = lim.energy_min_kwh.sum(0), lim.energy_max_kwh.sum(0)
        self.delta_kwh = lim.delta_kwh.sum(0)
        self.eta = float(cfg.efficiency)
        self.station_share = np.bincount(v.station, minlength=v.n_stations) / v.n_vehicles
        self.ev_disordered_kw = ev.uncoordinated_load_kw(v).sum(0)
        self._s_unc = _stored_energy_plug_and_charge(v)
        self._funnels()

        self.base_kw = cfg.base_peak_kw * _base_day(cfg.base_profile)
        p_r = float(self.base_kw.max())  # eq. (5) planned load: the base peak (residential 5760 kW)
        self.capacity_kva = et.planned_capacity_kva(p_r, margin=cfg.margin, power_factor=cfg.power_factor)
        self.units_disordered = int(self._units(self.base_kw + self.ev_disordered_kw)[0])
        self.units_max = self.units_disordered if cfg.transformer_units_max is None else int(
            cfg.transformer_units_max)

        # feeder: region load scaled onto its nodes, the rest on the base shape (module docstring)
        self.net = net = cases.load("ieee34")
        nodes, group = REGIONS[region]
        self.buses_idx = net.index_of(list(nodes))
        self.k_scale = float(net.p_kw[net.index_of(list(group))].sum()) / float(
            (self.base_kw + self.ev_disordered_kw).max())
        shape = _base_day("h0" if cfg.base_peak_kw == 0 else cfg.base_profile)[:, None]
        p_other = shape * net.p_kw[None]
        q_other = shape * net.q_kvar[None]
        p_other[:, net.index_of(list(group))] = 0.0
        q_other[:, net.index_of(list(group))] = 0.0
        self._p_other, self._q_other = p_other, q_other
        self._tan_phi = float(np.tan(np.arccos(cfg.power_factor)))

        lo = -1.0 if cfg.v2g else 0.0
        self.constraint_names = ["transformer_units", "pf_failed"]
        super().__init__(
            n_var=24, n_obj=len(self.objectives), n_ieq_constr=2, xl=np.full(24, lo), xu=np.ones(24)
        )

    # ------------------------------------------------------------------ repair
    def _funnels(self) -> None:
        """Cut hour ``t0`` (narrowest energy window), its fixed energy and the backward funnels."""
        width = self.e_max_kwh - self.e_min_kwh
        t0 = int(np.argmin(width))
        L, U = self.e_min_kwh.copy(), self.e_max_kwh.copy()
        L[t0] = U[t0] = self._s_unc[t0]
        for k in range(23, 0, -1):
            t, tn = (t0 + k) % 24, (t0 + k + 1) % 24
            L[t] = max(L[t], L[tn] - self.delta_kwh[tn] - self.eta * self.p_ch_max_kw[tn])
            U[t] = min(U[t], U[tn] - self.delta_kwh[tn] + self.p_dis_max_kw[tn] / self.eta)
        bad = np.flatnonzero(L > U + 1e-6)
        if bad.size:
            raise UndeliverableFleetError(
                f"region {self.region!r}: the fleet's energy cannot be delivered by departure "
                f"(energy window empty at hours {bad.tolist()})")
        self.t0, self._L, self._U = t0, L, U

    def repair_power(self, X: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Grid-side EV power ``(n, 24)`` and stored energy ``(n, 24)`` of decisions ``X`` (n, 24)."""
        X = np.clip(np.atleast_2d(np.asarray(X, dtype=np.float64)), self.xl, self.xu)
        want = np.where(X >= 0, X * self.p_ch_max_kw, X * self.p_dis_max_kw)
        n, eta = X.shape[0], self.eta
        P, S_out = np.empty((n, 24)), np.empty((n, 24))
        S = np.full(n, self._s_unc[self.t0])
        for k in range(1, 25):  # 24 steps, vectorised over the population
            t = (self.t0 + k) % 24
            base = S + self.delta_kwh[t]
            lo = np.maximum(base - self.p_dis_max_kw[t] / eta, self._L[t])
            hi = np.minimum(base + eta * self.p_ch_max_kw[t], self._U[t])
            w = want[:, t]
            S = np.clip(base + np.where(w >= 0, eta * w, w / eta), lo, hi)
            d = S - base
            P[:, t] = np.where(d >= 0, d / eta, d * eta)
            S_out[:, t] = S
        return P, S_out

    def disordered_x(self) -> NDArray[np.float64]:
        """The decision that reproduces plug-and-charge (``x = P_unc / P_ch,max``)."""
        pmax = self.p_ch_max_kw
        return np.divide(self.ev_disordered_kw, pmax, out=np.zeros(24), where=pmax > 0)

    # ------------------------------------------------------------------ evaluation
    def _units(self, load_kw: NDArray[np.float64]) -> Any:
        from grid import ev_transformer as et

        c = self.config
        load = np.atleast_2d(load_kw)
        return np.atleast_1d(et.transformer_units(
            self.capacity_kva, 0.0, load.max(axis=1), overlay=1.0, unit_kva=c.unit_kva, margin=c.margin,
            power_factor=c.power_factor))  # eq. (8): (max P^EV + max P^Base) gamma = max_t P(t)

    def cases_per_candidate(self) -> int:
        return 24

    def compute(self, X: NDArray[np.float64], *, ev_kw: NDArray[np.float64] | None = None) -> dict[str, Any]:
        """Everything reported for decisions ``X`` (or for given EV loads ``ev_kw`` (n, 24)): ``f1``,
        ``f2``, ``f3``, ``load_kw`` (n, 24), ``ev_kw``, ``vm_pu`` (n, 24, 34), ``pf_failed``."""
        from grid.powerflow import solve

        if ev_kw is None:
            ev_kw, _ = self.repair_power(X)
        ev_kw = np.atleast_2d(ev_kw)
        load = self.base_kw[None] + ev_kw
        f1 = ((load - load.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)  # eq. (10)
        f2 = load.max(axis=1) - load.min(axis=1)  # eq. (11)
        n = load.shape[0]
        p = np.broadcast_to(self._p_other, (n, 24, self.net.n_bus)).copy()
        region_kw = self.k_scale * load[..., None] * self.station_share[None, None, :]
        p[..., self.buses_idx] += region_kw
        q = np.broadcast_to(self._q_other, p.shape).copy()
        q[..., self.buses_idx] += region_kw * self._tan_phi
        res = solve(self.net, p, q, tol=self.config.tol)  # the one batched power flow: (n, 24, 34)
        f3 = np.abs(res.vm_pu - 1.0).sum(axis=(1, 2))  # eq. (12), deviation from rated
        failed = ~res.converged.reshape(n, -1).all(axis=1)
        return {"f1": f1, "f2": f2, "f3": f3, "load_kw": load, "ev_kw": ev_kw, "vm_pu": res.vm_pu,
                "pf_failed": failed.astype(float)}

    def table_rows(self, X: NDArray[np.float64] | None = None, *, ev_kw: NDArray[np.float64] | None = None
                   ) -> dict[str, NDArray[np.float64]]:
        """001 tables 2-4 for each schedule: ``overlay_rate`` (eq. (3)), ``transformer_units``
        (eqs. (8)-(9)), ``max_load_rate``, ``peak_valley_kw``, ``load_std_kw``, ``investment_cny``."""
        from grid import ev_transformer as et

        if ev_kw is None:
            ev_kw, _ = self.repair_power(X)
        ev_kw = np.atleast_2d(ev_kw)
        load = self.base_kw[None] + ev_kw
        units = self._units(load)
        c = self.config
        return {
            "overlay_rate": et.overlay_rate(self.base_kw[None], ev_kw),
            "transformer_units": units,
            "max_load_rate": et.max_load_rate(load, units, unit_kva=c.unit_kva, power_factor=c.power_factor),
            "peak_valley_kw": load.max(axis=1) - load.min(axis=1),
            "load_std_kw": load.std(axis=1),
            "investment_cny": et.investment_cny(units, unit_kva=c.unit_kva),
        }

    def _evaluate_batch(self, X: NDArray[np.float64], out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        c = self.compute(X)
        F = np.column_stack([c[o] for o in self.objectives])
        failed = c["pf_failed"] > 0
        out["F"] = penalise_failed(F, failed)
        cfg = self.config
        # eq. (20) with eqs. (8)-(9): ceil(a) <= m  iff  a <= m, a = max(S^R, max P / (phi cos phi)) / S_unit
        need = np.maximum(self.capacity_kva, c["load_kw"].max(axis=1) / (cfg.margin * cfg.power_factor))
        out["G"] = np.column_stack([need / cfg.unit_kva - self.units_max, c["pf_failed"]])
