"""The guidellm importer on a report guidellm 0.8.1 really wrote (tests/fixtures/imports/guidellm/README.md).

Expected values are read from the report itself, independently of the importer: every aggregate is the
report's number converted, and the per-request rows reproduce the report's own statistics when put through
guidellm's definitions (token-weighted TPOT and ITL, percentiles as the lower inverse of the weighted CDF).
"""

from __future__ import annotations

import copy
import gzip
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from benchlib.importers import guidellm
from benchlib.importers.base import METRICS, ImportFormatError

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "imports" / "guidellm" / "sweep-smollm2-135m.json.gz"

# benchlib metric -> (guidellm metric, divisor to benchlib's unit): the mapping the issue asks for.
AGGREGATE_FIELDS = {
    "ttft_s": ("time_to_first_token_ms", 1000.0),
    "itl_s": ("inter_token_latency_ms", 1000.0),
    "e2e_s": ("request_latency", 1.0),
    "system_throughput_tps": ("output_tokens_per_second", 1.0),
    "request_throughput_rps": ("requests_per_second", 1.0),
}


@pytest.fixture(scope="module")
def raw() -> dict:
    return json.loads(gzip.decompress(FIXTURE.read_bytes()))


@pytest.fixture(scope="module")
def runs():
    return guidellm.parse(FIXTURE)


def _write(tmp_path: Path, doc: dict, name: str = "report.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _guidellm_quantile(values, weights, p: float) -> float:
    """guidellm's percentile: the smallest value whose weighted CDF reaches p (schemas/base/statistics.py)."""
    values, weights = np.asarray(values, float), np.asarray(weights, float)
    keep = weights > 0
    order = np.argsort(values[keep], kind="stable")
    v, w = values[keep][order], weights[keep][order]
    return float(v[np.searchsorted(np.cumsum(w / w.sum()), p, side="left")])


def test_one_run_per_benchmark_with_label_version_and_setup(raw, runs):
    assert len(runs) == len(raw["benchmarks"]) == 3
    for run, bench in zip(runs, raw["benchmarks"]):
        strategy = bench["config"]["strategy"]
        expected = strategy["type_"] if strategy.get("rate") is None else f"{strategy['type_']}@{strategy['rate']:.4g}"
        assert run.label == expected
        assert run.tool == "guidellm"
        assert run.tool_version == raw["metadata"]["guidellm_version"] == "0.8.1"
        assert run.model["name"] == bench["config"]["backend"]["model"]
        assert run.machine["backend"] == "openai_http" and run.machine["target"] == bench["config"]["backend"]["target"]
        assert run.workload["rate_type"] == strategy["type_"]
        assert run.workload["max_requests"] == bench["config"]["constraints"]["max_requests"]["args"]["count"]
        assert run.workload["prompt_tokens"] == raw["config"]["spec"]["data"][0]["prompt_tokens"]
        assert run.workload["output_tokens"] == raw["config"]["spec"]["data"][0]["output_tokens"]
        assert run.duration_s == bench["duration"]
        assert run.started_at is not None and run.started_at.startswith("20") and run.started_at.endswith("+00:00")
        assert run.per_request
    assert [r.label for r in runs][0] == "synchronous"
    assert runs[2].workload["rate_rps"] == raw["benchmarks"][2]["config"]["strategy"]["rate"]


def test_every_aggregate_equals_the_report_after_conversion(raw, runs):
    for run, bench in zip(runs, raw["benchmarks"]):
        metrics = bench["metrics"]
        n = metrics["request_totals"]["successful"]
        assert set(run.aggregates) == set(AGGREGATE_FIELDS)
        for metric, (field, scale) in AGGREGATE_FIELDS.items():
            summary, agg = metrics[field]["successful"], run.aggregates[metric]
            assert agg.n == n
            assert agg.mean == summary["mean"] / scale
            assert agg.median == summary["median"] / scale
            assert agg.std == summary["std_dev"] / scale
            assert (agg.min, agg.max) == (summary["min"] / scale, summary["max"] / scale)
            for p in ("p90", "p95", "p99"):
                assert getattr(agg, p) == summary["percentiles"][p] / scale
        tpot = metrics["time_per_output_token_ms"]["successful"]
        kept = run.extra["guidellm_tpot_incl_first_s"]
        assert kept["mean"] == tpot["mean"] / 1000 and kept["median"] == tpot["median"] / 1000
        assert "tpot_s" not in run.aggregates, "guidellm's TPOT is not benchlib's: no tpot_s aggregate"
        assert run.output_tokens == round(metrics["output_token_count"]["successful"]["total_sum"])


def test_rows_carry_the_reports_requests(raw, runs):
    for run, bench in zip(runs, raw["benchmarks"]):
        rows = run.requests
        records = [(s, r) for s in ("successful", "errored", "incomplete") for r in bench["requests"][s] or []]
        assert len(rows) == len(records)
        for (status, record), (_, row) in zip(records, rows.iterrows()):
            timings = record["info"]["timings"]
            assert row["request_id"] == record["request_id"] and row["guidellm_status"] == status
            assert row["sent_unix_s"] == timings["request_start"]
            assert (row["prompt_tokens"], row["output_tokens"]) == (record["prompt_tokens"], record["output_tokens"])
            if status == "successful":
                assert row["ttft_s"] == pytest.approx(record["time_to_first_token_ms"] / 1000, rel=1e-12)
                assert row["guidellm_request_latency_s"] == pytest.approx(record["request_latency"], rel=1e-12)
                assert row["e2e_s"] <= row["guidellm_request_latency_s"], "the last token comes before request_end"
                assert pd.isna(row["error"])
            else:
                assert math.isnan(row["ttft_s"]) and math.isnan(row["e2e_s"]) and row["error"]
        assert (rows["guidellm_status"] == "errored").sum() == bench["metrics"]["request_totals"]["errored"]
        assert rows.loc[rows["guidellm_status"] == "successful", "output_tokens"].sum() == run.output_tokens
    errored = runs[1].requests.query("guidellm_status == 'errored'")
    assert len(errored) == 1 and "UNUSABLE_BACKEND_RESPONSE" in errored["error"].iloc[0]


def test_per_request_rows_reproduce_the_reports_own_medians(raw, runs):
    """Through guidellm's definitions, the rows give back the report's medians, means and p95s."""
    for run, bench in zip(runs, raw["benchmarks"]):
        ok = run.requests.query("guidellm_status == 'successful'")
        metrics = bench["metrics"]
        ones = np.ones(len(ok))
        out = ok["output_tokens"].to_numpy(float)
        checks = {
            "time_to_first_token_ms": (ok["ttft_s"] * 1000, ones),
            "request_latency": (ok["guidellm_request_latency_s"], ones),
            "time_per_output_token_ms": (ok["guidellm_tpot_incl_first_s"] * 1000, out),
            "inter_token_latency_ms": (ok["tpot_s"] * 1000, out - 1),
        }
        for field, (values, weights) in checks.items():
            summary = metrics[field]["successful"]
            assert _guidellm_quantile(values, weights, 0.5) == pytest.approx(summary["median"], rel=1e-9), field
            assert _guidellm_quantile(values, weights, 0.95) == pytest.approx(summary["percentiles"]["p95"], rel=1e-9)
            assert np.average(values, weights=weights) == pytest.approx(summary["mean"], rel=1e-9), field
        # benchlib's ttft median (its own statistic) agrees with the report's where both exist (lower median, n=8).
        if len(ok) % 2 == 0:
            lower, upper = np.sort(ok["ttft_s"])[len(ok) // 2 - 1 : len(ok) // 2 + 1]
            assert lower <= run.aggregates["ttft_s"].median <= upper


def test_benchlib_tpot_differs_from_guidellms_in_the_direction_the_definitions_imply(raw, runs):
    """guidellm's TPOT = e2e / n counts the TTFT in; benchlib's = (e2e - ttft) / (n - 1) does not.

    So n * guidellm_tpot = ttft + (n - 1) * tpot, and guidellm's exceeds benchlib's exactly when the first
    token took longer than guidellm's average token: here (TTFT ~0.2 s, tokens ~15-45 ms) for every request.
    """
    for run, bench in zip(runs, raw["benchmarks"]):
        ok = run.requests.query("guidellm_status == 'successful' and output_tokens > 1")
        n, ttft, tpot, theirs = ok["output_tokens"], ok["ttft_s"], ok["tpot_s"], ok["guidellm_tpot_incl_first_s"]
        assert np.allclose(n * theirs, ttft + (n - 1) * tpot, rtol=1e-12, atol=0)
        assert ((theirs > tpot) == (ttft > theirs)).all()
        assert (theirs > tpot).all()
        metrics = bench["metrics"]
        assert metrics["time_per_output_token_ms"]["successful"]["mean"] > metrics["inter_token_latency_ms"]["successful"]["mean"]
        assert run.extra["guidellm_tpot_incl_first_s"]["median"] > run.requests["tpot_s"].median()
        assert (ok["decode_tps"].dropna() == 1 / ok.loc[ok["tpot_s"] > 0, "tpot_s"]).all()


def test_mapping_names_benchlib_metrics_and_marks_the_tpot_conversion(runs):
    for run in runs:
        by_metric = {m.metric: m for m in run.mapping}
        assert set(by_metric) <= set(METRICS)
        assert {"ttft_s", "tpot_s", "itl_s", "e2e_s", "system_throughput_tps", "request_throughput_rps"} <= set(by_metric)
        assert "first token" in by_metric["tpot_s"].note and "time_per_output_token_ms" in by_metric["tpot_s"].note
        assert by_metric["ttft_s"].conversion.startswith("ms -> s")


def test_chunked_streams_are_reported(runs):
    """Under the throughput strategy the server sent whole completions in one chunk: tpot_s there is 0, and said."""
    rows = runs[1].requests.query("guidellm_status == 'successful'")
    chunked = rows[rows["token_chunks"] < rows["output_tokens"]]
    assert len(chunked) > 0
    assert any(f"{len(chunked)} successful request(s) got several tokens per stream chunk" in w for w in runs[1].warnings)
    assert not [w for w in runs[0].warnings if "chunk" in w]


def test_detect_recognizes_the_report_and_nothing_else(raw):
    text = gzip.decompress(FIXTURE.read_bytes()).decode()[:65536]
    assert guidellm.detect(text)
    assert guidellm.detect(yaml.safe_dump(raw)[:65536])
    assert not guidellm.detect('[{"build_commit": "abc", "n_prompt": 512, "avg_ts": 10.0}]')
    assert not guidellm.detect('{"backend": "vllm", "mean_ttft_ms": 1.0, "completed": 8}')
    assert not guidellm.detect("")
    assert guidellm.IMPORTER.name == "guidellm" and guidellm.IMPORTER.parse is guidellm.parse


def test_plain_json_and_yaml_read_like_the_compressed_report(raw, runs, tmp_path):
    for path in (_write(tmp_path, raw), tmp_path / "report.yaml"):
        if path.suffix == ".yaml":
            path.write_text(yaml.safe_dump(raw))
        again = guidellm.parse(path)
        assert [r.aggregates for r in again] == [r.aggregates for r in runs]
        assert [r.label for r in again] == [r.label for r in runs]


def test_truncated_or_malformed_files_are_refused_naming_file_and_tool(tmp_path):
    text = gzip.decompress(FIXTURE.read_bytes()).decode()
    truncated = tmp_path / "truncated.json"
    truncated.write_text(text[: len(text) // 2])
    with pytest.raises(ImportFormatError, match=r"truncated\.json as guidellm output.*not valid JSON"):
        guidellm.parse(truncated)
    bad_gzip = tmp_path / "cut.json.gz"
    bad_gzip.write_bytes(FIXTURE.read_bytes()[:1000])
    with pytest.raises(ImportFormatError, match="cut.json.gz as guidellm output"):
        guidellm.parse(bad_gzip)
    listing = _write(tmp_path, [1, 2], "list.json")
    with pytest.raises(ImportFormatError, match="expected a JSON object"):
        guidellm.parse(listing)


@pytest.mark.parametrize(
    ("remove", "field_name"),
    [
        (lambda d: d["metadata"].pop("guidellm_version"), "metadata.guidellm_version"),
        (lambda d: d.pop("benchmarks"), "benchmarks"),
        (lambda d: d["benchmarks"][1]["metrics"].pop("time_to_first_token_ms"),
         "benchmarks[1].metrics.time_to_first_token_ms.successful"),
        (lambda d: d["benchmarks"][2]["metrics"]["request_latency"]["successful"]["percentiles"].pop("p99"),
         "benchmarks[2].metrics.request_latency.successful.percentiles.p99"),
        (lambda d: d["benchmarks"][0]["config"].pop("strategy"), "benchmarks[0].config.strategy"),
        (lambda d: d["benchmarks"][0]["requests"]["successful"][3]["info"].pop("timings"),
         "benchmarks[0].requests.successful[3].info.timings"),
    ],
)  # fmt: skip
def test_a_missing_required_field_is_refused_by_name(raw, tmp_path, remove, field_name):
    doc = copy.deepcopy(raw)
    remove(doc)
    path = _write(tmp_path, doc)
    with pytest.raises(ImportFormatError) as caught:
        guidellm.parse(path)
    assert caught.value.field_name == field_name and caught.value.tool == "guidellm"
    assert str(path) in str(caught.value) and field_name in str(caught.value)


def test_wrong_types_empty_reports_and_older_schemas_are_refused(raw, tmp_path):
    doc = copy.deepcopy(raw)
    doc["benchmarks"][0]["metrics"]["inter_token_latency_ms"]["successful"]["mean"] = "fast"
    with pytest.raises(ImportFormatError, match="expected int or float, found str"):
        guidellm.parse(_write(tmp_path, doc))
    with pytest.raises(ImportFormatError, match="holds no benchmark"):
        guidellm.parse(_write(tmp_path, {**raw, "benchmarks": []}))
    with pytest.raises(ImportFormatError, match="schema version 1") as caught:
        guidellm.parse(_write(tmp_path, {**raw, "metadata": {**raw["metadata"], "version": 1}}))
    assert caught.value.field_name == "metadata.version"


def test_unknown_fields_of_a_newer_guidellm_import_with_a_warning(raw, runs, tmp_path):
    doc = copy.deepcopy(raw)
    doc["energy_report"] = {"joules": 1.0}
    doc["metadata"]["version"] = 3
    doc["benchmarks"][0]["metrics"]["time_to_second_token_ms"] = {"successful": {"mean": 1.0}}
    doc["benchmarks"][2]["requests"]["successful"][0]["kv_cache_hit"] = True
    again = guidellm.parse(_write(tmp_path, doc))
    warnings = " | ".join(again[0].warnings)
    for name in ("energy_report", "time_to_second_token_ms", "kv_cache_hit", "schema version 3"):
        assert name in warnings
    assert [r.aggregates for r in again] == [r.aggregates for r in runs]
    assert not runs[0].warnings, "the real 0.8.1 report has no unknown field"


def test_a_benchmark_without_successful_requests_gives_no_aggregates(raw, tmp_path):
    doc = copy.deepcopy(raw)
    doc["benchmarks"] = doc["benchmarks"][:1]
    doc["benchmarks"][0]["metrics"]["request_totals"]["successful"] = 0
    (run,) = guidellm.parse(_write(tmp_path, doc))
    assert run.aggregates == {} and any("no successful request" in w for w in run.warnings)


def test_rows_outside_the_measured_window_are_marked(raw, runs, tmp_path):
    """guidellm leaves warmup requests out of its metrics; the rows say which ones it counted."""
    assert all(run.requests["measured"].all() for run in runs), "the fixture ran without warmup or cooldown"
    doc = copy.deepcopy(raw)
    bench = doc["benchmarks"][0]
    ends = sorted(r["info"]["timings"]["request_end"] for r in bench["requests"]["successful"])
    bench["start_time"] = (ends[1] + ends[2]) / 2  # as if the first two requests were warmup
    rows = guidellm.parse(_write(tmp_path, doc))[0].requests
    assert (~rows["measured"]).sum() == 2
    assert rows.loc[~rows["measured"], "last_token_unix_s"].max() < bench["start_time"]
