"""Scenario sets of daily profiles: typical days (003), the 24 scenarios of 000, copula scenarios
(004). All return one :class:`ScenarioSet`.

* :func:`typical_days` -- 003 section 2: k-means++ over the days of a year, each day a vector of
  its 24 hourly wind speeds, irradiances and loads (each quantity scaled by its yearly maximum so
  the three weigh alike); the number of clusters is the one with the largest pseudo-F
  (Calinski-Harabasz) statistic over ``k_range``. A typical day is the mean of its member days
  (power curves are applied day by day before averaging), weighted by its day count.
* :func:`seasonal_scenarios` -- 000 section 3.3: 4 seasons (DJF, MAM, JJA, SON) x 3 weather types
  (terciles of daily irradiation within the season: overcast, cloudy, sunny) x 2 day types
  (weekday, weekend), each the mean of its days, weighted by its day count (24 scenarios).
* :func:`copula_scenarios` -- 004 section 3: per-hour kernel density estimates (Gaussian kernel,
  Silverman bandwidth) of wind and PV output (004 eq. (4)); a Frank copula for their dependence,
  its parameter fitted by inverting Kendall's tau of the days' mean wind and PV outputs (negative
  dependence allowed; 004 eq. (5)); ``n_samples`` daily scenarios (004: 500) sampled from it; then
  reduced to ``n_scenarios`` by k-means++ (representative = cluster mean, probability = cluster
  share; 004 cites K-means-based reduction, its ref. [35]). 004 does not say how the hours of a
  sampled day are tied together; here one copula draw ``(u, v)`` per day is mapped through every
  hour's inverse marginal CDF (a day is "a u-quantile wind day and a v-quantile PV day"), which
  keeps the daily shapes smooth and makes the daily means follow the copula exactly. The load of
  a copula scenario is the year's mean daily load shape.

``ScenarioSet`` arrays are ``(n_scenarios, 24)``, ready to broadcast into the power flow's
``(n_candidates, n_scenarios, 24, n_bus)`` batch axes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import integrate, optimize, special, stats

from .generation import WIND_003, WindTurbine
from .profiles import YearProfile

__all__ = [
    "ScenarioError",
    "ScenarioSet",
    "kmeans_pp",
    "pseudo_f",
    "typical_days",
    "seasonal_scenarios",
    "frank_tau",
    "frank_theta_from_tau",
    "frank_sample",
    "HourlyKDE",
    "copula_scenarios",
]


class ScenarioError(ValueError):
    """A scenario set with wrong shapes, negative values or weights that do not sum to one."""


@dataclass(frozen=True)
class ScenarioSet:
    """Daily scenarios with probabilities.

    Attributes
    ----------
    name, source:
        Label and data source (e.g. "TMY3 723170 Greensboro NC + BDEW H0", or "synthetic").
    pv_pu, wind_pu, load_pu:
        ``(n_scenarios, 24)`` PV and wind output per unit of rating, load per unit of peak.
    weight:
        ``(n_scenarios,)`` probabilities, summing to one.
    days:
        ``(n_scenarios,)`` day counts, or ``None``.
    extra:
        Optional further ``(n_scenarios, 24)`` arrays (e.g. ``"ghi_w_m2"``, ``"wind_speed_m_s"``).
    info:
        Method details (chosen k, pseudo-F scores, copula parameter...).
    """

    name: str
    source: str
    pv_pu: NDArray[np.float64]
    wind_pu: NDArray[np.float64]
    load_pu: NDArray[np.float64]
    weight: NDArray[np.float64]
    days: NDArray[np.int64] | None = None
    extra: Mapping[str, NDArray[np.float64]] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        w = np.array(self.weight, dtype=np.float64)
        if w.ndim != 1 or w.size == 0:
            raise ScenarioError(
                f"scenario set {self.name!r}: weight must be a non-empty 1-D array, got {w.shape}"
            )
        n = w.shape[0]
        for attr in ("pv_pu", "wind_pu", "load_pu"):
            a = np.array(getattr(self, attr), dtype=np.float64)
            if a.shape != (n, 24):
                raise ScenarioError(
                    f"scenario set {self.name!r}: {attr} has shape {a.shape}, expected ({n}, 24)"
                )
            if not np.all(np.isfinite(a)) or np.any(a < 0):
                raise ScenarioError(f"scenario set {self.name!r}: {attr} has negative or non-finite values")
            a.setflags(write=False)
            object.__setattr__(self, attr, a)
        if np.any(w < 0) or not np.all(np.isfinite(w)):
            raise ScenarioError(f"scenario set {self.name!r}: negative or non-finite weight")
        if abs(w.sum() - 1.0) > 1e-9:
            raise ScenarioError(f"scenario set {self.name!r}: weights sum to {w.sum():.12g}, not 1")
        w.setflags(write=False)
        object.__setattr__(self, "weight", w)
        if self.days is not None:
            d = np.array(self.days, dtype=np.int64)
            if d.shape != (n,) or np.any(d < 0):
                raise ScenarioError(f"scenario set {self.name!r}: days must be ({n},) non-negative")
            d.setflags(write=False)
            object.__setattr__(self, "days", d)
        ex = {}
        for k, v in dict(self.extra).items():
            a = np.array(v, dtype=np.float64)
            if a.shape != (n, 24):
                raise ScenarioError(f"scenario set {self.name!r}: extra {k!r} has shape {a.shape}")
            a.setflags(write=False)
            ex[k] = a
        object.__setattr__(self, "extra", MappingProxyType(ex))
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))

    @property
    def n_scenarios(self) -> int:
        return int(self.weight.shape[0])


def _check_rng(rng: object, where: str) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{where} needs a numpy.random.Generator, got {type(rng).__name__}")
    return rng


# --------------------------------------------------------------------------------------------------
# k-means++ and the pseudo-F statistic
# --------------------------------------------------------------------------------------------------


def _sqdist(x: NDArray[np.float64], c: NDArray[np.float64]) -> NDArray[np.float64]:
    d = (x * x).sum(1)[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :]
    return np.maximum(d, 0.0)


def kmeans_pp(
    x: ArrayLike, k: int, rng: np.random.Generator, *, n_init: int = 10, max_iter: int = 300
) -> tuple[NDArray[np.int64], NDArray[np.float64], float]:
    """k-means with k-means++ seeding (Arthur & Vassilvitskii 2007), best of ``n_init`` runs.

    Parameters
    ----------
    x:
        ``(n, d)`` points.
    k:
        Number of clusters, ``1 <= k <= n``.
    rng:
        Random generator (same state, same result).

    Returns
    -------
    labels ``(n,)``, centers ``(k, d)``, inertia (sum of squared distances to the centers).
    """
    _check_rng(rng, "kmeans_pp")
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if x.ndim != 2 or not (1 <= k <= n):
        raise ScenarioError(f"kmeans_pp: need (n, d) points and 1 <= k <= n, got shape {x.shape}, k={k}")
    best: tuple[NDArray[np.int64], NDArray[np.float64], float] | None = None
    for _ in range(n_init):
        centers = np.empty((k, x.shape[1]))
        centers[0] = x[rng.integers(n)]
        d2 = _sqdist(x, centers[:1])[:, 0]
        for i in range(1, k):
            tot = d2.sum()
            idx = rng.choice(n, p=d2 / tot) if tot > 0 else rng.integers(n)
            centers[i] = x[idx]
            d2 = np.minimum(d2, _sqdist(x, centers[i : i + 1])[:, 0])
        labels = np.zeros(n, dtype=np.int64)
        for it in range(max_iter):
            new = np.argmin(_sqdist(x, centers), axis=1)
            if it > 0 and np.array_equal(new, labels):
                break
            labels = new
            for i in range(k):
                m = labels == i
                if m.any():
                    centers[i] = x[m].mean(0)
                else:  # empty cluster: re-seed at the farthest point
                    far = np.argmax(_sqdist(x, centers).min(1))
                    centers[i] = x[far]
        inertia = float(_sqdist(x, centers)[np.arange(n), labels].sum())
        if best is None or inertia < best[2] - 1e-12:
            best = (labels.copy(), centers.copy(), inertia)
    assert best is not None  # n_init >= 1
    return best


def pseudo_f(x: ArrayLike, labels: ArrayLike) -> float:
    """Pseudo-F (Calinski-Harabasz) statistic: ``[B / (k - 1)] / [W / (n - k)]``.

    ``B`` and ``W`` are the between- and within-cluster sums of squares. Needs ``2 <= k < n``.
    """
    x = np.asarray(x, dtype=np.float64)
    lab = np.asarray(labels)
    ks = np.unique(lab)
    n, k = x.shape[0], ks.size
    if not (2 <= k < n):
        raise ScenarioError(f"pseudo_f: need 2 <= k < n clusters, got k={k}, n={n}")
    mean = x.mean(0)
    b = w = 0.0
    for c in ks:
        xc = x[lab == c]
        mc = xc.mean(0)
        b += xc.shape[0] * float(((mc - mean) ** 2).sum())
        w += float(((xc - mc) ** 2).sum())
    return (b / (k - 1)) / (w / (n - k)) if w > 0 else np.inf


# --------------------------------------------------------------------------------------------------
# typical days (003) and 000's 24 scenarios
# --------------------------------------------------------------------------------------------------


def _year_arrays(year: YearProfile, turbine: WindTurbine, rated_irradiance_w_m2: float):
    return year.pv_pu(rated_irradiance_w_m2), year.wind_pu(turbine), year.daily("load_pu")


def _group_means(year: YearProfile, labels: NDArray[np.int64], k: int, turbine, rated, name, source, info):
    pv, wind, load = _year_arrays(year, turbine, rated)
    ghi, ws = year.daily("ghi_w_m2"), year.daily("wind_speed_m_s")
    counts = np.bincount(labels, minlength=k)
    keep = np.flatnonzero(counts > 0)

    def mean(a: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.zeros((k, 24))
        np.add.at(out, labels, a)
        return out[keep] / counts[keep, None]

    return ScenarioSet(
        name=name,
        source=source,
        pv_pu=mean(pv),
        wind_pu=mean(wind),
        load_pu=mean(load),
        weight=counts[keep] / counts.sum(),
        days=counts[keep],
        extra={"ghi_w_m2": mean(ghi), "wind_speed_m_s": mean(ws)},
        info={**info, "labels": labels},
    )


def typical_days(
    year: YearProfile,
    rng: np.random.Generator,
    *,
    k_range: range = range(2, 11),
    k: int | None = None,
    n_init: int = 10,
    turbine: WindTurbine = WIND_003,
    rated_irradiance_w_m2: float = 1000.0,
) -> ScenarioSet:
    """003's typical days: k-means++ with the number of clusters maximising pseudo-F.

    Parameters
    ----------
    year:
        The year of hourly data.
    rng:
        Random generator for the k-means++ seeding.
    k_range:
        Cluster counts tried (each >= 2).
    k:
        Force this cluster count (e.g. 003's four typical days) instead of the pseudo-F maximum;
        the pseudo-F scores over ``k_range`` are still reported.

    Returns
    -------
    ScenarioSet with ``days`` (members per typical day) and ``info["k"]``, ``info["pseudo_f"]``
    (``{k: score}``), ``info["labels"]`` (``(365,)`` cluster of each day).
    """
    _check_rng(rng, "typical_days")
    ks = sorted(set(k_range) | ({k} if k is not None else set()))
    if not ks or min(ks) < 2 or max(ks) >= 365:
        raise ScenarioError(f"typical_days: k_range must lie within 2..364, got {k_range}")
    feats = [year.daily(a) for a in ("wind_speed_m_s", "ghi_w_m2", "load_pu")]
    x = np.hstack([f / max(float(f.max()), 1e-12) for f in feats])  # (365, 72)
    scores: dict[int, float] = {}
    fits: dict[int, NDArray[np.int64]] = {}
    for kk in ks:
        labels, _, _ = kmeans_pp(x, kk, rng, n_init=n_init)
        fits[kk] = labels
        scores[kk] = pseudo_f(x, labels)
    k_best = max(ks, key=lambda kk: (scores[kk], -kk)) if k is None else k
    return _group_means(
        year,
        fits[k_best],
        k_best,
        turbine,
        rated_irradiance_w_m2,
        name=f"{year.name}: {k_best} typical days (k-means++, {'max pseudo-F' if k is None else 'k fixed'})",
        source=year.source,
        info={"method": "003 k-means++ / pseudo-F", "k": k_best, "pseudo_f": scores},
    )


SEASONS = ("winter", "spring", "summer", "autumn")
WEATHER = ("overcast", "cloudy", "sunny")
DAY_TYPES = ("weekday", "weekend")


def seasonal_scenarios(
    year: YearProfile, *, turbine: WindTurbine = WIND_003, rated_irradiance_w_m2: float = 1000.0
) -> ScenarioSet:
    """000's 24 typical scenarios: season x weather type x day type (see module docstring).

    ``info["labels"]`` gives each scenario's (season, weather, day type) in ``info["keys"]``.
    """
    month = np.cumsum(np.bincount(np.repeat(np.arange(12), [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])))
    day_month = np.searchsorted(month, np.arange(365), side="right")  # 0..11
    season = np.array([0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0])[day_month]
    energy = year.daily("ghi_w_m2").sum(1)
    weather = np.zeros(365, dtype=np.int64)
    for s in range(4):
        idx = np.flatnonzero(season == s)
        rank = np.argsort(np.argsort(energy[idx], kind="stable"), kind="stable")
        weather[idx] = (3 * rank) // idx.size  # terciles within the season
    daytype = (year.weekday >= 5).astype(np.int64)
    labels = season * 6 + weather * 2 + daytype
    keys = [(s, w, d) for s in SEASONS for w in WEATHER for d in DAY_TYPES]
    out = _group_means(
        year,
        labels,
        24,
        turbine,
        rated_irradiance_w_m2,
        name=f"{year.name}: 24 seasonal scenarios (000)",
        source=year.source,
        info={"method": "000 4 seasons x 3 weather types x 2 day types"},
    )
    present = np.flatnonzero(np.bincount(labels, minlength=24) > 0)
    return ScenarioSet(
        name=out.name,
        source=out.source,
        pv_pu=out.pv_pu,
        wind_pu=out.wind_pu,
        load_pu=out.load_pu,
        weight=out.weight,
        days=out.days,
        extra=out.extra,
        info={**out.info, "keys": [keys[i] for i in present]},
    )


# --------------------------------------------------------------------------------------------------
# Frank copula and per-hour kernel densities (004)
# --------------------------------------------------------------------------------------------------


def _debye1(theta: float) -> float:
    if abs(theta) < 1e-8:
        return 1.0 - theta / 4.0
    val, _ = integrate.quad(lambda t: t / np.expm1(t) if t != 0 else 1.0, 0.0, abs(theta))
    d = val / abs(theta)
    return d if theta > 0 else d + abs(theta) / 2.0


def frank_tau(theta: float) -> float:
    """Kendall's tau of the Frank copula: ``1 - 4/theta (1 - D1(theta))`` (0 at theta = 0)."""
    if abs(theta) < 1e-8:
        return 0.0
    return 1.0 - 4.0 / theta * (1.0 - _debye1(theta))


def frank_theta_from_tau(tau: float) -> float:
    """Frank parameter with Kendall's tau ``tau`` in (-1, 1); negative for negative dependence."""
    if not -1.0 < tau < 1.0:
        raise ScenarioError(f"Kendall's tau must lie in (-1, 1), got {tau}")
    if abs(tau) < 1e-10:
        return 0.0
    lo, hi = (1e-9, 1.0) if tau > 0 else (-1.0, -1e-9)
    while (frank_tau(hi if tau > 0 else lo) - tau) * (1 if tau > 0 else -1) < 0:
        if tau > 0:
            hi *= 2.0
        else:
            lo *= 2.0
        if abs(hi) > 1e4 or abs(lo) > 1e4:
            raise ScenarioError(f"Kendall's tau {tau} too extreme for a Frank copula")
    return float(optimize.brentq(lambda t: frank_tau(t) - tau, lo, hi, xtol=1e-12))


def frank_sample(theta: float, n: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """``(n, 2)`` draws ``(u, v)`` from a Frank copula, by conditional inversion."""
    _check_rng(rng, "frank_sample")
    u = rng.random(n)
    w = rng.random(n)
    if abs(theta) < 1e-8:
        return np.column_stack([u, w])
    # v = -1/theta * log(1 + w (e^-theta - 1) / (w + (1 - w) e^(-theta u)))
    a = np.expm1(-theta)
    v = -np.log1p(w * a / (w + (1.0 - w) * np.exp(-theta * u))) / theta
    return np.column_stack([u, np.clip(v, 0.0, 1.0)])


@dataclass(frozen=True)
class HourlyKDE:
    """Per-hour Gaussian kernel density estimates of a bounded daily profile (004 eq. (4)).

    Built from ``(n_days, 24)`` data; :meth:`ppf` maps quantile levels to values, clipped to
    ``[lower, upper]``.
    """

    grid: NDArray[np.float64]  # (24, n_grid)
    cdf: NDArray[np.float64]  # (24, n_grid)
    lower: float = 0.0
    upper: float = 1.0

    @classmethod
    def fit(cls, data: ArrayLike, *, n_grid: int = 512, lower: float = 0.0, upper: float = 1.0) -> HourlyKDE:
        x = np.asarray(data, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != 24 or x.shape[0] < 2:
            raise ScenarioError(f"HourlyKDE.fit: need (n_days >= 2, 24) data, got {x.shape}")
        n = x.shape[0]
        sd = x.std(0, ddof=1)
        iqr = np.subtract(*np.percentile(x, [75, 25], axis=0))
        s = np.minimum(sd, iqr / 1.349)
        s = np.where(s > 0, s, sd)
        h = np.maximum(0.9 * s * n ** (-0.2), 1e-6)  # Silverman's rule; tiny for constant hours
        lo = x.min(0) - 4 * h
        hi = x.max(0) + 4 * h
        g = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, n_grid)[None, :]
        z = (g[:, :, None] - x.T[:, None, :]) / h[:, None, None]  # (24, n_grid, n_days)
        cdf = special.ndtr(z).mean(-1)
        return cls(grid=g, cdf=cdf, lower=lower, upper=upper)

    def ppf(self, q: ArrayLike) -> NDArray[np.float64]:
        """``(n,)`` quantile levels -> ``(n, 24)`` values, hour by hour."""
        qa = np.clip(np.asarray(q, dtype=np.float64), 0.0, 1.0)
        out = np.empty((qa.shape[0], 24))
        for h in range(24):
            out[:, h] = np.interp(qa, self.cdf[h], self.grid[h])
        return np.clip(out, self.lower, self.upper)


def copula_scenarios(
    year: YearProfile,
    rng: np.random.Generator,
    *,
    n_samples: int = 500,
    n_scenarios: int = 10,
    turbine: WindTurbine = WIND_003,
    rated_irradiance_w_m2: float = 1000.0,
) -> ScenarioSet:
    """004's wind-PV scenarios: hourly KDE marginals, Frank copula, k-means++ reduction.

    Returns
    -------
    ScenarioSet of ``n_scenarios`` with ``info["theta"]``, ``info["tau"]`` (fitted Kendall tau),
    ``info["samples_wind_pu"]``, ``info["samples_pv_pu"]`` (``(n_samples, 24)``) and
    ``info["labels"]`` (reduced scenario of each sample).
    """
    _check_rng(rng, "copula_scenarios")
    if not (1 <= n_scenarios <= n_samples):
        raise ScenarioError(
            f"copula_scenarios: need 1 <= n_scenarios <= n_samples, got {n_scenarios}, {n_samples}"
        )
    pv, wind, load = _year_arrays(year, turbine, rated_irradiance_w_m2)
    tau = float(stats.kendalltau(wind.mean(1), pv.mean(1)).statistic)
    theta = frank_theta_from_tau(tau)  # 004 eq. (5), sign allowed
    uv = frank_sample(theta, n_samples, rng)
    w_s = HourlyKDE.fit(wind).ppf(uv[:, 0])  # 004 eq. (4)
    p_s = HourlyKDE.fit(pv).ppf(uv[:, 1])
    p_s[:, pv.max(0) <= 0] = 0.0  # hours without sun stay dark
    labels, _, _ = kmeans_pp(np.hstack([w_s, p_s]), n_scenarios, rng)
    counts = np.bincount(labels, minlength=n_scenarios)
    keep = np.flatnonzero(counts > 0)

    def mean(a: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.zeros((n_scenarios, 24))
        np.add.at(out, labels, a)
        return out[keep] / counts[keep, None]

    n = keep.size
    return ScenarioSet(
        name=f"{year.name}: {n} Frank-copula scenarios from {n_samples} samples (004)",
        source=year.source,
        pv_pu=mean(p_s),
        wind_pu=mean(w_s),
        load_pu=np.broadcast_to(load.mean(0), (n, 24)),
        weight=counts[keep] / n_samples,
        info={
            "method": "004 KDE + Frank copula + k-means++ reduction",
            "theta": theta,
            "tau": tau,
            "samples_wind_pu": w_s,
            "samples_pv_pu": p_s,
            "labels": labels,
        },
    )
