"""The coverage benchmark's arithmetic on hand-made repeats: 3-run intervals cover the other runs, 1-run ones do not."""

import numpy as np

from benchlib.selfbench.coverage import COVERAGE_METRICS, coverage_of_runs
from repeat_fakes import repeat_run


def test_three_run_intervals_cover_where_one_run_intervals_miss():
    # six runs whose per-token latency moves 5% from run to run, 2% spread within each: like this VM
    tpots = 0.010 * (1 + 0.05 * np.random.default_rng(3).standard_normal(6))
    runs = [repeat_run(f"c-r{i + 1}", "c", i + 1, tpot, 10 + i) for i, tpot in enumerate(tpots)]
    result = coverage_of_runs(runs)
    assert (result["runs"], result["requests_per_run"]) == (6, 20)
    assert result["tpot_s_coverage_one_run"] <= 0.2  # 30 ordered pairs: a run's interval rarely holds another's median
    assert result["tpot_s_coverage_3_runs"] >= 0.8  # the goal of make bench's coverage check
    assert result["tpot_s_relative_width_3_runs"] > 3 * result["tpot_s_relative_width_one_run"]
    assert all(f"{metric}_coverage_3_runs" in result for metric in COVERAGE_METRICS)
    assert result["tpot_s_run_medians"] == [round(float(np.median(run.requests["tpot_s"])), 6) for run in runs]
