"""`manage.py endpoint_create`: register a model endpoint from the shell, checked as the endpoints page
checks it."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from judging.forms import ModelEndpointForm
from judging.models import ModelEndpoint


class Command(BaseCommand):
    help = (
        "Register a model endpoint: a name, a DSPy/LiteLLM model string (or a sim/… model) and, for a real "
        "provider, the NAME of the environment variable holding its key (never the key)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="what pages and commands call it, e.g. gpt-4.1-mini")
        parser.add_argument("--model", required=True, help='e.g. "openai/gpt-4.1-mini" or "sim/judge-small"')
        parser.add_argument(
            "--api-base", default="", help="for a self-hosted server, e.g. http://10.0.0.5:8000/v1"
        )
        parser.add_argument("--api-key-env", default="", help="e.g. OPENAI_API_KEY")
        parser.add_argument("--temperature", type=float, default=0.0)
        parser.add_argument("--max-tokens", type=int, default=1024)
        parser.add_argument("--concurrency", type=int, default=8, help="calls at once, over all workers")
        parser.add_argument("--price-in", default="0", help="dollars per million input tokens")
        parser.add_argument("--price-out", default="0", help="dollars per million output tokens")

    def handle(self, *args, **options) -> None:
        if ModelEndpoint.objects.filter(name=options["name"]).exists():
            raise CommandError(f"An endpoint named {options['name']!r} exists already.")
        form = ModelEndpointForm(
            {
                "name": options["name"],
                "model": options["model"],
                "api_base": options["api_base"],
                "api_key_env": options["api_key_env"],
                "temperature": options["temperature"],
                "max_tokens": options["max_tokens"],
                "concurrency": options["concurrency"],
                "price_input_per_mtok": options["price_in"],
                "price_output_per_mtok": options["price_out"],
            }
        )
        if not form.is_valid():
            problems = [f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()]
            raise CommandError("; ".join(problems))
        endpoint = form.save()
        self.stdout.write(f"Registered endpoint {endpoint.name} ({endpoint.model}).")
