"""Progress display for campaigns: runs done, and the current run's share when it runs in-process.

tqdm bars with ``disable=None``: they draw only when the stream is a terminal, so logs, CI and pipes
stay quiet.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

__all__ = ["CampaignProgress"]


class CampaignProgress:
    """Two bars: finished runs of the campaign, and the progress of the run in this process.

    Parameters
    ----------
    total : int
        Runs to do in this invocation.
    enabled : bool or None
        ``None``: draw only on a terminal; ``False``: never.
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

    def start_run(self, run_id: str) -> None:
        self.current.reset(total=100)
        self.current.set_description_str(run_id, refresh=False)

    def run_share(self, share: float) -> None:
        """Progress of the in-process run, ``share`` in [0, 1]."""
        self.current.n = int(round(100 * share))
        self.current.refresh()

    def run_done(self, run_id: str, status: str) -> None:
        self.runs.set_postfix_str(f"{run_id}: {status}", refresh=False)
        self.runs.update(1)

    def close(self) -> None:
        self.current.close()
        self.runs.close()

    def __enter__(self) -> CampaignProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
