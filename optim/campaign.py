"""Campaigns: every (problem, algorithm, replicate) of a config, in parallel, resumable.

* Runs go through ``joblib.Parallel``: ``loky`` processes by default, any joblib backend by name, or
  ``"dask"`` (a ``dask.distributed`` client at ``scheduler``, or a local cluster when it is empty;
  ``pip install -e .[dask]``). Workers get plain specs (``RunSpec.to_dict()``) and return records;
  this process writes them, so workers need no shared file system.
* Each run's seed derives from the campaign seed and the run's identity (:func:`optim.config.derive_seed`),
  so results do not depend on ``n_jobs``, the backend or a resume.
* Each finished run is written atomically (:mod:`optim.store`); a failing run is recorded with its
  traceback and the others go on. Running the same campaign again skips finished runs (failed ones
  too, unless ``retry_failed``); a run directory whose spec differs from the config is an error.
* :func:`gather` builds the tidy table ``results.parquet`` (problem, algorithm, replicate, seed,
  indicator, value), ``runs.parquet`` (status, error, n_eval, wall_s per run) and
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
from optim.config import CampaignConfig, RunSpec, dump_toml, load_config
from optim.errors import ConfigError, ResultsError
from optim.indicators import Normalisation, hypervolume, igd, indicator_row, merged_front, reference_front
from optim.progress import CampaignProgress, heartbeat
from optim.run import FailedRun, RunRecord, execute_spec
from optim.store import atomic_write_text, clean_stale, directory_lock, finished_runs, write_run

__all__ = ["CampaignSummary", "gather", "run_campaign"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

CONFIG_NAME = "campaign.toml"


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


def _check_resume(cfg: CampaignConfig, done: dict[str, dict[str, Any]]) -> None:
    specs = {s.run_id: s.to_dict() for s in cfg.runs()}
    for run_id, meta in done.items():
        if run_id in specs and meta.get("spec") != specs[run_id]:
            raise ResultsError(
                f"{cfg.output / 'runs' / run_id}: this finished run was made with a different spec "
                f"than {cfg.source} now gives; use another output directory or remove the run"
            )


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
                 retry_failed: bool = False) -> CampaignSummary:
    """Run (or resume) a campaign and gather its tables.

    Parameters
    ----------
    cfg : CampaignConfig
        Validated config (``load_config``); ``cfg.output``, ``cfg.n_jobs``, ``cfg.backend`` apply.
    progress : bool or None
        Progress bars; ``None`` draws them only on a terminal.
    retry_failed : bool
        Run again the runs recorded as failed.

    Raises
    ------
    ResultsError
        The directory holds runs of a different spec, or another process is running in it.
    """
    out = Path(cfg.output)
    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    with directory_lock(out):
        return _run_locked(cfg, out, runs_dir, progress, retry_failed)


def _run_locked(cfg: CampaignConfig, out: Path, runs_dir: Path, progress: bool | None,
                retry_failed: bool) -> CampaignSummary:
    import joblib

    clean_stale(runs_dir)
    done = finished_runs(runs_dir)
    _check_resume(cfg, done)
    atomic_write_text(out / CONFIG_NAME, dump_toml(cfg.to_dict()))

    specs = cfg.runs()
    skip = {rid for rid, m in done.items() if m["status"] == "ok" or not retry_failed}
    todo = [s for s in specs if s.run_id not in skip]
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


def _problem_reference(spec: RunSpec) -> tuple[np.ndarray | None, float | None]:
    """(true front, single-objective optimum) of the spec's problem, where known."""
    from optim.registry import make_problem

    problem = make_problem(spec.problem.name, **spec.problem.kwargs)
    if problem.n_obj == 1:
        pf = reference_front(problem)
        return None, (float(pf.ravel()[0]) if pf is not None and pf.size == 1 else None)
    return reference_front(problem), None


def gather(out: str | Path, cfg: CampaignConfig | None = None) -> pd.DataFrame:
    """Build the tables of a campaign directory from its finished runs and write them as parquet.

    Writes ``results.parquet`` (tidy: problem, algorithm, replicate, seed, indicator, value),
    ``runs.parquet`` and ``convergence.parquet``; returns the tidy table. Indicators are normalised
    per problem over the true front where known, else over the merged front of all its runs
    (:mod:`optim.indicators`); the table says which in ``reference`` ("true" / "merged"; for
    single-objective problems "optimum" when ``gap`` is measured to a known optimum, else "none").
    """
    out = Path(out)
    if cfg is None:
        cfg = load_config(out / CONFIG_NAME)
    runs_dir = out / "runs"
    done = finished_runs(runs_dir)
    specs = [s for s in cfg.runs() if s.run_id in done]
    run_rows = []
    for s in specs:
        m = done[s.run_id]
        run_rows.append({"run_id": s.run_id, "problem": s.problem.label, "algorithm": s.algorithm.label,
                         "replicate": s.replicate, "seed": s.seed, "status": m["status"],
                         "error": m["error"], "n_eval": m["n_eval"], "wall_s": m["wall_s"]})
    runs_df = pd.DataFrame(run_rows, columns=["run_id", "problem", "algorithm", "replicate", "seed",
                                              "status", "error", "n_eval", "wall_s"])

    rows: list[dict[str, Any]] = []
    conv: list[dict[str, Any]] = []
    for p in cfg.problems:
        ok = [s for s in specs if s.problem.label == p.label and done[s.run_id]["status"] == "ok"]
        if not ok:
            continue
        fronts = {}
        for s in ok:
            fr = pd.read_parquet(runs_dir / s.run_id / "front.parquet")
            fcols = [c for c in fr.columns if c.startswith("f") and c[1:].isdigit()]
            fronts[s.run_id] = fr.loc[fr["feasible"], fcols].to_numpy(dtype=float)
        true_pf, optimum = _problem_reference(ok[0])
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
    for name, df in (("results", results), ("runs", runs_df), ("convergence", conv_df)):
        tmp = out / f".{name}.parquet.tmp"
        df.to_parquet(tmp, index=False)
        tmp.replace(out / f"{name}.parquet")
    return results


def _convergence(run_dir: Path, s: RunSpec, norm: Normalisation | None, ref: np.ndarray,
                 n_obj: int) -> list[dict[str, Any]]:
    base = {"problem": s.problem.label, "algorithm": s.algorithm.label, "replicate": s.replicate}
    if n_obj == 1:
        hist = pd.read_parquet(run_dir / "history.parquet")
        best_col = [c for c in hist.columns if c.startswith("best_")][0]
        best = hist[best_col].cummin()
        return [{**base, "n_eval": int(e), "indicator": "best", "value": float(v)}
                for e, v in zip(hist["n_eval"], best, strict=True)]
    if norm is None:
        return []
    fr = pd.read_parquet(run_dir / "fronts.parquet")
    fcols = [f"f{j}" for j in range(n_obj)]
    ref_n = norm(ref)
    out = []
    for (_, n_eval), g in fr.groupby(["n_gen", "n_eval"], sort=True):
        Fn = norm(g[fcols].to_numpy(dtype=float))
        out.append({**base, "n_eval": int(n_eval), "indicator": "igd", "value": igd(Fn, ref_n)})
        if n_obj <= 3:
            out.append({**base, "n_eval": int(n_eval), "indicator": "hv", "value": hypervolume(Fn)})
    return out
