"""An OpenAI-compatible HTTP server for the sim models, with injectable faults.

    with SimServer(latency_ms=100, rate_429=0.1) as server:
        lm = dspy.LM("openai/sim/judge-small", api_base=server.url + "/v1", api_key="x", cache=False)

Endpoints: POST /v1/chat/completions (also /chat/completions), GET /v1/models (also /models).
The request's model may be "sim/judge-small", "judge-small" or "openai/sim/judge-small". Replies come
from `judging.sim.core.complete_chat`, so they equal the in-process engine's replies for the same
messages. `"stream": true` gets a server-sent-event stream (one content chunk, then usage, then [DONE]).

Faults, decided per chat request from a counter and the seed (the k-th request always gets the same
fault, whatever the thread interleaving), checked in this order over one uniform draw:
    rate_429            -> 429 with an OpenAI-style rate_limit_error and Retry-After headers
    rate_5xx            -> 500, 502 or 503 with a server_error body
    rate_timeout        -> no response: the connection hangs for timeout_s, then is closed
    rate_malformed_body -> 200 with a truncated JSON body or a non-JSON body
Latency (latency_ms) is added before every chat reply. One thread per connection (ThreadingHTTPServer),
so concurrent requests wait out their latency in parallel. Nothing here imports Django or dspy.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from judging.sim.core import complete_chat
from judging.sim.registry import SIM_MODELS, canonical_model
from judging.sim.text import stable_rng


@dataclass(frozen=True)
class FaultConfig:
    latency_ms: float = 0.0
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_timeout: float = 0.0
    rate_malformed_body: float = 0.0
    timeout_s: float = 30.0
    retry_after_ms: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        rates = (self.rate_429, self.rate_5xx, self.rate_timeout, self.rate_malformed_body)
        if any(r < 0 or r > 1 for r in rates) or sum(rates) > 1 + 1e-9:
            raise ValueError("fault rates must each be in [0, 1] and sum to at most 1")
        if self.latency_ms < 0 or self.timeout_s < 0:
            raise ValueError("latency_ms and timeout_s must be >= 0")


@dataclass(frozen=True)
class Fault:
    kind: str | None  # None, "429", "5xx", "timeout", "malformed_body"
    variant: int = 0


def fault_for(config: FaultConfig, index: int) -> Fault:
    """The fault of the index-th chat request (0-based): a pure function of (seed, index)."""
    rng = stable_rng("sim-server", str(config.seed), str(index))
    u, variant = rng.random(), rng.randrange(3)
    edge = 0.0
    for kind, rate in (
        ("429", config.rate_429),
        ("5xx", config.rate_5xx),
        ("timeout", config.rate_timeout),
        ("malformed_body", config.rate_malformed_body),
    ):
        edge += rate
        if u < edge:
            return Fault(kind, variant)
    return Fault(None, variant)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512
    sim: SimServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FlywheelSimLLM/1.0"
    timeout = 60  # an idle keep-alive connection is dropped after this long
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's delayed
    # ACK and every reply gets ~40 ms of extra latency on top of latency_ms.
    disable_nagle_algorithm = True
    server: _HTTPServer

    # -- plumbing -------------------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        if self.server.sim.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, content_type: str = "application/json", headers=None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _send_json(self, status: int, payload: dict[str, Any], headers=None) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), headers=headers)

    def _error(self, status: int, message: str, type_: str, code: str | None = None, headers=None) -> None:
        self._send_json(
            status, {"error": {"message": message, "type": type_, "param": None, "code": code}}, headers
        )

    def _path(self) -> str:
        path = self.path.split("?", 1)[0].rstrip("/")
        return path[3:] if path.startswith("/v1/") or path == "/v1" else path

    # -- endpoints ------------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        if self._path() == "/models":
            data = [
                {"id": name, "object": "model", "created": 0, "owned_by": "flywheel-sim", "description": desc}
                for name, desc in SIM_MODELS.items()
            ]
            self._send_json(200, {"object": "list", "data": data})
        elif self._path() in ("", "/health"):
            self._send_json(200, {"status": "ok", "simulator": True})
        else:
            self._error(404, f"No route for GET {self.path}", "invalid_request_error", "not_found")

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self._path() != "/chat/completions":
            self._error(404, f"No route for POST {self.path}", "invalid_request_error", "not_found")
            return
        sim = self.server.sim
        sim._enter()
        try:
            self._chat(sim, raw)
        finally:
            sim._leave()

    def _chat(self, sim: SimServer, raw: bytes) -> None:
        try:
            body = json.loads(raw or b"{}")
            messages = body["messages"]
            if not isinstance(messages, list) or not messages:
                raise ValueError("messages must be a non-empty list")
        except (ValueError, KeyError, TypeError) as exc:
            self._error(400, f"Invalid request body: {exc}", "invalid_request_error")
            return
        try:
            model = canonical_model(str(body.get("model", "")))
        except ValueError as exc:
            self._error(404, str(exc), "invalid_request_error", "model_not_found")
            return

        index, fault = sim._next_fault()
        config = sim.config
        if config.latency_ms:
            sim._stopping.wait(config.latency_ms / 1000)

        if fault.kind == "429":
            sim._count("429")
            seconds = max(1, round(config.retry_after_ms / 1000))
            self._error(
                429,
                "Rate limit reached for requests (simulated by the sim LLM server).",
                "rate_limit_error",
                "rate_limit_exceeded",
                headers={"Retry-After": str(seconds), "retry-after-ms": str(config.retry_after_ms)},
            )
            return
        if fault.kind == "5xx":
            sim._count("5xx")
            status = (500, 502, 503)[fault.variant]
            self._error(status, f"Simulated server error ({status}).", "server_error")
            return
        if fault.kind == "timeout":
            sim._count("timeout")
            sim._stopping.wait(config.timeout_s)
            self.close_connection = True
            return

        reply = complete_chat(model, messages)
        n = max(1, int(body.get("n") or 1))
        usage = {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens * n,
            "total_tokens": reply.input_tokens + reply.output_tokens * n,
        }
        created = int(time.time())
        completion_id = f"chatcmpl-sim-{index}"

        if fault.kind == "malformed_body":
            sim._count("malformed_body")
            good = json.dumps(
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text}}],
                }
            )
            bodies = (
                good[: len(good) // 2].encode(),
                b"<html><body>502 Bad Gateway</body></html>",
                b'{"choices": [',
            )
            self._send(200, bodies[fault.variant])
            return

        sim._count("ok")
        if body.get("stream"):
            base = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
            }
            events = []
            for i in range(n):
                delta = {"role": "assistant", "content": reply.text}
                events.append({**base, "choices": [{"index": i, "delta": delta, "finish_reason": None}]})
                events.append({**base, "choices": [{"index": i, "delta": {}, "finish_reason": "stop"}]})
            if (body.get("stream_options") or {}).get("include_usage"):
                events.append({**base, "choices": [], "usage": usage})
            text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
            self._send(200, text.encode("utf-8"), content_type="text/event-stream")
            return
        self._send_json(
            200,
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "system_fingerprint": "flywheel-sim",
                "choices": [
                    {
                        "index": i,
                        "message": {"role": "assistant", "content": reply.text},
                        "finish_reason": "stop",
                    }
                    for i in range(n)
                ],
                "usage": usage,
            },
        )


class SimServer:
    """The sim models behind an OpenAI-compatible HTTP API, served from a background thread.

    Use as a context manager, or start()/stop(). `url` is "http://127.0.0.1:<port>" (append "/v1" for
    an OpenAI/LiteLLM api_base). `stats()` counts requests by outcome and the peak concurrency."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency_ms: float = 0.0,
        rate_429: float = 0.0,
        rate_5xx: float = 0.0,
        rate_timeout: float = 0.0,
        rate_malformed_body: float = 0.0,
        timeout_s: float = 30.0,
        retry_after_ms: int = 100,
        seed: int = 0,
        verbose: bool = False,
    ):
        self.host = host
        self.requested_port = port
        self.config = FaultConfig(
            latency_ms=latency_ms,
            rate_429=rate_429,
            rate_5xx=rate_5xx,
            rate_timeout=rate_timeout,
            rate_malformed_body=rate_malformed_body,
            timeout_s=timeout_s,
            retry_after_ms=retry_after_ms,
            seed=seed,
        )
        self.verbose = verbose
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._counter = 0
        self._counts: dict[str, int] = {}
        self._in_flight = 0
        self._max_in_flight = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------------
    def bind(self) -> SimServer:
        """Open the listening socket (port 0 picks a free port) without serving yet."""
        if self._httpd is None:
            self._stopping.clear()
            self._httpd = _HTTPServer((self.host, self.requested_port), _Handler)
            self._httpd.sim = self
        return self

    def start(self) -> SimServer:
        """Serve from a daemon thread; returns self."""
        self.bind()
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="sim-llm-server",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve from the calling thread until stop() or KeyboardInterrupt."""
        self.bind()
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._close()

    def stop(self) -> None:
        """Stop serving; requests waiting out latency or a timeout fault are released at once."""
        self._stopping.set()
        if self._httpd is not None and self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._close()

    def _close(self) -> None:
        if self._httpd is not None:
            self._httpd.server_close()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("SimServer is not bound; call start() first")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- bookkeeping (called from handler threads) ----------------------------------------------------
    def _next_fault(self) -> tuple[int, Fault]:
        with self._lock:
            index = self._counter
            self._counter += 1
        return index, fault_for(self.config, index)

    def _count(self, outcome: str) -> None:
        with self._lock:
            self._counts[outcome] = self._counts.get(outcome, 0) + 1

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self._counter,
                **{k: self._counts.get(k, 0) for k in ("ok", "429", "5xx", "timeout", "malformed_body")},
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
                "config": asdict(self.config),
            }
