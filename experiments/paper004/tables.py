"""Paper 004's table 1, node claims and findings from a finished campaign, beside the published values.

Usage::

    python -m experiments.paper004.tables results/paper004_ieee33 [--out FILE] [--figures DIR]

The campaign (``evs_ieee33.toml``) optimises 004's scenario 3 (DG + EVS, problem ``evs_siting`` with
``scenario = 3``) and, as its own problem, scenario 4 (DG + normal batteries, ``scenario = 4``). For
each problem label and algorithm the fronts of all replicates are pooled (feasible members, the
non-dominated set of the union) and one plan is chosen as the **knee** of the pooled front
(:func:`optim.select.knee_point`: each objective min-max normalised over the front, the member
farthest below the plane through the extremes; 004 does not say how it picked its plan).

004 table 1's four columns, ours:

* scenarios 1 and 2 have no decision: :meth:`problems.evs_siting.EVSSiting.baseline` of the
  scenario-3 problem (same parameters as the run);
* scenario 3: the knee plan of MOPSO (004's method) re-evaluated with ``compute`` (EVS);
* scenario 4: the same sites and powers as normal batteries, ``compute(X, scenario=4)`` (004
  compares the two storages on one plan; the batteries' energy is ``Config004.battery_hours``).

The scenario-4 campaign's own knee plans are printed beside, for comparison. Node claims (004
section 5): a bus's voltage fluctuation is its term of eq. (1), ``sum_t |V_it - Vbar_i|``, expected
over the scenarios. ``--figures DIR`` writes PNGs of 004's figures 4-5, 7, 8 and 9 and the fronts.

Results folders are data: the runs are read with :mod:`optim.store`, and a problem is rebuilt from
its stored registry name and parameters only if the name is in the registry (never imported).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: 004 table 1 (f1 pu, f2 and f3 read as MWh/day; "/" = no storage).
PUBLISHED: dict[str, dict[int, float]] = {
    "vfluct": {1: 0.319736, 2: 0.369132, 3: 0.36345, 4: 0.36784},
    "loss": {1: 1.657225, 2: 0.947059, 3: 1.170143, 4: 1.268574},
    "storage": {3: 2.565299, 4: 2.325875},
}
LABELS = {
    "vfluct": "f1 voltage fluctuation / pu",
    "loss": "f2 network loss / MWh/day",
    "storage": "f3 storage (energy charged) / MWh/day",
}
#: (objective, numerator scenario, denominator scenario) of the ratio table.
RATIOS: list[tuple[str, int, int]] = [
    ("loss", 2, 1),
    ("loss", 3, 1),
    ("loss", 4, 1),
    ("vfluct", 2, 1),
    ("vfluct", 3, 2),
    ("vfluct", 4, 2),
]
#: 004 section 5's node claims: (bus, numerator scenario, denominator scenario, 004's change).
#: Node 16: "the voltage deviation of node 16 in scenario 3 is 9.4 % compared with ... scenario 1,
#: ... scenario 2 compared with ... scenario 1 is 40 %", read as fluctuation ratios - 1. Nodes 13 and
#: 33: "average voltage ... reduced by 29.5 % / 21.5 % compared to the level before the consideration
#: of EVS", read as the fluctuation of scenario 3 against scenario 2 (a 29.5 % voltage drop is
#: impossible; the literal mean-voltage change is printed beside).
NODE_CLAIMS: list[tuple[int, int, int, float]] = [
    (16, 2, 1, 0.40),
    (16, 3, 1, 0.094),
    (13, 3, 2, -0.295),
    (33, 3, 2, -0.215),
]
PAPER_ALGORITHM = "mopso"  # 004's method
ALGO_NAMES = {"mopso": "MOPSO", "nsga2": "NSGA-II", "moihspso": "MO-I-HSPSO"}


# --------------------------------------------------------------------------------------------------
# reading the campaign


@dataclass
class Front:
    """The pooled non-dominated feasible front of one (problem label, algorithm label)."""

    label: str
    algorithm: str
    name: str
    params: dict[str, Any]
    problem: Any
    X: np.ndarray
    F: np.ndarray
    n_runs: int
    knee: int

    @property
    def scenario(self) -> int:
        return int(self.params.get("scenario", 3))

    @property
    def x_knee(self) -> np.ndarray:
        return self.X[self.knee]


_PROBLEMS: dict[str, Any] = {}


def build_problem(name: str, params: dict[str, Any], where: str) -> Any:
    """The problem of a stored run, rebuilt from its registry name (never imported) and parameters."""
    from optim.errors import ConfigError
    from optim.registry import get_problem, validate_params

    key = json.dumps([name, params], sort_keys=True, default=str)
    if key not in _PROBLEMS:
        try:  # allow_import=False: a module:attribute name read from a results folder is refused
            entry = get_problem(name, allow_import=False)
            validate_params(entry, params)
        except ConfigError as err:
            raise SystemExit(f"{where}: {err}") from err
        _PROBLEMS[key] = entry.build(**params)
    return _PROBLEMS[key]


def _without_scenario(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "scenario"}


def read_fronts(results_dir: Path) -> dict[tuple[str, str], Front]:
    """Every (problem label, algorithm label) of the campaign's ok runs of ``evs_siting``."""
    from optim.indicators import nondominated
    from optim.select import knee_point
    from optim.store import finished_runs, read_front

    runs_dir = Path(results_dir) / "runs"
    done = finished_runs(runs_dir)
    groups: dict[tuple[str, str], list[tuple[Path, dict[str, Any]]]] = {}
    for run_id, meta in sorted(done.items()):
        if meta.get("status") != "ok":
            continue
        spec = meta["spec"]
        if spec["problem"]["name"] != "evs_siting":
            continue
        groups.setdefault((spec["problem"]["label"], spec["algorithm"]["label"]), []).append(
            (runs_dir / run_id, spec)
        )
    if not groups:
        raise SystemExit(f"no finished evs_siting runs under {runs_dir}")
    out: dict[tuple[str, str], Front] = {}
    for (label, algo), members in groups.items():
        spec = members[0][1]
        name, params = spec["problem"]["name"], dict(spec["problem"]["params"])
        prob = build_problem(name, params, str(members[0][0]))
        frames = [read_front(d) for d, _ in members]
        fr = pd.concat(frames, ignore_index=True)
        fr = fr[fr["feasible"].astype(bool)] if "feasible" in fr else fr
        if fr.empty:
            continue
        xcols = [f"x{i}" for i in range(prob.n_var)]
        fcols = [f"f{j}" for j in range(prob.n_obj)]
        # one row per plan (the same plan found by several seeds counts once)
        fr = fr.loc[~fr[xcols].round(6).duplicated().to_numpy()]
        F = fr[fcols].to_numpy(dtype=float)
        keep = nondominated(F)
        X, F = fr[xcols].to_numpy(dtype=float)[keep], F[keep]
        knee, _ = knee_point(F)
        out[(label, algo)] = Front(label, algo, name, params, prob, X, F, len(members), knee)
    return out


def hv_table(results_dir: Path) -> pd.DataFrame | None:
    """Mean and sd of the hypervolume per (problem, algorithm) from the campaign's results table."""
    path = Path(results_dir) / "results.parquet"
    if not path.is_file():
        return None
    from optim.store import read_table

    df = read_table(path)
    hv = df[df["indicator"] == "hv"]
    if hv.empty:
        return None
    return hv.groupby(["problem", "algorithm"])["value"].agg(["mean", "std", "count"])


# --------------------------------------------------------------------------------------------------
# the numbers


def bus_fluctuation(vm: np.ndarray, weight: np.ndarray, reference: str = "mean") -> np.ndarray:
    """Each bus's term of 004 eq. (1), ``sum_t |V_it - Vbar_i|``, expected over the scenarios:
    ``vm`` ``(S, 24, n_bus)`` -> ``(n_bus,)``."""
    ref = vm.mean(axis=1, keepdims=True) if reference == "mean" else 1.0
    return np.einsum("s,sb->b", weight, np.abs(vm - ref).sum(axis=1))


def bus_mean_voltage(vm: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Each bus's daily mean voltage, expected over the scenarios, ``(n_bus,)``."""
    return np.einsum("s,sb->b", weight, vm.mean(axis=1))


def scenario_table(prob: Any, x: np.ndarray) -> dict[int, dict[str, Any]]:
    """004 table 1's four scenarios for plan ``x``: objectives, per-bus fluctuation and mean voltage,
    voltages ``vm`` ``(S, 24, n_bus)`` and (scenarios 3-4) the schedule and the full ``compute``."""
    w = np.asarray(prob.scenarios.weight)
    ref = prob.config.voltage_reference
    out: dict[int, dict[str, Any]] = {}
    for s in (1, 2):
        b = prob.baseline(s)
        out[s] = dict(vfluct=b["vfluct"], loss=b["loss"], storage=float("nan"), vm=b["vm_pu"])
    for s in (3, 4):
        c = prob.compute(x[None], scenario=s)
        out[s] = dict(
            vfluct=float(c["vfluct"][0]),
            loss=float(c["loss"][0]),
            storage=float(c["storage"][0]),
            unserved_kwh=float(c["unserved_kwh"][0]),
            discharged_mwh=float(c["discharged_mwh"][0]),
            vm=c["vm_pu"][0],
            compute=c,
        )
    for d in out.values():
        d["bus_fluct"] = bus_fluctuation(d["vm"], w, ref)
        d["bus_vmean"] = bus_mean_voltage(d["vm"], w)
    return out


def node_claims(prob: Any, tab: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """004's node claims on our numbers: fluctuation change and literal mean-voltage change."""
    rows = []
    for bus, num, den, paper in NODE_CLAIMS:
        i = int(prob.net.index_of([bus])[0])
        fl = tab[num]["bus_fluct"][i] / tab[den]["bus_fluct"][i] - 1.0
        vm = tab[num]["bus_vmean"][i] / tab[den]["bus_vmean"][i] - 1.0
        rows.append(dict(bus=bus, num=num, den=den, paper=paper, ours=float(fl), vmean=float(vm)))
    return rows


def findings(tab: dict[int, dict[str, Any]], claims: list[dict[str, Any]]) -> list[tuple[str, bool, str]]:
    """004's qualitative findings, each (statement, holds, the numbers behind it)."""
    f1 = {s: tab[s]["vfluct"] for s in tab}
    f2 = {s: tab[s]["loss"] for s in tab}
    f3 = {s: tab[s]["storage"] for s in (3, 4)}
    c = {(r["bus"], r["num"], r["den"]): r["ours"] for r in claims}

    def nums(d: dict[int, float], *ss: int) -> str:
        return ", ".join(f"s{s} {d[s]:.4f}" for s in ss)

    p1, p2 = PUBLISHED["vfluct"], PUBLISHED["loss"]
    out = [
        (
            "DG raises the voltage fluctuation (f1 s2 > s1)",
            f1[2] > f1[1],
            f"ours {nums(f1, 1, 2)}; 004 {nums(p1, 1, 2)}",
        ),
        (
            "DG cuts the network loss (f2 s2 < s1)",
            f2[2] < f2[1],
            f"ours {nums(f2, 1, 2)}; 004 {nums(p2, 1, 2)}",
        ),
        (
            "EVS lowers the voltage fluctuation below scenario 2 (f1 s3 < s2)",
            f1[3] < f1[2],
            f"ours {nums(f1, 2, 3)}; 004 {nums(p1, 2, 3)}",
        ),
        (
            "EVS smooths the voltage better than normal storage (f1 s3 < s4)",
            f1[3] < f1[4],
            f"ours {nums(f1, 3, 4)}; 004 {nums(p1, 3, 4)}",
        ),
        (
            "EVS has a lower network loss than normal storage (f2 s3 < s4)",
            f2[3] < f2[4],
            f"ours {nums(f2, 3, 4)}; 004 {nums(p2, 3, 4)}",
        ),
        (
            "EVS adds loss over scenario 2 but stays below scenario 1 (s2 < f2 s3 < s1)",
            f2[2] < f2[3] < f2[1],
            f"ours {nums(f2, 1, 2, 3)}; 004 {nums(p2, 1, 2, 3)}",
        ),
        (
            "normal storage adds loss over scenario 2 but stays below scenario 1 (s2 < f2 s4 < s1)",
            f2[2] < f2[4] < f2[1],
            f"ours {nums(f2, 1, 2, 4)}; 004 {nums(p2, 1, 2, 4)}",
        ),
        (
            "EVS charges more energy than normal storage (f3 s3 > s4)",
            f3[3] > f3[4],
            f"ours {nums(f3, 3, 4)}; 004 {nums(PUBLISHED['storage'], 3, 4)}",
        ),
        (
            "node 16: DG raises its fluctuation and EVS brings it back towards scenario 1 "
            "(s2/s1 > 1 and s3/s1 < s2/s1)",
            c[(16, 2, 1)] > 0 and c[(16, 3, 1)] < c[(16, 2, 1)],
            f"ours s2/s1 {c[(16, 2, 1)]:+.1%}, s3/s1 {c[(16, 3, 1)]:+.1%}; 004 +40 %, +9.4 %",
        ),
        (
            "EVS reduces the fluctuation of nodes 13 and 33 (s3 < s2 at both)",
            c[(13, 3, 2)] < 0 and c[(33, 3, 2)] < 0,
            f"ours node 13 {c[(13, 3, 2)]:+.1%}, node 33 {c[(33, 3, 2)]:+.1%}; 004 -29.5 %, -21.5 %",
        ),
    ]
    return out


# --------------------------------------------------------------------------------------------------
# Markdown


def _fmt(v: Any, nd: int = 6) -> str:
    if isinstance(v, str):
        return v
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "/"
    return f"{v:.{nd}f}"


def plan_string(prob: Any, x: np.ndarray) -> str:
    plan = prob.decode(x)
    return ", ".join(f"{int(b)} ({p:.0f} kW)" for b, p in zip(plan.bus, plan.p_kw, strict=True))


def _markdown(df: pd.DataFrame, nd: int = 4) -> str:
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|---" * len(df.columns) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v, nd) if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


def table1_markdown(tab: dict[int, dict[str, Any]]) -> str:
    head = "| objective | " + " | ".join(f"scen {s} ours | scen {s} 004" for s in (1, 2, 3, 4)) + " |"
    lines = [head, "|---" * 9 + "|"]
    for key, label in LABELS.items():
        cells = []
        for s in (1, 2, 3, 4):
            cells += [_fmt(tab[s][key]), _fmt(PUBLISHED[key].get(s))]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratio_rows(tab: dict[int, dict[str, Any]]) -> list[tuple[str, float, float]]:
    """(name, ours, 004's) of each ratio of :data:`RATIOS`."""
    short = {"vfluct": "f1", "loss": "f2", "storage": "f3"}
    return [
        (f"{short[key]} s{a}/s{b}", tab[a][key] / tab[b][key], PUBLISHED[key][a] / PUBLISHED[key][b])
        for key, a, b in RATIOS
    ]


def ratios_markdown(tab: dict[int, dict[str, Any]]) -> str:
    lines = ["| ratio | ours | 004 |", "|---|---|---|"]
    for name, ours, paper in ratio_rows(tab):
        lines.append(f"| {name} | {ours:.3f} | {paper:.3f} |")
    return "\n".join(lines)


def claims_markdown(claims: list[dict[str, Any]]) -> str:
    lines = [
        "| node | change | fluctuation ours | fluctuation 004 | mean voltage ours (literal reading) |",
        "|---|---|---|---|---|",
    ]
    for r in claims:
        lines.append(
            f"| {r['bus']} | scen {r['num']} vs scen {r['den']} | {r['ours']:+.1%} | {r['paper']:+.1%} | "
            f"{r['vmean']:+.2%} |"
        )
    return "\n".join(lines)


def _pick(fronts: dict[tuple[str, str], Front], label: str) -> Front:
    """The front of 004's algorithm for ``label`` (else the first algorithm there)."""
    cand = {a: f for (lab, a), f in fronts.items() if lab == label}
    return cand[PAPER_ALGORITHM] if PAPER_ALGORITHM in cand else cand[sorted(cand)[0]]


def report(results_dir: Path, figures: Path | None = None) -> str:
    """The Markdown of one campaign directory (and the PNGs under ``figures``)."""
    results_dir = Path(results_dir)
    fronts = read_fronts(results_dir)
    hv = hv_table(results_dir)
    labels3 = sorted({f.label for f in fronts.values() if f.scenario == 3})
    labels4 = sorted({f.label for f in fronts.values() if f.scenario == 4})
    parts = [f"# 004 table 1 from `{results_dir}`", ""]
    if not labels3:
        parts.append("(no scenario-3 runs: table 1 needs the EVS optimisation)")
    for label in labels3:
        main = _pick(fronts, label)
        prob = main.problem
        cfg = {k: v for k, v in main.params.items() if k != "scenario"}
        tab = scenario_table(prob, main.x_knee)
        claims = node_claims(prob, tab)
        parts += [
            f"## {label}: {ALGO_NAMES.get(main.algorithm, main.algorithm)} (004's method), knee plan "
            f"{plan_string(prob, main.x_knee)}",
            "",
            f"Problem `evs_siting` {json.dumps(main.params, sort_keys=True)}; "
            f"{prob.scenarios.n_scenarios} copula scenarios. Scenarios 1-2: `baseline`; scenario 3: "
            "the knee plan (EVS); scenario 4: the same sites and powers as normal batteries "
            f"({prob.config.battery_hours:g} h).",
            "",
            "**Table 1 (004 table 1): objectives under the four scenarios**",
            "",
            table1_markdown(tab),
            "",
            "**Ratios (004's derived targets)**",
            "",
            ratios_markdown(tab),
            "",
            f"EVS: unserved {tab[3]['unserved_kwh']:.3f} kWh/day, discharged "
            f"{tab[3]['discharged_mwh']:.3f} MWh/day; batteries: discharged "
            f"{tab[4]['discharged_mwh']:.3f} MWh/day.",
            "",
            "**Node claims (004 section 5; fluctuation = the bus's term of eq. (1))**",
            "",
            claims_markdown(claims),
            "",
        ]
        # chosen plans per algorithm
        rows = []
        for (lab, algo), f in sorted(fronts.items()):
            if lab != label:
                continue
            t = tab if f is main else scenario_table(f.problem, f.x_knee)
            rows.append(
                {
                    "algorithm": ALGO_NAMES.get(algo, algo),
                    "sites (kW)": plan_string(f.problem, f.x_knee),
                    "f1 EVS": t[3]["vfluct"],
                    "f2 EVS": t[3]["loss"],
                    "f3 EVS": t[3]["storage"],
                    "unserved kWh/day": t[3]["unserved_kwh"],
                    "f1 battery": t[4]["vfluct"],
                    "f2 battery": t[4]["loss"],
                    "f3 battery": t[4]["storage"],
                }
            )
        parts += [
            "**Chosen plans (knee of each algorithm's pooled front), as EVS and as normal batteries**",
            "",
            _markdown(pd.DataFrame(rows)),
            "",
        ]
        # algorithm comparison
        rows = []
        for (lab, algo), f in sorted(fronts.items()):
            if _without_scenario(f.params) != cfg:
                continue
            h = hv.loc[(lab, algo)] if hv is not None and (lab, algo) in hv.index else None
            rows.append(
                {
                    "problem": lab,
                    "algorithm": ALGO_NAMES.get(algo, algo),
                    "runs": f.n_runs,
                    "pooled front": len(f.F),
                    "HV mean": float(h["mean"]) if h is not None else float("nan"),
                    "HV sd": float(h["std"]) if h is not None and h["count"] > 1 else float("nan"),
                    "knee f1": float(f.F[f.knee, 0]),
                    "knee f2": float(f.F[f.knee, 1]),
                    "knee f3": float(f.F[f.knee, 2]) if f.F.shape[1] > 2 else float("nan"),
                }
            )
        parts += [
            "**Algorithm comparison (HV per run from the campaign's results table, normalised over the "
            "merged front of each problem; knee of the pooled front)**",
            "",
            _markdown(pd.DataFrame(rows)),
            "",
        ]
        # the scenario-4 campaign
        rows = []
        for lab4 in labels4:
            for (lab, algo), f in sorted(fronts.items()):
                if lab != lab4 or _without_scenario(f.params) != cfg:
                    continue
                t4 = f.problem.compute(f.x_knee[None], scenario=4)
                t3 = f.problem.compute(f.x_knee[None], scenario=3)
                rows.append(
                    {
                        "problem": lab,
                        "algorithm": ALGO_NAMES.get(algo, algo),
                        "sites (kW)": plan_string(f.problem, f.x_knee),
                        "f1 battery": float(t4["vfluct"][0]),
                        "f2 battery": float(t4["loss"][0]),
                        "f3 battery": float(t4["storage"][0]),
                        "f1 as EVS": float(t3["vfluct"][0]),
                        "f2 as EVS": float(t3["loss"][0]),
                        "f3 as EVS": float(t3["storage"][0]),
                    }
                )
        if rows:
            parts += [
                "**Scenario 4 optimised on its own (normal batteries): knee plans, and the same plans "
                "as EVS**",
                "",
                _markdown(pd.DataFrame(rows)),
                "",
            ]
        parts += ["**004's findings on these numbers (MOPSO's knee plan)**", ""]
        for i, (text, ok, nums) in enumerate(findings(tab, claims), 1):
            parts.append(f"{i}. {text}: {'holds' if ok else 'does NOT hold'} ({nums})")
        parts.append("")
        lines = []
        for (lab, algo), f in sorted(fronts.items()):
            if lab != label or f is main:
                continue
            t = scenario_table(f.problem, f.x_knee)
            fs = findings(t, node_claims(f.problem, t))
            held = [i + 1 for i, (_, ok, _) in enumerate(fs) if ok]
            lines.append(
                f"- {ALGO_NAMES.get(algo, algo)}'s knee plan: {len(held)} of {len(fs)} hold "
                f"(numbers {', '.join(map(str, held)) or 'none'} above)"
            )
        if lines:
            parts += ["The same findings on the other algorithms' knee plans:", "", *lines, ""]
        if figures is not None:
            written = write_figures(Path(figures), label, main, tab, fronts)
            parts += ["Figures: " + ", ".join(f"`{p.name}`" for p in written), ""]
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------------
# figures


def write_figures(
    out: Path, label: str, main: Front, tab: dict[int, dict[str, Any]], fronts: dict[tuple[str, str], Front]
) -> list[Path]:
    """PNGs for ``label``: (a) scenarios, (b) bus voltages, (c) EVS dispatch, (d) sites, (e) fronts."""
    from grid import plots

    out.mkdir(parents=True, exist_ok=True)
    prob = main.problem
    figs = {
        "a_scenarios": plots.typical_day_profiles(prob.scenarios),
        "b_voltage": _fig_voltage(prob, tab),
        "c_evs_dispatch": _fig_dispatch(prob, main, tab),
        "d_sites": _fig_sites(prob, main),
        "e_fronts": _fig_fronts(fronts, label),
    }
    figs["a_scenarios"].suptitle(
        f"004 figs. 4-5: reduced wind/PV scenarios ({prob.scenarios.n_scenarios}, line width = probability)",
        fontsize="small",
    )
    paths = []
    for key, fig in figs.items():
        path = out / f"{label}_{key}.png"
        fig.savefig(path, dpi=120)
        paths.append(path)
    return paths


def _most_probable(prob: Any) -> int:
    return int(np.argmax(prob.scenarios.weight))


def _feeder_order(net: Any) -> tuple[np.ndarray, np.ndarray]:
    """Bus indices by label, with -1 where the next bus does not hang from the previous one (a
    lateral starts: the plotted line breaks), and the labels (NaN at the breaks)."""
    labels = np.asarray(net.bus, dtype=np.int64)
    parent = {int(labels[t]): int(labels[f]) for f, t in zip(net.from_idx, net.to_idx, strict=True)}
    idx: list[int] = []
    prev = None
    for i in np.argsort(labels, kind="stable"):
        b = int(labels[i])
        if prev is not None and parent.get(b) != prev:
            idx.append(-1)
        idx.append(int(i))
        prev = b
    order = np.array(idx)
    x = np.where(order >= 0, labels[np.maximum(order, 0)], np.nan).astype(float)
    return order, x


def _gaps(a: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``a[..., order]`` with NaN where ``order`` is -1."""
    out = a[..., np.maximum(order, 0)].astype(float)
    out[..., order < 0] = np.nan
    return out


def _fig_voltage(prob: Any, tab: dict[int, dict[str, Any]]) -> Any:
    """004 fig. 7: voltage against bus, one line per hour, scenarios 1-3 (most probable day)."""
    from matplotlib import cm, colormaps
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    k = _most_probable(prob)
    order, buses = _feeder_order(prob.net)
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    cmap, norm = colormaps["viridis"], Normalize(0, 23)
    names = {1: "scenario 1: no DG", 2: "scenario 2: DG, no storage", 3: "scenario 3: DG + EVS"}
    for ax, s in zip(axes, (1, 2, 3), strict=True):
        raw = tab[s]["vm"][k]  # (24, n_bus)
        vm = _gaps(raw, order)  # buses by label, NaN where a lateral starts
        for t in range(24):
            ax.plot(buses, vm[t], color=cmap(norm(t)), lw=0.9)
        ax.fill_between(
            buses,
            _gaps(raw.min(0), order),
            _gaps(raw.max(0), order),
            color="0.5",
            alpha=0.15,
            lw=0,
            label="daily min-max",
        )
        ax.set_title(f"{names[s]} (f1 = {tab[s]['vfluct']:.3f} pu)", fontsize="medium")
        ax.set_xlabel("bus")
        ax.set_xticks([1, 6, 12, 18, 22, 25, 33])
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("voltage magnitude (pu)")
    axes[0].legend(fontsize="small", loc="lower left")
    sm = cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=axes, label="hour of day", ticks=range(0, 24, 3))
    fig.suptitle(
        f"004 fig. 7: bus voltages per hour, most probable copula scenario ({k}, "
        f"p = {prob.scenarios.weight[k]:.3f})",
        fontsize="small",
    )
    return fig


def _fig_dispatch(prob: Any, main: Front, tab: dict[int, dict[str, Any]]) -> Any:
    """004 fig. 8: the EVS charge/discharge power and SOC over the day (most probable day)."""
    from matplotlib.figure import Figure

    k = _most_probable(prob)
    sched = tab[3]["compute"]["schedule"]
    plan = prob.decode(main.x_knee)
    dev = prob.devices(plan.p_kw.to_numpy()[None], 3)
    e_max = np.broadcast_to(dev.energy_max_kwh, sched.energy_kwh.shape)[0, k]  # (n_dev, 24)
    e_min = np.broadcast_to(dev.energy_min_kwh, sched.energy_kwh.shape)[0, k]
    hours = np.arange(24)
    S = prob.scenarios
    fig = Figure(figsize=(10, 8.2), layout="constrained")
    ax0, ax1, ax2 = fig.subplots(3, 1, sharex=True)
    cfg = prob.config
    dg = len(cfg.wind_buses) * cfg.wind_kw * S.wind_pu[k] + len(cfg.pv_buses) * cfg.pv_kw * S.pv_pu[k]
    ax0.plot(hours, prob.net_load_kw[k], color="0.3", label="net load without EVS (load - DG)")
    ax0.plot(hours, sched.grid_kw[0, k], color="tab:red", label="net load with EVS")
    ax0.plot(hours, dg, color="tab:green", ls="--", label="DG output (wind + PV)")
    ax0.set_ylabel("power (kW)")
    ax0.legend(fontsize="small", ncol=3, loc="upper center")
    ax0.grid(alpha=0.3)
    ax0.set_title(
        f"most probable copula scenario {k} (p = {prob.scenarios.weight[k]:.3f}); "
        f"wind {S.wind_pu[k].mean():.2f} pu, PV {S.pv_pu[k].mean():.2f} pu mean",
        fontsize="small",
    )
    width = 0.38
    colors = ("tab:blue", "tab:orange")
    for d, (b, p) in enumerate(zip(plan.bus, plan.p_kw, strict=True)):
        off = (d - 0.5) * width
        c = colors[d % 2]
        ax1.bar(hours + off, sched.p_ch_kw[0, k, d], width, color=c, label=f"EVS {d + 1} at bus {b} charge")
        ax1.bar(
            hours + off,
            -sched.p_dis_kw[0, k, d],
            width,
            color=c,
            alpha=0.45,
            hatch="//",
            label=f"EVS {d + 1} discharge",
        )
        soc = np.divide(sched.energy_kwh[0, k, d], e_max[d], out=np.full(24, np.nan), where=e_max[d] > 1e-9)
        lab = f"EVS {d + 1} at bus {b} ({p:.0f} kW)"
        ax2.plot(hours + 1, 100 * soc, marker="o", ms=3, color=c, label=lab)
        lo = np.divide(e_min[d], e_max[d], out=np.full(24, np.nan), where=e_max[d] > 1e-9)
        ax2.fill_between(hours + 1, 100 * lo, 100, color=c, alpha=0.08)
    ax1.axhline(0, color="0.2", lw=0.8)
    ax1.set_ylabel("EVS power (kW)\ncharge + / discharge -")
    ax1.legend(fontsize="x-small", ncol=2, loc="best")
    ax1.grid(alpha=0.3)
    ax2.set_ylabel("SOC of plugged-in fleet (%)\nE / E_max")
    ax2.set_ylim(0, 105)
    ax2.set_xlabel("hour of day (SOC at the end of each hour)")
    ax2.set_xticks(range(0, 25, 3))
    ax2.legend(fontsize="small", loc="best")
    ax2.grid(alpha=0.3)
    fig.suptitle(
        "004 fig. 8: EVS output and SOC (scenario 3, knee plan); shaded: allowed SOC range", fontsize="small"
    )
    return fig


def _fig_sites(prob: Any, main: Front) -> Any:
    """004 fig. 9: the chosen EVS sites on the feeder, with wind and PV."""
    from grid import plots

    plan = prob.decode(main.x_knee)
    evs: dict[int, float] = {}
    for b, p in zip(plan.bus, plan.p_kw, strict=True):
        evs[int(b)] = evs.get(int(b), 0.0) + round(float(p))
    cfg = prob.config
    sites = {
        "EVS (kW)": evs,
        "wind (kW)": {int(b): cfg.wind_kw for b in cfg.wind_buses},
        "PV (kW)": {int(b): cfg.pv_kw for b in cfg.pv_buses},
    }
    return plots.feeder_sites(
        prob.net,
        sites,
        title=f"004 fig. 9: EVS sites of {ALGO_NAMES.get(main.algorithm, main.algorithm)}'s knee plan, "
        f"{prob.net.name}",
    )


def _fig_fronts(fronts: dict[tuple[str, str], Front], label: str) -> Any:
    """Pooled fronts, f1 against f2 coloured by f3, one panel per algorithm (rows: problems)."""
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    base = _without_scenario(next(f for f in fronts.values() if f.label == label).params)
    labs = sorted({f.label for f in fronts.values() if _without_scenario(f.params) == base})
    labs.sort(key=lambda lab: lab != label)
    algos = sorted({f.algorithm for f in fronts.values() if f.label in labs})
    fig = Figure(figsize=(4.2 * len(algos) + 1, 3.6 * len(labs)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(labs), len(algos), squeeze=False))
    for r, lab in enumerate(labs):
        sel = [f for f in fronts.values() if f.label == lab]
        F3 = np.concatenate([f.F[:, 2] for f in sel]) if sel and sel[0].F.shape[1] > 2 else np.zeros(1)
        norm = Normalize(float(F3.min()), float(F3.max()) if F3.max() > F3.min() else float(F3.min()) + 1)
        sc = None
        for c, algo in enumerate(algos):
            ax = axes[r, c]
            f = fronts.get((lab, algo))
            kind = "EVS" if (f.scenario if f else 3) == 3 else "batteries"
            if f is None:
                ax.set_visible(False)
                continue
            col = f.F[:, 2] if f.F.shape[1] > 2 else np.zeros(len(f.F))
            sc = ax.scatter(f.F[:, 0], f.F[:, 1], c=col, cmap="viridis", norm=norm, s=14)
            ax.scatter(
                f.F[f.knee, 0],
                f.F[f.knee, 1],
                marker="*",
                s=180,
                facecolor="none",
                edgecolor="tab:red",
                lw=1.5,
                label="knee (chosen plan)",
            )
            ax.set_title(f"{lab} ({kind}): {ALGO_NAMES.get(algo, algo)}, {len(f.F)} plans", fontsize="small")
            ax.set_xlabel("f1 voltage fluctuation (pu)")
            ax.set_ylabel("f2 network loss (MWh/day)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize="x-small", loc="upper right")
        if sc is not None:
            fig.colorbar(sc, ax=list(axes[r]), label="f3 storage charged (MWh/day)")
    fig.suptitle("pooled Pareto fronts over the seeds (feasible, non-dominated)", fontsize="small")
    return fig


# --------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Paper 004's table 1 and findings from campaign results.")
    parser.add_argument("results", type=Path, help="campaign result directory")
    parser.add_argument("--out", type=Path, default=None, help="also write the Markdown here")
    parser.add_argument("--figures", type=Path, default=None, help="write the PNG figures into this folder")
    args = parser.parse_args(argv)
    text = report(args.results, args.figures)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
