"""An amendment through the real stack: API and CLI, worker, SMTP mailbox and Slack stand-in.

It ends rejected, so the shared session database keeps agreement version 1 (other integration
tests rely on it); signing and committing are covered by tests/workflows against the real
commit activity.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from slaflow.agreement import Agreement
from slaflow.agreement_file import dump_agreement
from slaflow.amendments import AmendmentView
from slaflow.tiers import Priority
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin
from tests.factories import agreement_doc
from tests.integration.conftest import Cli, eventually

CORA, SAM, PAT = "cora@customer.example", "sam@example.com", "pat@example.com"


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


async def test_amendment_asks_by_mail_and_slack_and_refuses_and_rejects(
    api: httpx.AsyncClient, mailbox: Mailbox, slack: SlackStandin, cli: Cli
) -> None:
    amendment_id = f"A-{uuid.uuid4().hex[:8]}"
    answer = await api.post("/amendments", json=proposal(amendment_id))
    assert answer.status_code == 201, answer.text
    assert (await api.post("/amendments", json=proposal(amendment_id))).status_code == 409

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

    stranger = await api.post(f"/amendments/{amendment_id}/approve", json={"by": "eve@x.example"})
    assert stranger.status_code == 409 and "not a signatory" in stranger.json()["detail"]
    approved = await api.post(f"/amendments/{amendment_id}/approve", json={"by": CORA})
    assert approved.status_code == 200
    twice = await api.post(f"/amendments/{amendment_id}/approve", json={"by": CORA})
    assert twice.status_code == 409 and "already decided" in twice.json()["detail"]

    result = await cli("amendment", "reject", amendment_id, "--as", SAM, "--comment", "too slow")
    assert result.exit_code == 0, result.output
    assert "rejected" in result.output

    view = AmendmentView.model_validate((await api.get(f"/amendments/{amendment_id}")).json())
    assert view.status == "rejected" and "too slow" in view.closed_reason
    assert [d.decision for d in view.signatories] == ["approved", "rejected"]
    late = await api.post(f"/amendments/{amendment_id}/approve", json={"by": SAM})
    assert late.status_code == 409 and "closed" in late.json()["detail"]

    shown = await cli("amendment", "show", amendment_id)
    assert shown.exit_code == 0 and "too slow" in shown.output

    async def listed() -> bool:
        found = (await api.get("/amendments")).json()["amendments"]
        return any(a["amendment_id"] == amendment_id for a in found)

    await eventually(listed, what="the amendment in the list")
    listing = await cli("amendment", "list")
    assert listing.exit_code == 0 and amendment_id in listing.output


async def test_cli_proposes_from_a_file_and_withdraws(cli: Cli, tmp_path: Path) -> None:
    doc = agreement_doc()
    doc["objectives"]["P2"]["resolution"]["within"] = "90m"
    file = tmp_path / "proposed.yaml"
    file.write_text(dump_agreement(Agreement.model_validate(doc)))
    amendment_id = f"A-{uuid.uuid4().hex[:8]}"
    deadline = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    result = await cli(
        "amendment", "propose", str(file), "--id", amendment_id, "--deadline", deadline,
        "--signatory", f"customer:Cora:{CORA}", "--signatory", f"owner:Sam:{SAM}:UAMEND9",
        "--proposer", PAT, "--rationale", "P2 resolution 90m", "--amends-version", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"proposed amendment {amendment_id}" in result.output
    twice = await cli(
        "amendment", "propose", str(file), "--id", "A-dup", "--deadline", deadline,
        "--signatory", f"customer:Cora:{CORA}", "--signatory", f"customer:Cora:{CORA}",
        "--proposer", PAT, "--rationale", "x", "--amends-version", "1",
    )  # fmt: skip
    assert twice.exit_code == 1 and "listed twice" in twice.output
    refused = await cli("amendment", "withdraw", amendment_id, "--as", CORA)
    assert refused.exit_code == 1 and "only the proposer" in refused.output
    withdrawn = await cli("amendment", "withdraw", amendment_id, "--as", PAT, "--json")
    assert withdrawn.exit_code == 0, withdrawn.output
    assert AmendmentView.model_validate_json(withdrawn.output).status == "withdrawn"


async def test_propose_a_change_set_from_the_cli(cli: Cli, tmp_path: Path) -> None:
    """Only what changes, merged onto version 1; a change set that breaks it is refused."""
    changes = tmp_path / "changes.yaml"
    changes.write_text("objectives:\n  P2:\n    resolution:\n      within: 90m\n")
    amendment_id = f"A-{uuid.uuid4().hex[:8]}"
    deadline = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    common = ["--deadline", deadline, "--signatory", f"customer:Cora:{CORA}", "--proposer",
              PAT, "--rationale", "P2 resolution 90m", "--amends-version", "1"]  # fmt: skip
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
    withdrawn = await cli("amendment", "withdraw", amendment_id, "--as", PAT)
    assert withdrawn.exit_code == 0, withdrawn.output
