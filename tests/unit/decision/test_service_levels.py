"""data/reference/service-levels.yaml: the shipped file valid and its quotes stating its figures; bad files and names refused."""

import re

import pytest
import yaml

from benchlib.decision.service_levels import (
    DEFAULT_SERVICE_LEVEL,
    SERVICE_LEVELS_PATH,
    load_service_levels,
    service_level,
)
from benchlib.errors import ParameterError

SHIPPED = load_service_levels()
LEVELS = sorted(SHIPPED.service_levels)


def _stated(number: float, quote: str) -> bool:
    """``number`` appears in ``quote`` as a whole number (``2000`` is not found in ``12000`` or ``2000.5``)."""
    text = f"{number:g}"
    return re.search(rf"(?<![\d.]){re.escape(text)}(?![\d]|\.\d)", quote) is not None


def _forms(field: str, value: float) -> list[float]:
    """How a quote may write a figure: seconds or milliseconds for a limit, the figure itself for a percentile."""
    return [value] if field == "percentile" else [value, round(value * 1000, 6)]


def test_the_shipped_file_validates_with_the_default_level():
    assert SHIPPED.schema_version == 1
    assert SERVICE_LEVELS_PATH.name == "service-levels.yaml" and SERVICE_LEVELS_PATH.is_file()
    assert DEFAULT_SERVICE_LEVEL in SHIPPED.service_levels
    default = service_level(DEFAULT_SERVICE_LEVEL)
    assert default.ttft_s > 0 and default.tpot_s > 0
    assert 50 < default.percentile < 100


def test_the_mlperf_llama_levels_hold_the_published_limits():
    server = service_level("mlperf-llama3.1-8b-server")
    interactive = service_level("mlperf-llama3.1-8b-interactive")
    assert (server.ttft_s, server.tpot_s, server.percentile) == (2.0, 0.1, 99)
    assert (interactive.ttft_s, interactive.tpot_s, interactive.percentile) == (0.5, 0.03, 99)
    assert interactive.ttft_s < server.ttft_s and interactive.tpot_s < server.tpot_s


@pytest.mark.parametrize("name", LEVELS)
def test_every_source_is_https_and_quotes_the_figures_it_supports(name):
    level = SHIPPED.service_levels[name]
    supported: set[str] = set()
    for source in level.sources:
        assert source.url.startswith("https://")
        assert source.quote.strip()
        for field in source.supports:
            value = getattr(level, field)
            assert any(_stated(form, source.quote) for form in _forms(field, value)), (
                f"{name}: the quote of {source.url} does not state {field} = {value}: {source.quote!r}"
            )
        supported.update(source.supports)
    assert supported == {"ttft_s", "tpot_s", "percentile"}, f"{name}: a figure has no source"


def test_the_quote_check_finds_whole_numbers_only():
    assert _stated(2000, "TTFT/TPOT: 2000 ms/100 ms.") and _stated(0.1, "0.1 s")
    assert not _stated(2000, "12000 ms") and not _stated(99, "99.9%") and not _stated(30, "300")


def test_an_unknown_name_lists_the_valid_ones():
    with pytest.raises(ParameterError, match="Unknown service level 'p42'") as caught:
        service_level("p42")
    for name in LEVELS:
        assert name in str(caught.value)


def _write(tmp_path, change):
    document = yaml.safe_load(SERVICE_LEVELS_PATH.read_text())
    change(document["service_levels"][DEFAULT_SERVICE_LEVEL])
    path = tmp_path / "levels.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_negative_limit_is_refused_with_the_field_named(tmp_path):
    path = _write(tmp_path, lambda level: level.update(tpot_s=-0.1))
    with pytest.raises(ParameterError, match=rf"{re.escape(str(path))} is invalid: .*tpot_s: .*greater than 0"):
        load_service_levels(path)


def test_a_missing_field_is_refused_with_the_field_named(tmp_path):
    path = _write(tmp_path, lambda level: level.pop("ttft_s"))
    with pytest.raises(ParameterError, match=r"service_levels\.mlperf-llama3\.1-8b-server\.ttft_s: Field required"):
        service_level(DEFAULT_SERVICE_LEVEL, path)


def test_a_source_without_https_or_quote_is_refused(tmp_path):
    def change(level):
        level["sources"][0].update(url="http://example.invalid/x", quote="")

    with pytest.raises(ParameterError) as caught:
        load_service_levels(_write(tmp_path, change))
    assert "sources.0.url" in str(caught.value) and "sources.0.quote" in str(caught.value)


def test_an_unknown_field_and_a_missing_file_are_refused(tmp_path):
    path = _write(tmp_path, lambda level: level.update(ttft_p95_s=1.0))
    with pytest.raises(ParameterError, match="ttft_p95_s: Extra inputs are not permitted"):
        load_service_levels(path)
    with pytest.raises(ParameterError, match="cannot be read .*the service levels"):
        load_service_levels(tmp_path / "absent.yaml")
