"""Authentication and roles on every route but health and Slack's.

401 without a token, 403 below the route's role (for every route, at every role boundary),
tokens from settings and from the database (revoked ones stop working within the cache
time), and the browser's login: the form, the signed session cookie, the redirect of page
views to /login, the same-origin check on cookie POSTs, logout.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from activities import token_store
from activities.db import create_tables
from activities.token_tables import ApiTokenRow
from slaflow.roles import Role, token_digest
from starter.api.deps import app_state
from starter.api.main import create_app
from starter.api.sessions import SESSION_COOKIE, SessionCodec
from starter.api.throttle import FailureThrottle
from starter.api.token_resolver import TokenResolver
from tests.api.test_api_validation import MustNotConnect
from tests.api_support import TOKENS, auth_headers, auth_settings

OPEN_PREFIXES = ("/healthz", "/readyz", "/slack/", "/docs", "/redoc", "/openapi.json")
BASE = "http://api.test"
SAME_SITE = {"Origin": BASE}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}

# What main.py and the tickets router promise; the walk below checks every other route too.
EXPECTED_ROLES = {
    ("POST", "/tickets"): Role.INTAKE,
    ("GET", "/tickets"): Role.AGENT,
    ("GET", "/tickets/{ticket_id}"): Role.AGENT,
    ("POST", "/tickets/{ticket_id}/acknowledge"): Role.AGENT,
    ("GET", "/agreement"): Role.MANAGER,
    ("POST", "/amendments"): Role.MANAGER,
    ("GET", "/tokens"): Role.ADMIN,
    ("POST", "/tokens"): Role.ADMIN,
    ("POST", "/tokens/{name_or_id}/revoke"): Role.ADMIN,
}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "T-1", path)


def guarded_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every documented route that must ask for a token."""
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if not path.startswith(OPEN_PREFIXES)
        for method in operations
    ]


async def required_role(http: httpx.AsyncClient, method: str, path: str) -> Role:
    """The role a route asks for, as its 403 to the lowest role names it (intake if none)."""
    answer = await _call(http, method, concrete(path), auth_headers(Role.INTAKE))
    if answer.status_code != 403:
        return Role.INTAKE
    found = re.fullmatch(
        r"this needs the (\w+) role; the token's role is intake", answer.json()["detail"]
    )
    assert found, (method, path, answer.text)
    return Role(found.group(1))


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    app = create_app(
        auth_settings(data_dir=tmp_path, temporal_address="127.0.0.1:1", api_token_cache_seconds=0)
    )
    state = app_state(app)
    state.temporal = MustNotConnect(state.settings)
    async with app.router.lifespan_context(app):  # tables (api_tokens too) and agreement v1
        yield app


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


async def _call(
    http: httpx.AsyncClient, method: str, path: str, headers: dict[str, str]
) -> httpx.Response:
    # `actor` is refused (422) by every command body, so no walk reaches for Temporal
    return await http.request(method, path, headers=headers, json={"actor": "x"})


def stored_token(app: FastAPI, name: str, role: Role) -> str:
    return token_store.create_token(app_state(app).engine, name, role, datetime.now(UTC)).token


# ----- tokens: missing, unknown, too low ------------------------------------------------------


async def test_every_guarded_route_answers_401_without_a_token(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    routes = guarded_routes(app)
    assert ("POST", "/tickets") in routes and ("GET", "/tokens") in routes
    for method, path in routes:
        answer = await _call(http, method, concrete(path), {})
        assert answer.status_code == 401, (method, path, answer.text)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization" in answer.json()["detail"]


async def test_an_unknown_token_is_401(http: httpx.AsyncClient) -> None:
    answer = await _call(http, "GET", "/tickets/T-1", {"Authorization": "Bearer nope"})
    assert answer.status_code == 401
    assert answer.json()["detail"] == "header.Authorization: unknown or revoked token"
    assert "invalid_token" in answer.headers["WWW-Authenticate"]


async def test_the_routes_ask_for_the_roles_the_readme_promises(http: httpx.AsyncClient) -> None:
    for (method, path), role in EXPECTED_ROLES.items():
        assert await required_role(http, method, path) == role, (method, path)


async def test_every_route_refuses_the_role_below_its_own_and_admits_its_own(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    """Every guarded route, at its own boundary: intake/agent, agent/manager, manager/admin."""
    boundaries = set()
    for method, path in guarded_routes(app):
        needed = await required_role(http, method, path)
        if needed.rank > 0:
            below = list(Role)[needed.rank - 1]
            boundaries.add((below, needed))
            refused = await _call(http, method, concrete(path), auth_headers(below))
            assert refused.status_code == 403, (method, path, refused.text)
            assert refused.json()["detail"] == (
                f"this needs the {needed.value} role; the token's role is {below.value}"
            )
        admitted = await _call(http, method, concrete(path), auth_headers(needed))
        assert admitted.status_code not in (401, 403), (method, path, admitted.text)
    assert boundaries == {(Role.INTAKE, Role.AGENT), (Role.AGENT, Role.MANAGER)} | {
        (Role.MANAGER, Role.ADMIN)
    }


async def test_a_higher_role_passes_the_gate(http: httpx.AsyncClient) -> None:
    # Past the gate, the request fails on its body (422), not on auth.
    answer = await _call(http, "POST", "/tickets", auth_headers(Role.MANAGER))
    assert answer.status_code == 422


async def test_the_openapi_document_declares_the_bearer_scheme(app: FastAPI) -> None:
    document = app.openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["type"] == "http"
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    for method, path in guarded_routes(app):
        operation = document["paths"][path][method.lower()]
        assert {"HTTPBearer": []} in operation["security"], (method, path)
        assert {"401", "403"} <= set(operation["responses"]), (method, path)
    assert "security" not in document["paths"]["/healthz"]["get"]


# ----- tokens stored in the database ---------------------------------------------------------


async def test_a_stored_token_works_until_it_is_revoked(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    token = stored_token(app, "reporting", Role.MANAGER)
    assert token.startswith("slf_")
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await http.get("/agreement", headers=bearer)).status_code == 200
    # A manager, not an admin.
    assert (await http.get("/tokens", headers=bearer)).status_code == 403

    engine = app_state(app).engine
    with Session(engine) as session:
        row = session.exec(select(ApiTokenRow).where(ApiTokenRow.name == "reporting")).one()
    assert row.digest == token_digest(token)
    assert token not in {row.name, row.role, row.digest, row.hint}
    assert row.last_used_at is not None

    token_store.revoke_token(engine, "reporting", datetime.now(UTC))
    answer = await http.get("/agreement", headers=bearer)
    assert answer.status_code == 401
    assert answer.json()["detail"] == "header.Authorization: unknown or revoked token"


async def test_a_revoked_token_stops_working_once_the_cache_time_has_passed(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    state = app_state(app)
    now = [1000.0]
    state.tokens = TokenResolver(
        state.settings.api_tokens, state.engine, cache_seconds=5, clock=lambda: now[0]
    )
    token = stored_token(app, "ci", Role.AGENT)
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await http.get("/tickets/T-1/explain", headers=bearer)).status_code != 401
    token_store.revoke_token(state.engine, "ci", datetime.now(UTC))
    now[0] += 4.9  # still the cached answer: revocation takes up to cache_seconds
    assert (await http.get("/tickets/T-1/explain", headers=bearer)).status_code != 401
    now[0] += 0.2
    assert (await http.get("/tickets/T-1/explain", headers=bearer)).status_code == 401


async def test_settings_tokens_need_no_database(tmp_path: Path) -> None:
    """No tables at all (no lifespan ran): a settings token still works, an unknown token is a
    503 naming the token store rather than a guess either way."""
    app = create_app(auth_settings(data_dir=tmp_path, temporal_address="127.0.0.1:1"))
    app_state(app).temporal = MustNotConnect(app_state(app).settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        known = await http.post("/tickets", json={}, headers=auth_headers(Role.INTAKE))
        assert known.status_code == 422
        unknown = await http.post("/tickets", json={}, headers={"Authorization": "Bearer x"})
        assert unknown.status_code == 503
        assert unknown.json()["detail"].startswith("the token store cannot be read")


async def test_admins_manage_tokens_over_http(app: FastAPI, http: httpx.AsyncClient) -> None:
    admin = auth_headers(Role.ADMIN)
    made = await http.post("/tokens", json={"name": "helpdesk", "role": "intake"}, headers=admin)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["token"].startswith("slf_") and body["hint"] == body["token"][:8]
    bearer = {"Authorization": f"Bearer {body['token']}"}
    assert (await http.post("/tickets", json={}, headers=bearer)).status_code == 422

    again = await http.post("/tokens", json={"name": "helpdesk", "role": "agent"}, headers=admin)
    assert again.status_code == 409 and "helpdesk" in again.json()["detail"]
    bad = await http.post("/tokens", json={"name": "12", "role": "boss"}, headers=admin)
    assert bad.status_code == 422
    assert "body.name" in bad.json()["detail"] and "body.role" in bad.json()["detail"]

    listed = (await http.get("/tokens", headers=admin)).json()
    assert [t["name"] for t in listed] == ["helpdesk"]
    assert "token" not in listed[0] and body["token"] not in str(listed)

    revoked = await http.post(f"/tokens/{body['id']}/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await http.post("/tickets", json={}, headers=bearer)).status_code == 401
    twice = await http.post("/tokens/helpdesk/revoke", headers=admin)
    assert twice.status_code == 409
    for nobody in ("nobody", "0", "99999999999999999999999", "²"):
        missing = await http.post(f"/tokens/{nobody}/revoke", headers=admin)
        assert missing.status_code == 404, (nobody, missing.text)


# ----- the browser's login -------------------------------------------------------------------


async def _login(http: httpx.AsyncClient, token: str, next_path: str = "") -> httpx.Response:
    return await http.post(
        "/login", data={"token": token, "next": next_path}, headers={**SAME_SITE, **BROWSER}
    )


async def test_the_login_page_is_a_plain_form(http: httpx.AsyncClient) -> None:
    page = await http.get("/login", params={"next": "/agreement"}, headers=BROWSER)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/login">' in page.text
    assert 'type="password"' in page.text and 'value="/agreement"' in page.text
    assert "<script" not in page.text
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"


async def test_a_page_view_without_a_session_is_sent_to_the_login_page(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/agreement/versions?x=1", headers=BROWSER)
    assert page.status_code == 303
    assert page.headers["Location"] == "/login?next=%2Fagreement%2Fversions%3Fx%3D1"
    api = await http.get("/agreement/versions")  # a program: 401 JSON as before
    assert api.status_code == 401 and api.json()["detail"].startswith("header.Authorization")


async def test_a_wrong_token_shows_the_form_again_with_a_message(http: httpx.AsyncClient) -> None:
    answer = await _login(http, "slf_not-a-token", "/agreement")
    assert answer.status_code == 401
    assert "That token is unknown or revoked." in answer.text
    assert 'value="/agreement"' in answer.text
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    empty = await _login(http, "  ")
    assert empty.status_code == 401 and "Enter an API token." in empty.text


async def test_login_sets_a_session_cookie_that_opens_guarded_routes_until_logout(
    http: httpx.AsyncClient,
) -> None:
    token = TOKENS[Role.MANAGER]
    answer = await _login(http, token, "/agreement")
    assert answer.status_code == 303 and answer.headers["Location"] == "/agreement"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # http public URL
    assert token not in cookie

    page = await http.get("/agreement", headers=BROWSER)
    assert page.status_code == 200 and page.json()["number"] == 1
    assert (await http.get("/agreement")).status_code == 200  # the page's own fetches

    # The login page now says who is logged in and offers to log out.
    who = await http.get("/login", headers=BROWSER)
    assert "logged in with the <strong>manager</strong> role" in who.text
    assert 'action="/logout"' in who.text

    out = await http.post("/logout", headers=SAME_SITE)
    assert out.status_code == 303 and out.headers["Location"] == "/login"
    assert (
        f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]
        or "Max-Age=0" in (out.headers["set-cookie"])
    )
    assert (await http.get("/agreement")).status_code == 401
    assert (await http.get("/agreement", headers=BROWSER)).status_code == 303


async def test_logout_ends_the_session_on_the_server(http: httpx.AsyncClient) -> None:
    """A copy of the cookie kept from before the logout opens nothing afterwards."""
    answer = await _login(http, TOKENS[Role.MANAGER], "/agreement")
    kept = answer.cookies[SESSION_COOKIE]
    assert (await http.get("/agreement")).status_code == 200
    assert (await http.post("/logout", headers=SAME_SITE)).status_code == 303
    replayed = await http.get("/agreement", headers={"Cookie": f"{SESSION_COOKIE}={kept}"})
    assert replayed.status_code == 401 and "cookie.slaflow_session" in replayed.json()["detail"]
    other = await _login(http, TOKENS[Role.MANAGER], "/agreement")  # a new login works
    assert other.cookies[SESSION_COOKIE] != kept
    assert (await http.get("/agreement")).status_code == 200


async def test_a_session_below_the_pages_role_is_asked_to_log_in_with_another_token(
    http: httpx.AsyncClient,
) -> None:
    await _login(http, TOKENS[Role.MANAGER])
    page = await http.get("/tokens", headers=BROWSER)
    assert page.status_code == 303
    assert page.headers["Location"] == "/login?next=%2Ftokens&need=admin"
    login = await http.get(page.headers["Location"], headers=BROWSER)
    assert "needs the <strong>admin</strong> role" in login.text
    assert "logged in with the <strong>manager</strong> role" in login.text
    api = await http.get("/tokens")  # not a page view: 403 JSON naming the role
    assert api.status_code == 403 and "needs the admin role" in api.json()["detail"]


async def test_cookie_posts_must_come_from_this_site(http: httpx.AsyncClient) -> None:
    await _login(http, TOKENS[Role.MANAGER])
    missing = await http.post("/amendments", json={})
    assert missing.status_code == 403 and missing.json()["detail"].startswith("header.Origin")
    forged = await http.post("/amendments", json={}, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert "https://evil.example is not this site" in forged.json()["detail"]
    by_referer = await http.post("/amendments", json={}, headers={"Referer": f"{BASE}/dashboard"})
    assert by_referer.status_code == 422  # past the gate: the body is checked
    same = await http.post("/amendments", json={}, headers=SAME_SITE)
    assert same.status_code == 422


async def test_login_and_logout_refuse_other_sites(http: httpx.AsyncClient) -> None:
    token = TOKENS[Role.ADMIN]
    forged = await http.post(
        "/login", data={"token": token}, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403 and "not this site" in forged.text
    assert SESSION_COOKIE not in forged.headers.get("set-cookie", "")
    unmarked = await http.post("/login", data={"token": token})
    assert unmarked.status_code == 403
    await _login(http, token)
    out = await http.post("/logout", headers={"Origin": "https://evil.example"})
    assert out.status_code == 403
    assert (await http.get("/tokens")).status_code == 200  # still logged in


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "/\t/evil", "x"]
)
async def test_login_never_sends_the_browser_to_another_site(
    app: FastAPI, http: httpx.AsyncClient, target: str
) -> None:
    answer = await _login(http, TOKENS[Role.MANAGER], target)
    assert answer.status_code == 303
    home = "/dashboard" if "/dashboard" in app.openapi()["paths"] else "/login"
    assert answer.headers["Location"] == home


async def test_a_tampered_or_revoked_session_is_refused(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    token = stored_token(app, "browser", Role.MANAGER)
    await _login(http, token)
    assert (await http.get("/agreement")).status_code == 200
    cookie = http.cookies[SESSION_COOKIE]
    http.cookies.set(SESSION_COOKIE, cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB"))
    tampered = await http.get("/agreement")
    assert tampered.status_code == 401
    assert tampered.json()["detail"].startswith(f"cookie.{SESSION_COOKIE}")
    http.cookies.set(SESSION_COOKIE, cookie)
    token_store.revoke_token(app_state(app).engine, "browser", datetime.now(UTC))
    assert (await http.get("/agreement")).status_code == 401


def test_a_session_expires_after_its_max_age(monkeypatch: pytest.MonkeyPatch) -> None:
    import itsdangerous.timed

    settings = auth_settings(session_max_age="1h", session_secret="s3cret")
    codec = SessionCodec.from_settings(settings)
    cookie = codec.encode("d" * 64)
    assert codec.digest_of(cookie) == "d" * 64
    assert (
        SessionCodec.from_settings(auth_settings(session_secret="other")).digest_of(cookie) is None
    )
    later = itsdangerous.timed.time.time() + 3601
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    assert codec.digest_of(cookie) is None


async def test_the_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    app = create_app(
        auth_settings(data_dir=tmp_path, public_url="https://sla.example.com", session_secret="k")
    )
    create_tables(app_state(app).engine)  # the sessions' table, as the lifespan makes it
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://sla.example.com") as http:
        answer = await http.post(
            "/login",
            data={"token": TOKENS[Role.MANAGER]},
            headers={"Origin": "https://sla.example.com"},
        )
    assert answer.status_code == 303
    assert "Secure" in answer.headers["set-cookie"]


async def test_a_client_guessing_tokens_is_slowed_down(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    # the throttle's clock stands still, so a slow machine cannot outlast the 1 s block
    now = [1000.0]
    app_state(app).throttle = FailureThrottle(clock=lambda: now[0])
    guesses = [
        await http.get("/tickets", headers={"Authorization": f"Bearer slf_guess{i}"})
        for i in range(7)
    ]
    assert [g.status_code for g in guesses[:5]] == [401] * 5
    assert guesses[5].status_code == 429 or guesses[6].status_code == 429
    refused = guesses[6]
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "too many failed" in refused.json()["detail"]
    # even the right token waits its turn; logins are slowed down the same way
    assert (await http.get("/tickets", headers=auth_headers(Role.AGENT))).status_code == 429
    login = await http.post("/login", data={"token": "slf_nope"}, headers=SAME_SITE)
    assert login.status_code == 429 and "Too many failed logins" in login.text
    # once the block has run out, the right token works again and forgets the failures
    now[0] += 60
    assert (await http.get("/tickets", headers=auth_headers(Role.AGENT))).status_code != 429
    wrong = await http.get("/tickets", headers={"Authorization": "Bearer slf_guess9"})
    assert wrong.status_code == 401
