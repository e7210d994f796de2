"""benchlib.validation: pydantic errors as ParameterError naming field path, value and what is allowed."""

from __future__ import annotations

import pytest
from pydantic import field_validator

from benchlib.errors import ParameterError
from benchlib.validation import ValidatedModel, parse


class Section(ValidatedModel):
    count: int = 1
    rate_hz: float = 1.0
    mode: str = "a"

    @field_validator("mode")
    @classmethod
    def _known_mode(cls, mode: str) -> str:
        if mode not in ("a", "b"):
            raise ParameterError(f"Unknown mode '{mode}'; valid: a, b.")
        return mode


def test_parse_names_the_field_path_the_value_and_what_is_allowed():
    with pytest.raises(ParameterError) as error:
        parse(Section, {"count": "3"}, where="load")
    assert str(error.value) == "Parameter count (load.count) must be an integer, got '3'."
    with pytest.raises(ParameterError) as error:
        parse(Section, {"counts": 3}, where="load")
    assert str(error.value) == "Unknown parameter counts (load.counts); valid parameters of load: count, rate_hz, mode."


def test_a_validator_keeps_its_own_message():
    with pytest.raises(ParameterError) as error:
        parse(Section, {"mode": "c"})
    assert str(error.value) == "Unknown mode 'c'; valid: a, b."
    with pytest.raises(ParameterError, match="Unknown mode 'c'; valid: a, b."):
        Section(mode="c")


def test_values_keep_their_types():
    section = parse(Section, {"count": 2, "rate_hz": 4})
    assert (section.count, section.rate_hz) == (2, 4.0) and type(section.rate_hz) is float
    assert parse(Section, section) is section
    with pytest.raises(ParameterError, match="Parameter count must be an integer, got 2.0"):
        Section(count=2.0)


class Config(ValidatedModel):
    load: Section = Section()


def test_a_nested_section_is_named_by_its_path():
    with pytest.raises(ParameterError) as error:
        parse(Config, {"load": {"rate_hz": "fast"}}, where="sweep")
    assert str(error.value) == "Parameter rate_hz (sweep.load.rate_hz) must be a number, got 'fast'."
    with pytest.raises(ParameterError) as error:
        Config(load={"mode": "z"})
    assert str(error.value) == "Unknown mode 'z'; valid: a, b."
