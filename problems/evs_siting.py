"""``EVSSiting``: paper 004's siting and sizing of EV-station shared storage (EVS) on IEEE 33.

Wang et al., *Multi-Objective Site Selection and Capacity Determination of Distribution Network
Considering New Energy Uncertainties and Shared Energy Storage of EVs*, Electronics 14 (2025) 151.

The study (004 sections 2-5)
----------------------------
IEEE 33 (3715 kW + j2300 kvar, 12.66 kV) with wind turbines at buses 14 and 20 and PV at 9 and 30
(004 section 5); wind-PV days from kernel density estimation and a Frank copula, 500 samples reduced
by k-means++ to ``n_scenarios`` probability-weighted days (004 eqs. (4)-(5),
:func:`grid.scenarios.copula_scenarios`). Up to two EVS sites among buses 2-33, installed power up to
400 kW each (004 section 5). Each EVS is the aggregated battery of its station's EV fleet (004 eqs.
(6)-(9), :func:`grid.storage.ev_station`) and is dispatched to flatten the feeder's net load
(:func:`grid.storage.flatten`: 004 names no lower-level formula; fig. 8 describes charging at the
midday DG peak and discharging when DG is low, which the flattening reproduces).

Decision vector ``x = [site_1, site_2 | P_1, P_2]``: ``site_k`` an integer index into the candidate
buses (``int_mask``), ``P_k`` the installed power in kW. Two EVS at one bus add up
(``duplicates="merge"``) or make the plan infeasible (``"forbid"``, a constraint column).

Objectives (all minimised, 004's order; expected values over the scenarios, probability-weighted):

========== ======================================================================= ==========
name       004                                                                     unit
========== ======================================================================= ==========
``vfluct`` f1, eq. (1): ``sum_i sum_t |V_it - Vbar_i|`` over all buses and 24 h       pu
``loss``   f2, eq. (2): ``c_loss sum_t sum_ij I^2 r`` over the day, ``c_loss = 1``    MWh/day
``storage`` f3, eq. (3): ``sum_j sum_t P_cha,j,t dt``, energy the devices charge      MWh/day
========== ======================================================================= ==========

Readings (004 is silent or garbled; each a named :class:`Config004` value where it is an input):

* eq. (1)'s ``Vbar_i`` ("the standard voltage"): the bus's daily mean voltage
  (``voltage_reference="mean"``, default). 004's table 1 has f1 *rise* when DG is added (0.320 ->
  0.369), which a deviation from 1.0 pu would not do (DG lifts the sagging voltages);
  ``"rated"`` (``Vbar = 1``) is the option.
* eq. (2)'s ``c_loss``: 1, so f2 is the day's loss energy; in MWh/day it is 1.54 for scenario 1
  here, beside 004's 1.657 (table 1 gives no unit).
* eq. (3) (garbled: ``P_cha(j)/P_dis(j)`` summed over branches): the energy the two devices charge
  in a day, MWh (004's 2.57 and 2.33 fit two devices of about 400 kW charging for about 3 h).
* The EV fleets: table A1's columns 1 and 2 feed EVS 1 and 2 (``evs_stations``; it has four station
  columns and two EVS). 002's battery and charger data are assumed (:func:`grid.ev.fleet_004`).
  Table A1's ~400 and ~700 vehicles need 6.8 and 9.8 MWh a day, which 400 kW cannot deliver (9.6
  MWh in 24 h at full power); ``fleet_share`` (default 0.15) is the share of them that uses the
  EVS, chosen so that the two EVS charge about table 1's 2.57 MWh a day.
* DG ratings are not given (``wind_kw``, ``pv_kw``): 1000 kW each. The ratio of scenario 2's loss
  to scenario 1's is then 0.69; 004's 0.571 is out of reach on this resource (the lowest ratio over
  equal ratings is 0.687, at about 1150 kW each; more DG raises the loss again).
* 004's scenario 4 "normal energy storage": batteries at the same sites and powers, ``battery_hours``
  (4 h) of energy, SOC 0.1-0.9, efficiency 0.95, cyclic.
* The load: the reference year's mean H0 day on every bus (004 gives no load curve), as in
  :func:`grid.scenarios.copula_scenarios`; unity power factor for DG and storage.

Scenarios of 004 table 1 (``scenario=``): 1 no DG; 2 DG without storage; 3 DG + EVS (the
optimisation); 4 DG + normal batteries. Scenarios 1 and 2 have no decision: :meth:`baseline` gives
their objectives as fixed operating points. Scenario 4 optimises battery sites and powers, or
evaluates scenario 3's plan (``EVSSiting(scenario=4).compute(X3)``).

Constraints (``out["G"]``, feasible ``<= 0``): ``unserved`` kWh/day the EVS could not give their
vehicles (their power too small for the fleet), ``pf_failed`` share of non-converged power flows,
and ``duplicate_sites`` with ``duplicates="forbid"``.

Example
-------
>>> from problems.evs_siting import EVSSiting
>>> prob = EVSSiting(config={"n_scenarios": 3, "n_samples": 60})
>>> out = prob.compute(prob.encode([18, 33], [400.0, 400.0])[None])
>>> float(out["unserved_kwh"][0]), bool(out["vfluct"][0] < prob.baseline(2)["vfluct"])
(0.0, True)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pymoo.core.problem import Problem

from ._common import (
    ChunkedEvaluation,
    ProblemConfigError,
    as_float_vector,
    config_from,
    memory_budget,
    objective_list,
    penalise_failed,
    round_index,
)

__all__ = ["Config004", "EVSSiting", "OBJECTIVES"]

#: name -> (unit, sense)
OBJECTIVES: dict[str, tuple[str, str]] = {
    "vfluct": ("pu", "min"),
    "loss": ("MWh/day", "min"),
    "storage": ("MWh/day", "min"),
}


@dataclass(frozen=True)
class Config004:
    """Every input of 004's study, with its source ([G] given by 004, [A] assumed, see the module
    docstring for the readings)."""

    case: str = "ieee33"  # [G] section 5
    wind_buses: tuple[int, ...] = (14, 20)  # [G]
    pv_buses: tuple[int, ...] = (9, 30)  # [G]
    wind_kw: float = 1000.0  # [A] rating of each wind turbine
    pv_kw: float = 1000.0  # [A] rating of each PV unit
    n_samples: int = 500  # [G] copula samples
    n_scenarios: int = 10  # [A] reduced scenarios
    scenario_seed: int = 0  # [A] seed of the copula sampling and the reduction
    n_evs: int = 2  # [G] at most two EVS
    candidate_min_bus: int = 2  # [G] EVS buses 2..33
    candidate_max_bus: int = 33  # [G]
    p_max_kw: float = 400.0  # [G] installed power of an EVS
    evs_stations: tuple[int, ...] = (0, 1)  # [A] table A1 columns feeding EVS 1, 2
    fleet_share: float = 0.15  # [A] share of table A1's vehicles that use the EVS
    fleet_seed: int = 0  # [A] seed of the fleet sample
    battery_hours: float = 4.0  # [A] scenario 4: energy / power of the normal battery
    battery_soc_min: float = 0.1  # [A]
    battery_soc_max: float = 0.9  # [A]
    battery_efficiency: float = 0.95  # [A]
    voltage_reference: str = "mean"  # [A] eq. (1)'s Vbar_i: "mean" (daily mean) or "rated" (1 pu)
    unserved_tol_kwh: float = 1e-3  # constraint tolerance on unserved EV energy (kWh/day)
    sweeps: int = 4  # Gauss-Seidel passes of the dispatcher over the devices

    def __post_init__(self) -> None:
        if self.wind_kw < 0 or self.pv_kw < 0 or not np.isfinite([self.wind_kw, self.pv_kw]).all():
            raise ProblemConfigError("wind_kw and pv_kw must be finite and >= 0")
        if not 1 <= self.n_scenarios <= self.n_samples:
            raise ProblemConfigError(
                f"need 1 <= n_scenarios <= n_samples, got {self.n_scenarios}, {self.n_samples}"
            )
        if self.n_evs < 1 or len(self.evs_stations) != self.n_evs:
            raise ProblemConfigError(
                f"evs_stations must name {self.n_evs} fleet columns, got {self.evs_stations}"
            )
        if not (0.0 < self.fleet_share <= 1.0):
            raise ProblemConfigError(f"fleet_share must lie in (0, 1], got {self.fleet_share}")
        if not (np.isfinite(self.p_max_kw) and self.p_max_kw > 0):
            raise ProblemConfigError(f"p_max_kw must be positive and finite, got {self.p_max_kw}")
        if self.voltage_reference not in ("mean", "rated"):
            raise ProblemConfigError(
                f"voltage_reference must be 'mean' or 'rated', got {self.voltage_reference!r}"
            )
        if not (self.battery_hours > 0 and 0 <= self.battery_soc_min < self.battery_soc_max <= 1):
            raise ProblemConfigError(
                "battery_hours must be > 0 and 0 <= battery_soc_min < battery_soc_max <= 1"
            )
        if not 0 < self.battery_efficiency <= 1:
            raise ProblemConfigError(f"battery_efficiency must lie in (0, 1], got {self.battery_efficiency}")


@functools.cache
def _scenarios(n_samples: int, n_scenarios: int, seed: int) -> Any:
    """004's copula scenarios of the reference year (cached per arguments)."""
    from grid import profiles, scenarios

    return scenarios.copula_scenarios(
        profiles.reference_year(), np.random.default_rng(seed), n_samples=n_samples, n_scenarios=n_scenarios
    )


@functools.cache
def _station_limits(stations: tuple[int, ...], share: float, seed: int) -> Any:
    """The EVS fleets: table A1 sampled once, ``share`` of each chosen column's vehicles."""
    from grid import ev

    rng = np.random.default_rng(seed)
    v = ev.sample_fleet(ev.fleet_004(), rng)
    keep = np.isin(v.station, stations) & (rng.random(v.n_vehicles) < share)
    v = v.subset(keep)
    # renumber the chosen columns 0..n_evs-1 in the order given
    order = {s: k for k, s in enumerate(stations)}
    kw = {
        f: getattr(v, f) for f in v.__dataclass_fields__ if f not in ("n_stations", "type_names", "station")
    }
    station = np.array([order[int(s)] for s in v.station], dtype=np.int64)
    sub = ev.VehicleSet(**kw, station=station, n_stations=len(stations), type_names=v.type_names)
    return sub, ev.station_limits(sub)


def _expect(values: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
    """Probability-weighted mean over the scenario axis (last) of ``(n, S)`` values, row by row (no
    BLAS product, whose summation order may depend on ``n``: chunks must equal one call)."""
    return (values * w).sum(axis=-1)


def _weights(sc: Any) -> NDArray[np.float64]:
    """The scenario probabilities, checked against the profiles' shapes."""
    weight = getattr(sc, "weight", None)
    if weight is None:
        raise ProblemConfigError("scenarios: a scenario set needs its probabilities ('weight')")
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim != 1 or np.any(w < 0) or not np.all(np.isfinite(w)) or abs(w.sum() - 1.0) > 1e-9:
        raise ProblemConfigError(f"scenarios: weight must be probabilities summing to 1, got {w}")
    for name in ("load_pu", "pv_pu", "wind_pu"):
        a = getattr(sc, name, None)
        if a is None or np.shape(a) != (w.size, 24):
            raise ProblemConfigError(f"scenarios.{name} must have shape ({w.size}, 24)")
    return w


class EVSSiting(ChunkedEvaluation, Problem):
    """Paper 004: site and size two EV-station shared storages on IEEE 33 (module docstring).

    Parameters
    ----------
    scenario : {3, 4}
        004 table 1's scenario to optimise: 3 EVS (default), 4 normal batteries.
    objectives : list of str
        Names from :data:`OBJECTIVES` (default 004's three, in its order).
    duplicates : {"merge", "forbid"}
        Two devices at one bus: their powers add, or a constraint forbids it.
    config : Config004 or mapping, optional
        Every other input (:class:`Config004`); a mapping (as from a campaign TOML) overrides the
        defaults by field name.
    scenarios : ScenarioSet-like, optional
        Days to use instead of the copula scenarios of ``config`` (``(n, 24)`` ``load_pu``,
        ``pv_pu``, ``wind_pu`` and the probabilities ``weight``).
    tol : float
        Power-flow tolerance.
    memory_budget_gib : float, optional
        Working-memory budget of one batched evaluation (see :mod:`problems._common`).
    """

    #: Peak working memory per candidate, bus and power flow (bytes), as DGSiting's with margin for
    #: the dispatch arrays.
    bytes_per_bus_case = 160.0

    def __init__(
        self,
        scenario: int = 3,
        objectives: Sequence[str] | str = ("vfluct", "loss", "storage"),
        duplicates: str = "merge",
        config: Config004 | dict[str, Any] | None = None,
        scenarios: Any = None,
        tol: float = 1e-8,
        memory_budget_gib: float | None = None,
    ) -> None:
        from grid import cases

        cfg = self.config = config_from(Config004, config)
        if scenario not in (3, 4):
            raise ProblemConfigError(
                f"scenario must be 3 (EVS) or 4 (normal storage) to optimise; scenarios 1-2 have no "
                f"decision, use EVSSiting().baseline(1 or 2); got {scenario!r}"
            )
        self.scenario = int(scenario)
        self.objectives = objs = objective_list(objectives, OBJECTIVES)
        self.objective_names = list(objs)
        self.objective_units = [OBJECTIVES[o][0] for o in objs]
        self.objective_senses = [OBJECTIVES[o][1] for o in objs]
        if duplicates not in ("merge", "forbid"):
            raise ProblemConfigError(f"duplicates must be 'merge' or 'forbid', got {duplicates!r}")
        self.duplicates = duplicates
        self.tol = float(tol)
        self.memory_budget_bytes = memory_budget(memory_budget_gib)

        self.net = net = cases.load(cfg.case)
        labels = set(int(b) for b in net.bus)
        for name in ("wind_buses", "pv_buses"):
            missing = [b for b in getattr(cfg, name) if b not in labels]
            if missing:
                raise ProblemConfigError(f"{name}: buses {missing} are not in {net.name!r}")
        cand = np.array([b for b in sorted(labels) if cfg.candidate_min_bus <= b <= cfg.candidate_max_bus])
        cand = cand[cand != net.slack_bus]
        if cand.size == 0:
            raise ProblemConfigError(
                f"no candidate bus in {cfg.candidate_min_bus}..{cfg.candidate_max_bus} on {net.name!r}"
            )
        self.candidates = cand
        self.cand_idx = net.index_of(cand)
        if scenarios is None:
            scenarios = _scenarios(cfg.n_samples, cfg.n_scenarios, cfg.scenario_seed)
        self.scenarios = scenarios
        self._prob = _weights(scenarios)
        self.vehicles, self.limits = _station_limits(tuple(cfg.evs_stations), cfg.fleet_share, cfg.fleet_seed)
        if self.scenario == 3:
            # 004 eq. (7): the expected energy must be deliverable at the largest EVS power at all
            lim = self.limits
            need = lim.departure_kwh.sum(1) - lim.arrival_kwh.sum(1)
            can = (np.minimum(lim.p_ch_max_kw, cfg.p_max_kw) * lim.efficiency[:, None]).sum(1)
            if np.any(need > can):
                raise ProblemConfigError(
                    f"the EVS fleets need {np.round(need, 1).tolist()} kWh/day but at p_max_kw = "
                    f"{cfg.p_max_kw:g} kW their chargers can store only {np.round(can, 1).tolist()} "
                    "kWh/day: the fleet's energy cannot be met by departure (lower fleet_share)"
                )

        # fixed injections (n_scenarios, 24, n_bus): load on every bus, DG at its buses
        S = self.scenarios
        load = np.asarray(S.load_pu)[:, :, None]
        self._p_load = load * net.p_kw
        self._q_load = load * net.q_kvar
        gen = np.zeros_like(self._p_load)
        gen[..., net.index_of(list(cfg.wind_buses))] += cfg.wind_kw * np.asarray(S.wind_pu)[..., None]
        gen[..., net.index_of(list(cfg.pv_buses))] += cfg.pv_kw * np.asarray(S.pv_pu)[..., None]
        self._p_gen = gen
        self.net_load_kw = (self._p_load - gen).sum(-1)  # (S, 24): the feeder's net load the EVS flatten

        n = cfg.n_evs
        xl = np.r_[np.zeros(n), np.zeros(n)]
        xu = np.r_[np.full(n, cand.size - 1.0), np.full(n, cfg.p_max_kw)]
        self.int_mask = np.r_[np.ones(n, bool), np.zeros(n, bool)]
        cons = ["unserved", "pf_failed"] + (["duplicate_sites"] if duplicates == "forbid" else [])
        self.constraint_names = cons
        super().__init__(n_var=2 * n, n_obj=len(objs), n_ieq_constr=len(cons), xl=xl, xu=xu)

    # ------------------------------------------------------------------ decoding
    def _split(self, X: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        n = self.config.n_evs
        site = round_index(X[:, :n], len(self.candidates))
        return site, np.clip(X[:, n : 2 * n], 0.0, self.config.p_max_kw)

    def encode(self, buses: Sequence[int], p_kw: Sequence[float]) -> NDArray[np.float64]:
        """The decision vector of a plan given as bus labels and installed powers (kW)."""
        n = self.config.n_evs
        pos = {int(b): i for i, b in enumerate(self.candidates)}
        b = [int(x) for x in np.ravel(buses)]
        if len(b) != n or any(x not in pos for x in b):
            raise ProblemConfigError(
                f"a plan needs {n} buses among {self.candidates.min()}..{self.candidates.max()}, got {b}"
            )
        p = as_float_vector(p_kw, n, "p_kw")
        if np.any(~np.isfinite(p)) or np.any(p < 0) or np.any(p > self.config.p_max_kw):
            raise ProblemConfigError(
                f"p_kw must be finite and within [0, {self.config.p_max_kw}] kW, got {p.tolist()}"
            )
        return np.r_[[pos[x] for x in b], p].astype(np.float64)

    def decode(self, x: NDArray[np.float64]) -> pd.DataFrame:
        """One plan: a row per device (``device``, ``kind``, ``bus``, ``p_kw``)."""
        site, p = self._split(np.atleast_2d(np.asarray(x, dtype=np.float64)))
        kind = "EVS" if self.scenario == 3 else "battery"
        return pd.DataFrame(
            {"device": np.arange(site.shape[1]), "kind": kind, "bus": self.candidates[site[0]], "p_kw": p[0]}
        )

    # ------------------------------------------------------------------ evaluation
    def devices(self, p_kw: NDArray[np.float64], scenario: int | None = None) -> Any:
        """StorageBounds ``(n, 1, n_evs)`` of the plans' devices (EVS or batteries)."""
        from grid import storage

        cfg = self.config
        if (self.scenario if scenario is None else scenario) == 3:
            dev = storage.ev_station(self.limits, p_kw)
        else:
            dev = storage.battery(
                p_kw,
                cfg.battery_hours * p_kw,
                efficiency=cfg.battery_efficiency,
                soc_min=cfg.battery_soc_min,
                soc_max=cfg.battery_soc_max,
            )
        return dev.expand_dims(1)

    def cases_per_candidate(self) -> int:
        return int(self.scenarios.n_scenarios * 24)

    def _objectives(
        self, vm: NDArray[np.float64], loss_kw: NDArray[np.float64]
    ) -> dict[str, NDArray[np.float64]]:
        """f1 and f2 from |V| ``(n, S, 24, n_bus)`` and the losses ``(n, S, 24)`` (kW)."""
        ref = vm.mean(axis=2, keepdims=True) if self.config.voltage_reference == "mean" else 1.0
        vfluct = np.abs(vm - ref).sum(axis=(2, 3))  # eq. (1) per scenario
        loss = loss_kw.sum(axis=2) / 1000.0  # eq. (2), MWh/day (1 h steps)
        return {"vfluct": _expect(vfluct, self._prob), "loss": _expect(loss, self._prob)}

    def compute(self, X: NDArray[np.float64], scenario: int | None = None) -> dict[str, NDArray[np.float64]]:
        """Every reported quantity of a population (arrays ``(n,)`` unless noted).

        Keys: the objectives ``vfluct`` (pu), ``loss`` (MWh/day), ``storage`` (MWh/day); ``unserved_kwh``
        (kWh/day, expected), ``discharged_mwh`` (MWh/day), ``vmin_pu``, ``vmax_pu``, ``pf_failed``
        (share), ``schedule`` (the :class:`grid.storage.StorageSchedule`, ``(n, S, n_evs, 24)``) and
        ``vm_pu`` (``(n, S, 24, n_bus)``). ``scenario`` evaluates the same plans as scenario 3 (EVS)
        or 4 (batteries) whatever the problem optimises.
        """
        from grid import storage
        from grid.powerflow import solve

        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        n = X.shape[0]
        sc = self.scenario if scenario is None else int(scenario)
        if sc not in (3, 4):
            raise ProblemConfigError(f"compute: scenario must be 3 or 4, got {sc}")
        site, p = self._split(X)
        sched = storage.flatten(self.net_load_kw, self.devices(p, sc), sweeps=self.config.sweeps)
        p_dev = sched.p_net_kw  # (n, S, n_evs, 24)
        idx = self.cand_idx[site]  # (n, n_evs)
        # devices onto buses, a loop over the (two) devices, not over candidates: within one device
        # every (candidate, scenario, hour) is written once; two devices at one bus add up (merge)
        p_kw = np.broadcast_to(self._p_load - self._p_gen, (n, *self._p_load.shape)).copy()
        rows = np.arange(n)
        for d in range(idx.shape[1]):
            p_kw[rows, :, :, idx[:, d]] += p_dev[:, :, d, :]
        q_kvar = np.broadcast_to(self._q_load[None], p_kw.shape)
        res = solve(self.net, p_kw, q_kvar, tol=self.tol)  # the one power-flow call: (n, S, 24, n_bus)
        vm = res.vm_pu  # |V| once: the property recomputes it on every access
        obj = self._objectives(vm, res.loss_kw)
        conv = res.converged.reshape(n, -1)
        w = self._prob
        return {
            "vfluct": obj["vfluct"],
            "loss": obj["loss"],
            "storage": _expect(sched.p_ch_kw.sum(axis=(2, 3)) / 1000.0, w),  # eq. (3) reading, MWh/day
            "unserved_kwh": _expect(sched.unserved_kwh.sum(axis=(2, 3)), w),
            "discharged_mwh": _expect(sched.p_dis_kw.sum(axis=(2, 3)) / 1000.0, w),
            "vmin_pu": vm.reshape(n, -1).min(axis=1),
            "vmax_pu": vm.reshape(n, -1).max(axis=1),
            "pf_failed": 1.0 - conv.mean(axis=1),
            "site": site,
            "schedule": sched,
            "vm_pu": vm,
        }

    def _evaluate_batch(self, X: NDArray[np.float64], out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        c = self.compute(X)
        F = np.column_stack([c[o] for o in self.objectives])
        failed = c["pf_failed"] > 0
        out["F"] = penalise_failed(F, failed)
        cols = [c["unserved_kwh"] - self.config.unserved_tol_kwh, c["pf_failed"]]
        if self.duplicates == "forbid":
            s = np.sort(c["site"], axis=1)
            cols.append((s[:, 1:] == s[:, :-1]).sum(axis=1).astype(float))
        G = np.column_stack(cols)
        out["G"] = np.where(np.isfinite(G), G, 1.0)
        out["vmin_pu"] = c["vmin_pu"]

    # ------------------------------------------------------------------ fixed operating points
    def baseline(self, scenario: int) -> dict[str, Any]:
        """004 table 1's scenarios 1 (no DG) and 2 (DG, no storage) as fixed operating points:
        ``vfluct`` (pu), ``loss`` (MWh/day), ``vmin_pu``, ``vm_pu`` ``(S, 24, n_bus)``."""
        from grid.powerflow import solve

        if scenario not in (1, 2):
            raise ProblemConfigError(f"baseline: scenario must be 1 or 2 (no decision), got {scenario!r}")
        p = self._p_load - (self._p_gen if scenario == 2 else 0.0)
        res = solve(self.net, p[None], self._q_load[None], tol=self.tol)
        obj = self._objectives(res.vm_pu, res.loss_kw)
        return {
            "vfluct": float(obj["vfluct"][0]),
            "loss": float(obj["loss"][0]),
            "vmin_pu": float(res.vm_pu.min()),
            "vm_pu": res.vm_pu[0],
        }
