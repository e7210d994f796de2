"""The room a run directory holds for its last writes, freed however the sweep ends."""

import pytest

from benchlib.records.disk_reserve import RESERVE_BYTES, RESERVE_FILE, disk_reserve


def test_the_reserve_is_held_while_the_block_runs_and_freed_after(tmp_path):
    run_dir = tmp_path / "run"
    with disk_reserve(run_dir) as held:
        assert held == RESERVE_BYTES == (run_dir / RESERVE_FILE).stat().st_size
    assert list(run_dir.iterdir()) == []


def test_the_reserve_is_freed_when_the_block_raises(tmp_path):
    with pytest.raises(RuntimeError), disk_reserve(tmp_path):
        raise RuntimeError("the sweep failed")
    assert not (tmp_path / RESERVE_FILE).exists()

