"""Orchestration of gridplan studies: registry, runs, campaigns, indicators, statistics, plots, reports.

Modules (each imports its heavy dependencies only when used):

============== ==========================================================================
``registry``   problems and algorithms by name with documented parameters (``optim list``)
``config``     campaign TOML files validated into frozen dataclasses; per-run seeds
``run``        ``run(problem, algorithm, termination, seed) -> RunRecord``
``campaign``   ``run_campaign(config)``: joblib / dask, atomic per-run files, resume, tables
``store``      the results directory layout
``indicators`` hypervolume, IGD, spacing, non-dominated count over normalised objectives
``stats``      median / IQR, pairwise Wilcoxon rank-sum with Holm, Friedman ranks
``select``     knee point and weighted compromise (paper 003 eqs. 15-16), AHP weights
``plots``      matplotlib Figures: fronts, parallel coordinates, convergence, box plots
``report``     ``write_report(DIR)``: self-contained HTML or Markdown
``cli``        the ``optim`` command
============== ==========================================================================

The names in ``__all__`` are importable from ``optim`` directly (loaded on first access); ``run``
is ``optim.run.run`` (``optim.run`` is the module).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["load_config", "make_algorithm", "make_problem", "run_campaign", "write_report"]

_LAZY = {
    "load_config": "optim.config",
    "make_algorithm": "optim.registry",
    "make_problem": "optim.registry",
    "run_campaign": "optim.campaign",
    "write_report": "optim.report",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'optim' has no attribute {name!r}")
