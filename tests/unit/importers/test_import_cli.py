"""``benchlib import`` on the tools' files: detection, run directories, idempotence, errors that name file, tool, field."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from benchlib.cli import main
from benchlib.importers.registry import importer_for, tool_choices

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "imports"


def imported(tmp_path: Path, *args: str) -> list[dict]:
    assert main(["import", *args, "--runs-dir", str(tmp_path / "runs")]) == 0
    return [json.loads(p.read_text()) for p in sorted((tmp_path / "runs").glob("*/run.json"))]


@pytest.mark.parametrize(
    ("fixture", "tool"),
    [("vllm/vllm_serve_detailed.json", "vllm"), ("vllm/vllm_serve_append.json", "vllm"),
     ("aiperf/profile_export_aiperf.json", "aiperf"), ("aiperf/profile_export.jsonl", "aiperf")],
)  # fmt: skip
def test_auto_recognises_each_tools_file(fixture, tool):
    assert importer_for(FIXTURES / fixture).name == tool


def test_a_detailed_vllm_file_imports_with_its_rows_priced_and_given_energy(tmp_path, capsys):
    (meta,) = imported(tmp_path, str(FIXTURES / "vllm/vllm_serve_detailed.json"), "--platform", "l4-vllm",
                       "--price-profile", "l4", "--power-w", "72")  # fmt: skip
    assert "imported:" in capsys.readouterr().out
    assert meta["kind"] == "imported" and meta["source"]["tool"] == "vllm" and meta["source"]["per_request"]
    run_dir = tmp_path / "runs" / meta["run_id"]
    rows = pd.read_parquet(run_dir / "requests.parquet")
    assert len(rows) == 24 and rows["error"].notna().sum() == 1  # the failed request is kept, and says why
    summary = meta["summary"]
    assert summary["cost"]["cost_per_million_usd"]["value"] > 0
    assert summary["energy"]["valid"] and summary["energy"]["mean_power_w"] == 72.0
    assert (run_dir / "source" / "vllm_serve_detailed.json").exists()


def test_an_appended_vllm_file_gives_one_run_per_rate_and_a_second_import_changes_nothing(tmp_path, capsys):
    first = imported(tmp_path, str(FIXTURES / "vllm/vllm_serve_append.json"), "--platform", "l4-vllm")
    assert len(first) == 2 and all(m["summary"]["aggregates_only"] for m in first)
    again = imported(tmp_path, str(FIXTURES / "vllm/vllm_serve_append.json"), "--platform", "l4-vllm")
    assert again == first
    assert capsys.readouterr().out.count("already imported (unchanged)") == 2


def test_aiperf_keeps_both_of_its_files(tmp_path):
    (meta,) = imported(tmp_path, str(FIXTURES / "aiperf/profile_export_aiperf.json"), "--platform", "h100")
    kept = {p.name for p in (tmp_path / "runs" / meta["run_id"] / "source").iterdir()}
    assert kept == {"profile_export_aiperf.json", "profile_export.jsonl"}


def test_bad_files_and_options_exit_2_and_say_what_to_fix(tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text((FIXTURES / "vllm/vllm_serve_append.json").read_text()[:300])
    assert main(["import", str(broken), "--tool", "vllm", "--platform", "x", "--runs-dir", str(tmp_path / "r")]) == 2
    assert f"cannot import {broken} as vllm output" in capsys.readouterr().err
    unknown = tmp_path / "notes.json"
    unknown.write_text(json.dumps({"hello": "world"}))
    assert main(["import", str(unknown), "--platform", "x", "--runs-dir", str(tmp_path / "r")]) == 2
    assert "no importer recognises it" in capsys.readouterr().err
    assert main(["import", str(unknown), "--tool", "lm-eval", "--platform", "x"]) == 2
    assert f"valid: {', '.join(tool_choices())}" in capsys.readouterr().err
    good = str(FIXTURES / "vllm/vllm_serve_append.json")
    assert main(["import", good, "--platform", "x", "--price-profile", "tpu-v9", "--runs-dir", str(tmp_path / "r")]) == 2
    assert "tpu-v9" in capsys.readouterr().err and not (tmp_path / "r").exists()


@pytest.mark.parametrize("missing", ["avg_ts", "build_commit", "n_gen"])
def test_auto_names_the_field_a_llama_bench_file_lacks(tmp_path, capsys, missing):
    tests = json.loads((FIXTURES / "llama-bench/smollm2-pp64-tg32.json").read_text())
    for test in tests:
        del test[missing]
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(tests))
    assert main(["import", str(cut), "--platform", "x", "--runs-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"as llama-bench output (field '{missing}')" in err and "no importer recognises" not in err
