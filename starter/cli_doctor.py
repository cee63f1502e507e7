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
    and Slack; exit 1 if anything fails."""
    from starter.doctor import diagnose

    findings = asyncio.run(diagnose(get_settings()))
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
