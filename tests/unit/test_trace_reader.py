"""Reading recorded traffic traces: the public layouts, trace_columns, sorting, skipping, cutting, and
one clear message for each thing a trace or its parameters can get wrong; the shipped synthetic example."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchlib.errors import ParameterError
from benchlib.traces import LAYOUTS, TRACE_FIELDS, Trace, TraceRequest, read_trace
from benchlib.traces.example import EXAMPLE_SEED, main as example_main

SHIPPED_EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "traces" / "example-synthetic.csv"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _csv(tmp_path: Path, header: str, *rows: str, name: str = "trace.csv") -> Path:
    return _write(tmp_path / name, "\n".join((header, *rows)) + "\n")


def _times(trace: Trace) -> list[float]:
    return [request.arrival_s for request in trace.requests]


def _burstgpt(tmp_path: Path, *rows: str) -> Path:
    return _csv(tmp_path, "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type", *rows)


def _simple(tmp_path: Path, *rows: str) -> Path:
    return _csv(tmp_path, "t,in,out", *rows)


SIMPLE = {"arrival_s": "t", "prompt_tokens": "in", "output_tokens": "out"}


# ---- layouts -------------------------------------------------------------------------------------------------


def test_the_public_layouts_map_every_field():
    assert TRACE_FIELDS == ("arrival_s", "prompt_tokens", "output_tokens")
    assert set(LAYOUTS) == {"azure", "burstgpt", "mooncake"}
    assert all(set(layout) == set(TRACE_FIELDS) for layout in LAYOUTS.values())


def test_azure_datetimes_with_seven_fractional_digits_give_seconds(tmp_path):
    path = _csv(tmp_path, "TIMESTAMP,ContextTokens,GeneratedTokens",
                "2023-11-16 18:15:46.6805900,374,44",
                "2023-11-16 18:15:50.9951690,396,109",
                "2023-11-16 18:16:00.0000001,91,16")  # fmt: skip
    trace = read_trace(path)
    assert trace.layout == "azure"
    assert _times(trace) == pytest.approx([0.0, 4.314579, 13.3194101], abs=1e-6)
    assert trace.requests[1] == TraceRequest(arrival_s=pytest.approx(4.314579), prompt_tokens=396,
                                             output_tokens=109, source_row=2)  # fmt: skip
    assert trace.notes == ()


def test_azure_2024_datetimes_with_a_utc_offset(tmp_path):
    path = _csv(tmp_path, "TIMESTAMP,ContextTokens,GeneratedTokens",
                "2024-05-10 00:00:00.009930+00:00,100,10", "2024-05-10 00:00:02.509930+00:00,200,20")  # fmt: skip
    assert _times(read_trace(path)) == pytest.approx([0.0, 2.5])


def test_burstgpt_seconds(tmp_path):
    path = _burstgpt(tmp_path, "5,ChatGPT,472,18,490,Conversation log", "45,GPT-4,1087,230,1317,API log")
    trace = read_trace(path)
    assert trace.layout == "burstgpt"
    assert _times(trace) == [0.0, 40.0]
    assert [(r.prompt_tokens, r.output_tokens) for r in trace.requests] == [(472, 18), (1087, 230)]


def test_mooncake_jsonl_milliseconds(tmp_path):
    lines = [{"timestamp": 0, "input_length": 6755, "output_length": 500, "hash_ids": [0, 1, 2]},
             {"timestamp": 3052, "input_length": 2287, "output_length": 316, "hash_ids": [0, 42]}]  # fmt: skip
    for suffix in (".jsonl", ".ndjson"):
        path = _write(tmp_path / f"mooncake{suffix}", "\n".join(json.dumps(line) for line in lines) + "\n\n")
        trace = read_trace(path)
        assert trace.layout == "mooncake"
        assert _times(trace) == pytest.approx([0.0, 3.052])
        assert [r.source_row for r in trace.requests] == [1, 2]


def test_trace_columns_in_milliseconds(tmp_path):
    path = _simple(tmp_path, "1000,10,5", "1500,20,6", "3000,30,7")
    trace = read_trace(path, columns={**SIMPLE, "time_unit": "ms"})
    assert trace.layout == "columns"
    assert _times(trace) == pytest.approx([0.0, 0.5, 2.0])
    assert [r.prompt_tokens for r in trace.requests] == [10, 20, 30]


def test_trace_columns_default_to_seconds_and_win_over_detection(tmp_path):
    path = _burstgpt(tmp_path, "5,ChatGPT,472,18,490,Conversation log", "7,ChatGPT,10,20,30,API log")
    columns = {"arrival_s": "Timestamp", "prompt_tokens": "Total tokens", "output_tokens": "Response tokens"}
    trace = read_trace(path, columns=columns)
    assert trace.layout == "columns"
    assert _times(trace) == [0.0, 2.0]
    assert [r.prompt_tokens for r in trace.requests] == [490, 30]


def test_trace_columns_in_microseconds_and_datetimes(tmp_path):
    path = _simple(tmp_path, "2000000,10,5", "2250000,20,6")
    assert _times(read_trace(path, columns={**SIMPLE, "time_unit": "us"})) == pytest.approx([0.0, 0.25])
    path = _simple(tmp_path, "2024-01-01T12:00:00Z,10,5", "2024-01-01T12:01:00.5Z,20,6")
    assert _times(read_trace(path, columns={**SIMPLE, "time_unit": "datetime"})) == pytest.approx([0.0, 60.5])


# ---- speedup, max_requests, sorting, skipping ----------------------------------------------------------------


def test_speedup_divides_the_times(tmp_path):
    path = _simple(tmp_path, "10,1,1", "12,1,1", "20,1,1")
    trace = read_trace(path, columns=SIMPLE, speedup=2.0)
    assert _times(trace) == [0.0, 1.0, 5.0]
    assert trace.speedup == 2.0
    assert trace.duration_s == 5.0
    assert trace.mean_rate_rps == pytest.approx(2 / 5.0)


def test_max_requests_keeps_the_first_after_sorting_and_says_so(tmp_path):
    path = _simple(tmp_path, "3,1,1", "1,2,1", "2,3,1", "4,4,1")
    trace = read_trace(path, columns=SIMPLE, max_requests=2)
    assert [r.prompt_tokens for r in trace.requests] == [2, 3]
    assert any("first 2 of 4 requests" in note for note in trace.notes)
    assert len(read_trace(path, columns=SIMPLE, max_requests=0).requests) == 4
    assert not any("max_requests" in n for n in read_trace(path, columns=SIMPLE, max_requests=10).notes)


def test_unsorted_rows_are_sorted_stably_with_a_note(tmp_path):
    path = _simple(tmp_path, "5,1,1", "2,2,1", "5,3,1", "1,4,1", "6,5,1")
    trace = read_trace(path, columns=SIMPLE)
    assert [r.prompt_tokens for r in trace.requests] == [4, 2, 1, 3, 5]
    assert [r.source_row for r in trace.requests] == [4, 2, 1, 3, 5]
    assert _times(trace) == [0.0, 1.0, 4.0, 4.0, 5.0]
    assert len(trace.notes) == 1
    assert "2 of 5 rows were out of order" in trace.notes[0]


def test_sorted_rows_with_equal_times_need_no_note(tmp_path):
    assert read_trace(_simple(tmp_path, "1,1,1", "1,2,1", "2,3,1"), columns=SIMPLE).notes == ()


def test_zero_output_rows_are_skipped_with_a_note(tmp_path):
    path = _burstgpt(tmp_path, "5,ChatGPT,100,0,100,API log", "6,ChatGPT,100,20,120,API log",
                     "9,ChatGPT,50,0,50,API log", "10,GPT-4,100,30,130,API log")  # fmt: skip
    trace = read_trace(path)
    assert [r.source_row for r in trace.requests] == [2, 4]
    assert _times(trace) == [0.0, 4.0]  # shifted to the first kept request
    assert trace.notes == ("Skipped 2 of 4 rows with 0 output tokens (failed requests).",)


def test_only_zero_output_rows_is_an_error(tmp_path):
    path = _burstgpt(tmp_path, "5,ChatGPT,100,0,100,API log", "6,ChatGPT,100,0,100,API log")
    with pytest.raises(ParameterError, match="every request has 0 output tokens"):
        read_trace(path)


def test_to_record_is_json_able(tmp_path):
    path = _simple(tmp_path, "3,1,1", "1,1,0", "0,1,1", "2,1,1")
    record = read_trace(path, columns=SIMPLE, speedup=2.0, max_requests=2).to_record()
    assert json.loads(json.dumps(record)) == record
    assert set(record) == {"path", "layout", "requests", "duration_s", "mean_rate_rps", "speedup", "notes"}
    assert (record["layout"], record["requests"], record["duration_s"], record["speedup"]) == ("columns", 2, 1.0, 2.0)
    assert len(record["notes"]) == 3


def test_a_single_request_has_no_duration_or_rate(tmp_path):
    trace = read_trace(_simple(tmp_path, "7,1,1"), columns=SIMPLE)
    assert (_times(trace), trace.duration_s, trace.mean_rate_rps) == ([0.0], 0.0, 0.0)


# ---- errors --------------------------------------------------------------------------------------------------


def _error(path: Path, **kwargs) -> str:
    with pytest.raises(ParameterError) as caught:
        read_trace(path, **kwargs)
    return str(caught.value)


def test_a_missing_file(tmp_path):
    message = _error(tmp_path / "nowhere.csv")
    assert "nowhere.csv does not exist" in message


def test_an_unsupported_extension_lists_the_valid_ones(tmp_path):
    message = _error(_write(tmp_path / "trace.parquet", "x"))
    assert "'.parquet'" in message
    assert ".csv, .jsonl, .ndjson" in message


@pytest.mark.parametrize(("name", "text"), [("empty.csv", ""), ("header.csv", "t,in,out\n"), ("blank.jsonl", "\n")])
def test_an_empty_trace(tmp_path, name, text):
    assert "is empty" in _error(_write(tmp_path / name, text))


def test_missing_columns_name_them_the_columns_found_and_the_layouts(tmp_path):
    message = _error(_csv(tmp_path, "TIMESTAMP,ContextTokens,Tokens", "2023-11-16 18:15:46.6805900,1,1"))
    assert "missing columns 'GeneratedTokens'" in message
    assert "columns found: 'TIMESTAMP', 'ContextTokens', 'Tokens'" in message
    for name, layout in LAYOUTS.items():
        assert name in message and all(column in message for column in layout.values())
    assert "Set trace_columns" in message


def test_trace_columns_naming_absent_columns(tmp_path):
    message = _error(_simple(tmp_path, "1,1,1"), columns={**SIMPLE, "output_tokens": "completion"})
    assert "'completion'" in message
    assert "columns found: 't', 'in', 'out'" in message


def test_unknown_trace_columns_keys_list_the_valid_ones(tmp_path):
    message = _error(_simple(tmp_path, "1,1,1"), columns={**SIMPLE, "unit": "ms"})
    assert "unknown keys 'unit'" in message
    assert "Valid keys: arrival_s, prompt_tokens, output_tokens, time_unit" in message


def test_incomplete_trace_columns_and_a_bad_time_unit(tmp_path):
    path = _simple(tmp_path, "1,1,1")
    assert "no column name for output_tokens" in _error(path, columns={"arrival_s": "t", "prompt_tokens": "in"})
    assert "no column name for output_tokens" in _error(path, columns={**SIMPLE, "output_tokens": 3})
    message = _error(path, columns={**SIMPLE, "time_unit": "minutes"})
    assert "time_unit must be one of s, ms, us, datetime" in message


@pytest.mark.parametrize(("row", "expected"), [
    ("2,abc,1", "data row 2: prompt_tokens (column 'in') is 'abc', not a number"),
    ("2,,1", "data row 2: prompt_tokens (column 'in') is missing"),
    ("x,1,1", "data row 2: arrival_s (column 't') is 'x', not a number"),
    ("2,1.5,1", "data row 2: prompt_tokens (column 'in') is '1.5'; it must be a whole number"),
])
def test_non_numeric_or_missing_values_name_the_row(tmp_path, row, expected):
    assert expected in _error(_simple(tmp_path, "1,1,1", row, "3,1,1"), columns=SIMPLE)


def test_an_unreadable_datetime_names_the_row(tmp_path):
    path = _csv(tmp_path, "TIMESTAMP,ContextTokens,GeneratedTokens",
                "2023-11-16 18:15:46.6805900,1,1", "yesterday,1,1")  # fmt: skip
    assert "data row 2: arrival_s (column 'TIMESTAMP') is 'yesterday', not a date-time" in _error(path)


def test_a_missing_jsonl_value_names_the_row(tmp_path):
    path = _write(tmp_path / "t.jsonl", '{"timestamp": 0, "input_length": 5, "output_length": 1}\n'
                                        '{"timestamp": 10, "output_length": 1}\n')  # fmt: skip
    assert "data row 2: prompt_tokens (column 'input_length') is missing" in _error(path)


def test_invalid_jsonl_names_the_line(tmp_path):
    path = _write(tmp_path / "t.jsonl", '{"timestamp": 0, "input_length": 5, "output_length": 1}\n{"timestamp": \n')
    assert "line 2 is not valid JSON" in _error(path)


def test_negative_arrival_times_are_refused_naming_the_first_bad_row(tmp_path):
    message = _error(_simple(tmp_path, "0,1,1", "-2,1,1", "-1,1,1"), columns=SIMPLE)
    assert "data row 2: arrival_s (column 't') is '-2', a negative time (2 rows in all)" in message
    assert "must be >= 0" in message


@pytest.mark.parametrize(("row", "expected"), [
    ("2,0,1", "data row 2: prompt_tokens (column 'in') is '0'; it must be a whole number >= 1"),
    ("2,1,-3", "data row 2: output_tokens (column 'out') is '-3'; it must be a whole number >= 0"),
])
def test_too_small_token_counts_name_the_row(tmp_path, row, expected):
    assert expected in _error(_simple(tmp_path, "1,1,1", row), columns=SIMPLE)


@pytest.mark.parametrize("speedup", [0, -1.0, float("nan"), float("inf"), "2"])
def test_speedup_must_be_positive(tmp_path, speedup):
    assert "speedup must be a number > 0" in _error(_simple(tmp_path, "1,1,1"), columns=SIMPLE, speedup=speedup)


@pytest.mark.parametrize("max_requests", [-1, 1.5, True])
def test_max_requests_must_be_a_count(tmp_path, max_requests):
    message = _error(_simple(tmp_path, "1,1,1"), columns=SIMPLE, max_requests=max_requests)
    assert "max_requests must be a whole number >= 0" in message


# ---- the shipped synthetic example ---------------------------------------------------------------------------


def test_the_generator_reproduces_the_shipped_example_byte_for_byte(tmp_path, capsys):
    out = tmp_path / "example.csv"
    assert example_main(["--out", str(out), "--seed", str(EXAMPLE_SEED)]) == 0
    assert out.read_bytes() == SHIPPED_EXAMPLE.read_bytes()
    assert example_main(["--out", str(tmp_path / "default.csv")]) == 0
    assert (tmp_path / "default.csv").read_bytes() == SHIPPED_EXAMPLE.read_bytes()
    assert "synthetic" in capsys.readouterr().out


def test_another_seed_gives_another_trace(tmp_path):
    example_main(["--out", str(tmp_path / "other.csv"), "--seed", "1"])
    assert (tmp_path / "other.csv").read_bytes() != SHIPPED_EXAMPLE.read_bytes()


def test_the_shipped_example_reads_as_burstgpt_within_its_ranges():
    trace = read_trace(SHIPPED_EXAMPLE)
    assert trace.layout == "burstgpt"
    assert trace.notes == ()
    assert 100 <= len(trace.requests) <= 140
    assert 90 <= trace.duration_s <= 150
    assert 0.7 <= trace.mean_rate_rps <= 1.3
    assert all(16 <= r.prompt_tokens <= 400 and 8 <= r.output_tokens <= 128 for r in trace.requests)
    gaps_s = [b - a for a, b in zip(_times(trace), _times(trace)[1:])]
    assert min(gaps_s) < 0.2 < 3.0 < max(gaps_s)  # bursts and calm stretches
