"""Reports as tables: CSV (API and `--csv`) and aligned text (the CLI's default).

`table(report)` flattens any report into a header and rows whose cells are the JSON values
(floats at full precision, times in ISO 8601, lists joined by spaces), so the CSV says exactly
what the JSON says. The report-level figures (period, counting, thresholds, agreement version,
totals of the pause audit and the escalation analysis) come first, one `# key,value` row each:
a spreadsheet shows them above the table, and `read_csv` (or pandas' `comment="#"`) splits them
off. `text(report)` is for people: percentages and durations, fewer columns.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel

from slaflow.durations import format_duration
from slaflow.reports import (
    Deviation,
    DeviationsReport,
    EscalationReport,
    FigureChange,
    GroupFigures,
    PauseAudit,
    PausedTicket,
    SlaReport,
    TierFigures,
    TrendsReport,
)

Report = SlaReport | TrendsReport | DeviationsReport | EscalationReport | PauseAudit
FIGURES = list(GroupFigures.model_fields)
CHANGES = [f"change_{name}" for name in FigureChange.model_fields]
TIER_COLUMNS = [n for n in TierFigures.model_fields if n != "tier"]
GROUP_COLUMNS = ["tickets", "escalated_tickets", "escalations", "escalated_share"]
GROUP_COLUMNS.append("reached_management")


def cell(value: Any) -> str:
    """A JSON value as a CSV cell: '' for null, ISO times, space-joined lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return " ".join(cell(v) for v in value)
    if hasattr(value, "value"):  # enums
        return str(value.value)
    return str(value)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters a spreadsheet reads as a formula (OWASP "CSV injection")."""


def safe_cell(value: Any) -> str:
    """`cell(value)`, with text that a spreadsheet would run as a formula prefixed by `'`
    (OWASP's advice): a customer named `=HYPERLINK(...)` stays text. Numbers are left alone,
    so a negative figure is still a number."""
    text = cell(value)
    numeric = isinstance(value, int | float | timedelta) and not isinstance(value, bool)
    if not numeric and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _values(model: BaseModel, names: Sequence[str]) -> list[Any]:
    return [getattr(model, name) for name in names]


def table(report: Report) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of any report; see each branch for what a row is."""
    if isinstance(report, SlaReport):  # one row per group, then the totals as group 'all'
        return FIGURES, [_values(g, FIGURES) for g in [*report.groups, report.totals]]
    if isinstance(report, TrendsReport):  # one row per group and week
        header = ["group", "week", "week_start", *FIGURES[1:], *CHANGES]
        rows = [
            [
                series.group,
                point.week,
                point.week_start,
                *_values(point.figures, FIGURES[1:]),
                *_values(point.change, list(FigureChange.model_fields)),
            ]
            for series in report.series
            for point in series.points
        ]
        return header, rows
    if isinstance(report, DeviationsReport):  # one row per deviation
        names = list(Deviation.model_fields)
        return names, [_values(d, names) for d in report.deviations]
    if isinstance(report, EscalationReport):  # tiers, then customers, then channels
        header = ["section", "name", *TIER_COLUMNS, *GROUP_COLUMNS]
        blank_groups = [None] * len(GROUP_COLUMNS)
        rows = [["tier", t.tier, *_values(t, TIER_COLUMNS), *blank_groups] for t in report.tiers]
        for section, groups in (("customer", report.customers), ("channel", report.channels)):
            rows += [
                [section, g.name, *([None] * len(TIER_COLUMNS)), *_values(g, GROUP_COLUMNS)]
                for g in groups
            ]
        return header, rows
    names = list(PausedTicket.model_fields)  # one row per flagged ticket
    return names, [_values(t, names) for t in report.flagged]


META = "# "


def report_level(report: Report) -> dict[str, Any]:
    """The report's own figures: its JSON fields but the items of its table (the SLA
    report's totals are its row 'all'); the trends' list of weeks is one space-joined cell."""
    dumped = report.model_dump(mode="json", by_alias=True)
    return {
        key: value
        for key, value in dumped.items()
        if not isinstance(value, dict | list) or key == "weeks"
    }


def to_csv(report: Report) -> str:
    header, rows = table(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([f"{META}{key}", cell(value)] for key, value in report_level(report).items())
    writer.writerow(header)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return out.getvalue()


def read_csv(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """A CSV of `to_csv` back as its report-level figures (the leading `# key,value` rows) and
    its rows, all as text. Parsed as CSV throughout, so a quoted cell may hold line breaks."""
    rows = iter(csv.reader(io.StringIO(text, newline="")))
    meta: dict[str, str] = {}
    for row in rows:
        if row and row[0].startswith(META):
            meta[row[0].removeprefix(META)] = row[1] if len(row) > 1 else ""
            continue
        header = row
        break
    else:
        return meta, []
    return meta, [dict(zip(header, row, strict=False)) for row in rows]


# ----- text for the terminal ---------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _compliance(value: float | None, met: int, measured: int) -> str:
    return f"{_percent(value)} ({met}/{measured})"


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else format_duration(timedelta(seconds=round(seconds)))


def _signed(value: float | None, render: Any) -> str:
    if value is None:
        return "-"
    return ("+" if value > 0 else "") + render(value)


def _aligned(header: list[str], rows: list[list[str]]) -> list[str]:
    everything = [header, *rows]
    widths = [max(len(r[i]) for r in everything) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in everything
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def format_moment(value: datetime) -> str:
    """To the second, in UTC: '2026-11-04 14:45:09'; a whole day is just its date."""
    utc = value.astimezone(UTC)
    return f"{utc:%Y-%m-%d}" if utc.time() == time(0) else f"{utc:%Y-%m-%d %H:%M:%S}"


def _period(report: Report) -> str:
    span = f"{format_moment(report.start)} to {format_moment(report.end)} UTC"
    return f"{span} (by opened_at, end excluded; counting {report.counting.value})"


def _sla_row(g: GroupFigures) -> list[str]:
    return [
        g.group_name,
        str(g.opened),
        str(g.closed),
        _compliance(g.first_response_compliance, g.first_response_met, g.first_response_measured),
        _percent(g.first_response_objective),
        _compliance(g.resolution_compliance, g.resolution_met, g.resolution_measured),
        _percent(g.resolution_objective),
        f"{_duration(g.mtta_median_seconds)} / {_duration(g.mtta_p90_seconds)}",
        f"{_duration(g.mttr_median_seconds)} / {_duration(g.mttr_p90_seconds)}",
        str(g.breached_tickets),
        f"{g.reached_team_lead}/{g.reached_specialist}/{g.reached_management}",
        _percent(g.reopen_rate),
    ]


SLA_HEADER = [
    "group",
    "opened",
    "closed",
    "1st response",
    "objective",
    "resolution",
    "objective",
    "MTTA med/p90",
    "MTTR med/p90",
    "breached",
    "lead/spec/mgmt",
    "reopened",
]


def text(report: Report) -> str:
    """A report as a person reads it in a terminal."""
    lines = []
    if isinstance(report, SlaReport):
        lines.append(f"SLA report by {report.group_by.value}, {_period(report)}")
        lines.append(
            f"agreement version {report.agreement_version or '-'}; availability objective "
            f"{_percent(report.availability_objective)}; MTTA/MTTR wall-clock, compliance "
            "against the pinned targets in business time"
        )
        rows = [_sla_row(g) for g in [*report.groups, report.totals]]
        lines += _aligned(SLA_HEADER, rows)
    elif isinstance(report, TrendsReport):
        by = report.group_by.value if report.group_by else "all tickets"
        lines.append(f"Weekly trends ({by}), {_period(report)}")
        header = ["group", "week", "opened", "1st response", "change", "resolution", "change"]
        header += ["MTTR median", "change"]
        rows = [
            [
                s.group_name,
                p.week,
                f"{p.figures.opened} ({_signed(p.change.opened, str)})",
                _percent(p.figures.first_response_compliance),
                _signed(p.change.first_response_compliance, _percent),
                _percent(p.figures.resolution_compliance),
                _signed(p.change.resolution_compliance, _percent),
                _duration(p.figures.mttr_median_seconds),
                _signed(p.change.mttr_median_seconds, _duration),
            ]
            for s in report.series
            for p in s.points
        ]
        lines += _aligned(header, rows)
    elif isinstance(report, DeviationsReport):
        lines.append(
            f"Deviations by {report.group_by.value}, {_period(report)}; compared with "
            f"{report.previous_from.isoformat()} onwards; drop threshold "
            f"{_percent(report.drop_threshold)}"
        )
        if not report.deviations:
            lines.append("no deviations")
        rows = [
            [
                d.group_name,
                d.target,
                ", ".join(d.reasons),
                f"{_percent(d.compliance)} ({d.met}/{d.measured})",
                _percent(d.objective),
                _signed(d.change, _percent),
                " ".join(d.ticket_ids),
            ]
            for d in report.deviations
        ]
        if rows:
            header = ["group", "target", "why", "compliance", "objective", "change", "tickets"]
            lines += _aligned(header, rows)
    elif isinstance(report, EscalationReport):
        lines.append(
            f"Escalations, {_period(report)}: {report.escalated_tickets} of {report.tickets} "
            "tickets left the agent tier"
        )
        rows = [
            [
                t.tier.value,
                str(t.reached),
                str(t.resolved),
                str(t.acknowledged),
                _duration(t.ack_mean_seconds),
                _duration(t.ack_median_seconds),
                _duration(t.ack_p90_seconds),
            ]
            for t in report.tiers
        ]
        header = ["tier", "reached", "resolved", "acked", "ack mean", "ack median", "ack p90"]
        lines += _aligned(header, rows)
        for title, groups in (("customer", report.customers), ("channel", report.channels)):
            lines.append("")
            lines.append(f"Most escalated by {title}:" if groups else f"No {title} escalated.")
            if groups:
                lines += _aligned(
                    [title, "tickets", "escalated", "share", "steps", "to management"],
                    [
                        [
                            g.name,
                            str(g.tickets),
                            str(g.escalated_tickets),
                            _percent(g.escalated_share),
                            str(g.escalations),
                            str(g.reached_management),
                        ]
                        for g in groups
                    ],
                )
    else:
        lines.append(
            f"Pause audit, {_period(report)}: {len(report.flagged)} flagged of "
            f"{report.paused_tickets} paused ({report.tickets} tickets); quick re-pause within "
            f"{_duration(report.quick_repause_seconds)}, long pause over "
            f"{_percent(report.max_paused_share)} of a ticket's life"
        )
        rows = [
            [
                t.ticket_id,
                t.customer,
                t.priority.value,
                ", ".join(t.flags),
                str(t.quick_repauses),
                str(t.pauses),
                _duration(t.paused_seconds),
                _percent(t.paused_share),
            ]
            for t in report.flagged
        ]
        if rows:
            header = ["ticket", "customer", "priority", "flags", "quick", "pauses", "paused"]
            lines += _aligned([*header, "share"], rows)
    return "\n".join(lines) + "\n"
