"""Paper 003's f1-f4: values at known points, vectorised == row by row, bounds, registry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from problems.test_functions import (
    MO_PROBLEMS,
    TEST_FUNCTIONS,
    Rastrigin,
    SchafferF6,
    Schwefel222,
    Sphere,
)


def f1(x):
    return sum(v * v for v in x)


def f2(x):
    return sum(abs(v) for v in x) + math.prod(abs(v) for v in x)


def f3(x):
    r2 = x[0] ** 2 + x[1] ** 2
    return 0.5 + (math.sin(math.sqrt(r2)) ** 2 - 0.5) / (1 + 0.001 * r2) ** 2


def f4(x):
    return sum(v * v - 10 * math.cos(2 * math.pi * v) + 10 for v in x)


CASES = [
    (Sphere, f1, 100.0, 7),
    (Schwefel222, f2, 10.0, 7),
    (SchafferF6, f3, 100.0, 2),
    (Rastrigin, f4, 5.12, 7),
]


@pytest.mark.parametrize("cls, ref, bound, n", CASES)
def test_bounds_optimum_and_vectorised_equals_scalar_reference(cls, ref, bound, n):
    p = cls(n_var=n)
    assert p.n_var == n and p.n_obj == 1
    np.testing.assert_array_equal(p.xl, -bound)
    np.testing.assert_array_equal(p.xu, bound)
    assert p.evaluate(np.zeros((1, n)))[0, 0] == pytest.approx(0.0, abs=1e-15)
    X = np.random.default_rng(0).uniform(-bound, bound, (25, n))
    F = p.evaluate(X)
    np.testing.assert_allclose(F[:, 0], [ref(x) for x in X], rtol=1e-12)
    assert np.all(F[:, 0] > 0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-5.12, 5.12), min_size=1, max_size=12))
def test_rastrigin_matches_scalar_formula_for_any_dimension(x):
    p = Rastrigin(n_var=len(x))
    assert p.evaluate(np.array([x]))[0, 0] == pytest.approx(f4(x), abs=1e-9)


def test_known_values():
    # Rastrigin: at integer points only the quadratic part remains
    assert Rastrigin(n_var=3).evaluate(np.array([[1.0, -2.0, 0.0]]))[0, 0] == pytest.approx(5.0)
    # Schwefel 2.22: sum plus product of absolute values
    assert Schwefel222(n_var=3).evaluate(np.array([[1.0, -2.0, 3.0]]))[0, 0] == pytest.approx(12.0)
    # Schaffer F6: the first local ring near r = pi has value ~0.00972 (the "0.009" of 003 table 10)
    r = np.linspace(2.5, 3.8, 20001)
    ring = SchafferF6().evaluate(np.column_stack([r, np.zeros_like(r)]))[:, 0].min()
    assert ring == pytest.approx(0.009716, abs=1e-5)


def test_schaffer_is_two_dimensional_and_bad_dimensions_are_rejected():
    with pytest.raises(ValueError, match="two-dimensional"):
        SchafferF6(n_var=3)
    with pytest.raises(ValueError, match="n_var"):
        Sphere(n_var=0)


def test_registries():
    assert set(TEST_FUNCTIONS) == {
        "f1",
        "f2",
        "f3",
        "f4",
        "sphere",
        "schwefel222",
        "schaffer_f6",
        "rastrigin",
    }
    assert TEST_FUNCTIONS["f1"] is Sphere and TEST_FUNCTIONS["rastrigin"] is Rastrigin
    assert TEST_FUNCTIONS["f4"](n_var=30).n_var == 30
    for name, ctor in MO_PROBLEMS.items():
        p = ctor()
        assert p.n_obj >= 2, name
    assert MO_PROBLEMS["bnh"]().n_ieq_constr == 2
    assert MO_PROBLEMS["tnk"]().n_ieq_constr == 2
