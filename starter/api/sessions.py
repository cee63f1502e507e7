"""Browser logins: a signed session cookie, and the same-origin check that guards its POSTs.

Browsers cannot send a bearer header by themselves, so `POST /login` trades a token for the
cookie `slaflow_session`. The cookie holds the token's SHA-256 digest (never the token) and
its issue time, signed with itsdangerous; every request looks the digest up again, so revoking
the token ends its sessions too, and the signature's age ends them after `session_max_age`.

Cross-site request forgery: the cookie is SameSite=Strict, so other sites' pages do not get it
sent at all in current browsers; and because older browsers and same-site subdomains are not
covered by that, every cookie-authenticated request with an unsafe method must also carry an
`Origin` (or, failing that, a `Referer`) of this API itself: its public URL or the host the
request was sent to. A request with neither header is refused. Bearer-authenticated requests
need no such check: a browser never adds that header on its own.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from slaflow.settings import Settings

SESSION_COOKIE = "slaflow_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class SessionCodec:
    """Signs and checks session cookies; the secret comes from settings or is made per process."""

    serializer: URLSafeTimedSerializer
    max_age_seconds: int
    secure: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionCodec:
        secret = (
            settings.session_secret.get_secret_value()
            if settings.session_secret is not None
            else secrets.token_urlsafe(32)
        )
        return cls(
            serializer=URLSafeTimedSerializer(secret, salt="slaflow-session"),
            max_age_seconds=int(settings.session_max_age.total_seconds()),
            secure=settings.public_url.lower().startswith("https://"),
        )

    def encode(self, digest: str, session_id: str = "") -> str:
        return self.serializer.dumps({"digest": digest, "sid": session_id})

    def _payload(self, cookie: str) -> dict[str, object]:
        try:
            payload = self.serializer.loads(cookie, max_age=self.max_age_seconds)
        except BadSignature:  # SignatureExpired is one too
            return {}
        return payload if isinstance(payload, dict) else {}

    def digest_of(self, cookie: str) -> str | None:
        """The token digest a cookie carries, or None if it is forged, altered or too old."""
        digest = self._payload(cookie).get("digest")
        return digest if isinstance(digest, str) else None

    def session_id_of(self, cookie: str) -> str | None:
        """The server-side session a cookie names (None: forged, too old, or from before
        sessions were kept on the server, which counts as logged out)."""
        sid = self._payload(cookie).get("sid")
        return sid if isinstance(sid, str) and sid else None


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def own_origins(request: Request, settings: Settings) -> set[str]:
    """This API's origins: the public URL's, and the one the request itself was sent to."""
    origins = {_origin_of(settings.public_url), _origin_of(str(request.base_url))}
    return {origin for origin in origins if origin is not None}


def request_origin(request: Request) -> str | None:
    """The origin the browser says the request came from: `Origin`, else `Referer`'s."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return origin.lower()
    referer = request.headers.get("referer")
    return _origin_of(referer) if referer else None


def cross_origin_refusal(request: Request, settings: Settings) -> str | None:
    """Why an unsafe cookie-authenticated request must be refused, or None when it may pass."""
    if request.method in SAFE_METHODS:
        return None
    origin = request_origin(request)
    if origin is None:
        return (
            "header.Origin: missing; a request authenticated by the login cookie must come "
            "from slaflow's own pages (or send `Authorization: Bearer <token>` instead)"
        )
    if origin not in own_origins(request, settings):
        return f"header.Origin: {origin} is not this site; cross-site requests are refused"
    return None


def safe_next(target: str | None, default: str) -> str:
    """Where to go after login: a path on this site only, never another host."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return default  # browsers drop tabs and newlines and read a backslash as a slash
    return target
