"""A single-line drawing of a radial feeder with chosen sites (EV stations, wind, PV, ...).

The data carry no coordinates, so the layout comes from the radial tree alone
(:func:`feeder_layout`): ``x`` is the depth (branches from the slack), the main feeder (the
longest path from the slack) runs along ``y = 0``, and every lateral leaves its branch bus with a
vertical step and then runs horizontally on a row of its own. Laterals are packed on a unit grid,
downstream ones nearest to the line they leave, so no two buses share a position and no branch
crosses another (ties, drawn dashed, may). Pure numpy/networkx, deterministic.

Re-exported by :mod:`grid.plots`; like it, no pyplot state and no rcParams changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .network import Network

__all__ = ["feeder_layout", "feeder_sites"]

# (marker, colour) per site category, in order of appearance in ``sites``
_SITE_STYLES = (
    ("o", "tab:blue"),
    ("^", "tab:green"),
    ("D", "tab:orange"),
    ("v", "tab:purple"),
    ("P", "tab:red"),
    ("X", "tab:brown"),
    ("h", "tab:pink"),
    ("*", "tab:olive"),
)
_DEFAULT_AREA = 90.0  # pt^2, a site without a size
_MAX_AREA = 320.0  # pt^2, the largest sized site
_MIN_AREA = 30.0
_SHARED_DX = 0.3  # data units between the markers of categories sharing a bus


def _children(net: Network) -> list[list[int]]:
    kids: list[list[int]] = [[] for _ in range(net.n_bus)]
    for f, t in zip(net.from_idx.tolist(), net.to_idx.tolist(), strict=True):
        kids[f].append(t)
    return kids


def _layout_idx(net: Network) -> dict[int, tuple[int, int]]:
    """Grid position of every internal bus index (see :func:`feeder_layout`)."""
    kids = _children(net)
    order = [0]  # preorder from the slack, so reversed it visits children before parents
    for v in order:
        order.extend(kids[v])
    height = np.zeros(net.n_bus, np.int64)  # branches on the longest path down from a bus
    size = np.ones(net.n_bus, np.int64)
    for v in reversed(order):
        for c in kids[v]:
            height[v] = max(height[v], height[c] + 1)
            size[v] += size[c]
    # the heavy child continues its parent's row: longest path, then bigger subtree, then data order
    heavy = [max(k, key=lambda c: (height[c], size[c], -c)) if k else -1 for k in kids]

    def shape(v: int) -> tuple[dict[int, tuple[int, int]], set[tuple[int, int]]]:
        """Positions relative to ``v`` at (0, 0) and the grid cells its drawing occupies."""
        path = [v]
        while heavy[path[-1]] >= 0:
            path.append(heavy[path[-1]])
        pos = {b: (i, 0) for i, b in enumerate(path)}
        cells = set(pos.values())
        laterals = [(i, c) for i, b in enumerate(path) for c in kids[b] if c != heavy[b]]
        # downstream laterals first: they sit nearest the row, so upstream steps pass beside them
        laterals.sort(key=lambda ic: (-ic[0], -height[ic[1]], -size[ic[1]], ic[1]))
        for i, c in laterals:
            sub_pos, sub_cells = shape(c)
            placed = None
            for strict in (True, False):  # not strict: a last resort for >2 laterals at one bus
                for k in range(1, 2 * net.n_bus + 2):
                    dy = -((k + 1) // 2) if k % 2 else k // 2  # -1, 1, -2, 2, ... (below first)
                    step = {(i, y) for y in range(min(0, dy), max(0, dy) + 1) if y != 0}
                    moved = {(x + i + 1, y + dy) for x, y in sub_cells}
                    if not (moved & cells) and (not strict or not (step & cells)):
                        placed = dy, moved | step
                        break
                if placed is not None:
                    break
            assert placed is not None  # a free row always exists beyond the drawing
            dy, new = placed
            cells |= new
            pos.update({b: (x + i + 1, y + dy) for b, (x, y) in sub_pos.items()})
        return pos, cells

    return shape(0)[0]


def feeder_layout(net: Network) -> dict[int, tuple[float, float]]:
    """Positions ``{bus label: (x, y)}`` of a tree drawing of ``net`` from its topology alone.

    ``x`` is the number of branches between the bus and the slack (at ``(0, 0)``); the main feeder,
    the longest path from the slack, lies on ``y = 0``; a lateral leaves its branch bus at ``x``
    with a vertical step to its own row and reaches its first bus at ``x + 1``. All positions are
    integers and distinct, and drawn branches (straight or one elbow, see :func:`feeder_sites`)
    neither cross nor overlap.
    """
    pos = _layout_idx(net)
    return {int(net.bus[i]): (float(x), float(y)) for i, (x, y) in sorted(pos.items())}


def _branch_xy(p: tuple[float, float], c: tuple[float, float]) -> tuple[list[float], list[float]]:
    """Polyline parent -> child: straight on one row, else vertical at the parent then horizontal."""
    if p[1] == c[1]:
        return [p[0], c[0]], [p[1], c[1]]
    return [p[0], p[0], c[0]], [p[1], c[1], c[1]]


def _tie_xy(a: tuple[float, float], b: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """A gentle arc between two buses (a quadratic Bezier), so a tie does not hide straight lines."""
    pa, pb = np.asarray(a), np.asarray(b)
    d = pb - pa
    ctrl = (pa + pb) / 2 + 0.18 * np.array([-d[1], d[0]])
    t = np.linspace(0.0, 1.0, 41)[:, None]
    xy = (1 - t) ** 2 * pa + 2 * (1 - t) * t * ctrl + t**2 * pb
    return xy[:, 0], xy[:, 1]


def _normalise_sites(net: Network, sites: Mapping[str, Any] | None) -> dict[str, dict[int, float | None]]:
    """``{category: {bus: size_kw or None}}``; unknown buses and bad sizes raise ``ValueError``."""
    out: dict[str, dict[int, float | None]] = {}
    known = set(net.bus.tolist())
    for cat, buses in (sites or {}).items():
        if isinstance(buses, Mapping):
            items = [(b, s) for b, s in buses.items()]
        elif isinstance(buses, Iterable) and not isinstance(buses, str):
            items = [(b, None) for b in buses]
        else:
            items = [(buses, None)]
        entry: dict[int, float | None] = {}
        for b, s in items:
            try:
                label = int(b)
            except (TypeError, ValueError):
                raise ValueError(f"site {b!r} of category {cat!r} is not a bus label") from None
            if label != b or label not in known:
                raise ValueError(f"bus {b!r} of category {cat!r} is not in network {net.name!r}")
            if s is not None:
                s = float(s)
                if not np.isfinite(s) or s < 0:
                    raise ValueError(
                        f"size {s} kW of bus {label} in category {cat!r} must be >= 0 and finite"
                    )
            entry[label] = s
        out[str(cat)] = entry
    return out


def feeder_sites(
    net: Network,
    sites: Mapping[str, Any] | None = None,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    ties: bool = True,
    label_buses: bool = True,
) -> Figure:
    """Single-line drawing of ``net`` (layout :func:`feeder_layout`) with sites marked on it.

    Parameters
    ----------
    net:
        The feeder.
    sites:
        ``{category: buses}`` (e.g. ``{"EVS": [5, 30], "PV": [9]}``) or ``{category: {bus: size_kw}}``.
        Each category gets its own marker and colour; with sizes, the marker area is proportional to
        the size (one scale for all categories) and the size is written next to it. Categories
        sharing a bus are drawn side by side around it. A bus not in ``net`` raises ``ValueError``.
    ax:
        Draw there (and return ``ax.figure``); by default a new constrained-layout figure.
    title:
        Axes title; default: case name, bus count and voltage.
    ties:
        Draw the normally-open ties (dashed arcs).
    label_buses:
        Write the bus labels next to the buses.

    The scatter of a category carries the category as its label, its offsets are the marker
    positions (the bus positions of :func:`feeder_layout`, shifted by at most
    ``0.3 * (n_shared - 1) / 2`` along ``x`` where categories share a bus).
    """
    cats = _normalise_sites(net, sites)
    pos = feeder_layout(net)
    xs = np.array([p[0] for p in pos.values()])
    ys = np.array([p[1] for p in pos.values()])
    ncol, nrow = int(xs.max()) + 1, int(ys.max() - ys.min()) + 1
    if ax is None:
        # the aspect is equal: size the figure to the drawing, ~0.42 in per grid unit
        data_w, data_h = ncol + 0.6, nrow + 1.2
        width = min(max(0.42 * data_w + 0.3, 6.0), 18.0)
        unit = (width - 0.3) / data_w
        height = min(unit * data_h + 1.6, 14.0)
        fig = Figure(figsize=(width, height), layout="constrained")
        ax = fig.subplots()
        own_figure = True
    else:
        own_figure = False
    fig = ax.figure

    trunk = {b for b, (_, y) in pos.items() if y == 0.0}
    labels = net.bus.tolist()
    for f, t in zip(net.from_idx.tolist(), net.to_idx.tolist(), strict=True):
        a, b = labels[f], labels[t]
        main = a in trunk and b in trunk
        ax.plot(
            *_branch_xy(pos[a], pos[b]),
            color="0.15",
            lw=2.2 if main else 1.3,
            solid_capstyle="round",
            zorder=1,
        )
    if ties:
        for a, b in zip(net.tie_from.tolist(), net.tie_to.tolist(), strict=True):
            ax.plot(
                *_tie_xy(pos[a], pos[b]), color="tab:gray", ls=(0, (4, 2.5)), lw=1.1, zorder=0.5, gid="tie"
            )
    slack = net.slack_bus
    others = [b for b in labels if b != slack]
    ax.scatter(
        [pos[b][0] for b in others], [pos[b][1] for b in others], s=14, color="0.15", zorder=2, gid="buses"
    )
    ax.scatter([pos[slack][0]], [pos[slack][1]], s=150, marker="s", color="0.15", zorder=3, gid="slack")

    # markers: categories sharing a bus are spread along x around it
    shared: dict[int, list[str]] = {}
    for cat, entry in cats.items():
        for b in entry:
            shared.setdefault(b, []).append(cat)
    sizes = [s for e in cats.values() for s in e.values() if s is not None]
    smax = max(sizes, default=0.0)

    def area(s: float | None) -> float:
        if s is None:
            return _DEFAULT_AREA
        return max(_MAX_AREA * s / smax, _MIN_AREA) if smax > 0 else _MIN_AREA

    if label_buses:  # upper right of the bus, clear of the marker(s) drawn on it
        radius = {b: 0.0 for b in labels}
        radius[slack] = np.sqrt(150.0) / 2 + 1.0
        for entry in cats.values():
            for b, s in entry.items():
                spread = 0.5 * (len(shared[b]) - 1) * _SHARED_DX * 72 * 0.42  # about, in points
                radius[b] = max(radius[b], 0.8 * np.sqrt(area(s)) / 2 + 1.0 + spread)
        for b in labels:
            off = max(2.5, radius[b])
            ax.annotate(
                str(b),
                pos[b],
                xytext=(off, off),
                textcoords="offset points",
                fontsize=6,
                color="0.3",
                ha="left",
                va="bottom",
                zorder=7,
            )
    handles = [
        Line2D([], [], marker="s", ms=8, color="0.15", ls="", label=f"substation (bus {slack})"),
        Line2D([], [], color="0.15", lw=1.5, marker="o", ms=3, label="line, bus"),
    ]
    if ties and len(net.tie_from):
        handles.append(
            Line2D([], [], color="tab:gray", ls=(0, (4, 2.5)), lw=1.1, label="tie (normally open)")
        )
    for k, (cat, entry) in enumerate(cats.items()):
        marker, colour = _SITE_STYLES[k % len(_SITE_STYLES)]
        pts, areas = [], []
        for b, s in entry.items():
            peers = shared[b]
            dx = _SHARED_DX * (peers.index(cat) - (len(peers) - 1) / 2)
            pts.append((pos[b][0] + dx, pos[b][1]))
            areas.append(area(s))
        xy = np.array(pts, dtype=np.float64).reshape(-1, 2)
        ax.scatter(
            xy[:, 0],
            xy[:, 1],
            s=areas,
            marker=marker,
            color=colour,
            edgecolors="k",
            linewidths=0.6,
            alpha=0.9,
            zorder=5,
            label=cat,
        )
        for (x, y), s, a in zip(pts, entry.values(), areas, strict=True):
            if s is not None:
                ax.annotate(
                    f"{s:g} kW",
                    (x, y),
                    xytext=(0, -(np.sqrt(a) / 2 + 1.5)),
                    textcoords="offset points",
                    fontsize=6.5,
                    color=colour,
                    ha="center",
                    va="top",
                    zorder=6,
                    fontweight="bold",
                    bbox={"fc": "white", "ec": "none", "pad": 0.6, "alpha": 0.85},
                )
        total = sum(s for s in entry.values() if s is not None)
        note = f", {total:g} kW" if any(s is not None for s in entry.values()) else ""
        handles.append(
            Line2D(
                [],
                [],
                marker=marker,
                ms=8,
                color=colour,
                mec="k",
                mew=0.6,
                ls="",
                label=f"{cat} ({len(entry)} site{'s' if len(entry) != 1 else ''}{note})",
            )
        )

    ax.set_aspect("equal")
    ax.set_xlim(xs.min() - 0.4, xs.max() + 0.2 + 0.4)
    ax.set_ylim(ys.min() - 0.6, ys.max() + 0.6)
    ax.set_axis_off()
    if title is None:
        title = f"{net.name}: {net.n_bus} buses, {net.base_kv:g} kV"
    ax.set_title(title, fontsize="medium")
    legend_title = "marker area proportional to kW" if sizes else None
    legend = {
        "handles": handles,
        "fontsize": "small",
        "frameon": False,
        "title": legend_title,
        "title_fontsize": "x-small",
    }
    if own_figure:
        ncols = _legend_columns([h.get_label() for h in handles], fig.get_figwidth() * 0.95)
        fig.legend(loc="outside lower center", ncols=ncols, **legend)
        # the equal aspect shrinks the axes box to the drawing: drop the blank bands it leaves
        fig.draw_without_rendering()
        spare = (ax.get_position(original=True).height - ax.get_position().height) * fig.get_figheight()
        if spare > 0.05:
            fig.set_size_inches(fig.get_figwidth(), fig.get_figheight() - spare)
    else:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=min(len(handles), 3), **legend)
    return fig


def _legend_columns(labels: list[str], width_in: float) -> int:
    """Legend columns for the fewest rows whose estimated width fits ``width_in`` (rows kept full)."""
    est = [0.6 + 0.065 * len(t) for t in labels]  # handle + gap, ~0.065 in a character at "small"
    n = len(labels)
    for rows in range(1, n + 1):
        ncols = -(-n // rows)
        cols = [max(est[i : i + rows]) for i in range(0, n, rows)]
        if sum(cols) <= width_in:
            return ncols
    return 1
