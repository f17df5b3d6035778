"""experiments.paper000.tables on a tiny run of the shipped campaign (IEEE 33 only, GA, 2 generations,
population 4, 1 scenario)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from experiments.paper000 import tables
from optim.campaign import run_campaign
from optim.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def _tiny_campaign(tmp_path: Path) -> Path:
    text = (ROOT / "experiments/paper000/staged.toml").read_text()
    text = re.sub(r"(?m)^n_gen = \d+", "n_gen = 2", text)
    text = re.sub(r"(?m)^n_jobs = \d+", "n_jobs = 1", text)
    text = text.replace("pop_size = 20", "pop_size = 4").replace("n_scenarios = 4", "n_scenarios = 1")
    blocks = text.split("[[")
    other = re.compile(r'algorithm\]\]\nname = "(pso|ihspso)"')
    keep = [b for b in blocks if "ieee123" not in b and not other.match(b)]
    text = "[[".join(keep)
    assert text.count("[[problem]]") == 4 and text.count("[[algorithm]]") == 1
    text = re.sub(r'(?m)^output = ".*"', f'output = "{(tmp_path / "out").as_posix()}"', text)
    path = tmp_path / "tiny.toml"
    path.write_text(text)
    run_campaign(load_config(path), progress=False)
    return tmp_path / "out"


def test_table1_from_campaign(tmp_path):
    out = _tiny_campaign(tmp_path)
    plans = tables.best_plans(out)
    assert sorted(plans) == [(f"{s}_33", "ga") for s in "ABCD"]
    md = tables.report(out, tmp_path / "figs")
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "lcc_by_stage_33_ga.png",
        "peak_day_33_ga.png",
    ]
    assert "(000 4.2.2-4.2.3)" in md and "| peak without V2G (MW) |" in md and "| 7.2 |" in md
    assert "stage-II evening violation nodes A -> D" in md
    prob, x, _ = plans[("D_33", "ga")]
    lcc = prob.compute(x[None])["lcc_cny"][0] / 1e6
    line = next(ln for ln in md.splitlines() if ln.startswith("| LCC (M CNY)"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert float(cells[4]) == round(lcc, 2)  # column D is the re-evaluated best plan
    assert cells[5:] == ["486.2", "462.8", "435.1", "412.7"]  # 000's table 1 beside it
    assert "D below A by" in md and "(000: 15.1 %)" in md
    # the static scheme builds everything in stage I: its later investments are zero
    pa, xa, _ = plans[("A_33", "ga")]
    assert np.all(pa.compute(xa[None])["invest_cny"][0, 1:] == 0.0)


def test_ordering_tells_strict_from_ties():
    from experiments.paper000.tables import ordering

    assert ordering([4.0, 3.0, 2.0, 1.0]) == "holds"
    assert ordering([3.15, 3.15, 3.15, 3.14]) == "holds only as >= (ties)"
    assert ordering([3.15, 3.15, 4.27, 3.14]) == "FAILS"
