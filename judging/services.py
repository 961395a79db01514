"""Writes and calls of the judging app that are not judge runs (see runs.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from judging.models import ModelEndpoint
from judging.program import endpoint_lm, key_redacted


@dataclass(frozen=True)
class EndpointTestResult:
    ok: bool
    text: str


def endpoint_test_call(*, endpoint: ModelEndpoint) -> EndpointTestResult:
    """One real call to the endpoint; the answer, or the provider's error in its own words."""
    if endpoint.api_key_env and not os.environ.get(endpoint.api_key_env):
        return EndpointTestResult(
            False, f"The environment variable {endpoint.api_key_env} is not set on the server."
        )
    try:
        outputs = endpoint_lm(endpoint, timeout_s=30)("Reply with the single word: ready")
    except Exception as exc:  # noqa: BLE001 - whatever the provider says is the message to show
        return EndpointTestResult(False, key_redacted(f"{type(exc).__name__}: {exc}", endpoint)[:1000])
    first = outputs[0] if outputs else ""
    text = first.get("text", "") if isinstance(first, dict) else str(first)
    return EndpointTestResult(True, text[:1000])
