"""``SOPPlanning``: paper 002's SOP sizing with EV stations as flexible storage, on IEEE 33.

Fang et al., *EV and Soft Open Points Co-Planning for Active Distribution Grid Flexibility
Enhancement*, Energies 2025 (paper 002).

The study (002 sections 4-5)
----------------------------
IEEE 33 with PV at buses 7, 15, 22, 26 (800, 800, 500, 400 kW) and wind at 9, 23, 30 (800, 500,
300 kW); SOPs on the ties 12-22, 25-29 and 8-21 (:mod:`grid.sop`); four EV charging stations with
002's fleet (:func:`grid.ev.fleet_002`, about 2000 vehicles). Plans (``plan=``):

1. traditional ADN: no SOP, uncoordinated charging (no decision: :meth:`SOPPlanning.baseline`);
2. SOPs only (charging uncoordinated);
3. SOPs and a conventional battery at each station bus (energy a decision, :func:`grid.storage.battery`);
4. SOPs and the stations dispatched as generalized storage (002 eqs. (1), (4)-(6):
   :func:`grid.ev.station_limits`, :func:`grid.storage.ev_station`).

Decision vector: ``[S_12-22, S_25-29, S_8-21]`` kVA in ``[0, s_max_kva]`` (rounded to ``step_kva``
steps, 10 kVA as in 002's tables; 0 for continuous), plan 3 adds ``[E_1..E_4]`` kWh.

Evaluation of a population (vectorised over candidates and the 24 hours; no loop per candidate):

1. The fixed day: 002's fig. 4 is not published, so the load, PV and wind are the annual mean day
   of :func:`grid.profiles.reference_year` (load scaled to peak at the nominal 3715 kW).
2. Storage: plan 3's batteries and plan 4's stations flatten the feeder's net load
   (:func:`grid.storage.flatten`). Plan 4's schedule does not depend on the SOP ratings, so it is
   computed once per problem (a decomposition: 002 solves both in one MISOCP).
3. DG above the demand is curtailed (no export, :func:`grid.curtailment.export_curtailment`).
4. A sweep without SOPs, then :func:`grid.sop.dispatch` (losses + voltage term within the discs),
   then the sweep with the SOP injections, from which every figure comes.

Objectives: ``cost`` 002 eq. (15), ``F_J = C_SI + C_OMS + C_PC + C_NLC`` in 10^4 CNY/yr (eqs.
(11)-(13), (16)-(17); C_SI includes plan 3's battery), and optionally ``flexibility``, 002 eq. (21)
``F = I_F - I_BF`` (maximised; :mod:`grid.flexibility`).

Readings (each a named :class:`Config002` value; 002 does not give them):

* plan 3's battery price: ``battery_cny_per_kwh`` 1200 + ``battery_cny_per_kw`` 800 (E/P
  ``battery_hours`` 2 h, ``battery_life_y`` 10): 238.4 CNY per kWh-yr with the CRF, above the best
  operating saving a kWh buys on this day (124 CNY per kWh-yr at bus 15), so plan 3's optimum
  builds no battery; it pays below about 0.52 x that price
  (``python -m experiments.paper002.battery_breakeven``).
* annualisation: the capital recovery factor at 002 table 1's 8 % (``annuity="crf"``); eq. (12) as
  printed is ``"straight"``. O&M: ``om_factor`` 0.2 of the annualised SOP investment (table 5).
* ``C_NLC``: network and SOP converter losses at the purchase price (``c_loss = c_g``); the losses
  are also in ``P_MG``, so they count in ``C_PC`` too, as table 5's layout implies.
* the stations' buses (not given): 7, 15, 22, 26, co-located with PV.
* the aggregate EV storage power ``[-5, 5]`` MW (table 1): shared among the stations by their
  vehicle counts, as each station's converter rating.
* the voltage band (not given): 0.93-1.07 pu, a *reported* quantity by default (``voltage_hard=
  False``): with uncoordinated charging (plans 1-3) no usual band is attainable on this feeder
  (Vmin about 0.8 pu), so candidates are never dropped for it; ``voltage_hard=True`` makes it a
  constraint. The dispatcher's voltage term has the weight ``voltage_weight_kw``.
* ``I_BF``'s current limits: :func:`grid.flexibility.with_current_limits` (2 x nominal current,
  ``current_limit_rule="nominal"``; ``"uniform"`` rates every branch at 2 x the head branch's
  nominal current, under which I_BF falls with SOPs as in 002's table 6).
  ``I_F``'s net load is the non-flexible one (load + uncoordinated EVs - DG used); ``S_head`` =
  ``head_kva`` (1.2 x the 4.6 MVA nominal demand).

Example
-------
>>> from problems.sop_planning import SOPPlanning
>>> prob = SOPPlanning(plan=2)
>>> out = prob.compute(prob.encode([210, 310, 380]))
>>> bool(out["cost"][0] < prob.baseline()["cost"][0])    # SOPs lower 002's annual cost
True
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pymoo.core.problem import Problem

from ._common import ProblemConfigError, as_float_vector, config_from, objective_list, penalise_failed

__all__ = ["Config002", "SOPPlanning", "OBJECTIVES"]

#: name -> (unit, sense)
OBJECTIVES: dict[str, tuple[str, str]] = {"cost": ("1e4 CNY/yr", "min"), "flexibility": ("-", "max")}


@dataclass(frozen=True)
class Config002:
    """Every input of 002's study ([G] given by 002, [A] assumed; module docstring)."""

    case: str = "ieee33"  # [G]
    sop_ties: tuple[tuple[int, int], ...] = ((12, 22), (25, 29), (8, 21))  # [G]
    loss_coeff: float = 0.02  # [G] table 1 "loss factor" 0.98 read as A = 0.02
    s_max_kva: float = 1000.0  # [A] upper bound of a rating
    step_kva: float = 10.0  # [G] tables 4's 10 kVA steps; 0 = continuous
    pv_buses: tuple[int, ...] = (7, 15, 22, 26)  # [G]
    pv_kw: tuple[float, ...] = (800.0, 800.0, 500.0, 400.0)  # [G]
    wind_buses: tuple[int, ...] = (9, 23, 30)  # [G]
    wind_kw: tuple[float, ...] = (800.0, 500.0, 300.0)  # [G]
    station_buses: tuple[int, ...] = (7, 15, 22, 26)  # [A]
    fleet_seed: int = 0  # [A]
    ev_aggregate_kw: float = 5000.0  # [G] table 1, read as the total station power
    sop_unit_cny_per_kva: float = 1000.0  # [G] table 1
    sop_life_y: float = 20.0  # [G]
    rate: float = 0.08  # [G]
    om_factor: float = 0.2  # [A]
    annuity: str = "crf"  # [A] "crf" or "straight" (eq. (12) as printed)
    battery_e_max_kwh: float = 2000.0  # [A] plan 3 bound per station bus
    battery_hours: float = 2.0  # [A] E / P
    battery_cny_per_kwh: float = 1200.0  # [A]
    battery_cny_per_kw: float = 800.0  # [A]
    battery_life_y: float = 10.0  # [A]
    battery_efficiency: float = 0.95  # [A]
    battery_soc_min: float = 0.1  # [A]
    battery_soc_max: float = 0.9  # [A]
    voltage_weight_kw: float = 100.0  # [A] dispatcher's voltage term
    v_min_pu: float = 0.93  # [A]
    v_max_pu: float = 1.07  # [A]
    voltage_hard: bool = False  # [A] band reported (False) or a constraint (True)
    current_limit_factor: float = 2.0  # [A] I_max = factor x nominal current
    current_limit_rule: str = "nominal"  # [A] "nominal" (per branch) or "uniform" (head branch's)
    head_kva: float = 5520.0  # [A] S_head for F^up_MG
    flex_mode: str = "direction"  # [A] eq. (18) reading, or "literal"
    unserved_tol_kwh: float = 1e-3

    def __post_init__(self) -> None:
        if len(self.pv_buses) != len(self.pv_kw) or len(self.wind_buses) != len(self.wind_kw):
            raise ProblemConfigError("pv_buses/pv_kw and wind_buses/wind_kw must have equal lengths")
        if min((*self.pv_kw, *self.wind_kw), default=0.0) < 0:
            raise ProblemConfigError("DG ratings must be >= 0 kW")
        if not (np.isfinite(self.s_max_kva) and self.s_max_kva > 0) or self.step_kva < 0:
            raise ProblemConfigError("s_max_kva must be positive and step_kva >= 0")
        if self.annuity not in ("crf", "straight"):
            raise ProblemConfigError(f"annuity must be 'crf' or 'straight', got {self.annuity!r}")
        if not (self.v_min_pu < self.v_max_pu):
            raise ProblemConfigError("v_min_pu must be below v_max_pu")
        if not (self.battery_hours > 0 and self.battery_e_max_kwh > 0 and self.ev_aggregate_kw > 0):
            raise ProblemConfigError("battery_hours, battery_e_max_kwh and ev_aggregate_kw must be > 0")
        if len(self.station_buses) != 4:
            raise ProblemConfigError(
                f"002's fleet has 4 stations: station_buses needs 4 buses, got {self.station_buses}"
            )


@functools.cache
def _day() -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The annual mean day of the reference year: load (peak 1), PV and wind per unit, each (24,)."""
    from grid import generation, profiles

    y = profiles.reference_year()
    load = y.load_pu.reshape(365, 24).mean(0)
    pv = generation.pv_power_pu(y.ghi_w_m2).reshape(365, 24).mean(0)
    wind = generation.wind_power_pu(y.wind_speed_m_s).reshape(365, 24).mean(0)
    return load / load.max(), pv, wind


@functools.cache
def _fleet(seed: int) -> tuple[Any, Any, NDArray[np.float64], NDArray[np.float64]]:
    """002's fleet sampled once: vehicles, station limits, uncoordinated load (4, 24), counts (4,)."""
    from grid import ev

    v = ev.sample_fleet(ev.fleet_002(), np.random.default_rng(seed))
    counts = np.bincount(v.station, minlength=v.n_stations).astype(float)
    return v, ev.station_limits(v), ev.uncoordinated_load_kw(v), counts


class SOPPlanning(Problem):
    """Paper 002: size SOPs on three ties of IEEE 33, with plans 2-4 (module docstring).

    Parameters
    ----------
    plan : {2, 3, 4}
        002's plan to optimise (plan 1 has no decision: :meth:`baseline`).
    objectives : list of str
        ``["cost"]`` (default) or ``["cost", "flexibility"]`` for a Pareto front.
    config : Config002 or mapping, optional
    tol : float
        Power-flow tolerance.
    """

    def __init__(
        self,
        plan: int = 4,
        objectives: Sequence[str] | str = ("cost",),
        config: Config002 | dict[str, Any] | None = None,
        tol: float = 1e-8,
    ) -> None:
        from grid import cases, flexibility, sop, storage, tariffs

        cfg = self.config = config_from(Config002, config)
        if plan not in (2, 3, 4):
            raise ProblemConfigError(
                f"plan must be 2, 3 or 4 to optimise; plan 1 has no decision, use SOPPlanning().baseline(); "
                f"got {plan!r}"
            )
        self.plan = int(plan)
        self.objectives = objs = objective_list(objectives, OBJECTIVES)
        self.objective_names = list(objs)
        self.objective_units = [OBJECTIVES[o][0] for o in objs]
        self.objective_senses = [OBJECTIVES[o][1] for o in objs]
        self.tol = float(tol)
        net = cases.load(cfg.case)
        labels = set(int(b) for b in net.bus)
        for name in ("pv_buses", "wind_buses", "station_buses"):
            missing = [b for b in getattr(cfg, name) if b not in labels]
            if missing:
                raise ProblemConfigError(f"{name}: buses {missing} are not in {net.name!r}")
        self.net = flexibility.with_current_limits(
            net, factor=cfg.current_limit_factor, rule=cfg.current_limit_rule
        )
        self.sops = sop.SOPSet.on(self.net, cfg.sop_ties, loss_coeff=cfg.loss_coeff)
        self.price = tariffs.tou_002().hourly("purchase")  # CNY/kWh, (24,)
        load, pv, wind = _day()
        n_bus = net.n_bus
        self._p_load = load[:, None] * net.p_kw  # (24, n_bus)
        self._q_load = load[:, None] * net.q_kvar
        self._dg_idx = net.index_of([*cfg.pv_buses, *cfg.wind_buses])
        self._dg_kw = np.concatenate(
            [pv[:, None] * np.asarray(cfg.pv_kw), wind[:, None] * np.asarray(cfg.wind_kw)], axis=1
        )  # (24, n_dg) available
        self._st_idx = net.index_of(list(cfg.station_buses))
        self.vehicles, self.limits, unc, counts = _fleet(cfg.fleet_seed)
        self._ev_unc = np.zeros((24, n_bus))
        np.add.at(self._ev_unc, (slice(None), self._st_idx), unc.T)
        base = self._p_load.sum(-1) - self._dg_kw.sum(-1)  # (24,) net load the storage flattens
        self.ev_devices = storage.ev_station(self.limits, (cfg.ev_aggregate_kw * counts / counts.sum())[None])
        self.ev_schedule = storage.flatten(base, self.ev_devices)  # plan 4, once: (1, 4, 24)
        if self.ev_schedule.unserved_kwh.sum() > 1e-3:
            raise ProblemConfigError("plan 4: the stations cannot serve their fleet under ev_aggregate_kw")
        n_s = self.sops.n_sop
        n_b = 4 if self.plan == 3 else 0
        xu = np.r_[np.full(n_s, cfg.s_max_kva), np.full(n_b, cfg.battery_e_max_kwh)]
        cons = ["pf_failed"] + (["v_low", "v_high"] if cfg.voltage_hard else [])
        self.constraint_names = cons
        super().__init__(
            n_var=n_s + n_b, n_obj=len(objs), n_ieq_constr=len(cons), xl=np.zeros_like(xu), xu=xu
        )

    # ------------------------------------------------------------------ decoding
    def _split(self, X: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        cfg = self.config
        n_s = self.sops.n_sop
        s = np.clip(X[:, :n_s], 0.0, cfg.s_max_kva)
        if cfg.step_kva > 0:
            s = np.minimum(np.rint(s / cfg.step_kva) * cfg.step_kva, cfg.s_max_kva)
        e = np.clip(X[:, n_s:], 0.0, cfg.battery_e_max_kwh) if self.plan == 3 else np.zeros((len(X), 0))
        return s, e

    def encode(self, sop_kva: Sequence[float], battery_kwh: Sequence[float] = ()) -> NDArray[np.float64]:
        """The decision row ``(1, n_var)`` of a plan: SOP ratings (kVA) and, for plan 3, battery kWh."""
        cfg = self.config
        s = as_float_vector(sop_kva, self.sops.n_sop, "sop_kva")
        if not np.all(np.isfinite(s)) or np.any(s < 0) or np.any(s > cfg.s_max_kva):
            raise ProblemConfigError(f"sop_kva must lie within [0, {cfg.s_max_kva}] kVA, got {s.tolist()}")
        e = np.asarray(battery_kwh, dtype=np.float64).ravel()
        if self.plan == 3:
            e = as_float_vector(battery_kwh if len(e) else 0.0, 4, "battery_kwh")
            if not np.all(np.isfinite(e)) or np.any(e < 0) or np.any(e > cfg.battery_e_max_kwh):
                raise ProblemConfigError(f"battery_kwh must lie within [0, {cfg.battery_e_max_kwh}] kWh")
        elif len(e):
            raise ProblemConfigError(f"battery_kwh is a plan 3 decision, not of plan {self.plan}")
        return np.r_[s, e][None]

    # ------------------------------------------------------------------ evaluation
    def compute(
        self, X: NDArray[np.float64], plan: int | None = None, *, dispatch_scale: float = 1.0
    ) -> dict[str, Any]:
        """Every reported quantity of a population (arrays ``(n,)`` unless noted; costs 10^4 CNY/yr).

        ``cost`` (eq. (15)) and its terms ``c_si``, ``c_oms``, ``c_pc``, ``c_nlc``; ``i_f``, ``i_bf``,
        ``flexibility``; ``vmin_pu``, ``vmax_pu``, ``v_band_violation_pu`` (soft, ``>= 0``);
        ``curtailed_mwh``, ``loss_mwh`` (network + converters), ``pf_failed``; and the profiles
        ``sop`` (:class:`grid.sop.SOPDispatch`, ``(n, 24, 3)``), ``storage_kw`` (``(n, 4, 24)``, net
        demand of the station-bus devices), ``slack_kw`` ``(n, 24)``, ``branch_i_a`` ``(n, 24, n_branch)``
        (current magnitudes, A); eqs. (18)-(19)'s inputs ``net_load_nonflex_kw``, ``storage_up_kw``,
        ``storage_down_kw`` ``(n, 24)``. ``plan=1`` evaluates without
        SOPs and with uncoordinated charging whatever ``X`` holds. ``dispatch_scale`` in [0, 1] scales
        the SOPs' dispatch (every P and Q, so the losses of eq. (8) and the balance of eq. (7) scale
        with it and the discs still hold): 0 idles them, a probe of 002's phase 2
        (``experiments/paper002/flex_diagnosis.py``).
        """
        from grid import curtailment, flexibility, sop, storage
        from grid.powerflow import solve

        cfg = self.config
        if not 0.0 <= dispatch_scale <= 1.0:
            raise ProblemConfigError(f"dispatch_scale must lie in [0, 1], got {dispatch_scale!r}")
        plan = self.plan if plan is None else int(plan)
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        n = X.shape[0]
        s_kva, e_kwh = self._split(X)
        if plan == 1:
            s_kva = np.zeros_like(s_kva)
        dem = np.broadcast_to(self._p_load, (n, 24, self.net.n_bus)).copy()
        st_kw = np.zeros((n, 4, 24))
        st_up = st_down = np.zeros((n, 24))
        if plan == 4:
            sched = self.ev_schedule
            st_kw[:] = sched.p_net_kw[0]
            st_up, st_down = flexibility.storage_up_down(
                sched.p_ch_kw, sched.p_dis_kw, sched.energy_kwh, self.ev_devices
            )
            st_up, st_down = np.broadcast_to(st_up, (n, 24)), np.broadcast_to(st_down, (n, 24))
            fixed = self._p_load
        else:
            fixed = self._p_load + self._ev_unc
            dem += self._ev_unc
        if plan == 3 and e_kwh.shape[1] == 4:
            p_bat = e_kwh / cfg.battery_hours
            dev = storage.battery(
                p_bat,
                e_kwh,
                efficiency=cfg.battery_efficiency,
                soc_min=cfg.battery_soc_min,
                soc_max=cfg.battery_soc_max,
            )
            base = np.broadcast_to(fixed.sum(-1) - self._dg_kw.sum(-1), (n, 24))
            sched = storage.flatten(base, dev)
            st_kw = sched.p_net_kw
            st_up, st_down = flexibility.storage_up_down(sched.p_ch_kw, sched.p_dis_kw, sched.energy_kwh, dev)
        dem[..., self._st_idx] += st_kw.transpose(0, 2, 1)
        cut = curtailment.export_curtailment(dem, self._dg_kw)  # (n, 24, n_dg): no export
        dg_used = self._dg_kw - cut
        p = dem.copy()
        np.add.at(p, (slice(None), slice(None), self._dg_idx), -dg_used)
        q = np.broadcast_to(self._q_load, p.shape)
        if plan == 1 or not np.any(s_kva > 0):
            res = solve(self.net, p, q, tol=self.tol)
            d = sop.SOPDispatch(*(np.zeros((n, 24, self.sops.n_sop)),) * 5)
        else:
            base_pf = solve(self.net, p, q, tol=self.tol)
            d = sop.dispatch(
                self.sops,
                s_kva[:, None, :],
                np.nan_to_num(base_pf.v_pu, nan=1.0),
                np.nan_to_num(base_pf.i_a),
                voltage_weight_kw=cfg.voltage_weight_kw,
            )
            if dispatch_scale != 1.0:
                d = sop.SOPDispatch(*(dispatch_scale * getattr(d, f.name) for f in dataclasses.fields(d)))
            dp, dq = d.injections(self.sops)
            res = solve(self.net, p + dp, q + dq, tol=self.tol)
        # costs, 002 eqs. (11)-(17), CNY/yr
        inv, om = sop.annual_cost(
            s_kva,
            unit_cny_per_kva=cfg.sop_unit_cny_per_kva,
            life_y=cfg.sop_life_y,
            rate=cfg.rate,
            om_factor=cfg.om_factor,
            annuity=cfg.annuity,
        )
        if plan == 3:
            crf = sop.capital_recovery_factor(cfg.rate if cfg.annuity == "crf" else 0.0, cfg.battery_life_y)
            inv = inv + crf * (
                cfg.battery_cny_per_kwh * e_kwh.sum(1)
                + cfg.battery_cny_per_kw * e_kwh.sum(1) / cfg.battery_hours
            )
        slack = res.slack_p_kw  # (n, 24)
        loss = res.loss_kw + d.loss_kw.sum(-1)
        c_pc = 365.0 * (np.maximum(slack, 0.0) * self.price).sum(-1)  # eq. (16)
        c_nlc = 365.0 * (loss * self.price).sum(-1)  # eq. (17), c_loss = c_g
        total = inv + om + c_pc + c_nlc  # eq. (15)
        # flexibility, eqs. (18)-(21)
        p_nl = fixed.sum(-1) - dg_used.sum(-1)  # (n, 24) the non-flexible net load
        fu, fd = flexibility.up_down(slack, cfg.head_kva, st_up, st_down)
        i_f = flexibility.flexibility_index(fu, fd, p_nl, mode=cfg.flex_mode)
        i_bf = flexibility.branch_loading_index(res.i_a, self.net.i_max_a)
        vm = res.vm_pu.reshape(n, -1)
        vmin, vmax = vm.min(1), vm.max(1)
        return {
            "cost": total / 1e4,
            "c_si": inv / 1e4,
            "c_oms": om / 1e4,
            "c_pc": c_pc / 1e4,
            "c_nlc": c_nlc / 1e4,
            "i_f": i_f,
            "i_bf": i_bf,
            "flexibility": flexibility.flexibility(i_f, i_bf),
            "vmin_pu": vmin,
            "vmax_pu": vmax,
            "v_band_violation_pu": np.maximum(np.maximum(cfg.v_min_pu - vmin, vmax - cfg.v_max_pu), 0.0),
            "curtailed_mwh": cut.sum(axis=(1, 2)) / 1e3,
            "loss_mwh": loss.sum(-1) / 1e3,
            "pf_failed": 1.0 - res.converged.reshape(n, -1).mean(1),
            "sop_kva": s_kva,
            "battery_kwh": e_kwh,
            "sop": d,
            "storage_kw": st_kw,
            "slack_kw": slack,
            "branch_i_a": np.abs(res.i_a),
            "net_load_nonflex_kw": p_nl,
            "storage_up_kw": np.broadcast_to(st_up, (n, 24)),
            "storage_down_kw": np.broadcast_to(st_down, (n, 24)),
        }

    def baseline(self) -> dict[str, Any]:
        """002's plan 1 (traditional ADN): :meth:`compute` without SOPs or storage, one row."""
        return self.compute(np.zeros((1, self.n_var)), plan=1)

    def _evaluate(self, X: NDArray[np.float64], out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        c = self.compute(X)
        sign = {"max": -1.0, "min": 1.0}
        F = np.column_stack([sign[OBJECTIVES[o][1]] * c[o] for o in self.objectives])
        failed = c["pf_failed"] > 0
        out["F"] = penalise_failed(F, failed)
        cols = [c["pf_failed"]]
        if self.config.voltage_hard:
            cols += [self.config.v_min_pu - c["vmin_pu"], c["vmax_pu"] - self.config.v_max_pu]
        G = np.column_stack(cols)
        out["G"] = np.where(np.isfinite(G), G, 1.0)
        out["vmin_pu"] = c["vmin_pu"]
        out["v_band_violation_pu"] = c["v_band_violation_pu"]
