"""ONNX precisions and execution providers, and which pairs the model builder can make run."""

from __future__ import annotations

from benchlib.errors import ParameterError

__all__ = [
    "BUILDER_PROVIDER",
    "DEFAULT_PRECISION",
    "DEFAULT_PROVIDER",
    "PRECISIONS",
    "PROVIDERS",
    "VALID_COMBINATIONS",
    "check_options",
]

PRECISIONS = ("int4", "int8", "fp16", "bf16", "fp32")
"""Weight precisions of a converted model (``-p`` of the model builder)."""

PROVIDERS = ("cpu", "cuda", "tensorrt")
"""Execution providers benchlib converts for and runs on; ``tensorrt`` is
onnxruntime-genai's TensorRT path, NVIDIA's TensorRT-RTX execution provider."""

BUILDER_PROVIDER = {"cpu": "cpu", "cuda": "cuda", "tensorrt": "NvTensorRtRtx"}
"""benchlib's provider name -> the model builder's ``-e`` value (and onnxruntime-genai's provider name)."""

VALID_COMBINATIONS: dict[str, tuple[str, ...]] = {
    "cpu": ("int4", "int8", "fp32"),
    "cuda": ("int4", "int8", "fp16", "bf16", "fp32"),
    "tensorrt": ("fp16", "bf16"),
}
"""Precisions each provider supports (the model builder's own table; fp16 on the
CPU provider builds but does not run)."""

DEFAULT_PRECISION = "int4"
DEFAULT_PROVIDER = "cpu"


def check_options(precision: str, provider: str) -> None:
    """Check a precision and provider pair.

    Raises:
        ParameterError: unknown name, or a pair the model builder cannot make run
            (the message lists the valid choices).
    """
    if provider not in PROVIDERS:
        raise ParameterError(f"Unknown ONNX execution provider '{provider}'; valid providers: {', '.join(PROVIDERS)}.")
    if precision not in PRECISIONS:
        raise ParameterError(f"Unknown ONNX precision '{precision}'; valid precisions: {', '.join(PRECISIONS)}.")
    if precision not in VALID_COMBINATIONS[provider]:
        others = [p for p, precisions in VALID_COMBINATIONS.items() if precision in precisions]
        raise ParameterError(
            f"Precision {precision} cannot run on the {provider} execution provider; on {provider} choose "
            f"{', '.join(VALID_COMBINATIONS[provider])}" + (f" (or use {precision} on {', '.join(others)})." if others else ".")
        )
