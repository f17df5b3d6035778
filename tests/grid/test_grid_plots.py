from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from grid import dispatch, ev, plots, profiles, scenarios, tariffs  # noqa: E402


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
