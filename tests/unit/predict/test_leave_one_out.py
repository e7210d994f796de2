"""Leave-one-out over the shipped evidence library: the model's goal, computed from the real files."""

import math

import pytest

from benchlib.predict.calibrate import calibrate
from benchlib.predict.predictor import load_library, predict
from benchlib.predict.roofline import Scenario
from benchlib.predict.validate import GOAL_MEDIAN, GOAL_WORST, leave_one_out, plot_validation, validation_summary


@pytest.fixture(scope="module")
def library():
    return load_library()


@pytest.fixture(scope="module")
def table(library):
    """Every evidence entry, outliers included, each predicted from a calibration without it."""
    return leave_one_out(library.calibration(), library.observations())


def test_every_evidence_entry_is_predicted_unless_its_device_lacks_a_figure(library, table):
    """Only a power figure of a device with no published power (Apple publishes no TDP) goes unpredicted."""
    assert len(table) == len(library.evidence.evidence())
    missing = table[table["predicted"].isna()]
    for row in missing.itertuples():
        assert row.metric in ("power_w", "j_per_token"), row.key
        assert library.spec(row.hardware).power_w is None, row.key


def test_median_error_meets_the_goal(table):
    summary = validation_summary(table).set_index("hardware_class")
    assert summary.loc["all", "median_abs_error"] <= GOAL_MEDIAN
    # the mission's edge platform is the best covered
    assert summary.loc["cpu-arm", "median_abs_error"] <= GOAL_MEDIAN


def test_every_entry_off_by_more_than_half_says_why(table):
    far = table[table["abs_error"] > GOAL_WORST]
    unexplained = far[far["outlier_reason"].isna()]
    assert unexplained.empty, unexplained[["key", "published", "predicted"]].to_string()


def test_the_figure_draws_every_unit(table):
    figure = plot_validation(table)
    assert len(figure.axes) == 4  # tokens/s, s, W, J/token
    assert all(axis.get_xscale() == "log" for axis in figure.axes)


def test_a_prediction_without_evidence_uses_the_prior_and_says_so(library):
    """With no observation at all, the interval is the prior's, and the basis says so."""
    spec = library.spec("nvidia-a10g")
    model = library.models.geometry("llama-3.1-8b", "q4_k_m")
    prediction = predict(calibrate([]), spec, "nvidia-a10g", model, "vllm", Scenario(), [1, 8])
    assert prediction.calibration_level == "prior"
    assert "prior ranges" in prediction.interval_basis
    low, high = prediction.points[0].intervals["decode_tps"]
    assert low < prediction.points[0].point.decode_tps < high
    assert high / low > 2  # a stated prior gives a wide interval


def test_pi5_8b_prediction_is_calibrated_on_pi5_evidence(library):
    spec = library.spec("raspberry-pi-5")
    model = library.models.geometry("llama-3.1-8b", "q4_k_m")
    prediction = predict(library.calibration(), spec, "raspberry-pi-5", model, "llama.cpp", Scenario(), [1, 4])
    assert prediction.calibration_level.startswith("raspberry-pi-5 x llama.cpp")
    one = prediction.points[0]
    low, high = one.intervals["decode_tps"]
    # Geerling's 8 GB/16 GB boards: 1.87-2.17 tok/s for llama3.1:8b
    assert low <= 2.0 <= high
    assert math.isfinite(one.point.j_per_token)
