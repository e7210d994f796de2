"""papermill executing the real notebooks: the smoke sweep, then the analysis of its run."""

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from benchlib.cli import main, notebook_parameter_names, run_report_notebook, run_sweep_notebook
from benchlib.errors import ParameterError
from benchlib.config import SweepConfig

pytestmark = [pytest.mark.model, pytest.mark.notebook]

ROOT = Path(__file__).resolve().parents[2]


def test_committed_notebooks_have_no_outputs():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [], f"{path.name} has outputs: strip them before committing"
                assert cell.execution_count is None, f"{path.name} has execution counts"


def test_sweep_notebook_parameters_match_sweep_params():
    names = notebook_parameter_names(ROOT / "notebooks" / "sweep.ipynb")
    assert sorted(names) == sorted(SweepConfig.names())
    import papermill

    defaults = papermill.inspect_notebook(str(ROOT / "notebooks" / "sweep.ipynb"))
    for name, spec in defaults.items():
        assert eval(spec["default"]) == SweepConfig().flat()[name], name


def test_unknown_parameter_is_refused_with_the_valid_names(tmp_path):
    params = tmp_path / "bad.yaml"
    params.write_text("profile: smoke\nmodel: smollm2-135m-q4_1\nrepetitons: 3\n")
    with pytest.raises(ParameterError) as error:
        run_sweep_notebook(params, {"output_dir": str(tmp_path / "runs")}, progress=False)
    message = str(error.value)
    assert "repetitons" in message
    for name in SweepConfig.names():
        assert name in message
    assert not (tmp_path / "runs").exists(), "nothing may run for a refused parameter file"


def test_cli_prints_the_refusal_and_exits_2(tmp_path, capsys):
    params = tmp_path / "bad.yaml"
    params.write_text("modle: smollm2-135m-q4_1\n")
    assert main(["sweep", str(params)]) == 2
    assert "Unknown sweep parameter(s) modle" in capsys.readouterr().err


def test_invalid_values_and_files_are_refused(tmp_path, capsys):
    bad_type = tmp_path / "type.yaml"
    bad_type.write_text("repetitions: many\n")
    assert main(["sweep", str(bad_type)]) == 2
    assert "repetitions (workload.repetitions) must be an integer, got 'many'" in capsys.readouterr().err
    assert main(["sweep", str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "smoke" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("profile: [unclosed\n")
    assert main(["sweep", str(broken)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_smoke_sweep_then_analysis(tmp_path):
    runs_dir = tmp_path / "runs"
    run_dir = run_sweep_notebook(ROOT / "params" / "smoke.yaml", {"output_dir": str(runs_dir)}, progress=False)

    # the run directory of the design
    assert run_dir.parent == runs_dir
    assert {p.name for p in run_dir.iterdir()} >= {"run.json", "requests.parquet", "sweep.ipynb"}
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "complete"
    assert meta["schema_version"] == 1
    assert meta["parameters"]["profile"] == "smoke"
    assert meta["model"]["sha256_verified"] is True
    assert meta["model"]["quantization"] == "Q4_1"
    for key in ("cpu_model", "cpu_cores_logical", "ram_bytes", "os", "python", "packages", "git_sha"):
        assert key in meta["machine"]
    assert meta["machine"]["packages"]["llama-cpp-python"] == "0.3.36"
    requests = pd.read_parquet(run_dir / "requests.parquet")
    smoke = SweepConfig.from_mapping({**__import__("yaml").safe_load((ROOT / "params/smoke.yaml").read_text())})
    assert len(requests) == smoke.workload.repetitions * len(smoke.workload_plan().prompts)
    assert (requests["output_tokens"] == smoke.workload.output_tokens).all()
    assert (requests["runtime_decode_tokens"] == smoke.workload.output_tokens - 1).all()
    assert meta["summary"]["requests"] == len(requests)
    assert meta["summary"]["cost"]["price_profile"] == "local-cpu"
    assert meta["price_profile"]["price_per_hour_usd"] == 0.10
    # power: auto on this machine (no sensor) falls back to the profile's estimate, and says so
    energy = meta["summary"]["energy"]
    assert energy["valid"] and energy["kind"] == "estimated" and energy["fallback"]
    assert meta["power"]["requested"] == "auto"

    # the executed notebook is saved in the run directory, with its outputs
    executed = nbformat.read(run_dir / "sweep.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")

    # a second sweep with the same parameters reuses the complete run
    assert run_sweep_notebook(ROOT / "params" / "smoke.yaml", {"output_dir": str(runs_dir)}, progress=False) == run_dir
    assert len(pd.read_parquet(run_dir / "requests.parquet")) == len(requests)

    figures = tmp_path / "figures"
    written = run_report_notebook(runs_dir, figures, ROOT / "data/reference/article-2026-01.csv", tmp_path / "report")
    names = {p.name for p in written}
    assert {
        "per_token_latency.png", "e2e_128_tokens.png", "throughput.png", "cost_per_million_tokens.png",
        "energy_per_token.png", "power_timeline.png",
        "summary.csv", "summary.md", "cost_vs_utilization.png", "break_even.png", "cost_model.md",
        "runs.csv", "latency_ecdf.png", "pareto.png", "comparisons.csv", "comparisons.md",
        "plausibility.csv", "plausibility.png", "decision.csv", "decision.md", "hybrid.csv", "hybrid.png",
        "decision_sensitivity.csv", "decision_sensitivity.png", "decision_small_model.md", "decision_answer_shift.md",
    } <= names  # fmt: skip
    assert (tmp_path / "report" / "analysis.ipynb").exists() and (tmp_path / "report" / "cost_model.ipynb").exists()
    for png in figures.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    summary = pd.read_csv(figures / "runs.csv")
    assert list(summary["run_id"]) == [run_dir.name]
    row = summary.iloc[0]
    assert row["tpot_ms_ci_low"] <= row["tpot_ms_median"] <= row["tpot_ms_ci_high"]
    expected_tpot_ms = requests["tpot_s"].median() * 1e3
    assert row["tpot_ms_median"] == pytest.approx(expected_tpot_ms)
    assert row["cost_per_million_usd"] == pytest.approx(meta["summary"]["cost"]["cost_per_million_usd"]["value"])
    assert row["energy_kind"] == "estimated"
    assert row["energy_per_token_j"] == pytest.approx(energy["energy_per_token_j"]["value"])
    markdown = (figures / "summary.md").read_text()
    assert run_dir.name in markdown and "measured" in markdown.lower()
    assert "## The article's claims" in markdown and "REJECTED: above the bandwidth ceiling" in markdown

    # the decision (params/decision/decision.yaml: Llama-2-7B Q4_0, 1 M requests/day, MLPerf's limits at p95): the
    # 135M smoke run is another model, so it is listed as not comparable and never competes; the mission's
    # platforms are sized from their predicted serving curves with queueing, and a 7B Q4 on the Pi 5 misses
    decision = pd.read_csv(figures / "decision.csv")
    assert run_dir.name not in set(decision["candidate"]) and "L4" in set(decision["candidate"])
    pi = decision[decision["candidate"] == "Raspberry Pi 5 (CPU)"]
    assert not pi["qualifies"].any() and pi["source"].eq("predicted").all() and pi["tpot_at_percentile_s"].min() > 0.1
    recommended = decision[decision["recommended"]].iloc[0]
    assert recommended["class"] == "cloud" and recommended["capacity_streams"] > 1  # a batching GPU
    assert 0 < recommended["peak_utilization"] < 1 and recommended["cost_per_day_usd_ci_low"] <= recommended["cost_per_day_usd"]
    decision_md = (figures / "decision.md").read_text()
    assert "## Recommendation" in decision_md and "mlperf-llama3.1-8b-server" in decision_md
    assert re.search(r"Raspberry Pi 5 \(CPU\)\*\*: misses p95 time to first token: .*misses p95 per-token latency: "
                     r"[\d.]+ ms > 100 ms \([\d.]+x the limit\)", decision_md)  # fmt: skip
    assert f"- {run_dir.name}: runs smollm2-135m-q4_1, not llama-2-7b q4_0" in decision_md  # not comparable
    hybrid = pd.read_csv(figures / "hybrid.csv")
    assert hybrid["n_edge"].iloc[0] == 0 and hybrid["cheapest"].sum() == 1 and hybrid["edge_utilization"].max() <= 1
    assert not hybrid.loc[hybrid["n_edge"] > 0, "meets_targets"].any()  # the Pi misses on every request
    sensitivity = pd.read_csv(figures / "decision_sensitivity.csv")
    assert {"throughput", "price", "request volume"} <= set(sensitivity["input"])
    assert "goes to edge" in (figures / "decision_answer_shift.md").read_text()
    assert "Raspberry Pi 5 + AI HAT+ 2" in (figures / "decision_small_model.md").read_text()
    assert (tmp_path / "report" / "decision.ipynb").exists()


def test_every_shipped_parameter_profile_is_valid():
    from benchlib.cli import load_parameter_file

    names = notebook_parameter_names(ROOT / "notebooks" / "sweep.ipynb")
    profiles = sorted((ROOT / "params").glob("*.yaml"))
    assert {p.stem for p in profiles} >= {"local-cpu", "smoke", "pi5"}
    for path in profiles:
        values = load_parameter_file(path)
        assert set(values) <= set(names), f"{path.name}: {sorted(set(values) - set(names))}"
        SweepConfig.from_mapping(values)
