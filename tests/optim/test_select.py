from __future__ import annotations

import numpy as np
import pytest

from optim.errors import ConfigError
from optim.select import ahp_weights, choose, knee_point, weighted_compromise

# a front with a clear knee at (0.1, 0.1)
FRONT = np.array([[0.0, 1.0], [0.05, 0.5], [0.1, 0.1], [0.5, 0.05], [1.0, 0.0]])


def test_knee_point():
    i, score = knee_point(FRONT)
    assert i == 2 and score > 0
    # a straight front has no knee: every point scores 0
    line = np.column_stack([np.linspace(0, 1, 5), 1 - np.linspace(0, 1, 5)])
    assert np.isclose(knee_point(line)[1], 0.0)


def test_weighted_compromise_follows_the_weights():
    assert weighted_compromise(FRONT, [1, 0])[0] == 0
    assert weighted_compromise(FRONT, [0, 1])[0] == 4
    assert weighted_compromise(FRONT, [1, 1])[0] == 2
    i, score = weighted_compromise(FRONT, [2, 2])  # weights are rescaled to sum 1
    assert i == 2 and np.isclose(score, 0.5 * 0.9 + 0.5 * 0.9)


def test_ratio_normalisation_of_paper_003():
    F = np.array([[10.0, -4.0], [20.0, -8.0]])  # minimise cost, maximise profit (negated)
    i, score = weighted_compromise(F, [0.5, 0.5], normalise="ratio")
    # point 0: 10/10, 4/8 -> 0.75; point 1: 10/20, 8/8 -> 0.75; ties go to the first
    assert i == 0 and np.isclose(score, 0.75)
    with pytest.raises(ConfigError, match="one sign"):
        weighted_compromise(np.array([[1.0, -1.0], [-1.0, 1.0]]), [1, 1], normalise="ratio")


def test_bad_weights():
    with pytest.raises(ConfigError, match="weights"):
        weighted_compromise(FRONT, [1, -1])
    with pytest.raises(ConfigError, match="weights"):
        weighted_compromise(FRONT, [1, 1, 1])


def test_ahp_weights_of_a_consistent_matrix():
    w_true = np.array([0.5, 0.3, 0.2])
    A = w_true[:, None] / w_true[None, :]
    w, cr = ahp_weights(A)
    np.testing.assert_allclose(w, w_true)
    assert abs(cr) < 1e-9
    with pytest.raises(ConfigError, match="reciprocal"):
        ahp_weights([[1, 2], [2, 1]])


def test_choose_returns_a_readable_plan():
    X = np.arange(10.0).reshape(5, 2)
    c = choose(X, FRONT, method="knee", objective_names=["loss", "cost"], objective_units=["kW", "CNY"])
    assert c.index == 2 and list(c.x) == [4.0, 5.0]
    assert list(c.plan["unit"]) == ["kW", "CNY"] and c.plan["value"].iloc[0] == 0.1

    class P:
        def decode(self, x):
            import pandas as pd
            return pd.DataFrame({"bus": [int(x[0])]})

    c2 = choose(X, FRONT, method="weighted", weights=[1, 0], problem=P())
    assert c2.index == 0 and c2.plan["bus"].iloc[0] == 0
