"""/docs and /redoc render in headless Chromium with every request answered by the API itself:
Swagger UI and ReDoc come from the package, so the docs work with no internet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, Request, Route, expect

from starter.api.main import create_app
from tests.api_support import auth_settings
from tests.browser.conftest import Served

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def docs_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app with no Temporal behind it: the docs need none."""
    data = tmp_path_factory.mktemp("docs")
    settings = auth_settings(data_dir=data, temporal_address="127.0.0.1:1")
    with Served(create_app(settings)) as url:
        yield url


async def _local_only(page: Page) -> list[str]:
    """Abort (and list) every request that would leave 127.0.0.1."""
    left: list[str] = []

    async def guard(route: Route, request: Request) -> None:
        if urlsplit(request.url).hostname == "127.0.0.1" or request.url.startswith("data:"):
            await route.continue_()
        else:
            left.append(request.url)
            await route.abort()

    await page.route("**/*", guard)
    return left


async def test_swagger_ui_lists_the_operations_offline(
    page: Page, docs_app: str, artifacts: Path
) -> None:
    left = await _local_only(page)
    await page.goto(f"{docs_app}/docs")
    operations = page.locator(".opblock-summary-path")
    await expect(operations.filter(has_text="/tickets").first).to_be_visible(timeout=20_000)
    assert await operations.count() > 10
    await expect(page.locator(".opblock-summary-method").first).to_be_visible()
    await page.screenshot(path=str(artifacts / "api-docs-swagger.png"))
    assert left == []


async def test_redoc_lists_the_operations_offline(
    page: Page, docs_app: str, artifacts: Path
) -> None:
    left = await _local_only(page)
    await page.goto(f"{docs_app}/redoc")
    operations = page.locator("[data-section-id^='operation/']")
    await expect(operations.first).to_be_attached(timeout=20_000)
    assert await operations.count() > 10
    await expect(page.locator("h1").first).to_contain_text("slaflow")
    await page.screenshot(path=str(artifacts / "api-docs-redoc.png"))
    assert left == []
