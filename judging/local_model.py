"""The local real model that `make local-llm` serves (Qwen2.5-Coder-1.5B-Instruct on llama.cpp): how to
reach it, whether it answers, and its endpoint's settings."""

from __future__ import annotations

import json
import urllib.request
from decimal import Decimal

LOCAL_MODEL_ALIAS = "qwen2.5-coder-1.5b-instruct"
LOCAL_MODEL = f"openai/{LOCAL_MODEL_ALIAS}"
LOCAL_API_BASE = "http://127.0.0.1:8191/v1"
LOCAL_ENDPOINT_NAME = "qwen2.5-coder-1.5b (local, 1.5B — for trying Flywheel offline)"
# llama.cpp answers one request at a time: more at once would only queue. It costs nothing per token.
# 256 tokens leave room for a reasoning that runs long (a judgment is about 50) without letting a
# rambling reply hold the only slot for minutes.
LOCAL_ENDPOINT_SETTINGS = {
    "model": LOCAL_MODEL,
    "api_base": LOCAL_API_BASE,
    "api_key_env": "",
    "temperature": 0.0,
    "max_tokens": 256,
    "concurrency": 1,
    "price_input_per_mtok": Decimal("0"),
    "price_output_per_mtok": Decimal("0"),
}


def local_model_answers(*, api_base: str = LOCAL_API_BASE, timeout_s: float = 0.5) -> bool:
    """True when an OpenAI-compatible server at api_base lists the local model."""
    try:
        with urllib.request.urlopen(f"{api_base.rstrip('/')}/models", timeout=timeout_s) as response:
            listed = json.load(response).get("data") or []
    except (OSError, ValueError, AttributeError):
        return False
    return any(isinstance(model, dict) and model.get("id") == LOCAL_MODEL_ALIAS for model in listed)
