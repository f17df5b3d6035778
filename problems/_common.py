"""Helpers shared by the planning problems (private: no stable API).

Everything here is vectorised over a leading candidate axis; nothing loops per candidate.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ProblemConfigError",
    "PENALTY",
    "round_index",
    "bus_matrix",
    "band_violation",
    "current_violation",
    "penalise_failed",
    "scenario_weights",
    "as_float_vector",
    "objective_list",
    "config_from",
    "default_scenarios",
    "MEMORY_BUDGET_BYTES",
    "ChunkedEvaluation",
]

#: Default memory budget of one batched evaluation (bytes): 1 GiB. A population whose estimated
#: working memory (:meth:`ChunkedEvaluation.bytes_per_candidate` times its size) exceeds it is
#: evaluated in consecutive chunks, each one batched call, with results identical to one call.
#: Override per problem with its ``memory_budget_gib`` parameter, or here for the whole process.
MEMORY_BUDGET_BYTES: int = 1 << 30

#: Objective value given to a candidate whose power flow did not converge. Finite on purpose: pymoo's
#: non-dominated sorting and the PSO leader updates need finite numbers, and the candidate is already
#: infeasible through its ``pf_failed`` constraint, so the value only has to be bad, not meaningful.
PENALTY = 1.0e12


class ProblemConfigError(ValueError):
    """A planning problem was built with parameters that do not make sense (the message says which)."""


def objective_list(objectives: Any, table: Mapping[str, tuple[str, ...]]) -> list[str]:
    """``objectives`` (a name or a list) checked against a problem's ``{name: (unit, ..., sense)}``
    table: distinct known names, at least one."""
    objs = [objectives] if isinstance(objectives, str) else list(objectives)
    bad = [o for o in objs if o not in table]
    if not objs or bad or len(set(objs)) != len(objs):
        raise ProblemConfigError(f"objectives must be distinct names from {list(table)}, got {objs}")
    return objs


def config_from(cls: type, config: Any) -> Any:
    """A frozen config dataclass ``cls`` from an instance, ``None`` (defaults) or a mapping of
    field overrides (as read from a campaign TOML; lists become tuples)."""
    if isinstance(config, cls):
        return config
    if config is None:
        return cls()
    if not isinstance(config, Mapping):
        raise ProblemConfigError(f"config must be a {cls.__name__} or a mapping, got {type(config).__name__}")
    unknown = set(config) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise ProblemConfigError(f"unknown {cls.__name__} field(s): {sorted(unknown)}")
    return dataclasses.replace(
        cls(), **{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    )


def as_float_vector(value: Any, n: int, name: str) -> NDArray[np.float64]:
    """``value`` (scalar or sequence of length ``n``) as a float vector of shape (n,)."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise ProblemConfigError(f"{name} must be a number or a list of {n} numbers, got shape {arr.shape}")
    return arr.copy()


def round_index(x: NDArray[np.float64], n: int) -> NDArray[np.int64]:
    """Round continuous encodings of a choice among ``n`` options to indices ``0 .. n-1`` (clipped)."""
    return np.clip(np.rint(x), 0, n - 1).astype(np.int64)


def bus_matrix(idx: NDArray[np.int64], value: NDArray[np.float64], n_bus: int) -> NDArray[np.float64]:
    """Sum device values into a per-bus array; several devices at one bus add up.

    Parameters
    ----------
    idx : ndarray of int, shape (n_candidates, n_dev)
        Internal bus index of each device.
    value : ndarray of float, shape (n_candidates, n_dev)
        Device quantity (for example rated kW).
    n_bus : int

    Returns
    -------
    ndarray, shape (n_candidates, n_bus)
    """
    n = idx.shape[0]
    out = np.zeros((n, n_bus))
    rows = np.broadcast_to(np.arange(n)[:, None], idx.shape)
    np.add.at(out, (rows, idx), value)
    return out


def band_violation(
    vm_pu: NDArray[np.float64], v_min_pu: float, v_max_pu: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Worst under- and over-voltage (pu, ``> 0`` when violated) per candidate.

    ``vm_pu`` has shape (n_candidates, ..., n_bus); the result has two arrays of shape (n_candidates,).
    """
    flat = vm_pu.reshape(vm_pu.shape[0], -1)
    return v_min_pu - flat.min(axis=1), flat.max(axis=1) - v_max_pu


def current_violation(i_a: NDArray[np.complex128], i_max_a: NDArray[np.float64]) -> NDArray[np.float64]:
    """Worst branch loading ``|I| / I_max - 1`` per candidate over the branches that have a limit.

    ``i_a`` has shape (n_candidates, ..., n_branch); branches with ``nan`` limits are skipped.
    """
    known = np.isfinite(i_max_a)
    mag = np.abs(i_a[..., known]) / i_max_a[known]
    return mag.reshape(mag.shape[0], -1).max(axis=1) - 1.0


def penalise_failed(F: NDArray[np.float64], failed: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Give candidates with a failed power flow (or non-finite objectives) the :data:`PENALTY` value."""
    bad = failed[:, None] | ~np.isfinite(F)
    return np.where(bad, PENALTY, F)


def scenario_weights(weight: Sequence[float] | NDArray[np.float64]) -> NDArray[np.float64]:
    """Scenario probabilities from weights (probabilities or day counts), shape (n_scenarios,)."""
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim != 1 or w.size == 0 or np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
        raise ProblemConfigError(
            f"scenario weights must be a non-empty vector of non-negative numbers, got {w}"
        )
    return w / w.sum()


@functools.cache
def default_scenarios(n_days: int = 4, seed: int = 0) -> Any:
    """003's typical days (section 2): k-means++ over a real year, :func:`grid.scenarios.typical_days`.

    The year is :func:`grid.profiles.reference_year` (TMY3 Greensboro NC weather, BDEW H0 load): 003's
    planning-area data are not published. ``n_days=4`` fixes 003's four typical days (the pseudo-F
    maximum of this year is at another k; pass ``n_days=None`` to use it). Cached per arguments.
    """
    from grid import profiles, scenarios

    year = profiles.reference_year()
    return scenarios.typical_days(year, np.random.default_rng(seed), k=n_days)


def memory_budget(gib: float | None) -> int | None:
    """A problem's ``memory_budget_gib`` parameter checked and in bytes (``None``: the module default)."""
    if gib is None:
        return None
    value = float(gib)
    if not np.isfinite(value) or value <= 0:
        raise ProblemConfigError(f"memory_budget_gib must be a positive finite number, got {gib!r}")
    return max(1, int(value * (1 << 30)))


class ChunkedEvaluation:
    """Mixin of a batched pymoo problem: evaluate a large population in chunks under a memory budget.

    A subclass implements ``_evaluate_batch(X, out)`` (the whole vectorised evaluation of the rows
    of ``X``: one power-flow call) and ``cases_per_candidate()`` (power flows per candidate: 1 for
    one load level, ``n_scenarios * 24`` for typical days), and sets :attr:`bytes_per_bus_case`.
    Every output of one candidate depends on that candidate's row only, so concatenating the chunks'
    outputs gives the same arrays, bit for bit, as one call.

    Attributes
    ----------
    bytes_per_bus_case : float
        Peak working memory per candidate, power flow (bus) and case, measured (see the subclass).
    memory_budget_bytes : int or None
        This problem's budget; ``None`` uses :data:`MEMORY_BUDGET_BYTES` (read at evaluation time).
    """

    bytes_per_bus_case: float = 128.0
    memory_budget_bytes: int | None = None

    def cases_per_candidate(self) -> int:
        raise NotImplementedError

    def bytes_per_candidate(self) -> float:
        """Estimated peak bytes one candidate adds to a batched evaluation (from the batch shape)."""
        return float(self.cases_per_candidate() * self.net.n_bus * self.bytes_per_bus_case)  # type: ignore[attr-defined]

    def chunk_size(self) -> int:
        """Most candidates evaluated in one batched call (at least 1)."""
        budget = MEMORY_BUDGET_BYTES if self.memory_budget_bytes is None else self.memory_budget_bytes
        return max(1, int(budget // max(self.bytes_per_candidate(), 1.0)))

    def _evaluate_batch(self, X: NDArray[np.float64], out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def _evaluate(self, X: NDArray[np.float64], out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        X = np.atleast_2d(X)
        size = self.chunk_size()
        if len(X) <= size:
            self._evaluate_batch(X, out, *args, **kwargs)
            return
        parts: list[dict[str, Any]] = []
        for start in range(0, len(X), size):
            part: dict[str, Any] = {}
            self._evaluate_batch(X[start : start + size], part, *args, **kwargs)
            parts.append(part)
        for key in parts[0]:
            out[key] = np.concatenate([np.asarray(p[key]) for p in parts], axis=0)
