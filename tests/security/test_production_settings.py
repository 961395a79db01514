"""With DEBUG off: Secure cookies, HSTS, the proxy's https header only when told to trust it, persistent
database connections with health checks. The demo, served over plain http, turns Secure cookies off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READ = (
    "import json, django; from django.conf import settings; django.setup(); "
    "db = settings.DATABASES['default']; print(json.dumps({"
    "'session_secure': settings.SESSION_COOKIE_SECURE, 'csrf_secure': settings.CSRF_COOKIE_SECURE, "
    "'hsts': settings.SECURE_HSTS_SECONDS, 'proxy': getattr(settings, 'SECURE_PROXY_SSL_HEADER', None), "
    "'conn_max_age': db['CONN_MAX_AGE'], 'health_checks': db['CONN_HEALTH_CHECKS'], "
    "'csp': settings.FLYWHEEL_CSP}))"
)


def _settings(tmp_path, **env) -> dict:
    """config.settings as a fresh process reads it from this environment."""
    clean = {
        k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECURE_COOKIES", "FLYWHEEL_BEHIND_PROXY")
    }
    clean |= {"DJANGO_SETTINGS_MODULE": "config.settings", "FLYWHEEL_VAR_DIR": str(tmp_path), **env}
    out = subprocess.run([sys.executable, "-c", READ], cwd=ROOT, env=clean, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_production_defaults_are_secure(tmp_path):
    found = _settings(tmp_path)
    assert found["session_secure"] and found["csrf_secure"]
    assert found["hsts"] >= 31_536_000 and found["proxy"] is None
    assert found["conn_max_age"] == 60 and found["health_checks"] is True
    assert "script-src 'self'" in found["csp"]


def test_the_proxys_https_header_is_trusted_only_when_told(tmp_path):
    assert _settings(tmp_path, FLYWHEEL_BEHIND_PROXY="1")["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_debug_and_plain_http_turn_secure_cookies_off(tmp_path):
    assert not _settings(tmp_path, DEBUG="1")["session_secure"]
    assert not _settings(tmp_path, SECURE_COOKIES="0")["session_secure"]


def test_the_demo_serves_its_plain_http_app_without_secure_cookies(monkeypatch):
    from judging.management.commands import demo

    seen = []

    def popen(args, **kwargs):
        seen.append(kwargs.get("env") or {})
        raise KeyboardInterrupt  # stop before anything starts

    monkeypatch.delenv("SECURE_COOKIES", raising=False)
    monkeypatch.setattr(demo.subprocess, "Popen", popen)
    with pytest.raises(KeyboardInterrupt):
        demo.Command()._serve("127.0.0.1", 8000)
    assert seen[0]["SECURE_COOKIES"] == "0"
