"""A real smoke sweep records this machine's bandwidth and the model's geometry, and comes out plausible."""

import math

import pytest

from benchlib.analysis.plausibility import VERDICT_OK, plausibility_table
from benchlib.config import SweepConfig
from benchlib.paths import repo_root
from benchlib.sweep import run_sweep

pytestmark = [pytest.mark.model]


def test_a_smoke_run_carries_bandwidth_and_geometry_and_is_plausible(tmp_path):
    params = SweepConfig.from_mapping(
        dict(profile="smoke", prompts="tiny", output_tokens=8, repetitions=2, warmup=1, threads=0,
             price_profile="local-cpu", price_files=[str(repo_root() / "params/prices/local-cpu.yaml")],
             output_dir=str(tmp_path / "runs"))  # fmt: skip
    )
    result = run_sweep(params, progress=False)
    bandwidth = result.meta["machine"]["memory_bandwidth"]
    assert bandwidth["gb_s"] > 0 and bandwidth["bound"] == "lower bound of peak"
    geometry = result.meta["model"]["geometry"]
    assert (geometry["block_count"], geometry["head_count_kv"], geometry["head_dim_k"]) == (30, 3, 64)
    assert geometry["kv_cache_bytes_per_token"] == 2 * 30 * 3 * 64 * 2 and geometry["weight_bytes"] > 90e6

    frame = plausibility_table(tmp_path / "runs")
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["label"] == "measured" and row["bandwidth_basis"] == "measured probe"
    assert row["bandwidth_gb_s"] == pytest.approx(bandwidth["gb_s"])
    assert row["verdict"] == VERDICT_OK, row.to_dict()
    assert math.isfinite(row["percent_of_ceiling"]) and 0 < row["percent_of_ceiling"] <= 100
