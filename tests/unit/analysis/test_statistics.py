"""The statistical summary: every metric of every run with n, median, CI, p95, p99 and its basis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fakes import SPEC

from benchlib.analysis import load_reference, report_runs, run_table, write_summary
from benchlib.analysis.statistics import METRICS, statistics_table
from benchlib.config import SweepConfig
from benchlib.paths import reference_csv

ROOT = Path(__file__).resolve().parents[3]
from benchlib.runtimes.registry import RUNTIMES
from benchlib.sweep import run_sweep


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    """One real run of the fake runtime through the real engine (its power: the profile's estimate)."""
    monkeypatch.setitem(RUNTIMES, "fake", SPEC)
    run_sweep(
        SweepConfig.from_mapping({"profile": "local-cpu", "runtime": "fake", "prompts": "tiny", "output_tokens": 4,
                                  "repetitions": 3, "warmup": 0, "power": "auto", "price_profile": "local-cpu", "price_files": [str(ROOT / "params/prices/local-cpu.yaml")],
                                  "output_dir": str(tmp_path)}),
        progress=False,
    )  # fmt: skip
    return tmp_path


def test_every_metric_of_a_run_with_its_statistics_and_basis(runs_dir):
    runs = report_runs(runs_dir).runs
    table = run_table(runs_dir)
    stats = statistics_table(runs, table, load_reference(reference_csv()))
    run_id = table["run_id"].iloc[0]
    mine = stats[stats["source"] == run_id].set_index("metric")
    assert list(mine.index) == [spec.name for spec in METRICS]

    requests = runs[0].requests
    tpot = requests["tpot_s"].to_numpy()
    assert mine.loc["tpot_s", "n"] == len(requests)
    assert mine.loc["tpot_s", "median"] == pytest.approx(np.median(tpot))
    assert mine.loc["tpot_s", "p95"] == pytest.approx(np.percentile(tpot, 95))
    assert mine.loc["tpot_s", "ci_low"] <= mine.loc["tpot_s", "median"] <= mine.loc["tpot_s", "ci_high"]
    gaps = np.concatenate([np.asarray(g, dtype=float) for g in requests["itl_s"]])
    assert mine.loc["itl_s", "n"] == gaps.size and mine.loc["itl_s", "p99"] == pytest.approx(np.percentile(gaps, 99))
    assert mine.loc["throughput_tps", "median"] == pytest.approx(table["throughput_tps"].iloc[0])
    # no sensor here: the profile's power, so energy is an estimate
    assert mine.loc["energy_per_token_j", "basis"] == "estimated"
    # a rented VM: its price is per hour, not per joule, and it is the price profile's assumption, not a measurement
    assert mine.loc["cost_per_million_usd", "basis"] == "measured throughput × assumed price"
    assert (mine.drop(index=["energy_per_token_j", "cost_per_million_usd"])["basis"] == "measured").all()

    published = stats[stats["basis"] == "published"]
    pi_tpot = published[(published["metric"] == "tpot_s") & (published["model"] == "7B q4 (published)")
                        & (published["platform"] == "Raspberry Pi 5 + AI HAT+ 2")]  # fmt: skip
    assert pi_tpot["median"].tolist() == [pytest.approx(0.120)]  # 120 ms/token in seconds
    assert "power" not in set(published["metric"])


def test_summary_files_hold_the_statistics_and_label_every_value(runs_dir, tmp_path):
    runs = report_runs(runs_dir).runs
    table = run_table(runs_dir)
    reference = load_reference(reference_csv())
    stats = statistics_table(runs, table, reference)
    csv_path, md_path = write_summary(table, reference, tmp_path / "figures", statistics=stats,
                                      comparisons=pd.DataFrame(), thermal=None)  # fmt: skip
    written = pd.read_csv(csv_path)
    assert len(written) == len(stats)
    assert set(written["basis"]) == {"measured", "estimated", "published", "measured throughput × assumed price"}
    assert pd.read_csv(tmp_path / "figures" / "runs.csv")["run_id"].tolist() == table["run_id"].tolist()
    text = md_path.read_text()
    assert "## Every metric of every run" in text and "| estimated " in text
    assert "No comparable pairs: no two runs or conditions of other parameters share a model and workload" in text  # an empty comparison frame says so
    # the cost is never labelled plain "measured": its price is an assumption, and the table says so
    assert "| measured throughput × assumed price |" in text and "cost $/M tokens (measured throughput × assumed price)" in text
    assert "(price profile local-cpu)" in text
    assert "Thermal" not in text  # no frame given: no section
    assert "claim (the article calls it estimated)" in text and "REJECTED: above the bandwidth ceiling" in text


def test_plausibility_verdicts_sit_on_the_figures_they_judge(runs_dir):
    from benchlib.analysis.plausibility import plausibility_table

    reference = load_reference(reference_csv())
    stats = statistics_table(report_runs(runs_dir).runs, run_table(runs_dir), reference,
                             plausibility_table(runs_dir, reference))  # fmt: skip
    published = stats[(stats["basis"] == "published") & (stats["platform"] == "Raspberry Pi 5 + AI HAT+ 2")
                      & (stats["model"] == "7B q4 (published)")].set_index("metric")  # fmt: skip
    assert published.loc["throughput_tps", "plausibility"].startswith("implausible: above the bandwidth ceiling")
    assert "no batching gain" in published.loc["throughput_tps", "plausibility"]
    assert published.loc["tpot_s", "plausibility"] == "implausible: above the bandwidth ceiling"
    assert published["plausibility"].drop(index=["throughput_tps", "tpot_s"]).isna().all()
    run = stats[stats["basis"] != "published"].set_index("metric")["plausibility"]
    assert run[["tpot_s", "decode_tps"]].notna().all() and run[["ttft_s", "e2e_s"]].isna().all()
