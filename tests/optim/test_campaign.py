"""Campaign reliability: resume after SIGKILL, n_jobs independence, failed runs, dask, early errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from optim.campaign import gather, run_campaign
from optim.config import load_config
from optim.errors import ConfigError, ResultsError

HERE = Path(__file__).parent

CONFIG = """
[campaign]
name = "t"
seed = 11
seeds = {seeds}
output = "{out}"
[campaign.termination]
n_gen = {n_gen}

[[problem]]
name = "zdt1"
params = {{ n_var = 6 }}

[[problem]]
name = "f1"
params = {{ n_var = 3 }}

[[algorithm]]
name = "pymoo_nsga2"
params = {{ pop_size = 16 }}
problems = ["zdt1"]

[[algorithm]]
name = "pymoo_ga"
params = {{ pop_size = 10 }}
problems = ["f1"]
"""


def _config(tmp_path: Path, name: str, seeds: int = 2, n_gen: int = 8, extra: str = "") -> Path:
    out = tmp_path / f"out_{name}"
    path = tmp_path / f"{name}.toml"
    path.write_text(CONFIG.format(seeds=seeds, out=out.as_posix(), n_gen=n_gen) + extra)
    return path


def _tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    res = pd.read_parquet(out / "results.parquet")
    runs = pd.read_parquet(out / "runs.parquet").drop(columns=["wall_s"])
    return res, runs


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted in-process campaign (n_jobs=1)."""
    tmp = tmp_path_factory.mktemp("ref")
    cfg = load_config(_config(tmp, "ref"))
    summary = run_campaign(cfg, progress=False)
    return cfg, summary


def test_campaign_writes_runs_tables_and_config(reference):
    cfg, summary = reference
    out = cfg.output
    assert (summary.n_total, summary.n_run, summary.n_skipped, summary.n_failed) == (4, 4, 0, 0)
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(r.run_id for r in cfg.runs())
    for r in cfg.runs():
        assert (out / "runs" / r.run_id / "meta.json").is_file()
    assert load_config(out / "campaign.toml").runs() == cfg.runs()  # resolved config beside results
    res = summary.results
    assert set(res.columns) >= {"problem", "algorithm", "replicate", "seed", "indicator", "value"}
    assert set(res.loc[res["problem"] == "zdt1", "indicator"]) == {"hv", "igd", "spacing", "n_nd"}
    assert set(res.loc[res["problem"] == "f1", "indicator"]) == {"best", "gap", "n_nd"}
    assert (res.loc[res["problem"] == "zdt1", "reference"] == "true").all()
    assert (res.loc[res["problem"] == "f1", "reference"] == "optimum").all()
    conv = pd.read_parquet(out / "convergence.parquet")
    assert set(conv["indicator"]) == {"hv", "igd", "best"}


def test_resume_skips_finished_runs(reference, tmp_path):
    cfg, _ = reference
    before = {p.name: (p / "meta.json").stat().st_mtime_ns for p in (cfg.output / "runs").iterdir()}
    again = run_campaign(cfg, progress=False)
    assert again.n_run == 0 and again.n_skipped == 4
    after = {p.name: (p / "meta.json").stat().st_mtime_ns for p in (cfg.output / "runs").iterdir()}
    assert before == after


def test_changed_spec_in_the_same_directory_is_refused(reference):
    cfg, _ = reference
    changed = load_config(_config(cfg.output.parent, "changed", n_gen=9)).with_options(output=cfg.output)
    with pytest.raises(ResultsError, match="different spec"):
        run_campaign(changed, progress=False)


def test_n_jobs_1_and_2_give_identical_tables(reference, tmp_path, capsys):
    cfg, _ = reference
    par = load_config(_config(tmp_path, "par")).with_options(n_jobs=2, backend="loky")
    run_campaign(par, progress=True)  # bars forced on: heartbeats from the workers
    assert "runs: 100%" in capsys.readouterr().err
    assert not (par.output / "runs" / ".progress").exists()
    r1, u1 = _tables(cfg.output)
    r2, u2 = _tables(par.output)
    pd.testing.assert_frame_equal(r1, r2)
    pd.testing.assert_frame_equal(u1, u2)


def test_kill_and_resume_equals_uninterrupted(reference, tmp_path):
    """SIGKILL a campaign subprocess mid-way; the rerun completes it with nothing repeated or lost."""
    n_gen = 150
    path = _config(tmp_path, "kill", seeds=4, n_gen=n_gen)
    cfg = load_config(path)
    runs_dir = cfg.output / "runs"
    cmd = [sys.executable, "-m", "optim", "campaign", str(path), "--n-jobs", "1", "--no-report",
           "--no-progress"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if runs_dir.is_dir() and sum(1 for p in runs_dir.iterdir() if not p.name.startswith(".")) >= 2:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    finished = sorted(p.name for p in runs_dir.iterdir() if not p.name.startswith("."))
    assert proc.returncode == -signal.SIGKILL
    assert 2 <= len(finished) < 8, f"the kill came too late to test a resume: {finished}"
    mtimes = {n: (runs_dir / n / "meta.json").stat().st_mtime_ns for n in finished}

    resumed = run_campaign(cfg, progress=False)
    assert resumed.n_skipped == len(finished) and resumed.n_run == 8 - len(finished)
    assert {n: (runs_dir / n / "meta.json").stat().st_mtime_ns for n in finished} == mtimes
    assert not [p for p in runs_dir.iterdir() if p.name.startswith(".")]

    whole = load_config(_config(tmp_path, "whole", seeds=4, n_gen=n_gen))
    run_campaign(whole, progress=False)
    r1, u1 = _tables(cfg.output)
    r2, u2 = _tables(whole.output)
    assert len(u1) == 8 and (u1["status"] == "ok").all()
    pd.testing.assert_frame_equal(r1, r2)
    pd.testing.assert_frame_equal(u1, u2)


def test_failing_run_is_recorded_and_the_rest_complete(tmp_path):
    extra = """
[[problem]]
name = "optim_test_problems:Boom"
label = "boom"
params = { fail_after = 2 }

[[algorithm]]
name = "pymoo_nsga2"
label = "nsga2b"
params = { pop_size = 8 }
problems = ["boom"]
"""
    cfg = load_config(_config(tmp_path, "fail", seeds=1, extra=extra), allow_import=True)
    summary = run_campaign(cfg, progress=False)
    runs = pd.read_parquet(cfg.output / "runs.parquet")
    failed = runs[runs["status"] == "failed"]
    assert summary.n_failed == 1 and list(failed["run_id"]) == ["boom__nsga2b__r000"]
    assert failed["error"].iloc[0] == "RuntimeError: boom: the problem failed on purpose"
    assert (runs.loc[runs["status"] == "ok", "problem"].isin(["zdt1", "f1"])).all()
    assert len(runs) == 3
    assert set(summary.results["problem"]) == {"zdt1", "f1"}
    # a failed run counts as finished; --retry-failed runs it again
    assert run_campaign(cfg, progress=False).n_run == 0
    meta = cfg.output / "runs" / "boom__nsga2b__r000" / "meta.json"
    first = meta.read_text()
    assert run_campaign(cfg, progress=False, retry_failed=True).n_run == 1
    assert meta.read_text() != first  # the retry's record replaced the old one (new wall time)
    assert not [p for p in (cfg.output / "runs").iterdir() if p.name.startswith(".")]


def test_bad_config_fails_before_any_run(tmp_path):
    extra = '\n[[algorithm]]\nname = "pymoo_nsga2"\nlabel = "x"\nmystery = 1\n'
    path = _config(tmp_path, "bad", extra=extra)
    match = r"bad\.toml: \[\[algorithm\]\] #3 \(pymoo_nsga2\): unknown key 'mystery'"
    with pytest.raises(ConfigError, match=match):
        load_config(path)
    assert not (tmp_path / "out_bad").exists()


def test_gather_rebuilds_tables_from_run_files(reference):
    cfg, summary = reference
    again = gather(cfg.output)
    pd.testing.assert_frame_equal(again, summary.results)


def test_dask_local_cluster_gives_the_same_table(reference, tmp_path):
    pytest.importorskip("dask.distributed")
    cfg, _ = reference
    dk = load_config(_config(tmp_path, "dask")).with_options(backend="dask", n_jobs=2)
    run_campaign(dk, progress=False)
    r1, u1 = _tables(cfg.output)
    r2, u2 = _tables(dk.output)
    pd.testing.assert_frame_equal(r1, r2)
    pd.testing.assert_frame_equal(u1, u2)


def test_two_processes_cannot_share_a_directory(reference):
    from optim.store import directory_lock

    cfg, _ = reference
    with directory_lock(cfg.output), pytest.raises(ResultsError, match="another campaign process"):
        run_campaign(cfg, progress=False)
    assert run_campaign(cfg, progress=False).n_run == 0  # released
