"""The fleet file: base parameters, matrix axes with ``exclude``/``include``, targets; expanded into sweeps.

A fleet file (``params/fleet/NAME.yaml``; not ``params/*.yaml``, which are single sweeps' parameter files)::

    base: params/smoke.yaml          # a parameter file (relative to the fleet file or the checkout) or a mapping
    set: {repetitions: 2}            # optional: values for every sweep
    matrix:                          # axis -> values; every combination is one sweep per target
      output_tokens: [8, 16]
      threads: [1, 2]
    exclude: [{threads: 2, target: pi5-a}]         # optional, as in GitHub Actions matrices
    include: [{output_tokens: 16, warmup: 2}]      # optional, as in GitHub Actions matrices
    targets:                         # device label -> its parameter overrides
      pi5-a: {profile: pi5, platform: Raspberry Pi 5 (a)}
      cpu-b: {platform: this machine (b)}

``target`` is a key of every combination, so ``exclude``/``include`` entries may name it. Exclusions are applied
first; an ``include`` entry adds its extra keys to every combination it matches without overwriting an axis value,
and becomes a combination of its own (on every target unless it names one) when it matches none. A sweep's values
are, later winning: the base, ``set``, the target's overrides, the combination. ``output_dir`` is never a fleet
value: the runner sets it to the fleet's runs folder, and it is no part of a run id.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

import yaml

from benchlib.config import SweepConfig
from benchlib.errors import ParameterError
from benchlib.notebook_runner import load_parameter_file
from benchlib.paths import repo_root
from benchlib.records import RunDirectory, RunStatus

__all__ = ["FLEET_KEYS", "TARGET_KEY", "Fleet", "FleetSweep", "expand", "format_dry_run", "load_fleet", "sweep_status"]

FLEET_KEYS = ("base", "set", "matrix", "exclude", "include", "targets")
"""The keys a fleet file may have."""

TARGET_KEY = "target"
"""The key that names a combination's device, usable in ``exclude``/``include`` entries."""

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SHOWN_LABELS = 4


@dataclass(frozen=True)
class FleetSweep:
    """One sweep of a fleet: a target device and the values it runs with.

    Attributes:
        target: Device label, e.g. ``pi5-a``.
        parameter_file: The base parameter file (absolute), or ``None`` when the base is inline.
        overrides: Values over the file (inline base, ``set``, the target's, the combination's): what
            :func:`~benchlib.notebook_runner.run_sweep_notebook` gets, without ``output_dir``.
        run_id: The run id of the file and overrides.
        label: ``"cpu-a · output_tokens=8"``: the target and the combination's values.
    """

    target: str
    parameter_file: Path | None
    overrides: dict[str, Any]
    run_id: str
    label: str


@dataclass(frozen=True)
class Fleet:
    """An expanded, validated fleet file.

    Attributes:
        path: The fleet file.
        sweeps: Every sweep: combinations in matrix order, the targets (in file order) varying fastest.
        targets: The device labels, in the order of the file.
    """

    path: Path
    sweeps: tuple[FleetSweep, ...]
    targets: tuple[str, ...]


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _label(target: str, combination: dict[str, Any]) -> str:
    pairs = ", ".join(f"{name}={_shown(value)}" for name, value in combination.items() if name != TARGET_KEY)
    return f"{target} · {pairs}" if pairs else target


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        shipped = sorted(str(p.relative_to(repo_root())) for p in (repo_root() / "params" / "fleet").glob("*.yaml"))
        raise ParameterError(f"Fleet file {path} does not exist; shipped fleets: {', '.join(shipped)}.")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ParameterError(f"Fleet file {path} is not valid YAML: {exc}") from exc
    if not isinstance(values, dict):
        raise ParameterError(f"Fleet file {path} must be a mapping with keys {', '.join(FLEET_KEYS)}.")
    return values


class _Check:
    """Collects problems; each says where it is and what to fix."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.valid = SweepConfig.names()
        self.settable = [name for name in self.valid if name != "output_dir"]

    def add(self, problem: str) -> None:
        if problem not in self.problems:
            self.problems.append(problem)

    def known(self, values: dict[str, Any], where: str) -> dict[str, Any]:
        """The values with known parameter names; the others (and ``output_dir``) reported."""
        unknown = [name for name in values if name not in self.valid]
        if unknown:
            self.add(f"{where}: unknown parameter(s) {', '.join(map(str, unknown))}; "
                     f"valid parameters: {', '.join(self.settable)}.")  # fmt: skip
        if "output_dir" in values and not where.startswith("base"):  # a base's is replaced by the runs folder
            self.add(f"{where}: output_dir is not a fleet value; the fleet's runs folder is given with --runs-dir.")
        return {k: v for k, v in values.items() if k in self.valid and k != "output_dir"}

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(f"{where} must be a mapping of name: value, got {_shown(value)}.")
            return {}
        return value


def _base(raw: Any, fleet_path: Path, check: _Check) -> tuple[Path | None, dict[str, Any], dict[str, Any]]:
    """The base: (parameter file, its values, inline values)."""
    if isinstance(raw, dict):
        return None, {}, check.known(raw, "base")
    if not isinstance(raw, str) or not raw:
        check.add("base must be a parameter file (e.g. params/smoke.yaml) or a mapping of parameters.")
        return None, {}, {}
    candidates = [Path(raw)] if Path(raw).is_absolute() else [fleet_path.parent / raw, repo_root() / raw]
    found = next((p.resolve() for p in candidates if p.is_file()), None)
    if found is None:
        check.add(f"base: parameter file {raw} not found (looked in {', '.join(str(p) for p in candidates)}).")
        return None, {}, {}
    try:
        return found, check.known(load_parameter_file(found), f"base ({found.name})"), {}
    except ParameterError as exc:
        check.add(f"base: {exc}")
        return None, {}, {}


def _matrix(raw: Any, check: _Check) -> dict[str, list[Any]]:
    if not isinstance(raw, dict) or not raw:
        check.add("matrix must be a non-empty mapping of axis: [values], e.g. matrix: {output_tokens: [8, 16]}.")
        return {}
    axes: dict[str, list[Any]] = {}
    for name, values in raw.items():
        if name == TARGET_KEY:
            check.add("matrix: target is not an axis; the devices are listed under targets.")
        elif name not in check.valid:
            check.add(f"matrix: unknown axis {name}; valid axes (sweep parameters): {', '.join(check.settable)}.")
        elif name == "output_dir":
            check.add("matrix: output_dir is not a fleet value; the fleet's runs folder is given with --runs-dir.")
        elif not isinstance(values, list) or not values:
            check.add(f"matrix: axis {name} must be a non-empty list of values, got {_shown(values)}.")
        else:
            axes[name] = values
    return axes


def _targets(raw: Any, axes: dict[str, list[Any]], check: _Check) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict) or not raw:
        check.add("targets must be a non-empty mapping of device label: {overrides}, "
                  "e.g. targets: {pi5-a: {profile: pi5}}.")
        return {}
    targets: dict[str, dict[str, Any]] = {}
    for label, overrides in raw.items():
        label = str(label)
        if not _LABEL.match(label):
            check.add(f"targets: label {label!r} must be letters, digits, '.', '_' or '-' (it names a Ray resource).")
            continue
        values = check.known(check.mapping(overrides, f"targets: {label}"), f"targets: {label}")
        clash = [name for name in values if name in axes]
        if clash:
            check.add(f"targets: {label} sets the matrix axis {', '.join(clash)}; leave its values to the matrix "
                      f"(exclude combinations with exclude: [{{target: {label}, ...}}]).")  # fmt: skip
        targets[label] = {k: v for k, v in values.items() if k not in axes}
    return targets


def _entries(raw: Any, key: str, check: _Check) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, dict) and item for item in raw):
        check.add(f"{key} must be a list of non-empty mappings, e.g. {key}: [{{target: pi5-a, output_tokens: 8}}].")
        return []
    return raw


def _matches(combination: dict[str, Any], entry: dict[str, Any], keys) -> bool:
    return all(combination.get(k) == v for k, v in entry.items() if k in keys)


def expand(axes: dict[str, list[Any]], targets: list[str], exclude: list[dict], include: list[dict]) -> list[dict]:
    """Every combination (``target`` included), GitHub Actions style: product, minus ``exclude``, plus ``include``."""
    originals = [*axes, TARGET_KEY]
    combos = [dict(zip(originals, values)) for values in product(*axes.values(), targets)]
    combos = [c for c in combos if not any(_matches(c, entry, entry) for entry in exclude)]
    for entry in include:
        keys = [k for k in entry if k in originals]
        matched = [c for c in combos if _matches(c, entry, keys)]
        for combination in matched:
            combination.update({k: v for k, v in entry.items() if k not in originals})
        if not matched:
            for target in [entry[TARGET_KEY]] if TARGET_KEY in entry else targets:
                combos.append({**entry, TARGET_KEY: target})
    return combos


def _check_entries(exclude: list[dict], include: list[dict], axes: dict, targets: dict, check: _Check) -> None:
    for entry in exclude:
        unknown = [k for k in entry if k not in axes and k != TARGET_KEY]
        if unknown:
            keys = ", ".join([*axes, TARGET_KEY])
            check.add(f"exclude: {', '.join(map(str, unknown))} is not a matrix axis; exclude may name: {keys}.")
    for key, entries in (("exclude", exclude), ("include", include)):
        for entry in entries:
            if TARGET_KEY in entry and str(entry[TARGET_KEY]) not in targets:
                check.add(f"{key}: target {entry[TARGET_KEY]} is not one of the targets: {', '.join(targets)}.")
            if key == "include":
                check.known({k: v for k, v in entry.items() if k != TARGET_KEY}, "include")


def _group(messages: dict[str, list[str]]) -> list[str]:
    """One problem per distinct message, naming the sweeps it concerns."""
    lines = []
    for message, labels in messages.items():
        more = len(labels) - _SHOWN_LABELS
        shown = "; ".join(labels[:_SHOWN_LABELS]) + (f"; and {more} more" if more > 0 else "")
        lines.append(f"sweep {shown}: {message}")
    return lines


def _sweeps(fleet_path: Path, base, shared: dict, targets: dict, combos: list[dict], check: _Check) -> list[FleetSweep]:
    parameter_file, file_values, inline = base
    sweeps, refused = [], defaultdict(list)
    for combination in combos:
        target = str(combination[TARGET_KEY])
        if target not in targets:
            continue
        values = {k: v for k, v in combination.items() if k != TARGET_KEY and k in check.valid and k != "output_dir"}
        overrides = {**inline, **shared, **targets[target], **values}
        label = _label(target, combination)
        try:
            config = SweepConfig.from_mapping({**file_values, **overrides})
            if config.run.repeats > 1:  # a fleet would measure only repeat 1 and call the sweep complete
                raise ParameterError(f"repeats: {config.run.repeats} is not run by a fleet (it runs each sweep once); "
                                     "drop repeats here and run the repeats with benchlib sweep FILE --repeat N.")
            run_id = config.run_id()
        except ParameterError as exc:
            refused[str(exc)].append(label)
            continue
        sweeps.append(FleetSweep(target, parameter_file, overrides, run_id, label))
    for problem in _group(refused):
        check.add(problem)
    by_id = defaultdict(list)
    for sweep in sweeps:
        by_id[sweep.run_id].append(sweep.label)
    for run_id, labels in by_id.items():
        if len(labels) > 1:
            check.add(f"sweeps {'; '.join(labels)} are the same run {run_id}: give each target its own platform "
                      f"or profile, and each combination a value that differs.")  # fmt: skip
    return sweeps


def load_fleet(path: str | Path) -> Fleet:
    """Read, expand and validate a fleet file.

    Args:
        path: The fleet file (YAML).

    Returns:
        The fleet: every sweep with its overrides and run id.

    Raises:
        ParameterError: every problem of the file at once (unknown keys, axes or parameters, values a sweep
            would refuse, an empty matrix, duplicate run ids), each saying what to fix.
    """
    fleet_path = Path(path).resolve()
    raw = _read_yaml(fleet_path)
    check = _Check()
    unknown = [str(k) for k in raw if k not in FLEET_KEYS]
    if unknown:
        check.add(f"unknown key(s) {', '.join(unknown)}; a fleet file has: {', '.join(FLEET_KEYS)}.")
    base = _base(raw.get("base"), fleet_path, check) if "base" in raw else (None, {}, {})
    if "base" not in raw:
        check.add("base is missing: give a parameter file (base: params/smoke.yaml) or a mapping of parameters.")
    shared = check.known(check.mapping(raw.get("set"), "set"), "set")
    axes = _matrix(raw.get("matrix"), check)
    targets = _targets(raw.get("targets"), axes, check)
    exclude, include = _entries(raw.get("exclude"), "exclude", check), _entries(raw.get("include"), "include", check)
    _check_entries(exclude, include, axes, targets, check)
    combos = expand(axes, list(targets), exclude, include) if axes and targets else []
    if axes and targets and not combos:
        check.add("exclude removes every combination: nothing is left to run.")
    sweeps = _sweeps(fleet_path, base, shared, targets, combos, check)
    if check.problems:
        listing = "\n".join(f"  - {problem}" for problem in check.problems)
        count = len(check.problems)
        raise ParameterError(f"Fleet file {fleet_path} has {count} problem(s); nothing was run:\n{listing}")
    return Fleet(fleet_path, tuple(sweeps), tuple(targets))


def sweep_status(sweep: FleetSweep, runs_dir: Path) -> str:
    """What running the fleet would do with this sweep: ``new``, ``complete``, or ``STATUS -> resumes``."""
    status = RunDirectory(Path(runs_dir) / sweep.run_id).effective_status()
    if status == RunStatus.MISSING:
        return "new"
    if status == RunStatus.COMPLETE:
        return RunStatus.COMPLETE
    if status == RunStatus.RUNNING:
        return "running (another process)"
    return f"{status} -> resumes"


def format_dry_run(fleet: Fleet, runs_dir: Path) -> str:
    """One line per sweep: target, label, run id, and what a run would do with it.

    Args:
        fleet: The loaded fleet.
        runs_dir: The fleet's runs folder (where run directories are looked for).
    """
    from tabulate import tabulate

    rows = [[s.target, s.label, s.run_id, sweep_status(s, runs_dir)] for s in fleet.sweeps]
    table = tabulate(rows, headers=["target", "sweep", "run id", "status"])
    where = Path(runs_dir).resolve()
    return f"{fleet.path}: {len(fleet.sweeps)} sweeps on {len(fleet.targets)} targets, runs in {where}\n{table}"
