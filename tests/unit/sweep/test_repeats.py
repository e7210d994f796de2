"""Repeats of a sweep: the ``repeats`` parameter and ``--repeat``, the run id of each repeat, and the runner's
lifecycle (complete repeats reused, a failed one resumed, the others kept), on the fast fake runtime.

The runner's kernels are replaced by the engine run in process (``run_one``); the real path, each repeat in a
papermill kernel of its own, is tests/integration/test_repeats.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fakes import FAIL, SPEC

from benchlib.cli import main, run_sweep_repeats
from benchlib.config import SweepConfig
from benchlib.errors import ParameterError, RuntimeFailure
from benchlib.fleet.matrix import load_fleet
from benchlib.records import REPEATS_MAX, RunDirectory, repeat_run_id
from benchlib.runtimes.registry import RUNTIMES
from benchlib.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[3]
RANGE = f"must be a whole number from 1 to {REPEATS_MAX}"


@pytest.fixture(autouse=True)
def fake_runtime(monkeypatch):
    monkeypatch.setitem(RUNTIMES, "fake", SPEC)
    FAIL["after_requests"] = None
    FAIL["error"] = RuntimeFailure


def _values(tmp_path, **values) -> dict:
    return {"profile": "repeats", "runtime": "fake", "prompts": "tiny", "output_tokens": 3, "repetitions": 2,
            "warmup": 0, "power": "none", "output_dir": str(tmp_path), **values}  # fmt: skip


def _config(tmp_path, **values) -> SweepConfig:
    return SweepConfig.from_mapping(_values(tmp_path, **values))


@pytest.mark.parametrize("bad", [0, -1, "x", "2", 1.5, True, REPEATS_MAX + 1, None])
def test_a_bad_repeat_count_is_one_message_naming_the_valid_range(tmp_path, bad):
    with pytest.raises(ParameterError) as error:
        _config(tmp_path, repeats=bad)
    assert str(error.value) == f"Parameter repeats {RANGE} (independent runs of the sweep), got {bad!r}."


def test_repeats_leave_the_run_id_as_it_was_and_number_the_later_repeats(tmp_path):
    one = _config(tmp_path)
    three = _config(tmp_path, repeats=3)
    assert one.run.repeats == 1 and one.repeat_index == 1
    assert "repeats" not in one.identity()  # how often is not what: the condition id ignores it
    assert three.condition_id() == one.condition_id() == one.run_id() == three.run_id()
    assert [three.for_repeat(k).run_id() for k in (1, 2, 3)] == [
        one.run_id(), f"{one.run_id()}-r2", f"{one.run_id()}-r3"]  # fmt: skip
    assert three.for_repeat(2).condition_id() == one.run_id()
    assert three.for_repeat(3).run_dir() == tmp_path / f"{one.run_id()}-r3"
    assert repeat_run_id("c", 1) == "c" and repeat_run_id("c", 12) == "c-r12"
    with pytest.raises(ValueError):
        repeat_run_id("c", 0)


@pytest.mark.parametrize("index", [0, 4, "2"])
def test_a_repeat_outside_the_count_is_refused(tmp_path, index):
    with pytest.raises(ParameterError, match=rf"Repeat index must be a whole number from 1 to 3 \(repeats: 3\), got {index!r}"):
        _config(tmp_path, repeats=3).for_repeat(index)


def test_each_repeat_writes_its_condition_and_index_into_run_json(tmp_path):
    config = _config(tmp_path, repeats=2)
    first = run_sweep(config.for_repeat(1), progress=False)
    second = run_sweep(config.for_repeat(2), progress=False)
    records = [RunDirectory(r.run_dir).read_record() for r in (first, second)]
    assert [r.run_id for r in records] == [config.run_id(), f"{config.run_id()}-r2"]
    assert {r.condition_id for r in records} == {config.condition_id()}
    assert [r.repeat_index for r in records] == [1, 2]
    assert records[1].parameters["repeats"] == 2 and records[1].status == "complete"
    assert first.run_dir != second.run_dir and len(second.requests) == 2


def _in_process(parameter_file, overrides, repeat_index, **_):
    """What run_sweep_notebook does for one repeat, without a kernel: the engine, in this process."""
    return run_sweep(SweepConfig.from_mapping(overrides).for_repeat(repeat_index), progress=False).run_dir


def test_the_runner_measures_every_repeat_and_reuses_complete_ones(tmp_path, capsys):
    run_dirs = run_sweep_repeats(None, _values(tmp_path), repeats=2, run_one=_in_process)
    condition = _config(tmp_path).condition_id()
    assert run_dirs == [tmp_path / condition, tmp_path / f"{condition}-r2"]
    out = capsys.readouterr().out
    assert f"repeat 1/2: run {condition} of condition {condition}" in out
    assert f"repeat 2/2: run {condition}-r2 of condition {condition}" in out

    assert run_sweep_repeats(None, _values(tmp_path), repeats=3, run_one=_in_process) == [*run_dirs, tmp_path / f"{condition}-r3"]
    out = capsys.readouterr().out
    assert out.count("is already complete; reusing it") == 2 and "repeat 3/3" in out  # only the new one is measured


def test_one_repeat_prints_no_repeat_line(tmp_path, capsys):
    assert run_sweep_repeats(None, _values(tmp_path), run_one=_in_process) == [tmp_path / _config(tmp_path).run_id()]
    assert "repeat" not in capsys.readouterr().out


def test_a_failed_repeat_keeps_the_others_and_the_same_command_resumes_it(tmp_path, capsys):
    def failing_second(parameter_file, overrides, repeat_index, **options):
        FAIL["after_requests"] = 1 if repeat_index == 2 else None
        return _in_process(parameter_file, overrides, repeat_index, **options)

    with pytest.raises(RuntimeFailure):
        run_sweep_repeats(None, _values(tmp_path, repeats=3), run_one=failing_second)
    assert "repeat 2/3 stopped; repeat 1 is complete and kept. Run the same command again" in capsys.readouterr().out
    config = _config(tmp_path, repeats=3)
    first, second = (RunDirectory(config.for_repeat(k).run_dir()) for k in (1, 2))
    assert first.read_record().status == "complete" and len(first.read_requests()) == 2
    assert second.read_record().status == "failed" and len(second.read_requests()) == 1
    assert not config.for_repeat(3).run_dir().exists()

    FAIL["after_requests"] = None
    run_dirs = run_sweep_repeats(None, _values(tmp_path, repeats=3), run_one=_in_process)
    out = capsys.readouterr().out
    assert "is already complete" in out and "Resuming" in out and "1 of 2 requests already complete" in out
    records = [RunDirectory(path).read_record() for path in run_dirs]
    assert [(r.status, r.repeat_index, r.condition_id) for r in records] == [
        ("complete", k, config.condition_id()) for k in (1, 2, 3)]  # fmt: skip
    assert len(records[1].attempts) == 2 and len(records[0].attempts) == 1


@pytest.mark.parametrize("args", [["--repeat", "0"], ["--repeat", "-1"], ["--repeat", "x"], ["--set", "repeats=0"],
                                  ["--repeat", "101"]])  # fmt: skip
def test_the_command_refuses_a_bad_repeat_count_before_anything_runs(tmp_path, capsys, args):
    runs = tmp_path / "runs"
    assert main(["sweep", str(ROOT / "params" / "smoke.yaml"), *args, "--set", f"output_dir={runs}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("benchlib: error: Parameter repeats must be a whole number from 1 to 100")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not runs.exists()


def test_a_parameter_file_with_a_bad_repeat_count_is_refused(tmp_path, capsys):
    params = tmp_path / "bad.yaml"
    params.write_text("profile: smoke\nrepeats: -1\n")
    assert main(["sweep", str(params), "--set", f"output_dir={tmp_path / 'runs'}"]) == 2
    assert f"repeats {RANGE} (independent runs of the sweep), got -1." in capsys.readouterr().err


def test_a_fleet_refuses_repeats_it_would_not_run(tmp_path):
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump({"base": str(ROOT / "params" / "smoke.yaml"), "set": {"repeats": 3},
                                    "matrix": {"output_tokens": [8]}, "targets": {"cpu-a": {"platform": "a"}}}))  # fmt: skip
    with pytest.raises(ParameterError, match="repeats: 3 is not run by a fleet"):
        load_fleet(path)
