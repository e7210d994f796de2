"""``benchlib predict``: the prediction, its JSON shape, its basis, and one clear message for bad input."""

import json
from pathlib import Path

import pytest

from benchlib.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _json(capsys, *args):
    assert main(["predict", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_issue_example_prints_each_concurrency_with_intervals_and_basis(capsys):
    assert main(["predict", "--hardware", "raspberry-pi-5", "--model", "llama-3.1-8b-q4_k_m",
                 "--concurrency", "1,4,16"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "llama-3.1-8b q4_k_m on raspberry-pi-5 (cpu-arm), runtime class llama.cpp" in out
    assert "calibration: raspberry-pi-5 x llama.cpp (hardware)" in out and "95% interval" in out
    assert len([line for line in out.splitlines() if line.strip().startswith(("1 ", "4 ", "16 "))]) == 3


def test_json_gives_value_and_interval_of_every_number(capsys):
    data = _json(capsys, "--hardware", "raspberry-pi-5", "--model", "llama-3.1-8b-q4_k_m", "--concurrency", "1,4,16")
    assert [p["concurrency"] for p in data["points"]] == [1, 4, 16]
    for point in data["points"]:
        for metric in ("tpot_s", "ttft_s", "output_tps", "j_per_token"):
            low, high = point[metric]["interval"]
            assert low <= point[metric]["value"] <= high, metric
    one = data["points"][0]
    # Geerling's Pi 5 boards run llama3.1:8b at 1.87-2.17 tok/s: 1 / TPOT lands there
    assert 1.6 < 1 / one["tpot_s"]["value"] < 2.6
    basis = data["basis"]
    assert basis["kind"] == "predicted" and basis["hardware"]["name"] == "raspberry-pi-5"
    assert basis["calibration"]["observations"] >= 20 and basis["interval"]["level"] == 0.95
    assert basis["to_narrow"] is None  # calibrated on the Pi 5's own measurements


def test_a_device_without_its_own_measurements_names_the_one_that_would_calibrate_it(capsys):
    data = _json(capsys, "--hardware", "nvidia-l4", "--model", "llama-3.1-8b-q4_k_m", "--runtime-class", "vllm")
    assert "benchlib sweep params/vllm-l4.yaml" in data["basis"]["to_narrow"]
    data = _json(capsys, "--hardware", "nvidia-l4", "--model", "llama-3.1-8b-q4_k_m", "--runtime-class", "llama.cpp")
    assert "benchlib sweep params/l4.yaml" in data["basis"]["to_narrow"]


def test_a_device_given_by_its_figures_uses_the_prior_of_its_class(capsys):
    data = _json(capsys, "--hardware", "my-npu", "--hardware-class", "npu", "--bandwidth-gb-s", "50",
                 "--peak-tflops", "26", "--memory-gb", "16", "--power-w", "5", "--model", "qwen2.5-1.5b-q4_0")  # fmt: skip
    assert data["basis"]["hardware"]["basis"] == "figures given on the command line"
    assert data["basis"]["calibration"]["level"].startswith("npu")  # pooled with the Hailo-10H's class


def test_a_model_given_by_its_geometry(capsys):
    data = _json(capsys, "--hardware", "nvidia-h100-sxm", "--parameters", "8.03e9", "--embedding-parameters",
                 "525336576", "--layers", "32", "--heads", "32", "--kv-heads", "8", "--head-dim", "128",
                 "--bits-per-weight", "16", "--concurrency", "1,64")  # fmt: skip
    assert data["basis"]["model_geometry"]["weight_bytes"] == pytest.approx(16.06e9)
    assert data["points"][1]["output_tps"]["value"] > 10 * data["points"][0]["output_tps"]["value"]  # batching


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hardware", "raspberry-pi-6", "--model", "llama-3.1-8b-q4_k_m"],
         "'raspberry-pi-6' is not in hardware.yaml; known: "),
        (["--hardware", "raspberry-pi-5", "--model", "llama-9b-q4"], "--model 'llama-9b-q4' is not MODEL-QUANTIZATION"),
        (["--hardware", "raspberry-pi-5", "--model", "llama-3.1-8b-q4_k_m", "--concurrency", "1,x"],
         "--concurrency takes whole numbers"),
        (["--hardware", "x", "--bandwidth-gb-s", "10", "--model", "llama-3.1-8b-q4_k_m"], "needs --hardware-class"),
        (["--hardware", "raspberry-pi-5", "--layers", "32"], "also needs --parameters"),
        (["--hardware", "raspberry-pi-5", "--model", "llama-3.1-8b-q4_k_m", "--output-tokens", "0"],
         "--output-tokens must be >= 1"),
    ],
)
def test_bad_input_is_one_message_and_exit_2(capsys, args, message):
    assert main(["predict", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.model  # reads the GGUF metadata of the installed models (13 s with the fresh cache a test run has)
def test_runs_measured_here_calibrate_their_own_device(capsys):
    """--runs-dir: the fixture runs (a real smoke sweep and a llama-server c1/c2 run) calibrate this machine."""
    from benchlib.predict.local import local_observations

    runs = str(FIXTURES / "runs")
    devices = sorted({obs.hardware_id for obs in local_observations(runs).observations})
    assert devices, "the fixture runs give observations"
    data = _json(capsys, "--runs-dir", runs, "--hardware", devices[0], "--model", "gemma3-270m-q4_k_m",
                 "--concurrency", "1,2")  # fmt: skip
    assert data["basis"]["calibration"]["level"].startswith(devices[0])
    assert data["basis"]["hardware"]["hardware_class"] in ("cpu-x86", "cpu-arm")
    assert main(["predict", "--hardware", devices[0], "--model", "gemma3-270m-q4_k_m"]) == 2  # not without the runs
    assert f"'{devices[0]}' is not in hardware.yaml" in capsys.readouterr().err
