"""Every run ends in a record or a one-line error, never a traceback or a hang (issue 9, section 3).

* a run in which nothing is feasible is a finished record with ``n_feasible == 0`` that keeps the
  least-infeasible points and their constraint values, in ``optim run``'s output, ``meta.json``,
  ``runs.parquet`` and the report;
* reference-direction algorithms refuse a single objective instead of looping;
* a termination or problem size that cannot run is refused with exit status 2 and one line.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pymoo.core.problem import Problem

from optim.cli import main
from optim.config import Termination
from optim.errors import ConfigError
from optim.registry import make_algorithm
from optim.run import run


class Unreachable(Problem):
    """Two constraints no point of [0, 1]^3 meets: ``g0 = 0.5 + x0 >= 0.5`` and
    ``g1 = 0.2 + (x1 - 0.3)^2 >= 0.2``, so the least total violation is 0.7, at x0 = 0, x1 = 0.3."""

    def __init__(self, n_obj: int = 1) -> None:
        super().__init__(n_var=3, n_obj=n_obj, n_ieq_constr=2, xl=0.0, xu=1.0)

    def _evaluate(self, x: np.ndarray, out: dict, *args: Any, **kwargs: Any) -> None:
        f = [np.sum(x**2, axis=1), np.sum((x - 1) ** 2, axis=1)]
        out["F"] = np.column_stack(f[: self.n_obj])
        out["G"] = np.column_stack([0.5 + x[:, 0], 0.2 + (x[:, 1] - 0.3) ** 2])


@pytest.mark.parametrize(("algorithm", "n_obj"), [
    ("pso", 1), ("ga", 1), ("ihspso", 1), ("pymoo_pso", 1),
    ("nsga2", 2), ("mopso", 2), ("moihspso", 2), ("smsemoa", 2), ("mopso_cd", 2),
])
def test_infeasible_run_is_a_record_with_its_least_infeasible_points(algorithm, n_obj):
    prob = Unreachable(n_obj)
    rec = run(prob, algorithm, {"n_gen": 5}, seed=1, algorithm_params={"pop_size": 10})
    assert rec.n_feasible == 0 and not rec.feasible.any() and len(rec.X) >= 1
    # the kept points are the least violating of the final population (independent recomputation)
    cv_kept = np.maximum(rec.G, 0).sum(axis=1)
    cv_pop = np.maximum(rec.pop_G, 0).sum(axis=1)
    assert np.all(cv_kept <= cv_pop.min() + 1e-12)
    assert rec.min_cv == pytest.approx(cv_kept.min()) and rec.min_cv >= 0.7
    # and their constraint values are the problem's own for those X
    G = prob.evaluate(rec.X, return_values_of=["G"])
    np.testing.assert_allclose(rec.G, G)
    assert not rec.front_table()["feasible"].any()


def test_feasible_run_counts_its_feasible_points():
    rec = run("zdt1", "nsga2", {"n_gen": 3}, seed=0, problem_params={"n_var": 4},
              algorithm_params={"pop_size": 8})
    assert rec.n_feasible == len(rec.F) > 0 and rec.min_cv == 0.0


def test_cli_run_with_nothing_feasible_prints_it_and_stores_n_feasible(tmp_path, capsys):
    # the issue's probe: one DG of at most 200 kW cannot hold IEEE 33's voltages in the band
    rc = main(["run", "dg_siting", "pso", "--n-gen", "3", "-p", "n_dg=1", "-p", "p_max_kw=200",
               "-a", "pop_size=6", "--output", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "(0 feasible)" in out and "NO FEASIBLE SOLUTION" in out and "least-infeasible" in out
    (run_dir,) = (tmp_path / "runs").iterdir()
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "ok" and meta["n_feasible"] == 0
    front = pd.read_parquet(run_dir / "front.parquet")
    assert len(front) >= 1 and not front["feasible"].any()
    g = front[[c for c in front.columns if c.startswith("g")]].to_numpy()
    assert (g > 0).any(axis=1).all()  # each kept point violates a constraint, with its value stored


CAMPAIGN = """
[campaign]
name = "infeasible"
seed = 1
seeds = 1
output = "{out}"
[campaign.termination]
n_gen = 2

[[problem]]
name = "dg_siting"
label = "tight"
params = {{ n_dg = 1, p_max_kw = 200 }}

[[problem]]
name = "dg_siting"
label = "easy"
params = {{ n_dg = 1, v_min_pu = 0.9 }}  # the base case (0.913 pu) is already inside

[[algorithm]]
name = "pso"
params = {{ pop_size = 6 }}

[[algorithm]]
name = "ga"
params = {{ pop_size = 6 }}
"""


def test_campaign_tables_and_report_show_infeasible_runs(tmp_path):
    from optim.campaign import run_campaign
    from optim.config import load_config
    from optim.report import write_report

    path = tmp_path / "c.toml"
    out = tmp_path / "res"
    path.write_text(CAMPAIGN.format(out=out.as_posix()))
    summary = run_campaign(load_config(path), progress=False)
    assert summary.n_failed == 0
    runs = pd.read_parquet(out / "runs.parquet").set_index("run_id")
    tight = runs[runs["problem"] == "tight"]
    easy = runs[runs["problem"] == "easy"]
    assert (tight["status"] == "ok").all() and (tight["n_feasible"] == 0).all()
    assert (easy["n_feasible"] > 0).all()
    report = write_report(out, fmt="md").read_text()
    section = report.split("Runs without a feasible solution", 1)[1]
    for rid in tight.index:
        assert rid in section
    for rid in easy.index:
        assert rid not in section.split("## Problem", 1)[0]


# ----------------------------------------------------------------------------- never hang
@pytest.mark.parametrize("name", ["nsga3", "moead", "pymoo_moead"])
def test_reference_direction_algorithms_refuse_one_objective(name):
    outcome: list[BaseException | object] = []

    def build():
        try:
            outcome.append(make_algorithm(name, 1))
        except BaseException as err:  # handed to the main thread
            outcome.append(err)

    t = threading.Thread(target=build, daemon=True)
    t.start()
    t.join(30)
    assert not t.is_alive(), f"make_algorithm({name!r}, 1) did not return within 30 s"
    (err,) = outcome
    assert isinstance(err, ConfigError)
    assert "needs a problem with >= 2 objectives, this one has 1" in str(err)


def test_cli_nsga3_on_a_single_objective_is_one_line(capsys):
    def call():
        outcome.append(main(["run", "f1", "nsga3", "--n-gen", "2"]))

    outcome: list[int] = []
    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(30)
    assert not t.is_alive(), "optim run f1 nsga3 did not return within 30 s"
    err = capsys.readouterr().err
    assert outcome == [2] and err.count("\n") == 1
    assert "'nsga3' needs a problem with >= 2 objectives" in err


# ----------------------------------------------------------------------------- bad sizes
@pytest.mark.parametrize(("argv", "message"), [
    (["--n-eval", "0"], "--n-eval: must be >= 1, got 0"),
    (["--n-gen", "0"], "--n-gen: must be >= 1, got 0"),
    (["--n-gen", "-5"], "--n-gen: must be >= 1, got -5"),
    (["-p", "n_var=0"], "n_var must be a positive integer, got 0"),
])
def test_cli_refuses_sizes_that_cannot_run(argv, message, capsys):
    rc = main(["run", "f1", "ga", "-a", "pop_size=4", *argv])
    captured = capsys.readouterr()
    assert rc == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err


@pytest.mark.parametrize(("problem", "params", "message"), [
    ("zdt1", ["n_var=0"], "problem 'zdt1' n_var: must be an integer >= 2, got 0"),
    ("zdt1", ["n_var=1"], "problem 'zdt1' n_var: must be an integer >= 2, got 1"),
    ("dtlz2", ["n_var=0"], "problem 'dtlz2' n_var: must be an integer >= 3, got 0"),
    ("dtlz2", ["n_obj=1"], "problem 'dtlz2' n_obj: must be an integer >= 2, got 1"),
])
def test_cli_refuses_pymoo_problem_sizes(problem, params, message, capsys):
    argv = ["run", problem, "nsga2", "--n-gen", "2", "-a", "pop_size=4"]
    for p in params:
        argv += ["-p", p]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and message in err


@pytest.mark.parametrize(("kind", "value"), [("n_gen", 0), ("n_eval", -1), ("n_gen", 2.5),
                                             ("n_gen", True), ("generations", 5)])
def test_termination_refuses_what_cannot_stop_a_run(kind, value):
    with pytest.raises(ConfigError, match=r"termination"):
        Termination(kind, value)
    assert Termination("n_eval", 1).as_dict() == {"n_eval": 1}
