"""experiments.paper003.tables on a tiny run of the shipped IEEE 33 campaign (3 generations)."""

from __future__ import annotations

import re
from pathlib import Path

from experiments.paper003 import tables
from optim.campaign import run_campaign
from optim.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def test_tables_report_prints_ours_beside_003(tmp_path):
    text = (ROOT / "experiments/paper003/schemes_ieee33.toml").read_text()
    text = re.sub(r"(?m)^seeds = \d+", "seeds = 1", text)
    text = re.sub(r"(?m)^n_gen = \d+", "n_gen = 3", text)
    text = re.sub(r"(?m)^n_jobs = \d+", "n_jobs = 1", text)
    text = text.replace("pop_size = 50", "pop_size = 6")
    text = re.sub(r'(?m)^output = ".*"', f'output = "{(tmp_path / "out").as_posix()}"', text)
    cfg_path = tmp_path / "tiny.toml"
    cfg_path.write_text(text)
    run_campaign(load_config(cfg_path), progress=False)

    md = tables.report(tmp_path / "out")
    for title, _rows in tables.TABLES:
        assert title in md
    # 003's published IEEE 33 investment of scheme 1 (table 5) stands beside ours
    assert "422.985" in md
    assert "| Curtailed DG, not consumed (003 does not print it) |" in md  # table 7's layout
    assert "003's qualitative findings on these plans:" in md
    assert len(re.findall(r"- scheme [13] has", md)) >= 4
