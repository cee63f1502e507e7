"""Internal targets per tier (OLAs): pick-up in time, attributed to the tier that was late."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from slaflow.ola import pick_up
from slaflow.reports import FactRow
from slaflow.tickets import TicketStatus
from slaflow.tiers import Channel, Priority, Tier
from tests.factories import T0, agreement_doc, make_agreement

TL, SP, MG = Tier.TEAM_LEAD, Tier.SPECIALIST, Tier.MANAGEMENT


def doc_with_olas() -> dict[str, object]:
    doc = agreement_doc()
    tiers = doc["escalation"]["tiers"]
    tiers[1]["pick_up_within"] = "10m"  # team lead
    tiers[2]["pick_up_within"] = "30m"  # specialist
    return doc


def row(ticket_id: str, highest: Tier, acks: dict[Tier, float], hour: int) -> FactRow:
    return FactRow(
        ticket_id=ticket_id,
        customer="ACME",
        priority=Priority.P1,
        channel=Channel.EMAIL,
        status=TicketStatus.CLOSED,
        opened_at=T0 + timedelta(hours=hour),
        highest_tier=highest,
        tier_ack_seconds=acks,
    )


ROWS = [
    row("T1", Tier.AGENT, {Tier.AGENT: 60}, 1),
    row("T2", SP, {TL: 300, SP: 1200}, 2),
    row("T3", SP, {TL: 900}, 3),  # lead late; the specialist never acknowledged
    row("T4", MG, {TL: 200, SP: 2400}, 4),  # the specialist late
]


def test_each_tier_is_held_to_its_own_pick_up_target() -> None:
    matrix = make_agreement(**doc_with_olas()).escalation
    lead, specialist = pick_up(ROWS, matrix)
    assert (lead.tier, lead.target_seconds, lead.paged, lead.in_time) == (TL, 600, 3, 2)
    assert lead.missed_tickets == ["T3"] and lead.percent == 66.67
    assert (specialist.tier, specialist.paged, specialist.in_time) == (SP, 3, 1)
    assert specialist.missed_tickets == ["T3", "T4"]


def test_tiers_without_a_target_are_not_reported() -> None:
    assert pick_up(ROWS, make_agreement().escalation) == []
    lead, _ = pick_up([], make_agreement(**doc_with_olas()).escalation)
    assert (lead.paged, lead.percent) == (0, None)


def test_a_non_positive_pick_up_target_is_refused() -> None:
    doc = doc_with_olas()
    doc["escalation"]["tiers"][1]["pick_up_within"] = "0m"  # type: ignore[index]
    with pytest.raises(ValidationError) as refused:
        make_agreement(**doc)
    assert "pick_up_within" in str(refused.value)


def test_waits_on_a_third_party_are_measured_against_its_own_target() -> None:
    from slaflow import ticket_machine as machine
    from slaflow.ola import third_party_waits
    from slaflow.tickets import Pause, Resume
    from tests.factories import make_terms, make_ticket

    m = timedelta(minutes=1)
    rt, _ = machine.open_ticket(make_ticket(), make_terms(), T0, T0)
    for offset, name, command in [
        (5 * m, "pause", Pause(actor="a", status="waiting_on_third_party", party="Telco AG")),
        (95 * m, "resume", Resume(actor="a")),
        (100 * m, "pause", Pause(actor="a", status="waiting_on_third_party", party="Cloud & Co")),
        (110 * m, "resume", Resume(actor="a")),
        (120 * m, "pause", Pause(actor="a")),  # the customer: no party
        (130 * m, "resume", Resume(actor="a")),
    ]:
        machine.apply_command(rt, name, command, T0 + offset)
    waits = [("T-1", w) for w in machine.facts(rt).waits]
    assert [w.party for _, w in waits] == ["Telco AG", "Cloud & Co", None]
    telco, cloud, other = third_party_waits(
        waits, {"Telco AG": timedelta(hours=1), "Cloud & Co": timedelta(hours=1), "Idle": m}
    )
    assert (telco.party, telco.waits, telco.waited_seconds, telco.over_target_tickets) == (
        "Telco AG",
        1,
        5400,
        ["T-1"],
    )
    assert (cloud.waits, cloud.over_target_tickets) == (1, [])
    assert (other.party, other.waits) == ("Idle", 0)


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"status": "waiting_on_customer", "party": "Telco AG"}, "party"),
        ({"status": "waiting_on_third_party", "party": "=cmd|x"}, "party"),
    ],
)
def test_a_party_is_named_only_for_a_third_party_wait(fields: dict[str, str], loc: str) -> None:
    from slaflow.tickets import Pause

    with pytest.raises(ValidationError) as refused:
        Pause.model_validate({"actor": "a", **fields})
    assert refused.value.errors()[0]["loc"] == (loc,)
