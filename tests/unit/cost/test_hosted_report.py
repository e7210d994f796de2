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
from benchlib.records import RunDirectory, RunStatus
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
        "status": RunStatus.COMPLETE,
        "started_at": "2026-01-01T00:00:00+00:00",
        "parameters": {"platform": "hosted mini", "profile": "api", "runtime": "openai-chat", "output_tokens": 200},
        "model": {"name": "mini"},
        "price_profile": profile_record(MINI),
        "summary": summary,
    }
    store = RunDirectory(runs_dir / meta["run_id"])
    store.path.mkdir(parents=True)
    store.write_record(meta)
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
    # the article's platforms at their predicted serving points (never at the article's claimed throughputs)
    assert list(platforms["source"]) == ["predicted"] * 4 + ["list price"] * 2 + ["measured"]
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
    # the predicted rows have no token shape: their cost comes from throughput, with its interval
    predicted = platforms[platforms["source"] == "predicted"]
    assert predicted["prompt_tokens_per_request"].isna().all()
    assert (predicted["throughput_tps_ci_low"] < predicted["throughput_tps"]).all()
    assert (predicted["throughput_tps"] < predicted["throughput_tps_ci_high"]).all()
    assert predicted["basis"].str.startswith("predicted: llama-2-7b q4_0").all()


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
    row = platforms.iloc[0]
    pi = curves[curves["platform"] == row["platform"]]["cost_per_million_usd"].to_numpy()
    # the owned box: amortization and idle power are paid at every utilization, the load power only when busy
    profile = profiles[row["platform"]]
    hourly = 230 / 26280 + (grid * row["power_w"] + (1 - grid) * profile.idle_power_w) / 1000 * 0.15
    assert pi == pytest.approx(hourly / (row["throughput_tps"] * grid * 3600) * 1e6)
    assert pi[-1] == pytest.approx(row["cost_per_million_usd"])


def test_break_even_table_of_the_box_against_hosted_apis(tables):
    _, _, _, platforms, profiles = tables
    table = break_even_table(platforms.reset_index(drop=True), profiles, tokens_per_request=128).set_index("cloud")
    pi = platforms.iloc[0]
    assert profiles[pi["platform"]].name == "pi5" and pi["power_source"] == "predicted"
    # the pi5 profile ($230 over 26,280 h, $0.15/kWh) at the predicted power and throughput of a 7B Q4 on a Pi 5
    pi_usd_per_million_full = (230 / 26280 + pi["power_w"] / 1000 * 0.15) / (pi["throughput_tps"] * 3600) * 1e6
    assert pi["cost_per_million_usd"] == pytest.approx(pi_usd_per_million_full)
    mini = table.loc[f"gpt-4o-mini ({HOSTED_LABEL})"]
    assert mini["cloud_usd_per_million_full"] == pytest.approx(0.975)
    # a 7B on a Pi costs more per token fully busy than gpt-4o-mini's list price: no break-even at any utilization
    assert pi_usd_per_million_full > 0.975
    assert np.isnan(mini["equal_utilization_break_even"]) and np.isnan(mini["edge_devices_to_match_cloud"])
    assert "hosted API 'gpt-4o-mini'" in mini["equal_utilization_explanation"]
    # a hosted API has no utilization: one comparison, not a second "fully busy" copy of it
    assert np.isnan(mini["fully_busy_cloud_break_even"]) and np.isnan(mini["fully_busy_cloud_requests_per_day"])
    assert mini["fully_busy_cloud_explanation"].startswith("Not a second comparison: a hosted API has no utilization")
    # the measured hosted run (250:100 tokens) costs the same per output token as the list price at 500:200
    run = table.loc[platforms.index[platforms["source"] == "measured"][0]]
    assert run["cloud_usd_per_million_full"] == pytest.approx(mini["cloud_usd_per_million_full"])
    # Pis to match an L4 at its predicted serving point: both throughputs predicted
    l4 = platforms[platforms["platform"].str.startswith("L4-class GPU")].iloc[0]
    devices = table.loc[l4["platform"], "edge_devices_to_match_cloud"]
    assert devices == -(-l4["throughput_tps"] // pi["throughput_tps"]) and devices > 100


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
