"""Built-in feeders by name: ``grid.cases.load("ieee33")``.

Each case cites its source (see ``grid/data/SOURCES.md``). A case is a function registered in
``CASES``; the IEEE 34 and 123 node feeders add their own readers here.

Example
-------
>>> from grid import cases
>>> sorted(cases.names())
['ieee123', 'ieee33', 'ieee34', 'pge69']
>>> cases.load("ieee33").n_bus
33
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.resources import files

from .dss import read_dss
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


def _ieee34() -> Network:
    """IEEE PES 34-node feeder, balanced equivalent (see ``grid.dss`` for every modelling step).

    Built through :func:`grid.io.read_dss` from EPRI's OpenDSS Mod 1 model
    (``grid/data/opendss/ieee34/ieee34_fixed_taps.dss``), regulators at Kersting's published taps
    (reg1 12/5/5, reg2 13/11/12; a bank's tap is the mean of its per-phase ratios,
    ``tap = mean_k 1/(1 + 0.00625 n_k)``, not the ratio at the mean step). The slack is
    bus 800 at 1.05 pu, 0 degrees: EPRI's stiff 69/24.9 kV substation transformer above it (a
    modification of theirs, 1e-5 pu drop) is left out. XFM-1 (24.9/4.16 kV) is a branch at nominal
    ratio with everything referred to 24.9 kV. Line charging is kept (half at each end).
    """
    return read_dss(
        _DATA / "opendss" / "ieee34" / "ieee34_fixed_taps.dss",
        slack_bus="800",
        slack_va_deg=0.0,
        name="ieee34",
    )


def _ieee123() -> Network:
    """IEEE PES 123-node feeder, balanced equivalent (see ``grid.dss`` for every modelling step).

    Built through :func:`grid.io.read_dss` from EPRI's OpenDSS model, the variant with the
    normally-open switches opened at a terminal (``IEEE123Switches.dss``), so Sw7 151-300 and Sw8
    54-94 are the two ties, and the dead-end alternate-feed buses of EPRI's master file (300_OPEN,
    94_OPEN) do not exist; the IEEE document's other open switches (to 251, 451, 350, 195) are not in
    the OpenDSS model. Regulators at Kersting's taps (``ieee123_fixed_taps.dss``). Slack bus 150 at
    1.0 pu; 4.16 kV base, the 480 V bus 610 referred to it.
    """
    return read_dss(_DATA / "opendss" / "ieee123" / "ieee123_fixed_taps.dss", name="ieee123")


CASES: dict[str, Callable[[], Network]] = {
    # Baran & Wu 1989, MATPOWER case33bw: 33 buses, 32 branches, 5 ties; 202.68 kW nominal loss.
    "ieee33": _csv_case("case33bw", "ieee33"),
    # PG&E 69-bus, Baran & Wu 1989 / Das 2008, MATPOWER case69: 224.99 kW nominal loss.
    "pge69": _csv_case("case69", "pge69"),
    # IEEE PES 34-node (24.9 kV, 2 regulators, 24.9/4.16 kV XFM-1), from EPRI's OpenDSS model
    "ieee34": _ieee34,
    # IEEE PES 123-node (4.16 kV, 4 regulators, 2 normally-open ties), from EPRI's OpenDSS model
    "ieee123": _ieee123,
}

_ALIASES = {"case33bw": "ieee33", "33": "ieee33", "ieee69": "pge69", "case69": "pge69", "69": "pge69",
            "34": "ieee34", "123": "ieee123"}


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
