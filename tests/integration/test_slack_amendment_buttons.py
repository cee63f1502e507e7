"""An amendment's Approve / Reject buttons, end to end: the stand-in's DM drives the workflow.

The API runs under uvicorn on a real port so the stand-in can post signed interactions to it,
as Slack would. The amendment ends rejected (through the Reject modal), so the shared session
database keeps agreement version 1.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from slaflow.amendments import AmendmentView
from slaflow.people import PersonRole
from slaflow.roles import Role
from standins.slack_api import SlackStandin
from tests.factories import agreement_doc
from tests.integration.conftest import bearer, click, eventually, person_token

pytestmark = pytest.mark.integration

CORA = ("UAMCORA1", "cora.slack@customer.example")
SAM = ("UAMSAM1", "sam.slack@example.com")
PAT = "pat.slack@example.com"


@pytest.fixture
def pat(stack_engine: Engine) -> dict[str, str]:
    """Pat's token; Cora and Sam are the agreement's signatories, with their Slack ids."""
    for (slack_id, email), role in (
        (CORA, PersonRole.CUSTOMER_SIGNATORY),
        (SAM, PersonRole.PROVIDER_SIGNATORY),
    ):
        person_token(stack_engine, email, email, [("default", role)], slack_user_id=slack_id)
    made = person_token(stack_engine, "Pat", PAT, [("default", PersonRole.MANAGER)], Role.MANAGER)
    return bearer(made)


def proposal(amendment_id: str) -> dict[str, Any]:
    doc = agreement_doc()
    doc["objectives"]["P1"]["first_response"]["within"] = "25m"
    return {
        "amendment_id": amendment_id,
        "proposer": PAT,
        "agreement": doc,
        "rationale": "P1 first response 25m",
        "signatories": [
            {"name": "Cora", "role": "customer", "email": CORA[1], "slack_user_id": CORA[0]},
            {"name": "Sam", "role": "owner", "email": SAM[1], "slack_user_id": SAM[0]},
        ],
        "deadline": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "amends_version": 1,
    }


async def _request(slack: SlackStandin, user_id: str, amendment_id: str) -> tuple[str, str]:
    """(channel, ts) of the approval request DM'd to `user_id` for this amendment."""

    async def probe() -> tuple[str, str] | None:
        with slack.state.lock:
            for message in slack.state.messages:
                if message.channel_name != user_id:
                    continue
                for block in message.blocks or []:
                    if block.get("type") == "actions" and any(
                        e.get("value") == amendment_id for e in block["elements"]
                    ):
                        return message.channel, message.ts
        return None

    return await eventually(probe, what=f"the approval request to {user_id}")


async def _answer(standin: httpx.AsyncClient, clicked: dict[str, Any]) -> str:
    response_id = str(clicked["response_url"]).rpartition("/")[2]

    async def probe() -> str | None:
        for entry in (await standin.get("/_standin/responses")).json():
            if entry["id"] == response_id:
                assert entry["body"]["response_type"] == "ephemeral"
                return str(entry["body"]["text"])
        return None

    return await eventually(probe, what="slaflow's answer on the response_url")


async def _amendment(api: httpx.AsyncClient, amendment_id: str) -> AmendmentView:
    answer = await api.get(f"/amendments/{amendment_id}")
    assert answer.status_code == 200, answer.text
    return AmendmentView.model_validate(answer.json())


async def test_signatories_decide_from_slack_and_strangers_are_refused(
    api: httpx.AsyncClient,
    slack: SlackStandin,
    standin: httpx.AsyncClient,
    pat: dict[str, str],
) -> None:
    amendment_id = f"A-{uuid.uuid4().hex[:8]}"
    proposed = await api.post("/amendments", json=proposal(amendment_id), headers=pat)
    assert proposed.status_code == 201, proposed.text
    to_cora = await _request(slack, CORA[0], amendment_id)
    to_sam = await _request(slack, SAM[0], amendment_id)

    approved = await _answer(standin, await click(standin, to_cora, "amendment_approve", CORA[0]))
    assert approved == f"done: approved amendment {amendment_id}"
    view = await _amendment(api, amendment_id)
    assert [(d.signatory.email, d.decision) for d in view.signatories] == [
        (CORA[1], "approved"),
        (SAM[1], None),
    ]
    assert view.status == "pending"
    assert [e.actor for e in view.events if e.kind == "approved"] == [CORA[1]]

    twice = await _answer(standin, await click(standin, to_cora, "amendment_approve", CORA[0]))
    assert twice.startswith("refused: ") and "already decided" in twice, twice
    stranger = await _answer(
        standin, await click(standin, to_sam, "amendment_approve", "U0STRANGER")
    )
    assert stranger == (
        "refused: your Slack user is no active person of slaflow's people directory; "
        "nothing was done"
    )
    stranger_reject = await _answer(
        standin, await click(standin, to_sam, "amendment_reject", "U0STRANGER")
    )
    assert stranger_reject.startswith("refused: ") and "people directory" in stranger_reject
    views = (await standin.get("/_standin/views")).json()
    assert not [v for v in views if amendment_id in v["private_metadata"]]  # no modal opened
    view = await _amendment(api, amendment_id)
    assert [d.decision for d in view.signatories] == ["approved", None]

    # Sam rejects through the modal: the amendment closes, and the database keeps version 1
    clicked = await click(standin, to_sam, "amendment_reject", SAM[0])

    async def modal() -> dict[str, Any] | None:
        for opened in (await standin.get("/_standin/views")).json():
            if amendment_id in opened["private_metadata"] and opened["open"]:
                return dict(opened)
        return None

    opened = await eventually(modal, what="the reject modal")
    assert opened["user"] == SAM[0] and opened["callback_id"] == "slaflow_command"
    empty = await standin.post(
        "/_standin/submit", json={"view_id": opened["id"], "values": {"text": {"value": ""}}}
    )
    assert empty.json()["closed"] is False  # a rejection needs its comment
    submitted = await standin.post(
        "/_standin/submit",
        json={"view_id": opened["id"], "values": {"text": {"value": "25m is too slow"}}},
    )
    assert submitted.status_code == 200 and submitted.json()["closed"] is True, submitted.text
    assert await _answer(standin, clicked) == f"done: rejected amendment {amendment_id}"

    view = await _amendment(api, amendment_id)
    assert view.status == "rejected" and "25m is too slow" in view.closed_reason
    assert [d.decision for d in view.signatories] == ["approved", "rejected"]
    assert view.committed_version is None
    late = await _answer(standin, await click(standin, to_sam, "amendment_approve", SAM[0]))
    assert late.startswith(f"refused: amendment {amendment_id} is closed (rejected"), late
    assert (await api.get("/agreement/versions/2")).status_code == 404
