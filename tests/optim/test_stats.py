from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optim.stats import friedman, holm, pairwise_wilcoxon, summary


def _table(values: dict[tuple[str, str], list[float]], indicator: str = "hv") -> pd.DataFrame:
    rows = [{"problem": p, "algorithm": a, "replicate": i, "indicator": indicator, "value": v}
            for (p, a), vs in values.items() for i, v in enumerate(vs)]
    return pd.DataFrame(rows)


def test_summary_median_and_iqr():
    t = _table({("p", "a"): [1.0, 2.0, 3.0, 4.0, 100.0]})
    s = summary(t).iloc[0]
    assert s["median"] == 3.0 and s["iqr"] == 4.0 - 2.0 and s["n"] == 5


def test_holm_matches_hand_computation():
    np.testing.assert_allclose(holm(np.array([0.01, 0.04, 0.03])), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(holm(np.array([0.5, 0.6])), [1.0, 1.0])


def test_wilcoxon_finds_the_clearly_better_algorithm():
    rng = np.random.default_rng(0)
    t = _table({("p", "good"): list(0.9 + 0.01 * rng.random(10)),
                ("p", "bad"): list(0.5 + 0.01 * rng.random(10)),
                ("p", "bad2"): list(0.5 + 0.01 * rng.random(10))})
    w = pairwise_wilcoxon(t, "hv")
    assert len(w) == 3
    gb = w[(w["algorithm_a"] == "good") & (w["algorithm_b"] == "bad")].iloc[0]
    assert gb["better"] == "good" and gb["p_holm"] < 0.001 and gb["p_holm"] >= gb["p"]
    same = w[(w["algorithm_a"] == "bad") & (w["algorithm_b"] == "bad2")].iloc[0]
    assert same["better"] == ""
    # smaller is better for igd
    wi = pairwise_wilcoxon(t.assign(indicator="igd"), "igd")
    assert wi.iloc[0]["better"] == "bad"


def test_friedman_ranks():
    vals = {}
    for p in ("p1", "p2", "p3", "p4"):
        vals[(p, "a")] = [0.9]
        vals[(p, "b")] = [0.5]
        vals[(p, "c")] = [0.7]
    ranks, pval = friedman(_table(vals), "hv")
    assert list(ranks["algorithm"]) == ["a", "c", "b"]
    assert list(ranks["mean_rank"]) == [1.0, 2.0, 3.0]
    assert pval < 0.05
    ranks1, p1 = friedman(_table({("p", "a"): [1.0], ("p", "b"): [2.0]}), "hv")
    assert np.isnan(p1) and list(ranks1["algorithm"]) == ["b", "a"]


@pytest.mark.parametrize("indicator", ["igd", "best"])
def test_friedman_smaller_is_better(indicator):
    t = _table({("p1", "a"): [1.0], ("p1", "b"): [2.0], ("p2", "a"): [1.0], ("p2", "b"): [3.0]}, indicator)
    ranks, _ = friedman(t, indicator)
    assert ranks.iloc[0]["algorithm"] == "a"
