"""The ONNX Runtime runtime on the real SmolLM2, converted at test time (int4 and fp32, cached in the benchlib cache).

Covers: the install-family check, settings, exact token counts with per-token
timestamps, end-of-generation, batching, seeded sampling, a requested CUDA /
TensorRT provider on this CPU-only machine, fp32 greedy output against the
transformers reference, the quality check (``benchlib convert --check``) and a
sweep with ``runtime: onnx``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from benchlib.runtimes.onnx.tools import missing_conversion_tools

MISSING = missing_conversion_tools()
pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"the onnx and convert extras are not installed ({', '.join(MISSING)} missing): "
        "pip install -e '.[onnx,convert]' (make test installs them)",
    ),
]

if not MISSING:
    from benchlib.cli import main
    from benchlib.runtimes.onnx.conversion import convert, hf_folder_for
    from benchlib.errors import ParameterError, RuntimeFailure
    from benchlib.metrics import request_metrics
    from benchlib.models import resolve_model
    from benchlib.runtimes import RUNTIME_NAMES, create_runtime
    from benchlib.runtimes.base import GenerationRequest, Runtime
    from benchlib.runtimes.onnx import (
        CPU_FAMILY,
        GPU_FAMILY,
        OnnxInstall,
        OnnxRuntime,
        OnnxSettings,
        detect_onnx_install,
    )

ROOT = Path(__file__).resolve().parents[2]
PERSISTENT_ONNX_CACHE = Path(
    os.environ.get("BENCHLIB_ONNX_CACHE_DIR")
    or Path(os.environ.get("BENCHLIB_CACHE_DIR") or Path.home() / ".cache" / "benchlib") / "onnx"
)
SWEEP_SETTINGS = {"threads": 0, "context_tokens": 2048, "gpu_layers": 0, "seed": 0, "temperature": 0.0}
PROMPT = "Hello, my name is"
PROMPTS = ["Hello, my name is", "List three colors:", "Write a haiku about the sea.", "The capital of France is"]
# SmolLM2 int4 answers this in a few tokens, then ends with <|im_end|>.
ENDS_QUICKLY = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(autouse=True)
def _persistent_onnx_cache(monkeypatch):
    monkeypatch.setenv("BENCHLIB_ONNX_CACHE_DIR", str(PERSISTENT_ONNX_CACHE))


@pytest.fixture(scope="module")
def model():
    return resolve_model("smollm2-135m-q4_1")


@pytest.fixture(scope="module")
def int4_dir(model):
    return convert(model, "int4", "cpu", cache_root=PERSISTENT_ONNX_CACHE).path


@pytest.fixture(scope="module")
def fp32_dir(model):
    return convert(model, "fp32", "cpu", cache_root=PERSISTENT_ONNX_CACHE).path


@pytest.fixture(scope="module")
def runtime(model, int4_dir):
    rt = OnnxRuntime(model, OnnxSettings(threads=1, model_dir=int4_dir))
    rt.load()
    yield rt
    rt.close()


# --------------------------------------------------------------------------- install families, settings


def test_exactly_one_onnx_runtime_family_is_accepted():
    cpu = detect_onnx_install({"onnxruntime": "1.31.1", "onnxruntime-genai": "0.18.0", "numpy": "2"})
    assert cpu == OnnxInstall("cpu", {"onnxruntime": "1.31.1", "onnxruntime-genai": "0.18.0"})
    gpu = detect_onnx_install({"onnxruntime-gpu": "1.31.1", "onnxruntime-genai-cuda": "0.18.0"})
    assert gpu.family == "gpu" and gpu.genai_version == "0.18.0" and gpu.onnxruntime_version == "1.31.1"
    both = {"onnxruntime": "1.31.1", "onnxruntime-genai": "0.18.0", "onnxruntime-gpu": "1.31.1", "onnxruntime-genai-cuda": "0.18.0"}
    with pytest.raises(RuntimeFailure) as error:
        detect_onnx_install(both)
    message = str(error.value)
    assert "Both ONNX Runtime families" in message and "pip uninstall -y onnxruntime onnxruntime-genai" in message
    # the CPU genai wheel next to onnxruntime-gpu is a mix too
    with pytest.raises(RuntimeFailure, match="Both"):
        detect_onnx_install({"onnxruntime-gpu": "1.31.1", "onnxruntime-genai": "0.18.0"})
    with pytest.raises(RuntimeFailure, match="onnxruntime-genai-cuda is missing"):
        detect_onnx_install({"onnxruntime-gpu": "1.31.1"})
    with pytest.raises(RuntimeFailure, match=r'pip install -e "\.\[onnx\]"'):
        detect_onnx_install({})
    # and this environment is one clean family
    assert detect_onnx_install().family in ("cpu", "gpu")


def test_environment_gpu_yml_pairs_the_gpu_family_with_everything_else():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    expected = set(project["dependencies"]) | set(extras["dev"]) | set(extras["convert"])
    environment = yaml.safe_load((ROOT / "environment-gpu.yml").read_text())
    pip = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    requirements = {r for r in pip if not r.startswith("-")}
    names = {r.split("[")[0].split("=")[0].split(">")[0] for r in requirements}
    assert set(GPU_FAMILY) <= names
    assert not set(CPU_FAMILY) & names, "the CPU build would overwrite the CUDA one"
    assert requirements - {r for r in requirements if r.split("[")[0].split("=")[0] in GPU_FAMILY} == expected
    assert "-e ." in pip
    # the CPU extra and the pyproject pins agree on versions with the GPU file
    assert "onnxruntime==1.31.1" in extras["onnx"] and "onnxruntime-gpu[cuda,cudnn]==1.31.1" in pip


def test_settings_are_validated_with_the_valid_choices(model):
    assert "onnx" in RUNTIME_NAMES
    with pytest.raises(ParameterError, match="int4, int8, fp16, bf16, fp32"):
        create_runtime("onnx", model, {**SWEEP_SETTINGS, "precision": "q4"})
    with pytest.raises(ParameterError, match="cpu, cuda, tensorrt"):
        create_runtime("onnx", model, {**SWEEP_SETTINGS, "provider": "gpu"})
    with pytest.raises(ParameterError, match="gpu_layers"):
        create_runtime("onnx", model, {**SWEEP_SETTINGS, "gpu_layers": 10})
    with pytest.raises(ParameterError, match="Invalid onnx runtime settings"):
        create_runtime("onnx", model, {**SWEEP_SETTINGS, "batch": 4})
    rt = create_runtime("onnx", model, SWEEP_SETTINGS)  # the sweep's settings, defaults int4 on cpu
    assert isinstance(rt, OnnxRuntime) and isinstance(rt, Runtime)
    assert (rt.settings.precision, rt.settings.provider) == ("int4", "cpu")


# --------------------------------------------------------------------------- providers


def test_requested_cuda_provider_is_a_clear_error_not_a_cpu_fallback(model):
    rt = create_runtime("onnx", model, {**SWEEP_SETTINGS, "provider": "cuda", "precision": "fp16"})
    with pytest.raises(RuntimeFailure) as error:
        rt.load()
    message = str(error.value)
    assert "'cuda'" in message
    assert "libonnxruntime-genai-cuda.so" in message and "libcudnn.so.9" in message
    assert "environment-gpu.yml" in message and "provider: cpu" in message
    assert "does not fall back" in message
    assert rt._model is None  # nothing was loaded, nothing converted


@pytest.mark.parametrize("provider, precision", [("cuda", "int4"), ("tensorrt", "fp16")])
def test_provider_that_cannot_load_names_the_library(model, int4_dir, provider, precision):
    """Even with a GPU family (pretended here), onnxruntime-genai's loader failure is reported, not bypassed."""
    rt = OnnxRuntime(model, OnnxSettings(provider=provider, precision=precision, model_dir=int4_dir))
    rt.install = OnnxInstall("gpu", {"onnxruntime-gpu": "1.31.1", "onnxruntime-genai-cuda": "0.18.0"})
    with pytest.raises(RuntimeFailure) as error:
        rt.load()
    message = str(error.value)
    assert f"Execution provider '{provider}' could not be loaded" in message
    assert "libonnxruntime-genai-cuda.so" in message  # from onnxruntime-genai's own message
    assert "does not fall back" in message
    assert rt._model is None


# --------------------------------------------------------------------------- generation (int4)


def test_info_records_provider_precision_and_versions(runtime, model):
    info = runtime.info()
    assert info["runtime"] == "onnx"
    assert info["provider"] == "cpu" and info["execution_provider"] == "CPUExecutionProvider"
    assert info["device_type"] == "CPU"
    assert info["precision"] == "int4"
    assert info["onnxruntime_version"] and info["onnxruntime_genai_version"]
    assert info["onnx_family"] == "cpu"
    assert info["threads"] == 1 and info["sampling"] == "greedy"
    assert info["conversion"]["source_sha256"] == model.sha256
    assert set(info["eos_token_ids"]) == {0, 2, 4}
    json.dumps(info)


@pytest.mark.parametrize("n", [1, 8, 64])
def test_generates_exactly_n_tokens_with_timestamps(runtime, n):
    trace = runtime.generate(GenerationRequest(f"r{n}", PROMPT, n))
    assert trace.output_tokens == len(trace.token_ids) == len(trace.token_times_s) == n
    assert trace.token_times_s[0] > trace.sent_s
    assert all(b >= a for a, b in zip(trace.token_times_s, trace.token_times_s[1:]))
    assert trace.prompt_tokens == len(runtime.encode(PROMPT)) == 5
    timings = trace.runtime_timings
    assert timings.decode_tokens == n - 1 and timings.prompt_eval_tokens == trace.prompt_tokens
    assert timings.prompt_eval_s > 0
    if n > 1:
        metrics = request_metrics(trace)
        assert metrics.decode_tps > 0 and len(metrics.itl_s) == n - 1
        # our decode rate and the runtime's own time inside generate_next_token agree
        assert 0.5 < metrics.decode_tps / timings.decode_tps <= 1.0 + 1e-9
        assert trace.text.strip()


def test_end_of_generation_with_and_without_ignore_eos(runtime):
    eos = set(runtime.info()["eos_token_ids"])
    stopped = runtime.generate(GenerationRequest("eos", ENDS_QUICKLY, 64, ignore_eos=False))
    assert 1 <= stopped.output_tokens < 64
    assert stopped.token_ids[-1] in eos and not set(stopped.token_ids[:-1]) & eos
    full = runtime.generate(GenerationRequest("full", ENDS_QUICKLY, 64, ignore_eos=True))
    assert full.output_tokens == 64 and not set(full.token_ids) & eos
    k = stopped.output_tokens - 1
    assert full.token_ids[:k] == stopped.token_ids[:k]


def test_greedy_is_deterministic(runtime):
    first = runtime.generate(GenerationRequest("a1", PROMPT, 16))
    runtime.generate(GenerationRequest("b", "Write a haiku about the sea.", 16))
    second = runtime.generate(GenerationRequest("a2", PROMPT, 16))
    assert first.token_ids == second.token_ids


def test_refusals(runtime):
    with pytest.raises(RuntimeFailure, match="max_output_tokens"):
        runtime.generate(GenerationRequest("zero", PROMPT, 0))
    with pytest.raises(RuntimeFailure, match="empty"):
        runtime.generate(GenerationRequest("empty", "", 4))
    with pytest.raises(RuntimeFailure, match=r"too-long.*context_tokens is 2048"):
        runtime.generate(GenerationRequest("too-long", PROMPT, 2048))
    assert runtime.generate(GenerationRequest("after", PROMPT, 2)).output_tokens == 2


def test_seeded_sampling_is_reproducible(model, int4_dir, runtime):
    traces = []
    for _ in range(2):
        rt = OnnxRuntime(model, OnnxSettings(threads=1, temperature=0.9, seed=42, model_dir=int4_dir))
        try:
            traces.append(rt.generate(GenerationRequest("s", PROMPT, 12)))
            assert rt.info()["sampling"] == "softmax"
        finally:
            rt.close()
    assert traces[0].token_ids == traces[1].token_ids and len(traces[0].token_ids) == 12
    assert traces[0].token_ids != runtime.generate(GenerationRequest("g", PROMPT, 12)).token_ids


# --------------------------------------------------------------------------- batching


def test_batch_matches_single_requests(runtime):
    n = 8
    singles = [runtime.generate(GenerationRequest(f"s{i}", p, n)).token_ids for i, p in enumerate(PROMPTS)]
    batch = runtime.generate_batch([GenerationRequest(f"b{i}", p, n) for i, p in enumerate(PROMPTS)])
    assert [t.request_id for t in batch] == ["b0", "b1", "b2", "b3"]
    assert [t.token_ids for t in batch] == singles
    assert [t.prompt_tokens for t in batch] == [len(runtime.encode(p)) for p in PROMPTS]
    assert len({t.sent_s for t in batch}) == 1 and len({t.token_times_s for t in batch}) == 1
    assert all(t.output_tokens == n and t.runtime_timings.decode_tokens == n - 1 for t in batch)
    assert "batch of 4" in batch[0].runtime_timings.source


def test_batch_of_64_with_own_lengths(runtime):
    requests = [GenerationRequest(f"c{i}", PROMPTS[i % 4], 4 + i % 3) for i in range(64)]
    traces = runtime.generate_batch(requests)
    assert len(traces) == 64 and [t.request_id for t in traces] == [r.request_id for r in requests]
    assert [t.output_tokens for t in traces] == [r.max_output_tokens for r in requests]
    # 64 sequences run as two generators of 32, stepped in turn: shared times within each
    for half in (traces[:32], traces[32:]):
        longest = max(half, key=lambda t: t.output_tokens)
        assert all(t.token_times_s == longest.token_times_s[: t.output_tokens] for t in half)
    assert traces[0].token_times_s[0] < traces[32].token_times_s[0] < traces[0].token_times_s[1]
    assert "2 generators of at most 32" in traces[0].runtime_timings.source
    # the same prompt gives the same greedy tokens in either generator
    assert traces[0].token_ids[:4] == traces[32].token_ids[:4]
    assert runtime.generate_batch([]) == []
    with pytest.raises(ParameterError, match="ignore_eos"):
        runtime.generate_batch([GenerationRequest("x", PROMPT, 4), GenerationRequest("y", PROMPT, 4, ignore_eos=False)])


def test_batch_stops_each_sequence_at_its_end_of_generation(model, fp32_dir):
    """fp32, where a batch computes what single requests compute: ONNX Runtime's int4 matmul takes
    another kernel for two rows than for one (on this CPU int4 batch-of-2 greedy output leaves the
    single one's after 6 tokens even on one thread, while a batch of one matches), so int4 cannot
    show that a sequence stops at its own end of generation and no other's."""
    rt = OnnxRuntime(model, OnnxSettings(threads=1, precision="fp32", model_dir=fp32_dir))
    rt.load()
    try:
        eos = set(rt.info()["eos_token_ids"])
        single = rt.generate(GenerationRequest("e", ENDS_QUICKLY, 48, ignore_eos=False))
        traces = rt.generate_batch(
            [GenerationRequest("e", ENDS_QUICKLY, 48, ignore_eos=False), GenerationRequest("p", PROMPT, 48, ignore_eos=False)]
        )
    finally:
        rt.close()
    assert traces[0].token_ids == single.token_ids and traces[0].token_ids[-1] in eos
    assert len(traces[0].token_ids) < 48, "the first sequence ended early, at its own end of generation"
    assert not set(traces[1].token_ids[:-1]) & eos


# --------------------------------------------------------------------------- fp32 against transformers, quality


def test_fp32_greedy_output_matches_the_transformers_reference(model, fp32_dir):
    import torch
    from transformers import AutoModelForCausalLM

    n = 16
    reference = AutoModelForCausalLM.from_pretrained(hf_folder_for(model, PERSISTENT_ONNX_CACHE, False), dtype=torch.float32)
    reference.eval()
    rt = OnnxRuntime(model, OnnxSettings(precision="fp32", model_dir=fp32_dir))
    rt.load()
    try:
        for prompt in PROMPTS[:2]:
            ids = rt.encode(prompt)
            with torch.no_grad():
                out = reference.generate(torch.tensor([ids]), max_new_tokens=n, min_new_tokens=n, do_sample=False)
            expected = tuple(out[0, len(ids):].tolist())
            assert rt.generate(GenerationRequest("t", prompt, n)).token_ids == expected, prompt
    finally:
        rt.close()


def test_convert_check_reports_agreement_and_perplexity(int4_dir, fp32_dir, tmp_path, capsys):
    output = tmp_path / "quality.json"
    code = main(["convert", "smollm2-135m-q4_1", "-p", "int4", "-p", "fp32", "--check", "--check-tokens", "16",
                 "--check-output", str(output)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert int4_dir in printed and fp32_dir in printed
    assert "| llama.cpp | GGUF |" in printed and "| onnx (cpu) | fp32 |" in printed
    report = json.loads(output.read_text())
    assert report["reference"] == "llama.cpp on the GGUF (Q4_1)"
    assert report["scored_tokens"] > 400
    rows = {row["precision"]: row for row in report["precisions"]}
    # fp32 holds the GGUF's dequantized weights: the same model, up to llama.cpp's own arithmetic
    assert 0.95 < rows["fp32"]["perplexity_ratio"] < 1.05
    assert rows["fp32"]["prefix_agreement"] >= 0.5
    # int4 re-quantizes already quantized weights: worse, but not broken
    assert 1.0 < rows["int4"]["perplexity_ratio"] < 2.5
    assert 5 < report["reference_perplexity"] < 60
    for row in rows.values():
        assert all(p["prompt_tokens_match"] for p in row["prompts"])
        assert all(p["tokens"] == 16 and 0 <= p["agreement"] <= 1 for p in row["prompts"])


# --------------------------------------------------------------------------- the sweep


def test_sweep_with_the_onnx_runtime(tmp_path, int4_dir):
    from benchlib.config import SweepConfig
    from benchlib.sweep import run_sweep

    params = SweepConfig(
        profile="smoke-onnx", runtime="onnx", prompts="tiny", output_tokens=8, repetitions=2, warmup=1,
        output_dir=str(tmp_path / "runs"), power="none",
    )  # fmt: skip
    result = run_sweep(params, progress=False)
    assert result.meta["status"] == "complete"
    runtime_info = result.meta["runtime"]
    assert runtime_info["runtime"] == "onnx" and runtime_info["provider"] == "cpu"
    assert runtime_info["precision"] == "int4" and runtime_info["model_dir"] == int4_dir
    assert runtime_info["onnxruntime_version"]
    requests = result.requests
    assert len(requests) == 2 and (requests["output_tokens"] == 8).all()
    assert (requests["runtime_decode_tps"] > 0).all() and (requests["ttft_s"] > 0).all()
    assert result.summary["requests"] == 2
