"""The llama-bench importer against files the real llama-bench wrote (tests/fixtures/imports/llama-bench/)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from benchlib.importers.base import METRICS, ImportedRun, ImportFormatError
from benchlib.importers.llama_bench import IMPORTER, detect, parse

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "imports" / "llama-bench"
PP_TG_JSON = FIXTURES / "smollm2-pp64-tg32.json"
PP_TG_JSONL = FIXTURES / "smollm2-pp64-tg32.jsonl"  # the same llama-bench run, written through -oe jsonl
THREADS_JSON = FIXTURES / "smollm2-t1-t2-pp64-tg32.json"
PG_JSONL = FIXTURES / "smollm2-pg32-16.jsonl"
ALL = [PP_TG_JSON, PP_TG_JSONL, THREADS_JSON, PG_JSONL]


def _tests(path: Path) -> list[dict]:
    """The file's test objects, read with nothing but the json module."""
    text = path.read_text()
    return json.loads(text) if text.lstrip().startswith("[") else [json.loads(x) for x in text.splitlines() if x]


def _run_of(runs: list[ImportedRun], test: dict) -> ImportedRun:
    """The run holding a given test object of the file (by its timing, which no two tests share)."""
    found = [r for r in runs if any(t["samples_ns"] == test["samples_ns"] for t in r.extra["tests"])]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_every_number_equals_what_the_file_states_to_the_last_digit(path):
    raw, runs = _tests(path), parse(path)
    assert sum(r.workload["tests"] for r in runs) == len(raw)
    for test in raw:
        run = _run_of(runs, test)
        kind = "pp" if test["n_gen"] == 0 else "tg" if test["n_prompt"] == 0 else "pg"
        if kind == "pg":
            continue  # converted to output tokens/s: test_a_pp_tg_test_is_output_throughput_of_its_own
        metric = "prefill_tps" if kind == "pp" else "decode_tps"
        agg = run.aggregates[metric]
        assert agg.mean == test["avg_ts"] and agg.std == test["stddev_ts"]  # exact, not approximate
        assert run.samples[metric] == test["samples_ts"]
        assert agg.n == len(test["samples_ts"]) == len(test["samples_ns"])
        assert agg.median == statistics.median(test["samples_ts"])
        assert (agg.min, agg.max) == (min(test["samples_ts"]), max(test["samples_ts"]))
        assert run.workload["repetitions"] == len(test["samples_ts"])
        assert run.workload["n_depth"] == test["n_depth"]
        assert run.workload["n_prompt" if kind == "pp" else "n_gen"] == test["n_prompt" if kind == "pp" else "n_gen"]
        if kind == "tg":  # seconds per token: the file's own times, consistent with its rates
            assert run.samples["tpot_s"] == [ns / 1e9 / test["n_gen"] for ns in test["samples_ns"]]
            assert run.samples["tpot_s"] == pytest.approx([1 / x for x in test["samples_ts"]], rel=1e-5)
            assert run.aggregates["tpot_s"].median == statistics.median(run.samples["tpot_s"])
            assert run.aggregates["tpot_s"].n == len(test["samples_ns"])


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_the_file_is_what_the_importer_assumes_of_llama_bench(path):
    """samples_ts = (n_prompt + n_gen) * 1e9 / samples_ns, avg_ts their mean (six decimals), stddev_ts with n - 1."""
    for test in _tests(path):
        tokens = test["n_prompt"] + test["n_gen"]
        assert test["samples_ts"] == pytest.approx([tokens * 1e9 / ns for ns in test["samples_ns"]], rel=1e-5)
        assert test["avg_ts"] == pytest.approx(statistics.mean(test["samples_ts"]), abs=2e-6 * test["avg_ts"])
        assert test["stddev_ts"] == pytest.approx(statistics.stdev(test["samples_ts"]), rel=1e-3, abs=1e-5)


def test_machine_model_and_version_come_from_the_file():
    raw = _tests(PP_TG_JSON)[0]
    (run,) = parse(PP_TG_JSON)
    assert run.tool == "llama-bench"
    assert run.tool_version == f"build {raw['build_number']} ({raw['build_commit']})"
    assert run.label == f"t={raw['n_threads']} pp64 tg32"
    assert run.machine["cpu"] == raw["cpu_info"] and run.machine["gpu"] == raw["gpu_info"]
    assert run.machine["backend"] == raw["backends"] and run.machine["threads"] == raw["n_threads"]
    for field in ("build_commit", "build_number", "flash_attn", "n_gpu_layers", "n_batch", "n_ubatch", "type_k"):
        assert run.machine[field] == raw[field]
    assert run.model == {
        "name": "SmolLM2-135M-Instruct.Q4_1", "filename": raw["model_filename"], "type": raw["model_type"],
        "size_bytes": raw["model_size"], "params": raw["model_n_params"],
    }  # fmt: skip
    assert "Q4_1" in run.model["type"]
    assert run.started_at == min(t["test_time"] for t in _tests(PP_TG_JSON))
    assert run.requests is None and not run.per_request  # aggregates and repetitions only
    assert run.output_tokens == sum(t["n_gen"] * len(t["samples_ns"]) for t in _tests(PP_TG_JSON))
    assert run.duration_s == pytest.approx(sum(sum(t["samples_ns"]) for t in _tests(PP_TG_JSON)) / 1e9)
    assert run.warnings == []


def test_every_metric_is_mapped_and_ttft_is_said_to_be_absent():
    (run,) = parse(PP_TG_JSON)
    assert set(run.aggregates) == {"prefill_tps", "decode_tps", "tpot_s"}
    assert {m.metric for m in run.mapping} == set(run.aggregates) <= set(METRICS)
    assert "ttft_s" not in run.aggregates
    tpot = next(m for m in run.mapping if m.metric == "tpot_s")
    assert "first token" in tpot.note and "ttft_s" in tpot.note and "samples_ns" in tpot.conversion


def test_jsonl_and_json_of_the_same_run_import_alike():
    (from_json,), (from_jsonl,) = parse(PP_TG_JSON), parse(PP_TG_JSONL)
    assert (from_json.extra.pop("format"), from_jsonl.extra.pop("format")) == ("json", "jsonl")
    assert from_json == from_jsonl


def test_one_run_per_thread_count():
    raw, runs = _tests(THREADS_JSON), parse(THREADS_JSON)
    assert sorted({t["n_threads"] for t in raw}) == [1, 2] and len(raw) == 4
    assert [r.label for r in runs] == ["t=1 pp64 tg32", "t=2 pp64 tg32"]
    assert [r.machine["threads"] for r in runs] == [1, 2]
    for run in runs:
        assert set(run.aggregates) == {"prefill_tps", "decode_tps", "tpot_s"}
        assert all(t["n_threads"] == run.machine["threads"] for t in raw if _run_of(runs, t) is run)


def test_a_pp_tg_test_is_output_throughput_of_its_own():
    (test,), runs = _tests(PG_JSONL), parse(PG_JSONL)
    (run,) = runs
    share = test["n_gen"] / (test["n_prompt"] + test["n_gen"])
    assert run.label.endswith("pp32+tg16")
    assert set(run.aggregates) == {"system_throughput_tps"}
    agg = run.aggregates["system_throughput_tps"]
    assert agg.mean == test["avg_ts"] * share and agg.std == test["stddev_ts"] * share
    assert run.samples["system_throughput_tps"] == [16 * 1e9 / ns for ns in test["samples_ns"]]
    assert run.samples["system_throughput_tps"] == pytest.approx([x * share for x in test["samples_ts"]], rel=1e-5)
    (mapping,) = run.mapping
    assert "n_gen / (n_prompt + n_gen)" in mapping.conversion and "ttft_s" in mapping.note
    assert run.extra["tests"][0]["avg_ts"] == test["avg_ts"]  # the tool's own rate is kept


def _write(tmp_path: Path, tests: list[dict], jsonl: bool = False) -> Path:
    path = tmp_path / ("edited.jsonl" if jsonl else "edited.json")
    path.write_text("\n".join(json.dumps(t) for t in tests) + "\n" if jsonl else json.dumps(tests, indent=2))
    return path


def test_a_newer_build_with_extra_fields_imports_with_a_warning(tmp_path):
    tests = [t | {"n_spec_draft": 4, "gpu_mem_mib": 0} for t in _tests(PP_TG_JSON)]
    (run,) = parse(_write(tmp_path, tests))
    (warning,) = run.warnings
    assert "gpu_mem_mib" in warning and "n_spec_draft" in warning
    assert run.extra["unknown_fields"] == {"gpu_mem_mib": 0, "n_spec_draft": 4}
    assert run.aggregates == parse(PP_TG_JSON)[0].aggregates


def test_an_older_build_without_samples_or_depth_keeps_its_aggregates(tmp_path):
    old = [{k: v for k, v in t.items() if k not in ("samples_ns", "samples_ts", "n_depth")} for t in _tests(PP_TG_JSON)]
    (run,) = parse(_write(tmp_path, old))
    tg = next(t for t in old if t["n_gen"])
    assert run.aggregates["decode_tps"].mean == tg["avg_ts"] and run.aggregates["decode_tps"].n is None
    assert run.aggregates["tpot_s"].mean == tg["avg_ns"] / 1e9 / tg["n_gen"]
    assert run.samples == {} and run.workload["repetitions"] is None and run.warnings == []


@pytest.mark.parametrize("field", ["avg_ts", "n_prompt", "n_gen", "stddev_ts", "build_commit"])
@pytest.mark.parametrize("jsonl", [False, True], ids=["json", "jsonl"])
def test_a_test_missing_a_required_field_is_refused(tmp_path, field, jsonl):
    tests = _tests(PP_TG_JSON)
    del tests[1][field]
    path = _write(tmp_path, tests, jsonl)
    with pytest.raises(ImportFormatError) as caught:
        parse(path)
    assert caught.value.field_name == field and caught.value.tool == "llama-bench"
    assert str(path) in str(caught.value) and repr(field) in str(caught.value)
    assert ("line 2" if jsonl else "test 2") in str(caught.value)


@pytest.mark.parametrize("value", ["fast", None, -1.0, True, [1.0]])
def test_a_rate_of_the_wrong_type_is_refused(tmp_path, value):
    tests = _tests(PP_TG_JSON)
    tests[0]["avg_ts"] = value
    with pytest.raises(ImportFormatError, match="avg_ts") as caught:
        parse(_write(tmp_path, tests))
    assert caught.value.field_name == "avg_ts"


@pytest.mark.parametrize(
    ("source", "kept"),
    # halving these two-line JSONL files ends on a line break: a complete one-test file, so cut inside line 2
    [(PP_TG_JSON, 1 / 2), (PP_TG_JSON, 3 / 4), (THREADS_JSON, 1 / 2), (PP_TG_JSONL, 3 / 4), (PG_JSONL, 1 / 2)],
    ids=["json-half", "json-3/4", "threads-half", "jsonl-3/4", "pg-jsonl-half"],
)
def test_a_cut_file_is_refused_naming_file_and_tool(tmp_path, source, kept):
    text = source.read_text()
    path = tmp_path / f"cut{source.suffix}"
    path.write_text(text[: int(len(text) * kept)])
    with pytest.raises(ImportFormatError, match="truncated") as caught:
        parse(path)
    assert str(path) in str(caught.value) and "llama-bench" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "empty"), ("[]", "no test"), ("| model | size |\n", "markdown"), ("[1, 2]", "expected a test object")],
)
def test_files_that_are_not_llama_bench_json_are_refused(tmp_path, text, problem):
    path = tmp_path / "other.json"
    path.write_text(text)
    with pytest.raises(ImportFormatError, match=problem):
        parse(path)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(ImportFormatError, match="cannot read"):
        parse(tmp_path / "absent.json")


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_detect_recognises_the_real_files_from_their_first_test(path):
    text = path.read_text()
    assert detect(text) and detect(text[: text.index("}") + 1])  # a long file's first 64 KiB holds a test


@pytest.mark.parametrize(
    "text",
    ["", "not json", '{"backend": "vllm", "mean_ttft_ms": 12.0}', '[{"avg_ts": 1.0}]', "| build_commit | avg_ts |"],
)
def test_detect_refuses_other_files_without_raising(text):
    assert not detect(text)


def test_the_registry_entry():
    assert IMPORTER.name == "llama-bench" and IMPORTER.parse is parse and IMPORTER.detect is detect
    assert "jsonl" in IMPORTER.formats.lower()
