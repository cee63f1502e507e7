"""One logging setup for the worker, the API and `slaflow run`: text for people, JSON lines for
log collectors (SLAFLOW_LOG_FORMAT=json), at SLAFLOW_LOG_LEVEL.

Every record passes `TemporalContext`, which lifts the workflow id out of the extras Temporal's
loggers attach (`temporal_workflow`, `temporal_activity`), or out of the running activity, to
top-level `workflow_id` and `ticket_id` (or `amendment_id`) keys, so a ticket's lines can be
found by its id whichever process wrote them.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from pydantic import ValidationError
from pythonjsonlogger.json import JsonFormatter
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from slaflow.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_FIELDS = ["asctime", "levelname", "name", "message"]
_PREFIXES = {"ticket-": "ticket_id", "amendment-": "amendment_id"}


class TemporalContext(logging.Filter):
    """Adds `workflow_id` and the id it names to records written inside Temporal code."""

    def filter(self, record: logging.LogRecord) -> bool:
        workflow_id = getattr(record, "workflow_id", None)
        for extra in ("temporal_activity", "temporal_workflow"):
            details = getattr(record, extra, None)
            if workflow_id is None and isinstance(details, dict):
                workflow_id = details.get("workflow_id")
        if hasattr(record, "color_message"):  # uvicorn's ANSI-coloured copy of the message
            del record.color_message
        if workflow_id is None and activity.in_activity():
            workflow_id = activity.info().workflow_id
        if workflow_id:
            record.workflow_id = workflow_id
            for prefix, key in _PREFIXES.items():
                if workflow_id.startswith(prefix) and not hasattr(record, key):
                    setattr(record, key, workflow_id.removeprefix(prefix))
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time, level, logger, message, then every extra."""
    return JsonFormatter(
        JSON_FIELDS,
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        json_default=str,
    )


def text_formatter() -> logging.Formatter:
    return _TextWithIds(TEXT_FORMAT)


class _TextWithIds(logging.Formatter):
    """The plain format, with `[ticket T-1]` appended when a record knows its ticket.

    Control characters of the message and the id are escaped (`\\n`), so text a caller
    sent (a path with an encoded newline) cannot write a forged line of its own; only a
    traceback, which follows the message, spans lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ticket = getattr(record, "ticket_id", None)
        return f"{text} [ticket {escape_controls(str(ticket))}]" if ticket else text


def escape_controls(text: str) -> str:
    """Every non-printable character as its Python escape (newline -> `\\n`)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


QUIET = {"alembic": logging.WARNING, "mail.log": logging.WARNING}
"""Libraries whose INFO lines are noise here (Alembic announces its context on every status
check; `activities.schema` logs the upgrades that happen instead; aiosmtpd's `mail.log`
writes six lines per message the local mailbox receives)."""

EXPECTED: tuple[type[BaseException], ...] = (
    ApplicationError,  # refusals and classified delivery failures (Slack 4xx, SMTP 5xx, ...)
    ValidationError,
    ConnectionError,  # a known outage: the peer is down
    TimeoutError,
)
"""Failures that are part of normal operation: logged as one line, without a traceback."""


_OUTAGES = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED})


def _expected(error: BaseException | None) -> BaseException | None:
    """The expected failure behind `error` (itself or a cause), or None."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, EXPECTED):
            return error
        if isinstance(error, RPCError) and error.status in _OUTAGES:
            return error
        error = error.__cause__ or error.__context__
    return None


class OneLineExpectedFailures(logging.Filter):
    """An expected failure's record keeps its message and gains the failure's type and first
    line, and loses the traceback; anything unexpected keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or record.exc_info[1] is None:
            return True
        found = _expected(record.exc_info[1])
        if found is None:
            return True
        text = found.message if isinstance(found, ApplicationError) else str(found)
        lines = text.strip().splitlines()
        kind = getattr(found, "type", None) or type(found).__name__
        record.msg = f"{record.getMessage()}: {kind}: {lines[0] if lines else ''}".rstrip(": ")
        record.args = None
        record.exc_info = None
        record.exc_text = None
        return True


def configure_logging(settings: Settings, *, stream: Any = None) -> logging.Handler:
    """Install the one root handler (replacing an earlier one of ours) and the level."""
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(max(level, logging.getLevelName(settings.log_level)))
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "slaflow", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.slaflow = True  # type: ignore[attr-defined]
    handler.addFilter(TemporalContext())
    handler.addFilter(OneLineExpectedFailures())
    handler.setFormatter(json_formatter() if settings.log_format == "json" else text_formatter())
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    return handler
