"""GGUF to Hugging Face folder: dequantize with transformers, in a child process.

onnxruntime-genai's model builder reads float GGUF files only, not quantized
ones (Q4_1, Q4_K_M ...). transformers loads and dequantizes the GGUF, but
refuses to save a model loaded from GGUF, so the dequantized weights are copied
into a fresh model built from the same configuration and saved (float32
safetensors), together with the tokenizer read from the GGUF.

The child process runs ``python -m benchlib.runtimes.onnx.export GGUF OUT_DIR
[ARCH]``; keep this module out of the package's ``__init__`` so that ``-m``
runs it fresh.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchlib.errors import ModelError
from benchlib.models import inspect_gguf

__all__ = ["EXPORT_ERROR_PREFIX", "export_command", "export_error", "export_gguf_to_hf", "gguf_eog_ids", "main"]

EXPORT_ERROR_PREFIX = "BENCHLIB_EXPORT_ERROR: "
"""Start of the line in the child's log that carries a :class:`~benchlib.errors.ModelError` message."""


def export_command(gguf_path: str | Path, out_dir: str | Path, architecture: str | None) -> list[str]:
    """The command line of the child process that exports ``gguf_path`` into ``out_dir``."""
    return [sys.executable, "-m", "benchlib.runtimes.onnx.export", str(gguf_path), str(out_dir)] + (
        [architecture] if architecture else []
    )


def export_error(log_path: Path) -> str | None:
    """The ModelError message the child wrote to its log, if it wrote one."""
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = [line[len(EXPORT_ERROR_PREFIX):] for line in text.splitlines() if line.startswith(EXPORT_ERROR_PREFIX)]
    return found[-1] if found else None


def export_gguf_to_hf(gguf_path: str | Path, out_dir: str | Path, architecture: str | None = None) -> dict[str, Any]:
    """Dequantize a GGUF file into a Hugging Face folder (float32 safetensors + tokenizer).

    transformers loads the GGUF (``gguf_file=``) but will not save a model loaded
    that way; the weights are copied into a fresh model made from the same
    configuration (without the GGUF ``quantization_config``), which saves normally.
    Runs in a child process when called through :func:`convert`. transformers
    parses the GGUF file once per call (several seconds for a large vocabulary),
    so it is asked three times only: configuration, weights, tokenizer.

    Args:
        gguf_path: The GGUF file.
        out_dir: The folder to write (created).
        architecture: GGUF ``general.architecture`` when already known (else read here).

    Returns:
        ``architecture``, ``model_type``, ``parameters`` and ``export_s``.

    Raises:
        ModelError: a GGUF architecture transformers cannot read.
    """
    started = time.perf_counter()
    gguf_path = Path(gguf_path)
    if architecture is None:
        architecture = inspect_gguf(gguf_path)["architecture"]
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    if architecture not in GGUF_SUPPORTED_ARCHITECTURES and architecture.replace("-", "") not in GGUF_SUPPORTED_ARCHITECTURES:
        raise ModelError(
            f"GGUF architecture '{architecture}' of {gguf_path} cannot be read by transformers "
            f"(which benchlib uses to dequantize GGUF files before the ONNX model builder); it reads: "
            f"{', '.join(sorted(GGUF_SUPPORTED_ARCHITECTURES))}. Convert from the model's Hugging Face folder "
            "instead (benchlib convert PATH/TO/HF_FOLDER), or run it with runtime: llama.cpp."
        )
    folder, name = str(gguf_path.parent), gguf_path.name
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, config=config, dtype=torch.float32)
    clean = copy.deepcopy(loaded.config)
    if hasattr(clean, "quantization_config"):
        del clean.quantization_config
    fresh = AutoModelForCausalLM.from_config(clean, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict(), strict=True)
    fresh.generation_config = loaded.generation_config
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fresh.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(folder, gguf_file=name).save_pretrained(out_dir)
    return {
        "architecture": (fresh.config.architectures or [type(fresh).__name__])[0],
        "model_type": fresh.config.model_type,
        "parameters": int(sum(p.numel() for p in fresh.parameters())),
        "export_s": time.perf_counter() - started,
    }


def gguf_eog_ids(gguf_path: Path) -> list[int]:
    """llama.cpp's end-of-generation token ids of a GGUF file (its vocabulary only: no weights, no context)."""
    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    with suppress_stdout_stderr(disable=False):
        model = llama_cpp.llama_model_load_from_file(str(gguf_path).encode("utf-8"), params)
    if not model:
        raise ModelError(f"llama.cpp could not read the vocabulary of {gguf_path}.")
    try:
        vocab = llama_cpp.llama_model_get_vocab(model)
        return [t for t in range(llama_cpp.llama_vocab_n_tokens(vocab)) if llama_cpp.llama_vocab_is_eog(vocab, t)]
    finally:
        llama_cpp.llama_model_free(model)


def main(gguf_path: str, out_dir: str, architecture: str | None) -> int:
    """Child-process entry of :func:`export_gguf_to_hf`: writes ``benchlib-export.json`` when done."""
    try:
        report = export_gguf_to_hf(gguf_path, out_dir, architecture)
    except ModelError as exc:
        print(f"{EXPORT_ERROR_PREFIX}{exc}", flush=True)
        return 2
    Path(out_dir, "benchlib-export.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) in (3, 4):
        sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) == 4 else None))
    print("usage: benchlib convert MODEL (this module's own entry is internal: GGUF OUT_DIR [ARCH])")
    sys.exit(2)
