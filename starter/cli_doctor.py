"""`slaflow doctor`: check every dependency with the environment's settings, say what is wrong."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from slaflow.settings import get_settings


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")] = False,
) -> None:
    """Check production's secrets, Temporal, namespace, search attributes, database schema, SMTP
    and Slack; exit 1 if anything fails. Beside a running `slaflow run` (same data dir), its own
    Slack stand-in, mailbox and Temporal are checked, unless settings name others explicitly."""
    from starter.doctor import diagnose
    from starter.stack_record import with_running_stack

    settings, stack = with_running_stack(get_settings())
    if stack is not None and not as_json:
        typer.echo(
            f"checking the local stack of `slaflow run` (pid {stack.pid}, API at "
            f"{stack.api_url}): Slack {settings.slack_base_url}, "
            f"mail {settings.smtp_host}:{settings.smtp_port}"
        )
    findings = asyncio.run(diagnose(settings))
    if as_json:
        typer.echo(json.dumps([f.__dict__ for f in findings], indent=2))
    else:
        width = max(len(f.check) for f in findings)
        for finding in findings:
            mark = "ok  " if finding.ok else "FAIL"
            typer.echo(f"{mark}  {finding.check.ljust(width)}  {finding.message}")
    failed = [f.check for f in findings if not f.ok]
    if failed:
        typer.echo(f"error: {len(failed)} check(s) failed: {', '.join(failed)}", err=True)
        raise typer.Exit(1)
