"""HTML pages of the API: Jinja2 templates in starter/api/templates, static files (CSS, our
small scripts, the vendored Chart.js) in starter/api/static, served at /static.

Static files are public: they hold no data, and the login page needs its stylesheet before
anyone has a session. Every page that shows figures sits behind a role like the JSON routes.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
TEMPLATE_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
STATIC_PREFIX = "/static"

templates = Jinja2Templates(directory=TEMPLATE_DIR)

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # Scripts and styles from this site only (no inline script, no CDN), no framing.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
"""Headers of every figures page: they show business data, so no caching and no framing."""
NONE = "\N{EN DASH}"
"""What a figure that does not exist (nothing measured) is shown as."""


def format_percent(value: float | None, digits: int = 1) -> str:
    """0.9512 -> '95.1 %'; None -> an en dash. Halves round up (13/16 is 81.3 %), as the
    dashboard's script rounds them, so the page and the printed report agree."""
    if value is None:
        return NONE
    shown = (Decimal(repr(value)) * 100).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
    return f"{shown} %"


def format_duration(seconds: float | None) -> str:
    """Seconds as a person reads them: '42 s', '17 min', '3.5 h', '2.1 d'; None -> an en dash."""
    if seconds is None:
        return NONE
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 90:
        return f"{sign}{s:.0f} s"
    if s < 90 * 60:
        return f"{sign}{s / 60:.0f} min"
    if s < 48 * 3600:
        return f"{sign}{s / 3600:.1f} h"
    return f"{sign}{s / 86400:.1f} d"


def format_points(delta: float | None) -> str:
    """A change of a fraction in percentage points: +2.5 pp, -10.0 pp."""
    return NONE if delta is None else f"{100 * delta:+.1f} pp"


def format_when(moment: datetime | None) -> str:
    return NONE if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


templates.env.filters["percent"] = format_percent
templates.env.filters["duration"] = format_duration
templates.env.filters["points"] = format_points
templates.env.filters["when"] = format_when


def mount_static(app: FastAPI) -> None:
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static")
