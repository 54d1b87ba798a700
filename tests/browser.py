"""Headless Chromium (Debian's package) with the network off, for map tests."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

#: Flags: headless as root, no GPU, no background traffic, and no network at
#: all (every host name fails to resolve and every request goes to a dead proxy).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=8000",
    "--window-size=1400,900",
]

_CONSOLE = re.compile(r'CONSOLE[^\]]*\] "(?P<msg>.*)", source: (?P<src>\S*)')


@dataclass
class Page:
    """What Chromium saw: the DOM after scripts ran, and the console messages."""

    dom: str
    console: list[str]

    @property
    def errors(self) -> list[str]:
        return [m for m in self.console if re.search(r"error|uncaught|failed", m, re.I)]


def open_page(path: Path, *, screenshot: Path | None = None) -> Page:
    """Load a local HTML file; return the final DOM and console, and save a screenshot."""
    if CHROMIUM is None:
        msg = (
            "chromium is not installed; run 'make browser' (Debian package 'chromium')"
        )
        raise RuntimeError(msg)
    url = path.resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    CHROMIUM,
                    *FLAGS,
                    f"--user-data-dir={profile}",
                    f"--screenshot={screenshot}",
                    url,
                ],
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
    console = [m.group("msg") for m in _CONSOLE.finditer(run.stderr)]
    return Page(dom=run.stdout, console=console)
