"""A command body is checked as the whole command it becomes: validators that relate one field
to another (a party only for a third-party wait) refuse with 422 naming the field before
anything reaches Temporal (the gateway fails the test if used), never a 500 after the body
passed (found by schemathesis once #16's bodies met #19's Pause.party)."""

from __future__ import annotations

import httpx
import pytest

from slaflow.tickets import COMMANDS
from starter.command_bodies import BODIES
from tests.api.test_api_validation import api

__all__ = ["api"]


async def test_a_party_on_a_customer_wait_is_422_naming_party(api: httpx.AsyncClient) -> None:
    body = {"status": "waiting_on_customer", "party": "0"}
    answer = await api.post("/tickets/T-100/pause", json=body)
    assert answer.status_code == 422, answer.text
    assert (
        "party: only a wait with status waiting_on_third_party names a party"
        in (answer.json()["detail"])
    )


def test_the_body_keeps_the_commands_own_rules() -> None:
    with pytest.raises(ValueError, match="party"):
        BODIES["pause"].model_validate({"status": "waiting_on_customer", "party": "ACME"})
    body = BODIES["pause"].model_validate({"status": "waiting_on_third_party", "party": "ACME"})
    assert body.command(COMMANDS["pause"], "Lea").actor == "Lea"
