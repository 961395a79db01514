"""`make screenshots` retakes the README's pictures of the real pages in one command."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tools.screenshots import CHROMIUM, ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _png_size(png: Path) -> tuple[int, int]:
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR"
    return struct.unpack(">II", header[16:24])


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}")
def test_the_script_takes_the_three_readme_pictures_small_enough_to_commit(tmp_path):
    done = subprocess.run(
        [sys.executable, "tools/screenshots.py", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == ["disagreements.png", "labeling.png", "versions.png"]
    readme = (ROOT / "README.md").read_text()
    for name in pngs:
        png = tmp_path / name
        assert _png_size(png) == (1280, 800)
        assert png.stat().st_size < 200 * 1024
        assert f"docs/screenshots/{name}" in readme
