"""Paper 000's table 1 and section 4.2.3 figures from a campaign of ``staged_planning`` runs.

::

    python -m experiments.paper000.tables results/paper000 [--out tables.md]

For every problem label (``A_33`` ... ``D_123``) and algorithm, the best feasible plan over the
seeds (lowest LCC) is re-evaluated with :meth:`problems.staged_planning.StagedPlanning.compute`;
the table prints 000's table 1 rows beside 000's values (IEEE 33 only, 000 gives no IEEE 123 table)
and checks the findings: LCC A > B > C > D, and D's LCC below A's by 15.1 % (IEEE 33) and 21.5 %
(IEEE 123).

Rows (readings in the module docstring of ``problems/staged_planning.py``): LCC (M CNY); stage-I
investment (M CNY); stage-III curtailment rate; transformer heavy-load hours (>80 %), h/yr,
averaged over the 10 years; voltage-violation nodes at the stage-II evening peak; EV charging
satisfaction in stage III; the stage-III peak with V2G and with the V2G chargers used as smart
chargers (000 section 4.2.3: 7.2 -> 6.0 MW).
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


def _markdown(df: pd.DataFrame) -> str:
    """A pipe table (no tabulate dependency): index first, values to two decimals."""

    def fmt(v: Any) -> str:
        return "" if isinstance(v, float) and np.isnan(v) else f"{v:.2f}".rstrip("0").rstrip(".")

    head = "| | " + " | ".join(str(c) for c in df.columns) + " |"
    rule = "|---" * (len(df.columns) + 1) + "|"
    rows = ["| " + str(i) + " | " + " | ".join(fmt(float(v)) for v in r) + " |" for i, r in df.iterrows()]
    return "\n".join([head, rule, *rows])


def report(results_dir: Path) -> str:
    plans = best_plans(results_dir)
    algos = sorted({a for _, a in plans})
    parts = ["# Paper 000: table 1 from the campaign\n"]
    findings = []
    for feeder in ("33", "123"):
        for algo in algos:
            cols = {
                s: indicators(plans[(f"{s}_{feeder}", algo)][0], plans[(f"{s}_{feeder}", algo)][1])
                for s in SCHEMES
                if (f"{s}_{feeder}", algo) in plans
            }
            if not cols:
                continue
            df = pd.DataFrame(cols)
            if feeder == "33":
                for s_i, s in enumerate(SCHEMES):
                    if s in df:
                        df[f"000 {s}"] = [PAPER_TABLE1.get(r, (np.nan,) * 4)[s_i] for r in df.index]
            parts.append(f"## IEEE {feeder}, {algo}\n\n" + _markdown(df) + "\n")
            lcc = [cols[s]["LCC (M CNY)"] for s in SCHEMES if s in cols]
            if len(lcc) == 4:
                order = all(a > b for a, b in zip(lcc, lcc[1:], strict=False))
                d_vs_a = 100 * (1 - lcc[3] / lcc[0])
                findings.append(
                    f"- IEEE {feeder}, {algo}: LCC A > B > C > D: {'holds' if order else 'FAILS'} "
                    f"({', '.join(f'{v:.2f}' for v in lcc)} M CNY); D below A by {d_vs_a:.1f} % "
                    f"(000: {PAPER_D_VS_A[feeder]} %)"
                )
    parts.append("## Findings\n\n" + "\n".join(findings) + "\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    text = report(args.results)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
