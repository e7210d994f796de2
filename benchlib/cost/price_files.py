"""Price files: YAML documents of profiles (schema in ``data/reference/prices.yaml``), merged into a :class:`PriceBook`.

:func:`load_prices` reads the article's defaults and then your files, which add
profiles or replace them by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from benchlib.cost.profiles import KINDS, PROFILE_TYPES, Profile
from benchlib.errors import ParameterError
from benchlib.paths import repo_root
from benchlib.reference_files import parse_yaml

__all__ = ["DEFAULT_PRICES_PATH", "SCHEMA_VERSION", "PriceBook", "load_price_profile", "load_prices"]

DEFAULT_PRICES_PATH = repo_root() / "data" / "reference" / "prices.yaml"
SCHEMA_VERSION = 1
"""Version of the price-file schema (``schema_version:`` of a price file)."""


@dataclass(frozen=True)
class PriceBook:
    """Price profiles by name, merged from one or more price files.

    Attributes:
        profiles: Profiles by name, in the order they were first defined.
        files: The files read, in order (later ones override earlier ones).
    """

    profiles: dict[str, Profile]
    files: tuple[Path, ...]

    def __getitem__(self, name: str) -> Profile:
        if name not in self.profiles:
            raise ParameterError(
                f"No price profile '{name}'; valid profiles: {', '.join(self.profiles)}. "
                "Add it to a price file of your own and pass that file to load_prices()."
            )
        return self.profiles[name]

    def __contains__(self, name: object) -> bool:
        return name in self.profiles

    def __iter__(self) -> Iterator[str]:
        return iter(self.profiles)

    def __len__(self) -> int:
        return len(self.profiles)


_TOP_LEVEL_KEYS = ("schema_version", "profiles")
_META_KEYS = ("kind", "extends")


def _read_document(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ParameterError(
            f"Price file {path} not found; pass the path of a YAML price file "
            f"(see {DEFAULT_PRICES_PATH} for the schema)."
        )
    try:
        document = parse_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: not valid YAML, fix the syntax: {exc}") from None
    if not isinstance(document, dict):
        raise ParameterError(
            f"{path}: the top level must be a mapping with keys {', '.join(_TOP_LEVEL_KEYS)}, "
            f"got {type(document).__name__}."
        )
    unknown = [key for key in document if key not in _TOP_LEVEL_KEYS]
    if unknown:
        raise ParameterError(
            f"{path}: unknown top-level field '{unknown[0]}'; valid fields: {', '.join(_TOP_LEVEL_KEYS)}."
        )
    for key in _TOP_LEVEL_KEYS:
        if key not in document:
            raise ParameterError(
                f"{path}: field '{key}' is missing (a price file has schema_version: {SCHEMA_VERSION} and profiles:)."
            )
    if document["schema_version"] != SCHEMA_VERSION:
        raise ParameterError(
            f"{path}: field 'schema_version' is {document['schema_version']!r}; supported: {SCHEMA_VERSION}."
        )
    if not isinstance(document["profiles"], dict):
        raise ParameterError(
            f"{path}: field 'profiles' must be a mapping of profile name to profile, "
            f"got {type(document['profiles']).__name__}."
        )
    return document


def _build_profile(
    path: Path, name: Any, entry: Any, known: dict[str, dict[str, Any]]
) -> tuple[Profile, dict[str, Any]]:
    """Build one profile from its YAML entry; returns it and its resolved raw fields."""
    where = f"{path}: profile '{name}'"
    if not isinstance(name, str) or not name:
        raise ParameterError(f"{path}: profile names must be non-empty text, got {name!r}.")
    if not isinstance(entry, dict):
        raise ParameterError(f"{where}: must be a mapping of field to value, got {type(entry).__name__}.")
    raw: dict[str, Any] = {}
    if "extends" in entry:
        base = entry["extends"]
        if base not in known:
            raise ParameterError(
                f"{where}: field 'extends' names unknown profile {base!r}; profiles defined so far: "
                f"{', '.join(known) or 'none'}."
            )
        raw.update(known[base])
    raw.update({key: value for key, value in entry.items() if key != "extends"})

    kind = raw.get("kind")
    if kind is None:
        raise ParameterError(f"{where}: field 'kind' is missing; valid kinds: {', '.join(KINDS)}.")
    if kind not in PROFILE_TYPES:
        raise ParameterError(f"{where}: field 'kind' must be one of {', '.join(KINDS)}, got {kind!r}.")
    cls = PROFILE_TYPES[kind]
    required = [f.name for f in fields(cls) if f.name not in ("name", "sources") and _is_required(f)]
    valid = [f.name for f in fields(cls) if f.name not in ("name", "sources")]
    for key in raw:
        if key not in valid and key not in _META_KEYS:
            reason = getattr(cls, "not_applicable", {}).get(key)
            raise ParameterError(
                f"{where}: unknown field '{key}' for a {kind} profile"
                f"{f' ({reason})' if reason else ''}; valid fields: {', '.join([*_META_KEYS, *valid])}."
            )
    for key in required:
        if key not in raw:
            raise ParameterError(f"{where}: field '{key}' is missing (a {kind} profile needs {', '.join(required)}).")

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, value in raw.items():
        if key == "kind":
            continue
        if isinstance(value, dict):
            if "value" not in value or set(value) - {"value", "source"}:
                raise ParameterError(
                    f"{where}: field '{key}' must be a value or a mapping with 'value' and optional 'source', "
                    f"got keys {', '.join(map(str, value))}."
                )
            if "source" in value:
                if not isinstance(value["source"], str):
                    raise ParameterError(f"{where}: field '{key}': 'source' must be text, got {value['source']!r}.")
                sources[key] = value["source"]
            value = value["value"]
        values[key] = value
    try:
        profile = cls(name=name, sources=sources, **values)
    except ParameterError as exc:
        raise ParameterError(f"{path}: {exc}") from None
    return profile, raw


def _is_required(f: Any) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def load_prices(*paths: str | Path, include_defaults: bool = True) -> PriceBook:
    """Read price files into a :class:`PriceBook`.

    The article's defaults (``data/reference/prices.yaml``) come first, then each
    path in order; a profile defined again replaces the earlier one by name. A
    profile may start from an earlier one with ``extends: <name>`` and override
    fields, e.g. ``pi5: {extends: pi5, electricity_usd_per_kwh: 0.32}``,
    ``l4-spot: {extends: l4, discount: 0.6}`` or, for a hosted API,
    ``my-api-batch: {extends: my-api, usd_per_million_output_tokens: 0.30}``.

    Args:
        *paths: Your price files (schema in ``data/reference/prices.yaml``).
        include_defaults: Read the article's defaults first.

    Raises:
        ParameterError: a file is missing, not YAML, or has a missing, unknown or
            invalid field; the message names the file, the profile and the field.
    """
    files = ([DEFAULT_PRICES_PATH] if include_defaults else []) + [Path(p) for p in paths]
    if not files:
        raise ParameterError("No price files to read: pass at least one path or include_defaults=True.")
    profiles: dict[str, Profile] = {}
    known: dict[str, dict[str, Any]] = {}
    for path in files:
        document = _read_document(path)
        for name, entry in document["profiles"].items():
            profiles[name], known[name] = _build_profile(path, name, entry, known)
    return PriceBook(profiles, tuple(files))


def load_price_profile(name: str, *paths: str | Path) -> Profile | None:
    """The price profile ``name`` from the article's defaults and then ``paths`` (``None`` when ``name`` is empty).

    Args:
        name: A profile name (``l4``, ``pi5``), or ``""`` for none.
        *paths: Your price files, read after the defaults (see :func:`load_prices`).

    Raises:
        ParameterError: a bad price file, or a name no file defines (the message lists the valid profiles).
    """
    return load_prices(*paths)[name] if name else None
