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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hourly_profile: [0.5, 0.5]\n", "hourly_profile must have 24 entries (one share per hour, 00:00 first), got 2."),
        ("price_profiles: {L4-class GPU: l5}\n", "price_profiles: candidate 'L4-class GPU': No price profile 'l5'; valid profiles: pi5"),
        ("requests_per_dya: 5\n", "Unknown decision parameter(s) requests_per_dya; valid parameters: ttft_p95_s"),
    ],
)
def test_report_refuses_a_bad_decision_file_before_any_notebook_runs(tmp_path, capsys, text, message) -> None:
    bad = tmp_path / "decision.yaml"
    bad.write_text(text)
    assert main(["report", "--decision", str(bad), "--figures-dir", str(tmp_path / "f"),
                 "--output-dir", str(tmp_path / "r")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert str(bad) in err and message in err
    assert not (tmp_path / "r").exists()  # nothing executed
