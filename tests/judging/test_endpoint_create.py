from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from judging.models import ModelEndpoint

pytestmark = pytest.mark.django_db


def endpoint_create(*args) -> str:
    out = StringIO()
    call_command("endpoint_create", *args, stdout=out)
    return out.getvalue()


def test_endpoint_create_registers_a_model_with_its_settings_and_the_name_of_its_key():
    out = endpoint_create(
        "gpt-mini",
        "--model",
        "openai/gpt-4.1-mini",
        "--api-key-env",
        "OPENAI_API_KEY",
        "--concurrency",
        "4",
        "--price-in",
        "0.40",
        "--price-out",
        "1.60",
    )
    endpoint = ModelEndpoint.objects.get(name="gpt-mini")
    assert "Registered endpoint gpt-mini (openai/gpt-4.1-mini)." in out
    assert (endpoint.api_key_env, endpoint.concurrency, str(endpoint.price_output_per_mtok)) == (
        "OPENAI_API_KEY",
        4,
        "1.6000",
    )


def test_endpoint_create_refuses_a_key_given_in_place_of_its_variable_and_stores_nothing():
    with pytest.raises(CommandError, match="api_key_env: .*not the key itself"):
        endpoint_create("leaky", "--model", "openai/gpt-4.1-mini", "--api-key-env", "sk-live-1234")
    assert not ModelEndpoint.objects.exists()


def test_endpoint_create_refuses_a_name_that_exists():
    endpoint_create("sim/judge-small", "--model", "sim/judge-small")
    with pytest.raises(CommandError, match="exists already"):
        endpoint_create("sim/judge-small", "--model", "sim/judge-large")
