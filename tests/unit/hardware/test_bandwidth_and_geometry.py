"""The bandwidth probe measures something real; the geometry of the real SmolLM2 GGUF matches its published shape."""

import math

import gguf
import pytest

from benchlib.hardware import gguf_geometry, kv_cache_bytes_per_token, measure_memory_bandwidth, onnx_weight_bytes
from benchlib.machine import fingerprint
from benchlib.models import resolve_model


def test_the_probe_returns_a_finite_positive_bandwidth_quickly():
    probe = measure_memory_bandwidth(size_mb=32, repeats=2)
    assert math.isfinite(probe.gb_s) and probe.gb_s > 0
    assert probe.bound == "lower bound of peak" and "read + write" in probe.method
    assert probe.duration_s < 5
    assert probe.to_dict()["gb_s"] == probe.gb_s


def test_the_probe_refuses_nonsense_sizes():
    with pytest.raises(ValueError, match="size_mb"):
        measure_memory_bandwidth(size_mb=0)


def test_the_machine_fingerprint_carries_the_bandwidth():
    machine = fingerprint()
    assert machine["memory_bandwidth"]["gb_s"] > 0
    assert "memory_bandwidth" not in fingerprint(measure_bandwidth=False)


def test_kv_cache_bytes_per_token_by_hand():
    assert kv_cache_bytes_per_token(30, 3, 64) == 2 * 30 * 3 * 64 * 2  # SmolLM2-135M, f16
    assert kv_cache_bytes_per_token(32, 32, 128, element_bytes=1) == 262144


@pytest.mark.model
def test_the_real_smollm2_geometry():
    info = resolve_model("smollm2-135m-q4_1")
    geometry = gguf_geometry(gguf.GGUFReader(info.path))
    assert (geometry["block_count"], geometry["head_count"], geometry["head_count_kv"]) == (30, 9, 3)
    assert geometry["head_dim_k"] == geometry["head_dim_v"] == 64 == geometry["embedding_length"] // 9
    assert geometry["kv_cache_bytes_per_token"] == 23040
    assert 0.9 * info.file_size_bytes < geometry["weight_bytes"] < info.file_size_bytes
    assert info.geometry == geometry  # recorded in ModelInfo, so in run.json's model entry


def test_onnx_weight_bytes_counts_onnx_and_data_files(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"x" * 100)
    (tmp_path / "model.onnx.data").write_bytes(b"x" * 1000)
    (tmp_path / "genai_config.json").write_text("{}")
    assert onnx_weight_bytes(tmp_path) == 1100
    with pytest.raises(FileNotFoundError):
        onnx_weight_bytes(tmp_path / "nothing")
