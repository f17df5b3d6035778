"""benchmarks.table10's two budgets on a tiny run: equal iterations vs equal evaluations.

Oracle for the evaluation counts, independent of the code: with swarm ``p`` every algorithm evaluates
``p`` points in its first generation; afterwards PSO, pymoo's PSO and GA evaluate ``p`` per generation
and I-HSPSO ``p + hs_size`` (its harmonies, default 10). pymoo's ``n_eval`` termination stops after
the first generation that reaches the budget ``B``, so an algorithm with ``g`` evaluations per later
generation uses ``p + ceil((B - p) / g) g`` evaluations, i.e. between ``B`` and ``B + g - 1``.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from benchmarks import table10

POP, ITERS, HS = 10, 10, 10  # I-HSPSO's default hs_size is 10
ALGOS = ["pso", "ihspso", "pymoo_pso", "pymoo_ga"]
PER_GEN = {"pso": POP, "ihspso": POP + HS, "pymoo_pso": POP, "pymoo_ga": POP}


def _evals_at_budget(per_gen: int, budget: int) -> int:
    return POP + math.ceil((budget - POP) / per_gen) * per_gen


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    return table10.run_table(["f4"], ALGOS, [11, 12], n_var=3, pop=POP, iterations=ITERS, jobs=1)


def test_equal_evaluations_give_every_algorithm_the_same_budget(runs):
    ev = runs[runs.budget == "evaluations"]
    budget = POP * ITERS
    assert len(ev) == len(ALGOS) * 2
    for row in ev.itertuples():
        assert row.n_eval == _evals_at_budget(PER_GEN[row.algorithm], budget), row
        assert budget <= row.n_eval <= budget + PER_GEN[row.algorithm] - 1
    # PSO, pymoo's PSO and GA hit the budget exactly; I-HSPSO overshoots by 10 (100 -> 110 here)
    assert set(ev.loc[ev.algorithm != "ihspso", "n_eval"]) == {budget}
    assert set(ev.loc[ev.algorithm == "ihspso", "n_eval"]) == {110}


def test_equal_iterations_give_ihspso_its_harmonies_on_top(runs):
    it = runs[runs.budget == "iterations"]
    assert set(it.n_gen) == {ITERS}
    for row in it.itertuples():
        assert row.n_eval == POP + (ITERS - 1) * PER_GEN[row.algorithm]  # I-HSPSO: 190, others 100


def test_a_reused_run_is_the_run_the_evaluation_budget_gives(runs):
    ev = runs[runs.budget == "evaluations"].set_index(["algorithm", "seed"])
    assert ev.loc["pso", "reused"].all() and ev.loc["pymoo_ga", "reused"].all()
    assert not ev.loc["ihspso", "reused"].any()  # 20 evaluations per generation: run afresh
    for algo in ("pso", "pymoo_pso", "pymoo_ga", "ihspso"):
        fresh = table10.one_run("f4", algo, 12, 3, POP, ITERS, "evaluations")
        assert (fresh.best_f, fresh.n_eval, fresh.n_gen) == (
            ev.loc[(algo, 12), "best_f"],
            ev.loc[(algo, 12), "n_eval"],
            ev.loc[(algo, 12), "n_gen"],
        )


def test_another_evaluation_budget_is_run_not_reused():
    df = table10.run_table(["f1"], ["pso", "ihspso"], [5], n_var=2, pop=POP, iterations=ITERS, evals=125)
    ev = df[df.budget == "evaluations"].set_index("algorithm")
    assert not ev.reused.any()
    assert ev.loc["pso", "n_eval"] == 130 and ev.loc["ihspso", "n_eval"] == 130  # both within g - 1 of 125


def test_unknown_budget_is_refused():
    with pytest.raises(ValueError, match="budget must be one of"):
        table10.run_table(["f1"], ["pso"], [1], pop=POP, iterations=2, budgets=("time",))


def test_complete_seeds_keeps_only_seeds_run_in_every_cell(runs):
    partial = pd.concat([runs, runs[(runs.seed == 12) & (runs.algorithm == "pso")].assign(seed=13)])
    assert set(table10.complete_seeds(partial).seed) == {11, 12}


def test_cli_prints_both_budgets_side_by_side(tmp_path, capsys):
    md = tmp_path / "t.md"
    table10.main(
        ["--runs", "2", "--iterations", "3", "--pop", "6", "--n-var", "2", "--jobs", "1"]
        + ["--functions", "f1", "--algorithms", "pso,ihspso", "--markdown", str(md)]
    )
    text = md.read_text()
    assert "| 3 iterations: evals |" in text and "| 18 evaluations: evals |" in text
    # I-HSPSO at 3 iterations: 6 + 2 x 16 = 38; at 18 evaluations: 6 + 1 x 16 = 22; PSO 18 in both
    assert "| f1 | ihspso | 38 |" in text and "| 22 |" in text
    assert "| f1 | pso | 18 |" in text
    assert "p (I-HSPSO < PSO)" in text
