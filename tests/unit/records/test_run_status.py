"""Run, step and fleet statuses: one enum each, whose values are the words on disk and in the fleet's table."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from benchlib.fleet.local import FleetStatus, outcome_of_run
from benchlib.records import RECORDED_STATUSES, RunDirectory, RunRecord, RunStatus, StepStatus, atomic_write_json


def test_the_values_are_the_words_run_json_has_always_held():
    assert [str(s) for s in RECORDED_STATUSES] == ["running", "complete", "failed", "interrupted"]
    assert RunStatus.PROCESS_GONE == "interrupted (process gone)" and RunStatus.MISSING == "missing"
    assert [str(s) for s in StepStatus] == ["complete", "aborted"]


def test_the_effective_status_is_a_run_status_whatever_the_folder_holds(tmp_path):
    store = RunDirectory(tmp_path / "run")
    assert store.effective_status() is RunStatus.MISSING
    atomic_write_json(store.run_file, {"status": "complete"})
    assert store.effective_status() is RunStatus.COMPLETE
    atomic_write_json(store.run_file, {"status": "paused"})
    assert store.effective_status() is RunStatus.UNKNOWN
    atomic_write_json(store.run_file, {"run_id": "x"})
    assert store.effective_status() is RunStatus.UNKNOWN


@pytest.mark.parametrize("status", ["interrupted (process gone)", "missing", "done"])
def test_a_record_refuses_a_status_run_json_never_holds_and_lists_the_valid_ones(status):
    with pytest.raises(ValidationError, match="valid: running, complete, failed, interrupted"):
        RunRecord.model_validate({"schema_version": 1, "run_id": "x", "status": status})


def test_a_record_reads_its_status_as_the_enum_and_writes_it_back_as_the_word():
    record = RunRecord.model_validate({"schema_version": 1, "run_id": "x", "status": "failed"})
    assert record.status is RunStatus.FAILED
    assert record.model_dump(mode="json")["status"] == "failed"
    assert RunRecord.model_json_schema()["properties"]["status"]["enum"] == ["running", "complete", "failed", "interrupted"]


def test_a_fleet_outcome_reads_back_as_its_kind():
    assert FleetStatus.of(FleetStatus.SKIPPED) is FleetStatus.SKIPPED
    assert FleetStatus.of(FleetStatus.FAILED.because("the server: gone")) is FleetStatus.FAILED
    assert FleetStatus.of("complete (kept the complete copy already there)") is FleetStatus.COMPLETE
    assert FleetStatus.of(FleetStatus.NOT_RUN.because("device a left the cluster")) is FleetStatus.NOT_RUN
    with pytest.raises(ValueError, match="valid: complete, skipped \\(already complete\\), failed, interrupted, not run"):
        FleetStatus.of("completed")
    assert outcome_of_run(RunStatus.COMPLETE) == "complete"
    assert outcome_of_run(RunStatus.PROCESS_GONE) == "failed: the run ended interrupted (process gone)"
