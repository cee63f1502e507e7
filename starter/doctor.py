"""`slaflow doctor`'s checks: every dependency slaflow needs, each answered in words.

Each check returns a `Finding`: ok or not, and one sentence an operator can act on. Checks that
need Temporal are skipped (and fail) when Temporal cannot be reached, rather than repeating the
same connection error three times.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass

import aiosmtplib
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from slaflow.search_attributes import SEARCH_ATTRIBUTES
from slaflow.secret_policy import secret_problems
from slaflow.settings import Settings
from starter.temporal_client import connect

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    message: str


def reason(exc: BaseException) -> str:
    """The cause of a failure in a few words: connection refused, a timeout, or its message."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    text = " ".join(str(e) for e in chain)
    refused = ("onnection refused", "Connect call failed", "[Errno 111]")
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or any(r in text for r in refused):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS:g}s"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return first


async def _bounded(awaitable: Awaitable[object]) -> object:
    async with asyncio.timeout(TIMEOUT_SECONDS):
        return await awaitable


async def check_temporal(settings: Settings) -> tuple[Finding, Client | None]:
    where = f"Temporal at {settings.temporal_address}"
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            client = await connect(settings)
            await client.service_client.check_health()
    except Exception as exc:
        return Finding("temporal", False, f"{where}: {reason(exc)}"), None
    return Finding("temporal", True, f"{where} answers"), client


async def check_namespace(settings: Settings, client: Client) -> Finding:
    namespace = settings.temporal_namespace
    try:
        await _bounded(
            client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=namespace)
            )
        )
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return Finding(
                "namespace",
                False,
                f"namespace {namespace} does not exist: create it "
                f"(`temporal operator namespace create --namespace {namespace}`)",
            )
        return Finding("namespace", False, f"namespace {namespace}: {reason(err)}")
    except Exception as exc:
        return Finding("namespace", False, f"namespace {namespace}: {reason(exc)}")
    return Finding("namespace", True, f"namespace {namespace} exists")


async def missing_search_attributes(client: Client, namespace: str) -> list[str]:
    """slaflow's search attributes the namespace lacks, by name (raises if it cannot ask)."""
    async with asyncio.timeout(TIMEOUT_SECONDS):
        found = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
    return sorted({key.name for key in SEARCH_ATTRIBUTES} - set(found.custom_attributes))


def missing_message(namespace: str, missing: list[str]) -> str:
    return (
        f"search attributes missing in namespace {namespace}: {', '.join(missing)} "
        "(the README's `temporal operator search-attribute create` registers them)"
    )


async def check_search_attributes(settings: Settings, client: Client) -> Finding:
    namespace = settings.temporal_namespace
    try:
        missing = await missing_search_attributes(client, namespace)
    except Exception as exc:
        return Finding("search attributes", False, f"search attributes: {reason(exc)}")
    if missing:
        return Finding("search attributes", False, missing_message(namespace, missing))
    names = ", ".join(key.name for key in SEARCH_ATTRIBUTES)
    return Finding("search attributes", True, f"search attributes registered: {names}")


def check_database(settings: Settings) -> Finding:
    from activities import schema
    from activities.db import make_engine

    engine = make_engine(settings.resolved_database_url)
    where = f"database {engine.url.render_as_string(hide_password=True)}"
    try:
        status = schema.schema_status(engine)
    except Exception as exc:
        cause = getattr(exc, "orig", None) or exc
        return Finding("database", False, f"{where}: {reason(cause)}")
    finally:
        engine.dispose()
    problem = status.problem()
    if problem:
        return Finding("database", False, f"{where}: {problem}")
    return Finding("database", True, f"{where} is at revision {status.head} (head)")


async def check_smtp(settings: Settings) -> Finding:
    where = f"SMTP {settings.smtp_host}:{settings.smtp_port}"
    smtp = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=settings.smtp_use_tls,
        start_tls=settings.smtp_starttls and not settings.smtp_use_tls,
        timeout=TIMEOUT_SECONDS,
    )
    try:
        await _bounded(smtp.connect())
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            try:
                await _bounded(smtp.login(settings.smtp_username, password))
            except aiosmtplib.SMTPAuthenticationError as err:
                return Finding(
                    "smtp",
                    False,
                    f"{where}: login as {settings.smtp_username} refused "
                    f"({err.code} {err.message})",
                )
        await _bounded(smtp.quit())
    except Exception as exc:
        return Finding("smtp", False, f"{where}: {reason(exc)}")
    finally:
        smtp.close()
    login = f", logged in as {settings.smtp_username}" if settings.smtp_username else ""
    return Finding("smtp", True, f"{where} accepts connections{login}")


async def check_slack(settings: Settings) -> Finding:
    where = f"Slack {settings.slack_base_url}"
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_base_url,
        timeout=int(TIMEOUT_SECONDS),
        retry_handlers=[],
    )
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            answer = await client.auth_test()
    except SlackApiError as err:
        error = err.response.get("error") if err.response is not None else None
        return Finding("slack", False, f"{where}: auth.test failed: {error or reason(err)}")
    except Exception as exc:
        return Finding("slack", False, f"{where}: {reason(exc)}")
    user, team = answer.get("user"), answer.get("team")
    return Finding("slack", True, f"{where}: authenticated as {user} in {team}")


def check_secrets(settings: Settings) -> Finding:
    """Production's secrets as the API and worker judge them at start (slaflow.secret_policy)."""
    if settings.environment != "production":
        return Finding(
            "secrets",
            True,
            "not checked in development (SLAFLOW_ENVIRONMENT=production refuses missing, "
            "published or short secrets)",
        )
    problems = secret_problems(settings)
    if problems:
        return Finding("secrets", False, "; ".join(problems))
    return Finding("secrets", True, "every secret is set, unpublished and long enough")


async def diagnose(settings: Settings) -> list[Finding]:
    """Every check, in the order a start-up needs them."""
    temporal, client = await check_temporal(settings)
    findings = [check_secrets(settings), temporal]
    if client is None:
        findings += [
            Finding(name, False, "not checked: Temporal is not reachable")
            for name in ("namespace", "search attributes")
        ]
    else:
        namespace = await check_namespace(settings, client)
        findings.append(namespace)
        findings.append(
            await check_search_attributes(settings, client)
            if namespace.ok
            else Finding("search attributes", False, "not checked: the namespace check failed")
        )
    findings.append(await asyncio.to_thread(check_database, settings))
    smtp, slack = await asyncio.gather(check_smtp(settings), check_slack(settings))
    findings += [smtp, slack]
    return findings
