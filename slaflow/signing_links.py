"""One-time signing links: what an emailed link carries, how it is signed, why one is refused.

A link names one amendment, one revision, one signatory and a nonce, is signed with
`SLAFLOW_SIGNING_LINK_SECRET` (itsdangerous, its own salt) and carries the amendment's
deadline as its expiry. It is useless for another amendment or person (the path and the
signatory are checked), after the deadline, after the amendment closed or moved to another
revision, and once used (the API records its nonce in the audit trail). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "slaflow-signing-link"
SIGN_PATH = "/sign"


@dataclass(frozen=True)
class SigningLink:
    amendment_id: str
    revision: int
    email: str
    expires: datetime
    nonce: str

    @property
    def credential(self) -> str:
        """How the audit trail names this link (and finds it used)."""
        return f"link:{self.nonce}"


class LinkRefused(ValueError):
    """A link that cannot be used; the message says why without repeating the link."""


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def nonce_for(key: str) -> str:
    """A nonce derived from the notice's idempotency key: a retried email carries the same."""
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def make_token(secret: str, link: SigningLink) -> str:
    return _serializer(secret).dumps(
        {
            "a": link.amendment_id,
            "r": link.revision,
            "e": link.email.lower(),
            "x": int(link.expires.timestamp()),
            "n": link.nonce,
        }
    )


def read_token(secret: str, token: str, amendment_id: str, now: datetime) -> SigningLink:
    """The link `token` carries, if it is genuine, for `amendment_id`, and not expired."""
    try:
        data = _serializer(secret).loads(token)
    except BadSignature:
        raise LinkRefused("this signing link is not genuine (altered or mistyped)") from None
    try:
        link = SigningLink(
            amendment_id=str(data["a"]),
            revision=int(data["r"]),
            email=str(data["e"]),
            expires=datetime.fromtimestamp(int(data["x"]), UTC),
            nonce=str(data["n"]),
        )
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise LinkRefused("this signing link is not genuine (altered or mistyped)") from None
    if link.amendment_id != amendment_id:
        raise LinkRefused("this signing link belongs to another amendment")
    if now >= link.expires:
        raise LinkRefused("this signing link expired with the amendment's sign-off deadline")
    return link
