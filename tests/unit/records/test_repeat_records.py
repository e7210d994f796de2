"""``condition_id`` and ``repeat_index`` in ``run.json``: read back through RunRecord (older runs included),
grouped by condition, listed by ``benchlib runs``, and described by ``benchlib schema``."""

from __future__ import annotations

import pytest
from fakes import SPEC

from benchlib.cli import main
from benchlib.config import SweepConfig
from benchlib.config.schema import parameters_schema, run_record_schema
from benchlib.records import REPEATS_MAX, RunDirectory, RunRecord, atomic_write_json, runs_by_condition, scan_runs
from benchlib.records.listing import LISTING_COLUMNS, list_runs
from benchlib.runtimes.registry import RUNTIMES
from benchlib.sweep import run_sweep


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """Two repeats of one condition, one run of another, and a run written before repeats existed (the tests
    only read them: made once for the module)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(RUNTIMES, "fake", SPEC)
        return _runs(tmp_path_factory.mktemp("runs"))


def _runs(tmp_path):
    def config(**values) -> SweepConfig:
        return SweepConfig.from_mapping({"profile": "records", "runtime": "fake", "prompts": "tiny", "output_tokens": 3,
                                         "repetitions": 1, "warmup": 0, "power": "none", "output_dir": str(tmp_path),
                                         **values})  # fmt: skip

    repeated = config(repeats=2)
    for index in (2, 1):  # the order they ran in does not matter
        run_sweep(repeated.for_repeat(index), progress=False)
    run_sweep(config(output_tokens=4), progress=False)
    older = RunDirectory(tmp_path / "older-run")
    meta = RunDirectory(config(output_tokens=4).run_dir()).read_meta()
    # as a benchlib from before repeats wrote it (this benchlib's writer would add the condition id)
    atomic_write_json(older.run_file, {key: value for key, value in meta.items() if key not in ("condition_id", "repeat_index")}
                      | {"run_id": "older-run"})  # fmt: skip
    (older.path / "requests.parquet").write_bytes((config(output_tokens=4).run_dir() / "requests.parquet").read_bytes())
    return tmp_path, repeated.condition_id()


def test_a_run_record_reads_its_condition_and_repeat(runs_dir):
    root, condition = runs_dir
    record = RunDirectory(root / f"{condition}-r2").read_record()
    assert (record.run_id, record.condition_id, record.repeat_index) == (f"{condition}-r2", condition, 2)
    dumped = RunRecord.model_validate(record.model_dump())
    assert (dumped.condition_id, dumped.repeat_index) == (condition, 2)


def test_a_run_from_before_repeats_is_repeat_1_of_its_own_condition(runs_dir):
    root, _ = runs_dir
    record = RunDirectory(root / "older-run").read_record()
    assert "condition_id" not in RunDirectory(root / "older-run").read_meta()
    assert (record.condition_id, record.repeat_index) == ("older-run", 1)
    minimal = RunRecord.model_validate({"schema_version": 1, "run_id": "x", "status": "complete"})
    assert (minimal.condition_id, minimal.repeat_index) == ("x", 1)


def test_runs_are_grouped_by_condition_in_repeat_order(runs_dir):
    root, condition = runs_dir
    groups = runs_by_condition(scan_runs(root).runs)
    assert len(groups) == 3 and "older-run" in groups
    assert [run.run_id for run in groups[condition]] == [condition, f"{condition}-r2"]
    assert all(len(runs) == 1 for key, runs in groups.items() if key != condition)


def test_benchlib_runs_lists_the_condition_and_repeat_of_every_run(runs_dir, capsys):
    root, condition = runs_dir
    assert LISTING_COLUMNS[:3] == ("run", "condition", "repeat")
    rows = {row["run"]: row for row in list_runs(root)}
    assert (rows[f"{condition}-r2"]["condition"], rows[f"{condition}-r2"]["repeat"]) == (condition, 2)
    assert (rows[condition]["condition"], rows[condition]["repeat"]) == (condition, 1)
    assert (rows["older-run"]["condition"], rows["older-run"]["repeat"]) == ("older-run", 1)
    assert main(["runs", "--runs-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["run", "condition", "repeat"]
    line = next(line for line in out.splitlines() if line.startswith(f"{condition}-r2"))
    assert line.split()[1:3] == [condition, "2"]


def test_the_schemas_describe_repeats_and_the_condition():
    run = run_record_schema()["properties"]
    assert run["condition_id"]["type"] == "string" and "repeat" in run["condition_id"]["description"]
    assert run["repeat_index"]["minimum"] == 1
    repeats = parameters_schema()["properties"]["repeats"]
    assert (repeats["minimum"], repeats["maximum"], repeats["default"]) == (1, REPEATS_MAX, 1)
    assert repeats["description"].startswith("[run] Independent runs of the sweep")
