"""An amendment through the real stack: API and CLI, worker, SMTP mailbox and Slack stand-in.

It ends rejected, so the shared session database keeps agreement version 1 (other integration
tests rely on it); signing and committing are covered by tests/workflows against the real
commit activity.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from slaflow.agreement import Agreement
from slaflow.agreement_file import dump_agreement
from slaflow.amendments import AmendmentView
from slaflow.people import PersonRole
from slaflow.roles import Role
from slaflow.tiers import Priority
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin
from tests.factories import agreement_doc
from tests.integration.conftest import Cli, bearer, eventually, person_token

CORA, SAM, PAT = "cora@customer.example", "sam@example.com", "pat@example.com"
MANAGER, AGENT = PersonRole.MANAGER, PersonRole.AGENT
CUSTOMER, PROVIDER = PersonRole.CUSTOMER_SIGNATORY, PersonRole.PROVIDER_SIGNATORY


def proposal(amendment_id: str) -> dict[str, Any]:
    doc = agreement_doc()
    doc["objectives"]["P1"]["first_response"]["within"] = "20m"
    return {
        "amendment_id": amendment_id,
        "proposer": PAT,
        "agreement": doc,
        "rationale": "P1 first response 20m",
        "signatories": [
            {"name": "Cora", "role": "customer", "email": CORA},
            {"name": "Sam", "role": "service owner", "email": SAM, "slack_user_id": "UAMEND9"},
        ],
        "deadline": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "amends_version": 1,
    }


@pytest.fixture
def staff(stack_engine: Engine) -> dict[str, str]:
    """Tokens of Pat (proposes), Cora (signs for the customer), Sam (for the provider, on
    Slack) and Eve (an agent of the agreement, no signatory)."""
    return {
        "pat": person_token(
            stack_engine, "Pat Proposer", PAT, [("default", MANAGER)], Role.MANAGER
        ),
        "cora": person_token(stack_engine, "Cora Customer", CORA, [("default", CUSTOMER)]),
        "sam": person_token(
            stack_engine, "Sam Owner", SAM, [("default", PROVIDER)], slack_user_id="UAMEND9"
        ),
        "eve": person_token(stack_engine, "Eve Agent", "eve@x.example", [("default", AGENT)]),
    }


def signing_link(mailbox: Mailbox, amendment_id: str, to: str) -> str:
    """The path of the one-time link in the first request mailed to `to`."""
    mails = [
        m
        for m in mailbox.messages()
        if m["X-Slaflow-Amendment"] == amendment_id and str(m["To"]) == to
    ]
    text = mails[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(r"https?://[^/\s]+(/sign/\S+)", text)
    assert found, text
    return found.group(1)


async def test_amendment_asks_by_mail_and_slack_and_refuses_and_rejects(
    api: httpx.AsyncClient,
    mailbox: Mailbox,
    slack: SlackStandin,
    cli: Cli,
    staff: dict[str, str],
) -> None:
    amendment_id = f"A-{uuid.uuid4().hex[:8]}"
    pat = bearer(staff["pat"])
    answer = await api.post("/amendments", json=proposal(amendment_id), headers=pat)
    assert answer.status_code == 201, answer.text
    again = await api.post("/amendments", json=proposal(amendment_id), headers=pat)
    assert again.status_code == 409

    async def asked() -> bool:
        mails = [m for m in mailbox.messages() if m["X-Slaflow-Amendment"] == amendment_id]
        return {str(m["To"]) for m in mails} >= {CORA, SAM}

    await eventually(asked, what="approval requests by email")
    mail = next(m for m in mailbox.messages() if m["X-Slaflow-Amendment"] == amendment_id)
    assert "Please review and sign" in str(mail["Subject"])

    async def dm() -> list[Any]:
        with slack.state.lock:
            dms = [m for m in slack.state.messages if m.channel.startswith("D") and m.blocks]
            return [m for m in dms if m.channel_name == "UAMEND9"]  # a DM's name: its user

    posted = await eventually(dm, what="the Slack approval request")
    actions = next(b for b in posted[0].blocks if b["type"] == "actions")["elements"]
    assert [(a["action_id"], a["value"]) for a in actions] == [
        ("amendment_approve", amendment_id),
        ("amendment_reject", amendment_id),
    ]

    path = f"/amendments/{amendment_id}/approve"
    stranger = await api.post(path, json={}, headers=bearer(staff["eve"]))
    assert stranger.status_code == 403 and "not a signatory" in stranger.json()["detail"]
    integration = await api.post(path, json={})  # the admin token of settings: nobody
    assert integration.status_code == 403 and "cannot sign" in integration.json()["detail"]
    typed = await api.post(path, json={"by": CORA}, headers=bearer(staff["eve"]))
    assert typed.status_code == 422 and "by: not accepted" in typed.json()["detail"]

    # Cora has no account to speak of: she decides through the link mailed to her
    link = signing_link(mailbox, amendment_id, CORA)
    page = await api.get(link, headers={"Authorization": ""})
    assert page.status_code == 200, page.text
    assert "Cora Customer" in page.text and "objectives.P1.first_response.within" in page.text
    token_at = link.rindex("/") + 1
    altered = link[:token_at] + ("f" if link[token_at] != "f" else "e") + link[token_at + 1 :]
    assert (await api.get(altered)).status_code == 403
    elsewhere = link.replace(f"/sign/{amendment_id}/", "/sign/A-other/")
    other = await api.get(elsewhere)
    assert other.status_code == 403 and "another amendment" in other.text
    signed = await api.post(link, data={"decision": "approve", "comment": "fine"})
    assert signed.status_code == 200 and "Recorded: Cora Customer" in signed.text
    reused = await api.post(link, data={"decision": "reject", "comment": "changed my mind"})
    assert reused.status_code == 403 and "used already" in reused.text
    twice = await api.post(path, json={}, headers=bearer(staff["cora"]))
    assert twice.status_code == 409 and "already decided" in twice.json()["detail"]

    cli.acting_as(staff["sam"])
    result = await cli("amendment", "reject", amendment_id, "--comment", "too slow")
    assert result.exit_code == 0, result.output
    assert "rejected" in result.output

    view = AmendmentView.model_validate((await api.get(f"/amendments/{amendment_id}")).json())
    assert view.status == "rejected" and "too slow" in view.closed_reason
    assert [(d.decision, d.method) for d in view.signatories] == [
        ("approved", "link"),
        ("rejected", "cli"),
    ]
    late = await api.post(path, json={}, headers=bearer(staff["sam"]))
    assert late.status_code == 409 and "closed" in late.json()["detail"]
    after_close = await api.get(signing_link(mailbox, amendment_id, SAM))
    assert after_close.status_code == 403 and "closed" in after_close.text

    audit = (await api.get(f"/amendments/{amendment_id}/audit")).json()
    trail = [(a["action"], a["outcome"], a["method"]) for a in audit]
    assert ("propose", "accepted", "token") in trail
    assert ("approve", "accepted", "link") in trail and ("reject", "accepted", "cli") in trail
    assert ("approve", "refused", "token") in trail and ("link", "refused", "link") in trail
    csv = await api.get(f"/amendments/{amendment_id}/audit", params={"format": "csv"})
    assert csv.status_code == 200 and csv.text.startswith("at,action,outcome,actor")

    shown = await cli("amendment", "show", amendment_id)
    assert shown.exit_code == 0 and "too slow" in shown.output

    async def listed() -> bool:
        found = (await api.get("/amendments")).json()["amendments"]
        return any(a["amendment_id"] == amendment_id for a in found)

    await eventually(listed, what="the amendment in the list")
    listing = await cli("amendment", "list")
    assert listing.exit_code == 0 and amendment_id in listing.output


async def test_cli_proposes_from_a_file_and_withdraws(
    cli: Cli, tmp_path: Path, staff: dict[str, str]
) -> None:
    doc = agreement_doc()
    doc["objectives"]["P2"]["resolution"]["within"] = "90m"
    file = tmp_path / "proposed.yaml"
    file.write_text(dump_agreement(Agreement.model_validate(doc)))
    amendment_id = f"A-{uuid.uuid4().hex[:8]}"
    deadline = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    cli.acting_as(staff["pat"])
    result = await cli(
        "amendment", "propose", str(file), "--id", amendment_id, "--deadline", deadline,
        "--signatory", f"customer:Cora:{CORA}", "--signatory", f"owner:Sam:{SAM}:UAMEND9",
        "--rationale", "P2 resolution 90m", "--amends-version", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"proposed amendment {amendment_id}" in result.output
    twice = await cli(
        "amendment", "propose", str(file), "--id", "A-dup", "--deadline", deadline,
        "--signatory", f"customer:Cora:{CORA}", "--signatory", f"customer:Cora:{CORA}",
        "--rationale", "x", "--amends-version", "1",
    )  # fmt: skip
    assert twice.exit_code == 1 and "listed twice" in twice.output
    cli.acting_as(staff["cora"])
    refused = await cli("amendment", "withdraw", amendment_id)
    assert refused.exit_code == 1 and "only the proposer" in refused.output
    cli.acting_as(staff["pat"])
    withdrawn = await cli("amendment", "withdraw", amendment_id, "--json")
    assert withdrawn.exit_code == 0, withdrawn.output
    assert AmendmentView.model_validate_json(withdrawn.output).status == "withdrawn"


async def test_propose_a_change_set_from_the_cli(
    cli: Cli, tmp_path: Path, staff: dict[str, str]
) -> None:
    """Only what changes, merged onto version 1; a change set that breaks it is refused."""
    changes = tmp_path / "changes.yaml"
    changes.write_text("objectives:\n  P2:\n    resolution:\n      within: 90m\n")
    amendment_id = f"A-{uuid.uuid4().hex[:8]}"
    deadline = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    common = ["--deadline", deadline, "--signatory", f"customer:Cora:{CORA}",
              "--rationale", "P2 resolution 90m", "--amends-version", "1"]  # fmt: skip
    cli.acting_as(staff["pat"])
    result = await cli(
        "amendment", "propose", str(changes), "--changes", "--id", amendment_id, *common, "--json"
    )
    assert result.exit_code == 0, result.output
    view = AmendmentView.model_validate_json(result.output)
    assert view.agreement.objectives[Priority.P2].resolution.within == timedelta(minutes=90)
    assert view.agreement.name  # the rest is version 1's
    broken = tmp_path / "broken.yaml"
    broken.write_text("objectives:\n  P2:\n    resolution:\n      within: 0s\n")
    refused = await cli(
        "amendment", "propose", str(broken), "--changes", "--id", f"{amendment_id}-b", *common
    )
    assert refused.exit_code == 1
    assert "changes.objectives.P2.resolution.within" in refused.output
    withdrawn = await cli("amendment", "withdraw", amendment_id)
    assert withdrawn.exit_code == 0, withdrawn.output
