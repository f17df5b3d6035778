"""Paper 004's EV-cluster forecasters (section 4.1) on fleet_004 Monte Carlo days: the error table.

Usage (needs the forecast extra, ``pip install -e '.[forecast]'``; ``--baseline-only`` runs without)::

    python -m experiments.paper004.forecast [--seed 0] [--days 200] [--epochs 15] [--baseline-only]

Prints MAE, RMSE (kW) and MAPE (%) on the test days for CNN, Bi-LSTM, CNN-Bi-LSTM
(:func:`grid.forecast.train`) and the seasonal-naive baselines, then CNN-Bi-LSTM's error reduction
against CNN and Bi-LSTM beside 004's 10.2 % and 8.3 % (004 section 6; 004 does not say which error
measure, so each measure is shown).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence

from grid import forecast

PAPER_REDUCTION_PCT = {"cnn": 10.2, "bilstm": 8.3}  # 004 section 6, conclusion (2)


def format_table(rows: dict[str, dict[str, float]]) -> str:
    """The error table as text, one row per model."""
    lines = [f"{'model':<16}{'MAE kW':>10}{'RMSE kW':>10}{'MAPE %':>9}{'train s':>9}"]
    for name, r in rows.items():
        lines.append(f"{name:<16}{r['mae_kw']:>10.2f}{r['rmse_kw']:>10.2f}{r['mape_pct']:>9.2f}{r['train_s']:>9.1f}")
    if "cnn_bilstm" in rows:
        lines.append("")
        lines.append("CNN-Bi-LSTM error reduction, % (ours MAE / RMSE / MAPE; 004)")
        for ref, paper in PAPER_REDUCTION_PCT.items():
            if ref in rows:
                ours = [forecast.relative_reduction(rows["cnn_bilstm"][m], rows[ref][m])
                        for m in ("mae_kw", "rmse_kw", "mape_pct")]
                lines.append(f"  vs {ref:<8}{ours[0]:>8.1f}{ours[1]:>8.1f}{ours[2]:>8.1f}   004: {paper}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=0, help="seed of the fleet days and of the weights")
    p.add_argument("--days", type=int, default=forecast.ForecastConfig.n_days, help="Monte Carlo days")
    p.add_argument("--epochs", type=int, default=forecast.ForecastConfig.epochs)
    p.add_argument("--baseline-only", action="store_true", help="only the numpy baselines (no torch)")
    a = p.parse_args(argv)
    cfg = dataclasses.replace(forecast.ForecastConfig(), n_days=a.days, epochs=a.epochs)
    ds = forecast.cluster_dataset(cfg, seed=a.seed)
    print(f"fleet_004 days: {cfg.n_days} ({len(ds.x_train)} train / {len(ds.x_test)} test windows), "
          f"seed {a.seed}, window {cfg.window_h} h, horizon {cfg.horizon_h} h, epochs {cfg.epochs}")
    models = () if a.baseline_only else forecast.MODELS
    print(format_table(forecast.error_table(ds, models, seed=a.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
