"""`slaflow credits`: what a customer's month of missed targets costs (text, JSON or CSV)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from starter.credits_service import CreditReport


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def render(report: CreditReport) -> str:
    """Per agreement: each rule's total against its cap, the misses behind it, the total."""
    if not report.statements:
        return f"{report.customer} {report.month}: no agreement in force that month"
    blocks = []
    for s in report.statements:
        money = (
            f" = {s.owed_amount:,.2f} {s.currency}".rstrip() if s.owed_amount is not None else ""
        )
        lines = [
            f"Credits of {report.customer} for {report.month} under agreement {s.agreement_id} "
            f"version {s.agreement_version}: {s.owed_percent:g} % of the monthly fee{money}"
        ]
        if not s.rules:
            lines.append("  the agreement states no credit rules (credits)")
        for total in s.rules:
            cut = f", capped at {total.cap_percent:g} %" if total.capped else ""
            lines.append(
                f"  {total.rule}: {total.misses} missed, {total.earned_percent:g} % earned{cut}"
                f" -> {total.owed_percent:g} %"
            )
            for line in (x for x in s.lines if x.rule == total.rule):
                lines.append(
                    f"    {line.ticket_id}  {line.priority.value}  "
                    f"opened {line.opened_at:%Y-%m-%d %H:%M} UTC  {line.credit_percent:g} %"
                )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def credits(
    customer: Annotated[str, typer.Option(help="The customer's id.")],
    month: Annotated[str, typer.Option(help="The month, YYYY-MM (UTC).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
) -> None:
    """Service credits owed for a customer's month, per rule and ticket by ticket."""
    from starter.cli_report import _engine
    from starter.credits_service import MONTH_PATTERN, CreditsError, credit_report, to_csv

    if not re.fullmatch(MONTH_PATTERN, month):
        _fail(f"--month: {month!r} is not a month such as 2026-11")
    if not customer.strip() or len(customer) > 200:
        _fail("--customer: give the customer's id (1 to 200 characters)")
    try:
        report = credit_report(_engine(), customer, month)
    except CreditsError as error:
        _fail(str(error).replace("query.customer", "--customer"))
    if as_csv:
        typer.echo(to_csv(report), nl=False)
    else:
        typer.echo(report.model_dump_json(indent=2) if as_json else render(report))
