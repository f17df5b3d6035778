"""Built-in feeders by name: ``grid.cases.load("ieee33")``.

Each case cites its source (see ``grid/data/SOURCES.md``). A case is a function registered in
``CASES``; the IEEE 34 and 123 node feeders add their own readers here.

Example
-------
>>> from grid import cases
>>> sorted(cases.names())
['ieee33', 'pge69']
>>> cases.load("ieee33").n_bus
33
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.resources import files

from .errors import UnknownCaseError
from .io import read_csv
from .network import Network

__all__ = ["load", "names", "CASES"]

_DATA = files("grid") / "data"


def _csv_case(stem: str, name: str) -> Callable[[], Network]:
    def build() -> Network:
        return read_csv(
            _DATA / f"{stem}_branches.csv",
            _DATA / f"{stem}_loads.csv",
            _DATA / f"{stem}_meta.json",
            name=name,
        )

    build.__doc__ = f"The {name} feeder from grid/data/{stem}_*.csv."
    return build


CASES: dict[str, Callable[[], Network]] = {
    # Baran & Wu 1989, MATPOWER case33bw: 33 buses, 32 branches, 5 ties; 202.68 kW nominal loss.
    "ieee33": _csv_case("case33bw", "ieee33"),
    # PG&E 69-bus, Baran & Wu 1989 / Das 2008, MATPOWER case69: 224.99 kW nominal loss.
    "pge69": _csv_case("case69", "pge69"),
}

_ALIASES = {"case33bw": "ieee33", "33": "ieee33", "ieee69": "pge69", "case69": "pge69", "69": "pge69"}


def names() -> list[str]:
    """Names accepted by :func:`load` (aliases excluded)."""
    return list(CASES)


def load(name: str) -> Network:
    """The built-in feeder ``name`` (case-insensitive; aliases such as ``"case33bw"`` accepted).

    Raises
    ------
    UnknownCaseError
        If the name is unknown; the message lists the known names.
    """
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in CASES:
        raise UnknownCaseError(f"unknown case {name!r}; known cases: {', '.join(CASES)}")
    return _build(key)


@cache
def _build(key: str) -> Network:
    # cached on the normalised name, so aliases share one (immutable) object
    return CASES[key]()
