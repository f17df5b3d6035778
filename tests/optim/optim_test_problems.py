"""Small problems for the optim tests (imported by name: ``"optim_test_problems:Boom"``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pymoo.core.problem import Problem


class Boom(Problem):
    """Two objectives on [0, 1]^2 whose evaluation raises after ``fail_after`` calls."""

    def __init__(self, fail_after: int = 0) -> None:
        super().__init__(n_var=2, n_obj=2, xl=0.0, xu=1.0)
        self.fail_after = fail_after
        self.calls = 0

    def _evaluate(self, x: np.ndarray, out: dict, *args: Any, **kwargs: Any) -> None:
        self.calls += 1
        if self.calls > self.fail_after:
            raise RuntimeError("boom: the problem failed on purpose")
        out["F"] = np.column_stack([x[:, 0], 1 - x[:, 0] + x[:, 1]])


class Planned(Problem):
    """A constrained two-objective problem with names, units and a ``decode``."""

    objective_names = ["cost_cny", "neg_profit"]
    objective_units = ["CNY", "CNY"]

    def __init__(self) -> None:
        super().__init__(n_var=2, n_obj=2, n_ieq_constr=1, xl=0.0, xu=1.0)

    def _evaluate(self, x: np.ndarray, out: dict, *args: Any, **kwargs: Any) -> None:
        out["F"] = np.column_stack([x[:, 0], (1 - np.sqrt(x[:, 0])) + x[:, 1]])
        out["G"] = (0.1 - x[:, 0])[:, None]  # feasible where x0 >= 0.1

    def decode(self, x: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({"device": ["a", "b"], "size_kw": [100 * x[0], 100 * x[1]]})
