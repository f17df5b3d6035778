"""Progress display for campaigns: runs done, and the progress of the runs in flight.

tqdm bars with ``disable=None``: they draw only when the stream is a terminal, so logs, CI and pipes
stay quiet. In-process runs report their share directly; runs in worker processes write it to small
heartbeat files (``runs/.progress/<run_id>``, only while a bar is drawn) that a thread of the
campaign process reads twice a second. Workers on other machines without the shared directory
simply show no in-run progress.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

__all__ = ["CampaignProgress", "heartbeat"]


def heartbeat(path: str | None) -> Callable[[float], None] | None:
    """A progress callback that writes the share done to ``path`` (None: no callback)."""
    if path is None:
        return None
    target = Path(path)

    def write(share: float) -> None:
        tmp = target.with_name(f".{target.name}.{os.getpid()}")
        try:
            tmp.write_text(f"{share:.4f}")
            os.replace(tmp, target)
        except OSError:  # progress display only: a missing directory must not fail the run
            pass

    return write


class CampaignProgress:
    """Two bars: finished runs of the campaign, and the progress of the runs in flight.

    Parameters
    ----------
    total : int
        Runs to do in this invocation.
    enabled : bool or None
        ``None``: draw only on a terminal; ``False``: never; ``True``: always.
    stream : text stream, optional
        Defaults to ``sys.stderr``.
    """

    def __init__(self, total: int, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        from tqdm.auto import tqdm

        disable = None if enabled is None else not enabled
        self._stream = stream or sys.stderr
        self.runs = tqdm(total=total, desc="runs", unit="run", disable=disable, file=self._stream,
                         position=0, dynamic_ncols=True)
        self.current = tqdm(total=100, desc="current", unit="%", disable=disable, file=self._stream,
                            position=1, leave=False, dynamic_ncols=True,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}|")
        self._watch: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    @property
    def drawing(self) -> bool:
        """True when the bars are shown (so heartbeats are worth writing)."""
        return not self.runs.disable

    def start_run(self, run_id: str) -> None:
        with self._lock:
            self.current.reset(total=100)
            self.current.set_description_str(run_id, refresh=False)

    def run_share(self, share: float) -> None:
        """Progress of the in-process run, ``share`` in [0, 1]."""
        with self._lock:
            self.current.n = int(round(100 * share))
            self.current.refresh()

    def run_done(self, run_id: str, status: str) -> None:
        with self._lock:
            self.runs.set_postfix_str(f"{run_id}: {status}", refresh=False)
            self.runs.update(1)

    def watch(self, directory: Path) -> None:
        """Show the mean share of the heartbeat files in ``directory`` until :meth:`close`."""
        if not self.drawing:
            return

        def poll() -> None:
            while not self._stop.wait(0.5):
                shares = []
                for f in directory.glob("[!.]*"):
                    with contextlib.suppress(OSError, ValueError):
                        shares.append(float(f.read_text()))
                if shares:
                    with self._lock:
                        self.current.set_description_str(f"{len(shares)} running", refresh=False)
                        self.current.n = int(round(100 * sum(shares) / len(shares)))
                        self.current.refresh()

        self._watch = threading.Thread(target=poll, name="optim-progress", daemon=True)
        self._watch.start()

    def close(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.join()
        self.current.close()
        self.runs.close()

    def __enter__(self) -> CampaignProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
