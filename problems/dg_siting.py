"""``DGSiting``: where to put ``n`` distributed generators on a radial feeder, and how big.

The classic benchmark of the DG-placement literature, as a vectorised pymoo problem.

Decision vector (``n_var = 2 * n_dg``, or ``3 * n_dg`` with the power factor as a variable)::

    x = [site_0 .. site_{n-1} | p_0 .. p_{n-1} (kW) | pf_0 .. pf_{n-1}]

``site_k`` is an integer index into ``candidates`` (``int_mask`` marks it; a continuous value is
rounded to the nearest index, so the problem also works with algorithms that do not repair);
``p_k`` is the DG's rated active power in kW; ``pf_k`` its power factor (over-excited: the DG injects
``q = p * tan(acos(pf))`` kvar, the usual "type III" DG). With a fixed power factor (unity by
default) the pf block is absent.

The same bus chosen twice
-------------------------
``duplicates="merge"`` (default): two DGs at one bus are physically one larger DG; their powers add
(``np.add.at``), and ``decode`` shows both rows plus the merged total per bus in ``plan_by_bus``.
This keeps the search space a box and lets an algorithm "switch off" a DG by stacking it.
``duplicates="forbid"``: the same, plus a constraint column ``duplicate_sites`` that counts the
repeated sites (``> 0`` is infeasible): use it when ``n_dg`` distinct sites are part of the question.

Load levels
-----------
One load level (``scenarios=None``): the nominal loads times ``load_level`` and the DGs at rated
output; the power flow runs on a ``(n_candidates, n_bus)`` batch. With a scenario set (anything with
``(n_scenarios, 24)`` arrays ``load_pu``, ``pv_pu``, ``wind_pu`` and a ``weight`` vector, such as
``grid.scenarios.ScenarioSet``) loads follow ``load_pu`` and each DG its type's profile
(``"firm"``: 1, ``"pv"``: ``pv_pu``, ``"wind"``: ``wind_pu``); the batch is
``(n_candidates, n_scenarios, 24, n_bus)`` and energies are probability-weighted per typical day.

Objectives (``objectives=`` any of these names, in the order given; all minimised in ``out["F"]``)
-------------------------------------------------------------------------------------------------
========== ======================================================== =============== ========
name       meaning                                                  unit            sense
========== ======================================================== =============== ========
``loss``   active loss (one level) / expected daily loss energy     kW / kWh/day    min
``vdev``   voltage deviation index ``sum_i (1 - V_i)^2`` (mean over pu^2            min
           hours and scenarios with a scenario set)
``vmin``   lowest bus voltage (worst hour); ``F`` holds ``-vmin``   pu              max
``dg_kw``  installed DG capacity ``sum_k p_k``                      kW              min
========== ======================================================== =============== ========

Constraints (``out["G"]``, feasible where ``<= 0``; names in ``constraint_names``)
----------------------------------------------------------------------------------
``v_low`` ``v_min_pu - min V`` and ``v_high`` ``max V - v_max_pu`` (pu; band 0.95-1.05 by default,
over all hours and scenarios); ``i_max`` worst ``|I|/I_max - 1`` (only when the network has branch
limits); ``dg_total`` ``(sum p - total_max_kw) / total_max_kw`` (the bound defaults to the
feeder's nominal active load); ``pf_failed`` share of the candidate's power flows that did not
converge (their objectives get :data:`problems._common.PENALTY`); ``duplicate_sites`` with
``duplicates="forbid"``.

Published optimum this problem reproduces (see ``tests/problems/test_dg_siting.py``)
-----------------------------------------------------------------------------------
IEEE 33 (Baran & Wu / MATPOWER ``case33bw``, base loss 202.68 kW), 3 DGs at unity pf: buses 14, 24,
30 with 754.7, 1099.9, 1071.4 kW give 71.457 kW here, the figure the DG-placement papers that use
the same data report for this plan (for example Sultana & Roy, IJEPES 63, 2014). The "~72.8 kW"
sometimes quoted for three DGs does not come from this plan on this data (we get 71.46 kW; a
13 / 24 / 30 plan of 802 / 1091 / 1054 kW gives 71.51 kW); papers quoting a 211 kW base loss use a
different 33-bus data variant (branch 7-8 changed; see ``grid/data/SOURCES.md``) whose losses are
not comparable.
PG&E 69 (MATPOWER ``case69``, base loss 224.99 kW), 1 DG at unity pf: bus 61, 1872.7 kW, loss
83.22 kW (Hung, Mithulananthan & Bansal, IEEE Trans. Energy Conversion 25(3), 2010), same data.
Run to convergence (differential evolution, 9000 evaluations), the problem finds both plans.
The citations are from the literature as known to the authors; the figures themselves are
re-derived here to four digits.

Example
-------
>>> from problems.dg_siting import DGSiting
>>> prob = DGSiting(case="ieee33", n_dg=3, p_max_kw=2000.0)
>>> x = prob.encode([14, 24, 30], [754.7, 1099.9, 1071.4])
>>> round(float(prob.evaluate(x[None, :])[0][0, 0]), 2)
71.46
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pymoo.core.problem import Problem

from ._common import (
    ChunkedEvaluation,
    ProblemConfigError,
    as_float_vector,
    band_violation,
    bus_matrix,
    current_violation,
    default_scenarios,
    memory_budget,
    penalise_failed,
    round_index,
    scenario_weights,
)

__all__ = ["DGSiting", "OBJECTIVES"]


def _finite(**values: Any) -> None:
    """Refuse a non-finite bound: an infinite or NaN bound makes every constraint value NaN or
    infinite, which the problem then reports as violated, so every plan would be infeasible."""
    for name, value in values.items():
        try:
            ok = bool(np.isfinite(float(value)))
        except (TypeError, ValueError):
            raise ProblemConfigError(f"{name} must be a number, got {value!r}") from None
        if not ok:
            raise ProblemConfigError(f"{name} must be finite, got {value!r}")


#: name -> (unit with one load level, unit with scenarios, sense)
OBJECTIVES: dict[str, tuple[str, str, str]] = {
    "loss": ("kW", "kWh/day", "min"),
    "vdev": ("pu^2", "pu^2", "min"),
    "vmin": ("pu", "pu", "max"),
    "dg_kw": ("kW", "kW", "min"),
}

_DG_TYPES = ("firm", "pv", "wind")


class DGSiting(ChunkedEvaluation, Problem):
    """Place and size ``n_dg`` DGs on a feeder to minimise loss (and/or other objectives).

    Parameters
    ----------
    case : str or grid.network.Network
        Built-in case name (``"ieee33"``, ``"pge69"``) or a network.
    n_dg : int
        Number of DGs.
    candidates : list of int, optional
        Candidate bus labels; default every non-slack bus (sorted by label).
    p_min_kw, p_max_kw : float or list of float
        Size bounds per DG (kW).
    pf : float
        Fixed power factor in (0, 1] (1 = unity), used unless ``pf_variable``.
    pf_variable : bool
        Make each DG's power factor a variable in ``[pf_min, 1]``.
    pf_min : float
        Lower bound of a variable power factor.
    dg_type : str or list of str
        ``"firm"``, ``"pv"`` or ``"wind"`` per DG (matters only with ``scenarios``).
    objectives : str or list of str
        Names from :data:`OBJECTIVES`.
    v_min_pu, v_max_pu : float
        Voltage band.
    total_max_kw : float, optional
        Bound on total installed DG; default the feeder's nominal active load.
    load_level : float
        Load multiplier for the single-level mode.
    scenarios : ScenarioSet-like or "typical_days", optional
        Typical days (see the module docstring); the string ``"typical_days"`` (usable from a
        campaign TOML) means 003's four typical days of the reference year
        (:func:`problems._common.default_scenarios`).
    duplicates : {"merge", "forbid"}
        Handling of two DGs at the same bus (see the module docstring).
    tol : float
        Power-flow tolerance (passed to ``grid.powerflow.solve``).
    memory_budget_gib : float, optional
        Working-memory budget of one batched evaluation in GiB; a larger population is evaluated in
        chunks with identical results (default :data:`problems._common.MEMORY_BUDGET_BYTES`, 1 GiB).
    """

    #: Peak working memory per candidate, bus and power flow: 81-84 bytes measured (peak RSS growth of
    #: evaluating 200 and 800 candidates on IEEE 33, one level and four typical days), with margin.
    bytes_per_bus_case = 128.0

    def __init__(
        self,
        case: Any = "ieee33",
        n_dg: int = 3,
        candidates: Sequence[int] | None = None,
        p_min_kw: float | Sequence[float] = 0.0,
        p_max_kw: float | Sequence[float] = 2000.0,
        pf: float = 1.0,
        pf_variable: bool = False,
        pf_min: float = 0.7,
        dg_type: str | Sequence[str] = "firm",
        objectives: str | Sequence[str] = ("loss",),
        v_min_pu: float = 0.95,
        v_max_pu: float = 1.05,
        total_max_kw: float | None = None,
        load_level: float = 1.0,
        scenarios: Any = None,
        duplicates: str = "merge",
        tol: float = 1e-8,
        memory_budget_gib: float | None = None,
    ) -> None:
        from grid import cases

        self.net = cases.load(case) if isinstance(case, str) else case
        net = self.net
        if int(n_dg) < 1:
            raise ProblemConfigError(f"n_dg must be at least 1, got {n_dg}")
        self.n_dg = n_dg = int(n_dg)
        if candidates is None:
            cand = np.sort(net.bus[1:])
        else:
            cand = np.asarray(candidates, dtype=np.int64).ravel()
            if cand.size == 0:
                raise ProblemConfigError("candidates is empty")
            if net.slack_bus in set(cand.tolist()):
                raise ProblemConfigError(f"candidate bus {net.slack_bus} is the slack bus of {net.name!r}")
            if len(np.unique(cand)) != cand.size:
                raise ProblemConfigError(f"candidates contain repeated buses: {cand.tolist()}")
        try:
            self.cand_idx = net.index_of(cand)
        except KeyError as exc:
            raise ProblemConfigError(f"candidates: {exc.args[0]}") from None
        self.candidates = cand
        self.p_min_kw = as_float_vector(p_min_kw, n_dg, "p_min_kw")
        self.p_max_kw = as_float_vector(p_max_kw, n_dg, "p_max_kw")
        for name, value in (("p_min_kw", self.p_min_kw), ("p_max_kw", self.p_max_kw)):
            if not np.isfinite(value).all():
                raise ProblemConfigError(f"{name} must be finite, got {value.tolist()}")
        if np.any(self.p_min_kw < 0) or np.any(self.p_max_kw <= self.p_min_kw):
            raise ProblemConfigError(
                f"need 0 <= p_min_kw < p_max_kw, got {self.p_min_kw.tolist()} / {self.p_max_kw.tolist()}"
            )
        if not 0.0 < pf <= 1.0 or not 0.0 < pf_min <= 1.0:
            raise ProblemConfigError(f"power factors must lie in (0, 1], got pf={pf}, pf_min={pf_min}")
        self.pf = float(pf)
        self.pf_variable = bool(pf_variable)
        self.pf_min = float(pf_min)
        types = [dg_type] * n_dg if isinstance(dg_type, str) else list(dg_type)
        if len(types) != n_dg or any(t not in _DG_TYPES for t in types):
            raise ProblemConfigError(
                f"dg_type must be one of {_DG_TYPES} or a list of {n_dg} of them: {dg_type}"
            )
        self.dg_type = types
        objs = [objectives] if isinstance(objectives, str) else list(objectives)
        unknown = [o for o in objs if o not in OBJECTIVES]
        if not objs or unknown or len(set(objs)) != len(objs):
            raise ProblemConfigError(f"objectives must be distinct names from {list(OBJECTIVES)}, got {objs}")
        self.objectives = objs
        _finite(v_min_pu=v_min_pu, v_max_pu=v_max_pu, load_level=load_level, tol=tol)
        if total_max_kw is not None:
            _finite(total_max_kw=total_max_kw)
        if not v_min_pu < v_max_pu:
            raise ProblemConfigError(f"need v_min_pu < v_max_pu, got {v_min_pu}, {v_max_pu}")
        self.v_min_pu, self.v_max_pu = float(v_min_pu), float(v_max_pu)
        self.total_max_kw = float(net.p_kw.sum()) if total_max_kw is None else float(total_max_kw)
        if self.total_max_kw <= 0:
            raise ProblemConfigError(f"total_max_kw must be positive, got {total_max_kw}")
        self.load_level = float(load_level)
        if self.load_level < 0:
            raise ProblemConfigError(f"load_level must be >= 0, got {load_level}")
        if duplicates not in ("merge", "forbid"):
            raise ProblemConfigError(f"duplicates must be 'merge' or 'forbid', got {duplicates!r}")
        self.duplicates = duplicates
        self.tol = float(tol)
        if self.tol <= 0:
            raise ProblemConfigError(f"tol must be positive, got {tol}")
        self.memory_budget_bytes = memory_budget(memory_budget_gib)

        # Per-type generation profiles (n_types, n_scenarios, 24) and load profile (n_scenarios, 24).
        if isinstance(scenarios, str):
            if scenarios != "typical_days":
                raise ProblemConfigError(
                    f"scenarios must be a ScenarioSet or 'typical_days', got {scenarios!r}"
                )
            scenarios = default_scenarios(4, 0)
        self.scenarios = scenarios
        if scenarios is None:
            self._prob = None
        else:
            shape = np.shape(scenarios.load_pu)
            if len(shape) != 2:
                raise ProblemConfigError(f"scenarios.load_pu must be (n_scenarios, n_hours), got {shape}")
            for name in ("pv_pu", "wind_pu"):
                if np.shape(getattr(scenarios, name)) != shape:
                    raise ProblemConfigError(f"scenarios.{name} must have shape {shape}")
            self._prob = scenario_weights(scenarios.weight)
            if self._prob.shape[0] != shape[0]:
                raise ProblemConfigError(f"scenarios.weight must have {shape[0]} entries")
            self._load_pu = np.asarray(scenarios.load_pu, dtype=np.float64)
            ones = np.ones(shape)
            profiles = {
                "firm": ones,
                "pv": np.asarray(scenarios.pv_pu, float),
                "wind": np.asarray(scenarios.wind_pu, float),
            }
            self._profile = np.stack([profiles[t] for t in _DG_TYPES])  # (3, S, H)
        self._type_code = np.array([_DG_TYPES.index(t) for t in types], dtype=np.int64)

        n_blocks = 3 if self.pf_variable else 2
        n_cand = len(cand)
        xl = np.concatenate(
            [np.zeros(n_dg), self.p_min_kw] + ([np.full(n_dg, self.pf_min)] if pf_variable else [])
        )
        xu = np.concatenate(
            [np.full(n_dg, n_cand - 1.0), self.p_max_kw] + ([np.ones(n_dg)] if pf_variable else [])
        )
        self.int_mask = np.zeros(n_blocks * n_dg, dtype=bool)
        self.int_mask[:n_dg] = True

        self.has_current_limits = bool(np.isfinite(net.i_max_a).any())
        cons = ["v_low", "v_high"]
        if self.has_current_limits:
            cons.append("i_max")
        cons += ["dg_total", "pf_failed"]
        if duplicates == "forbid":
            cons.append("duplicate_sites")
        self.constraint_names = cons
        k = 0 if scenarios is None else 1
        self.objective_names = list(objs)
        self.objective_units = [OBJECTIVES[o][k] for o in objs]
        self.objective_senses = [OBJECTIVES[o][2] for o in objs]
        super().__init__(n_var=n_blocks * n_dg, n_obj=len(objs), n_ieq_constr=len(cons), xl=xl, xu=xu)

    # ------------------------------------------------------------------ decoding
    def _split(self, X: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray, NDArray, NDArray]:
        """Candidate indices, internal bus indices, p_kw and q_kvar, each (n_candidates, n_dg)."""
        n = self.n_dg
        site = round_index(X[:, :n], len(self.candidates))
        p_kw = np.clip(X[:, n : 2 * n], self.p_min_kw, self.p_max_kw)
        pf = (
            np.clip(X[:, 2 * n : 3 * n], self.pf_min, 1.0)
            if self.pf_variable
            else np.full_like(p_kw, self.pf)
        )
        q_kvar = p_kw * np.tan(np.arccos(pf))
        return site, self.cand_idx[site], p_kw, q_kvar

    def encode(
        self, buses: Sequence[int], p_kw: Sequence[float], pf: Sequence[float] | None = None
    ) -> NDArray[np.float64]:
        """The decision vector (n_var,) of a plan given as bus labels, kW (and power factors)."""
        buses = np.asarray(buses, dtype=np.int64)
        if buses.shape != (self.n_dg,):
            raise ProblemConfigError(f"a plan needs {self.n_dg} buses, got {buses.tolist()}")
        pos = {int(b): i for i, b in enumerate(self.candidates)}
        missing = [int(b) for b in buses if int(b) not in pos]
        if missing:
            raise ProblemConfigError(f"buses {missing} are not candidates of this problem")
        parts = [np.array([pos[int(b)] for b in buses], float), as_float_vector(p_kw, self.n_dg, "p_kw")]
        if self.pf_variable:
            parts.append(as_float_vector(1.0 if pf is None else pf, self.n_dg, "pf"))
        return np.concatenate(parts)

    def decode(self, x: NDArray[np.float64]) -> pd.DataFrame:
        """One solution as a plan table: one row per DG (``dg``, ``bus``, ``type``, ``p_kw``, ``q_kvar``,
        ``pf``), sorted by bus. Rows sharing a bus are merged by :meth:`plan_by_bus`."""
        X = np.atleast_2d(np.asarray(x, dtype=np.float64))
        site, _, p, q = self._split(X)
        bus = self.candidates[site[0]]
        pf = np.where(p[0] > 0, p[0] / np.maximum(np.hypot(p[0], q[0]), 1e-300), 1.0)
        df = pd.DataFrame(
            {
                "dg": np.arange(self.n_dg),
                "bus": bus,
                "type": self.dg_type,
                "p_kw": p[0],
                "q_kvar": q[0],
                "pf": pf,
            }
        )
        return df.sort_values(["bus", "dg"], kind="stable").reset_index(drop=True)

    def plan_by_bus(self, x: NDArray[np.float64]) -> pd.DataFrame:
        """The plan with DGs at the same bus merged: ``bus``, ``n_dg``, ``p_kw``, ``q_kvar``."""
        df = self.decode(x)
        return df.groupby("bus", as_index=False).agg(
            n_dg=("dg", "size"), p_kw=("p_kw", "sum"), q_kvar=("q_kvar", "sum")
        )

    # ------------------------------------------------------------------ evaluation
    def injections(self, X: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Net demand per bus for every candidate (kW, kvar), in the network's internal bus order.

        Shape (n_candidates, n_bus) with one load level, (n_candidates, n_scenarios, 24, n_bus) with
        scenarios.
        """
        net = self.net
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        _, idx, p, q = self._split(X)
        n = X.shape[0]
        if self.scenarios is None:
            p_gen = bus_matrix(idx, p, net.n_bus)
            q_gen = bus_matrix(idx, q, net.n_bus)
            return self.load_level * net.p_kw - p_gen, self.load_level * net.q_kvar - q_gen
        # Rated kW / kvar per (candidate, type, bus), then scaled by each type's profile.
        flat = idx + net.n_bus * self._type_code[None, :]
        p_gen = bus_matrix(flat, p, 3 * net.n_bus).reshape(n, 3, net.n_bus)
        q_gen = bus_matrix(flat, q, 3 * net.n_bus).reshape(n, 3, net.n_bus)
        load = self._load_pu[None, :, :, None]
        # (n, 3, n_bus) x (3, S, H) -> (n, S, H, n_bus) as one BLAS product
        prof = self._profile.reshape(3, -1)
        shape = (n, *self._load_pu.shape, net.n_bus)
        p_out = np.matmul(p_gen.transpose(0, 2, 1), prof).transpose(0, 2, 1).reshape(shape)
        q_out = np.matmul(q_gen.transpose(0, 2, 1), prof).transpose(0, 2, 1).reshape(shape)
        p_kw = load * net.p_kw - p_out
        q_kvar = load * net.q_kvar - q_out
        return p_kw, q_kvar

    def cases_per_candidate(self) -> int:
        """Power flows per candidate: 1 with one load level, ``n_scenarios * n_hours`` with scenarios."""
        return 1 if self.scenarios is None else int(np.prod(self._load_pu.shape))

    def _evaluate_batch(self, X: NDArray[np.float64], out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        from grid.powerflow import solve

        X = np.atleast_2d(X)
        n = X.shape[0]
        site, _, p, _ = self._split(X)
        p_kw, q_kvar = self.injections(X)
        res = solve(self.net, p_kw, q_kvar, tol=self.tol)  # the one power-flow call for the population
        vm = res.vm_pu
        conv = res.converged.reshape(n, -1)
        failed_share = 1.0 - conv.mean(axis=1)
        if self.scenarios is None:
            loss = res.loss_kw
            vdev = ((1.0 - vm) ** 2).sum(axis=-1)
        else:
            loss = np.einsum("csh,s->c", res.loss_kw, self._prob)  # kWh per typical day (1 h steps)
            vdev = np.einsum("csh,s->c", ((1.0 - vm) ** 2).sum(axis=-1), self._prob) / vm.shape[2]
        vmin = vm.reshape(n, -1).min(axis=1)
        values = {"loss": loss, "vdev": vdev, "vmin": -vmin, "dg_kw": p.sum(axis=1)}
        F = np.column_stack([values[o] for o in self.objectives])
        out["F"] = penalise_failed(F, failed_share > 0)

        v_low, v_high = band_violation(vm, self.v_min_pu, self.v_max_pu)
        cols = [v_low, v_high]
        if self.has_current_limits:
            cols.append(current_violation(res.i_a, self.net.i_max_a))
        cols += [(p.sum(axis=1) - self.total_max_kw) / self.total_max_kw, failed_share]
        if self.duplicates == "forbid":
            s = np.sort(site, axis=1)
            cols.append((s[:, 1:] == s[:, :-1]).sum(axis=1).astype(float))
        G = np.column_stack(cols)
        out["G"] = np.where(np.isfinite(G), G, 1.0)
        # Diagnostics from the same power flow (no second solve).
        out["loss_kw"] = (
            res.loss_kw.reshape(n, -1).mean(axis=1) if self.scenarios is not None else res.loss_kw
        )
        out["vmin_pu"] = vmin
