"""The ``optim`` command.

::

    optim list [problems|algorithms] [-v]     names, sources and documented parameters
    optim run PROBLEM ALGORITHM [--n-gen N | --n-eval N] [--seed S] [-p k=v ...] [-a k=v ...] [--output DIR]
              [--allow-import]
    optim campaign CONFIG [--n-jobs N] [--backend NAME] [--scheduler ADDR] [--output DIR] [--retry-failed]
                   [--force] [--allow-import]
    optim report DIR [--format html|md] [--output PATH] [--weights W1,W2,...]
    optim quickstart [--n-jobs N] [--output DIR] [--force]
    optim bench NAME [ARGS ...]               python -m benchmarks.NAME ARGS, from the repository

Errors go to stderr as one line naming the file or key, with exit status 2 (``--traceback`` shows
the full traceback instead).

A run that raises once it has started (its problem's evaluation, the algorithm) is recorded as a
failed run, as a campaign records one (``meta.json`` with ``status = "failed"``, the error and its
traceback), in ``OUTPUT/runs/`` or, without ``--output``, in a new temporary folder; one line on
stderr names the problem, algorithm, seed, error and the record's folder, and the exit status is 1.

A ``package.module:Class`` name (in a campaign file or on the ``run`` command line) is imported, which
runs that module's code, only with ``--allow-import``; ``report`` never imports anything.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from optim.errors import ConfigError, OptimError

__all__ = ["main"]

_HANDLED = (OptimError, OSError, ValueError, TypeError)


def _kv(items: Sequence[str] | None, flag: str) -> dict[str, Any]:
    """``["n_var=10", "case=ieee33"]`` -> dict; values read as TOML values, else as strings."""
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} {item!r}: expected KEY=VALUE")
        try:
            out[key] = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = raw
    return out


def _cmd_list(args: argparse.Namespace) -> int:
    from optim.registry import algorithm_entries, problem_entries

    tables = {"problems": problem_entries(), "algorithms": algorithm_entries()}
    for kind in ([args.kind] if args.kind else ["problems", "algorithms"]):
        print(f"{kind}:")
        for name, e in tables[kind].items():
            print(f"  {name:<16} [{e.source}] {e.summary}")
            if args.verbose:
                for p in e.params:
                    doc = f"  {p.doc}" if p.doc else ""
                    print(f"      {p.name} = {p.default!r}{doc}")
        print()
    if not args.verbose:
        print("(optim list -v shows every parameter with its default)")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    from optim.config import Termination, spec_digest
    from optim.registry import get_algorithm, get_problem, is_import_name, refuse_import, validate_params
    from optim.run import run
    from optim.store import CONFIG_NAME, directory_lock, write_run

    for kind, name in (("problem", args.problem), ("algorithm", args.algorithm)):
        if is_import_name(name) and not args.allow_import:
            raise refuse_import(name, kind)
    # ``--n-eval 0`` is given (and refused), not "absent": test against None, not truthiness
    flag, kind, value = (("--n-eval", "n_eval", args.n_eval) if args.n_eval is not None
                         else ("--n-gen", "n_gen", args.n_gen))
    if value < 1:
        raise ConfigError(f"{flag}: must be >= 1, got {value}")
    term = Termination(kind, value)
    pp, ap = _kv(args.param, "-p"), _kv(args.algo_param, "-a")
    out = Path(args.output) if args.output else None
    if out is not None and (out / CONFIG_NAME).is_file():  # checked before the run, not after
        raise ConfigError(f"--output {out}: a campaign's folder ({CONFIG_NAME}); write single runs "
                          "to another folder")
    spec = {"problem": {"name": args.problem, "label": args.problem, "params": pp},
            "algorithm": {"name": args.algorithm, "label": args.algorithm, "params": ap},
            "termination": term.as_dict(), "replicate": 0, "seed": args.seed}
    # the digest of the spec keeps runs with other parameters (or termination) apart; the same
    # spec (and so, by its seed, the same result) goes to the same folder
    run_id = f"{args.problem}__{args.algorithm}__seed{args.seed}__{spec_digest(spec)}"
    spec = {"run_id": run_id.replace(":", ".").replace("/", "."), **spec}

    t0 = time.perf_counter()
    try:
        entry = get_problem(args.problem)
        validate_params(entry, pp)
        problem = entry.build(**pp)
        entry = get_algorithm(args.algorithm)
        validate_params(entry, ap)
        algorithm = entry.build(problem.n_obj, **ap)
    except _HANDLED:  # a bad name or parameter: the request's error (one line, exit 2)
        raise
    except Exception as err:  # a constructor failing otherwise: the run's, recorded
        return _record_failure(args, spec, out, err, time.perf_counter() - t0)
    try:
        rec = run(problem, algorithm, term, args.seed, problem_label=args.problem,
                  algorithm_label=args.algorithm)
    except Exception as err:  # whatever the run raises: recorded as a failed run, as campaigns do
        return _record_failure(args, spec, out, err, time.perf_counter() - t0)
    print(f"{args.problem} / {args.algorithm}, seed {args.seed}: {rec.n_eval} evaluations in "
          f"{rec.wall_s:.2f} s, {len(rec.F)} non-dominated points ({rec.n_feasible} feasible)")
    if rec.n_feasible == 0:
        print(f"  NO FEASIBLE SOLUTION: the {len(rec.F)} least-infeasible point(s) are kept; "
              f"least total constraint violation {rec.min_cv:.6g}")
    for j, (n, u) in enumerate(zip(rec.objective_names, rec.objective_units, strict=True)):
        what = "best" if rec.n_feasible else "least-infeasible"
        print(f"  {n}: {what} {np.min(rec.F[:, j]):.6g} {u}".rstrip())
    if out is not None:
        (out / "runs").mkdir(parents=True, exist_ok=True)
        with directory_lock(out):
            path = write_run(out / "runs", spec, rec)
        print(path)
    return 0


def _record_failure(args: argparse.Namespace, spec: dict[str, Any], out: Path | None,
                    err: Exception, wall_s: float) -> int:
    """Write the failed run's record (``--output``, else a new temporary folder), say so in one
    line on stderr (``--traceback``: and the traceback), return exit status 1."""
    import tempfile

    from optim.run import failed_run
    from optim.store import directory_lock, write_run

    failure = failed_run(spec, err, wall_s)
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="optim-failed-run-"))
    (out / "runs").mkdir(parents=True, exist_ok=True)
    with directory_lock(out):
        path = write_run(out / "runs", spec, failure)
    if args.traceback:
        print(failure.traceback, end="", file=sys.stderr)
    print(f"optim: error: run failed: problem {args.problem!r}, algorithm {args.algorithm!r}, seed "
          f"{args.seed}: {failure.error}; record (with the traceback): {path}", file=sys.stderr)
    return 1


def _run_and_report(cfg: Any, args: argparse.Namespace) -> int:
    from optim.campaign import run_campaign
    from optim.report import write_report

    summary = run_campaign(cfg, progress=None if not args.no_progress else False,
                           retry_failed=getattr(args, "retry_failed", False), force=args.force)
    print(f"{cfg.name}: {summary.n_total} runs, {summary.n_skipped} already done, {summary.n_run} run now, "
          f"{summary.n_failed} failed; results in {summary.output}", file=sys.stderr)
    if getattr(args, "no_report", False):
        print(summary.output / "results.parquet")
    else:
        print(write_report(summary.output).resolve())
    return 1 if summary.n_failed else 0


def _cmd_campaign(args: argparse.Namespace) -> int:
    from optim.config import load_config

    cfg = load_config(args.config, allow_import=args.allow_import).with_options(
        n_jobs=args.n_jobs, backend=args.backend, scheduler=args.scheduler,
        output=Path(args.output) if args.output else None)
    if cfg.n_jobs == 0:
        raise ConfigError("--n-jobs: must be non-zero")
    return _run_and_report(cfg, args)


def _cmd_quickstart(args: argparse.Namespace) -> int:
    from optim.config import parse_config

    text = resources.files("optim").joinpath("data/quickstart.toml").read_text(encoding="utf-8")
    cfg = parse_config(tomllib.loads(text), "optim/data/quickstart.toml").with_options(
        n_jobs=args.n_jobs, output=Path(args.output) if args.output else None)
    return _run_and_report(cfg, args)


def _cmd_report(args: argparse.Namespace) -> int:
    from optim.report import write_report

    weights = None
    if args.weights:
        try:
            weights = [float(w) for w in args.weights.split(",")]
        except ValueError as err:
            raise ConfigError(f"--weights {args.weights!r}: expected comma-separated numbers") from err
    print(write_report(args.directory, fmt=args.format, path=args.output, weights=weights))
    return 0


def _repo_root(name: str) -> Path | None:
    """A directory holding ``benchmarks/<name>.py``: the working directory (or a parent), else the
    source tree this package was installed from (editable installs)."""
    here = Path.cwd().resolve()
    candidates = [here, *here.parents, Path(__file__).resolve().parent.parent]
    for c in candidates:
        if (c / "benchmarks" / f"{name}.py").is_file() or (c / "benchmarks" / name / "__main__.py").is_file():
            return c
    return None


def _cmd_bench(args: argparse.Namespace) -> int:
    if not args.name.replace("_", "").isalnum():
        raise ConfigError(f"bench NAME: {args.name!r} is not a module name")
    root = _repo_root(args.name)
    if root is None:
        raise ConfigError(f"bench {args.name}: no benchmarks/{args.name}.py in the working directory, "
                          "its parents or the source tree (benchmarks ship with the repository only)")
    path = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path)
    return subprocess.call([sys.executable, "-m", f"benchmarks.{args.name}", *args.args], cwd=root, env=env)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="optim", description="Runs, campaigns and reports of gridplan studies.")
    ap.add_argument("--traceback", action="store_true", help="show full tracebacks on errors")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("list", help="list problems and algorithms with their parameters")
    p.add_argument("kind", nargs="?", choices=["problems", "algorithms"])
    p.add_argument("-v", "--verbose", action="store_true", help="show every parameter and its default")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("run", help="run one problem with one algorithm")
    p.add_argument("problem", help="problem name (optim list problems)")
    p.add_argument("algorithm", help="algorithm name (optim list algorithms)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--n-gen", type=int, default=100, help="generations (default 100)")
    g.add_argument("--n-eval", type=int, help="evaluations instead of generations")
    p.add_argument("--seed", type=int, default=0, help="pymoo seed (default 0)")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="problem parameter")
    p.add_argument("-a", "--algo-param", action="append", metavar="KEY=VALUE", help="algorithm parameter")
    p.add_argument("--output", help="write the run's files into OUTPUT/runs/ (one folder per spec)")
    p.add_argument("--allow-import", action="store_true",
                   help="allow package.module:Class names (importing runs that module's code)")
    p.set_defaults(func=_cmd_run)

    for name, helptext in (("campaign", "run or resume a campaign TOML file, then write its report"),
                           ("quickstart", "run the shipped quickstart campaign and print the report path")):
        p = sub.add_parser(name, help=helptext)
        if name == "campaign":
            p.add_argument("config", help="campaign TOML file (format: experiments/README.md)")
            p.add_argument("--backend", help="joblib backend (loky, threading, sequential) or dask")
            p.add_argument("--scheduler", help="dask scheduler address (default: a local cluster)")
            p.add_argument("--retry-failed", action="store_true", help="run failed runs again")
            p.add_argument("--no-report", action="store_true", help="skip the HTML report")
            p.add_argument("--allow-import", action="store_true",
                           help="allow package.module:Class names in CONFIG (importing runs their code)")
        p.add_argument("--n-jobs", type=int, help="parallel runs (-1: all cores)")
        p.add_argument("--output", help="results directory (overrides the config's)")
        p.add_argument("--no-progress", action="store_true", help="no progress bars")
        p.add_argument("--force", action="store_true",
                       help="start the output folder afresh: remove the campaign files of whatever "
                            "campaign it holds (runs, tables, reports; nothing else)")
        p.set_defaults(func=_cmd_campaign if name == "campaign" else _cmd_quickstart)

    p = sub.add_parser("report", help="write the HTML (or Markdown) report of a campaign directory")
    p.add_argument("directory", help="campaign output directory")
    p.add_argument("--format", choices=["html", "md"], default="html")
    p.add_argument("--output", help="report path (default DIR/report.html or .md)")
    p.add_argument("--weights", metavar="W1,W2,...",
                   help="objective weights: add the weighted-compromise plan (003 eqs. 15-16)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("bench", help="run python -m benchmarks.NAME from the repository")
    p.add_argument("name", help="benchmark module in benchmarks/")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed on")
    p.set_defaults(func=_cmd_bench)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``optim`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="optim: %(message)s")
    try:
        return int(args.func(args))
    except _HANDLED as err:
        if args.traceback:
            raise
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"optim: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
