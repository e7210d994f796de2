"""Imported runs through the real report: papermill runs the analysis, cost and decision notebooks on them.

The files are the fixtures of ``tests/fixtures/imports/`` (llama-bench's and
guidellm's produced by the real tools here, vLLM's and AIPerf's constructed
from their sources), imported with ``benchlib import``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from benchlib.cli import main
from benchlib.notebook_runner import run_report_notebook

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "imports"

pytestmark = [pytest.mark.notebook]


def test_imported_runs_in_the_report_the_cost_model_and_the_decision(tmp_path):
    runs = tmp_path / "runs"
    local = ["--price-profile", "local-cpu", "--prices", str(ROOT / "params/prices/local-cpu.yaml")]
    imports = [
        [str(FIXTURES / "llama-bench/smollm2-pp64-tg32.json"), "--platform", "this-cpu-llama-bench", *local, "--power-w", "15"],
        [str(FIXTURES / "llama-bench/smollm2-pp64-tg32.jsonl"), "--platform", "this-cpu-llama-bench-jsonl", *local],
        [str(FIXTURES / "vllm/vllm_serve_detailed.json"), "--platform", "l4-vllm", "--price-profile", "l4"],
        [str(FIXTURES / "aiperf/profile_export_aiperf.json"), "--platform", "h100-aiperf", "--price-profile", "h100"],
        [str(FIXTURES / "guidellm/sweep-smollm2-135m.json.gz"), "--platform", "this-cpu-guidellm", *local],
    ]  # fmt: skip
    for args in imports:
        assert main(["import", *args, "--runs-dir", str(runs)]) == 0
    figures = tmp_path / "figures"
    run_report_notebook(runs, figures, ROOT / "data/reference/article-2026-01.csv", tmp_path / "report",
                        price_files=[str(ROOT / "params/prices/local-cpu.yaml")])  # fmt: skip

    table = pd.read_csv(figures / "runs.csv")
    assert len(table) == 7 and set(table["source"]) == {"imported"}  # guidellm's report holds 3 benchmarks
    assert set(table["source_tool"]) == {"llama-bench", "vllm", "aiperf", "guidellm"}
    llama = table[table["source_tool"] == "llama-bench"]
    assert llama["aggregates_only"].all() and llama["tpot_ms_ci_low"].isna().all()  # no interval it did not compute
    vllm = table[table["source_tool"] == "vllm"].iloc[0]
    assert not vllm["aggregates_only"] and vllm["tpot_ms_ci_low"] <= vllm["tpot_ms_median"] <= vllm["tpot_ms_ci_high"]
    assert table["cost_per_million_usd"].notna().all()
    assert llama["energy_kind"].eq("estimated").sum() == 1  # the one imported with --power-w

    summary = pd.read_csv(figures / "summary.csv")
    assert "imported" in set(summary["basis"])
    comparisons = pd.read_csv(figures / "comparisons.csv")
    pair = comparisons[comparisons["platform_a"].str.startswith("this-cpu-llama-bench") & comparisons["platform_b"].str.startswith("this-cpu-llama-bench")]
    assert not pair.empty and pair["verdict"].str.contains("aggregates only").all()

    cost = (figures / "cost_model.md").read_text()
    assert "imported from vllm" in cost and "imported from llama-bench" in cost
    # the imported runs served another model than the decision's (Llama-2-7B Q4_0): listed, never candidates
    decision = pd.read_csv(figures / "decision.csv")
    assert not {"l4-vllm", "h100-aiperf"} & set(decision["platform"])
    not_comparable = (figures / "decision.md").read_text().split("## Not comparable (another model)")[1]
    assert sum(line.startswith("- ") for line in not_comparable.split("\n\n")[1].splitlines()) == 7
    for png in ("per_token_latency.png", "throughput.png", "cost_per_million_tokens.png"):
        assert (figures / png).stat().st_size > 10_000
