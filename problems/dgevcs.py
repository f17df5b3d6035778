"""``DGEVCSPlanning``: paper 003's bi-level DG / EV-charging-station planning model.

Upper level (003 sections 4.1 and 6.1): how many 100 kW wind and PV units to install at the
candidate buses (integers 0-10) and how large to build each EV charging station (kW, bounded).
Lower level (003 section 4.2): for every candidate and typical day, the EVs' charging (and, in V2G
mode, discharging) is scheduled by the vectorised dispatcher of :mod:`grid.dispatch` (one call per
population); the feeder is then solved for every candidate, typical day and hour in ONE call of
:func:`grid.powerflow.solve` on a ``(n_candidates, n_scenarios, 24, n_bus)`` batch.

The lower level's objective (``lower_level=``)
----------------------------------------------
``"eq20"`` (default): 003 eq. (20), ``max f_L = w1 f*_1 + w2 f*_2 + w3 f*_3 + w4 f*_4``, linearised
per kWh at the candidate's own operating point, so that the dispatcher (which minimises a linear
cost per hour) can take it. For candidate ``c`` and typical day ``l`` the dispatcher is handed,
per kWh charged / discharged in hour ``t`` (:meth:`DGEVCSPlanning.lower_level_signal`)::

    price_charge(t)    = -(d f_L / d P_c(t)) * s,     value_discharge(t) = (d f_L / d P_d(t)) * s
    d f*_1 / d P_c = (c_e - c_i + e_EV) / F1_day      d f*_1 / d P_d = (c_i - c_f - c_b) / F1_day
    d f*_3 / d P_c = -d f*_3 / d P_d = -F3_ref (P_e(t) - P_ave) / (24 F3^3)
    d f*_4 / d P_c = alpha2 (c_cb - c_e(t)) / (c_cb^2 E_day F4_ref)

(eq. (5) inside eq. (21); eqs. (13), (23); eq. (24)); ``P_e`` is the equivalent load of eq. (13)
WITHOUT the V2G group (load minus the candidate's DG output on that day plus the plug-and-charge
load its stations serve), ``F3`` its standard deviation, ``F1_day = F_l1_ref / 365`` (eq. (21) is a
day's profit; its reference ``F_l1_ref`` is the best yearly ``operating_profit`` -- F1 WITHOUT the
investment, which eq. (21) does not contain -- over the reference population of
:meth:`DGEVCSPlanning.reference_values`, with the ``"owner_price"`` lower level), ``c_cb`` the
day-mean charging price, ``E_day`` the fleet's desired daily charge, and ``s = F1_day / w1`` turns
the signal into CNY-equivalent per kWh (a positive factor: the schedule does not depend on it).
``F3_ref``, ``F4_ref`` are the ``composite``'s (``norm_ref``, or the same reference population).
The weights ``w1..w4`` are ``Config003.lower_weights``: by default eq. (16)'s AHP weights for
schemes 1-2 and ``(1, 0, 0, 0)`` for scheme 3, whose operator maximises its own profit (eq. (21)
alone; 003's scheme-3 unit charging cost 1.171 and load fluctuation 663 kW, both worse than
plug-and-charge, rule out a lower level that weighs F3 and F4). Under ``(1, 0, 0, 0)`` charging goes
to the hours of the largest margin ``c_e - c_i`` (the peak) and nothing is discharged (each kWh
costs the company ``c_f + c_b - c_i`` > 0).
Readings: F2 (voltage quality) has no closed-form marginal; a feeder's voltage drop grows with its
net load, so F2 is folded into the load-fluctuation term (weight ``w2 + w3``); the network-loss
part of eq. (21) and the completion part of eq. (24) are left out (every schedule delivers the same
energy). The former rule "no discharge where ``P_e`` is at or below its daily mean" is not in 003:
it is ``Config003.discharge_above_mean_only`` (off by default). So charging goes to the net-load
valley and, where it pays for eq. (20) although the company pays ``c_f + c_b`` per kWh (eq. (5)),
V2G clusters discharge. 003's rule that a cluster discharges only after its initial charge is
complete (``Config003.charge_first``) limits the evening discharge to the night cars that arrive
well before the evening peak. Without the mean-load rule some clusters also discharge in the night
valley while the same station charges other clusters at its full kW (the linearised F4 credits every
kWh charged below the mean price, cycled ones included); see "station converters" below.

``"owner_price"``: the V2G owners' prices only (charging ``c_e(t)``, discharging ``c_f(t) - c_b``,
:func:`grid.tariffs.v2g_prices`), the same on every typical day. Under 002's peak hours this never
discharges (the evening is a "normal" period), which is why it is not the default.

Decision vector (``n_var = n_wind + n_pv + n_evcs``; IEEE 33: 3 + 3 + 5 = 11)::

    x = [wind units at wind_buses | PV units at pv_buses | EVCS capacity (kW) at evcs_buses]

The unit counts are integers (``int_mask``; continuous values are rounded, so the problem also
works without a repair).

==============  ===================  ===========================================================
case            sites                003
==============  ===================  ===========================================================
``ieee33``      wind 13, 23, 31;     section 6.1
                PV 7, 21, 28;
                EVCS 4, 8, 14, 20, 29
``pge69``       wind 10, 33, 38;     section 6.3 (table 8 prints EVCS "31" where the text says
                PV 21, 50, 66;       32; the text's 32 is used)
                EVCS 14, 32, 40, 45,
                61
==============  ===================  ===========================================================

Objectives (``objectives=``; ``out["F"]`` minimises, maximised ones are negated)
--------------------------------------------------------------------------------
==========================  ===========================================  =======  =====
name                        003                                          unit     sense
==========================  ===========================================  =======  =====
``profit``                  F1, eqs. (4)-(10): comprehensive profit      CNY/yr   max
``voltage_quality``         F2, eq. (11)                                 pu       max
``load_fluctuation``        F3, eqs. (12)-(13)                           kW       min
``charging_satisfaction``   F4, eq. (14)                                 pu       max
``composite``               eqs. (15)-(16), AHP weights 0.375, 0.125,    pu       max
                            0.125, 0.375
==========================  ===========================================  =======  =====

Schemes of 003 section 6.2: scheme 1 = ``ev_mode="v2g"`` with the four objectives (default);
scheme 2 = ``ev_mode="plug"`` with the four objectives; scheme 3 = ``ev_mode="v2g"``,
``objectives=["profit"]``. ``scheme=1|2|3`` sets both.

Readings of the paper (where 003 is garbled or silent; all overridable in :class:`Config003`)
---------------------------------------------------------------------------------------------
* Typical-day weights ``T_l`` are day counts (they sum to 365): F1 is a yearly sum, F2-F4 are
  day-weighted means (``T_l / 365``), as eqs. (11), (12), (14) write.
* Eq. (7): the fixed cost ``c_g`` is paid for every station (all five are built; capacity is the
  decision). This reproduces table 5's investment of schemes 1 and 2 to 0.1 % (checked in the
  tests).
* Eq. (5)'s last bracket ``ce Pc - cf Pd - cb Pd`` is the company's net EV revenue (table 5's
  "charging station sales revenue": it closes table 4's profit exactly).
* Eq. (9) prices the losses at the sale price ``co(t)``, as printed.
* Eq. (10): ``P_EV`` is the EV charging energy (table 5's environmental benefit of schemes 1 and 2
  is reproduced from table 7's energies with it).
* Eq. (11): the voltage-quality band is not given; 0.90-1.10 pu (rated 1.0) is used, the band under
  which 003's reported F2 values (0.82-0.99) are attainable; the same band is the voltage
  constraint (eq. 26). ``P_i(t)`` is the net active demand at bus ``i``.
* DG units and stations run at unity power factor (003 gives none); loads keep the feeder's own
  power factor and follow the typical day's ``load_pu``.
* Eq. (13): ``P_EV`` is the EV net demand (charging minus discharging) of the stations.
* Eq. (14): ``c_wcd`` is the share of the EVs' requested energy that was delivered and ``c_cb`` the
  users' mean price per charged kWh (CNY/kWh); 003 defines neither further. Table 6's numbers
  reproduce table 4's F4 with ``alpha = 0.4, 0.6`` under this reading.
* Eq. (15)-(16): 003 normalises with the best values "in the optimisation process", which would
  make the objective change during a run; ``composite`` uses fixed references ``norm_ref`` instead
  (default: the best values over a small deterministic reference population, see
  :meth:`DGEVCSPlanning.reference_values`).
* Eqs. (28)-(30) (SOC limits, departure SOC, one discharge within the stay) hold by construction of
  the dispatcher; what it cannot charge (a station too small) is unserved energy. 003 lets that
  lower the charging completion (F4) rather than forbid it, so the ``ev_unserved`` constraint
  (unserved share of the desired charge minus ``Config003.unserved_max_share``) is off by default
  (share 1.0); lower the share to enforce eq. (29).
* Eq. (18)'s total DG limit is not given: ``Config003.total_dg_max_kw = 5000`` kW. Eq. (19)'s EVCS
  bounds are not given: 100-500 kW (003's plans lie in 150-442 kW).
* DG consumption (003 table 7 "consumption of DG"): DG that would flow back through the substation
  beyond ``Config003.export_limit_kw`` (003 states none; default 0 kW, no reverse flow) is curtailed
  by :func:`grid.curtailment.export_curtailment` (lossless hourly balance of the candidate's demand
  after the EV dispatch, every DG site cut by the same share), before the one power flow. Purchase
  (eq. (5)), subsidy (eq. (6)), O&M (eq. (8)), environment (eq. (10)), the equivalent load (eq. (13))
  and ``dg_energy_mwh`` count consumed DG only; ``curtailed_mwh`` reports the rest. An export the
  limit admits is credited at ``c_i`` (eq. (5) as printed). The voltage band stays a constraint
  (eq. (26)), not a curtailment rule. The lower level's signal uses the available DG.
* Station converters: a station's kW bounds the sum of its charging and discharging in an hour
  (reading; 003 says nothing), enforced by :mod:`grid.dispatch`; ``compute`` reports
  ``converter_excess_mwh`` (energy above that shared rating, 0 up to round-off) and
  ``same_hour_cycling_mwh`` (energy a station charges and discharges in the same hour).
* Plug-and-charge beyond a station's kW waits: vehicles are served first come, first served within
  the station's kW and their stay, and what they lack at departure is unserved
  (:func:`grid.dispatch.plug_and_charge`).
* Unstated inputs as settings (defaults: the earlier choices): TOU hours ``Config003.tou_periods``
  (``"002"``; ``"evening_peak"``: peak 08-11 and 18-23 h, valley 23-07 h); wind resource
  ``Config003.wind_capacity_factor`` (None = measured TMY3, capacity factor about 0.15; a number =
  wind speed scaled to that capacity factor, :func:`wind_scaled_days`); total DG cap
  ``total_dg_max_kw``; voltage band ``v_min_pu`` / ``v_max_pu``.
  ``experiments/paper003/sensitivity_ieee33.toml`` varies them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pymoo.core.problem import Problem

from ._common import (
    ChunkedEvaluation,
    ProblemConfigError,
    config_from,
    current_violation,
    default_scenarios,
    memory_budget,
    objective_list,
    penalise_failed,
)

__all__ = [
    "Config003",
    "DGEVCSPlanning",
    "SITES_003",
    "OBJECTIVES",
    "TOU_PERIODS",
    "capital_recovery_factor",
    "default_scenarios",
    "wind_scaled_days",
]

#: Candidate sites of 003 per case: (wind buses, PV buses, EVCS buses).
SITES_003: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = {
    "ieee33": ((13, 23, 31), (7, 21, 28), (4, 8, 14, 20, 29)),  # 003 section 6.1
    "pge69": ((10, 33, 38), (21, 50, 66), (14, 32, 40, 45, 61)),  # 003 section 6.3
}

#: name -> (unit, sense)
OBJECTIVES: dict[str, tuple[str, str]] = {
    "profit": ("CNY/yr", "max"),
    "voltage_quality": ("pu", "max"),
    "load_fluctuation": ("kW", "min"),
    "charging_satisfaction": ("pu", "max"),
    "composite": ("pu", "max"),
}

_FOUR = ("profit", "voltage_quality", "load_fluctuation", "charging_satisfaction")


def _evening_peak_periods() -> tuple[str, ...]:
    """Peak 08-11 and 18-23 h, valley 23-07 h, normal otherwise (hour h = [h, h+1)): a common Chinese
    evening-peak split, a sensitivity for 003's unstated TOU hours."""
    labels = ["normal"] * 24
    for h in (8, 9, 10, 18, 19, 20, 21, 22):
        labels[h] = "peak"
    for h in (23, 0, 1, 2, 3, 4, 5, 6):
        labels[h] = "valley"
    return tuple(labels)


def _tou_periods() -> dict[str, tuple[str, ...]]:
    from grid.tariffs import periods_002

    return {"002": periods_002(), "evening_peak": _evening_peak_periods()}


#: ``Config003.tou_periods`` -> the period label of each hour (003 table 1 gives prices, no hours).
TOU_PERIODS: dict[str, tuple[str, ...]] = _tou_periods()


@functools.cache
def wind_scaled_days(n_days: int | None, scenario_seed: int, capacity_factor: float) -> Any:
    """The default typical days (:func:`default_scenarios`) with the wind speed scaled to a target.

    ``Config003.wind_capacity_factor``: 003's wind resource is unpublished and its tables imply a wind
    capacity factor near 0.475 where the measured TMY3 year gives about 0.15. Every hourly wind speed
    of the year is multiplied by ONE factor ``s``, found by bisection so that the year's mean wind
    output (003 eq. (2), :data:`grid.generation.WIND_003`) -- which equals the day-weighted mean of
    the typical days -- is ``capacity_factor``; the days keep their k-means++ clusters (the
    clustering features are speeds over their maximum, which a common factor does not change), and
    each typical day's ``wind_pu`` is the mean of its member days' scaled output. ``info`` records
    ``wind_speed_scale``. Cached per arguments.
    """
    from dataclasses import replace as dc_replace

    from grid import profiles
    from grid.generation import WIND_003, wind_power_pu

    days = default_scenarios(n_days, scenario_seed)
    speed = profiles.reference_year().daily("wind_speed_m_s")  # (365, 24)

    def cf(scale: float) -> float:
        return float(wind_power_pu(scale * speed, WIND_003).mean())

    grid_s = np.linspace(0.25, 8.0, 311)
    vals = np.array([cf(x) for x in grid_s])
    above = np.flatnonzero(vals >= capacity_factor)
    if above.size == 0 or above[0] == 0:
        raise ProblemConfigError(
            f"wind_capacity_factor {capacity_factor} is not reachable by scaling the wind speed "
            f"(reachable: {vals.min():.3f}-{vals.max():.3f})"
        )
    lo, hi = grid_s[above[0] - 1], grid_s[above[0]]
    for _ in range(60):  # the output rises with the scale below the first crossing
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cf(mid) < capacity_factor else (lo, mid)
    scale = 0.5 * (lo + hi)
    labels = np.asarray(days.info["labels"], dtype=np.int64)
    k = int(labels.max()) + 1
    counts = np.bincount(labels, minlength=k)
    keep = np.flatnonzero(counts > 0)
    total = np.zeros((k, 24))
    np.add.at(total, labels, wind_power_pu(scale * speed, WIND_003))
    wind_pu = total[keep] / counts[keep, None]
    return dc_replace(
        days,
        name=f"{days.name}, wind speed x{scale:.4f} (capacity factor {capacity_factor:g})",
        wind_pu=wind_pu,
        info={**dict(days.info), "wind_speed_scale": scale, "wind_capacity_factor": capacity_factor},
    )


def capital_recovery_factor(rate: float, years: float) -> float:
    """``r (1 + r)^n / ((1 + r)^n - 1)``, 003 eq. (7)."""
    g = (1.0 + rate) ** years
    return rate * g / (g - 1.0)


@dataclass(frozen=True)
class Config003:
    """Every parameter of 003's model, with the paper's values as defaults (section 6.1, tables 1-2).

    Prices are per period ``(peak, normal, valley)`` in CNY/kWh; the hours of each period come from
    :func:`grid.tariffs.tou_003` (003 gives none). Override with :func:`dataclasses.replace` or the
    ``config`` mapping of :class:`DGEVCSPlanning`.
    """

    # ---- sizes and limits
    unit_kw: float = 100.0  # 003 6.1: "the rated power for DG was 100 kW"
    max_units: int = 10  # 003 section 4.1 / eq. (17): 0-10 units per candidate bus
    evcs_min_kw: float = 100.0  # eq. (19), not given by 003 (its plans: 150-442 kW)
    evcs_max_kw: float = 500.0
    total_dg_max_kw: float = 5000.0  # eq. (18), not given by 003
    v_min_pu: float = 0.90  # eqs. (11), (26): not given by 003 (see module docstring)
    v_max_pu: float = 1.10
    v_rated_pu: float = 1.0
    unserved_max_share: float = 1.0  # eq. (29) as a constraint: share of desired charge left unserved
    # ---- table 1 prices (peak, normal, valley), CNY/kWh
    purchase_cny_kwh: tuple[float, float, float] = (0.6129, 0.4430, 0.2189)  # c_i
    sale_cny_kwh: tuple[float, float, float] = (1.11, 0.68, 0.35)  # c_o
    ev_charge_cny_kwh: tuple[float, float, float] = (1.5, 1.0, 0.75)  # c_e
    discharge_comp_cny_kwh: tuple[float, float, float] = (2.20, 1.23, 0.35)  # c_f
    battery_comp_cny_kwh: float = 0.854  # c_b
    # ---- subsidies, costs (section 6.1)
    subsidy_wind_cny_kwh: float = 0.1  # c_b,DWG
    subsidy_pv_cny_kwh: float = 0.36  # c_b,PV
    capex_wind_cny_kw: float = 5381.0  # c_t1 (003 prints CNY/kWh; a capacity cost is per kW)
    capex_pv_cny_kw: float = 4735.0  # c_t2
    capex_evcs_cny_kw: float = 6000.0  # c_t3
    evcs_fixed_cny: float = 3.0e6  # c_g, per station
    life_years: float = 20.0  # n_1
    discount_rate: float = 0.08  # r
    om_wind_cny_kwh: float = 0.0296  # c_om1
    om_pv_cny_kwh: float = 0.0096  # c_om2
    om_evcs_cny_kw_yr: float = 100.0  # c_om3
    # ---- environment (eq. (10), table 2)
    ev_kwh_per_100_miles: float = 21.5  # e_EV
    co2_price_cny_t: float = 80.0  # c_CO2
    ev_co2_saving_kg_per_100_miles: float = 7.0  # Delta
    pollutant_kg_mwh: tuple[float, ...] = (639.2, 3.587, 1.544)  # x_s: CO2, SO2, NOx
    pollutant_a_cny_kg: tuple[float, ...] = (0.01, 1.00, 2.00)  # a_s
    pollutant_b_cny_kg: tuple[float, ...] = (0.02, 6.00, 8.00)  # b_s
    # ---- satisfaction and aggregation
    alpha: tuple[float, float] = (0.4, 0.6)  # eq. (14)
    weights: tuple[float, float, float, float] = (0.375, 0.125, 0.125, 0.375)  # eq. (16), AHP
    days_per_year: float = 365.0
    # ---- EV fleet (003 sections 3, 6.1; see grid.ev.fleet_003)
    fleet_seed: int = 2021  # the fleet is sampled once per problem with this seed
    v2g_share: float = 0.9
    # 003 section 3: "the discharge operation was not allowed until the initial charging of the EVs
    # was complete" (the first charge delivers the whole requirement); False: only what keeps the
    # battery above SOC_min before the one discharge (grid.dispatch.dispatch_heuristic)
    charge_first: bool = True
    # ---- readings where 003 is silent, as named settings (defaults: the earlier fixed choices)
    # The lower level's eq. (20) weights (w1..w4). None: eq. (16)'s ``weights`` for schemes 1-2 and
    # (1, 0, 0, 0) for scheme 3 -- 003's scheme 3 "maximize[s] comprehensive profit" and its tables
    # (unit charging cost 1.171 and load fluctuation 663 kW, both worse than plug-and-charge) rule
    # out a lower level that weighs F3 and F4, so its operator maximises eq. (21) alone.
    lower_weights: tuple[float, float, float, float] | None = None
    # TOU period hours of table 1's prices (003 gives none): "002" (002 section 5, the earlier
    # default; no evening peak) or "evening_peak" (peak 08-11 and 18-23 h, valley 23-07 h).
    tou_periods: str = "002"
    # Wind resource: None = the measured TMY3 Greensboro wind (capacity factor about 0.15); a number
    # = the wind speed scaled by one factor so that the typical days' mean wind output reaches this
    # capacity factor (003's tables 3, 5 and 7 imply 0.475). Only with the default typical days.
    wind_capacity_factor: float | None = None
    # DG consumption (003 table 7): largest reverse flow at the substation, kW; DG beyond it is
    # curtailed (grid.curtailment). 003 does not state it; 0 = no export.
    export_limit_kw: float = 0.0
    # The former rule "no V2G discharge where the day's equivalent load is below its mean" (not in
    # 003; see lower_level_signal). Off by default.
    discharge_above_mean_only: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None or isinstance(v, str):
                continue
            try:
                vals = np.atleast_1d(np.asarray(v, dtype=float))
            except (TypeError, ValueError):
                raise ProblemConfigError(f"Config003.{f.name} must be numeric, got {v!r}") from None
            if not np.all(np.isfinite(vals)):
                raise ProblemConfigError(f"Config003.{f.name} must be finite, got {v}")
        if not 0 <= self.evcs_min_kw < self.evcs_max_kw:
            raise ProblemConfigError(
                f"Config003: need 0 <= evcs_min_kw < evcs_max_kw, got {self.evcs_min_kw}, {self.evcs_max_kw}"
            )
        if not self.v_min_pu < self.v_rated_pu < self.v_max_pu:
            raise ProblemConfigError(
                f"Config003: need v_min_pu < v_rated_pu < v_max_pu, got "
                f"{self.v_min_pu}, {self.v_rated_pu}, {self.v_max_pu}"
            )
        if self.max_units < 1 or self.unit_kw <= 0:
            raise ProblemConfigError(
                f"Config003: max_units >= 1 and unit_kw > 0 needed, got {self.max_units}, {self.unit_kw}"
            )
        if self.total_dg_max_kw <= 0:  # eq. (18)'s constraint divides by it
            raise ProblemConfigError(
                f"Config003: total_dg_max_kw must be positive, got {self.total_dg_max_kw}"
            )
        if len(self.weights) != 4 or len(self.alpha) != 2:
            raise ProblemConfigError("Config003: weights needs 4 entries and alpha 2")
        lw = self.lower_weights
        if lw is not None and (len(lw) != 4 or min(lw) < 0 or sum(lw) <= 0):
            raise ProblemConfigError(
                f"Config003.lower_weights needs 4 non-negative numbers, not all 0 (or None), got {lw}"
            )
        if self.tou_periods not in TOU_PERIODS:
            raise ProblemConfigError(
                f"Config003.tou_periods must be one of {sorted(TOU_PERIODS)}, got {self.tou_periods!r}"
            )
        cf = self.wind_capacity_factor
        if cf is not None and not 0.0 < cf < 1.0:
            raise ProblemConfigError(
                f"Config003.wind_capacity_factor must lie in (0, 1) or be None, got {cf}"
            )
        if self.export_limit_kw < 0:
            raise ProblemConfigError(f"Config003.export_limit_kw must be >= 0, got {self.export_limit_kw}")

    @property
    def crf(self) -> float:
        """Capital recovery factor, 003 eq. (7)."""
        return capital_recovery_factor(self.discount_rate, self.life_years)

    @property
    def emission_value_cny_kwh(self) -> float:
        """``sum_s x_s (a_s + b_s)`` of eq. (10), converted to CNY per kWh of clean energy."""
        x = np.asarray(self.pollutant_kg_mwh)
        return float(
            (x * (np.asarray(self.pollutant_a_cny_kg) + np.asarray(self.pollutant_b_cny_kg))).sum() / 1000.0
        )

    @property
    def ev_env_value_cny_kwh(self) -> float:
        """Eq. (10)'s EV term per kWh charged: ``Delta / e_EV * c_CO2`` (kg -> t)."""
        return self.ev_co2_saving_kg_per_100_miles / self.ev_kwh_per_100_miles * self.co2_price_cny_t / 1000.0


def _hourly(cfg: Config003, prices: tuple[float, float, float]) -> NDArray[np.float64]:
    """(24,) CNY/kWh from a (peak, normal, valley) triple on the period hours ``cfg.tou_periods``."""
    from grid.tariffs import PERIODS

    idx = np.array([PERIODS.index(p) for p in TOU_PERIODS[cfg.tou_periods]], dtype=np.int64)
    return np.asarray(prices, dtype=np.float64)[idx]


class DGEVCSPlanning(ChunkedEvaluation, Problem):
    """003's DG-EVCS bi-level joint planning problem (see the module docstring).

    Parameters
    ----------
    case : str or grid.network.Network
        ``"ieee33"`` or ``"pge69"`` (or a network with explicit sites).
    scheme : int, optional
        003's scheme 1, 2 or 3: sets ``ev_mode`` and ``objectives`` (explicit arguments win).
    ev_mode : {"v2g", "plug"}
        V2G cluster dispatch of the willing and able private cars, or plug-and-charge for all.
    objectives : list of str
        Names from :data:`OBJECTIVES`; default the four of 003.
    wind_buses, pv_buses, evcs_buses : list of int, optional
        Candidate sites (default :data:`SITES_003` of the case).
    scenarios : ScenarioSet-like, optional
        Typical days with ``(n_scenarios, 24)`` ``load_pu``, ``pv_pu``, ``wind_pu`` and ``weight``
        (day counts or probabilities); default :func:`default_scenarios` ``(n_days, scenario_seed)``.
    config : Config003 or mapping, optional
        Model parameters; a mapping overrides fields of the default :class:`Config003`.
    norm_ref : list of 4 floats, optional
        Fixed normalisation ``(F1_max, F2_max, F3_min, F4_max)`` of the ``composite`` objective.
    dispatcher : {"heuristic", "lp"}
        Lower-level solver (``"lp"`` is a slow reference).
    lower_level : {"eq20", "owner_price"}
        The lower level's objective (see the module docstring): 003 eq. (20) linearised (default)
        or the V2G owners' price arbitrage.
    seed : int, optional
        Seed of the fleet sample (default ``config.fleet_seed``).
    n_days, scenario_seed : int
        Number of typical days and k-means++ seed of the default scenarios (ignored with
        ``scenarios``).
    tol : float
        Power-flow tolerance.
    memory_budget_gib : float, optional
        Working-memory budget of one batched evaluation in GiB; a larger population is evaluated in
        chunks with identical results (default :data:`problems._common.MEMORY_BUDGET_BYTES`, 1 GiB).
    """

    #: Peak working memory per candidate, bus and power flow (dispatcher, injections, power flow and
    #: the objectives' temporaries): about 156 bytes measured (peak RSS growth of evaluating 200 and
    #: 800 candidates on IEEE 33 with four typical days, 483 KiB per candidate), with margin.
    bytes_per_bus_case = 256.0

    def __init__(
        self,
        case: Any = "ieee33",
        scheme: int | None = None,
        ev_mode: str | None = None,
        objectives: list[str] | tuple[str, ...] | str | None = None,
        wind_buses: list[int] | None = None,
        pv_buses: list[int] | None = None,
        evcs_buses: list[int] | None = None,
        scenarios: Any = None,
        config: Config003 | dict[str, Any] | None = None,
        norm_ref: list[float] | tuple[float, ...] | None = None,
        dispatcher: str = "heuristic",
        lower_level: str = "eq20",
        seed: int | None = None,
        n_days: int | None = 4,
        scenario_seed: int = 0,
        tol: float = 1e-8,
        memory_budget_gib: float | None = None,
    ) -> None:
        from grid import cases, dispatch, ev

        self.net = cases.load(case) if isinstance(case, str) else case
        net = self.net
        cfg = config_from(Config003, config)
        self.config = cfg
        if scheme is not None and scheme not in (1, 2, 3):
            raise ProblemConfigError(f"scheme must be 1, 2 or 3 (003 section 6.2), got {scheme!r}")
        self.scheme = scheme
        if ev_mode is None:
            ev_mode = "plug" if scheme == 2 else "v2g"
        if ev_mode not in ("v2g", "plug"):
            raise ProblemConfigError(f"ev_mode must be 'v2g' or 'plug', got {ev_mode!r}")
        self.ev_mode = ev_mode
        if objectives is None:
            objectives = ["profit"] if scheme == 3 else list(_FOUR)
        self.objectives = objs = objective_list(objectives, OBJECTIVES)
        self.objective_names = list(objs)
        self.objective_units = [OBJECTIVES[o][0] for o in objs]
        self.objective_senses = [OBJECTIVES[o][1] for o in objs]
        if dispatcher not in ("heuristic", "lp"):
            raise ProblemConfigError(f"dispatcher must be 'heuristic' or 'lp', got {dispatcher!r}")
        self.dispatcher = dispatcher
        if lower_level not in ("eq20", "owner_price"):
            raise ProblemConfigError(f"lower_level must be 'eq20' or 'owner_price', got {lower_level!r}")
        self.lower_level_mode = lower_level
        # 003 eq. (20)'s weights of the lower level (Config003.lower_weights; scheme 3: eq. (21) alone)
        if cfg.lower_weights is not None:
            lw = cfg.lower_weights
        else:
            lw = (1.0, 0.0, 0.0, 0.0) if scheme == 3 else cfg.weights
        self.lower_weights: tuple[float, float, float, float] = tuple(float(v) for v in lw)  # type: ignore[assignment]
        self.tol = float(tol)
        if not (np.isfinite(self.tol) and self.tol > 0):
            raise ProblemConfigError(f"tol must be a positive finite number, got {tol}")
        self.memory_budget_bytes = memory_budget(memory_budget_gib)

        # ---- sites
        default = SITES_003.get(net.name)
        sites = []
        for given, k, what in (
            (wind_buses, 0, "wind_buses"),
            (pv_buses, 1, "pv_buses"),
            (evcs_buses, 2, "evcs_buses"),
        ):
            if given is None:
                if default is None:
                    raise ProblemConfigError(f"network {net.name!r} has no 003 sites: pass {what}")
                given = default[k]
            arr = np.asarray(given, dtype=np.int64).ravel()
            if arr.size == 0:
                raise ProblemConfigError(f"{what} is empty")
            try:
                net.index_of(arr)
            except KeyError as exc:
                raise ProblemConfigError(f"{what}: {exc.args[0]}") from None
            if net.slack_bus in set(arr.tolist()):
                raise ProblemConfigError(f"{what} contains the slack bus {net.slack_bus}")
            sites.append(arr)
        self.wind_buses, self.pv_buses, self.evcs_buses = sites
        self._wind_idx = np.atleast_1d(net.index_of(self.wind_buses))
        self._pv_idx = np.atleast_1d(net.index_of(self.pv_buses))
        self._evcs_idx = np.atleast_1d(net.index_of(self.evcs_buses))
        n_w, n_p, n_e = len(self.wind_buses), len(self.pv_buses), len(self.evcs_buses)
        self.n_wind, self.n_pv, self.n_evcs = n_w, n_p, n_e

        # ---- typical days
        if cfg.wind_capacity_factor is not None:
            if scenarios is not None:
                raise ProblemConfigError(
                    "Config003.wind_capacity_factor rescales the default typical days' wind speed; "
                    "it cannot be combined with explicit scenarios"
                )
            days = wind_scaled_days(n_days, scenario_seed, float(cfg.wind_capacity_factor))
        else:
            days = default_scenarios(n_days, scenario_seed) if scenarios is None else scenarios
        load_pu = np.asarray(days.load_pu, dtype=np.float64)
        if load_pu.ndim != 2 or load_pu.shape[1] != 24:
            raise ProblemConfigError(f"scenarios.load_pu must be (n_scenarios, 24), got {load_pu.shape}")
        for name in ("pv_pu", "wind_pu"):
            if np.shape(getattr(days, name)) != load_pu.shape:
                raise ProblemConfigError(f"scenarios.{name} must have shape {load_pu.shape}")
        w = np.asarray(days.weight, dtype=np.float64)
        if w.shape != (load_pu.shape[0],) or not np.isfinite(w).all() or np.any(w < 0) or w.sum() <= 0:
            raise ProblemConfigError(
                f"scenarios.weight must be {load_pu.shape[0]} finite non-negative numbers, got {w}"
            )
        for name in ("load_pu", "pv_pu", "wind_pu"):
            if not np.isfinite(np.asarray(getattr(days, name), dtype=np.float64)).all():
                raise ProblemConfigError(f"scenarios.{name} must be finite")
        self.scenarios = days
        self.days_per_scenario = w / w.sum() * cfg.days_per_year  # T_l, days per year
        self._load_pu = load_pu
        self._pv_pu = np.asarray(days.pv_pu, dtype=np.float64)
        self._wind_pu = np.asarray(days.wind_pu, dtype=np.float64)

        # ---- prices (24,)
        self._c_sale = _hourly(cfg, cfg.sale_cny_kwh)
        self._c_purchase = _hourly(cfg, cfg.purchase_cny_kwh)
        self._c_ev = _hourly(cfg, cfg.ev_charge_cny_kwh)
        self._c_dis = _hourly(cfg, cfg.discharge_comp_cny_kwh)

        # ---- EV fleet: sampled once, its dispatch model built once (the lower level's data)
        fleet_seed = cfg.fleet_seed if seed is None else int(seed)
        spec = ev.fleet_003(n_stations=n_e)
        if cfg.v2g_share != 0.9:
            spec = replace(
                spec,
                types=tuple(
                    replace(t, v2g_share=cfg.v2g_share) if t.v2g_share > 0 else t for t in spec.types
                ),
            )
        self.vehicles = ev.sample_fleet(spec, np.random.default_rng(fleet_seed))
        v2g_mask = self.vehicles.v2g_able if ev_mode == "v2g" else np.zeros(self.vehicles.n_vehicles, bool)
        self.fleet_model = dispatch.dispatch_model(self.vehicles, v2g_mask)
        if dispatcher == "heuristic":  # 003 section 3: discharge only after the initial charge (charge_first)
            self._dispatch = partial(dispatch.dispatch_heuristic, charge_first=bool(cfg.charge_first))
        else:
            self._dispatch = dispatch.dispatch_lp
        # Owner's prices for the dispatcher (grid.tariffs.v2g_prices reads eq. (5) as c_f - c_b).
        self._price_charge = self._c_ev
        self._value_discharge = self._c_dis - cfg.battery_comp_cny_kwh
        self._signal_ref: NDArray[np.float64] | None = None  # eq. (20)'s references, see lower_level_signal

        # ---- variables and constraints
        xl = np.concatenate([np.zeros(n_w + n_p), np.full(n_e, cfg.evcs_min_kw)])
        xu = np.concatenate([np.full(n_w + n_p, float(cfg.max_units)), np.full(n_e, cfg.evcs_max_kw)])
        self.int_mask = np.zeros(n_w + n_p + n_e, dtype=bool)
        self.int_mask[: n_w + n_p] = True
        self.has_current_limits = bool(np.isfinite(net.i_max_a).any())
        cons = ["dg_total", "v_low", "v_high"]
        if self.has_current_limits:
            cons.append("i_max")
        cons += ["pf_failed", "ev_unserved"]
        self.constraint_names = cons
        self._norm_ref = None if norm_ref is None else np.asarray(norm_ref, dtype=np.float64)
        if self._norm_ref is not None and (
            self._norm_ref.shape != (4,) or not np.isfinite(self._norm_ref).all()
        ):
            raise ProblemConfigError(
                f"norm_ref needs 4 finite numbers (F1_max, F2_max, F3_min, F4_max), got {norm_ref}"
            )
        self._norm_ref_given = self._norm_ref  # the lower level's references never change once set
        super().__init__(n_var=n_w + n_p + n_e, n_obj=len(objs), n_ieq_constr=len(cons), xl=xl, xu=xu)

    # ------------------------------------------------------------------ decoding
    def _split(
        self, X: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Wind units (n, n_wind), PV units (n, n_pv) (rounded, clipped) and EVCS kW (n, n_evcs)."""
        cfg = self.config
        n_w, n_p = self.n_wind, self.n_pv
        units = np.clip(np.rint(X[:, : n_w + n_p]), 0, cfg.max_units)
        cap = np.clip(X[:, n_w + n_p :], cfg.evcs_min_kw, cfg.evcs_max_kw)
        return units[:, :n_w], units[:, n_w:], cap

    def encode(self, wind_units: list[int], pv_units: list[int], evcs_kw: list[float]) -> NDArray[np.float64]:
        """Decision vector (n_var,) of a plan given per candidate site, in the site order."""
        parts = [np.asarray(wind_units, float), np.asarray(pv_units, float), np.asarray(evcs_kw, float)]
        sizes = (self.n_wind, self.n_pv, self.n_evcs)
        if any(p.shape != (s,) for p, s in zip(parts, sizes, strict=True)):
            raise ProblemConfigError(
                f"a plan needs {sizes} numbers (wind, PV, EVCS), got {[p.shape for p in parts]}"
            )
        return np.concatenate(parts)

    def encode_plan(self, plan: dict[str, dict[int, float]]) -> NDArray[np.float64]:
        """Decision vector from ``{"wind": {bus: units}, "pv": {bus: units}, "evcs": {bus: kW}}``
        (003's table 3 notation ``13(10)``); sites not named get 0 units / the minimum capacity."""
        out = []
        for kind, buses, empty in (
            ("wind", self.wind_buses, 0.0),
            ("pv", self.pv_buses, 0.0),
            ("evcs", self.evcs_buses, self.config.evcs_min_kw),
        ):
            given = {int(k): float(v) for k, v in plan.get(kind, {}).items()}
            extra = set(given) - set(buses.tolist())
            if extra:
                raise ProblemConfigError(
                    f"{kind} buses {sorted(extra)} are not candidate sites {buses.tolist()}"
                )
            out.append([given.get(int(b), empty) for b in buses])
        return np.concatenate([np.asarray(o, float) for o in out])

    def decode(self, x: NDArray[np.float64]) -> pd.DataFrame:
        """One solution as a plan table: ``kind`` (wind / pv / evcs), ``bus``, ``units`` (DG only),
        ``p_kw`` (installed DG or station capacity)."""
        X = np.atleast_2d(np.asarray(x, dtype=np.float64))
        w, p, cap = self._split(X)
        u = self.config.unit_kw
        rows = (
            [("wind", int(b), int(n), n * u) for b, n in zip(self.wind_buses, w[0], strict=True)]
            + [("pv", int(b), int(n), n * u) for b, n in zip(self.pv_buses, p[0], strict=True)]
            + [("evcs", int(b), 0, float(c)) for b, c in zip(self.evcs_buses, cap[0], strict=True)]
        )
        return pd.DataFrame(rows, columns=["kind", "bus", "units", "p_kw"])

    # ------------------------------------------------------------------ lower level and power flow
    def _signal_references(self) -> NDArray[np.float64]:
        """``(F_l1, F2, F3, F4)`` references of eq. (20)'s normalisation.

        ``F_l1`` is eq. (21)'s reference: the best yearly ``operating_profit`` (eq. (21) summed over
        the year: F1 WITHOUT the investment ``C_inv``, which eq. (21) does not contain) over the
        fixed reference population of :meth:`reference_values`, evaluated with the
        ``"owner_price"`` lower level (which needs no references itself), always -- ``norm_ref``'s
        F1 includes the investment and is not used here. ``F2``-``F4``: ``norm_ref`` when given, else
        the same reference population's best values.
        """
        if self._signal_ref is None:
            vals = self._reference_population("owner_price")
            ref = np.array(
                [
                    vals["operating_profit"].max(),
                    vals["voltage_quality"].max(),
                    vals["load_fluctuation"].min(),
                    vals["charging_satisfaction"].max(),
                ]
            )
            if self._norm_ref_given is not None:
                ref[1:] = self._norm_ref_given[1:]
            self._signal_ref = ref
        return self._signal_ref

    def lower_level_signal(
        self,
        cap_kw: NDArray[np.float64],
        wind_units: NDArray[np.float64] | None = None,
        pv_units: NDArray[np.float64] | None = None,
        mode: str | None = None,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The per-kWh cost of charging and value of discharging handed to the dispatcher.

        Parameters
        ----------
        cap_kw : (n, n_evcs) station capacities; wind_units, pv_units : (n, n_wind), (n, n_pv)
            installed units (default none).
        mode : {"eq20", "owner_price"}, optional
            Default the problem's ``lower_level``.

        Returns
        -------
        price_charge, value_discharge
            ``"eq20"``: ``(n, n_scenarios, 1, 24)``, the linearised 003 eq. (20) of the module
            docstring, in CNY-equivalent per kWh; ``"owner_price"``: ``(24,)`` each.
        """
        mode = self.lower_level_mode if mode is None else mode
        if mode == "owner_price":
            return self._price_charge, self._value_discharge
        cfg = self.config
        n = cap_kw.shape[0]
        u = cfg.unit_kw
        w = np.zeros((n, self.n_wind)) if wind_units is None else wind_units
        p = np.zeros((n, self.n_pv)) if pv_units is None else pv_units
        f21_ref, _, f3_ref, f4_ref = self._signal_references()
        if not (f21_ref > 0 and f3_ref > 0 and f4_ref > 0):
            raise ProblemConfigError(
                f"eq. (20) needs positive references F_l1 (eq. 21), F3, F4 for its normalisation, got "
                f"{f21_ref}, {f3_ref}, {f4_ref}: pass norm_ref or use lower_level='owner_price'"
            )
        w1, w2, w3, w4 = self.lower_weights  # Config003.lower_weights (scheme 3: (1, 0, 0, 0))
        # 003 eq. (13) without the V2G group: load - DG + the plug-and-charge load the stations serve.
        load_kw = self._load_pu * self.net.p_kw.sum()  # (S, 24)
        dg_kw = (w.sum(1) * u)[:, None, None] * self._wind_pu + (p.sum(1) * u)[:, None, None] * self._pv_pu
        from grid.dispatch import plug_and_charge

        unc_kw = plug_and_charge(self.fleet_model, cap_kw)[0].sum(1)  # (n, 24), served first come first
        p_e = load_kw - dg_kw + unc_kw[:, None, :]  # (n, S, 24)
        dev = p_e - p_e.mean(axis=-1, keepdims=True)
        f3 = np.maximum(p_e.std(axis=-1, keepdims=True), 1e-6)
        # d f*_3 / d P_c(t), f*_3 = F3_ref / F3 and eq. (23): d F3 / d P(t) = (P_e(t) - P_ave) / (24 F3).
        d3 = -f3_ref * dev / (24.0 * f3**3)
        # eq. (21) is one typical day's operating profit (no investment term): its reference is the
        # reference population's best yearly operating profit / 365 (see _signal_references)
        f1_day = f21_ref / cfg.days_per_year
        # eq. (5) in eq. (21): the company sells c_e, buys c_i (eq. (10): e_EV per kWh charged) ...
        d1_ch = (self._c_ev - self._c_purchase + cfg.ev_env_value_cny_kwh) / f1_day
        # ... and per kWh discharged saves c_i and pays c_f + c_b.
        d1_dis = (self._c_purchase - self._c_dis - cfg.battery_comp_cny_kwh) / f1_day
        # eq. (24): alpha2 / c_cb, linearised at the day-mean price; E_day the desired daily charge.
        c_cb = self._c_ev.mean()
        e_day = max(float(self.fleet_model.energy_desired_kwh.sum()), 1e-9)
        d4_ch = cfg.alpha[1] * (c_cb - self._c_ev) / (c_cb**2 * e_day * f4_ref)
        grid = (w2 + w3) * d3  # F2 folded into F3's net-load term (module docstring)
        scale = f1_day / w1 if w1 > 0 else f1_day
        g_ch = w1 * d1_ch + w4 * d4_ch + grid  # eq. (20): d f_L / d P_c(t)
        g_dis = w1 * d1_dis - grid  # eq. (20): d f_L / d P_d(t) (discharge lowers P_e)
        price_charge = -scale * g_ch
        value_discharge = scale * g_dis
        if cfg.discharge_above_mean_only:
            # Optional, NOT in 003 (Config003.discharge_above_mean_only, off by default): no discharge
            # where the day's equivalent load is at or below its mean (a linearised F3 may otherwise
            # pay for round trips inside the valley).
            worst = 10.0 * (  # per candidate, so that a candidate's schedule never depends on the others
                np.abs(price_charge).max(axis=(1, 2), keepdims=True)
                + np.abs(value_discharge).max(axis=(1, 2), keepdims=True)
            )
            value_discharge = np.where(dev <= 0.0, -worst, value_discharge)
        return price_charge[:, :, None, :], value_discharge[:, :, None, :]

    def lower_level(
        self,
        cap_kw: NDArray[np.float64],
        wind_units: NDArray[np.float64] | None = None,
        pv_units: NDArray[np.float64] | None = None,
        mode: str | None = None,
    ) -> Any:
        """Dispatch of every candidate's stations (003 section 4.2) in one dispatcher call.

        Arrays ``(n, n_scenarios, n_evcs, 24)`` with ``"eq20"`` (the signal depends on the day's net
        load), ``(n, 1, n_evcs, 24)`` with ``"owner_price"`` (one tariff serves every day). DG units
        default to none.
        """
        from grid import dispatch

        pc, vd = self.lower_level_signal(cap_kw, wind_units, pv_units, mode)
        # the unserved-energy penalty stays above every charging price, so energy is served first;
        # per candidate (over its scenarios, stations and hours), so that no candidate's dispatch
        # depends on the rest of the population or on how it is split into chunks
        a = np.abs(np.asarray(pc, dtype=np.float64))
        top = a.reshape(len(a), -1).max(axis=1)[:, None, None] if a.ndim == 4 else a.max()
        penalty = np.maximum(dispatch.PENALTY_CNY_KWH, 10.0 * top)
        return self._dispatch(self.fleet_model, cap_kw, pc, vd, penalty_cny_kwh=penalty)

    def _site_dg_kw(self, w: NDArray[np.float64], p: NDArray[np.float64]) -> NDArray[np.float64]:
        """Available output of every DG site, ``(n, n_scenarios, 24, n_wind + n_pv)`` kW (eqs. (1)-(2))."""
        u = self.config.unit_kw
        return np.concatenate(
            [
                (w * u)[:, None, None, :] * self._wind_pu[None, :, :, None],
                (p * u)[:, None, None, :] * self._pv_pu[None, :, :, None],
            ],
            axis=-1,
        )

    def _injections(
        self, X: NDArray[np.float64], ev_net_kw: NDArray[np.float64] | None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """``(p_kw, q_kvar, dg_available_kw, dg_used_kw)``: bus injections and per-site DG output."""
        from grid.curtailment import export_curtailment

        net = self.net
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        w, p, cap = self._split(X)
        if ev_net_kw is None:
            ev_net_kw = self.lower_level(cap, w, p).p_net_kw
        ev_onehot = np.zeros((self.n_evcs, net.n_bus))
        np.add.at(ev_onehot, (np.arange(self.n_evcs), self._evcs_idx), 1.0)
        # demand per bus without DG: load + the stations' net EV demand, (n, S, 24, n_bus)
        demand = self._load_pu[None, :, :, None] * net.p_kw + np.einsum("cskt,kb->cstb", ev_net_kw, ev_onehot)
        avail = self._site_dg_kw(w, p)
        # 003 table 7 counts the DG the feeder consumes: what would flow back through the substation
        # beyond Config003.export_limit_kw is curtailed (grid.curtailment: lossless balance,
        # proportional to every site's output), before the one power flow.
        used = avail - export_curtailment(demand, avail, self.config.export_limit_kw)
        dg_onehot = np.zeros((self.n_wind + self.n_pv, net.n_bus))
        np.add.at(dg_onehot, (np.arange(self.n_wind + self.n_pv), np.r_[self._wind_idx, self._pv_idx]), 1.0)
        p_kw = demand - np.einsum("cstk,kb->cstb", used, dg_onehot)
        q_kvar = np.broadcast_to(self._load_pu[None, :, :, None] * net.q_kvar, p_kw.shape)
        return p_kw, q_kvar, avail, used

    def injections(
        self, X: NDArray[np.float64], ev_net_kw: NDArray[np.float64] | None = None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Net demand per bus (kW, kvar), ``(n_candidates, n_scenarios, 24, n_bus)``, internal order.

        ``ev_net_kw`` is the stations' net demand ``(n_candidates, n_scenarios or 1, n_evcs, 24)``;
        computed by :meth:`lower_level` when not given. DG output is what the feeder consumes (after
        the curtailment of ``Config003.export_limit_kw``, :mod:`grid.curtailment`).
        """
        p_kw, q_kvar, _, _ = self._injections(X, ev_net_kw)
        return p_kw, q_kvar

    # ------------------------------------------------------------------ the model
    def compute(
        self, X: NDArray[np.float64], lower_level: str | None = None
    ) -> dict[str, NDArray[np.float64]]:
        """Every quantity of 003's upper level for a population, each an array of shape (n,).

        Keys: the four objectives (``profit`` CNY/yr, ``voltage_quality`` pu, ``load_fluctuation``
        kW, ``charging_satisfaction`` pu); table 5's profit parts in CNY/yr (``sale``,
        ``ev_revenue``, ``purchase``, ``investment``, ``om``, ``subsidy``, ``loss_cost``,
        ``environment``); table 6's ``completion`` (share) and ``unit_charging_cost`` (CNY/kWh);
        table 7's ``dg_energy_mwh`` (consumed DG) and ``ev_energy_mwh`` (per year) and
        ``curtailed_mwh`` (DG not consumed, :mod:`grid.curtailment`); ``operating_profit`` (eq. (21)
        over the year: profit plus investment); ``converter_excess_mwh`` and
        ``same_hour_cycling_mwh`` (station converters, module docstring); ``dg_kw``, ``evcs_kw``;
        ``loss_mwh``, ``vmin_pu``, ``vmax_pu``, ``unserved_mwh``, ``unserved_share`` (of the desired
        charge), ``pf_failed`` (share) and ``discharge_mwh`` (V2G, per year). ``lower_level``
        overrides the problem's lower-level objective.
        """
        from grid.powerflow import solve

        cfg = self.config
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        n = X.shape[0]
        w, p, cap = self._split(X)
        u = cfg.unit_kw
        disp = self.lower_level(cap, w, p, lower_level)
        p_ch = disp.p_ch_kw  # (n, S or 1, K, 24): per day with eq20, one for all days with owner_price
        p_dis = disp.p_dis_kw
        p_kw, q_kvar, dg_avail, dg_used = self._injections(X, p_ch - p_dis)
        res = solve(self.net, p_kw, q_kvar, tol=self.tol)  # the one power-flow call: (n, S, 24, n_bus)

        T = self.days_per_scenario  # T_l, days per year
        frac = T / cfg.days_per_year
        load_kw = self._load_pu * self.net.p_kw.sum()  # P_L (S, 24)
        # P_DWG, P_PV (n, S, 24): the DG the feeder consumes (003 table 7), after curtailment; eqs.
        # (5), (6), (8), (10) and (13) all count consumed DG only (curtailed energy earns nothing).
        wind_kw = dg_used[..., : self.n_wind].sum(-1)
        pv_kw = dg_used[..., self.n_wind :].sum(-1)
        curtailed_kw = (dg_avail - dg_used).sum(-1)
        ch = p_ch.sum(2)  # P^c_EV (n, S or 1, 24)
        dis = p_dis.sum(2)  # P^d_EV

        def year(a: NDArray[np.float64]) -> NDArray[np.float64]:
            """sum_l T_l sum_t a[..., l, t] (1 h steps: kW -> kWh)."""
            return np.einsum("...st,s->...", np.broadcast_to(a, (n,) + self._load_pu.shape), T)

        co, ci, ce, cf, cb = self._c_sale, self._c_purchase, self._c_ev, self._c_dis, cfg.battery_comp_cny_kwh
        out: dict[str, NDArray[np.float64]] = {}
        out["sale"] = year(co * load_kw)  # 003 eq. (5), c_o P_L
        out["purchase"] = year(ci * (load_kw - wind_kw - pv_kw + ch - dis))  # eq. (5), c_i (...)
        out["ev_revenue"] = year(ce * ch - cf * dis - cb * dis)  # eq. (5), last bracket
        out["subsidy"] = year(cfg.subsidy_wind_cny_kwh * wind_kw + cfg.subsidy_pv_cny_kwh * pv_kw)  # eq. (6)
        out["investment"] = cfg.crf * (  # eq. (7)
            cfg.capex_wind_cny_kw * w.sum(1) * u
            + cfg.capex_pv_cny_kw * p.sum(1) * u
            + (cfg.evcs_fixed_cny + cfg.capex_evcs_cny_kw * cap).sum(1)
        )
        out["om"] = year(
            cfg.om_wind_cny_kwh * wind_kw + cfg.om_pv_cny_kwh * pv_kw
        ) + cfg.om_evcs_cny_kw_yr * cap.sum(1)  # eq. (8)
        loss = res.loss_kw  # (n, S, 24)
        out["loss_cost"] = year(co * loss)  # eq. (9)
        out["environment"] = year(  # eq. (10)
            (wind_kw + pv_kw) * cfg.emission_value_cny_kwh + ch * cfg.ev_env_value_cny_kwh
        )
        out["profit"] = (  # eq. (4)
            out["sale"]
            - out["purchase"]
            + out["ev_revenue"]
            + out["subsidy"]
            - out["investment"]
            - out["om"]
            - out["loss_cost"]
            + out["environment"]
        )

        # F2, eq. (11): per-bus voltage quality weighted by the share of |P_i(t)|.
        vm = res.vm_pu
        quality = ((vm - cfg.v_min_pu) / (cfg.v_rated_pu - cfg.v_min_pu)) * (
            (cfg.v_max_pu - vm) / (cfg.v_max_pu - cfg.v_rated_pu)
        )
        abs_p = np.abs(p_kw)
        share = abs_p / np.maximum(abs_p.sum(-1, keepdims=True), 1e-12)
        out["voltage_quality"] = np.einsum("cst,s->c", (quality * share).sum(-1), frac) / 24.0
        # F3, eqs. (12)-(13): standard deviation of the equivalent load over the day.
        p_e = load_kw + (ch - dis) - (wind_kw + pv_kw)
        out["load_fluctuation"] = np.einsum("cs,s->c", p_e.std(axis=-1), frac)
        # F4, eq. (14): completion (day-weighted) and unit charging cost (over the year's charge).
        desired = np.maximum(disp.energy_desired_kwh.sum(), 1e-12)
        delivered = np.broadcast_to(disp.energy_delivered_kwh.sum(-1), (n, len(T)))  # (n, S)
        out["completion"] = delivered @ frac / desired
        out["unit_charging_cost"] = year(ce * ch) / np.maximum(year(ch), 1e-12)
        a1, a2 = cfg.alpha
        out["charging_satisfaction"] = a1 * out["completion"] + a2 / np.maximum(
            out["unit_charging_cost"], 1e-12
        )

        out["dg_kw"] = (w.sum(1) + p.sum(1)) * u
        out["evcs_kw"] = cap.sum(1)
        out["dg_energy_mwh"] = year(wind_kw + pv_kw) / 1000.0  # consumed (table 7)
        out["curtailed_mwh"] = year(curtailed_kw) / 1000.0  # not consumed (grid.curtailment)
        # eq. (21) summed over the year: the lower level's profit, without the investment
        out["operating_profit"] = out["profit"] + out["investment"]
        # A station's converters (reading: charge + discharge <= its kW in every hour; the
        # dispatcher enforces it): what exceeds the shared rating, and the energy a station charges
        # and discharges in the same hour.
        both = p_ch + p_dis  # (n, S or 1, K, 24)
        out["converter_excess_mwh"] = year(np.maximum(both - cap[:, None, :, None], 0.0).sum(2)) / 1000.0
        out["same_hour_cycling_mwh"] = year(np.minimum(p_ch, p_dis).sum(2)) / 1000.0
        out["ev_energy_mwh"] = year(ch) / 1000.0
        out["loss_mwh"] = year(loss) / 1000.0
        out["discharge_mwh"] = year(dis) / 1000.0
        unserved = np.broadcast_to(disp.unserved_kwh.sum(-1), (n, len(T)))  # (n, S), kWh per day
        out["unserved_mwh"] = unserved @ T / 1000.0
        out["unserved_share"] = unserved @ frac / desired
        flat = vm.reshape(n, -1)
        out["vmin_pu"] = flat.min(axis=1)
        out["vmax_pu"] = flat.max(axis=1)
        out["pf_failed"] = 1.0 - res.converged.reshape(n, -1).mean(axis=1)
        if self.has_current_limits:
            out["i_max"] = current_violation(res.i_a, self.net.i_max_a)
        return out

    def reference_values(self) -> NDArray[np.float64]:
        """``(F1_max, F2_max, F3_min, F4_max)`` used to normalise ``composite`` (003 eq. (15)).

        ``norm_ref`` when given; otherwise the best value of each objective over a fixed reference
        population: every variable at 0, 1/4, 1/2, 3/4 and 1 of its range (deterministic, computed
        once).
        """
        if self._norm_ref is None:
            self._norm_ref = self._reference_values(None)
        return self._norm_ref

    def _reference_population(self, lower_level: str | None) -> dict[str, NDArray[np.float64]]:
        """:meth:`compute` of the fixed reference population (every variable at 0, 1/4, ..., 1 of its
        range)."""
        fr = np.linspace(0.0, 1.0, 5)[:, None]
        return self.compute(self.xl + fr * (self.xu - self.xl), lower_level)

    def _reference_values(self, lower_level: str | None) -> NDArray[np.float64]:
        vals = self._reference_population(lower_level)
        return np.array(
            [
                vals["profit"].max(),
                vals["voltage_quality"].max(),
                vals["load_fluctuation"].min(),
                vals["charging_satisfaction"].max(),
            ]
        )

    def composite(
        self, vals: dict[str, NDArray[np.float64]], ref: NDArray[np.float64] | None = None
    ) -> NDArray:
        """003 eqs. (15)-(16): ``sum_i w_i f*_i`` with ``f*_i = F_i / F_i,max`` (i = 1, 2, 4) and
        ``f*_3 = F_3,min / F_3``."""
        r = self.reference_values() if ref is None else np.asarray(ref, dtype=np.float64)
        w1, w2, w3, w4 = self.config.weights
        return (
            w1 * vals["profit"] / r[0]
            + w2 * vals["voltage_quality"] / r[1]
            + w3 * r[2] / np.maximum(vals["load_fluctuation"], 1e-12)
            + w4 * vals["charging_satisfaction"] / r[3]
        )

    def cases_per_candidate(self) -> int:
        """Power flows per candidate: ``n_scenarios * 24``."""
        return int(np.prod(self._load_pu.shape))

    def _evaluate_batch(self, X: NDArray[np.float64], out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        X = np.atleast_2d(X)
        vals = self.compute(X)
        if "composite" in self.objectives:
            vals["composite"] = self.composite(vals)
        sign = {"max": -1.0, "min": 1.0}
        F = np.column_stack([sign[OBJECTIVES[o][1]] * vals[o] for o in self.objectives])
        failed = vals["pf_failed"] > 0
        out["F"] = penalise_failed(F, failed)
        cfg = self.config
        cols = [(vals["dg_kw"] - cfg.total_dg_max_kw) / cfg.total_dg_max_kw]  # 003 eq. (18)
        lo = cfg.v_min_pu - vals["vmin_pu"]  # eq. (26)
        hi = vals["vmax_pu"] - cfg.v_max_pu
        cols += [lo, hi]
        if self.has_current_limits:
            cols.append(vals["i_max"])  # eq. (27)
        cols.append(vals["pf_failed"])  # eq. (25): the power flow must have a solution
        cols.append(vals["unserved_share"] - cfg.unserved_max_share)  # eq. (29), SOC at departure
        G = np.column_stack(cols)
        out["G"] = np.where(np.isfinite(G), G, 1.0)
