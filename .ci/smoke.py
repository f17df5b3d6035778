"""CI smoke run: every registered problem, once, through the ``optim run`` command.

::

    python .ci/smoke.py [--n-gen 2] [--pop-size N] [--output DIR] [--timeout 300]

For each name in ``optim.registry.problem_entries()`` (pymoo's and ours) this runs ``optim run NAME
ALGORITHM --n-gen 2 --output DIR/NAME`` in this process, registry defaults throughout (the issue's
"2 generations, registry defaults": ``pop_size`` 100), with ``ga`` for a single-objective problem
and ``nsga2`` for a multi-objective one; ``--pop-size N`` adds ``-a pop_size=N`` (not used by CI).
With the defaults the 26 problems of today took 7-8 s (10-12 s for the process) on a loaded 2-core
machine, 2-3 s more than with ``pop_size=10`` (measured when the override was dropped), so nothing
is gained by overriding it. It checks that each run ended with status 0 and wrote its run folder. It
prints one line per problem and, if any failed, a last line naming each failed problem; the exit
status is then 1. `.ci/run` calls it in the venv that holds only the README's plain install
(``python -m pip install -e .``), so it proves that every problem runs on the versions a user's
install resolves.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path


class _Timeout(Exception):
    pass


def _on_alarm(signum, frame):  # noqa: ARG001
    raise _Timeout


def smoke_one(name: str, n_gen: int, pop_size: int | None, output: Path,
              timeout_s: int) -> tuple[str, str | None]:
    """Run one problem; return (algorithm, None) on success or (algorithm, reason) on failure."""
    from optim.cli import main
    from optim.registry import make_problem

    algorithm = "?"
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(timeout_s)
    log = io.StringIO()
    try:
        n_obj = int(make_problem(name).n_obj)
        algorithm = "ga" if n_obj == 1 else "nsga2"
        out = output / name
        size = [] if pop_size is None else ["-a", f"pop_size={pop_size}"]
        argv = ["run", name, algorithm, "--n-gen", str(n_gen), *size, "--seed", "0", "--output", str(out)]
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            status = main(argv)
        if status != 0:
            return algorithm, f"optim {' '.join(argv)} exited {status}:\n{log.getvalue().rstrip()}"
        if not any((out / "runs").glob("*")):
            return algorithm, f"optim {' '.join(argv)} wrote no run folder under {out / 'runs'}"
        return algorithm, None
    except _Timeout:
        return algorithm, f"did not finish within {timeout_s} s"
    except Exception:  # a traceback is exactly what the smoke run is for: report it, go on
        return algorithm, (log.getvalue() + traceback.format_exc()).rstrip()
    finally:
        signal.alarm(0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-gen", type=int, default=2)
    ap.add_argument("--pop-size", type=int, default=None,
                    help="override the algorithm's pop_size (default: the registry's)")
    ap.add_argument("--output", help="where the run folders go (default: a temporary directory)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds allowed per problem")
    args = ap.parse_args(argv)

    from optim.registry import problem_entries

    names = list(problem_entries())
    if not names:
        print("smoke: FAILED: the registry lists no problem", flush=True)
        return 1
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gridplan-smoke-") as tmp:
        output = Path(args.output) if args.output else Path(tmp)
        t_all = time.perf_counter()
        for name in names:
            t0 = time.perf_counter()
            algorithm, reason = smoke_one(name, args.n_gen, args.pop_size, output, args.timeout)
            dt = time.perf_counter() - t0
            if reason is None:
                print(f"smoke: ok     {name:<14} {algorithm:<6} {dt:6.1f} s", flush=True)
            else:
                failed.append(f"{name} ({algorithm})")
                print(f"smoke: FAILED {name:<14} {algorithm:<6} {dt:6.1f} s\n{reason}", flush=True)
        print(f"smoke: {len(names) - len(failed)}/{len(names)} problems ran {args.n_gen} generations "
              f"in {time.perf_counter() - t_all:.1f} s", flush=True)
    if failed:
        print(f"smoke: FAILED problems: {', '.join(failed)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
