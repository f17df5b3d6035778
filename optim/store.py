"""Results on disk: one directory per run, written atomically, read back as tables.

Layout of a campaign directory (``experiments/README.md``)::

    DIR/campaign.toml            resolved configuration; its name and seed say whose folder it is
    DIR/reference/index.json     per problem label: name, params and what is known of its optimum
    DIR/reference/<label>.parquet  the true Pareto front (or single optimum) where known
    DIR/runs/<run_id>/meta.json  spec, status, error + traceback, n_eval, wall_s, versions,
                                 n_feasible (0: no feasible point; front.parquet then holds the
                                 least-infeasible points with their constraint values), and
                                 ``files``: size and SHA-256 of every other file of the run
    DIR/runs/<run_id>/*.parquet  front, population, history, fronts, plans (ok runs only)
    DIR/.lock                    held by the campaign process (one process per directory)

A run directory is first written under ``runs/.tmp-<run_id>-<pid>`` and then renamed into place, so
a run directory that exists was complete when written; leftovers of a killed process are removed on
the next start. A run directory damaged afterwards (a truncated or missing file, unreadable
``meta.json``) is found by :func:`scan_runs`, which names the file; a campaign reruns it, a report
refuses it naming the file. Everything here is data: nothing is imported from a folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optim.errors import ResultsError
from optim.run import FailedRun, RunRecord

__all__ = [
    "CAMPAIGN_ENTRIES",
    "CONFIG_NAME",
    "atomic_write_text",
    "claim_directory",
    "clean_stale",
    "directory_lock",
    "finished_runs",
    "read_front",
    "read_meta",
    "read_references",
    "read_table",
    "refuse_foreign",
    "remove_campaign_files",
    "scan_runs",
    "write_reference",
    "write_run",
]

CONFIG_NAME = "campaign.toml"
REFERENCE_DIR = "reference"
# What a campaign owns in its folder: `--force` removes these and nothing else.
CAMPAIGN_ENTRIES = (CONFIG_NAME, "runs", REFERENCE_DIR, "results.parquet", "runs.parquet",
                    "convergence.parquet", "report.html", "report.md", "report_files")
# Files every finished ("ok") run has (plans.parquet only where the problem decodes).
_OK_FILES = ("front.parquet", "population.parquet", "history.parquet", "fronts.parquet")


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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_run(runs_dir: Path, spec: dict[str, Any], outcome: RunRecord | FailedRun) -> Path:
    """Write one run's files atomically into ``runs_dir/<run_id>``; returns that directory.

    An existing record of the run (a failed or damaged run being redone) is replaced; the campaign's
    directory lock keeps other writers out. ``meta.json`` lists the size and SHA-256 of every other
    file (``files``), so that damage done later is found by name (:func:`check_run`).
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
    meta["files"] = {f.name: {"bytes": f.stat().st_size, "sha256": _sha256(f)}
                     for f in sorted(tmp.iterdir())}
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


def check_run(run_dir: Path, meta: dict[str, Any]) -> str | None:
    """What is wrong with a run directory whose ``meta.json`` reads, naming the file; ``None`` if
    it is complete.

    Files listed in ``meta["files"]`` must have their recorded size and SHA-256. A run written before
    that list existed must have the files of an ok run, each with a readable parquet footer.
    """
    files = meta.get("files")
    if meta.get("status") not in ("ok", "failed"):
        return f"{run_dir / 'meta.json'}: unknown status {meta.get('status')!r}"
    if isinstance(files, dict):
        for name, rec in files.items():
            path = run_dir / name
            if not path.is_file():
                return f"{path}: missing"
            size = path.stat().st_size
            if size != rec.get("bytes"):
                return f"{path}: {size} bytes, {rec.get('bytes')} when written (truncated or replaced)"
            if _sha256(path) != rec.get("sha256"):
                return f"{path}: content differs from when it was written (SHA-256)"
        names = set(files)
    else:
        import pyarrow.parquet as pq

        names = {p.name for p in run_dir.iterdir()}
        for name in sorted(n for n in names if n.endswith(".parquet")):
            try:
                pq.read_metadata(run_dir / name)
            except (OSError, ValueError) as err:
                return f"{run_dir / name}: not a readable parquet file ({err})"
    if meta["status"] == "ok":
        for name in _OK_FILES:
            if name not in names:
                return f"{run_dir / name}: missing"
    return None


def scan_runs(runs_dir: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Read every run directory: ``(run_id -> meta of complete runs, run_id -> what is broken)``.

    A broken run (no or unreadable ``meta.json``, a missing, truncated or altered file) is reported
    by a message naming the file; temporary directories (names starting with ``.``) are skipped.
    """
    done: dict[str, dict[str, Any]] = {}
    broken: dict[str, str] = {}
    if not runs_dir.is_dir():
        return done, broken
    for d in sorted(runs_dir.iterdir()):
        if d.name.startswith(".") or not d.is_dir():
            continue
        if not (d / "meta.json").is_file():
            broken[d.name] = f"{d / 'meta.json'}: missing"
            continue
        try:
            meta = read_meta(d)
        except ResultsError as err:
            broken[d.name] = str(err)
            continue
        problem = check_run(d, meta) if isinstance(meta, dict) else f"{d / 'meta.json'}: not an object"
        if problem is None:
            done[d.name] = meta
        else:
            broken[d.name] = problem
    return done, broken


def finished_runs(runs_dir: Path, only: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """``run_id -> meta`` of every complete run directory (of those in ``only``, when given).

    Raises
    ------
    ResultsError
        A run directory (in ``only``) is damaged; the message names the file.
    """
    done, broken = scan_runs(runs_dir)
    for run_id, problem in broken.items():
        if only is None or run_id in only:
            raise ResultsError(f"{problem}; run the campaign again to redo run {run_id}")
    return {k: v for k, v in done.items() if only is None or k in only}


def read_table(path: Path) -> pd.DataFrame:
    """``pd.read_parquet(path)``, with an error that names the file."""
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as err:
        first = str(err).splitlines()[0] if str(err) else repr(err)
        raise ResultsError(f"{path}: cannot read ({first})") from err


def read_front(run_dir: Path) -> pd.DataFrame:
    return read_table(run_dir / "front.parquet")


# --------------------------------------------------------------------------------------------------
# what a problem's reference is, stored as data (a report never builds the problem)


def write_reference(out: Path, label: str, entry: dict[str, Any], front: np.ndarray | None) -> None:
    """Record problem ``label``'s reference in ``out/reference``: ``entry`` (name, params, key,
    kind) in ``index.json`` and the front, where known, as ``<label>.parquet``."""
    ref = out / REFERENCE_DIR
    ref.mkdir(exist_ok=True)
    index = _read_index(ref)
    if front is not None:
        df = pd.DataFrame(np.asarray(front, dtype=float), columns=[f"f{j}" for j in range(front.shape[1])])
        tmp = ref / f".{label}.parquet.tmp"
        df.to_parquet(tmp, index=False)
        os.replace(tmp, ref / f"{label}.parquet")
    else:
        (ref / f"{label}.parquet").unlink(missing_ok=True)
    index[label] = dict(entry, front=front is not None)
    atomic_write_text(ref / "index.json", json.dumps(index, indent=1, sort_keys=True, default=_json_default))


def _read_index(ref: Path) -> dict[str, Any]:
    path = ref / "index.json"
    if not path.is_file():
        return {}
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ResultsError(f"{path}: cannot read the reference index ({err})") from err
    if not isinstance(index, dict):
        raise ResultsError(f"{path}: expected a JSON object")
    return index


def read_references(out: Path) -> dict[str, tuple[dict[str, Any], np.ndarray | None]]:
    """``label -> (index entry, front or None)`` of the references stored in ``out/reference``."""
    ref = out / REFERENCE_DIR
    out_: dict[str, tuple[dict[str, Any], np.ndarray | None]] = {}
    for label, entry in _read_index(ref).items():
        front = None
        if entry.get("front"):
            df = read_table(ref / f"{label}.parquet")
            front = df[[f"f{j}" for j in range(df.shape[1])]].to_numpy(dtype=float)
        out_[label] = (entry, front)
    return out_


# --------------------------------------------------------------------------------------------------
# whose folder is it


def _identity(out: Path) -> tuple[str, int] | None:
    """(name, seed) of the campaign that owns ``out``, read from its ``campaign.toml`` as data."""
    path = out / CONFIG_NAME
    try:
        camp = tomllib.loads(path.read_text(encoding="utf-8")).get("campaign", {})
        return str(camp["name"]), int(camp["seed"])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError,
            AttributeError):
        return None


def _is_empty(out: Path) -> bool:
    """Nothing in ``out`` but a lock file and an empty (or temporary-only) ``runs/``."""
    for p in out.iterdir():
        if p.name == ".lock":
            continue
        if p.name == "runs" and p.is_dir() and all(q.name.startswith(".") for q in p.iterdir()):
            continue
        return False
    return True


def refuse_foreign(out: Path) -> None:
    """Raise :class:`ResultsError` if ``out`` is neither empty nor a campaign folder."""
    if not _is_empty(out) and not (out / CONFIG_NAME).is_file():
        raise ResultsError(
            f"{out}: not empty and not a campaign folder (no {CONFIG_NAME}); choose a new or empty "
            "output folder (--force only ever clears campaign folders)")


def claim_directory(out: Path, name: str, seed: int, force: bool = False) -> None:
    """Make sure ``out`` is campaign ``(name, seed)``'s folder (or empty); with ``force``, first
    remove the campaign files of whatever campaign had it.

    A folder belongs to one campaign, named by the ``name`` and ``seed`` in its ``campaign.toml``.
    ``force`` removes only :data:`CAMPAIGN_ENTRIES` (and their temporary files) and only in a folder
    that holds a ``campaign.toml``; anything else in it stays.

    Raises
    ------
    ResultsError
        ``out`` belongs to another campaign (without ``force``), or is not empty and holds no
        ``campaign.toml`` (even with ``force``: it does not look like a campaign folder).
    """
    if not out.is_dir() or _is_empty(out):
        return
    refuse_foreign(out)
    owner = _identity(out)
    if owner == (name, seed) and not force:
        return
    if not force:
        whose = (f"campaign {owner[0]!r} (seed {owner[1]})" if owner is not None
                 else f"a campaign whose {CONFIG_NAME} cannot be read")
        raise ResultsError(
            f"{out}: this folder belongs to {whose}, not to campaign {name!r} (seed {seed}); use "
            "another output folder, or --force to start it afresh (removes that campaign's runs "
            "and tables there)")
    remove_campaign_files(out)


def remove_campaign_files(out: Path) -> None:
    """Remove a campaign's own entries (:data:`CAMPAIGN_ENTRIES`) from ``out``, nothing else."""
    for entry in CAMPAIGN_ENTRIES:
        p = out / entry
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
    for p in out.glob(".*.tmp*"):  # atomic-write leftovers of those files
        if p.is_file() and any(p.name.startswith(f".{e}.tmp") for e in CAMPAIGN_ENTRIES):
            p.unlink()


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
