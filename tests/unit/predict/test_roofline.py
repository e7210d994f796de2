"""The performance model's arithmetic, checked by hand on one device x model pair.

Device: an L4-like card, 300 GB/s, 121 TFLOPS dense FP16, 24 GB, 72 W (idle 16 W).
Model: Llama-3.1-8B's geometry at FP16 (8.03e9 parameters, 525.3e6 of them the untied
embedding table; 32 layers, 32 heads, 8 KV heads of 128).
"""

import math

import pytest

from benchlib.hardware.model_reference import ModelGeometry
from benchlib.predict.roofline import (
    Efficiencies,
    HardwareSpec,
    Scenario,
    batch_cap,
    decode_step_s,
    prefill_s,
    serving_point,
)

CARD = HardwareSpec("card", "gpu-datacenter", bandwidth_gb_s=300.0, peak_tflops=121.0, memory_gb=24.0, power_w=72.0,
                    idle_power_w=16.0, basis="test")  # fmt: skip
LLAMA_8B = ModelGeometry("llama-3.1-8b f16", parameters=8.03e9, embedding_parameters=525.336576e6,
                         tied_embeddings=False, block_count=32, head_count=32, head_count_kv=8, head_dim=128,
                         bits_per_weight=16.0)  # fmt: skip
IDEAL = Efficiencies(bandwidth=1.0, decode_compute=1.0, prefill_compute=1.0, step_overhead_s=0.0, power_activity=0.5)


def test_geometry_by_hand():
    assert LLAMA_8B.weight_bytes == pytest.approx(16.06e9)
    # the embedding table is a lookup: a step reads every weight but it
    assert LLAMA_8B.weight_bytes_read_per_token == pytest.approx((8.03e9 - 525.336576e6) * 2)
    # K and V, 32 layers x 8 heads x 128 x 2 bytes
    assert LLAMA_8B.kv_bytes_per_token == 2 * 32 * 8 * 128 * 2 == 131072


def test_decode_ceiling_by_hand():
    """Batch 1 at context 0: 300e9 B/s / 15.009e9 B = 19.99 steps/s, memory-bound."""
    step, memory, compute = decode_step_s(CARD, LLAMA_8B, IDEAL, batch=1, context_tokens=0)
    read = (8.03e9 - 525.336576e6) * 2
    assert memory == pytest.approx(read / 300e9)
    assert 1 / step == pytest.approx(300e9 / read) == pytest.approx(19.99, abs=0.01)
    assert compute == pytest.approx(2 * (8.03e9 - 525.336576e6) / 121e12)
    assert compute < memory


def test_batch_where_compute_overtakes_memory_by_hand():
    """At context 0, memory time is constant and compute grows with the batch.

    memory = 15.009e9 / 300e9 = 50.03 ms; compute per stream = 2 x 7.5047e9 / 121e12 = 0.12404 ms;
    they cross at 50.03 / 0.12404 = 403.3 streams (the card's ops:byte ratio 121e12 / 300e9 = 403
    over 2 FLOPs per 2-byte weight).
    """
    read = (8.03e9 - 525.336576e6) * 2
    per_stream = 2 * (8.03e9 - 525.336576e6) / 121e12
    crossing = (read / 300e9) / per_stream
    assert crossing == pytest.approx(403.33, abs=0.01)
    for batch, bound in ((403, "memory"), (404, "compute")):
        _, memory, compute = decode_step_s(CARD, LLAMA_8B, IDEAL, batch=batch, context_tokens=0)
        assert (memory >= compute) == (bound == "memory")


def test_kv_limited_batch_by_hand():
    """24 GB x 0.9 = 21.6 GB usable; less 16.06 GB of weights = 5.54 GB; a 1,280-token stream holds
    1,280 x 131,072 B = 167.8 MB; 5.54e9 // 167.77e6 = 33 streams."""
    scenario = Scenario(prompt_tokens=1024, output_tokens=256, concurrency=64)
    cap, reason = batch_cap(CARD, LLAMA_8B, scenario, "vllm")
    assert cap == int((24e9 * 0.9 - 16.06e9) // (1280 * 131072)) == 33
    assert "33 streams" in reason
    point = serving_point(CARD, LLAMA_8B, IDEAL, scenario, "vllm")
    assert point.batch == 33 and point.limit == reason


def test_weights_that_do_not_fit():
    small = HardwareSpec("small", "cpu-arm", 17.1, 0.1, 8.0, 25.0, 3.0, "test")
    cap, reason = batch_cap(small, LLAMA_8B, Scenario(), "llama.cpp")
    assert cap == 0 and "do not fit" in reason
    point = serving_point(small, LLAMA_8B, IDEAL, Scenario(), "llama.cpp")
    assert math.isnan(point.tpot_s) and "do not fit" in point.limit


def test_serving_point_by_hand():
    """Batch 1, prompt 128, output 128: TTFT = prefill + one step; throughput by Little's law."""
    scenario = Scenario(prompt_tokens=128, output_tokens=128, concurrency=1)
    point = serving_point(CARD, LLAMA_8B, IDEAL, scenario, "vllm")
    matmul = 8.03e9 - 525.336576e6
    step = (matmul * 2 + 192 * 131072) / 300e9  # context 128 + 64
    prefill_compute = (2 * matmul * 128 + 4 * 32 * 32 * 128 * 128**2 / 2) / 121e12
    prefill = max(prefill_compute, matmul * 2 / 300e9)  # one prefill still reads every weight once
    assert point.tpot_s == pytest.approx(step)
    assert point.ttft_s == pytest.approx(prefill + step)
    assert point.e2e_s == pytest.approx(prefill + 128 * step)
    assert point.output_tps == pytest.approx(128 / (prefill + 128 * step))
    assert point.bound == "memory"


def test_queueing_when_the_runtime_does_not_batch():
    """hailo serves one stream: with 4 clients, 3 wait a whole request each on average (Little's law)."""
    one = serving_point(CARD, LLAMA_8B, IDEAL, Scenario(concurrency=1), "hailo")
    four = serving_point(CARD, LLAMA_8B, IDEAL, Scenario(concurrency=4), "hailo")
    assert four.batch == 1
    assert four.output_tps == pytest.approx(one.output_tps)
    assert four.ttft_s == pytest.approx(one.ttft_s + 3 * one.e2e_s)
    assert "one stream at a time" in four.limit


def test_power_between_idle_and_board():
    """Memory-bound: idle + a1 x (board - idle) = 16 + 0.5 x 56 = 44 W; compute-bound: the board's 72 W."""
    low = serving_point(CARD, LLAMA_8B, IDEAL, Scenario(concurrency=1, prompt_tokens=0, output_tokens=2), "vllm")
    compute_s = 2 * (8.03e9 - 525.336576e6) / 121e12
    memory_s = (8.03e9 - 525.336576e6) * 2 / 300e9
    share = compute_s / memory_s
    assert low.power_w == pytest.approx(16 + 56 * (0.5 + 0.5 * share), rel=1e-3)
    big = HardwareSpec("big", "gpu-datacenter", 300.0, 121.0, 1000.0, 72.0, 16.0, "test")
    high = serving_point(big, LLAMA_8B, IDEAL, Scenario(concurrency=800, prompt_tokens=0, output_tokens=2), "vllm")
    assert high.bound == "compute" and high.power_w == pytest.approx(72.0)
    assert high.j_per_token == pytest.approx(72.0 / high.output_tps)


def test_overhead_adds_to_every_step():
    slow = Efficiencies(1.0, 1.0, 1.0, 0.002, 0.5)
    fast, _, _ = decode_step_s(CARD, LLAMA_8B, IDEAL, 1, 0)
    step, _, _ = decode_step_s(CARD, LLAMA_8B, slow, 1, 0)
    assert step == pytest.approx(fast + 0.002)


def test_prefill_needs_a_peak():
    no_peak = HardwareSpec("npu", "npu", 34.1, None, 8.0, 2.5, None, "test")
    assert math.isnan(prefill_s(no_peak, LLAMA_8B, IDEAL, 128))


def test_lockstep_prefills_a_rounds_prompts_together_and_keeps_them_out_of_the_steps():
    """8 clients sending each round together: TTFT carries all 8 prompts, a decode step none of them.

    On a CPU-like device (40 GB/s, 0.5 TFLOPS) steady arrivals put 7 x 512 / 128 = 28 prompt tokens
    of compute into every step (compute-bound) and one prompt into the TTFT.
    """
    cpu = HardwareSpec("cpu", "cpu-x86", 40.0, 0.5, 64.0, 100.0, 20.0, "test")
    steady = Scenario(prompt_tokens=512, output_tokens=128, concurrency=8)
    lockstep = Scenario(prompt_tokens=512, output_tokens=128, concurrency=8, lockstep=True)
    spread = serving_point(cpu, LLAMA_8B, IDEAL, steady, "llama.cpp")
    rounds = serving_point(cpu, LLAMA_8B, IDEAL, lockstep, "llama.cpp")
    step, _, _ = decode_step_s(cpu, LLAMA_8B, IDEAL, 8, lockstep.mean_decode_context)
    assert rounds.tpot_s == pytest.approx(step) and spread.tpot_s > 2 * step and spread.bound == "compute"
    one_prompt = prefill_s(cpu, LLAMA_8B, IDEAL, 512)
    together = prefill_s(cpu, LLAMA_8B, IDEAL, 512, sequences=8)
    assert together == pytest.approx(8 * one_prompt)  # compute-bound: 8 x the FLOPs
    assert rounds.ttft_s == pytest.approx(together + step) and spread.ttft_s == pytest.approx(one_prompt + spread.tpot_s)
    assert rounds.e2e_s == pytest.approx(together + 128 * step)
    single = Scenario(prompt_tokens=512, output_tokens=128, concurrency=1)
    assert serving_point(cpu, LLAMA_8B, IDEAL, single, "llama.cpp") == serving_point(
        cpu, LLAMA_8B, IDEAL, Scenario(512, 128, 0, 1, True), "llama.cpp")  # one client: nothing to lock
