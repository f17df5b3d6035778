"""Figures of a campaign: fronts, convergence, box plots.

Every function builds and returns a :class:`matplotlib.figure.Figure` (no pyplot, no global style or
rcParams change, no backend switch); save it with ``fig.savefig(path)``. Axes carry objective names
with units (``loss [kW]``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from numpy.typing import NDArray

__all__ = ["boxplot", "convergence", "front_2d", "front_3d", "front_grid", "parallel_coordinates"]


def _label(name: str, unit: str) -> str:
    return f"{name} [{unit}]" if unit else name


def _names(n_obj: int, names: Sequence[str] | None, units: Sequence[str] | None) -> list[str]:
    names = list(names or [f"f{j}" for j in range(n_obj)])
    units = list(units or [""] * n_obj)
    return [_label(n, u) for n, u in zip(names, units, strict=True)]


def front_2d(fronts: Mapping[str, NDArray[np.float64]], names: Sequence[str] | None = None,
             units: Sequence[str] | None = None, reference: NDArray[np.float64] | None = None,
             title: str = "") -> Figure:
    """Scatter of two-objective fronts, one colour per label; the reference front as a grey line.

    Parameters
    ----------
    fronts : mapping label -> ndarray, shape (n_i, 2)
    reference : ndarray, shape (k, 2), optional
    """
    fig = Figure(figsize=(6, 4.5), layout="constrained")
    ax = fig.add_subplot()
    lab = _names(2, names, units)
    if reference is not None and len(reference):
        r = reference[np.argsort(reference[:, 0])]
        ax.plot(r[:, 0], r[:, 1], color="0.6", lw=1.5, label="reference front", zorder=1)
    for label, F in fronts.items():
        F = np.asarray(F, dtype=float)
        ax.scatter(F[:, 0], F[:, 1], s=14, label=label, alpha=0.8, zorder=2)
    ax.set_xlabel(lab[0])
    ax.set_ylabel(lab[1])
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(title)
    return fig


def front_3d(fronts: Mapping[str, NDArray[np.float64]], names: Sequence[str] | None = None,
             units: Sequence[str] | None = None, title: str = "") -> Figure:
    """3-D scatter of three-objective fronts (n_i, 3)."""
    fig = Figure(figsize=(6.5, 5.5), layout="constrained")
    ax = fig.add_subplot(projection="3d")
    lab = _names(3, names, units)
    for label, F in fronts.items():
        F = np.asarray(F, dtype=float)
        ax.scatter(F[:, 0], F[:, 1], F[:, 2], s=10, label=label, alpha=0.8)
    ax.set_xlabel(lab[0])
    ax.set_ylabel(lab[1])
    ax.set_zlabel(lab[2])
    ax.legend(fontsize="small")
    ax.set_title(title)
    return fig


def front_grid(fronts: Mapping[str, NDArray[np.float64]], names: Sequence[str] | None = None,
               units: Sequence[str] | None = None, title: str = "") -> Figure:
    """Pairwise scatter grid (lower triangle) of fronts with 3 or more objectives."""
    n_obj = next(iter(fronts.values())).shape[1]
    lab = _names(n_obj, names, units)
    k = n_obj - 1
    fig = Figure(figsize=(3 * k + 1, 3 * k), layout="constrained")
    axes = fig.subplots(k, k, squeeze=False)
    for r in range(k):
        for c in range(k):
            ax = axes[r][c]
            i, j = c, r + 1  # x objective i, y objective j, j > i
            if i >= j:
                ax.set_axis_off()
                continue
            for label, F in fronts.items():
                ax.scatter(F[:, i], F[:, j], s=8, alpha=0.7, label=label)
            if r == k - 1:
                ax.set_xlabel(lab[i])
            if c == 0:
                ax.set_ylabel(lab[j])
            ax.grid(alpha=0.3)
    handles, labels = axes[k - 1][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper right", fontsize="small")
    fig.suptitle(title)
    return fig


def parallel_coordinates(fronts: Mapping[str, NDArray[np.float64]], names: Sequence[str] | None = None,
                         units: Sequence[str] | None = None, title: str = "") -> Figure:
    """Parallel coordinates of fronts, each objective min-max scaled over all fronts together.

    The tick labels at the bottom and top of each axis give the objective's range in its unit.
    """
    allF = np.vstack([np.asarray(F, dtype=float) for F in fronts.values()])
    n_obj = allF.shape[1]
    lo, hi = allF.min(axis=0), allF.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    lab = _names(n_obj, names, units)
    fig = Figure(figsize=(1.8 * n_obj + 2, 4.5), layout="constrained")
    ax = fig.add_subplot()
    colours = [f"C{i}" for i in range(len(fronts))]
    for (label, F), col in zip(fronts.items(), colours, strict=True):
        Fn = (np.asarray(F, dtype=float) - lo) / span
        for row_i, row in enumerate(Fn):
            ax.plot(range(n_obj), row, color=col, alpha=0.35, lw=0.8, label=label if row_i == 0 else None)
    ax.set_xticks(range(n_obj), [f"{lab[j]}\n{lo[j]:.4g} .. {hi[j]:.4g}" for j in range(n_obj)])
    ax.set_ylabel("scaled value (0 = best of all fronts)")
    ax.set_ylim(-0.03, 1.03)
    ax.grid(axis="x", alpha=0.5)
    ax.legend(fontsize="small")
    ax.set_title(title)
    return fig


def convergence(
    conv: pd.DataFrame, indicator: str, title: str = "", n_grid: int = 60, ylabel: str | None = None
) -> Figure:
    """Indicator against evaluations: median line and IQR band over replicates, per algorithm.

    Parameters
    ----------
    conv : DataFrame
        Rows of one problem from ``convergence.parquet``: ``algorithm, replicate, n_eval,
        indicator, value``.
    indicator : str
        ``"hv"``, ``"igd"`` or ``"best"``.
    n_grid : int
        Common evaluation grid; each run is read as a step function (last value so far).
    """
    fig = Figure(figsize=(6, 4.2), layout="constrained")
    ax = fig.add_subplot()
    sub = conv[conv["indicator"] == indicator]
    if not sub.empty:
        grid = np.linspace(sub["n_eval"].min(), sub["n_eval"].max(), n_grid)
        for algo, g in sub.groupby("algorithm", sort=False):
            curves = []
            for _, r in g.groupby("replicate"):
                r = r.sort_values("n_eval")
                idx = np.searchsorted(r["n_eval"].to_numpy(), grid, side="right") - 1
                vals = r["value"].to_numpy(dtype=float)
                curves.append(np.where(idx >= 0, vals[np.clip(idx, 0, None)], np.nan))
            C = np.array(curves)
            with warnings.catch_warnings():  # before a run's first feasible point: all-NaN columns
                warnings.simplefilter("ignore", RuntimeWarning)
                med = np.nanmedian(C, axis=0)
                q1, q3 = np.nanpercentile(C, 25, axis=0), np.nanpercentile(C, 75, axis=0)
            (line,) = ax.plot(grid, med, label=str(algo))
            ax.fill_between(grid, q1, q3, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel("evaluations")
    ax.set_ylabel(ylabel or {"hv": "hypervolume (normalised)", "igd": "IGD (normalised)",
                             "best": "best objective value"}.get(indicator, indicator))
    if indicator == "igd":
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize="small")
    ax.set_title(title)
    return fig


def boxplot(results: pd.DataFrame, indicator: str, title: str = "", ylabel: str | None = None) -> Figure:
    """Box plot of one indicator per algorithm (rows of one problem of the tidy results table).

    ``ylabel`` overrides the default axis label (say, the objective with its unit).
    """
    sub = results[results["indicator"] == indicator].dropna(subset=["value"])
    algos = list(dict.fromkeys(sub["algorithm"]))
    fig = Figure(figsize=(1.1 * max(len(algos), 3) + 2, 4), layout="constrained")
    ax = fig.add_subplot()
    data = [sub.loc[sub["algorithm"] == a, "value"].to_numpy() for a in algos]
    if data:
        ax.boxplot(data, tick_labels=algos)
    ax.set_ylabel(ylabel or {"hv": "hypervolume (normalised)", "igd": "IGD (normalised)",
                             "spacing": "spacing (normalised)", "n_nd": "non-dominated points",
                             "best": "best objective value", "gap": "gap to the optimum"}.get(indicator,
                                                                                           indicator))
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title)
    return fig
