"""The vLLM bench importer against files laid out as vllm/benchmarks/serve.py writes them (see the fixtures' README)."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from benchlib.importers import aiperf, vllm_bench
from benchlib.importers.base import ImportFormatError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "imports"
APPEND = FIXTURES / "vllm" / "vllm_serve_append.json"
DETAILED = FIXTURES / "vllm" / "vllm_serve_detailed.json"
STAT = re.compile(r"^(mean|median|std|p[0-9.]+)_(ttft|tpot|itl|e2el)_ms$")
METRIC = {"ttft": "ttft_s", "tpot": "tpot_s", "itl": "itl_s", "e2el": "e2e_s"}
FIELD = {"mean": "mean", "median": "median", "std": "std", "p90": "p90", "p95": "p95", "p99": "p99"}


def raw_results(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write(tmp_path: Path, obj: dict, name: str = "result.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return path


def test_an_appended_file_gives_one_run_per_result_labelled_by_rate():
    runs = vllm_bench.parse(APPEND)
    assert [r.label for r in runs] == ["rate 2.0", "rate 4.0"]
    assert [r.workload["request_rate"] for r in runs] == [2.0, 4.0]
    assert all(r.requests is None and "aggregates_only" in r.extra for r in runs)
    assert all(r.tool == "vllm" and r.warnings == [] for r in runs)


@pytest.mark.parametrize("path", [APPEND, DETAILED], ids=["append", "detailed"])
def test_every_mapped_number_is_the_files_value_after_the_stated_conversion(path):
    for raw, run in zip(raw_results(path), vllm_bench.parse(path), strict=True):
        checked = 0
        for key, value in raw.items():
            match = STAT.match(key)
            if not match:
                continue
            stat, attr = match.groups()
            metric = METRIC[attr]
            agg = run.aggregates[metric]
            assert agg.n == raw["completed"]
            if stat in FIELD:
                assert getattr(agg, FIELD[stat]) == value / 1000, key
            elif stat == "p50":
                assert agg.median == value / 1000, key
            else:
                assert run.extra["other_percentiles_s"][metric][stat] == value / 1000, key
            checked += 1
            assert any(key in m.tool_field and m.conversion == "ms -> s (/ 1000)" for m in run.mapping)
        assert checked >= 12
        assert run.aggregates["system_throughput_tps"].mean == raw["output_throughput"]
        assert run.aggregates["request_throughput_rps"].mean == raw["request_throughput"]
        assert run.duration_s == raw["duration"] and run.output_tokens == raw["total_output_tokens"]
        assert run.model == {"name": raw["model_id"], "tokenizer": raw["tokenizer_id"]}
        assert run.machine["backend"] == raw["backend"]
        assert run.workload["num_prompts"] == raw["num_prompts"]
        # the fixture is internally consistent, as serve.py computes it
        assert raw["output_throughput"] == pytest.approx(raw["total_output_tokens"] / raw["duration"], rel=1e-12)
        assert raw["request_throughput"] == pytest.approx(raw["completed"] / raw["duration"], rel=1e-12)


def test_started_at_is_the_date_written_after_the_run_minus_its_duration():
    raw = raw_results(DETAILED)[0]
    [run] = vllm_bench.parse(DETAILED)
    written = datetime.strptime(raw["date"], "%Y%m%d-%H%M%S")
    assert run.started_at == (written - timedelta(seconds=round(raw["duration"]))).isoformat()
    assert run.extra["result_written_local"] == written.isoformat()


def test_detailed_rows_agree_with_the_aggregates_they_came_from():
    raw = raw_results(DETAILED)[0]
    [run] = vllm_bench.parse(DETAILED)
    rows = run.requests
    assert len(rows) == raw["num_prompts"]
    ok = rows[rows["error"].isna()]
    assert len(ok) == raw["completed"] and len(rows) - len(ok) == raw["failed"]
    assert rows["output_tokens"].sum() == raw["total_output_tokens"]
    assert ok["prompt_tokens"].sum() == raw["total_input_tokens"]
    failed = rows[rows["error"].notna()]
    assert failed["ttft_s"].isna().all() and failed["tpot_s"].isna().all()
    for column, attr in (("ttft_s", "ttft"), ("e2e_s", "e2el")):
        values = ok[column].to_numpy()
        assert np.median(values) == pytest.approx(raw[f"median_{attr}_ms"] / 1000, rel=1e-12)
        assert np.mean(values) == pytest.approx(raw[f"mean_{attr}_ms"] / 1000, rel=1e-12)
        assert np.percentile(values, 99) == pytest.approx(raw[f"p99_{attr}_ms"] / 1000, rel=1e-12)
    tpot = ok.loc[ok["output_tokens"] > 1, "tpot_s"].to_numpy()
    assert np.median(tpot) == pytest.approx(raw["median_tpot_ms"] / 1000, rel=1e-12)
    assert np.std(tpot) == pytest.approx(raw["std_tpot_ms"] / 1000, rel=1e-9)
    assert np.allclose(ok["decode_tps"], 1 / ok["tpot_s"])
    gaps = np.concatenate(ok["itl_s"].to_numpy())
    assert np.percentile(gaps, 95) == pytest.approx(raw["p95_itl_ms"] / 1000, rel=1e-12)
    # benchlib's TPOT from the rows is (e2e - ttft) / (output - 1)
    first = ok.iloc[0]
    assert first["tpot_s"] == pytest.approx((first["e2e_s"] - first["ttft_s"]) / (first["output_tokens"] - 1))


def test_start_times_of_newer_versions_become_offsets_from_the_first_request(tmp_path):
    raw = raw_results(DETAILED)[0]
    raw["start_times"] = [1000.5 + 0.5 * i for i in range(len(raw["ttfts"]))]
    [run] = vllm_bench.parse(write(tmp_path, raw))
    assert run.requests["sent_offset_s"].tolist() == [0.5 * i for i in range(len(raw["ttfts"]))]
    assert run.warnings == []


def test_a_truncated_file_is_refused_naming_file_and_tool(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text(DETAILED.read_text()[:5000])
    with pytest.raises(ImportFormatError, match="truncated") as err:
        vllm_bench.parse(path)
    assert str(path) in str(err.value) and "vllm" in str(err.value)


@pytest.mark.parametrize(("drop", "field"), [
    (["completed"], "completed"),
    (["duration"], "duration"),
    ([k for k in raw_results(APPEND)[0] if "ttft" in k], "mean_ttft_ms"),
])
def test_a_missing_required_field_is_refused_naming_it(tmp_path, drop, field):
    raw = raw_results(APPEND)[0]
    for key in drop:
        del raw[key]
    with pytest.raises(ImportFormatError) as err:
        vllm_bench.parse(write(tmp_path, raw))
    assert err.value.field_name == field and err.value.tool == "vllm"


def test_per_request_lists_of_different_lengths_are_refused(tmp_path):
    raw = raw_results(DETAILED)[0]
    raw["output_lens"] = raw["output_lens"][:-1]
    with pytest.raises(ImportFormatError) as err:
        vllm_bench.parse(write(tmp_path, raw))
    assert err.value.field_name == "output_lens"


def test_unknown_fields_import_with_a_warning_naming_them(tmp_path):
    raw = raw_results(APPEND)[0]
    raw["spec_decode_acceptance_rate"] = 0.71
    raw["vllm_version"] = "0.11.0"  # a --metadata pair
    [run] = vllm_bench.parse(write(tmp_path, raw))
    assert len(run.warnings) == 1 and "spec_decode_acceptance_rate" in run.warnings[0]
    assert run.extra["unknown_fields"]["spec_decode_acceptance_rate"] == 0.71
    assert run.tool_version == "0.11.0"
    assert run.aggregates["ttft_s"].mean == raw["mean_ttft_ms"] / 1000


def test_detect_knows_its_own_files_and_not_aiperfs():
    for path in (APPEND, DETAILED):
        assert vllm_bench.detect(path.read_text()[:65536])
        assert not aiperf.detect(path.read_text()[:65536])
    for path in (FIXTURES / "aiperf").glob("profile_export*"):
        assert not vllm_bench.detect(path.read_text()[:65536])
    assert not vllm_bench.detect('{"build_commit": "abc", "avg_ts": 12.5}')
    assert not vllm_bench.detect("not json at all")
    assert vllm_bench.IMPORTER.name == "vllm" and vllm_bench.IMPORTER.parse is vllm_bench.parse


def test_tpot_note_says_the_definition_is_benchlibs():
    [run] = vllm_bench.parse(DETAILED)
    note = next(m.note for m in run.mapping if m.metric == "tpot_s")
    assert "as benchlib" in note and not math.isnan(run.aggregates["tpot_s"].mean)
