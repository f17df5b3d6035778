"""Substation transformer metrics (:mod:`grid.transformer`) and the Network's optional rating fields.

Oracles: hand-computed hours (numbers written out below, not recomputed with the module's
formula), pandapower's ext_grid power for the slack power the metrics read, and the ``nan``
contract for non-converged cases.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandapower as pp
import pytest

from grid import cases
from grid.errors import InputShapeError, NetworkError
from grid.io import to_pandapower
from grid.network import Network
from grid.powerflow import solve
from grid.transformer import (
    HEAVY_LOAD_THRESHOLD,
    K_INV,
    metrics_from_result,
    reverse_limit_kw,
    transformer_metrics,
)


def test_hand_computed_day() -> None:
    """Four half-hour steps for two cases; rating 1000 kVA, reverse limit 800 kW (k_inv 0.8)."""
    # case 0: |S| = 1250 (750-1000j... a 3-4-5 triangle), 800 (exactly 0.8: not heavy), 900, -500 kW
    # case 1: reverse 1000 kW with 0 kvar, then 810 kVA (0.81: heavy), 0, 0
    p = np.array([[750.0, 800.0, 900.0, -500.0], [-1000.0, 810.0, 0.0, 0.0]])
    q = np.array([[1000.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    m = transformer_metrics(p, q, rating_kva=1000.0, reverse_limit_kw=reverse_limit_kw(1000.0), dt_h=0.5)
    np.testing.assert_allclose(m.s_kva, [[1250, 800, 900, 500], [1000, 810, 0, 0]])
    np.testing.assert_allclose(m.loading_rate, [[1.25, 0.8, 0.9, 0.5], [1.0, 0.81, 0, 0]])
    np.testing.assert_allclose(m.peak_loading_rate, [1.25, 1.0])
    np.testing.assert_allclose(m.heavy_load_hours, [1.0, 1.0])       # steps (0, 2) and (0, 1), 0.5 h each
    np.testing.assert_allclose(m.overload_kva, [[250, 0, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(m.overload_kvah, [125.0, 0.0])
    np.testing.assert_allclose(m.overload_hours, [0.5, 0.0])          # 1000 kVA exactly is no overload
    np.testing.assert_allclose(m.reverse_kw, [[0, 0, 0, 500], [1000, 0, 0, 0]])
    np.testing.assert_allclose(m.reverse_violation_kw, [[0, 0, 0, 0], [200, 0, 0, 0]])
    np.testing.assert_allclose(m.reverse_violation_kwh, [0.0, 100.0])
    np.testing.assert_allclose(m.reverse_violation_hours, [0.0, 0.5])
    assert m.threshold == HEAVY_LOAD_THRESHOLD == 0.8 and K_INV == 0.8 and m.reverse_limit_kw == 800.0


def test_hour_axis_and_broadcast() -> None:
    """Time on a middle axis: (n_cand=2, n_t=3, n_scen=2); one q row broadcast over the candidates."""
    p = np.zeros((2, 3, 2))
    p[0, :, 0] = [900.0, 100.0, 950.0]           # candidate 0, scenario 0: two heavy hours
    p[1, 1, 1] = -300.0                          # candidate 1, scenario 1: one reverse hour
    q = np.zeros((3, 2))
    m = transformer_metrics(p, q, rating_kva=1000.0, reverse_limit_kw=100.0, hour_axis=1)
    assert m.loading_rate.shape == (2, 3, 2) and m.heavy_load_hours.shape == (2, 2)
    np.testing.assert_array_equal(m.heavy_load_hours, [[2, 0], [0, 0]])
    np.testing.assert_array_equal(m.reverse_violation_kwh, [[0, 0], [0, 200]])
    np.testing.assert_array_equal(m.peak_loading_rate, [[0.95, 0], [0, 0.3]])
    same = transformer_metrics(np.moveaxis(p, 1, -1), 0.0 * np.moveaxis(p, 1, -1), rating_kva=1000.0,
                               reverse_limit_kw=100.0)
    np.testing.assert_array_equal(same.heavy_load_hours, m.heavy_load_hours)


def test_failed_power_flow_gives_nan_not_zero() -> None:
    p = np.array([[500.0, np.nan, 900.0], [100.0, 200.0, 300.0]])
    m = transformer_metrics(p, np.zeros(3), rating_kva=800.0, reverse_limit_kw=0.0)
    assert np.isnan(m.heavy_load_hours[0]) and m.heavy_load_hours[1] == 0.0
    assert np.isnan(m.overload_kvah[0]) and np.isnan(m.overload_hours[0]) and np.isnan(m.peak_loading_rate[0])
    assert np.isnan(m.reverse_violation_kwh[0]) and np.isnan(m.reverse_violation_hours[0])
    assert m.reverse_violation_hours[1] == 0.0


def test_no_reverse_limit_gives_nan_violations() -> None:
    m = transformer_metrics([-900.0, 100.0], [0.0, 0.0], rating_kva=800.0)
    assert m.reverse_limit_kw is None
    assert np.isnan(m.reverse_violation_kw).all() and np.isnan(m.reverse_violation_kwh)
    np.testing.assert_array_equal(m.reverse_kw, [900.0, 0.0])   # the reverse power itself is still known


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(rating_kva=0.0), "rating_kva must be a finite number > 0"),
        (dict(rating_kva=np.nan), "rating_kva must be a finite number > 0"),
        (dict(reverse_limit_kw=-1.0), "reverse_limit_kw must be a finite number >= 0"),
        (dict(threshold=True), "threshold must be"),
        (dict(dt_h=0), "dt_h must be"),
        (dict(hour_axis=2), r"hour_axis=2 is not an axis of the inputs of shape \(2, 3\)"),
        (dict(slack_p_kw=5.0), "slack_p_kw: got a scalar"),
        (dict(slack_q_kvar=np.ones(3) * 1j), "slack_q_kvar: expected a real numeric array"),
        (dict(slack_q_kvar=np.ones(4)), r"slack_p_kw shape \(2, 3\) and slack_q_kvar shape \(4,\)"),
    ],
)
def test_bad_arguments_are_named(kw, match) -> None:
    args = dict(slack_p_kw=np.ones((2, 3)), slack_q_kvar=np.zeros(3), rating_kva=100.0)
    args.update(kw)
    with pytest.raises(InputShapeError, match=match):
        transformer_metrics(args.pop("slack_p_kw"), args.pop("slack_q_kvar"), **args)


def test_reverse_limit_helper() -> None:
    assert reverse_limit_kw(6300.0) == pytest.approx(5040.0)
    assert reverse_limit_kw(6300.0, k_inv=1.0) == 6300.0
    with pytest.raises(InputShapeError, match="k_inv must be"):
        reverse_limit_kw(100.0, k_inv=-0.5)


# ------------------------------------------------------------------ Network fields
def test_network_fields_default_none_validated_and_kept() -> None:
    net = cases.load("ieee33")
    assert net.transformer_kva is None and net.reverse_limit_kw is None
    rated = dataclasses.replace(net, transformer_kva=5000, reverse_limit_kw=np.float64(4000.0))
    assert rated.transformer_kva == 5000.0 and isinstance(rated.transformer_kva, float)
    kept = rated.with_loads(2 * net.p_kw, net.q_kvar)
    assert (kept.transformer_kva, kept.reverse_limit_kw) == (5000.0, 4000.0)
    built = Network.from_tables(net.branches(), net.buses(), slack_bus=1, base_kv=net.base_kv,
                                transformer_kva=6300.0, reverse_limit_kw=0.0)
    assert (built.transformer_kva, built.reverse_limit_kw) == (6300.0, 0.0)
    for kw, match in [
        (dict(transformer_kva=0.0), "transformer_kva must be None or a finite number of kVA > 0"),
        (dict(transformer_kva=np.nan), "transformer_kva must be None or a finite number"),
        (dict(transformer_kva="5000"), "transformer_kva must be None or a number of kVA"),
        (dict(transformer_kva=True), "transformer_kva must be None or a number"),
        (dict(reverse_limit_kw=-1.0), "reverse_limit_kw must be None or a finite number of kW >= 0"),
        (dict(reverse_limit_kw=np.inf), "reverse_limit_kw must be None or a finite number"),
    ]:
        with pytest.raises(NetworkError, match=f"ieee33: {match}"):
            dataclasses.replace(net, **kw)
        with pytest.raises(NetworkError, match=f"branches table: {match}"):
            Network.from_tables(net.branches(), net.buses(), slack_bus=1, base_kv=net.base_kv, **kw)


def test_metrics_from_result_reads_the_network() -> None:
    net = dataclasses.replace(cases.load("ieee33"), transformer_kva=4000.0, reverse_limit_kw=1000.0)
    scale = np.array([0.2, 1.0, 1.1, -0.5])[:, None]          # four hours, the last one exporting
    res = solve(net, scale * net.p_kw, scale * net.q_kvar)
    m = metrics_from_result(net, res)
    direct = transformer_metrics(res.slack_p_kw, res.slack_q_kvar, rating_kva=4000.0, reverse_limit_kw=1000.0)
    np.testing.assert_array_equal(m.loading_rate, direct.loading_rate)
    # nominal ieee33: 3715 kW + 202.7 kW losses, 2300 kvar + 135.1 kvar: |S| = 4611 kVA > 4000
    assert m.overload_hours == 2.0 and m.reverse_violation_hours == 1.0
    assert m.s_kva[1] == pytest.approx(np.hypot(3715.0 + 202.677, 2300.0 + 135.141), abs=0.01)
    with pytest.raises(InputShapeError, match="ieee33: no transformer rating"):
        metrics_from_result(cases.load("ieee33"), res)
    assert metrics_from_result(cases.load("ieee33"), res, rating_kva=8000.0).overload_hours == 0.0


def test_slack_power_matches_pandapower_ext_grid() -> None:
    """The slack power the metrics read equals pandapower's ext_grid power, also under reverse flow."""
    net = cases.load("ieee33")
    ppn = to_pandapower(net)
    scale = np.array([1.0, 0.3, 1.4])
    dg = np.array([0.0, 3000.0, 0.0])                          # the middle point exports about 2 MW
    p = scale[:, None] * net.p_kw
    p[:, net.index_of(18)] -= dg
    q = scale[:, None] * net.q_kvar
    res = solve(net, p, q)
    ref_p, ref_q = [], []
    for c in range(3):
        ppn.load["p_mw"] = p[c] / 1e3
        ppn.load["q_mvar"] = q[c] / 1e3
        pp.runpp(ppn, algorithm="nr", tolerance_mva=1e-10)
        ref_p.append(ppn.res_ext_grid.p_mw.iloc[0] * 1e3)
        ref_q.append(ppn.res_ext_grid.q_mvar.iloc[0] * 1e3)
    np.testing.assert_allclose(res.slack_p_kw, ref_p, rtol=0, atol=1e-3)
    np.testing.assert_allclose(res.slack_q_kvar, ref_q, rtol=0, atol=1e-3)
    assert ref_p[1] < -1000.0
    ours = transformer_metrics(res.slack_p_kw, res.slack_q_kvar, rating_kva=4000.0, reverse_limit_kw=1000.0)
    theirs = transformer_metrics(np.array(ref_p), np.array(ref_q), rating_kva=4000.0, reverse_limit_kw=1000.0)
    np.testing.assert_allclose(ours.loading_rate, theirs.loading_rate, rtol=1e-6)
    np.testing.assert_allclose(ours.reverse_violation_kw, theirs.reverse_violation_kw, atol=1e-3)
