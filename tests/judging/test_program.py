"""The LM behind an endpoint: which key it is sent with."""

from __future__ import annotations

import pytest

from judging.models import ModelEndpoint
from judging.program import endpoint_lm, judge_item, judge_program_for
from judging.sim.server import SimServer


@pytest.fixture
def no_openai_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def keyless_local_endpoint(api_base: str) -> ModelEndpoint:
    # Unsaved: endpoint_lm reads only its fields.
    return ModelEndpoint(name="local", model="openai/sim/judge-small", api_base=api_base, concurrency=1)


def test_a_keyless_self_hosted_endpoint_judges_without_any_key_in_the_environment(no_openai_key):
    program = judge_program_for(scale_min=1, scale_max=5, instructions="Rate relevance on a 1-5 scale.")
    with SimServer() as server:
        endpoint = keyless_local_endpoint(server.url + "/v1")
        outcome = judge_item(
            program=program,
            lm=endpoint_lm(endpoint),
            endpoint=endpoint,
            query="solar panels",
            document="Solar panels turn sunlight into electricity.",
            max_attempts=1,
        )
    assert (outcome.error_kind, outcome.error_message) == ("", "")
    assert outcome.score in range(1, 6) or outcome.malformed


def test_a_keyless_self_hosted_endpoint_is_never_sent_the_openai_key_of_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-openai-key")
    lm = endpoint_lm(keyless_local_endpoint("http://127.0.0.1:8191/v1"))
    assert lm.kwargs["api_key"] not in (None, "sk-real-openai-key")


def test_an_endpoint_naming_its_key_variable_is_sent_that_key(monkeypatch):
    monkeypatch.setenv("SIMLLM_API_KEY", "sk-named")
    endpoint = ModelEndpoint(
        name="hosted",
        model="openai/gpt-4.1-mini",
        api_base="https://proxy.example/v1",
        api_key_env="SIMLLM_API_KEY",
    )
    assert endpoint_lm(endpoint).kwargs["api_key"] == "sk-named"
