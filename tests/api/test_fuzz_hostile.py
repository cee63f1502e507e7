"""Fuzzing the edges the OpenAPI fuzzer cannot reach (hardening issue): the Slack routes with
signed payloads generated from slaflow's own Slack models, well-formed and mangled, and every
route's query string with control characters. The one assertion: never a 5xx (the app's
exceptions are raised into the test, so a crashed background task fails it too)."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr
from starlette.testclient import TestClient

from activities.db import create_tables
from standins.slack_api import interaction_body, sign_request
from starter.api.deps import TemporalGateway, app_state
from starter.api.main import create_app
from starter.slack_cockpit import ReplyTo
from starter.slack_payloads import BlockActions, SlashCommand, ViewSubmission
from tests.api_support import auth_headers, auth_settings

SECRET = "fuzz-signing-secret"
FUZZ = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CONTROL = st.characters(min_codepoint=0, max_codepoint=31) | st.just("\x7f")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


def of_type(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of an annotation of the Slack models, as Slack's JSON would carry them."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return st.sampled_from(args)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(of_type(a) for a in args))
    if origin is list:
        return st.lists(of_type(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=8), of_type(args[1]), max_size=2)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return of_model(annotation)
    if annotation is type(None):
        return st.none()
    if annotation is str:
        return st.text(max_size=30) | st.sampled_from(["acknowledge", "escalate", "T-1", ""])
    return json_values


def of_model(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """A payload of `model`'s shape, each field sometimes left out or mangled."""
    fields = {
        name: st.one_of(of_type(info.annotation), json_values)
        if not info.is_required()
        else of_type(info.annotation)
        for name, info in model.model_fields.items()
    }
    return st.fixed_dictionaries({}, optional=fields)


class MustNotConnect(TemporalGateway):
    async def client(self) -> Any:
        raise AssertionError("fuzzed input reached for Temporal")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    app = create_app(
        auth_settings(
            data_dir=tmp, temporal_address="127.0.0.1:1", slack_signing_secret=SecretStr(SECRET)
        )
    )
    state = app_state(app)
    create_tables(state.engine)
    state.temporal = MustNotConnect(state.settings)

    async def reply(to: ReplyTo, text: str) -> None:  # no network: the clicker is a list
        told.append(text)

    told: list[str] = []
    state.slack.reply = reply  # type: ignore[method-assign]
    with TestClient(app, headers=auth_headers()) as http:
        yield http


def _signed_post(client: TestClient, path: str, body: bytes) -> int:
    return client.post(path, content=body, headers=sign_request(SECRET, body)).status_code


@FUZZ
@given(payload=of_model(BlockActions) | of_model(ViewSubmission))
def test_signed_interactions_never_answer_5xx(client: TestClient, payload: dict[str, Any]) -> None:
    assert _signed_post(client, "/slack/interactions", interaction_body(payload)) < 500


@FUZZ
@given(fields=of_model(SlashCommand))
def test_signed_slash_commands_never_answer_5xx(client: TestClient, fields: dict[str, Any]) -> None:
    body = urlencode({k: str(v) for k, v in fields.items() if v is not None}).encode()
    assert _signed_post(client, "/slack/commands", body) < 500


def _routes(client: TestClient) -> list[tuple[str, str, list[str]]]:
    """(method, path with its parameters filled, query parameter names) of every route."""
    found = []
    for template, operations in client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        path = template.replace("{ticket_id}", "T-1").replace("{amendment_id}", "A-1")
        path = path.replace("{version}", "1").replace("{token_id}", "1")
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            found.append((method.upper(), path, names or ["q"]))
    return found


@FUZZ
@given(data=st.data())
def test_control_characters_in_any_query_never_answer_5xx(client: TestClient, data: Any) -> None:
    method, path, names = data.draw(st.sampled_from(_routes(client)))
    name = data.draw(st.sampled_from(names))
    value = data.draw(st.text(max_size=5)) + data.draw(CONTROL) + data.draw(st.text(max_size=5))
    answer = client.request(method, path, params={name: value})
    assert answer.status_code < 500, (method, path, name, value, answer.text)
    assert answer.status_code in (401, 404, 405, 422), (method, path, answer.status_code)
