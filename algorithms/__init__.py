"""Metaheuristics as pymoo algorithms: PSO, I-HSPSO, MOPSO, multi-objective I-HSPSO, GA and NSGA-II.

Every algorithm here is a :class:`pymoo.core.algorithm.Algorithm` (ours one level down; GA and NSGA-II
are pymoo's, configured by :func:`ga` and :func:`nsga2`), so
``pymoo.optimize.minimize(problem, algorithm, termination, seed=...)`` works for all of them. All
constructors take plain keyword parameters (numbers, bools, strings) with documented defaults, so a
TOML campaign can configure them; :data:`ALGORITHMS` maps the campaign names to the constructors.

Conventions shared by all of them (so a comparison compares the search, not the bookkeeping):

* **Box bounds**: the problem's ``xl``, ``xu``; a move leaving the box is put back on the boundary.
* **Integer variables**: a problem declares them with an attribute ``int_mask``, a numpy bool array
  of shape (n_var,) (True = integer); a problem without it is all-continuous. The one shared
  :class:`RoundingRepair` rounds those variables (half to even) and clips them to
  ``[ceil(xl), floor(xu)]`` after every sampling and every move, so every evaluated point is integral
  in them.
* **Constraints** (pymoo's ``G <= 0``, total violation ``CV``): feasibility first -- a feasible point
  beats an infeasible one; among infeasible points the lower total violation wins; among feasible
  points the objective (single-objective) or Pareto dominance (multi-objective) decides. The MOPSO
  archives hold feasible points only.
* **Starting points**: every constructor takes ``initial_points``: ``None`` (a random first
  population), ``"problem"`` (the problem's ``initial_points()`` method, shape (k, n_var): known
  plans such as the one that builds nothing) or an array (k, n_var). They replace the first ``k``
  members of the first population; the rest stays random, so the seed still fixes the run.
* **Randomness**: only the ``random_state`` Generator pymoo creates in ``setup`` from ``seed``.
* **Evaluations**: only through ``self.evaluator``, one call per generation, nothing thrown away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from algorithms._common import AlgorithmConfigError, RoundingRepair
from algorithms.ga import ga, nsga2
from algorithms.mopso import MOIHSPSO, MOPSO, CrowdingArchive, mopso_001
from algorithms.pso import IHSPSO, PSO

__all__ = [
    "PSO",
    "IHSPSO",
    "MOPSO",
    "MOIHSPSO",
    "mopso_001",
    "CrowdingArchive",
    "ga",
    "nsga2",
    "RoundingRepair",
    "AlgorithmConfigError",
    "ALGORITHMS",
]

#: Campaign name -> constructor taking keyword parameters.
ALGORITHMS: dict[str, Callable[..., Any]] = {
    "pso": PSO,
    "ihspso": IHSPSO,
    "mopso": MOPSO,
    "moihspso": MOIHSPSO,
    "mopso001": mopso_001,
    "ga": ga,
    "nsga2": nsga2,
}
