"""Error bodies and handlers: every 4xx/5xx answers `{"detail": "<message naming the field>"}`.

Validation failures keep FastAPI's `errors` list for programs and add one readable `detail`
line per problem ("body.priority: Input should be 'P1', 'P2', 'P3' or 'P4'") for people.
Malformed JSON is a 400, not a 422: nothing was there to validate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from starter.tickets_service import TicketError


class ErrorBody(BaseModel):
    detail: str = Field(description="What went wrong, naming the field or the ticket.")


class ValidationErrorBody(ErrorBody):
    errors: list[dict[str, Any]] = Field(description="FastAPI's list: loc, msg, type per problem.")


_DESCRIPTIONS = {
    400: "Malformed JSON body.",
    401: "No token, or an unknown or revoked one: send `Authorization: Bearer <token>`.",
    403: "The token's role may not do this; `detail` names the role needed.",
    404: "No such ticket (or agreement version).",
    409: "The ticket refused the command; `detail` says why.",
    422: "A field is missing or invalid; `detail` names each one.",
    503: "Temporal cannot be reached, or the ticket cannot answer yet; retry shortly.",
    504: "Temporal took the request but no worker answered in time.",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the error codes a route can answer."""
    return {
        code: {
            "model": ValidationErrorBody if code in (400, 422) else ErrorBody,
            "description": _DESCRIPTIONS[code],
        }
        for code in codes
    }


def describe(errors: Sequence[Any]) -> str:
    """One line per problem: the dotted location, then pydantic's message."""
    lines = []
    for error in errors:
        where = ".".join(str(part) for part in error.get("loc", ())) or "request"
        message = error.get("msg", "invalid")
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "")
            where = "body"
            message = f"malformed JSON at character {error['loc'][-1]}" + (
                f": {reason}" if reason else ""
            )
        lines.append(f"{where}: {message}")
    return "; ".join(lines)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    malformed = any(e.get("type") == "json_invalid" for e in errors)
    return JSONResponse(
        status_code=400 if malformed else 422,
        content={"detail": describe(errors), "errors": jsonable_encoder(errors)},
    )


async def _ticket_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TicketError)
    return JSONResponse(status_code=exc.http_status, content={"detail": exc.message})


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(TicketError, _ticket_error)
