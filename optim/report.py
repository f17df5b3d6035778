"""``optim report DIR``: one self-contained HTML (or Markdown) page of a campaign's results.

HTML embeds every figure as a base64 PNG, so the file can be mailed or archived alone. Markdown
writes the PNGs into ``report_files/`` beside it. Content: run counts and failures, per problem the
median (IQR) of every indicator per algorithm, pairwise Wilcoxon rank-sum tests (Holm), fronts,
convergence and box plots, the knee-point plan of the merged front; Friedman ranks over problems;
the resolved config and package versions.

A report is made from the stored results alone: the folder's ``campaign.toml`` is read as data
(:func:`optim.config.read_stored_config`), true fronts come from ``DIR/reference`` and plans from each
run's ``plans.parquet``; no problem is built and no name from the folder is imported. Nothing is
written into the folder unless the report's own path is there, so a read-only folder can be reported
with ``path`` elsewhere.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from optim import plots
from optim.campaign import CONFIG_NAME, tables
from optim.config import RunSpec, read_stored_config
from optim.errors import ResultsError
from optim.indicators import nondominated
from optim.select import choose
from optim.stats import friedman, pairwise_wilcoxon, summary
from optim.store import finished_runs, read_references, read_table

__all__ = ["write_report"]


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


class _Doc:
    """Collects sections as HTML or Markdown."""

    def __init__(self, fmt: str, files_dir: Path) -> None:
        self.fmt = fmt
        self.parts: list[str] = []
        self.files_dir = files_dir
        self.n_fig = 0

    def h(self, level: int, text: str) -> None:
        self.parts.append(f"<h{level}>{html.escape(text)}</h{level}>" if self.fmt == "html"
                          else f"{'#' * level} {text}\n")

    def p(self, text: str) -> None:
        self.parts.append(f"<p>{html.escape(text)}</p>" if self.fmt == "html" else f"{text}\n")

    def pre(self, text: str) -> None:
        self.parts.append(f"<pre>{html.escape(text)}</pre>" if self.fmt == "html" else f"```\n{text}\n```\n")

    def table(self, df: pd.DataFrame, floatfmt: str = "{:.4g}") -> None:
        if df.empty:
            self.p("(none)")
            return
        fmt = {c: floatfmt.format for c in df.columns if pd.api.types.is_float_dtype(df[c])}
        if self.fmt == "html":
            self.parts.append(df.to_html(index=False, formatters=fmt, border=0, classes="t"))
        else:
            d = df.copy()
            for c, f in fmt.items():
                d[c] = d[c].map(f)
            cols = [str(c) for c in d.columns]
            lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in d.itertuples(index=False)]
            self.parts.append("\n".join(lines) + "\n")

    def figure(self, fig: Figure, alt: str) -> None:
        data = _png(fig)
        if self.fmt == "html":
            b64 = base64.b64encode(data).decode("ascii")
            self.parts.append(f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}"/>')
        else:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            self.n_fig += 1
            name = f"fig{self.n_fig:03d}.png"
            (self.files_dir / name).write_bytes(data)
            self.parts.append(f"![{alt}]({self.files_dir.name}/{name})\n")

    def render(self, title: str) -> str:
        if self.fmt == "html":
            style = ("body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
                     "table.t{border-collapse:collapse;font-size:90%}table.t td,table.t th"
                     "{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}"
                     "img{max-width:100%}pre{background:#f6f6f6;padding:8px;overflow:auto}")
            body = "\n".join(self.parts)
            return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
                    f"</title><style>{style}</style></head><body>\n{body}\n</body></html>\n")
        return "\n".join(self.parts)


def _median_iqr(summ: pd.DataFrame) -> pd.DataFrame:
    s = summ.assign(cell=[f"{m:.4g} ({q:.2g})" for m, q in zip(summ["median"], summ["iqr"], strict=True)])
    table = s.pivot(index="algorithm", columns="indicator", values="cell")
    table.columns.name = None
    return table.reset_index()


def _front_arrays(runs_dir: Path, run_ids: list[str],
                  ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per run: (X, F, row of ``front.parquet``) of its feasible front points."""
    out = {}
    for rid in run_ids:
        fr = read_table(runs_dir / rid / "front.parquet")
        rows = np.flatnonzero(fr["feasible"].to_numpy(dtype=bool))
        fr = fr.iloc[rows]
        xc = [c for c in fr.columns if c.startswith("x") and c[1:].isdigit()]
        fc = [c for c in fr.columns if c.startswith("f") and c[1:].isdigit()]
        out[rid] = (fr[xc].to_numpy(dtype=float), fr[fc].to_numpy(dtype=float), rows)
    return out


def _stored_plan(runs_dir: Path, run_id: str, row: int) -> pd.DataFrame | None:
    """The decoded plan of row ``row`` of a run's front, as the run stored it (``plans.parquet``)."""
    path = runs_dir / run_id / "plans.parquet"
    if not path.is_file():
        return None
    plans = read_table(path)
    return plans[plans["point"] == row].drop(columns="point").reset_index(drop=True)


def _choose(X: np.ndarray, F: np.ndarray, origin: list[tuple[str, int]], runs_dir: Path,
            names: list[str], units: list[str], **how: Any) -> Any:
    """:func:`optim.select.choose` on stored results: the plan is the run's stored one, if any."""
    choice = choose(X, F, objective_names=names, objective_units=units, **how)
    plan = _stored_plan(runs_dir, *origin[choice.index])
    return choice if plan is None else replace(choice, plan=plan)


def write_report(directory: str | Path, fmt: str = "html", path: str | Path | None = None,
                 weights: Sequence[float] | None = None) -> Path:
    """Write the report of a campaign directory; returns its path.

    Parameters
    ----------
    directory : path
        A campaign output directory (with ``campaign.toml`` and ``runs/``).
    fmt : {"html", "md"}
    path : path, optional
        Default ``DIR/report.html`` or ``DIR/report.md``. Only this file (and, for Markdown, the
        ``<stem>_files/`` folder beside it) is written.
    weights : sequence of float, optional
        Objective weights: each multi-objective problem with that many objectives also gets the
        weighted-compromise plan of its merged front (paper 003 eqs. 15-16, :mod:`optim.select`).
    """
    directory = Path(directory)
    if fmt not in ("html", "md"):
        raise ResultsError(f"report format must be 'html' or 'md', got {fmt!r}")
    if not (directory / CONFIG_NAME).is_file():
        raise ResultsError(f"{directory}: not a campaign directory (no {CONFIG_NAME})")
    cfg = read_stored_config(directory / CONFIG_NAME)
    results, runs, conv = tables(directory, cfg)  # in memory: the folder may be read-only
    done = finished_runs(directory / "runs", only={s.run_id for s in cfg.runs()})
    refs = read_references(directory)
    path = Path(path) if path is not None else directory / f"report.{fmt}"
    doc = _Doc(fmt, path.with_name(path.stem + "_files"))

    doc.h(1, f"Campaign {cfg.name}")
    n_ok = int((runs["status"] == "ok").sum())
    n_failed = int((runs["status"] == "failed").sum())
    doc.p(f"{len(cfg.runs())} runs in the campaign: {n_ok} finished, {n_failed} failed, "
          f"{len(cfg.runs()) - len(runs)} not run yet. Termination: {cfg.termination.as_dict()}; "
          f"seed {cfg.seed}; replicates {list(cfg.replicates)}. Indicators are normalised per problem "
          "(see the 'reference' column: true Pareto front or merged front of all runs).")
    if n_failed:
        doc.h(2, "Failed runs")
        doc.table(runs.loc[runs["status"] == "failed", ["run_id", "error"]])
    infeasible = runs[(runs["status"] == "ok") & (runs["n_feasible"] == 0)]
    if len(infeasible):
        doc.h(2, "Runs without a feasible solution")
        doc.p(f"{len(infeasible)} finished run(s) found no feasible point (n_feasible = 0); their "
              "fronts hold the least-infeasible points with their constraint values and add nothing "
              "to the indicators.")
        doc.table(infeasible[["run_id", "problem", "algorithm", "n_eval", "n_feasible"]])

    specs = {s.run_id: s for s in cfg.runs()}
    for p in cfg.problems:
        res_p = results[results["problem"] == p.label]
        if res_p.empty:
            continue
        ok_ids = [rid for rid, s in specs.items() if s.problem.label == p.label and rid in done
                  and done[rid]["status"] == "ok"]
        meta = done[ok_ids[0]]
        names, units = meta["objective_names"], meta["objective_units"]
        n_obj = len(names)
        doc.h(2, f"Problem {p.label} ({p.name}{', ' + str(p.kwargs) if p.params else ''})")
        doc.p("Objectives (minimised): " + ", ".join(
            f"{n} [{u}]" if u else n for n, u in zip(names, units, strict=True)))
        doc.p(f"Reference front: {res_p['reference'].iloc[0]}. Median (IQR) per algorithm:")
        doc.table(_median_iqr(summary(res_p)))
        main = "hv" if n_obj > 1 else "best"
        doc.h(3, f"Pairwise Wilcoxon rank-sum tests on {main} (Holm-corrected)")
        doc.table(pairwise_wilcoxon(res_p, main))
        # a single objective's "best" is that objective: label the axis with its name and unit
        best_label = f"best {names[0]} [{units[0]}]" if n_obj == 1 and units[0] else None
        doc.figure(plots.boxplot(res_p, main, title=f"{p.label}: {main}", ylabel=best_label),
                   f"{p.label} box plot")
        conv_p = conv[conv["problem"] == p.label]
        if not conv_p.empty:
            # hv per generation is computed up to 3 objectives; IGD always
            ind = main if (conv_p["indicator"] == main).any() else "igd"
            doc.figure(plots.convergence(conv_p, ind, title=f"{p.label}: {ind} vs evaluations",
                                         ylabel=best_label if ind == "best" else None),
                       f"{p.label} convergence")
        if n_obj > 1:
            true_pf = refs[p.label][1] if p.label in refs else None
            _fronts_section(doc, p.label, specs, ok_ids, res_p, directory / "runs", names, units,
                            true_pf, weights)
        else:
            _best_section(doc, directory / "runs", _front_arrays(directory / "runs", ok_ids), names, units)

    doc.h(2, "Friedman mean ranks over problems (1 = best)")
    for ind in ("hv", "igd", "best"):
        if ind in set(results["indicator"]):
            ranks, pval = friedman(results, ind)
            doc.p(f"{ind}: Friedman p = {pval:.3g}" if np.isfinite(pval)
                  else f"{ind}: Friedman test needs >= 3 algorithms and >= 2 problems")
            doc.table(ranks)
    doc.h(2, "Configuration")
    doc.pre((directory / CONFIG_NAME).read_text(encoding="utf-8"))
    if done:
        doc.h(2, "Versions")
        doc.pre("\n".join(f"{k} {v}" for k, v in next(iter(done.values()))["versions"].items()))
    text = doc.render(f"Campaign {cfg.name}")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def _fronts_section(doc: _Doc, label: str, specs: dict[str, RunSpec], ok_ids: list[str],
                    res_p: pd.DataFrame, runs_dir: Path, names: list[str], units: list[str],
                    true_pf: np.ndarray | None, weights: Sequence[float] | None = None) -> None:
    arrays = _front_arrays(runs_dir, ok_ids)
    hv = res_p[res_p["indicator"] == "hv"]
    fronts: dict[str, np.ndarray] = {}
    for algo, g in hv.groupby("algorithm", sort=False):
        # the replicate with the median hypervolume represents the algorithm
        g = g.sort_values("value", kind="stable")
        rep = int(g["replicate"].iloc[(len(g) - 1) // 2])
        rid = next(r for r in ok_ids if specs[r].algorithm.label == algo and specs[r].replicate == rep)
        fronts[str(algo)] = arrays[rid][1]
    fronts = {k: v for k, v in fronts.items() if len(v)}
    if not fronts:
        doc.p("No feasible point in any run.")
        return
    n_obj = len(names)
    doc.h(3, "Fronts (the median-hypervolume run of each algorithm)")
    if n_obj == 2:
        doc.figure(plots.front_2d(fronts, names, units, true_pf, title=label),
                   f"{label} fronts")
    else:
        if n_obj == 3:
            doc.figure(plots.front_3d(fronts, names, units, title=label), f"{label} fronts 3-D")
        doc.figure(plots.front_grid(fronts, names, units, title=label), f"{label} pairwise fronts")
        doc.figure(plots.parallel_coordinates(fronts, names, units, title=label),
                   f"{label} parallel coordinates")
    X = np.vstack([a[0] for a in arrays.values() if len(a[0])])
    F = np.vstack([a[1] for a in arrays.values() if len(a[1])])
    origin = [(rid, int(r)) for rid, a in arrays.items() for r in a[2]]
    nd = nondominated(F)
    X, F, origin = X[nd], F[nd], [origin[i] for i in np.flatnonzero(nd)]
    _, uniq = np.unique(F, axis=0, return_index=True)
    keep = np.sort(uniq)
    X, F, origin = X[keep], F[keep], [origin[i] for i in keep]
    choice = _choose(X, F, origin, runs_dir, names, units, method="knee")
    doc.h(3, "Knee-point plan of the merged front")
    doc.p("Objectives: " + ", ".join(f"{n} = {v:.5g} {u}".rstrip()
                                     for n, v, u in zip(names, choice.f, units, strict=True)))
    if choice.plan is not None:
        doc.table(choice.plan.reset_index(drop=True))
    if weights is not None and len(weights) == n_obj:
        wc = _choose(X, F, origin, runs_dir, names, units, method="weighted", weights=list(weights))
        doc.h(3, f"Weighted-compromise plan (weights {', '.join(f'{w:g}' for w in weights)})")
        doc.p("Objectives: " + ", ".join(f"{n} = {v:.5g} {u}".rstrip()
                                         for n, v, u in zip(names, wc.f, units, strict=True)))
        if wc.plan is not None:
            doc.table(wc.plan.reset_index(drop=True))


def _best_section(doc: _Doc, runs_dir: Path, arrays: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                  names: list[str], units: list[str]) -> None:
    """The best feasible solution over all runs of a single-objective problem, as a plan."""
    found = [(float(F[:, 0].min()), rid, X[int(np.argmin(F[:, 0]))], int(rows[int(np.argmin(F[:, 0]))]))
             for rid, (X, F, rows) in arrays.items() if len(F)]
    if not found:
        doc.p("No feasible point in any run.")
        return
    value, rid, x, row = min(found, key=lambda t: t[0])
    choice = _choose(x[None, :], np.array([[value]]), [(rid, row)], runs_dir, names, units, method="knee")
    doc.h(3, "Best plan found")
    doc.p(f"{names[0]} = {value:.6g} {units[0]} (run {rid})".replace("  ", " "))
    if choice.plan is not None:
        doc.table(choice.plan.reset_index(drop=True))
