from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from grid import cases, dispatch, ev, plots, profiles, scenarios, tariffs  # noqa: E402


@pytest.fixture(scope="module")
def dispatched():
    v = ev.sample_fleet(ev.fleet_003(), np.random.default_rng(0))
    m = dispatch.dispatch_model(v)
    res = dispatch.dispatch_heuristic(m, np.full((1, 5), 400.0), *tariffs.v2g_prices(tariffs.tou_003()))
    ref = dispatch.dispatch_model(v, v2g=np.zeros(v.n_vehicles, bool)).uncoordinated_kw
    return m, res, ref


def test_typical_day_figure(tmp_path):
    before = dict(matplotlib.rcParams)
    s = scenarios.seasonal_scenarios(profiles.synthetic_year(np.random.default_rng(0)))
    fig = plots.typical_day_profiles(s)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert len(fig.axes[1].lines) == 12
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), s.pv_pu[np.argmax(s.weight)])
    fig.savefig(tmp_path / "td.png")
    assert (tmp_path / "td.png").stat().st_size > 0
    assert dict(matplotlib.rcParams) == before


def test_station_load_figure(dispatched):
    m, res, ref = dispatched
    fig = plots.station_load(res, station=None, uncoordinated_kw=ref)
    net = [ln for ln in fig.axes[0].lines if ln.get_label() == "net"][0]
    np.testing.assert_allclose(net.get_ydata(), res.p_net_kw[0, 0].sum(0))
    fig1 = plots.station_load(res, station=2)
    assert fig1.axes[0].get_title().startswith("EV load, station 2")


def test_envelope_figure(dispatched):
    m, res, _ = dispatched
    fig = plots.station_energy_envelope(m.limits, 1, result=res)
    assert len(fig.axes) == 2
    line = fig.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), res.energy_kwh[0, 0, 1])


# ---------------------------------------------------------------- feeder drawing with sites
FEEDERS = ["ieee33", "pge69", "ieee34", "ieee123"]
SITES_33 = {"EVS": {5: 300, 30: 250}, "wind": [14, 20], "PV": [9, 30]}


def _lattice_points(p, c):
    """Integer grid points a drawn branch parent -> child covers, the parent end excluded."""
    (xp, yp), (xc, yc) = p, c
    step = 1 if yc >= yp else -1
    pts = {(xp, y) for y in range(int(yp) + step, int(yc) + step, step)} if yc != yp else set()
    return pts | {(xc, yc)}


@pytest.mark.parametrize("case", FEEDERS)
def test_feeder_layout_is_a_tidy_tree(case):
    net = cases.load(case)
    pos = plots.feeder_layout(net)
    assert sorted(pos) == sorted(net.bus.tolist())
    assert pos[net.slack_bus] == (0.0, 0.0)
    assert len(set(pos.values())) == net.n_bus  # no two buses at one position
    covered = set()
    bus_points = set(pos.values())
    for f, t in zip(net.bus[net.from_idx].tolist(), net.bus[net.to_idx].tolist(), strict=True):
        (xp, _), (xc, yc) = pos[f], pos[t]
        assert xc == xp + 1 and float(xc).is_integer() and float(yc).is_integer()  # x is the depth
        pts = _lattice_points(pos[f], pos[t])
        # the branch joins parent and child and touches no other bus and no other branch
        assert not (pts - {pos[t]}) & bus_points, (f, t)
        assert not pts & covered, (f, t)
        covered |= pts


def test_ieee33_main_feeder_on_one_line():
    pos = plots.feeder_layout(cases.load("ieee33"))
    assert {b for b, (_, y) in pos.items() if y == 0} == set(range(1, 19))
    assert [pos[b][0] for b in range(1, 19)] == list(range(18))


@pytest.mark.parametrize("case", FEEDERS)
def test_feeder_sites_draws_every_case(case, tmp_path):
    before = dict(matplotlib.rcParams)
    net = cases.load(case)
    b = net.bus.tolist()
    sites = {"EVS": {b[3]: 200.0, b[-1]: 400.0}, "PV": [b[3], b[len(b) // 2]]}
    fig = plots.feeder_sites(net, sites)
    assert isinstance(fig, Figure)
    fig.savefig(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 0
    assert dict(matplotlib.rcParams) == before
    (ax,) = fig.axes
    pos = plots.feeder_layout(net)
    pv = [c for c in ax.collections if c.get_label() == "PV"][0].get_offsets()
    np.testing.assert_allclose(pv[1], pos[b[len(b) // 2]])  # a bus of one category: on the node
    assert abs(pv[0][0] - pos[b[3]][0]) <= 0.3 and pv[0][1] == pos[b[3]][1]  # shared: beside it
    n_ties = sum(line.get_gid() == "tie" for line in ax.lines)
    assert n_ties == len(net.tie_from)
    assert {t.get_text() for t in ax.texts} >= {str(x) for x in b} | {"200 kW", "400 kW"}


def test_feeder_sites_markers_sizes_and_legend():
    net = cases.load("ieee33")
    fig = plots.feeder_sites(net, SITES_33, title="sites")
    ax = fig.axes[0]
    pos = plots.feeder_layout(net)
    by_cat = {c.get_label(): c for c in ax.collections if c.get_label() in SITES_33}
    assert set(by_cat) == set(SITES_33)
    evs = by_cat["EVS"]
    np.testing.assert_allclose(evs.get_offsets()[0], pos[5])
    assert evs.get_offsets()[1][1] == pos[30][1]  # bus 30 also has PV: shifted along the line only
    np.testing.assert_allclose(evs.get_sizes()[0] / evs.get_sizes()[1], 300 / 250)  # area ~ kW
    np.testing.assert_allclose(by_cat["wind"].get_offsets(), [pos[14], pos[20]])
    assert len({tuple(c.get_facecolor()[0]) for c in by_cat.values()}) == 3
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(t.startswith("EVS") and "550 kW" in t for t in legend)
    assert any(t.startswith("tie") for t in legend)
    assert ax.get_title() == "sites"
    bare = plots.feeder_sites(net, {"PV": [9]}, ties=False, label_buses=False).axes[0]
    assert not any(line.get_gid() == "tie" for line in bare.lines) and not bare.texts


def test_feeder_sites_on_a_given_axes():
    fig = Figure()
    ax = fig.subplots()
    out = plots.feeder_sites(cases.load("ieee34"), {"wind": [890]}, ax=ax)
    assert out is fig and len(fig.axes) == 1 and ax.get_legend() is not None


def test_feeder_sites_unknown_bus():
    net = cases.load("ieee33")
    with pytest.raises(ValueError, match=r"bus 99 of category 'wind'"):
        plots.feeder_sites(net, {"PV": [9], "wind": [14, 99]})
    with pytest.raises(ValueError, match=r"bus 0 of category 'EVS'"):
        plots.feeder_sites(net, {"EVS": {0: 100.0}})
    with pytest.raises(ValueError, match=r"size -5.0 kW of bus 5"):
        plots.feeder_sites(net, {"EVS": {5: -5.0}})
