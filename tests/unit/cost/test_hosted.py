"""Hosted APIs priced per token: the profile, price files, the one formula, and break-even against an owned box."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from benchlib.cost import (
    KINDS,
    HostedApi,
    OwnedHardware,
    RentedInstance,
    break_even,
    break_even_utilization,
    cost_per_million_tokens_usd,
    cost_uncertainty,
    hosted_cost_usd,
    hosted_usd_per_million_output_tokens,
    hourly_cost_usd,
    load_prices,
    profile_from_record,
    profile_record,
    token_cost_usd,
)
from benchlib.errors import ParameterError
from benchlib.paths import repo_root

EXAMPLE = repo_root() / "params" / "prices" / "hosted-example.yaml"
MINI = HostedApi("mini", usd_per_million_input_tokens=0.15, usd_per_million_output_tokens=0.60)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text("schema_version: 1\nprofiles:\n" + text)
    return path


# ----------------------------------------------------------------------------- the profile


def test_kinds_are_owned_rented_hosted():
    assert KINDS == ("owned", "rented", "hosted")
    assert MINI.kind == "hosted"
    assert MINI.power_w is None and MINI.idle_power_w is None  # energy unknown, not zero


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("usd_per_million_input_tokens", -0.15, "field 'usd_per_million_input_tokens' must be a number >= 0, got -0.15"),
        ("usd_per_million_output_tokens", -1, "field 'usd_per_million_output_tokens' must be a number >= 0, got -1"),
        ("usd_per_million_output_tokens", "cheap", "must be a number >= 0, got str 'cheap'"),
        ("usd_per_million_input_tokens", float("nan"), "must be a number >= 0, got nan"),
    ],
)
def test_a_bad_price_is_refused_naming_the_profile_and_field(field, value, expected):
    values = {"usd_per_million_input_tokens": 0.15, "usd_per_million_output_tokens": 0.60, field: value}
    with pytest.raises(ParameterError) as info:
        HostedApi("my-api", **values)
    assert "profile 'my-api'" in str(info.value) and expected in str(info.value)


def test_free_tokens_are_a_valid_price():
    free = HostedApi("free-tier", 0, 0)
    assert hosted_cost_usd(free, 1e6, 1e6) == 0.0


def test_a_hosted_profile_round_trips_through_run_json():
    api = HostedApi("mini", 0.15, 0.60, description="d", sources={"usd_per_million_input_tokens": "page"})
    record = profile_record(api)
    assert record["kind"] == "hosted" and "power_w" not in record
    assert profile_from_record(record) == api
    with pytest.raises(ParameterError, match="valid kinds: owned, rented, hosted"):
        profile_from_record({**record, "kind": "api"})


# ----------------------------------------------------------------------------- price files


def test_unknown_kind_lists_the_three_kinds(tmp_path):
    path = _write(tmp_path, "  my-api:\n    kind: per-token\n    usd_per_million_input_tokens: 0.1\n")
    with pytest.raises(ParameterError, match=re.escape("field 'kind' must be one of owned, rented, hosted, got 'per-token'")):
        load_prices(path)


@pytest.mark.parametrize(
    "entry, expected",
    [
        ("    usd_per_million_input_tokens: 0.15\n", ["field 'usd_per_million_output_tokens' is missing"]),
        (
            "    usd_per_million_input_tokens: -0.15\n    usd_per_million_output_tokens: 0.6\n",
            ["field 'usd_per_million_input_tokens' must be a number >= 0, got -0.15"],
        ),
        (
            "    usd_per_million_input_tokens: 0.15\n    usd_per_million_output_tokens: 0.6\n    power_w: 300\n",
            ["unknown field 'power_w' for a hosted profile", "energy per token is unknown", "valid fields:"],
        ),
        (
            "    usd_per_million_input_tokens: 0.15\n    usd_per_million_output_tokens: 0.6\n    price_per_hour_usd: 1\n",
            ["unknown field 'price_per_hour_usd'", "billed per token", "kind: rented"],
        ),
    ],
)
def test_bad_hosted_entries_are_refused_naming_file_profile_and_field(tmp_path, entry, expected):
    path = _write(tmp_path, "  my-api:\n    kind: hosted\n" + entry)
    with pytest.raises(ParameterError) as info:
        load_prices(path)
    message = str(info.value)
    assert message.startswith(f"{path}: profile 'my-api'")
    for part in expected:
        assert part in message


def test_a_hosted_profile_extends_another_and_keeps_its_sources(tmp_path):
    path = _write(
        tmp_path,
        "  my-api:\n"
        "    kind: hosted\n"
        "    description: my endpoint\n"
        "    usd_per_million_input_tokens: {value: 0.15, source: 'invoice, Nov 2026'}\n"
        "    usd_per_million_output_tokens: {value: 0.60, source: 'invoice, Nov 2026'}\n"
        "  my-api-batch:\n"
        "    extends: my-api\n"
        "    usd_per_million_output_tokens: {value: 0.30, source: 'batch tier, half price'}\n",
    )
    book = load_prices(path)
    batch = book["my-api-batch"]
    assert isinstance(batch, HostedApi)
    assert (batch.usd_per_million_input_tokens, batch.usd_per_million_output_tokens) == (0.15, 0.30)
    assert batch.description == "my endpoint"
    assert batch.sources == {"usd_per_million_input_tokens": "invoice, Nov 2026",
                             "usd_per_million_output_tokens": "batch tier, half price"}  # fmt: skip
    # 1000 requests of 500 + 200 tokens: $0.075 of input + $0.06 of output
    assert hosted_cost_usd(batch, 500_000, 200_000) == pytest.approx(0.135, abs=1e-15)
    assert book["my-api"].usd_per_million_output_tokens == 0.60


def test_a_hosted_profile_cannot_inherit_fields_of_another_kind(tmp_path):
    path = _write(tmp_path, "  pi-api:\n    extends: pi5\n    kind: hosted\n")
    with pytest.raises(ParameterError, match="unknown field '(hardware_usd|amortization_h|power_w)' for a hosted profile"):
        load_prices(path)


def test_the_example_file_quotes_a_dated_source_for_every_price():
    book = load_prices(EXAMPLE)
    hosted = [book[name] for name in book if isinstance(book[name], HostedApi)]
    assert [api.name for api in hosted] == ["gpt-4o-mini", "workers-ai-llama-3.1-8b"]
    for api in hosted:
        assert set(api.sources) == {"usd_per_million_input_tokens", "usd_per_million_output_tokens"}
        for field, source in api.sources.items():
            assert "representative list price, check your provider" in source
            assert re.search(r"https://\S+", source) and re.search(r"read \d{4}-\d{2}-\d{2}", source)
            assert f"{getattr(api, field):.2f}" in source  # the number is the one quoted
    assert book["l4"] == load_prices()["l4"]  # the defaults are untouched


# ----------------------------------------------------------------------------- the formula


def test_hand_computed_cost_of_a_thousand_requests():
    # 1,000 requests of 500 input + 200 output tokens at $0.15/M in and $0.60/M out
    assert hosted_cost_usd(MINI, 1000 * 500, 1000 * 200) == pytest.approx(0.075 + 0.12, abs=1e-15)
    assert token_cost_usd(500_000, 200_000, 0.15, 0.60) == pytest.approx(0.195, abs=1e-15)
    # a million output tokens with their prompts: 0.195 / 0.2
    assert hosted_usd_per_million_output_tokens(MINI, 500, 200) == pytest.approx(0.975, abs=1e-12)
    # only the ratio matters: totals give the same figure
    assert hosted_usd_per_million_output_tokens(MINI, 500_000, 200_000) == pytest.approx(0.975, abs=1e-12)
    # no prompt: the output price itself
    assert hosted_usd_per_million_output_tokens(MINI, 0, 128) == pytest.approx(0.60, abs=1e-12)


def test_the_formula_broadcasts_over_the_hours_of_a_day():
    requests_per_hour = np.array([0.0] * 6 + [1000.0] * 18)  # none at night, 1000/h by day
    hourly = hosted_cost_usd(MINI, requests_per_hour * 500, requests_per_hour * 200)
    assert isinstance(hourly, np.ndarray) and hourly.shape == (24,)
    assert hourly[:6].tolist() == [0.0] * 6
    assert hourly[6:] == pytest.approx([0.195] * 18)
    assert hourly.sum() == pytest.approx(18 * 0.195)
    assert isinstance(hosted_cost_usd(MINI, 1, 1), float)


def test_bad_token_counts_and_wrong_profiles_are_refused():
    with pytest.raises(ParameterError, match="input_tokens must be a number >= 0, got -1"):
        hosted_cost_usd(MINI, -1, 10)
    with pytest.raises(ParameterError, match="output_tokens_per_request must be a positive number, got 0"):
        hosted_usd_per_million_output_tokens(MINI, 500, 0)
    box = OwnedHardware("box", hardware_usd=876, amortization_h=8760, power_w=0, electricity_usd_per_kwh=0)
    with pytest.raises(ParameterError, match="hosted_cost_usd prices a hosted API.*'box' is kind owned"):
        hosted_cost_usd(box, 1, 1)


@pytest.mark.parametrize(
    "call",
    [
        lambda: hourly_cost_usd(MINI),
        lambda: cost_per_million_tokens_usd(MINI, 100.0),
        lambda: cost_uncertainty(MINI, [100.0, 110.0]),
    ],
)
def test_hourly_functions_refuse_a_hosted_api_and_name_the_per_token_ones(call):
    with pytest.raises(ParameterError) as info:
        call()
    message = str(info.value)
    assert "'mini' is a hosted API" in message and "no hourly cost" in message
    assert "hosted_cost_usd(profile, input_tokens, output_tokens)" in message
    assert "hosted_usd_per_million_output_tokens" in message


# ----------------------------------------------------------------------------- break-even

# $0.10 an hour, no electricity: 10 tok/s busy a fraction u costs 0.1 / (36,000 u) * 1e6 = 2.7778 / u per M tokens
BOX = OwnedHardware("box", hardware_usd=876, amortization_h=8760, power_w=0, electricity_usd_per_kwh=0)
# $1.50/M in, $6/M out; 500-token prompts, 200-token answers: (750 + 1200) / 200 = $9.75 per M output tokens
API = HostedApi("api", usd_per_million_input_tokens=1.5, usd_per_million_output_tokens=6.0)


def test_break_even_of_an_owned_box_against_a_hosted_api_by_hand():
    u = break_even_utilization(BOX, API, 10.0, float("nan"), prompt_tokens_per_request=500, output_tokens_per_request=200)
    assert u == pytest.approx(0.1 / 36_000 * 1e6 / 9.75, rel=1e-12)  # 0.2849...
    assert cost_per_million_tokens_usd(BOX, 10.0, u) == pytest.approx(9.75, rel=1e-12)
    result = break_even(BOX, API, 10.0, float("nan"), tokens_per_request=200, prompt_tokens_per_request=500)
    assert result.utilization == pytest.approx(u, rel=1e-12)
    assert result.cloud_usd_per_million == pytest.approx(9.75)
    assert result.requests_per_day == pytest.approx(u * 10.0 * 86_400 / 200)
    assert result.edge_cheaper_above is True
    assert "hosted API 'api' (per token at any volume, 500-token prompts)" in result.explanation
    # the cloud utilization does not move a per-token price
    assert break_even_utilization(
        BOX, API, 10.0, 1.0, 0.25, prompt_tokens_per_request=500, output_tokens_per_request=200
    ) == pytest.approx(u)


def test_break_even_with_idle_power_against_a_hosted_api():
    # a = 0.1 + 0.020 kW * $0.5 = 0.11 $/h idle, b = 0.080 kW * $0.5 = 0.04 $/h more when busy:
    # (0.11 + 0.04 u) / (36,000 u) * 1e6 = 9.75  ->  u = 0.11 / (0.351 - 0.04)
    box = OwnedHardware("box", hardware_usd=876, amortization_h=8760, power_w=100, idle_power_w=20,
                        electricity_usd_per_kwh=0.5)  # fmt: skip
    u = break_even_utilization(box, API, 10.0, float("nan"), prompt_tokens_per_request=500, output_tokens_per_request=200)
    assert u == pytest.approx(0.11 / 0.311, rel=1e-12)
    assert cost_per_million_tokens_usd(box, 10.0, u) == pytest.approx(9.75, rel=1e-12)


def test_no_break_even_when_the_api_is_cheaper_even_against_a_busy_box():
    result = break_even(BOX, MINI, 10.0, float("nan"), tokens_per_request=200, prompt_tokens_per_request=500)
    assert np.isnan(result.utilization) and result.edge_cheaper_above is None
    assert "'box' is dearer per million tokens than hosted API 'mini'" in result.explanation
    assert "edge fully busy: $2.778 vs $0.975" in result.explanation


def test_break_even_with_a_hosted_api_needs_its_tokens_and_refuses_it_on_the_edge_side():
    with pytest.raises(ParameterError, match="pass prompt_tokens_per_request and output_tokens_per_request"):
        break_even_utilization(BOX, API, 10.0, float("nan"))
    with pytest.raises(ParameterError, match="'api' is a hosted API.*edge side of a break-even"):
        break_even_utilization(API, RentedInstance("l4", price_per_hour_usd=0.5), 10.0, 125.0)
