"""Reading a reference YAML file (hardware.yaml, models.yaml, an evidence file) into its pydantic model.

One place for what every such file needs: a missing file, a YAML syntax
error and every invalid field become one error of the caller's class that
names the file and each field (``hardware.nvidia-l4.power_w.source: ...``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from benchlib.errors import BenchlibError

__all__ = ["load_yaml_model", "parse_yaml"]

ModelT = TypeVar("ModelT", bound=BaseModel)

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it (about ten times faster on the evidence files)."""


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load``, with libyaml's parser when it is there.

    Raises:
        yaml.YAMLError: the text is not YAML.
    """
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader


def load_yaml_model(path: Path, model_cls: type[ModelT], error_cls: type[BenchlibError], holds: str = "") -> ModelT:
    """Read ``path`` as YAML and validate it as ``model_cls``.

    Args:
        path: The file.
        model_cls: Its pydantic model.
        error_cls: The error to raise.
        holds: What the file holds, for the message of a missing file (``the hardware limits``).

    Raises:
        error_cls: the file cannot be read, is not YAML, or a field is invalid (every one is named).
    """
    try:
        data = parse_yaml(path.read_text())
    except OSError as exc:
        raise error_cls(f"{path} cannot be read ({exc.strerror})" + (f"; it holds {holds}." if holds else ".")) from exc
    except yaml.YAMLError as exc:
        raise error_cls(f"{path} is not valid YAML: {exc}") from exc
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors()
        )
        raise error_cls(f"{path} is invalid: {problems}") from None
