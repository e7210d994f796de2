"""The ``benchlib`` command line's argument parsing (fast; the commands themselves are tested where they run)."""

import pytest

from benchlib.cli import main


def test_schema_subcommand_is_offered(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "schema" in capsys.readouterr().out


def test_schema_subcommand_takes_an_output_folder(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["schema", "--help"])
    assert exit_info.value.code == 0
    usage = capsys.readouterr().out
    assert "--out DIR" in usage
    assert "params/schema" in usage
