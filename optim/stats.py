"""Statistics over the tidy results table (problem, algorithm, replicate, indicator, value).

* :func:`summary`: median and interquartile range per problem, algorithm and indicator.
* :func:`pairwise_wilcoxon`: two-sided Wilcoxon rank-sum tests between every pair of algorithms on
  each problem, with Holm's step-down correction within the problem.
* :func:`friedman`: Friedman mean ranks of the algorithms over problems (blocks = problems, the value
  per block = the median over replicates), with the Friedman chi-square p-value where defined.

Which direction is better is a property of the indicator (:data:`LARGER_IS_BETTER`).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats as sps

__all__ = ["LARGER_IS_BETTER", "friedman", "holm", "pairwise_wilcoxon", "summary"]

#: Indicators where a larger value is better (the rest: smaller is better).
LARGER_IS_BETTER = frozenset({"hv", "n_nd"})


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Median, IQR (q75 - q25) and count per (problem, indicator, algorithm), NaNs dropped."""
    g = results.dropna(subset=["value"]).groupby(["problem", "indicator", "algorithm"])["value"]
    out = pd.DataFrame({
        "median": g.median(),
        "iqr": g.quantile(0.75) - g.quantile(0.25),
        "n": g.size(),
    })
    return out.reset_index()


def holm(p: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (same order as ``p``)."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p)
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def pairwise_wilcoxon(results: pd.DataFrame, indicator: str) -> pd.DataFrame:
    """Rank-sum tests between every pair of algorithms per problem, Holm-corrected per problem.

    Returns
    -------
    DataFrame
        Columns ``problem, algorithm_a, algorithm_b, median_a, median_b, statistic, p, p_holm,
        better`` (``better`` names the algorithm with the better median where ``p_holm < 0.05``,
        else ``""``).
    """
    sub = results[results["indicator"] == indicator].dropna(subset=["value"])
    larger = indicator in LARGER_IS_BETTER
    rows = []
    for problem, g in sub.groupby("problem", sort=False):
        algos = list(dict.fromkeys(g["algorithm"]))
        block = []
        for a, b in itertools.combinations(algos, 2):
            va = g.loc[g["algorithm"] == a, "value"].to_numpy()
            vb = g.loc[g["algorithm"] == b, "value"].to_numpy()
            stat, p = sps.ranksums(va, vb)
            block.append({"problem": problem, "algorithm_a": a, "algorithm_b": b,
                          "median_a": float(np.median(va)), "median_b": float(np.median(vb)),
                          "statistic": float(stat), "p": float(p) if np.isfinite(p) else 1.0})
        if not block:
            continue
        adj = holm(np.array([r["p"] for r in block]))
        for r, pa in zip(block, adj, strict=True):
            r["p_holm"] = float(pa)
            a_better = r["median_a"] > r["median_b"] if larger else r["median_a"] < r["median_b"]
            tie = r["median_a"] == r["median_b"]
            r["better"] = "" if pa >= 0.05 or tie else (r["algorithm_a"] if a_better else r["algorithm_b"])
            rows.append(r)
    return pd.DataFrame(rows, columns=["problem", "algorithm_a", "algorithm_b", "median_a", "median_b",
                                       "statistic", "p", "p_holm", "better"])


def friedman(results: pd.DataFrame, indicator: str) -> tuple[pd.DataFrame, float]:
    """Friedman mean ranks (1 = best) of the algorithms over the problems, and the test's p-value.

    Only problems on which every algorithm has a value take part. The p-value
    (``scipy.stats.friedmanchisquare``) needs at least 3 algorithms and 2 problems; otherwise NaN.

    Returns
    -------
    ranks : DataFrame
        ``algorithm, mean_rank, n_problems``, best first.
    p : float
    """
    sub = results[results["indicator"] == indicator].dropna(subset=["value"])
    table = sub.groupby(["problem", "algorithm"])["value"].median().unstack("algorithm").dropna()
    if table.empty:
        return pd.DataFrame(columns=["algorithm", "mean_rank", "n_problems"]), float("nan")
    signed = -table if indicator in LARGER_IS_BETTER else table
    ranks = signed.rank(axis=1, method="average")
    out = pd.DataFrame({"algorithm": ranks.columns, "mean_rank": ranks.mean(axis=0).to_numpy(),
                        "n_problems": len(table)}).sort_values("mean_rank", kind="stable")
    p = float("nan")
    if table.shape[1] >= 3 and table.shape[0] >= 2:
        p = float(sps.friedmanchisquare(*[table[c].to_numpy() for c in table.columns]).pvalue)
    return out.reset_index(drop=True), p
