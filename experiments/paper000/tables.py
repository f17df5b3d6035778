"""Paper 000's table 1 and section 4.2.3 figures from a campaign of ``staged_planning`` runs.

::

    python -m experiments.paper000.tables results/paper000 [--out tables.md] [--figures DIR]

For every problem label (``A_33`` ... ``D_123``) and algorithm, the best feasible plan over the
seeds (lowest LCC) is re-evaluated with :meth:`problems.staged_planning.StagedPlanning.compute`;
the table prints 000's table 1 rows beside 000's values (IEEE 33 only, 000 gives no IEEE 123 table)
and checks the findings: LCC A > B > C > D, and D's LCC below A's by 15.1 % (IEEE 33) and 21.5 %
(IEEE 123).

Rows (readings in the module docstring of ``problems/staged_planning.py``): LCC (M CNY); stage-I
investment (M CNY); stage-III curtailment rate; transformer heavy-load hours (>80 %), h/yr,
averaged over the 10 years; voltage-violation nodes at the stage-II evening peak; EV charging
satisfaction in stage III; the stage-III peak with V2G and with the V2G chargers used as smart
chargers (000 section 4.2.3: 7.2 -> 6.0 MW). Below each feeder's table, scheme D's stage-III summer
day (:func:`v2g_day`, 000 4.2.3) and its stage investments (000 4.2.2); the findings add 000 4.3's
violation nodes A -> D and D's storage against C's. ``--figures DIR`` writes, per feeder and
algorithm, ``lcc_by_stage_*.png`` (the LCC's discounted terms per scheme and stage) and
``peak_day_*.png`` (the stage-III summer day's head load with and without V2G).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: 000 table 1 (system 1, IEEE 33), schemes A-D.
PAPER_TABLE1 = {
    "LCC (M CNY)": (486.2, 462.8, 435.1, 412.7),
    "stage-I investment (M CNY)": (210.0, 65.0, 78.0, 82.5),
    "stage-III curtailment rate (%)": (7.3, 8.1, 3.5, 2.1),
    "heavy load >80 % (h/yr)": (1120, 980, 540, 410),
    "violation nodes, stage-II evening peak": (9, 7, 3, 2),
    "EV charging satisfaction (%)": (82, 82, 88, 97),
}
#: 000's LCC reduction of D against A (section 4.2 and 4.3).
PAPER_D_VS_A = {"33": 15.1, "123": 21.5}
#: 000 section 4.2.3 (system 1, a stage-III summer day) and 4.2.2 (plan D's stage costs).
PAPER_V2G_DAY = {
    "peak without V2G (MW)": 7.2,
    "peak with V2G (MW)": 6.0,
    "transformer load rate without V2G (%)": 92.0,
    "V2G head-load reduction 18-20 h (MW)": 1.2,
    "peak-hour loss reduction (%)": 18.0,
}
PAPER_D_STAGE_COST = (82.5, 150.0, 180.2)
#: 000 section 4.3 (system 2): stage-II violation nodes A -> D, and D's storage against C's.
PAPER_123 = {"violation nodes A -> D": (23, 5), "storage D vs C (%)": -30.0}
SCHEMES = ("A", "B", "C", "D")

_PROBLEMS: dict[str, Any] = {}


def build_problem(name: str, params: dict[str, Any]) -> Any:
    """The problem of a stored run, rebuilt from its registry name (never imported) and parameters."""
    from optim.registry import get_problem, validate_params

    key = json.dumps([name, params], sort_keys=True, default=str)
    if key not in _PROBLEMS:
        entry = get_problem(name, allow_import=False)
        validate_params(entry, params)
        _PROBLEMS[key] = entry.build(**params)
    return _PROBLEMS[key]


def best_plans(results_dir: Path) -> dict[tuple[str, str], tuple[Any, np.ndarray, int]]:
    """``(problem label, algorithm label) -> (problem, best feasible x, runs)`` over the seeds."""
    from optim.store import finished_runs, read_front

    runs = Path(results_dir) / "runs"
    groups: dict[tuple[str, str], list[tuple[Path, dict[str, Any]]]] = {}
    for run_id, meta in sorted(finished_runs(runs).items()):
        spec = meta["spec"]
        if meta.get("status") != "ok" or spec["problem"]["name"] != "staged_planning":
            continue
        groups.setdefault((spec["problem"]["label"], spec["algorithm"]["label"]), []).append(
            (runs / run_id, spec)
        )
    if not groups:
        raise SystemExit(f"no finished staged_planning runs under {runs}")
    out = {}
    for key, members in groups.items():
        spec = members[0][1]
        prob = build_problem(spec["problem"]["name"], dict(spec["problem"]["params"]))
        fr = pd.concat([read_front(d) for d, _ in members], ignore_index=True)
        if "feasible" in fr:
            fr = fr[fr["feasible"].astype(bool)]
        if fr.empty:
            continue
        best = fr.loc[fr["f0"].astype(float).idxmin()]
        out[key] = (prob, best[[f"x{i}" for i in range(prob.n_var)]].to_numpy(dtype=float), len(members))
    return out


def indicators(prob: Any, x: np.ndarray) -> dict[str, float]:
    """000 table 1's rows and the stage-III peaks of one plan."""
    c = prob.compute(x[None])
    no = prob.compute(x[None], v2g=False)
    years = np.asarray(prob.config.stage_years, dtype=float)
    return {
        "LCC (M CNY)": c["lcc_cny"][0] / 1e6,
        "stage-I investment (M CNY)": c["invest_cny"][0, 0] / 1e6,
        "stage-III curtailment rate (%)": 100 * c["curtail_rate"][0, -1],
        "heavy load >80 % (h/yr)": float((c["heavy_load_h"][0] * years).sum() / years.sum()),
        "violation nodes, stage-II evening peak": int(c["violation_nodes_evening"][0]),
        "EV charging satisfaction (%)": 100 * c["ev_satisfaction"][0, -1],
        "stage-III peak with V2G (MW)": c["peak_kw"][0, -1] / 1e3,
        "stage-III peak without V2G (MW)": no["peak_kw"][0, -1] / 1e3,
    }


def v2g_day(prob: Any, x: np.ndarray) -> dict[str, Any]:
    """000 section 4.2.3's figures for one plan: the stage-III summer day (of the problem's
    scenarios, the summer one with the highest head peak without V2G; the most loaded day when none
    is summer) with V2G and with the V2G chargers used as smart chargers. Head load is the slack's
    active power; the load rate is that peak over the transformer rating; the reduction 18-20 h is
    the mean head-load difference over the hours 18 and 19 ("from 6 p.m. to 8 p.m."); the loss
    reduction is at the hour of the peak without V2G."""
    c, no = prob.compute(x[None]), prob.compute(x[None], v2g=False)
    head, head_no = c["slack_p_kw"][0, -1], no["slack_p_kw"][0, -1]  # (W, 24)
    summer = [i for i, k in enumerate(prob.scenario_keys) if k[0] == "summer"] or list(range(head.shape[0]))
    w = max(summer, key=lambda i: head_no[i].max())
    h = int(head_no[w].argmax())
    loss, loss_no = c["loss_kw"][0, -1, w], no["loss_kw"][0, -1, w]
    rating = float(c["plan"]["trafo_kva"][0, -1])
    return {
        "scenario": " ".join(prob.scenario_keys[w]),
        "head_kw": head[w],
        "head_no_v2g_kw": head_no[w],
        "rating_kva": rating,
        "peak without V2G (MW)": head_no[w].max() / 1e3,
        "peak with V2G (MW)": head[w].max() / 1e3,
        "transformer load rate without V2G (%)": 100 * head_no[w].max() / rating,
        "V2G head-load reduction 18-20 h (MW)": float((head_no[w, 18:20] - head[w, 18:20]).mean()) / 1e3,
        "peak-hour loss reduction (%)": 100 * (1 - loss[h] / loss_no[h]) if loss_no[h] > 0 else float("nan"),
    }


def _markdown(df: pd.DataFrame) -> str:
    """A pipe table (no tabulate dependency): index first, values to two decimals."""

    def fmt(v: Any) -> str:
        return "" if isinstance(v, float) and np.isnan(v) else f"{v:.2f}".rstrip("0").rstrip(".")

    head = "| | " + " | ".join(str(c) for c in df.columns) + " |"
    rule = "|---" * (len(df.columns) + 1) + "|"
    rows = ["| " + str(i) + " | " + " | ".join(fmt(float(v)) for v in r) + " |" for i, r in df.iterrows()]
    return "\n".join([head, rule, *rows])


def report(results_dir: Path, figures: Path | None = None) -> str:
    """The Markdown of a campaign (and, with ``figures``, the PNGs of :mod:`.figures` there)."""
    plans = best_plans(results_dir)
    algos = sorted({a for _, a in plans})
    parts = ["# Paper 000: table 1 from the campaign\n"]
    findings = []
    written: list[Path] = []
    for feeder in ("33", "123"):
        for algo in algos:
            have = {s: plans[(f"{s}_{feeder}", algo)] for s in SCHEMES if (f"{s}_{feeder}", algo) in plans}
            cols = {s: indicators(p[0], p[1]) for s, p in have.items()}
            if not cols:
                continue
            df = pd.DataFrame(cols)
            if feeder == "33":
                for s_i, s in enumerate(SCHEMES):
                    if s in df:
                        df[f"000 {s}"] = [PAPER_TABLE1.get(r, (np.nan,) * 4)[s_i] for r in df.index]
            parts.append(f"## IEEE {feeder}, {algo}\n\n" + _markdown(df) + "\n")
            day = v2g_day(*have["D"][:2]) if "D" in have else None
            if day is not None:
                parts.append(_section_423(feeder, algo, have["D"][0], have["D"][1], day))
            if figures is not None:
                from experiments.paper000 import figures as figs

                fig_dir, tag = Path(figures), f"{feeder}_{algo}"
                plans_ = {s: p[:2] for s, p in have.items()}
                title = f"IEEE {feeder}, {algo}"
                written.append(figs.lcc_by_stage(plans_, fig_dir / f"lcc_by_stage_{tag}.png", title=title))
                if day is not None:
                    written.append(figs.peak_day(day, fig_dir / f"peak_day_{tag}.png", title=title + ", D"))
            lcc = [cols[s]["LCC (M CNY)"] for s in SCHEMES if s in cols]
            if len(lcc) == 4:
                d_vs_a = 100 * (1 - lcc[3] / lcc[0])
                findings.append(
                    f"- IEEE {feeder}, {algo}: LCC A > B > C > D: {ordering(lcc)} "
                    f"({', '.join(f'{v:.2f}' for v in lcc)} M CNY); D below A by {d_vs_a:.1f} % "
                    f"(000: {PAPER_D_VS_A[feeder]} %)"
                )
            findings += _findings_423_43(feeder, algo, have, cols)
    parts.append("## Findings\n\n" + "\n".join(findings) + "\n")
    if written:
        parts.append("Figures: " + ", ".join(f"`{p.name}`" for p in written) + "\n")
    return "\n".join(parts)


def ordering(lcc: list[float], rtol: float = 1e-9) -> str:
    """000's finding "LCC A > B > C > D" on the best LCCs of the schemes: ``"holds"`` when strict,
    ``"holds only as >= (ties)"`` when some neighbours are equal within ``rtol`` (the same plan: with
    our costs several schemes' best is the plan that builds nothing), else ``"FAILS"``."""
    pairs = list(zip(lcc, lcc[1:], strict=False))
    if all(a > b * (1 + rtol) for a, b in pairs):
        return "holds"
    if all(a >= b * (1 - rtol) for a, b in pairs):
        return "holds only as >= (ties)"
    return "FAILS"


def _section_423(feeder: str, algo: str, prob: Any, x: np.ndarray, day: dict[str, Any]) -> str:
    """Scheme D's stage-III summer day (``day``: :func:`v2g_day`, 000 4.2.3) and its stage
    investments (000 4.2.2)."""
    rows = {k: (day[k], PAPER_V2G_DAY[k] if feeder == "33" else np.nan) for k in PAPER_V2G_DAY}
    inv = prob.compute(x[None])["invest_cny"][0] / 1e6
    for i, v in enumerate(inv):
        rows[f"D stage-{'I' * (i + 1)} investment (M CNY)"] = (
            v,
            PAPER_D_STAGE_COST[i] if feeder == "33" and i < 3 else np.nan,
        )
    df = pd.DataFrame(rows, index=["ours", "000"]).T
    return (
        f"### IEEE {feeder}, {algo}: scheme D, stage III, {day['scenario']} (000 4.2.2-4.2.3)\n\n"
        + _markdown(df)
        + "\n"
    )


def _findings_423_43(
    feeder: str, algo: str, have: dict[str, Any], cols: dict[str, dict[str, float]]
) -> list[str]:
    """000 4.3's system-2 statements (violation nodes A -> D, D's storage against C's), any feeder."""
    out = []
    if "A" in cols and "D" in cols:
        a, d = (cols[s]["violation nodes, stage-II evening peak"] for s in "AD")
        ref = " (000 IEEE 123: 23 -> 5)" if feeder == "123" else " (000 IEEE 33: 9 -> 2)"
        out.append(f"- IEEE {feeder}, {algo}: stage-II evening violation nodes A -> D: {a} -> {d}{ref}")
    if "C" in have and "D" in have:
        kwh = [
            float(p.plans(x[None])["storage_kw"][0].max()) * p.config.storage_hours
            for p, x, _ in (have["C"], have["D"])
        ]
        # below 1 kWh a ratio means nothing (a GA leaves traces of storage it did not want)
        rel = f"{100 * (kwh[1] / kwh[0] - 1):+.0f} %" if kwh[0] >= 1.0 else "C has under 1 kWh"
        out.append(
            f"- IEEE {feeder}, {algo}: storage D vs C: {kwh[1]:.0f} vs {kwh[0]:.0f} kWh ({rel}; "
            f"000 IEEE 123: {PAPER_123['storage D vs C (%)']:.0f} %)"
        )
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--figures", type=Path, default=None, help="write the PNG figures into this folder")
    args = ap.parse_args(argv)
    text = report(args.results, args.figures)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
