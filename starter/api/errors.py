"""Error bodies and handlers: every 4xx/5xx answers `{"detail": "<message naming the field>"}`.

Validation failures keep FastAPI's `errors` list for programs and add one readable `detail`
line per problem ("body.priority: Input should be 'P1', 'P2', 'P3' or 'P4'") for people.
Malformed JSON is a 400, not a 422: nothing was there to validate. A 405 lists every method
the path has.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from starter.tickets_service import TicketError

log = logging.getLogger("slaflow.api")


class ErrorBody(BaseModel):
    detail: str = Field(description="What went wrong, naming the field or the ticket.")


class ValidationErrorBody(ErrorBody):
    errors: list[dict[str, Any]] = Field(
        default_factory=list,
        description="FastAPI's list (loc, msg, type) per problem; empty for a refusal that "
        "no single field explains, such as a deadline already past.",
    )


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
            "model": ValidationErrorBody if code == 422 else ErrorBody,
            "description": _DESCRIPTIONS[code],
        }
        for code in codes
    }


def json_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses(...)` for a route whose success is not JSON (HTML, CSV): given as explicit
    application/json content, since FastAPI would document a `model` in the route's own media
    type, and the errors are JSON whatever the route answers on success."""
    return {
        code: {
            "description": entry["description"],
            "content": {"application/json": {"schema": entry["model"].model_json_schema()}},
        }
        for code, entry in responses(*codes).items()
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
        content={"detail": describe(errors), "errors": json_safe(jsonable_encoder(errors))},
    )


def json_safe(value: Any) -> Any:
    """`value` with non-finite floats as text: an error echoing NaN back must stay JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    return value


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Anything no other handler knows: JSON like every other error, never plain text; the
    traceback goes to the log, not to the caller."""
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        status_code=500,
        content={"detail": f"internal error ({type(exc).__name__}); see the API's log"},
    )


UNPARSABLE_BODY = "body: could not be parsed; send UTF-8 encoded JSON"


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors, made to say what they mean.

    FastAPI answers an undecodable body with "There was an error parsing the body"; and a
    405's Allow header lists only the methods of the first route that matched the path, not
    every method the path has (GET and POST /tickets are two routes)."""
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    detail = exc.detail
    if exc.status_code == 400 and detail == "There was an error parsing the body":
        detail = UNPARSABLE_BODY
    if exc.status_code == 405:
        allowed = allowed_methods(request.app, request.url.path)
        headers["Allow"] = ", ".join(allowed)
        detail = f"method {request.method} not allowed here; allowed: {', '.join(allowed)}"
    return JSONResponse(status_code=exc.status_code, content={"detail": detail}, headers=headers)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the OpenAPI document gives `path`, by matching its path templates."""
    methods: set[str] = set()
    for template, operations in app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods.update(m.upper() for m in operations)
    return sorted(methods)


async def _ticket_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TicketError)
    return JSONResponse(status_code=exc.http_status, content={"detail": exc.message})


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(TicketError, _ticket_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
