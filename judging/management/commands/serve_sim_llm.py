"""Serve the simulated LLMs (sim/…) over an OpenAI-compatible HTTP API, with injectable faults.

    python manage.py serve_sim_llm --port 8765 --latency-ms 100 --rate-429 0.05

Then, e.g.: dspy.LM("openai/sim/judge-small", api_base="http://127.0.0.1:8765/v1", api_key="x",
engine="litellm"). The logic lives in judging.sim.server.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from judging.sim.registry import SIM_MODELS
from judging.sim.server import SimServer


def _rate(value: str) -> float:
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise ValueError("a rate is a fraction between 0 and 1")
    return rate


class Command(BaseCommand):
    help = "Serve the simulated LLMs (offline, deterministic) at an OpenAI-compatible /v1/chat/completions."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Interface to bind (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8765, help="Port (default 8765; 0 picks a free one).")
        parser.add_argument("--latency-ms", type=float, default=0.0, help="Delay added to every chat reply.")
        parser.add_argument("--rate-429", type=_rate, default=0.0, help="Fraction of requests answered 429.")
        parser.add_argument("--rate-5xx", type=_rate, default=0.0, help="Fraction answered 500/502/503.")
        parser.add_argument(
            "--rate-timeout", type=_rate, default=0.0, help="Fraction that hang for --timeout-s, then close."
        )
        parser.add_argument(
            "--rate-malformed-body", type=_rate, default=0.0, help="Fraction answered 200 with a broken body."
        )
        parser.add_argument(
            "--timeout-s", type=float, default=30.0, help="How long a 'timeout' request hangs."
        )
        parser.add_argument("--retry-after-ms", type=int, default=100, help="Retry-After sent with a 429.")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the per-request fault draws.")
        parser.add_argument("--verbose-requests", action="store_true", help="Log every request to stderr.")

    def handle(self, *args, **options) -> None:
        try:
            server = SimServer(
                options["host"],
                options["port"],
                latency_ms=options["latency_ms"],
                rate_429=options["rate_429"],
                rate_5xx=options["rate_5xx"],
                rate_timeout=options["rate_timeout"],
                rate_malformed_body=options["rate_malformed_body"],
                timeout_s=options["timeout_s"],
                retry_after_ms=options["retry_after_ms"],
                seed=options["seed"],
                verbose=options["verbose_requests"],
            ).bind()
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc

        self.stdout.write(f"Sim LLM server (simulators, offline) listening on {server.url}/v1")
        self.stdout.write(f"port={server.port}")
        for name, description in SIM_MODELS.items():
            self.stdout.write(f"  {name}: {description}")
        self.stdout.write(f"Faults: {server.config}")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
        finally:
            server._stopping.set()
