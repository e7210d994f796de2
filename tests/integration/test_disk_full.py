"""A sweep that fills the disk: one message, exit 1, run.json ``failed`` (never left ``running``), no truncated
notebook, and the same command resumes once there is room.

Issue 25, case 4: on a 2 MB tmpfs papermill's raw ``OSError: [Errno 28]`` ended the command, an http sweep's
``run.json`` stayed ``running``, and an in-process sweep left ``sweep.ipynb`` as truncated JSON.
"""

from __future__ import annotations

import json
import shutil

import pytest

from benchlib.cli import main
from benchlib.paths import params_dir
from benchlib.records.disk_reserve import RESERVE_FILE

pytestmark = [pytest.mark.model, pytest.mark.server, pytest.mark.notebook]

LEFT_FREE_BYTES = 60 * 1024
"""Less than any sweep needs (its executed notebook alone is about 26 kB, beside run.json and the tables)."""


def _fill(folder, left_free_bytes: int = LEFT_FREE_BYTES):
    """Fill ``folder``'s disk until ``left_free_bytes`` are free; returns the filler file."""
    filler = folder / "filler"
    filler.write_bytes(b"\0" * (shutil.disk_usage(folder).free - left_free_bytes))
    return filler


def _assert_failed_whole_and_clean(run_dir):
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "failed" and "No space left on device" in meta["error"]
    for notebook in run_dir.glob("*.ipynb"):
        json.loads(notebook.read_text())  # whole, or absent
    leftovers = [p.name for p in run_dir.iterdir() if p.name == RESERVE_FILE or "partial.ipynb" in p.name or p.suffix == ".tmp"]
    assert leftovers == []


def test_an_in_process_sweep_on_a_full_disk_fails_cleanly_and_resumes(tiny_disk, capsys):
    filler = _fill(tiny_disk)
    command = ["sweep", str(params_dir() / "smoke.yaml"), "--set", f"output_dir={tiny_disk / 'runs'}", "--quiet"]
    assert main(command) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "run the same command to resume" in err
    assert "Traceback" not in err and "Errno" not in err
    run_dir = next((tiny_disk / "runs").iterdir())
    _assert_failed_whole_and_clean(run_dir)

    filler.unlink()
    assert main(command) == 0
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "complete" and meta["attempts"][0]["outcome"] == "failed"
    json.loads((run_dir / "sweep.ipynb").read_text())


def test_an_http_sweep_on_a_full_disk_is_failed_not_running(tiny_disk, replay, capsys):
    params = tiny_disk.parent / "http.yaml"
    params.write_text(json.dumps({
        "profile": "disk-full", "runtime": "http", "url": replay.url, "model": "replay", "prompts": "short",
        "output_tokens": 4, "concurrency": [1], "step_min_requests": 4, "step_max_s": 30.0, "warmup": 0,
        "power": "none", "request_timeout_s": 10.0, "output_dir": str(tiny_disk / "runs")}))  # fmt: skip
    _fill(tiny_disk)
    assert main(["sweep", str(params), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    run_dir = next((tiny_disk / "runs").iterdir())
    _assert_failed_whole_and_clean(run_dir)
    assert main(["runs", "--runs-dir", str(tiny_disk / "runs")]) == 0
    assert "failed" in capsys.readouterr().out
