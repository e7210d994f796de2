"""The workload figures and the decision's measured capacity, from real runs against llama-server.

``tests/fixtures/workload_runs/`` holds three runs measured on this machine against llama.cpp's
``llama-server`` (``-np 4``, SmolLM2-135M): a 4-turn conversation, a depth grid (0, 512, 2048) and a
``load: sweep`` (run.json and requests.parquet only).
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pytest

from benchlib.analysis.figure_checks import readability_problems
from benchlib.analysis.tables import report_runs
from benchlib.analysis.workload_figures import cell_table, plot_rates_by_depth, plot_ttft_by_turn, turn_table
from benchlib.decision.candidate_sources import measured_levels, rate_search_level
from benchlib.decision.load_capacity import size_level

matplotlib.use("Agg")
RUNS = Path(__file__).resolve().parents[2] / "fixtures" / "workload_runs"


def _record(kind: str) -> dict:
    for path in RUNS.glob("*/run.json"):
        record = json.loads(path.read_text())
        if kind == "conversation" and record["parameters"]["prompts"] == "conversation":
            return record
        if kind == "depth" and record["parameters"].get("context_depth") == [0, 512, 2048]:
            return record
        if kind == "sweep" and record.get("rate_search"):
            return record
    raise AssertionError(f"no {kind} run in {RUNS}")


def _run(kind: str):
    run_id = _record(kind)["run_id"]
    return next(run for run in report_runs(RUNS).runs if run.run_id == run_id)


def test_ttft_by_turn_reads_each_turns_median_and_interval_and_draws_readably():
    table = turn_table(RUNS)
    stored = _record("conversation")["summary"]["by_turn"]
    assert list(table["turn"]) == [0, 1, 2, 3]
    assert list(table["ttft_s"]) == [turn["ttft_s"]["median"] for turn in stored]
    assert (table["ttft_ci_low_s"] <= table["ttft_s"]).all() and (table["ttft_s"] <= table["ttft_ci_high_s"]).all()
    assert list(table["history_tokens"]) == [0.0, 96.0, 192.0, 288.0]
    assert readability_problems(plot_ttft_by_turn(table)) == []


def test_rates_by_depth_reads_every_cell_of_a_server_grid_and_draws_readably():
    table = cell_table(RUNS)
    depth = table[table["run_id"] == _record("depth")["run_id"]].sort_values("context_depth")
    assert list(depth["context_depth"]) == [0, 512, 2048]  # one cell per load step, read from the steps
    decode = list(depth["decode_tps"])
    assert decode[0] > decode[1] > decode[2]  # as measured: 95.8, 82.6, 56.6 tok/s
    assert readability_problems(plot_rates_by_depth(depth)) == []


def test_a_rate_search_sizes_the_fleet_from_the_rate_it_sustained():
    run = _run("sweep")
    search = run.record.rate_search
    level = rate_search_level(run, output_tokens=64)
    assert level.measured_rate_rps == search["sustainable_rate_rps"] == pytest.approx(1.05)
    assert level.speed_high == pytest.approx(search["interval_rps"][1] / search["interval_rps"][0])
    assert level.step == "r1.05"
    assert level in measured_levels(run, output_tokens=64)
    sizing = size_level(level, 3.0, {"ttft_s": 1.0}, 0.95)
    assert sizing.devices == 3  # ceil(3 / 1.05)
    assert sizing.achieved_s["ttft_s"] <= 1.0 and sizing.meets
