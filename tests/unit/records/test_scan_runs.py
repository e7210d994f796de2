"""Damaged, foreign and empty run directories are named with a reason, never silently dropped or misread."""

from __future__ import annotations

import json

import pytest
from fakes import SPEC

from benchlib.analysis import report_runs, run_table, skipped_runs, write_summary
from benchlib.analysis.tables import load_reference
from benchlib.cli import main
from benchlib.config import SweepConfig
from benchlib.paths import reference_csv
from benchlib.records import RunDirectory, scan_runs
from benchlib.runtimes.registry import RUNTIMES
from benchlib.sweep import run_sweep



@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    """One good run (fake runtime, real engine) beside every kind of damaged one."""
    monkeypatch.setitem(RUNTIMES, "fake", SPEC)
    good = run_sweep(
        SweepConfig.from_mapping({"profile": "good", "runtime": "fake", "prompts": "tiny", "output_tokens": 3,
                                  "repetitions": 2, "warmup": 0, "power": "none", "output_dir": str(tmp_path)}),
        progress=False,
    )  # fmt: skip
    meta = good.meta

    def clone(name: str) -> RunDirectory:
        store = RunDirectory(tmp_path / name)
        store.path.mkdir()
        (store.path / "requests.parquet").write_bytes((good.run_dir / "requests.parquet").read_bytes())
        return store

    clone("truncated").run_file.write_text(json.dumps(meta)[:200])
    clone("future").write_record({**meta, "schema_version": 99})
    no_rows = clone("no-rows")
    no_rows.write_record(meta)
    no_rows.requests_file.unlink()
    empty = RunDirectory(tmp_path / "empty")
    empty.write_record({**meta, "status": "failed", "progress": {"completed": 0, "total": 2}})
    (tmp_path / "never-started").mkdir()
    (tmp_path / "never-started" / "sweep.ipynb").write_text("{}")
    gone = clone("gone")
    gone.write_record({**meta, "status": "running", "attempts": [{**meta["attempts"][0], "pid": 2**22 + 3}]})
    # killed (-9) in its first load step: the rows are only in requests.partial.jsonl, the last line cut
    killed = clone("killed")
    rows = killed.read_requests()
    killed.requests_file.unlink()
    lines = [json.dumps(row, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)) for row in rows.to_dict("records")]
    killed.partial_file.write_text("\n".join(lines) + '\n{"request_id": "cut', encoding="utf-8")
    killed.write_record({**meta, "status": "running", "attempts": [{**meta["attempts"][0], "pid": 2**22 + 5}]})
    return tmp_path


def test_every_skipped_directory_has_its_reason(runs_dir):
    scan = scan_runs(runs_dir)
    reasons = {s.run_id: s.reason for s in scan.skipped}
    assert "not valid JSON" in reasons["truncated"]
    assert "schema_version 99" in reasons["future"] and "upgrade benchlib" in reasons["future"]
    assert "requests.parquet and requests.partial.jsonl are missing" in reasons["no-rows"]
    assert "no run.json" in reasons["never-started"]
    statuses = {run.path.name: run.status for run in scan.runs}
    assert statuses["gone"] == "interrupted (process gone)" and statuses["empty"] == "failed"
    # issue 25, case 5: the rows of requests.partial.jsonl count; the run reads as interrupted, not skipped
    killed = next(run for run in scan.runs if run.path.name == "killed")
    assert killed.status == "interrupted (process gone)" and len(killed.requests) == 2


def test_the_report_builds_from_the_rest_and_names_what_it_left_out(runs_dir, tmp_path):
    report = report_runs(runs_dir)
    good = next(p.name for p in runs_dir.iterdir() if p.name.startswith("good-"))
    assert sorted(run.path.name for run in report.runs) == sorted(["gone", "killed", good])
    table = run_table(runs_dir)
    assert len(table) == 3 and set(table["status"]) == {"complete", "interrupted (process gone)"}
    skipped = skipped_runs(runs_dir)
    assert set(skipped["run"]) == {"truncated", "future", "no-rows", "never-started", "empty"}
    assert skipped.set_index("run").loc["empty", "reason"] == "no completed request (status: failed)"
    _, summary_md = write_summary(table, load_reference(reference_csv()), tmp_path / "figures", skipped)
    text = summary_md.read_text()
    assert "## Skipped run directories (5)" in text and "not valid JSON" in text


def test_benchlib_runs_lists_every_directory_with_its_status(runs_dir, capsys):
    assert main(["runs", "--runs-dir", str(runs_dir)]) == 0
    out = capsys.readouterr().out
    assert "interrupted (process gone)" in out and "skipped: run.json is not valid JSON" in out
    assert "2/2" in out  # requests done/planned of the good run
