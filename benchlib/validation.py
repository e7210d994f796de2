"""Validated configuration: pydantic v2 models whose errors are :class:`~benchlib.errors.ParameterError`.

A bad value becomes one message that names the field path, the value given and
what is allowed; a check written next to its field (a ``field_validator`` or
``model_validator`` raising ``ParameterError``) keeps its own message word for
word.

Use :class:`ValidatedModel` as the base class of a settings or config section
(its constructor raises ``ParameterError``), and :func:`parse` to validate a
mapping read from a file with the section's name in the message.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from benchlib.errors import ParameterError

__all__ = ["FieldErrors", "ValidatedModel", "describe_errors", "one_of", "parse"]

ModelT = TypeVar("ModelT", bound=BaseModel)

_ALLOWED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
}


class FieldErrors(ParameterError):
    """Invalid values of a :class:`ValidatedModel`; keeps pydantic's errors to name them again under a section.

    Attributes:
        model_cls: The model that refused the values.
        validation_error: pydantic's error.
    """

    def __init__(self, model_cls: type[BaseModel], validation_error: ValidationError, where: str = "") -> None:
        super().__init__(describe_errors(validation_error, model_cls, where))
        self.model_cls = model_cls
        self.validation_error = validation_error

    def __reduce__(self):  # pickled (a Ray worker's error) as the plain ParameterError it reads as
        return ParameterError, (str(self),)


_BOUNDS = {
    "greater_than_equal": lambda ctx: f"must be {ctx['ge']} or more",
    "greater_than": lambda ctx: f"must be more than {ctx['gt']}",
    "less_than_equal": lambda ctx: f"must be {ctx['le']} or less",
    "less_than": lambda ctx: f"must be less than {ctx['lt']}",
}


def _path(where: str, location: tuple[Any, ...]) -> str:
    """The dotted field path below ``where``."""
    return ".".join([where] * bool(where) + [str(part) for part in location])


def _shown(path: str) -> str:
    """A field inside a section named as users write it first: ``threads (runtime.threads)``."""
    leaf = path.rsplit(".", 1)[-1]
    return f"{leaf} ({path})" if "." in path and not leaf.isdigit() else path


def describe_errors(error: ValidationError, model_cls: type[BaseModel], where: str = "") -> str:
    """One message for every problem pydantic found, each naming field path, value and what is allowed.

    A :class:`~benchlib.errors.ParameterError` raised by a validator is passed
    through with its own message.

    Args:
        error: What pydantic raised.
        model_cls: The model that was validated (its fields are the valid names).
        where: Prefix of the field paths, e.g. ``runtime`` (empty: none).
    """
    messages: list[str] = []
    for item in error.errors(include_url=False):
        original = (item.get("ctx") or {}).get("error")
        # a ValidatedModel's own __init__ (model_validate runs it), or a nested one: name its fields under this path;
        # one built inside a model validator (a runtime's settings) already said what is wrong
        if isinstance(original, FieldErrors) and (item["loc"] or original.model_cls is model_cls):
            messages.append(describe_errors(original.validation_error, original.model_cls, _path(where, item["loc"])))
            continue
        if isinstance(original, ParameterError):
            messages.append(str(original))
            continue
        path = _shown(_path(where, item["loc"])) or "(root)"
        if item["type"] == "extra_forbidden":
            valid = ", ".join(model_cls.model_fields)
            messages.append(f"Unknown parameter {path}; valid parameters{f' of {where}' if where else ''}: {valid}.")
        elif item["type"] == "missing":
            messages.append(f"Parameter {path} is required.")
        elif item["type"] in _ALLOWED:
            messages.append(f"Parameter {path} must be {_ALLOWED[item['type']]}, got {item['input']!r}.")
        elif item["type"] in _BOUNDS:
            messages.append(f"Parameter {path} {_BOUNDS[item['type']](item['ctx'])}, got {item['input']!r}.")
        else:
            detail = item["msg"].removeprefix("Value error, ")
            if detail.startswith("must "):  # a clause from a validator: "must be a number"
                messages.append(f"Parameter {path} {detail}, got {item['input']!r}.")
            else:
                messages.append(f"Parameter {path} = {item['input']!r}: {detail}.")
    return " ".join(dict.fromkeys(messages))


def parse(model_cls: type[ModelT], values: Mapping[str, Any] | ModelT, where: str = "") -> ModelT:
    """Validate ``values`` as ``model_cls``.

    Args:
        model_cls: A pydantic v2 model class.
        values: Field name -> value (or an instance, returned as it is).
        where: Name of the section, prefixed to field paths in messages (``runtime.threads``).

    Returns:
        The validated model.

    Raises:
        ParameterError: a field is unknown, missing, of the wrong type or out of
            bounds; the message names the field path, the value and what is allowed.
    """
    if isinstance(values, model_cls):
        return values
    try:
        return model_cls.model_validate(dict(values))
    except ValidationError as exc:
        raise FieldErrors(model_cls, exc, where) from None


class ValidatedModel(BaseModel):
    """Base of benchlib's settings: frozen, unknown fields refused, no silent type coercion.

    ``strict`` keeps values as given (an int stays an int; only an int given
    for a float field becomes that float), so what a run records is what the
    user wrote. Constructing with keyword arguments raises
    :class:`~benchlib.errors.ParameterError`, as :func:`parse` does.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise FieldErrors(type(self), exc) from None


def one_of(field: str, choices: Sequence[str]) -> Any:
    """A field validator (assign it in the class body) refusing a value outside ``choices``.

    The message: ``Unknown FIELD 'VALUE'; valid: A, B, C.``
    """

    def check(cls: type, value: Any) -> Any:
        if value not in choices:
            raise ParameterError(f"Unknown {field} '{value}'; valid: {', '.join(choices)}.")
        return value

    return field_validator(field)(classmethod(check))
