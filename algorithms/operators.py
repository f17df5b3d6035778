"""Pure, vectorised update rules of the swarm family: one call moves the whole swarm.

Each function takes the random generator explicitly and draws its random numbers in a documented
order, so a plain loop reference drawing the same arrays gives the same result (see the tests).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "pso_equation",
    "constriction_factor",
    "polynomial_mutation",
    "improvise_harmonies",
    "cosine_inertia",
    "linear_inertia",
    "time_varying_coefficients",
]


def pso_equation(
    X: NDArray[np.float64],
    V: NDArray[np.float64],
    pbest: NDArray[np.float64],
    leaders: NDArray[np.float64],
    w: float,
    c1: ArrayLike,
    c2: ArrayLike,
    rng: np.random.Generator,
    *,
    v_max: NDArray[np.float64] | None = None,
    chi: ArrayLike = 1.0,
    r_per_particle: bool = False,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One velocity and position update of the whole swarm.

    001 eq. (25): ``v <- chi * (w v + c1 r1 (pbest - x) + c2 r2 (leader - x))``, clamped to
    ``[-v_max, v_max]``; 001 eq. (26): ``x <- x + v``. ``chi`` is SMPSO's constriction factor (1 for
    the plain rule).

    Parameters
    ----------
    X, V, pbest, leaders : (n, n_var)
        Positions, velocities, personal bests and the leader (global best or archive member) each
        particle follows.
    w : float
        Inertia weight.
    c1, c2 : float or (n, 1)
        Cognitive and social coefficients, scalars or one per particle.
    rng : numpy.random.Generator
        Draws ``r1 = rng.random(shape)`` then ``r2 = rng.random(shape)``, in that order, where
        ``shape`` is (n, n_var), or (n, 1) with ``r_per_particle``.
    v_max : (n_var,), optional
        Velocity clamp per variable; no clamp when None.
    chi : float or (n, 1)
        Constriction factor.
    r_per_particle : bool
        One ``r1``, ``r2`` per particle (SMPSO, jMetal) instead of one per particle and variable.

    Returns
    -------
    X_new, V_new : (n, n_var)
        New positions (not yet put back in the box) and velocities.
    """
    shape = (X.shape[0], 1) if r_per_particle else X.shape
    r1 = rng.random(shape)
    r2 = rng.random(shape)
    V_new = np.asarray(chi) * (
        w * V + np.asarray(c1) * r1 * (pbest - X) + np.asarray(c2) * r2 * (leaders - X)
    )
    if v_max is not None:
        V_new = np.clip(V_new, -v_max, v_max)
    return X + V_new, V_new


def constriction_factor(c1: ArrayLike, c2: ArrayLike, kind: str = "smpso") -> NDArray[np.float64]:
    """Constriction factor chi(c1 + c2), same shape as ``c1 + c2``.

    ``phi = c1 + c2``; where ``phi > 4``:

    * ``"smpso"``: ``chi = 2 / (2 - phi - sqrt(phi^2 - 4 phi))`` exactly as jMetal's and jMetalPy's
      SMPSO (Nebro et al. 2009) compute it -- this is negative (between -1 and 0), so the new
      velocity points against the combined pull and the swarm oscillates around its attractors;
      measured on ZDT1/ZDT3 it converges better than the positive form (see benchmarks/mo_suite.py);
    * ``"clerc"``: Clerc and Kennedy's ``2 / |2 - phi - sqrt(phi^2 - 4 phi)|`` (positive).

    Where ``phi <= 4`` both give 1.
    """
    if kind not in ("smpso", "clerc"):
        raise ValueError(f"constriction kind must be 'smpso' or 'clerc', got {kind!r}")
    phi = np.asarray(c1, dtype=np.float64) + np.asarray(c2, dtype=np.float64)
    safe = np.where(phi > 4.0, phi, 5.0)
    denom = 2.0 - safe - np.sqrt(safe * safe - 4.0 * safe)
    chi = 2.0 / (denom if kind == "smpso" else np.abs(denom))
    return np.where(phi > 4.0, chi, 1.0)


def polynomial_mutation(
    X: NDArray[np.float64],
    xl: NDArray[np.float64],
    xu: NDArray[np.float64],
    prob: float,
    eta: float,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Deb's polynomial mutation (the bounded form used by NSGA-II and SMPSO) of every row of ``X``.

    Draws ``u_do = rng.random(X.shape)`` (which genes mutate, probability ``prob``) then
    ``u = rng.random(X.shape)``. Returns a new (n, n_var) array inside the box.
    """
    do = rng.random(X.shape) < prob
    u = rng.random(X.shape)
    span = np.where(xu > xl, xu - xl, 1.0)
    d1 = (X - xl) / span
    d2 = (xu - X) / span
    mut_pow = 1.0 / (eta + 1.0)
    lower = u <= 0.5
    xy = np.where(lower, 1.0 - d1, 1.0 - d2)
    val_lo = 2.0 * u + (1.0 - 2.0 * u) * xy ** (eta + 1.0)
    val_hi = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * xy ** (eta + 1.0)
    with np.errstate(invalid="ignore"):
        dq = np.where(
            lower,
            np.power(np.maximum(val_lo, 0.0), mut_pow) - 1.0,
            1.0 - np.power(np.maximum(val_hi, 0.0), mut_pow),
        )
    Xm = np.where(do, X + dq * span, X)
    return np.clip(Xm, xl, xu)


def improvise_harmonies(
    memory: NDArray[np.float64],
    n_new: int,
    xl: NDArray[np.float64],
    xu: NDArray[np.float64],
    hmcr: float,
    par: float,
    bw: float,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Improvise ``n_new`` harmonies from a harmony memory (Geem et al. 2001; Mahdavi et al. 2007).

    Per variable: with probability ``hmcr`` take the value of a random memory member (memory
    consideration) and then, with probability ``par``, move it by ``bw * (xu - xl) * U(-1, 1)``
    (pitch adjustment); otherwise draw it uniformly in the box (random selection). The memory is a
    matrix (hms, n_var) of the best solutions. Draws, in order: consideration, member index, pitch,
    pitch step, random value, each of shape (n_new, n_var). Returns (n_new, n_var) inside the box.
    """
    if memory.shape[0] == 0:
        raise ValueError("improvise_harmonies needs a non-empty harmony memory")
    shape = (n_new, xl.size)
    consider = rng.random(shape) < hmcr
    member = rng.integers(0, memory.shape[0], shape)
    pitch = rng.random(shape) < par
    step = rng.uniform(-1.0, 1.0, shape) * bw * (xu - xl)
    fresh = xl + rng.random(shape) * (xu - xl)
    H = np.take_along_axis(memory, member, axis=0)
    H = np.where(pitch, H + step, H)
    H = np.where(consider, H, fresh)
    return np.clip(H, xl, xu)


def cosine_inertia(progress: float, w_max: float, w_min: float) -> float:
    """003 eq. (33): ``w = (w_max - w_min)/2 cos(pi t/T) + (w_max + w_min)/2``, ``progress = t/T``."""
    return 0.5 * (w_max - w_min) * np.cos(np.pi * progress) + 0.5 * (w_max + w_min)


def linear_inertia(progress: float, w_start: float, w_end: float) -> float:
    """001 eq. (27): ``w = (w_start - w_end)(t_max - k)/t_max + w_end``, ``progress = k/t_max``."""
    return (w_start - w_end) * (1.0 - progress) + w_end


def time_varying_coefficients(
    progress: float, c1_max: float, c1_min: float, c2_min: float, c2_max: float
) -> tuple[float, float]:
    """003 eq. (34): c1 falls linearly from ``c1_max`` to ``c1_min``; c2 rises from ``c2_min`` to ``c2_max``.

    Returns ``(c1, c2)`` at ``progress = t/T``.
    """
    c1 = c1_max + progress * (c1_min - c1_max)
    c2 = c2_min + progress * (c2_max - c2_min)
    return c1, c2
