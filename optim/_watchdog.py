"""Worker processes end when the campaign process that started them is gone.

Why: joblib's ``loky`` workers do not watch their parent. After
a ``kill -9`` of a campaign process, a worker that finishes its run blocks for ever writing the result
into a pipe nobody reads (its siblings hold the read end open, so it never gets ``EPIPE``); the next
worker then blocks on the queue's write lock, and an idle one waits out loky's 300 s idle timeout and
then on the same pipe. Each keeps about 150 MB.

:func:`watch_parent` is the pool ``initializer`` (:func:`optim.campaign._backend`): every worker,
idle or busy, runs a daemon thread that ends the process with :func:`os._exit` within
``POLL_S`` seconds of the campaign process being gone. Dask's local cluster needs none of it: its
nanny-started workers exit on their own when the parent's pipe closes
(``distributed.process.AsyncProcess._immediate_exit_when_closed``); workers of a dask scheduler given
by address belong to that cluster, not to the campaign, and are left alone.
"""

from __future__ import annotations

import os
import sys
import threading

__all__ = ["POLL_S", "identity", "watch_parent"]

POLL_S = 1.0  # seconds between checks: a worker outlives its campaign by at most about this
_EXIT_CODE = 70  # distinct from a run's own failure codes, to tell a watchdog exit in a log
_started = False


def identity(pid: int) -> str | None:
    """``pid``'s start time (``/proc/PID/stat`` field 22), or ``None`` if it is gone or a zombie.

    With the pid it names one process, whatever later reuses the number. ``""`` where there is no
    ``/proc`` (not Linux): then only the pid's existence is checked.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        return None if os.path.isdir("/proc/self") else ""
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces or ")".
    fields = stat[stat.rindex(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):  # a killed process not yet reaped by its own parent
        return None
    return fields[19].decode()


def _alive(pid: int, ident: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user: the number was reused
        return False
    return identity(pid) == ident


def _watch(pid: int, ident: str, direct_child: bool) -> None:
    stop = threading.Event()
    while not stop.wait(POLL_S):
        # A child is re-parented the moment its parent dies (before any reaping): the cheap check.
        if (direct_child and os.getppid() != pid) or not _alive(pid, ident):
            try:
                sys.stderr.write(f"optim worker {os.getpid()}: campaign process {pid} is gone; exiting\n")
                sys.stderr.flush()
            finally:
                os._exit(_EXIT_CODE)


def watch_parent(pid: int, ident: str) -> None:
    """Start (once per process) a daemon thread that exits this process when ``pid`` is gone.

    Parameters
    ----------
    pid : int
        The campaign process.
    ident : str
        Its :func:`identity`, taken by the campaign process itself.
    """
    global _started
    if _started:
        return
    _started = True
    if not _alive(pid, ident):  # gone before this worker even started
        os._exit(_EXIT_CODE)
    threading.Thread(target=_watch, args=(pid, ident, os.getppid() == pid),
                     name="optim-parent-watchdog", daemon=True).start()
