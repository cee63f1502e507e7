"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright.

Playwright's Python package ships its driver; it must never download a browser, so the
browser is launched by path. The integration stack (dev server, worker, stand-ins, API) comes
from tests/integration/conftest.py; the dashboard gets an app of its own beside it, with its
own database (seeded ticket facts) and an agreement that states service-level objectives.

Screenshots go to $SLAFLOW_TEST_ARTIFACTS (default tests/artifacts/, git-ignored).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, async_playwright
from sqlalchemy import Engine

from activities.db import make_engine
from slaflow.settings import Settings
from starter.api.main import create_app
from tests.api_support import ADMIN_TOKEN
from tests.browser import CHROMIUM, CHROMIUM_ARGS, dashboard_seed
from tests.integration.conftest import *  # noqa: F403  (the integration stack's fixtures)

REPO = Path(__file__).resolve().parents[2]
VIEWPORT = ViewportSize(width=1440, height=1000)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests leave screenshots for people to look at."""
    directory = Path(os.environ.get("SLAFLOW_TEST_ARTIFACTS") or REPO / "tests" / "artifacts")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; missing, it is a failure that says how to install it, not a skip."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium; "
            "run `apt-get install -y chromium` (or `make test` as root, which installs it)"
        )
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
    yield ctx
    await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    """A page that fails the test on a script error (an uncaught exception in our JS) or on
    anything the page's Content-Security-Policy refused."""
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield opened
    assert not errors, f"script errors or refused content on the page: {errors}"


class Served:
    """An ASGI app under uvicorn on a free port, in a thread (the test's loop stays free)."""

    def __init__(self, app: FastAPI) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, name="browser-api", daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.server.should_exit = True
                raise RuntimeError("the API did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class DashboardApp:
    url: str
    settings: Settings
    engine: Engine


@pytest.fixture(scope="session")
def dashboard_app(settings: Settings, worker: None, stack_dir: Path) -> Iterator[DashboardApp]:
    """The real app beside the integration stack (same Temporal, task queue and worker) with
    a database of its own, so the seeded facts are the only facts its reports see."""
    agreement = stack_dir / "dashboard-agreement.yaml"
    agreement.write_text(dashboard_seed.agreement_yaml())
    own = settings.model_copy(
        update={
            "database_url": f"sqlite:///{stack_dir / 'dashboard.db'}",
            "agreement_file": agreement,
        }
    )
    with Served(create_app(own)) as url:  # its startup creates the tables and agreement v1
        engine = make_engine(own.resolved_database_url)
        yield DashboardApp(url=url, settings=own, engine=engine)
        engine.dispose()


async def log_in(page: Page, base_url: str, next_path: str, token: str = ADMIN_TOKEN) -> None:
    """Through the login page, as a person would: the session cookie does the rest."""
    await page.goto(f"{base_url}{next_path}")
    assert "/login" in page.url, f"an anonymous browser should be sent to log in, got {page.url}"
    await page.fill("input[name=token]", token)
    async with page.expect_navigation():
        await page.click("button[type=submit]")
