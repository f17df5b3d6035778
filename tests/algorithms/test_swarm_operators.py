"""The vectorised update rules and bookkeeping equal plain loop references under the same seeded
stream (the jMetalPy ``test_mutation_vectorized`` pattern), plus their invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymoo.core.problem import Problem

from algorithms import RoundingRepair
from algorithms._common import (
    chaotic_sample,
    clip_to_bounds,
    constrained_dominance,
    crowding_distance,
    feasibility_first_better,
    feasibility_first_order,
    non_dominated_mask,
    truncate_by_crowding,
    truncate_by_nearest,
)
from algorithms.operators import (
    constriction_factor,
    cosine_inertia,
    improvise_harmonies,
    linear_inertia,
    polynomial_mutation,
    pso_equation,
    time_varying_coefficients,
)


def loop_pso(X, V, P, L, w, c1, c2, rng, v_max, chi, r_per_particle):
    n, d = X.shape
    r1 = rng.random((n, 1) if r_per_particle else (n, d))
    r2 = rng.random((n, 1) if r_per_particle else (n, d))
    Xn, Vn = np.empty_like(X), np.empty_like(V)
    for i in range(n):
        for j in range(d):
            a = r1[i, 0] if r_per_particle else r1[i, j]
            b = r2[i, 0] if r_per_particle else r2[i, j]
            ci1 = c1[i, 0] if np.ndim(c1) else c1
            ci2 = c2[i, 0] if np.ndim(c2) else c2
            k = chi[i, 0] if np.ndim(chi) else chi
            v = k * (w * V[i, j] + ci1 * a * (P[i, j] - X[i, j]) + ci2 * b * (L[i, j] - X[i, j]))
            v = min(max(v, -v_max[j]), v_max[j])
            Vn[i, j] = v
            Xn[i, j] = X[i, j] + v
    return Xn, Vn


@pytest.mark.parametrize("r_per_particle", [False, True])
@pytest.mark.parametrize("per_particle_c", [False, True])
def test_pso_equation_equals_loop_reference(r_per_particle, per_particle_c):
    g = np.random.default_rng(0)
    n, d = 7, 4
    X, V, P, L = (g.normal(size=(n, d)) for _ in range(4))
    v_max = np.full(d, 0.8)
    if per_particle_c:
        c1, c2 = g.uniform(1.5, 2.5, (n, 1)), g.uniform(1.5, 2.5, (n, 1))
        chi = constriction_factor(c1, c2)
    else:
        c1, c2, chi = 1.4, 1.6, 1.0
    a = pso_equation(
        X, V, P, L, 0.6, c1, c2, np.random.default_rng(5), v_max=v_max, chi=chi, r_per_particle=r_per_particle
    )
    b = loop_pso(X, V, P, L, 0.6, c1, c2, np.random.default_rng(5), v_max, chi, r_per_particle)
    np.testing.assert_allclose(a[0], b[0], rtol=0, atol=1e-14)
    np.testing.assert_allclose(a[1], b[1], rtol=0, atol=1e-14)
    assert np.all(np.abs(a[1]) <= v_max)


def test_polynomial_mutation_equals_loop_reference():
    g = np.random.default_rng(1)
    xl, xu = np.array([0.0, -1.0, 2.0]), np.array([1.0, 1.0, 5.0])
    X = xl + g.random((50, 3)) * (xu - xl)
    got = polynomial_mutation(X, xl, xu, 0.5, 20.0, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    do, U = rng.random(X.shape) < 0.5, rng.random(X.shape)
    ref = X.copy()
    for i in range(X.shape[0]):
        for j in range(3):
            if not do[i, j]:
                continue
            y, lo, hi, u = X[i, j], xl[j], xu[j], U[i, j]
            d1, d2 = (y - lo) / (hi - lo), (hi - y) / (hi - lo)
            p = 1.0 / 21.0
            if u <= 0.5:
                dq = (2 * u + (1 - 2 * u) * (1 - d1) ** 21) ** p - 1
            else:
                dq = 1 - (2 * (1 - u) + 2 * (u - 0.5) * (1 - d2) ** 21) ** p
            ref[i, j] = min(max(y + dq * (hi - lo), lo), hi)
    np.testing.assert_allclose(got, ref, atol=1e-12)
    assert np.any(got != X) and np.any(got == X)


def test_improvise_harmonies_equals_loop_reference():
    g = np.random.default_rng(2)
    xl, xu = np.full(5, -2.0), np.full(5, 3.0)
    memory = xl + g.random((4, 5)) * (xu - xl)
    got = improvise_harmonies(memory, 9, xl, xu, 0.8, 0.4, 0.05, np.random.default_rng(7))
    rng = np.random.default_rng(7)
    shape = (9, 5)
    consider, member = rng.random(shape) < 0.8, rng.integers(0, 4, shape)
    pitch, step = rng.random(shape) < 0.4, rng.uniform(-1, 1, shape) * 0.05 * 5.0
    fresh = -2.0 + rng.random(shape) * 5.0
    ref = np.empty(shape)
    for i in range(9):
        for j in range(5):
            if consider[i, j]:
                v = memory[member[i, j], j] + (step[i, j] if pitch[i, j] else 0.0)
            else:
                v = fresh[i, j]
            ref[i, j] = min(max(v, -2.0), 3.0)
    np.testing.assert_array_equal(got, ref)
    # memory consideration without pitch adjustment copies memory values
    plain = improvise_harmonies(memory, 20, xl, xu, 1.0, 0.0, 0.05, np.random.default_rng(1))
    for j in range(5):
        assert set(plain[:, j]) <= set(memory[:, j])


def test_chaotic_sample_follows_the_logistic_map_inside_the_box():
    xl, xu = np.array([-1.0, 0.0, 10.0, -5.0]), np.array([1.0, 2.0, 20.0, 5.0])
    X = chaotic_sample(xl, xu, 200, np.random.default_rng(4))
    assert np.all(X >= xl) and np.all(X <= xu)
    chi = (X - xl) / (xu - xl)
    np.testing.assert_allclose(chi[1:], 4.0 * chi[:-1] * (1.0 - chi[:-1]), atol=1e-9)  # 003 eq. (32)
    # the logistic map with lambda 4 has the arcsine density: more mass near the edges than uniform
    edge = np.mean((chi < 0.1) | (chi > 0.9))
    assert 0.3 < edge < 0.5


def test_schedules_match_paper_equations():
    assert cosine_inertia(0.0, 0.9, 0.4) == pytest.approx(0.9)
    assert cosine_inertia(1.0, 0.9, 0.4) == pytest.approx(0.4)
    assert cosine_inertia(0.5, 0.9, 0.4) == pytest.approx(0.65)
    assert linear_inertia(0.0, 0.85, 0.4) == pytest.approx(0.85)
    assert linear_inertia(1.0, 0.85, 0.4) == pytest.approx(0.4)
    assert time_varying_coefficients(0.25, 2.5, 0.5, 0.5, 2.5) == pytest.approx((2.0, 1.0))
    assert constriction_factor(2.0, 2.0) == 1.0
    phi = 4.5
    expected = 2.0 / (2.0 - phi - math.sqrt(phi * phi - 4 * phi))
    assert constriction_factor(2.25, 2.25) == pytest.approx(expected)
    assert constriction_factor(2.25, 2.25, "clerc") == pytest.approx(abs(expected))


def test_clip_to_bounds_puts_points_on_the_boundary_and_reverses_velocity():
    X = np.array([[-2.0, 0.5, 3.0]])
    V = np.array([[-1.0, 0.2, 1.0]])
    Xc, Vc = clip_to_bounds(X, V, np.zeros(3), np.ones(3), -1.0)
    np.testing.assert_array_equal(Xc, [[0.0, 0.5, 1.0]])
    np.testing.assert_array_equal(Vc, [[1.0, 0.2, -1.0]])


def loop_constrained_dominance(Fa, ca, Fb, cb):
    out = []
    for fa, a, fb, b in zip(Fa, ca, Fb, cb, strict=True):
        if a <= 0 < b:
            out.append(1)
        elif b <= 0 < a:
            out.append(-1)
        elif a > 0 and b > 0:
            out.append(1 if a < b else -1 if b < a else 0)
        elif np.all(fa <= fb) and np.any(fa < fb):
            out.append(1)
        elif np.all(fb <= fa) and np.any(fb < fa):
            out.append(-1)
        else:
            out.append(0)
    return np.array(out)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_ranking_rules_equal_loop_references(seed):
    g = np.random.default_rng(seed)
    n = 30
    Fa, Fb = g.integers(0, 4, (n, 2)).astype(float), g.integers(0, 4, (n, 2)).astype(float)
    ca = np.where(g.random(n) < 0.5, 0.0, g.integers(1, 4, n).astype(float))
    cb = np.where(g.random(n) < 0.5, 0.0, g.integers(1, 4, n).astype(float))
    np.testing.assert_array_equal(
        constrained_dominance(Fa, ca, Fb, cb), loop_constrained_dominance(Fa, ca, Fb, cb)
    )
    fa, fb = Fa[:, 0], Fb[:, 0]
    ref = [
        (a <= 0 < b) or (a <= 0 and b <= 0 and x < y) or (a > 0 and b > 0 and a < b)
        for x, a, y, b in zip(fa, ca, fb, cb, strict=True)
    ]
    np.testing.assert_array_equal(feasibility_first_better(fa, ca, fb, cb), ref)
    order = feasibility_first_order(fa, ca)
    for i, j in zip(order[:-1], order[1:], strict=True):  # no later element is strictly better
        assert not feasibility_first_better(fa[j : j + 1], ca[j : j + 1], fa[i : i + 1], ca[i : i + 1])[0]
    nd = non_dominated_mask(Fa)
    ref_nd = [not any(np.all(Fa[k] <= Fa[i]) and np.any(Fa[k] < Fa[i]) for k in range(n)) for i in range(n)]
    np.testing.assert_array_equal(nd, ref_nd)


def test_crowding_distance_equals_loop_reference():
    F = np.random.default_rng(3).random((12, 3))
    n, m = F.shape
    ref = np.zeros(n)
    for k in range(m):
        order = sorted(range(n), key=lambda i: F[i, k])
        span = F[order[-1], k] - F[order[0], k]
        ref[order[0]] = ref[order[-1]] = np.inf
        for a in range(1, n - 1):
            ref[order[a]] += (F[order[a + 1], k] - F[order[a - 1], k]) / span
    np.testing.assert_allclose(crowding_distance(F), ref)


@pytest.mark.parametrize("truncate", [truncate_by_crowding, truncate_by_nearest])
def test_truncation_keeps_the_requested_number_and_the_extremes(truncate):
    t = np.linspace(0, 1, 40)
    F = np.column_stack([t, 1 - t])
    keep = truncate(F, 10)
    assert keep.sum() == 10
    assert keep[0] and keep[-1]
    # the kept points are spread out: no two closer than a third of the even spacing
    kept = np.sort(t[keep])
    assert np.min(np.diff(kept)) > (1 / 9) / 3


class IntProblem(Problem):
    def __init__(self) -> None:
        super().__init__(n_var=3, n_obj=1, xl=np.array([0.2, -1.0, 0.0]), xu=np.array([4.7, 1.0, 1.0]))
        self.int_mask = np.array([True, False, True])


def test_rounding_repair_rounds_only_integer_variables_inside_bounds():
    p = IntProblem()
    X = np.array([[0.3, 0.37, 0.6], [4.6, -0.5, 0.4], [2.5, 0.1, 0.5]])
    R = RoundingRepair().round(p, X)
    np.testing.assert_array_equal(R[:, 1], X[:, 1])
    np.testing.assert_array_equal(R[:, [0, 2]], [[1.0, 1.0], [4.0, 0.0], [2.0, 0.0]])
    assert np.all(R >= p.xl) and np.all(R <= p.xu)
    np.testing.assert_array_equal(X[0], [0.3, 0.37, 0.6])  # input untouched
