"""`slaflow token create|list|revoke` on the database directly, and the API honouring them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from activities.db import make_engine
from activities.token_tables import ApiTokenRow
from slaflow.roles import token_digest
from slaflow.settings import Settings, get_settings
from starter.api.deps import app_state
from starter.api.main import create_app
from starter.cli import app as cli_app
from tests.api.test_api_validation import MustNotConnect

runner = CliRunner()


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SLAFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SLAFLOW_TEMPORAL_ADDRESS", "127.0.0.1:1")
    monkeypatch.delenv("SLAFLOW_API_TOKENS", raising=False)
    monkeypatch.delenv("SLAFLOW_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def rows(tmp_path: Path) -> list[ApiTokenRow]:
    engine = make_engine(f"sqlite:///{tmp_path / 'slaflow.db'}")
    try:
        with Session(engine) as session:
            return list(session.exec(select(ApiTokenRow)))
    finally:
        engine.dispose()


def test_create_prints_the_token_once_and_stores_only_its_digest(tmp_path: Path) -> None:
    made = runner.invoke(cli_app, ["token", "create", "--name", "helpdesk", "--role", "Intake"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("slf_") and "\n" not in token and len(token) > 40
    assert "created token 1 'helpdesk' with the intake role" in made.stderr
    assert "only time it is shown" in made.stderr
    [row] = rows(tmp_path)
    assert (row.name, row.role, row.digest) == ("helpdesk", "intake", token_digest(token))
    assert token not in row.hint and row.hint == token[:8]

    listed = runner.invoke(cli_app, ["token", "list"])
    assert listed.exit_code == 0
    assert "helpdesk" in listed.stdout and "intake" in listed.stdout
    assert token not in listed.stdout and token_digest(token) not in listed.stdout
    as_json = json.loads(runner.invoke(cli_app, ["token", "list", "--json"]).stdout)
    assert as_json["tokens"][0]["name"] == "helpdesk" and as_json["tokens"][0]["revoked_at"] is None
    assert token not in json.dumps(as_json)


def test_bad_input_exits_1_with_one_line(tmp_path: Path) -> None:
    bad_role = runner.invoke(cli_app, ["token", "create", "--name", "x", "--role", "boss"])
    assert bad_role.exit_code == 1
    assert bad_role.stderr == (
        "error: --role: 'boss' is not a role; choose one of intake, agent, manager, admin\n"
    )
    digits = runner.invoke(cli_app, ["token", "create", "--name", "42", "--role", "agent"])
    assert digits.exit_code == 1 and digits.stderr.startswith("error: --name: '42' is all digits")
    spaced = runner.invoke(cli_app, ["token", "create", "--name", "a b", "--role", "agent"])
    assert spaced.exit_code == 1 and "--name: 'a b' is not a token name" in spaced.stderr
    assert not (tmp_path / "slaflow.db").exists()  # refused before touching the database

    assert (
        runner.invoke(cli_app, ["token", "create", "--name", "ci", "--role", "admin"]).exit_code
        == 0
    )
    taken = runner.invoke(cli_app, ["token", "create", "--name", "ci", "--role", "agent"])
    assert taken.exit_code == 1 and "a token named 'ci' exists already" in taken.stderr
    unknown = runner.invoke(cli_app, ["token", "revoke", "nobody"])
    assert unknown.exit_code == 1 and "no token has the name or id 'nobody'" in unknown.stderr


def test_revoke_by_name_or_id(tmp_path: Path) -> None:
    for name in ("first", "second"):
        assert (
            runner.invoke(cli_app, ["token", "create", "--name", name, "--role", "agent"]).exit_code
            == 0
        )
    by_name = runner.invoke(cli_app, ["token", "revoke", "first"])
    assert by_name.exit_code == 0 and "revoked token 1 'first'" in by_name.stdout
    by_id = runner.invoke(cli_app, ["token", "revoke", "2"])
    assert by_id.exit_code == 0 and "revoked token 2 'second'" in by_id.stdout
    again = runner.invoke(cli_app, ["token", "revoke", "2"])
    assert again.exit_code == 1 and "was revoked already" in again.stderr
    assert all(row.revoked_at is not None for row in rows(tmp_path))
    listed = runner.invoke(cli_app, ["token", "list"]).stdout
    assert listed.count("Z") >= 4  # created and revoked times of both


async def test_the_api_accepts_a_created_token_until_it_is_revoked(tmp_path: Path) -> None:
    made = runner.invoke(cli_app, ["token", "create", "--name", "lead", "--role", "manager"])
    token = made.stdout.strip()
    app = create_app(
        Settings(data_dir=tmp_path, temporal_address="127.0.0.1:1", api_token_cache_seconds=0)
    )
    app_state(app).temporal = MustNotConnect(app_state(app).settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
            assert (await http.get("/agreement", headers=headers)).status_code == 200
            assert runner.invoke(cli_app, ["token", "revoke", "lead"]).exit_code == 0
            assert (await http.get("/agreement", headers=headers)).status_code == 401
    used = runner.invoke(cli_app, ["token", "list", "--json"]).stdout
    assert json.loads(used)["tokens"][0]["last_used_at"] is not None


def test_list_mentions_the_development_token_of_the_data_dir(tmp_path: Path) -> None:
    from starter.dev_token import dev_admin_token

    empty = runner.invoke(cli_app, ["token", "list"])
    assert empty.exit_code == 0, empty.output
    assert empty.stdout.strip() == "no tokens stored in the database"
    token = dev_admin_token(tmp_path)
    listed = runner.invoke(cli_app, ["token", "list"]).stdout
    assert "no tokens stored in the database" in listed
    assert f"the development admin token of `slaflow run`, {token[:8]}..." in listed
    assert str(tmp_path / "dev-admin-token") in listed
    assert token not in listed  # never the secret itself
    as_json = json.loads(runner.invoke(cli_app, ["token", "list", "--json"]).stdout)
    assert as_json["development_token_file"] == str(tmp_path / "dev-admin-token")
