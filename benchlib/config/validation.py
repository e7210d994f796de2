"""Pydantic validation errors as one :class:`~benchlib.errors.ParameterError` that says what to fix."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from benchlib.errors import ParameterError

__all__ = ["describe_error", "parse"]

ModelT = TypeVar("ModelT", bound=BaseModel)

_RULES = {
    "greater_than_equal": lambda ctx: f"must be {ctx['ge']} or more",
    "greater_than": lambda ctx: f"must be more than {ctx['gt']}",
    "less_than_equal": lambda ctx: f"must be {ctx['le']} or less",
    "less_than": lambda ctx: f"must be less than {ctx['lt']}",
    "int_type": lambda ctx: "must be an integer",
    "float_type": lambda ctx: "must be a number",
    "float_parsing": lambda ctx: "must be a number",
    "int_parsing": lambda ctx: "must be an integer",
    "int_from_float": lambda ctx: "must be an integer",
    "bool_parsing": lambda ctx: "must be true or false",
    "string_type": lambda ctx: "must be a string",
    "bool_type": lambda ctx: "must be true or false",
    "list_type": lambda ctx: "must be a list",
    "dict_type": lambda ctx: "must be a mapping",
    "literal_error": lambda ctx: f"must be one of {ctx['expected']}",
    "extra_forbidden": lambda ctx: "is not a known name",
    "missing": lambda ctx: "is required",
}


def _field_name(loc: tuple[Any, ...]) -> str:
    """``threads (runtime.threads)`` for a field in a section, ``threads`` for a top-level field."""
    path = ".".join(str(part) for part in loc)
    if len(loc) > 1 and isinstance(loc[0], str) and isinstance(loc[1], str):
        return f"{'.'.join(str(part) for part in loc[1:])} ({path})"
    return path


def describe_error(error: dict[str, Any], where: str = "") -> str:
    """One line for one pydantic error: the field (and its path in sections), what is allowed, the value given.

    Args:
        error: One item of ``ValidationError.errors()``.
        where: What was validated (``Parameter``, ``llama.cpp setting``), for the message.
    """
    path = _field_name(tuple(error["loc"]))
    subject = f"{where} {path}".strip() if path else where or "value"
    subject = f"{subject[0].upper()}{subject[1:]}"
    kind = error["type"]
    if kind in ("value_error", "assertion_error"):
        cause = str(error.get("ctx", {}).get("error", error["msg"]))
        # benchlib's own validators write whole sentences; a clause ("must be ...") gets its subject
        return cause if cause[:1].isupper() else f"{subject} {cause}."
    rule = _RULES.get(kind, lambda ctx: error["msg"].lower())(error.get("ctx", {}))
    return f"{subject} {rule}, got {error['input']!r}."


def parse(model: type[ModelT], values: dict[str, Any], where: str = "Parameter") -> ModelT:
    """Validate ``values`` into ``model``, turning every problem into one :class:`ParameterError`.

    Args:
        model: The pydantic model.
        values: Field values.
        where: Prefix naming what the fields are, e.g. ``Parameter``.

    Raises:
        ParameterError: one line per problem, each naming the field path, what it
            must be and the value given.
    """
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ParameterError("\n".join(describe_error(e, where) for e in exc.errors())) from None
