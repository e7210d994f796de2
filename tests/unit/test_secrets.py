"""Secrets kept out of records: URL credentials split off, secret values removed from texts, basic auth sent."""

import base64

from benchlib.runtimes.http.settings import HttpSettings
from benchlib.secrets import URL_CREDENTIALS_ENV, redact, split_url_credentials


def test_credentials_are_split_off_a_url_and_a_url_without_them_is_unchanged():
    assert split_url_credentials("http://user:pa%40ss@host:8000/v1?x=1") == ("http://host:8000/v1?x=1", "user:pa%40ss")
    assert split_url_credentials("https://host") == ("https://host", None)


def test_every_secret_and_a_credentials_password_alone_are_removed():
    text = "got Bearer sk-123456 from user:hunter22, password hunter22"
    assert redact(text, ["sk-123456", "user:hunter22", None, ""]) == "got Bearer *** from ***, password ***"
    assert redact("a b", ["a"]) == "a b"  # a value too short to be a secret is left alone


def test_settings_keep_url_credentials_for_the_requests_only(monkeypatch):
    monkeypatch.delenv(URL_CREDENTIALS_ENV, raising=False)
    settings = HttpSettings(url="http://user:s3cret!@127.0.0.1:9", served_model="m")
    assert settings.url == "http://127.0.0.1:9" and "s3cret" not in repr(settings)
    assert "s3cret" not in str(settings.model_dump())
    expected = "Basic " + base64.b64encode(b"user:s3cret!").decode()
    assert settings.headers()["Authorization"] == expected
    assert {"user:s3cret!", expected} <= set(settings.secret_values())


def test_the_kernel_takes_the_credentials_from_the_environment(monkeypatch):
    monkeypatch.setenv(URL_CREDENTIALS_ENV, "u:p4ss")
    settings = HttpSettings(url="http://127.0.0.1:9", served_model="m")
    assert settings.headers()["Authorization"] == "Basic " + base64.b64encode(b"u:p4ss").decode()
