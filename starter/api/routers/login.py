"""`GET /login`, `POST /login`, `POST /logout`: a browser trades an API token for a session.

The form posts the token once; the answer sets `slaflow_session` (signed, HttpOnly,
SameSite=Strict, Secure when the public URL is https) and sends the browser on to `next`, a
path on this site. A wrong token shows the form again with a message (401). Both POSTs refuse
another site's pages (`sessions.cross_origin_refusal`), so nobody can log a visitor in or out
from elsewhere. These pages are for browsers and stay out of the OpenAPI document.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from activities.session_store import end_session, start_session
from slaflow.roles import Role, token_digest
from starter.api.auth import (
    LOGIN_PATH,
    client_key,
    session_role,
    throttle_outcome,
    token_role,
)
from starter.api.deps import app_state
from starter.api.sessions import SESSION_COOKIE, cross_origin_refusal, safe_next

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # No scripts, no framing (clickjacking), forms post to this site only.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _home(request: Request) -> str:
    """Where a login goes without `next`: the dashboard when the app has one."""
    return "/dashboard" if "/dashboard" in request.app.openapi()["paths"] else LOGIN_PATH


def _page(
    request: Request,
    *,
    next_path: str,
    role: Role | None,
    need: Role | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    settings = app_state(request.app).settings
    return templates.TemplateResponse(
        request,
        "login.html",
        {
            "next": next_path,
            "role": role.value if role else None,
            "need": need.value if need else None,
            "error": error,
            "session_hours": round(settings.session_max_age.total_seconds() / 3600, 1),
        },
        status_code=status_code,
        headers=PAGE_HEADERS,
    )


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request,
    next_path: Annotated[str | None, Query(alias="next")] = None,
    need: str | None = None,
) -> Response:
    needed = Role(need) if need in {role.value for role in Role} else None
    role = await session_role(request)
    if needed is not None and role is not None and role.includes(needed):
        needed = None
    return _page(request, next_path=safe_next(next_path, _home(request)), role=role, need=needed)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    token: Annotated[str, Form(max_length=512)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=2048)] = "",
) -> Response:
    state = app_state(request.app)
    target = safe_next(next_path, _home(request))
    refusal = cross_origin_refusal(request, state.settings)
    if refusal is not None:
        return _page(request, next_path=target, role=None, error=refusal, status_code=403)
    token = token.strip()
    wait = state.throttle.retry_after(client_key(request))
    if wait is not None:
        return _page(
            request,
            next_path=target,
            role=None,
            error=f"Too many failed logins from here; try again in {wait} s.",
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        )
    role = await token_role(request, token) if token else None
    if token:
        throttle_outcome(request, role is not None)
    if role is None:
        return _page(
            request,
            next_path=target,
            role=None,
            error="That token is unknown or revoked." if token else "Enter an API token.",
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    digest = token_digest(token)
    session_id = await asyncio.to_thread(start_session, state.engine, digest, datetime.now(UTC))
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        state.sessions.encode(digest, session_id),
        max_age=state.sessions.max_age_seconds,
        path="/",
        secure=state.sessions.secure,
        httponly=True,
        samesite="strict",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    state = app_state(request.app)
    refusal = cross_origin_refusal(request, state.settings)
    if refusal is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=refusal)
    cookie = request.cookies.get(SESSION_COOKIE)
    session_id = state.sessions.session_id_of(cookie) if cookie else None
    if session_id is not None:  # ended on the server: a copy of the cookie no longer works
        await asyncio.to_thread(end_session, state.engine, session_id, datetime.now(UTC))
    response = RedirectResponse(LOGIN_PATH, status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=state.sessions.secure, httponly=True, samesite="strict"
    )
    response.headers["Cache-Control"] = "no-store"
    return response
