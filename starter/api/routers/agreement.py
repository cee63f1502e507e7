"""The default agreement in force and its versions, read from the database (sync routes:
SQLAlchemy blocks, so FastAPI runs them on its thread pool). These are the routes of the single
agreement slaflow once held; every agreement is under /agreements (routers/agreements.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from pydantic import AwareDatetime, BaseModel, Field

from activities import agreement_store as store
from activities.tables import AgreementVersionRow
from slaflow.agreement import Agreement
from starter.api.deps import EngineDep
from starter.api.errors import responses

router = APIRouter(prefix="/agreement", tags=["agreement"])


POINTER = "; every customer's agreement: GET /agreements and /agreements/{id}"


class VersionSummary(BaseModel):
    agreement_id: str
    number: int
    effective_from: AwareDatetime
    created_at: AwareDatetime
    source: str = Field(description="file:<path> for the seed, amendment:<id> when signed.")
    signatures: list[dict[str, Any]] = Field(description="Who signed, when, with what comment.")


class AgreementVersion(VersionSummary):
    document: Agreement
    diff: list[dict[str, Any]] = Field(description="Changes against the version it replaced.")


def _summary(row: AgreementVersionRow) -> VersionSummary:
    return VersionSummary(
        agreement_id=row.agreement_id,
        number=row.number,
        effective_from=row.effective_from,
        created_at=row.created_at,
        source=row.source,
        signatures=list(row.signatures or []),
    )


def _full(row: AgreementVersionRow) -> AgreementVersion:
    return AgreementVersion(
        **_summary(row).model_dump(), document=store.agreement_of(row), diff=list(row.diff or [])
    )


@router.get(
    "",
    response_model=AgreementVersion,
    summary="The default agreement's version in force now",
    responses=responses(404),
)
def in_force(engine: EngineDep) -> AgreementVersion:
    try:
        return _full(store.version_in_force(engine, datetime.now(UTC)))
    except store.NoAgreementError as exc:
        raise HTTPException(404, detail=str(exc) + POINTER) from exc


@router.get(
    "/versions",
    response_model=list[VersionSummary],
    summary="Every version of the default agreement, oldest first",
)
def versions(engine: EngineDep) -> list[VersionSummary]:
    return [_summary(row) for row in store.all_versions(engine)]


@router.get(
    "/versions/{number}",
    response_model=AgreementVersion,
    summary="One version with its document",
    responses=responses(404, 422),
)
def one_version(
    number: Annotated[int, Path(ge=1, le=2**31 - 1)], engine: EngineDep
) -> AgreementVersion:
    try:
        return _full(store.version(engine, number))
    except store.NoAgreementError as exc:
        raise HTTPException(404, detail=str(exc) + POINTER) from exc
