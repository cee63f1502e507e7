"""An amendment amends one agreement: its versions, its commit record and its open tickets."""

from __future__ import annotations

from activities import agreement_store
from activities.amendments import commit_record
from slaflow.amendments import Approve
from slaflow.tiers import Priority
from tests.factories import agreement_file, customer_doc
from tests.workflows import test_amendment_workflow as base
from tests.workflows.test_amendment_workflow import CORA, SAM, Harness, M, proposed_doc

harness = base.harness  # the amendment workflow tests' fixture


async def test_amending_one_customers_agreement_leaves_the_others_untouched(
    harness: Harness,
) -> None:
    acme = agreement_file("acme-gold", "acme", customer_doc("acme", "4m"))
    agreement_store.seed_file(harness.engine, acme)
    handle = await harness.propose(agreement_id="acme-gold", moves_open_tickets=True)
    await harness.decide(handle, "approve", Approve(by=CORA))
    await harness.decide(handle, "approve", Approve(by=SAM))
    result = await handle.result()
    assert (result.agreement_id, result.committed_version) == ("acme-gold", 2)
    new = agreement_store.version(harness.engine, 2, "acme-gold")
    assert agreement_store.agreement_of(new).objectives[Priority.P1].first_response.within == (
        20 * M
    )
    assert [v.number for v in agreement_store.all_versions(harness.engine, "default")] == [1]
    record = commit_record(harness.engine, 2, "acme-gold")
    assert record is not None and record.amendment_id == result.amendment_id
    assert commit_record(harness.engine, 2) is None  # the default agreement has no version 2
    ((move, _),) = harness.sent.moves
    assert (move.agreement_id, move.version) == ("acme-gold", 2)


async def test_a_stale_amendment_is_judged_against_its_own_agreement(harness: Harness) -> None:
    """A new version of the default agreement does not make an acme amendment stale."""
    acme = agreement_file("acme-gold", "acme", customer_doc("acme", "4m"))
    agreement_store.seed_file(harness.engine, acme)
    agreement_store.add_version(
        harness.engine,
        base.Agreement.model_validate(proposed_doc("30m")),
        effective_from=agreement_store.EPOCH,
        source="test",
    )
    handle = await harness.propose(agreement_id="acme-gold")
    await harness.decide(handle, "approve", Approve(by=CORA))
    await harness.decide(handle, "approve", Approve(by=SAM))
    result = await handle.result()
    assert (result.status.value, result.committed_version) == ("signed", 2)
    assert [v.number for v in agreement_store.all_versions(harness.engine, "acme-gold")] == [1, 2]
