"""A sweep in which every request failed ends failed, with its errors by kind, exit 1; never 'complete'.

Issue 25, case 1: such a sweep was stored as complete, then its notebook crashed on the missing summary
(``KeyError: 'ttft_s'``), and a rerun said "already complete". The replay server answers HTTP 500 to every
request of ``replay-500``.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from benchlib.cli import main
from benchlib.config import SweepConfig
from benchlib.errors import RuntimeFailure
from benchlib.sweep import run_sweep

pytestmark = [pytest.mark.server, pytest.mark.notebook]


def _values(url: str, runs_dir) -> dict:
    return {"profile": "all-failed", "runtime": "http", "url": url, "model": "replay-500", "prompts": "short",
            "output_tokens": 4, "concurrency": [1], "step_min_requests": 2, "step_max_s": 30.0, "warmup": 0,
            "power": "none", "request_timeout_s": 10.0, "output_dir": str(runs_dir)}  # fmt: skip


def test_every_request_failing_is_a_failed_run_with_its_errors_kept(tmp_path, replay):
    config = SweepConfig.from_mapping(_values(replay.url, tmp_path / "runs"))
    with pytest.raises(RuntimeFailure, match=r"every one of the 2 measured requests failed: http x2 \(first: HTTP 500"):
        run_sweep(config, progress=False)
    run_dir = next((tmp_path / "runs").iterdir())
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "failed" and meta["errors_by_kind"]["http"]["count"] == 2
    assert pd.read_parquet(run_dir / "requests.parquet")["error"].notna().sum() == 2  # the rows are kept


def test_the_command_exits_1_with_the_errors_and_a_rerun_tries_again(tmp_path, replay, capsys):
    params = tmp_path / "p.yaml"
    params.write_text(json.dumps(_values(replay.url, tmp_path / "runs")))
    assert main(["sweep", str(params), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "every one of the 2 measured requests failed: http x2" in err and "KeyError" not in err
    assert main(["sweep", str(params), "--quiet"]) == 1  # not "already complete"
    assert "already complete" not in capsys.readouterr().out
