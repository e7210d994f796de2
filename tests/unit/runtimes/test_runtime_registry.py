"""The runtime registry: names, settings classes, sweep parameters, factories."""

from __future__ import annotations

import pytest

from benchlib.errors import ParameterError
from benchlib.runtimes import RUNTIME_NAMES, RUNTIMES, create_runtime, runtime_spec
from benchlib.runtimes.http import HttpRuntime, HttpSettings

SAMPLE_VALUES = {
    "threads": 2, "context_tokens": 512, "gpu_layers": 0, "seed": 7, "temperature": 0.5,
    "flash_attn": "off", "onnx_precision": "int8", "onnx_provider": "cpu", "onnx_model_dir": "/tmp/x",
    "url": "http://127.0.0.1:9", "api": "openai-chat", "served_model": "m", "api_key_env": "",
    "fixed_length": "none", "cache_prompt": "off", "request_timeout_s": 5.0,
}  # fmt: skip


def test_unknown_runtime_lists_the_valid_ones():
    with pytest.raises(ParameterError) as error:
        runtime_spec("vllm")
    assert str(error.value) == "Unknown runtime 'vllm'; valid runtimes: llama.cpp, http, onnx."
    with pytest.raises(ParameterError, match="valid runtimes: llama.cpp, http, onnx"):
        create_runtime("vllm", None, {})


def test_the_flat_sweep_parameters_stay_as_they_are():
    assert RUNTIME_NAMES == ("llama.cpp", "http", "onnx")
    assert RUNTIMES["llama.cpp"].parameters == {"flash_attn": "flash_attn", "cache_prompt": "cache_prompt"}
    assert RUNTIMES["onnx"].parameters == {
        "onnx_precision": "precision", "onnx_provider": "provider", "onnx_model_dir": "model_dir",
    }  # fmt: skip
    assert RUNTIMES["http"].parameters == {
        name: name
        for name in ("url", "api", "served_model", "api_key_env", "fixed_length", "cache_prompt", "request_timeout_s")
    }
    local = ("threads", "context_tokens", "gpu_layers", "seed", "temperature")
    assert RUNTIMES["llama.cpp"].shared == RUNTIMES["onnx"].shared == local
    assert RUNTIMES["http"].shared == ("temperature", "seed")
    assert [spec.in_process for spec in RUNTIMES.values()] == [True, False, True]


@pytest.mark.parametrize("name", RUNTIME_NAMES)
def test_every_settings_class_takes_its_parameters(name):
    spec = runtime_spec(name)
    fields = set(spec.settings.model_fields)
    assert set(spec.parameters.values()) | set(spec.shared) <= fields
    values = spec.settings_values({**SAMPLE_VALUES, "unrelated": 1})
    assert set(values) == set(spec.parameters.values()) | set(spec.shared)
    settings = spec.settings(**values)
    for field, value in values.items():
        assert getattr(settings, field) == value and type(getattr(settings, field)) is type(value)


def test_http_is_a_runtime_that_drives_a_server():
    runtime = create_runtime("http", None, {"url": "http://127.0.0.1:9", "served_model": "m"})
    assert isinstance(runtime, HttpRuntime) and runtime.name == "http"
    assert not runtime_spec("http").in_process
    settings = HttpSettings.from_sweep(runtime_spec("http").settings_values({"url": "http://h:1", "served_model": ""}), "smollm2")
    assert settings.served_model == "smollm2"
    assert create_runtime("http", None, settings).settings is settings


def test_bad_settings_name_the_field_and_the_choices():
    with pytest.raises(ParameterError, match="Invalid llama.cpp runtime settings .*unknown batch; valid: threads"):
        create_runtime("llama.cpp", None, {"batch": 4})
    with pytest.raises(ParameterError, match="Unknown flash_attn 'yes'; valid: auto, on, off."):
        create_runtime("llama.cpp", None, {"flash_attn": "yes"})
    with pytest.raises(ParameterError, match="Unknown api 'grpc'; valid: openai-completions, openai-chat, ollama-generate, ollama-chat."):
        create_runtime("http", None, {"url": "http://h:1", "api": "grpc"})


def test_settings_keep_the_types_they_are_given():
    settings = runtime_spec("llama.cpp").settings(threads=2, temperature=0)
    assert settings.threads == 2 and type(settings.temperature) is float  # as SweepParams' float(temperature)
    with pytest.raises(ParameterError, match="Parameter threads must be an integer, got 2.5"):
        runtime_spec("llama.cpp").settings(threads=2.5)
    with pytest.raises(ParameterError, match="Parameter seed must be an integer, got True"):
        runtime_spec("onnx").settings(seed=True)
