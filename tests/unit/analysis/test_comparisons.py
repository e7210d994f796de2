"""Comparisons on hand-built runs: ratios, Holm, verdict wording, the margin, scope, conditions, energy and cost."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from benchlib.analysis.basis import cost_basis
from benchlib.analysis.comparisons import (
    COLUMNS,
    METRICS,
    SCOPE_RUN_PAIR,
    compare_runs,
    compare_samples,
    holm,
    scaled_samples,
    verdict,
)
from benchlib.analysis.comparisons_report import write_comparisons
from benchlib.analysis.condition_comparisons import condition_scope
from benchlib.errors import ParameterError
from benchlib.records import StoredRun
from benchlib.records.repeats import repeat_run_id
from benchlib.stats import bootstrap_two_samples

GROUP = "llama 134.5M Q4_1 · b179c952 | prompts tiny → 8 tok"
BY_NAME = {metric.name: metric for metric in METRICS}
# twelve requests of 8 tokens whose per-token latencies differ a little (no ties)
BASE_TPOT_S = 0.010 + 0.0001 * np.arange(12)
TIGHT_TPOT_S = 0.010 + 0.00001 * np.arange(12)  # a 1% spread inside a run
MARGIN_WORDS = ", within the ±10% practical-equivalence margin (a margin, not a test: "


def _requests(tpot_s: np.ndarray, ttft_s: float = 0.03, tokens: int = 8) -> pd.DataFrame:
    tpot_s = np.asarray(tpot_s, dtype=float)
    ttft = ttft_s + 0.001 * np.arange(tpot_s.size)
    return pd.DataFrame({
        "ttft_s": ttft, "tpot_s": tpot_s, "e2e_s": ttft + tpot_s * (tokens - 1), "decode_tps": 1 / tpot_s,
        "output_tokens": tokens, "error": None,
    })  # fmt: skip


def _run(run_id: str, requests: pd.DataFrame, price_kind: str = "rented", **meta) -> StoredRun:
    meta = {"schema_version": 1, "run_id": run_id, "status": "complete", "price_profile": {"kind": price_kind}, **meta}
    return StoredRun(Path("/runs") / run_id, meta, "complete", requests)


def _row(run_id: str, platform: str, group: str = GROUP, energy_j: float = 0.6, energy_kind: str | None = "measured",
         cost_usd: float = 1.2, power_estimated: bool = False) -> dict:  # fmt: skip
    return {"run_id": run_id, "platform": platform, "comparison_group": group, "energy_per_token_j": energy_j,
            "energy_kind": energy_kind, "cost_per_million_usd": cost_usd,
            "cost_basis": cost_basis(power_estimated=power_estimated)}  # fmt: skip


def _compare(runs, rows, **kwargs) -> pd.DataFrame:
    return compare_runs(runs, pd.DataFrame(rows), n_resamples=500, **kwargs)


def test_samples_twice_as_slow_give_a_ratio_of_exactly_two_and_a_2x_verdict():
    runs = [_run("run-a", _requests(2 * BASE_TPOT_S)), _run("run-b", _requests(BASE_TPOT_S))]
    frame = _compare(runs, [_row("run-a", "pi5"), _row("run-b", "l4")])
    assert list(frame.columns) == COLUMNS
    tpot = frame.set_index("metric").loc["tpot_s"]
    assert (tpot["run_a"], tpot["run_b"], tpot["platform_a"], tpot["platform_b"]) == ("run-a", "run-b", "pi5", "l4")
    assert tpot["ratio"] == 2.0 and tpot["median_a"] == 2 * tpot["median_b"]
    assert 1 < tpot["ci_low"] <= 2.0 <= tpot["ci_high"]
    assert tpot["n_a"] == tpot["n_b"] == 12 and tpot["basis"] == "measured" and tpot["significant"]
    assert tpot["verdict"].startswith("l4 (run-b) is 2× faster per token [")
    decode = frame.set_index("metric").loc["decode_tps"]
    assert decode["ratio"] == pytest.approx(0.5) and decode["better"] == "higher"
    assert decode["verdict"].startswith("l4 (run-b) has 2× higher throughput [")


def test_the_earlier_run_id_is_a_whatever_order_the_runs_come_in():
    runs = [_run("run-b", _requests(BASE_TPOT_S)), _run("run-a", _requests(2 * BASE_TPOT_S))]
    frame = _compare(runs, [_row("run-b", "l4"), _row("run-a", "pi5")])
    assert set(frame["run_a"]) == {"run-a"} and frame.set_index("metric").loc["tpot_s", "ratio"] == 2.0


def test_holm_matches_a_hand_computation_of_three_p_values():
    # sorted 0.01, 0.03, 0.04 -> 3 * 0.01 = 0.03; max(0.03, 2 * 0.03) = 0.06; max(0.06, 1 * 0.04) = 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    adjusted = holm([0.01, np.nan, 0.04, 0.03])  # a comparison not tested is not in the family
    assert np.isnan(adjusted[1]) and adjusted[[0, 2, 3]] == pytest.approx([0.03, 0.06, 0.06])


def test_holm_runs_over_every_tested_comparison_of_the_report():
    runs = [_run("run-a", _requests(2 * BASE_TPOT_S)), _run("run-b", _requests(BASE_TPOT_S)),
            _run("run-c", _requests(BASE_TPOT_S))]  # fmt: skip
    frame = _compare(runs, [_row("run-a", "pi5"), _row("run-b", "l4"), _row("run-c", "l4 again")])
    assert len(frame) == 3 * len(METRICS)  # three pairs
    p = frame["p_value"].to_numpy()
    order = np.argsort(p)
    m = len(p)
    expected = np.maximum.accumulate(np.minimum(1, (m - np.arange(m)) * p[order]))
    assert frame["p_holm"].to_numpy()[order] == pytest.approx(expected)


def test_identical_samples_are_no_significant_difference():
    runs = [_run("run-a", _requests(BASE_TPOT_S)), _run("run-b", _requests(BASE_TPOT_S))]
    frame = _compare(runs, [_row("run-a", "cpu"), _row("run-b", "cpu")])
    assert not frame["significant"].any() and frame["practically_equivalent"].all()
    assert not frame["verdict"].str.contains("margin").any()
    tpot = frame.set_index("metric").loc["tpot_s"]
    assert tpot["ratio"] == 1.0 and tpot["p_value"] == 1.0 and tpot["ci_low"] <= 1 <= tpot["ci_high"]
    assert tpot["verdict"] == (
        f"no significant difference (ratio 1 [{tpot['ci_low']:.3g}, {tpot['ci_high']:.3g}], Holm p = 1)"
    )


def test_a_small_p_value_with_an_interval_holding_one_is_not_significant():
    runs = [_run("run-a", _requests(BASE_TPOT_S)), _run("run-b", _requests(BASE_TPOT_S + 1e-5))]
    frame = _compare(runs, [_row("run-a", "cpu"), _row("run-b", "cpu")])
    tpot = frame.set_index("metric").loc["tpot_s"]
    assert tpot["ci_low"] <= 1 <= tpot["ci_high"] and not tpot["significant"]
    assert tpot["verdict"].startswith("no significant difference")


@pytest.mark.parametrize(
    ("metric", "ratio", "ci", "expected"),
    [
        ("tpot_s", 0.5, (0.4, 0.625), "A is 2× faster per token [1.6, 2.5]"),
        ("ttft_s", 4.0, (3.0, 5.0), "B is 4× faster to first token [3, 5]"),
        ("e2e_s", 0.8, (0.5, 0.9), "A is 1.25× faster end to end [1.11, 2]"),
        ("decode_tps", 1.8, (1.7, 1.9), "A has 1.8× higher throughput [1.7, 1.9]"),
        ("decode_tps", 0.5, (0.4, 0.625), "B has 2× higher throughput [1.6, 2.5]"),
        ("energy_per_token_j", 2.0, (1.6, 2.5), "B uses 2× less energy per token [1.6, 2.5]"),
        ("cost_per_million_usd", 0.25, (0.2, 0.5), "A is 4× cheaper per million tokens [2, 5]"),
    ],
)
def test_the_verdict_names_the_winner_with_a_factor_of_at_least_one(metric, ratio, ci, expected):
    text = verdict(BY_NAME[metric], "A", "B", ratio, *ci, p_holm=0.001, significant=True)
    assert text == f"{expected} (Holm p = 0.001)"


def test_energy_and_cost_samples_reproduce_the_run_tables_values():
    requests = _requests(BASE_TPOT_S)
    sample = scaled_samples(requests, 0.6)
    assert np.median(sample) == pytest.approx(0.6, rel=1e-12)
    # proportional to each request's seconds per output token
    rate = sample / (requests["e2e_s"].to_numpy() / 8)
    assert rate == pytest.approx(np.full(12, rate[0]), rel=1e-12)
    runs = [_run("run-a", requests), _run("run-b", _requests(3 * BASE_TPOT_S))]
    rows = [_row("run-a", "pi5", energy_j=0.6, cost_usd=0.9), _row("run-b", "l4", energy_j=1.8, cost_usd=0.3)]
    frame = _compare(runs, rows)
    energy, cost = (frame.set_index("metric").loc[name] for name in ("energy_per_token_j", "cost_per_million_usd"))
    assert (energy["median_a"], energy["median_b"]) == pytest.approx((0.6, 1.8), rel=1e-12)
    assert energy["ratio"] == pytest.approx(1 / 3) and energy["basis"] == "measured"
    assert energy["verdict"].startswith("pi5 (run-a) uses 3× less energy per token [")
    assert (cost["median_a"], cost["median_b"], cost["ratio"]) == pytest.approx((0.9, 0.3, 3.0), rel=1e-12)
    assert cost["basis"] == "measured throughput × assumed price" and np.isfinite(cost["p_value"])  # tested
    assert cost["verdict"].startswith("l4 (run-b) is 3× cheaper per million tokens [")


def test_estimated_energy_is_described_not_tested():
    runs = [_run("run-a", _requests(BASE_TPOT_S), price_kind="owned"), _run("run-b", _requests(2 * BASE_TPOT_S))]
    # the run table's cost_basis: owned hardware whose electricity is billed at an estimated power
    rows = [_row("run-a", "pi5", energy_kind="estimated", power_estimated=True), _row("run-b", "l4", energy_kind="measured")]
    frame = _compare(runs, rows).set_index("metric")
    for name in ("energy_per_token_j", "cost_per_million_usd"):  # owned hardware billed at an estimated power
        row = frame.loc[name]
        assert row["basis"] == "estimated" and np.isnan(row["p_value"]) and np.isnan(row["p_holm"])
        assert not row["significant"] and row["ratio"] == pytest.approx(1.0)
        assert row["verdict"].startswith("not tested:") and "a ratio of two estimates is not a measurement" in row[
            "verdict"]
        assert "run-a" in row["verdict"] and "run-b" not in row["verdict"].split(";")[0]
    assert frame["p_holm"].notna().sum() == 4  # the family holds the four request metrics only


def test_a_run_without_energy_or_price_says_so():
    runs = [_run("run-a", _requests(BASE_TPOT_S)), _run("run-b", _requests(BASE_TPOT_S))]
    rows = [_row("run-a", "pi5", energy_j=np.nan, energy_kind=None), _row("run-b", "l4", cost_usd=np.nan)]
    frame = _compare(runs, rows).set_index("metric")
    assert frame.loc["energy_per_token_j", "verdict"] == "not tested: run-a has no valid energy summary"
    assert frame.loc["cost_per_million_usd", "verdict"] == "not tested: run-b has no price profile"
    assert (frame.loc[["energy_per_token_j", "cost_per_million_usd"], "basis"] == "unavailable").all()


def test_runs_of_other_groups_are_not_paired_and_single_run_groups_are_listed(tmp_path):
    other = "llama 134.5M Q4_1 · b179c952 | prompts tiny → 16 tok"
    runs = [_run("run-a", _requests(BASE_TPOT_S)), _run("run-b", _requests(BASE_TPOT_S)),
            _run("run-c", _requests(BASE_TPOT_S, tokens=16))]  # fmt: skip
    frame = _compare(runs, [_row("run-a", "cpu"), _row("run-b", "cpu"), _row("run-c", "cpu", group=other)])
    assert len(frame) == len(METRICS) and "run-c" not in {*frame["run_a"], *frame["run_b"]}
    csv_path, md_path = write_comparisons(frame, tmp_path / "figures")
    assert pd.read_csv(csv_path).shape == (len(METRICS), len(COLUMNS))
    text = md_path.read_text()
    assert f"## {GROUP}" in text and "Holm-corrected over the 6 tested comparisons" in text
    assert "## Groups with a single run" in text and f"- {other}: `run-c`" in text
    assert "No two runs share a model and workload" not in text and "No comparable pairs" not in text


def test_nothing_comparable_says_so(tmp_path):
    runs = [_run("run-a", _requests(BASE_TPOT_S)), _run("run-c", _requests(BASE_TPOT_S, tokens=16))]
    frame = _compare(runs, [_row("run-a", "cpu"), _row("run-c", "cpu", group="other group")])
    assert frame.empty and list(frame.columns) == COLUMNS
    csv_path, md_path = write_comparisons(frame, tmp_path)
    text = md_path.read_text()
    assert "No comparable pairs: no two runs share a model and workload" in text
    assert "over the 0 tested" not in text and "no comparable pairs were tested" in text  # issue 24
    assert f"- {GROUP}: `run-a`" in text and "- other group: `run-c`" in text


def test_the_two_sample_bootstrap_needs_two_values_in_each_sample():
    with pytest.raises(ParameterError, match="at least two values"):
        bootstrap_two_samples([1.0], [1.0, 2.0], np.median)


def _condition(condition: str, factors, platform: str = "cpu", **row) -> tuple[list[StoredRun], list[dict]]:
    """Repeats of one condition: repeat k's requests (tight, 1% spread) and table values scaled by ``factors[k]``."""
    runs, rows = [], []
    for index, factor in enumerate(factors, start=1):
        run_id = repeat_run_id(condition, index)
        requests = _requests(factor * TIGHT_TPOT_S, ttft_s=0.03 * factor)
        runs.append(_run(run_id, requests, condition_id=condition, repeat_index=index))
        rows.append(_row(run_id, platform, energy_j=0.6 * factor, cost_usd=1.2 * factor, **row))
    return runs, rows


def test_a_6_percent_shift_between_two_tight_runs_is_significant_and_practically_equivalent():
    runs = [_run("run-a", _requests(TIGHT_TPOT_S)), _run("run-b", _requests(1.06 * TIGHT_TPOT_S))]
    rows = [_row("run-a", "cpu"), _row("run-b", "cpu")]
    tpot = _compare(runs, rows).set_index("metric").loc["tpot_s"]
    # the test alone decides: a 6% shift with a 1% spread is unmistakable
    assert tpot["p_holm"] < 0.01 and tpot["ci_high"] < 1 and tpot["significant"]
    assert tpot["practically_equivalent"]  # 1 / 1.06 lies within [1 / 1.1, 1.1]
    assert tpot["verdict"].startswith("cpu (run-a) is 1.06× faster per token [")
    head, _, why = tpot["verdict"].partition(MARGIN_WORDS)
    assert head.endswith(f"(Holm p = {tpot['p_holm']:.2g})") and "6–20%" in why and why.endswith(")")
    strict = _compare(runs, rows, equivalence_margin=0.0).set_index("metric").loc["tpot_s"]
    assert strict["significant"] and not strict["practically_equivalent"]
    assert strict["verdict"] == head  # no margin, no margin words: the same test, the same sentence
    with pytest.raises(ValueError, match="equivalence_margin must be 0 or more"):
        _compare(runs, rows, equivalence_margin=-0.1)


def test_a_50_percent_shift_is_significant_and_not_practically_equivalent():
    runs = [_run("run-a", _requests(TIGHT_TPOT_S)), _run("run-b", _requests(1.5 * TIGHT_TPOT_S))]
    tpot = _compare(runs, [_row("run-a", "cpu"), _row("run-b", "cpu")]).set_index("metric").loc["tpot_s"]
    assert tpot["significant"] and not tpot["practically_equivalent"]
    assert tpot["verdict"].startswith("cpu (run-a) is 1.5× faster per token [")
    assert tpot["verdict"].endswith(f"(Holm p = {tpot['p_holm']:.2g})") and "margin" not in tpot["verdict"]


def test_every_run_against_run_row_says_its_test_covers_one_run_each():
    runs = [_run("run-a", _requests(2 * BASE_TPOT_S)), _run("run-b", _requests(BASE_TPOT_S))]
    rows = [_row("run-a", "pi5", energy_j=np.nan, energy_kind=None), _row("run-b", "l4")]
    frame = _compare(runs, rows)
    assert (frame["scope"] == "one run each: the test covers within-run variation only").all()
    assert SCOPE_RUN_PAIR == frame["scope"].iloc[0]  # tested rows and the untested energy row alike


def test_conditions_of_three_runs_30_percent_apart_are_compared_at_run_level():
    runs_a, rows_a = _condition("cond-a", (1.0, 1.03, 0.97))
    runs_b, rows_b = _condition("cond-b", (1.3, 1.3 * 1.02, 1.3 * 0.98))
    frame = _compare([*runs_b, *runs_a], [*rows_a, *rows_b])
    # one row per metric for the two conditions; their runs are not also compared one by one
    assert len(frame) == len(METRICS) and set(zip(frame["run_a"], frame["run_b"])) == {("cond-a", "cond-b")}
    assert (frame["scope"] == condition_scope(3, 3)).all()
    assert condition_scope(3, 3) == "3 vs 3 runs: run-level variation (Welch t on log run medians)"
    by_metric = frame.set_index("metric")
    tpot = by_metric.loc["tpot_s"]
    assert tpot["n_a"] == tpot["n_b"] == 3  # runs, not requests
    medians_a = [np.median(f * TIGHT_TPOT_S) for f in (1.0, 1.03, 0.97)]
    medians_b = [np.median(f * TIGHT_TPOT_S) for f in (1.3, 1.3 * 1.02, 1.3 * 0.98)]
    assert tpot["ratio"] == pytest.approx(np.median(medians_a) / np.median(medians_b)) == pytest.approx(1 / 1.3)
    welch = scipy_stats.ttest_ind(np.log(medians_a), np.log(medians_b), equal_var=False)
    interval = welch.confidence_interval(confidence_level=0.95)
    assert tpot["p_value"] == pytest.approx(welch.pvalue)
    assert (tpot["ci_low"], tpot["ci_high"]) == pytest.approx((np.exp(interval.low), np.exp(interval.high)))
    assert tpot["significant"] and not tpot["practically_equivalent"]
    assert tpot["verdict"].startswith("cpu (condition cond-a, 3 runs) is 1.3× faster per token [")
    # run-level variation widens the interval far beyond two single runs' (their requests spread 1%)
    single = compare_samples(runs_a[0].requests["tpot_s"], runs_b[0].requests["tpot_s"], n_resamples=500)
    assert np.log(tpot["ci_high"] / tpot["ci_low"]) > 3 * np.log(single["ci_high"] / single["ci_low"])
    # energy and cost: each run's table value is its sample
    energy = by_metric.loc["energy_per_token_j"]
    assert (energy["median_a"], energy["median_b"]) == pytest.approx((0.6, 0.6 * 1.3))
    assert energy["basis"] == "measured" and energy["significant"]
    assert by_metric.loc["cost_per_million_usd", "median_a"] == pytest.approx(1.2)
    assert frame["p_holm"].notna().all()  # Holm-corrected with every other row


def test_conditions_of_three_runs_with_equal_run_medians_are_no_significant_difference():
    runs_a, rows_a = _condition("cond-a", (1.0, 1.03, 0.97))
    runs_b, rows_b = _condition("cond-b", (0.97, 1.0, 1.03))
    frame = _compare([*runs_a, *runs_b], [*rows_a, *rows_b])
    assert len(frame) == len(METRICS) and not frame["significant"].any()
    tpot = frame.set_index("metric").loc["tpot_s"]
    assert tpot["ratio"] == pytest.approx(1.0) and tpot["p_value"] == pytest.approx(1.0)
    assert tpot["practically_equivalent"] and tpot["verdict"].startswith("no significant difference (ratio 1 [")


def test_repeats_of_one_condition_are_not_compared_with_each_other(tmp_path):
    runs_a, rows_a = _condition("cond-a", (1.0, 1.03, 0.97))
    runs_b, rows_b = _condition("cond-b", (1.0, 1.02))  # two runs: too few for a run-level comparison
    frame = _compare([*runs_a, *runs_b], [*rows_a, *rows_b])
    pairs = set(zip(frame["run_a"], frame["run_b"]))
    assert pairs == {(a.run_id, b.run_id) for a in runs_a for b in runs_b}  # 3 × 2 pairs of runs, none within
    assert len(frame) == 6 * len(METRICS) and (frame["scope"] == SCOPE_RUN_PAIR).all()
    _, md_path = write_comparisons(frame, tmp_path)
    assert "- `cond-a-r2`: cpu (one of 3 runs of condition `cond-a`)" in md_path.read_text()
    # a group holding the repeats of a single condition has nothing to compare, and says why
    alone = _compare(runs_a, rows_a)
    assert alone.empty
    _, md_path = write_comparisons(alone, tmp_path / "alone")
    text = md_path.read_text()
    assert "No comparable pairs: the runs that share a model and workload are repeats of one condition" in text
    assert f"- {GROUP}: `cond-a`, `cond-a-r2`, `cond-a-r3`" in text


def test_run_level_comparisons_in_the_report_and_with_estimated_energy(tmp_path):
    runs_a, rows_a = _condition("cond-a", (1.0, 1.03, 0.97), energy_kind="estimated")
    runs_b, rows_b = _condition("cond-b", (1.3, 1.3 * 1.02, 1.3 * 0.98), platform="l4")
    runs_c, rows_c = _condition("cond-c", (1.0,))  # one run: compared run against run with the others
    frame = _compare([*runs_a, *runs_b, *runs_c], [*rows_a, *rows_b, *rows_c])
    conditions = frame[frame["scope"] == condition_scope(3, 3)]
    assert len(conditions) == len(METRICS) and len(frame) == (1 + 3 + 3) * len(METRICS)
    energy = conditions.set_index("metric").loc["energy_per_token_j"]
    assert energy["basis"] == "estimated" and np.isnan(energy["p_value"]) and not energy["significant"]
    assert energy["verdict"].startswith("not tested: energy per token rests on estimated power")
    assert "condition cond-a" in energy["verdict"] and "condition cond-b" not in energy["verdict"]
    _, md_path = write_comparisons(frame, tmp_path)
    text = md_path.read_text()
    assert "Conditions of 3 or more runs, compared with each other at run level: `cond-a` (3 runs); `cond-b`" in text
    assert "| 3/3 runs " in text and "Welch's t-test" in text and "a margin, not a test" in text
