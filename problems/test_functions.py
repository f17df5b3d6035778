"""Benchmark functions: paper 003's f1-f4 (table 10) and the pymoo problems the algorithm tests use.

f1-f4 are vectorised pymoo problems (one numpy expression over the whole population) with the
dimension as a parameter and the customary bounds. The multi-objective suites are pymoo's own ZDT and
DTLZ problems and the constrained BNH and TNK, re-exported here, not rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pymoo.core.problem import Problem
from pymoo.problems.many.dtlz import DTLZ2
from pymoo.problems.multi.bnh import BNH
from pymoo.problems.multi.tnk import TNK
from pymoo.problems.multi.zdt import ZDT1, ZDT2, ZDT3, ZDT6

__all__ = [
    "Sphere",
    "Schwefel222",
    "SchafferF6",
    "Rastrigin",
    "TEST_FUNCTIONS",
    "MO_PROBLEMS",
    "ZDT1",
    "ZDT2",
    "ZDT3",
    "ZDT6",
    "DTLZ2",
    "BNH",
    "TNK",
]


class _Box(Problem):
    """A single-objective, unconstrained problem on ``[lo, hi]^n_var`` whose optimum is 0 at x = 0."""

    bound: float = 1.0

    def __init__(self, n_var: int = 30, **kwargs: Any) -> None:
        if int(n_var) != n_var or n_var < 1:
            raise ValueError(f"{type(self).__name__}: n_var must be a positive integer, got {n_var!r}")
        super().__init__(n_var=int(n_var), n_obj=1, xl=-self.bound, xu=self.bound, vtype=float, **kwargs)

    def _calc_pareto_front(self, *args: Any, **kwargs: Any) -> float:
        return 0.0

    def _calc_pareto_set(self, *args: Any, **kwargs: Any) -> NDArray[np.float64]:
        return np.zeros(self.n_var)


class Sphere(_Box):
    """003 eq. (35), f1: ``sum x_i^2`` on [-100, 100]^n."""

    bound = 100.0

    def _evaluate(self, x: NDArray[np.float64], out: dict, *args: Any, **kwargs: Any) -> None:
        out["F"] = np.sum(x * x, axis=1)  # 003 eq. (35)


class Schwefel222(_Box):
    """003 eq. (36), f2 (Schwefel 2.22): ``sum |x_i| + prod |x_i|`` on [-10, 10]^n."""

    bound = 10.0

    def _evaluate(self, x: NDArray[np.float64], out: dict, *args: Any, **kwargs: Any) -> None:
        a = np.abs(x)
        out["F"] = a.sum(axis=1) + a.prod(axis=1)  # 003 eq. (36)


class SchafferF6(_Box):
    """003 eq. (37), f3 (Schaffer F6), 2-D:
    ``0.5 + (sin^2 sqrt(x1^2 + x2^2) - 0.5) / (1 + 0.001 (x1^2 + x2^2))^2`` on [-100, 100]^2.

    The paper's extraction loses the square on the sine; the standard form (squared sine) is used.
    """

    bound = 100.0

    def __init__(self, n_var: int = 2, **kwargs: Any) -> None:
        if n_var != 2:
            raise ValueError(f"SchafferF6 is two-dimensional, got n_var={n_var!r}")
        super().__init__(n_var=2, **kwargs)

    def _evaluate(self, x: NDArray[np.float64], out: dict, *args: Any, **kwargs: Any) -> None:
        r2 = x[:, 0] ** 2 + x[:, 1] ** 2
        out["F"] = 0.5 + (np.sin(np.sqrt(r2)) ** 2 - 0.5) / (1.0 + 0.001 * r2) ** 2  # 003 eq. (37)


class Rastrigin(_Box):
    """003 eq. (38), f4: ``sum (x_i^2 - 10 cos(2 pi x_i) + 10)`` on [-5.12, 5.12]^n."""

    bound = 5.12

    def _evaluate(self, x: NDArray[np.float64], out: dict, *args: Any, **kwargs: Any) -> None:
        out["F"] = np.sum(x * x - 10.0 * np.cos(2.0 * np.pi * x) + 10.0, axis=1)  # 003 eq. (38)


#: Paper 003's test functions by name (both "f1".."f4" and descriptive names), name -> constructor.
TEST_FUNCTIONS: dict[str, Callable[..., Problem]] = {
    "f1": Sphere,
    "f2": Schwefel222,
    "f3": SchafferF6,
    "f4": Rastrigin,
    "sphere": Sphere,
    "schwefel222": Schwefel222,
    "schaffer_f6": SchafferF6,
    "rastrigin": Rastrigin,
}

#: The multi-objective benchmarks (pymoo's), name -> constructor.
MO_PROBLEMS: dict[str, Callable[..., Problem]] = {
    "zdt1": ZDT1,
    "zdt2": ZDT2,
    "zdt3": ZDT3,
    "zdt6": ZDT6,
    "dtlz2": DTLZ2,
    "bnh": BNH,
    "tnk": TNK,
}
