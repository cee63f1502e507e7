"""`/docs` (Swagger UI) and `/redoc` (ReDoc) from assets shipped in the package.

FastAPI's defaults load both from a CDN, which leaves the pages blank offline; the files
are vendored from the npm registry (swagger-ui-dist 5.35.0, redoc 2.5.4, licenses beside
them) under /static/vendor, and no page asks for Google Fonts or a remote favicon.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

from starter.api.pages import STATIC_PREFIX

VENDOR = f"{STATIC_PREFIX}/vendor"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
FAVICON_URL = f"{VENDOR}/swagger-ui-favicon-32x32.png"
SWAGGER_PARAMETERS = {"validatorUrl": None}
"""Swagger UI would otherwise send the spec to validator.swagger.io for a badge."""


def install(app: FastAPI) -> None:
    """Serve the docs pages; the app must be built with ``docs_url=None, redoc_url=None``."""
    openapi_url = app.openapi_url or "/openapi.json"
    title = app.title

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{VENDOR}/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR}/swagger-ui.css",
            swagger_favicon_url=FAVICON_URL,
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{VENDOR}/redoc.standalone.js",
            redoc_favicon_url=FAVICON_URL,
            with_google_fonts=False,
        )
