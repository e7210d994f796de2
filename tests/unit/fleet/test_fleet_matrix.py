"""The fleet file: expansion (GitHub Actions matrix semantics, ``target`` as a key), validation, dry-run listing."""

from pathlib import Path

import pytest
import yaml

from benchlib.cli import main
from benchlib.config import SweepConfig
from benchlib.errors import ParameterError
from benchlib.fleet.matrix import expand, format_dry_run, load_fleet
from benchlib.records import atomic_write_json

ROOT = Path(__file__).resolve().parents[3]
SMOKE = yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text())


def _fleet(tmp_path: Path, content: dict, name: str = "fleet.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


TWO_TARGETS = {"cpu-a": {"platform": "cpu a"}, "cpu-b": {"platform": "cpu b"}}


def test_the_shipped_smoke_fleet_is_four_sweeps_with_the_run_ids_of_benchlib_sweep(tmp_path):
    fleet = load_fleet(ROOT / "params" / "fleet" / "smoke.yaml")
    assert fleet.targets == ("cpu-a", "cpu-b")
    assert [s.label for s in fleet.sweeps] == [
        "cpu-a · output_tokens=8", "cpu-b · output_tokens=8", "cpu-a · output_tokens=16", "cpu-b · output_tokens=16",
    ]  # fmt: skip
    assert len({s.run_id for s in fleet.sweeps}) == 4
    for sweep in fleet.sweeps:
        assert sweep.parameter_file == ROOT / "params" / "smoke.yaml"
        assert "output_dir" not in sweep.overrides
        # what run_sweep_notebook computes for the file, the overrides and the fleet's runs folder
        config = SweepConfig.from_mapping({**SMOKE, **sweep.overrides, "output_dir": str(tmp_path)})
        assert config.run_dir() == tmp_path / sweep.run_id
        assert config.workload.output_tokens == int(sweep.label.rsplit("=", 1)[1])


def test_exclude_and_include_change_the_sweeps_as_in_github_actions(tmp_path):
    path = _fleet(tmp_path, {
        "base": "params/smoke.yaml",
        "matrix": {"output_tokens": [8, 16], "repetitions": [1, 2]},
        "exclude": [{"target": "cpu-b", "repetitions": 2}],
        "include": [{"output_tokens": 16, "warmup": 0}, {"output_tokens": 32, "target": "cpu-a"}],
        "targets": TWO_TARGETS,
    })  # fmt: skip
    fleet = load_fleet(path)
    labels = [s.label for s in fleet.sweeps]
    assert len(labels) == 2 * 2 * 2 - 2 + 1
    assert not [s for s in fleet.sweeps if s.target == "cpu-b" and s.overrides["repetitions"] == 2]
    with_warmup = {s.label for s in fleet.sweeps if s.overrides.get("warmup") == 0}
    assert with_warmup == {
        "cpu-a · output_tokens=16, repetitions=1, warmup=0", "cpu-a · output_tokens=16, repetitions=2, warmup=0",
        "cpu-b · output_tokens=16, repetitions=1, warmup=0",
    }  # fmt: skip
    added = [s for s in fleet.sweeps if s.overrides.get("output_tokens") == 32]
    assert [s.label for s in added] == ["cpu-a · output_tokens=32"]
    assert "repetitions" not in added[0].overrides  # the base's value
    assert added[0].overrides["platform"] == "cpu a"


def test_expand_follows_the_github_actions_include_example():
    # https://docs.github.com/en/actions/using-jobs/using-a-matrix-for-your-jobs#example-expanding-configurations
    combos = expand(
        {"fruit": ["apple", "pear"], "animal": ["cat", "dog"]}, ["t"], [],
        [{"color": "green"}, {"color": "pink", "animal": "cat"}, {"fruit": "apple", "shape": "circle"},
         {"fruit": "banana"}, {"fruit": "banana", "animal": "cat"}],
    )  # fmt: skip
    assert [{k: v for k, v in c.items() if k != "target"} for c in combos] == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]


def test_every_problem_is_reported_at_once(tmp_path):
    path = _fleet(tmp_path, {
        "base": "params/smoke.yaml",
        "retries": 3,                                              # not a fleet key
        "matrix": {"output_token": [8], "threads": [1, -4]},       # unknown axis; a value the sweep refuses
        "targets": {"cpu-a": {"platform": "a", "powr": "auto"}},   # unknown parameter in a target
    })  # fmt: skip
    with pytest.raises(ParameterError) as caught:
        load_fleet(path)
    message = str(caught.value)
    assert "4 problem(s)" in message
    assert "unknown key(s) retries; a fleet file has: base, set, matrix, exclude, include, targets" in message
    assert "matrix: unknown axis output_token; valid axes (sweep parameters): " in message
    assert "targets: cpu-a: unknown parameter(s) powr" in message
    assert "sweep cpu-a · threads=-4: " in message and "threads" in message.split("sweep cpu-a · threads=-4: ")[1]
    assert "cpu-a · threads=1:" not in message  # a valid sweep is no problem


def test_an_unknown_axis_lists_the_valid_names(tmp_path):
    path = _fleet(tmp_path, {"base": "params/smoke.yaml", "matrix": {"ouptut_tokens": [8]}, "targets": TWO_TARGETS})
    with pytest.raises(ParameterError, match="unknown axis ouptut_tokens") as caught:
        load_fleet(path)
    listed = str(caught.value).split("valid axes (sweep parameters): ")[1].split(".\n")[0].rstrip(".").split(", ")
    assert set(listed) == set(SweepConfig.names()) - {"output_dir"}  # the runs folder is no fleet value


def test_empty_matrix_same_run_twice_and_fleet_values_that_belong_elsewhere_are_refused(tmp_path):
    with pytest.raises(ParameterError, match="matrix must be a non-empty mapping"):
        load_fleet(_fleet(tmp_path, {"base": "params/smoke.yaml", "matrix": {}, "targets": TWO_TARGETS}))
    same = {"base": "params/smoke.yaml", "matrix": {"output_tokens": [8]}, "targets": {"a": {}, "b": None}}
    with pytest.raises(ParameterError, match=r"sweeps a · output_tokens=8; b · output_tokens=8 are the same run"):
        load_fleet(_fleet(tmp_path, same))
    clash = {"base": {"profile": "smoke", "prompts": "tiny"}, "set": {"output_dir": "elsewhere"},
             "matrix": {"output_tokens": [8, 16], "threads": []},
             "exclude": [{"target": "cpu-c"}], "targets": {"cpu-a": {"output_tokens": 4}}}  # fmt: skip
    with pytest.raises(ParameterError) as caught:
        load_fleet(_fleet(tmp_path, clash))
    message = str(caught.value)
    assert "set: output_dir is not a fleet value" in message
    assert "matrix: axis threads must be a non-empty list" in message
    assert "targets: cpu-a sets the matrix axis output_tokens" in message
    assert "exclude: target cpu-c is not one of the targets: cpu-a" in message


def test_dry_run_lists_every_sweep_with_what_a_run_would_do(tmp_path, capsys):
    fleet = load_fleet(ROOT / "params" / "fleet" / "smoke.yaml")
    runs = tmp_path / "runs"
    first, second = fleet.sweeps[0], fleet.sweeps[1]
    atomic_write_json(runs / first.run_id / "run.json", {"status": "complete"})
    atomic_write_json(runs / second.run_id / "run.json", {"status": "interrupted"})
    lines = format_dry_run(fleet, runs).splitlines()
    assert lines[0].endswith(f"4 sweeps on 2 targets, runs in {runs}")
    rows = lines[3:]
    assert len(rows) == 4
    assert rows[0].split()[-1] == "complete" and first.run_id in rows[0] and rows[0].startswith("cpu-a")
    assert rows[1].endswith("interrupted -> resumes") and second.run_id in rows[1]
    assert all(row.endswith(" new") for row in rows[2:])
    assert main(["fleet", str(ROOT / "params/fleet/smoke.yaml"), "--dry-run", "--runs-dir", str(runs)]) == 0
    assert capsys.readouterr().out.splitlines()[3:] == rows
    assert not (runs / fleet.sweeps[2].run_id).exists()  # a dry run runs nothing


def test_the_command_reports_a_bad_fleet_file_as_one_error(tmp_path, capsys):
    path = _fleet(tmp_path, {"base": "params/nope.yaml", "matrix": {"output_tokens": [8]}})
    assert main(["fleet", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "2 problem(s)" in err and "parameter file params/nope.yaml not found" in err and "targets must be" in err


def test_a_sweep_already_complete_in_the_runs_folder_is_skipped_without_a_kernel(tmp_path):
    from benchlib.fleet.local import FleetStatus, format_outcomes, run_fleet_local

    fleet = load_fleet(ROOT / "params" / "fleet" / "smoke.yaml")
    fleet = type(fleet)(fleet.path, fleet.sweeps[:2], fleet.targets)
    for sweep in fleet.sweeps:
        atomic_write_json(tmp_path / sweep.run_id / "run.json", {"status": "complete"})
    outcomes = run_fleet_local(fleet, tmp_path, progress=False)
    assert [(o.status, o.run_dir, o.wall_s) for o in outcomes] == [
        (FleetStatus.SKIPPED, tmp_path / s.run_id, 0.0) for s in fleet.sweeps
    ]
    assert format_outcomes(outcomes, 0.5).splitlines()[-1] == "2 sweeps in 0.5 s: 0 complete, 2 skipped, 0 failed"


def test_a_base_file_may_name_an_output_dir_which_the_fleet_replaces(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump({**SMOKE, "output_dir": "somewhere/else"}))
    fleet = load_fleet(_fleet(tmp_path, {"base": "base.yaml", "matrix": {"output_tokens": [8]}, "targets": TWO_TARGETS}))
    assert fleet.sweeps[0].parameter_file == base  # relative to the fleet file
    assert all("output_dir" not in s.overrides for s in fleet.sweeps)
