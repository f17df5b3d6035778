"""Every campaign file shipped under ``experiments/`` parses, names registered problems and
algorithms with their documented parameters, and builds each problem and algorithm it names (so a
misspelt configuration key inside ``params`` fails here, not after an hour of campaign)."""

from __future__ import annotations

from pathlib import Path

import pytest

from optim.config import load_config
from optim.registry import make_algorithm, make_problem

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGNS = sorted((ROOT / "experiments").rglob("*.toml"))


def test_there_are_shipped_campaigns():
    assert len(CAMPAIGNS) >= 10


@pytest.mark.parametrize("path", CAMPAIGNS, ids=[p.relative_to(ROOT).as_posix() for p in CAMPAIGNS])
def test_shipped_campaign_builds(path):
    cfg = load_config(path)
    problems = {c.label: make_problem(c.name, **dict(c.params)) for c in cfg.problems}
    assert all(prob.n_var > 0 for prob in problems.values())
    algorithms = {c.label: c for c in cfg.algorithms}
    # each (objectives, algorithm) pair the campaign runs, paired as it pairs them (`problems` lists)
    for n_obj, label in sorted({(problems[s.problem.label].n_obj, s.algorithm.label) for s in cfg.runs()}):
        a = algorithms[label]
        assert make_algorithm(a.name, n_obj, **dict(a.params)) is not None
