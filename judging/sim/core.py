"""One entry point for every sim model: OpenAI-style chat messages in, reply text + token counts out.

Both the in-process DSPy engine (`engine.py`) and the HTTP server (`server.py`) call `complete_chat`, so
the same messages give the same reply on either path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from judging.sim.dspy_format import message_text, parse_request
from judging.sim.judge import judge_reply
from judging.sim.reflector import reflector_fields, reflector_raw
from judging.sim.registry import JUDGE_PROFILES, canonical_model
from judging.sim.text import approx_tokens, stable_rng


@dataclass(frozen=True)
class SimReply:
    model: str
    text: str
    input_tokens: int
    output_tokens: int


def normalize_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {"role": str(m.get("role") or "user"), "content": message_text(m.get("content"))} for m in messages
    ]


def complete_chat(model: str, messages: list[dict[str, Any]]) -> SimReply:
    """The sim model's reply to a chat request. Pure and thread-safe: no state is kept between calls.

    All randomness comes from a hash of (model, every message), i.e. of the prompt and the inputs."""
    name = canonical_model(model)
    msgs = normalize_messages(messages)
    rng = stable_rng(name, *(f"{m['role']}:{m['content']}" for m in msgs))
    request = parse_request(msgs)
    if name in JUDGE_PROFILES:
        if request is not None:
            text = judge_reply(JUDGE_PROFILES[name], request, rng)
        else:
            text = f"This is a simulated judge ({name}); it answers DSPy adapter requests only."
    elif request is not None:
        text = reflector_fields(request, rng)
    else:
        last_user = next((m["content"] for m in reversed(msgs) if m["role"] == "user"), "")
        text = reflector_raw(last_user, rng)
    input_tokens = sum(approx_tokens(m["content"]) for m in msgs)
    return SimReply(model=name, text=text, input_tokens=input_tokens, output_tokens=approx_tokens(text))
