"""One place prices a run: price_run, and the analysis table and cost report that reuse it on a stored run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchlib.analysis import run_table
from benchlib.cost import (
    OwnedHardware,
    load_prices,
    measured_power_w,
    price_run,
    profile_record,
    run_cost_summary,
)
from benchlib.cost.report import platform_table
from benchlib.metrics import summarize_requests, throughput_replicates
from benchlib.records import RunDirectory, RunStatus

EDGE = OwnedHardware("edge", hardware_usd=2000.0, amortization_h=26280.0, power_w=100.0, electricity_usd_per_kwh=0.3)
MEASURED = {"valid": True, "kind": "measured", "mean_power_w": 20.0, "source": "rapl", "boundary": "package"}


def _requests(n: int = 12) -> pd.DataFrame:
    """A one-at-a-time run: request i sent at 1.5 * i, 16 tokens, the last after 1.0-1.3 s."""
    rng = np.random.default_rng(0)
    sent = 1000.0 + 1.5 * np.arange(n)
    e2e = rng.uniform(1.0, 1.3, n)
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "attempt": 0,
            "sent_unix_s": sent,
            "last_token_unix_s": sent + e2e,
            "ttft_s": 0.1,
            "e2e_s": e2e,
            "tpot_s": (e2e - 0.1) / 15,
            "decode_tps": 15 / (e2e - 0.1),
            "runtime_decode_tps": 15 / (e2e - 0.1),
            "itl_s": [[0.05] * 15 for _ in range(n)],
            "output_tokens": 16,
            "prompt_tokens": 8,
        }
    )


@pytest.mark.parametrize(
    "energy, expected",
    [(MEASURED, 20.0), ({**MEASURED, "kind": "estimated"}, None), ({**MEASURED, "valid": False}, None), (None, None)],
)
def test_measured_power_w_only_from_a_valid_sensor_measurement(energy, expected):
    assert measured_power_w({"energy": energy} if energy is not None else {}) == expected


def test_price_run_bills_the_measured_power():
    requests = _requests()
    summary = {**summarize_requests(requests), "energy": MEASURED}
    priced = price_run(EDGE, summary, requests)
    throughput = summary["system_throughput_tps"]["value"]
    assert priced == run_cost_summary(EDGE, throughput, throughput_replicates(requests), power_w=20.0)
    assert priced["power_source"] == "measured" and priced["power_w"] == 20.0
    # amortization + 20 W of electricity, over the measured tokens per hour
    hourly = 2000.0 / 26280.0 + 0.020 * 0.3
    assert priced["hourly_cost_usd"] == pytest.approx(hourly)
    assert priced["cost_per_million_usd"]["value"] == pytest.approx(hourly / (throughput * 3600) * 1e6)
    unmeasured = price_run(EDGE, {**summary, "energy": {**MEASURED, "kind": "estimated"}}, requests)
    assert unmeasured["power_source"] == "profile" and unmeasured["power_w"] == 100.0
    assert unmeasured["cost_per_million_usd"]["value"] > priced["cost_per_million_usd"]["value"]


def _stored_run(runs_dir) -> dict:
    requests = _requests()
    summary = {**summarize_requests(requests), "energy": MEASURED}
    summary["cost"] = price_run(EDGE, summary, requests)
    meta = {
        "schema_version": 1,
        "run_id": "edge-measured-0123456789",
        "status": RunStatus.COMPLETE,
        "started_at": "2026-01-01T00:00:00+00:00",
        "parameters": {"platform": "edge box", "profile": "edge", "runtime": "llamacpp", "output_tokens": 16},
        "model": {"name": "tiny", "parameter_count": 1e6, "quantization": "Q8_0"},
        "price_profile": profile_record(EDGE),
        "summary": summary,
    }
    store = RunDirectory(runs_dir / meta["run_id"])
    store.path.mkdir(parents=True)
    store.write_record(meta)
    store.append_requests(requests.to_dict("records"))
    return meta


def test_analysis_and_cost_report_price_a_stored_run_as_its_run_json(tmp_path):
    meta = _stored_run(tmp_path)
    stored = meta["summary"]["cost"]["cost_per_million_usd"]
    row = run_table(tmp_path).iloc[0]
    assert row["cost_per_million_usd"] == pytest.approx(stored["value"])
    assert (row["cost_per_million_usd_ci_low"], row["cost_per_million_usd_ci_high"]) == pytest.approx(
        (stored["ci_low"], stored["ci_high"])
    )
    platforms, profiles = platform_table(load_prices(), pd.DataFrame(columns=["metric", "model_size", "platform", "value"]), tmp_path)
    measured = platforms[platforms["source"] == "measured"].iloc[0]
    assert measured["cost_per_million_usd"] == pytest.approx(stored["value"])
    assert measured["power_source"] == "measured" and measured["power_w"] == 20.0
    assert measured["hourly_cost_usd"] == pytest.approx(meta["summary"]["cost"]["hourly_cost_usd"])
    assert measured["energy_per_token_j"] == pytest.approx(20.0 / measured["throughput_tps"])
    # the curves and break-even use the same power: cost at utilization 1 is the table's
    assert profiles[measured["platform"]].power_w == 20.0
