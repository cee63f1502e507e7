"""A local SMTP server that keeps every accepted message, for development and tests.

Built on aiosmtpd's threaded `Controller`, so it serves from its own thread and event loop and
works the same under sync code, pytest-asyncio's session loop and `slaflow run`. Each message is
written to ``<directory>/<arrival ns>-<seq>.eml`` (so a directory listing sorts by arrival) and
kept in memory; the envelope is recorded in ``X-MailFrom`` / ``X-RcptTo`` headers because Bcc
recipients appear nowhere else.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
import time
from collections.abc import Iterable
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = ["Mailbox", "read_mailbox"]

_POLICY = email.policy.default


def _parse(raw: bytes) -> EmailMessage:
    return cast(EmailMessage, email.message_from_bytes(raw, policy=_POLICY))


def read_mailbox(directory: Path) -> list[EmailMessage]:
    """Every message a Mailbox stored in `directory`, oldest first (for the CLI)."""
    return [_parse(path.read_bytes()) for path in sorted(Path(directory).glob("*.eml"))]


class _Handler:
    """aiosmtpd handler: refuses chosen recipients with 550, stores the rest."""

    def __init__(self, mailbox: Mailbox) -> None:
        self._mailbox = mailbox

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower() in self._mailbox.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: user unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content.encode() if isinstance(content, str) else content
        trace = (
            f"X-MailFrom: {envelope.mail_from}\r\nX-RcptTo: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        self._mailbox._store(trace + raw)
        return "250 2.0.0 Message accepted for delivery"


class _Authenticator:
    """Accepts exactly one username/password for AUTH LOGIN and PLAIN."""

    def __init__(self, username: str, password: str) -> None:
        self._username = username.encode()
        self._password = password.encode()

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self._username
            and auth_data.password == self._password
        ):
            return AuthResult(success=True)
        # handled=False lets aiosmtpd answer 535 itself; handled=True leaves the client hanging.
        return AuthResult(success=False, handled=False)


class _Controller(Controller):
    """aiosmtpd's Controller, plus port 0: read the bound port before the self-test connects."""

    def _trigger_server(self) -> None:
        if self.port == 0 and isinstance(self.server, asyncio.Server):
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class Mailbox:
    """An SMTP server on `host:port` that stores accepted mail in `directory` and in memory.

    `auth` requires AUTH LOGIN/PLAIN with that (username, password); `tls_context` offers and
    requires STARTTLS; addresses in `refuse` are answered 550 at RCPT (case-insensitive), so tests
    can provoke permanent failures. Port 0 picks a free port; `port` reports it after `start()`.
    """

    def __init__(
        self,
        directory: Path,
        host: str = "127.0.0.1",
        port: int = 8025,
        *,
        auth: tuple[str, str] | None = None,
        tls_context: ssl.SSLContext | None = None,
        refuse: Iterable[str] = frozenset(),
    ) -> None:
        self.directory = Path(directory)
        self.host = host
        self._port = port
        self.auth = auth
        self.tls_context = tls_context
        self.refused: set[str] = {address.lower() for address in refuse}
        self._messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._seq = 0
        self._controller: _Controller | None = None

    @property
    def port(self) -> int:
        return self._controller.port if self._controller is not None else self._port

    def start(self) -> None:
        """Bind and serve in a background thread; returns once the server answers."""
        if self._controller is not None:
            raise RuntimeError("mailbox already running")
        self.directory.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {
            # A fixed name: the default socket.getfqdn() can stall for seconds without DNS.
            "server_hostname": "mailbox.slaflow.local",
            "data_size_limit": 10 * 1024 * 1024,
        }
        if self.tls_context is not None:
            kwargs.update(tls_context=self.tls_context, require_starttls=True)
        if self.auth is not None:
            kwargs.update(
                authenticator=_Authenticator(*self.auth),
                auth_required=True,
                auth_require_tls=self.tls_context is not None,
            )
        controller = _Controller(_Handler(self), hostname=self.host, port=self._port, **kwargs)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop serving; a later start() listens on the same port again (an outage, not a move)."""
        if self._controller is not None:
            self._port = self._controller.port
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def messages(self) -> list[EmailMessage]:
        """The messages this server accepted since it was created (or cleared), oldest first."""
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        """Forget the in-memory messages (the .eml files stay)."""
        with self._lock:
            self._messages.clear()

    def _store(self, raw: bytes) -> None:
        with self._lock:
            self._seq += 1
            path = self.directory / f"{time.time_ns():020d}-{self._seq:06d}.eml"
            path.write_bytes(raw)
            self._messages.append(_parse(raw))
