from __future__ import annotations

import numpy as np
import pytest

from optim.config import Component, RunSpec, Termination
from optim.run import FailedRun, RunRecord, execute_spec, run

ZDT = dict(problem_params={"n_var": 5}, algorithm_params={"pop_size": 20})


def test_record_contents():
    rec = run("zdt1", "pymoo_nsga2", {"n_gen": 6}, seed=3, **ZDT)
    assert isinstance(rec, RunRecord)
    assert rec.n_eval == 120 and rec.seed == 3 and rec.termination == {"n_gen": 6}
    n = len(rec.F)
    assert rec.X.shape == (n, 5) and rec.F.shape == (n, 2) and rec.G.shape == (n, 0)
    assert rec.feasible.all() and rec.plans is None
    assert rec.pop_X.shape == (20, 5)
    h = rec.history
    assert list(h["n_gen"]) == list(range(1, 7))
    assert list(h["n_eval"]) == [20 * g for g in range(1, 7)]
    assert {"feasible_share", "best_f0", "best_f1", "hv", "igd"} <= set(h.columns)
    last = rec.fronts[rec.fronts["n_gen"] == 6][["f0", "f1"]].to_numpy()
    np.testing.assert_array_equal(np.sort(last, axis=0), np.sort(rec.F, axis=0))
    assert rec.versions["pymoo"].startswith("0.6")


def test_history_equals_pymoo_on_the_stored_fronts_and_improves():
    """Each generation's ``igd``/``hv`` is pymoo's, on that generation's stored front, over the true front.

    zdt1's true front spans [0, 1] in both objectives, so the normalisation is the identity.
    """
    from pymoo.indicators.hv import HV
    from pymoo.indicators.igd import IGD

    from optim.registry import make_problem

    rec = run("zdt1", "pymoo_nsga2", {"n_gen": 25}, seed=3, **ZDT)
    pf = make_problem("zdt1", n_var=5).pareto_front()
    h = rec.history.set_index("n_gen")
    assert list(h.index) == list(range(1, 26))
    for g, fr in rec.fronts.groupby("n_gen"):
        F = fr[["f0", "f1"]].to_numpy()
        assert h.loc[g, "igd"] == pytest.approx(IGD(pf)(F), rel=1e-12)
        inside = F[(F < 1.1).all(axis=1)]              # points beyond the reference point add nothing
        hv = HV(ref_point=np.array([1.1, 1.1]))(inside) if len(inside) else 0.0
        assert h.loc[g, "hv"] == pytest.approx(hv, rel=1e-12, abs=1e-15)
    # and it improves: 25 generations of NSGA-II take zdt1 (n_var 5) from a random population far
    # from the front (IGD 2.3, HV 0: nothing inside the 1.1 box) to near it (measured for seed 3:
    # IGD 0.13, HV 0.64 of the true front's 0.87); the bounds below leave a wide margin
    assert h["igd"].iloc[-1] < 0.5 * h["igd"].iloc[0]
    assert h["hv"].iloc[-1] > 0.3 > h["hv"].iloc[0]
    assert h["igd"].nunique() > 5
    last = rec.fronts[rec.fronts["n_gen"] == 25][["f0", "f1"]].to_numpy()
    np.testing.assert_array_equal(np.sort(last, axis=0), np.sort(rec.F, axis=0))


def test_same_seed_same_record_other_seed_differs():
    a = run("zdt1", "pymoo_nsga2", 5, seed=11, **ZDT)
    b = run("zdt1", "pymoo_nsga2", 5, seed=11, **ZDT)
    c = run("zdt1", "pymoo_nsga2", 5, seed=12, **ZDT)
    np.testing.assert_array_equal(a.F, b.F)
    np.testing.assert_array_equal(a.pop_X, b.pop_X)
    assert not np.array_equal(a.pop_X, c.pop_X)


def test_constraints_plans_names_and_units():
    rec = run("optim_test_problems:Planned", "pymoo_nsga2", {"n_eval": 200}, seed=1,
              algorithm_params={"pop_size": 20})
    assert rec.objective_names == ("cost_cny", "neg_profit")
    assert rec.objective_units == ("CNY", "CNY")
    assert rec.G.shape == (len(rec.F), 1)
    assert rec.feasible.all() and (rec.X[:, 0] >= 0.1 - 1e-12).all()
    assert len(rec.plans) == len(rec.F)
    assert rec.plans[0]["size_kw"].iloc[0] == pytest.approx(100 * rec.X[0, 0])
    assert "best_cost_cny" in rec.history.columns
    assert rec.n_eval >= 200


def test_single_objective_run():
    rec = run("f1", "pymoo_ga", 5, seed=0, problem_params={"n_var": 3}, algorithm_params={"pop_size": 10})
    assert rec.F.shape == (1, 1)
    assert rec.history["best_f0"].iloc[-1] == pytest.approx(rec.F[0, 0])


def _spec(problem: str, params: dict) -> dict:
    algo = Component("pymoo_nsga2", "a", (("pop_size", 10),))
    return RunSpec("x", Component(problem, "p", tuple(params.items())), algo,
                   Termination("n_gen", 3), 0, 5).to_dict()


def test_failing_problem_comes_back_as_failed_run():
    out = execute_spec(_spec("optim_test_problems:Boom", {"fail_after": 1}))
    assert isinstance(out, FailedRun)
    assert out.error == "RuntimeError: boom: the problem failed on purpose"
    assert "Traceback" in out.traceback and "_evaluate" in out.traceback
    ok = execute_spec(_spec("optim_test_problems:Boom", {"fail_after": 100}))
    assert isinstance(ok, RunRecord) and ok.n_eval == 30


def _algorithm_names() -> list[str]:
    from optim.registry import algorithm_entries

    return list(algorithm_entries())


@pytest.mark.parametrize("name", _algorithm_names())
def test_every_registered_algorithm_is_reproducible(name):
    """Same seed, same front, whatever the algorithm (campaign results must not depend on n_jobs).

    (pymoo 0.6.2's own CMOPSO fails this on dtlz2 with these settings, as measured when this test
    was written; the registry's wrapper seeds it.)
    """
    from optim.registry import get_algorithm

    multi = any(k in name for k in ("nsga", "mopso", "moihs", "moead", "sms"))
    problem, pp = ("dtlz2", {"n_var": 6}) if multi else ("f1", {"n_var": 3})
    params = get_algorithm(name).param_names
    ap = {"n_partitions": 5} if "n_partitions" in params else {"pop_size": 20}
    a = run(problem, name, 10, seed=9, problem_params=pp, algorithm_params=ap)
    b = run(problem, name, 10, seed=9, problem_params=pp, algorithm_params=ap)
    np.testing.assert_array_equal(a.F, b.F)
    np.testing.assert_array_equal(a.pop_X, b.pop_X)

