"""Choosing one plan from a front: the knee point, or a weighted compromise.

Weighted compromise (paper 003, eqs. 15-16): every objective is normalised over the front to a
satisfaction in [0, 1] and the plan with the largest weighted sum ``sum_i w_i f*_i`` is chosen.
Paper 003 writes eq. (15) as ratios (``F_i / F_i^max`` for a maximised objective, ``F_i^min / F_i``
for a minimised one), which needs positive values; the default here is the min-max form the
assignment asks for, ``f*_i = (F_i^max - F_i) / (F_i^max - F_i^min)`` over the front (all objectives
minimised in ``F``, so 1 is the best plan of the front in that objective). ``normalise="ratio"``
gives the paper's form for fronts of one sign per objective. The weights come from AHP in the paper
(:func:`ahp_weights`).

Knee point: with each objective min-max normalised over the front, the point farthest below the
hyperplane ``sum_i f'_i = 1`` through the normalised extremes (for two objectives, the line through
the two extreme points), i.e. the largest ``(1 - sum_i f'_i) / sqrt(m)`` (Das 1999; Deb & Gupta 2011).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from optim.errors import ConfigError

__all__ = ["Choice", "ahp_weights", "choose", "knee_point", "weighted_compromise"]

# Saaty's random consistency index for n = 1..10
_RI = (0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49)


@dataclass(frozen=True)
class Choice:
    """One chosen point of a front.

    Attributes
    ----------
    index : int
        Row of the front.
    x : ndarray, shape (n_var,)
    f : ndarray, shape (n_obj,)
    score : float
        Weighted sum (compromise) or distance below the extreme hyperplane (knee).
    plan : DataFrame or None
        The problem's readable plan of ``x`` (``problem.decode``), or the objective values with names
        and units when the problem cannot decode.
    """

    index: int
    x: NDArray[np.float64]
    f: NDArray[np.float64]
    score: float
    plan: pd.DataFrame | None


def _minmax(F: NDArray[np.float64]) -> NDArray[np.float64]:
    F = np.asarray(F, dtype=float)
    lo, hi = F.min(axis=0), F.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    return (F - lo) / span


def knee_point(F: NDArray[np.float64]) -> tuple[int, float]:
    """Index and score of the knee of a front ``F`` (n, n_obj), all minimised."""
    F = np.atleast_2d(np.asarray(F, dtype=float))
    if len(F) == 0:
        raise ConfigError("knee_point: the front is empty")
    Fn = _minmax(F)
    score = (1.0 - Fn.sum(axis=1)) / np.sqrt(F.shape[1])
    i = int(np.argmax(score))
    return i, float(score[i])


def weighted_compromise(F: NDArray[np.float64], weights: NDArray[np.float64] | list[float],
                        normalise: str = "minmax") -> tuple[int, float]:
    """Index and score of the best weighted compromise of a front (003 eqs. 15-16).

    Parameters
    ----------
    F : ndarray, shape (n, n_obj)
        Front, all objectives minimised (a maximised quantity is negated).
    weights : array, shape (n_obj,)
        Non-negative; rescaled to sum 1.
    normalise : {"minmax", "ratio"}
        Satisfaction per objective: min-max over the front (default) or the paper's ratios.
    """
    F = np.atleast_2d(np.asarray(F, dtype=float))
    w = np.asarray(weights, dtype=float)
    if len(F) == 0:
        raise ConfigError("weighted_compromise: the front is empty")
    if w.shape != (F.shape[1],) or (w < 0).any() or w.sum() <= 0:
        raise ConfigError(f"weights: need {F.shape[1]} non-negative numbers with a positive sum, got {w}")
    w = w / w.sum()
    if normalise == "minmax":
        sat = 1.0 - _minmax(F)  # 003 eq. (15), min-max reading: 1 = best of the front
    elif normalise == "ratio":
        if not ((F > 0).all(axis=0) | (F < 0).all(axis=0)).all():
            raise ConfigError("weighted_compromise(normalise='ratio'): each objective needs one sign")
        # 003 eq. (15): minimised F > 0 -> F_min / F; maximised (stored negated, F < 0) -> F / F_min
        sat = np.where(F > 0, F.min(axis=0) / F, F / F.min(axis=0))
    else:
        raise ConfigError(f"normalise: expected 'minmax' or 'ratio', got {normalise!r}")
    score = sat @ w  # 003 eq. (16)
    i = int(np.argmax(score))
    return i, float(score[i])


def ahp_weights(pairwise: NDArray[np.float64] | list[list[float]]) -> tuple[NDArray[np.float64], float]:
    """Weights from an AHP pairwise comparison matrix and its consistency ratio.

    The weights are the principal eigenvector (sum 1); CR = ((lambda_max - n) / (n - 1)) / RI(n);
    Saaty's rule accepts CR < 0.1.
    """
    A = np.asarray(pairwise, dtype=float)
    n = A.shape[0]
    if A.shape != (n, n) or (A <= 0).any() or not np.allclose(A * A.T, 1.0):
        raise ConfigError("ahp_weights: need a square, positive, reciprocal matrix (a_ji = 1 / a_ij)")
    vals, vecs = np.linalg.eig(A)
    k = int(np.argmax(vals.real))
    w = np.abs(vecs[:, k].real)
    w /= w.sum()
    ri = _RI[n - 1] if n <= len(_RI) else _RI[-1]
    cr = 0.0 if ri == 0 else float((vals[k].real - n) / (n - 1) / ri)
    return w, cr


def choose(X: NDArray[np.float64], F: NDArray[np.float64], *, method: str = "knee",
           weights: Any = None, problem: Any = None, objective_names: list[str] | None = None,
           objective_units: list[str] | None = None) -> Choice:
    """Choose one plan from a front and return it readable.

    Parameters
    ----------
    X : ndarray, shape (n, n_var)
    F : ndarray, shape (n, n_obj)
    method : {"knee", "weighted"}
    weights : array, shape (n_obj,)
        For ``"weighted"``.
    problem : pymoo Problem, optional
        When it has ``decode``, the plan is ``problem.decode(x)``.
    objective_names, objective_units : list of str, optional
        Used for the plan table when the problem cannot decode.
    """
    X = np.atleast_2d(np.asarray(X, dtype=float))
    F = np.atleast_2d(np.asarray(F, dtype=float))
    if method == "knee":
        i, score = knee_point(F)
    elif method == "weighted":
        if weights is None:
            raise ConfigError("choose(method='weighted') needs weights")
        i, score = weighted_compromise(F, weights)
    else:
        raise ConfigError(f"method: expected 'knee' or 'weighted', got {method!r}")
    if problem is not None and callable(getattr(problem, "decode", None)):
        plan = problem.decode(X[i])
    else:
        names = objective_names or [f"f{j}" for j in range(F.shape[1])]
        units = objective_units or [""] * F.shape[1]
        plan = pd.DataFrame({"objective": names, "value": F[i], "unit": units})
    return Choice(index=i, x=X[i], f=F[i], score=score, plan=plan)
