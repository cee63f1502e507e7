"""/docs and /redoc name only assets the app serves itself (the browser test renders them)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from starter.api.main import create_app
from tests.api_support import auth_settings

ASSET = re.compile(r"""(?:src|href)=["']?([^"'\s>]+)""")


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
async def test_docs_pages_load_nothing_from_elsewhere(path: str, tmp_path: Path) -> None:
    app = create_app(auth_settings(data_dir=tmp_path, temporal_address="127.0.0.1:1"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api.test"
    ) as client:
        page = await client.get(path)
        assert page.status_code == 200
        assert "cdn.jsdelivr" not in page.text and "fonts.googleapis" not in page.text
        assets = ASSET.findall(page.text)
        assert all(a.startswith("/static/vendor/") for a in assets), assets
        for asset in assets:
            served = await client.get(asset)
            assert served.status_code == 200 and served.content, asset
