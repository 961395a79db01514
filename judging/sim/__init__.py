"""Simulated LLMs ("sim/…" models): deterministic, offline stand-ins for a judge and a reflection model.

- `SIM_MODELS`: name -> short description (show it wherever a sim model appears: they are simulators).
- `sim_lm(model, **kwargs) -> dspy.LM`: in-process DSPy engine (judging.sim.engine).
- `complete_chat(model, messages) -> SimReply`: the models themselves, OpenAI-style messages in.
- `SimServer`: an OpenAI-compatible HTTP server for the real LiteLLM path (judging.sim.server),
  also `manage.py serve_sim_llm`.

dspy is imported only when `sim_lm`/`SimEngine`/`AsyncSimEngine` is first used.
"""

from __future__ import annotations

from typing import Any

from judging.sim.core import SimReply, complete_chat
from judging.sim.registry import JUDGE_PROFILES, SIM_MODELS, canonical_model, is_sim_model

__all__ = [
    "JUDGE_PROFILES",
    "SIM_MODELS",
    "AsyncSimEngine",
    "SimEngine",
    "SimReply",
    "SimServer",
    "canonical_model",
    "complete_chat",
    "is_sim_model",
    "sim_lm",
]

_LAZY = {
    "sim_lm": "judging.sim.engine",
    "SimEngine": "judging.sim.engine",
    "AsyncSimEngine": "judging.sim.engine",
    "SimServer": "judging.sim.server",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'judging.sim' has no attribute {name!r}")
