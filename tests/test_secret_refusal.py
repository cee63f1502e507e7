"""`slaflow api` and `slaflow worker` refuse to start in production with a weak secret.

The refusal comes before any connection, so no Temporal, database or Slack is needed: a real
process that got that far would hang on its connection instead of exiting 1.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from slaflow.secret_policy import InsecureSettings
from slaflow.settings import Settings, get_settings
from starter.api.main import create_app
from starter.cli import app as cli_app
from starter.doctor import check_secrets

SLAFLOW = Path(sys.executable).parent / "slaflow"
PREFIX = "refusing to start in production: "
SESSION_LINE = (
    f"{PREFIX}SLAFLOW_SESSION_SECRET is not set; make one with "
    "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
)
BOT_LINE = (
    f"{PREFIX}SLAFLOW_SLACK_BOT_TOKEN is a value published in slaflow's repository; copy it "
    "from your Slack app's settings (OAuth & Permissions, Bot User OAuth Token)"
)


def production_env(tmp_path: Path) -> dict[str, str]:
    """Production with a published bot token and no session secret; the rest is fit."""
    return {
        "SLAFLOW_ENVIRONMENT": "production",
        "SLAFLOW_DATA_DIR": str(tmp_path),
        "SLAFLOW_TEMPORAL_ADDRESS": "127.0.0.1:1",  # a process that went on would hang here
        "SLAFLOW_SLACK_BOT_TOKEN": "xoxb-local-development",
        "SLAFLOW_SLACK_SIGNING_SECRET": secrets.token_hex(16),
    }


@pytest.fixture
def production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for key in list(os.environ):
        if key.startswith("SLAFLOW_"):
            monkeypatch.delenv(key)
    env = production_env(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)  # no stray .env
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def test_the_api_command_refuses_with_one_line_per_secret(production: dict[str, str]) -> None:
    result = CliRunner().invoke(cli_app, ["api"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [BOT_LINE, SESSION_LINE]


def test_the_worker_command_refuses_for_the_secrets_it_needs(production: dict[str, str]) -> None:
    result = CliRunner().invoke(cli_app, ["worker"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [BOT_LINE]  # a worker signs no session


def test_the_app_factory_refuses_too(production: dict[str, str]) -> None:
    with pytest.raises(InsecureSettings, match="SLAFLOW_SESSION_SECRET is not set"):
        create_app()


def test_doctor_reports_the_secrets_as_a_failure(production: dict[str, str]) -> None:
    finding = check_secrets(get_settings())
    assert not finding.ok
    assert finding.message == "; ".join(
        line.removeprefix(PREFIX) for line in (BOT_LINE, SESSION_LINE)
    )
    fit = get_settings().model_copy(
        update={
            "slack_bot_token": SecretStr("xoxb-" + secrets.token_urlsafe(32)),
            "session_secret": SecretStr(secrets.token_urlsafe(32)),
        }
    )
    assert check_secrets(fit).ok
    development = check_secrets(Settings(_env_file=None, environment="development"))
    assert development.ok and "not checked in development" in development.message


@pytest.mark.parametrize("command", ["api", "worker"])
def test_the_real_process_exits_1_with_the_lines_on_stderr(tmp_path: Path, command: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLAFLOW_")}
    env.update(production_env(tmp_path))
    result = subprocess.run(
        [str(SLAFLOW), command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert BOT_LINE in result.stderr.splitlines()
    assert (SESSION_LINE in result.stderr.splitlines()) == (command == "api")
