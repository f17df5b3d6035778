"""EV-cluster charging-demand forecasting, paper 004 section 4.1 (CNN, Bi-LSTM, CNN-Bi-LSTM).

The planning path does not use this module, and nothing here imports torch until a neural model is
trained: the data set and the seasonal-naive baselines need only numpy.

>>> from grid import forecast
>>> ds = forecast.cluster_dataset(forecast.ForecastConfig(n_days=12, train_share=0.5), seed=0)
>>> ds.x_train.shape[1:], ds.y_train.shape[1]  # (window hours, features), horizon hours
((24, 3), 1)
>>> errs = forecast.baseline_errors(ds)
>>> sorted(errs)
['same_hour_mean', 'seasonal_naive']
>>> bool(errs["same_hour_mean"]["mae_kw"] < errs["seasonal_naive"]["mae_kw"])
True

The task (004 is silent on it; see :class:`ForecastConfig`): a station's EV cluster is its
plug-and-charge load (:func:`grid.ev.uncoordinated_load_kw` of one :func:`grid.ev.sample_fleet` draw of
:func:`grid.ev.fleet_004` per day, 004 table A1). The days of each station are laid end to end into an
hourly series; a model sees the last ``window_h`` hours (load scaled by the training maximum of its
station, and the hour of day as sin/cos) and forecasts the next ``horizon_h`` hours. The split is by
day: the first ``train_share`` of the days train, the rest test, and no window crosses the split.

Because the fleet model draws every day independently, the previous day carries no information about
the next beyond the daily profile: ``same_hour_mean`` (the training mean at each hour) is the best
day-ahead guess, and what a network can add is within the day (the level of today's vehicle counts
and the arrivals seen so far). 004 reports no error table, only that CNN-Bi-LSTM's error is 10.2 %
lower than CNN's and 8.3 % lower than Bi-LSTM's (004 section 6, conclusion 2): compare with
:func:`relative_reduction`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from grid import ev

MODELS = ("cnn", "bilstm", "cnn_bilstm")
INSTALL_HINT = "install the forecast extra: pip install -e '.[forecast]'"


class ForecastError(ValueError):
    """A forecasting configuration or input is invalid (the message names the value)."""


class ForecastExtraMissing(ImportError):
    """torch is not installed; the neural forecasters need the ``forecast`` extra."""


def _torch() -> Any:
    """Import torch on first use; a clear named error when the extra is missing."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ForecastExtraMissing(f"the neural forecasters need torch: {INSTALL_HINT}") from exc
    return torch


@dataclass(frozen=True)
class ForecastConfig:
    """Data set, models and training. 004 states none of these values; each is a reading [A].

    Data
        ``n_days`` (200) Monte Carlo fleet days; ``train_share`` (0.8) of them train (by day, in
        order); ``stations`` (all four columns of table A1) whose clusters are pooled into one data
        set; ``window_h`` (24) input hours; ``horizon_h`` (1) forecast hours; ``mape_floor`` (0.1):
        MAPE counts only target hours whose load is at least this share of the test mean (the load is
        zero at some hours, where a percentage error is undefined).
    Models (004 figs 2-3 show conv -> pool and a two-direction LSTM; sizes unstated)
        ``conv_channels`` (32), ``kernel_size`` (3), ``pool`` (2), ``lstm_hidden`` (32) per
        direction, ``dense`` (32) hidden units of the CNN's head.
    Training
        Adam, ``lr`` (3e-3), ``epochs`` (15), ``batch_size`` (128), mean-squared-error loss on the
        scaled load, ``threads`` (1) torch CPU threads (fixed so a seed gives the same weights on any
        machine).
    """

    n_days: int = 200
    train_share: float = 0.8
    stations: tuple[int, ...] = (0, 1, 2, 3)
    window_h: int = 24
    horizon_h: int = 1
    mape_floor: float = 0.1
    conv_channels: int = 32
    kernel_size: int = 3
    pool: int = 2
    lstm_hidden: int = 32
    dense: int = 32
    lr: float = 3e-3
    epochs: int = 15
    batch_size: int = 128
    threads: int = 1

    def __post_init__(self) -> None:
        ints = ("n_days", "window_h", "horizon_h", "conv_channels", "kernel_size", "pool", "lstm_hidden",
                "dense", "epochs", "batch_size", "threads")
        for name in ints:
            if int(getattr(self, name)) < 1:
                raise ForecastError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if not (0.0 < self.train_share < 1.0):
            raise ForecastError(f"train_share must lie in (0, 1), got {self.train_share}")
        if not (np.isfinite(self.lr) and self.lr > 0.0):
            raise ForecastError(f"lr must be positive and finite, got {self.lr}")
        if not (0.0 <= self.mape_floor < 1.0):
            raise ForecastError(f"mape_floor must lie in [0, 1), got {self.mape_floor}")
        n_st = ev.fleet_004().n_stations
        if not self.stations or any(not (0 <= s < n_st) for s in self.stations):
            raise ForecastError(f"stations must be non-empty indices in [0, {n_st}), got {self.stations}")
        n_train = int(round(self.train_share * self.n_days))
        for part, days in (("train", n_train), ("test", self.n_days - n_train)):
            if days * 24 < self.window_h + self.horizon_h:
                raise ForecastError(
                    f"the {part} split has {days} days ({days * 24} h), fewer than window_h + horizon_h "
                    f"= {self.window_h + self.horizon_h} h: raise n_days or change train_share"
                )
        if self.kernel_size > self.window_h or self.pool > self.window_h:
            raise ForecastError(f"kernel_size and pool must not exceed window_h = {self.window_h}")


# --------------------------------------------------------------------------------------------------
# data (numpy only)
# --------------------------------------------------------------------------------------------------


def cluster_days(n_days: int, seed: int) -> NDArray[np.float64]:
    """``(n_days, n_stations, 24)`` plug-and-charge kW of fleet_004, one fleet draw per day.

    A seed determines the series: ``numpy.random.default_rng(seed)`` is drawn from day by day.
    """
    if int(n_days) < 1:
        raise ForecastError(f"n_days must be a positive integer, got {n_days}")
    spec = ev.fleet_004()
    rng = np.random.default_rng(seed)
    return np.stack([ev.uncoordinated_load_kw(ev.sample_fleet(spec, rng)) for _ in range(int(n_days))])


@dataclass(frozen=True)
class ClusterDataset:
    """Windows for supervised training, split by day.

    ``x_*`` ``(n, window_h, 3)``: scaled load, sin and cos of the hour; ``y_*`` ``(n, horizon_h)``
    scaled load; ``hour_*`` ``(n,)`` clock hour of the first target; ``scale_*`` ``(n,)`` kW per
    scaled unit (the station's training maximum); ``prev_day_*`` ``(n, horizon_h)`` the load 24 h
    before each target (kW); ``profile_kw`` ``(n_stations_used, 24)`` training mean per hour and
    ``station_*`` ``(n,)`` the row of ``profile_kw`` each window belongs to.
    """

    config: ForecastConfig
    seed: int
    x_train: NDArray[np.float32]
    y_train: NDArray[np.float32]
    x_test: NDArray[np.float32]
    y_test: NDArray[np.float32]
    hour_train: NDArray[np.int64]
    hour_test: NDArray[np.int64]
    scale_train: NDArray[np.float64]
    scale_test: NDArray[np.float64]
    station_train: NDArray[np.int64]
    station_test: NDArray[np.int64]
    prev_day_test: NDArray[np.float64]
    profile_kw: NDArray[np.float64]

    def y_test_kw(self) -> NDArray[np.float64]:
        """Test targets in kW."""
        return self.y_test.astype(np.float64) * self.scale_test[:, None]


def _windows(series: NDArray[np.float64], window: int, horizon: int, first_target: int) -> NDArray[np.int64]:
    """Start indices of the targets: every hour from ``first_target`` whose horizon fits."""
    return np.arange(max(window, first_target), series.shape[-1] - horizon + 1)


def cluster_dataset(config: ForecastConfig | None = None, seed: int = 0) -> ClusterDataset:
    """The windows of :func:`cluster_days`, split by day (``config.train_share``), for all models."""
    cfg = config or ForecastConfig()
    days = cluster_days(cfg.n_days, seed)[:, list(cfg.stations), :]  # (days, stations, 24)
    n_train = int(round(cfg.train_share * cfg.n_days))
    w, hz = cfg.window_h, cfg.horizon_h
    train, test = days[:n_train], days[n_train:]
    profile = train.mean(axis=0)  # (stations, 24): the same-hour-mean baseline
    scale = np.maximum(train.max(axis=(0, 2)), 1e-9)  # kW per scaled unit, per station
    out: dict[str, Any] = {}
    for part, block in (("train", train), ("test", test)):
        series = block.transpose(1, 0, 2).reshape(block.shape[1], -1)  # (stations, hours), day-major
        hours = np.arange(series.shape[1]) % 24
        # seasonal naive needs the value 24 h earlier: test targets start where that exists too
        t0 = _windows(series, w, hz, 24 if part == "test" else 0)
        idx = t0[:, None] + np.arange(-w, 0)[None, :]  # (n_t, w) input hours
        tgt = t0[:, None] + np.arange(hz)[None, :]  # (n_t, hz) target hours
        ang = 2.0 * np.pi * hours[idx] / 24.0
        xs, ys, st, pd = [], [], [], []
        for j in range(series.shape[0]):
            s = series[j] / scale[j]
            xs.append(np.stack([s[idx], np.sin(ang), np.cos(ang)], axis=-1))
            ys.append(s[tgt])
            st.append(np.full(t0.shape[0], j))
            pd.append(series[j][np.maximum(tgt - 24, 0)])
        out[f"x_{part}"] = np.concatenate(xs).astype(np.float32)
        out[f"y_{part}"] = np.concatenate(ys).astype(np.float32)
        out[f"hour_{part}"] = np.tile(hours[t0], series.shape[0])
        out[f"station_{part}"] = np.concatenate(st)
        out[f"scale_{part}"] = scale[out[f"station_{part}"]]
        if part == "test":
            out["prev_day_test"] = np.concatenate(pd)
    return ClusterDataset(config=cfg, seed=seed, profile_kw=profile, **out)


# --------------------------------------------------------------------------------------------------
# errors and baselines (numpy only)
# --------------------------------------------------------------------------------------------------


def errors(
    y_kw: NDArray[np.float64], pred_kw: NDArray[np.float64], mape_floor: float = 0.1
) -> dict[str, float]:
    """MAE and RMSE (kW) and MAPE (%) over hours whose load is at least ``mape_floor`` x the mean.

    >>> e = errors(np.array([10.0, 20.0, 0.0]), np.array([12.0, 18.0, 1.0]))
    >>> {k: round(v, 4) for k, v in e.items()}  # MAPE: (20 % + 10 %) / 2, the 0 kW hour left out
    {'mae_kw': 1.6667, 'rmse_kw': 1.7321, 'mape_pct': 15.0}
    """
    y = np.asarray(y_kw, dtype=np.float64).ravel()
    p = np.asarray(pred_kw, dtype=np.float64).ravel()
    if y.shape != p.shape or y.size == 0:
        raise ForecastError(
            f"targets and forecasts must have the same non-empty size, got {y.size}, {p.size}"
        )
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(p))):
        raise ForecastError("targets and forecasts must be finite")
    e = p - y
    keep = y >= mape_floor * y.mean()
    mape = float(100.0 * np.mean(np.abs(e[keep]) / y[keep])) if keep.any() else float("nan")
    return {"mae_kw": float(np.mean(np.abs(e))), "rmse_kw": float(np.sqrt(np.mean(e * e))), "mape_pct": mape}


def baseline_forecasts(ds: ClusterDataset) -> dict[str, NDArray[np.float64]]:
    """Test forecasts (kW) of the seasonal-naive baselines.

    ``seasonal_naive``: the load 24 h before each target hour (yesterday, same hour).
    ``same_hour_mean``: the training mean of the station at that clock hour.
    """
    hz = ds.config.horizon_h
    hours = (ds.hour_test[:, None] + np.arange(hz)[None, :]) % 24
    return {
        "seasonal_naive": ds.prev_day_test.copy(),
        "same_hour_mean": ds.profile_kw[ds.station_test[:, None], hours],
    }


def baseline_errors(ds: ClusterDataset) -> dict[str, dict[str, float]]:
    """:func:`errors` of each baseline on the test split."""
    y = ds.y_test_kw()
    return {k: errors(y, p, ds.config.mape_floor) for k, p in baseline_forecasts(ds).items()}


def relative_reduction(err_model: float, err_reference: float) -> float:
    """Per cent by which ``err_model`` is below ``err_reference`` (004: CNN-Bi-LSTM vs CNN 10.2 %).

    >>> round(relative_reduction(9.0, 10.0), 6)
    10.0
    """
    return float(100.0 * (1.0 - err_model / err_reference))


# --------------------------------------------------------------------------------------------------
# neural models (torch, imported lazily)
# --------------------------------------------------------------------------------------------------


def build_model(kind: str, config: ForecastConfig | None = None) -> Any:
    """A ``torch.nn.Module`` mapping ``(batch, window_h, 3)`` to ``(batch, horizon_h)``.

    ``cnn``: Conv1d -> ReLU -> Conv1d -> ReLU -> MaxPool -> dense -> ReLU -> dense (004 fig. 2:
    local connections and weight sharing, then pooling). ``bilstm``: one bidirectional LSTM layer,
    the last forward and first backward hidden states -> dense (004 fig. 3). ``cnn_bilstm``: the
    convolution and pooling of ``cnn`` feed the Bi-LSTM of ``bilstm`` (004 section 4.1: CNN extracts
    the features, Bi-LSTM relates them over time; the layer order of 004's ref. [29]).
    """
    if kind not in MODELS:
        raise ForecastError(f"unknown model {kind!r}; choose one of {MODELS}")
    cfg = config or ForecastConfig()
    torch = _torch()
    nn = torch.nn
    n_in, c, k = 3, cfg.conv_channels, cfg.kernel_size

    def conv() -> Any:  # 'same' padding keeps the window length before pooling
        return nn.Sequential(
            nn.Conv1d(n_in, c, k, padding="same"), nn.ReLU(),
            nn.Conv1d(c, c, k, padding="same"), nn.ReLU(), nn.MaxPool1d(cfg.pool),
        )

    class Net(nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.conv = conv() if kind != "bilstm" else None
            steps = cfg.window_h // cfg.pool if self.conv is not None else cfg.window_h
            if kind == "cnn":
                self.lstm = None
                self.head = nn.Sequential(nn.Flatten(), nn.Linear(c * steps, cfg.dense), nn.ReLU(),
                                          nn.Linear(cfg.dense, cfg.horizon_h))
            else:
                width = c if self.conv is not None else n_in
                self.lstm = nn.LSTM(width, cfg.lstm_hidden, batch_first=True, bidirectional=True)
                self.head = nn.Linear(2 * cfg.lstm_hidden, cfg.horizon_h)

        def forward(self, x: Any) -> Any:
            if self.conv is not None:
                x = self.conv(x.transpose(1, 2))  # (batch, channels, steps)
                if self.lstm is None:
                    return self.head(x)
                x = x.transpose(1, 2)  # (batch, steps, channels)
            h, _ = self.lstm(x)
            hid = cfg.lstm_hidden
            return self.head(torch.cat([h[:, -1, :hid], h[:, 0, hid:]], dim=1))

    return Net()


@dataclass(frozen=True)
class Trained:
    """A trained model, its test forecasts (kW) and the training losses per epoch."""

    kind: str
    model: Any
    pred_test_kw: NDArray[np.float64]
    loss_per_epoch: tuple[float, ...]
    seconds: float


def train(kind: str, ds: ClusterDataset, seed: int = 0) -> Trained:
    """Train one model on ``ds``'s training windows; a seed fixes the weights and the batch order.

    torch's deterministic algorithms are switched on and its CPU threads set to ``config.threads``
    for the duration; both are restored afterwards.
    """
    import time

    torch = _torch()
    cfg = ds.config
    prev_threads, prev_det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(True)
    try:
        torch.manual_seed(seed)
        model = build_model(kind, cfg)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        x, y = torch.from_numpy(ds.x_train), torch.from_numpy(ds.y_train)
        gen = torch.Generator().manual_seed(seed)
        losses = []
        t0 = time.perf_counter()
        model.train()
        for _ in range(cfg.epochs):
            order = torch.randperm(x.shape[0], generator=gen)
            total = 0.0
            for b in range(0, x.shape[0], cfg.batch_size):
                sel = order[b : b + cfg.batch_size]
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(model(x[sel]), y[sel])
                loss.backward()
                opt.step()
                total += float(loss.detach()) * sel.shape[0]
            losses.append(total / x.shape[0])
        seconds = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            pred = model(torch.from_numpy(ds.x_test)).numpy().astype(np.float64)
    finally:
        torch.set_num_threads(prev_threads)
        torch.use_deterministic_algorithms(prev_det)
    return Trained(kind, model, pred * ds.scale_test[:, None], tuple(losses), seconds)


def error_table(
    ds: ClusterDataset, models: tuple[str, ...] = MODELS, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Test errors of ``models`` (trained with ``seed``) and the two baselines, one row each."""
    y = ds.y_test_kw()
    rows: dict[str, dict[str, Any]] = {}
    for kind in models:
        t = train(kind, ds, seed)
        rows[kind] = {**errors(y, t.pred_test_kw, ds.config.mape_floor), "train_s": t.seconds}
    for k, e in baseline_errors(ds).items():
        rows[k] = {**e, "train_s": 0.0}
    return rows
