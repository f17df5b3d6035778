"""Paper 000's figures: the LCC by scheme and stage, and the stage-III peak day with and without V2G.

Both build a :class:`matplotlib.figure.Figure` (no pyplot, no global style change), save it as a PNG
and return its path; :mod:`experiments.paper000.tables` calls them with ``--figures DIR`` and
:mod:`experiments.paper000.sensitivity` draws its own curves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

#: The LCC's discounted terms (``StagedPlanning.compute()["lcc_terms_cny"]``), in stacking order.
TERMS = ("investment", "O&M", "losses", "curtailment", "lost load", "EV charging shed")
STAGES = ("I", "II", "III")


def lcc_terms(prob: Any, x: np.ndarray) -> dict[str, np.ndarray]:
    """The discounted LCC terms of one plan, term -> (S,) M CNY (they sum to the LCC)."""
    t = prob.compute(np.asarray(x, dtype=float)[None])["lcc_terms_cny"]
    return {k: np.asarray(t[k][0]) / 1e6 for k in TERMS}


def lcc_by_stage(plans: dict[str, tuple[Any, np.ndarray]], path: Path, title: str = "") -> Path:
    """Stacked bars: for each scheme a bar per stage, stacked by the discounted cost terms."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.5, 4.2), layout="constrained")
    ax = fig.subplots()
    width, gap = 0.27, 0.25
    ticks, labels, top = [], [], 0.0
    for i, (scheme, (prob, x)) in enumerate(sorted(plans.items())):
        terms = lcc_terms(prob, x)
        S = terms["investment"].size
        pos = i * (S * width + gap) + np.arange(S) * width
        bottom = np.zeros(S)
        for j, k in enumerate(TERMS):
            ax.bar(pos, terms[k], width * 0.92, bottom=bottom, color=f"C{j}", label=k if i == 0 else None)
            bottom += terms[k]
        ax.text(
            pos.mean(),
            bottom.max() * 1.02,
            f"{sum(v.sum() for v in terms.values()):.2f}",
            ha="center",
            fontsize=8,
        )
        top = max(top, bottom.max())
        ticks += list(pos)
        labels += [f"{scheme}-{STAGES[s] if s < len(STAGES) else s + 1}" for s in range(S)]
    ax.set_xticks(ticks, labels, fontsize=8)
    ax.set_ylim(0, 1.15 * top if top > 0 else 1.0)
    ax.set_ylabel("discounted cost / M CNY")
    ax.set_title(
        f"LCC by scheme and stage (total above each scheme){': ' + title if title else ''}", fontsize=10
    )
    ax.legend(fontsize=8, ncols=2)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def peak_day(day: dict[str, Any], path: Path, title: str = "") -> Path:
    """The feeder-head load of a stage-III day with V2G and with the V2G chargers used as smart
    chargers (``day`` from :func:`experiments.paper000.tables.v2g_day`), and the transformer rating."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.0), layout="constrained")
    ax = fig.subplots()
    h = np.arange(25)  # hour t's value drawn over [t, t + 1)
    for key, label, color in (
        ("head_no_v2g_kw", "without V2G (V2G piles as smart)", "C3"),
        ("head_kw", "with V2G", "C0"),
    ):
        v = np.asarray(day[key]) / 1e3
        ax.step(h, np.r_[v, v[-1]], where="post", label=label, color=color)
    ax.axhline(day["rating_kva"] / 1e3, color="0.4", ls="--", lw=0.9, label="transformer rating (MVA)")
    ax.axvspan(18, 20, color="0.9", zorder=0)
    ax.set_xlabel("hour")
    ax.set_ylabel("feeder-head active power / MW")
    ax.set_xticks(range(0, 25, 3))
    ax.set_title(
        f"Stage III, {day['scenario']}: peak {day['peak without V2G (MW)']:.2f} -> "
        f"{day['peak with V2G (MW)']:.2f} MW (000: 7.2 -> 6.0){'; ' + title if title else ''}",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
