"""The numba kernel against the NumPy reference sweep, batch shapes, bad inputs, divergence."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from grid import cases
from grid._bfs_reference import reference_bfs
from grid.errors import InputShapeError
from grid.network import Network
from grid.powerflow import _sweep_kernel, base_current_a, solve


def random_demand(net: Network, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.0, 2.0, (n, net.n_bus))
    p = scale * net.p_kw
    q = scale * net.q_kvar
    dg = rng.uniform(0.0, 1.5 * net.p_kw.sum(), n)          # one DG per case, up to heavy reverse flow
    p[np.arange(n), rng.integers(1, net.n_bus, n)] -= dg
    return p, q


def regulated_net(*, shunts: bool = True) -> Network:
    """ieee33 with an off-nominal tap on two branches (one flipped by the tree) and shunt capacitors."""
    base = cases.load("ieee33")
    br = base.branches()
    br["tap"] = 1.0
    br.loc[(br.from_bus == 2) & (br.to_bus == 3), "tap"] = 0.95
    row = (br.from_bus == 6) & (br.to_bus == 26)
    br.loc[row, ["from_bus", "to_bus", "tap"]] = [26, 6, 1.0 / 1.025]   # written child -> parent
    loads = base.buses()
    if shunts:
        loads.loc[loads.bus.isin([18, 30]), "shunt_kvar"] = [300.0, 600.0]
    return Network.from_tables(br, loads, slack_bus=1, base_kv=base.base_kv, slack_va_deg=-5.0)


@pytest.mark.parametrize("case", ["ieee33", "pge69", "regulated"])
def test_kernel_equals_numpy_reference(case: str) -> None:
    net = regulated_net() if case == "regulated" else cases.load(case)
    p, q = random_demand(net, 40, seed=7)
    res = solve(net, p, q)
    v_ref, j_ref, conv_ref, it_ref = reference_bfs(net, p, q)
    assert res.converged.all() and conv_ref.all()
    np.testing.assert_array_equal(res.iterations, it_ref)
    np.testing.assert_allclose(res.v_pu, v_ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.i_a / base_current_a(net.base_kv), j_ref, rtol=0, atol=1e-12)


def test_regulated_net_taps_take_effect() -> None:
    net = regulated_net(shunts=False)
    assert net.tap[net.index_of(3) - 1] == 0.95 and net.tap[net.index_of(26) - 1] == pytest.approx(1.025)
    res = solve(net, np.zeros(net.n_bus), np.zeros(net.n_bus))
    vm = res.vm_pu
    # no load, no shunt: no current, so the voltage only steps at the taps, by 1/tap
    assert vm[net.index_of(3)] == pytest.approx(1 / 0.95, rel=1e-12)
    assert vm[net.index_of(26)] == pytest.approx(1 / 0.95 / 1.025, rel=1e-12)
    assert vm[net.index_of(18)] == pytest.approx(1 / 0.95, rel=1e-12)
    assert np.angle(res.v_pu[0], deg=True) == pytest.approx(-5.0)


def test_batch_axes_and_broadcasting() -> None:
    net = cases.load("ieee33")
    p, q = random_demand(net, 24, seed=3)
    flat = solve(net, p, q)
    shaped = solve(net, p.reshape(2, 3, 4, net.n_bus), q.reshape(2, 3, 4, net.n_bus))
    assert shaped.v_pu.shape == (2, 3, 4, 33) and shaped.i_a.shape == (2, 3, 4, 32)
    assert shaped.loss_kw.shape == shaped.converged.shape == shaped.iterations.shape == (2, 3, 4)
    assert shaped.branch_loss_kvar.shape == (2, 3, 4, 32)
    np.testing.assert_array_equal(shaped.v_pu.reshape(24, 33), flat.v_pu)
    # q for all cases from one (n_bus,) row
    one_q = solve(net, p, net.q_kvar)
    assert one_q.v_pu.shape == (24, 33)
    np.testing.assert_array_equal(one_q.v_pu[5], solve(net, p[5], net.q_kvar).v_pu)
    single = solve(net, net.p_kw, net.q_kvar)
    assert single.v_pu.shape == (33,) and single.loss_kw.shape == () and single.converged.shape == ()
    empty = solve(net, np.zeros((0, 33)), np.zeros((0, 33)))
    assert empty.v_pu.shape == (0, 33) and empty.n_failed == 0
    ints = solve(net, net.p_kw.astype(int), net.q_kvar.astype(int))
    np.testing.assert_array_equal(ints.v_pu, single.v_pu)
    strided = solve(net, np.asfortranarray(p), q[::-1][::-1])
    np.testing.assert_array_equal(strided.v_pu, flat.v_pu)
    # read-only, writable, broadcast, int and strided inputs all share one compiled signature
    assert len(_sweep_kernel.signatures) == 1


@pytest.mark.parametrize(
    ("p", "q", "match"),
    [
        (1.0, 1.0, "scalar"),
        (np.ones(32), np.ones(32), "last axis has length 32"),
        (np.ones((4, 33)), np.ones((3, 33)), "do not broadcast"),
        (np.ones(33) + 1j, np.ones(33), "complex"),
        (np.array(["a"] * 33), np.ones(33), "dtype"),
        (np.where(np.arange(33) == 5, np.nan, 1.0), np.ones(33), r"p_kw: non-finite value nan at"
         r" index \(5,\) \(bus 23\)"),
        (np.ones((2, 33)), np.where(np.arange(33) == 7, np.inf, 1.0), r"q_kvar: .* index \(7,\) \(bus 5\)"),
    ],
)
def test_bad_input_names_the_fault(p, q, match) -> None:
    with pytest.raises(InputShapeError, match=match):
        solve(cases.load("ieee33"), p, q)


@pytest.mark.parametrize(("kw", "match"), [({"tol": 0.0}, "tol"), ({"tol": np.nan}, "tol"),
                                           ({"max_iter": 0}, "max_iter"), ({"max_iter": 2.5}, "max_iter")])
def test_bad_options(kw, match) -> None:
    net = cases.load("ieee33")
    with pytest.raises(InputShapeError, match=match):
        solve(net, net.p_kw, net.q_kvar, **kw)


def test_impossible_load_is_flagged_not_raised() -> None:
    net = cases.load("ieee33")
    scale = np.array([1.0, 20.0, 0.5])[:, None]
    res = solve(net, scale * net.p_kw, scale * net.q_kvar, max_iter=60)
    np.testing.assert_array_equal(res.converged, [True, False, True])
    assert res.n_failed == 1
    assert 1 <= res.iterations[1] <= 60
    assert np.isnan(res.v_pu[1]).all() and np.isnan(res.i_a[1]).all()
    assert np.isnan([res.loss_kw[1], res.loss_kvar[1], res.slack_p_kw[1], res.slack_q_kvar[1]]).all()
    # the failed case does not disturb its neighbours
    np.testing.assert_array_equal(res.v_pu[0], solve(net, net.p_kw, net.q_kvar).v_pu)
    assert np.isfinite(res.v_pu[[0, 2]]).all()


def test_too_few_iterations_is_flagged() -> None:
    net = cases.load("pge69")
    res = solve(net, net.p_kw, net.q_kvar, max_iter=3)
    assert not res.converged and res.iterations == 3


def test_current_in_ampere_convention() -> None:
    """The slack-side branch carries S / (sqrt(3) V_LL) of the power it delivers."""
    net = cases.load("ieee33")
    res = solve(net, net.p_kw, net.q_kvar)
    s_kva = abs(res.slack_p_kw + 1j * res.slack_q_kvar)
    assert abs(res.i_a[0]) == pytest.approx(s_kva / (np.sqrt(3) * net.base_kv), rel=1e-9)


def test_parallel_path_equals_serial_path() -> None:
    """A large batch (thread pool, many chunks) gives bit-identical results to small serial calls."""
    net = cases.load("pge69")
    p, q = random_demand(net, 301, seed=11)                 # 301 * 69 bus-cases: parallel path
    threads = numba.get_num_threads()
    big = solve(net, p, q)
    assert numba.get_num_threads() == threads
    for lo in range(0, 301, 43):                             # 43 * 69 < 4096: serial path
        small = solve(net, p[lo:lo + 43], q[lo:lo + 43])
        assert numba.get_num_threads() == threads
        np.testing.assert_array_equal(big.v_pu[lo:lo + 43], small.v_pu)
        np.testing.assert_array_equal(big.iterations[lo:lo + 43], small.iterations)


def test_transformer_row_written_child_to_parent() -> None:
    """A tap row the tree must flip equals the same device drawn as an ideal transformer plus a line.

    Row 26 -> 6 with tap t at bus 26's end and series Z on bus 6's side is split through a new bus
    99 into 26 -> 99 (tap t, negligible Z) and 99 -> 6 (tap 1, Z); both give one physical circuit.
    """
    base = cases.load("ieee33")
    t = 1.04
    br = base.branches()[["from_bus", "to_bus", "r_ohm", "x_ohm"]].assign(tap=1.0)
    row = br.index[(br.from_bus == 6) & (br.to_bus == 26)][0]
    r, x = br.loc[row, ["r_ohm", "x_ohm"]]
    flipped = br.copy()
    flipped.loc[row, ["from_bus", "to_bus", "tap"]] = [26, 6, t]
    split = br.drop(index=row)
    split.loc[len(br)] = [26, 99, 1e-12, 0.0, t]
    split.loc[len(br) + 1] = [99, 6, r, x, 1.0]
    loads = base.buses()[["bus", "p_kw", "q_kvar"]]
    a = Network.from_tables(flipped, loads, slack_bus=1, base_kv=base.base_kv)
    b = Network.from_tables(split, loads, slack_bus=1, base_kv=base.base_kv)
    ra, rb = solve(a, a.p_kw, a.q_kvar, tol=1e-12), solve(b, b.p_kw, b.q_kvar, tol=1e-12)
    np.testing.assert_allclose(ra.v_pu, rb.v_pu[b.index_of(a.bus)], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ra.loss_kw, rb.loss_kw, rtol=1e-9)
    assert ra.vm_pu[a.index_of(26)] > solve(base, base.p_kw, base.q_kvar).vm_pu[base.index_of(26)] + 0.01
