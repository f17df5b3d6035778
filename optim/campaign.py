"""Campaigns: every (problem, algorithm, replicate) of a config, in parallel, resumable.

* Runs go through ``joblib.Parallel``: ``loky`` processes by default, any joblib backend by name, or
  ``"dask"`` (a ``dask.distributed`` client at ``scheduler``, or a local cluster when it is empty;
  ``pip install -e .[dask]``). Workers get plain specs (``RunSpec.to_dict()``) and return records;
  this process writes them, so workers need no shared file system.
* Each run's seed derives from the campaign seed and the run's identity (:func:`optim.config.derive_seed`),
  so results do not depend on ``n_jobs``, the backend or a resume.
* Each finished run is written atomically (:mod:`optim.store`); a failing run is recorded with its
  traceback and the others go on. Running the same campaign again skips finished runs (failed ones
  too, unless ``retry_failed``). It reruns a failed run whose spec the config has since changed (a
  corrected value) and a damaged run directory (found by name: a missing, truncated or altered
  file); a finished ok run whose spec differs from the config is an error.
* A folder belongs to one campaign (the ``name`` and ``seed`` in its ``campaign.toml``): another
  campaign, or a config that no longer defines some of the folder's runs, is refused unless
  ``force`` starts the folder afresh. A folder that is not empty and holds no ``campaign.toml`` is
  never used.
* ``module:attribute`` names are imported only when the config allows it (``allow_import``). What
  a report needs of each problem (its true front or optimum) is stored in ``DIR/reference`` at
  campaign time, so that :func:`gather` and the report read the folder as data and import nothing.
* :func:`gather` builds the tidy table ``results.parquet`` (problem, algorithm, replicate, seed,
  indicator, value), ``runs.parquet`` (status, error, n_eval, wall_s, n_feasible per run) and
  ``convergence.parquet`` (indicator against evaluations per run).

Example
-------
>>> from optim.config import load_config
>>> from optim.campaign import run_campaign
>>> cfg = load_config("experiments/quickstart.toml").with_options(n_jobs=2, output="/tmp/qs")
>>> summary = run_campaign(cfg)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optim import _watchdog
from optim.config import CampaignConfig, Component, RunSpec, canonical_json, dump_toml, read_stored_config
from optim.errors import ConfigError, ResultsError
from optim.indicators import Normalisation, hypervolume, igd, indicator_row, merged_front, reference_front
from optim.progress import CampaignProgress, heartbeat
from optim.registry import is_import_name, refuse_import
from optim.run import FailedRun, RunRecord, execute_spec
from optim.store import (
    CONFIG_NAME,
    atomic_write_text,
    claim_directory,
    clean_stale,
    directory_lock,
    finished_runs,
    read_references,
    read_table,
    refuse_foreign,
    scan_runs,
    write_reference,
    write_run,
)

__all__ = ["CampaignSummary", "gather", "run_campaign", "tables"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())


@dataclass(frozen=True)
class CampaignSummary:
    """What one invocation did.

    Attributes
    ----------
    output : Path
    n_total : int
        Runs in the campaign.
    n_skipped : int
        Runs already finished before this invocation.
    n_run : int
        Runs executed now.
    n_failed : int
        Failed runs in the directory after this invocation.
    results : DataFrame
        The tidy indicator table (also in ``results.parquet``).
    """

    output: Path
    n_total: int
    n_skipped: int
    n_run: int
    n_failed: int
    results: pd.DataFrame


def _check_imports(cfg: CampaignConfig) -> None:
    """Refuse ``module:attribute`` names unless the user allowed imports for this config."""
    if cfg.allow_import:
        return
    for kind, comps in (("problem", cfg.problems), ("algorithm", cfg.algorithms)):
        for c in comps:
            if is_import_name(c.name):
                raise refuse_import(c.name, kind, cfg.source)


def _plan_resume(cfg: CampaignConfig, runs_dir: Path, done: dict[str, dict[str, Any]],
                 broken: dict[str, str], retry_failed: bool) -> set[str]:
    """The run ids to run now, given the folder's complete (``done``) and damaged (``broken``) runs.

    Raises
    ------
    ResultsError
        The folder holds runs the config does not define, or an ok run of a different spec.
    """
    specs = {s.run_id: s for s in cfg.runs()}
    orphans = sorted((set(done) | set(broken)) - set(specs))
    if orphans:
        shown = ", ".join(orphans[:3]) + (", ..." if len(orphans) > 3 else "")
        raise ResultsError(
            f"{runs_dir}: holds {len(orphans)} run(s) that {cfg.source} does not define ({shown}); they "
            "belong to another campaign or an earlier version of this one: use another output folder, "
            "or --force to start it afresh")
    todo = set()
    for run_id, spec in specs.items():
        if run_id in broken:
            logger.warning("%s: damaged run, running it again", broken[run_id])
            todo.add(run_id)
            continue
        meta = done.get(run_id)
        if meta is None:
            todo.add(run_id)
            continue
        # compared as canonical JSON: nan equals nan, and a spec equals its own meta.json round trip
        same = canonical_json(meta.get("spec")) == canonical_json(spec.to_dict())
        if meta["status"] == "ok" and not same:
            raise ResultsError(
                f"{runs_dir / run_id}: this finished run was made with a different spec than "
                f"{cfg.source} now gives; use another output folder, or --force to start it afresh")
        if meta["status"] != "ok" and (not same or retry_failed):
            if not same:
                logger.info("run %s failed with another spec; running it with the current one", run_id)
            todo.add(run_id)
    return todo


@contextlib.contextmanager
def _backend(cfg: CampaignConfig) -> Iterator[dict[str, Any]]:
    """Parallel keyword arguments for the configured backend (starting a dask client if needed).

    ``loky`` workers get a watchdog, so that none outlives this process by more than a second or two,
    even after a ``kill -9`` (:mod:`optim._watchdog`); dask's local cluster ends its own.
    """
    if cfg.backend != "dask":
        import joblib

        if cfg.backend != "loky":
            yield {"n_jobs": cfg.n_jobs, "backend": cfg.backend}
            return
        pid = os.getpid()
        with joblib.parallel_config(backend=cfg.backend, initializer=_watchdog.watch_parent,
                                    initargs=(pid, _watchdog.identity(pid))):
            yield {"n_jobs": cfg.n_jobs}
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as err:
        raise ConfigError(
            f"{cfg.source}: backend 'dask' needs dask.distributed: pip install -e .[dask]"
        ) from err
    import joblib

    if cfg.scheduler:
        client = Client(cfg.scheduler)
        cluster = None
    else:
        n = cfg.n_jobs if cfg.n_jobs > 0 else None
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        with joblib.parallel_config(backend="dask"):
            yield {"n_jobs": -1}
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_campaign(cfg: CampaignConfig, *, progress: bool | None = None,
                 retry_failed: bool = False, force: bool = False) -> CampaignSummary:
    """Run (or resume) a campaign and gather its tables.

    Parameters
    ----------
    cfg : CampaignConfig
        Validated config (``load_config``); ``cfg.output``, ``cfg.n_jobs``, ``cfg.backend`` apply.
    progress : bool or None
        Progress bars; ``None`` draws them only on a terminal.
    retry_failed : bool
        Run again the runs recorded as failed (failed runs whose spec changed run again anyway).
    force : bool
        Start the folder afresh: remove the campaign files of whatever campaign it holds
        (``campaign.toml``, ``runs/``, ``reference/``, the tables and reports; nothing else).

    Raises
    ------
    ConfigError
        The config names a ``module:attribute`` and ``cfg.allow_import`` is false.
    ResultsError
        The folder belongs to another campaign, holds runs the config does not define or an ok run
        of a different spec (all three: unless ``force``), is not empty and holds no
        ``campaign.toml``, or another process is running in it.
    """
    _check_imports(cfg)
    out = Path(cfg.output)
    runs_dir = out / "runs"
    if out.is_dir():
        refuse_foreign(out)  # before the lock file: write nothing into a folder that is not ours
    out.mkdir(parents=True, exist_ok=True)
    with directory_lock(out):
        claim_directory(out, cfg.name, cfg.seed, force=force)
        runs_dir.mkdir(exist_ok=True)
        return _run_locked(cfg, out, runs_dir, progress, retry_failed)


def _run_locked(cfg: CampaignConfig, out: Path, runs_dir: Path, progress: bool | None,
                retry_failed: bool) -> CampaignSummary:
    import joblib

    clean_stale(runs_dir)
    done, broken = scan_runs(runs_dir)
    to_run = _plan_resume(cfg, runs_dir, done, broken, retry_failed)
    atomic_write_text(out / CONFIG_NAME, dump_toml(cfg.to_dict()))
    _store_references(out, cfg)

    specs = cfg.runs()
    todo = [s for s in specs if s.run_id in to_run]
    n_skipped = len(specs) - len(todo)
    logger.info("campaign %s: %d runs, %d finished, %d to run", cfg.name, len(specs), n_skipped, len(todo))

    with CampaignProgress(len(todo), enabled=progress) as bar:
        in_process = cfg.backend == "sequential" or (cfg.n_jobs == 1 and cfg.backend != "dask")
        if in_process:
            for s in todo:
                bar.start_run(s.run_id)
                _write(runs_dir, s, execute_spec(s.to_dict(), progress=bar.run_share), bar)
        elif todo:
            beat_dir = runs_dir / ".progress"
            if bar.drawing:
                beat_dir.mkdir(exist_ok=True)
                bar.watch(beat_dir)
            with _backend(cfg) as kw:
                by_id = {s.run_id: s for s in todo}
                results = joblib.Parallel(return_as="generator_unordered", **kw)(
                    joblib.delayed(_worker)(
                        s.to_dict(), str(beat_dir / s.run_id) if bar.drawing else None)
                    for s in todo
                )
                for run_id, outcome in results:
                    (beat_dir / run_id).unlink(missing_ok=True)
                    _write(runs_dir, by_id[run_id], outcome, bar)
            shutil.rmtree(beat_dir, ignore_errors=True)

    results = gather(out, cfg)
    n_failed = int((pd.read_parquet(out / "runs.parquet")["status"] == "failed").sum())
    return CampaignSummary(out, len(specs), n_skipped, len(todo), n_failed, results)


def _worker(spec: dict[str, Any], heartbeat_path: str | None) -> tuple[str, RunRecord | FailedRun]:
    """Runs in a worker: plain spec in, record out (``heartbeat_path`` only feeds the progress bar)."""
    return spec["run_id"], execute_spec(spec, progress=heartbeat(heartbeat_path))


def _write(runs_dir: Path, spec: RunSpec, outcome: RunRecord | FailedRun, bar: CampaignProgress) -> None:
    write_run(runs_dir, spec.to_dict(), outcome)
    status = "failed" if isinstance(outcome, FailedRun) else "ok"
    if status == "failed":
        logger.warning("run %s failed: %s", spec.run_id, outcome.error)
    bar.run_done(spec.run_id, status)


# --------------------------------------------------------------------------------------------------
# gathering


def _reference_key(p: Component) -> str:
    return canonical_json({"name": p.name, "params": p.kwargs})


def _store_references(out: Path, cfg: CampaignConfig) -> None:
    """Record each problem's true front or optimum in ``out/reference`` (once per name and params).

    This is the only place where gathering needs the problem object; the campaign has been allowed to
    build it (``_check_imports``), a report reading the folder later is not.
    """
    from optim.registry import make_problem

    try:
        stored = read_references(out)
    except ResultsError as err:  # a damaged index is rebuilt
        logger.warning("%s; storing the references again", err)
        stored = {}
    for p in cfg.problems:
        key = _reference_key(p)
        if p.label in stored and stored[p.label][0].get("key") == key:
            continue
        try:
            problem = make_problem(p.name, **p.kwargs)
        except Exception as err:  # its runs fail the same way and are recorded with the traceback
            logger.warning("problem %s: cannot build it to store its reference (%s: %s)", p.label,
                           type(err).__name__, err)
            continue
        pf = reference_front(problem)
        n_obj = int(problem.n_obj)
        if n_obj == 1:
            kind = "optimum" if pf is not None and pf.size == 1 else "none"
            pf = pf if kind == "optimum" else None
        else:
            kind = "true" if pf is not None else "merged"
        write_reference(out, p.label, {"name": p.name, "params": p.kwargs, "key": key, "n_obj": n_obj,
                                       "kind": kind}, pf)


def _problem_reference(p: Component, stored: dict[str, tuple[dict[str, Any], np.ndarray | None]],
                       out: Path) -> tuple[np.ndarray | None, float | None]:
    """(true front, single-objective optimum) of problem ``p``, where known, from ``out/reference``."""
    entry, front = stored.get(p.label, (None, None))
    if entry is None or entry.get("key") != _reference_key(p):
        logger.warning("%s: no stored reference for problem %s as %s names it (a folder of an older "
                       "version, an edited %s, or the problem could not be built); indicators use "
                       "the merged front", out / "reference", p.label, CONFIG_NAME, CONFIG_NAME)
        return None, None
    if entry.get("n_obj") == 1:
        return None, (float(front.ravel()[0]) if front is not None and front.size == 1 else None)
    return front, None


def gather(out: str | Path, cfg: CampaignConfig | None = None) -> pd.DataFrame:
    """Build the tables of a campaign directory from its finished runs and write them as parquet.

    Writes ``results.parquet`` (tidy: problem, algorithm, replicate, seed, indicator, value),
    ``runs.parquet`` and ``convergence.parquet`` (:func:`tables`); returns the tidy table.
    """
    out = Path(out)
    results, runs_df, conv_df = tables(out, cfg)
    for name, df in (("results", results), ("runs", runs_df), ("convergence", conv_df)):
        tmp = out / f".{name}.parquet.tmp"
        df.to_parquet(tmp, index=False)
        tmp.replace(out / f"{name}.parquet")
    return results


def tables(out: str | Path, cfg: CampaignConfig | None = None,
           ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The tables of a campaign directory, in memory: ``(results, runs, convergence)``.

    Reads the folder as data and writes nothing: ``cfg`` defaults to ``out/campaign.toml`` read by
    :func:`optim.config.read_stored_config` (no name is imported), the true fronts and optima come
    from ``out/reference``. Indicators are normalised per problem over the true front where known,
    else over the merged front of all its runs (:mod:`optim.indicators`); the table says which in
    ``reference`` ("true" / "merged"; for single-objective problems "optimum" when ``gap`` is
    measured to a known optimum, else "none").

    Raises
    ------
    ResultsError
        A run directory of the campaign is damaged (the message names the file).
    """
    out = Path(out)
    if cfg is None:
        cfg = read_stored_config(out / CONFIG_NAME)
    runs_dir = out / "runs"
    all_specs = cfg.runs()
    done = finished_runs(runs_dir, only={s.run_id for s in all_specs})
    stored = read_references(out)
    specs = [s for s in all_specs if s.run_id in done]
    run_rows = []
    for s in specs:
        m = done[s.run_id]
        run_rows.append({"run_id": s.run_id, "problem": s.problem.label, "algorithm": s.algorithm.label,
                         "replicate": s.replicate, "seed": s.seed, "status": m["status"],
                         "error": m["error"], "n_eval": m["n_eval"], "wall_s": m["wall_s"],
                         # feasible points in the run's front (-1: failed run, or a record older
                         # than this field)
                         "n_feasible": int(m.get("n_feasible", -1))})
    runs_df = pd.DataFrame(run_rows, columns=["run_id", "problem", "algorithm", "replicate", "seed",
                                              "status", "error", "n_eval", "wall_s", "n_feasible"])

    rows: list[dict[str, Any]] = []
    conv: list[dict[str, Any]] = []
    for p in cfg.problems:
        ok = [s for s in specs if s.problem.label == p.label and done[s.run_id]["status"] == "ok"]
        if not ok:
            continue
        fronts = {}
        for s in ok:
            fr = read_table(runs_dir / s.run_id / "front.parquet")
            fcols = [c for c in fr.columns if c.startswith("f") and c[1:].isdigit()]
            fronts[s.run_id] = fr.loc[fr["feasible"].astype(bool), fcols].to_numpy(dtype=float)
        true_pf, optimum = _problem_reference(p, stored, out)
        n_obj = len(fcols)
        if true_pf is not None:
            ref, kind = true_pf, "true"
        else:
            ref, kind = merged_front(list(fronts.values())), "merged"
            if ref.size == 0:
                ref = np.zeros((0, n_obj))
        if n_obj == 1:
            kind = "optimum" if optimum is not None else "none"
        norm = Normalisation.from_front(ref) if n_obj > 1 and len(ref) else None
        for s in ok:
            if n_obj > 1 and norm is None:  # no feasible point in any run
                vals = {"hv": 0.0, "igd": float("nan"), "spacing": float("nan"), "n_nd": 0.0}
            else:
                vals = indicator_row(fronts[s.run_id], ref if n_obj > 1 else np.zeros((0, 1)), norm,
                                     optimum)
            for ind, v in vals.items():
                rows.append({"problem": p.label, "algorithm": s.algorithm.label, "replicate": s.replicate,
                             "seed": s.seed, "indicator": ind, "value": float(v), "reference": kind})
            conv.extend(_convergence(runs_dir / s.run_id, s, norm, ref, n_obj))
    results = pd.DataFrame(rows, columns=["problem", "algorithm", "replicate", "seed", "indicator",
                                          "value", "reference"])
    conv_df = pd.DataFrame(conv, columns=["problem", "algorithm", "replicate", "n_eval", "indicator",
                                          "value"])
    return results, runs_df, conv_df


def _convergence(run_dir: Path, s: RunSpec, norm: Normalisation | None, ref: np.ndarray,
                 n_obj: int) -> list[dict[str, Any]]:
    base = {"problem": s.problem.label, "algorithm": s.algorithm.label, "replicate": s.replicate}
    if n_obj == 1:
        hist = read_table(run_dir / "history.parquet")
        best_col = [c for c in hist.columns if c.startswith("best_")][0]
        best = hist[best_col].cummin()
        return [{**base, "n_eval": int(e), "indicator": "best", "value": float(v)}
                for e, v in zip(hist["n_eval"], best, strict=True)]
    if norm is None:
        return []
    fr = read_table(run_dir / "fronts.parquet")
    fcols = [f"f{j}" for j in range(n_obj)]
    ref_n = norm(ref)
    out = []
    for (_, n_eval), g in fr.groupby(["n_gen", "n_eval"], sort=True):
        Fn = norm(g[fcols].to_numpy(dtype=float))
        out.append({**base, "n_eval": int(n_eval), "indicator": "igd", "value": igd(Fn, ref_n)})
        if n_obj <= 3:
            out.append({**base, "n_eval": int(n_eval), "indicator": "hv", "value": hypervolume(Fn)})
    return out
