"""Customers, their agreements and each agreement's versions (sync routes: SQLAlchemy blocks,
so FastAPI runs them on its thread pool). Ids in paths are slugs: anything else is a 422."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from activities import agreement_store as store
from activities.tables import AgreementRow, CustomerRow
from slaflow.customers import SLUG_PATTERN, Customer, Rule
from starter.api.deps import EngineDep
from starter.api.errors import responses
from starter.api.routers.agreement import AgreementVersion, VersionSummary, _full, _summary

customers_router = APIRouter(prefix="/customers", tags=["agreements"])
agreements_router = APIRouter(prefix="/agreements", tags=["agreements"])

SlugPath = Annotated[str, Path(pattern=SLUG_PATTERN, description="A slug: a-z, 0-9, hyphens.")]


class AgreementSummary(BaseModel):
    id: str
    customer: Customer | None = Field(description="None for the default agreement.")
    default: bool
    rules: list[Rule] = Field(description="Ordered conditions; the first match wins.")
    versions: int
    in_force: int | None = Field(description="The version in force now, if any.")


class AgreementDetail(AgreementSummary):
    version: AgreementVersion | None = Field(description="The version in force now.")


class CustomerSummary(BaseModel):
    id: str
    name: str
    agreements: list[str]


class CustomerDetail(BaseModel):
    id: str
    name: str
    agreements: list[AgreementSummary]


def _agreement_summary(engine: Engine, row: AgreementRow) -> AgreementSummary:
    customer = store.customer(engine, row.customer_id) if row.customer_id else None
    versions = store.all_versions(engine, row.id)
    now = datetime.now(UTC)
    in_force = [v.number for v in versions if v.effective_from <= now]
    return AgreementSummary(
        id=row.id,
        customer=Customer(id=customer.id, name=customer.name) if customer else None,
        default=row.is_default,
        rules=[Rule.model_validate(r) for r in row.rules or []],
        versions=len(versions),
        in_force=max(in_force) if in_force else None,
    )


def _agreement_row(engine: Engine, agreement_id: str) -> AgreementRow:
    try:
        return store.agreement(engine, agreement_id)
    except store.NoAgreementError as exc:
        raise HTTPException(404, detail=str(exc)) from exc


def _customer_row(engine: Engine, customer_id: str) -> CustomerRow:
    row = store.customer(engine, customer_id)
    if row is None:
        raise HTTPException(404, detail=f"customer {customer_id!r} does not exist")
    return row


@customers_router.get("", response_model=list[CustomerSummary], summary="Every customer")
def list_customers(engine: EngineDep) -> list[CustomerSummary]:
    held = store.agreements(engine)
    return [
        CustomerSummary(
            id=c.id, name=c.name, agreements=[a.id for a in held if a.customer_id == c.id]
        )
        for c in store.customers(engine)
    ]


@customers_router.get(
    "/{customer_id}",
    response_model=CustomerDetail,
    summary="One customer with its agreements",
    responses=responses(404, 422),
)
def one_customer(customer_id: SlugPath, engine: EngineDep) -> CustomerDetail:
    row = _customer_row(engine, customer_id)
    return CustomerDetail(
        id=row.id,
        name=row.name,
        agreements=[_agreement_summary(engine, a) for a in store.agreements(engine, row.id)],
    )


@agreements_router.get(
    "",
    response_model=list[AgreementSummary],
    summary="Every agreement, or one customer's",
    responses=responses(422),
)
def list_agreements(
    engine: EngineDep,
    customer: Annotated[str | None, Query(pattern=SLUG_PATTERN)] = None,
) -> list[AgreementSummary]:
    return [_agreement_summary(engine, a) for a in store.agreements(engine, customer)]


@agreements_router.get(
    "/{agreement_id}",
    response_model=AgreementDetail,
    summary="One agreement with its version in force",
    responses=responses(404, 422),
)
def one_agreement(agreement_id: SlugPath, engine: EngineDep) -> AgreementDetail:
    summary = _agreement_summary(engine, _agreement_row(engine, agreement_id))
    version = (
        _full(store.version(engine, summary.in_force, agreement_id)) if summary.in_force else None
    )
    return AgreementDetail(**summary.model_dump(), version=version)


@agreements_router.get(
    "/{agreement_id}/versions",
    response_model=list[VersionSummary],
    summary="Every version of one agreement, oldest first",
    responses=responses(404, 422),
)
def agreement_versions(agreement_id: SlugPath, engine: EngineDep) -> list[VersionSummary]:
    _agreement_row(engine, agreement_id)
    return [_summary(row) for row in store.all_versions(engine, agreement_id)]


@agreements_router.get(
    "/{agreement_id}/versions/{number}",
    response_model=AgreementVersion,
    summary="One version of one agreement with its document",
    responses=responses(404, 422),
)
def agreement_version(
    agreement_id: SlugPath, number: Annotated[int, Path(ge=1, le=2**31 - 1)], engine: EngineDep
) -> AgreementVersion:
    _agreement_row(engine, agreement_id)
    try:
        return _full(store.version(engine, number, agreement_id))
    except store.NoAgreementError as exc:
        raise HTTPException(404, detail=str(exc)) from exc
