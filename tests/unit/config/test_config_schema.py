"""``benchlib schema``: the JSON Schema of parameter files accepts every shipped file and refuses bad ones."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from benchlib.cli import main
from benchlib.config import SweepConfig
from benchlib.config.schema import parameters_schema, run_record_schema

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("path", sorted((ROOT / "params").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_parameter_file_matches_the_schema(path):
    jsonschema.validate(yaml.safe_load(path.read_text()), parameters_schema())


def test_the_schema_lists_every_parameter_with_its_section_and_meaning():
    properties = parameters_schema()["properties"]
    assert sorted(properties) == sorted(SweepConfig.names())
    assert properties["output_tokens"]["description"].startswith("[workload] Tokens generated per request")
    assert properties["onnx_precision"]["description"].startswith("[runtime: onnx]")
    assert properties["runtime"]["enum"] == ["llama.cpp", "http", "onnx"]


@pytest.mark.parametrize(
    "values, problem",
    [({"repetitons": 3}, "Additional properties"), ({"repetitions": "many"}, "not of type"),
     ({"concurrency": [1, "two"]}, "not of type"), ({"runtime": "tensorflow"}, "is not one of")],
)  # fmt: skip
def test_an_editor_flags_what_the_sweep_would_refuse(values, problem):
    with pytest.raises(jsonschema.ValidationError, match=problem):
        jsonschema.validate(values, parameters_schema())


def test_run_json_of_a_sweep_matches_the_run_record_schema(tmp_path):
    from benchlib.records import RunDirectory

    sample = {"schema_version": 1, "run_id": "x", "status": "complete", "summary": {"requests": 2, "tpot_s": {"n": 2, "median": 0.01}}}
    jsonschema.validate(sample, run_record_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**sample, "status": 3}, run_record_schema())
    stored = next((ROOT / "data" / "runs").glob("*/run.json"), None)
    if stored is not None:  # a run this checkout made (git-ignored), read as the report reads it
        jsonschema.validate(json.loads(stored.read_text()), run_record_schema())
        assert RunDirectory(stored.parent).read_record() is not None


def test_benchlib_schema_writes_the_three_files(tmp_path, capsys):
    assert main(["schema", "--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["evidence.schema.json", "run.schema.json", "sweep-parameters.schema.json"]
    assert str(tmp_path / "run.schema.json") in capsys.readouterr().out


def test_the_committed_schemas_are_what_benchlib_schema_writes(tmp_path):
    """params/schema/ is what editors read: it must not fall behind the code (run `benchlib schema` to refresh)."""
    main(["schema", "--out", str(tmp_path)])
    for written in tmp_path.iterdir():
        committed = ROOT / "params" / "schema" / written.name
        assert committed.exists() and committed.read_text() == written.read_text(), f"run `benchlib schema`: {written.name}"
