"""The batch-1 ceiling by hand, and the verdicts on the article's figures."""

import pandas as pd
import pytest

from benchlib.analysis.plausibility import (
    PLAUSIBILITY_COLUMNS,
    VERDICT_IMPLAUSIBLE,
    VERDICT_NO_BATCHING_GAIN,
    VERDICT_OK,
    decode_ceiling_tps,
    plausibility_findings,
    plausibility_table,
    write_plausibility,
)
from benchlib.analysis.plausibility_evidence import EVIDENCE_COLUMNS, VERDICT_BEYOND_EVIDENCE
from benchlib.paths import reference_csv


@pytest.fixture(scope="module")
def article():
    return plausibility_table(reference=reference_csv()).set_index("name")


def test_ceiling_by_hand():
    # 17.1 GB/s over a 7B Q4 (3.9e9 B) plus 64 cached tokens of 524288 B: 17.1e9 / 3.93355e9 = 4.347 tok/s
    assert decode_ceiling_tps(17.1, 3.9e9, 524288, 64) == pytest.approx(4.3472, abs=1e-3)
    assert decode_ceiling_tps(17.1, 3.9e9, 0, 0) == pytest.approx(4.3846, abs=1e-3)
    # SmolLM2-135M: 96,576,768 B of weights, 23,040 B of KV per token, 20 prompt + 8 output tokens -> 24 mean
    assert decode_ceiling_tps(10.0, 96_576_768, 23_040, 24) == pytest.approx(10e9 / (96_576_768 + 552_960))


def test_the_article_pi_7b_figure_is_implausible(article):
    pi = article.loc["Raspberry Pi 5 + AI HAT+ 2 7B q4: throughput (published)"]
    assert pi["ceiling_tps"] == pytest.approx(4.35, abs=0.05)
    assert pi["percent_of_ceiling"] == pytest.approx(100 * 8.3 / 4.3472, abs=0.5)
    assert VERDICT_IMPLAUSIBLE in pi["verdict"] and VERDICT_NO_BATCHING_GAIN in pi["verdict"]
    latency = article.loc["Raspberry Pi 5 + AI HAT+ 2 7B q4: 1 / per-token latency (published)"]
    assert latency["figure_tps"] == pytest.approx(1000 / 120) and latency["verdict"] == VERDICT_IMPLAUSIBLE


def test_the_article_cloud_throughputs_are_batch_1_figures(article):
    for platform, ceiling in (("L4-class GPU", 300e9 / 3.93355e9), ("A10G-class GPU", 600e9 / 3.93355e9),
                              ("H100-class GPU", 2000e9 / 3.93355e9)):  # fmt: skip
        row = article.loc[f"{platform} 7B q4: throughput (published)"]
        assert VERDICT_NO_BATCHING_GAIN in row["verdict"]
        assert row["ceiling_tps"] == pytest.approx(ceiling, rel=1e-4)
        assert (VERDICT_IMPLAUSIBLE in row["verdict"]) == (row["figure_tps"] > ceiling)
    # under the ceiling (98%), but beyond the best published datacenter-GPU decode (issue 22's second line)
    h100 = article.loc["H100-class GPU 7B q4: 1 / per-token latency (published)"]
    assert h100["verdict"].startswith(VERDICT_BEYOND_EVIDENCE)
    assert h100["figure_tps"] > h100["evidence_ceiling_tps"] and h100["best_published_efficiency"] < 0.9


def test_every_row_is_labelled_and_says_its_bandwidth_basis(article):
    assert sorted(article.reset_index().columns) == sorted(PLAUSIBILITY_COLUMNS + EVIDENCE_COLUMNS)
    assert set(article["label"]) == {"published"} and set(article["bandwidth_basis"]) == {"datasheet"}


def test_a_throughput_with_batching_gain_is_not_held_to_the_batch_1_ceiling():
    reference = pd.DataFrame([
        {"platform": "L4-class GPU", "platform_class": "cloud", "model_size": "7B q4", "metric": m, "value": v,
         "unit": u, "kind": "measured", "source": "test"}
        for m, v, u in (("per_token_latency", 20, "ms"), ("throughput", 400, "tokens/s"))
    ])  # fmt: skip
    frame = plausibility_table(reference=reference).set_index("metric")
    assert frame.loc["throughput", "verdict"] == VERDICT_OK  # 8 streams of 50 tok/s: batched, ceiling is per stream
    assert frame.loc["per_token_latency", "verdict"] == VERDICT_OK  # 50 tok/s of a 76 tok/s ceiling


def test_write_plausibility_writes_the_csv_and_the_figure(tmp_path, article):
    paths = write_plausibility(article.reset_index(), tmp_path)
    assert [p.name for p in paths] == ["plausibility.csv", "plausibility.png"]
    written = pd.read_csv(paths[0])
    assert len(written) == len(article) and paths[1].stat().st_size > 10_000


def test_findings_say_in_words_what_is_implausible_and_what_is_batch_1(article):
    findings = plausibility_findings(article.reset_index())
    pi = next(s for s in findings if s.startswith("Raspberry Pi 5 + AI HAT+ 2 7B q4: throughput"))
    assert "8.3 tok/s is 191% of the batch-1 ceiling of 4.35 tok/s" in pi and "17.1 GB/s" in pi
    assert "implausible" in pi and "batch-1 (single-stream) figure" in pi
    h100 = next(s for s in findings if s.startswith("H100-class GPU 7B q4: throughput"))
    assert "implausible" not in h100 and "no batching gain" in h100
    latency = next(s for s in findings if s.startswith("H100-class GPU 7B q4: 1 / per-token latency"))
    assert "beyond any published measurement" in latency and "implausible" not in latency
    # every published figure is shown next to the evidence-based value for the same hardware and model class
    assert "The evidence gives 2." in pi and "calibrated on raspberry-pi-5 x llama.cpp" in pi


def test_the_figure_marks_the_best_published_measurement_of_each_class(article):
    from matplotlib.colors import to_hex

    from benchlib.analysis.plausibility import plot_plausibility

    figure = plot_plausibility(article.reset_index())
    ticks = [line for line in figure.axes[0].lines if to_hex(line.get_color()) == to_hex("darkorange")]
    assert len(ticks) == len(article)  # every published row has a class with published measurements
    labels = [text.get_text() for text in figure.axes[0].texts]
    assert sum("beyond any published measurement" in label for label in labels) == 2  # the two H100 rows
