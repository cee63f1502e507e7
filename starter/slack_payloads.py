"""The shapes of what Slack sends slaflow, as pydantic models: a signed payload of another
shape (a `view` that is a string, `actions` that are numbers) is refused with a message
naming the field, never a 500 or a crashed background task.

Only the fields slaflow reads are modelled; Slack's others are ignored. `check_interaction`
passes a payload only when every field the cockpit reads has the modelled type.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from starter.api.input_guard import InputError, check_json

MAX_TEXT = 10_000
"""Longer than any field Slack sends us (a modal's text is at most 3,000 characters)."""
MAX_ACTIONS = 25


class SlackPayloadInvalid(ValueError):
    """A signed Slack payload slaflow cannot read; the message names the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SlackUser(_Model):
    id: str = Field("", max_length=64)


class SlackChannel(_Model):
    id: str | None = Field(None, max_length=64)


class SlackContainer(_Model):
    channel_id: str | None = Field(None, max_length=64)


class SlackAction(_Model):
    action_id: str = Field("", max_length=255)
    value: str = Field("", max_length=2000)


class InputValue(_Model):
    value: str | None = Field(None, max_length=MAX_TEXT)


class ViewState(_Model):
    values: dict[str, dict[str, InputValue]] = Field(default_factory=dict)


class SlackView(_Model):
    private_metadata: str = Field("", max_length=3000)
    state: ViewState = Field(default_factory=ViewState)


class BlockActions(_Model):
    type: Literal["block_actions"]
    user: SlackUser = Field(default_factory=SlackUser)
    channel: SlackChannel | None = None
    container: SlackContainer | None = None
    response_url: str | None = Field(None, max_length=2000)
    trigger_id: str = Field("", max_length=255)
    actions: list[SlackAction] = Field(default_factory=list, max_length=MAX_ACTIONS)


class ViewSubmission(_Model):
    type: Literal["view_submission"]
    user: SlackUser = Field(default_factory=SlackUser)
    view: SlackView


class ModalMetadata(_Model):
    """What slaflow put in a modal's `private_metadata` (signed by Slack on the way back)."""

    command: str | None = Field(None, max_length=64)
    ticket_id: str | None = Field(None, max_length=200)
    amendment_id: str | None = Field(None, max_length=200)
    response_url: str | None = Field(None, max_length=2000)
    channel_id: str | None = Field(None, max_length=64)


class SlashCommand(_Model):
    """A slash command's form fields (HTTP) or Socket Mode payload."""

    command: str = Field("/sla", max_length=64)
    text: str = Field("", max_length=MAX_TEXT)
    user_id: str = Field("", max_length=64)
    response_url: str | None = Field(None, max_length=2000)
    channel_id: str | None = Field(None, max_length=64)
    ssl_check: str | None = Field(None, max_length=16)


_KINDS: dict[str, type[_Model]] = {"block_actions": BlockActions, "view_submission": ViewSubmission}


def _problem(exc: ValidationError, where: str) -> str:
    first = exc.errors()[0]
    location = ".".join([where, *(str(p) for p in first["loc"])])
    return f"{location}: {first['msg']}"


def check_interaction(payload: dict[str, Any]) -> None:
    """`SlackPayloadInvalid` naming the field unless every field the cockpit reads has
    Slack's shape (so it may read the payload as is). Types slaflow ignores pass."""
    kind = payload.get("type")
    model = _KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        return
    try:
        model.model_validate(payload)
    except ValidationError as exc:
        raise SlackPayloadInvalid(_problem(exc, "payload")) from None


def modal_metadata(private_metadata: str) -> ModalMetadata:
    """A modal's metadata; empty when it is not slaflow's (then the form is refused)."""
    try:
        raw = check_json(private_metadata.encode(), where="private_metadata", max_depth=2)
        return ModalMetadata.model_validate(raw if isinstance(raw, dict) else {})
    except (InputError, ValidationError):
        return ModalMetadata()


def slash_command(fields: dict[str, Any]) -> SlashCommand:
    """A slash command's fields, each a string of bounded length."""
    try:
        return SlashCommand.model_validate(
            {k: v for k, v in fields.items() if k in SlashCommand.model_fields}
        )
    except ValidationError as exc:
        raise SlackPayloadInvalid(_problem(exc, "command")) from None


def parse_payload(raw: str) -> dict[str, Any]:
    """The `payload` form field as a JSON object: not too deep, no NaN."""
    try:
        payload = check_json(raw.encode(), where="payload")
    except InputError as exc:
        raise SlackPayloadInvalid(str(exc)) from None
    if payload is None:
        try:
            json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise SlackPayloadInvalid(f"payload: not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise SlackPayloadInvalid("payload: not a JSON object")
    return payload


def best_effort_reply_to(payload: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(user id, response_url, channel id) of a payload we refuse, where each is a string:
    enough to tell the clicker why nothing happened."""

    def text(value: Any) -> str | None:
        return value[:2000] if isinstance(value, str) and value else None

    user = payload.get("user")
    channel = payload.get("channel")
    container = payload.get("container")
    user_id = text(user.get("id")) if isinstance(user, dict) else None
    channel_id = (text(channel.get("id")) if isinstance(channel, dict) else None) or (
        text(container.get("channel_id")) if isinstance(container, dict) else None
    )
    return user_id or "", text(payload.get("response_url")), channel_id
