"""The one logging setup: JSON lines with workflow and ticket ids lifted from Temporal's context."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from slaflow.settings import Settings
from starter.logs import configure_logging

module_log = logging.getLogger("slaflow.test.logs")


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, Any]]:
    """configure_logging onto a buffer; yields (buffer, configure) and restores the root."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    buffer = io.StringIO()

    def configure(**fields: Any) -> logging.Handler:
        return configure_logging(Settings(_env_file=None, **fields), stream=buffer)

    yield buffer, configure
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_json_lines_carry_level_logger_message_and_extras(captured: Any) -> None:
    buffer, configure = captured
    configure(log_format="json", log_level="info")
    module_log.debug("hidden below INFO")
    module_log.info("hello %s", "world", extra={"ticket_id": "T-1"})
    [line] = _lines(buffer)
    assert line["level"] == "INFO"
    assert line["logger"] == "slaflow.test.logs"
    assert line["message"] == "hello world"
    assert line["ticket_id"] == "T-1"
    assert line["time"]


def test_text_format_names_the_ticket(captured: Any) -> None:
    buffer, configure = captured
    configure(log_format="text", log_level="WARNING")
    module_log.info("not shown")
    module_log.warning("slow", extra={"temporal_workflow": {"workflow_id": "ticket-T-7"}})
    text = buffer.getvalue().strip()
    assert text.endswith("WARNING slaflow.test.logs slow [ticket T-7]")


def test_configuring_twice_keeps_one_handler(captured: Any) -> None:
    buffer, configure = captured
    configure(log_format="json")
    configure(log_format="json")
    module_log.warning("once")
    assert len(_lines(buffer)) == 1


async def test_activity_logs_get_workflow_and_ticket_ids(captured: Any) -> None:
    buffer, configure = captured
    configure(log_format="json")

    @activity.defn
    async def deliver() -> None:
        activity.logger.warning("through the SDK's activity logger")
        module_log.warning("through a plain module logger")

    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="ticket-T-42")
    await env.run(deliver)
    sdk, plain = _lines(buffer)
    for line in (sdk, plain):
        assert line["workflow_id"] == "ticket-T-42"
        assert line["ticket_id"] == "T-42"
    assert sdk["message"].startswith("through the SDK's activity logger")
    assert plain["message"] == "through a plain module logger"


@workflow.defn(sandboxed=False)
class LoggingWorkflow:
    @workflow.run
    async def run(self) -> None:
        workflow.logger.warning("from inside a workflow")


async def test_workflow_logs_get_workflow_and_amendment_ids(
    captured: Any, time_env: WorkflowEnvironment
) -> None:
    buffer, configure = captured
    configure(log_format="json")
    queue = f"logs-{uuid.uuid4()}"
    async with Worker(
        time_env.client,
        task_queue=queue,
        workflows=[LoggingWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        await time_env.client.execute_workflow(
            LoggingWorkflow.run, id="amendment-A-9", task_queue=queue
        )
    [line] = [x for x in _lines(buffer) if x["message"].startswith("from inside a workflow")]
    assert line["workflow_id"] == "amendment-A-9"
    assert line["amendment_id"] == "A-9"
    assert line["temporal_workflow"]["workflow_type"] == "LoggingWorkflow"


def _fail(error: BaseException, cause: BaseException | None = None) -> None:
    try:
        try:
            raise error
        except BaseException as inner:
            if cause is None:
                raise
            raise cause from inner
    except BaseException:
        module_log.warning("Completing activity as failed", exc_info=True)


def test_expected_failures_are_one_line_and_others_keep_their_traceback(captured: Any) -> None:
    from temporalio.exceptions import ApplicationError

    buffer, configure = captured
    configure(log_format="text", log_level="INFO")
    _fail(ApplicationError("Slack refused #x: channel_not_found", type="SlackChannelNotFound"))
    _fail(ConnectionRefusedError(111, "Connection refused"))
    _fail(ApplicationError("inner refusal", type="Refused"), RuntimeError("wrapped"))
    expected = buffer.getvalue().splitlines()
    assert len(expected) == 3, expected
    assert expected[0].endswith(
        "Completing activity as failed: SlackChannelNotFound: Slack refused #x: channel_not_found"
    )
    assert "ConnectionRefusedError: [Errno 111] Connection refused" in expected[1]
    assert expected[2].endswith("Completing activity as failed: Refused: inner refusal")
    _fail(KeyError("a bug"))
    assert "Traceback (most recent call last)" in buffer.getvalue()


def test_the_mailbox_info_lines_stay_off_the_console(captured: Any) -> None:
    buffer, configure = captured
    configure(log_format="text", log_level="INFO")
    logging.getLogger("mail.log").info("('127.0.0.1', 1) >> b'EHLO localhost'")
    logging.getLogger("mail.log").warning("a real problem")
    assert buffer.getvalue().count("\n") == 1 and "a real problem" in buffer.getvalue()
