"""``RunRecord`` declares everything the sweep engine writes in ``run.json``, and reads it back without a loss.

Every write goes through :meth:`~benchlib.records.RunDirectory.write_record`, which validates the
record and refuses an undeclared key; readers go through the same model, which keeps undeclared keys
as extras (a newer benchlib's run still reads). These tests run a real sweep (the fake runtime, a
failed attempt then a resumed one), compare its ``run.json`` with the record, and check the writer's refusals.
"""

from __future__ import annotations

import json
import math
from typing import Any

import jsonschema
import pytest
from fakes import FAIL, SPEC
from pydantic import ValidationError

from benchlib.config import SweepConfig
from benchlib.config.schema import run_record_schema
from benchlib.errors import RuntimeFailure
from benchlib.records import RunDirectory, RunRecord, UndeclaredRunKeys, undeclared_keys
from benchlib.runtimes.registry import RUNTIMES
from benchlib.sweep import run_sweep


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory) -> dict[str, Any]:
    """``run.json`` of a run whose first attempt failed and whose second completed it, priced, its energy estimated."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(RUNTIMES, "fake", SPEC)
        config = SweepConfig.from_mapping(
            {"profile": "drift", "runtime": "fake", "prompts": "short", "output_tokens": 4, "repetitions": 2,
             "warmup": 1, "power": "estimate", "price_profile": "pi5",
             "output_dir": str(tmp_path_factory.mktemp("runs"))}
        )  # fmt: skip
        patch.setitem(FAIL, "error", RuntimeFailure)
        patch.setitem(FAIL, "after_requests", 3)
        with pytest.raises(RuntimeFailure):
            run_sweep(config, progress=False)
        FAIL["after_requests"] = None
        result = run_sweep(config, progress=False)
    meta = json.loads((result.run_dir / "run.json").read_text())
    assert meta["attempts"][0]["outcome"] == "failed" and "as the test asked" in meta["attempts"][0]["error"]
    assert meta["status"] == "complete" and "cost" in meta["summary"]
    assert meta["summary"]["energy"]["valid"] and meta["attempts"][1]["energy"]["kind"] == "estimated"
    return meta


def _paths(value: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a JSON value by its key path (``attempts.0.outcome``)."""
    if isinstance(value, dict) and value:
        return {p: v for key, item in value.items() for p, v in _paths(item, f"{prefix}{key}.").items()}
    if isinstance(value, list) and value:
        return {p: v for index, item in enumerate(value) for p, v in _paths(item, f"{prefix}{index}.").items()}
    return {prefix.rstrip("."): value}


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same JSON type (an int read back as a float is a change); NaN equals NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def test_a_real_run_json_round_trips_through_the_record_without_a_loss(resumed_run):
    dumped = RunRecord.model_validate(resumed_run).model_dump(mode="json", exclude_unset=True)
    original, back = _paths(resumed_run), _paths(dumped)
    assert sorted(set(original) - set(back)) == []
    changed = {path: (value, back[path]) for path, value in original.items() if not _same(value, back[path])}
    assert changed == {}


def test_every_key_the_engine_writes_is_declared_in_the_record(resumed_run):
    undeclared = undeclared_keys(RunRecord.model_validate(resumed_run))
    assert not undeclared, f"run.json keys RunRecord does not declare: {undeclared}"


def test_a_real_run_json_matches_the_schema_benchlib_schema_writes(resumed_run):
    jsonschema.validate(resumed_run, run_record_schema())


def test_the_writer_refuses_a_key_the_record_does_not_declare_and_writes_nothing(resumed_run, tmp_path):
    store = RunDirectory(tmp_path / "run")
    store.path.mkdir()
    attempts = [{**resumed_run["attempts"][0], "note": "undeclared"}, *resumed_run["attempts"][1:]]
    with pytest.raises(UndeclaredRunKeys, match=r"attempts\.0\.note.*benchlib/records/record\.py"):
        store.write_record({**resumed_run, "attempts": attempts})
    with pytest.raises(UndeclaredRunKeys, match=r"^run.json keys RunRecord does not declare: colour;"):
        store.write_record({**resumed_run, "colour": "blue"})
    assert not store.exists()


def test_the_writer_refuses_a_status_run_json_does_not_hold(resumed_run, tmp_path):
    store = RunDirectory(tmp_path / "run")
    store.path.mkdir()
    with pytest.raises(ValidationError, match="'skipped' is not a status run.json holds here"):
        store.write_record({**resumed_run, "status": "skipped"})
    assert not store.exists()


def test_what_the_writer_writes_is_what_was_read(resumed_run, tmp_path):
    store = RunDirectory(tmp_path / "run")
    store.path.mkdir()
    store.write_record(RunRecord.model_validate(resumed_run))
    written, original = _paths(store.read_meta()), _paths(resumed_run)
    assert written.keys() == original.keys()
    assert {path: value for path, value in original.items() if not _same(value, written[path])} == {}
