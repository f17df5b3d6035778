"""grid.curtailment: the substation reverse-flow rule against a plain per-hour loop."""

from __future__ import annotations

import numpy as np
import pytest

from grid.curtailment import CurtailmentError, export_curtailment


def _loop(demand: np.ndarray, dg: np.ndarray, limit: float) -> np.ndarray:
    """One hour at a time: export beyond the limit is cut, every unit by the same share."""
    out = np.zeros(np.broadcast_shapes(demand.shape[:-1], dg.shape[:-1]) + dg.shape[-1:])
    d = np.broadcast_to(demand.sum(-1), out.shape[:-1])
    g = np.broadcast_to(dg, out.shape)
    for idx in np.ndindex(*out.shape[:-1]):
        avail = g[idx].sum()
        export = avail - d[idx]
        if export > limit and avail > 0:
            cut = min(export - limit, avail)
            out[idx] = g[idx] * cut / avail
    return out


def test_curtailment_matches_the_per_hour_rule_over_a_batch():
    rng = np.random.default_rng(3)
    demand = rng.uniform(-50.0, 400.0, (4, 3, 24, 6))  # (candidates, days, hours, buses)
    dg = rng.uniform(0.0, 900.0, (4, 3, 24, 5)) * (rng.uniform(size=(4, 1, 1, 5)) > 0.3)
    for limit in (0.0, 250.0):
        cut = export_curtailment(demand, dg, limit)
        np.testing.assert_allclose(cut, _loop(demand, dg, limit), rtol=1e-12, atol=1e-9)
        assert np.all(cut >= 0.0) and np.all(cut <= dg + 1e-12)
        # lossless substation import never below -limit where DG was cut
        imp = demand.sum(-1) - (dg - cut).sum(-1)
        assert np.all(imp >= -limit - 1e-9)
        assert np.any(cut > 0)


def test_no_curtailment_without_reverse_flow_and_negative_demand_cuts_everything():
    dg = np.array([[100.0, 50.0]])
    np.testing.assert_array_equal(export_curtailment(np.array([[80.0, 70.0]]), dg), 0.0)
    # 150 kW of DG against 100 kW of demand: 50 kW cut, in proportion 2 : 1
    np.testing.assert_allclose(export_curtailment(np.array([[60.0, 40.0]]), dg), [[100 / 3, 50 / 3]])
    # the limit admits the export
    np.testing.assert_array_equal(export_curtailment(np.array([[60.0, 40.0]]), dg, 50.0), 0.0)
    # a net generator bus (negative demand) with no room at all: all DG cut, no more
    np.testing.assert_allclose(export_curtailment(np.array([[-10.0, 0.0]]), dg), dg)


def test_bad_inputs_are_refused_by_name():
    with pytest.raises(CurtailmentError, match="export_limit_kw"):
        export_curtailment(np.ones((2, 3)), np.ones((2, 1)), -1.0)
    with pytest.raises(CurtailmentError, match="dg_kw must be >= 0"):
        export_curtailment(np.ones((2, 3)), -np.ones((2, 1)))
    with pytest.raises(CurtailmentError, match="do not broadcast"):
        export_curtailment(np.ones((2, 3)), np.ones((3, 1)))
