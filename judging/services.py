"""Writes and calls of the judging app that are not judge runs (see runs.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from judging.endpoint_rules import endpoint_refusals
from judging.models import ModelEndpoint
from judging.program import endpoint_lm, judge_item, judge_program_for

# One fixed, harmless item: the test asks the endpoint to judge it as a judge run would.
_TEST_SCALE = (1, 5)
_TEST_INSTRUCTIONS = "Score how well the document answers the query, from 1 (not at all) to 5 (fully)."
_TEST_QUERY = "What is the boiling point of water at sea level?"
_TEST_DOCUMENT = "At sea level, water boils at 100 degrees Celsius (212 degrees Fahrenheit)."


# What each failure means, in words (the class names are DSPy's and ours, never the server's).
_FAILURES = {
    "LMAuthError": "the provider refused the key",
    "LMBillingError": "the provider's account has no credit",
    "LMRateLimitError": "rate limited",
    "LMServerError": "the server answered with an error",
    "LMTimeoutError": "timed out",
    "LMTransportError": "could not connect",
    "LMProviderError": "the answer was not a valid response",
    "EndpointRefused": "refused by the server's rules",
}


@dataclass(frozen=True)
class EndpointTestResult:
    ok: bool
    text: str
    latency_ms: int | None = None
    score: int | None = None


def endpoint_test_call(*, endpoint: ModelEndpoint) -> EndpointTestResult:
    """One judge call to the endpoint, as a run would make it: whether it answered, how fast, and the
    score it gave. Never the body of the answer or of an error: the target could be any server, and
    what it says is not for this page to relay."""
    refusals = endpoint_refusals(api_key_env=endpoint.api_key_env, api_base=endpoint.api_base, resolve=True)
    if refusals:
        return EndpointTestResult(False, "Refused by the server's rules: " + " ".join(refusals.values()))
    if endpoint.api_key_env and not os.environ.get(endpoint.api_key_env):
        return EndpointTestResult(
            False, f"The environment variable {endpoint.api_key_env} is not set on the server."
        )
    low, high = _TEST_SCALE
    outcome = judge_item(
        program=judge_program_for(scale_min=low, scale_max=high, instructions=_TEST_INSTRUCTIONS),
        lm=endpoint_lm(endpoint, timeout_s=30),
        endpoint=endpoint,
        query=_TEST_QUERY,
        document=_TEST_DOCUMENT,
        max_attempts=1,
    )
    if outcome.error_kind:
        # The exception's class is ours or LiteLLM's; the message after it may quote the server.
        kind = outcome.error_message.split(":", 1)[0].strip()
        meaning = _FAILURES.get(kind, "the call failed")
        return EndpointTestResult(
            False,
            f"No answer after {outcome.latency_ms} ms: {meaning} ({kind}).",
            latency_ms=outcome.latency_ms,
        )
    if outcome.malformed or outcome.score is None:
        return EndpointTestResult(
            False,
            f"Answered in {outcome.latency_ms} ms, but the answer did not parse to a score on {low}–{high}.",
            latency_ms=outcome.latency_ms,
        )
    return EndpointTestResult(
        True,
        f"Answered in {outcome.latency_ms} ms with the score {outcome.score} (on {low}–{high}).",
        latency_ms=outcome.latency_ms,
        score=outcome.score,
    )
