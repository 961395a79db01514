"""The local real model in the demo: found by a short probe, registered beside the sims with the
settings a one-request-at-a-time llama.cpp server needs."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from judging.demo import demo_local_model_register
from judging.local_model import LOCAL_ENDPOINT_NAME, LOCAL_MODEL_ALIAS, local_model_answers
from judging.models import ModelEndpoint, PromptVersion
from judging.sim.server import SimServer


class ModelsListing(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the stdlib's name
        body = json.dumps({"object": "list", "data": [{"id": LOCAL_MODEL_ALIAS, "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def llama_cpp_like_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ModelsListing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_probe_finds_a_server_that_lists_the_local_model(llama_cpp_like_server):
    assert local_model_answers(api_base=llama_cpp_like_server) is True


def test_the_probe_says_no_when_nothing_listens():
    assert local_model_answers(api_base=f"http://127.0.0.1:{closed_port()}/v1") is False


def test_the_probe_says_no_to_a_server_that_serves_other_models():
    with SimServer() as server:
        assert local_model_answers(api_base=server.url + "/v1") is False


def test_the_demo_registers_the_local_model_as_a_free_one_at_a_time_endpoint_while_it_answers(demo_project):
    endpoint = demo_local_model_register(project=demo_project, answers=lambda: True)

    assert (
        endpoint.name == LOCAL_ENDPOINT_NAME and "local, 1.5B — for trying Flywheel offline" in endpoint.name
    )
    assert (endpoint.model, endpoint.api_base, endpoint.api_key_env) == (
        "openai/qwen2.5-coder-1.5b-instruct",
        "http://127.0.0.1:8191/v1",
        "",
    )
    assert (endpoint.concurrency, endpoint.temperature, endpoint.has_prices) == (1, 0.0, False)
    assert not endpoint.is_simulator
    assert PromptVersion.objects.filter(project=demo_project, target_model=endpoint, parent=None).count() == 1
    assert ModelEndpoint.objects.filter(model__startswith="sim/").count() == 3  # beside the sims


def test_seeding_the_demo_twice_registers_the_local_model_once(demo_project):
    demo_local_model_register(project=demo_project, answers=lambda: True)
    demo_local_model_register(project=demo_project, answers=lambda: True)
    endpoint = ModelEndpoint.objects.get(name=LOCAL_ENDPOINT_NAME)
    assert PromptVersion.objects.filter(project=demo_project, target_model=endpoint).count() == 1


def test_the_demo_registers_no_local_model_when_none_answers(demo_project):
    assert demo_local_model_register(project=demo_project, answers=lambda: False) is None
    assert not ModelEndpoint.objects.filter(name=LOCAL_ENDPOINT_NAME).exists()
