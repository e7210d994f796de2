"""The mission's platforms the decision compares: ``data/reference/decision-platforms.yaml``, validated.

Each entry names a ``hardware.yaml`` device, the runtime class it serves with,
its price profile, and optionally the quantization that runtime serves (the
Hailo-10H runs Hailo's A8W4 builds) and the only models it can run. A platform
that cannot run the decision's model, or cannot hold it in memory, is excluded
with its reason (:func:`why_excluded`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, StrictStr

from benchlib.errors import ParameterError
from benchlib.paths import reference_dir
from benchlib.predict.evidence import RUNTIME_CLASSES
from benchlib.reference_files import load_yaml_model
from benchlib.validation import ValidatedModel

__all__ = ["CATALOG_NAME", "MissionPlatform", "PlatformCatalog", "load_platform_catalog", "select_platforms", "settling_sweep"]

CATALOG_NAME = "decision-platforms.yaml"


class MissionPlatform(ValidatedModel):
    """One platform of the catalogue.

    Attributes:
        hardware: Its ``data/reference/hardware.yaml`` id.
        runtime_class: What serves the model on it (``llama.cpp``, ``vllm``, ``hailo`` ...).
        price_profile: Its price profile's name.
        quantization: The format it serves the model in, when not the decision's own; ``None``: the decision's.
        models: The only ``models.yaml`` ids it can run; ``None``: any that fits its memory.
        models_source: Where that list comes from.
        sweep_params: The sweep parameter file a load sweep of it starts from.
        note: What a reader should know.
    """

    hardware: StrictStr
    runtime_class: StrictStr
    price_profile: StrictStr
    quantization: StrictStr | None = None
    models: list[StrictStr] | None = None
    models_source: StrictStr = ""
    sweep_params: StrictStr | None = None
    note: StrictStr = ""


class PlatformCatalog(ValidatedModel):
    """The catalogue file."""

    schema_version: int = Field(1, ge=1, le=1)
    platforms: dict[StrictStr, MissionPlatform]


def load_platform_catalog(path: str | Path | None = None) -> PlatformCatalog:
    """The catalogue (default ``data/reference/decision-platforms.yaml``).

    Raises:
        ParameterError: the file is missing, not YAML, or invalid (each field named), or a runtime class is unknown.
    """
    path = Path(path) if path is not None else reference_dir() / CATALOG_NAME
    catalog = load_yaml_model(path, PlatformCatalog, ParameterError, "the decision's platforms")
    for name, platform in catalog.platforms.items():
        if platform.runtime_class not in RUNTIME_CLASSES:
            raise ParameterError(f"{path}: platform '{name}' runtime_class '{platform.runtime_class}' is unknown; "
                                 f"valid: {', '.join(RUNTIME_CLASSES)}.")  # fmt: skip
    return catalog


def select_platforms(catalog: PlatformCatalog, names: str | list[str]) -> dict[str, MissionPlatform]:
    """The platforms ``names`` selects: ``mission`` (all of them) or a list of catalogue names.

    Raises:
        ParameterError: a name the catalogue does not have (the valid ones are listed).
    """
    if names == "mission":
        return dict(catalog.platforms)
    if isinstance(names, str):
        names = [names]
    unknown = [name for name in names if name not in catalog.platforms]
    if unknown:
        raise ParameterError(f"platforms: unknown platform(s) {', '.join(unknown)}; valid: 'mission' or a list of "
                             f"{', '.join(catalog.platforms)} (data/reference/{CATALOG_NAME}).")  # fmt: skip
    return {name: catalog.platforms[name] for name in names}


def settling_sweep(platform: MissionPlatform, model_label: str) -> str:
    """The measurement that would replace a prediction of ``model_label`` on ``platform``, as a command."""
    sweep = f"benchlib sweep {platform.sweep_params}" if platform.sweep_params else "benchlib sweep <params file>"
    return (f"a load sweep of {model_label} on {platform.hardware} with {platform.runtime_class} "
            f"(`{sweep} --set model=<that model>` on the device, or its results imported with `benchlib import`)")
