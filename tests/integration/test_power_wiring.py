"""Power in real sweeps: the source choice, windows that exclude warm-up and idle, failures, power.parquet.

The sensors are fixture sysfs trees and meter logs (this machine has none); the
model, runner and sampler are real.
"""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from benchlib.errors import BenchlibError, ParameterError
from benchlib.paths import repo_root, sensors_dir
from benchlib.power.session import SOURCE_CHOICES
from benchlib.records import RunDirectory
from benchlib.config import SweepConfig
from benchlib.sweep import run_sweep

ROOT = repo_root()
INA226 = sensors_dir() / "sysfs" / "pi5_ina226"
INA226_W = 6.125  # power1_input of the fixture, 6125000 uW

pytestmark = [pytest.mark.model]


def _params(tmp_path, **overrides) -> SweepConfig:
    values = dict(
        profile="power-test", prompts="tiny", output_tokens=12, repetitions=3, warmup=2, threads=1,
        output_dir=str(tmp_path / "runs"),
    )  # fmt: skip
    values.update(overrides)
    return SweepConfig.from_mapping(values)


def test_unknown_power_source_lists_the_valid_ones(tmp_path):
    with pytest.raises(ParameterError) as error:
        _params(tmp_path, power="wattmeter")
    for name in SOURCE_CHOICES:
        assert name in str(error.value)


def test_a_named_source_this_machine_lacks_fails_before_anything_runs(tmp_path):
    params = _params(tmp_path, power="rapl")
    with pytest.raises(BenchlibError) as error:
        run_sweep(params, progress=False)
    assert "powercap" in str(error.value)
    assert not params.run_dir().exists() or not (params.run_dir() / "requests.parquet").exists()


def test_auto_on_this_machine_falls_back_to_the_profile_estimate(tmp_path):
    params = _params(tmp_path, price_profile="local-cpu", price_files=[str(ROOT / "params/prices/local-cpu.yaml")])
    result = run_sweep(params, progress=False)
    energy = result.meta["summary"]["energy"]
    assert energy["valid"] and energy["kind"] == "estimated"
    assert energy["source"] == "estimate:local-cpu" and energy["mean_power_w"] == 15.0
    assert "no measured power source" in energy["fallback"] and "rapl" in energy["fallback"]
    throughput = result.meta["summary"]["system_throughput_tps"]["value"]
    assert energy["energy_per_token_j"]["value"] == pytest.approx(15.0 / throughput, rel=1e-6)
    assert energy["idle_subtracted_energy_per_token_j"] is None
    assert not (result.run_dir / "power.parquet").exists(), "an estimate has no samples"
    assert result.meta["summary"]["cost"]["power_source"] == "profile"


def test_windows_exclude_load_warmup_and_idle(tmp_path):
    params = _params(tmp_path, power="ina2xx", power_options={"root": str(INA226)}, idle_s=0.5, power_rate_hz=50.0)
    result = run_sweep(params, progress=False)
    requests = result.requests
    energy = result.meta["summary"]["energy"]
    assert energy["valid"] and energy["kind"] == "measured" and energy["source"] == "ina2xx"
    # the measured window runs from the first request sent to the last token received
    assert energy["start_unix_s"] == pytest.approx(requests["sent_unix_s"].min(), abs=1e-6)
    assert energy["end_unix_s"] == pytest.approx(requests["last_token_unix_s"].max(), abs=1e-6)
    assert energy["energy_j"] == pytest.approx(INA226_W * energy["window_s"], rel=1e-9)
    assert energy["output_tokens"] == requests["output_tokens"].sum()
    assert energy["energy_per_token_j"]["value"] == pytest.approx(energy["energy_j"] / energy["output_tokens"])
    # the idle baseline came after warm-up and before the window
    idle = result.meta["power"]["idle"]
    assert idle["end_unix_s"] <= energy["start_unix_s"]
    assert idle["duration_s"] >= 0.5  # idle_s is its least length; a busy machine may wake it later
    assert energy["idle_power_w"] == pytest.approx(INA226_W)
    assert energy["idle_subtracted_energy_per_token_j"]["value"] == pytest.approx(0.0, abs=1e-9)
    # samples cover load, warm-up and idle too, but those are outside the window
    samples = pd.read_parquet(result.run_dir / "power.parquet")
    assert (samples["unix_s"] < idle["start_unix_s"]).sum() >= 1
    inside = samples[(samples["unix_s"] >= energy["start_unix_s"]) & (samples["unix_s"] <= energy["end_unix_s"])]
    assert len(inside) == energy["samples"] < len(samples)
    assert set(samples["kind"]) == {"measured"} and (samples["power_w"] == INA226_W).all()


def test_measured_power_prices_owned_hardware(tmp_path):
    params = _params(tmp_path, power="ina2xx", power_options={"root": str(INA226)}, price_profile="pi5")
    cost = run_sweep(params, progress=False).meta["summary"]["cost"]
    assert cost["power_source"] == "measured" and cost["power_w"] == pytest.approx(INA226_W)
    assert cost["hourly_cost_usd"] == pytest.approx(230 / 26280 + INA226_W / 1000 * 0.15)


def test_a_sensor_that_stops_mid_run_marks_the_energy_invalid_and_keeps_every_request(tmp_path):
    sysfs = tmp_path / "sysfs"
    shutil.copytree(INA226, sysfs)
    params = _params(tmp_path, power="ina2xx", power_options={"root": str(sysfs)}, output_tokens=24, repetitions=6)
    code = (
        "from benchlib.config import SweepConfig\nfrom benchlib.sweep import run_sweep\n"
        f"run_sweep(SweepConfig.from_mapping({params.flat()!r}), progress=False)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, stdout=subprocess.PIPE)
    store = RunDirectory(params.run_dir())
    deadline = time.monotonic() + 120
    while not (store.requests_file.exists() and len(store.read_requests()) >= 1):
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    shutil.rmtree(sysfs / "sys" / "class" / "hwmon" / "hwmon3")  # the INA226 disappears mid-run
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr.decode()
    meta = store.read_meta()
    assert meta["status"] == "complete"
    assert len(store.read_requests()) == 6, "no completed request is lost"
    energy = meta["summary"]["energy"]
    assert energy["valid"] is False and energy["problem"]
    assert "energy_j" not in energy and "energy_per_token_j" not in energy, "never a made-up number"
    assert meta["power"]["sampler"]["state"] == "failed"
    assert (store.path / "power.parquet").exists()


def _meter_csv(path: Path, start: float, end: float, watts: float) -> None:
    rows = ["unix_s,watts"] + [f"{t:.3f},{watts}" for t in [start + 0.2 * i for i in range(int((end - start) / 0.2) + 1)]]
    path.write_text("\n".join(rows) + "\n")


def test_meter_log_covering_the_window(tmp_path):
    log = tmp_path / "meter.csv"
    now = time.time()
    _meter_csv(log, now - 5, now + 300, 4.5)
    params = _params(tmp_path, power="meter-log", power_options={"path": str(log), "clock_offset_s": 0.0})
    energy = run_sweep(params, progress=False).meta["summary"]["energy"]
    assert energy["valid"] and energy["kind"] == "measured" and energy["source"] == "meter-log"
    assert energy["mean_power_w"] == pytest.approx(4.5)


def test_meter_log_that_does_not_cover_the_window(tmp_path):
    log = tmp_path / "meter.csv"
    now = time.time()
    _meter_csv(log, now - 600, now - 300, 4.5)  # the meter was recording an hour ago, not now
    params = _params(tmp_path, power="meter-log", power_options={"path": str(log)})
    result = run_sweep(params, progress=False)
    energy = result.meta["summary"]["energy"]
    assert result.meta["status"] == "complete"
    assert energy["valid"] is False and "cover" in energy["problem"]


def test_doctor_command_lists_every_source_and_why_it_is_missing(capsys):
    from benchlib.cli import main

    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for name in ("ina2xx", "nvml", "pi5-pmic", "rapl", "meter-log", "estimate"):
        assert name in out
    assert "vcgencmd" in out and "nvidia-ml-py" in out and "powercap" in out
    assert "fall back to the hardware profile's estimate" in out
