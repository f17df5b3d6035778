"""Named exceptions of the ``optim`` package."""

from __future__ import annotations


class OptimError(Exception):
    """Base class of the errors raised by :mod:`optim`."""


class ConfigError(OptimError, ValueError):
    """A campaign file, a run request or a parameter is invalid; the message names the file and key."""


class UnknownNameError(ConfigError, KeyError):
    """A problem or algorithm name that the registry does not know."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ResultsError(OptimError):
    """A results directory is missing, incomplete or belongs to a different campaign."""
