"""benchlib convert: GGUF or Hugging Face folder -> ONNX Runtime GenAI folder, cached; its errors.

The embedded SmolLM2 is converted at test time into the benchlib cache
(``$BENCHLIB_ONNX_CACHE_DIR``, else ``~/.cache/benchlib/onnx``), never into the
checkout, and reused by later runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchlib.cli import main
from benchlib.runtimes.onnx import conversion as convert_module
from benchlib.runtimes.onnx.conversion import convert, hf_folder_for
from benchlib.runtimes.onnx.manifest import MANIFEST_NAME
from benchlib.runtimes.onnx.options import PRECISIONS, PROVIDERS, check_options
from benchlib.runtimes.onnx.tools import missing_conversion_tools, supported_architectures
from benchlib.errors import ModelError, ParameterError
from benchlib.models import resolve_model

pytestmark = [pytest.mark.model]

# Read before conftest's per-test cache directory is set: converted models persist between runs.
PERSISTENT_ONNX_CACHE = Path(
    os.environ.get("BENCHLIB_ONNX_CACHE_DIR")
    or Path(os.environ.get("BENCHLIB_CACHE_DIR") or Path.home() / ".cache" / "benchlib") / "onnx"
)
MISSING = missing_conversion_tools()
needs_tools = pytest.mark.skipif(
    bool(MISSING),
    reason=f"the conversion extra is not installed ({', '.join(MISSING)} missing): pip install -e '.[onnx,convert]' "
    "(make test installs it)",
)


@pytest.fixture(autouse=True)
def _persistent_onnx_cache(monkeypatch):
    monkeypatch.setenv("BENCHLIB_ONNX_CACHE_DIR", str(PERSISTENT_ONNX_CACHE))


@pytest.fixture(scope="module")
def model():
    return resolve_model("smollm2-135m-q4_1")


def test_options_are_checked_with_the_valid_choices():
    check_options("int4", "cpu")
    check_options("fp16", "cuda")
    check_options("fp16", "tensorrt")
    with pytest.raises(ParameterError) as error:
        check_options("int3", "cpu")
    assert all(p in str(error.value) for p in PRECISIONS)
    with pytest.raises(ParameterError) as error:
        check_options("int4", "rocm")
    assert all(p in str(error.value) for p in PROVIDERS)
    with pytest.raises(ParameterError, match="on cpu choose int4, int8, fp32"):
        check_options("fp16", "cpu")
    with pytest.raises(ParameterError, match="tensorrt"):
        check_options("int4", "tensorrt")


def test_cli_refuses_a_bad_precision_before_converting(capsys):
    assert main(["convert", "smollm2-135m-q4_1", "--precision", "fp16"]) == 2
    assert "cannot run on the cpu execution provider" in capsys.readouterr().err


@needs_tools
def test_the_builder_architectures_are_read_from_the_installed_builder():
    architectures = supported_architectures()
    assert "LlamaForCausalLM" in architectures
    assert "Qwen2ForCausalLM" in architectures
    assert "GPT2LMHeadModel" not in architectures


def _hf_folder(path: Path, config: dict) -> Path:
    path.mkdir()
    (path / "config.json").write_text(json.dumps(config))
    return path


@needs_tools
def test_unsupported_architecture_is_a_clear_error(tmp_path, capsys):
    folder = _hf_folder(
        tmp_path / "tiny-gpt2",
        {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_layer": 1, "n_embd": 8, "n_head": 2, "vocab_size": 16},
    )
    with pytest.raises(ModelError) as error:
        convert(folder, "int4", "cpu", cache_root=tmp_path / "cache", progress=False)
    message = str(error.value)
    assert "GPT2LMHeadModel" in message and "gpt2" in message
    assert "not supported by the ONNX Runtime GenAI model builder" in message
    assert "LlamaForCausalLM" in message  # the supported ones are listed
    assert "llama.cpp" in message  # and what to do instead
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").glob("tiny-gpt2-*"))
    # the command line says the same, in one line, exit status 2
    assert main(["convert", str(folder)]) == 2
    assert "GPT2LMHeadModel" in capsys.readouterr().err


@needs_tools
def test_folder_without_config_or_architectures(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        convert(empty, cache_root=tmp_path / "cache", progress=False)
    nameless = _hf_folder(tmp_path / "nameless", {"model_type": "mystery"})
    with pytest.raises(ModelError, match="names no architectures"):
        convert(nameless, cache_root=tmp_path / "cache", progress=False)


def test_missing_conversion_tools_name_the_extra(tmp_path, model, monkeypatch):
    monkeypatch.setattr(convert_module, "missing_conversion_tools", lambda: ["torch==2.13.0", "transformers"])
    with pytest.raises(ModelError) as error:
        convert(model, "int4", "cpu", cache_root=tmp_path / "cache", progress=False)
    message = str(error.value)
    assert "torch==2.13.0" in message and '.[onnx,convert]' in message
    assert "environment-gpu.yml" in message


@needs_tools
def test_gguf_conversion_is_cached_by_sha256_and_options(model):
    lines: list[str] = []
    first = convert(model, "int4", "cpu", cache_root=PERSISTENT_ONNX_CACHE, progress=lines.append)
    if not first.reused:  # converted now: progress was reported
        assert any("model builder" in line for line in lines)
    folder = Path(first.path)
    assert folder.parent == PERSISTENT_ONNX_CACHE
    assert "int4-cpu" in folder.name
    assert {"genai_config.json", "model.onnx", "tokenizer.json", MANIFEST_NAME} <= {p.name for p in folder.iterdir()}
    assert not list(PERSISTENT_ONNX_CACHE.glob(".*.partial"))

    again = convert("smollm2-135m-q4_1", "int4", "cpu", cache_root=PERSISTENT_ONNX_CACHE, progress=False)
    assert again.reused and again.path == first.path

    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    assert manifest["source"]["sha256"] == model.sha256
    assert manifest["source"]["kind"] == "gguf"
    assert manifest["precision"] == "int4" and manifest["provider"] == "cpu"
    assert manifest["hf_architecture"] == "LlamaForCausalLM"
    assert manifest["tool_versions"]["onnxruntime-genai"]
    assert manifest["size_bytes"] > 10e6
    # end-of-generation tokens are llama.cpp's, so both runtimes mask and stop at the same ones
    genai = json.loads((folder / "genai_config.json").read_text())
    assert set(genai["model"]["eos_token_id"]) == {0, 2, 4}
    assert manifest["eos_token_ids"] and set(manifest["eos_token_ids"]) == {0, 2, 4}

    assert first.to_dict()["source_sha256"] == model.sha256
    other = convert(model, "fp32", "cpu", cache_root=PERSISTENT_ONNX_CACHE, progress=False)
    assert other.path != first.path and "fp32-cpu" in other.path
    assert other.size_bytes > 3 * first.size_bytes  # float32 weights against int4


@needs_tools
def test_a_local_hugging_face_folder_converts_too(model):
    hf_dir = hf_folder_for(model, cache_root=PERSISTENT_ONNX_CACHE, progress=False)
    assert (hf_dir / "config.json").exists() and (hf_dir / "model.safetensors").exists()
    assert (hf_dir / "tokenizer.json").exists()
    converted = convert(hf_dir, "int4", "cpu", cache_root=PERSISTENT_ONNX_CACHE, progress=False)
    assert converted.source_kind == "hf"
    assert converted.source_path == str(hf_dir)
    assert (Path(converted.path) / "genai_config.json").exists()
    assert converted.path != convert(model, "int4", "cpu", cache_root=PERSISTENT_ONNX_CACHE, progress=False).path
