"""The ticket page: where an email's "Open ticket" link leads a browser.

`GET /tickets/{id}` answers a browser (Accept: text/html) with this page instead of JSON: the
clocks with the time left, who is paged, the actions the caller's role allows, the history.
Each action is a form posting to `POST /tickets/{id}/actions/{action}`, which runs the same
command service as the JSON API, with the actor taken from the credential (its person, else
the token's name), then sends the browser back to the page (303) saying what happened.
Cookie-authenticated posts must come from this site's pages (the role gate's origin check).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from slaflow.durations import format_duration
from slaflow.roles import Role
from slaflow.ticket_actions import ACTIONS, available_actions, first_response_note
from slaflow.tickets import TICKET_ID_PATTERN, TargetView, TicketView
from slaflow.time_left import describe_time_left
from starter import tickets_service as service
from starter.acting import ActingRefused
from starter.api.auth import credential_name, requires
from starter.api.deps import app_state
from starter.api.pages import PAGE_HEADERS, templates
from starter.api.ticket_commands import act
from starter.command_bodies import BODIES, CommandBody

router = APIRouter(prefix="/tickets", include_in_schema=False)

TicketId = Annotated[str, Path(pattern=TICKET_ID_PATTERN)]

ACTION_LABELS = {
    "acknowledge": "Acknowledge",
    "respond": "Responded",
    "assign": "Assign",
    "pause": "Pause",
    "resume": "Resume",
    "escalate": "Escalate",
    "resolve": "Resolve",
    "reopen": "Reopen",
    "comment": "Comment",
}
DONE = {
    "acknowledge": "Acknowledged.",
    "respond": "First response recorded: the first-response target is met.",
    "assign": "Assigned.",
    "pause": "Paused: the clocks the agreement names for this wait are stopped.",
    "resume": "Resumed: the clocks run again.",
    "escalate": "Escalated: the next tier is paged.",
    "resolve": "Resolved.",
    "reopen": "Reopened.",
    "comment": "Comment added to the history.",
}
"""What the page says after each action (the PRG redirect carries only the action's name)."""
FORM_FIELDS = frozenset({"assignee", "note", "reason", "status", "text"})
"""The form fields any action reads; others (the button's own `do`) are ignored."""
MAX_FORM_FIELDS = 10
SOON = timedelta(minutes=10)


@dataclass(frozen=True)
class ClockLine:
    label: str
    within: str
    status: str
    status_label: str
    due: str
    left: str
    tone: str


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "\N{EN DASH}"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{aware.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def clock_line(target: TargetView, now: datetime) -> ClockLine:
    """One target as the page shows it; the time left never rounds up (slaflow.time_left)."""
    left, tone = target.status.replace("_", " "), "paused"
    if target.status in ("met", "met_late"):
        left, tone = f"met {_when(target.met_at)}", "calm"
    elif target.deadline is not None and target.status != "paused":
        seconds = (target.deadline - now).total_seconds()
        left = describe_time_left(seconds)
        tone = "late" if seconds < 0 else "soon" if seconds < SOON.total_seconds() else "calm"
    return ClockLine(
        label=target.kind.value.replace("_", " ").capitalize(),
        within=format_duration(timedelta(seconds=target.within_seconds)),
        status=target.status,
        status_label=target.status.replace("_", " "),
        due=_when(target.deadline),
        left=left,
        tone=tone,
    )


def _events(view: TicketView) -> list[dict[str, str]]:
    return [
        {
            "when": _when(event.at).removesuffix(" UTC"),
            "kind": event.kind.value.replace("_", " "),
            "actor": event.actor,
            "tier": event.tier.label if event.tier else "",
            "detail": event.detail,
        }
        for event in reversed(view.events)
    ]


def _notice(done: str | None, view: TicketView, now: datetime) -> str | None:
    """The confirmation after an action; an acknowledgement also says the clock still runs."""
    if done not in DONE:
        return None
    text = DONE[done]
    return f"{text} {first_response_note(view, now)}" if done == "acknowledge" else text


def _context(request: Request, view: TicketView, role: Role) -> dict[str, object]:
    now = datetime.now(UTC)
    settings = app_state(request.app).settings
    return {
        "view": view,
        "status_label": view.status.value.replace("_", " "),
        "opened": _when(view.opened_at),
        "as_of": _when(view.as_of),
        "clocks": [clock_line(target, now) for target in view.targets],
        "actions": available_actions(view, role),
        "action_labels": ACTION_LABELS,
        "events": _events(view),
        "notice": _notice(request.query_params.get("done"), view, now),
        "temporal_ui_url": service.temporal_ui_url(settings, view.workflow_id),
        "show_dashboard": role.includes(Role.MANAGER),
    }


async def ticket_page(
    request: Request,
    ticket_id: str,
    *,
    error: str | None = None,
    status_code: int = 200,
    hidden: bool = False,
) -> HTMLResponse:
    """The page for `ticket_id`; a ticket that cannot be read shows why, with its status
    (`hidden`: the caller may not see it at all, so only the reason is shown)."""
    role: Role = request.state.role
    actor = await credential_name(request)
    context: dict[str, object] = {"ticket_id": ticket_id, "actor": actor, "role": role.value}
    if hidden:
        context.update(view=None, error=error, show_dashboard=False)
        return _render(request, context, status_code)
    try:
        view = await service.get_ticket(await app_state(request.app).temporal.client(), ticket_id)
    except service.TicketError as exc:
        context.update(view=None, error=exc.message, show_dashboard=False)
        return _render(request, context, exc.http_status)
    context.update(_context(request, view, role))
    context["error"] = error
    return _render(request, context, status_code)


def _render(request: Request, context: dict[str, object], status_code: int) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "ticket.html", context, status_code=status_code, headers=PAGE_HEADERS
    )


def _form_problem(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "form"
    return f"form.{field}: {first['msg']}"


def _body(action: str, form: FormData) -> CommandBody:
    """The action's body from the form; the actor is never read from it."""
    fields = {k: v for k, v in form.items() if k in FORM_FIELDS and isinstance(v, str)}
    model = BODIES[action]
    wanted = {k: v.strip() for k, v in fields.items() if k in model.model_fields}
    return model.model_validate(wanted)


@router.post("/{ticket_id}/actions/{action}", dependencies=requires(Role.AGENT))
async def run_action(request: Request, ticket_id: TicketId, action: str) -> Response:
    """Run one action from the page's form; back to the page (303), or the page with the
    refusal and its status (404 unknown ticket, 409 refused, 422 bad form, ...)."""
    if action not in ACTIONS:
        return await ticket_page(
            request,
            ticket_id,
            error=f"path.action: unknown action {action!r}; valid: {', '.join(ACTIONS)}",
            status_code=status.HTTP_404_NOT_FOUND,
        )
    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
        body = _body(action, form)
    except ValidationError as exc:
        return await ticket_page(request, ticket_id, error=_form_problem(exc), status_code=422)
    except StarletteHTTPException as exc:  # a form starlette cannot parse (too many fields)
        return await ticket_page(request, ticket_id, error=f"form: {exc.detail}", status_code=400)
    state = app_state(request.app)
    try:
        await act(request, state.engine, await state.temporal.client(), ticket_id, action, body)
    except ActingRefused as exc:
        return await ticket_page(request, ticket_id, error=str(exc), status_code=403)
    except service.TicketError as exc:
        return await ticket_page(request, ticket_id, error=exc.message, status_code=exc.http_status)
    return RedirectResponse(
        f"/tickets/{ticket_id}?done={action}", status_code=status.HTTP_303_SEE_OTHER
    )
