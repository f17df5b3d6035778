"""Paper 003's tables 3-9 from a finished campaign, printed beside the published values.

Usage::

    python -m experiments.paper003.tables results/paper003_ieee33 [results/paper003_pge69] [--out FILE]

For every scheme (problem label ``s1_<case>``, ``s2_<case>``, ``s3_<case>``) and algorithm, the
fronts of all replicates are pooled and re-evaluated with
:meth:`problems.dgevcs.DGEVCSPlanning.compute` (same problem parameters as the run, for the
breakdowns of tables 5-7), and one plan is chosen the way 003 chooses it:

* scheme 3 (profit only): the most profitable feasible plan;
* schemes 1 and 2 (multi-objective): the feasible front member with the best comprehensive
  evaluation index, 003 eqs. (15)-(16) (``f*_i = F_i / F_i,max``, ``f*_3 = F_3,min / F_3``, weights
  0.375 / 0.125 / 0.125 / 0.375), with the extremes taken over everything that algorithm found on
  the case (its pooled fronts of all three schemes; 003: "the optimal values of the sub-objective
  function in the optimisation process"). Table 4's index of all three schemes uses the same
  extremes, so the schemes are compared on one scale.

A problem label with a third part, ``s1c_ieee33_<setting>`` (the sensitivity campaign
``sensitivity_ieee33.toml``), is reported as its own case ``ieee33 [<setting>]``, beside 003's values.

``--out FILE`` also writes the Markdown.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: 003's published values. IEEE 33: tables 3-7; PG&E 69: tables 8-9 (no breakdowns published).
PUBLISHED: dict[str, dict[int, dict[str, Any]]] = {
    "ieee33": {
        1: dict(
            dg="13(10).23(8).31(10).7(7)",
            dg_kw=3500,
            evcs="20(309).4(254).8(288).14(211).29(296)",
            evcs_kw=1358,
            profit=1199.238,
            voltage_quality=0.845,
            load_fluctuation=504.026,
            charging_satisfaction=0.911,
            composite=0.933,
            sale=1514.417,
            ev_revenue=550.484,
            purchase=587.752,
            investment=422.985,
            om=47.442,
            subsidy=144.806,
            loss_cost=38.979,
            environment=86.689,
            completion=86.162,
            unit_charging_cost=1.060,
            dg_energy_mwh=12067,
            ev_energy_mwh=5612,
        ),
        2: dict(
            dg="13(10).23(6).31(7).28(7)",
            dg_kw=3000,
            evcs="20(290).4(150).8(387).14(248).29(173)",
            evcs_kw=1248,
            profit=1204.678,
            voltage_quality=0.831,
            load_fluctuation=530.489,
            charging_satisfaction=0.840,
            composite=0.897,
            sale=1514.417,
            ev_revenue=603.089,
            purchase=648.469,
            investment=388.860,
            om=41.756,
            subsidy=130.280,
            loss_cost=40.556,
            environment=76.533,
            completion=80.139,
            unit_charging_cost=1.155,
            dg_energy_mwh=10537,
            ev_energy_mwh=5220,
        ),
        3: dict(
            dg="13(8).23(3).31(9).7(1).21(9).28(7)",
            dg_kw=3700,
            evcs="20(327).4(293).8(348).14(202).29(291)",
            evcs_kw=1461,
            profit=1251.675,
            voltage_quality=0.823,
            load_fluctuation=662.976,
            charging_satisfaction=0.866,
            composite=0.899,
            sale=1514.417,
            ev_revenue=668.442,
            purchase=658.807,
            investment=433.661,
            om=41.501,
            subsidy=167.040,
            loss_cost=42.882,
            environment=78.627,
            completion=88.299,
            unit_charging_cost=1.171,
            dg_energy_mwh=10656,
            ev_energy_mwh=5751,
        ),
    },
    "pge69": {
        1: dict(
            dg="10(9).33(2).38(10).21(1).50(5).66(4)",
            dg_kw=3100,
            evcs="14(259).31(237).40(257).45(258).61(299)",
            evcs_kw=1310,
            profit=1147.366,
            voltage_quality=0.990,
            load_fluctuation=492.478,
            charging_satisfaction=0.904,
            composite=0.905,
        ),
        2: dict(
            dg="10(6).33(2).38(10).21(3).50(10)",
            dg_kw=3100,
            evcs="14(232).31(187).40(245).45(150).61(242)",
            evcs_kw=1056,
            profit=1202.422,
            voltage_quality=0.989,
            load_fluctuation=524.166,
            charging_satisfaction=0.829,
            composite=0.880,
        ),
        3: dict(
            dg="33(7).38(10).21(8).50(10).66(10)",
            dg_kw=4500,
            evcs="14(442).31(439).40(331).45(308).61(389)",
            evcs_kw=1909,
            profit=1320.579,
            voltage_quality=0.987,
            load_fluctuation=866.618,
            charging_satisfaction=0.870,
            composite=0.886,
        ),
    },
}

#: Algorithms of schemes 1-2 and of scheme 3 that play the same role, for the comparison columns.
ROLE = {
    "moihspso": "I-HSPSO",
    "ihspso": "I-HSPSO",
    "mopso": "PSO/MOPSO",
    "pso": "PSO/MOPSO",
    "nsga2": "GA/NSGA-II",
    "ga": "GA/NSGA-II",
}
W = (0.375, 0.125, 0.125, 0.375)  # 003 eq. (16), AHP weights
FOUR = ("profit", "voltage_quality", "load_fluctuation", "charging_satisfaction")


def composite_index(values: pd.DataFrame, ref: pd.DataFrame | None = None) -> np.ndarray:
    """003 eqs. (15)-(16) for the rows of ``values``; the extremes ``F_max`` / ``F_min`` are taken
    over the rows of ``ref`` (default ``values`` itself)."""
    v = values
    r = values if ref is None else ref
    return (
        W[0] * v["profit"] / r["profit"].max()
        + W[1] * v["voltage_quality"] / r["voltage_quality"].max()
        + W[2] * r["load_fluctuation"].min() / v["load_fluctuation"]
        + W[3] * v["charging_satisfaction"] / r["charging_satisfaction"].max()
    ).to_numpy()


def _runs(results_dir: Path) -> pd.DataFrame:
    """One row per finished run: run dir, problem label, params, algorithm, replicate."""
    rows = []
    for meta_path in sorted((results_dir / "runs").glob("*/meta.json")):
        meta = json.loads(meta_path.read_text())
        if meta.get("status") != "ok":
            continue
        spec = meta["spec"]
        rows.append(
            dict(
                run_dir=meta_path.parent,
                problem=spec["problem"]["label"],
                name=spec["problem"]["name"],
                params=spec["problem"]["params"],
                algorithm=spec["algorithm"]["label"],
                replicate=spec["replicate"],
            )
        )
    return pd.DataFrame(rows)


def _plan_strings(prob: Any, x: np.ndarray) -> dict[str, Any]:
    plan = prob.decode(x)
    dg = plan[(plan.kind != "evcs") & (plan.units > 0)]
    ev = plan[plan.kind == "evcs"]
    return {
        "dg": ".".join(f"{b}({u})" for b, u in zip(dg.bus, dg.units, strict=True)) or "-",
        "evcs": ".".join(f"{b}({p:.0f})" for b, p in zip(ev.bus, ev.p_kw, strict=True)),
    }


def fronts(results_dir: Path) -> dict[tuple[str, int, str, str], pd.DataFrame]:
    """Pooled feasible fronts per (case, scheme, variant, algorithm), each row a plan with everything
    ``DGEVCSPlanning.compute`` reports plus its ``dg`` / ``evcs`` plan strings."""
    from optim.registry import is_import_name, make_problem, refuse_import

    runs = _runs(results_dir)
    if runs.empty:
        raise SystemExit(f"no finished runs under {results_dir}/runs")
    out = {}
    for (_label, algo), grp in runs.groupby(["problem", "algorithm"], sort=True):
        params = grp["params"].iloc[0]
        name = grp["name"].iloc[0]
        if is_import_name(name):  # a results folder is data: never import a name read from it
            raise SystemExit(f"{grp['run_dir'].iloc[0]}: {refuse_import(name, 'problem')}")
        prob = make_problem(name, **params)
        front = pd.concat([pd.read_parquet(d / "front.parquet") for d in grp["run_dir"]], ignore_index=True)
        front = front[front["feasible"]] if "feasible" in front else front
        if front.empty:
            continue
        X = front[[f"x{i}" for i in range(prob.n_var)]].to_numpy()
        vals = pd.DataFrame({k: v for k, v in prob.compute(X).items() if np.ndim(v) == 1})
        plans = [_plan_strings(prob, x) for x in X]
        vals["dg"] = [p["dg"] for p in plans]
        vals["evcs"] = [p["evcs"] for p in plans]
        vals["n_runs"] = len(grp)
        vals["front_size"] = len(front)
        objs = list(prob.objective_names)
        variant = "profit" if objs == ["profit"] else "index" if objs == ["composite"] else "4-obj"
        # a label "s1c_ieee33_<setting>" (e.g. the sensitivity campaign's) is its own case column
        setting = _label.split("_", 2)[2] if _label.count("_") >= 2 else ""
        case = f"{prob.net.name} [{setting}]" if setting else prob.net.name
        out[(case, int(params.get("scheme", 1)), variant, algo)] = vals
    return out


def infeasible(results_dir: Path) -> pd.DataFrame:
    """Problems for which no run found a feasible plan: label, algorithm, runs, and the least
    violation among their kept (least-infeasible) points, with the constraint that decides it."""
    from optim.registry import is_import_name, make_problem, refuse_import

    rows = []
    runs = _runs(results_dir)
    for (label, algo), grp in runs.groupby(["problem", "algorithm"], sort=True):
        front = pd.concat([pd.read_parquet(d / "front.parquet") for d in grp["run_dir"]], ignore_index=True)
        if "feasible" not in front or front["feasible"].any() or front.empty:
            continue
        name = grp["name"].iloc[0]
        if is_import_name(name):
            raise SystemExit(f"{grp['run_dir'].iloc[0]}: {refuse_import(name, 'problem')}")
        names = list(make_problem(name, **grp["params"].iloc[0]).constraint_names)
        g = front[[f"g{i}" for i in range(len(names))]].clip(lower=0.0)
        best = g.sum(axis=1).idxmin()
        worst = g.loc[best].idxmax()
        rows.append(
            dict(
                problem=label,
                algorithm=algo,
                n_runs=len(grp),
                least_violation=float(g.loc[best].sum()),
                binding=names[int(str(worst)[1:])],
            )
        )
    return pd.DataFrame(rows)


def choose(results_dir: Path) -> pd.DataFrame:
    """The chosen plan per (case, scheme, variant, algorithm); ``variant`` is ``"4-obj"`` (the four
    objectives), ``"index"`` (the comprehensive index as one objective) or ``"profit"``.

    Profit runs: the most profitable plan. Other runs: the plan with the best comprehensive index
    (003 eqs. (15)-(16)), its extremes taken over everything the algorithm family found for the case
    (all its runs of all schemes: 003's "optimal values in the optimisation process"); the same
    extremes then give table 4's index of every scheme.
    """
    allf = fronts(results_dir)
    out = []
    for case in sorted({k[0] for k in allf}):
        for role in sorted({ROLE.get(k[3], k[3]) for k in allf if k[0] == case}):
            keys = [k for k in allf if k[0] == case and ROLE.get(k[3], k[3]) == role]
            ref = pd.concat([allf[k] for k in keys], ignore_index=True)
            for key in sorted(keys):
                vals = allf[key]
                if key[2] == "profit":
                    best = int(np.argmax(vals["profit"].to_numpy()))
                else:
                    best = int(np.argmax(composite_index(vals, ref)))
                row = vals.iloc[best].to_dict()
                row["composite"] = float(composite_index(vals.iloc[[best]], ref)[0])
                row.update(case=case, scheme=key[1], variant=key[2], algorithm=key[3], role=role)
                out.append(row)
    return pd.DataFrame(out)


def _paper_rows(chosen: pd.DataFrame) -> pd.DataFrame:
    """003's own method per scheme: I-HSPSO on the index (schemes 1-2; MO-I-HSPSO's 4-objective
    front if no index run exists) and on profit (scheme 3)."""
    rows = []
    for scheme in (1, 2, 3):
        for algo, variant in (("ihspso", "index"), ("moihspso", "4-obj"), ("ihspso", "profit")):
            hit = chosen[(chosen.scheme == scheme) & (chosen.algorithm == algo) & (chosen.variant == variant)]
            if len(hit) and (scheme == 3) == (variant == "profit"):
                rows.append(hit.iloc[0])
                break
    return pd.DataFrame(rows)


def _fmt(v: Any, nd: int) -> str:
    if isinstance(v, str):
        return v
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    return f"{v:,.{nd}f}"


def _table(title: str, rows: list[tuple[str, str, int]], chosen: pd.DataFrame, pub: dict, scale: dict) -> str:
    """Markdown table: one row per quantity, per scheme 'ours | 003'."""
    schemes = sorted(chosen["scheme"].unique())
    head = "| quantity | " + " | ".join(f"scheme {s} ours | scheme {s} 003" for s in schemes) + " |"
    sep = "|---" * (1 + 2 * len(schemes)) + "|"
    lines = [f"**{title}**", "", head, sep]
    for key, label, nd in rows:
        cells = []
        for s in schemes:
            ours = chosen.loc[chosen["scheme"] == s, key]
            o = (
                ours.iloc[0] * scale.get(key, 1.0)
                if len(ours) and not isinstance(ours.iloc[0], str)
                else (ours.iloc[0] if len(ours) else "-")
            )
            p = pub.get(s, {}).get(key, "-")
            cells += [_fmt(o, nd), _fmt(p, nd)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


SCALE = {
    k: 1e-4
    for k in (
        "profit",
        "sale",
        "ev_revenue",
        "purchase",
        "investment",
        "om",
        "subsidy",
        "loss_cost",
        "environment",
    )
}
SCALE["completion"] = 100.0


#: The paper's tables in its layout: (title, [(column, row label, decimals), ...]).
TABLES: list[tuple[str, list[tuple[str, str, int]]]] = [
    (
        "Allocation (003 table 3 / 8)",
        [
            ("dg", "DG sites (units of 100 kW)", 0),
            ("dg_kw", "DG capacity / kW", 0),
            ("evcs", "EVCS sites (kW)", 0),
            ("evcs_kw", "EVCS capacity / kW", 0),
        ],
    ),
    (
        "Comprehensive evaluation indices (003 table 4 / 9)",
        [
            ("profit", "Comprehensive profit / 10^4 CNY", 3),
            ("voltage_quality", "Voltage quality / pu", 3),
            ("load_fluctuation", "System load fluctuation / kW", 3),
            ("charging_satisfaction", "Charging satisfaction of EV / pu", 3),
            ("composite", "Comprehensive evaluation index / pu", 3),
        ],
    ),
    (
        "Comprehensive benefits (003 table 5), 10^4 CNY per year",
        [
            ("sale", "Electricity sale benefits", 3),
            ("ev_revenue", "Charging station sales revenue", 3),
            ("purchase", "Electricity purchasing cost", 3),
            ("investment", "Investment and construction cost", 3),
            ("om", "Maintenance cost", 3),
            ("subsidy", "Government subsidy benefits", 3),
            ("loss_cost", "System network loss cost", 3),
            ("environment", "Environmental benefits", 3),
        ],
    ),
    (
        "EV charging satisfaction (003 table 6)",
        [
            ("completion", "Charging completion of EV / %", 3),
            ("unit_charging_cost", "Unit charging cost of EV / (CNY/kWh)", 3),
        ],
    ),
    (
        "Clean energy consumption (003 table 7), MWh per year",
        [
            ("dg_energy_mwh", "Consumption of DG", 0),
            ("ev_energy_mwh", "Total acceptance of charging load", 0),
            ("discharge_mwh", "V2G discharge (003 does not print it)", 0),
            ("curtailed_mwh", "Curtailed DG, not consumed (003 does not print it)", 0),
        ],
    ),
]


def report(results_dir: Path) -> str:
    """The Markdown tables of one campaign directory."""
    allc = choose(results_dir)
    parts = [f"# 003 tables from `{results_dir}`", ""]
    for case, chosen_case in allc.groupby("case"):
        pub = PUBLISHED.get(str(case).split(" [")[0], {})
        paper = _paper_rows(chosen_case)
        how = ", ".join(f"scheme {r.scheme}: {r.algorithm} ({r.variant})" for r in paper.itertuples())
        parts.append(f"## {case}: I-HSPSO (the paper's algorithm; {how})")
        for title, rows in TABLES:
            parts += ["", _table(title, rows, paper, pub, SCALE)]
        parts.append("")
        parts.append(_findings(paper))
        parts.append("")
        parts.append(f"## {case}: algorithms side by side (chosen plan per scheme)")
        parts.append("")
        cols = [
            "scheme",
            "variant",
            "algorithm",
            "n_runs",
            "front_size",
            "profit",
            "voltage_quality",
            "load_fluctuation",
            "charging_satisfaction",
            "discharge_mwh",
            "curtailed_mwh",
            "composite",
            "dg_kw",
            "evcs_kw",
        ]
        t = chosen_case[cols].copy()
        t["profit"] = t["profit"] * 1e-4
        t = t.rename(columns={"profit": "profit_1e4_cny"}).sort_values(["scheme", "variant", "algorithm"])
        parts.append(_markdown(t))
        parts.append("")
        parts.append("003's findings per algorithm family and formulation of schemes 1-2:")
        parts.append("")
        for role, grp in chosen_case.groupby("role"):
            for variant in ("index", "4-obj"):
                sub = grp[grp.variant.isin([variant, "profit"])]
                if sub["scheme"].nunique() == 3:
                    lines = _findings(sub).splitlines()[1:]
                    parts.append(f"- {role}, schemes 1-2 as {variant}: " + "; ".join(x[2:] for x in lines))
        parts.append("")
    bad = infeasible(results_dir)
    if not bad.empty:
        parts.append("## No feasible plan found (not in the tables above)")
        parts.append("")
        parts.append(
            "Every run of these problems ended with no feasible point; the least violation among the "
            "kept least-infeasible points and the constraint that decides it:"
        )
        parts.append("")
        parts.append(_markdown(bad))
        parts.append("")
    return "\n".join(parts)


def _markdown(df: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (no optional dependency)."""
    lines = ["| " + " | ".join(df.columns) + " |", "|---" * len(df.columns) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v, 3) if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


def _findings(chosen: pd.DataFrame) -> str:
    """003's qualitative findings, checked on our chosen plans."""
    by = chosen.set_index("scheme")
    if not {1, 2, 3} <= set(by.index):
        return "(qualitative checks need schemes 1-3)"

    def mark(ok: bool) -> str:
        return "holds" if ok else "does NOT hold"

    best = by["composite"].idxmax()
    lines = [
        "003's qualitative findings on these plans:",
        f"- scheme 1 has the best comprehensive index: {mark(best == 1)} (best: scheme {best})",
        f"- scheme 1 has lower load fluctuation than scheme 2: "
        f"{mark(by.loc[1, 'load_fluctuation'] < by.loc[2, 'load_fluctuation'])}",
        f"- scheme 1 has higher charging satisfaction than scheme 2: "
        f"{mark(by.loc[1, 'charging_satisfaction'] > by.loc[2, 'charging_satisfaction'])}",
        f"- scheme 3 has the highest profit: {mark(by['profit'].idxmax() == 3)}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Paper 003's tables from campaign results.")
    parser.add_argument("results", nargs="+", type=Path, help="campaign result directories")
    parser.add_argument("--out", type=Path, default=None, help="also write the Markdown here")
    args = parser.parse_args(argv)
    text = "\n\n".join(report(d) for d in args.results)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
