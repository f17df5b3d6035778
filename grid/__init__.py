"""Physics of radial distribution feeders: networks, batched power flow, devices, profiles, EVs.

``grid`` never imports pymoo or anything above it.
"""

from __future__ import annotations

import logging

from .errors import (
    DisconnectedBusError,
    DuplicateBranchError,
    ImpedanceError,
    InputShapeError,
    LoadError,
    LoopError,
    NetworkError,
    SlackError,
    UnknownCaseError,
)
from .network import Network

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "Network",
    "NetworkError",
    "SlackError",
    "DisconnectedBusError",
    "LoopError",
    "DuplicateBranchError",
    "ImpedanceError",
    "LoadError",
    "UnknownCaseError",
    "InputShapeError",
]
