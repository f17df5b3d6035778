from __future__ import annotations

import numpy as np
import pytest
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


# --------------------------------------------------------------------------- against pymoo's own indicators
def _pymoo_igd_hv(F: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """pymoo's IGD and HV of ``F`` after the documented normalisation over ``ref``'s ideal and nadir."""
    from pymoo.indicators.hv import HV
    from pymoo.indicators.igd import IGD

    ideal, nadir = ref.min(axis=0), ref.max(axis=0)
    scale = nadir - ideal

    def n(a):
        return (a - ideal) / scale

    return float(IGD(n(ref))(n(F))), float(HV(ref_point=np.full(ref.shape[1], 1.1))(n(F)))


def test_indicator_row_equals_pymoo_on_zdt1_front_and_shifted_copies():
    pf = make_problem("zdt1").pareto_front()
    assert np.allclose(pf.min(axis=0), 0) and np.allclose(pf.max(axis=0), 1)  # normalisation = identity
    for shift in (0.0, 0.05, 0.3):
        F = pf[::7] + shift
        row = indicator_row(F, pf)
        igd_ref, hv_ref = _pymoo_igd_hv(F, pf)
        assert row["igd"] == pytest.approx(igd_ref, rel=1e-12, abs=1e-15)
        assert row["hv"] == pytest.approx(hv_ref, rel=1e-12)
    # closed forms for the front itself: HV of the region dominated by f2 = 1 - sqrt(f1) within the
    # 1.1 box is 1.1**2 - integral_0^1 (1 - sqrt(x)) dx = 1.21 - 1/3, approached from below by a sample
    # (the 100-point sample misses about 0.005 of it: the staircase's triangles)
    assert 1.21 - 1 / 3 - 0.01 < indicator_row(pf, pf)["hv"] < 1.21 - 1 / 3
    # a copy shifted by d along both axes holds r + (d, d) for each reference point r: IGD <= d*sqrt(2)
    igds = [indicator_row(pf + d, pf)["igd"] for d in (0.05, 0.1, 0.3)]
    assert 0 < igds[0] < igds[1] < igds[2] <= 0.3 * np.sqrt(2) + 1e-12


CAMPAIGN = """
[campaign]
name = "ind"
seed = 5
seeds = 2
output = "{out}"
[campaign.termination]
n_gen = 6

[[problem]]
name = "zdt1"
params = {{ n_var = 6 }}

[[problem]]
name = "optim_test_problems:Planned"
label = "planned"

[[algorithm]]
name = "pymoo_nsga2"
params = {{ pop_size = 16 }}
"""


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    from optim.campaign import gather, run_campaign
    from optim.config import load_config

    tmp = tmp_path_factory.mktemp("ind")
    path = tmp / "c.toml"
    path.write_text(CAMPAIGN.format(out=(tmp / "out").as_posix()))
    cfg = load_config(path, allow_import=True)  # the test problem is a module:attr name
    run_campaign(cfg, progress=False)
    return tmp / "out", gather(tmp / "out", cfg)


def _feasible_front(run_dir, name="front.parquet"):
    import pandas as pd

    fr = pd.read_parquet(run_dir / name)
    return fr.loc[fr["feasible"], [c for c in fr.columns if c in ("f0", "f1")]].to_numpy(dtype=float)


def test_gathered_indicators_equal_pymoo_against_the_true_front(campaign):
    """zdt1: IGD and HV of each run's stored front, by pymoo, against zdt1's true front."""
    out, res = campaign
    pf = make_problem("zdt1", n_var=6).pareto_front()
    z = res[res.problem == "zdt1"]
    assert set(z.reference) == {"true"} and len(z.seed.unique()) == 2
    for rep, g in z.groupby("replicate"):
        run_dir = out / "runs" / f"zdt1__pymoo_nsga2__r{rep:03d}"
        igd_ref, hv_ref = _pymoo_igd_hv(_feasible_front(run_dir), pf)
        vals = g.set_index("indicator").value
        assert vals["igd"] == pytest.approx(igd_ref, rel=1e-12)
        assert vals["hv"] == pytest.approx(hv_ref, rel=1e-12)
        # a run of 6 generations is far from the front, but scored against it, not against itself
        assert vals["igd"] > 0.05


def test_gathered_indicators_equal_pymoo_against_the_merged_front(campaign):
    """No true front: the reference is the non-dominated set of every run's front (pymoo's sorting)."""
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    out, res = campaign
    fronts = {d.name: _feasible_front(d) for d in (out / "runs").glob("planned__*")}
    assert len(fronts) == 2
    allF = np.unique(np.vstack(list(fronts.values())), axis=0)
    merged = allF[NonDominatedSorting().do(allF, only_non_dominated_front=True)]
    p = res[res.problem == "planned"]
    assert set(p.reference) == {"merged"}
    igds = []
    for rep, g in p.groupby("replicate"):
        igd_ref, hv_ref = _pymoo_igd_hv(fronts[f"planned__pymoo_nsga2__r{rep:03d}"], merged)
        vals = g.set_index("indicator").value
        assert vals["igd"] == pytest.approx(igd_ref, rel=1e-12, abs=1e-15)
        assert vals["hv"] == pytest.approx(hv_ref, rel=1e-12)
        igds.append(vals["igd"])
    assert max(igds) > 0  # the two runs do not both equal the merged front


def test_convergence_table_equals_pymoo_on_each_generation(campaign):
    """convergence.parquet: the IGD of every stored generation's front, by pymoo, on the true front."""
    import pandas as pd

    out, _ = campaign
    pf = make_problem("zdt1", n_var=6).pareto_front()
    conv = pd.read_parquet(out / "convergence.parquet")
    for rep in (0, 1):
        fr = pd.read_parquet(out / "runs" / f"zdt1__pymoo_nsga2__r{rep:03d}" / "fronts.parquet")
        c = conv[(conv.problem == "zdt1") & (conv.replicate == rep) & (conv.indicator == "igd")]
        assert list(c.n_eval) == sorted(fr.n_eval.unique()) and len(c) == 6
        for n_eval, value in zip(c.n_eval, c.value, strict=True):
            F = fr.loc[fr.n_eval == n_eval, ["f0", "f1"]].to_numpy()
            assert value == pytest.approx(_pymoo_igd_hv(F, pf)[0], rel=1e-12)
