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
        ("requests_per_dya: 5\n", "Unknown decision parameter(s) requests_per_dya; valid parameters: model, quantization"),
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


def test_exporter_refuses_an_unknown_source_and_lists_the_valid_ones(capsys) -> None:
    assert main(["exporter", "--power", "ina3221"]) == 2
    err = capsys.readouterr().err
    assert "unknown power source 'ina3221'" in err and "valid: pi5-pmic, ina2xx, rapl, nvml, auto" in err


def test_exporter_refuses_a_source_this_machine_lacks_with_why(capsys) -> None:
    from benchlib.paths import sensors_dir

    assert main(["exporter", "--power", "rapl", "--root", str(sensors_dir() / "sysfs" / "pi5_ina226")]) == 2
    assert "sys/class/powercap: the kernel exposes no powercap zones" in capsys.readouterr().err
    assert main(["exporter", "--power", "ina2xx", "--option", "devices=hwmon7", "--root",
                 str(sensors_dir() / "sysfs" / "pi5_ina226")]) == 2  # fmt: skip
    assert "no INA2xx monitor named ['hwmon7']; found: hwmon3 (ina226)" in capsys.readouterr().err


@pytest.mark.server
def test_exporter_subprocess_serves_metrics_and_exits_0_on_sigterm(tmp_path, reserved_port) -> None:
    import os
    import sys

    from prometheus_client.parser import text_string_to_metric_families

    from benchlib.paths import repo_root, sensors_dir
    from benchlib.prometheus.exporter_run import scrape_metrics
    from benchlib.testing.local_servers import ServerProcess

    port = reserved_port
    command = [sys.executable, "-m", "benchlib.cli", "exporter", "--power", "ina2xx", "--root",
               str(sensors_dir() / "sysfs" / "pi5_ina226"), "--port", str(port), "--rate-hz", "5"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(repo_root())}
    server = ServerProcess(command, port, "/metrics", tmp_path / "exporter.log", env=env).start(timeout_s=60)
    try:
        families = {f.name: f for f in text_string_to_metric_families(scrape_metrics(f"{server.url}/metrics"))}
        (power,) = families["benchlib_power_watts"].samples
        assert power.value == 6.125 and power.labels["source"] == "ina2xx"
        assert families["benchlib_energy_joules"].type == "counter"
        assert {s.labels["sensor"] for s in families["benchlib_temperature_celsius"].samples} == {"cpu_thermal/temp1", "rp1_adc/temp1"}
    finally:
        server.stop()
    assert server.process.returncode == 0
    log = (tmp_path / "exporter.log").read_text()
    assert f"serving http://127.0.0.1:{port}/metrics" in log and "reads ina2xx (measured, power)" in log
    assert "stopped" in log and "warning" not in log


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "output_tokens=[1,"], "--set output_tokens: the value '[1,' is not valid YAML"),
        (["--set", "output_dir=[1]"], "Parameter output_dir must be a folder path (text), got [1]"),
    ],
)
def test_a_bad_set_value_is_one_message_and_nothing_is_written(tmp_path, capsys, monkeypatch, args, message) -> None:
    """Issue 25, cases 6 and 7: a --set value that is not YAML, or an output_dir that is not text, was a traceback."""
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", str(_smoke()), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_an_output_dir_that_is_a_number_in_a_file_is_refused(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("output_dir: 5\n")
    assert main(["sweep", str(bad)]) == 2
    assert "Parameter output_dir must be a folder path (text), got 5" in capsys.readouterr().err


def _smoke():
    from benchlib.paths import params_dir

    return params_dir() / "smoke.yaml"


def test_a_bad_price_file_is_refused_before_the_report_runs_any_notebook(tmp_path, capsys) -> None:
    """Issue 25: a bad --prices file was reported only after the analysis notebook had run (about 22 s)."""
    prices = tmp_path / "prices.yaml"
    prices.write_text("not: [valid\n")
    assert main(["report", "--prices", str(prices), "--figures-dir", str(tmp_path / "f"),
                 "--output-dir", str(tmp_path / "r")]) == 2  # fmt: skip
    assert f"{prices}: not valid YAML" in capsys.readouterr().err
    assert not (tmp_path / "r").exists() and not (tmp_path / "f").exists()


def test_an_empty_parameter_file_says_every_parameter_takes_its_default(tmp_path, capsys) -> None:
    from benchlib.notebook_runner import load_parameter_file

    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here\n")
    assert load_parameter_file(empty) == {}
    assert f"Note: {empty} sets no parameter; every parameter takes its default" in capsys.readouterr().out
