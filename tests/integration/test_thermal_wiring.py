"""Thermal state in real sweeps: snapshots with this machine's real CPU clock, thermal.parquet, the report's row and figure.

The model, runner, psutil clock and files are real; this machine has no
temperature sensor, vcgencmd or NVML, so run.json must say why each is missing.
"""

from __future__ import annotations

import json

import pandas as pd
import psutil
import pytest
import yaml

from benchlib.analysis.figures import plot_power_timeline
from benchlib.analysis.thermal import thermal_table
from benchlib.config import SweepConfig
from benchlib.paths import repo_root, sensors_dir
from benchlib.records import load_runs
from benchlib.sweep import engine, run_sweep
from benchlib.sweep.thermal_record import ThermalRecorder
from benchlib.thermal import detect_thermal_sources, flag_text

ROOT = repo_root()

pytestmark = [pytest.mark.model]


def _smoke(tmp_path, **overrides) -> SweepConfig:
    values = {**yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text()), "output_dir": str(tmp_path / "runs")}
    values["price_files"] = [str(ROOT / p) for p in values["price_files"]]
    return SweepConfig.from_mapping({**values, **overrides})


def test_a_smoke_sweep_records_thermal_state_with_this_machines_real_clock(tmp_path):
    result = run_sweep(_smoke(tmp_path), progress=False)
    meta = json.loads((result.run_dir / "run.json").read_text())
    thermal = meta["thermal"]
    found = detect_thermal_sources()
    assert thermal["sources"] == list(found.names)
    assert set(thermal["unavailable"]) == set(found.unavailable)
    assert all(thermal["unavailable"].values()), "every missing source says why"
    found.close()
    clock_now_mhz = psutil.cpu_freq().current
    for end in ("start", "end"):
        snapshot = thermal[end]
        assert "cpu-clock" in snapshot["sources"]
        assert snapshot["cpu_clock_mhz"] == pytest.approx(clock_now_mhz, rel=0.5)  # MHz, not kHz or GHz
    assert thermal["start"]["unix_s"] < result.requests["sent_unix_s"].min()
    assert thermal["end"]["unix_s"] > result.requests["last_token_unix_s"].max()

    samples = pd.read_parquet(result.run_dir / "thermal.parquet")
    assert set(samples["attempt"]) == {0} and len(samples) == thermal["samples"] >= 2
    assert (samples["cpu_clock_mhz"] > 0).all() and samples["unix_s"].is_monotonic_increasing

    window = thermal["window"]
    energy = meta["summary"]["energy"]
    assert window["start_unix_s"] == pytest.approx(energy["start_unix_s"], abs=1e-3)
    assert window["end_unix_s"] == pytest.approx(energy["end_unix_s"], abs=1e-3)
    assert window["samples"] >= 1 and window["clock_start_mhz"] > 0
    assert window["clock_drop_pct"] == pytest.approx(
        (window["clock_start_mhz"] - window["clock_min_mhz"]) / window["clock_start_mhz"] * 100
    )
    assert thermal["flag"] == flag_text(window, thermal["has_temperature"])
    if not thermal["has_temperature"] and window["clock_drop_pct"] < 10:
        assert thermal["flag"] == "no thermal sensor: clock only"

    runs = load_runs(tmp_path / "runs")
    table = thermal_table(runs)
    row = table.iloc[0]
    assert row["run_id"] == result.meta["run_id"] and row["flag"] == thermal["flag"]
    assert row["clock_start_mhz"] == window["clock_start_mhz"] and "cpu-clock" in row["sources"]

    figure = plot_power_timeline(runs[0])  # no power sensor here: the thermal series alone
    lines = [line for axes in figure.axes for line in axes.get_lines()]
    assert len(lines) == 1 and len(lines[0].get_ydata()) == len(samples)
    assert "clock" in figure.axes[0].get_ylabel() or "°C" in figure.axes[0].get_ylabel()


def test_power_and_thermal_share_the_timeline(tmp_path):
    sysfs = sensors_dir() / "sysfs" / "pi5_ina226"
    result = run_sweep(_smoke(tmp_path, power="ina2xx", power_options={"root": str(sysfs)}), progress=False)
    assert (result.run_dir / "power.parquet").exists() and (result.run_dir / "thermal.parquet").exists()
    figure = plot_power_timeline(load_runs(tmp_path / "runs")[0])
    assert len(figure.axes) == 2, "power on the left axis, temperature or clock on a twin axis"
    assert figure.axes[0].get_ylabel() == "power, W" and figure.axes[1].get_lines()


def test_a_broken_thermal_source_never_fails_the_sweep(tmp_path, monkeypatch):
    def broken():
        raise RuntimeError("NVML driver crashed")

    monkeypatch.setattr(engine, "ThermalRecorder", lambda: ThermalRecorder(detect=broken))
    result = run_sweep(_smoke(tmp_path), progress=False)
    assert result.meta["status"] == "complete" and len(result.requests) == 2
    thermal = result.meta["thermal"]
    assert "NVML driver crashed" in thermal["problem"] and thermal["start"] is None and thermal["end"] is None
    assert thermal["window"]["samples"] == 0 and thermal["window"]["basis"] == "no thermal samples"
    assert not (result.run_dir / "thermal.parquet").exists()
    assert thermal_table(load_runs(tmp_path / "runs")).iloc[0]["flag"] == "no thermal or clock source"
