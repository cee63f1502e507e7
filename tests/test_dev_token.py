"""The development admin token of `slaflow run`: made once, private, reused, handed on."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from slaflow.roles import Role
from slaflow.settings import Settings
from starter.dev_token import dev_admin_token, dev_token_path, read_dev_admin_token, with_dev_token
from starter.stack import banner


def test_the_token_is_made_once_readable_by_its_owner_only_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert read_dev_admin_token(data_dir) is None
    token = dev_admin_token(data_dir)
    assert token.startswith("slf_")
    mode = stat.S_IMODE(dev_token_path(data_dir).stat().st_mode)
    assert mode == 0o600
    assert dev_admin_token(data_dir) == token == read_dev_admin_token(data_dir)


def test_an_emptied_file_gets_a_new_token(tmp_path: Path) -> None:
    dev_token_path(tmp_path).write_text("\n")
    token = dev_admin_token(tmp_path)
    assert token.startswith("slf_") and read_dev_admin_token(tmp_path) == token


def test_the_token_joins_the_configured_ones_for_the_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path, api_tokens={"ops-token": Role.MANAGER})
    effective, env = with_dev_token(settings, {"SLAFLOW_DATA_DIR": str(tmp_path)}, "slf_dev")
    assert effective.api_tokens == {"ops-token": Role.MANAGER, "slf_dev": Role.ADMIN}
    assert json.loads(env["SLAFLOW_API_TOKENS"]) == {"ops-token": "manager", "slf_dev": "admin"}
    assert env["SLAFLOW_DATA_DIR"] == str(tmp_path)
    # What the API process makes of that environment.
    monkeypatch.setenv("SLAFLOW_API_TOKENS", env["SLAFLOW_API_TOKENS"])
    assert Settings().api_tokens == effective.api_tokens


def test_the_banner_shows_the_token_in_every_curl_example(tmp_path: Path) -> None:
    token = dev_admin_token(tmp_path)
    text = banner(Settings(data_dir=tmp_path))
    assert token in text
    curls = [line for line in text.splitlines() if line.strip().startswith("curl ")]
    assert len(curls) == 1
    assert all(f"-H 'Authorization: Bearer {token}'" in line for line in curls)


def test_the_banner_is_short_and_names_metrics_ports_only_when_bound(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, worker_metrics_port=9464, temporal_metrics_port=9465)
    text = banner(settings)
    assert len(text.strip().splitlines()) <= 14
    assert "Metrics" not in text and "9464" not in text
    shown = banner(settings, bound={"slaflow": 9464})
    assert "worker slaflow :9464 on 127.0.0.1" in shown and "9465" not in shown
    assert "`slaflow demo`" in shown


def test_a_kept_agreement_says_how_to_start_over_or_amend(tmp_path: Path) -> None:
    from starter.stack import AGREEMENTS, prepare_database

    first = Settings(data_dir=tmp_path, agreement_file=AGREEMENTS["demo"])
    assert "note" not in prepare_database(first)
    other = Settings(data_dir=tmp_path, agreement_file=AGREEMENTS["default"])
    text = prepare_database(other)
    demo_default = AGREEMENTS["demo"] / "default.yaml"
    assert f"agreement default: version 1 in force (file:{demo_default})" in text.splitlines()
    assert f"this data dir already holds agreement default (version 1 from {demo_default})" in text
    assert f"so the one in {AGREEMENTS['default']} was not loaded" in text
    assert f"delete {tmp_path}" in text and "`make clean`" in text
    assert "`slaflow amendment propose FILE --agreement default --amends-version 1 ...`" in text
    assert "holds agreement nordwind-premium" not in text  # new in this file set: seeded
    assert "agreement nordwind-premium: version 1 in force" in text
