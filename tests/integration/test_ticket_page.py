"""The ticket page an email's link leads to: shown to browsers, acted on through its forms, and
refusing hostile input (unknown tickets, odd ids, wrong roles, forged posts) with a 4xx."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from slaflow.roles import Role
from slaflow.settings import Settings
from slaflow.ticket_actions import ACTIONS
from starter.api.main import create_app
from tests.api_support import TOKENS, auth_headers
from tests.integration.conftest import eventually

BASE = "http://slaflow.test"
HTML = {"Accept": "text/html,application/xhtml+xml"}
SAME_SITE = {"Origin": BASE}


@pytest.fixture(scope="module")
async def app_transport(settings: Settings, worker: None) -> AsyncIterator[httpx.ASGITransport]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield httpx.ASGITransport(app=app)


async def _browser(transport: httpx.ASGITransport, role: Role) -> httpx.AsyncClient:
    """A client holding a login session for `role`'s token, as a browser would."""
    client = httpx.AsyncClient(transport=transport, base_url=BASE, timeout=60)
    answer = await client.post(
        "/login", data={"token": TOKENS[role], "next": "/"}, headers=SAME_SITE
    )
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture
async def agent(app_transport: httpx.ASGITransport) -> AsyncIterator[httpx.AsyncClient]:
    client = await _browser(app_transport, Role.AGENT)
    yield client
    await client.aclose()


@pytest.fixture
async def opened(api: httpx.AsyncClient, new_ticket: Callable[..., dict[str, Any]]) -> str:
    body = new_ticket(priority="P3")
    answer = await api.post("/tickets", json=body)
    assert answer.status_code == 201, answer.text
    return str(body["ticket_id"])


async def _state(api: httpx.AsyncClient, ticket_id: str) -> dict[str, Any]:
    answer = await api.get(f"/tickets/{ticket_id}")
    assert answer.status_code == 200, answer.text
    state: dict[str, Any] = answer.json()
    return state


def _by_people(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The history without slaflow's own lines (notifications land whenever they are sent)."""
    return [e for e in state["events"] if e["actor"] != "slaflow"]


async def test_a_browser_gets_the_page_and_a_program_still_gets_json(
    api: httpx.AsyncClient, agent: httpx.AsyncClient, opened: str
) -> None:
    page = await agent.get(f"/tickets/{opened}", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    text = page.text
    for shown in ("SLA clocks", "First response", "Resolution", "left", "History", "opened"):
        assert shown in text, shown
    assert "agent@example.com" in text or "Paged" in text
    assert "not acknowledged" in text
    for action in ("acknowledge", "respond", "assign", "pause", "escalate", "resolve"):
        assert f'action="/tickets/{opened}/actions/{action}"' in text, action
    assert f"/tickets/{opened}/actions/resume" not in text  # not waiting: nothing to resume
    assert "agent token" in text  # who the history will say acted
    program = await api.get(f"/tickets/{opened}")
    assert program.headers["content-type"] == "application/json"


async def test_the_email_link_asks_for_a_login_and_comes_back(
    app_transport: httpx.ASGITransport, opened: str
) -> None:
    async with httpx.AsyncClient(transport=app_transport, base_url=BASE) as anonymous:
        first = await anonymous.get(f"/tickets/{opened}", headers=HTML)
        assert first.status_code == 303
        assert first.headers["location"] == f"/login?next=%2Ftickets%2F{opened}"
        login = await anonymous.post(
            "/login",
            data={"token": TOKENS[Role.AGENT], "next": f"/tickets/{opened}"},
            headers=SAME_SITE,
        )
        assert login.status_code == 303
        assert login.headers["location"] == f"/tickets/{opened}"
        page = await anonymous.get(login.headers["location"], headers=HTML)
        assert page.status_code == 200 and "SLA clocks" in page.text


async def test_acknowledge_says_the_first_response_clock_still_runs_then_respond_meets_it(
    api: httpx.AsyncClient, agent: httpx.AsyncClient, opened: str
) -> None:
    done = await agent.post(
        f"/tickets/{opened}/actions/acknowledge",
        data={"actor": "mallory"},  # ignored: the actor is the credential's
        headers=SAME_SITE,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/tickets/{opened}?done=acknowledge"
    page = await agent.get(done.headers["location"], headers=HTML)
    notice = re.search(r'id="notice"[^>]*>([^<]*)<', page.text)
    assert notice is not None
    assert notice.group(1).startswith("Acknowledged. Acknowledging is not responding: ")
    assert re.search(r"the first-response clock still runs \(\d+[dhms].* left\)", notice.group(1))
    assert "Responded" in notice.group(1)
    assert f'action="/tickets/{opened}/actions/acknowledge"' not in page.text
    state = await _state(api, opened)
    assert state["status"] == "acknowledged"
    assert state["acknowledged_by"].startswith("agent token ")
    first = next(t for t in state["targets"] if t["kind"] == "first_response")
    assert first["met_at"] is None  # acknowledging is not responding

    responded = await agent.post(
        f"/tickets/{opened}/actions/respond", data={"note": "called back"}, headers=SAME_SITE
    )
    assert responded.status_code == 303
    state = await _state(api, opened)
    first = next(t for t in state["targets"] if t["kind"] == "first_response")
    assert first["met_at"] is not None
    assert any(e["kind"] == "responded" and e["detail"] == "called back" for e in state["events"])

    async def slack_lines() -> list[str] | None:
        events = (await _state(api, opened))["events"]
        lines = [e["detail"] for e in events if e["detail"].startswith("slack ")]
        return lines if len(lines) >= 3 else None  # the new ticket and two thread replies

    for line in await eventually(slack_lines, what="Slack thread replies in the history"):
        assert re.fullmatch(r"slack \w+ to #agents", line), line  # the name, never Slack's id


async def test_pause_resume_assign_escalate_and_resolve_from_the_page(
    api: httpx.AsyncClient, agent: httpx.AsyncClient, opened: str
) -> None:
    steps = [
        ("assign", {"assignee": "kim@example.com"}),
        ("pause", {"status": "waiting_on_third_party", "note": "vendor"}),
        ("resume", {"note": "vendor answered"}),
        ("escalate", {"reason": "needs the lead"}),
        ("resolve", {"note": "fixed"}),
    ]
    for action, form in steps:
        answer = await agent.post(
            f"/tickets/{opened}/actions/{action}", data=form, headers=SAME_SITE
        )
        assert answer.status_code == 303, (action, answer.text)
    state = await _state(api, opened)
    assert state["assignee"] == "kim@example.com"
    assert state["tier"] == "team_lead"
    assert state["status"] == "resolved"
    kinds = [e["kind"] for e in state["events"]]
    for kind in ("assigned", "paused", "resumed", "escalated", "resolved"):
        assert kind in kinds, kind
    page = await agent.get(f"/tickets/{opened}", headers=HTML)
    assert f'action="/tickets/{opened}/actions/reopen"' in page.text
    assert f'action="/tickets/{opened}/actions/resolve"' not in page.text


async def test_a_refused_action_shows_why_with_409_and_changes_nothing(
    api: httpx.AsyncClient, agent: httpx.AsyncClient, opened: str
) -> None:
    await agent.post(f"/tickets/{opened}/actions/acknowledge", headers=SAME_SITE)
    before = await _state(api, opened)
    again = await agent.post(f"/tickets/{opened}/actions/acknowledge", headers=SAME_SITE)
    assert again.status_code == 409
    assert "was already acknowledged by" in again.text
    assert _by_people(await _state(api, opened)) == _by_people(before)


@pytest.mark.parametrize(
    ("action", "form", "status", "says"),
    [
        ("escalate", {}, 422, "form.reason: Field required"),
        ("escalate", {"reason": "   "}, 422, "form.reason: String should have at least 1"),
        ("pause", {"status": "on_holiday"}, 422, "form.status: Input should be"),
        ("assign", {"assignee": "x" * 201}, 422, "form.assignee: String should have at most"),
        ("explode", {}, 404, "path.action: unknown action &#39;explode&#39;"),
        ("comment", {f"f{i}": "x" for i in range(20)}, 400, "form: Too many fields"),
    ],
)
async def test_bad_forms_are_refused_naming_the_field(
    api: httpx.AsyncClient,
    agent: httpx.AsyncClient,
    opened: str,
    action: str,
    form: dict[str, str],
    status: int,
    says: str,
) -> None:
    before = await _state(api, opened)
    answer = await agent.post(f"/tickets/{opened}/actions/{action}", data=form, headers=SAME_SITE)
    assert answer.status_code == status, answer.text
    assert says in answer.text
    assert _by_people(await _state(api, opened)) == _by_people(before)


async def test_a_post_without_or_with_a_foreign_origin_is_refused(
    api: httpx.AsyncClient, agent: httpx.AsyncClient, opened: str
) -> None:
    for headers in ({}, {"Origin": "https://evil.example"}):
        answer = await agent.post(f"/tickets/{opened}/actions/acknowledge", headers=headers)
        assert answer.status_code == 403, answer.text
        assert "header.Origin" in answer.json()["detail"]
    assert (await _state(api, opened))["acknowledged_by"] is None


async def test_the_intake_role_may_neither_see_nor_act(
    api: httpx.AsyncClient, app_transport: httpx.ASGITransport, opened: str
) -> None:
    intake = await _browser(app_transport, Role.INTAKE)
    try:
        page = await intake.get(f"/tickets/{opened}", headers=HTML)
        assert page.status_code == 303
        assert "need=agent" in page.headers["location"]
        act = await intake.post(f"/tickets/{opened}/actions/acknowledge", headers=SAME_SITE)
        assert act.status_code == 403
    finally:
        await intake.aclose()
    bearer = await api.post(
        f"/tickets/{opened}/actions/acknowledge", headers=auth_headers(Role.INTAKE)
    )
    assert bearer.status_code == 403
    assert (await _state(api, opened))["acknowledged_by"] is None


async def test_unknown_tickets_and_odd_ids_are_4xx(agent: httpx.AsyncClient) -> None:
    missing = await agent.get("/tickets/NO-SUCH-TICKET", headers=HTML)
    assert missing.status_code == 404
    assert "ticket NO-SUCH-TICKET not found" in missing.text
    act = await agent.post("/tickets/NO-SUCH-TICKET/actions/acknowledge", headers=SAME_SITE)
    assert act.status_code == 404
    odd = [
        "/tickets/..%2F..%2Fetc/actions/acknowledge",
        "/tickets/%00/actions/acknowledge",
        "/tickets/" + "A" * 65 + "/actions/acknowledge",
        "/tickets/%3Cscript%3E/actions/comment",
        "/tickets/-x/actions/acknowledge",
    ]
    for path in odd:
        answer = await agent.post(path, data={"text": "x"}, headers=SAME_SITE)
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
        assert answer.headers["content-type"] == "application/json"  # never echoed as HTML
    page = await agent.get("/tickets/%3Cscript%3E", headers=HTML)
    assert 400 <= page.status_code < 500
    assert page.headers["content-type"] == "application/json"


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ticket=st.one_of(st.just("known"), st.text(max_size=80)),
    action=st.one_of(st.sampled_from(ACTIONS), st.text(max_size=40)),
    form=st.dictionaries(
        st.sampled_from(["assignee", "note", "reason", "status", "text", "actor", "x"]),
        st.text(max_size=300),
        max_size=6,
    ),
)
async def test_no_form_post_gets_a_5xx(
    agent: httpx.AsyncClient, opened: str, ticket: str, action: str, form: dict[str, str]
) -> None:
    ticket_id = opened if ticket == "known" else quote(ticket, safe="")
    path = f"/tickets/{ticket_id}/actions/{quote(action, safe='')}"
    answer = await agent.post(path, data=form, headers=SAME_SITE)
    assert answer.status_code < 500, (path, form, answer.status_code, answer.text[:300])
    page = await agent.get(f"/tickets/{ticket_id}", headers=HTML)
    assert page.status_code < 500, (ticket_id, page.status_code)


async def test_ticket_text_is_escaped_on_the_page(
    api: httpx.AsyncClient, agent: httpx.AsyncClient, new_ticket: Callable[..., dict[str, Any]]
) -> None:
    body = new_ticket(subject="<script>alert(1)</script>", description='"><img src=x onerror=1>')
    assert (await api.post("/tickets", json=body)).status_code == 201
    page = await agent.get(f"/tickets/{body['ticket_id']}", headers=HTML)
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
