"""The decision's inputs: defaults, the shipped files, and bad values with messages that say what to fix."""

import math

import pytest
from decision_fakes import HAND_MADE, price_book, three_runs

from benchlib.decision import (
    FLAT_DEFAULTS,
    decision_inputs,
    diurnal_shares,
    load_decision_inputs,
    make_decision,
)
from benchlib.errors import ParameterError
from benchlib.paths import params_dir


def test_flat_parameters_fill_the_sections_and_come_back_flat():
    inputs = decision_inputs(requests_per_day=1000, tpot_target_s=0.1, on_premises=True)
    # MLPerf's server TTFT limit (2 s) stays; the TPOT limit given replaces its 100 ms
    assert inputs.targets.set_targets() == {"ttft_s": 2.0, "tpot_s": 0.1} and inputs.edge_only
    assert decision_inputs(service_level=None, tpot_target_s=0.2).targets.set_targets() == {"tpot_s": 0.2}
    assert (inputs.service.label, inputs.targets.check_words, inputs.targets.quantile) == ("llama-2-7b q4_0", "p95", 0.95)
    attained = decision_inputs(slo_attainment=0.99).targets
    assert attained.quantile == 0.99 and attained.check_words == "0.99 of requests within every limit"
    assert inputs.workload.shares == (1 / 24,) * 24 and inputs.e2e_output_tokens == 128
    assert set(inputs.flat()) == set(FLAT_DEFAULTS)


def test_the_diurnal_example_sums_to_one_and_peaks_at_15_three_times_its_trough():
    shares = diurnal_shares()
    assert len(shares) == 24 and math.fsum(shares) == pytest.approx(1.0, abs=1e-12)
    assert shares.index(max(shares)) == 15 and shares[15] == pytest.approx(3 / 48) and shares[3] == pytest.approx(1 / 48)


@pytest.mark.parametrize("name", ["decision.yaml", "decision-diurnal.yaml", "decision-small-model.yaml"])
def test_the_shipped_files_load_and_start_with_a_comment(name):
    path = params_dir() / "decision" / name
    assert path.read_text().startswith("# Decision parameters")
    inputs = load_decision_inputs(path)
    assert inputs.workload.hourly_profile == ("diurnal" if name == "decision-diurnal.yaml" else "flat")
    assert inputs.service.model == ("qwen2.5-1.5b" if name == "decision-small-model.yaml" else "llama-2-7b")


def test_a_profile_of_23_entries_says_it_needs_24():
    with pytest.raises(ParameterError) as error:
        decision_inputs(hourly_profile=[1 / 23] * 23)
    assert str(error.value) == "hourly_profile must have 24 entries (one share per hour, 00:00 first), got 23."


def test_a_profile_summing_to_0_9_says_what_it_sums_to():
    with pytest.raises(ParameterError) as error:
        decision_inputs(hourly_profile=[0.9 / 24] * 24)
    assert str(error.value) == "hourly_profile must sum to 1 (within 1e-06), got 0.9; divide each share by the sum."


def test_an_unknown_profile_name_lists_the_built_in_ones():
    with pytest.raises(ParameterError, match="Unknown hourly_profile 'weekly'; valid: flat, diurnal, or a list"):
        decision_inputs(hourly_profile="weekly")


def test_a_negative_request_rate_names_the_parameter():
    with pytest.raises(ParameterError) as error:
        decision_inputs(requests_per_day=-5)
    assert str(error.value) == "Parameter requests_per_day (workload.requests_per_day) must be more than 0.0, got -5."


def test_an_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(ParameterError, match="Unknown decision parameter.s. request_per_day; valid parameters: model, quantization, service_level"):
        decision_inputs(request_per_day=5)


def test_an_unknown_price_profile_lists_the_known_profiles(tmp_path):
    book, _ = price_book(tmp_path)
    inputs = decision_inputs(**HAND_MADE, price_profiles={"box-a": "pi6"})
    with pytest.raises(ParameterError) as error:
        make_decision(inputs, runs=three_runs(book), prices=book)
    assert str(error.value) == (
        "price_profiles: candidate 'box-a' names unknown price profile 'pi6'; known profiles: pi5, l4, a10g, h100, "
        "box-a, cloud-b, cloud-c, pi5-idle3. Add it to a price file and list that file in price_files."
    )


def test_a_name_matching_no_candidate_lists_the_candidates(tmp_path):
    book, _ = price_book(tmp_path)
    inputs = decision_inputs(**HAND_MADE, candidates=["Box Z"])
    with pytest.raises(ParameterError, match="'Box Z' .* matches no candidate; candidates: box-a, cloud-b, cloud-c"):
        make_decision(inputs, runs=three_runs(book), prices=book)


def test_an_override_reprices_a_candidate_and_a_keep_list_narrows_them(tmp_path):
    book, _ = price_book(tmp_path)
    values = {**HAND_MADE, "candidates": ["Box A", "Cloud B"], "price_profiles": {"Cloud B": "cloud-c"}}
    result = make_decision(decision_inputs(**values, requests_per_day=864_000), runs=three_runs(book), prices=book)
    # cloud-b's one instance at cloud-c's $0.20/h ($4.80/day) now beats six owned box-a ($14.40/day)
    assert [v.candidate.name for v in result.verdicts] == ["cloud-b", "box-a"]
    assert result.verdict("Cloud B").candidate.price_profile.name == "cloud-c"
    assert ("cloud-c", "not in candidates") in result.skipped
