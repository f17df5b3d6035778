"""grid.forecast: data set, baselines and errors (numpy); the neural models when torch is installed."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from grid import ev, forecast

SMALL = forecast.ForecastConfig(n_days=10, train_share=0.6, stations=(0, 3))


def test_cluster_days_are_fleet_004_plug_and_charge_loads():
    days = forecast.cluster_days(3, seed=5)
    rng = np.random.default_rng(5)
    spec = ev.fleet_004()
    for d in range(3):  # the same generator drawn day after day
        np.testing.assert_array_equal(days[d], ev.uncoordinated_load_kw(ev.sample_fleet(spec, rng)))
    assert not np.array_equal(days[0], days[1])
    np.testing.assert_array_equal(days, forecast.cluster_days(3, seed=5))


def test_dataset_windows_split_by_day_and_match_the_series():
    ds = forecast.cluster_dataset(SMALL, seed=1)
    days = forecast.cluster_days(10, seed=1)[:, [0, 3], :]
    train, test = days[:6], days[6:]
    scale = train.max(axis=(0, 2))
    # training windows: every hour from window_h on, per station; the series is days end to end
    n_tr = 6 * 24 - 24
    assert ds.x_train.shape == (2 * n_tr, 24, 3) and ds.y_train.shape == (2 * n_tr, 1)
    s1 = test[:, 1, :].ravel()  # station 3 of the test block
    n_te = 4 * 24 - 24
    k = n_te + 5  # station row 1, 6th target: hour 24 + 5 of the test block
    np.testing.assert_allclose(ds.y_test_kw()[k, 0], s1[29], rtol=1e-6)
    np.testing.assert_allclose(ds.x_test[k, :, 0] * scale[1], s1[5:29], rtol=1e-5)
    assert ds.hour_test[k] == 5 and ds.prev_day_test[k, 0] == s1[5]
    np.testing.assert_allclose(ds.profile_kw, train.mean(axis=0))
    # test inputs never see training days: the test block alone gives the same test windows
    assert ds.x_test.shape[0] == 2 * n_te


def test_same_hour_mean_beats_yesterday_on_independent_days():
    # days are independent draws: the mean profile is the better day-ahead guess (less variance)
    errs = forecast.baseline_errors(forecast.cluster_dataset(forecast.ForecastConfig(n_days=40), seed=0))
    for m in ("mae_kw", "rmse_kw"):
        assert errs["same_hour_mean"][m] < errs["seasonal_naive"][m]


def test_errors_closed_form_and_bad_input():
    e = forecast.errors(np.array([100.0, 50.0, 1.0]), np.array([110.0, 40.0, 3.0]), mape_floor=0.1)
    assert e["mae_kw"] == pytest.approx(22 / 3) and e["rmse_kw"] == pytest.approx(np.sqrt(204 / 3))
    assert e["mape_pct"] == pytest.approx(15.0)  # the 1 kW hour is below 0.1 x mean and left out
    with pytest.raises(forecast.ForecastError, match="same non-empty size"):
        forecast.errors(np.ones(3), np.ones(2))
    with pytest.raises(forecast.ForecastError, match="finite"):
        forecast.errors(np.ones(2), np.array([1.0, np.nan]))


@pytest.mark.parametrize(
    "kw, match",
    [({"n_days": 0}, "n_days"), ({"train_share": 1.0}, "train_share"), ({"stations": (4,)}, "stations"),
     ({"n_days": 2, "train_share": 0.5}, "split has"), ({"lr": float("nan")}, "lr")],
)
def test_config_bad_values_are_named(kw, match):
    with pytest.raises(forecast.ForecastError, match=match):
        forecast.ForecastConfig(**kw)


def test_planning_path_imports_without_torch():
    code = (
        "import sys, problems.evs_siting, grid, grid.forecast, experiments.paper004.tables\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=_root())


def test_missing_torch_raises_the_named_error():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from grid import forecast\n"
        "try:\n    forecast.build_model('cnn')\nexcept forecast.ForecastExtraMissing as e:\n"
        "    assert \"pip install -e '.[forecast]'\" in str(e); print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=_root(), capture_output=True, text=True
    )
    assert out.stdout.strip() == "ok"


def _root() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parents[2])


# ---------------------------------------------------------------------------------------------- torch

TINY = dataclasses.replace(SMALL, conv_channels=4, lstm_hidden=4, dense=4, epochs=2, batch_size=64)


@pytest.mark.parametrize("kind", forecast.MODELS)
def test_models_shapes_and_seeded_training(kind):
    torch = pytest.importorskip("torch")
    ds = forecast.cluster_dataset(TINY, seed=0)
    net = forecast.build_model(kind, TINY)
    assert tuple(net(torch.from_numpy(ds.x_test[:5])).shape) == (5, 1)
    a, b = forecast.train(kind, ds, seed=3), forecast.train(kind, ds, seed=3)
    np.testing.assert_array_equal(a.pred_test_kw, b.pred_test_kw)
    assert a.loss_per_epoch == b.loss_per_epoch
    c = forecast.train(kind, ds, seed=4)
    assert not np.array_equal(a.pred_test_kw, c.pred_test_kw)
    assert a.loss_per_epoch[-1] < a.loss_per_epoch[0]  # it learns


def test_cnn_bilstm_learns_beyond_yesterday():
    pytest.importorskip("torch")
    cfg = dataclasses.replace(TINY, n_days=30, train_share=0.8, conv_channels=16, lstm_hidden=16, dense=16,
                              epochs=10)
    ds = forecast.cluster_dataset(cfg, seed=0)
    rows = forecast.error_table(ds, ("cnn_bilstm",), seed=0)
    # yesterday's value carries two days' noise; a model that learned the daily shape carries one
    assert rows["cnn_bilstm"]["mae_kw"] < rows["seasonal_naive"]["mae_kw"]


def test_unknown_model_is_named():
    with pytest.raises(forecast.ForecastError, match="unknown model"):
        forecast.build_model("transformer")
