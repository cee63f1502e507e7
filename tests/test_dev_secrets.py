"""The local stack's secrets: made at random once, private, reused, and given to every part."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from slaflow.secret_policy import SHIPPED_SECRETS, secret_problems
from slaflow.settings import Settings
from starter.dev_secrets import (
    MADE,
    dev_secrets,
    dev_secrets_path,
    read_dev_secrets,
    with_dev_secrets,
)


@pytest.fixture(autouse=True)
def _no_slaflow_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("SLAFLOW_"):
            monkeypatch.delenv(key)


def test_secrets_are_made_once_private_unpublished_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert read_dev_secrets(data_dir) == {}
    made = dev_secrets(data_dir)
    assert made.keys() == MADE.keys()
    assert stat.S_IMODE(dev_secrets_path(data_dir).stat().st_mode) == 0o600
    assert dev_secrets(data_dir) == made == read_dev_secrets(data_dir)
    assert not set(made.values()) & SHIPPED_SECRETS
    assert dev_secrets(tmp_path / "other") != made  # random, not written in the code
    assert made["slack_bot_token"].startswith("xoxb-")
    assert made["slack_app_token"].startswith("xapp-")
    assert len(made["slack_signing_secret"]) == 32
    assert list(data_dir.iterdir()) == [dev_secrets_path(data_dir)]  # no partial file left


@pytest.mark.parametrize("content", ["", "not json", "[1, 2]", '{"session_secret": 7}'])
def test_an_unusable_file_is_replaced_by_new_secrets(tmp_path: Path, content: str) -> None:
    dev_secrets_path(tmp_path).write_text(content)
    made = dev_secrets(tmp_path)
    assert made.keys() == MADE.keys() and all(made.values())
    assert json.loads(dev_secrets_path(tmp_path).read_text()) == made


def test_a_missing_secret_is_added_and_the_others_kept(tmp_path: Path) -> None:
    first = dev_secrets(tmp_path)
    kept = {k: v for k, v in first.items() if k != "session_secret"}
    dev_secrets_path(tmp_path).write_text(json.dumps(kept))
    again = dev_secrets(tmp_path)
    assert {k: again[k] for k in kept} == kept and again["session_secret"]


def test_the_made_secrets_reach_settings_and_children_unless_the_user_set_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = dev_secrets(tmp_path)
    mine = "xoxb-" + "m" * 40
    settings = Settings(_env_file=None, data_dir=tmp_path, slack_bot_token=SecretStr(mine))
    effective, env = with_dev_secrets(settings, {"SLAFLOW_DATA_DIR": str(tmp_path)}, made)
    assert effective.slack_bot_token.get_secret_value() == mine
    assert "SLAFLOW_SLACK_BOT_TOKEN" not in env
    assert effective.slack_signing_secret.get_secret_value() == made["slack_signing_secret"]
    assert env["SLAFLOW_SLACK_SIGNING_SECRET"] == made["slack_signing_secret"]
    assert env["SLAFLOW_SESSION_SECRET"] == made["session_secret"]
    assert env["SLAFLOW_SLACK_APP_TOKEN"] == made["slack_app_token"]
    # What a child process makes of that environment: the same secrets, fit for production.
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SLAFLOW_SLACK_BOT_TOKEN", mine)
    child = Settings(_env_file=None)
    assert child.session_secret == effective.session_secret
    assert child.slack_signing_secret == effective.slack_signing_secret
    assert secret_problems(child.model_copy(update={"environment": "production"}), "api") == []
