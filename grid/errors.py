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


class SlackVoltageError(SlackError):
    """The slack voltage is not a positive finite magnitude (pu) with a finite angle (degrees)."""


class FeederFileError(NetworkError):
    """A feeder file is malformed: empty, a cell that is not a number, a bus id that is not an
    integer, or an unknown metadata key (the message names the file, row and column or key)."""


class UnknownCaseError(NetworkError, KeyError):
    """``grid.cases.load`` was given a name it does not know."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InputShapeError(ValueError):
    """An array handed to a grid function has the wrong shape, dtype or unit."""
