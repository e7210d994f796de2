"""The real SmolLM2 model through llama.cpp (in process)."""

from __future__ import annotations

import pytest

from benchlib.errors import RuntimeFailure
from benchlib.metrics import request_metrics
from benchlib.models import resolve_model
from benchlib.runtimes import create_runtime
from benchlib.runtimes.base import GenerationRequest, Runtime
from benchlib.runtimes.llamacpp import LlamaCppRuntime, LlamaCppSettings

pytestmark = [pytest.mark.model]

PROMPT = "Hello, my name is"
# Greedy SmolLM2 answers this with end-of-sequence straight away.
ENDS_QUICKLY = "The end."


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENCHLIB_CACHE_DIR", str(tmp_path_factory.mktemp("benchlib-cache")))
        return resolve_model("smollm2-135m-q4_1")


@pytest.fixture(scope="module")
def runtime(model):
    rt = LlamaCppRuntime(model, LlamaCppSettings(threads=1))
    rt.load()
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def eog_ids(runtime):
    """End-of-generation token ids, straight from llama.cpp's vocabulary."""
    import llama_cpp

    vocab = llama_cpp.llama_model_get_vocab(runtime.llm.model)
    ids = {t for t in range(runtime.llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab, t)}
    assert ids, "the model has end-of-generation tokens"
    return ids


def n_prompt_tokens(runtime, prompt):
    return len(runtime.llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False))


def test_runtime_protocol_and_info(runtime):
    assert isinstance(runtime, Runtime)
    info = runtime.info()
    assert info["runtime"] == "llama.cpp"
    assert info["threads"] == 1
    assert info["context_tokens"] == 2048
    assert info["sampling"] == "greedy"
    assert info["llama_cpp_python_version"]


def test_generate_eight_tokens(runtime):
    trace = runtime.generate(GenerationRequest("r8", PROMPT, 8))
    assert trace.request_id == "r8"
    assert trace.error is None
    assert len(trace.token_ids) == 8
    assert len(trace.token_times_s) == 8
    assert trace.output_tokens == 8
    times = trace.token_times_s
    assert times[0] > trace.sent_s
    assert all(b >= a for a, b in zip(times, times[1:]))
    assert trace.prompt_tokens == n_prompt_tokens(runtime, PROMPT)
    assert trace.prompt_tokens > 1
    timings = trace.runtime_timings
    assert timings is not None
    assert timings.decode_tokens == 7
    assert timings.prompt_eval_tokens == trace.prompt_tokens
    assert timings.prompt_eval_s > 0 and timings.decode_s > 0
    assert timings.decode_tps is not None and timings.decode_tps > 0
    assert trace.text == runtime.llm.detokenize(list(trace.token_ids)).decode("utf-8", errors="replace")
    assert trace.text.strip()


def test_metrics_of_a_real_trace(runtime):
    trace = runtime.generate(GenerationRequest("m", PROMPT, 16))
    m = request_metrics(trace)
    assert m.output_tokens == 16
    assert len(m.itl_s) == 15
    assert 0 < m.ttft_s <= m.e2e_s
    assert m.tpot_s > 0 and m.decode_tps > 0
    # Our decode rate and llama.cpp's own agree to within a wide factor (ours adds Python overhead).
    own = trace.runtime_timings.decode_tps
    assert 0.2 < m.decode_tps / own < 5


def test_ignore_eos_gives_exactly_n_tokens(runtime, eog_ids):
    n = 64
    stopped = runtime.generate(GenerationRequest("eos", ENDS_QUICKLY, n, ignore_eos=False))
    # Without ignore_eos this prompt ends early, at an end-of-generation token.
    assert 1 <= stopped.output_tokens < n
    assert len(stopped.token_ids) == len(stopped.token_times_s) == stopped.output_tokens
    assert stopped.token_ids[-1] in eog_ids
    assert not set(stopped.token_ids[:-1]) & eog_ids

    full = runtime.generate(GenerationRequest("full", ENDS_QUICKLY, n, ignore_eos=True))
    assert full.output_tokens == n
    assert len(full.token_ids) == n
    assert not set(full.token_ids) & eog_ids
    assert full.runtime_timings.decode_tokens == n - 1
    # Greedy decoding: both agree up to the point where the end token was masked.
    k = stopped.output_tokens - 1
    assert full.token_ids[:k] == stopped.token_ids[:k]


@pytest.mark.parametrize("prompt", [PROMPT, ENDS_QUICKLY, "List three colors:"])
def test_without_ignore_eos_never_exceeds_n(runtime, eog_ids, prompt):
    n = 12
    trace = runtime.generate(GenerationRequest("cap", prompt, n, ignore_eos=False))
    assert 1 <= trace.output_tokens <= n
    assert len(trace.token_ids) == trace.output_tokens
    if trace.output_tokens < n:
        assert trace.token_ids[-1] in eog_ids


def test_greedy_determinism_and_cleared_cache(runtime):
    first = runtime.generate(GenerationRequest("a1", PROMPT, 24))
    other = runtime.generate(GenerationRequest("b", "Write a haiku about the sea.", 24))
    second = runtime.generate(GenerationRequest("a2", PROMPT, 24))
    assert first.token_ids == second.token_ids
    assert first.text == second.text
    assert other.token_ids != first.token_ids
    # The prompt is evaluated in full every time: no prefix reuse from the first request.
    assert first.runtime_timings.prompt_eval_tokens == second.runtime_timings.prompt_eval_tokens
    assert second.runtime_timings.prompt_eval_tokens == second.prompt_tokens == n_prompt_tokens(runtime, PROMPT)
    assert first.runtime_timings.decode_tokens == second.runtime_timings.decode_tokens == 23


def test_context_overflow_raises(runtime):
    prompt_tokens = n_prompt_tokens(runtime, PROMPT)
    request = GenerationRequest("too-long", PROMPT, 2048 - prompt_tokens + 1)
    with pytest.raises(RuntimeFailure) as info:
        runtime.generate(request)
    message = str(info.value)
    assert "context_tokens" in message
    assert "2048" in message
    assert "too-long" in message
    # The runtime still works after the refusal.
    assert runtime.generate(GenerationRequest("after", PROMPT, 2)).output_tokens == 2


def test_context_boundary_with_small_context(model):
    rt = LlamaCppRuntime(model, LlamaCppSettings(threads=1, context_tokens=32))
    try:
        rt.load()
        prompt_tokens = n_prompt_tokens(rt, PROMPT)
        fits = rt.generate(GenerationRequest("fits", PROMPT, 32 - prompt_tokens))
        assert fits.output_tokens == 32 - prompt_tokens
        with pytest.raises(RuntimeFailure, match="context_tokens is 32"):
            rt.generate(GenerationRequest("overflow", PROMPT, 32 - prompt_tokens + 1))
    finally:
        rt.close()


def test_zero_output_tokens_raises(runtime):
    with pytest.raises(RuntimeFailure, match="max_output_tokens"):
        runtime.generate(GenerationRequest("zero", PROMPT, 0))


def test_seeded_sampling_is_reproducible(model):
    traces = []
    for _ in range(2):
        rt = create_runtime("llama.cpp", model, {"threads": 1, "temperature": 0.9, "seed": 42})
        try:
            traces.append(rt.generate(GenerationRequest("s", PROMPT, 12)))
            assert rt.info()["sampling"] == "softmax"
        finally:
            rt.close()
    assert traces[0].token_ids == traces[1].token_ids
    assert len(traces[0].token_ids) == 12


# --------------------------------------------------------------------------- llama.cpp counter quirks, empty prompts


def test_single_output_token_reports_zero_decode_tokens(runtime):
    trace = runtime.generate(GenerationRequest("one", PROMPT, 1))
    assert trace.output_tokens == 1
    assert trace.runtime_timings.decode_tokens == 0


def test_one_token_prompt_timings(runtime):
    assert n_prompt_tokens(runtime, "Hello") == 1
    trace = runtime.generate(GenerationRequest("one-tok", "Hello", 4))
    assert trace.output_tokens == 4
    assert trace.runtime_timings.decode_tokens == 3
    assert trace.runtime_timings.prompt_eval_s > 0


def test_empty_prompt_is_refused(runtime):
    runtime.generate(GenerationRequest("before", PROMPT, 2))
    with pytest.raises(RuntimeFailure):
        runtime.generate(GenerationRequest("empty", "", 4))


# --------------------------------------------------------------------------- settings as llama.cpp's tools have them


def test_flash_attention_auto_by_default_as_llama_cpps_tools_and_recorded(runtime):
    effective = runtime.info()["effective"]
    assert runtime.settings.flash_attn == "auto"
    assert effective["flash_attn"] == "on", "llama.cpp enables flash attention on the CPU when asked for auto"
    assert effective["batch_tokens"] == 2048 and effective["ubatch_tokens"] == 512
    assert effective["threads"] == 1 and effective["context_tokens"] == 2048
    assert effective["kv_cache_type_k"] == effective["kv_cache_type_v"] == "f16"
    trace = runtime.generate(GenerationRequest("fa-auto", PROMPT, 8))
    assert trace.output_tokens == 8, "the replaced context generates"


@pytest.mark.parametrize("mode", ["on", "off"])
def test_flash_attention_on_and_off(model, mode):
    rt = LlamaCppRuntime(model, LlamaCppSettings(threads=1, flash_attn=mode))
    rt.load()
    try:
        assert rt.info()["effective"]["flash_attn"] == mode
        assert rt.generate(GenerationRequest(f"fa-{mode}", PROMPT, 8)).output_tokens == 8
    finally:
        rt.close()


def test_unknown_flash_attention_mode_lists_the_valid_ones(model, tmp_path):
    from benchlib.errors import ParameterError
    from benchlib.config import SweepConfig

    with pytest.raises(ParameterError) as error:
        SweepConfig.from_mapping({"flash_attn": "yes", "output_dir": str(tmp_path)})
    assert all(mode in str(error.value) for mode in ("auto", "on", "off"))
