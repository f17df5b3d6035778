"""Results on disk: one directory per run, written atomically, read back as tables.

Layout of a campaign directory (``experiments/README.md``)::

    DIR/campaign.toml            resolved configuration
    DIR/runs/<run_id>/meta.json  spec, status, error + traceback, n_eval, wall_s, versions,
                                 n_feasible (0: no feasible point; front.parquet then holds the
                                 least-infeasible points with their constraint values)
    DIR/runs/<run_id>/*.parquet  front, population, history, fronts, plans (ok runs only)
    DIR/.lock                    held by the campaign process (one process per directory)

A run directory is first written under ``runs/.tmp-<run_id>-<pid>`` and then renamed into place, so
a run directory that exists is complete; leftovers of a killed process are removed on the next start.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optim.errors import ResultsError
from optim.run import FailedRun, RunRecord

__all__ = [
    "atomic_write_text",
    "clean_stale",
    "directory_lock",
    "finished_runs",
    "read_front",
    "read_meta",
    "write_run",
]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"cannot write {type(o).__name__} to JSON")


def write_run(runs_dir: Path, spec: dict[str, Any], outcome: RunRecord | FailedRun) -> Path:
    """Write one run's files atomically into ``runs_dir/<run_id>``; returns that directory.

    An existing record of the run (a failed run being retried) is replaced; the campaign's directory
    lock keeps other writers out.
    """
    run_id = spec["run_id"]
    final = runs_dir / run_id
    tmp = runs_dir / f".tmp-{run_id}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    meta: dict[str, Any] = {"run_id": run_id, "spec": spec, "seed": spec["seed"]}
    if isinstance(outcome, FailedRun):
        meta.update(status="failed", error=outcome.error, traceback=outcome.traceback,
                    wall_s=outcome.wall_s, n_eval=0, versions=outcome.versions)
    else:
        meta.update(status="ok", error="", traceback="", wall_s=outcome.wall_s, n_eval=outcome.n_eval,
                    versions=outcome.versions, objective_names=list(outcome.objective_names),
                    objective_units=list(outcome.objective_units), n_nd=len(outcome.F),
                    n_feasible=outcome.n_feasible)
        outcome.front_table().to_parquet(tmp / "front.parquet", index=False)
        outcome.population_table().to_parquet(tmp / "population.parquet", index=False)
        outcome.history.to_parquet(tmp / "history.parquet", index=False)
        outcome.fronts.to_parquet(tmp / "fronts.parquet", index=False)
        if outcome.plans is not None:
            plans = pd.concat([p.assign(point=i) for i, p in enumerate(outcome.plans)], ignore_index=True)
            plans.to_parquet(tmp / "plans.parquet", index=False)
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=_json_default), encoding="utf-8")
    if final.exists():  # a failed run retried: move the old record aside, then swap
        old = runs_dir / f".tmp-old-{run_id}-{os.getpid()}"
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old)
    else:
        os.rename(tmp, final)
    return final


def clean_stale(runs_dir: Path) -> int:
    """Remove temporary run directories left by a killed process; returns how many."""
    n = 0
    if runs_dir.is_dir():
        for d in runs_dir.glob(".tmp-*"):
            shutil.rmtree(d, ignore_errors=True)
            n += 1
        shutil.rmtree(runs_dir / ".progress", ignore_errors=True)
    return n


def read_meta(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "meta.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ResultsError(f"{path}: cannot read run metadata ({err})") from err


def finished_runs(runs_dir: Path) -> dict[str, dict[str, Any]]:
    """``run_id -> meta`` of every complete run directory."""
    if not runs_dir.is_dir():
        return {}
    return {d.name: read_meta(d) for d in sorted(runs_dir.iterdir())
            if not d.name.startswith(".") and (d / "meta.json").is_file()}


def read_front(run_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(run_dir / "front.parquet")


@contextlib.contextmanager
def directory_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory/.lock`` so that two campaign processes never share a
    results directory (the second would remove the first's temporary files). The operating system
    releases it when the process ends, however it ends, so a killed campaign can be resumed at once.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking
        yield
        return
    with open(directory / ".lock", "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise ResultsError(f"{directory}: another campaign process is using this directory") from err
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
