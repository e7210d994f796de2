"""A hosted API in price_run and in the cost-model notebook's tables (the tables, not the notebook run)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchlib.analysis import load_reference, run_table
from benchlib.cost import HostedApi, load_prices, price_run, profile_record
from benchlib.cost.report import (
    HOSTED_LABEL,
    break_even_table,
    cost_curves,
    platform_table,
    utilization_grid,
    write_cost_report,
)
from benchlib.errors import ParameterError
from benchlib.metrics import summarize_requests
from benchlib.paths import repo_root
from benchlib.records import STATUS_COMPLETE, RunDirectory
from benchlib.records.record import CostSummary

MINI = HostedApi("mini", usd_per_million_input_tokens=0.15, usd_per_million_output_tokens=0.60)
EXAMPLE = repo_root() / "params" / "prices" / "hosted-example.yaml"
REFERENCE = repo_root() / "data" / "reference" / "article-2026-01.csv"
MEASURED = {"valid": True, "kind": "measured", "mean_power_w": 20.0, "source": "rapl", "boundary": "package"}


def _requests() -> pd.DataFrame:
    """Four requests sent to an API: 1,000 prompt tokens and 400 output tokens in all."""
    sent = 1000.0 + 2.0 * np.arange(4)
    output = np.array([50, 50, 100, 200])
    e2e = 0.2 + output * 0.01
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(4)],
            "attempt": 0,
            "sent_unix_s": sent,
            "last_token_unix_s": sent + e2e,
            "ttft_s": 0.2,
            "e2e_s": e2e,
            "tpot_s": 0.01,
            "decode_tps": 100.0,
            "runtime_decode_tps": 100.0,
            "itl_s": [[0.01] * (n - 1) for n in output],
            "output_tokens": output,
            "prompt_tokens": [100, 200, 300, 400],
        }
    )


def test_price_run_with_a_hosted_api_prices_the_measured_tokens():
    requests = _requests()
    summary = {**summarize_requests(requests), "energy": MEASURED}  # a sensor reading does not enter
    priced = price_run(MINI, summary, requests)
    # 1,000 prompt tokens at $0.15/M + 400 output tokens at $0.60/M = $0.00015 + $0.00024
    assert priced["cost_usd"] == pytest.approx(0.00039, abs=1e-15)
    assert priced["cost_per_million_usd"]["value"] == pytest.approx(0.00039 / 400 * 1e6)  # $0.975
    assert (priced["requests"], priced["prompt_tokens"], priced["output_tokens"]) == (4, 1000, 400)
    low, high = priced["cost_per_million_usd"]["ci_low"], priced["cost_per_million_usd"]["ci_high"]
    # the requests differ in their prompt-to-output ratio (2, 4, 3, 2): the interval has width
    assert 0.15 * 2 + 0.6 <= low < 0.975 < high <= 0.15 * 4 + 0.6
    assert priced["kind"] == "hosted" and priced["price_profile"] == "mini"
    assert priced["hourly_cost_usd"] is None and priced["utilization"] is None
    assert priced["power_w"] is None and "energy unknown" in priced["energy_note"]
    assert priced["power_source"] == "unknown (hosted API)"
    CostSummary.model_validate(priced)  # it fits run.json's summary.cost
    # the run's throughput plays no part: a slower run of the same tokens costs the same
    slow = requests.assign(last_token_unix_s=requests["sent_unix_s"] + 10 * requests["e2e_s"])
    assert price_run(MINI, summarize_requests(slow), slow)["cost_per_million_usd"]["value"] == pytest.approx(0.975)


def test_price_run_with_a_hosted_api_needs_token_counts():
    requests = _requests().drop(columns=["prompt_tokens"])
    with pytest.raises(ParameterError, match="needs the requests' prompt_tokens column"):
        price_run(MINI, summarize_requests(requests), requests)


def _store_hosted_run(runs_dir) -> dict:
    requests = _requests()
    summary = summarize_requests(requests)
    summary["cost"] = price_run(MINI, summary, requests)
    meta = {
        "schema_version": 1,
        "run_id": "api-mini-0123456789",
        "status": STATUS_COMPLETE,
        "started_at": "2026-01-01T00:00:00+00:00",
        "parameters": {"platform": "hosted mini", "profile": "api", "runtime": "openai-chat", "output_tokens": 200},
        "model": {"name": "mini"},
        "price_profile": profile_record(MINI),
        "summary": summary,
    }
    store = RunDirectory(runs_dir / meta["run_id"])
    store.path.mkdir(parents=True)
    store.write_meta(meta)
    store.append_requests(requests.to_dict("records"))
    return meta


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("runs")
    meta = _store_hosted_run(runs_dir)
    book = load_prices(EXAMPLE)
    platforms, profiles = platform_table(
        book, load_reference(REFERENCE), runs_dir, tokens_per_request=200, prompt_tokens_per_request=500
    )
    return book, runs_dir, meta, platforms.set_index("platform", drop=False), profiles


def test_the_platform_table_lists_hosted_apis_at_list_price_and_the_hosted_run(tables):
    _, _, meta, platforms, _ = tables
    assert list(platforms["source"]) == ["published"] * 4 + ["list price"] * 2 + ["measured"]
    mini = platforms.loc[f"gpt-4o-mini ({HOSTED_LABEL})"]
    assert mini["kind"] == "hosted" and mini["profile"] == "gpt-4o-mini"
    assert mini["cost_per_million_usd"] == pytest.approx((500 * 0.15 + 200 * 0.60) / 200)  # $0.975
    assert (mini["prompt_tokens_per_request"], mini["output_tokens_per_request"]) == (500, 200)
    for column in ("throughput_tps", "hourly_cost_usd", "power_w", "energy_per_token_j"):
        assert np.isnan(mini[column]), column  # unknown, not zero
    assert mini["power_source"] == "unknown (hosted API)"
    llama = platforms.loc[f"workers-ai-llama-3.1-8b ({HOSTED_LABEL})"]
    assert llama["cost_per_million_usd"] == pytest.approx((500 * 0.28 + 200 * 0.83) / 200)  # $1.53
    # the measured run is priced as its run.json: its own tokens, 250 prompt and 100 output per request
    run = platforms[platforms["source"] == "measured"].iloc[0]
    assert run["cost_per_million_usd"] == pytest.approx(meta["summary"]["cost"]["cost_per_million_usd"]["value"])
    assert run["cost_per_million_usd"] == pytest.approx(0.975)
    assert (run["prompt_tokens_per_request"], run["output_tokens_per_request"]) == (250, 100)
    assert run["throughput_tps"] > 0 and np.isnan(run["energy_per_token_j"])
    # the published rows have no token shape: their cost comes from throughput
    assert platforms[platforms["source"] == "published"]["prompt_tokens_per_request"].isna().all()


def test_the_analysis_run_table_prices_the_hosted_run_as_its_run_json(tables):
    _, runs_dir, meta, _, _ = tables
    row = run_table(runs_dir).iloc[0]
    stored = meta["summary"]["cost"]["cost_per_million_usd"]
    assert row["cost_per_million_usd"] == pytest.approx(stored["value"])
    assert (row["cost_per_million_usd_ci_low"], row["cost_per_million_usd_ci_high"]) == pytest.approx(
        (stored["ci_low"], stored["ci_high"])
    )


def test_a_hosted_api_is_a_flat_line_against_utilization(tables):
    _, _, _, platforms, profiles = tables
    grid = utilization_grid(0.01, 5)
    curves = cost_curves(platforms.reset_index(drop=True), profiles, grid)
    for label in platforms.index[platforms["kind"] == "hosted"]:
        line = curves[curves["platform"] == label]["cost_per_million_usd"]
        assert list(line) == [platforms.loc[label, "cost_per_million_usd"]] * 5
    pi = curves[curves["platform"] == platforms.index[0]]["cost_per_million_usd"].to_numpy()
    assert pi[0] == pytest.approx(100 * pi[-1])  # the owned box: 1/u (idle = load power)


def test_break_even_table_of_the_box_against_hosted_apis(tables):
    _, _, _, platforms, profiles = tables
    table = break_even_table(platforms.reset_index(drop=True), profiles, tokens_per_request=128).set_index("cloud")
    assert profiles[platforms.index[0]].name == "pi5"
    pi_usd_per_million_full = (230 / 26280 + 8 / 1000 * 0.15) / (8.3 * 3600) * 1e6  # $0.3331, 1/u below 1
    # list price at the row's 500:200 prompt ratio, for 128-token answers: 320 prompt tokens each
    mini = table.loc[f"gpt-4o-mini ({HOSTED_LABEL})"]
    assert mini["cloud_usd_per_million"] == pytest.approx(0.975)
    assert mini["break_even_utilization"] == pytest.approx(pi_usd_per_million_full / 0.975)
    assert mini["break_even_requests_per_day"] == pytest.approx(pi_usd_per_million_full / 0.975 * 8.3 * 86400 / 128)
    assert np.isnan(mini["edge_devices_to_match_cloud"])
    assert "hosted API 'gpt-4o-mini' (per token at any volume, 320-token prompts)" in mini["explanation"]
    # the measured hosted run (250:100 tokens) costs the same per output token as the list price at 500:200
    run = table.loc[platforms.index[platforms["source"] == "measured"][0]]
    assert run["break_even_utilization"] == pytest.approx(mini["break_even_utilization"])
    # the rented classes are unchanged by the hosted rows
    assert table.loc["L4-class GPU · 7B q4 (published)", "edge_devices_to_match_cloud"] == 16


def test_write_cost_report_with_a_hosted_api(tables, tmp_path):
    book, runs_dir, _, _, _ = tables
    paths = write_cost_report(
        book, load_reference(REFERENCE), runs_dir, utilization_grid(0.01, 8), 128, tmp_path, prompt_tokens_per_request=64
    )
    written = pd.read_csv(paths["cost_model_csv"]).set_index("platform")
    assert written.loc[f"gpt-4o-mini ({HOSTED_LABEL})", "cost_per_million_usd"] == pytest.approx(0.15 / 2 + 0.60)
    markdown = paths["cost_model_md"].read_text()
    assert "billed per token: no hourly cost" in markdown and "prompt_tokens_per_request" in markdown
    assert "hosted API 'workers-ai-llama-3.1-8b'" in markdown
    assert all(paths[name].stat().st_size > 0 for name in ("cost_vs_utilization", "break_even"))


def test_without_a_hosted_api_the_report_has_no_token_columns(tmp_path):
    paths = write_cost_report(load_prices(), load_reference(REFERENCE), None, utilization_grid(0.01, 4), 128, tmp_path)
    assert "prompt_tokens_per_request" not in paths["cost_model_md"].read_text()
    assert "hosted" not in paths["cost_model_md"].read_text()
