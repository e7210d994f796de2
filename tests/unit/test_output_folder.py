"""A run or report folder that cannot be written is refused before anything starts, and nothing is written."""

import pytest

from benchlib.cli import main
from benchlib.errors import ParameterError
from benchlib.paths import check_output_folder, params_dir


def test_a_folder_under_proc_or_under_a_file_is_refused(tmp_path):
    with pytest.raises(ParameterError, match=r"The folder /proc/benchlib-test/runs cannot be written: /proc"):
        check_output_folder("/proc/benchlib-test/runs")
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(ParameterError, match="not a folder"):
        check_output_folder(afile / "runs")
    check_output_folder(tmp_path / "new" / "runs")  # a writable parent is enough
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # the probe left nothing behind


@pytest.mark.subprocess
def test_a_sweep_and_a_report_into_a_read_only_folder_are_one_message_and_exit_2(read_only_disk, capsys):
    assert main(["sweep", str(params_dir() / "smoke.yaml"), "--set", f"output_dir={read_only_disk / 'runs'}"]) == 2
    assert "Read-only file system" in capsys.readouterr().err
    assert main(["report", "--figures-dir", str(read_only_disk / "f"), "--output-dir", str(read_only_disk / "r")]) == 2
    err = capsys.readouterr().err
    assert "cannot be written" in err and "Traceback" not in err
