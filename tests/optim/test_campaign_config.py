from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from optim.config import derive_seed, dump_toml, load_config, parse_config
from optim.errors import ConfigError, UnknownNameError

BASE = """
[campaign]
name = "t"
seed = 7
seeds = 2
output = "out"
[campaign.termination]
n_gen = 5

[[problem]]
name = "zdt1"
params = { n_var = 4 }

[[problem]]
name = "f4"
label = "rastrigin3"
params = { n_var = 3 }
termination = { n_eval = 100 }

[[algorithm]]
name = "pymoo_nsga2"
params = { pop_size = 10 }
problems = ["zdt1"]

[[algorithm]]
name = "pymoo_ga"
problems = ["rastrigin3"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


def test_valid_config_resolves_runs(tmp_path):
    cfg = load_config(_write(tmp_path, BASE))
    runs = cfg.runs()
    assert [r.run_id for r in runs] == ["zdt1__pymoo_nsga2__r000", "zdt1__pymoo_nsga2__r001",
                                        "rastrigin3__pymoo_ga__r000", "rastrigin3__pymoo_ga__r001"]
    assert runs[0].termination.as_dict() == {"n_gen": 5}
    assert runs[2].termination.as_dict() == {"n_eval": 100}
    assert runs[0].problem.kwargs == {"n_var": 4}
    assert len({r.seed for r in runs}) == 4


def test_resolved_config_round_trips(tmp_path):
    cfg = load_config(_write(tmp_path, BASE))
    again = parse_config(tomllib.loads(dump_toml(cfg.to_dict())), "resolved")
    assert again.runs() == cfg.runs()


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ('seeds = 2', 'seeds = 2\nsedes = 3', r"c\.toml: \[campaign\]: unknown key 'sedes'"),
        ('n_gen = 5', 'n_gen = 5\nn_evals = 3', r"\[campaign\]\.termination: unknown key 'n_evals'"),
        ('label = "rastrigin3"', 'label = "rastrigin3"\nparam = {}',
         r"\[\[problem\]\] #2 \(f4\): unknown key 'param'"),
        ('pop_size = 10', 'pop_size = 10, popsize = 3',
         r"\[\[algorithm\]\] #1 \(pymoo_nsga2\)\.params: unknown parameter 'popsize'"),
        ('seed = 7', 'seed = "7"', r"\[campaign\]\.seed: expected int, got str"),
        ('n_gen = 5', 'n_gen = 0', r"termination\.n_gen: must be >= 1"),
        ('n_gen = 5', 'n_gen = 5\nn_eval = 9', "exactly one of n_gen, n_eval"),
        ('problems = ["zdt1"]', 'problems = ["zdt2"]', r"no problem labelled 'zdt2'"),
        ('label = "rastrigin3"', 'label = "zdt1"', r"duplicate label 'zdt1'"),
        ('label = "rastrigin3"', 'label = "a b"', r"\.label: 'a b' may hold only"),
        ('seeds = 2', 'seeds = [1, 1]', r"seeds: need distinct"),
        # labels and names become folder names: none may start with "." (issue 9)
        ('label = "rastrigin3"', 'label = ".."', r"#2 \(f4\)\.label: '\.\.' .*may not start with '\.'"),
        ('label = "rastrigin3"', 'label = ".tmp-x"', r"\.label: '\.tmp-x' .*may not start with '\.'"),
        ('name = "t"', 'name = ".."', r"\[campaign\]\.name: '\.\.' .*may not start with '\.'"),
        ('name = "t"', 'name = ".hidden"', r"\[campaign\]\.name: '\.hidden'"),
        ('label = "rastrigin3"', 'label = "a/b"', r"\.label: 'a/b' may hold only"),
    ],
)
def test_bad_configs_name_file_section_and_key(tmp_path, old, new, match):
    assert old in BASE
    with pytest.raises(ConfigError, match=match):
        load_config(_write(tmp_path, BASE.replace(old, new, 1)))


def test_unknown_algorithm_name(tmp_path):
    with pytest.raises(UnknownNameError, match="unknown algorithm 'nsga9'"):
        load_config(_write(tmp_path, BASE.replace('"pymoo_ga"', '"nsga9"')))


def test_malformed_toml_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"c\.toml: not valid TOML"):
        load_config(_write(tmp_path, BASE + "\n[[problem]\n"))


def test_missing_sections(tmp_path):
    with pytest.raises(ConfigError, match=r"\[\[algorithm\]\]: at least one"):
        load_config(_write(tmp_path, BASE.split("[[algorithm]]")[0]))


def test_seed_depends_on_identity_only():
    a = derive_seed(7, "zdt1", "nsga2", 0)
    assert a == derive_seed(7, "zdt1", "nsga2", 0)
    others = {derive_seed(8, "zdt1", "nsga2", 0), derive_seed(7, "zdt2", "nsga2", 0),
              derive_seed(7, "zdt1", "ga", 0), derive_seed(7, "zdt1", "nsga2", 1)}
    assert a not in others and len(others) == 4
    assert 0 <= a < 2**32


def test_seed_list_keeps_seeds_of_other_replicates(tmp_path):
    full = {r.run_id: r.seed for r in load_config(_write(tmp_path, BASE)).runs()}
    part = load_config(_write(tmp_path, BASE.replace("seeds = 2", "seeds = [1]"))).runs()
    assert {r.run_id: r.seed for r in part}.items() <= full.items()


def test_labels_may_hold_dots_after_the_first_character(tmp_path):
    cfg = load_config(_write(tmp_path, BASE.replace("rastrigin3", "rastrigin.v2")))
    assert "rastrigin.v2__pymoo_ga__r000" in [r.run_id for r in cfg.runs()]


def test_labels_that_spell_the_same_run_id_are_refused(tmp_path):
    """("a__b", "c") and ("a", "b__c") would share the folder a__b__c__r000 and overwrite each other."""
    text = BASE.split("[[problem]]")[0] + """
[[problem]]
name = "zdt1"
label = "a__b"
[[problem]]
name = "zdt2"
label = "a"
[[algorithm]]
name = "pymoo_nsga2"
label = "c"
[[algorithm]]
name = "pymoo_ga"
label = "b__c"
"""
    with pytest.raises(ConfigError, match=r"c\.toml: runs \(a, b__c\) and \(a__b, c\) share the run id "
                                          r"'a__b__c__r000'; change a label"):
        load_config(_write(tmp_path, text))


def test_stored_config_is_read_without_importing(tmp_path, monkeypatch):
    """``read_stored_config`` checks the structure and never looks a name up (issue 9)."""
    from optim import registry
    from optim.config import read_stored_config

    def boom(*a, **k):
        raise AssertionError("the registry was consulted")

    monkeypatch.setattr(registry, "_import_entry", boom)
    path = _write(tmp_path, BASE.replace('"zdt1"\nparams', '"os:system"\nlabel = "zdt1"\nparams', 1))
    cfg = read_stored_config(path)
    assert cfg.problems[0].name == "os:system" and len(cfg.runs()) == 4
    with pytest.raises(ConfigError, match="'os:system' is a module:attribute name.*--allow-import"):
        load_config(path)
