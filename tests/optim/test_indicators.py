from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from optim.indicators import (
    Normalisation,
    hypervolume,
    igd,
    indicator_row,
    merged_front,
    nondominated,
    reference_front,
    spacing,
)
from optim.registry import make_problem


def test_hypervolume_of_known_sets():
    assert np.isclose(hypervolume(np.array([[0.0, 0.0]])), 1.1 * 1.1)
    # two corners: 1.1 x 0.1 + 0.1 x 1.1 - 0.1 x 0.1 (the overlap)
    assert np.isclose(hypervolume(np.array([[0.0, 1.0], [1.0, 0.0]])), 0.21)
    assert hypervolume(np.array([[2.0, 2.0]])) == 0.0
    assert hypervolume(np.zeros((0, 2))) == 0.0


def test_igd_is_zero_on_the_reference_and_grows_with_distance():
    ref = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    assert igd(ref, ref) == 0.0
    assert np.isclose(igd(ref + 0.1, ref), np.sqrt(0.02))
    assert np.isnan(igd(np.zeros((0, 2)), ref))


def test_spacing_of_even_and_uneven_sets():
    even = np.column_stack([np.linspace(0, 1, 5), 1 - np.linspace(0, 1, 5)])
    assert np.isclose(spacing(even), 0.0)
    uneven = np.array([[0, 1], [0.1, 0.9], [1, 0]])
    assert spacing(uneven) > 0.1


def test_normalisation_maps_reference_to_unit_box():
    ref = np.array([[1.0, 10.0], [3.0, 2.0]])
    n = Normalisation.from_front(ref)
    np.testing.assert_allclose(n(ref), [[0, 1], [1, 0]])
    flat = Normalisation.from_front(np.array([[1.0, 5.0], [2.0, 5.0]]))
    assert np.isfinite(flat(np.array([[1.5, 5.0]]))).all()


@settings(deadline=None, max_examples=40)
@given(arrays(np.float64, st.tuples(st.integers(1, 25), st.integers(2, 3)),
              elements=st.floats(0, 1, allow_nan=False)))
def test_nondominated_mask_is_exact(F):
    mask = nondominated(F)
    for i in range(len(F)):
        dominated = any(np.all(F[j] <= F[i]) and np.any(F[j] < F[i]) for j in range(len(F)))
        assert mask[i] == (not dominated)


def test_merged_front_drops_dominated_and_duplicates():
    a = np.array([[0.0, 1.0], [0.5, 0.5]])
    b = np.array([[0.5, 0.5], [0.6, 0.6], [1.0, 0.0]])
    np.testing.assert_array_equal(merged_front([a, b]), [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])


def test_reference_front_known_and_unknown_without_download():
    pf = reference_front(make_problem("zdt1"))
    assert pf.shape[1] == 2 and np.isclose(pf[:, 1], 1 - np.sqrt(pf[:, 0])).all()
    assert reference_front(make_problem("tnk")) is None  # pymoo would download it


def test_indicator_row_single_and_multi():
    ref = np.column_stack([np.linspace(0, 1, 11), 1 - np.linspace(0, 1, 11)])
    row = indicator_row(ref, ref)
    assert set(row) == {"hv", "igd", "spacing", "n_nd"} and row["igd"] == 0.0 and row["n_nd"] == 11
    one = indicator_row(np.array([[3.0]]), np.zeros((0, 1)), optimum=1.0)
    assert one == {"best": 3.0, "n_nd": 1.0, "gap": 2.0}
