"""Agreement files: the shipped ones load, dumps round-trip, errors name the file and field."""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from slaflow.agreement import Agreement
from slaflow.agreement_file import (
    AgreementFileError,
    dump_agreement,
    load_agreement,
    parse_agreement,
)
from slaflow.calendars import ALWAYS_OPEN
from slaflow.tiers import TIER_ORDER, Priority

AGREEMENTS = Path(__file__).resolve().parents[2] / "agreements"
SHIPPED = [AGREEMENTS / "default.yaml", AGREEMENTS / "demo" / "default.yaml"]


@pytest.fixture(scope="module")
def default_data() -> dict[str, Any]:
    data = yaml.safe_load((AGREEMENTS / "default.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _error(tmp_path: Path, data: Any, name: str = "x.yaml") -> tuple[Path, str]:
    """The file and its error message, line numbers left out (tests of lines are below)."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(AgreementFileError) as info:
        load_agreement(path)
    assert all(line is not None for line in info.value.lines)
    return path, re.sub(rf"(?m)^{re.escape(str(path))}:\d+: ", f"{path}: ", str(info.value))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_agreements_load(path: Path) -> None:
    agreement = load_agreement(path)
    assert set(agreement.objectives) == set(Priority)
    assert [p.tier for p in agreement.escalation.tiers] == list(TIER_ORDER)
    assert {c.channel.value for c in agreement.channels} == {
        "phone",
        "email",
        "chat",
        "social",
        "portal",
        "walk_in",
    }


def test_default_agreement_has_the_documented_targets() -> None:
    agreement = load_agreement(AGREEMENTS / "default.yaml")
    p1 = agreement.objective(Priority.P1)
    assert p1.first_response.within == timedelta(minutes=15)
    assert p1.resolution.within == timedelta(hours=4)
    assert p1.calendar == ALWAYS_OPEN
    assert [(w.at_percent, w.notify.value) for w in p1.first_response.warnings] == [
        (50, "agent"),
        (75, "team_lead"),
    ]
    assert agreement.objective(Priority.P2).resolution.within == timedelta(hours=8)
    for priority in (Priority.P3, Priority.P4):
        assert agreement.objective(priority).calendar == "berlin-office"
    office = agreement.calendars["berlin-office"]
    assert office.time_zone == "Europe/Berlin"
    assert (office.holiday_country, office.holiday_subdivision) == ("DE", "NW")
    assert len(office.weekly_hours) == 5
    assert agreement.escalation.policy(TIER_ORDER[0]).contacts[0].slack_user_id == "U0AGENT1"


def test_demo_agreement_runs_in_seconds_around_the_clock() -> None:
    agreement = load_agreement(AGREEMENTS / "demo" / "default.yaml")
    assert agreement.calendar_names() == {ALWAYS_OPEN}
    assert agreement.objective(Priority.P1).first_response.within == timedelta(seconds=60)
    assert all(p.ack_window <= timedelta(seconds=30) for p in agreement.escalation.tiers)
    assert agreement.escalation.repeat_limit == 2
    assert [p.slack_channel for p in agreement.escalation.tiers] == [
        "#sla-agents",
        "#sla-leads",
        "#sla-specialists",
        "#sla-management",
    ]
    assert all(
        c.email.endswith("@example.com") for p in agreement.escalation.tiers for c in p.contacts
    )


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_dump_then_load_round_trips(path: Path, tmp_path: Path) -> None:
    agreement = load_agreement(path)
    copy_path = tmp_path / path.name
    copy_path.write_text(dump_agreement(agreement), encoding="utf-8")
    assert load_agreement(copy_path) == agreement
    assert parse_agreement(dump_agreement(agreement)) == agreement


def test_dump_writes_human_durations_and_hours() -> None:
    text = dump_agreement(load_agreement(AGREEMENTS / "default.yaml"))
    assert "within: 15m" in text
    assert "08:00-18:00" in text
    assert "days=" not in text and "PT" not in text


def test_zero_target_names_file_and_field(tmp_path: Path, default_data: dict[str, Any]) -> None:
    data = copy.deepcopy(default_data)
    data["objectives"]["P1"]["first_response"]["within"] = "0s"
    path, message = _error(tmp_path, data)
    assert message == (
        f"{path}: objectives.P1.first_response.within: must be a positive duration such as '4h'"
    )


def test_negative_target_names_file_and_field(tmp_path: Path, default_data: dict[str, Any]) -> None:
    data = copy.deepcopy(default_data)
    data["objectives"]["P2"]["resolution"]["within"] = "-PT4H"
    path, message = _error(tmp_path, data)
    assert message == (
        f"{path}: objectives.P2.resolution.within: must be a positive duration such as '4h'"
    )
    data["objectives"]["P2"]["resolution"]["within"] = "-4h"
    path, message = _error(tmp_path, data)
    assert message.startswith(f"{path}: objectives.P2.resolution.within: ")


def test_unknown_priority_key(tmp_path: Path, default_data: dict[str, Any]) -> None:
    data = copy.deepcopy(default_data)
    data["objectives"]["P5"] = data["objectives"].pop("P4")
    path, message = _error(tmp_path, data)
    assert f"{path}: objectives.P5: not an allowed key: Input should be 'P1'" in message


def test_missing_priority(tmp_path: Path, default_data: dict[str, Any]) -> None:
    data = copy.deepcopy(default_data)
    del data["objectives"]["P4"]
    path, message = _error(tmp_path, data)
    assert message == f"{path}: objectives: no objective for P4"


def test_missing_tier(tmp_path: Path, default_data: dict[str, Any]) -> None:
    data = copy.deepcopy(default_data)
    del data["escalation"]["tiers"][2]
    path, message = _error(tmp_path, data)
    assert message.startswith(f"{path}: escalation.tiers: must list exactly the four tiers")


def test_tiers_out_of_order(tmp_path: Path, default_data: dict[str, Any]) -> None:
    data = copy.deepcopy(default_data)
    tiers = data["escalation"]["tiers"]
    tiers[1], tiers[2] = tiers[2], tiers[1]
    path, message = _error(tmp_path, data)
    assert message == (
        f"{path}: escalation.tiers: must list exactly the four tiers in order: "
        "agent, team_lead, specialist, management"
    )


def test_unknown_calendar(tmp_path: Path, default_data: dict[str, Any]) -> None:
    data = copy.deepcopy(default_data)
    data["objectives"]["P3"]["calendar"] = "hamburg-office"
    path, message = _error(tmp_path, data)
    assert message.startswith(f"{path}: objectives.P3.calendar: unknown calendar 'hamburg-office'")


def test_repeat_limit_above_nine(tmp_path: Path, default_data: dict[str, Any]) -> None:
    data = copy.deepcopy(default_data)
    data["escalation"]["repeat_limit"] = 10
    path, message = _error(tmp_path, data)
    assert message.startswith(f"{path}:")
    assert message.endswith(": escalation.repeat_limit: Input should be less than or equal to 9")


def test_every_problem_gets_its_own_line(tmp_path: Path, default_data: dict[str, Any]) -> None:
    data = copy.deepcopy(default_data)
    data["escalation"]["repeat_limit"] = 10
    data["escalation"]["tiers"][0]["contacts"][0]["email"] = "not-an-email"
    data["surprise"] = True
    path, message = _error(tmp_path, data)
    lines = message.splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"{path}:") for line in lines)
    assert ": escalation.tiers.0.contacts.0.email: String should match pattern" in message
    assert any(line.endswith(": surprise: Extra inputs are not permitted") for line in lines)


def test_malformed_yaml_names_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nobjectives:\n  P1: [unclosed\n  P2: {}\n", encoding="utf-8")
    with pytest.raises(AgreementFileError) as info:
        load_agreement(path)
    message = str(info.value)
    assert message.startswith(f"{path}:4: invalid YAML: column ")
    assert info.value.path == str(path)


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("name: a\nname: b\n", encoding="utf-8")
    expected = r"dup.yaml:2: invalid YAML: column 1: found duplicate key 'name'"
    with pytest.raises(AgreementFileError, match=expected):
        load_agreement(path)


@pytest.mark.parametrize(
    ("text", "kind"), [("- a\n- b\n", "a list"), ("", "an empty document"), ("42\n", "a number")]
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    path = tmp_path / "top.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AgreementFileError) as info:
        load_agreement(path)
    assert str(info.value) == (
        f"{path}: the top level must be a mapping of agreement fields, not {kind}"
    )


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(AgreementFileError, match="cannot read the agreement file") as info:
        load_agreement(missing)
    assert str(info.value).startswith(f"{missing}: ")
    with pytest.raises(AgreementFileError, match=f"{tmp_path}: cannot read"):
        load_agreement(tmp_path)


def test_error_is_a_value_error_with_problems(tmp_path: Path, default_data: dict[str, Any]) -> None:
    data = copy.deepcopy(default_data)
    data["escalation"]["repeat_limit"] = 10
    with pytest.raises(ValueError) as info:
        parse_agreement(yaml.safe_dump(data), "inline")
    assert isinstance(info.value, AgreementFileError)
    assert info.value.problems == [
        ("escalation.repeat_limit", "Input should be less than or equal to 9")
    ]


def test_agreement_model_is_what_load_returns() -> None:
    assert isinstance(load_agreement(AGREEMENTS / "demo" / "default.yaml"), Agreement)


def test_a_field_error_names_the_line_it_is_written_on(
    tmp_path: Path, default_data: dict[str, Any]
) -> None:
    data = copy.deepcopy(default_data)
    data["escalation"]["repeat_limit"] = 10
    path = tmp_path / "lines.yaml"
    text = yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("  repeat_limit: 10") + 1
    with pytest.raises(AgreementFileError) as info:
        load_agreement(path)
    assert str(info.value) == (
        f"{path}:{line}: escalation.repeat_limit: Input should be less than or equal to 9"
    )
    assert info.value.lines == [line]


def test_a_missing_field_names_the_line_of_the_mapping_that_lacks_it(
    default_data: dict[str, Any],
) -> None:
    data = copy.deepcopy(default_data)
    del data["objectives"]["P2"]["resolution"]
    text = yaml.safe_dump(data, sort_keys=False)
    with pytest.raises(AgreementFileError) as info:
        parse_agreement(text, "a.yaml")
    line = text.splitlines().index("  P2:") + 1
    assert str(info.value) == f"a.yaml:{line}: objectives.P2.resolution: Field required"


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("60 seconds", 60),
        ("1h30", 5400),
        ("1h 30m", 5400),
        ("90 min", 5400),
        ("2 days", 172800),
        ("1 hour, 15 minutes", 4500),
        ("PT4H", 14400),
        ("4H", 14400),
    ],
)
def test_durations_in_sensible_forms(
    default_data: dict[str, Any], written: str, seconds: int
) -> None:
    data = copy.deepcopy(default_data)
    data["objectives"]["P1"]["first_response"]["within"] = written
    agreement = parse_agreement(yaml.safe_dump(data))
    assert agreement.objective(Priority.P1).first_response.within == timedelta(seconds=seconds)


@pytest.mark.parametrize("written", ["soon", "1h30x", "4 fortnights", "h", "1.5.3h"])
def test_a_duration_that_is_not_one_names_the_accepted_forms(
    default_data: dict[str, Any], written: str
) -> None:
    data = copy.deepcopy(default_data)
    data["objectives"]["P1"]["first_response"]["within"] = written
    with pytest.raises(AgreementFileError) as info:
        parse_agreement(yaml.safe_dump(data), "x.yaml")
    message = str(info.value)
    assert "objectives.P1.first_response.within: " in message
    assert f"{written!r} is not a duration; write a positive duration such as '4h'" in message
    assert "ISO 8601" in message


@pytest.mark.parametrize("written", ["0s", "-4h", "0"])
def test_a_duration_that_is_not_positive_says_so(
    default_data: dict[str, Any], written: str
) -> None:
    data = copy.deepcopy(default_data)
    data["objectives"]["P1"]["first_response"]["within"] = written
    with pytest.raises(AgreementFileError, match="must be a positive duration such as '4h'"):
        parse_agreement(yaml.safe_dump(data), "x.yaml")
