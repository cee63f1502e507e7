"""`/sign/{amendment_id}/{token}`: the one-time link emailed to a signatory.

No login: the signed link is the credential, good for one person, one amendment, one
revision, until the sign-off deadline, once (`slaflow.signing_links`). The page shows the
amendment, its diff against the amended version and its impact; its form decides once. Every
refusal answers 403 with the reason and is audited.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request, status
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine
from temporalio.client import Client

from activities import agreement_store, audit_store
from activities.people_store import PeopleStoreError, Person, find_person
from slaflow.amendments import AMENDMENT_ID_PATTERN, AmendmentView, Change, agreement_diff
from slaflow.people import Actor
from slaflow.signing_links import LinkRefused, SigningLink, read_token
from starter import amendments_service as service
from starter.api.deps import app_state
from starter.api.pages import PAGE_HEADERS, templates
from starter.api.routers.amendments import BODIES, decide_as
from starter.audit import audit
from starter.tickets_service import TicketError

router = APIRouter(prefix="/sign", include_in_schema=False)

AmendmentId = Annotated[str, Path(pattern=AMENDMENT_ID_PATTERN)]
Token = Annotated[str, Path(min_length=1, max_length=2000)]
DECISIONS = ("approve", "reject", "request_changes")


@dataclass(frozen=True)
class CheckedLink:
    link: SigningLink
    person: Person
    view: AmendmentView

    @property
    def actor(self) -> Actor:
        return Actor(
            name=self.person.name,
            method="link",
            credential=self.link.credential,
            person_id=self.person.id,
            email=self.person.email,
        )


def _link_actor(link: SigningLink | None) -> Actor:
    if link is None:
        return Actor(name="unknown link", method="link", credential="link:invalid")
    return Actor(name=link.email, method="link", credential=link.credential)


async def check_link(request: Request, amendment_id: str, token: str) -> CheckedLink:
    """The link's signatory and the amendment, or `LinkRefused` saying why (audited). The
    link is read before Temporal is asked: a made-up one costs nothing."""
    state = app_state(request.app)
    link: SigningLink | None = None
    try:
        secret = state.settings.signing_link_secret
        if secret is None:
            raise LinkRefused("signing links are not enabled on this server")
        link = read_token(secret.get_secret_value(), token, amendment_id, datetime.now(UTC))
        return await _checked(state.engine, await state.temporal.client(), link)
    except LinkRefused as exc:
        await audit(
            state.engine, "amendment", amendment_id, "link", _link_actor(link), refused=str(exc)
        )
        raise


async def _checked(engine: Engine, client: Client, link: SigningLink) -> CheckedLink:
    try:
        view = await service.get_amendment(client, link.amendment_id)
    except TicketError as exc:
        raise LinkRefused(exc.message) from None
    if view.status.closed:
        raise LinkRefused(f"amendment {view.amendment_id} is closed ({view.status.value})")
    if view.revision != link.revision:
        raise LinkRefused(
            f"this link was for revision {link.revision}; the amendment is at revision "
            f"{view.revision}: use the newer email"
        )
    try:
        person = await asyncio.to_thread(find_person, engine, link.email)
    except PeopleStoreError:
        raise LinkRefused(f"{link.email} is no longer in the people directory") from None
    if not person.active:
        raise LinkRefused(f"{person.email} is deactivated")
    if all(d.signatory.email.lower() != person.email for d in view.signatories):
        raise LinkRefused(f"{person.email} is not a signatory of amendment {view.amendment_id}")
    if await asyncio.to_thread(audit_store.used, engine, link.credential):
        raise LinkRefused("this signing link was used already; it works once")
    return CheckedLink(link=link, person=person, view=view)


def _changes(engine: Engine, view: AmendmentView) -> list[Change]:
    base = agreement_store.version(engine, view.amends_version, view.agreement_id)
    return agreement_diff(agreement_store.agreement_of(base), view.agreement)


def _page(request: Request, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "sign.html", context, status_code=status_code, headers=PAGE_HEADERS
    )


@router.get("/{amendment_id}/{token}")
async def sign_page(request: Request, amendment_id: AmendmentId, token: Token) -> HTMLResponse:
    state = app_state(request.app)
    try:
        checked = await check_link(request, amendment_id, token)
    except LinkRefused as exc:
        return _page(request, {"error": str(exc)}, status.HTTP_403_FORBIDDEN)
    changes = await asyncio.to_thread(_changes, state.engine, checked.view)
    context = {"view": checked.view, "person": checked.person, "changes": changes}
    return _page(request, {**context, "decisions": DECISIONS, "token": token})


@router.post("/{amendment_id}/{token}")
async def sign(
    request: Request,
    amendment_id: AmendmentId,
    token: Token,
    decision: Annotated[str, Form(max_length=20)],
    comment: Annotated[str, Form(max_length=20000)] = "",
) -> HTMLResponse:
    """Decide once; the page says what was recorded, or why not."""
    state = app_state(request.app)
    if decision not in DECISIONS:
        return _page(
            request, {"error": f"form.decision: choose one of {', '.join(DECISIONS)}"}, 422
        )
    try:
        checked = await check_link(request, amendment_id, token)
    except LinkRefused as exc:
        return _page(request, {"error": str(exc)}, status.HTTP_403_FORBIDDEN)
    try:
        body = BODIES[decision].model_validate({"comment": comment.strip()})
    except ValueError:
        return _page(
            request,
            {"error": "form.comment: a comment is required to reject or request changes"},
            422,
        )
    try:
        client = await state.temporal.client()
        view = await decide_as(
            request, state.engine, client, amendment_id, decision, body, checked.actor
        )
    except TicketError as exc:
        return _page(request, {"error": exc.message}, exc.http_status)
    return _page(request, {"view": view, "person": checked.person, "done": decision})
