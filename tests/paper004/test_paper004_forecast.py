"""experiments.paper004.forecast: the printed error table is the one grid.forecast computes."""

from __future__ import annotations

import dataclasses
import re

import pytest

from experiments.paper004 import forecast as script
from grid import forecast


def test_baseline_only_table_prints_the_computed_errors(capsys):
    assert script.main(["--days", "10", "--baseline-only", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    cfg = dataclasses.replace(forecast.ForecastConfig(), n_days=10)
    want = forecast.baseline_errors(forecast.cluster_dataset(cfg, seed=3))
    for name, e in want.items():
        row = re.search(rf"^{name}\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)", out, re.M)
        assert row, out
        got = [float(v) for v in row.groups()]
        assert got == pytest.approx([e["mae_kw"], e["rmse_kw"], e["mape_pct"]], abs=0.006)
    assert "cnn_bilstm" not in out


def test_reduction_lines_against_004():
    rows = {k: {"mae_kw": v, "rmse_kw": v, "mape_pct": v, "train_s": 0.0}
            for k, v in (("cnn", 10.0), ("bilstm", 20.0), ("cnn_bilstm", 9.0))}
    text = script.format_table(rows)
    assert re.search(r"vs cnn\s+10\.0\s+10\.0\s+10\.0\s+004: 10\.2", text)
    assert re.search(r"vs bilstm\s+55\.0\s+55\.0\s+55\.0\s+004: 8\.3", text)
