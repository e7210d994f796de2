"""Repeats of one condition pooled: the hierarchical interval covers the runs' spread, and says how many runs."""

import numpy as np

from benchlib.analysis.conditions import conditions_table, pooled_throughput
from benchlib.metrics import summarize
from repeat_fakes import repeat_run


def test_three_repeats_pool_into_one_condition_whose_interval_covers_the_runs_spread():
    # the three runs' per-token latencies differ by 10% and 20%, far more than the 2% spread inside each run
    runs = [repeat_run(rid, "cond", i + 1, tpot, i) for i, (rid, tpot) in
            enumerate((("cond", 0.010), ("cond-r2", 0.011), ("cond-r3", 0.012)))]  # fmt: skip
    lone = repeat_run("other", "other", 1, 0.02, 9)
    table = conditions_table([*runs, lone]).set_index("metric")
    assert set(table["condition_id"]) == {"cond"}  # a condition of one run is not pooled
    tpot = table.loc["tpot_s"]
    assert (tpot["runs"], tpot["requests"]) == (3, 60)
    assert tpot["scope"] == "3 runs, 60 requests: interval covers between-run and within-run variation"
    assert tpot["method"] == "hierarchical bootstrap (runs, then requests within run), at least the t interval over runs"
    within = [summarize(run.requests["tpot_s"], strata=run.requests["prompt_index"]) for run in runs]
    assert all(tpot["ci_high"] - tpot["ci_low"] > 3 * (s.ci_high - s.ci_low) for s in within)
    assert tpot["ci_low"] < 0.0105 and tpot["ci_high"] > 0.0115
    assert table.loc["itl_s", "runs"] == 3 and table.loc["throughput_tps", "run_ids"] == "cond, cond-r2, cond-r3"
    assert "n too small for a p95 and p99 interval" in tpot["tail_note"]  # 60 requests < 72


def test_the_pooled_throughput_is_the_runs_mean_and_its_interval_spans_them():
    runs = [repeat_run(f"c-{i}", "c", i + 1, tpot, i) for i, tpot in enumerate((0.010, 0.011, 0.012))]
    value, low, high = pooled_throughput(runs)
    singles = [pooled_throughput([run])[0] for run in runs]
    assert value == np.mean(singles)
    assert low < value < high and low < np.mean(singles[1:]) and high > np.mean(singles[:2])
