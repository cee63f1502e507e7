"""Service-level objectives are watched per agreement: each counts its own agreement's tickets
and warns its own management tier."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, update

from activities import agreement_store
from activities.tables import TicketFactRow
from tests.factories import agreement_file, customer_doc
from tests.workflows import test_service_level_watch as base
from tests.workflows.test_service_level_watch import MANAGEMENT, Watch, seed_month

watch, mailbox, slack = base.watch, base.mailbox, base.slack  # the watch tests' fixtures


async def test_each_agreement_warns_its_own_management_of_its_own_tickets(
    watch: Watch, engine: Engine
) -> None:
    slo = [{"priority": "P1", "target": "first_response", "percent": 95, "warn_when_spent": 50}]
    acme = agreement_file("acme-gold", "acme", customer_doc("acme", "10m", service_levels=slo))
    agreement_store.seed_file(engine, acme)
    now = datetime.now(UTC)
    # 40 P1 tickets of the default agreement, 1 late (50 % of its budget: a warning there) ...
    seed_month(engine, now, tickets=40, breached=1)
    # ... of which the first 20 (the late one among them) are acme's: 1 of 20 missed is 100 %.
    acme_ids = [f"SL-{i}" for i in range(20)]
    with engine.begin() as connection:
        connection.execute(
            update(TicketFactRow)
            .where(TicketFactRow.ticket_id.in_(acme_ids))  # type: ignore[attr-defined]
            .values(agreement_id="acme-gold", customer="acme")
        )
    result = await watch.run()
    default = result.statuses[0]
    assert (default.measured, default.misses) == (20, 0) and default.state == "ok"
    (part,) = result.agreements
    assert (part.agreement_id, part.agreement_name) == ("acme-gold", "Test agreement")
    p1 = part.statuses[0]
    assert (p1.measured, p1.misses, p1.state) == (20, 1, "exhausted")
    mails = watch.mailbox.messages()
    recipients = {a.strip() for m in mails for a in str(m["To"]).split(",")}
    assert recipients == {f"acme-{email}" for email in MANAGEMENT}
    assert {r.idempotency_key.split("/")[1] for r in result.sent} == {"acme-gold"}
