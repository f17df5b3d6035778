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


class DssError(NetworkError):
    """A fault in an OpenDSS model read by :func:`grid.io.read_dss`.

    ``file`` and ``line`` (1-based) say where; the message names them and the element at fault.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        where = f"{file}:{line}: " if file is not None and line is not None else (f"{file}: " if file else "")
        super().__init__(where + message)
        self.file = file
        self.line = line


class DssSyntaxError(DssError):
    """A line of a ``.dss`` file that cannot be parsed (unbalanced bracket, bad number, ...)."""


class DssUnsupportedError(DssError):
    """An element class, command or property the reader does not support (it never drops one silently)."""


class DssFileNotFoundError(DssError):
    """A ``Redirect`` or ``Compile`` names a file that does not exist."""


class DssUndefinedError(DssError):
    """A command or property refers to an element that is not defined (``Edit``, ``like=``, ...)."""


class DssMissingLineCodeError(DssUndefinedError):
    """A ``Line`` refers to a ``LineCode`` that is not defined."""


class DssPhaseError(DssError):
    """A bus is used with phases it does not have (e.g. a load on phase 1 of a phase-2 lateral),
    or an element's bus gives a node count other than its phase count."""


class DssLoopError(DssError, LoopError):
    """The in-service lines and transformers of a ``.dss`` model form a loop."""


class DssDisconnectedError(DssError, DisconnectedBusError):
    """An element of a ``.dss`` model sits on a bus that no in-service line reaches from the source."""
