"""The sim models as DSPy engines (dspy.clients.engines.base.Engine / AsyncEngine).

    lm = sim_lm("sim/judge-small")            # a dspy.LM whose calls never leave the process
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)):
        ...

The engines hold no mutable state (every reply is a pure function of model + messages), so one instance
is safely shared by all threads of a parallel evaluation, and deep copies may share it too.
"""

from __future__ import annotations

from typing import Any

import dspy
from dspy.clients.engines.base import validate_request
from dspy.lm15 import Message, Request, Response, TextPart, Usage, response_to_events

from judging.sim.core import complete_chat
from judging.sim.registry import canonical_model


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return "".join(getattr(part, "text", "") or "" for part in value)


def request_messages(request: Request) -> list[dict[str, str]]:
    """A canonical dspy.lm15.Request as OpenAI-style chat messages (what LiteLLM would send)."""
    messages = []
    if request.system is not None:
        messages.append({"role": "system", "content": _text(request.system)})
    for message in request.messages:
        text = message.text if isinstance(getattr(message, "text", None), str) else _text(message.parts)
        messages.append({"role": message.role, "content": text or ""})
    return messages


class SimEngine:
    """Synchronous engine for one sim model."""

    def __init__(self, model: str):
        self.model = canonical_model(model)

    def complete(self, request: Request) -> Response:
        validate_request(request)
        reply = complete_chat(self.model, request_messages(request))
        return Response(
            id=None,
            model=self.model,
            message=Message.assistant([TextPart(reply.text)]),
            finish_reason="stop",
            usage=Usage(input_tokens=reply.input_tokens, output_tokens=reply.output_tokens),
        )

    def stream(self, request: Request):
        return response_to_events(self.complete(request))

    def close(self) -> None:
        pass

    # Saving a program with this LM (dspy.LM.dump_state) records the engine as {"class", "state"}.
    def dump_state(self) -> dict[str, Any]:
        return {"model": self.model}

    @classmethod
    def load_state(cls, state: dict[str, Any]) -> SimEngine:
        return cls(state["model"])

    def __deepcopy__(self, memo) -> SimEngine:
        return self

    def __repr__(self) -> str:
        return f"SimEngine({self.model!r})"


class AsyncSimEngine:
    """Async counterpart (dspy.LM.acall): the work is CPU-only and takes microseconds, so no thread hop."""

    def __init__(self, model_or_engine: str | SimEngine):
        self.sync = model_or_engine if isinstance(model_or_engine, SimEngine) else SimEngine(model_or_engine)

    @property
    def model(self) -> str:
        return self.sync.model

    async def complete(self, request: Request) -> Response:
        return self.sync.complete(request)

    async def stream(self, request: Request):
        for event in self.sync.stream(request):
            yield event

    async def aclose(self) -> None:
        pass

    def dump_state(self) -> dict[str, Any]:
        return self.sync.dump_state()

    @classmethod
    def load_state(cls, state: dict[str, Any]) -> AsyncSimEngine:
        return cls(state["model"])

    def __deepcopy__(self, memo) -> AsyncSimEngine:
        return self


def sim_lm(model: str, **kwargs: Any) -> dspy.LM:
    """A dspy.LM for a sim model ("sim/judge-small", "sim/judge-large", "sim/reflector"; the "sim/"
    prefix may be left out). Keyword arguments go to dspy.LM (num_retries, temperature, ...).

    `cache` defaults to False: a sim reply costs microseconds, and a disk cache would only grow ~/.dspy_cache.
    """
    name = canonical_model(model)
    kwargs.setdefault("cache", False)
    engine = SimEngine(name)
    return dspy.LM(name, engine=engine, async_engine=AsyncSimEngine(engine), **kwargs)
