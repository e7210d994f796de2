"""Runs measured here as observations: real run directories (tests/fixtures/runs/), no timing asserted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from benchlib.hardware.model_reference import load_models
from benchlib.predict.calibrate import calibrate
from benchlib.predict.local import (
    LOCAL_RUNTIME_CLASS,
    collect_observations,
    in_lockstep,
    local_observations,
    observations_from_runs,
)
from benchlib.predict.local_hardware import INT8_MACS_PER_CYCLE
from benchlib.predict.local_model import (
    LocalRunError,
    ModelResolver,
    model_geometry_of,
    reference_model_id,
)
from benchlib.predict.predictor import predict
from benchlib.records import scan_runs

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "runs"
IN_PROCESS = next(FIXTURES.glob("smoke-smollm2-*"))
SERVER = next(FIXTURES.glob("smoke-llama-server-*"))


def _meta(path: Path) -> dict:
    return json.loads((path / "run.json").read_text())


@pytest.fixture
def on_the_fixtures_host(monkeypatch, tmp_path):
    """Pretend to run on the VM the fixtures were measured on, with no /proc/cpuinfo to fall back on."""
    monkeypatch.setattr("benchlib.predict.local_hardware.socket.gethostname", lambda: "vm")
    monkeypatch.setattr("benchlib.predict.local_hardware.CPUINFO", tmp_path / "no-cpuinfo")


@pytest.fixture
def elsewhere(monkeypatch, tmp_path):
    """Run on another host: nothing of this machine fills in what the runs lack."""
    monkeypatch.setattr("benchlib.predict.local_hardware.socket.gethostname", lambda: "another-host")
    monkeypatch.setattr("benchlib.predict.local_hardware.CPUINFO", tmp_path / "no-cpuinfo")


def _copy(source: Path, root: Path, edit=None) -> Path:
    target = root / source.name
    shutil.copytree(source, target)
    if edit is not None:
        meta = _meta(target)
        edit(meta)
        (target / "run.json").write_text(json.dumps(meta))
    return target


def _by_key(observations) -> dict:
    return {obs.key.split("/", 1)[1]: obs for obs in observations}


def test_an_in_process_run_gives_its_median_decode_rate_and_ttft(on_the_fixtures_host):
    run = next(r for r in scan_runs(FIXTURES).runs if r.path == IN_PROCESS)
    observations = _by_key(o for o in observations_from_runs([run]))
    assert set(observations) == {"decode_tps@c1", "ttft_s@c1"}
    requests = pd.read_parquet(IN_PROCESS / "requests.parquet")
    decode = observations["decode_tps@c1"]
    assert decode.value == pytest.approx(requests["decode_tps"].median())
    assert observations["ttft_s@c1"].value == pytest.approx(requests["ttft_s"].median())
    assert decode.key.startswith(_meta(IN_PROCESS)["run_id"] + "/") and decode.source == _meta(IN_PROCESS)["run_id"]
    assert decode.runtime_class == LOCAL_RUNTIME_CLASS == "llama.cpp"
    assert decode.scenario.concurrency == 1 and not decode.scenario.lockstep
    assert decode.scenario.prompt_tokens == int(requests["prompt_tokens"].median())
    assert decode.scenario.output_tokens == 8


def test_the_hardware_is_this_machine_at_the_runs_threads_from_what_the_run_recorded(on_the_fixtures_host):
    meta = _meta(IN_PROCESS)
    hardware = _by_key(local_observations(FIXTURES).observations)["decode_tps@c1"].hardware
    assert hardware.name == "this-machine-2t" and hardware.hardware_class == "cpu-x86"
    probes = [_meta(p)["machine"]["memory_bandwidth"]["gb_s"] for p in (IN_PROCESS, SERVER)]
    assert hardware.bandwidth_gb_s == pytest.approx(max(probes))  # the best probe of the host's runs
    assert "measured lower bound of peak" in hardware.basis
    clock = meta["thermal"]["start"]["cpu_clock_mhz"]
    assert "AVX512_VNNI = 1" in meta["runtime"]["system_info"]
    macs = INT8_MACS_PER_CYCLE["avx512_vnni"][0]
    assert hardware.peak_tflops == pytest.approx(2 * clock * 1e6 * macs * 2 / 1e12)
    assert "system_info" in hardware.basis and "thermal record" in hardware.basis and "2 cores" in hardware.basis
    assert hardware.memory_gb == pytest.approx(meta["machine"]["ram_bytes"] / 1e9)
    assert meta["summary"]["energy"]["kind"] == "estimated"
    assert hardware.power_w is None and "an estimate is not used" in hardware.basis


def test_the_model_geometry_comes_from_the_gguf_record_and_models_yaml():
    meta = _meta(IN_PROCESS)
    model = model_geometry_of(meta)
    recorded = meta["model"]["geometry"]
    assert model.name == "smollm2-135m-q4_1"
    assert model.parameters == meta["model"]["parameter_count"]
    assert model.read_bytes == recorded["weight_bytes_read_per_token"] == model.weight_bytes_read_per_token
    assert model.tied_embeddings and model.matmul_parameters == model.parameters
    assert (model.block_count, model.head_count, model.head_count_kv, model.head_dim) == (30, 9, 3, 64)
    assert model.kv_bytes_per_token == recorded["kv_cache_bytes_per_token"]
    assert model.embedding_parameters == load_models().models["smollm2-135m"].embedding_parameters.number


def test_catalogue_names_map_to_models_yaml():
    models = load_models()
    assert reference_model_id("smollm2-135m-q4_1", models) == "smollm2-135m"
    assert reference_model_id("gemma3-270m-q4_k_m", models) == "gemma3-270m"
    assert reference_model_id("my-own-model-q4_0", models) is None


def test_without_a_recorded_parameter_count_models_yaml_gives_it_and_else_the_bits_per_weight(tmp_path):
    meta = _meta(IN_PROCESS)
    del meta["model"]["parameter_count"]
    assert model_geometry_of(meta).parameters == load_models().models["smollm2-135m"].parameters.number
    meta["model"]["name"] = "a-local-file"  # not in models.yaml: parameters from weight bytes x 8 / Q4_1's 5 bits
    derived = model_geometry_of(meta)
    assert derived.parameters == pytest.approx(meta["model"]["geometry"]["weight_bytes"] * 8 / 5.0)
    meta["model"]["quantization"] = "UNKNOWN"
    with pytest.raises(LocalRunError, match="no parameter count recorded"):
        model_geometry_of(meta)


def test_a_llama_server_load_sweep_gives_each_steps_tpot_throughput_and_ttft(on_the_fixtures_host):
    collected = collect_observations(scan_runs(FIXTURES).runs, server_threads=1)
    assert collected.skipped == []
    server = _by_key(o for o in collected.observations if o.source == _meta(SERVER)["run_id"])
    assert set(server) == {f"{m}@c{c}" for m in ("tpot_s", "output_tps", "ttft_s") for c in (1, 2)}
    meta, requests = _meta(SERVER), pd.read_parquet(SERVER / "requests.parquet")
    for concurrency in (1, 2):
        step = meta["steps"][f"c{concurrency}"]
        rows = requests[(requests["step"] == f"c{concurrency}") & (requests["attempt"] == step["attempt"])]
        assert server[f"tpot_s@c{concurrency}"].value == pytest.approx(rows["tpot_s"].median())
        assert server[f"ttft_s@c{concurrency}"].value == pytest.approx(rows["ttft_s"].median())
        assert server[f"output_tps@c{concurrency}"].value == pytest.approx(step["summary"]["throughput_tps"])
        assert server[f"tpot_s@c{concurrency}"].scenario.concurrency == concurrency
    assert server["tpot_s@c1"].hardware.name == "this-machine-1t"  # the server's -t, as given
    assert server["tpot_s@c2"].scenario.lockstep  # two clients of equal lengths send each round together
    assert not server["tpot_s@c1"].scenario.lockstep
    assert server["tpot_s@c1"].model.name == "smollm2-135m-q4_1"  # the catalogue model the server loaded
    assert server["tpot_s@c1"].scenario.prompt_tokens == int(requests["prompt_tokens"].median())


def test_a_servers_threads_default_to_one_per_physical_core_and_say_so(on_the_fixtures_host):
    run = next(r for r in scan_runs(FIXTURES).runs if r.path == SERVER)
    (obs, *_) = observations_from_runs([run])
    cores = _meta(SERVER)["machine"]["cpu_cores_physical"]
    assert obs.hardware_id == f"this-machine-{cores}t" and "default, one thread per physical core" in obs.hardware.basis


def test_a_hosts_runs_pool_what_each_records(elsewhere):
    observations = _by_key(local_observations(FIXTURES, server_threads=1).observations)
    assert observations["decode_tps@c1"].hardware_id == "host-vm-2t"
    in_process = observations["decode_tps@c1"].hardware
    served = observations["tpot_s@c1"].hardware  # llama-server's instruction sets come from the in-process run
    assert served.name == "host-vm-1t" and served.peak_tflops == pytest.approx(in_process.peak_tflops / 2)
    assert "the host's runs pooled" in served.basis


def test_what_no_run_of_another_host_records_stays_unknown(elsewhere):
    run = next(r for r in scan_runs(FIXTURES).runs if r.path == SERVER)
    (served, *_) = observations_from_runs([run], server_threads=1)
    assert served.hardware.peak_tflops is None and "no instruction set recorded" in served.hardware.basis


def test_imported_and_unusable_runs_are_named_with_why(on_the_fixtures_host, tmp_path):
    _copy(IN_PROCESS, tmp_path, lambda m: m.update(kind="imported", run_id="imported-run"))
    _copy(SERVER, tmp_path, lambda m: (m.update(run_id="ollama-run"), m["model"].pop("server")))
    _copy(IN_PROCESS, tmp_path / "onnx", lambda m: (m.update(run_id="onnx-run"), m["parameters"].update(runtime="onnx")))
    runs = scan_runs(tmp_path).runs + scan_runs(tmp_path / "onnx").runs
    collected = collect_observations(runs)
    reasons = dict(collected.skipped)
    assert collected.observations == []
    assert "imported from another tool" in reasons["imported-run"]
    assert "not llama.cpp's llama-server" in reasons["ollama-run"]
    assert "runtime 'onnx' has no runtime class" in reasons["onnx-run"]


def test_a_server_model_that_is_neither_here_nor_in_the_catalogue_says_what_to_do():
    meta = _meta(SERVER)
    meta["parameters"]["model"] = "smollm2"
    meta["model"]["server"]["llama_server"]["model_path"] = "/nowhere/model.gguf"
    with pytest.raises(LocalRunError, match="not on this machine.*catalogue name"):
        model_geometry_of(meta, ModelResolver())


def test_lockstep_is_told_from_the_send_times():
    ttft = [0.5] * 6
    rounds = pd.DataFrame({"sent_unix_s": [0.0, 0.001, 0.002, 5.0, 5.001, 5.002], "ttft_s": ttft})
    spread = pd.DataFrame({"sent_unix_s": [0.0, 0.8, 1.7, 2.5, 3.3, 4.2], "ttft_s": ttft})
    assert in_lockstep(rounds, 3) and not in_lockstep(spread, 3) and not in_lockstep(rounds, 1)


def test_the_observations_calibrate_and_predict_the_same_scenarios(on_the_fixtures_host):
    observations = local_observations(FIXTURES, server_threads=1).observations
    calibration = calibrate(observations)
    for obs in observations:
        prediction = predict(calibration, obs.hardware, obs.hardware_id, obs.model, obs.runtime_class, obs.scenario,
                             [obs.scenario.concurrency])  # fmt: skip
        value = getattr(prediction.points[0].point, obs.metric)
        assert value > 0 and prediction.calibration_level.endswith("(hardware)")
        low, high = prediction.points[0].intervals[obs.metric]
        assert low <= value <= high
