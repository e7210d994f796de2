"""Which ONNX Runtime build this environment has: the CPU family or the GPU family, never both.

ONNX Runtime comes as a CPU family (``onnxruntime`` + ``onnxruntime-genai``)
and a GPU family (``onnxruntime-gpu`` + ``onnxruntime-genai-cuda``). Both
install the same ``onnxruntime`` / ``onnxruntime_genai`` modules, so having both
means one silently overwrote the other. :func:`detect_onnx_install` checks that
exactly one family is installed, and raises
:class:`~benchlib.errors.RuntimeFailure` saying how to repair it otherwise.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from typing import Mapping

from benchlib.errors import RuntimeFailure

__all__ = [
    "CPU_FAMILY",
    "CPU_INSTALL_HINT",
    "GPU_FAMILY",
    "GPU_INSTALL_HINT",
    "OnnxInstall",
    "detect_onnx_install",
]

CPU_FAMILY = ("onnxruntime", "onnxruntime-genai")
"""Distributions of the CPU build (``pip install -e ".[onnx]"``)."""

GPU_FAMILY = ("onnxruntime-gpu", "onnxruntime-genai-cuda")
"""Distributions of the CUDA build (``environment-gpu.yml``)."""

CPU_INSTALL_HINT = 'pip install -e ".[onnx]"'
GPU_INSTALL_HINT = (
    "conda env create -f environment-gpu.yml, or in a fresh virtual environment: "
    "pip install -e . onnxruntime-genai-cuda==0.18.0 'onnxruntime-gpu[cuda,cudnn]==1.31.1'"
)


@dataclass(frozen=True)
class OnnxInstall:
    """Which ONNX Runtime family this environment has.

    Attributes:
        family: ``cpu`` or ``gpu``.
        versions: Installed ONNX Runtime distributions and their versions.
    """

    family: str
    versions: dict[str, str]

    @property
    def onnxruntime_version(self) -> str:
        """Version of ``onnxruntime`` or ``onnxruntime-gpu``."""
        return self.versions[CPU_FAMILY[0] if self.family == "cpu" else GPU_FAMILY[0]]

    @property
    def genai_version(self) -> str:
        """Version of ``onnxruntime-genai`` or ``onnxruntime-genai-cuda``."""
        return self.versions[CPU_FAMILY[1] if self.family == "cpu" else GPU_FAMILY[1]]


def _installed_versions() -> dict[str, str]:
    versions = {}
    for name in (*CPU_FAMILY, *GPU_FAMILY):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def detect_onnx_install(versions: Mapping[str, str] | None = None) -> OnnxInstall:
    """Check that exactly one complete ONNX Runtime family is installed.

    Args:
        versions: Distribution name -> version (default: read from this environment).

    Raises:
        RuntimeFailure: none installed, both families installed (the CPU wheel
            silently overwrites the GPU one, so CUDA vanishes), or a family with
            one of its two packages missing; the message says how to repair it.
    """
    versions = dict(_installed_versions() if versions is None else versions)
    cpu = [name for name in CPU_FAMILY if name in versions]
    gpu = [name for name in GPU_FAMILY if name in versions]
    found = ", ".join(f"{name} {versions[name]}" for name in (*cpu, *gpu))
    if cpu and gpu:
        raise RuntimeFailure(
            f"Both ONNX Runtime families are installed ({found}). They install the same modules, so one silently "
            "replaced the other (usually the CPU build replaces CUDA). Keep one: on a GPU machine run "
            "pip uninstall -y onnxruntime onnxruntime-genai && pip install --force-reinstall --no-deps "
            "onnxruntime-gpu onnxruntime-genai-cuda; on a CPU machine run pip uninstall -y onnxruntime-gpu "
            "onnxruntime-genai-cuda && pip install --force-reinstall --no-deps onnxruntime onnxruntime-genai."
        )
    if not cpu and not gpu:
        raise RuntimeFailure(
            "The onnx runtime needs ONNX Runtime GenAI, which is not installed. On a CPU machine (or a Raspberry "
            f"Pi): {CPU_INSTALL_HINT}; on an NVIDIA GPU machine: {GPU_INSTALL_HINT}. To convert models here too, "
            'add the convert extra (".[onnx,convert]").'
        )
    family, names = ("cpu", CPU_FAMILY) if cpu else ("gpu", GPU_FAMILY)
    missing = [name for name in names if name not in versions]
    if missing:
        hint = CPU_INSTALL_HINT if family == "cpu" else GPU_INSTALL_HINT
        raise RuntimeFailure(
            f"The {family.upper()} ONNX Runtime family is incomplete: {found} is installed but {', '.join(missing)} "
            f"is missing. Install it: {hint}."
        )
    return OnnxInstall(family=family, versions={name: versions[name] for name in names})
