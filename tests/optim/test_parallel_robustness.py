"""No worker outlives its campaign: ``kill -9`` a campaign mid-run, its worker processes end too.

Before the fix (issue 9), loky workers of a killed campaign stayed for more than 10 minutes: a busy
one blocked writing its result into a pipe nobody read, an idle one waited out loky's 300 s timeout.
The campaign here has one long run and one short one, so at the kill one worker is busy and the
other idle. Processes are found through ``/proc`` (Linux), independently of the code under test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GRACE_S = 30.0  # issue 9: no worker may outlive its campaign by more than this

CONFIG = """
[campaign]
name = "killed"
seed = 5
seeds = 1
output = "{out}"
backend = "{backend}"
[campaign.termination]
n_gen = 3

[[problem]]
name = "zdt1"
label = "long"
params = {{ n_var = 6 }}
termination = {{ n_gen = 1000000 }}  # minutes of work: still running at the kill

[[problem]]
name = "f1"
label = "short"
params = {{ n_var = 3 }}

[[algorithm]]
name = "pymoo_nsga2"
params = {{ pop_size = 16 }}
problems = ["long"]

[[algorithm]]
name = "pymoo_ga"
params = {{ pop_size = 10 }}
problems = ["short"]
"""

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(state, ppid, start time) of a process, or None if it has ended."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[1]), fields[19].decode()


def _descendants(root: int) -> dict[int, str]:
    """Every live descendant of ``root``: pid -> start time (which tells a reused pid apart)."""
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None and st[0] != "Z":
            parent[int(entry)] = (st[1], st[2])
    found, frontier = {}, [root]
    while frontier:
        p = frontier.pop()
        for pid, (ppid, start) in parent.items():
            if ppid == p and pid not in found:
                found[pid] = start
                frontier.append(pid)
    return found


def _alive(procs: dict[int, str]) -> dict[int, str]:
    """Those of ``procs`` that still run (a zombie has ended: it holds no memory and does no work)."""
    out = {}
    for pid, start in procs.items():
        st = _stat(pid)
        if st is not None and st[0] not in ("Z", "X") and st[2] == start:
            out[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    return out


def _finished(runs_dir: Path) -> list[str]:
    return [p.name for p in runs_dir.iterdir() if not p.name.startswith(".")] if runs_dir.is_dir() else []


@pytest.mark.parametrize("backend", ["loky", "dask"])
def test_workers_end_soon_after_their_campaign_is_killed(tmp_path, backend):
    if backend == "dask":
        pytest.importorskip("dask.distributed")
    out = tmp_path / "out"
    config = tmp_path / "killed.toml"
    config.write_text(CONFIG.format(out=out.as_posix(), backend=backend))
    runs_dir = out / "runs"
    cmd = [sys.executable, "-m", "optim", "campaign", str(config), "--n-jobs", "2", "--no-report",
           "--no-progress"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    log = tmp_path / "campaign.log"
    workers: dict[int, str] = {}
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        # Wait until the short run is written: its worker is then idle, the other one busy.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if _finished(runs_dir):
                break
            time.sleep(0.05)
        workers = _descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, log.read_text()[-3000:]
        finished = _finished(runs_dir)
        assert len(finished) == 1 and finished[0].startswith("short"), (
            f"the kill should come after the short run and before the long one: {finished}"
        )
        assert len(workers) >= 2, f"expected the campaign's 2 workers among its children: {workers}"

        deadline = time.monotonic() + GRACE_S
        while _alive(workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(workers), (
            f"alive {GRACE_S:.0f} s after the campaign was killed: {_alive(workers)}"
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _alive(workers):  # a failed test leaves no process behind
            os.kill(pid, signal.SIGKILL)
