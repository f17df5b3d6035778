"""experiments.paper002.tables on a tiny run of the shipped campaigns (GA and NSGA-II only, 2 generations,
population 4, one seed)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.paper002 import tables
from optim.campaign import run_campaign
from optim.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def _tiny(tmp_path: Path, name: str, drop: str) -> Path:
    text = (ROOT / f"experiments/paper002/{name}.toml").read_text()
    text = re.sub(r"(?m)^seeds = \d+", "seeds = 1", text)
    text = re.sub(r"(?m)^n_gen = \d+", "n_gen = 2", text)
    text = re.sub(r"(?m)^n_jobs = \d+", "n_jobs = 1", text)
    text = text.replace("pop_size = 40", "pop_size = 4")
    blocks = text.split("[[")
    text = "[[".join(b for b in blocks if not b.startswith(f'algorithm]]\nname = "{drop}"'))
    assert text.count("[[algorithm]]") == 1
    text = re.sub(r'(?m)^output = ".*"', f'output = "{(tmp_path / name).as_posix()}"', text)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    run_campaign(load_config(path), progress=False)
    return tmp_path / name


def _cells(md: str, first: str) -> list[str]:
    line = next(ln for ln in md.splitlines() if ln.startswith(f"| {first} |"))
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_tables_4_to_6_beside_002_findings_and_figures(tmp_path):
    single = _tiny(tmp_path, "sop_ieee33", drop="pso")
    front = _tiny(tmp_path, "sop_pareto_ieee33", drop="mopso")
    figs = tmp_path / "figs"
    args = [str(single), str(front), "--out", str(tmp_path / "t.md"), "--figures", str(figs)]
    assert tables.main(args) == 0
    md = (tmp_path / "t.md").read_text()
    for title in ("**Table 4", "**Table 5", "**Table 6", "**Voltage", "**Algorithm comparison",
                  "**Cost-flexibility front of plan 4", "**002's findings"):
        assert title in md

    rows = tables.plan_rows(tables.read_groups([single, front]))
    assert sorted(rows) == [1, 2, 3, 4]
    # each plan's cost is the cheapest stored member of that plan's runs, re-evaluated
    for plan in (2, 3, 4):
        f0 = pd.read_parquet(single / f"runs/plan{plan}__ga__r000/front.parquet")["f0"]
        got = float(np.asarray(rows[plan]["out"]["cost"])[0])
        assert abs(got - f0.min()) < 1e-6
    # plan 1 is the problem's baseline (no SOP): its SOP column is "-" and its cost the baseline's
    base = rows[2]["problem"].baseline()
    t4 = _cells(md, "1")
    assert t4[1:3] == ["-", "-"] and t4[4] == f"{base['cost'][0]:.1f}" and t4[5] == "1644.0"
    assert _cells(md, "4")[2] == "190, 500, 380" and _cells(md, "4")[5] == "1255.7"
    assert _cells(md, "3")[3] == ", ".join(f"{v:.0f}" for v in rows[3]["out"]["battery_kwh"][0])
    assert _cells(md, "3")[7] == "312.8 (-19.0 %)"
    assert _cells(md, "2")[8] == f"plan2, {rows[2]['algorithm']}" and _cells(md, "1")[8] == "-, -"

    # table 5: the four terms add up to table 4's cost (each printed to 0.1)
    block5 = md.split("**Table 5")[1].split("**Table 6")[0]
    t5 = [ln for ln in block5.splitlines() if re.match(r"\| \d \|", ln)]
    assert len(t5) == 4
    for ln in t5:
        c = [x.strip() for x in ln.strip("|").split("|")]
        plan = int(c[0])
        ours = sum(float(v) for v in c[1::2])
        assert abs(ours - float(np.asarray(rows[plan]["out"]["cost"])[0])) < 0.3
        assert c[2::2] == [f"{tables.PUBLISHED[plan][k]:.1f}" for k in tables.TERMS]

    # table 6 and F = I_F - I_BF (eq. 21); the findings follow from the printed numbers
    t6 = {int(ln[2]): [float(x) for x in ln.strip("|").split("|")[1::2]]
          for ln in md.split("**Table 6")[1].split("**Voltage")[0].splitlines() if re.match(r"\| \d \|", ln)}
    for i_f, i_bf, f in t6.values():
        assert abs(i_f - i_bf - f) < 2e-3
    found = dict(re.findall(r"(?m)^- (.+): (holds|does NOT hold) \(", md))
    assert len(found) == 5
    cost = [float(_cells(md, str(p))[4]) for p in (1, 2, 3, 4)]
    assert found["cost falls 1 > 2 > 3 > 4"] == ("holds" if cost[0] > cost[1] > cost[2] > cost[3]
                                                 else "does NOT hold")
    flex = [t6[p][2] for p in (1, 2, 3, 4)]
    assert found["F rises 1 < 2 < 3 < 4"] == ("holds" if flex[0] < flex[1] < flex[2] < flex[3]
                                              else "does NOT hold")
    # the front row: NSGA-II's pooled non-dominated members, F printed positive (maximised)
    fr = _cells(md, "plan4_front")
    assert fr[1] == "NSGA-II" or fr[1].lower() == "nsga2"
    assert float(fr[4].split(" - ")[0]) <= float(fr[4].split(" - ")[1])

    pngs = sorted(p.name for p in figs.glob("*.png"))
    assert pngs == ["fig5_station_schedule.png", "sop_flows.png"]
    assert all((figs / p).stat().st_size > 10_000 for p in pngs)
    # fig. 5 plots plan 4's station schedule: stations charge in some hours and discharge in others
    st = np.asarray(rows[4]["out"]["storage_kw"])[0]
    assert st.shape == (4, 24) and st.max() > 0 > st.min()
