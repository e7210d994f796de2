"""Cost per million tokens in measured runs, the report, and the cost-model notebook (papermill)."""

import json
from pathlib import Path

import pandas as pd
import papermill
import pytest

from benchlib.cost import load_prices, profile_from_record, profile_record
from benchlib.errors import ParameterError
from benchlib.config import SweepConfig
from benchlib.paths import repo_root
from benchlib.sweep import run_sweep

pytestmark = [pytest.mark.model, pytest.mark.notebook]

ROOT = repo_root()
LOCAL_PRICES = str(ROOT / "params" / "prices" / "local-cpu.yaml")
ARTICLE = {"pi5": 0.33, "l4": 1.11, "a10g": 1.67, "h100": 4.44}


def _smoke(tmp_path, **overrides) -> SweepConfig:
    values = dict(
        profile="cost-test", prompts="tiny", output_tokens=6, repetitions=3, warmup=0, threads=1,
        price_profile="local-cpu", price_files=[LOCAL_PRICES], output_dir=str(tmp_path / "runs"),
    )  # fmt: skip
    values.update(overrides)
    return SweepConfig.from_mapping(values)


def test_unknown_price_profile_is_refused_with_the_valid_names(tmp_path):
    with pytest.raises(ParameterError) as error:
        _smoke(tmp_path, price_profile="t4")
    assert "t4" in str(error.value)
    for name in ("pi5", "l4", "a10g", "h100", "local-cpu"):
        assert name in str(error.value)


def test_profile_record_round_trip():
    for profile in load_prices(LOCAL_PRICES).profiles.values():
        assert profile_from_record(json.loads(json.dumps(profile_record(profile)))) == profile


def test_run_is_priced_and_repriced_without_measuring_again(tmp_path):
    first = run_sweep(_smoke(tmp_path), progress=False)
    cost = first.meta["summary"]["cost"]
    throughput = first.meta["summary"]["system_throughput_tps"]
    assert cost["price_profile"] == "local-cpu"
    # a rented profile at full utilization: price per hour / tokens per hour
    assert cost["cost_per_million_usd"]["value"] == pytest.approx(0.10 / (throughput["value"] * 3600) * 1e6)
    assert cost["cost_per_million_usd"]["ci_low"] <= cost["cost_per_million_usd"]["value"] <= cost["cost_per_million_usd"]["ci_high"]
    # higher throughput means lower cost: the interval ends swap
    assert cost["cost_per_million_usd"]["ci_low"] == pytest.approx(0.10 / (throughput["ci_high"] * 3600) * 1e6, rel=1e-6)

    again = run_sweep(_smoke(tmp_path, price_profile="h100", price_files=[]), progress=False)
    assert again.reused
    assert again.run_dir == first.run_dir, "prices are not part of the run's identity"
    pd.testing.assert_frame_equal(again.requests, first.requests)
    stored = json.loads((first.run_dir / "run.json").read_text())
    assert stored["price_profile"]["name"] == "h100"
    assert stored["summary"]["cost"]["cost_per_million_usd"]["value"] == pytest.approx(
        8.0 / (throughput["value"] * 3600) * 1e6
    )


def test_cost_model_notebook_on_published_numbers_and_a_measured_run(tmp_path):
    run_sweep(_smoke(tmp_path), progress=False)
    figures = tmp_path / "figures"
    user_prices = tmp_path / "mine.yaml"
    user_prices.write_text(
        "schema_version: 1\nprofiles:\n  l4-spot:\n    extends: l4\n    discount: 0.6\n"
        "  pi5:\n    extends: pi5\n    electricity_usd_per_kwh: 0.30\n"
    )
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "cost_model.ipynb"),
        str(tmp_path / "cost_model.ipynb"),
        parameters={
            "price_files": [str(user_prices)], "utilization_min": 0.05, "utilization_points": 5,
            "runs_dir": str(tmp_path / "runs"), "figures_dir": str(figures),
            "reference_csv": str(ROOT / "data" / "reference" / "article-2026-01.csv"),
        },
        cwd=str(ROOT), progress_bar=False,
    )  # fmt: skip
    for name in ("cost_vs_utilization.png", "break_even.png"):
        assert (figures / name).read_bytes()[:4] == b"\x89PNG"
    platforms = pd.read_csv(figures / "cost_model.csv")
    predicted = platforms[platforms["source"] == "predicted"].set_index("profile")
    assert set(predicted.index) == {"pi5", "l4", "a10g", "h100", "l4-spot"}
    # the user's electricity price replaced the article's for pi5, billed at the predicted power
    assert predicted.loc["pi5", "power_source"] == "predicted"
    assert predicted.loc["pi5", "hourly_cost_usd"] == pytest.approx(230 / 26280 + predicted.loc["pi5", "power_w"] / 1e3 * 0.30)
    assert predicted.loc["l4-spot", "cost_per_million_usd"] == pytest.approx(predicted.loc["l4", "cost_per_million_usd"] * 0.4)
    measured = platforms[platforms["source"] == "measured"]
    assert list(measured["profile"]) == ["local-cpu"]
    curves_rows = pd.read_csv(figures / "break_even.csv")
    assert len(curves_rows) == 5  # one owned platform (pi5) against 5 rented ones
    # the article's arithmetic is kept, on its claims, in a table of its own
    claims = pd.read_csv(figures / "cost_model_article_claims.csv").set_index("profile")
    for name in ("l4", "a10g", "h100"):
        assert round(claims.loc[name, "cost_per_million_usd"], 2) == ARTICLE[name]
    text = (figures / "cost_model.md").read_text()
    assert "Break-even" in text and "## The article's claims (its own arithmetic)" in text


def test_cost_model_notebook_runs_without_runs_and_keeps_the_articles_arithmetic(tmp_path):
    figures = tmp_path / "figures"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "cost_model.ipynb"), str(tmp_path / "out.ipynb"),
        parameters={"utilization_points": 3, "runs_dir": "", "figures_dir": str(figures),
                    "reference_csv": str(ROOT / "data" / "reference" / "article-2026-01.csv")},
        cwd=str(ROOT), progress_bar=False,
    )  # fmt: skip
    platforms = pd.read_csv(figures / "cost_model.csv")
    assert (platforms["source"] == "predicted").all()
    # the article's own arithmetic on its claims, reproduced to the cent
    claims = pd.read_csv(figures / "cost_model_article_claims.csv")
    assert (claims["source"] == "the article's claim").all()
    assert dict(zip(claims["profile"], claims["cost_per_million_usd"].round(2))) == ARTICLE
    energy = dict(zip(claims["profile"], claims["energy_per_token_j"].round(2)))
    assert energy == {"pi5": 0.96, "l4": 0.56, "a10g": 0.6, "h100": 0.7}
    # every break-even shown is computed from predictions: the Pi's is NaN or under 1, never the claims' 0.3/0.2/0.075
    table = pd.read_csv(figures / "break_even.csv").set_index("cloud")
    breaks = table["fully_busy_cloud_break_even"]
    assert breaks.round(3).tolist() != [0.3, 0.2, 0.075]
    assert all(b != b or 0 < b <= 1 for b in [*breaks, *table["equal_utilization_break_even"]])
    # equal utilization first, the fully busy cloud second; no requests/day for a break-even that does not exist
    columns = list(table.columns)
    assert columns.index("equal_utilization_break_even") < columns.index("fully_busy_cloud_break_even")
    none = table[table["equal_utilization_break_even"].isna()]
    assert none["equal_utilization_requests_per_day"].isna().all()
    assert not none["equal_utilization_explanation"].str.contains("requests/day").any()
