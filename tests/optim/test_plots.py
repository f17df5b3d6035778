from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from optim import plots

F2 = {"a": np.array([[0.0, 1.0], [0.5, 0.4]]), "b": np.array([[0.2, 0.9], [1.0, 0.0]])}
F3 = {"a": np.random.default_rng(0).random((6, 3)), "b": np.random.default_rng(1).random((5, 3))}


def _labels(fig: Figure) -> set[str]:
    out = set()
    for ax in fig.axes:
        out |= {ax.get_xlabel(), ax.get_ylabel()}
        if hasattr(ax, "get_zlabel"):
            out.add(ax.get_zlabel())
    return out


def test_front_figures_carry_units_and_leave_rcparams_alone():
    before = dict(matplotlib.rcParams)
    fig = plots.front_2d(F2, ["loss", "cost"], ["kW", "CNY"], reference=np.array([[0, 1], [1, 0]]))
    assert isinstance(fig, Figure) and {"loss [kW]", "cost [CNY]"} <= _labels(fig)
    assert len(fig.axes[0].collections) == 2  # one scatter per algorithm
    fig3 = plots.front_3d(F3, ["a", "b", "c"], ["kW", "pu", "CNY"])
    assert "c [CNY]" in _labels(fig3)
    grid = plots.front_grid(F3, ["a", "b", "c"], ["kW", "pu", "CNY"])
    assert {"a [kW]", "b [pu]", "c [CNY]"} <= _labels(grid)
    pc = plots.parallel_coordinates(F3, ["a", "b", "c"], ["kW", "pu", "CNY"])
    ticks = [t.get_text() for t in pc.axes[0].get_xticklabels()]
    assert ticks[0].startswith("a [kW]") and len(pc.axes[0].lines) == 11
    assert dict(matplotlib.rcParams) == before


def test_convergence_median_and_band():
    rows = [{"algorithm": "x", "replicate": r, "n_eval": e, "indicator": "hv", "value": e / 100 + r}
            for r in range(3) for e in (10, 50, 100)]
    fig = plots.convergence(pd.DataFrame(rows), "hv", n_grid=3)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.1, 1.5, 2.0])  # median run; step: 55 reads 50
    assert len(ax.collections) == 1 and ax.get_xlabel() == "evaluations"


def test_boxplot_one_box_per_algorithm():
    t = pd.DataFrame({"algorithm": ["a", "a", "b", "b"], "indicator": "igd", "value": [1, 2, 3, 4]})
    fig = plots.boxplot(t, "igd")
    assert [x.get_text() for x in fig.axes[0].get_xticklabels()] == ["a", "b"]
    assert fig.axes[0].get_ylabel() == "IGD (normalised)"


def test_single_objective_figures_name_the_objective_and_unit():
    t = pd.DataFrame({"algorithm": ["a", "b"], "replicate": 0, "n_eval": 10, "indicator": "best",
                      "value": [71.5, 72.0]})
    assert plots.boxplot(t, "best", ylabel="best loss [kW]").axes[0].get_ylabel() == "best loss [kW]"
    assert plots.convergence(t, "best", ylabel="best loss [kW]").axes[0].get_ylabel() == "best loss [kW]"
