"""Which agreement a ticket gets, and which sets of agreements are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from slaflow.agreement_file import AgreementSetError, load_agreement_set, parse_agreement_file
from slaflow.customers import (
    DEFAULT_HEADER,
    AgreementHeader,
    Customer,
    Rule,
    UnknownCustomerError,
    rules_overlap,
    select_agreement,
    set_problems,
    unmeasured_reason,
)
from slaflow.tiers import Channel

ACME = Customer(id="acme", name="ACME Corp")
REPO = Path(__file__).resolve().parents[2]


def _h(id: str, rules: list[Rule] | None = None, customer: Customer = ACME) -> AgreementHeader:
    return AgreementHeader(id=id, customer=customer, rules=rules or [])


def test_first_matching_rule_of_the_customer_wins() -> None:
    hosting = _h("acme-hosting", [Rule(name="hosting", services=["Hosting"])])
    phone = _h("acme-phone", [Rule(services=["Mail"], channels=[Channel.PHONE])])
    got = select_agreement([hosting, phone, DEFAULT_HEADER], "acme", "hosting", Channel.EMAIL, [])
    assert (got.agreement_id, got.customer_id) == ("acme-hosting", "acme")
    assert got.rule == "rule 1 (hosting): service Hosting"
    got = select_agreement([hosting, phone, DEFAULT_HEADER], "acme", "Mail", Channel.PHONE, [])
    assert got.agreement_id == "acme-phone"


def test_no_match_falls_back_to_the_default_else_names_the_customer() -> None:
    hosting = _h("acme-hosting", [Rule(services=["Hosting"])])
    got = select_agreement([hosting, DEFAULT_HEADER], "acme", "Mail", Channel.EMAIL, [])
    assert got.agreement_id == "default" and got.customer_id is None
    with pytest.raises(UnknownCustomerError, match="'acme': no rule of its agreements matches"):
        select_agreement([hosting], "acme", "Mail", Channel.EMAIL, [])
    with pytest.raises(UnknownCustomerError, match="'globex' has no agreement"):
        select_agreement([hosting], "globex", None, Channel.EMAIL, [])


def test_tags_must_all_be_present() -> None:
    rule = Rule(tags=["vip", "outage"])
    assert rule.matches(None, Channel.CHAT, ["Outage", "VIP", "x"])
    assert not rule.matches(None, Channel.CHAT, ["vip"])


@pytest.mark.parametrize("bad", ["ACME", "acme corp", "-acme", "acme-", "a" * 65, "ä", "a/b", ""])
def test_odd_customer_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="id"):
        Customer(id=bad, name="x")


def test_overlapping_agreements_of_one_customer_are_refused() -> None:
    a = _h("acme-a", [Rule(services=["Hosting", "Mail"])])
    b = _h("acme-b", [Rule(services=["Mail"], channels=[Channel.PHONE])])
    c = _h("acme-c", [Rule(services=["Backups"])])
    other = _h("globex", [Rule(services=["Mail"])], Customer(id="globex", name="Globex"))
    problems = set_problems([a, b, c, other])
    assert problems == [
        (
            "acme-b",
            "agreement.rules.0",
            "overlaps 'acme-a' rule 1 for customer 'acme': one ticket could match both "
            "(separate them by service or channel)",
        )
    ]


def test_two_defaults_duplicate_ids_and_renamed_customers_are_refused() -> None:
    renamed = _h("acme-2", [Rule(services=["X"])], Customer(id="acme", name="Acme Ltd"))
    problems = set_problems([DEFAULT_HEADER, DEFAULT_HEADER, _h("acme-1"), renamed])
    fields = [(i, f) for i, f, _ in problems]
    assert ("default", "agreement.id") in fields
    assert ("default", "agreement.default") in fields
    assert ("acme-2", "agreement.customer.name") in fields


rule_st = st.builds(
    Rule,
    services=st.lists(st.sampled_from(["A", "B", "C"]), max_size=2),
    channels=st.lists(st.sampled_from([Channel.PHONE, Channel.EMAIL]), max_size=2),
)


@given(rule_st, rule_st, st.sampled_from(["A", "B", "C", None]), st.sampled_from(list(Channel)))
def test_rules_that_do_not_overlap_never_both_match(
    a: Rule, b: Rule, service: str | None, channel: Channel
) -> None:
    if not rules_overlap(a, b):
        assert not (a.matches(service, channel, []) and b.matches(service, channel, []))


def test_scope_and_exclusions_decide_measurement() -> None:
    assert unmeasured_reason(["Hosting"], ["Fax"], None) is None
    assert unmeasured_reason(["Hosting"], ["Fax"], "hosting") is None
    assert unmeasured_reason([], ["Fax"], "fax") == "service 'fax' is excluded by the agreement"
    assert unmeasured_reason(["Hosting"], [], "Mail") == (
        "service 'Mail' is not in the agreement's scope"
    )


def test_a_rule_naming_an_unknown_service_is_refused_with_file_and_field() -> None:
    text = (REPO / "agreements" / "demo" / "globex.yaml").read_text()
    text = text.replace("    - Backups\n", "    - Bakcups\n", 1)
    with pytest.raises(ValueError) as err:
        parse_agreement_file(text, "globex.yaml")
    line = text.splitlines().index("    services:") + 1  # where the rule's services are
    assert str(err.value) == (
        f"globex.yaml:{line}: agreement.rules.0.services: unknown service 'Bakcups': not in "
        "the scope"
    )


def test_a_file_without_header_is_the_default_agreement() -> None:
    file = parse_agreement_file((REPO / "agreements" / "default.yaml").read_text())
    assert file.header == DEFAULT_HEADER


def test_a_directory_is_checked_together(tmp_path: Path) -> None:
    for name in ("default.yaml", "acme.yaml"):
        (tmp_path / name).write_text((REPO / "agreements" / "demo" / name).read_text())
    (tmp_path / "acme2.yaml").write_text(
        (REPO / "agreements" / "demo" / "acme.yaml")
        .read_text()
        .replace("id: acme-gold", "id: acme-silver")
    )
    (tmp_path / "bad.yaml").write_text("agreement: {id: Bad Id, default: true}\n")
    with pytest.raises(AgreementSetError) as err:
        load_agreement_set(tmp_path)
    lines = str(err.value).splitlines()
    assert any(line.startswith(f"{tmp_path / 'bad.yaml'}:1: agreement.id: ") for line in lines)
    assert f"{tmp_path / 'acme2.yaml'}: agreement.rules: overlaps 'acme-gold'" in str(err.value)


def test_the_shipped_sets_load() -> None:
    assert {f.header.id for f in load_agreement_set(REPO / "agreements")} == {
        "default",
        "nordwind-premium",
    }
    demo = load_agreement_set(REPO / "agreements" / "demo")
    assert {f.header.customer_id for f in demo} == {None, "acme", "globex"}
