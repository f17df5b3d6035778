"""Problems and algorithms by name, each with its documented parameters.

Two tables, built on first use (nothing is imported at ``import optim``):

* **problems**: this project's (``problems.test_functions.TEST_FUNCTIONS``: ``f1`` .. ``f4``,
  ``sphere``, ...; ``dg_siting``; ``dgevcs``) as they exist in the installed tree, and pymoo's
  ``zdt1`` .. ``zdt6``, ``dtlz1`` .. ``dtlz7``, ``bnh``, ``tnk``.
* **algorithms**: this project's (``algorithms.ALGORITHMS``: ``pso``, ``ihspso``, ``mopso``,
  ``moihspso``, ``ga``, ``nsga2``) and pymoo's ``ga``, ``nsga2``, ``nsga3``, ``moead``, ``smsemoa``,
  ``pso``, ``mopso_cd``, ``cmopso``. Every pymoo algorithm is always reachable as ``pymoo_<name>``; the
  bare name also points at pymoo's unless this project has an algorithm of that name (ours wins).

A name of the form ``"package.module:attribute"`` builds any importable problem or algorithm class
(its keyword parameters are read from its signature), so campaigns can run user code while worker
arguments stay plain strings. Importing a module runs its code, so a name read from a file (a
campaign file, a results folder) is imported only when the user allows it: :func:`get_problem` and
:func:`get_algorithm` take ``allow_import`` and refuse such a name without it, naming the flag
(``--allow-import`` on the command line). Code that calls :func:`make_problem` with a literal name is
the user's own code and may import.

Algorithms are built with the problem's number of objectives, because reference directions (NSGA-III,
MOEA/D) depend on it: :func:`make_algorithm` ``(name, n_obj, **params)``.

Example
-------
>>> from optim.registry import make_problem, make_algorithm
>>> prob = make_problem("zdt1", n_var=5)
>>> algo = make_algorithm("nsga3", n_obj=prob.n_obj, n_partitions=12)
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from optim.errors import ConfigError, UnknownNameError

__all__ = [
    "Entry",
    "Param",
    "algorithm_entries",
    "IMPORT_FLAG",
    "get_algorithm",
    "get_problem",
    "is_import_name",
    "make_algorithm",
    "make_problem",
    "problem_entries",
    "refuse_import",
    "validate_params",
]

_NO_DEFAULT = "(required)"


@dataclass(frozen=True)
class Param:
    """One documented keyword parameter of a registry entry."""

    name: str
    default: Any
    doc: str = ""


@dataclass(frozen=True)
class Entry:
    """A named problem or algorithm.

    Attributes
    ----------
    name : str
        Registry name (what a campaign file writes).
    kind : {"problem", "algorithm"}
    source : str
        ``"gridplan"`` (this project), ``"pymoo"`` or ``"import"`` (a ``module:attribute`` name).
    summary : str
        One line saying what it is.
    params : tuple of Param
        The documented keyword parameters.
    open_params : bool
        True when the constructor accepts keywords beyond ``params`` (``**kwargs``). Only for
        ``module:attribute`` entries are such keywords passed through unchecked; registry names accept
        their documented parameters only.
    build : callable
        ``build(**params)`` for problems, ``build(n_obj, **params)`` for algorithms.
    """

    name: str
    kind: Literal["problem", "algorithm"]
    source: str
    summary: str
    params: tuple[Param, ...]
    open_params: bool
    build: Callable[..., Any]

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)


# --------------------------------------------------------------------------------------------------
# helpers


def _optional_module(module: str) -> Any | None:
    """Import ``module`` if it exists; ``None`` only when *that* module (or a parent) is missing."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name is not None and (module == err.name or module.startswith(err.name + ".")):
            return None
        raise


def _docstring_params(obj: Any) -> dict[str, str]:
    """First description line of each entry of a numpy-style ``Parameters`` section."""
    doc = inspect.getdoc(obj) or ""
    if inspect.isclass(obj) and not re.search(r"^Parameters\n-+", doc, re.M):
        doc = inspect.getdoc(obj.__init__) or ""
    match = re.search(r"^Parameters\n-+\n(.*?)(?:\n\S[^\n]*\n-+\n|\Z)", doc, re.S | re.M)
    if not match:
        return {}
    out: dict[str, str] = {}
    current: list[str] = []
    for line in match.group(1).splitlines():
        head = re.match(r"^(\w+(?:\s*,\s*\w+)*)\s*(?::.*)?$", line)
        if head and not line.startswith(" "):
            current = [n.strip() for n in head.group(1).split(",")]
            out.update(dict.fromkeys(current, ""))
        elif current and line.strip() and not out[current[0]]:
            out.update(dict.fromkeys(current, line.strip()))
    return out


def _summary(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else obj.__name__


def _signature_params(obj: Any) -> tuple[tuple[Param, ...], bool]:
    """Keyword parameters of a callable (a class: its ``__init__``) and whether it takes ``**kw``."""
    target = obj.__init__ if inspect.isclass(obj) else obj
    sig = inspect.signature(target)
    docs = _docstring_params(obj)
    params = []
    open_params = False
    for p in sig.parameters.values():
        if p.name == "self" or p.kind == p.VAR_POSITIONAL:
            continue
        if p.kind == p.VAR_KEYWORD:
            open_params = True
            continue
        default = _NO_DEFAULT if p.default is p.empty else p.default
        params.append(Param(p.name, default, docs.get(p.name, "")))
    return tuple(params), open_params


def _entry_from_callable(
    name: str, kind: Literal["problem", "algorithm"], source: str, obj: Any
) -> Entry:
    params, open_params = _signature_params(obj)
    if kind == "algorithm":

        def build(n_obj: int, **kw: Any) -> Any:  # our algorithms do not need n_obj
            return obj(**kw)

    else:
        build = obj
    return Entry(name, kind, source, _summary(obj), params, open_params, build)


# --------------------------------------------------------------------------------------------------
# pymoo problems


def _positive_int(value: Any, least: int, where: str) -> None:
    """pymoo's test problems index their variables without checking: refuse sizes they cannot take."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"{where}: must be an integer >= {least}, got {value!r}")


def _pymoo_problem(name: str) -> Callable[..., Any]:
    def build(**kw: Any) -> Any:
        from pymoo.problems import get_problem

        if "n_var" in kw:  # ZDT: g() averages over x[1:], so at least 2 variables
            _positive_int(kw["n_var"], 2, f"problem {name!r} n_var")
        return get_problem(name, **kw)

    return build


_ZDT_N_VAR = {"zdt1": 30, "zdt2": 30, "zdt3": 30, "zdt4": 10, "zdt6": 10}
_DTLZ_K = {"dtlz1": 5, "dtlz2": 10, "dtlz3": 10, "dtlz4": 10, "dtlz5": 10, "dtlz6": 10, "dtlz7": 20}


def _pymoo_problem_entries() -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    for name, n_var in _ZDT_N_VAR.items():
        out[name] = Entry(
            name, "problem", "pymoo", f"ZDT{name[-1]}: 2 objectives, box [0, 1] (true front known)",
            (Param("n_var", n_var, "number of variables"),), False, _pymoo_problem(name),
        )
    out["zdt5"] = Entry(
        "zdt5", "problem", "pymoo", "ZDT5: binary-coded, 2 objectives (true front known)",
        (Param("m", 11, "number of bit blocks"), Param("n", 5, "bits per block"),
         Param("normalize", True, "normalise the objectives")), False, _pymoo_problem("zdt5"),
    )
    for name, k in _DTLZ_K.items():
        out[name] = Entry(
            name, "problem", "pymoo", f"DTLZ{name[-1]}: scalable objectives, box [0, 1] (true front known)",
            (Param("n_obj", 3, "number of objectives"),
             Param("n_var", None, f"number of variables (None: n_obj + {k - 1})")),
            False, _pymoo_dtlz(name, k),
        )
    out["bnh"] = Entry("bnh", "problem", "pymoo", "BNH (Binh-Korn): 2 objectives, 2 constraints",
                       (), False, _pymoo_problem("bnh"))
    out["tnk"] = Entry("tnk", "problem", "pymoo", "TNK (Tanaka): 2 objectives, 2 constraints",
                       (), False, _pymoo_problem("tnk"))
    return out


def _pymoo_dtlz(name: str, k: int) -> Callable[..., Any]:
    def build(n_obj: int = 3, n_var: int | None = None) -> Any:
        from pymoo.problems import get_problem

        _positive_int(n_obj, 2, f"problem {name!r} n_obj")
        if n_var is not None:  # DTLZ: n_obj - 1 position variables and at least one distance variable
            _positive_int(n_var, n_obj, f"problem {name!r} n_var")
        return get_problem(name, n_var=n_obj + k - 1 if n_var is None else n_var, n_obj=n_obj)

    return build


# --------------------------------------------------------------------------------------------------
# pymoo algorithms


def _auto_partitions(n_obj: int, max_dirs: int = 100) -> int:
    """Largest Das-Dennis partition count whose number of directions stays within ``max_dirs``.

    Defined for ``n_obj >= 2`` only: one objective has a single direction whatever the count, so the
    search would never stop.
    """
    if n_obj < 2:
        raise ConfigError(f"reference directions need >= 2 objectives, got {n_obj}")
    p = 1
    while math.comb(p + 1 + n_obj - 1, n_obj - 1) <= max_dirs:
        p += 1
    return p


def _ref_dirs(n_obj: int, n_partitions: int | None) -> Any:
    from pymoo.util.ref_dirs import get_reference_directions

    p = _auto_partitions(n_obj) if n_partitions is None else int(n_partitions)
    return get_reference_directions("das-dennis", n_obj, n_partitions=p)


def _duplicates(kw: dict[str, Any]) -> dict[str, Any]:
    """``eliminate_duplicates`` (default True) as our bounded-memory copy of pymoo's default rule:
    pymoo's own builds the full distance matrix (74.5 GiB at ``pop_size=100000``)."""
    from algorithms.ga import duplicate_elimination

    return {**kw, "eliminate_duplicates": duplicate_elimination(kw.get("eliminate_duplicates", True))}


def _build_ga(n_obj: int, **kw: Any) -> Any:
    from pymoo.algorithms.soo.nonconvex.ga import GA

    return GA(**_duplicates(kw))


def _build_nsga2(n_obj: int, **kw: Any) -> Any:
    from pymoo.algorithms.moo.nsga2 import NSGA2

    return NSGA2(**_duplicates(kw))


def _need_objectives(name: str, n_obj: int) -> None:
    """Refuse a reference-direction algorithm on a single-objective problem (it has no front)."""
    if n_obj < 2:
        raise ConfigError(f"algorithm {name!r} needs a problem with >= 2 objectives, this one has "
                          f"{n_obj} (use ga, pso or ihspso for one objective)")


def _build_nsga3(n_obj: int, n_partitions: int | None = None, pop_size: int | None = None,
                 **kw: Any) -> Any:
    from pymoo.algorithms.moo.nsga3 import NSGA3

    _need_objectives("nsga3", n_obj)
    return NSGA3(ref_dirs=_ref_dirs(n_obj, n_partitions), pop_size=pop_size, **_duplicates(kw))


def _build_moead(n_obj: int, n_partitions: int | None = None, **kw: Any) -> Any:
    from pymoo.algorithms.moo.moead import MOEAD

    _need_objectives("moead", n_obj)
    return MOEAD(ref_dirs=_ref_dirs(n_obj, n_partitions), **kw)


def _build_smsemoa(n_obj: int, **kw: Any) -> Any:
    from pymoo.algorithms.moo.sms import SMSEMOA

    return SMSEMOA(**_duplicates(kw))


def _build_pso(n_obj: int, **kw: Any) -> Any:
    from pymoo.algorithms.soo.nonconvex.pso import PSO

    return PSO(**kw)


def _build_mopso_cd(n_obj: int, **kw: Any) -> Any:
    from pymoo.algorithms.moo.mopso_cd import MOPSO_CD

    return MOPSO_CD(**kw)


def _build_cmopso(n_obj: int, **kw: Any) -> Any:
    from pymoo.algorithms.moo.cmopso import CMOPSO, CrowdingDistanceTournamentSurvival
    from pymoo.core.population import Population
    from pymoo.util.archive import MultiObjectiveArchive, SurvivalTruncation

    class SeededTruncation(SurvivalTruncation):
        def __init__(self, survival: Any, problem: Any, rng: Any) -> None:
            super().__init__(survival, problem=problem)
            self.rng = rng

        def __call__(self, sols: Any, k: int) -> Any:
            return self.survival.do(self.problem, sols, n_survive=k, random_state=self.rng)

    class SeededCMOPSO(CMOPSO):
        """pymoo 0.6.2's CMOPSO with every random draw from the algorithm's seeded generator.

        Upstream, the survival tournament (``_advance``) and the elite archive's truncation call
        ``survival.do`` without ``random_state``, so they draw from fresh unseeded generators and
        the same seed gives different fronts. Everything else is pymoo's.
        """

        def _setup(self, problem: Any, **kwargs: Any) -> None:
            super()._setup(problem, **kwargs)
            self.elites = MultiObjectiveArchive(
                truncation=SeededTruncation(CrowdingDistanceTournamentSurvival(), problem,
                                            self.random_state),
                max_size=self.pop_size, truncate_size=self.elite_size,
            )

        def _advance(self, infills: Any = None, **kwargs: Any) -> None:
            particles = Population.merge(self.pop, infills)
            self.elites = self.elites.add(particles)
            self.pop = self.survival.do(self.problem, particles, n_survive=self.pop_size,
                                        random_state=self.random_state)

    return SeededCMOPSO(**kw)


_POP = Param("pop_size", 100, "population size")
_NOFF = Param("n_offsprings", None, "offspring per generation (None: pop_size)")
_DUP = Param("eliminate_duplicates", True, "drop duplicate offspring")
_PART = Param("n_partitions", None,
              "Das-Dennis partitions of the reference directions (None: the most with <= 100 directions)")


def _pymoo_algorithm_entries() -> dict[str, Entry]:
    rows = [
        ("ga", "pymoo GA: single-objective genetic algorithm (SBX, polynomial mutation)",
         (_POP, _NOFF, _DUP), _build_ga),
        ("nsga2", "pymoo NSGA-II: non-dominated sorting with crowding distance",
         (_POP, _NOFF, _DUP), _build_nsga2),
        ("nsga3", "pymoo NSGA-III: reference-direction niching (many objectives)",
         (_PART, Param("pop_size", None, "population size (None: number of reference directions)"),
          _NOFF, _DUP), _build_nsga3),
        ("moead", "pymoo MOEA/D: Tchebycheff decomposition over reference directions",
         (_PART, Param("n_neighbors", 20, "neighbourhood size"),
          Param("prob_neighbor_mating", 0.9, "probability of mating within the neighbourhood")),
         _build_moead),
        ("smsemoa", "pymoo SMS-EMOA: hypervolume-contribution survival", (_POP, _NOFF, _DUP),
         _build_smsemoa),
        ("pso", "pymoo PSO: single-objective particle swarm with adaptive w, c1, c2",
         (Param("pop_size", 25, "swarm size"), Param("w", 0.9, "inertia weight"),
          Param("c1", 2.0, "cognitive coefficient"), Param("c2", 2.0, "social coefficient"),
          Param("adaptive", True, "adapt w, c1, c2 during the run"),
          Param("max_velocity_rate", 0.2, "velocity clamp as a share of the variable range")),
         _build_pso),
        ("mopso_cd", "pymoo MOPSO-CD: multi-objective PSO with a crowding-distance archive",
         (_POP, Param("w", 0.6, "inertia weight"), Param("c1", 2.0, "cognitive coefficient"),
          Param("c2", 2.0, "social coefficient"),
          Param("max_velocity_rate", 0.5, "velocity clamp as a share of the variable range"),
          Param("archive_size", 200, "leader archive size")), _build_mopso_cd),
        ("cmopso", "pymoo CMOPSO: competitive multi-objective PSO (survival seeded, see _build_cmopso)",
         (_POP, Param("max_velocity_rate", 0.2, "velocity clamp as a share of the variable range"),
          Param("elite_size", 10, "elite size"), Param("initial_velocity", "random", "'random' | 'zero'"),
          Param("mutation_rate", 0.5, "mutation rate")), _build_cmopso),
    ]
    return {name: Entry(name, "algorithm", "pymoo", summary, params, False, build)
            for name, summary, params, build in rows}


# --------------------------------------------------------------------------------------------------
# the tables


@lru_cache(maxsize=1)
def problem_entries() -> Mapping[str, Entry]:
    """All named problems: ours (as far as installed) and pymoo's. Built once per process."""
    out = dict(_pymoo_problem_entries())
    tf = _optional_module("problems.test_functions")
    for name, ctor in (getattr(tf, "TEST_FUNCTIONS", None) or {}).items():
        out[name] = _entry_from_callable(name, "problem", "gridplan", ctor)
    for name, module, attr in (("dg_siting", "problems.dg_siting", "DGSiting"),
                               ("dgevcs", "problems.dgevcs", "DGEVCSPlanning"),
                               ("evs_siting", "problems.evs_siting", "EVSSiting"),
                               ("ev_scheduling", "problems.ev_scheduling", "EVScheduling"),
                               ("staged_planning", "problems.staged_planning", "StagedPlanning"),
                               ("sop_planning", "problems.sop_planning", "SOPPlanning")):
        mod = _optional_module(module)
        if mod is not None and hasattr(mod, attr):
            out[name] = _entry_from_callable(name, "problem", "gridplan", getattr(mod, attr))
    return dict(sorted(out.items()))


@lru_cache(maxsize=1)
def algorithm_entries() -> Mapping[str, Entry]:
    """All named algorithms: ours win a shared name; pymoo's are always ``pymoo_<name>`` too."""
    pymoo_algos = _pymoo_algorithm_entries()
    out: dict[str, Entry] = {}
    for name, entry in pymoo_algos.items():
        alias = f"pymoo_{name}"
        out[alias] = Entry(alias, entry.kind, entry.source, entry.summary, entry.params,
                           entry.open_params, entry.build)
    ours_mod = _optional_module("algorithms")
    ours = getattr(ours_mod, "ALGORITHMS", None) or {}
    for name, entry in pymoo_algos.items():
        if name not in ours and name != "pso":  # pymoo's PSO is only ever "pymoo_pso"
            out[name] = entry
    for name, ctor in ours.items():
        out[name] = _entry_from_callable(name, "algorithm", "gridplan", ctor)
    return dict(sorted(out.items()))


IMPORT_FLAG = "--allow-import"


def is_import_name(name: str) -> bool:
    """True for a ``"package.module:attribute"`` name (built by importing, outside the registry)."""
    return ":" in name


def refuse_import(name: str, kind: str, where: str = "") -> ConfigError:
    """The error for a ``module:attribute`` name met where imports are not allowed."""
    prefix = f"{where}: " if where else ""
    return ConfigError(
        f"{prefix}{kind} {name!r} is a module:attribute name outside the registry, and importing it "
        f"would run that module's code; pass {IMPORT_FLAG} (Python: allow_import=True) if you trust "
        "where the name comes from"
    )


def _import_entry(name: str, kind: Literal["problem", "algorithm"], allow_import: bool) -> Entry:
    if not allow_import:
        raise refuse_import(name, kind)
    module, _, attr = name.partition(":")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise UnknownNameError(f"cannot import {kind} {name!r}: {err}") from err
    return _entry_from_callable(name, kind, "import", obj)


def get_problem(name: str, *, allow_import: bool = True) -> Entry:
    """The registry entry of a problem (``UnknownNameError`` naming the known ones otherwise).

    A ``module:attribute`` name is imported only with ``allow_import`` (else :class:`ConfigError`
    naming ``--allow-import``); callers that read names from files pass their user's choice.
    """
    if is_import_name(name):
        return _import_entry(name, "problem", allow_import)
    table = problem_entries()
    if name not in table:
        raise UnknownNameError(f"unknown problem {name!r}; known: {', '.join(table)}")
    return table[name]


def get_algorithm(name: str, *, allow_import: bool = True) -> Entry:
    """The registry entry of an algorithm (``UnknownNameError`` naming the known ones otherwise).

    A ``module:attribute`` name is imported only with ``allow_import`` (else :class:`ConfigError`
    naming ``--allow-import``); callers that read names from files pass their user's choice.
    """
    if is_import_name(name):
        return _import_entry(name, "algorithm", allow_import)
    table = algorithm_entries()
    if name not in table:
        raise UnknownNameError(f"unknown algorithm {name!r}; known: {', '.join(table)}")
    return table[name]


def validate_params(entry: Entry, params: Mapping[str, Any], where: str = "") -> None:
    """Raise :class:`ConfigError` for a parameter the entry does not document (or a missing one).

    Parameters
    ----------
    entry : Entry
    params : mapping
        Keyword parameters as a campaign file gives them.
    where : str
        Location for the message (file and section).
    """
    prefix = f"{where}: " if where else ""
    known = entry.param_names
    # Constructors of this project take **kwargs to pass pymoo options through; a campaign may set
    # only the documented parameters, so a typo is an error rather than a silently ignored keyword.
    if not entry.open_params or entry.source != "import":
        for key in params:
            if key not in known:
                raise ConfigError(
                    f"{prefix}unknown parameter {key!r} for {entry.kind} {entry.name!r}; "
                    f"known: {', '.join(known) or '(none)'}"
                )
    for p in entry.params:
        if p.default == _NO_DEFAULT and p.name not in params and entry.kind == "problem":
            raise ConfigError(f"{prefix}{entry.kind} {entry.name!r} needs parameter {p.name!r}")


def make_problem(name: str, **params: Any) -> Any:
    """Build a problem by registry name with keyword parameters (checked against the entry)."""
    entry = get_problem(name)
    validate_params(entry, params)
    return entry.build(**params)


def make_algorithm(name: str, n_obj: int, **params: Any) -> Any:
    """Build an algorithm by registry name for a problem with ``n_obj`` objectives."""
    entry = get_algorithm(name)
    validate_params(entry, params)
    return entry.build(n_obj, **params)
