"""Fixtures for the notification activities: a real SMTP server, a real Slack stand-in, SQLite."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from activities.db import create_tables, make_engine
from slaflow.agreement import Contact
from slaflow.settings import Settings
from slaflow.tickets import (
    Notice,
    NoticeKind,
    TargetKind,
    TargetView,
    TicketStatus,
    TicketView,
    workflow_id_for,
)
from slaflow.tiers import Channel, Priority, Tier
from standins.mailbox import Mailbox
from standins.slack_api import SlackStandin

BOT_TOKEN = "xoxb-test-token"
SIGNING_SECRET = "test-signing-secret"
REFUSED = "nobody@example.com"
"""The address every test mailbox answers 550 for."""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'slaflow.db'}")
    create_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    with Mailbox(tmp_path / "mail", port=0, refuse={REFUSED}) as box:
        yield box


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(SIGNING_SECRET, BOT_TOKEN, port=0) as standin:
        yield standin


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (bound and released), for connection-refused tests."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def settings_for() -> SettingsFactory:
    """Builds Settings from keyword overrides, ignoring the environment and any .env file."""
    return _make_settings


def _make_settings(**overrides: Any) -> Settings:
    """Settings independent of the developer's environment and .env file."""
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "mail_from": "slaflow <alerts@slaflow.test>",
        "public_url": "http://slaflow.test/",
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
def ticket() -> TicketView:
    """A P1 ticket at the team-lead tier: first response breached, resolution running."""
    now = datetime.now(UTC).replace(microsecond=0)
    opened = now - timedelta(hours=1)
    return TicketView(
        ticket_id="T-1001",
        workflow_id=workflow_id_for("T-1001"),
        customer="Acme <Widgets> & Co",
        subject="Checkout returns 500",
        description="Customers cannot pay.",
        channel=Channel.PORTAL,
        requester_email="ops@acme.example",
        priority=Priority.P1,
        status=TicketStatus.OPEN,
        tier=Tier.TEAM_LEAD,
        highest_tier=Tier.TEAM_LEAD,
        assignee=None,
        acknowledged_by=None,
        paged=["lead@example.com"],
        agreement_version=1,
        opened_at=opened,
        resolved_at=None,
        closed_at=None,
        breached=True,
        targets=[
            TargetView(
                kind=TargetKind.FIRST_RESPONSE,
                within_seconds=900,
                calendar="24x7",
                deadline=opened + timedelta(minutes=15),
                remaining_seconds=-2700,
                status="breached",
                breached_at=opened + timedelta(minutes=15),
            ),
            TargetView(
                kind=TargetKind.RESOLUTION,
                within_seconds=4 * 3600,
                calendar="24x7",
                deadline=opened + timedelta(hours=4),
                remaining_seconds=3 * 3600,
                status="running",
            ),
        ],
        events=[],
        as_of=now,
    )


@pytest.fixture
def notice() -> Notice:
    """An escalation notice to two contacts, one of them on Slack."""
    return Notice(
        kind=NoticeKind.ESCALATION,
        tier=Tier.TEAM_LEAD,
        recipients=[
            Contact(name="Lena Lead", email="lead@example.com", slack_user_id="U0LEAD"),
            Contact(name="No Slack", email="noslack@example.com"),
        ],
        headline="Escalated to the team lead",
        reason="First response target breached after 15m",
    )


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cryptography if installed, else openssl)."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        _generate_with_cryptography(cert, key)
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            pytest.skip("neither cryptography nor the openssl CLI is available")
        subprocess.run(
            [
                *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
                *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
                *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            ],
            check=True,
            capture_output=True,
        )
    return cert, key


def _generate_with_cryptography(cert_path: Path, key_path: Path) -> None:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )


@pytest.fixture
def server_tls(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_files)
    return context


@pytest.fixture
def client_tls(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    """Trusts exactly the test certificate: verification stays on, as in production."""
    return ssl.create_default_context(cafile=str(tls_files[0]))
