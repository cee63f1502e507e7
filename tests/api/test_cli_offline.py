"""CLI paths that need no Temporal: agreement files, option validation, an unreachable server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from slaflow.settings import DEFAULT_AGREEMENT_FILE, get_settings
from starter.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SLAFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SLAFLOW_TEMPORAL_ADDRESS", "127.0.0.1:1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_agreement_check_accepts_the_shipped_files() -> None:
    for path in (DEFAULT_AGREEMENT_FILE, DEFAULT_AGREEMENT_FILE.parent / "demo" / "default.yaml"):
        result = runner.invoke(app, ["agreement", "check", str(path)])
        assert result.exit_code == 0, result.output
        assert f"{path}: ok" in result.stdout
        assert "P1" in result.stdout and "management" in result.stdout


def test_agreement_check_names_file_and_field(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    text = DEFAULT_AGREEMENT_FILE.read_text().replace("within: 15m", "within: 0s", 1)
    broken.write_text(text)
    result = runner.invoke(app, ["agreement", "check", str(broken)])
    assert result.exit_code == 1
    line = text.splitlines().index("      within: 0s") + 1
    assert f"{broken}:{line}: objectives.P1.first_response.within:" in result.stderr


def test_db_init_seeds_version_one(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "init"])
    assert result.exit_code == 0, result.output
    assert "agreements: 2 (default, nordwind-premium)" in result.stdout
    assert (tmp_path / "slaflow.db").exists()
    shown = runner.invoke(app, ["agreement", "show"])
    assert shown.exit_code == 0 and "Agreement default version 1" in shown.stdout
    shown = runner.invoke(app, ["agreement", "show", "--agreement", "nordwind-premium"])
    assert shown.exit_code == 0 and "Nordwind Logistik GmbH" in shown.stdout
    missing = runner.invoke(app, ["agreement", "show", "--agreement", "nope"])
    assert missing.exit_code == 1
    assert "--agreement: agreement 'nope' has no version" in missing.stderr or (
        "no version of agreement 'nope'" in missing.stderr
    )
    listed = runner.invoke(app, ["agreement", "list"])
    assert listed.exit_code == 0
    assert "nordwind-premium  nordwind (Nordwind Logistik GmbH)" in listed.stdout
    customers = runner.invoke(app, ["agreement", "customers", "--json"])
    assert json.loads(customers.stdout) == [
        {"id": "nordwind", "name": "Nordwind Logistik GmbH", "agreements": ["nordwind-premium"]}
    ]


def test_agreement_check_reads_a_directory() -> None:
    result = runner.invoke(app, ["agreement", "check", str(DEFAULT_AGREEMENT_FILE.parent / "demo")])
    assert result.exit_code == 0, result.output
    assert "(agreement globex-hosting, customer globex, 1 rule(s))" in result.stdout
    assert "(agreement default, default agreement)" in result.stdout


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("id: acme-gold", "id: Acme Gold"), "agreement.id: String should match pattern"),
        (("id: acme\n", "id: acme corp\n"), "agreement.customer.id: String should match"),
        (("id: acme-gold", "id: globex-hosting"), "agreement.id: 'globex-hosting' is used twice"),
    ],
)
def test_agreement_check_names_file_and_field_across_files(
    tmp_path: Path, change: tuple[str, str], field: str
) -> None:
    demo = DEFAULT_AGREEMENT_FILE.parent / "demo"
    for name in ("default.yaml", "globex.yaml"):
        (tmp_path / name).write_text((demo / name).read_text())
    (tmp_path / "acme.yaml").write_text((demo / "acme.yaml").read_text().replace(*change, 1))
    result = runner.invoke(app, ["agreement", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert field in result.stderr, result.stderr
    assert str(tmp_path) in result.stderr


def test_agreement_check_refuses_overlapping_agreements_of_one_customer(tmp_path: Path) -> None:
    demo = DEFAULT_AGREEMENT_FILE.parent / "demo"
    (tmp_path / "globex.yaml").write_text((demo / "globex.yaml").read_text())
    (tmp_path / "globex2.yaml").write_text(
        (demo / "globex.yaml").read_text().replace("id: globex-hosting", "id: globex-backup", 1)
    )
    result = runner.invoke(app, ["agreement", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'globex2.yaml'}: agreement.rules.0: overlaps 'globex-hosting'" in (
        result.stderr
    )


def test_ticket_open_names_the_bad_options() -> None:
    options = ["--id", "bad id", "--customer", "ACME", "--subject", "Down", "--priority", "P1"]
    result = runner.invoke(app, ["ticket", "open", *options, "--requester", "not-an-email"])
    assert result.exit_code == 1
    assert "--id: String should match pattern" in result.stderr
    assert "--requester: String should match pattern" in result.stderr


def test_unreachable_temporal_is_one_clear_line() -> None:
    result = runner.invoke(app, ["ticket", "show", "T-1"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot reach Temporal at 127.0.0.1:1: ")


def test_mail_list_on_an_empty_mailbox(tmp_path: Path) -> None:
    result = runner.invoke(app, ["mail", "list"])
    assert result.exit_code == 0
    assert f"no mail in {tmp_path / 'mail'}" in result.stdout


def test_mail_list_is_one_aligned_line_per_message() -> None:
    from email.message import EmailMessage

    from starter.cli import mail_rows

    def message(date: str | None, to: str, subject: str) -> EmailMessage:
        built = EmailMessage()
        if date:
            built["Date"] = date
        built["X-RcptTo"] = to
        built["Subject"] = subject
        return built

    lines = mail_rows(
        [
            message("Wed, 2 Dec 2026 15:45:09 +0100", "a@example.com", "[slaflow P1] New: T-1"),
            message(None, "lead1@example.com, lead2@example.com", "[slaflow P3] " + "long " * 40),
        ],
        width=80,
    )
    assert lines[0].startswith("DATE (UTC)           TO                    SUBJECT")
    assert lines[1].startswith("2026-12-02 14:45:09  a@example.com         [slaflow P1]")
    assert lines[2].startswith("-                    lead1@example.com +1  [slaflow P3] long")
    assert len(lines[2]) == 80 and lines[2].endswith("…")
    subject_column = lines[0].index("SUBJECT")
    assert all(line[subject_column - 2 : subject_column] == "  " for line in lines)
