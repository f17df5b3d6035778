from __future__ import annotations

import sys
import types

import pytest

from optim import registry
from optim.errors import ConfigError, UnknownNameError


@pytest.fixture
def fresh_registry():
    registry.problem_entries.cache_clear()
    registry.algorithm_entries.cache_clear()
    yield
    registry.problem_entries.cache_clear()
    registry.algorithm_entries.cache_clear()


def test_pymoo_names_are_offered():
    algos = registry.algorithm_entries()
    for name in ("nsga3", "moead", "smsemoa", "pymoo_pso", "pymoo_ga", "pymoo_nsga2", "mopso_cd", "cmopso"):
        assert name in algos, name
    probs = registry.problem_entries()
    for name in ("zdt1", "zdt6", "dtlz1", "dtlz7", "bnh", "tnk"):
        assert name in probs, name


def test_ours_win_a_shared_name_and_pymoo_keeps_a_prefix(fresh_registry, monkeypatch):
    def nsga2(pop_size: int = 7):
        """Our NSGA-II.

        Parameters
        ----------
        pop_size : int
            Population size.
        """
        return ("ours", pop_size)

    fake = types.ModuleType("algorithms")
    fake.ALGORITHMS = {"nsga2": nsga2}
    monkeypatch.setitem(sys.modules, "algorithms", fake)
    algos = registry.algorithm_entries()
    assert algos["nsga2"].source == "gridplan"
    assert algos["nsga2"].params[0].doc == "Population size."
    assert algos["pymoo_nsga2"].source == "pymoo"
    assert registry.make_algorithm("nsga2", 2, pop_size=3) == ("ours", 3)
    assert "ga" in algos and algos["ga"].source == "pymoo"  # not in ours: pymoo's bare name stays


def test_without_our_packages_pymoo_names_remain(fresh_registry, monkeypatch):
    fake = types.ModuleType("algorithms")  # no ALGORITHMS yet
    monkeypatch.setitem(sys.modules, "algorithms", fake)
    algos = registry.algorithm_entries()
    assert algos["nsga2"].source == "pymoo"
    assert "pso" not in algos  # pymoo's PSO is only pymoo_pso


def test_unknown_name_lists_known_ones():
    with pytest.raises(UnknownNameError, match="unknown algorithm 'nsgaII'.*nsga2"):
        registry.get_algorithm("nsgaII")
    with pytest.raises(UnknownNameError, match="unknown problem"):
        registry.make_problem("zdt99")


def test_undocumented_parameter_is_an_error():
    with pytest.raises(ConfigError, match="unknown parameter 'popsize'.*pop_size"):
        registry.make_algorithm("pymoo_nsga2", 2, popsize=10)
    with pytest.raises(ConfigError, match="unknown parameter 'n'"):
        registry.make_problem("zdt1", n=3)


def test_reference_directions_follow_n_partitions():
    algo = registry.make_algorithm("nsga3", 3, n_partitions=4)
    assert len(algo.ref_dirs) == 15  # C(4 + 2, 2)
    auto = registry.make_algorithm("moead", 3)
    assert len(auto.ref_dirs) == 91  # 12 partitions: the most with <= 100 directions
    assert registry._auto_partitions(2) == 99


def test_dtlz_parameters():
    p = registry.make_problem("dtlz2", n_obj=4)
    assert (p.n_obj, p.n_var) == (4, 13)


def test_import_names_build_user_classes():
    entry = registry.get_problem("optim_test_problems:Boom")
    assert entry.param_names == ("fail_after",)
    assert registry.make_problem("optim_test_problems:Boom", fail_after=3).fail_after == 3
    with pytest.raises(UnknownNameError, match="cannot import"):
        registry.get_problem("optim_test_problems:Nope")


def test_import_names_are_refused_without_allow_import(monkeypatch):
    imported = []
    monkeypatch.setattr(registry.importlib, "import_module", lambda m: imported.append(m))
    for get, kind in ((registry.get_problem, "problem"), (registry.get_algorithm, "algorithm")):
        with pytest.raises(ConfigError, match=rf"{kind} 'os:system' is a module:attribute name outside the "
                                              r"registry.*pass --allow-import"):
            get("os:system", allow_import=False)
    assert imported == []
    assert registry.get_problem("zdt1", allow_import=False).source == "pymoo"  # registry names are fine
