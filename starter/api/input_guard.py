"""Refuse hostile input no route should ever see, with a 422 naming where it is.

- Query strings with control characters (a NUL in a list filter reached Temporal's SQL parser
  and came back as a 503 quoting the backend's error).
- JSON bodies nested deeper than `MAX_JSON_DEPTH` (pydantic and the encoders recurse, and a
  change set 600 deep ended in a RecursionError), or holding NaN or Infinity, which Python's
  parser accepts but JSON does not have (the error handler then failed to echo it back).

Plain ASGI middleware placed inside the body limit, so the body it buffers is bounded.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_JSON_DEPTH = 32
_TOKENS = re.compile(rb'"(?:[^"\\]|\\(?:.|\Z))*+(?:"|\Z)|[\[\]{}]', re.DOTALL)
"""A JSON string, or a bracket. A string token never fails to match (an unterminated one runs
to the end, a lone backslash included), so no input makes the scan quadratic."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class InputError(ValueError):
    """Input refused with a message naming where the problem is."""


def check_query(query_string: bytes) -> None:
    """Refuse control characters in any query parameter's name or value."""
    try:
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    except ValueError as exc:  # too many fields and the like
        raise InputError(f"query: {exc}") from None
    for name, value in pairs:
        if _CONTROL.search(name):
            raise InputError(f"query.{name!r}: control characters are not allowed in names")
        if _CONTROL.search(value):
            raise InputError(f"query.{name}: control characters are not allowed")


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in `raw`, without parsing it (no recursion)."""
    depth = deepest = 0
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def check_json(raw: bytes, where: str = "body", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse `raw` as JSON, refusing deep nesting and non-finite numbers; None if it is not
    JSON at all (the route's own parser then answers that)."""
    if json_depth(raw) > max_depth:
        raise InputError(f"{where}: nested deeper than {max_depth} levels")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    for path, item in _walk(value, where):
        if isinstance(item, float) and not math.isfinite(item):
            raise InputError(f"{path}: {item!r} is not a JSON number; send a finite number")
    return value


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    stack = [(path, value)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if isinstance(value, dict):
            stack.extend((f"{path}.{key}", item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}", item) for i, item in enumerate(value))


def _is_json(scope: Scope) -> bool:
    content_type = dict(scope["headers"]).get(b"content-type", b"").lower()
    return not content_type or b"json" in content_type


class InputGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_query(scope.get("query_string", b""))
        except InputError as exc:
            await refuse(send, str(exc))
            return
        if scope["method"] not in _BODY_METHODS or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            check_json(body)
        except InputError as exc:
            await refuse(send, str(exc))
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def refuse(send: Send, detail: str, status: int = 422) -> None:
    body = json.dumps({"detail": detail, "errors": []}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
