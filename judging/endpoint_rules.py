"""What a model endpoint may name: only the key variables the operator allows (FLYWHEEL_KEY_ENVS, never
the app's own settings), and only hosts the operator allows (FLYWHEEL_ALLOWED_API_HOSTS; unset: any
host but the app's own database and broker and the cloud metadata address).

The model (ModelEndpoint.clean/save: the form, the admin and any direct call) and the worker
(judging.program.endpoint_lm, at call time) both ask here, so a key is only ever read for an allowed name
and only ever sent to an allowed host."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

# Names the app itself reads (config/settings.py and the services it talks to): never an endpoint's key,
# even when an operator lists one by mistake.
APP_SETTINGS = frozenset(
    {
        "ALLOWED_HOSTS",
        "CELERY_BROKER_URL",
        "CSRF_TRUSTED_ORIGINS",
        "DATABASE_URL",
        "DEBUG",
        "DJANGO_SETTINGS_MODULE",
        "IMPORT_MAX_BYTES",
        "LOG_LEVEL",
        "REQUIRE_SERVICES",
        "SECRET_KEY",
        "SECURE_COOKIES",
    }
)
_APP_PREFIXES = ("FLYWHEEL_", "DJANGO_", "CELERY_", "DATABASE_", "DB_", "SECRET_", "PG", "POSTGRES", "REDIS")
_METADATA_HOSTS = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_DEFAULT_PORTS = {"postgres": 5432, "postgresql": 5432, "redis": 6379, "rediss": 6379, "amqp": 5672}


class EndpointRefused(Exception):
    """An endpoint names a key variable or a host the operator does not allow. Not retried."""


def is_app_setting(name: str) -> bool:
    return name in APP_SETTINGS or name.startswith(_APP_PREFIXES) or name.endswith("_FILE")


def key_envs_allowed() -> list[str]:
    """The variable names an endpoint may name for its key: the operator's list minus the app's own."""
    return [name for name in settings.FLYWHEEL_KEY_ENVS if not is_app_setting(name)]


def key_env_refusal(name: str) -> str:
    """Why `name` may not hold an endpoint's key ("" when it may)."""
    if not name:
        return ""
    if is_app_setting(name):
        return f"{name} is one of Flywheel's own settings, never an endpoint's key."
    allowed = key_envs_allowed()
    if name not in allowed:
        return f"{name} is not an allowed key variable; the allowed ones are {', '.join(allowed) or 'none'}."
    return ""


def _addresses(host: str, *, resolve: bool) -> set:
    """The IP addresses `host` stands for: a literal (also 127.1 or 2130706433), localhost, or with
    `resolve` whatever the resolver says (so a name pointing at loopback is caught at call time)."""
    found = set()
    try:
        found.add(ipaddress.ip_address(host))
    except ValueError:
        try:
            found.add(ipaddress.ip_address(socket.inet_aton(host)))
        except OSError:
            pass
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        found |= {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
    if resolve and not found:
        try:
            found |= {ipaddress.ip_address(info[4][0]) for info in socket.getaddrinfo(host, None)}
        except (OSError, UnicodeError):
            pass  # unresolvable: the call itself will fail, with nothing sent
    return found


def _service_endpoints() -> list[tuple[str, int]]:
    """(host, port) of the app's own database and broker."""
    found = []
    database = settings.DATABASES["default"]
    if database.get("HOST"):
        found.append((database["HOST"], int(database.get("PORT") or 5432)))
    broker = urlsplit(settings.CELERY_BROKER_URL)
    if broker.hostname:
        found.append((broker.hostname, broker.port or _DEFAULT_PORTS.get(broker.scheme, 0)))
    return found


def _same_place(host: str, addresses: set, service_host: str, *, resolve: bool) -> bool:
    if host.lower() == service_host.lower():
        return True
    service = _addresses(service_host, resolve=resolve)
    if addresses & service:
        return True
    # Loopback is loopback whichever address of it is written.
    return any(a.is_loopback for a in addresses) and any(s.is_loopback for s in service)


def api_base_refusal(api_base: str, *, resolve: bool = False) -> str:
    """Why the endpoint may not call `api_base` ("" when it may; an empty api_base is the provider's own
    host, chosen by LiteLLM)."""
    if not api_base:
        return ""
    parts = urlsplit(api_base)
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return "The API base must be an http:// or https:// URL with a host."
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "The API base has a port that is not a number."
    addresses = _addresses(host, resolve=resolve)
    if addresses & _METADATA_HOSTS:
        return f"{host} is the cloud metadata service, never a model endpoint."
    for service_host, service_port in _service_endpoints():
        if port == service_port and _same_place(host, addresses, service_host, resolve=resolve):
            return f"{host}:{port} is Flywheel's own database or broker, never a model endpoint."
    allowed = settings.FLYWHEEL_ALLOWED_API_HOSTS
    if allowed and host.lower() not in allowed and f"{host.lower()}:{port}" not in allowed:
        return f"{host} is not an allowed API host; the allowed ones are {', '.join(allowed)}."
    return ""


def endpoint_refusals(*, api_key_env: str, api_base: str, resolve: bool = False) -> dict[str, str]:
    """{field: why} for every rule the endpoint breaks."""
    refusals = {
        "api_key_env": key_env_refusal(api_key_env),
        "api_base": api_base_refusal(api_base, resolve=resolve),
    }
    return {field: why for field, why in refusals.items() if why}


def endpoint_validate(*, api_key_env: str, api_base: str) -> None:
    refusals = endpoint_refusals(api_key_env=api_key_env, api_base=api_base)
    if refusals:
        raise ValidationError(refusals)
