"""A run directory packed on a device and unpacked by the fleet's driver: the same files, atomically, never over a
complete run."""

from __future__ import annotations

import io
import json
import tarfile

import pandas as pd
import pytest
from fakes import SPEC

from benchlib.config import SweepConfig
from benchlib.errors import BenchlibError
from benchlib.fleet.packing import RunAlreadyComplete, pack_run_dir, unpack_run_dir
from benchlib.records import RunDirectory
from benchlib.runtimes.registry import RUNTIMES
from benchlib.sweep import run_sweep


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    """A complete run directory written by the real sweep engine (fake runtime)."""
    monkeypatch.setitem(RUNTIMES, "fake", SPEC)
    config = SweepConfig.from_mapping({"profile": "pack", "runtime": "fake", "prompts": "tiny", "output_tokens": 3,
                                       "repetitions": 2, "warmup": 0, "power": "none",
                                       "output_dir": str(tmp_path / "node")})  # fmt: skip
    result = run_sweep(config, progress=False)
    (result.run_dir / "sweep.ipynb").write_text('{"cells": []}')  # what papermill leaves beside the records
    return result.run_dir


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_pack_and_unpack_give_back_the_same_run_directory(run_dir, tmp_path):
    (run_dir / ".requests.parquet.abc.tmp").write_bytes(b"half a write")  # an atomic write in progress
    runs = tmp_path / "runs"

    gathered = unpack_run_dir(pack_run_dir(run_dir), runs)

    assert gathered == runs / run_dir.name
    expected = {name: data for name, data in _files(run_dir).items() if not name.endswith(".tmp")}
    assert _files(gathered) == expected and "sweep.ipynb" in expected and "requests.parquet" in expected
    pd.testing.assert_frame_equal(RunDirectory(gathered).read_requests(), RunDirectory(run_dir).read_requests())
    assert RunDirectory(gathered).effective_status() == "complete"
    assert [p.name for p in runs.iterdir()] == [run_dir.name]  # no staging folder left behind


def test_a_complete_run_is_never_overwritten(run_dir, tmp_path):
    runs = tmp_path / "runs"
    gathered = unpack_run_dir(pack_run_dir(run_dir), runs)
    before = _files(gathered)
    meta = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**meta, "note": "another copy"}))

    with pytest.raises(RunAlreadyComplete, match="already holds a complete run"):
        unpack_run_dir(pack_run_dir(run_dir), runs)

    assert _files(gathered) == before
    assert [p.name for p in runs.iterdir()] == [run_dir.name]


def test_an_incomplete_copy_is_replaced_by_the_gathered_run(run_dir, tmp_path):
    runs = tmp_path / "runs"
    partial = RunDirectory(runs / run_dir.name)
    partial.path.mkdir(parents=True)
    meta = json.loads((run_dir / "run.json").read_text())
    partial.write_record({**meta, "status": "interrupted"})
    (partial.path / "stale.txt").write_text("from the interrupted attempt")

    gathered = unpack_run_dir(pack_run_dir(run_dir), runs)

    assert RunDirectory(gathered).effective_status() == "complete"
    assert not (gathered / "stale.txt").exists()
    assert sorted(p.name for p in runs.iterdir()) == [run_dir.name]


def _tar(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a tar", "cannot be read"),
        (_tar({"../escape/run.json": b"{}"}), "cannot be read"),
        (_tar({"a/run.json": b"{}", "b/run.json": b"{}"}), "held a, b"),
        (_tar({"a/requests.parquet": b""}), "one run directory with a run.json"),
    ],
    ids=["not-a-tar", "escapes-its-folder", "two-runs", "no-run-json"],  # a gzip header holds the time: stable ids
)
def test_what_is_no_packed_run_is_refused_and_leaves_nothing(tmp_path, data, message):
    runs = tmp_path / "runs"
    with pytest.raises(BenchlibError, match=message):
        unpack_run_dir(data, runs)
    assert list(runs.iterdir()) == []
    assert not (tmp_path / "escape").exists()


def test_a_folder_without_run_json_is_not_packed(tmp_path):
    with pytest.raises(BenchlibError, match="no run.json"):
        pack_run_dir(tmp_path)
