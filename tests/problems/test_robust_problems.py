"""Planning problems refuse bounds that make every plan infeasible, and evaluate large populations
in chunks under a memory budget with the same results as one batch (issue 9, sections 3 and 4)."""

from __future__ import annotations

import numpy as np
import pytest

from problems import _common
from problems._common import ProblemConfigError
from problems.dg_siting import DGSiting
from problems.dgevcs import DGEVCSPlanning


@pytest.mark.parametrize("bad", [np.inf, np.nan, -np.inf])
@pytest.mark.parametrize("param", ["total_max_kw", "v_max_pu", "v_min_pu", "load_level"])
def test_dg_siting_refuses_non_finite_bounds(param, bad):
    with pytest.raises(ProblemConfigError, match=rf"{param} must be finite, got"):
        DGSiting(**{param: bad})


@pytest.mark.parametrize("param", ["p_max_kw", "p_min_kw"])
def test_dg_siting_refuses_non_finite_sizes(param):
    with pytest.raises(ProblemConfigError, match=rf"{param} must be finite"):
        DGSiting(**{param: [100.0, np.inf, 200.0] if param == "p_max_kw" else np.nan})


def test_dgevcs_refuses_non_finite_or_zero_bounds():
    with pytest.raises(ProblemConfigError, match=r"total_dg_max_kw must be finite"):
        DGEVCSPlanning(config={"total_dg_max_kw": np.inf})
    with pytest.raises(ProblemConfigError, match=r"total_dg_max_kw must be positive"):
        DGEVCSPlanning(config={"total_dg_max_kw": 0.0})
    with pytest.raises(ProblemConfigError, match=r"norm_ref needs 4 finite numbers"):
        DGEVCSPlanning(norm_ref=[1.0, np.nan, 1.0, 1.0])


def _population(prob, n, seed=3):
    rng = np.random.default_rng(seed)
    return prob.xl + rng.random((n, prob.n_var)) * (prob.xu - prob.xl)


def _counting(prob):
    calls = []
    batch = prob._evaluate_batch

    def spy(X, out, *a, **k):
        calls.append(len(X))
        batch(X, out, *a, **k)

    prob._evaluate_batch = spy
    return calls


@pytest.mark.parametrize(("cls", "kwargs"), [
    (DGSiting, {"n_dg": 2}),
    (DGSiting, {"n_dg": 2, "scenarios": "typical_days", "objectives": ["loss", "vdev"]}),
    (DGEVCSPlanning, {}),
])
def test_small_budget_gives_chunks_with_bit_identical_results(cls, kwargs):
    whole = cls(**kwargs)
    X = _population(whole, 23)
    calls_whole = _counting(whole)
    ref = whole.evaluate(X, return_as_dictionary=True)
    assert calls_whole == [23]  # the default budget holds this population in one batched call
    budget_gib = 5 * whole.bytes_per_candidate() / 2**30  # room for 5 candidates per call
    small = cls(**kwargs, memory_budget_gib=budget_gib)
    calls = _counting(small)
    got = small.evaluate(X, return_as_dictionary=True)
    assert calls == [5, 5, 5, 5, 3]
    assert set(got) == set(ref)
    for key in ("F", "G"):
        assert got[key].tobytes() == ref[key].tobytes(), key


def test_unserved_penalty_is_per_candidate_not_per_batch():
    # The LP dispatcher's unserved-energy penalty was 10x the largest charging price of the whole
    # batch, so a candidate's LP schedule could depend on which others shared its call (or chunk).
    # It is now each candidate's own: the same candidate gets the same penalty alone or in a batch.
    prob = DGEVCSPlanning(n_days=2)
    seen = []
    dispatch = prob._dispatch

    def spy(*args, penalty_cny_kwh, **kw):
        seen.append(np.broadcast_to(penalty_cny_kwh, (len(args[1]), 1, 1)).copy())
        return dispatch(*args, penalty_cny_kwh=penalty_cny_kwh, **kw)

    prob._dispatch = spy
    X = _population(prob, 6)
    prob.evaluate(X[:1])
    alone = seen[-1][0]
    prob.evaluate(X)
    together = seen[-1]
    assert together[0] == alone
    assert np.ptp(together) > 0  # the candidates' own penalties differ, so a batch-wide one would not


def test_module_budget_applies_and_default_is_one_gib(monkeypatch):
    assert _common.MEMORY_BUDGET_BYTES == 2**30
    prob = DGSiting(n_dg=1)
    per = prob.bytes_per_candidate()
    assert per == prob.net.n_bus * prob.bytes_per_bus_case  # one power flow per candidate
    days = DGSiting(n_dg=1, scenarios="typical_days")
    assert days.bytes_per_candidate() == pytest.approx(per * days._load_pu.size)  # scenarios x hours
    monkeypatch.setattr(_common, "MEMORY_BUDGET_BYTES", int(3 * per))
    assert prob.chunk_size() == 3
    calls = _counting(prob)
    prob.evaluate(_population(prob, 7))
    assert calls == [3, 3, 1]


def test_huge_population_never_asks_for_more_than_the_budget():
    # the issue's case: 100000 candidates of 003's problem once needed 74.5 GiB in one call
    prob = DGEVCSPlanning()
    assert prob.chunk_size() * prob.bytes_per_candidate() <= _common.MEMORY_BUDGET_BYTES
    assert 100_000 * prob.bytes_per_candidate() > 30 * 2**30  # so it is chunked


@pytest.mark.parametrize("bad", [0, -1.0, np.nan, np.inf])
def test_memory_budget_must_be_positive_and_finite(bad):
    with pytest.raises(ProblemConfigError, match=r"memory_budget_gib must be a positive finite number"):
        DGSiting(memory_budget_gib=bad)
