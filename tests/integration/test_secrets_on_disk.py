"""No secret reaches the disk: a URL's password, an API key, and a server that echoes them back.

Issue 25, case 8. Two real sweeps through the sweep notebook (papermill, a real kernel) against the replay
server's ``replay-echo-auth`` mode, which answers every third request with HTTP 401 and a body echoing the
``Authorization`` header it received: one sweep with ``user:PASSWORD@`` in its URL, one with an API key in
the environment. Then the report over both. Every file of the run folders, the executed notebooks and the
report's outputs is searched for the planted markers (and the base64 of the basic credentials).
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from benchlib.cli import main
from benchlib.notebook_runner import run_sweep_notebook
from benchlib.secrets import URL_CREDENTIALS_ENV

pytestmark = [pytest.mark.server, pytest.mark.notebook]

PASSWORD = "PwMarker7q"
KEY = "KeyMarker9z"
KEY_ENV = "BENCHLIB_SECRET_TEST_KEY"


def _markers() -> list[bytes]:
    basic = base64.b64encode(f"user:{PASSWORD}".encode())
    return [PASSWORD.encode(), KEY.encode(), basic]


def _leaks(folder: Path) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {marker.decode()}" for marker in _markers() if marker in data]
    return found


def test_no_password_key_or_echoed_header_is_written_anywhere(tmp_path, replay, monkeypatch, capsys):
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.delenv(URL_CREDENTIALS_ENV, raising=False)
    runs_dir = tmp_path / "runs"
    host = replay.url.removeprefix("http://")
    common = {"profile": "secret-test", "runtime": "http", "model": "replay-echo-auth", "prompts": "short",
              "output_tokens": 4, "concurrency": [1], "step_min_requests": 3, "step_max_s": 30.0, "warmup": 0,
              "power": "none", "request_timeout_s": 10.0, "output_dir": str(runs_dir)}  # fmt: skip
    with_password = run_sweep_notebook(None, {**common, "url": f"http://user:{PASSWORD}@{host}"}, progress=False)
    with_key = run_sweep_notebook(None, {**common, "url": replay.url, "api_key_env": KEY_ENV, "output_tokens": 5},
                                  progress=False)  # fmt: skip
    assert with_password != with_key
    # the server saw the credentials (its 401 bodies echoed them), and the rows kept the error without them
    import pandas as pd

    for run_dir in (with_password, with_key):
        errors = pd.read_parquet(run_dir / "requests.parquet")["error"].dropna()
        # "none" had the credentials not been sent; the whole header value is removed
        assert len(errors) and (errors == "HTTP 401: unauthorized: you sent Authorization: ***").all()
    assert main(["report", "--runs-dir", str(runs_dir), "--figures-dir", str(tmp_path / "figures"),
                 "--output-dir", str(tmp_path / "report")]) == 0  # fmt: skip
    capsys.readouterr()
    assert _leaks(tmp_path) == [], "a secret reached the disk"
    assert (with_password / "sweep.ipynb").is_file() and any((tmp_path / "report").glob("*.ipynb"))
