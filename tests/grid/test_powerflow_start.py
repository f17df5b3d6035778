"""solve(v_start=...): a warm start from a solved base case reaches the same solution in fewer
sweeps; bad start voltages are refused."""

from __future__ import annotations

import numpy as np
import pytest

from grid import cases
from grid.errors import InputShapeError
from grid.powerflow import solve


def _cases() -> tuple:
    """ieee33 over 24 load levels (the base), and 5 'candidates' that add a device at one bus."""
    net = cases.load("ieee33")
    level = 0.6 + 0.5 * np.sin(np.arange(24) / 24 * 2 * np.pi) ** 2
    p0 = level[:, None] * net.p_kw
    q0 = level[:, None] * net.q_kvar
    rng = np.random.default_rng(3)
    p = np.broadcast_to(p0, (5, 24, net.n_bus)).copy()
    p[np.arange(5), :, rng.integers(1, net.n_bus, 5)] += rng.uniform(-400, 400, (5, 24))
    return net, p0, q0, p


def test_warm_start_matches_flat_start_in_fewer_sweeps() -> None:
    net, p0, q0, p = _cases()
    base = solve(net, p0, q0, tol=1e-10).v_pu  # (24, n_bus), broadcast over the candidates
    exact = solve(net, p, q0, tol=1e-13)
    flat = solve(net, p, q0, tol=1e-8)
    warm = solve(net, p, q0, tol=1e-8, v_start=base)
    assert warm.converged.all()
    # the same solution to the tolerance (the contraction makes the error about tol)
    assert np.abs(warm.v_pu - exact.v_pu).max() < 1e-8
    np.testing.assert_allclose(warm.loss_kw, exact.loss_kw, rtol=1e-6)
    # and fewer sweeps (measured: 5.4 against 7.3 on average here)
    assert warm.iterations.mean() < flat.iterations.mean() - 0.5
    # starting from the exact solution itself: one sweep confirms it
    assert (solve(net, p, q0, tol=1e-8, v_start=exact.v_pu).iterations == 1).all()


def test_start_table_rows_follow_the_batch() -> None:
    """A start of shape (24, n_bus) against a (5, 24, n_bus) batch: case (c, h) starts from row h,
    the same as a full (5, 24, n_bus) start table."""
    net, p0, q0, p = _cases()
    base = solve(net, p0, q0, tol=1e-10).v_pu
    a = solve(net, p, q0, tol=1e-8, v_start=base)
    b = solve(net, p, q0, tol=1e-8, v_start=np.broadcast_to(base, p.shape).copy())
    np.testing.assert_array_equal(a.v_pu, b.v_pu)
    np.testing.assert_array_equal(a.iterations, b.iterations)
    # the wrong rows (hours reversed) start farther away: more sweeps
    c = solve(net, p, q0, tol=1e-8, v_start=base[::-1])
    assert c.iterations.sum() > a.iterations.sum()


@pytest.mark.parametrize(
    "start, match",
    [
        (np.ones(32, complex), "n_bus"),
        (np.full(33, np.nan, complex), "finite"),
        (np.zeros(33, complex), "nonzero"),
        (np.ones((7, 33), complex), "broadcast"),
        (np.ones((2, 5, 24, 33), complex), "larger"),
    ],
)
def test_bad_start_is_refused(start, match) -> None:
    net, _, q0, p = _cases()
    with pytest.raises(InputShapeError, match=match):
        solve(net, p, q0, v_start=start)
