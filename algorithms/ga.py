"""Ready-made genetic-algorithm presets: pymoo's GA and NSGA-II with SBX, polynomial mutation and the
shared integer repair, so that a campaign can say ``ga`` or ``nsga2`` like any of our algorithms.

pymoo's GA and NSGA-II already rank feasibility first (binary tournament on constraint violation,
then objective / rank and crowding), the same rule as our swarms.
"""

from __future__ import annotations

from typing import Any

from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.sampling.rnd import FloatRandomSampling

from algorithms._common import AlgorithmConfigError, RoundingRepair

__all__ = ["ga", "nsga2"]


def _operators(
    crossover_prob: float, crossover_eta: float, mutation_eta: float, mutation_prob: float
) -> dict:
    for name, value in (("crossover_prob", crossover_prob), ("mutation_prob", mutation_prob)):
        if not (0.0 <= value <= 1.0 or (name == "mutation_prob" and value == -1.0)):
            raise AlgorithmConfigError(
                f"{name} must lie in [0, 1] (mutation_prob: or -1 for 1/n_var), got {value}"
            )
    for name, value in (("crossover_eta", crossover_eta), ("mutation_eta", mutation_eta)):
        if not value > 0:
            raise AlgorithmConfigError(f"{name} must be > 0, got {value}")
    mutation = PM(eta=mutation_eta) if mutation_prob == -1.0 else PM(eta=mutation_eta, prob_var=mutation_prob)
    return {
        "sampling": FloatRandomSampling(),
        "crossover": SBX(prob=crossover_prob, eta=crossover_eta),
        "mutation": mutation,
        "repair": RoundingRepair(),
        "eliminate_duplicates": True,
    }


def ga(
    pop_size: int = 100,
    *,
    crossover_prob: float = 0.9,
    crossover_eta: float = 15.0,
    mutation_eta: float = 20.0,
    mutation_prob: float = -1.0,
    **kwargs: Any,
) -> GA:
    """pymoo's single-objective GA with SBX, polynomial mutation and :class:`RoundingRepair`.

    ``mutation_prob = -1`` means pymoo's default per-variable probability ``1 / n_var``. Paper 000
    uses pop 100 for 200 generations. Extra keywords go to :class:`pymoo.algorithms.soo.nonconvex.ga.GA`.
    """
    if int(pop_size) != pop_size or pop_size < 2:
        raise AlgorithmConfigError(f"pop_size must be an integer >= 2, got {pop_size!r}")
    return GA(
        pop_size=int(pop_size),
        **_operators(crossover_prob, crossover_eta, mutation_eta, mutation_prob),
        **kwargs,
    )


def nsga2(
    pop_size: int = 100,
    *,
    crossover_prob: float = 0.9,
    crossover_eta: float = 15.0,
    mutation_eta: float = 20.0,
    mutation_prob: float = -1.0,
    **kwargs: Any,
) -> NSGA2:
    """pymoo's NSGA-II with SBX, polynomial mutation and :class:`RoundingRepair`.

    Same keywords as :func:`ga`; extra keywords go to :class:`pymoo.algorithms.moo.nsga2.NSGA2`.
    """
    if int(pop_size) != pop_size or pop_size < 2:
        raise AlgorithmConfigError(f"pop_size must be an integer >= 2, got {pop_size!r}")
    return NSGA2(
        pop_size=int(pop_size),
        **_operators(crossover_prob, crossover_eta, mutation_eta, mutation_prob),
        **kwargs,
    )
