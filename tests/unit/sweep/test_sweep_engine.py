"""The sweep engine's lifecycle on a fast fake runtime: complete, stop, resume, reuse, reprice, fresh.

The fake runtime is registered like any runtime (one registry entry) and
makes token timestamps without a model, so these tests take milliseconds
each; the same paths with the real model and real servers are in the slow
tests (test_resume, test_http, test_llama_server).
"""

from __future__ import annotations

import json

import pytest
from fakes import FAIL, SPEC

from benchlib.config import SweepConfig
from benchlib.errors import ParameterError, RuntimeFailure
from benchlib.records import RunDirectory, RunRecord
from benchlib.runtimes.registry import RUNTIMES
from benchlib.sweep import run_sweep

@pytest.fixture(autouse=True)
def fake_runtime(monkeypatch):
    monkeypatch.setitem(RUNTIMES, "fake", SPEC)
    FAIL["after_requests"] = None
    FAIL["error"] = RuntimeFailure


def _config(tmp_path, **values) -> SweepConfig:
    return SweepConfig.from_mapping(
        {"profile": "engine", "runtime": "fake", "prompts": "short", "output_tokens": 4, "repetitions": 3,
         "warmup": 1, "power": "none", "output_dir": str(tmp_path), **values}
    )  # fmt: skip


def test_a_complete_run_records_every_request_and_its_summary(tmp_path):
    result = run_sweep(_config(tmp_path), progress=False)
    record = RunRecord.model_validate(json.loads((result.run_dir / "run.json").read_text()))
    assert record.status == "complete" and not result.reused
    assert len(result.requests) == 12 and set(result.requests["attempt"]) == {0}
    assert (result.requests["output_tokens"] == 4).all()
    assert record.summary.requests == 12 and record.summary.tpot_s.median == pytest.approx(0.0005, rel=0.5)
    assert set(record.attempts[0].timings) == {"model_load_s", "warmup_requests", "warmup_s", "measured_s"}
    assert record.attempts[0].timings["warmup_requests"] == 1
    assert record.summary.energy.valid is False  # power: none, and it says so
    assert record.progress.completed == record.progress.total == 12
    assert record.parameters["fake_token_gap_s"] == 0.0005 and "fake_token_gap_s" in SweepConfig.names()


@pytest.mark.parametrize("error, status", [(RuntimeFailure, "failed"), (KeyboardInterrupt, "interrupted")])
def test_a_stopped_run_keeps_its_requests_and_resumes(tmp_path, error, status, capsys):
    config = _config(tmp_path)
    FAIL.update(after_requests=5, error=error)
    with pytest.raises(error):
        run_sweep(config, progress=False)
    store = RunDirectory(config.run_dir())
    meta = store.read_meta()
    assert meta["status"] == status and "stopped as the test asked" in meta["error"]
    assert len(store.read_requests()) == 5
    assert "timings" in meta["attempts"][0]

    FAIL["after_requests"] = None
    result = run_sweep(config, progress=False)
    assert "Resuming" in capsys.readouterr().out
    assert result.meta["status"] == "complete" and "error" not in result.meta
    assert len(result.meta["attempts"]) == 2
    assert result.meta["attempts"][0]["outcome"] == status and "as the test asked" in result.meta["attempts"][0]["error"]
    assert sorted(result.requests["request_id"]) == sorted(r.request_id for r in config.workload_plan().measured())
    assert result.requests.groupby("attempt").size().to_dict() == {0: 5, 1: 7}


def test_a_complete_run_is_reused_and_priced_again_under_the_profile_asked_for(tmp_path):
    first = run_sweep(_config(tmp_path), progress=False)
    assert "cost" not in first.summary and first.meta["price_profile"] is None
    again = run_sweep(_config(tmp_path, price_profile="pi5"), progress=False)
    assert again.reused and again.run_dir == first.run_dir and len(again.meta["attempts"]) == 1
    assert again.meta["price_profile"]["name"] == "pi5"
    assert again.summary["cost"]["price_profile"] == "pi5"
    on_disk = RunDirectory(first.run_dir).read_meta()
    assert on_disk["summary"]["cost"] == again.summary["cost"]  # the new price is stored


def test_fresh_measures_again_from_nothing(tmp_path):
    first = run_sweep(_config(tmp_path), progress=False)
    again = run_sweep(_config(tmp_path), progress=False, fresh=True)
    assert not again.reused and len(again.meta["attempts"]) == 1
    assert again.meta["started_at"] >= first.meta["started_at"]


def test_results_of_a_changed_model_file_are_not_mixed_in(tmp_path):
    config = _config(tmp_path)
    FAIL["after_requests"] = 2
    with pytest.raises(RuntimeFailure):
        run_sweep(config, progress=False)
    store = RunDirectory(config.run_dir())
    meta = store.read_meta()
    meta["model"]["sha256"] = "0" * 64
    store.write_record(meta)
    with pytest.raises(ParameterError, match="fresh"):
        run_sweep(config, progress=False)


def test_the_run_id_ignores_what_this_runtime_does_not_use(tmp_path):
    base = _config(tmp_path)
    assert _config(tmp_path, concurrency=[8], url="http://h:1", flash_attn="on").run_id() == base.run_id()
    assert _config(tmp_path, price_profile="pi5", output_dir=str(tmp_path / "x")).run_id() == base.run_id()
    assert _config(tmp_path, fake_token_gap_s=0.001).run_id() != base.run_id()
    assert _config(tmp_path, output_tokens=5).run_id() != base.run_id()


def test_bad_parameters_name_the_parameter_what_it_must_be_and_the_value(tmp_path):
    with pytest.raises(ParameterError, match=r"Unknown sweep parameter\(s\) repetitons; valid parameters: .*repetitions"):
        _config(tmp_path, repetitons=3)
    with pytest.raises(ParameterError, match=r"Parameter threads \(runtime.threads\) must be 0 or more, got -1"):
        _config(tmp_path, threads=-1)
    with pytest.raises(ParameterError, match=r"Parameter output_tokens \(workload.output_tokens\) must be an integer >= 1, or a list .*got '4'"):
        _config(tmp_path, output_tokens="4")
    with pytest.raises(ParameterError, match="Unknown runtime 'nope'; valid runtimes: .*fake"):
        _config(tmp_path, runtime="nope")
    with pytest.raises(ParameterError, match=r"Parameter token_gap_s \(fake.token_gap_s\) must be a number, got 'slow'"):
        _config(tmp_path, fake_token_gap_s="slow")


def _left_running(config: SweepConfig, pid: int) -> RunDirectory:
    """A run stopped after 3 requests whose run.json still says ``running``, by process ``pid``."""
    FAIL["after_requests"] = 3
    with pytest.raises(RuntimeFailure):
        run_sweep(config, progress=False)
    FAIL["after_requests"] = None
    store = RunDirectory(config.run_dir())
    meta = store.read_meta()
    meta["status"] = "running"  # what a killed process leaves: it never recorded its end
    meta["attempts"][-1]["pid"] = pid
    store.write_record(meta)
    return store


def test_a_run_whose_process_is_gone_is_recorded_as_an_interrupted_attempt(tmp_path):
    """kill -9 leaves ``running`` with a dead pid: shown as ``interrupted (process gone)``, then resumed."""
    config = _config(tmp_path)
    store = _left_running(config, pid=2**22 + 7)  # no such process
    assert store.effective_status() == "interrupted (process gone)"

    result = run_sweep(config, progress=False)
    first = result.meta["attempts"][0]
    assert first["outcome"] == "interrupted" and first["error"].startswith(f"process gone: pid {2**22 + 7}")
    assert result.meta["status"] == "complete" and len(result.requests) == 12


def test_a_run_being_measured_is_not_measured_twice(tmp_path):
    import os

    config = _config(tmp_path)
    _left_running(config, pid=os.getpid())  # as if this very process were measuring it
    with pytest.raises(ParameterError, match=f"being measured right now by process {os.getpid()}"):
        run_sweep(config, progress=False)
