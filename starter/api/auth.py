"""Authentication with roles, for every route but health and Slack.

Roles are ordered: intake < agent < manager < admin, and each includes the ones before it, so
a manager may also act on tickets and an admin may do everything. A caller proves who it is
with `Authorization: Bearer <token>` (programs) or with the login cookie that `POST /login`
sets (browsers; `starter.api.sessions`). Tokens are looked up by SHA-256 digest, in settings
first and then in the database (`starter.api.token_resolver`), never compared as plain strings.

Without valid credentials an API call gets 401 JSON; a browser asking for an HTML page is sent
to `/login?next=...` instead (303), and so is a logged-in browser whose role is too low, with
the role it needs. A cookie-authenticated request with an unsafe method must come from this
site's own pages (`sessions.cross_origin_refusal`), else 403.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError

from activities.session_store import live_digest
from slaflow.people import Actor
from slaflow.roles import Role, token_digest
from starter.api.deps import app_state
from starter.api.errors import responses
from starter.api.sessions import SESSION_COOKIE, cross_origin_refusal
from starter.api.token_resolver import Principal, TokenStoreUnavailable

AUTH_ERRORS = responses(401, 403)
LOGIN_PATH = "/login"

_bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="slf_...",
    description="An API token: `Authorization: Bearer <token>`. Create one with "
    "`slaflow token create --name NAME --role intake|agent|manager|admin`.",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def _resolved(lookup: Awaitable[Principal | None]) -> Principal | None:
    try:
        return await lookup
    except TokenStoreUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc


async def token_principal(request: Request, token: str) -> Principal | None:
    """Whose a presented token is, or None if it is unknown or revoked."""
    tokens = app_state(request.app).tokens
    return await _resolved(tokens.principal_of_digest(token_digest(token)))


async def token_role(request: Request, token: str) -> Role | None:
    """The role of a presented token, or None if it is unknown or revoked."""
    principal = await token_principal(request, token)
    return None if principal is None else principal.role


def credential_digest(request: Request) -> str | None:
    """The digest of the token behind this request: its bearer token, else its session's."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token_digest(token.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    return app_state(request.app).sessions.digest_of(cookie) if cookie else None


async def credential_name(request: Request) -> str:
    """Who is acting, from the credential (never from the request body)."""
    return (await current_actor(request)).display


async def current_actor(request: Request) -> Actor:
    """The actor the request's credential stands for: its person, else its integration."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        digest = credential_digest(request)
        tokens = app_state(request.app).tokens
        principal = await _resolved(tokens.principal_of_digest(digest)) if digest else None
    if principal is None:  # the gate let it through, so it was revoked a moment ago
        raise _missing(request)
    return actor_of(principal, by_cookie=not _is_bearer(request))


def actor_of(principal: Principal, *, by_cookie: bool) -> Actor:
    method = "session" if by_cookie else "token"
    person = principal.person
    if person is None:
        return Actor(name=principal.name, method=method, credential=principal.name)
    return Actor(
        name=person.name,
        method=method,
        credential=principal.name,
        person_id=person.id,
        email=person.email,
    )


def _is_bearer(request: Request) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


async def session_principal(request: Request) -> Principal | None:
    """Whose the browser's login session is, or None without a valid, unrevoked one."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    state = app_state(request.app)
    digest, session_id = state.sessions.digest_of(cookie), state.sessions.session_id_of(cookie)
    if digest is None or session_id is None:
        return None
    try:
        live = await asyncio.to_thread(live_digest, state.engine, session_id)
    except SQLAlchemyError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail="sessions unreadable"
        ) from exc
    if live != digest:  # logged out (or never started here)
        return None
    return await _resolved(state.tokens.principal_of_digest(digest))


async def session_role(request: Request) -> Role | None:
    """The role of the browser's login session, or None without a valid, unrevoked one."""
    principal = await session_principal(request)
    return None if principal is None else principal.role


def wants_html(request: Request) -> bool:
    """A browser navigating to a page: GET or HEAD, with text/html among what it accepts."""
    if request.method not in ("GET", "HEAD"):
        return False
    for media_range in request.headers.get("accept", "").split(","):
        media_type, *params = (part.strip() for part in media_range.split(";"))
        if media_type.lower() == "text/html":
            return not any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00") for p in params)
    return False


def login_redirect(request: Request, need: Role | None = None) -> HTTPException:
    """303 to the login page, which sends the browser back here afterwards."""
    query = {"next": request.url.path + (f"?{request.url.query}" if request.url.query else "")}
    if need is not None:
        query["need"] = need.value
    location = f"{LOGIN_PATH}?{urlencode(query)}"
    return HTTPException(
        status.HTTP_303_SEE_OTHER,
        detail=f"log in first: {location}",
        headers={"Location": location},
    )


def _missing(request: Request) -> HTTPException:
    if request.cookies.get(SESSION_COOKIE):
        detail = (
            f"cookie.{SESSION_COOKIE}: expired, revoked or not valid; log in again at "
            f"{LOGIN_PATH} or send `Authorization: Bearer <token>`"
        )
    else:
        detail = "header.Authorization: missing; send `Authorization: Bearer <token>`"
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


class RoleGate:
    """A dependency: 401 without valid credentials, 403 when the role is too low (or a cookie
    POST comes from another site), a redirect to the login page for a browser's page view.
    A class rather than a closure so that tests (and docs) can read `required` off a route."""

    def __init__(self, required: Role) -> None:
        self.required = required

    async def __call__(self, request: Request, credentials: BearerDep) -> Role:
        required = self.required
        by_cookie = credentials is None
        if credentials is not None:
            refuse_while_throttled(request)
            principal = await token_principal(request, credentials.credentials)
            throttle_outcome(request, principal is not None)
            if principal is None:
                raise HTTPException(
                    status.HTTP_401_UNAUTHORIZED,
                    detail="header.Authorization: unknown or revoked token",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
        else:
            principal = await session_principal(request)
            if principal is None:
                raise login_redirect(request) if wants_html(request) else _missing(request)
            refusal = cross_origin_refusal(request, app_state(request.app).settings)
            if refusal is not None:
                raise HTTPException(status.HTTP_403_FORBIDDEN, detail=refusal)
        role = principal.role
        if not role.includes(required):
            if by_cookie and wants_html(request):
                raise login_redirect(request, need=required)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this needs the {required.value} role; the token's role is {role.value}",
            )
        request.state.role = role
        request.state.principal = principal
        return role


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def refuse_while_throttled(request: Request) -> None:
    """429 with Retry-After while this client is shut out for failing too often."""
    wait = app_state(request.app).throttle.retry_after(client_key(request))
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"too many failed logins or tokens from this client; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )


def throttle_outcome(request: Request, ok: bool) -> None:
    throttle = app_state(request.app).throttle
    if ok:
        throttle.succeeded(client_key(request))
    else:
        throttle.failed(client_key(request))


def require_role(required: Role) -> RoleGate:
    """`Depends(require_role(Role.AGENT))`: the caller's role, once it is at least `required`."""
    return RoleGate(required)


def requires(role: Role) -> list[Any]:
    """`dependencies=requires(Role.MANAGER)` on a router or a route."""
    return [Depends(require_role(role))]
