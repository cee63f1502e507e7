"""Which secrets production needs, and why a value is refused.

With `SLAFLOW_ENVIRONMENT=production` the API and the worker refuse to start while a secret they
need is missing, or any secret set is a value written in this repository (a default, an example,
a test's) or too short to resist guessing: anyone could otherwise sign Slack clicks or forge
logins. `slaflow doctor` reports the same sentences. Pure: settings in, sentences out; values are
never repeated in a sentence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from slaflow.settings import Settings

Process = Literal["api", "worker"]
EVERY_PROCESS: frozenset[Process] = frozenset({"api", "worker"})

MIN_KEY_LENGTH = 32
"""Keys slaflow signs or authenticates with, and Slack's tokens (a signing secret is 32 hex)."""
MIN_PASSWORD_LENGTH = 16
"""Passwords others may issue (a Gmail app password has 16 characters)."""

GENERATE = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
GENERATE_BEARER = "slf_$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"

SHIPPED_SECRETS: frozenset[str] = frozenset(
    {
        # former defaults of the settings, the compose file and the Slack stand-in
        "local-signing-secret",
        "xoxb-local-development",
        "xapp-local-development",
        "slaflow",
        "postgres",
        "temporal",
        "replace-with-a-manager-token",
        "standin-verification-token",
        # values written in tests and benchmarks (tests/unit/test_secret_policy.py finds them)
        "amendment-buttons-signing-secret",
        "api-test-signing-secret",
        "bench-manager-token",
        "bench-signing-secret",
        "fuzz-signing-secret",
        "integration-signing-link-secret",
        "integration-signing-secret",
        "internal-only-comment",
        "replicas-signing-secret",
        "server-restart-secret",
        "shape-test-signing-secret",
        "standin-test-secret",
        "test-signing-secret",
        "worker-restart-signing-secret",
        "xapp-1-socket-test",
        "xoxb-integration",
        "xoxb-server-restart",
        "xoxb-service-levels",
        "xoxb-socket-test",
        "xoxb-standin-test",
        "xoxb-worker-restart",
        # not secrets, but where the scan looks for them (a psql variable's name)
        "temporal_password",
    }
)
"""Every secret-like value written in this repository that is long enough to pass the length
rule; tests/unit/test_secret_policy.py scans the repository so this list cannot go stale."""


@dataclass(frozen=True)
class Secret:
    """One secret of the settings: where it is set, whether a process needs it, how to make it."""

    variable: str
    value: str | None
    needed_by: frozenset[Process]
    min_length: int
    how: str


def _text(secret: SecretStr | None) -> str | None:
    value = secret.get_secret_value() if secret is not None else ""
    return value or None


def database_password(url: str) -> str | None:
    """The password in a database URL (percent-decoded), or None when it carries none."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None


def secrets_of(settings: Settings) -> Iterator[Secret]:
    """Every secret the settings hold, with the processes that cannot run without it."""
    slack_app = "copy it from your Slack app's settings"
    socket = settings.slack_socket_mode
    yield Secret(
        "SLAFLOW_SLACK_SIGNING_SECRET",
        _text(settings.slack_signing_secret),
        frozenset() if socket else frozenset({"api"}),
        MIN_KEY_LENGTH,
        f"{slack_app} (Basic Information, Signing Secret)",
    )
    yield Secret(
        "SLAFLOW_SLACK_BOT_TOKEN",
        _text(settings.slack_bot_token),
        EVERY_PROCESS,
        MIN_KEY_LENGTH,
        f"{slack_app} (OAuth & Permissions, Bot User OAuth Token)",
    )
    yield Secret(
        "SLAFLOW_SLACK_APP_TOKEN",
        _text(settings.slack_app_token),
        frozenset({"api"}) if socket else frozenset(),
        MIN_KEY_LENGTH,
        f"{slack_app} (Basic Information, App-Level Tokens)",
    )
    yield Secret(
        "SLAFLOW_SESSION_SECRET",
        _text(settings.session_secret),
        frozenset({"api"}),
        MIN_KEY_LENGTH,
        f"make one with {GENERATE}",
    )
    yield Secret(
        "SLAFLOW_SIGNING_LINK_SECRET",
        _text(settings.signing_link_secret),
        frozenset(),
        MIN_KEY_LENGTH,
        f"make one with {GENERATE} and give the API and the worker the same",
    )
    yield Secret(
        "the password in SLAFLOW_DATABASE_URL",
        database_password(settings.database_url),
        frozenset(),
        MIN_PASSWORD_LENGTH,
        f"make one with {GENERATE} and set it on the database role too",
    )
    yield Secret(
        "SLAFLOW_SMTP_PASSWORD",
        _text(settings.smtp_password),
        frozenset({"worker"}) if settings.smtp_username else frozenset(),
        MIN_PASSWORD_LENGTH,
        "use the password your mail provider issued for SLAFLOW_SMTP_USERNAME",
    )
    yield Secret(
        "SLAFLOW_TEMPORAL_API_KEY",
        _text(settings.temporal_api_key),
        frozenset(),
        MIN_PASSWORD_LENGTH,
        "create an API key in Temporal Cloud",
    )
    for token in settings.api_tokens:
        yield Secret(
            "a token in SLAFLOW_API_TOKENS",
            token,
            frozenset(),
            MIN_KEY_LENGTH,
            f"make one with {GENERATE_BEARER}",
        )


def problem(secret: Secret, process: Process | None) -> str | None:
    """Why production refuses this secret in `process` (None: every process), or None."""
    needed = secret.needed_by if process is None else secret.needed_by & {process}
    if secret.value is None:
        return f"{secret.variable} is not set; {secret.how}" if needed else None
    if secret.value.strip() in SHIPPED_SECRETS:
        return f"{secret.variable} is a value published in slaflow's repository; {secret.how}"
    if len(secret.value.strip()) < secret.min_length:
        return f"{secret.variable} is shorter than {secret.min_length} characters; {secret.how}"
    return None


def secret_problems(settings: Settings, process: Process | None = None) -> list[str]:
    """One sentence per secret production refuses; empty when all are fit."""
    found = (problem(secret, process) for secret in secrets_of(settings))
    return [sentence for sentence in found if sentence is not None]


class InsecureSettings(ValueError):
    """Production settings with a missing, shipped or short secret; one line per secret."""


def refuse_weak_secrets(settings: Settings, process: Process) -> None:
    """Raise `InsecureSettings` in production if `process` must not start; development passes."""
    if settings.environment != "production":
        return
    problems = secret_problems(settings, process)
    if problems:
        lines = [f"refusing to start in production: {p}" for p in problems]
        raise InsecureSettings("\n".join(lines))
