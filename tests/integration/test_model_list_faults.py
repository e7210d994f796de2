"""A server whose model list is not what it should be: one message naming what came back, never a traceback.

Issue 25, case 2: HTML with status 200, or a JSON list, from ``/v1/models`` gave a JSONDecodeError or
AttributeError traceback; a silent server's timeout message named 15 s whatever the limit was.
A real HTTP server on 127.0.0.1 answers each way on purpose.
"""

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchlib.errors import ParameterError
from benchlib.runtimes.http.settings import HttpSettings
from benchlib.runtimes.http.transport import ServerGone, check_server

pytestmark = [pytest.mark.server]

ANSWERS = {
    "/html/v1/models": b"<html><body>It works!</body></html>",
    "/list/v1/models": b'[{"id": "m"}]',
    "/nodata/v1/models": b'{"object": "list"}',
    "/ollama/api/tags": b'{"models": "m"}',
    "/good/v1/models": b'{"data": [{"id": "m"}]}',
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path.startswith("/silent/"):
            time.sleep(3)
        body = ANSWERS.get(self.path, b"{}")
        self.send_response(200 if self.path in ANSWERS else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def base_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize(
    ("prefix", "api", "message"),
    [
        ("html", "openai-completions", r"/html/v1/models answered HTTP 200 with something that is not JSON: '<html><body>"),
        ("list", "openai-completions", r"/list/v1/models answered JSON without a list of models under 'data'"),
        ("nodata", "openai-completions", r"answered JSON without a list of models under 'data'"),
        ("ollama", "ollama-generate", r"/ollama/api/tags answered JSON without a list of models under 'models'"),
    ],
)
def test_a_malformed_model_list_is_one_message_that_says_what_came_back(base_url, prefix, api, message):
    settings = HttpSettings(url=f"{base_url}/{prefix}", api=api, served_model="m")
    with pytest.raises(ParameterError, match=message) as error:
        asyncio.run(check_server(settings))
    assert "OpenAI-compatible" in str(error.value)


def test_a_well_formed_list_still_passes(base_url):
    assert asyncio.run(check_server(HttpSettings(url=f"{base_url}/good", served_model="m")))["models"] == ["m"]


def test_the_timeout_message_names_the_limit_in_force(base_url):
    settings = HttpSettings(url=f"{base_url}/silent", served_model="m", request_timeout_s=1.0)
    with pytest.raises(ServerGone, match=r"did not answer its model list within 1 s"):
        asyncio.run(check_server(settings))
