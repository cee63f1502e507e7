"""Search attributes that let managers list tickets through Temporal visibility."""

from __future__ import annotations

from temporalio.common import (
    SearchAttributeIndexedValueType,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)

from slaflow.tiers import Priority, Tier

CUSTOMER = SearchAttributeKey.for_keyword("SlaCustomer")
PRIORITY = SearchAttributeKey.for_keyword("SlaPriority")
TIER = SearchAttributeKey.for_keyword("SlaTier")
STATUS = SearchAttributeKey.for_keyword("SlaStatus")
BREACHED = SearchAttributeKey.for_bool("SlaBreached")
AGREEMENT = SearchAttributeKey.for_keyword("SlaAgreement")
MEASURED = SearchAttributeKey.for_bool("SlaMeasured")

SEARCH_ATTRIBUTES: list[SearchAttributeKey] = [
    CUSTOMER,
    PRIORITY,
    TIER,
    STATUS,
    BREACHED,
    AGREEMENT,
    MEASURED,
]

_CLI_TYPE = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.BOOL: "Bool",
}


def dev_server_flags() -> list[str]:
    """`--search-attribute Name=Type` for `temporal server start-dev`, which registers them."""
    flags: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        flags += ["--search-attribute", f"{key.name}={_CLI_TYPE[key.indexed_value_type]}"]
    return flags


def ticket_attributes(
    *,
    customer: str,
    agreement: str,
    priority: Priority,
    tier: Tier,
    status: str,
    breached: bool,
) -> TypedSearchAttributes:
    """The attributes a ticket starts with; the workflow upserts them as they change."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(CUSTOMER, customer),
            SearchAttributePair(AGREEMENT, agreement),
            SearchAttributePair(PRIORITY, priority.value),
            SearchAttributePair(TIER, tier.value),
            SearchAttributePair(STATUS, status),
            SearchAttributePair(BREACHED, breached),
        ]
    )
