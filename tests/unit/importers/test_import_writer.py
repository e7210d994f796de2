"""Imported runs on disk and in the report: run.json, idempotence, no overwrite of a measured run, energy, cost.

The runs are :class:`ImportedRun` values as an importer returns them (the
importers themselves are tested on real tool outputs in their own files).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchlib.analysis.tables import run_table
from benchlib.cost import cost_per_million_tokens_usd, load_prices
from benchlib.errors import ParameterError
from benchlib.importers.base import Aggregate, ImportedRun, MetricMapping
from benchlib.importers.writer import ImportSettings, write_runs
from benchlib.records import IMPORTED_KIND, RunDirectory

DECODE_SAMPLES = [101.5, 99.25, 100.75]


def aggregate_run() -> ImportedRun:
    """A llama-bench-like run: a decode rate from three repetitions, no per-request data."""
    return ImportedRun(
        tool="llama-bench", tool_version="build 1 (abc1234)", label="t=2 tg32",
        model={"name": "smollm2-135m.gguf", "architecture": "llama", "parameter_count": 134_515_008, "quantization": "Q4_1"},
        machine={"cpu": "test cpu", "threads": 2}, workload={"output_tokens": 32, "concurrency": 1, "repetitions": 3},
        aggregates={
            "decode_tps": Aggregate(n=3, mean=float(np.mean(DECODE_SAMPLES)), median=float(np.median(DECODE_SAMPLES)), std=1.0),
            "tpot_s": Aggregate(n=3, median=1 / float(np.median(DECODE_SAMPLES))),
        },
        samples={"decode_tps": DECODE_SAMPLES},
        mapping=[MetricMapping("decode_tps", "avg_ts", "as is"), MetricMapping("tpot_s", "samples_ts", "1 / x")],
    )  # fmt: skip


def per_request_run() -> ImportedRun:
    """A vLLM-like run with per-request rows (send times included) and the tool's aggregates."""
    n = 12
    sent = 1_800_000_000.0 + np.arange(n) * 0.5
    ttft = 0.05 + 0.001 * np.arange(n)
    tpot = 0.01 + 0.0001 * np.arange(n)
    rows = pd.DataFrame({"sent_unix_s": sent, "ttft_s": ttft, "tpot_s": tpot, "output_tokens": 64, "prompt_tokens": 128,
                         "e2e_s": ttft + tpot * 63, "decode_tps": 1 / tpot, "error": None,
                         "itl_s": [[float(t)] * 63 for t in tpot]})  # fmt: skip
    return ImportedRun(
        tool="vllm", tool_version="0.11.0", model={"name": "meta-llama/Llama-3.1-8B-Instruct"},
        machine={"backend": "vllm"}, workload={"concurrency": 1, "output_tokens": 64, "total_input_tokens": 128 * n,
                                               "total_output_tokens": 64 * n},
        aggregates={"ttft_s": Aggregate(n=n, median=float(np.median(ttft))),
                    "system_throughput_tps": Aggregate(mean=900.0)},
        requests=rows, mapping=[MetricMapping("ttft_s", "ttfts", "as is")], duration_s=6.0, output_tokens=64 * n,
    )  # fmt: skip


@pytest.fixture
def original(tmp_path) -> Path:
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"anything": "the tool's file"}))
    return path


def settings(tmp_path, **overrides) -> ImportSettings:
    values = {"platform": "pi5-llama-bench", "runs_dir": tmp_path / "runs"} | overrides
    return ImportSettings(**values)


def test_an_aggregate_run_is_written_as_imported_with_its_source_and_no_interval(tmp_path, original):
    (written,) = write_runs([aggregate_run()], original, settings(tmp_path))
    assert written.created
    meta = json.loads((written.path / "run.json").read_text())
    assert meta["kind"] == IMPORTED_KIND and meta["status"] == "complete"
    source = meta["source"]
    assert source["tool"] == "llama-bench" and source["tool_version"] == "build 1 (abc1234)" and not source["per_request"]
    assert source["mapping"][0] == {"metric": "decode_tps", "tool_field": "avg_ts", "conversion": "as is", "note": None}
    assert (written.path / "source" / "bench.json").read_bytes() == original.read_bytes()
    assert not (written.path / "requests.parquet").exists()
    summary = meta["summary"]
    assert summary["aggregates_only"] and summary["decode_tps"]["median"] == float(np.median(DECODE_SAMPLES))
    assert summary["decode_tps"]["ci_low"] is None  # no interval benchlib did not compute
    assert summary["system_throughput_tps"]["value"] == float(np.mean(DECODE_SAMPLES))  # one stream: its decode rate
    assert not summary["energy"]["valid"] and "--power-w" in summary["energy"]["problem"]


def test_importing_the_same_file_twice_changes_nothing(tmp_path, original):
    (first,) = write_runs([aggregate_run()], original, settings(tmp_path))
    before = (first.path / "run.json").read_bytes()
    (second,) = write_runs([aggregate_run()], original, settings(tmp_path))
    assert second.run_id == first.run_id and not second.created
    assert (first.path / "run.json").read_bytes() == before
    (other,) = write_runs([aggregate_run()], original, settings(tmp_path, platform="another-pi"))
    assert other.run_id != first.run_id


def test_a_measured_run_is_never_overwritten(tmp_path, original):
    (first,) = write_runs([aggregate_run()], original, settings(tmp_path))
    store = RunDirectory(first.path)
    meta = store.read_meta()
    store.write_record({**meta, "kind": "sweep"})
    with pytest.raises(ParameterError, match="holds a measured run; an import never overwrites one"):
        write_runs([aggregate_run()], original, settings(tmp_path))
    assert store.read_meta()["kind"] == "sweep"


def test_per_request_rows_are_kept_and_summarized_by_benchlib(tmp_path, original):
    (written,) = write_runs([per_request_run()], original, settings(tmp_path, platform="l4-vllm"))
    rows = pd.read_parquet(written.path / "requests.parquet")
    assert len(rows) == 12 and {"attempt", "last_token_unix_s", "request_id"} <= set(rows.columns)
    summary = json.loads((written.path / "run.json").read_text())["summary"]
    assert not summary["aggregates_only"]
    assert summary["ttft_s"]["median"] == pytest.approx(float(np.median(0.05 + 0.001 * np.arange(12))))
    assert summary["ttft_s"]["ci_low"] is not None  # benchlib's own bootstrap, from the rows
    assert summary["tool_aggregates"]["system_throughput_tps"] == {"mean": 900.0}


def test_stated_power_gives_energy_per_token_and_both_figures_are_refused(tmp_path, original):
    (written,) = write_runs([aggregate_run()], original, settings(tmp_path, power_w=8.0))
    energy = json.loads((written.path / "run.json").read_text())["summary"]["energy"]
    assert energy["valid"] and energy["kind"] == "estimated" and "stated on import" in energy["source"]
    assert energy["energy_per_token_j"]["value"] == pytest.approx(8.0 / float(np.mean(DECODE_SAMPLES)))
    with pytest.raises(ParameterError, match="not both"):
        write_runs([aggregate_run()], original, settings(tmp_path, power_w=8.0, energy_j=100.0, platform="x"))
    with pytest.raises(ParameterError, match="output-token count"):
        write_runs([aggregate_run()], original, settings(tmp_path, energy_j=100.0, platform="y"))


def test_priced_runs_appear_in_the_report_as_imported(tmp_path, original):
    rented = settings(tmp_path, price_profile="l4")
    write_runs([aggregate_run()], original, rented)
    write_runs([per_request_run()], original, settings(tmp_path, platform="l4-vllm", price_profile="l4"))
    table = run_table(tmp_path / "runs").set_index("platform")
    assert set(table["source"]) == {IMPORTED_KIND}
    pi = table.loc["pi5-llama-bench"]
    assert pi["aggregates_only"] and pi["source_tool"] == "llama-bench"
    expected = float(cost_per_million_tokens_usd(load_prices()["l4"], float(np.mean(DECODE_SAMPLES))))
    assert pi["cost_per_million_usd"] == pytest.approx(expected) and math.isnan(pi["cost_per_million_usd_ci_low"])
    assert math.isnan(pi["decode_tps_ci_low"]) and pi["decode_tps_median"] == float(np.median(DECODE_SAMPLES))
    vllm = table.loc["l4-vllm"]
    assert not vllm["aggregates_only"] and np.isfinite(vllm["cost_per_million_usd_ci_low"])


def test_an_unknown_price_profile_lists_the_valid_ones(tmp_path, original):
    with pytest.raises(ParameterError, match="l4"):
        settings(tmp_path, price_profile="no-such-gpu").profile()
