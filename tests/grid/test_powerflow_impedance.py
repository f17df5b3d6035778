"""Per-case branch impedances in :func:`grid.powerflow.solve` (``r_ohm``/``x_ohm``).

Oracles: a Network rebuilt with each candidate's impedances and solved alone (the path with no
per-case impedance), pandapower's Newton-Raphson on that rebuilt network, and bit-identity with the
plain call when the network's own impedances are passed.
"""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pytest

from grid import cases
from grid.errors import InputShapeError
from grid.io import to_pandapower
from grid.network import Network
from grid.powerflow import _sweep_kernel, branch_index, solve


# the helpers below copy those of test_powerflow.py / test_powerflow_pandapower.py (test modules are
# not a package here, so one cannot import another under every pytest import mode)
def random_demand(net: Network, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-bus load scaling in [0, 2] plus one DG per case, up to heavy reverse flow."""
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.0, 2.0, (n, net.n_bus))
    p = scale * net.p_kw
    q = scale * net.q_kvar
    dg = rng.uniform(0.0, 1.5 * net.p_kw.sum(), n)
    p[np.arange(n), rng.integers(1, net.n_bus, n)] -= dg
    return p, q


def regulated_net() -> Network:
    """ieee33 with an off-nominal tap on two branches (one flipped by the tree) and shunt capacitors."""
    base = cases.load("ieee33")
    br = base.branches()
    br["tap"] = 1.0
    br.loc[(br.from_bus == 2) & (br.to_bus == 3), "tap"] = 0.95
    row = (br.from_bus == 6) & (br.to_bus == 26)
    br.loc[row, ["from_bus", "to_bus", "tap"]] = [26, 6, 1.0 / 1.025]   # written child -> parent
    loads = base.buses()
    loads.loc[loads.bus.isin([18, 30]), "shunt_kvar"] = [300.0, 600.0]
    return Network.from_tables(br, loads, slack_bus=1, base_kv=base.base_kv, slack_va_deg=-5.0)


def run_oracle(ppn, p_kw: np.ndarray, q_kvar: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Complex voltages and total line losses (kW, kvar) of pandapower NR at one operating point."""
    ppn.load["p_mw"] = p_kw / 1e3
    ppn.load["q_mvar"] = q_kvar / 1e3
    pp.runpp(ppn, algorithm="nr", tolerance_mva=1e-10)
    v = ppn.res_bus.vm_pu.to_numpy() * np.exp(1j * np.deg2rad(ppn.res_bus.va_degree.to_numpy()))
    return v, ppn.res_line.pl_mw.sum() * 1e3, ppn.res_line.ql_mvar.sum() * 1e3

FIELDS = ("v_pu", "i_a", "loss_kw", "loss_kvar", "branch_loss_kw", "branch_loss_kvar", "slack_p_kw",
          "slack_q_kvar", "converged", "iterations")


def rebuilt(net: Network, r_ohm: np.ndarray, x_ohm: np.ndarray) -> Network:
    """``net`` built again from its tables with other branch impedances (internal branch order)."""
    br = net.branches()
    br["r_ohm"] = r_ohm
    br["x_ohm"] = x_ohm
    out = Network.from_tables(br, net.buses(), slack_bus=net.slack_bus, base_kv=net.base_kv,
                              slack_vm_pu=net.slack_vm_pu, slack_va_deg=net.slack_va_deg)
    np.testing.assert_array_equal(out.bus, net.bus)     # same tree, same internal order
    return out


def reinforcements(net: Network, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-candidate r, x: each candidate scales a random third of the branches by 0.3-1.2."""
    rng = np.random.default_rng(seed)
    factor = np.where(rng.random((n, net.n_branch)) < 0.33, rng.uniform(0.3, 1.2, (n, net.n_branch)), 1.0)
    return net.r_ohm * factor, net.x_ohm * factor ** 0.5


@pytest.mark.parametrize("case", ["ieee33", "regulated"])
def test_batch_equals_each_candidate_solved_with_its_own_network(case: str) -> None:
    net = regulated_net() if case == "regulated" else cases.load(case)
    n_cand, n_hour = 8, 20                      # 8 * 20 * 33 bus-cases: the parallel path
    r, x = reinforcements(net, n_cand, seed=5)
    p, q = random_demand(net, n_hour, seed=9)
    res = solve(net, p, q, r_ohm=r[:, None, :], x_ohm=x[:, None, :])
    assert res.v_pu.shape == (n_cand, n_hour, net.n_bus) and res.converged.all()
    for c in range(n_cand):
        own = rebuilt(net, r[c], x[c])
        ref = solve(own, p, q)
        for f in FIELDS:
            np.testing.assert_allclose(getattr(res, f)[c], getattr(ref, f), rtol=0, atol=1e-10, err_msg=f)
    # the candidates do differ: the reinforcement is not ignored
    assert np.ptp(res.loss_kw[:, 0]) > 1.0


def test_only_x_given_and_full_batch_impedance() -> None:
    net = cases.load("pge69")
    r, x = reinforcements(net, 6, seed=1)
    p, q = random_demand(net, 6, seed=2)
    only_x = solve(net, p, q, x_ohm=x)                  # case c gets row c of x, the net's r
    full = solve(net, p, q, r_ohm=r, x_ohm=x)
    for c in range(6):
        np.testing.assert_allclose(only_x.v_pu[c], solve(rebuilt(net, net.r_ohm, x[c]), p[c], q[c]).v_pu,
                                   rtol=0, atol=1e-10)
        np.testing.assert_allclose(full.v_pu[c], solve(rebuilt(net, r[c], x[c]), p[c], q[c]).v_pu,
                                   rtol=0, atol=1e-10)


def test_impedance_batch_axes_extend_the_demand_batch() -> None:
    net = cases.load("ieee33")
    r, _ = reinforcements(net, 3, seed=4)
    res = solve(net, net.p_kw, net.q_kvar, r_ohm=r)     # one demand, three plans
    assert res.v_pu.shape == (3, 33) and res.loss_kw.shape == (3,)
    for c in range(3):
        np.testing.assert_allclose(res.loss_kw[c], solve(rebuilt(net, r[c], net.x_ohm), net.p_kw,
                                                         net.q_kvar).loss_kw, rtol=1e-12)


@pytest.mark.parametrize("case", ["ieee33", "regulated"])
def test_own_impedances_are_bit_identical_to_omitting_them(case: str) -> None:
    net = regulated_net() if case == "regulated" else cases.load(case)
    p, q = random_demand(net, 300, seed=3)              # parallel path
    plain = solve(net, p, q)
    variants = [
        dict(r_ohm=net.r_ohm, x_ohm=net.x_ohm),
        dict(r_ohm=np.tile(net.r_ohm, (300, 1))),       # one row per case, all equal to the net's
        dict(x_ohm=np.broadcast_to(net.x_ohm, (300, net.n_branch))),       # a stride-0 view
    ]
    for kw in variants:
        got = solve(net, p, q, **kw)
        for f in FIELDS:
            np.testing.assert_array_equal(getattr(got, f), getattr(plain, f), err_msg=f"{f} {list(kw)}")
    assert len(_sweep_kernel.signatures) == 1           # both paths share one compiled signature


def test_modified_impedance_matches_pandapower_nr() -> None:
    net = cases.load("ieee33")
    k = branch_index(net, [2, 3, 6, 26], [3, 4, 26, 27])
    r = net.r_ohm.copy()
    x = net.x_ohm.copy()
    r[k] *= 0.4                                          # parallel conductors on four feeder-head lines
    x[k] *= 0.6
    p, q = random_demand(net, 6, seed=21)
    p = np.vstack([net.p_kw, p])
    q = np.vstack([net.q_kvar, q])
    res = solve(net, p, q, r_ohm=r, x_ohm=x)
    ppn = to_pandapower(rebuilt(net, r, x))
    np.testing.assert_allclose(ppn.line.r_ohm_per_km.to_numpy(), r)
    for c in range(p.shape[0]):
        v_ref, loss_kw, loss_kvar = run_oracle(ppn, p[c], q[c])
        np.testing.assert_allclose(res.v_pu[c], v_ref, rtol=0, atol=1e-6, err_msg=f"point {c}")
        np.testing.assert_allclose(res.loss_kw[c], loss_kw, rtol=1e-4)
        np.testing.assert_allclose(res.slack_p_kw[c], ppn.res_ext_grid.p_mw.iloc[0] * 1e3, rtol=0, atol=1e-3)
    assert res.loss_kw[0] < solve(net, net.p_kw, net.q_kvar).loss_kw - 10.0


def test_branch_index_maps_bus_pairs_to_the_branch_axis() -> None:
    net = regulated_net()
    br = net.branches()
    k = branch_index(net, br.from_bus.to_numpy(), br.to_bus.to_numpy())
    np.testing.assert_array_equal(k, np.arange(net.n_branch))
    np.testing.assert_array_equal(branch_index(net, br.to_bus.to_numpy(), br.from_bus.to_numpy()), k)
    assert branch_index(net, 26, 6) == net.index_of(26) - 1   # the row written child -> parent
    np.testing.assert_array_equal(branch_index(net, [[2], [26]], [[3], [6]]),
                                  [[net.index_of(3) - 1], [net.index_of(26) - 1]])
    with pytest.raises(KeyError, match="buses 2 and 4 are not joined by a tree branch"):
        branch_index(net, 2, 4)
    with pytest.raises(KeyError, match="bus 999 is not in network"):
        branch_index(net, 999, 1)
    with pytest.raises(KeyError, match="not joined by a tree branch"):   # a tie is no tree branch
        base = cases.load("ieee33")
        branch_index(base, int(base.tie_from[0]), int(base.tie_to[0]))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(r_ohm=1.0), r"r_ohm: got a scalar"),
        (dict(x_ohm=np.ones(33)), r"x_ohm: last axis has length 33 .* n_branch=32"),
        (dict(r_ohm=np.ones(32) + 0j), r"r_ohm: got a complex array"),
        (dict(r_ohm=np.array(["a"] * 32)), r"r_ohm: expected a real numeric array"),
        (dict(r_ohm=np.where(np.arange(32) == 4, -0.1, 1.0)),
         r"r_ohm: negative value -0.1 at index \(4,\) \(branch 4: bus 3 -> 23\)"),
        (dict(x_ohm=np.where(np.arange(64).reshape(2, 32) == 33, np.nan, 1.0)),
         r"x_ohm: non-finite value nan at index \(1, 1\) \(branch 1: bus 2 -> 3\)"),
        (dict(r_ohm=np.ones((3, 32)), x_ohm=np.ones((2, 32))), r"r_ohm shape \(3, 32\) and x_ohm shape"),
        (dict(r_ohm=np.ones((3, 32))), r"r_ohm/x_ohm batch shape \(3,\) does not broadcast with the demand"),
    ],
)
def test_bad_impedance_names_the_argument(kw, match) -> None:
    net = cases.load("ieee33")
    p = np.tile(net.p_kw, (4, 1))
    with pytest.raises(InputShapeError, match=match):
        solve(net, p, net.q_kvar, **kw)


def test_zero_impedance_is_accepted() -> None:
    """A branch of zero impedance (a bus tie) is legal per case: its two ends share one voltage."""
    net = cases.load("ieee33")
    k = branch_index(net, 2, 3)
    r = net.r_ohm.copy()
    x = net.x_ohm.copy()
    r[k] = x[k] = 0.0
    res = solve(net, net.p_kw, net.q_kvar, r_ohm=r, x_ohm=x)
    assert res.converged and res.v_pu[net.index_of(3)] == res.v_pu[net.index_of(2)]
    assert res.branch_loss_kw[k] == 0.0
