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
    n_obj = set()
    for p in cfg.problems:
        prob = make_problem(p.name, **dict(p.params))
        assert prob.n_var > 0
        n_obj.add(prob.n_obj)
    for a in cfg.algorithms:
        for m in sorted(n_obj):
            assert make_algorithm(a.name, m, **dict(a.params)) is not None
