"""Figures a planner expects from the grid models, as functions returning a
:class:`matplotlib.figure.Figure`.

No pyplot state and no rcParams changes: figures are built with ``Figure()`` directly, so they
work under any backend (tests use Agg) and never leak into a user's session. Save with
``fig.savefig(path)``.

:func:`feeder_sites` (single-line drawing of a feeder with chosen sites) and its layout
:func:`feeder_layout` live in :mod:`grid.feeder_plot` and are re-exported here.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from .dispatch import DispatchResult
from .ev import StationLimits
from .feeder_plot import feeder_layout, feeder_sites
from .scenarios import ScenarioSet

__all__ = ["typical_day_profiles", "station_load", "station_energy_envelope", "feeder_sites", "feeder_layout"]

_HOURS = np.arange(24)


def typical_day_profiles(scenarios: ScenarioSet, *, max_lines: int = 12) -> Figure:
    """Wind, PV and load per unit for each scenario, line width by probability (3 panels)."""
    fig = Figure(figsize=(10, 3.4), layout="constrained")
    axes = fig.subplots(1, 3, sharex=True, sharey=True)
    order = np.argsort(-scenarios.weight, kind="stable")[:max_lines]
    wmax = float(scenarios.weight.max())
    for ax, attr, title in zip(axes, ("wind_pu", "pv_pu", "load_pu"), ("wind", "PV", "load"), strict=True):
        data = getattr(scenarios, attr)
        for i in order:
            label = f"{i}: p={scenarios.weight[i]:.3f}"
            if scenarios.days is not None:
                label += f" ({scenarios.days[i]} d)"
            ax.plot(_HOURS, data[i], lw=0.8 + 2.2 * scenarios.weight[i] / wmax, label=label)
        ax.set_title(f"{title} (pu)")
        ax.set_xlabel("hour")
        ax.set_xticks(range(0, 25, 6))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("per unit")
    axes[-1].legend(fontsize="x-small", loc="upper left")
    fig.suptitle(scenarios.name, fontsize="small")
    return fig


def station_load(
    result: DispatchResult,
    *,
    candidate: int = 0,
    scenario: int = 0,
    station: int | None = None,
    uncoordinated_kw: ArrayLike | None = None,
) -> Figure:
    """Station load: plug-and-charge reference against the dispatched charge and discharge.

    Parameters
    ----------
    result:
        A dispatch result.
    candidate, scenario:
        Which batch entry to show.
    station:
        One station, or ``None`` for the sum over stations.
    uncoordinated_kw:
        ``(n_stations, 24)`` load of the whole fleet charging plug-and-charge (003 eq. (3)), drawn
        as the uncoordinated reference; e.g. ``dispatch_model(v, v2g=zeros).uncoordinated_kw``.
    """
    sel = slice(None) if station is None else station

    def pick(a: np.ndarray) -> np.ndarray:
        x = np.asarray(a)[candidate, scenario, sel]
        return x if station is not None else x.sum(0)

    ch = pick(result.p_ch_kw)
    dis = pick(result.p_dis_kw)
    fig = Figure(figsize=(7, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.step(_HOURS, ch, where="post", label="charging (dispatched)")
    ax.step(_HOURS, -dis, where="post", label="V2G discharge")
    ax.step(_HOURS, ch - dis, where="post", color="k", lw=1.6, label="net")
    if uncoordinated_kw is not None:
        u = np.asarray(uncoordinated_kw, dtype=np.float64)
        u = u[station] if station is not None else u.sum(0)
        ax.step(_HOURS, u, where="post", ls="--", color="tab:red", label="plug-and-charge")
    ax.axhline(0.0, color="0.5", lw=0.6)
    ax.set_xlabel("hour")
    ax.set_ylabel("kW")
    ax.set_xticks(range(0, 25, 3))
    where = "all stations" if station is None else f"station {station}"
    ax.set_title(f"EV load, {where} ({result.method}; candidate {candidate}, scenario {scenario})")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def station_energy_envelope(
    limits: StationLimits,
    station: int = 0,
    *,
    result: DispatchResult | None = None,
    candidate: int = 0,
    scenario: int = 0,
) -> Figure:
    """A station's energy bounds ``S_min``/``S_max`` (002 eq. (5)) and power limits, with a
    dispatched energy trajectory when ``result`` is given."""
    fig = Figure(figsize=(7, 5), layout="constrained")
    ax_e, ax_p = fig.subplots(2, 1, sharex=True)
    ax_e.fill_between(
        _HOURS,
        limits.energy_min_kwh[station],
        limits.energy_max_kwh[station],
        step="post",
        alpha=0.25,
        label="[S_min, S_max]",
    )
    if result is not None:
        ax_e.step(
            _HOURS,
            result.energy_kwh[candidate, scenario, station],
            where="post",
            color="k",
            label=f"stored energy ({result.method})",
        )
    ax_e.set_ylabel("kWh")
    ax_e.legend(fontsize="small")
    ax_e.set_title(f"station {station}: energy envelope")
    ax_e.grid(alpha=0.3)
    ax_p.step(_HOURS, limits.p_ch_max_kw[station], where="post", label="P_ch,max")
    ax_p.step(_HOURS, -limits.p_dis_max_kw[station], where="post", label="-P_dis,max")
    ax_p.step(_HOURS, limits.delta_kwh[station], where="post", ls=":", label="Delta S (kWh/h)")
    ax_p.axhline(0.0, color="0.5", lw=0.6)
    ax_p.set_xlabel("hour")
    ax_p.set_ylabel("kW")
    ax_p.set_xticks(range(0, 25, 3))
    ax_p.legend(fontsize="small")
    ax_p.grid(alpha=0.3)
    return fig
