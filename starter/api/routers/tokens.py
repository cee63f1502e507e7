"""`/tokens`: API tokens stored in the database, managed over HTTP by admins.

The same operations as `slaflow token create|list|revoke`, for admins without database access.
A new token is in the 201 answer once and never again; listings show no secret.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import AwareDatetime, BaseModel, Field, field_validator

from activities import token_store as store
from activities.people_store import PeopleStoreError, find_person
from activities.token_tables import ApiTokenRow
from slaflow.api_tokens import NAME_SCHEMA_PATTERN, TokenInputError, check_token_name
from slaflow.roles import Role
from starter.api.deps import EngineDep
from starter.api.errors import ErrorBody, responses

router = APIRouter(prefix="/tokens", tags=["tokens"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No token has that name or id."}
}
NAME_TAKEN: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "A token has that name already."}
}
REVOKED: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "The token was revoked already."}
}


class TokenInfo(BaseModel):
    id: int
    name: str
    role: Role
    person_id: int | None = Field(
        None, description="The person it acts as; none: an integration named `name`."
    )
    hint: str = Field(description="The token's first characters, to tell tokens apart.")
    created_at: AwareDatetime
    last_used_at: AwareDatetime | None = Field(description="Updated at most once a minute.")
    revoked_at: AwareDatetime | None


class NewToken(BaseModel):
    name: str = Field(
        pattern=NAME_SCHEMA_PATTERN,
        max_length=100,
        description="Who or what uses it: letters, digits, `.`, `_`, `@`, `-`, not all digits; "
        "unique among stored tokens, revoked ones included.",
    )
    role: Role
    person: str | None = Field(
        None,
        min_length=1,
        max_length=254,
        description="The email or id of the person the token acts as; unset: an integration.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        try:
            return check_token_name(value)
        except TokenInputError as exc:
            raise ValueError(str(exc)) from None


class CreatedToken(TokenInfo):
    token: str = Field(description="The token itself: shown in this answer only, never again.")


def _info(row: ApiTokenRow) -> TokenInfo:
    assert row.id is not None
    return TokenInfo(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        person_id=row.person_id,
        hint=row.hint,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


@router.get("", response_model=list[TokenInfo], summary="Stored tokens, revoked ones too")
def list_tokens(engine: EngineDep) -> list[TokenInfo]:
    return [_info(row) for row in store.list_tokens(engine)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CreatedToken,
    summary="Create a token (shown once)",
    responses={**responses(400, 422), **NAME_TAKEN},
)
def create_token(body: NewToken, engine: EngineDep) -> CreatedToken:
    person_id = None
    if body.person is not None:
        try:
            person_id = find_person(engine, body.person).id
        except PeopleStoreError as exc:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"body.person: {exc}"
            ) from exc
    try:
        made = store.create_token(engine, body.name, body.role, datetime.now(UTC), person_id)
    except store.TokenConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"body.name: {exc}") from exc
    return CreatedToken(**_info(made.row).model_dump(), token=made.token)


@router.post(
    "/{name_or_id}/revoke",
    response_model=TokenInfo,
    summary="Revoke a token (refused within SLAFLOW_API_TOKEN_CACHE_SECONDS)",
    responses={**responses(422), **NOT_FOUND, **REVOKED},
)
def revoke_token(
    name_or_id: Annotated[str, Path(max_length=100, description="Its name or numeric id.")],
    engine: EngineDep,
) -> TokenInfo:
    try:
        return _info(store.revoke_token(engine, name_or_id, datetime.now(UTC)))
    except store.TokenNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except store.TokenConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
