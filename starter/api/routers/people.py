"""`/people`: the people directory over HTTP, the same operations as `slaflow person`.

Managers read it; admins add and deactivate people; roles on an agreement are granted and
revoked by admins or by that agreement's own manager (a person with the manager role there).
Each route declares its own role gate.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from activities import people_store as store
from activities.agreement_store import agreements
from slaflow.customers import SLUG_PATTERN
from slaflow.people import PeopleInputError, PersonRole
from slaflow.roles import Role
from starter.api.auth import requires
from starter.api.deps import EngineDep
from starter.api.errors import responses
from starter.api.token_resolver import Principal

router = APIRouter(prefix="/people", tags=["people"])

MANAGER = requires(Role.MANAGER)
ADMIN = requires(Role.ADMIN)
PersonKey = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9._%+@-]{1,254}$",
        max_length=254,
        description="The person's id or email.",
    ),
]


class MembershipView(BaseModel):
    agreement_id: str
    role: PersonRole


class PersonView(BaseModel):
    id: int
    name: str
    email: str
    slack_user_id: str | None
    active: bool
    memberships: list[MembershipView]


class NewPerson(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    slack_user_id: str | None = Field(None, min_length=1, max_length=40, pattern=r"^[A-Z0-9]+$")


class Grant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agreement_id: str = Field(pattern=SLUG_PATTERN, max_length=64)
    role: PersonRole


def _view(person: store.Person) -> PersonView:
    return PersonView(
        id=person.id,
        name=person.name,
        email=person.email,
        slack_user_id=person.slack_user_id,
        active=person.active,
        memberships=[
            MembershipView(agreement_id=m.agreement_id, role=m.role) for m in person.memberships
        ],
    )


def _principal(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    assert isinstance(principal, Principal)
    return principal


def _require_admin_or_manager_of(request: Request, agreement_id: str) -> None:
    principal = _principal(request)
    if principal.role is Role.ADMIN:
        return
    person = principal.person
    if person is None or PersonRole.MANAGER not in person.roles_on(agreement_id):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"roles on agreement {agreement_id} are granted by admins or its own managers",
        )


async def _run(operation: Any, *args: Any) -> store.Person:
    try:
        person: store.Person = await asyncio.to_thread(operation, *args)
    except store.PersonNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except store.PersonConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    except PeopleInputError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"body.{exc.field}: {exc}"
        ) from exc
    return person


@router.get(
    "",
    response_model=list[PersonView],
    summary="People, optionally of one agreement",
    dependencies=MANAGER,
    responses=responses(422),
)
async def list_people(
    engine: EngineDep,
    agreement: Annotated[str | None, Query(pattern=SLUG_PATTERN, max_length=64)] = None,
) -> list[PersonView]:
    people = await asyncio.to_thread(store.list_people, engine, agreement)
    return [_view(p) for p in people]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PersonView,
    summary="Add a person (admin)",
    responses=responses(400, 403, 409, 422),
    dependencies=ADMIN,
)
async def add_person(body: NewPerson, engine: EngineDep) -> PersonView:
    now = datetime.now(UTC)
    return _view(
        await _run(store.add_person, engine, body.name, body.email, body.slack_user_id, now)
    )


@router.get(
    "/{key}", response_model=PersonView, responses=responses(404, 422), dependencies=MANAGER
)
async def get_person(key: PersonKey, engine: EngineDep) -> PersonView:
    return _view(await _run(store.find_person, engine, key))


@router.post(
    "/{key}/deactivate",
    response_model=PersonView,
    summary="Deactivate: their tokens, sessions and links stop working (admin)",
    responses=responses(403, 404, 422),
    dependencies=ADMIN,
)
async def deactivate(key: PersonKey, engine: EngineDep) -> PersonView:
    return _view(await _run(store.set_active, engine, key, False))


@router.post(
    "/{key}/memberships",
    response_model=PersonView,
    summary="Grant a role on an agreement (admin, or that agreement's manager)",
    responses=responses(400, 403, 404, 422),
    dependencies=MANAGER,
)
async def grant(key: PersonKey, body: Grant, engine: EngineDep, request: Request) -> PersonView:
    _require_admin_or_manager_of(request, body.agreement_id)
    known = {a.id for a in await asyncio.to_thread(agreements, engine)}
    if body.agreement_id not in known:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"body.agreement_id: no agreement {body.agreement_id!r}",
        )
    return _view(await _run(store.grant, engine, key, body.agreement_id, body.role))


@router.delete(
    "/{key}/memberships/{agreement_id}/{role}",
    response_model=PersonView,
    summary="Revoke a role on an agreement (admin, or that agreement's manager)",
    responses=responses(403, 404, 409, 422),
    dependencies=MANAGER,
)
async def revoke(
    key: PersonKey,
    agreement_id: Annotated[str, Path(pattern=SLUG_PATTERN, max_length=64)],
    role: PersonRole,
    engine: EngineDep,
    request: Request,
) -> PersonView:
    _require_admin_or_manager_of(request, agreement_id)
    return _view(await _run(store.revoke, engine, key, agreement_id, role))
