"""API tokens as values: how a new one looks, how it is named, and what of it may be shown.

A token is `slf_` plus 43 URL-safe characters from `secrets` (256 bits), so a leaked one is
recognisable in logs and by secret scanners. Only its SHA-256 digest is stored
(`slaflow.roles.token_digest`); listings show its first characters (`hint`), never more.
"""

from __future__ import annotations

import re
import secrets

from slaflow.roles import Role

TOKEN_PREFIX = "slf_"
TOKEN_BYTES = 32
HINT_LENGTH = len(TOKEN_PREFIX) + 4
"""What a listing shows of a token: the prefix and four random characters (24 bits of 256)."""

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
"""Token names: a letter or digit, then letters, digits, `.`, `_`, `@`, `-`; at most 100."""
NAME_SCHEMA_PATTERN = r"^(?:[A-Za-z][A-Za-z0-9._@-]*|[0-9]+[A-Za-z._@-][A-Za-z0-9._@-]*)$"
"""The same rule and "not all digits" as one regular expression, for the OpenAPI schema (the
length goes in maxLength)."""


class TokenInputError(ValueError):
    """A name or role that cannot be used; `field` says which, the message why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def new_token() -> str:
    """A fresh token, shown once at creation and never stored."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_hint(token: str) -> str:
    """The part of a token a listing may show, so a person can tell theirs apart."""
    return token[:HINT_LENGTH]


def check_token_name(name: str) -> str:
    """`name` if it can name a token. Names that are all digits are refused, because
    `slaflow token revoke` takes a name or a numeric id."""
    if not NAME_PATTERN.fullmatch(name):
        raise TokenInputError(
            "name",
            f"{name!r} is not a token name; use up to 100 letters, digits, '.', '_', "
            "'@' or '-', starting with a letter or digit",
        )
    if name.isdigit():
        raise TokenInputError(
            "name", f"{name!r} is all digits, which would read as a token id; add a letter"
        )
    return name


def parse_role(text: str) -> Role:
    """The role named `text` (any case), or an error listing the roles there are."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        choices = ", ".join(role.value for role in Role)
        raise TokenInputError("role", f"{text!r} is not a role; choose one of {choices}") from None
