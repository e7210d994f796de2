"""The AIPerf importer against exports laid out as AIPerf's JsonExportData and MetricRecordInfo (see the fixtures' README)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchlib.importers import aiperf, vllm_bench
from benchlib.importers.base import ImportFormatError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "imports"
AGGREGATE = FIXTURES / "aiperf" / "profile_export_aiperf.json"
RECORDS = FIXTURES / "aiperf" / "profile_export.jsonl"
STATS = {"avg": "mean", "p50": "median", "p90": "p90", "p95": "p95", "p99": "p99", "std": "std", "min": "min",
         "max": "max"}
TIME_METRICS = {"time_to_first_token": "ttft_s", "inter_token_latency": "tpot_s", "inter_chunk_latency": "itl_s",
                "request_latency": "e2e_s"}
RATE_METRICS = {"output_token_throughput_per_user": "decode_tps", "output_token_throughput": "system_throughput_tps",
                "request_throughput": "request_throughput_rps"}


def raw() -> dict:
    return json.loads(AGGREGATE.read_text())


def lines() -> list[dict]:
    return [json.loads(line) for line in RECORDS.read_text().splitlines() if line.strip()]


def aggregate_alone(tmp_path: Path, data: dict | None = None) -> Path:
    path = tmp_path / "profile_export_aiperf.json"
    path.write_text(json.dumps(raw() if data is None else data, indent=2))
    return path


def test_the_aggregate_export_alone_maps_every_number_with_the_stated_unit(tmp_path):
    data = raw()
    [run] = aiperf.parse(aggregate_alone(tmp_path))
    assert run.requests is None and "aggregates_only" in run.extra
    n = data["request_count"]["avg"]
    for tag, metric in TIME_METRICS.items():
        assert data[tag]["unit"] == "ms"
        agg = run.aggregates[metric]
        assert agg.n == n
        for key, field in STATS.items():
            assert getattr(agg, field) == data[tag][key] / 1000, (tag, key)
        for key in aiperf.OTHER_PERCENTILES:
            assert run.extra["other_percentiles"][metric][key] == data[tag][key] / 1000
    for tag, metric in RATE_METRICS.items():
        assert run.aggregates[metric].mean == data[tag]["avg"]
    assert run.aggregates["decode_tps"].p99 == data["output_token_throughput_per_user"]["p99"]
    assert run.duration_s == data["benchmark_duration"]["avg"] and run.output_tokens == data["total_osl"]["avg"]
    assert run.workload["completed"] == n and run.workload["failed"] == data["error_request_count"]["avg"]
    assert run.workload["concurrency"] == data["input_config"]["loadgen"]["concurrency"]
    assert run.model["name"] == data["input_config"]["endpoint"]["model_names"][0]
    assert run.machine["url"] == data["input_config"]["endpoint"]["url"]
    assert run.started_at == data["start_time"] and run.tool_version is None
    assert {m.metric for m in run.mapping} == set(TIME_METRICS.values()) | set(RATE_METRICS.values())
    tpot = next(m for m in run.mapping if m.metric == "tpot_s")
    assert tpot.tool_field.startswith("inter_token_latency") and "TPOT" in tpot.note
    # the fixture is internally consistent, as AIPerf derives its throughputs
    duration = data["benchmark_duration"]["avg"]
    assert data["output_token_throughput"]["avg"] == pytest.approx(data["total_osl"]["avg"] / duration, rel=1e-12)
    assert data["request_throughput"]["avg"] == pytest.approx(n / duration, rel=1e-12)


@pytest.mark.parametrize("path", [AGGREGATE, RECORDS], ids=["json", "jsonl"])
def test_either_file_of_an_artifact_directory_gives_aggregates_and_rows(path):
    [run] = aiperf.parse(path)
    assert run.requests is not None and "ttft_s" in run.aggregates and run.warnings == []
    assert len(run.requests) == len(lines())


def test_records_agree_with_the_aggregates_they_came_from():
    data = raw()
    [run] = aiperf.parse(AGGREGATE)
    rows = run.requests
    ok = rows[rows["error"].isna()]
    assert len(ok) == data["request_count"]["avg"] and len(rows) - len(ok) == data["error_request_count"]["avg"]
    assert ok["output_tokens"].sum() == data["total_osl"]["avg"]
    for column, tag in (("ttft_s", "time_to_first_token"), ("e2e_s", "request_latency"),
                        ("tpot_s", "inter_token_latency")):
        values = ok[column].to_numpy()
        assert np.median(values) == pytest.approx(data[tag]["p50"] / 1000, rel=1e-12)
        assert np.mean(values) == pytest.approx(data[tag]["avg"] / 1000, rel=1e-12)
        assert np.percentile(values, 90) == pytest.approx(data[tag]["p90"] / 1000, rel=1e-12)
    assert np.mean(ok["decode_tps"]) == pytest.approx(data["output_token_throughput_per_user"]["avg"], rel=1e-12)
    gaps = np.concatenate(ok["itl_s"].to_numpy())
    assert np.percentile(gaps, 99) == pytest.approx(data["inter_chunk_latency"]["p99"] / 1000, rel=1e-12)
    for line, (_, row) in zip(lines(), rows.iterrows(), strict=True):
        assert row["sent_unix_s"] == line["metadata"]["request_start_ns"] / 1e9
        if line["error"] is None:
            assert row["tpot_s"] == pytest.approx(line["metrics"]["inter_token_latency"]["value"] / 1000, rel=1e-12)
            assert row["ttft_s"] == line["metrics"]["time_to_first_token"]["value"] / 1000
        else:
            assert str(line["error"]["code"]) in row["error"] and np.isnan(row["ttft_s"])


def test_the_records_alone_import_with_a_warning(tmp_path):
    path = tmp_path / "profile_export.jsonl"
    shutil.copy(RECORDS, path)
    [run] = aiperf.parse(path)
    assert run.aggregates == {} and len(run.requests) == len(lines())
    assert "profile_export_aiperf.json" in run.warnings[0]


def test_times_in_another_stated_unit_convert_to_the_same_seconds(tmp_path):
    data = raw()
    data["time_to_first_token"] = {k: (v * 1_000_000 if k != "unit" else "ns")
                                   for k, v in data["time_to_first_token"].items()}
    [run] = aiperf.parse(aggregate_alone(tmp_path, data))
    assert run.aggregates["ttft_s"].median == data["time_to_first_token"]["p50"] / 1_000_000_000
    assert run.aggregates["ttft_s"].median == pytest.approx(raw()["time_to_first_token"]["p50"] / 1000, rel=1e-12)


def test_an_unknown_unit_is_refused_naming_the_field(tmp_path):
    data = raw()
    data["request_latency"]["unit"] = "fortnights"
    with pytest.raises(ImportFormatError, match="fortnights") as err:
        aiperf.parse(aggregate_alone(tmp_path, data))
    assert err.value.field_name == "request_latency" and err.value.tool == "aiperf"


def test_an_unknown_unit_in_a_record_is_refused(tmp_path):
    records = lines()
    records[0]["metrics"]["time_to_first_token"]["unit"] = "ticks"
    path = tmp_path / "profile_export.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    with pytest.raises(ImportFormatError) as err:
        aiperf.parse(path)
    assert err.value.field_name == "time_to_first_token"


@pytest.mark.parametrize("tag", ["request_count", "time_to_first_token"])
def test_a_missing_required_metric_is_refused(tmp_path, tag):
    data = raw()
    del data[tag]
    with pytest.raises(ImportFormatError) as err:
        aiperf.parse(aggregate_alone(tmp_path, data))
    assert err.value.field_name == tag


def test_truncated_files_are_refused_naming_file_and_place(tmp_path):
    path = tmp_path / "profile_export_aiperf.json"
    path.write_text(AGGREGATE.read_text()[:1500])
    with pytest.raises(ImportFormatError, match="truncated") as err:
        aiperf.parse(path)
    assert str(path) in str(err.value)
    records = tmp_path / "records" / "profile_export.jsonl"
    records.parent.mkdir()
    text = RECORDS.read_text()
    cut = text[: text.index("\n", 3000) + 200]
    records.write_text(cut)
    with pytest.raises(ImportFormatError, match=f"line {cut.count(chr(10)) + 1} "):
        aiperf.parse(records)


def test_unknown_fields_import_with_warnings_naming_them(tmp_path):
    data = raw()
    data["gpu_power_usage"] = {"unit": "W", "avg": 61.2}
    [run] = aiperf.parse(aggregate_alone(tmp_path, data))
    assert any("gpu_power_usage" in w for w in run.warnings)
    assert run.aggregates["ttft_s"].mean == data["time_to_first_token"]["avg"] / 1000
    records = lines()
    records[0]["metrics"]["prefill_tokens_cached"] = {"value": 128, "unit": "tokens"}
    path = tmp_path / "profile_export.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    [run] = aiperf.parse(path)
    assert any("prefill_tokens_cached" in w for w in run.warnings)


def test_detect_knows_its_own_files_and_not_vllms():
    for path in (AGGREGATE, RECORDS):
        assert aiperf.detect(path.read_text()[:65536])
    for path in (FIXTURES / "vllm").glob("*.json"):
        assert not aiperf.detect(path.read_text()[:65536])
        assert vllm_bench.detect(path.read_text()[:65536])
    assert not aiperf.detect("[1, 2, 3]")
    assert aiperf.IMPORTER.name == "aiperf" and aiperf.IMPORTER.parse is aiperf.parse
