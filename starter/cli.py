"""`slaflow`: run the local stack, the worker or the API; open, inspect and act on tickets.

Ticket commands talk to Temporal directly through `starter.tickets_service`, the same code the
API runs, so both refuse and explain in the same words. Failures print one line on stderr and
exit 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import os
import shutil
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
import yaml
from pydantic import ValidationError
from temporalio.client import Client

import starter.cli_credits as cli_credits
import starter.cli_outages as cli_outages
import starter.cli_service_levels as cli_service_levels
from slaflow.agreement import Agreement
from slaflow.durations import format_duration
from slaflow.people import Actor as PersonActor
from slaflow.roles import Role
from slaflow.secret_policy import InsecureSettings, refuse_weak_secrets
from slaflow.settings import get_settings
from slaflow.tickets import (
    Acknowledge,
    AddComment,
    Assign,
    ChangePriority,
    Command,
    CustomerMessage,
    Escalate,
    Pause,
    Reopen,
    Reply,
    Resolve,
    Respond,
    Resume,
    TicketInput,
    TicketStatus,
    TicketView,
)
from slaflow.tiers import Channel, Priority, Tier
from starter import cli_db, cli_doctor, cli_person, cli_report, cli_token
from starter import tickets_service as service
from starter.tickets_service import command_name

if TYPE_CHECKING:
    from sqlalchemy import Engine

T = TypeVar("T")


class _ProcessApp(typer.Typer):
    """Typer, except that a finished process skips interpreter teardown.

    The Temporal SDK's Rust threads can abort a finalizing interpreter ("Fatal Python error:
    PyGILState_Release", temporalio/sdk-python#300), turning a clean exit into SIGABRT. Only the
    process entry point (`slaflow ...`, `python -m starter.cli`) goes through `__call__`;
    `typer.testing.CliRunner` does not, so tests keep their interpreter.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except SystemExit as exit:
            code = exit.code
            if isinstance(code, str):
                print(code, file=sys.stderr)
            _hard_exit(1 if isinstance(code, str) else (code or 0))


def _hard_exit(code: int) -> NoReturn:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


app = _ProcessApp(
    help="slaflow: SLA escalation orchestrator on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
ticket_app = typer.Typer(help="Open, inspect and act on tickets.", no_args_is_help=True)
mail_app = typer.Typer(help="The local mailbox of `slaflow run`.", no_args_is_help=True)
agreement_app = typer.Typer(help="The service-level agreement.", no_args_is_help=True)
app.add_typer(ticket_app, name="ticket")
app.add_typer(mail_app, name="mail")
app.add_typer(cli_db.app, name="db")
app.add_typer(cli_token.app, name="token")
app.add_typer(cli_person.app, name="person")
app.command("doctor")(cli_doctor.doctor)
app.command("service-levels")(cli_service_levels.service_levels)
app.command("credits")(cli_credits.credits)
app.command("availability")(cli_outages.availability)
app.command("ola")(cli_outages.ola)
app.add_typer(cli_outages.app, name="outage")
app.add_typer(cli_report.app, name="report")
app.add_typer(agreement_app, name="agreement")

TicketIdArg = Annotated[str, typer.Argument(metavar="ID", help="The ticket id.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


OPTION_OF_FIELD = {"ticket_id": "--id", "requester_email": "--requester"}


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def fail_invalid(exc: ValidationError) -> NoReturn:
    """Pydantic's complaint, naming the command-line option rather than the model field."""
    problems = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"])
        option = OPTION_OF_FIELD.get(field, "--" + field.replace("_", "-"))
        problems.append(f"{option}: {error['msg']}")
    fail("; ".join(problems))


def with_temporal(operation: Callable[[Client], Awaitable[T]]) -> T:
    """Connect with the environment's settings, run `operation`, turn failures into exit 1."""

    async def main() -> T:
        client = await service.connect_client(get_settings())
        return await operation(client)

    try:
        return asyncio.run(main())
    except service.TicketError as exc:
        fail(exc.message)


# ----- output ---------------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    total = int(abs(value))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    text = (f"{hours}h " if hours else "") + (f"{minutes}m " if minutes or hours else "")
    text += f"{seconds}s"
    return f"in {text}" if value >= 0 else f"{text} ago"


def _rows(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def render_view(view: TicketView, events: int = 10) -> str:
    """A ticket as a person reads it: facts, then targets, then the latest events."""
    facts = [
        ["customer", view.customer],
        ["subject", view.subject],
        ["priority", f"{view.priority}   channel {view.channel}"],
        ["status", f"{view.status}   breached {'yes' if view.breached else 'no'}"],
        ["tier", f"{view.tier.label}   highest {view.highest_tier.label}"],
        ["assignee", view.assignee or "-"],
        ["acknowledged", view.acknowledged_by or "-"],
        ["paged", ", ".join(view.paged) or "-"],
        ["agreement", f"version {view.agreement_version}"],
        ["opened", _when(view.opened_at)],
        ["resolved", _when(view.resolved_at)],
        ["closed", _when(view.closed_at)],
    ]
    lines = [f"Ticket {view.ticket_id} ({view.workflow_id}) as of {_when(view.as_of)}"]
    lines += ["  " + line for line in _rows(facts)]
    targets = [["TARGET", "STATUS", "DEADLINE", "REMAINING"]] + [
        [t.kind.value, t.status, _when(t.deadline), _seconds(t.remaining_seconds)]
        for t in view.targets
    ]
    lines += ["", *("  " + line for line in _rows(targets))]
    if view.events:
        shown = view.events[-events:]
        lines += ["", f"  Last {len(shown)} of {len(view.events)} events:"]
        rows = [
            [_when(e.at), e.kind.value, e.actor, e.tier.label if e.tier else "", e.detail]
            for e in shown
        ]
        lines += ["    " + line for line in _rows(rows)]
    return "\n".join(lines)


def render_list(tickets: list[service.TicketSummary]) -> str:
    if not tickets:
        return "no tickets"
    rows = [["TICKET", "CUSTOMER", "PRIORITY", "TIER", "STATUS", "BREACHED", "OPENED", "WORKFLOW"]]
    rows += [
        [
            t.ticket_id,
            t.customer or "-",
            t.priority or "-",
            t.tier.label if t.tier else "-",
            t.status or "-",
            "-" if t.breached is None else ("yes" if t.breached else "no"),
            _when(t.started_at),
            t.workflow_status,
        ]
        for t in tickets
    ]
    return "\n".join(_rows(rows))


def _show(view: TicketView, as_json: bool) -> None:
    typer.echo(view.model_dump_json(indent=2) if as_json else render_view(view))


# ----- processes ------------------------------------------------------------------------------


@app.command()
def run(
    agreement: Annotated[
        str | None,
        typer.Option(
            help="demo (minutes-long targets), default, or a path to an agreement YAML. "
            "Seeds version 1 on a fresh data dir only."
        ),
    ] = None,
) -> None:
    """Run the whole local stack: Temporal dev server, mailbox, Slack stand-in, worker, API."""
    from starter.logs import configure_logging
    from starter.stack import run_stack

    configure_logging(get_settings())
    raise typer.Exit(run_stack(get_settings(), agreement=agreement))


@app.command()
def demo(
    watch: Annotated[
        float, typer.Option(help="Seconds to watch the tickets warn and escalate afterwards.")
    ] = 120,
) -> None:
    """Play a scripted scenario against the running `slaflow run` (same data dir): tickets of
    every priority, an acknowledgement, a response, a pause, escalations, a signed amendment."""
    from starter.demo import DemoError, run_demo

    try:
        run_demo(get_settings(), watch_seconds=watch, say=typer.echo)
    except DemoError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        typer.echo("stopped watching; the tickets go on in the stack")


@app.command()
def worker() -> None:
    """Run a worker on the task queue until SIGINT/SIGTERM."""
    from worker import main

    main()


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Default: SLAFLOW_API_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: SLAFLOW_API_PORT.")] = None,
) -> None:
    """Serve the HTTP API with uvicorn."""
    import uvicorn

    from starter.logs import configure_logging

    settings = get_settings()
    configure_logging(settings)
    try:
        refuse_weak_secrets(settings, "api")
    except InsecureSettings as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    uvicorn.run(
        "starter.api.main:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        timeout_graceful_shutdown=10,
        log_config=None,  # uvicorn's loggers go through configure_logging's handler
        access_log=False,  # starter.api.metrics writes the access log, by route template
    )


# ----- tickets --------------------------------------------------------------------------------


@ticket_app.command("open")
def ticket_open(
    ticket_id: Annotated[str, typer.Option("--id", help="The intake system's ticket id.")],
    customer: Annotated[str, typer.Option()],
    subject: Annotated[str, typer.Option()],
    priority: Annotated[Priority, typer.Option()],
    requester: Annotated[str, typer.Option(help="The requester's email.")],
    channel: Annotated[Channel, typer.Option()] = Channel.EMAIL,
    description: Annotated[str, typer.Option()] = "",
    service_name: Annotated[
        str | None, typer.Option("--service", help="Service or product (rules, scope).")
    ] = None,
    tags: Annotated[list[str] | None, typer.Option("--tag", help="A tag; repeatable.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Open a ticket under the agreement its customer (service, channel, tags) selects."""
    try:
        ticket = TicketInput(
            ticket_id=ticket_id,
            customer=customer,
            subject=subject,
            description=description,
            priority=priority,
            channel=channel,
            requester_email=requester,
            service=service_name,
            tags=tags or [],
        )
    except ValidationError as exc:
        fail_invalid(exc)
    settings = get_settings()
    engine = _prepared_engine()
    try:
        selection = service.choose_agreement(engine, ticket)
    except service.TicketError as exc:
        fail(exc.message)
    finally:
        engine.dispose()
    opened = with_temporal(lambda c: service.open_ticket(c, settings.task_queue, ticket, selection))
    if not as_json:
        verb = "opened" if opened.created else "already exists:"
        typer.echo(f"{verb} ticket {ticket_id}\n")
    _show(opened.view, as_json)


@ticket_app.command("show")
def ticket_show(ticket_id: TicketIdArg, as_json: JsonFlag = False) -> None:
    """A ticket's live state, with the link to its workflow in the Temporal UI."""
    view = with_temporal(lambda c: service.get_ticket(c, ticket_id))
    detail = service.with_ui_link(view, get_settings())
    _show(detail, as_json)
    if not as_json:
        typer.echo(f"\n  Temporal UI  {detail.temporal_ui_url}")


@ticket_app.command("list")
def ticket_list(
    status: Annotated[TicketStatus | None, typer.Option()] = None,
    priority: Annotated[Priority | None, typer.Option()] = None,
    tier: Annotated[Tier | None, typer.Option()] = None,
    breached: Annotated[
        bool | None, typer.Option("--breached/--not-breached", show_default=False)
    ] = None,
    customer: Annotated[str | None, typer.Option()] = None,
    agreement: Annotated[str | None, typer.Option(help="An agreement id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Tickets from Temporal visibility, newest first (a just-opened one may lag a second)."""
    try:
        filters = service.TicketFilter(
            status=status,
            priority=priority,
            tier=tier,
            breached=breached,
            customer=customer,
            agreement=agreement,
        )
    except ValidationError as exc:
        fail_invalid(exc)
    found = with_temporal(lambda c: service.list_tickets(c, filters, limit=limit))
    typer.echo(found.model_dump_json(indent=2) if as_json else render_list(found.tickets))


def _command(ticket_id: str, build: Callable[[str], Command], as_json: bool) -> None:
    """Run a command as the person of SLAFLOW_CLI_TOKEN (never a typed name), audited."""
    from starter.cli_identity import IdentityRefused, cli_actor

    try:
        build("check")  # the options are refused before anything is asked
    except ValidationError as exc:
        fail_invalid(exc)
    engine = _prepared_engine()
    try:
        try:
            actor, role = cli_actor(get_settings(), engine, Role.AGENT)
        except IdentityRefused as exc:
            fail(str(exc))
        try:
            view = with_temporal(lambda c: _act(c, engine, ticket_id, actor, role, build))
        except PermissionError as exc:  # ActingRefused: audited already
            fail(str(exc))
    finally:
        engine.dispose()
    _show(view, as_json)


async def _act(
    client: Client,
    engine: Engine,
    ticket_id: str,
    actor: PersonActor,
    role: Role,
    build: Callable[[str], Command],
) -> TicketView:
    from starter.acting import ActingRefused, acting_actor
    from starter.audit import audit

    name = command_name(build("check"))
    view = await service.get_ticket(client, ticket_id)
    try:
        acting = acting_actor(engine, actor, role, view.agreement_id, None)
    except ActingRefused as exc:
        await audit(engine, "ticket", ticket_id, name, actor, refused=str(exc))
        raise
    try:
        result = await service.run_command(client, ticket_id, build(acting.display[:200]))
    except service.CommandRefused as exc:
        await audit(engine, "ticket", ticket_id, name, acting, refused=exc.message)
        raise
    await audit(engine, "ticket", ticket_id, name, acting)
    return result


@ticket_app.command("ack")
def ticket_ack(ticket_id: TicketIdArg, as_json: JsonFlag = False) -> None:
    """Acknowledge the current page: you own the ticket at its tier."""
    _command(ticket_id, lambda actor: Acknowledge(actor=actor), as_json)


@ticket_app.command("respond")
def ticket_respond(
    ticket_id: TicketIdArg,
    note: Annotated[str, typer.Option()] = "",
    as_json: JsonFlag = False,
) -> None:
    """Record the first qualified response to the customer."""
    _command(ticket_id, lambda actor: Respond(actor=actor, note=note), as_json)


@ticket_app.command("message")
def ticket_message(
    ticket_id: TicketIdArg,
    text: Annotated[str, typer.Option()] = "",
    as_json: JsonFlag = False,
) -> None:
    """Record a customer message that waits for an answer (starts the next-reply clock)."""
    _command(ticket_id, lambda actor: CustomerMessage(actor=actor, text=text), as_json)


@ticket_app.command("reply")
def ticket_reply(
    ticket_id: TicketIdArg,
    note: Annotated[str, typer.Option()] = "",
    as_json: JsonFlag = False,
) -> None:
    """Record the agent's reply to the customer (meets the next reply, restarts updates)."""
    _command(ticket_id, lambda actor: Reply(actor=actor, note=note), as_json)


@ticket_app.command("resolve")
def ticket_resolve(
    ticket_id: TicketIdArg,
    note: Annotated[str, typer.Option()] = "",
    as_json: JsonFlag = False,
) -> None:
    """Resolve the ticket (it may be reopened within the agreement's reopen window)."""
    _command(ticket_id, lambda actor: Resolve(actor=actor, note=note), as_json)


@ticket_app.command("reopen")
def ticket_reopen(
    ticket_id: TicketIdArg,
    reason: Annotated[str, typer.Option()],
    as_json: JsonFlag = False,
) -> None:
    """Reopen a resolved ticket."""
    _command(ticket_id, lambda actor: Reopen(actor=actor, reason=reason), as_json)


@ticket_app.command("assign")
def ticket_assign(
    ticket_id: TicketIdArg,
    assignee: Annotated[str, typer.Argument(help="Who should work on it.")],
    as_json: JsonFlag = False,
) -> None:
    """Assign the ticket to someone."""
    _command(ticket_id, lambda actor: Assign(actor=actor, assignee=assignee), as_json)


@ticket_app.command("escalate")
def ticket_escalate(
    ticket_id: TicketIdArg,
    reason: Annotated[str, typer.Option()],
    as_json: JsonFlag = False,
) -> None:
    """Escalate to the next tier now."""
    _command(ticket_id, lambda actor: Escalate(actor=actor, reason=reason), as_json)


@ticket_app.command("priority")
def ticket_priority(
    ticket_id: TicketIdArg,
    priority: Annotated[Priority, typer.Argument(help="The new priority.")],
    reason: Annotated[str, typer.Option()] = "",
    as_json: JsonFlag = False,
) -> None:
    """Change the priority; targets are recomputed from the opening time."""
    _command(
        ticket_id,
        lambda actor: ChangePriority(actor=actor, priority=priority, reason=reason),
        as_json,
    )


@ticket_app.command("comment")
def ticket_comment(
    ticket_id: TicketIdArg,
    text: Annotated[str, typer.Argument(help="The comment.")],
    as_json: JsonFlag = False,
) -> None:
    """Add a comment to the ticket's history."""
    _command(ticket_id, lambda actor: AddComment(actor=actor, text=text), as_json)


@ticket_app.command("pause")
def ticket_pause(
    ticket_id: TicketIdArg,
    status: Annotated[
        str, typer.Option(help="waiting_on_customer or waiting_on_third_party")
    ] = "waiting_on_customer",
    note: Annotated[str, typer.Option()] = "",
    party: Annotated[
        str | None, typer.Option(help="The third party waited on (its own target applies).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Wait on the customer or a third party: the agreement's pause rules stop clocks."""
    _command(
        ticket_id,
        lambda actor: Pause.model_validate(
            {"actor": actor, "status": status, "note": note, "party": party}
        ),
        as_json,
    )


@ticket_app.command("resume")
def ticket_resume(
    ticket_id: TicketIdArg,
    note: Annotated[str, typer.Option()] = "",
    as_json: JsonFlag = False,
) -> None:
    """Stop waiting: the stopped clocks run again, their deadlines moved by the wait."""
    _command(ticket_id, lambda actor: Resume(actor=actor, note=note), as_json)


@ticket_app.command("explain")
def ticket_explain(ticket_id: TicketIdArg, as_json: JsonFlag = False) -> None:
    """How each deadline was computed: calendar, working spans counted, pauses."""
    explained = with_temporal(lambda c: service.explain_ticket(c, ticket_id))
    if as_json:
        typer.echo(explained.model_dump_json(indent=2))
        return
    typer.echo(
        f"Ticket {explained.ticket_id}: {explained.priority} via {explained.channel}, "
        f"agreement version {explained.agreement_version}"
    )
    for target in explained.targets:
        typer.echo(f"\n{target.kind.value}: {target.summary}")
        typer.echo(f"  calendar  {target.calendar_rule}")
        for pause in target.pauses:
            until = _when(pause.end) if pause.end else "now"
            typer.echo(
                f"  paused    {_when(pause.start)} - {until} ({pause.reason}, "
                f"{_seconds(pause.business_seconds)} of working time)"
            )
        for start, end in target.counted_spans:
            typer.echo(
                f"  counted   {start.isoformat(timespec='seconds')} - "
                f"{end.isoformat(timespec='seconds')}"
            )


# ----- mail, database, agreement --------------------------------------------------------------


@mail_app.command("list")
def mail_list(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Default: <data dir>/mail.")
    ] = None,
) -> None:
    """The messages the local mailbox received, oldest first."""
    from standins.mailbox import read_mailbox

    folder = directory or get_settings().data_dir / "mail"
    messages = read_mailbox(folder) if folder.is_dir() else []
    if not messages:
        typer.echo(f"no mail in {folder}")
        return
    width = shutil.get_terminal_size((120, 24)).columns
    typer.echo("\n".join(mail_rows(messages, width)))


def _mail_date(value: object) -> str:
    """A Date header as 'YYYY-MM-DD HH:MM:SS' UTC (every row the same width), '-' if absent."""
    try:
        moment = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return "-"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{aware.astimezone(UTC):%Y-%m-%d %H:%M:%S}"


def _first_recipient(value: str) -> str:
    """'a@x, b@y, c@z' -> 'a@x +2': one short column, however many were paged."""
    recipients = [r.strip() for r in value.split(",") if r.strip()] or ["-"]
    more = f" +{len(recipients) - 1}" if len(recipients) > 1 else ""
    return recipients[0] + more


def mail_rows(messages: list[Any], width: int) -> list[str]:
    """The mailbox as one line per message, columns aligned, subjects cut to `width`."""
    rows = [["DATE (UTC)", "TO", "SUBJECT"]] + [
        [
            _mail_date(m.get("Date")),
            _first_recipient(str(m.get("X-RcptTo") or m.get("To") or "-")),
            " ".join(str(m["Subject"] or "").split()),
        ]
        for m in messages
    ]
    return [_cut_line(line, max(width, 40)) for line in _rows(rows)]


def _cut_line(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _prepared_engine() -> Engine:
    from activities.agreement_store import seed_agreements
    from activities.db import make_engine
    from activities.schema import SchemaNotCurrent, prepare_schema
    from slaflow.agreement_file import AgreementFileError

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        prepare_schema(engine, auto_migrate=settings.db_auto_migrate)
        seed_agreements(engine, settings.agreement_file)
    except SchemaNotCurrent as exc:
        fail(str(exc))
    except AgreementFileError as exc:
        fail(str(exc))
    except Exception as exc:  # SQLAlchemy's errors name the database and the reason
        fail(f"database {engine.url.render_as_string(hide_password=True)}: {exc}")
    return engine


AgreementOption = Annotated[
    str, typer.Option("--agreement", help="The agreement's id (`slaflow agreement list`).")
]


@agreement_app.command("show")
def agreement_show(agreement_id: AgreementOption = "default", as_json: JsonFlag = False) -> None:
    """An agreement's version in force now (seeding every agreement's version 1 on first use)."""
    from activities.agreement_store import NoAgreementError, agreement_of, version_in_force

    engine = _prepared_engine()
    try:
        row = version_in_force(engine, datetime.now(UTC), agreement_id)
    except NoAgreementError as exc:
        fail(f"--agreement: {exc}")
    agreement = agreement_of(row)
    if as_json:
        body = {"agreement_id": row.agreement_id, "number": row.number, "document": row.document}
        typer.echo(json.dumps(body, indent=2))
        return
    typer.echo(f"Agreement {row.agreement_id} version {row.number} ({row.source})")
    typer.echo(_summary(agreement))


@agreement_app.command("list")
def agreement_list(
    customer: Annotated[str | None, typer.Option(help="Only this customer's (its id).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Every agreement: its customer (or default), rules and latest version."""
    from activities.agreement_store import agreements, customers, latest_number

    engine = _prepared_engine()
    names = {c.id: c.name for c in customers(engine)}
    rows: list[dict[str, Any]] = [
        {
            "id": a.id,
            "customer": a.customer_id,
            "customer_name": names.get(a.customer_id or "", ""),
            "default": a.is_default,
            "rules": a.rules or [],
            "latest_version": latest_number(engine, a.id),
        }
        for a in agreements(engine, customer)
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = [["AGREEMENT", "CUSTOMER", "RULES", "VERSION"]] + [
        [
            str(r["id"]),
            "(default)" if r["default"] else f"{r['customer']} ({r['customer_name']})",
            str(len(r["rules"])),
            str(r["latest_version"]),
        ]
        for r in rows
    ]
    typer.echo("\n".join(_rows(table)))


@agreement_app.command("customers")
def agreement_customers(as_json: JsonFlag = False) -> None:
    """Every customer with its agreements."""
    from activities.agreement_store import agreements, customers

    engine = _prepared_engine()
    held = agreements(engine)
    rows = [
        {"id": c.id, "name": c.name, "agreements": [a.id for a in held if a.customer_id == c.id]}
        for c in customers(engine)
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = [["CUSTOMER", "NAME", "AGREEMENTS"]] + [
        [str(r["id"]), str(r["name"]), ", ".join(r["agreements"])] for r in rows
    ]
    typer.echo("\n".join(_rows(table)))


def _summary(agreement: Agreement) -> str:
    lines = [f"  {agreement.name}" + (f" - {agreement.customer}" if agreement.customer else "")]
    rows = [["PRIORITY", "FIRST RESPONSE", "RESOLUTION", "CALENDAR"]] + [
        [
            p.value,
            format_duration(o.first_response.within),
            format_duration(o.resolution.within),
            o.calendar or "channel hours",
        ]
        for p, o in sorted(agreement.objectives.items())
    ]
    lines += ["", *("  " + line for line in _rows(rows))]
    tiers = [["TIER", "ACK WINDOW", "SLACK", "CONTACTS"]] + [
        [
            p.tier.label,
            format_duration(p.ack_window),
            p.slack_channel,
            ", ".join(c.email for c in p.contacts),
        ]
        for p in agreement.escalation.tiers
    ]
    lines += ["", *("  " + line for line in _rows(tiers))]
    return "\n".join(lines)


@agreement_app.command("check")
def agreement_check(
    file: Annotated[Path, typer.Argument(help="An agreement YAML file, or a directory of them.")],
) -> None:
    """Validate agreement files offline, alone and together (ids, defaults, overlapping
    rules): exit 0 with a summary, or 1 with one line per problem naming file and field."""
    from slaflow.agreement_file import AgreementFileError, load_agreement_set

    try:
        files = load_agreement_set(file)
    except AgreementFileError as exc:
        fail(str(exc))
    for one in files:
        header = one.header
        whose = "default agreement" if header.default else f"customer {header.customer_id}"
        rules = f", {len(header.rules)} rule(s)" if header.rules else ""
        typer.echo(f"{one.source}: ok (agreement {header.id}, {whose}{rules})")
        typer.echo(_summary(one.agreement))


# ----- amendments -----------------------------------------------------------------------------

amendment_app = typer.Typer(
    help="Propose, follow and sign agreement amendments.", no_args_is_help=True
)
app.add_typer(amendment_app, name="amendment")
AmendmentIdArg = Annotated[str, typer.Argument(metavar="ID", help="The amendment id.")]


def _signatory(spec: str) -> dict[str, Any]:
    """`role:name:email[:slack]` as a signatory."""
    parts = spec.split(":")
    if len(parts) not in (3, 4) or not all(parts[:3]):
        fail(f"--signatory: expected role:name:email[:slack_user_id], got {spec!r}")
    role, name, email = parts[:3]
    return {
        "role": role,
        "name": name,
        "email": email,
        "slack_user_id": parts[3] if len(parts) == 4 and parts[3] else None,
    }


def _show_amendment(view: Any, as_json: bool) -> None:
    from activities.notify_amendment import impact_lines

    if as_json:
        typer.echo(view.model_dump_json(indent=2))
        return
    lines = [
        f"amendment {view.amendment_id}  {view.status.value}  revision {view.revision}",
        f"  amends version {view.amends_version}; proposed by {view.proposer}",
        f"  rationale: {view.rationale}",
        f"  deadline: {_when(view.deadline)}   effective: "
        + (_when(view.effective_from) if view.effective_from else "on sign-off"),
        f"  moves open tickets: {'yes' if view.moves_open_tickets else 'no'}",
    ]
    if view.closed_reason:
        lines.append(f"  closed: {view.closed_reason}")
    rows = [["SIGNATORY", "ROLE", "EMAIL", "DECISION", "AT", "COMMENT"]] + [
        [
            d.signatory.name,
            d.signatory.role,
            d.signatory.email,
            d.decision or "awaited",
            _when(d.at),
            d.comment,
        ]
        for d in view.signatories
    ]
    lines += ["", *("  " + line for line in _rows(rows)), ""]
    lines += ["  " + line for line in impact_lines(view)]
    typer.echo("\n".join(lines))


@amendment_app.command("propose")
def amendment_propose(
    file: Annotated[
        Path,
        typer.Argument(help="The proposed agreement, whole, or with --changes a change set."),
    ],
    amendment_id: Annotated[str, typer.Option("--id", help="The amendment id.")],
    deadline: Annotated[datetime, typer.Option(help="Sign-off deadline (ISO 8601, UTC if naive).")],
    signatory: Annotated[
        list[str], typer.Option(help="role:name:email[:slack_user_id]; repeat for each party.")
    ],
    rationale: Annotated[str, typer.Option()],
    amends_version: Annotated[int, typer.Option(help="The version this amends.")],
    agreement_id: Annotated[
        str, typer.Option("--agreement", help="The agreement it amends (its id).")
    ] = "default",
    effective: Annotated[
        datetime | None, typer.Option(help="When it takes effect; default: on sign-off.")
    ] = None,
    moves_open_tickets: Annotated[bool, typer.Option("--moves-open-tickets")] = False,
    remind_every: Annotated[str, typer.Option(help="Reminder interval, e.g. 1d.")] = "1d",
    changes: Annotated[
        bool, typer.Option("--changes", help="FILE holds only what changes (YAML mapping).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Propose an amendment as the person of SLAFLOW_CLI_TOKEN; every signatory is asked by
    email and Slack."""
    from activities.db import make_engine
    from activities.schema import SchemaNotCurrent, prepare_schema
    from slaflow.agreement_file import AgreementFileError, load_agreement
    from slaflow.amendments import AmendmentProposal
    from starter import amendments_service

    document: dict[str, Any] = {}
    try:
        if changes:
            loaded = yaml.safe_load(file.read_text())
            if not isinstance(loaded, dict):
                fail(f"{file}: a change set must be a mapping, e.g. objectives: {{P1: ...}}")
            document["changes"] = loaded
        else:
            document["agreement"] = load_agreement(file)
    except AgreementFileError as exc:
        fail(str(exc))
    except (OSError, yaml.YAMLError) as exc:
        fail(f"{file}: {exc}")

    def aware(value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    try:
        proposal = AmendmentProposal.model_validate(
            {
                "amendment_id": amendment_id,
                "proposer": _signer(Role.MANAGER).email,
                **document,
                "rationale": rationale,
                "signatories": [_signatory(s) for s in signatory],
                "deadline": aware(deadline),
                "effective_from": aware(effective) if effective else None,
                "moves_open_tickets": moves_open_tickets,
                "agreement_id": agreement_id,
                "amends_version": amends_version,
                "remind_every": remind_every,
            }
        )
    except ValidationError as exc:
        fail(
            "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
        )
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        prepare_schema(engine, auto_migrate=settings.db_auto_migrate)
        view = with_temporal(
            lambda c: amendments_service.propose(c, settings.task_queue, engine, proposal)
        )
    except SchemaNotCurrent as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    if not as_json:
        typer.echo(f"proposed amendment {amendment_id}\n")
    _show_amendment(view, as_json)


@amendment_app.command("show")
def amendment_show(amendment_id: AmendmentIdArg, as_json: JsonFlag = False) -> None:
    """An amendment's live state: status, revision, each decision, deadline, impact."""
    from starter import amendments_service

    _show_amendment(
        with_temporal(lambda c: amendments_service.get_amendment(c, amendment_id)), as_json
    )


@amendment_app.command("list")
def amendment_list(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100, as_json: JsonFlag = False
) -> None:
    """Amendments known to Temporal visibility, newest first."""
    from starter import amendments_service

    found = with_temporal(lambda c: amendments_service.list_amendments(c, limit=limit))
    if as_json:
        typer.echo(found.model_dump_json(indent=2))
        return
    rows = [["ID", "STATUS", "REVISION", "AMENDS", "DEADLINE", "PROPOSER"]] + [
        [
            a.amendment_id,
            a.detail.status.value if a.detail else a.workflow_status,
            str(a.detail.revision) if a.detail else "-",
            f"v{a.detail.amends_version}" if a.detail else "-",
            _when(a.detail.deadline) if a.detail else "-",
            a.detail.proposer if a.detail else "-",
        ]
        for a in found.amendments
    ]
    typer.echo("\n".join(_rows(rows)) if found.amendments else "no amendments")


def _signer(need: Role = Role.INTAKE) -> PersonActor:
    """The person of SLAFLOW_CLI_TOKEN: decisions and proposals are theirs, never a typed name."""
    from starter.cli_identity import IdentityRefused, cli_actor

    engine = _prepared_engine()
    try:
        actor, _role = cli_actor(get_settings(), engine, need)
    except IdentityRefused as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    if actor.email is None:
        fail(
            "SLAFLOW_CLI_TOKEN belongs to an integration, which cannot sign or propose; use a "
            "token of your own (`slaflow token create --person you@example.com ...`)"
        )
    return actor


def _amendment_decision(
    amendment_id: str, name: str, fields: dict[str, Any], as_json: bool
) -> None:
    from slaflow.amendments import AmendmentCommand, Approve, Reject, Withdraw
    from starter import amendments_service
    from starter.audit import audit

    models: dict[str, type[AmendmentCommand]] = {
        "approve": Approve,
        "reject": Reject,
        "withdraw": Withdraw,
    }
    model = models[name]
    signer = _signer()
    assert signer.email is not None
    try:
        command = model.model_validate({**fields, "by": signer.email, "method": "cli"})
    except ValidationError:
        fail("--comment: a rejection needs a comment")
    engine = _prepared_engine()

    async def decide(client: Client) -> Any:
        try:
            view = await amendments_service.decide(client, amendment_id, command, engine=engine)
        except service.TicketError as exc:
            await audit(engine, "amendment", amendment_id, name, signer, refused=exc.message)
            raise
        await audit(
            engine, "amendment", amendment_id, name, signer, detail=f"revision {view.revision}"
        )
        return view

    try:
        view = with_temporal(decide)
    finally:
        engine.dispose()
    _show_amendment(view, as_json)


@amendment_app.command("approve")
def amendment_approve(
    amendment_id: AmendmentIdArg,
    comment: Annotated[str, typer.Option()] = "",
    as_json: JsonFlag = False,
) -> None:
    """Approve (sign) an amendment as the signatory of SLAFLOW_CLI_TOKEN."""
    _amendment_decision(amendment_id, "approve", {"comment": comment}, as_json)


@amendment_app.command("reject")
def amendment_reject(
    amendment_id: AmendmentIdArg,
    comment: Annotated[str, typer.Option(help="Why (required).")],
    as_json: JsonFlag = False,
) -> None:
    """Reject an amendment as the signatory of SLAFLOW_CLI_TOKEN; it closes as rejected."""
    _amendment_decision(amendment_id, "reject", {"comment": comment}, as_json)


@amendment_app.command("withdraw")
def amendment_withdraw(
    amendment_id: AmendmentIdArg,
    reason: Annotated[str, typer.Option()] = "",
    as_json: JsonFlag = False,
) -> None:
    """Withdraw an amendment as its proposer (the person of SLAFLOW_CLI_TOKEN)."""
    _amendment_decision(amendment_id, "withdraw", {"reason": reason}, as_json)


if __name__ == "__main__":
    app()
