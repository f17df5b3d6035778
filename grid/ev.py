"""EV fleets: declarative specs, a Monte Carlo sampler, plug-and-charge load, charging stations as
generalized storage, and V2G clusters.

The pieces, in the order a planning problem uses them:

1. A :class:`FleetSpec` names vehicle types (:class:`VehicleType`: battery, charger, efficiency,
   SOC limits, arrival / departure / initial-SOC distributions, V2G willingness) and how many of
   each are at each charging station. Presets: :func:`fleet_003`, :func:`fleet_002`,
   :func:`fleet_004`.
2. :func:`sample_fleet` draws a :class:`VehicleSet` (one row per vehicle, frozen arrays) from a
   spec and a ``numpy.random.Generator``. A planning problem samples once (fixed seed) and keeps
   the vehicles for every candidate.
3. :func:`uncoordinated_load_kw` is the plug-and-charge load per station and hour (003 eq. (3):
   charge at full power from arrival for ``T_cd = min(T_f, T_lim)``).
4. :func:`station_limits` aggregates vehicles into each station's generalized storage (002 eqs.
   (1), (4)-(6)): power limits, energy bounds and the energy change from arrivals and departures.
5. :func:`v2g_clusters` groups the vehicles willing and able to do V2G by (arrival hour, required
   charging hours, departure hour) for the cluster dispatch of 003 section 3
   (:mod:`grid.dispatch`).

Time convention. Clock times are hours in ``[0, 24)``; a typical day is periodic, so a vehicle that
arrives at 19:00 and leaves at 07:00 is connected from 19:00 to 24:00 and from 00:00 to 07:00 of the
same typical day (its "yesterday's" stay). ``dwell_h = (departure - arrival) mod 24`` and must lie in
``(0, 23]``. Slot ``t`` is the hour ``[t, t+1)``. An event at time ``x`` (arrival or departure)
falls in slot ``ceil(x) - 1 (mod 24)``; a vehicle counts in a station's stored energy at the end of
slot ``t`` (time ``t+1``) when ``arrival <= t+1 < arrival + dwell`` (cyclically). Charging power in a
slot is limited by the fraction of the slot the vehicle is connected.

Units: kW (grid side, i.e. at the charger's AC terminals), kWh (battery side for stored energy),
hours. A charger draws ``p`` kW from the grid and stores ``eta * p``; discharging ``p`` kW into the grid
takes ``p / eta`` from the battery (002 eq. (1) with ``eta_ref = 1``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "FleetError",
    "Dist",
    "normal",
    "uniform",
    "fixed",
    "VehicleType",
    "FleetSpec",
    "VehicleSet",
    "StationLimits",
    "ClusterSet",
    "fleet_003",
    "fleet_002",
    "fleet_004",
    "fleet_000",
    "sample_fleet",
    "slot_overlap",
    "uncoordinated_load_kw",
    "station_limits",
    "v2g_clusters",
]

N_HOURS = 24


class FleetError(ValueError):
    """Invalid fleet spec or vehicle arrays (negative counts, zero dwell, inverted SOC limits...)."""


# --------------------------------------------------------------------------------------------------
# distributions
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dist:
    """A scalar distribution: ``kind`` in {"normal", "uniform", "fixed"}.

    ``normal``: ``a`` mean, ``b`` standard deviation. ``uniform``: on ``[a, b]``. ``fixed``: ``a``.
    """

    kind: str
    a: float
    b: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("normal", "uniform", "fixed"):
            raise FleetError(f"unknown distribution kind {self.kind!r}; use normal, uniform or fixed")
        if not (np.isfinite(self.a) and np.isfinite(self.b)):
            raise FleetError(f"{self.kind} distribution with non-finite parameters ({self.a}, {self.b})")
        if self.kind == "normal" and self.b < 0:
            raise FleetError(f"normal distribution with negative standard deviation {self.b}")
        if self.kind == "uniform" and self.b < self.a:
            raise FleetError(f"uniform distribution with upper bound {self.b} below lower bound {self.a}")

    def sample(self, rng: np.random.Generator, n: int) -> NDArray[np.float64]:
        """``(n,)`` draws."""
        if self.kind == "normal":
            return rng.normal(self.a, self.b, n)
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b, n)
        return np.full(n, float(self.a))

    @property
    def mean(self) -> float:
        return float(self.a if self.kind != "uniform" else 0.5 * (self.a + self.b))


def normal(mean: float, std: float) -> Dist:
    """Normal distribution by mean and standard deviation (papers write ``N(mu, sigma^2)``)."""
    return Dist("normal", mean, std)


def uniform(low: float, high: float) -> Dist:
    """Uniform distribution on ``[low, high]``."""
    return Dist("uniform", low, high)


def fixed(value: float) -> Dist:
    """A constant."""
    return Dist("fixed", value)


# --------------------------------------------------------------------------------------------------
# specs
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VehicleType:
    """One vehicle type of a fleet.

    Attributes
    ----------
    name:
        Label.
    battery_kwh, charger_kw, efficiency:
        Battery capacity, charger power (same for V2G discharge), one-way efficiency.
    soc_min, soc_max:
        SOC limits (003 eq. (28), 002 table 1).
    soc_target:
        Expected SOC at departure (003 ``SOC_e`` / ``SOC_ex``, eqs. (3), (29)).
    arrival_h, departure_h:
        Clock-time distributions; sampled times wrap modulo 24.
    soc_arrival:
        SOC at arrival.
    v2g_share:
        Probability that the owner is willing to do V2G (003: 90 % of private cars).
    """

    name: str
    battery_kwh: float
    charger_kw: float
    efficiency: float
    soc_min: float
    soc_max: float
    soc_target: float
    arrival_h: Dist
    departure_h: Dist
    soc_arrival: Dist
    v2g_share: float = 0.0

    def __post_init__(self) -> None:
        where = f"vehicle type {self.name!r}"
        for attr in ("battery_kwh", "charger_kw"):
            v = getattr(self, attr)
            if not (np.isfinite(v) and v > 0):
                raise FleetError(f"{where}: {attr} must be positive and finite, got {v}")
        if not (0 < self.efficiency <= 1):
            raise FleetError(f"{where}: efficiency must be in (0, 1], got {self.efficiency}")
        if not (0 <= self.soc_min < self.soc_max <= 1):
            raise FleetError(
                f"{where}: SOC limits must satisfy 0 <= soc_min < soc_max <= 1, got "
                f"soc_min={self.soc_min}, soc_max={self.soc_max}"
            )
        if not (self.soc_min <= self.soc_target <= self.soc_max):
            raise FleetError(
                f"{where}: soc_target={self.soc_target} outside "
                f"[soc_min, soc_max]=[{self.soc_min}, {self.soc_max}]"
            )
        if not (0 <= self.v2g_share <= 1):
            raise FleetError(f"{where}: v2g_share must be a probability, got {self.v2g_share}")
        if self.arrival_h.kind == "fixed" and self.departure_h.kind == "fixed":
            if (self.departure_h.a - self.arrival_h.a) % 24 == 0:
                raise FleetError(f"{where}: departure equals arrival ({self.arrival_h.a} h)")


@dataclass(frozen=True)
class FleetSpec:
    """Vehicle types and how many of each are at each station.

    Attributes
    ----------
    name, source:
        Label and where the numbers come from (paper, table, assumptions).
    types:
        ``(n_types,)`` vehicle types.
    counts:
        ``(n_stations, n_types)`` counts. An entry is an int, or a ``(low, high)`` pair sampled as a
        uniform integer in ``[low, high]`` (002 table 3's ``M(a, b)``, 004 table A1's ``U(a, b)``).
    min_dwell_h:
        Sampled stays shorter than this are lengthened to it (keeps every vehicle connected over at
        least one slot boundary).
    """

    name: str
    source: str
    types: tuple[VehicleType, ...]
    counts: tuple[tuple[int | tuple[int, int], ...], ...]
    min_dwell_h: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", tuple(self.types))
        rows = tuple(
            tuple(tuple(c) if isinstance(c, (tuple, list)) else c for c in row) for row in self.counts
        )
        object.__setattr__(self, "counts", rows)
        if not self.types:
            raise FleetError(f"fleet {self.name!r}: no vehicle types")
        if not rows:
            raise FleetError(f"fleet {self.name!r}: no stations")
        for j, row in enumerate(rows):
            if len(row) != len(self.types):
                raise FleetError(
                    f"fleet {self.name!r}: station {j} has {len(row)} counts for {len(self.types)} types"
                )
            for k, c in enumerate(row):
                lo, hi = c if isinstance(c, tuple) else (c, c)
                if int(lo) != lo or int(hi) != hi or lo < 0 or hi < lo:
                    raise FleetError(
                        f"fleet {self.name!r}: station {j}, type {self.types[k].name!r}: count {c!r} "
                        "must be a non-negative integer or an increasing (low, high) pair"
                    )
        if not (0 < self.min_dwell_h <= 23):
            raise FleetError(f"fleet {self.name!r}: min_dwell_h must be in (0, 23], got {self.min_dwell_h}")

    @property
    def n_stations(self) -> int:
        return len(self.counts)

    @property
    def n_types(self) -> int:
        return len(self.types)


# --------------------------------------------------------------------------------------------------
# presets
# --------------------------------------------------------------------------------------------------


def fleet_003(n_stations: int = 5) -> FleetSpec:
    """003's fleet: 900 EVs spread evenly over the stations (IEEE 33: 5 stations).

    From 003 section 3 and 6.1: private cars 32 kWh, 7 kW, efficiency 0.9, 90 % willing to do V2G,
    740 of the 900 EVs (ratio bus : taxi : business : private = 1 : 2.4 : 10.2 : 63.5). Their
    charging start times are N(9, 0.5^2) in the day period (chargeable 08:00-17:00) and
    N(19, 1.5^2) in the night period (18:00-07:00); the chargeable period ends at 17:00 and 07:00,
    which are taken as the departure times (``T_lim``).

    Assumptions (003 leaves them to its ref. [17]): half of the private cars charge in each period;
    arrival SOC U(0.2, 0.5), target SOC 0.9, SOC limits [0.2, 1.0] (this gives 2.3-3.8 h of
    charging, matching 003's example cluster of "three to four hours"); buses (150 kWh, 60 kW,
    arrive N(22, 1), leave 06:00), taxis (50 kWh, 30 kW, arrive N(13, 1), leave N(16, 0.5)) and
    business cars (40 kWh, 7 kW, arrive N(9, 1), leave N(17, 1)) charge plug-and-charge, none
    willing. Per station: 74 + 74 private, 24 business, 6 taxis, 2 buses (180; 900 in 5 stations).
    """
    if n_stations < 1:
        raise FleetError(f"fleet_003: n_stations must be >= 1, got {n_stations}")
    private = dict(
        battery_kwh=32.0,
        charger_kw=7.0,
        efficiency=0.9,
        soc_min=0.2,
        soc_max=1.0,
        soc_target=0.9,
        soc_arrival=uniform(0.2, 0.5),
        v2g_share=0.9,
    )
    types = (
        VehicleType("private_day", arrival_h=normal(9.0, 0.5), departure_h=fixed(17.0), **private),
        VehicleType("private_night", arrival_h=normal(19.0, 1.5), departure_h=fixed(7.0), **private),
        VehicleType(
            "business", 40.0, 7.0, 0.9, 0.2, 1.0, 0.9, normal(9.0, 1.0), normal(17.0, 1.0), uniform(0.2, 0.5)
        ),
        VehicleType(
            "taxi", 50.0, 30.0, 0.9, 0.2, 1.0, 0.9, normal(13.0, 1.0), normal(16.0, 0.5), uniform(0.2, 0.4)
        ),
        VehicleType("bus", 150.0, 60.0, 0.9, 0.2, 1.0, 0.9, normal(22.0, 1.0), fixed(6.0), uniform(0.2, 0.4)),
    )
    return FleetSpec(
        name="003",
        source="003 sections 3 and 6.1 (private cars); other types and SOCs assumed (see fleet_003)",
        types=types,
        counts=tuple((74, 74, 24, 6, 2) for _ in range(n_stations)),
    )


def _fleet_002_004_types(soc_i: Dist, soc_ii: Dist, soc_iii: Dist) -> tuple[VehicleType, ...]:
    ev = dict(
        battery_kwh=32.0,
        charger_kw=6.6,
        efficiency=0.95,
        soc_min=0.15,
        soc_max=0.9,
        soc_target=0.9,
        v2g_share=1.0,
    )
    return (
        VehicleType(
            "type_I", arrival_h=normal(18.0, 2.0), departure_h=normal(8.0, 2.0), soc_arrival=soc_i, **ev
        ),
        VehicleType(
            "type_II", arrival_h=normal(21.0, 1.0), departure_h=normal(7.0, 1.0), soc_arrival=soc_ii, **ev
        ),
        VehicleType(
            "type_III",
            arrival_h=normal(9.0, np.sqrt(2.0)),
            departure_h=normal(17.0, np.sqrt(2.0)),
            soc_arrival=soc_iii,
            **ev,
        ),
    )


def fleet_002() -> FleetSpec:
    """002's fleet: about 2000 EVs in 4 stations (002 tables 1-3).

    32 kWh, 6.6 kW, efficiency 0.95, SOC in [0.15, 0.9] (table 1). Arrival / departure
    N(18, 4) / N(8, 4), N(21, 1) / N(7, 1), N(9, 2) / N(17, 2) (table 2) are read as
    ``N(mu, sigma^2)``, the notation 002 declares, i.e. standard deviations 2, 1 and sqrt(2) h.
    Arrival SOC U(0.2, 0.4), U(0.4, 0.6), U(0.4, 0.6) of capacity (table 2). Counts ``M(a, b)`` of
    table 3 are uniform integers in ``[a, b]``; station 3's "M(900, 110)" is read as M(90, 110)
    (the counts then total about 2000, as 002 says). Target SOC 0.9 at departure and full V2G
    willingness are assumptions (002 treats every vehicle as part of the station's storage).
    """
    types = _fleet_002_004_types(uniform(0.2, 0.4), uniform(0.4, 0.6), uniform(0.4, 0.6))
    return FleetSpec(
        name="002",
        source="002 tables 1-3 (variance reading of N(mu, sigma^2); M(900, 110) read as M(90, 110))",
        types=types,
        counts=(
            ((180, 220), (190, 210), 0),
            ((180, 220), (80, 120), (380, 420)),
            (0, (90, 110), (380, 420)),
            ((380, 420), 0, 0),
        ),
    )


def fleet_004() -> FleetSpec:
    """004 table A1: three EV types in up to four stations.

    Arrival / departure N(18, 4) / N(8, 4), N(21, 1) / N(7, 1), N(9, 2) / N(17, 2) (variance
    reading as in :func:`fleet_002`), arrival SOC U(0.4, 0.6), U(0.2, 0.4), U(0.4, 0.6), counts
    ``U(a, b)`` as uniform integers. 004 gives no battery or charger data; 002's (32 kWh, 6.6 kW,
    0.95, SOC [0.15, 0.9]) are assumed.
    """
    types = _fleet_002_004_types(uniform(0.4, 0.6), uniform(0.2, 0.4), uniform(0.4, 0.6))
    return FleetSpec(
        name="004",
        source="004 table A1; battery and charger data from 002 table 1 (assumed)",
        types=types,
        counts=(
            ((180, 210), (190, 220), 0),
            ((180, 210), (90, 120), (380, 400)),
            (0, (90, 120), (380, 400)),
            ((380, 400), 0, 0),
        ),
    )


# --------------------------------------------------------------------------------------------------
# vehicles
# --------------------------------------------------------------------------------------------------


def fleet_000(counts: tuple[int, ...] = (500, 500, 500)) -> FleetSpec:
    """000's residential fleet (000 section 4.1: 1500 EVs at IEEE 33 nodes 5, 22 and 29), one
    station per EV node with ``counts`` vehicles each.

    000 gives no vehicle data; assumed (the reading notes' calibration, section 1.2): private car
    32 kWh, 7 kW, efficiency 0.9, SOC [0.2, 0.95], target 0.9, arrival N(18.5, 2^2) h, departure
    N(7.5, 1^2) h, arrival SOC U(0.6, 0.8), all willing to do V2G (the plan's V2G share decides how
    many have a V2G charger). Plug-and-charge, 1500 of them peak near 2 MW at 19-20 h, the
    difference between 000's 7.2 MW stage-III evening peak and the base load.
    """
    if len(counts) < 1 or any(int(c) != c or c < 0 for c in counts):
        raise FleetError(f"fleet_000: counts must be non-negative integers, got {counts}")
    car = VehicleType(
        "private", 32.0, 7.0, 0.9, 0.2, 0.95, 0.9, normal(18.5, 2.0), normal(7.5, 1.0), uniform(0.6, 0.8), 1.0
    )
    return FleetSpec(
        name="000",
        source="000 section 4.1 (count, nodes); vehicle data assumed (see fleet_000)",
        types=(car,),
        counts=tuple((int(c),) for c in counts),
    )


def _f64(x: ArrayLike) -> NDArray[np.float64]:
    a = np.array(x, dtype=np.float64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class VehicleSet:
    """One row per vehicle (all arrays ``(n_vehicles,)``, read-only).

    Attributes
    ----------
    station, type_index:
        Station and vehicle-type index of each vehicle.
    arrival_h, dwell_h:
        Clock arrival time in ``[0, 24)`` and connection time in ``(0, 23]`` hours.
    battery_kwh, charger_kw, efficiency, soc_min, soc_max, soc_target, soc_arrival:
        Per-vehicle parameters; ``soc_arrival <= soc_max``.
    v2g_willing:
        Owner willing to do V2G.
    n_stations:
        Number of stations (stations may be empty).
    """

    station: NDArray[np.int64]
    type_index: NDArray[np.int64]
    arrival_h: NDArray[np.float64]
    dwell_h: NDArray[np.float64]
    battery_kwh: NDArray[np.float64]
    charger_kw: NDArray[np.float64]
    efficiency: NDArray[np.float64]
    soc_min: NDArray[np.float64]
    soc_max: NDArray[np.float64]
    soc_target: NDArray[np.float64]
    soc_arrival: NDArray[np.float64]
    v2g_willing: NDArray[np.bool_]
    n_stations: int
    type_names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        names = [f for f in self.__dataclass_fields__ if f not in ("n_stations", "type_names")]
        n = np.asarray(self.station).shape
        for name in names:
            raw = np.asarray(getattr(self, name))
            if raw.ndim != 1 or raw.shape != n:
                raise FleetError(f"VehicleSet.{name}: expected shape {n}, got {raw.shape}")
            if name in ("station", "type_index"):
                arr = np.array(raw, dtype=np.int64)
            elif name == "v2g_willing":
                arr = np.array(raw, dtype=bool)
            else:
                arr = np.array(raw, dtype=np.float64)
                if not np.all(np.isfinite(arr)):
                    raise FleetError(
                        f"VehicleSet.{name}: non-finite value at vehicle {int(np.argmin(np.isfinite(arr)))}"
                    )
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        if self.n_stations < 1:
            raise FleetError(f"VehicleSet: n_stations must be >= 1, got {self.n_stations}")

        def fail(mask: NDArray[np.bool_], what: str) -> None:
            if np.any(mask):
                i = int(np.flatnonzero(mask)[0])
                raise FleetError(f"VehicleSet: {what} (vehicle {i}, station {int(self.station[i])})")

        fail((self.station < 0) | (self.station >= self.n_stations), "station index out of range")
        fail((self.arrival_h < 0) | (self.arrival_h >= 24), "arrival_h outside [0, 24)")
        fail(self.dwell_h <= 0, "departure equals arrival (dwell_h <= 0)")
        fail(self.dwell_h > 23, "dwell_h above 23 h (a stay must not cover the same hour twice)")
        fail((self.battery_kwh <= 0) | (self.charger_kw <= 0), "non-positive battery_kwh or charger_kw")
        fail((self.efficiency <= 0) | (self.efficiency > 1), "efficiency outside (0, 1]")
        fail(
            (self.soc_min < 0) | (self.soc_min >= self.soc_max) | (self.soc_max > 1),
            "SOC limits inverted or outside [0, 1]",
        )
        fail(
            (self.soc_target < self.soc_min) | (self.soc_target > self.soc_max),
            "soc_target outside SOC limits",
        )
        fail((self.soc_arrival < 0) | (self.soc_arrival > self.soc_max), "soc_arrival outside [0, soc_max]")

    # ---- derived quantities ------------------------------------------------------------------
    @property
    def n_vehicles(self) -> int:
        return int(self.station.shape[0])

    @property
    def departure_h(self) -> NDArray[np.float64]:
        """Clock departure time in ``[0, 24)``."""
        return (self.arrival_h + self.dwell_h) % 24.0

    @property
    def energy_arrival_kwh(self) -> NDArray[np.float64]:
        return self.soc_arrival * self.battery_kwh

    @property
    def energy_desired_kwh(self) -> NDArray[np.float64]:
        """Battery energy the owner expects at departure, ``max(SOC_e, SOC_0) * E``."""
        return np.maximum(self.soc_target, self.soc_arrival) * self.battery_kwh

    @property
    def full_charge_h(self) -> NDArray[np.float64]:
        """003 eq. (3) ``T_f`` in hours: ``(SOC_e - SOC_0) E / (eta P_e)`` (003 writes minutes)."""
        need = np.maximum(self.soc_target - self.soc_arrival, 0.0) * self.battery_kwh
        return need / (self.efficiency * self.charger_kw)

    @property
    def charge_h(self) -> NDArray[np.float64]:
        """003's actual charging time ``T_cd = min(T_f, T_lim)`` with ``T_lim`` the dwell."""
        return np.minimum(self.full_charge_h, self.dwell_h)

    @property
    def energy_required_kwh(self) -> NDArray[np.float64]:
        """Feasible departure energy: arrival energy plus what ``T_cd`` hours of charging store."""
        return self.energy_arrival_kwh + self.efficiency * self.charger_kw * self.charge_h

    @property
    def v2g_able(self) -> NDArray[np.bool_]:
        """Willing vehicles that can reach their target with time to spare (003 section 3 step 2).

        003's text says a willing EV whose ``T_f`` is *less* than ``T_lim`` joins the unwilling group
        "owing to its lack of V2G capabilities"; that is read as a slip for *not less*: only a
        vehicle with ``T_f < T_lim`` has slack to discharge and recharge.
        """
        return self.v2g_willing & (self.full_charge_h < self.dwell_h)

    def subset(self, mask: ArrayLike) -> VehicleSet:
        """The vehicles where ``mask`` is true (same stations)."""
        m = np.asarray(mask, dtype=bool)
        kw = {
            f: getattr(self, f)[m] for f in self.__dataclass_fields__ if f not in ("n_stations", "type_names")
        }
        return VehicleSet(**kw, n_stations=self.n_stations, type_names=self.type_names)


def sample_fleet(spec: FleetSpec, rng: np.random.Generator) -> VehicleSet:
    """Draw a fleet: counts per station and type, then every vehicle's times, SOC and willingness.

    Parameters
    ----------
    spec:
        The fleet.
    rng:
        Random generator (required; same generator state, same vehicles).

    Returns
    -------
    VehicleSet, vehicles ordered by station, then type.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"sample_fleet needs a numpy.random.Generator, got {type(rng).__name__}")
    n_st, n_ty = spec.n_stations, spec.n_types
    counts = np.empty((n_st, n_ty), dtype=np.int64)
    for j, row in enumerate(spec.counts):
        for k, c in enumerate(row):
            counts[j, k] = rng.integers(c[0], c[1] + 1) if isinstance(c, tuple) else c
    # vehicles ordered by station then type
    station = np.repeat(np.repeat(np.arange(n_st), n_ty), counts.ravel())
    type_index = np.repeat(np.tile(np.arange(n_ty), n_st), counts.ravel())
    n = station.shape[0]
    cols = {name: np.empty(n) for name in ("arr", "dep", "soc0", "wil")}
    per_type = [np.flatnonzero(type_index == k) for k in range(n_ty)]
    for k, t in enumerate(spec.types):
        idx = per_type[k]
        m = idx.shape[0]
        cols["arr"][idx] = t.arrival_h.sample(rng, m)
        cols["dep"][idx] = t.departure_h.sample(rng, m)
        cols["soc0"][idx] = t.soc_arrival.sample(rng, m)
        cols["wil"][idx] = rng.random(m) < t.v2g_share
    param = {
        a: np.array([getattr(t, a) for t in spec.types])
        for a in ("battery_kwh", "charger_kw", "efficiency", "soc_min", "soc_max", "soc_target")
    }
    arrival = cols["arr"] % 24.0
    dwell = (cols["dep"] - cols["arr"]) % 24.0  # departures after midnight wrap to the next day
    dwell = np.clip(dwell, spec.min_dwell_h, 23.0)
    soc_max = param["soc_max"][type_index]
    return VehicleSet(
        station=station,
        type_index=type_index,
        arrival_h=arrival,
        dwell_h=dwell,
        battery_kwh=param["battery_kwh"][type_index],
        charger_kw=param["charger_kw"][type_index],
        efficiency=param["efficiency"][type_index],
        soc_min=param["soc_min"][type_index],
        soc_max=soc_max,
        soc_target=param["soc_target"][type_index],
        soc_arrival=np.clip(cols["soc0"], 0.0, soc_max),
        v2g_willing=cols["wil"].astype(bool),
        n_stations=n_st,
        type_names=tuple(t.name for t in spec.types),
    )


# --------------------------------------------------------------------------------------------------
# time helpers
# --------------------------------------------------------------------------------------------------


def slot_overlap(start_h: ArrayLike, length_h: ArrayLike) -> NDArray[np.float64]:
    """Fraction of each hour slot covered by the cyclic interval ``[start, start + length)``.

    Parameters
    ----------
    start_h:
        ``(n,)`` clock start in ``[0, 24)``.
    length_h:
        ``(n,)`` length in ``[0, 24]``.

    Returns
    -------
    ``(n, 24)`` in ``[0, 1]``; row sums equal ``length_h``.
    """
    s = np.asarray(start_h, dtype=np.float64)[:, None]
    e = s + np.asarray(length_h, dtype=np.float64)[:, None]
    h = np.arange(2 * N_HOURS, dtype=np.float64)[None, :]
    ov = np.clip(np.minimum(e, h + 1.0) - np.maximum(s, h), 0.0, 1.0)
    return ov[:, :N_HOURS] + ov[:, N_HOURS:]


def _event_slot(t_h: NDArray[np.float64]) -> NDArray[np.int64]:
    """Slot of an event at clock time ``t``: ``ceil(t) - 1 (mod 24)``."""
    return (np.ceil(t_h).astype(np.int64) - 1) % N_HOURS


def _present_at_slot_end(v: VehicleSet) -> NDArray[np.bool_]:
    """``(n, 24)``: vehicle counted in its station's storage at the end of slot t (time t+1)."""
    tau = np.arange(1, N_HOURS + 1, dtype=np.float64)[None, :]
    r = (tau - v.arrival_h[:, None]) % 24.0
    return r < v.dwell_h[:, None]


def _per_station(v: VehicleSet, values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Sum ``(n, 24)`` per-vehicle values into ``(n_stations, 24)``."""
    out = np.zeros((v.n_stations, N_HOURS))
    np.add.at(out, v.station, values)
    return out


# --------------------------------------------------------------------------------------------------
# plug-and-charge load
# --------------------------------------------------------------------------------------------------


def uncoordinated_load_kw(v: VehicleSet) -> NDArray[np.float64]:
    """Plug-and-charge load per station and hour, 003 eq. (3).

    Each vehicle charges at its charger power from arrival for ``T_cd = min(T_f, T_lim)`` hours.

    Returns
    -------
    ``(n_stations, 24)`` grid-side kW; ``sum(load) * eta`` equals the energy stored.
    """
    ov = slot_overlap(v.arrival_h, v.charge_h)  # 003 eq. (3): T_cd = min(T_f, T_lim)
    return _per_station(v, ov * v.charger_kw[:, None])


# --------------------------------------------------------------------------------------------------
# generalized storage (002 eqs. (1), (4)-(6))
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StationLimits:
    """Each station's vehicles as one generalized storage device, 002 eqs. (4)-(6).

    All arrays ``(n_stations, 24)``, read-only.

    Attributes
    ----------
    p_ch_max_kw, p_dis_max_kw:
        Sum of the chargers of connected vehicles, weighted by the connected fraction of the hour
        (002 eq. (5)); discharge only for the vehicles allowed to discharge.
    energy_min_kwh, energy_max_kwh:
        Bounds on the stored energy at the end of each hour: sum over connected vehicles of
        ``min(SOC_min E, E_arr)`` and ``SOC_max E`` (002 eq. (5)).
    arrival_kwh, departure_kwh:
        Energy brought in by arrivals and taken away by departures (at the feasible departure
        energy ``E_req``) in each hour; ``delta_kwh = arrival_kwh - departure_kwh`` is 002's
        ``Delta S``.
    efficiency:
        ``(n_stations,)`` mean charging (= discharging) efficiency of the station's vehicles.
    """

    p_ch_max_kw: NDArray[np.float64]
    p_dis_max_kw: NDArray[np.float64]
    energy_min_kwh: NDArray[np.float64]
    energy_max_kwh: NDArray[np.float64]
    arrival_kwh: NDArray[np.float64]
    departure_kwh: NDArray[np.float64]
    efficiency: NDArray[np.float64]

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            a = np.array(getattr(self, name), dtype=np.float64)
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    @property
    def n_stations(self) -> int:
        return int(self.p_ch_max_kw.shape[0])

    @property
    def delta_kwh(self) -> NDArray[np.float64]:
        """002's ``Delta S_{j,t}``: arrivals minus departures, ``(n_stations, 24)``."""
        return self.arrival_kwh - self.departure_kwh

    def capped(self, capacity_kw: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Power limits under a per-candidate station capacity, without resampling the fleet.

        Parameters
        ----------
        capacity_kw:
            ``(n_candidates, n_stations)`` station capacities.

        Returns
        -------
        p_ch_max_kw, p_dis_max_kw : ``(n_candidates, n_stations, 24)`` = ``min(limit, capacity)``.
        """
        cap = np.asarray(capacity_kw, dtype=np.float64)
        if cap.ndim != 2 or cap.shape[1] != self.n_stations:
            raise FleetError(f"capacity_kw: expected (n_candidates, {self.n_stations}), got {cap.shape}")
        if np.any(cap < 0) or not np.all(np.isfinite(cap)):
            raise FleetError("capacity_kw: capacities must be finite and non-negative")
        return (
            np.minimum(self.p_ch_max_kw[None], cap[..., None]),
            np.minimum(self.p_dis_max_kw[None], cap[..., None]),
        )


def station_limits(v: VehicleSet, discharge_mask: ArrayLike | None = None) -> StationLimits:
    """Aggregate vehicles into each station's generalized storage, 002 eqs. (4)-(6).

    Parameters
    ----------
    v:
        The vehicles to aggregate (pass ``v.subset(v.v2g_able)`` for 003's V2G group).
    discharge_mask:
        ``(n_vehicles,)`` vehicles allowed to discharge; default all of ``v``.
    """
    x = slot_overlap(v.arrival_h, v.dwell_h)  # 002 eq. (4): X_{n,t}, as a fraction of the hour
    dis = (
        np.ones(v.n_vehicles, dtype=bool)
        if discharge_mask is None
        else np.asarray(discharge_mask, dtype=bool)
    )
    if dis.shape != (v.n_vehicles,):
        raise FleetError(f"discharge_mask: expected shape ({v.n_vehicles},), got {dis.shape}")
    present = _present_at_slot_end(v)
    e_arr = v.energy_arrival_kwh
    e_lo = np.minimum(v.soc_min * v.battery_kwh, e_arr)
    e_hi = v.soc_max * v.battery_kwh
    arr_slot = _event_slot(v.arrival_h)
    dep_slot = _event_slot(v.arrival_h + v.dwell_h)
    n_st = v.n_stations
    arrival = np.zeros((n_st, N_HOURS))
    departure = np.zeros((n_st, N_HOURS))
    np.add.at(arrival, (v.station, arr_slot), e_arr)  # 002 eq. (5), Delta S: arrivals
    np.add.at(departure, (v.station, dep_slot), v.energy_required_kwh)  # ... and departures
    eff_sum = np.bincount(v.station, weights=v.efficiency, minlength=n_st)
    cnt = np.bincount(v.station, minlength=n_st)
    eff = np.where(cnt > 0, eff_sum / np.maximum(cnt, 1), 1.0)
    return StationLimits(
        p_ch_max_kw=_per_station(v, x * v.charger_kw[:, None]),  # 002 eq. (5)
        p_dis_max_kw=_per_station(v, x * (v.charger_kw * dis)[:, None]),
        energy_min_kwh=_per_station(v, present * e_lo[:, None]),
        energy_max_kwh=_per_station(v, present * e_hi[:, None]),
        arrival_kwh=arrival,
        departure_kwh=departure,
        efficiency=eff,
    )


# --------------------------------------------------------------------------------------------------
# V2G clusters (003 section 3)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterSet:
    """Clusters of V2G vehicles with the same station, arrival hour, departure hour and required
    charging hours (003 section 3, step 3). Arrays ``(n_clusters,)`` unless noted, read-only.

    Attributes
    ----------
    station, arrival_slot, departure_slot, charge_hours:
        Cluster key (``charge_hours = ceil(T_f)``).
    n_vehicles:
        Vehicles in the cluster.
    avail_kw:
        ``(n_clusters, 24)`` sum of chargers times connected fraction of each hour.
    energy_arrival_kwh, energy_required_kwh, energy_min_kwh, energy_max_kwh:
        Sums over the cluster's vehicles (battery side); ``energy_min`` is the SOC_min floor of
        discharging, ``energy_max`` the SOC_max ceiling.
    efficiency:
        Mean efficiency of the cluster's vehicles.
    vehicle_cluster:
        ``(n_vehicles,)`` cluster of each vehicle of the clustered set.
    """

    station: NDArray[np.int64]
    arrival_slot: NDArray[np.int64]
    departure_slot: NDArray[np.int64]
    charge_hours: NDArray[np.int64]
    n_vehicles: NDArray[np.int64]
    avail_kw: NDArray[np.float64]
    energy_arrival_kwh: NDArray[np.float64]
    energy_required_kwh: NDArray[np.float64]
    energy_min_kwh: NDArray[np.float64]
    energy_max_kwh: NDArray[np.float64]
    efficiency: NDArray[np.float64]
    vehicle_cluster: NDArray[np.int64]
    n_stations: int

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            if name == "n_stations":
                continue
            a = np.array(getattr(self, name))
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    @property
    def n_clusters(self) -> int:
        return int(self.station.shape[0])

    @property
    def window_len(self) -> NDArray[np.int64]:
        """Number of hour slots from arrival slot to departure slot, both included."""
        return (self.departure_slot - self.arrival_slot) % N_HOURS + 1


def v2g_clusters(v: VehicleSet) -> ClusterSet:
    """Cluster vehicles by (station, arrival slot, departure slot, ``ceil(T_f)``), 003 section 3.

    Pass the V2G group, ``v.subset(v.v2g_able)``. Vehicles in a cluster share their connection
    slots, so the cluster's stored energy follows the station storage model (002 eq. (1)) exactly
    at hourly resolution.
    """
    arr_slot = _event_slot(v.arrival_h)
    dep_slot = _event_slot(v.arrival_h + v.dwell_h)
    te = np.ceil(v.full_charge_h - 1e-9).astype(np.int64)
    key = np.stack([v.station, arr_slot, dep_slot, te], axis=1)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.ravel()
    k = uniq.shape[0]
    avail = np.zeros((k, N_HOURS))
    np.add.at(avail, inv, slot_overlap(v.arrival_h, v.dwell_h) * v.charger_kw[:, None])

    def s(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.bincount(inv, weights=x, minlength=k)

    n = np.bincount(inv, minlength=k)
    return ClusterSet(
        station=uniq[:, 0],
        arrival_slot=uniq[:, 1],
        departure_slot=uniq[:, 2],
        charge_hours=uniq[:, 3],
        n_vehicles=n,
        avail_kw=avail,
        energy_arrival_kwh=s(v.energy_arrival_kwh),
        energy_required_kwh=s(v.energy_required_kwh),
        energy_min_kwh=s(np.maximum(v.soc_min * v.battery_kwh, 0.0)),
        energy_max_kwh=s(v.soc_max * v.battery_kwh),
        efficiency=s(v.efficiency) / np.maximum(n, 1),
        vehicle_cluster=inv.astype(np.int64),
        n_stations=v.n_stations,
    )
