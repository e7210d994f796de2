"""How to reach and drive a streaming server: :class:`HttpSettings`, validated next to its fields."""

from __future__ import annotations

import base64
import os
from typing import Any
from urllib.parse import unquote, urlparse

from pydantic import Field, field_validator, model_validator

from benchlib.errors import ParameterError
from benchlib.runtimes.base import GenerationRequest
from benchlib.runtimes.http.apis import APIS, DIALECTS
from benchlib.runtimes.http.stream import Dialect
from benchlib.secrets import URL_CREDENTIALS_ENV, split_url_credentials
from benchlib.validation import ValidatedModel, one_of

__all__ = ["CACHE_PROMPT_MODES", "FIXED_LENGTH_MODES", "HttpSettings"]

FIXED_LENGTH_MODES = ("auto", "min_tokens", "ignore_eos", "none")

CACHE_PROMPT_MODES = ("default", "on", "off")
"""``cache_prompt`` setting: leave the server's prompt (prefix) cache as it is
configured, or ask for it on or off per request (llama.cpp's servers honour
``cache_prompt``; other OpenAI servers ignore it)."""


class HttpSettings(ValidatedModel):
    """How to reach and drive a streaming server.

    A sweep's ``served_model`` defaults to its ``model`` when empty (see
    :meth:`from_sweep`).

    Attributes:
        url: Base URL, e.g. ``http://127.0.0.1:8000`` (no path).
        api: One of :data:`~benchlib.runtimes.http.apis.APIS`.
        served_model: Model name the server knows (checked against its model list).
        api_key_env: Name of the environment variable holding the API key
            (empty: no key). The key itself is never stored.
        fixed_length: ``auto`` (``min_tokens`` and ``ignore_eos`` for OpenAI
            APIs), ``min_tokens``, ``ignore_eos`` or ``none``.
        request_timeout_s: Longest a request may take, seconds.
        temperature: Sampling temperature (0: greedy).
        seed: Seed sent to servers that accept one.
        cache_prompt: ``default``, ``on`` or ``off``: sent as ``cache_prompt``
            to OpenAI-compatible servers unless ``default``.
        retry_stale_connections: Send a request once more on a fresh connection
            when a pooled connection fails before any byte of the response
            arrived (the server had closed it). Only a test turns this off.
        url_credentials: ``user:password`` taken out of ``url`` (never recorded: excluded from dumps and
            repr); sent as HTTP basic authentication. Without it, :data:`~benchlib.secrets.URL_CREDENTIALS_ENV`.
    """

    url: str
    api: str = "openai-completions"
    served_model: str = ""
    api_key_env: str = ""
    fixed_length: str = "auto"
    request_timeout_s: float = 120.0
    temperature: float = 0.0
    seed: int = 0
    cache_prompt: str = "default"
    retry_stale_connections: bool = True
    url_credentials: str = Field("", exclude=True, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _credentials_out_of_url(cls, values: Any) -> Any:
        """``http://user:pass@host`` -> ``url="http://host"``, the credentials kept apart for the requests."""
        if isinstance(values, dict) and isinstance(values.get("url"), str):
            url, credentials = split_url_credentials(values["url"])
            if credentials:
                values = {**values, "url": url, "url_credentials": credentials}
        return values

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ParameterError(f"url must look like http://HOST:PORT, got {url!r}.")
        return url

    _known_api = one_of("api", tuple(APIS))
    _known_fixed_length = one_of("fixed_length", FIXED_LENGTH_MODES)
    _known_cache_prompt = one_of("cache_prompt", CACHE_PROMPT_MODES)

    @field_validator("request_timeout_s")
    @classmethod
    def _positive_timeout(cls, timeout_s: float) -> float:
        if not timeout_s > 0:
            raise ParameterError(f"request_timeout_s must be positive, got {timeout_s}.")
        return timeout_s

    @model_validator(mode="after")
    def _cache_prompt_needs_openai(self) -> "HttpSettings":
        if self.cache_prompt != "default" and self.is_ollama:
            raise ParameterError(
                "cache_prompt applies to OpenAI-compatible servers (llama.cpp's); the Ollama APIs have no such "
                "switch. Set cache_prompt: default."
            )
        return self

    @classmethod
    def from_sweep(cls, values: dict[str, Any], model: str) -> "HttpSettings":
        """Settings of a sweep: ``served_model`` is the sweep's ``model`` when empty.

        Args:
            values: Settings fields (as the registry maps them from the sweep's parameters).
            model: The sweep's ``model`` parameter.
        """
        return cls(**{**values, "served_model": values.get("served_model") or model})

    def validate(self) -> None:  # type: ignore[override]  # not pydantic v1's classmethod
        """Check what the fields alone cannot: the API key variable is set.

        The fields were checked when the settings were made (a URL without scheme
        or host, an unknown API or mode, a non-positive timeout).

        Raises:
            ParameterError: a key variable that is not set.
        """
        if self.api_key_env and self.api_key_env not in os.environ:
            raise ParameterError(
                f"api_key_env names {self.api_key_env}, which is not set; export it (the key is never written "
                "to a notebook, a result or a log)."
            )

    @property
    def dialect(self) -> Dialect:
        """The API dialect: request body and stream parser."""
        return DIALECTS[self.api]

    @property
    def is_ollama(self) -> bool:
        """True for the Ollama APIs."""
        return self.dialect.family == "ollama"

    def endpoint(self) -> str:
        """Full URL of the generation endpoint."""
        return self.url.rstrip("/") + self.dialect.path

    def headers(self) -> dict[str, str]:
        """Request headers, with the API key when one is configured."""
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream, application/x-ndjson"}
        credentials = self.url_credentials or os.environ.get(URL_CREDENTIALS_ENV, "")
        if self.api_key_env:
            headers["Authorization"] = f"Bearer {os.environ[self.api_key_env]}"
        elif credentials:
            headers["Authorization"] = "Basic " + base64.b64encode(unquote(credentials).encode()).decode()
        return headers

    def secret_values(self) -> list[str]:
        """Every secret these settings send (key, URL credentials, ``Authorization`` value): never to be stored."""
        secrets = [self.url_credentials, os.environ.get(URL_CREDENTIALS_ENV, "")]
        if self.api_key_env:
            secrets.append(os.environ.get(self.api_key_env, ""))
        authorization = self.headers().get("Authorization", "")
        secrets += [authorization, authorization.partition(" ")[2]]
        return [secret for secret in secrets if secret]

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        """JSON body of one streaming request for exactly ``max_output_tokens`` tokens."""
        return self.dialect.build_body(self, request)
