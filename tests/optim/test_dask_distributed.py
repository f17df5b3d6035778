"""A campaign through a real dask cluster: a scheduler and two workers, each its own process.

``test_campaign`` covers dask's in-process local cluster only. Here the scheduler and the workers are
started as a user would (``dask scheduler``, ``dask worker tcp://...``) on 127.0.0.1, so runs travel
over TCP to processes that import ``optim`` themselves; the tables must equal those of ``n_jobs=1``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from optim.campaign import run_campaign
from optim.config import load_config

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]
START_S = 90  # starting a scheduler and its workers on two busy cores

CONFIG = """
[campaign]
name = "distributed"
seed = 23
seeds = 2
output = "{out}"
[campaign.termination]
n_gen = 6

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


def _cli(name: str) -> list[str]:
    """``dask scheduler`` / ``dask worker`` of the running interpreter's environment."""
    return [sys.executable, "-m", f"distributed.cli.dask_{name}"]


def _stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM each process group (a worker's nanny and its worker process), SIGKILL what stays."""
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(p.pid, signal.SIGKILL)  # also any child left in the group
        except ProcessLookupError:
            pass
        p.wait()


@pytest.fixture
def scheduler(tmp_path):
    """The address of a scheduler with two single-thread workers, all separate processes."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    file = tmp_path / "scheduler.json"
    logs = tmp_path / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen] = []

    def start(name: str, args: list[str]) -> None:
        with (logs / f"{name}.log").open("wb") as log:
            procs.append(subprocess.Popen(_cli(name.split("-")[0]) + args, env=env, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True))

    def log_tail() -> str:
        return "\n".join(f"--- {f.name}\n{f.read_text()[-2000:]}" for f in sorted(logs.iterdir()))

    try:
        # Port 0 and --scheduler-file: the scheduler picks a free port and says which.
        start("scheduler", ["--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                            "--scheduler-file", str(file)])
        deadline = time.monotonic() + START_S
        while not file.exists() and time.monotonic() < deadline and procs[0].poll() is None:
            time.sleep(0.1)
        assert file.exists(), f"the scheduler did not start:\n{log_tail()}"
        address = json.loads(file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:"), address
        for i in (1, 2):
            start(f"worker-{i}", [address, "--host", "127.0.0.1", "--nthreads", "1",
                                  "--no-dashboard"])
        with distributed.Client(address, timeout=START_S) as client:
            try:
                client.wait_for_workers(2, timeout=START_S)
            except TimeoutError:
                pytest.fail(f"two workers did not join the scheduler:\n{log_tail()}")
            assert all(w["nthreads"] == 1 for w in client.scheduler_info()["workers"].values())
        yield address
    finally:
        _stop(procs[::-1])


def _tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    res = pd.read_parquet(out / "results.parquet")
    runs = pd.read_parquet(out / "runs.parquet").drop(columns=["wall_s"])
    return res, runs


def test_campaign_on_a_separate_scheduler_and_workers_equals_n_jobs_1(scheduler, tmp_path):
    def config(name: str):
        path = tmp_path / f"{name}.toml"
        path.write_text(CONFIG.format(out=(tmp_path / name).as_posix()))
        return load_config(path)

    remote = config("remote").with_options(backend="dask", scheduler=scheduler, n_jobs=2)
    summary = run_campaign(remote, progress=False)
    assert summary.n_run == 4 and summary.n_failed == 0
    with distributed.Client(scheduler, timeout=START_S) as client:  # the runs went to the workers
        executed = client.run(lambda dask_worker: dask_worker.state.executed_count)
        imported = client.run(lambda: sys.modules["optim.campaign"].__file__
                              if "optim.campaign" in sys.modules else None)
    assert sum(executed.values()) > 0, executed
    assert all(imported[w] == str(ROOT / "optim" / "campaign.py") for w, n in executed.items() if n), imported
    local = config("local").with_options(n_jobs=1)
    run_campaign(local, progress=False)

    r_remote, u_remote = _tables(remote.output)
    r_local, u_local = _tables(local.output)
    assert len(u_local) == 4 and (u_local["status"] == "ok").all()
    pd.testing.assert_frame_equal(r_remote, r_local, check_exact=True)
    pd.testing.assert_frame_equal(u_remote, u_local, check_exact=True)
