"""What a caller sends for a ticket command: the command without its actor.

The workflow's `Command` models carry `actor` (saved histories hold it), but no caller names
it: the API and the CLI fill it from the credential. A body naming `actor` is refused with a
message saying so; an integration's token may name the person it acts for in `on_behalf_of`.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from slaflow.amendments import AmendmentCommand
from slaflow.tickets import COMMANDS, Command

ACTOR_REFUSAL = (
    "actor: not accepted any more; who acts comes from your credential (a person's token or "
    "login acts as that person; an integration's token may send on_behalf_of: an email or "
    "person id)"
)


def _whole(model: type[BaseModel], fields: dict[str, Any]) -> None:
    """Validate the command the body will become, so the command model's own validators (which
    `create_model` does not copy, e.g. a field checked against another) refuse at the edge
    with a 422 naming the field, never a 500 after the body passed."""
    try:
        model.model_validate(fields)
    except ValidationError as exc:
        raise ValueError(
            "; ".join(
                f"{'.'.join(str(part) for part in err['loc'])}: "
                + str(err["msg"]).removeprefix("Value error, ")
                for err in exc.errors()
            )
        ) from None


class CommandBody(BaseModel):
    """Shared by every command's body: the refusal of `actor`, and `on_behalf_of`."""

    model_config = ConfigDict(extra="forbid")
    command_model: ClassVar[type[Command] | None] = None

    on_behalf_of: str | None = Field(
        None,
        min_length=1,
        max_length=254,
        description="Integration tokens only: the email or person id of the person of the "
        "ticket's agreement this command is for; the history says 'Name via integration'.",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_actor(cls, data: Any) -> Any:
        if isinstance(data, dict) and "actor" in data:
            raise ValueError(ACTOR_REFUSAL)
        return data

    @model_validator(mode="after")
    def _valid_command(self) -> Self:
        if self.command_model is not None:
            fields = self.model_dump(exclude={"on_behalf_of"})
            _whole(self.command_model, {**fields, "actor": "caller"})
        return self

    def command(self, model: type[Command], actor: str) -> Command:
        fields = self.model_dump(exclude={"on_behalf_of"})
        return model.model_validate({**fields, "actor": actor})


@cache
def body_of(model: type[Command]) -> type[CommandBody]:
    """`model`'s fields but `actor`, on top of `CommandBody`."""
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in model.model_fields.items()
        if name != "actor"
    }
    body: type[CommandBody] = create_model(
        f"{model.__name__}Body", __base__=CommandBody, __doc__=model.__doc__, **fields
    )
    body.command_model = model
    return body


BODIES: dict[str, type[CommandBody]] = {name: body_of(model) for name, model in COMMANDS.items()}


BY_REFUSAL = (
    "by: not accepted any more; a decision is signed by the person of your credential (your "
    "own token or login, your Slack user, or the link emailed to you)"
)


class DecisionBody(BaseModel):
    """Shared by every amendment decision's body: the refusal of `by` and `method`."""

    model_config = ConfigDict(extra="forbid")
    decision_model: ClassVar[type[AmendmentCommand] | None] = None

    @model_validator(mode="before")
    @classmethod
    def _no_by(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("by" in data or "method" in data):
            raise ValueError(BY_REFUSAL)
        return data

    @model_validator(mode="after")
    def _valid_decision(self) -> Self:
        if self.decision_model is not None:
            _whole(self.decision_model, {**self.model_dump(), "by": "caller", "method": "api"})
        return self

    def decision(self, model: type[AmendmentCommand], by: str, method: str) -> AmendmentCommand:
        return model.model_validate({**self.model_dump(), "by": by, "method": method})


@cache
def decision_body_of(model: type[AmendmentCommand]) -> type[DecisionBody]:
    """`model`'s fields but `by` and `method`, on top of `DecisionBody`."""
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in model.model_fields.items()
        if name not in ("by", "method")
    }
    body: type[DecisionBody] = create_model(
        f"{model.__name__}Body", __base__=DecisionBody, __doc__=model.__doc__, **fields
    )
    body.decision_model = model
    return body
