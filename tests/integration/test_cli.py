"""`slaflow ticket ...` against the same dev server the API tests use."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from slaflow.people import PersonRole
from slaflow.tickets import TicketView
from tests.integration.conftest import Cli, eventually, person_token

AGENT = PersonRole.AGENT

pytestmark = pytest.mark.integration


async def test_open_show_list_and_refuse(
    cli: Cli,
    api: httpx.AsyncClient,
    new_ticket: Callable[..., dict[str, Any]],
    stack_engine: Engine,
) -> None:
    body = new_ticket()
    ticket_id, customer = body["ticket_id"], body["customer"]
    opened = await cli(
        "ticket", "open", "--id", ticket_id, "--customer", customer, "--subject", "Printer on fire",
        "--priority", "P2", "--channel", "walk_in", "--requester", "ops@acme.example",
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    assert opened.stdout.startswith(f"opened ticket {ticket_id}")
    again = await cli(
        "ticket", "open", "--id", ticket_id, "--customer", customer, "--subject", "x",
        "--priority", "P2", "--requester", "ops@acme.example",
    )  # fmt: skip
    assert again.exit_code == 0 and again.stdout.startswith(f"already exists: ticket {ticket_id}")

    shown = await cli("ticket", "show", ticket_id)
    assert shown.exit_code == 0, shown.output
    assert f"Ticket {ticket_id} (ticket-{ticket_id})" in shown.stdout
    assert "Printer on fire" in shown.stdout and "first_response" in shown.stdout

    as_json = await cli("ticket", "show", ticket_id, "--json")
    view = TicketView.model_validate(json.loads(as_json.stdout))
    assert (view.priority, view.channel) == ("P2", "walk_in")

    old_flag = await cli("ticket", "ack", ticket_id, "--as", "Mickey Mouse")
    assert old_flag.exit_code == 2 and "--as" in old_flag.output  # no typed names any more
    nobody = await cli("ticket", "ack", ticket_id)
    assert nobody.exit_code == 1 and "SLAFLOW_CLI_TOKEN is not set" in nobody.stderr
    cli.acting_as(
        person_token(stack_engine, "Carol Agent", "carol@example.com", [("default", AGENT)])
    )
    acked = await cli("ticket", "ack", ticket_id)
    assert acked.exit_code == 0, acked.output
    assert "acknowledged  Carol Agent" in acked.stdout

    async def listed() -> str | None:
        result = await cli("ticket", "list", "--customer", customer, "--status", "acknowledged")
        assert result.exit_code == 0, result.output
        return result.stdout if ticket_id in result.stdout else None

    table = await eventually(listed, what="the ticket in `slaflow ticket list`")
    assert table.splitlines()[0].split()[:3] == ["TICKET", "CUSTOMER", "PRIORITY"]
    empty = await cli("ticket", "list", "--customer", customer, "--breached")
    assert empty.stdout.strip() == "no tickets"
    listed_json = await cli("ticket", "list", "--customer", customer, "--json")
    assert json.loads(listed_json.stdout)["tickets"][0]["ticket_id"] == ticket_id

    resolved = await cli("ticket", "resolve", ticket_id, "--note", "put out")
    assert resolved.exit_code == 0, resolved.output
    refused = await cli("ticket", "resolve", ticket_id)
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: ") and "resolved" in refused.stderr


async def test_unknown_ticket_exits_1(cli: Cli) -> None:
    result = await cli("ticket", "show", "NO-SUCH-TICKET")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: ticket NO-SUCH-TICKET not found"
    result = await cli("ticket", "escalate", "NO-SUCH-TICKET", "--reason", "why")
    assert result.exit_code == 1
