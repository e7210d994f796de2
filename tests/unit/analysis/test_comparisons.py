"""Pairwise comparisons on hand-built runs: ratios, Holm, verdict wording, energy and cost samples, the files."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchlib.analysis.basis import cost_basis
from benchlib.analysis.comparisons import COLUMNS, METRICS, compare_runs, holm, scaled_samples, verdict
from benchlib.analysis.comparisons_report import write_comparisons
from benchlib.errors import ParameterError
from benchlib.records import StoredRun
from benchlib.stats import bootstrap_two_samples

GROUP = "llama 134.5M Q4_1 · b179c952 | prompts tiny → 8 tok"
BY_NAME = {metric.name: metric for metric in METRICS}
# twelve requests of 8 tokens whose per-token latencies differ a little (no ties)
BASE_TPOT_S = 0.010 + 0.0001 * np.arange(12)


def _requests(tpot_s: np.ndarray, ttft_s: float = 0.03, tokens: int = 8) -> pd.DataFrame:
    tpot_s = np.asarray(tpot_s, dtype=float)
    ttft = ttft_s + 0.001 * np.arange(tpot_s.size)
    return pd.DataFrame({
        "ttft_s": ttft, "tpot_s": tpot_s, "e2e_s": ttft + tpot_s * (tokens - 1), "decode_tps": 1 / tpot_s,
        "output_tokens": tokens, "error": None,
    })  # fmt: skip


def _run(run_id: str, requests: pd.DataFrame, price_kind: str = "rented") -> StoredRun:
    meta = {"schema_version": 1, "run_id": run_id, "status": "complete", "price_profile": {"kind": price_kind}}
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
    assert not frame["significant"].any()
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


def test_a_detectable_shift_inside_the_noise_margin_is_no_significant_difference():
    tight = 0.010 + 0.00001 * np.arange(12)  # a 1% spread: a 6% shift between the runs is unmistakable
    runs = [_run("run-a", _requests(tight)), _run("run-b", _requests(1.06 * tight))]
    rows = [_row("run-a", "cpu"), _row("run-b", "cpu")]
    tpot = _compare(runs, rows).set_index("metric").loc["tpot_s"]
    assert tpot["p_holm"] < 0.01 and tpot["ci_high"] < 1 and not tpot["significant"]
    assert tpot["verdict"].startswith("no significant difference (ratio 0.943 [")
    assert "is within the ±10% run-to-run noise margin; Holm p = " in tpot["verdict"]
    strict = _compare(runs, rows, noise_margin=0.0).set_index("metric").loc["tpot_s"]
    assert strict["significant"] and strict["verdict"].startswith("cpu (run-a) is 1.06× faster per token [")
    with pytest.raises(ValueError, match="noise_margin must be 0 or more"):
        _compare(runs, rows, noise_margin=-0.1)
