"""Browser tests: Debian's Chromium driven headless by Playwright, never a downloaded browser."""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
"""Without the background-networking flags Chromium tries Google's hosts, which this closed
network refuses."""
