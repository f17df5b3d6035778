"""grid.sop: the SOP model (002 eqs. (7)-(13)), its named errors, and the fast dispatcher against the
exact DistFlow SOCP with the same SOP model (cvxpy + Clarabel, test extra)."""

from __future__ import annotations

import numpy as np
import pytest

from grid import cases, sop
from grid.powerflow import solve

TIES = [(12, 22), (25, 29), (8, 21)]
W = 100.0  # kW per pu^2 of the voltage term


@pytest.fixture(scope="module")
def net():
    return cases.load("ieee33")


@pytest.fixture(scope="module")
def sops(net):
    return sop.SOPSet.on(net, TIES)


# ------------------------------------------------------------------ model and errors
def test_bad_sites_and_coefficients(net):
    with pytest.raises(sop.SOPSiteError, match="not joined by a tie"):
        sop.SOPSet.on(net, [(2, 3)])  # a tree branch
    with pytest.raises(sop.SOPSiteError, match="two SOPs"):
        sop.SOPSet.on(net, [(12, 22), (22, 12)])
    for a in (-0.01, 1.0, float("nan")):
        with pytest.raises(sop.SOPLossError):
            sop.SOPSet.on(net, TIES, loss_coeff=a)
    s = sop.SOPSet.on(net, TIES)
    with pytest.raises(sop.SOPCapacityError, match=">= 0"):
        s.check_capacity([100.0, -1.0, 0.0])
    with pytest.raises(sop.SOPCapacityError, match="last axis"):
        s.check_capacity([100.0, 1.0])
    with pytest.raises(sop.SOPCapacityError):
        sop.annual_cost([-5.0])


def test_balance_closed_form():
    p = np.linspace(-500, 500, 101)
    for a in (0.0, 0.02, 0.3):
        q = sop.other_end(p, a)
        np.testing.assert_allclose(p + q + a * (np.abs(p) + np.abs(q)), 0.0, atol=1e-12)  # eqs. (7)-(8)
        assert np.all(np.sign(q[p != 0]) == -np.sign(p[p != 0]))


def test_annual_cost_readings():
    inv, om = sop.annual_cost([210.0, 310.0, 380.0])
    crf = 0.08 * 1.08**20 / (1.08**20 - 1)
    assert inv == pytest.approx(900e3 * crf) and om == pytest.approx(0.2 * inv)
    inv_s, _ = sop.annual_cost([210.0, 310.0, 380.0], annuity="straight")
    assert inv_s == pytest.approx(900e3 / 20)  # eq. (12) as printed: 4.5 x 10^4 CNY


def test_injections_enter_the_tie_ends(net, sops):
    dp, dq = sop.injections(sops, [10.0, 0, 0], [1.0, 0, 0], [-11.0, 0, 0], [2.0, 0, 0])
    i12, i22 = net.index_of([12, 22])
    assert dp[i12] == -10.0 and dp[i22] == 11.0 and dq[i12] == -1.0 and dq[i22] == -2.0
    assert np.count_nonzero(dp) == 2


# ------------------------------------------------------------------ exact oracle
def socp_dispatch(net, sops, cap, p_kw, q_kvar, w=W):
    """DistFlow SOCP (Farivar-Low relaxation) with the SOP model; returns (objective kW, p_a, q_a,
    p_b, q_b)."""
    cp = pytest.importorskip("cvxpy")
    n, nb = net.n_bus, net.n_branch
    r = net.r_ohm / net.z_base_ohm
    x = net.x_ohm / net.z_base_ohm
    P, Q, ell, v = cp.Variable(nb), cp.Variable(nb), cp.Variable(nb, nonneg=True), cp.Variable(n)
    m = sops.n_sop
    pa, qa, pb, qb = cp.Variable(m), cp.Variable(m), cp.Variable(m), cp.Variable(m)
    ta, tb = cp.Variable(m), cp.Variable(m)
    A = sops.loss_coeff
    inj_p = [0] * n
    inj_q = [0] * n
    for j in range(m):
        inj_p[sops.a_idx[j]] += pa[j]
        inj_q[sops.a_idx[j]] += qa[j]
        inj_p[sops.b_idx[j]] += pb[j]
        inj_q[sops.b_idx[j]] += qb[j]
    cons = [v[0] == net.slack_vm_pu**2, ta >= cp.abs(pa), tb >= cp.abs(pb), pa + pb + A * (ta + tb) == 0]
    for j in range(m):
        cons += [cp.norm(cp.hstack([pa[j], qa[j]])) <= cap[j] / 1e3]
        cons += [cp.norm(cp.hstack([pb[j], qb[j]])) <= cap[j] / 1e3]
    children = [[] for _ in range(n)]
    for kk in range(nb):
        children[int(net.parent[kk + 1])].append(kk)
    for kk in range(nb):
        c, par = kk + 1, int(net.parent[kk + 1])
        out_p = sum(P[h] for h in children[c]) if children[c] else 0
        out_q = sum(Q[h] for h in children[c]) if children[c] else 0
        cons += [P[kk] - r[kk] * ell[kk] == p_kw[c] / 1e3 - inj_p[c] + out_p]
        cons += [Q[kk] - x[kk] * ell[kk] == q_kvar[c] / 1e3 - inj_q[c] + out_q]
        cons += [v[c] == v[par] - 2 * (r[kk] * P[kk] + x[kk] * Q[kk]) + (r[kk] ** 2 + x[kk] ** 2) * ell[kk]]
        cons += [cp.SOC(ell[kk] + v[par], cp.hstack([2 * P[kk], 2 * Q[kk], ell[kk] - v[par]]))]
    obj = 1e3 * (r @ ell) + 1e3 * A * cp.sum(ta + tb) + w * cp.sum_squares(v - 1)
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(solver="CLARABEL")
    assert prob.status == "optimal"
    return prob.value, *(1e3 * np.asarray(a.value) for a in (pa, qa, pb, qb))


def true_cost(net, sops, d, p_kw, q_kvar, w=W):
    """The dispatch's objective from the real sweep: network + converter losses + voltage term."""
    dp, dq = d.injections(sops)
    res = solve(net, p_kw + dp, q_kvar + dq)
    return res.loss_kw + d.loss_kw.sum(-1) + w * ((np.abs(res.v_pu) ** 2 - 1) ** 2).sum(-1)


def _points(net):
    """Operating points: light, nominal and heavy load, with and without 002's PV and wind."""
    dg = np.zeros(net.n_bus)
    dg[net.index_of([7, 15, 22, 26])] = [800, 800, 500, 400]
    dg[net.index_of([9, 23, 30])] += [800, 500, 300]
    pts = []
    for load, share in ((0.5, 0.9), (1.0, 0.0), (1.0, 0.6), (1.4, 0.0), (0.7, 0.3)):
        pts.append((load * net.p_kw - share * dg, load * net.q_kvar))
    return np.array([p for p, _ in pts]), np.array([q for _, q in pts])


@pytest.mark.parametrize("cap", [(210.0, 310.0, 380.0), (500.0, 500.0, 500.0), (0.0, 300.0, 1000.0)])
def test_dispatch_within_one_percent_of_socp(net, sops, cap):
    pytest.importorskip("cvxpy")
    p, q = _points(net)
    base = solve(net, p, q)
    capv = np.array(cap)
    d = sop.dispatch(sops, capv, base.v_pu, base.i_a, voltage_weight_kw=W)
    fast = true_cost(net, sops, d, p, q)
    for h in range(len(p)):
        exact, pa, qa, pb, qb = socp_dispatch(net, sops, capv, p[h], q[h])
        # the SOCP's own dispatch through the sweep agrees with its objective (exact relaxation)
        own = sop.SOPDispatch(pa, qa, pb, qb, sops.loss_coeff * (abs(pa) + abs(pb)))
        ref = true_cost(net, sops, own, p[h], q[h])
        assert ref == pytest.approx(exact, rel=2e-3)
        assert fast[h] <= exact * 1.002, (h, fast[h], exact)  # issue: 1 %; measured <= 0.06 %
    # eqs. (7)-(8) exact, and the discs hold, for every SOP and point
    bal = d.p_a_kw + d.p_b_kw + sops.loss_coeff * (np.abs(d.p_a_kw) + np.abs(d.p_b_kw))
    np.testing.assert_allclose(bal, 0.0, atol=1e-9)
    assert np.all(d.p_a_kw**2 + d.q_a_kvar**2 <= capv**2 * (1 + 1e-9) + 1e-9)
    assert np.all(d.p_b_kw**2 + d.q_b_kvar**2 <= capv**2 * (1 + 1e-9) + 1e-9)
    # and the SOPs do something: at least 5 % below the cost without them where they have capacity
    none = true_cost(net, sops, sop.SOPDispatch(*(np.zeros((len(p), 3)),) * 5), p, q)
    assert np.all(fast < 0.95 * none)


def test_zero_capacity_is_idle(net, sops):
    base = solve(net, net.p_kw, net.q_kvar)
    d = sop.dispatch(sops, np.zeros(3), base.v_pu, base.i_a)
    for a in (d.p_a_kw, d.q_a_kvar, d.p_b_kw, d.q_b_kvar):
        assert np.all(a == 0.0)
