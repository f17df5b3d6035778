"""Campaign files: TOML in, frozen dataclasses out, every key checked.

Format (see ``experiments/README.md`` for the full description)::

    [campaign]
    name = "quickstart"          # required; letters, digits, "_", "-", "." (not first)
    seed = 2026                  # campaign seed (int >= 0); every run's seed derives from it
    seeds = 3                    # replicates per (problem, algorithm): an int n (ids 0..n-1) or a list of ids
    output = "results/quickstart"  # results directory, relative to the working directory
    n_jobs = 2                   # optional (default 1); `optim campaign --n-jobs` overrides
    backend = "loky"             # optional: any joblib backend name, or "dask"
    scheduler = ""               # optional: dask scheduler address ("" = a local cluster)

    [campaign.termination]       # exactly one of n_gen / n_eval
    n_gen = 40

    [[problem]]
    name = "zdt1"                # registry name (`optim list`) or "package.module:Class" (needs allow_import)
    label = "zdt1"               # optional (default: name); unique; names the results
    params = { n_var = 10 }      # optional keyword parameters, checked against the registry
    termination = { n_eval = 4000 }   # optional override of [campaign.termination]

    [[algorithm]]
    name = "nsga2"
    label = "nsga2"              # optional (default: name); unique
    params = { pop_size = 40 }
    problems = ["zdt1"]          # optional: run only on these problem labels (default: all)

Unknown keys, wrong types and unknown names raise :class:`optim.errors.ConfigError` naming the file,
the section and the key, before any run starts. A ``module:attribute`` name is imported (which runs
that module's code) only when the caller passes ``allow_import=True`` (``--allow-import`` on the
command line); without it the file is refused with a message naming the flag. A campaign file stored
in a results folder is read back with :func:`read_stored_config`, which checks its structure and never
imports or builds anything.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from optim.errors import ConfigError
from optim.registry import get_algorithm, get_problem, is_import_name, refuse_import, validate_params

__all__ = [
    "CampaignConfig",
    "Component",
    "RunSpec",
    "Termination",
    "canonical_json",
    "derive_seed",
    "dump_toml",
    "load_config",
    "parse_config",
    "read_stored_config",
    "spec_digest",
]

# Labels and campaign names become file and folder names: no path separators, and no leading "."
# (".." would leave the folder; ".tmp-*" names are the store's temporary directories).
_LABEL = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")
_CAMPAIGN_KEYS = ("name", "seed", "seeds", "output", "n_jobs", "backend", "scheduler", "termination")
_PROBLEM_KEYS = ("name", "label", "params", "termination")
_ALGORITHM_KEYS = ("name", "label", "params", "problems")
_TERMINATION_KEYS = ("n_gen", "n_eval")


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray | tuple):
        return list(o)
    raise TypeError(f"cannot write {type(o).__name__} to JSON")


def canonical_json(obj: Any) -> str:
    """``obj`` as JSON with sorted keys: equal specs give equal text.

    Comparing this text rather than the dicts makes a spec equal to itself when it holds ``nan``
    (``nan != nan``), and equal to its own JSON round trip (``meta.json``).
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True, default=_json_default)


def spec_digest(obj: Any, n: int = 8) -> str:
    """The first ``n`` hex digits of the SHA-256 of :func:`canonical_json` ``(obj)``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:n]


@dataclass(frozen=True)
class Termination:
    """Stop after ``value`` generations (``kind="n_gen"``) or evaluations (``kind="n_eval"``)."""

    kind: str
    value: int

    def __post_init__(self) -> None:
        # checked here so that every entry point (CLI, campaign file, ``run()``) refuses the same way
        if self.kind not in _TERMINATION_KEYS:
            raise ConfigError(f"termination: unknown kind {self.kind!r} (expected n_gen or n_eval)")
        if isinstance(self.value, bool) or not isinstance(self.value, (int, np.integer)) or self.value < 1:
            raise ConfigError(f"termination {self.kind}: must be an integer >= 1, got {self.value!r}")

    def to_pymoo(self) -> Any:
        from pymoo.termination import get_termination

        return get_termination(self.kind, self.value)

    def as_dict(self) -> dict[str, int]:
        return {self.kind: self.value}


@dataclass(frozen=True)
class Component:
    """A problem or algorithm as a campaign names it: registry name, label and parameters.

    ``params`` is a tuple of ``(key, value)`` pairs (sorted by key) so that the spec stays immutable;
    :attr:`kwargs` gives them as a dict.
    """

    name: str
    label: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs for one run, as plain data (names, parameters, seed).

    Attributes
    ----------
    run_id : str
        ``"<problem label>__<algorithm label>__r<replicate>"``; the results file name.
    problem, algorithm : Component
    termination : Termination
    replicate : int
        Replicate id (the ``seeds`` entry of the campaign).
    seed : int
        The run's pymoo seed, from :func:`derive_seed`.
    """

    run_id: str
    problem: Component
    algorithm: Component
    termination: Termination
    replicate: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "problem": {"name": self.problem.name, "label": self.problem.label,
                        "params": self.problem.kwargs},
            "algorithm": {"name": self.algorithm.name, "label": self.algorithm.label,
                          "params": self.algorithm.kwargs},
            "termination": self.termination.as_dict(),
            "replicate": self.replicate,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunSpec:
        (kind, value), = d["termination"].items()
        return cls(
            run_id=d["run_id"],
            problem=Component(d["problem"]["name"], d["problem"]["label"],
                              tuple(sorted(d["problem"]["params"].items()))),
            algorithm=Component(d["algorithm"]["name"], d["algorithm"]["label"],
                                tuple(sorted(d["algorithm"]["params"].items()))),
            termination=Termination(kind, int(value)),
            replicate=int(d["replicate"]),
            seed=int(d["seed"]),
        )


@dataclass(frozen=True)
class CampaignConfig:
    """A validated campaign.

    Attributes
    ----------
    name : str
    seed : int
        Campaign seed.
    replicates : tuple of int
        Replicate ids run for every (problem, algorithm) pair.
    termination : Termination
        Default termination.
    problems : tuple of Component
    algorithms : tuple of Component
    problem_termination : tuple of (label, Termination)
        Per-problem overrides.
    algorithm_problems : tuple of (label, tuple of problem labels)
        Per-algorithm restrictions (absent: all problems).
    output : Path
    n_jobs : int
    backend : str
    scheduler : str
        Dask scheduler address; ``""`` starts a local cluster when ``backend == "dask"``.
    source : str
        The file it was read from (for messages).
    allow_import : bool
        The user allowed ``module:attribute`` names (:func:`optim.campaign.run_campaign` refuses a
        config that holds one without it).
    """

    name: str
    seed: int
    replicates: tuple[int, ...]
    termination: Termination
    problems: tuple[Component, ...]
    algorithms: tuple[Component, ...]
    problem_termination: tuple[tuple[str, Termination], ...] = ()
    algorithm_problems: tuple[tuple[str, tuple[str, ...]], ...] = ()
    output: Path = field(default_factory=lambda: Path("results"))
    n_jobs: int = 1
    backend: str = "loky"
    scheduler: str = ""
    source: str = "<config>"
    allow_import: bool = field(default=False, compare=False)

    def with_options(self, **changes: Any) -> CampaignConfig:
        """A copy with some fields changed (``output``, ``n_jobs``, ``backend``, ``scheduler``,
        ``allow_import``); ``None`` leaves a field as it is."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def runs(self) -> tuple[RunSpec, ...]:
        """Every run of the campaign, in a fixed order (problem, algorithm, replicate)."""
        term = dict(self.problem_termination)
        only = dict(self.algorithm_problems)
        out = []
        for p in self.problems:
            for a in self.algorithms:
                if a.label in only and p.label not in only[a.label]:
                    continue
                for r in self.replicates:
                    out.append(RunSpec(
                        run_id=f"{p.label}__{a.label}__r{r:03d}", problem=p, algorithm=a,
                        termination=term.get(p.label, self.termination), replicate=r,
                        seed=derive_seed(self.seed, p.label, a.label, r),
                    ))
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        """The resolved configuration, as a TOML-ready dict (what :func:`parse_config` reads back)."""
        term = dict(self.problem_termination)
        only = dict(self.algorithm_problems)
        camp: dict[str, Any] = {
            "name": self.name, "seed": self.seed, "seeds": list(self.replicates),
            "output": str(self.output), "n_jobs": self.n_jobs, "backend": self.backend,
            "scheduler": self.scheduler, "termination": self.termination.as_dict(),
        }
        probs = []
        for p in self.problems:
            d: dict[str, Any] = {"name": p.name, "label": p.label, "params": p.kwargs}
            if p.label in term:
                d["termination"] = term[p.label].as_dict()
            probs.append(d)
        algos = []
        for a in self.algorithms:
            d = {"name": a.name, "label": a.label, "params": a.kwargs}
            if a.label in only:
                d["problems"] = list(only[a.label])
            algos.append(d)
        return {"campaign": camp, "problem": probs, "algorithm": algos}


def derive_seed(campaign_seed: int, problem_label: str, algorithm_label: str, replicate: int) -> int:
    """The pymoo seed of one run, from the campaign seed and the run's identity.

    ``SeedSequence(campaign_seed, spawn_key=...)`` where the spawn key is the SHA-256 of
    ``"problem|algorithm|replicate"`` as eight 32-bit words, so the seed is the same whatever the
    order, the number of jobs, the backend or a resume; ``generate_state(1)[0]`` gives pymoo its int.
    """
    digest = hashlib.sha256(f"{problem_label}|{algorithm_label}|{replicate}".encode()).digest()
    key = tuple(int(w) for w in np.frombuffer(digest, dtype="<u4"))
    return int(np.random.SeedSequence(campaign_seed, spawn_key=key).generate_state(1)[0])


# --------------------------------------------------------------------------------------------------
# parsing


def _check_keys(table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})")


def _need(table: Mapping[str, Any], key: str, typ: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise ConfigError(f"{where}: missing key {key!r}")
    return _typed(table[key], typ, f"{where}.{key}")


def _typed(value: Any, typ: type | tuple[type, ...], where: str) -> Any:
    ok = isinstance(value, typ) and not (isinstance(value, bool) and typ in (int, (int, float)))
    if not ok:
        names = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
        raise ConfigError(f"{where}: expected {names}, got {type(value).__name__} {value!r}")
    return value


def _termination(table: Any, where: str) -> Termination:
    _typed(table, dict, where)
    _check_keys(table, _TERMINATION_KEYS, where)
    if len(table) != 1:
        raise ConfigError(f"{where}: give exactly one of n_gen, n_eval")
    (kind, value), = table.items()
    _typed(value, int, f"{where}.{kind}")
    if value < 1:
        raise ConfigError(f"{where}.{kind}: must be >= 1, got {value}")
    return Termination(kind, value)


def _label(value: Any, where: str) -> str:
    _typed(value, str, where)
    if not _LABEL.match(value):
        raise ConfigError(f"{where}: {value!r} may hold only letters, digits, '_', '-', '.' and may not "
                          "start with '.'")
    return value


def _components(items: Any, kind: str, src: str, allow_import: bool,
                check_names: bool) -> list[tuple[Component, dict[str, Any]]]:
    section = f"{src}: [[{kind}]]"
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{section}: at least one [[{kind}]] table is required")
    allowed = _PROBLEM_KEYS if kind == "problem" else _ALGORITHM_KEYS
    out = []
    labels: set[str] = set()
    for i, item in enumerate(items, start=1):
        where = f"{section} #{i}"
        _typed(item, dict, where)
        name = _need(item, "name", str, where)
        where = f"{section} #{i} ({name})"
        _check_keys(item, allowed, where)
        label = _label(item.get("label", name.replace(":", "."). replace("/", ".")), f"{where}.label")
        if label in labels:
            raise ConfigError(f"{where}.label: duplicate label {label!r}; give each entry its own label")
        labels.add(label)
        params = _typed(item.get("params", {}), dict, f"{where}.params")
        if check_names:
            if is_import_name(name) and not allow_import:
                raise refuse_import(name, kind, f"{where}.name")
            entry = get_problem(name) if kind == "problem" else get_algorithm(name)
            validate_params(entry, params, f"{where}.params")
        out.append((Component(name, label, tuple(sorted(params.items()))), item))
    return out


def parse_config(doc: Mapping[str, Any], source: str = "<config>", *, allow_import: bool = False,
                 check_names: bool = True) -> CampaignConfig:
    """Validate a parsed TOML document into a :class:`CampaignConfig`.

    Parameters
    ----------
    doc : mapping
        The parsed TOML.
    source : str
        Where it came from (for messages).
    allow_import : bool
        Accept (and import, to check their parameters) ``module:attribute`` names. Without it such a
        name is a :class:`ConfigError` naming ``--allow-import``.
    check_names : bool
        Look names and parameters up in the registry. ``False`` checks the structure only and never
        imports (:func:`read_stored_config`).

    Raises
    ------
    ConfigError
        Naming ``source``, the section and the key at fault.
    UnknownNameError
        A problem or algorithm name the registry does not know.
    """
    _check_keys(doc, ("campaign", "problem", "algorithm"), f"{source}: top level")
    camp = _typed(doc.get("campaign"), dict, f"{source}: [campaign]")
    where = f"{source}: [campaign]"
    _check_keys(camp, _CAMPAIGN_KEYS, where)
    name = _label(_need(camp, "name", str, where), f"{where}.name")
    seed = _need(camp, "seed", int, where)
    if seed < 0:
        raise ConfigError(f"{where}.seed: must be >= 0, got {seed}")
    seeds = _need(camp, "seeds", (int, list), where)
    if isinstance(seeds, int):
        if seeds < 1:
            raise ConfigError(f"{where}.seeds: must be >= 1, got {seeds}")
        replicates = tuple(range(seeds))
    else:
        replicates = tuple(_typed(s, int, f"{where}.seeds[{i}]") for i, s in enumerate(seeds))
        if not replicates or len(set(replicates)) != len(replicates) or min(replicates) < 0:
            raise ConfigError(f"{where}.seeds: need distinct non-negative replicate ids, got {seeds}")
    termination = _termination(_need(camp, "termination", dict, where), f"{where}.termination")
    output = Path(_typed(camp.get("output", f"results/{name}"), str, f"{where}.output"))
    n_jobs = _typed(camp.get("n_jobs", 1), int, f"{where}.n_jobs")
    if n_jobs == 0:
        raise ConfigError(f"{where}.n_jobs: must be non-zero (negative counts from the CPU count)")
    backend = _typed(camp.get("backend", "loky"), str, f"{where}.backend")
    scheduler = _typed(camp.get("scheduler", ""), str, f"{where}.scheduler")

    probs = _components(doc.get("problem"), "problem", source, allow_import, check_names)
    algos = _components(doc.get("algorithm"), "algorithm", source, allow_import, check_names)
    p_labels = {c.label for c, _ in probs}
    p_term = []
    for i, (c, item) in enumerate(probs, start=1):
        if "termination" in item:
            p_term.append((c.label, _termination(
                item["termination"], f"{source}: [[problem]] #{i} ({c.name}).termination")))
    a_only = []
    for i, (c, item) in enumerate(algos, start=1):
        if "problems" in item:
            w = f"{source}: [[algorithm]] #{i} ({c.name}).problems"
            only = _typed(item["problems"], list, w)
            for lab in only:
                if lab not in p_labels:
                    known = ", ".join(sorted(p_labels))
                    raise ConfigError(f"{w}: no problem labelled {lab!r} (labels: {known})")
            a_only.append((c.label, tuple(only)))
    cfg = CampaignConfig(
        name=name, seed=seed, replicates=replicates, termination=termination,
        problems=tuple(c for c, _ in probs), algorithms=tuple(c for c, _ in algos),
        problem_termination=tuple(p_term), algorithm_problems=tuple(a_only), output=output,
        n_jobs=n_jobs, backend=backend, scheduler=scheduler, source=source, allow_import=allow_import,
    )
    runs = cfg.runs()
    if not runs:
        raise ConfigError(f"{source}: the campaign has no runs (check [[algorithm]] problems = [...])")
    seen: dict[str, RunSpec] = {}
    for r in runs:  # labels holding "__" can spell the same run id twice
        if r.run_id in seen:
            o = seen[r.run_id]
            raise ConfigError(
                f"{source}: runs ({r.problem.label}, {r.algorithm.label}) and ({o.problem.label}, "
                f"{o.algorithm.label}) share the run id {r.run_id!r}; change a label")
        seen[r.run_id] = r
    return cfg


def load_config(path: str | Path, *, allow_import: bool = False) -> CampaignConfig:
    """Read and validate a campaign TOML file (see the module docstring for the format).

    ``allow_import`` accepts ``module:attribute`` names (importing them runs their code); without it
    such a name is an error naming ``--allow-import``.
    """
    return parse_config(_read_toml(path), str(path), allow_import=allow_import)


def read_stored_config(path: str | Path) -> CampaignConfig:
    """Read the ``campaign.toml`` of a results folder as data: structure checked, nothing imported.

    Names are not looked up in the registry, so a folder from someone else opens without running
    any of its names; what a report needs beyond the names is stored in the folder as data.
    """
    return parse_config(_read_toml(path), str(path), check_names=False)


def _read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read campaign file ({err.strerror})") from err
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err
    return doc


# --------------------------------------------------------------------------------------------------
# writing (tomllib only reads)


def _toml_value(v: Any, where: str) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        v = float(v)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x, where) for x in v) + "]"
    if isinstance(v, Mapping):
        items = [f"{_toml_key(k)} = {_toml_value(x, where)}" for k, x in v.items() if x is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if v is None:
        raise ConfigError(f"{where}: None has no TOML form; leave the key out instead")
    raise ConfigError(f"{where}: cannot write a {type(v).__name__} to TOML")


def _toml_key(k: str) -> str:
    return k if re.match(r"^[A-Za-z0-9_-]+$", k) else _toml_value(k, k)


def dump_toml(doc: Mapping[str, Any]) -> str:
    """Write a document of tables, arrays of tables and plain values as TOML text.

    Enough for campaign files: top-level tables whose values are scalars, arrays or inline tables,
    and arrays of such tables. ``None`` values are left out.
    """
    lines: list[str] = []
    for key, value in doc.items():
        tables = value if isinstance(value, list) else [value]
        header = f"[[{key}]]" if isinstance(value, list) else f"[{key}]"
        for table in tables:
            lines.append(header)
            for k, v in table.items():
                if v is not None:
                    lines.append(f"{_toml_key(k)} = {_toml_value(v, f'{key}.{k}')}")
            lines.append("")
    return "\n".join(lines)
