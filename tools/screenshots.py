"""`make screenshots`: the README's pictures of the real pages (labeling, a judge run's disagreements, the
prompt version history), taken in Chromium from the demo data in a throwaway folder, so they never go stale.

Deterministic: the demo's seeded items and labels, the sim models and fixed seeds; only dates change.
One command, under a minute on an idle machine: seed, judge and optimize in-process on SQLite, serve with
gunicorn on a free port, take the pictures, stop the server, delete the folder.

    .venv/bin/python tools/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
VIEWPORT = {"width": 1280, "height": 800}
SLUG = "web-relevance-demo"  # judging.demo.DEMO_SLUG, without importing Django into this process

# Django runs in child processes only: its settings read FLYWHEEL_VAR_DIR once, at import.
FIRST_RUN_ID = (
    "from judging.models import JudgeRun; "
    f"print(JudgeRun.objects.filter(project__slug='{SLUG}', item_set='labeled').earliest('id').pk)"
)
# The sim judge's hand-written baseline. Named, because while `make local-llm` serves, the demo also writes
# a baseline for the local model, and `optimize` would take that newest one and search on the real model.
SIM_BASELINE_ID = (
    "from judging.models import PromptVersion; "
    f"print(PromptVersion.objects.get(project__slug='{SLUG}', target_model__name='sim/judge-small', "
    "origin='hand-written', parent=None).pk)"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the PNGs go (default {OUT})")
    out = parser.parse_args().out
    if not CHROMIUM.exists():
        print(f"No Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="flywheel-screenshots-") as var:
        env = _throwaway_env(Path(var))
        _manage(env, "demo", "--no-serve")
        _manage(env, "judge", SLUG, "--endpoint", "sim/judge-small", "--inline")
        # A few candidate versions, measured on the test split, for the version history.
        baseline = _manage(env, "shell", "-c", SIM_BASELINE_ID).strip().splitlines()[-1]
        optimized = _manage(
            env,
            "optimize",
            SLUG,
            "--base-version",
            baseline,
            "--inline",
            "--max-metric-calls",
            "150",
            "--seed",
            "0",
        )
        best = re.search(r"Best candidate: prompt version (\d+)\.", optimized)
        if best:  # the lead promotes it, so the history shows a production version beside the candidates
            _manage(env, "prompt_promote", best.group(1), "--user", "lead")
        run_id = _manage(env, "shell", "-c", FIRST_RUN_ID).strip().splitlines()[-1]
        passwords = json.loads((Path(var) / "demo_accounts.json").read_text())
        shots = [
            ("labeling", "annotator", f"/projects/{SLUG}/label/"),
            ("disagreements", "reviewer", f"/runs/{run_id}/disagreements/"),
            ("versions", "lead", f"/projects/{SLUG}/versions/"),
        ]
        with _served(env) as base_url:
            for name, username, path in shots:
                _screenshot(base_url, username, passwords[username], path, out / f"{name}.png")
    for name, _, _ in shots:
        png = out / f"{name}.png"
        print(f"{png}: {png.stat().st_size // 1024} KB")
    return 0


def _throwaway_env(var: Path) -> dict[str, str]:
    """The embedded default (SQLite, filesystem broker) in `var`, whatever services the shell points at."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    return env | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "FLYWHEEL_VAR_DIR": str(var),
        "SECURE_COOKIES": "0",  # plain http on 127.0.0.1, as `make demo` serves
        "PYTHONPATH": str(ROOT),
    }


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


class _served:
    """gunicorn on a free port for the duration of a `with`; stopped (and waited for) on the way out."""

    def __init__(self, env: dict[str, str]):
        self.env = env

    def __enter__(self) -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--threads",
                "4",
                "--no-control-socket",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
        )
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.server.poll() is None:
            try:
                urllib.request.urlopen(f"{base_url}/login/", timeout=2).close()
                return base_url
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        raise SystemExit("gunicorn did not serve the login page")

    def __exit__(self, *exc) -> None:
        self.server.terminate()
        try:
            self.server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()


def _screenshot(base_url: str, username: str, password: str, path: str, png: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
        )
        try:
            context = browser.new_context(base_url=base_url, viewport=VIEWPORT, device_scale_factor=1)
            context.set_default_timeout(30_000)
            page = context.new_page()
            page.goto("/login/")
            page.fill("#id_username", username)
            page.fill("#id_password", password)
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/login/" not in url)
            page.goto(path)
            page.wait_for_load_state("networkidle")  # htmx fragments and plotly charts drawn
            page.screenshot(path=str(png), animations="disabled", caret="hide")
        finally:
            browser.close()


if __name__ == "__main__":
    sys.exit(main())
