"""Named exceptions of the ``grid`` package.

Every message says what was wrong and where (file, row, bus label), so that a user can fix the
input without reading the code.
"""

from __future__ import annotations


class NetworkError(ValueError):
    """Base class for every fault found while building a :class:`grid.network.Network`."""


class SlackError(NetworkError):
    """No slack bus, or more than one."""


class DisconnectedBusError(NetworkError):
    """A bus cannot be reached from the slack through in-service branches."""


class LoopError(NetworkError):
    """The in-service branches form a loop (the feeder is not radial)."""


class DuplicateBranchError(NetworkError):
    """Two branches join the same pair of buses."""


class ImpedanceError(NetworkError):
    """A branch impedance is non-positive or non-finite."""


class LoadError(NetworkError):
    """A nominal load is non-finite, or refers to an unknown bus."""


class UnknownCaseError(NetworkError, KeyError):
    """``grid.cases.load`` was given a name it does not know."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InputShapeError(ValueError):
    """An array handed to a grid function has the wrong shape, dtype or unit."""
