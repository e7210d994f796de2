"""Named service levels: published TTFT / TPOT limits the decision can size against.

The levels live in ``data/reference/service-levels.yaml``. Each has limits in
seconds, the percentile they must hold at, and sources quoted verbatim. A decision
parameter file names one with ``service_level:``. Targets it gives explicitly
override the level's limits.
It imports nothing from :mod:`benchlib.decision`, so any module there can import it without a cycle.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from benchlib.errors import ParameterError
from benchlib.paths import reference_dir
from benchlib.reference_files import load_yaml_model

__all__ = ["DEFAULT_SERVICE_LEVEL", "SERVICE_LEVELS_PATH", "ServiceLevel", "ServiceLevelSource", "ServiceLevels",
           "load_service_levels", "service_level"]  # fmt: skip

SERVICE_LEVELS_PATH = reference_dir() / "service-levels.yaml"
"""The shipped service levels (``data/reference/service-levels.yaml``)."""
DEFAULT_SERVICE_LEVEL = "mlperf-llama3.1-8b-server"
"""The level the decision uses when a parameter file names none: MLPerf Inference's Llama3.1-8B Server limits."""

_CONFIG = ConfigDict(extra="forbid", frozen=True, strict=True)


class ServiceLevelSource(BaseModel):
    """Where a service level's figures were read.

    Attributes:
        url: The page or file, https.
        quote: Its text, verbatim, that states the figures.
        publisher: Who publishes it (``MLCommons``).
        retrieved: The day it was read.
        supports: The figures the quote states (``ttft_s``, ``tpot_s``, ``percentile``).
        note: Where in the source the quote is, or what a reader must know about it.
    """

    model_config = _CONFIG

    url: str = Field(pattern=r"^https://\S+$")
    quote: str = Field(min_length=1)
    publisher: str = Field(min_length=1)
    retrieved: date = Field(strict=False)  # a quoted 'YYYY-MM-DD' reads too
    supports: list[Literal["ttft_s", "tpot_s", "percentile"]] = Field(min_length=1)
    note: str | None = None


class ServiceLevel(BaseModel):
    """Latency limits that must hold at a percentile of the requests.

    Attributes:
        description: What the level is and who set it.
        model: The model the limits were set for (a key of ``models.yaml``).
        ttft_s: Time-to-first-token limit, seconds.
        tpot_s: Time-per-output-token limit, seconds.
        percentile: The percentile of requests the limits are checked at (99: p99).
        sources: Where the figures were read, at least one.
    """

    model_config = _CONFIG

    description: str = Field(min_length=1)
    model: str = Field(min_length=1)
    ttft_s: float = Field(gt=0)
    tpot_s: float = Field(gt=0)
    percentile: float = Field(gt=0, le=100)
    sources: list[ServiceLevelSource] = Field(min_length=1)


class ServiceLevels(BaseModel):
    """A service-level file.

    Attributes:
        schema_version: Version of the file's format (1).
        service_levels: Levels by name.
    """

    model_config = _CONFIG

    schema_version: Literal[1]
    service_levels: dict[str, ServiceLevel] = Field(min_length=1)


def load_service_levels(path: str | Path | None = None) -> ServiceLevels:
    """Read and validate a service-level file.

    Args:
        path: The file; ``None`` reads :data:`SERVICE_LEVELS_PATH`.

    Raises:
        ParameterError: The file cannot be read, is not YAML, or has an invalid field.
            The message names the file and every bad field.
    """
    file_path = SERVICE_LEVELS_PATH if path is None else Path(path)
    stamp = file_path.stat().st_mtime_ns if file_path.is_file() else None
    return _load(file_path, stamp)


@functools.lru_cache(maxsize=8)
def _load(file_path: Path, stamp: int | None) -> ServiceLevels:
    """The file read once per modification time (a decision asks for its limits many times)."""
    return load_yaml_model(file_path, ServiceLevels, ParameterError, "the service levels")


def service_level(name: str, path: str | Path | None = None) -> ServiceLevel:
    """The service level called ``name``.

    Args:
        name: A key of the file's ``service_levels:``.
        path: The file; ``None`` reads :data:`SERVICE_LEVELS_PATH`.

    Raises:
        ParameterError: No level has that name (the message lists the valid names), or the file is invalid.
    """
    levels = load_service_levels(path).service_levels
    if name not in levels:
        raise ParameterError(f"Unknown service level '{name}'; valid service levels: {', '.join(levels)}.")
    return levels[name]
