"""``StagedPlanning``: paper 000's staged (multi-period) reinforcement planning for growing PV and EVs.

Li & Li, *Grid Planning Considering the Development Stages of Distributed PV and EVs* (000).

The study (000 sections 3-4)
----------------------------
Three stages, 2026-2028, 2029-2032, 2033-2035 (3, 4, 3 years), of rising PV penetration (PV
capacity over the stage's peak load: 15 / 35 / 60 %) and EV penetration (15 / 35 / 55 %); no V2G
in stage I, V2G for at most 5 % of EVs in stage II, participation up to 0.6 in stage III (000
section 3.2.5). Each candidate plan says, per stage, which candidate lines carry a parallel
circuit (r, x halved), the substation transformer size (a ladder), the community battery's power
(one site; energy ``storage_hours`` times the power) and the shares of EVs with smart and with V2G
chargers. Investments persist: the decoder's repair takes running maxima over the stages. The
objective is the discounted life-cycle cost (000 section 3.1)::

    LCC = sum_t (1+r)^-t [C_inv,t + C_om,t + 365 sum_w p_w (C_loss + alpha E_curt + beta E_shed)]

with r = 5 %, alpha = 0.8, beta = 50 CNY/kWh; investment paid in a stage's first year (t = 1, 4,
8), O&M a yearly share of the capital built so far, no salvage value.

Lower level (per candidate, stage and scenario, 24 h; vectorised over the whole population):

1. Load: the feeder's loads times the stage's growth factor times the scenario's ``load_pu``; PV on
   every load bus in proportion to its load (rooftop DPV, [A]), rated ``pv_share * stage peak``.
2. EVs (:func:`grid.ev.fleet_000`, the stage-III fleet scaled by the stage's penetration): the
   share without smart chargers charges on arrival (:func:`grid.ev.uncoordinated_load_kw`); smart
   and V2G shares are EV stations as storage (:func:`grid.storage.ev_station` bounds, V2G with
   discharge), dispatched with the battery by :func:`grid.storage.flatten` on the feeder-head net
   load (valley filling / peak shaving: 000's "smart charging" and V2G; 000's SOCP is replaced).
3. PV curtailment (:func:`grid.staging.operate_rules`): reverse power within ``k_inv S_trans``
   and linearised voltages within 1.07 pu, curtailing first where it lowers the worst bus most
   (``curtail_rule``; 000's SOCP finds the least curtailment, the test states the gap to an LP).
4. Lost load: head apparent power beyond the transformer rating; EV charging is shed first (counts
   against charging satisfaction, at ``ev_shed_cny_per_kwh``), then base load at beta.
5. One :func:`grid.powerflow.solve` over (candidates, stages, scenarios, 24 h, buses) with each
   candidate's per-stage branch impedances: losses, voltages, head power.

Constraint (``G <= 0``): the worst violation of the 0.93-1.07 pu band over every case (pu, minus
``v_tol_pu``), and the share of failed power flows.

Schemes (000 section 4.1) are masks of this one problem: ``A`` static (everything built in stage I
and kept; no storage, uncoordinated EVs), ``B`` staged lines and transformer, ``C`` B plus staged
storage, ``D`` C plus smart charging and V2G.

Example
-------
>>> from problems.staged_planning import StagedPlanning
>>> prob = StagedPlanning(scheme="D", config={"n_scenarios": 2})
>>> x = prob.encode(lines=[0] * 8, transformer_kva=[6300, 8000, 8000], storage_bus=18,
...                 storage_kw=[0, 200, 500], smart=[0, 0.3, 0.5], v2g=[0, 0.05, 0.3])
>>> c = prob.compute(x[None])
>>> bool(c["lcc_cny"][0] > c["invest_cny"][0].sum())
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

from ._common import ChunkedEvaluation, ProblemConfigError, config_from, memory_budget, penalise_failed

__all__ = ["Config000", "StagedPlanning", "SCHEMES"]

SCHEMES = ("A", "B", "C", "D")
_IEEE33_LINES = ((2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (2, 19), (6, 26), (26, 27))


@dataclass(frozen=True)
class Config000:
    """Every input of 000's study ([G] given by 000, [A] assumed; 000 states no costs or candidates).

    Per-feeder defaults (``None``): ``candidate_lines`` the reading notes' eight IEEE 33 branches
    (trunk 2-7, laterals 2-19, 6-26, 26-27), elsewhere the ``n_auto_lines`` branches with the
    largest stage-III loss; ``ev_buses`` IEEE 33 nodes 5, 22, 29 [G], elsewhere the six largest
    load buses; ``n_evs`` 1500 on IEEE 33 [G], 838 elsewhere (000's 12 000 EVs at 50 MW scaled to
    IEEE 123's 3.49 MW, [A]); ``transformer_ladder_kva`` (6300, 8000, 10000, 12500) standard
    35/10 kV sizes on IEEE 33 [A], scaled by the feeder's nominal load elsewhere.
    """

    case: str = "ieee33"  # [G] system 1 (IEEE 33); "ieee123" system 2
    stage_years: tuple[int, ...] = (3, 4, 3)  # [G] 2026-28, 2029-32, 2033-35
    pv_share: tuple[float, ...] = (0.15, 0.35, 0.60)  # [G] PV capacity / stage peak load
    ev_share: tuple[float, ...] = (0.15, 0.35, 0.55)  # [G] EV penetration
    v2g_cap: tuple[float, ...] = (0.0, 0.05, 0.6)  # [G] V2G share allowed per stage (3.2.5)
    load_growth: tuple[float, ...] = (1.069, 1.219, 1.346)  # [A] 3.715 -> 5.0 MW by 2035, stage ends
    slack_vm_pu: float | None = None  # [A] None: 1.05 on IEEE 33 (10.5 kV busbar), 0.97
    # elsewhere (IEEE 123's fixed regulator taps boost up to 4.4 %: at 1.0 the light hours exceed 1.07)
    v_min_pu: float = 0.93  # [G] 3.2.3
    v_max_pu: float = 1.07  # [G]
    v_tol_pu: float = 0.0  # constraint tolerance on the band
    k_inv: float = 0.8  # [G] 3.2.2 reverse-power factor
    discount_rate: float = 0.05  # [G]
    curtail_cny_per_kwh: float = 0.8  # [G] alpha
    lost_load_cny_per_kwh: float = 50.0  # [G] beta
    ev_shed_cny_per_kwh: float = 1.0  # [A] EV charging shed at the transformer limit
    loss_price_cny_per_kwh: tuple[float, ...] | None = None  # [A] None: 002's TOU purchase price by hour
    pv_buses: tuple[int, ...] | None = None  # [A] None: rooftop PV on every load bus, by its load;
    # else equal shares at these buses (the notes' alternative: 002's 7, 15, 22, 26)
    candidate_lines: tuple[tuple[int, int], ...] | None = None  # [A] see class docstring
    n_auto_lines: int = 8  # [A]
    line_cost_cny_per_km: float = 6.0e5  # [A] parallel 10 kV circuit
    line_ohm_per_km: float = 0.2  # [A] branch length = r / this
    transformer_ladder_kva: tuple[float, ...] | None = None  # [A] see class docstring
    transformer_cost_cny_per_kva: float = 250.0  # [A] a replaced unit costs its full rating
    storage_max_kw: float = 1000.0  # [A] per stage, cumulative
    storage_hours: float = 4.0  # [D] 000 4.2.2: 200 kW / 800 kWh, 500 kW / 2000 kWh
    storage_cny_per_kwh: float = 1200.0  # [A]
    storage_cny_per_kw: float = 800.0  # [A]
    storage_efficiency: float = 0.95  # [A]
    storage_soc: tuple[float, float] = (0.1, 0.9)  # [A]
    smart_cny_per_pile: float = 2000.0  # [A] smart upgrade of a one-way pile
    v2g_cny_per_pile: float = 7000.0  # [A] 1.75 x a 4000 CNY pile (000 2.1: 1.5-2.0x)
    om_share: float = 0.02  # [A] yearly O&M as a share of capital built
    ev_buses: tuple[int, ...] | None = None  # [G] IEEE 33; [A] elsewhere
    n_evs: int | None = None  # stage-III EVs (see class docstring)
    fleet_seed: int = 0  # [A]
    n_scenarios: int = 24  # [G] 4 seasons x 3 weather x 2 day types; fewer: the most probable
    scenario_weights: tuple[float, ...] | None = None  # override of the scenario probabilities
    sweeps: int = 3  # Gauss-Seidel passes of the dispatcher
    ev_price_response: float = 1.0  # [A] share of the EVs with smart or V2G chargers that follow the
    # dispatch (price) signal; the rest charge on arrival, their piles still paid. 000 4.4.3 varies a
    # "price elasticity" of EV users without a model: read as this responding share (1.0: all follow)
    curtail_rule: str = "sensitivity"  # [A] PV curtailment where 000's SOCP decides: "sensitivity"
    # (at the units that lower the worst bus most) or "uniform" (one share of every unit); see
    # grid.staging.operate_rules and the LP gaps in tests/problems/test_staged_planning.py

    def __post_init__(self) -> None:
        from grid.staging import StagingError

        n = len(self.stage_years)
        for name in ("pv_share", "ev_share", "v2g_cap", "load_growth"):
            v = np.asarray(getattr(self, name), dtype=float)
            if v.shape != (n,) or not np.isfinite(v).all():
                raise StagingError(f"{name} must give one finite value per stage ({n}), got {v.tolist()}")
        for name in ("pv_share", "ev_share", "v2g_cap"):
            v = np.asarray(getattr(self, name))
            if np.any(v < 0) or np.any(v > 1):
                raise StagingError(f"{name}: penetrations and shares must lie in [0, 1], got {v.tolist()}")
        if np.any(np.asarray(self.ev_share) <= 0) and max(self.ev_share) <= 0:
            raise StagingError("ev_share: at least one stage needs EVs")
        if not (0 < self.v_min_pu < self.v_max_pu) or not 0 <= self.k_inv <= 1:
            raise ProblemConfigError("need 0 < v_min_pu < v_max_pu and 0 <= k_inv <= 1")
        if not 1 <= self.n_scenarios <= 24:
            raise ProblemConfigError(f"n_scenarios must lie in 1..24, got {self.n_scenarios}")
        if self.scenario_weights is not None:
            w = np.asarray(self.scenario_weights, dtype=float)
            if w.shape != (self.n_scenarios,) or np.any(w < 0) or abs(w.sum() - 1.0) > 1e-9:
                raise StagingError(
                    f"scenario_weights must be {self.n_scenarios} probabilities summing to one, "
                    f"got {w.tolist()}"
                )
        if self.transformer_ladder_kva is not None:
            from grid.staging import ladder_index

            ladder_index(self.transformer_ladder_kva, self.transformer_ladder_kva)
        if not 0.0 <= self.ev_price_response <= 1.0:
            raise StagingError(f"ev_price_response must lie in [0, 1], got {self.ev_price_response}")
        if self.curtail_rule not in ("sensitivity", "uniform"):
            raise ProblemConfigError(f"curtail_rule: 'sensitivity' or 'uniform', not {self.curtail_rule!r}")
        if self.storage_max_kw < 0 or self.storage_hours <= 0:
            raise ProblemConfigError("storage_max_kw must be >= 0 and storage_hours > 0")


@functools.cache
def _scenarios() -> Any:
    from grid import profiles, scenarios

    return scenarios.seasonal_scenarios(profiles.reference_year())


@functools.cache
def _fleet(counts: tuple[int, ...], seed: int) -> Any:
    from grid import ev

    v = ev.sample_fleet(ev.fleet_000(counts), np.random.default_rng(seed))
    return (
        ev.uncoordinated_load_kw(v),
        ev.station_limits(v),
        float(v.energy_desired_kwh.sum() - v.energy_arrival_kwh.sum()),
    )


class StagedPlanning(ChunkedEvaluation, Problem):
    """Paper 000: staged reinforcement planning under growing PV and EVs (module docstring).

    Decision vector ``[y_1..y_K | z_1..z_S | site | P_1..P_S | smart_1..smart_S | v2g_1..v2g_S]``:
    ``y_k`` in 0..S the stage that reinforces candidate line k (0 never), ``z_s`` the ladder index
    of the transformer in stage s, ``site`` an index into the storage candidate buses, ``P_s`` the
    battery power (kW) in stage s, ``smart_s``/``v2g_s`` shares of the stage's EVs.

    Parameters
    ----------
    scheme : {"A", "B", "C", "D"}
        000's planning scheme (a mask of the decision vector, module docstring).
    config : Config000 or mapping, optional
    tol : float
        Power-flow tolerance (pu on max |dV| between sweeps). 1e-5 rather than 1e-6: 4.0 instead
        of 4.7 (ieee33) / 5.0 (ieee123) sweeps per case, LCC within 6.4e-7 relative and the band
        violation within 1.6e-7 pu of 1e-6 on a random population, far below the dispatcher's own
        gap (3 sweeps: 6e-5 of the LCC from 8 sweeps) and LinDistFlow's (6e-3 pu).
    memory_budget_gib : float, optional
    """

    bytes_per_bus_case = 70.0  # tracemalloc peak of an evaluation: 67 B on ieee33 and ieee123
    #: Most bus-cases per batched call, below the memory budget's own limit: glibc serves arrays
    #: under 32 MB (here the complex voltages, 16 MB) from memory it keeps, larger ones with fresh
    #: pages each call. Population of 100, CPU s per call (user + sys, noisy machine): ieee33
    #: 1.28 + 0.19 at 2**21, 1.35 + 0.00 at 2**20, 1.57 + 0.00 at 2**19; ieee123 3.22 + 0.79 at
    #: 2**21, 3.42 + 0.00 at 2**20 (and 6.4 in one chunk of 100).
    chunk_bus_cases = 2**20

    def __init__(
        self,
        scheme: str = "D",
        config: Config000 | dict[str, Any] | None = None,
        tol: float = 1e-5,
        memory_budget_gib: float | None = None,
    ) -> None:
        from grid import cases, staging, tariffs
        from grid.powerflow import branch_index, solve

        cfg = self.config = config_from(Config000, config)
        if scheme not in SCHEMES:
            raise ProblemConfigError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
        self.scheme = scheme
        self.tol = float(tol)
        self.memory_budget_bytes = memory_budget(memory_budget_gib)
        self.objective_names, self.objective_units, self.objective_senses = ["lcc"], ["CNY"], ["min"]
        self.constraint_names = ["vband", "pf_failed"]
        net = dataclasses.replace(
            cases.load(cfg.case), slack_vm_pu=cfg.slack_vm_pu or (1.05 if cfg.case == "ieee33" else 0.97)
        )
        self.net = net
        S = self.n_stages = len(cfg.stage_years)
        is33 = cfg.case == "ieee33"
        nominal_kw = float(net.p_kw.sum())
        # --- candidate lines
        if cfg.candidate_lines is not None or is33:
            pairs = np.asarray(cfg.candidate_lines or _IEEE33_LINES, dtype=np.int64).reshape(-1, 2)
            try:
                self.line_idx = branch_index(net, pairs[:, 0], pairs[:, 1])
            except KeyError as exc:
                raise ProblemConfigError(f"candidate_lines: {exc.args[0]}") from None
        else:  # the branches with the largest loss at the stage-III peak
            res = solve(net, net.p_kw * cfg.load_growth[-1], net.q_kvar * cfg.load_growth[-1])
            self.line_idx = np.sort(np.argsort(-res.branch_loss_kw)[: cfg.n_auto_lines])
        self.line_cost_cny = cfg.line_cost_cny_per_km * net.r_ohm[self.line_idx] / cfg.line_ohm_per_km
        # --- transformer ladder (existing unit = first rung)
        lad = cfg.transformer_ladder_kva or tuple(
            np.array([6300.0, 8000.0, 10000.0, 12500.0]) * (1.0 if is33 else round(nominal_kw / 3715.0, 2))
        )
        staging.ladder_index(lad, lad)
        self.ladder_kva = np.asarray(lad, dtype=float)
        # --- scenarios: the n most probable of 000's 24
        sc = _scenarios()
        order = np.sort(np.argsort(-sc.weight, kind="stable")[: cfg.n_scenarios])
        w = sc.weight[order]
        self.weight = np.asarray(cfg.scenario_weights, float) if cfg.scenario_weights else w / w.sum()
        self.scenario_keys = [sc.info["keys"][i] for i in order]
        load_pu, pv_pu = sc.load_pu[order], sc.pv_pu[order]  # (W, 24)
        g = np.asarray(cfg.load_growth)[:, None, None, None]  # (S,1,1,1)
        self._p_load = g * load_pu[None, :, :, None] * net.p_kw  # (S, W, 24, bus)
        self._q_load = g * load_pu[None, :, :, None] * net.q_kvar
        peak_kw = np.asarray(cfg.load_growth) * nominal_kw
        pv_bus = net.p_kw / nominal_kw
        if cfg.pv_buses is not None:
            if any(b not in set(int(v) for v in net.bus) for b in cfg.pv_buses) or not cfg.pv_buses:
                raise ProblemConfigError(f"pv_buses {cfg.pv_buses} not all in {net.name!r}")
            pv_bus = np.zeros(net.n_bus)
            pv_bus[net.index_of(list(cfg.pv_buses))] = 1.0 / len(cfg.pv_buses)
        self._pv_bus = pv_bus
        self._load_scale = g[..., 0] * load_pu[None]  # (S, W, 24): p_load = this x net.p_kw
        self._pv_scale = (np.asarray(cfg.pv_share) * peak_kw)[:, None, None] * pv_pu[None]  # x pv_bus
        self._pv = self._pv_scale[..., None] * pv_bus
        self._head_base = (self._p_load - self._pv).sum(-1)  # (S, W, 24) feeder-head load minus PV
        # --- EVs
        ev_buses = cfg.ev_buses or (
            (5, 22, 29) if is33 else tuple(int(b) for b in net.bus[np.argsort(-net.p_kw)[:6]])
        )
        labels = set(int(b) for b in net.bus)
        if any(b not in labels for b in ev_buses):
            raise ProblemConfigError(f"ev_buses {ev_buses} not all in {net.name!r}")
        self.ev_idx = net.index_of(list(ev_buses))
        n_evs = cfg.n_evs if cfg.n_evs is not None else (1500 if is33 else 838)
        k = len(ev_buses)
        counts = tuple(n_evs // k + (1 if i < n_evs % k else 0) for i in range(k))
        self._unc, self._lim, need = _fleet(counts, cfg.fleet_seed)
        self.ev_scale = np.asarray(cfg.ev_share) / max(cfg.ev_share)  # stage fleet / stage-III fleet
        self.ev_need_kwh = need * self.ev_scale  # (S,) energy the stage's EVs want per day
        # --- storage candidates, costs, discounting
        self.storage_buses = np.array([b for b in net.bus if b != net.slack_bus])
        self.storage_idx = net.index_of(self.storage_buses)
        if cfg.loss_price_cny_per_kwh is None:
            t = tariffs.tou_002()
            self.loss_price = np.array([t.prices_cny_kwh["purchase"][p] for p in t.period_of_hour])
        else:
            self.loss_price = np.asarray(cfg.loss_price_cny_per_kwh, float)
            if self.loss_price.shape != (24,):
                raise ProblemConfigError("loss_price_cny_per_kwh must give 24 hourly prices")
        self.disc = staging.stage_discount(cfg.stage_years, cfg.discount_rate)
        self.D = staging.downstream_matrix(net)
        self._vnl = staging.no_load_vm(net)
        self.n_ev_stage = n_evs * self.ev_scale
        # --- variables
        K, L = self.line_idx.size, self.ladder_kva.size
        xl = np.zeros(K + 4 * S + 1)
        xu = np.r_[
            np.full(K, S),
            np.full(S, L - 1),
            self.storage_buses.size - 1,
            np.full(S, cfg.storage_max_kw),
            np.ones(S),
            np.asarray(cfg.v2g_cap),
        ]
        if scheme == "A":
            xu[:K] = 1
        if scheme in ("A", "B"):
            xu[K + S + 1 : K + 2 * S + 1] = 0.0
        if scheme in ("A", "B", "C"):
            xu[K + 2 * S + 1 :] = 0.0
        self.int_mask = np.r_[np.ones(K + S + 1, bool), np.zeros(3 * S, bool)]
        super().__init__(n_var=xl.size, n_obj=1, n_ieq_constr=2, xl=xl, xu=xu)

    # ------------------------------------------------------------------ decoding
    def plans(self, X: NDArray[np.float64]) -> dict[str, NDArray[Any]]:
        """The repaired plans of a population: ``built`` (n, S, K) bool, ``trafo_kva`` (n, S),
        ``site`` (n,) bus index, ``storage_kw`` (n, S), ``smart``/``v2g`` (n, S) shares."""
        from grid.staging import monotone_repair

        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        S, K, L = self.n_stages, self.line_idx.size, self.ladder_kva.size
        y = np.clip(np.rint(X[:, :K]), 0, S).astype(int)
        z = np.clip(np.rint(X[:, K : K + S]), 0, L - 1)
        site = np.clip(np.rint(X[:, K + S]), 0, self.storage_buses.size - 1).astype(int)
        P = np.clip(X[:, K + S + 1 : K + 2 * S + 1], 0, self.config.storage_max_kw)
        sm = np.clip(X[:, K + 2 * S + 1 : K + 3 * S + 1], 0, 1)
        v2 = np.clip(X[:, K + 3 * S + 1 :], 0, np.asarray(self.config.v2g_cap))
        if self.scheme == "A":  # static: built in stage I, sized for the horizon
            y = np.minimum(y, 1)
            z = np.repeat(z.max(axis=1, keepdims=True), S, axis=1)
        if self.scheme in ("A", "B"):
            P = np.zeros_like(P)
        if self.scheme != "D":
            sm, v2 = np.zeros_like(sm), np.zeros_like(v2)
        stage = np.arange(1, S + 1)
        built = (y[:, None, :] > 0) & (y[:, None, :] <= stage[None, :, None])
        v2 = monotone_repair(v2)  # repair: what a stage has built stays (shares of a growing fleet)
        sm = np.minimum(monotone_repair(sm), 1.0 - v2)
        return {
            "built": built,
            "trafo_kva": self.ladder_kva[monotone_repair(z).astype(int)],
            "site": self.storage_idx[site],
            "storage_kw": monotone_repair(P),
            "smart": sm,
            "v2g": v2,
        }

    def decode(self, x: NDArray[np.float64]) -> Any:
        """One repaired plan as a table: a row per stage (``stage``, ``trafo_kva``, ``storage_bus``,
        ``storage_kw``, ``smart``, ``v2g``, ``lines``: the reinforced candidate branches as bus pairs)."""
        import pandas as pd

        p = self.plans(np.atleast_2d(np.asarray(x, dtype=np.float64))[:1])
        fb, tb = self.net.bus[self.net.from_idx[self.line_idx]], self.net.bus[self.net.to_idx[self.line_idx]]
        lines = [
            " ".join(f"{a}-{b}" for a, b, k in zip(fb, tb, p["built"][0, s], strict=True) if k)
            for s in range(self.n_stages)
        ]
        return pd.DataFrame(
            {
                "stage": np.arange(1, self.n_stages + 1),
                "trafo_kva": p["trafo_kva"][0],
                "storage_bus": int(self.net.bus[p["site"][0]]),
                "storage_kw": p["storage_kw"][0],
                "smart": p["smart"][0],
                "v2g": p["v2g"][0],
                "lines": lines,
            }
        )

    def encode(
        self,
        *,
        lines: Sequence[int],
        transformer_kva: Sequence[float],
        storage_bus: int,
        storage_kw: Sequence[float],
        smart: Sequence[float],
        v2g: Sequence[float],
    ) -> NDArray[np.float64]:
        """The decision vector of one plan (stage of each candidate line, 0 never; per-stage values),
        checked: a shrinking stage sequence or a size off the ladder is a :class:`StagingError`."""
        from grid.staging import StagingError, check_monotone, ladder_index

        S = self.n_stages
        y = np.asarray(lines, dtype=float)
        if y.shape != (self.line_idx.size,) or np.any((y < 0) | (y > S) | (y != np.rint(y))):
            raise StagingError(
                f"lines: one stage 0..{S} per candidate line ({self.line_idx.size}), got {y.tolist()}"
            )
        z = ladder_index(check_monotone(transformer_kva, "transformer_kva"), self.ladder_kva)
        p = check_monotone(storage_kw, "storage_kw")
        sm, v2 = check_monotone(smart, "smart"), check_monotone(v2g, "v2g")
        for name, v in (("smart", sm), ("v2g", v2)):
            if np.any(v < 0) or np.any(v > 1):
                raise StagingError(f"{name}: shares must lie in [0, 1], got {v.tolist()}")
        if storage_bus not in set(self.storage_buses.tolist()):
            raise StagingError(f"storage_bus {storage_bus} is not a candidate bus")
        site = int(np.flatnonzero(self.storage_buses == storage_bus)[0])
        return np.r_[y, z, site, p, sm, v2].astype(np.float64)

    def null_plan(self) -> NDArray[np.float64]:
        """The plan that builds nothing: no line, the existing transformer (first ladder rung) in
        every stage, no storage, no smart or V2G chargers. It lies in every scheme's space."""
        z = [0.0] * self.n_stages
        return self.encode(
            lines=[0] * self.line_idx.size,
            transformer_kva=[float(self.ladder_kva[0])] * self.n_stages,
            storage_bus=int(self.storage_buses[0]),
            storage_kw=z,
            smart=z,
            v2g=z,
        )

    def initial_points(self) -> NDArray[np.float64]:
        """Known plans an algorithm may start from (``initial_points="problem"``), shape (1, n_var):
        :meth:`null_plan`. With our assumed costs it is A's and B's optimum at 000's budget, and the
        GA missed it in C (``experiments/paper000/README.md``)."""
        return self.null_plan()[None]

    # ------------------------------------------------------------------ evaluation
    def cases_per_candidate(self) -> int:
        return int(self.n_stages * self.weight.size * 24)

    def chunk_size(self) -> int:
        """Candidates per batched call: the memory budget's, capped at :attr:`chunk_bus_cases`."""
        cap = max(1, self.chunk_bus_cases // (self.cases_per_candidate() * self.net.n_bus))
        return min(super().chunk_size(), cap)

    def operate(self, plan: dict[str, NDArray[Any]], v2g: bool = True) -> dict[str, NDArray[Any]]:
        """The lower level (steps 1-4 of the module docstring): bus injections of every case and
        the operating quantities that precede the power flow. ``v2g=False`` runs the plan with its
        V2G chargers used as smart chargers (000 section 4.2.3's "without V2G")."""
        from grid import staging, storage

        cfg, net = self.config, self.net
        n, S = plan["smart"].shape
        sm, v2 = cfg.ev_price_response * plan["smart"], cfg.ev_price_response * plan["v2g"]
        if not v2g:
            sm, v2 = sm + v2, np.zeros_like(v2)
        lim, scale = self._lim, self.ev_scale
        # EV loads at the EV buses: the uncoordinated share charges on arrival (n, S, st, 24)
        unc = (1.0 - sm - v2)[..., None, None] * scale[None, :, None, None] * self._unc[None, None]
        head0 = self._head_base[None] + unc.sum(2)[:, :, None, :]  # (n, S, W, 24)
        # devices: smart stations (no discharge), V2G stations, the battery: one flatten call
        k = len(self.ev_idx)
        f_sm = (sm * scale)[..., None, None]  # (n, S, 1, 1)
        f_v2 = (v2 * scale)[..., None, None]
        zero = np.zeros((n, S, 1, 24))
        pb = plan["storage_kw"][..., None, None] * np.ones((1, 1, 1, 24))
        e = plan["storage_kw"][..., None, None] * cfg.storage_hours
        lo, hi = cfg.storage_soc
        dev = storage.StorageBounds(
            p_ch_max_kw=np.concatenate([f_sm * lim.p_ch_max_kw, f_v2 * lim.p_ch_max_kw, pb], axis=2),
            p_dis_max_kw=np.concatenate([np.zeros((n, S, k, 24)), f_v2 * lim.p_dis_max_kw, pb], axis=2),
            energy_min_kwh=np.concatenate(
                [f_sm * lim.energy_min_kwh, f_v2 * lim.energy_min_kwh, lo * e + zero], 2
            ),
            energy_max_kwh=np.concatenate(
                [f_sm * lim.energy_max_kwh, f_v2 * lim.energy_max_kwh, hi * e + zero], 2
            ),
            inflow_kwh=np.concatenate([f_sm * lim.delta_kwh, f_v2 * lim.delta_kwh, zero], axis=2),
            efficiency=np.broadcast_to(
                np.r_[lim.efficiency, lim.efficiency, cfg.storage_efficiency], (n, S, 2 * k + 1)
            ),
            kind="ev_station",  # mixed: EV stations and a battery
        )
        pnet, unserved = self._dispatch(head0, dev)  # (n, S, W, dev, 24)
        ev_kw = unc[:, :, None] + pnet[:, :, :, :k] + pnet[:, :, :, k : 2 * k]  # (n, S, W, st, 24)
        ev_kw = np.swapaxes(ev_kw, -1, -2)  # (n, S, W, 24, st)
        bat = pnet[:, :, :, 2 * k]  # (n, S, W, 24)
        # per-candidate, per-stage impedances: a reinforced line has a parallel circuit (r, x halved)
        half = np.ones((n, S, net.n_branch))
        half[..., self.line_idx] = np.where(plan["built"], 0.5, 1.0)
        # PV curtailment (000 3.2.2-3.2.3) and lost load (step 4) in one pass over the cases, with
        # LinDistFlow's voltage sensitivities to each demand pattern of a (candidate, stage)
        op = staging.operate_rules(
            self._load_scale,
            self._pv_scale,
            net.p_kw,
            net.q_kvar,
            self._pv_bus,
            ev_kw,
            self.ev_idx,
            bat,
            plan["site"],
            self.sensitivity(plan["site"], half),
            self._vnl,
            plan["trafo_kva"],
            v_max_pu=cfg.v_max_pu,
            k_inv=cfg.k_inv,
            parent=net.parent,
            branch_weight=net.r_ohm * half / (net.z_base_ohm * 1000.0 * self._vnl[1:]),
            rule=cfg.curtail_rule,
        )
        pv_kw = np.broadcast_to(self._pv_scale * self._pv_bus.sum(), op.curtail_frac.shape)
        return {
            "p_kw": op.p_kw,
            "q_kvar": op.q_kvar,
            "r_ohm": net.r_ohm * half[:, :, None, None, :],
            "x_ohm": net.x_ohm * half[:, :, None, None, :],
            "curtailed_kw": pv_kw * op.curtail_frac,
            "pv_kw": pv_kw,
            "ev_shed_kw": op.ev_shed_kw,
            "load_shed_kw": op.load_shed_kw,
            "ev_unserved_kwh": unserved[:, :, :, : 2 * k].sum(axis=(-1, -2)),
            "ev_kw": ev_kw,
            "battery_kw": bat,
        }

    def _dispatch(self, head0: NDArray[np.float64], dev: Any) -> tuple[NDArray[Any], NDArray[Any]]:
        """:func:`grid.storage.flatten` of the devices ``dev`` ``(n, S, devices)`` on ``head0``
        ``(n, S, W, 24)``: net power and unserved energy ``(n, S, W, devices, 24)``. A device that
        is zero in a stage for the whole population (V2G in stage I, EVs in schemes A-C, no
        battery) is left out of that stage's call: its schedule is zero and Gauss-Seidel over the
        others is the same, bit for bit, so only the work changes (one call per set of stages with
        the same devices)."""
        from grid import storage

        n, S, W, T = head0.shape
        fields = ("p_ch_max_kw", "p_dis_max_kw", "energy_min_kwh", "energy_max_kwh", "inflow_kwh")
        live = np.zeros((S, dev.shape[-1]), dtype=bool)
        for f in fields:
            live |= (getattr(dev, f) != 0).any(axis=(0, -1))
        pnet = np.zeros((n, S, W, dev.shape[-1], T))
        unserved = np.zeros_like(pnet)
        for key in {tuple(row) for row in live}:
            st = np.flatnonzero((live == key).all(axis=1))
            d = np.flatnonzero(key)
            if d.size == 0:
                continue
            ix = np.ix_(np.arange(n), st, d)
            sub = storage.StorageBounds(
                **{f: getattr(dev, f)[ix] for f in fields}, efficiency=dev.efficiency[ix], kind=dev.kind
            ).expand_dims(2)
            sched = storage.flatten(head0[:, st], sub, sweeps=self.config.sweeps, parallel=True)
            pnet[np.ix_(np.arange(n), st, np.arange(W), d)] = sched.p_ch_kw - sched.p_dis_kw
            unserved[np.ix_(np.arange(n), st, np.arange(W), d)] = sched.unserved_kwh
        return pnet, unserved

    def sensitivity(self, site: NDArray[np.int64], half: NDArray[np.float64]) -> NDArray[np.float64]:
        """LinDistFlow voltage drops ``(n, S, 3 + k, bus)`` per unit of each demand pattern of
        :func:`grid.staging.operate_rules` (load, PV, EV station m, the battery at ``site``), under
        each candidate's per-stage impedances ``net.{r,x}_ohm * half`` (``half`` ``(n, S, branch)``)."""
        from grid.staging import lindistflow_drop

        net = self.net
        r, x = net.r_ohm * half, net.x_ohm * half
        k = self.ev_idx.size
        P = np.zeros((2 + k, net.n_bus))
        Q = np.zeros_like(P)
        P[0], Q[0], P[1] = net.p_kw, net.q_kvar, self._pv_bus
        P[2 + np.arange(k), self.ev_idx] = 1.0
        fixed = lindistflow_drop(net, self.D, P, Q, r[:, :, None], x[:, :, None])
        one = np.zeros((site.size, 1, net.n_bus))
        one[np.arange(site.size), 0, site] = 1.0
        at_site = lindistflow_drop(net, self.D, one, 0.0 * one, r, x)
        return np.concatenate([fixed, at_site[:, :, None]], axis=2)

    def compute(
        self, X: NDArray[np.float64], v2g: bool = True, detail: bool = True
    ) -> dict[str, NDArray[Any]]:
        """Every reported quantity of a population, 000's table 1 (arrays ``(n,)`` unless noted):
        ``lcc_cny``; ``invest_cny`` ``(n, S)`` per stage; ``curtail_rate`` ``(n, S)`` curtailed over
        available PV energy; ``heavy_load_h`` ``(n, S)`` hours a year above 80 % transformer loading;
        ``violation_nodes_evening`` buses outside the band at the stage-II evening peak (the
        worst scenario's hour of highest head load, 17-21 h); ``ev_satisfaction`` ``(n, S)``
        delivered over wanted EV energy; ``peak_kw`` ``(n, S)`` highest head power; ``vband`` (pu),
        ``pf_failed``; ``loss_kw`` per case; ``lcc_terms_cny`` the LCC's discounted terms, each
        ``(n, S)``; ``vm_pu`` ``(n, S, W, 24, bus)`` (only with ``detail``: the evaluation leaves it
        out)."""
        from grid.powerflow import solve
        from grid.staging import vm_range

        cfg = self.config
        plan = self.plans(X)
        n, S = plan["smart"].shape
        op = self.operate(plan, v2g=v2g)
        res = solve(self.net, op["p_kw"], op["q_kvar"], r_ohm=op["r_ohm"], x_ohm=op["x_ohm"], tol=self.tol)
        w = self.weight

        def yearly(a: NDArray[np.float64]) -> NDArray[np.float64]:  # (n, S, W, 24) kW -> (n, S) kWh/yr
            return 365.0 * (a.sum(-1) * w).sum(-1)

        loss = yearly(res.loss_kw * self.loss_price)
        curt, shed_ev, shed = yearly(op["curtailed_kw"]), yearly(op["ev_shed_kw"]), yearly(op["load_shed_kw"])
        op_cost = op_cost_0 = loss + cfg.curtail_cny_per_kwh * curt + cfg.lost_load_cny_per_kwh * shed
        op_cost = op_cost + cfg.ev_shed_cny_per_kwh * (shed_ev + 365.0 * (op["ev_unserved_kwh"] * w).sum(-1))
        # investment per stage (paid in its first year), capital cumulative for O&M
        built = plan["built"].astype(float)
        new_line = np.diff(np.concatenate([np.zeros((n, 1, built.shape[2])), built], 1), axis=1)
        tk = plan["trafo_kva"]
        new_trafo = np.where(np.diff(np.c_[np.full(n, self.ladder_kva[0]), tk], axis=1) > 0, tk, 0.0)
        dP = np.diff(np.c_[np.zeros(n), plan["storage_kw"]], axis=1)
        piles_sm = np.diff(np.c_[np.zeros(n), plan["smart"] * self.n_ev_stage], axis=1).clip(0)
        piles_v2 = np.diff(np.c_[np.zeros(n), plan["v2g"] * self.n_ev_stage], axis=1).clip(0)
        invest = (
            (new_line * self.line_cost_cny).sum(-1)
            + cfg.transformer_cost_cny_per_kva * new_trafo
            + dP * (cfg.storage_cny_per_kw + cfg.storage_hours * cfg.storage_cny_per_kwh)
            + cfg.smart_cny_per_pile * piles_sm
            + cfg.v2g_cny_per_pile * piles_v2
        )
        capital = np.cumsum(invest, axis=1)
        # row-wise sums, not BLAS products: a chunk must give the bits of one call
        yearly_cost = cfg.om_share * capital + op_cost
        lcc = (invest * self.disc.first_year).sum(-1) + (yearly_cost * self.disc.years).sum(-1)
        v_lo, v_hi = vm_range(res.v_pu)
        vband = np.maximum(cfg.v_min_pu - v_lo, v_hi - cfg.v_max_pu)
        s_head = np.hypot(res.slack_p_kw, res.slack_q_kvar)  # (n, S, W, 24)
        heavy = 365.0 * ((s_head > 0.8 * tk[:, :, None, None]).sum(-1) * w).sum(-1)
        # stage II evening peak: worst scenario, its highest-head hour within 17-21 h
        s2 = min(1, S - 1)
        eve = res.slack_p_kw[:, s2, :, 17:22]
        wi, hi = np.unravel_index(eve.reshape(n, -1).argmax(1), eve.shape[1:])
        v_eve = np.abs(res.v_pu[np.arange(n), s2, wi, 17 + hi])
        nodes = ((v_eve < cfg.v_min_pu) | (v_eve > cfg.v_max_pu)).sum(-1)
        want = self.ev_need_kwh[None] * 365.0
        sat = 1.0 - (shed_ev + 365.0 * (op["ev_unserved_kwh"] * w).sum(-1)) / np.maximum(want, 1e-9)
        conv = res.converged.reshape(n, -1)
        pv_e = yearly(op["pv_kw"])
        return {
            "lcc_cny": lcc,
            "invest_cny": invest,
            "curtail_rate": np.where(pv_e > 0, curt / np.maximum(pv_e, 1e-9), 0.0),
            "heavy_load_h": heavy,
            "violation_nodes_evening": nodes,
            "ev_satisfaction": sat,
            "peak_kw": res.slack_p_kw.max(axis=(2, 3)),
            "loss_kwh_yr": yearly(res.loss_kw),
            "lost_load_kwh_yr": shed,
            "vband": vband,
            "pf_failed": 1.0 - conv.mean(1),
            "slack_p_kw": res.slack_p_kw,
            "plan": plan,
            "loss_kw": res.loss_kw,
            # the LCC's discounted terms per stage (n, S); they sum to lcc_cny
            "lcc_terms_cny": {
                "investment": invest * self.disc.first_year,
                "O&M": cfg.om_share * capital * self.disc.years,
                "losses": loss * self.disc.years,
                "curtailment": cfg.curtail_cny_per_kwh * curt * self.disc.years,
                "lost load": cfg.lost_load_cny_per_kwh * shed * self.disc.years,
                "EV charging shed": (op_cost - op_cost_0) * self.disc.years,
            },
            **({"vm_pu": res.vm_pu} if detail else {}),
        }

    def _evaluate_batch(self, X: NDArray[np.float64], out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        c = self.compute(X, detail=False)
        failed = c["pf_failed"] > 0
        out["F"] = penalise_failed(c["lcc_cny"][:, None], failed)
        G = np.column_stack([c["vband"] - self.config.v_tol_pu, c["pf_failed"]])
        out["G"] = np.where(np.isfinite(G), G, 1.0)
