"""Secrets stay out of everything benchlib writes: credentials in URLs, API keys, ``Authorization`` values.

* :func:`split_url_credentials`: ``http://user:pass@host`` -> ``("http://host", "user:pass")``. A sweep's
  URL is recorded, and sent to its notebook, without them; the credentials travel to the kernel in
  the environment (:data:`URL_CREDENTIALS_ENV`) and are used for the requests only.
* :func:`redact`: every secret value removed from a text (a server's error body that echoes the key).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["REDACTED", "URL_CREDENTIALS_ENV", "credentials_to_environment", "redact", "split_url_credentials"]

URL_CREDENTIALS_ENV = "BENCHLIB_URL_CREDENTIALS"
"""Environment variable that carries a URL's ``user:password`` from the command to the sweep's kernel."""
REDACTED = "***"


def split_url_credentials(url: str) -> tuple[str, str | None]:
    """The URL without ``user:password@`` and the credentials (``None`` when it has none)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)), userinfo


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every non-empty secret (and, for ``user:password``, the password alone) replaced by ``***``."""
    values: set[str] = set()
    for secret in secrets:
        if secret:
            values.add(secret)
            if ":" in secret:
                values.add(secret.split(":", 1)[1])
    for value in sorted((v for v in values if len(v) >= 3), key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text


def credentials_to_environment(values: dict[str, Any]) -> None:
    """Take ``user:password@`` out of ``values["url"]`` and put it in :data:`URL_CREDENTIALS_ENV` for the kernel."""
    if isinstance(values.get("url"), str):
        values["url"], credentials = split_url_credentials(values["url"])
        if credentials:
            os.environ[URL_CREDENTIALS_ENV] = credentials
