"""Quality indicators of a non-dominated set, with objectives normalised per problem.

Normalisation: ``f' = (f - ideal) / (nadir - ideal)`` per objective, where ideal and nadir come from
the reference front: the problem's true Pareto front where pymoo knows it locally
(``problem.pareto_front()``), otherwise the merged non-dominated set of every run of the campaign on
that problem (:func:`merged_front`). Then

* ``hv``: hypervolume of the normalised set against the reference point ``(1.1, ..., 1.1)``
  (the usual 10 % margin beyond the nadir); larger is better;
* ``igd``: mean distance from each reference point to the nearest member of the set, in normalised
  units; smaller is better;
* ``spacing``: Schott's spacing (standard deviation of the nearest-neighbour L1 distances) in
  normalised units; smaller is more even;
* ``n_nd``: number of non-dominated feasible points.

Single-objective problems get ``best`` (the best feasible value) and, where the optimum ``f*`` is
known, ``gap = best - f*``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Normalisation",
    "REF_POINT",
    "hypervolume",
    "igd",
    "indicator_row",
    "merged_front",
    "nondominated",
    "reference_front",
    "spacing",
]

#: Hypervolume reference point per normalised objective.
REF_POINT = 1.1


@dataclass(frozen=True)
class Normalisation:
    """Per-objective affine map to [0, 1] over a reference front.

    Attributes
    ----------
    ideal, nadir : ndarray, shape (n_obj,)
        Best and worst value of each objective over the reference front; a zero range is widened
        to 1 so that a degenerate objective does not divide by zero.
    """

    ideal: NDArray[np.float64]
    nadir: NDArray[np.float64]

    @classmethod
    def from_front(cls, front: NDArray[np.float64]) -> Normalisation:
        """From a reference front of shape (n_points, n_obj)."""
        front = np.asarray(front, dtype=float)
        ideal, nadir = front.min(axis=0), front.max(axis=0)
        nadir = np.where(nadir - ideal > 1e-12, nadir, ideal + 1.0)
        return cls(ideal, nadir)

    def __call__(self, F: NDArray[np.float64]) -> NDArray[np.float64]:
        """Normalise ``F`` of shape (n, n_obj)."""
        return (np.asarray(F, dtype=float) - self.ideal) / (self.nadir - self.ideal)


def nondominated(F: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Mask of the non-dominated rows of ``F`` (n, n_obj), minimisation; duplicates all kept."""
    F = np.asarray(F, dtype=float)
    if len(F) == 0:
        return np.zeros(0, dtype=bool)
    # a dominates b: a <= b everywhere and a < b somewhere; (n, n) comparison, fine for fronts
    le = (F[:, None, :] <= F[None, :, :]).all(axis=2)
    lt = (F[:, None, :] < F[None, :, :]).any(axis=2)
    return ~(le & lt).any(axis=0)


def merged_front(fronts: list[NDArray[np.float64]]) -> NDArray[np.float64]:
    """The non-dominated set of several fronts (each (n_i, n_obj)), duplicates removed."""
    parts = [np.asarray(f, dtype=float) for f in fronts if len(f)]
    if not parts:
        return np.zeros((0, 0))
    F = np.unique(np.vstack(parts), axis=0)
    return F[nondominated(F)]


def reference_front(problem: object) -> NDArray[np.float64] | None:
    """The problem's true Pareto front (n_points, n_obj) if pymoo knows it without a download.

    pymoo fetches some fronts (TNK, OSY, CTP, ...) from the internet; those count as unknown.
    """
    calc = getattr(type(problem), "_calc_pareto_front", None)
    if calc is None:
        return None
    try:
        if "Remote" in inspect.getsource(calc):
            return None
    except (OSError, TypeError):  # no source available: ask anyway
        pass
    pf = problem.pareto_front()
    if pf is None:
        return None
    pf = np.atleast_2d(np.asarray(pf, dtype=float))
    if pf.shape[1] != problem.n_obj or not np.isfinite(pf).all():
        return None
    return pf


def hypervolume(Fn: NDArray[np.float64], ref: float = REF_POINT) -> float:
    """Hypervolume of a normalised set (n, n_obj) against ``(ref, ..., ref)``; 0 for an empty set."""
    Fn = np.asarray(Fn, dtype=float)
    if len(Fn) == 0:
        return 0.0
    Fn = Fn[(Fn < ref).all(axis=1)]
    if len(Fn) == 0:
        return 0.0
    from pymoo.indicators.hv import HV

    return float(HV(ref_point=np.full(Fn.shape[1], ref))(Fn))


def igd(Fn: NDArray[np.float64], ref_front_n: NDArray[np.float64]) -> float:
    """Inverted generational distance of a normalised set to a normalised reference front.

    ``mean_r min_f ||r - f||``; NaN for an empty set.
    """
    Fn = np.asarray(Fn, dtype=float)
    if len(Fn) == 0 or len(ref_front_n) == 0:
        return float("nan")
    d = np.linalg.norm(np.asarray(ref_front_n)[:, None, :] - Fn[None, :, :], axis=2)
    return float(d.min(axis=1).mean())


def spacing(Fn: NDArray[np.float64]) -> float:
    """Schott's spacing: std of each point's L1 distance to its nearest neighbour (NaN below 2 points)."""
    Fn = np.asarray(Fn, dtype=float)
    if len(Fn) < 2:
        return float("nan")
    d = np.abs(Fn[:, None, :] - Fn[None, :, :]).sum(axis=2)
    np.fill_diagonal(d, np.inf)
    return float(np.std(d.min(axis=1), ddof=1)) if len(Fn) > 2 else 0.0


def indicator_row(
    F: NDArray[np.float64], reference: NDArray[np.float64], norm: Normalisation | None = None,
    optimum: float | None = None,
) -> dict[str, float]:
    """All indicators of one feasible non-dominated set.

    Parameters
    ----------
    F : ndarray, shape (n, n_obj)
        The run's feasible non-dominated objective vectors (may be empty).
    reference : ndarray, shape (k, n_obj)
        Reference front (true or merged).
    norm : Normalisation, optional
        Defaults to the reference front's.
    optimum : float, optional
        Known optimum of a single-objective problem.
    """
    F = np.asarray(F, dtype=float).reshape(len(F), -1) if len(F) else np.zeros((0, reference.shape[1]))
    if reference.shape[1] == 1:
        best = float(F.min()) if len(F) else float("nan")
        row = {"best": best, "n_nd": float(len(F))}
        if optimum is not None:
            row["gap"] = best - optimum
        return row
    norm = norm or Normalisation.from_front(reference)
    Fn = norm(F)
    return {
        "hv": hypervolume(Fn),
        "igd": igd(Fn, norm(reference)),
        "spacing": spacing(Fn),
        "n_nd": float(len(F)),
    }
