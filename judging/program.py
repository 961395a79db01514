"""The judge program: the one place that builds the DSPy judge for a project and a prompt version, and
the LM for an endpoint. Judge runs, the optimizer and the API export all use it."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import dspy
from dspy.utils.exceptions import (
    AdapterParseError,
    LMAuthError,
    LMBillingError,
    LMProviderError,
    LMRateLimitError,
    LMServerError,
    LMTimeoutError,
    LMTransportError,
)

from config.env import flywheel_verbose
from judging.endpoint_rules import EndpointRefused, endpoint_refusals, key_env_refusal
from judging.models import Judgment, ModelEndpoint, PromptVersion
from labeling.models import Project

DOCUMENT_MAX_CHARS = int(os.environ.get("FLYWHEEL_DOCUMENT_MAX_CHARS", "6000"))
# How hard one item is tried: attempts (the first call included), the first backoff (doubled after each
# failure) and how long one call may take before it counts as a timeout.
JUDGE_MAX_ATTEMPTS = int(os.environ.get("FLYWHEEL_JUDGE_MAX_ATTEMPTS", "4"))
JUDGE_BACKOFF_S = float(os.environ.get("FLYWHEEL_JUDGE_BACKOFF_S", "0.5"))
JUDGE_TIMEOUT_S = float(os.environ.get("FLYWHEEL_JUDGE_TIMEOUT_S", "60"))
OUTPUT_FIELDS = ("reasoning", "score")
# Importing DSPy sets its loggers to INFO: a line per GEPA iteration, and a traceback for every output it
# cannot parse, which Flywheel records itself (a malformed judgment; a zero score with its feedback).
# FLYWHEEL_DSPY_LOG_LEVEL=INFO (or FLYWHEEL_VERBOSE=1) brings all of it back.
_DSPY_DEFAULT_LEVEL = "INFO" if flywheel_verbose() else "WARNING"
DSPY_LOG_LEVEL = os.environ.get("FLYWHEEL_DSPY_LOG_LEVEL", _DSPY_DEFAULT_LEVEL).upper()
logging.getLogger("dspy").setLevel(DSPY_LOG_LEVEL)
logging.getLogger("dspy.utils.parallelizer").setLevel(
    DSPY_LOG_LEVEL if logging.getLevelName(DSPY_LOG_LEVEL) <= logging.INFO else logging.CRITICAL
)


def judge_signature(*, scale_min: int, scale_max: int, instructions: str) -> type[dspy.Signature]:
    score_type = Literal[tuple(range(scale_min, scale_max + 1))]  # type: ignore[valid-type]
    return dspy.make_signature(
        {
            "query": (str, dspy.InputField(desc="the search query")),
            "document": (str, dspy.InputField(desc="the document to judge")),
            "reasoning": (str, dspy.OutputField(desc="why the document deserves its score")),
            "score": (
                score_type,
                dspy.OutputField(desc=f"relevance, an integer from {scale_min} to {scale_max}"),
            ),
        },
        instructions,
    )


class Judge(dspy.Module):
    def __init__(self, signature: type[dspy.Signature], document_max_chars: int = DOCUMENT_MAX_CHARS):
        super().__init__()
        self.judge = dspy.Predict(signature)
        self.document_max_chars = document_max_chars

    def forward(self, query: str, document: str) -> dspy.Prediction:
        return self.judge(query=query, document=document[: self.document_max_chars])


def judge_program(*, project: Project, prompt_version: PromptVersion) -> Judge:
    return judge_program_for(
        scale_min=project.scale_min,
        scale_max=project.scale_max,
        instructions=prompt_version.instructions,
        demos=prompt_version.demos,
    )


def judge_program_for(*, scale_min: int, scale_max: int, instructions: str, demos: list[dict] = ()) -> Judge:
    program = Judge(judge_signature(scale_min=scale_min, scale_max=scale_max, instructions=instructions))
    program.judge.demos = [
        dspy.Example(**{k: demo[k] for k in ("query", "document", "reasoning", "score")}).with_inputs(
            "query", "document"
        )
        for demo in demos
    ]
    return program


def judge_adapter() -> dspy.ChatAdapter:
    """No silent fallback: an output that does not parse is a malformed judgment, not a second call."""
    return dspy.ChatAdapter(use_json_adapter_fallback=False)


@dataclass
class CallRecord:
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    raw_output: str = ""
    cut_off: bool = False  # the reply stopped at max_tokens (finish_reason "length")


def usage_tokens(entry: dict) -> tuple[int, int]:
    """(input, output) tokens of a DSPy history entry, whichever names the provider used."""
    usage = entry.get("usage") or {}
    return (
        int(usage.get("prompt_tokens") or usage.get("input_tokens") or 0),
        int(usage.get("completion_tokens") or usage.get("output_tokens") or 0),
    )


def reply_cut_off(entry: dict) -> bool:
    """The reply stopped because it reached max_tokens: a small model's reasoning often runs on."""
    response = entry.get("response")
    if getattr(response, "finish_reason", None) == "length":
        return True
    choices = getattr(response, "choices", None) or []
    return any(getattr(choice, "finish_reason", None) == "length" for choice in choices)


class MeteredLM(dspy.LM):
    """A dspy.LM that hands each call's usage and raw text to the thread that made it.

    dspy.track_usage() misses calls made in worker threads; update_history runs in the calling thread.
    """

    _local = threading.local()

    def update_history(self, entry) -> None:
        record: CallRecord | None = getattr(self._local, "record", None)
        if record is not None:
            tokens_in, tokens_out = usage_tokens(entry)
            record.input_tokens += tokens_in
            record.output_tokens += tokens_out
            record.cost += float(entry.get("cost") or 0.0)
            record.cut_off = record.cut_off or reply_cut_off(entry)
            outputs = entry.get("outputs") or []
            if outputs:
                first = outputs[0]
                record.raw_output = first.get("text", "") if isinstance(first, dict) else str(first)

    @classmethod
    def begin(cls) -> CallRecord:
        cls._local.record = CallRecord()
        return cls._local.record


def endpoint_lm(
    endpoint: ModelEndpoint, *, timeout_s: float = JUDGE_TIMEOUT_S, lm_class: type[MeteredLM] = MeteredLM
) -> dspy.LM:
    """The LM behind an endpoint. Real endpoints go through LiteLLM; the key is read from the named
    environment variable at call time and never stored. Retries are ours (see judge_item)."""
    common = {"temperature": endpoint.temperature, "max_tokens": endpoint.max_tokens, "cache": False}
    if endpoint.is_simulator:
        from judging.sim.engine import AsyncSimEngine, SimEngine

        return lm_class(
            endpoint.model,
            engine=SimEngine(endpoint.model),
            async_engine=AsyncSimEngine(endpoint.model),
            **common,
        )
    refusals = endpoint_refusals(api_key_env=endpoint.api_key_env, api_base=endpoint.api_base, resolve=True)
    if refusals:
        # Rules can tighten after an endpoint was saved: nothing is read or sent, every call fails in words.
        reason = " ".join(refusals.values())
        return lm_class(
            f"refused/{endpoint.model}",
            engine=RefusedEngine(reason),
            async_engine=AsyncRefusedEngine(reason),
            **common,
        )
    return lm_class(
        endpoint.model,
        engine="litellm",
        api_base=endpoint.api_base or None,
        api_key=endpoint_api_key(endpoint),
        num_retries=0,
        timeout=timeout_s,
        **common,
    )


class RefusedEngine:
    """The engine of an endpoint the operator's rules refuse: every call raises, before any network."""

    def __init__(self, reason: str):
        self.reason = reason

    def complete(self, request):
        raise EndpointRefused(self.reason)

    def __deepcopy__(self, memo) -> RefusedEngine:
        return self


class AsyncRefusedEngine(RefusedEngine):
    async def complete(self, request):
        raise EndpointRefused(self.reason)


def endpoint_key(endpoint: ModelEndpoint) -> str | None:
    """The endpoint's key, read from its environment variable only when the operator allows that name."""
    if not endpoint.api_key_env or key_env_refusal(endpoint.api_key_env):
        return None
    return os.environ.get(endpoint.api_key_env) or None


# What a keyless self-hosted server (llama.cpp, vLLM, Ollama) is sent: it checks no key, but LiteLLM's
# OpenAI client refuses to call without one.
NO_KEY_PLACEHOLDER = "no-key"


def endpoint_api_key(endpoint: ModelEndpoint) -> str | None:
    """What LiteLLM is sent as the key: the endpoint's own (endpoint_key). An endpoint on its own server
    with no key gets a placeholder: without it LiteLLM would fail for want of a key, or read
    OPENAI_API_KEY by itself and send that key to the self-hosted server."""
    key = endpoint_key(endpoint)
    return NO_KEY_PLACEHOLDER if key is None and endpoint.api_base else key


def key_redacted(message: str, endpoint: ModelEndpoint) -> str:
    """A provider's error can quote the key it was sent: never keep or show it."""
    key = endpoint_key(endpoint)
    return message.replace(key, "[redacted]") if key else message


@dataclass(frozen=True)
class JudgeOutcome:
    score: int | None
    malformed: bool
    reasoning: str
    raw_output: str
    error_kind: str
    error_message: str
    attempts: int
    input_tokens: int
    output_tokens: int
    cost: Decimal
    latency_ms: int
    note: str = ""


def document_note(document: str, max_chars: int) -> str:
    if len(document) <= max_chars:
        return ""
    return f"document truncated to its first {max_chars} of {len(document)} characters to fit the context"


def cut_off_note(endpoint: ModelEndpoint) -> str:
    return (
        f"reply cut off at max_tokens ({endpoint.max_tokens}) before the score: raise the endpoint's "
        "max_tokens or ask for shorter reasoning"
    )


def error_kind_of(exc: BaseException) -> str:
    if isinstance(exc, LMRateLimitError):
        return Judgment.ErrorKind.RATE_LIMIT
    if isinstance(exc, LMServerError):
        return Judgment.ErrorKind.SERVER
    if isinstance(exc, LMTimeoutError | LMTransportError):
        return Judgment.ErrorKind.TIMEOUT
    if isinstance(exc, LMAuthError | LMBillingError):
        return Judgment.ErrorKind.OTHER  # a refused key or an empty account: trying again cannot help
    if isinstance(exc, LMProviderError):
        return Judgment.ErrorKind.BAD_RESPONSE
    return Judgment.ErrorKind.OTHER


RETRYABLE = {
    Judgment.ErrorKind.RATE_LIMIT,
    Judgment.ErrorKind.SERVER,
    Judgment.ErrorKind.TIMEOUT,
    Judgment.ErrorKind.BAD_RESPONSE,
}


def judge_item(
    *,
    program: Judge,
    lm: dspy.LM,
    endpoint: ModelEndpoint,
    query: str,
    document: str,
    max_attempts: int = JUDGE_MAX_ATTEMPTS,
    backoff_s: float = JUDGE_BACKOFF_S,
    should_stop=lambda: False,
) -> JudgeOutcome:
    """Judge one item, retrying rate limits, server errors, timeouts and unreadable responses with
    exponential backoff. Never raises for a model's failure: the outcome records it."""
    started = time.monotonic()
    tokens_in = tokens_out = 0
    cost = 0.0
    error_kind, error_message = "", ""
    truncated = document_note(document, program.document_max_chars)
    for attempt in range(1, max_attempts + 1):
        record = MeteredLM.begin()
        try:
            with dspy.context(lm=lm, adapter=judge_adapter()):
                prediction = program(query=query, document=document)
        except AdapterParseError as exc:
            return _outcome(
                score=None,
                malformed=True,
                reasoning="",
                raw=exc.lm_response or record.raw_output,
                attempts=attempt,
                record=record,
                prior=(tokens_in, tokens_out, cost),
                started=started,
                endpoint=endpoint,
                notes=[truncated, cut_off_note(endpoint) if record.cut_off else ""],
            )
        except Exception as exc:  # noqa: BLE001 - every model failure becomes a recorded outcome
            tokens_in, tokens_out, cost = (
                tokens_in + record.input_tokens,
                tokens_out + record.output_tokens,
                cost + record.cost,
            )
            error_kind = error_kind_of(exc)
            error_message = key_redacted(f"{type(exc).__name__}: {exc}", endpoint)[:2000]
            if error_kind not in RETRYABLE or attempt == max_attempts or should_stop():
                break
            time.sleep(backoff_s * 2 ** (attempt - 1))
            continue
        return _outcome(
            score=int(prediction.score),
            malformed=False,
            reasoning=str(prediction.reasoning or ""),
            raw=record.raw_output,
            attempts=attempt,
            record=record,
            prior=(tokens_in, tokens_out, cost),
            started=started,
            endpoint=endpoint,
            notes=[truncated],
        )
    return JudgeOutcome(
        score=None,
        malformed=False,
        reasoning="",
        raw_output="",
        error_kind=error_kind,
        error_message=error_message,
        attempts=attempt,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost=_price(endpoint, tokens_in, tokens_out, cost),
        latency_ms=int((time.monotonic() - started) * 1000),
        note=truncated,
    )


def _outcome(
    *, score, malformed, reasoning, raw, attempts, record, prior, started, endpoint, notes=()
) -> JudgeOutcome:
    tokens_in, tokens_out = prior[0] + record.input_tokens, prior[1] + record.output_tokens
    return JudgeOutcome(
        score=score,
        malformed=malformed,
        reasoning=reasoning,
        raw_output=raw,
        error_kind="",
        error_message="",
        attempts=attempts,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost=_price(endpoint, tokens_in, tokens_out, prior[2] + record.cost),
        latency_ms=int((time.monotonic() - started) * 1000),
        note="; ".join(note for note in notes if note),
    )


def _price(endpoint: ModelEndpoint, tokens_in: int, tokens_out: int, provider_cost: float) -> Decimal:
    """The endpoint's own prices win (they are what the lead agreed to pay); else what LiteLLM reported."""
    if endpoint.has_prices:
        return endpoint.price_of(tokens_in, tokens_out)
    return Decimal(str(round(provider_cost, 6)))


def judgment_cache_key(
    *, prompt_version: PromptVersion, endpoint: ModelEndpoint, query: str, document: str
) -> str:
    """Same prompt text, model settings and item content → same key; any change → a fresh call."""
    material = json.dumps(
        {
            "instructions": prompt_version.instructions,
            "demos": prompt_version.demos,
            "model": endpoint.model,
            "api_base": endpoint.api_base,
            "temperature": endpoint.temperature,
            "max_tokens": endpoint.max_tokens,
            "document_max_chars": DOCUMENT_MAX_CHARS,
            "query": query,
            "document": document,
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()
