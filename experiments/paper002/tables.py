"""Paper 002's tables 4-6 and findings from finished campaigns, beside the published values.

Usage::

    python -m experiments.paper002.tables RESULTS_DIR [RESULTS_DIR ...] [--out FILE] [--figures DIR]

``sop_ieee33.toml`` optimises plans 2-4 for cost (problem ``sop_planning``, one label per plan) with
GA and PSO; ``sop_pareto_ieee33.toml`` the cost-flexibility front of plan 4 with NSGA-II and MOPSO.
For each plan the cheapest feasible plan found by any algorithm and seed is re-evaluated with
``compute``; plan 1 is :meth:`problems.sop_planning.SOPPlanning.baseline`. The front is summarised
by its extremes and its knee (:func:`optim.select.knee_point`). ``sop_battery_ieee33.toml`` (plan 3
at a cheaper battery) may be passed too: the cheapest plan 3 of all folders wins and table 4 names
the label of every plan's run. ``--figures DIR`` writes PNGs of the
stations' charge/discharge over the day (002 fig. 5) and of the SOP flows of plan 4.

Results folders are data: runs are read with :mod:`optim.store`, and a problem is rebuilt from its
stored registry name and parameters only if the name is in the registry (never imported).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.paper004.tables import build_problem

#: 002 tables 4-6 (costs 10^4 CNY/yr; SOP kVA on 12-22, 25-29, 8-21).
PUBLISHED: dict[int, dict[str, Any]] = {
    1: {
        "cost": 1644.0,
        "sop": None,
        "c_si": 0.0,
        "c_oms": 0.0,
        "c_pc": 1615.7,
        "c_nlc": 28.3,
        "i_f": 1.091,
        "i_bf": 0.471,
        "flexibility": 0.620,
    },
    2: {
        "cost": 1434.5,
        "sop": (210, 310, 380),
        "c_si": 11.6,
        "c_oms": 2.3,
        "c_pc": 1399.5,
        "c_nlc": 21.0,
        "i_f": 3.283,
        "i_bf": 0.211,
        "flexibility": 3.072,
    },
    3: {
        "cost": 1331.2,
        "sop": (190, 310, 340),
        "c_si": 16.2,
        "c_oms": 1.74,
        "c_pc": 1287.1,
        "c_nlc": 26.2,
        "i_f": 4.631,
        "i_bf": 0.324,
        "flexibility": 4.307,
    },
    4: {
        "cost": 1255.7,
        "sop": (190, 500, 380),
        "c_si": 11.5,
        "c_oms": 2.7,
        "c_pc": 1214.2,
        "c_nlc": 27.8,
        "i_f": 11.046,
        "i_bf": 0.341,
        "flexibility": 10.705,
    },
}
TERMS = ("c_si", "c_oms", "c_pc", "c_nlc")
FLEX = ("i_f", "i_bf", "flexibility")


@dataclass
class Group:
    """The pooled feasible final members of one (problem label, algorithm label)."""

    label: str
    algorithm: str
    params: dict[str, Any]
    problem: Any
    X: np.ndarray
    F: np.ndarray
    best_per_run: list[float]


def read_groups(results_dirs: Sequence[Path]) -> dict[tuple[str, str], Group]:
    """Every (problem label, algorithm label) of the ok ``sop_planning`` runs under the folders."""
    from optim.store import finished_runs, read_front

    out: dict[tuple[str, str], Group] = {}
    for results_dir in results_dirs:
        runs_dir = Path(results_dir) / "runs"
        for run_id, meta in sorted(finished_runs(runs_dir).items()):
            spec = meta["spec"]
            if meta.get("status") != "ok" or spec["problem"]["name"] != "sop_planning":
                continue
            params = dict(spec["problem"]["params"])
            prob = build_problem("sop_planning", params, str(runs_dir / run_id))
            fr = read_front(runs_dir / run_id)
            fr = fr[fr["feasible"].astype(bool)] if "feasible" in fr else fr
            if fr.empty:
                continue
            X = fr[[f"x{i}" for i in range(prob.n_var)]].to_numpy(dtype=float)
            F = fr[[f"f{j}" for j in range(prob.n_obj)]].to_numpy(dtype=float)
            key = (spec["problem"]["label"], spec["algorithm"]["label"])
            g = out.setdefault(key, Group(key[0], key[1], params, prob, X[:0], F[:0], []))
            g.X, g.F = np.r_[g.X, X], np.r_[g.F, F]
            g.best_per_run.append(float(F[:, 0].min()))
    if not out:
        raise SystemExit(f"no finished sop_planning runs under {[str(d) for d in results_dirs]}")
    return out


def plan_rows(groups: dict[tuple[str, str], Group]) -> dict[int, dict[str, Any]]:
    """Plan -> the re-evaluated cheapest plan of the single-objective runs (and plan 1).

    Runs of one plan under different configurations (``sop_battery_ieee33.toml``'s battery price)
    compete; table 4 names the label of the winner.
    """
    rows: dict[int, dict[str, Any]] = {}
    best: dict[int, tuple[float, Group, np.ndarray]] = {}
    for g in groups.values():
        if g.problem.n_obj != 1:
            continue
        i = int(np.argmin(g.F[:, 0]))
        plan = g.problem.plan
        if plan not in best or g.F[i, 0] < best[plan][0]:
            best[plan] = (float(g.F[i, 0]), g, g.X[i])
    for plan, (_, g, x) in sorted(best.items()):
        c = g.problem.compute(x[None])
        rows[plan] = {"x": x, "out": c, "label": g.label, "algorithm": g.algorithm, "problem": g.problem}
        if 1 not in rows:
            base = g.problem.baseline()
            rows[1] = {"x": None, "out": base, "label": "-", "algorithm": "-", "problem": g.problem}
    return dict(sorted(rows.items()))


def _v(out: dict[str, Any], key: str) -> float:
    return float(np.asarray(out[key]).ravel()[0])


def _md(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _benefit(base: float, cost: float) -> str:
    return f"{base - cost:.1f} ({100 * (cost - base) / base:+.1f} %)"


def table4(rows: dict[int, dict[str, Any]]) -> pd.DataFrame:
    base = _v(rows[1]["out"], "cost") if 1 in rows else np.nan
    base002 = PUBLISHED[1]["cost"]
    recs = []
    for plan, r in rows.items():
        pub = PUBLISHED[plan]
        s = np.asarray(r["out"]["sop_kva"]).ravel()
        cost = _v(r["out"], "cost")
        recs.append(
            {
                "plan": plan,
                "SOP kVA ours (12-22, 25-29, 8-21)": "-" if plan == 1 else ", ".join(f"{v:.0f}" for v in s),
                "SOP kVA 002": "-" if pub["sop"] is None else ", ".join(str(v) for v in pub["sop"]),
                "battery kWh ours": (
                    ", ".join(f"{v:.0f}" for v in np.asarray(r["out"]["battery_kwh"]).ravel())
                    if plan == 3
                    else "-"
                ),
                "cost ours": f"{cost:.1f}",
                "cost 002": f"{pub['cost']:.1f}",
                "benefit ours": _benefit(base, cost),
                "benefit 002": _benefit(base002, pub["cost"]),
                "run (label, algorithm)": f"{r['label']}, {r['algorithm']}",
            }
        )
    return pd.DataFrame(recs)


def table_terms(rows: dict[int, dict[str, Any]], keys: Sequence[str], nd: int) -> pd.DataFrame:
    recs = []
    for plan, r in rows.items():
        rec: dict[str, Any] = {"plan": plan}
        for k in keys:
            rec[f"{k} ours"] = f"{_v(r['out'], k):.{nd}f}"
            rec[f"{k} 002"] = f"{PUBLISHED[plan][k]:.{nd}f}"
        recs.append(rec)
    return pd.DataFrame(recs)


def findings(rows: dict[int, dict[str, Any]]) -> list[tuple[str, bool, str]]:
    """002's findings, each with whether it holds here and the numbers behind it."""
    if sorted(rows) != [1, 2, 3, 4]:
        return []
    get = {
        k: [_v(rows[p]["out"], k) for p in (1, 2, 3, 4)]
        for k in ("cost", "c_nlc", "i_f", "i_bf", "flexibility")
    }

    def fmt(k: str) -> str:
        return " / ".join(f"{v:.3f}" for v in get[k])

    c, f = get["cost"], get["flexibility"]
    return [
        ("cost falls 1 > 2 > 3 > 4", c[0] > c[1] > c[2] > c[3], fmt("cost")),
        ("F rises 1 < 2 < 3 < 4", f[0] < f[1] < f[2] < f[3], fmt("flexibility")),
        (
            "I_F rises 1 < 2 < 3 < 4",
            get["i_f"][0] < get["i_f"][1] < get["i_f"][2] < get["i_f"][3],
            fmt("i_f"),
        ),
        ("C_NLC lowest in plan 2", int(np.argmin(get["c_nlc"])) == 1, fmt("c_nlc")),
        (
            "I_BF highest in plan 1, lowest in plan 2",
            int(np.argmax(get["i_bf"])) == 0 and int(np.argmin(get["i_bf"])) == 1,
            fmt("i_bf"),
        ),
    ]


def front_table(groups: dict[tuple[str, str], Group]) -> pd.DataFrame | None:
    from optim.indicators import nondominated
    from optim.select import knee_point

    recs = []
    for g in groups.values():
        if g.problem.n_obj != 2:
            continue
        keep = nondominated(g.F)
        F = g.F[keep]
        knee, _ = knee_point(F)
        recs.append(
            {
                "label": g.label,
                "algorithm": g.algorithm,
                "members": len(F),
                "cost range": f"{F[:, 0].min():.1f} - {F[:, 0].max():.1f}",
                "F range": f"{-F[:, 1].max():.3f} - {-F[:, 1].min():.3f}",
                "knee (cost, F)": f"{F[knee, 0]:.1f}, {-F[knee, 1]:.3f}",
            }
        )
    return pd.DataFrame(recs) if recs else None


def algorithm_table(groups: dict[tuple[str, str], Group]) -> pd.DataFrame:
    recs = []
    for (label, algo), g in sorted(groups.items()):
        if g.problem.n_obj != 1:
            continue
        b = np.asarray(g.best_per_run)
        recs.append(
            {
                "plan": label,
                "algorithm": algo,
                "runs": len(b),
                "best cost": f"{b.min():.2f}",
                "mean": f"{b.mean():.2f}",
                "worst": f"{b.max():.2f}",
            }
        )
    return pd.DataFrame(recs)


def report(results_dirs: Sequence[Path], figures: Path | None = None) -> str:
    groups = read_groups(results_dirs)
    rows = plan_rows(groups)
    parts = ["## Paper 002 on IEEE 33: ours beside 002", ""]
    parts += [
        "**Table 4 (002 table 4): SOP sizes and annual integrated cost, 10^4 CNY/yr**",
        "",
        _md(table4(rows)),
        "",
    ]
    parts += ["**Table 5 (002 table 5): cost terms, 10^4 CNY/yr**", "", _md(table_terms(rows, TERMS, 1)), ""]
    parts += ["**Table 6 (002 table 6): flexibility**", "", _md(table_terms(rows, FLEX, 3)), ""]
    cfg = next(iter(rows.values()))["problem"].config
    band = f"band violation pu ({cfg.v_min_pu:g}-{cfg.v_max_pu:g}, {'hard' if cfg.voltage_hard else 'soft'})"
    volt = pd.DataFrame(
        [
            {
                "plan": p,
                "Vmin pu": f"{_v(r['out'], 'vmin_pu'):.3f}",
                band: f"{_v(r['out'], 'v_band_violation_pu'):.3f}",
                "losses MWh/day": f"{_v(r['out'], 'loss_mwh'):.3f}",
                "curtailed MWh/day": f"{_v(r['out'], 'curtailed_mwh'):.3f}",
            }
            for p, r in rows.items()
        ]
    )
    parts += ["**Voltage (reported, not a constraint) and energy**", "", _md(volt), ""]
    parts += ["**Algorithm comparison (best cost of each run)**", "", _md(algorithm_table(groups)), ""]
    ft = front_table(groups)
    if ft is not None:
        parts += ["**Cost-flexibility front of plan 4 (pooled over seeds)**", "", _md(ft), ""]
    fl = findings(rows)
    if fl:
        parts += ["**002's findings**", ""]
        parts += [
            f"- {name}: {'holds' if ok else 'does NOT hold'} ({nums}, plans 1-4)" for name, ok, nums in fl
        ]
        parts.append("")
    if figures is not None and 4 in rows:
        parts += [f"Figures: {p}" for p in write_figures(rows[4], Path(figures))] + [""]
    return "\n".join(parts)


def write_figures(row: dict[str, Any], folder: Path) -> list[Path]:
    """002 fig. 5 (stations' charge/discharge, plan 4) and the SOP flows of plan 4, as PNGs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    out, prob = row["out"], row["problem"]
    hours = np.arange(24)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for j, bus in enumerate(prob.config.station_buses):
        ax.bar(
            hours + 0.2 * (j - 1.5),
            np.asarray(out["storage_kw"])[0, j],
            width=0.2,
            label=f"station at bus {bus}",
        )
    ax.axhline(0, color="k", lw=0.5)
    ax.set(
        xlabel="hour",
        ylabel="kW (charge > 0, discharge < 0)",
        title="Plan 4: stations as storage (002 fig. 5)",
    )
    ax.legend(fontsize=7)
    p1 = folder / "fig5_station_schedule.png"
    fig.tight_layout()
    fig.savefig(p1, dpi=120)
    plt.close(fig)
    d = out["sop"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharex=True)
    for j, (a, b) in enumerate(prob.sops.ties):
        axes[0].plot(hours, d.p_a_kw[0, :, j], marker="o", ms=3, label=f"{a}-{b}: P injected at {a}")
        axes[1].plot(hours, d.q_a_kvar[0, :, j], ls="-", label=f"Q at {a}")
        axes[1].plot(hours, d.q_b_kvar[0, :, j], ls="--", label=f"Q at {b}")
    axes[0].set(xlabel="hour", ylabel="kW", title="SOP active transfer")
    axes[1].set(xlabel="hour", ylabel="kvar", title="SOP reactive support")
    for ax in axes:
        ax.legend(fontsize=6)
    p2 = folder / "sop_flows.png"
    fig.tight_layout()
    fig.savefig(p2, dpi=120)
    plt.close(fig)
    return [p1, p2]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", type=Path, help="campaign output folders")
    ap.add_argument("--out", type=Path, default=None, help="also write the Markdown here")
    ap.add_argument("--figures", type=Path, default=None, help="write the PNG figures into this folder")
    args = ap.parse_args(argv)
    md = report(args.results, args.figures)
    print(md)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(md + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
