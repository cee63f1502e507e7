"""`slaflow doctor` against the real integration stack, and against broken settings."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from google.protobuf.duration_pb2 import Duration
from pydantic import SecretStr
from sqlalchemy import Engine
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from typer.testing import CliRunner

from activities import schema
from slaflow.settings import Settings, get_settings
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin
from starter.cli import app as cli_app
from starter.doctor import Finding, diagnose

pytestmark = pytest.mark.integration

NAMES = [
    "SlaCustomer",
    "SlaPriority",
    "SlaTier",
    "SlaStatus",
    "SlaBreached",
    "SlaAgreement",
    "SlaMeasured",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def migrated(stack_engine: Engine) -> Engine:
    schema.upgrade(stack_engine)
    return stack_engine


def _by_check(findings: list[Finding]) -> dict[str, tuple[bool, str]]:
    return {f.check: (f.ok, f.message) for f in findings}


async def test_every_check_passes_against_the_stack(
    settings: Settings, migrated: Engine, mailbox: Mailbox, slack: SlackStandin
) -> None:
    findings = _by_check(await diagnose(settings))
    head = schema.head_revision()
    assert findings == {
        "secrets": (
            True,
            "not checked in development (SLAFLOW_ENVIRONMENT=production refuses missing, "
            "published or short secrets)",
        ),
        "temporal": (True, f"Temporal at {settings.temporal_address} answers"),
        "namespace": (True, "namespace default exists"),
        "search attributes": (True, f"search attributes registered: {', '.join(NAMES)}"),
        "database": (
            True,
            f"database {settings.resolved_database_url} is at revision {head} (head)",
        ),
        "smtp": (True, f"SMTP 127.0.0.1:{mailbox.port} accepts connections"),
        "slack": (True, f"Slack {slack.base_url}: authenticated as slaflow in slaflow stand-in"),
    }


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    env = {
        "SLAFLOW_TEMPORAL_ADDRESS": settings.temporal_address,
        "SLAFLOW_DATABASE_URL": settings.resolved_database_url,
        "SLAFLOW_SMTP_HOST": settings.smtp_host,
        "SLAFLOW_SMTP_PORT": str(settings.smtp_port),
        "SLAFLOW_SLACK_BASE_URL": settings.slack_base_url,
        "SLAFLOW_SLACK_BOT_TOKEN": settings.slack_bot_token.get_secret_value(),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_cli_exits_0_when_all_is_well(cli_env: None, migrated: Engine) -> None:
    result = CliRunner().invoke(cli_app, ["doctor"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 7 and all(line.startswith("ok  ") for line in lines), result.stdout
    as_json = CliRunner().invoke(cli_app, ["doctor", "--json"])
    assert as_json.exit_code == 0
    checks = json.loads(as_json.stdout)
    assert [c["check"] for c in checks] == [
        "secrets",
        "temporal",
        "namespace",
        "search attributes",
        "database",
        "smtp",
        "slack",
    ]
    assert all(c["ok"] for c in checks)


def test_the_cli_exits_1_naming_what_failed(
    cli_env: None, migrated: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp_port = _free_port()
    monkeypatch.setenv("SLAFLOW_SMTP_PORT", str(smtp_port))
    get_settings.cache_clear()
    result = CliRunner().invoke(cli_app, ["doctor"])
    assert result.exit_code == 1
    assert f"FAIL  smtp               SMTP 127.0.0.1:{smtp_port}: connection refused" in (
        result.stdout.splitlines()
    )
    assert result.stderr.strip() == "error: 1 check(s) failed: smtp"


async def test_unreachable_dependencies_are_named_in_words(tmp_path: Path) -> None:
    temporal, smtp, slack = _free_port(), _free_port(), _free_port()
    broken = Settings(
        _env_file=None,
        data_dir=tmp_path,
        temporal_address=f"127.0.0.1:{temporal}",
        smtp_host="127.0.0.1",
        smtp_port=smtp,
        slack_base_url=f"http://127.0.0.1:{slack}/api/",
    )
    findings = _by_check(await diagnose(broken))
    assert findings == {
        "secrets": (
            True,
            "not checked in development (SLAFLOW_ENVIRONMENT=production refuses missing, "
            "published or short secrets)",
        ),
        "temporal": (False, f"Temporal at 127.0.0.1:{temporal}: connection refused"),
        "namespace": (False, "not checked: Temporal is not reachable"),
        "search attributes": (False, "not checked: Temporal is not reachable"),
        "database": (
            False,
            f"database {broken.resolved_database_url}: the database has no slaflow schema "
            f"(expected revision {schema.head_revision()}): run `slaflow db upgrade`",
        ),
        "smtp": (False, f"SMTP 127.0.0.1:{smtp}: connection refused"),
        "slack": (False, f"Slack http://127.0.0.1:{slack}/api/: connection refused"),
    }


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_wrong_namespace_token_and_login_are_named(
    settings: Settings, migrated: Engine, slack: SlackStandin, tmp_path: Path
) -> None:
    with Mailbox(tmp_path / "mail", port=0, auth=("ops", "right")) as guarded:
        wrong = settings.model_copy(
            update={
                "temporal_namespace": "no-such-namespace",
                "slack_bot_token": SecretStr("xoxb-wrong"),
                "smtp_port": guarded.port,
                "smtp_username": "ops",
                "smtp_password": SecretStr("wrong"),
            }
        )
        findings = _by_check(await diagnose(wrong))
        right = settings.model_copy(
            update={
                "smtp_port": guarded.port,
                "smtp_username": "ops",
                "smtp_password": SecretStr("right"),
            }
        )
        assert _by_check(await diagnose(right))["smtp"] == (
            True,
            f"SMTP 127.0.0.1:{guarded.port} accepts connections, logged in as ops",
        )
    assert findings["namespace"] == (
        False,
        "namespace no-such-namespace does not exist: create it "
        "(`temporal operator namespace create --namespace no-such-namespace`)",
    )
    assert findings["search attributes"] == (False, "not checked: the namespace check failed")
    assert findings["slack"] == (False, f"Slack {slack.base_url}: auth.test failed: invalid_auth")
    assert findings["smtp"] == (
        False,
        f"SMTP 127.0.0.1:{guarded.port}: login as ops refused "
        "(535 5.7.8 Authentication credentials invalid)",
    )


async def test_missing_search_attributes_are_listed(
    settings: Settings, temporal: Client, migrated: Engine
) -> None:
    namespace = f"doctor-{uuid.uuid4().hex[:8]}"
    retention = Duration()
    retention.FromTimedelta(timedelta(days=1))
    await temporal.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=namespace, workflow_execution_retention_period=retention)
    )
    findings = _by_check(
        await diagnose(settings.model_copy(update={"temporal_namespace": namespace}))
    )
    assert findings["namespace"] == (True, f"namespace {namespace} exists")
    assert findings["search attributes"] == (
        False,
        f"search attributes missing in namespace {namespace}: SlaAgreement, SlaBreached, "
        "SlaCustomer, SlaMeasured, SlaPriority, SlaStatus, SlaTier (the README's `temporal "
        "operator search-attribute create` registers them)",
    )
