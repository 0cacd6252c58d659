"""A report as Markdown, CSV or an xlsx workbook, with the same figures in each.

One flat table (the total, the unit's own line, then a row per child) carries every
figure; Markdown and CSV print the same strings for it so that either can be checked
against the other. Rates are percentages with one decimal, hours have one decimal, and a
figure with nothing to measure (no case resolved, say) is empty. Every file states its
unit and period: each CSV row carries ``period_from`` and ``period_to`` beside the unit,
the workbook has a ``report`` sheet naming them (and the same columns), and
:func:`file_name` puts both in the name.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from hierarchy.calendar import local_date
from hierarchy.cases import CaseKind, Source, Status
from hierarchy.errors import NotFound
from hierarchy.tree import Level
from server.reports import Report, ReportRow, summary
from server.tables import Unit


def _count(field: str, key: str) -> Callable[[ReportRow], int]:
    """Read ``row.<field>[key]`` (a count; 0 when absent)."""

    def read(row: ReportRow) -> int:
        counts: dict[str, int] = getattr(row, field)
        return counts.get(key, 0)

    return read


#: Column name → how to read it from a row; the order is the order printed.
COLUMNS: dict[str, Callable[[ReportRow], Any]] = {
    "unit": lambda r: r.unit,
    "line": lambda r: r.line,
    "name": lambda r: r.name,
    "level": lambda r: r.level.value,
    "cases": lambda r: r.cases,
    "open": lambda r: r.open,
    "overdue_open": lambda r: r.overdue_open,
    "resolved": lambda r: r.resolved,
    "on_time_pct": lambda r: _pct(r.on_time_rate),
    "held_resolved": lambda r: r.held_resolved,
    "held_on_time_pct": lambda r: _pct(r.held_on_time_rate),
    "claims": lambda r: r.claims,
    "median_claim_h": lambda r: _num(r.median_claim_hours),
    "returns": lambda r: r.returns,
    "escalations": lambda r: r.escalations,
    "auto_escalations": lambda r: r.auto_escalations,
    "escalation_pct": lambda r: _pct(r.escalation_rate),
    "reopen_pct": lambda r: _pct(r.reopen_rate),
    "bad_ratings": lambda r: r.reviews,
    "bad_rating_fix_pct": lambda r: _pct(r.bad_rating_fix_rate),
    "overdue_deferrals": lambda r: r.overdue_deferrals,
    "overdue_deferral_pct": lambda r: _pct(r.overdue_deferral_rate),
    **{f"rating_{n}": _count("ratings", str(n)) for n in range(5, 0, -1)},
    "mean_rating": lambda r: _num(r.mean_rating, 2),
    **{f"first_rating_{n}": _count("first_ratings", str(n)) for n in range(5, 0, -1)},
    "first_mean_rating": lambda r: _num(r.first_mean_rating, 2),
    "rated_by_applicant": lambda r: r.rated_by_applicant,
    "rated_by_agent": lambda r: r.rated_by_agent,
    "unrated": lambda r: r.unrated,
    **{f"status_{s.value}": _count("by_status", s.value) for s in Status},
    **{f"kind_{k.value}": _count("by_kind", k.value) for k in CaseKind},
    **{f"source_{s.value}": _count("by_source", s.value) for s in Source},
    "hotline_feedback": lambda r: r.hotline_feedback,
    "hotline_feedback_on_time_pct": lambda r: _pct(r.hotline_feedback_on_time_rate),
}

#: Columns printed as decimal strings; the workbook stores them as numbers.
DECIMAL_COLUMNS = frozenset(c for c in COLUMNS if c.endswith(("_pct", "_h", "mean_rating")))
AGENT_COLUMNS = (
    "id",
    "username",
    "name",
    "unit",
    "claims",
    "resolved",
    "on_time",
    "on_time_pct",
    "returns",
    "escalations",
)

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "md": "text/markdown; charset=utf-8",
}


def _pct(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}"


def _num(value: float | None, places: int = 1) -> str:
    return "" if value is None else f"{value:.{places}f}"


def items_of(report: Report) -> list[str]:
    return sorted({code for row in report.lines for code in row.by_item})


def flat_rows(report: Report) -> list[dict[str, Any]]:
    """Every figure of every line, then the period, items last as ``item:<code>`` columns."""
    items = items_of(report)
    period = {"period_from": report.period_from.isoformat(), "period_to": report.period_to.isoformat()}
    return [
        {
            **{name: get(row) for name, get in COLUMNS.items()},
            **period,
            **{f"item:{c}": row.by_item.get(c, 0) for c in items},
        }
        for row in report.lines
    ]


def agent_rows(report: Report) -> list[dict[str, Any]]:
    return [
        {**{c: getattr(a, c) for c in AGENT_COLUMNS if c != "on_time_pct"}, "on_time_pct": _pct(a.on_time_rate)}
        for a in report.agents
    ]


def file_name(report: Report, fmt: str) -> str:
    """``report-<unit>-<from>_<to>.<fmt>``: the unit and the period, in the name."""
    return f"report-{report.unit}-{report.period_from}_{report.period_to}.{fmt}"


def render(report: Report, fmt: str) -> bytes:
    """The report as a file of format ``fmt`` (csv, xlsx or md)."""
    if fmt == "xlsx":
        buffer = io.BytesIO()
        to_xlsx(report, buffer)
        return buffer.getvalue()
    return (to_markdown(report) if fmt == "md" else _csv_text(report)).encode()


def to_csv(report: Report, out: IO[str]) -> None:
    rows = flat_rows(report)
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def to_markdown(report: Report) -> str:
    out = io.StringIO()
    out.write(f"# {report.name} ({report.unit}) {report.period_from} – {report.period_to}\n\n")
    rows = flat_rows(report)
    _md_table(out, list(COLUMNS), [[str(r[c]) for c in COLUMNS] for r in rows])
    items = items_of(report)
    if items:
        out.write("\n## Cases by item\n\n")
        heads = [f"{r.unit}:{r.line}" if r.line == "own" else r.unit for r in report.lines]
        _md_table(out, ["item", *heads], [[c, *(str(r[f"item:{c}"]) for r in rows)] for c in items])
    if report.agents:
        out.write("\n## Agents\n\n")
        _md_table(out, list(AGENT_COLUMNS), [[str(a[c]) for c in AGENT_COLUMNS] for a in agent_rows(report)])
    return out.getvalue()


def _md_table(out: io.StringIO, header: list[str], body: list[list[str]]) -> None:
    out.write("| " + " | ".join(header) + " |\n")
    out.write("|" + "|".join("---" for _ in header) + "|\n")
    for cells in body:
        out.write("| " + " | ".join(c.replace("|", "/") for c in cells) + " |\n")


def to_xlsx(report: Report, out: IO[bytes] | str) -> None:
    """Sheets ``summary`` (the flat table, numbers as numbers), ``items``, ``agents`` and
    ``report`` (the unit, its name and the period); the title names them too."""
    from openpyxl import Workbook

    book = Workbook()
    book.properties.title = f"{report.name} ({report.unit}) {report.period_from} – {report.period_to}"
    sheet = book.active
    assert sheet is not None
    sheet.title = "summary"
    rows = flat_rows(report)
    header = [*COLUMNS, "period_from", "period_to"]
    sheet.append(header)
    for r in rows:
        sheet.append([_cell(r[c]) if c in DECIMAL_COLUMNS else r[c] for c in header])
    agents = book.create_sheet("agents")
    agents.append(list(AGENT_COLUMNS))
    for a in agent_rows(report):
        agents.append([_cell(a[c]) if c == "on_time_pct" else a[c] for c in AGENT_COLUMNS])
    about = book.create_sheet("report")
    for key, value in (
        ("unit", report.unit),
        ("name", report.name),
        ("period_from", report.period_from.isoformat()),
        ("period_to", report.period_to.isoformat()),
        ("generated_at", report.generated_at.isoformat()),
    ):
        about.append([key, value])
    items = book.create_sheet("items")
    items.append(["item", *(f"{r.unit}:{r.line}" if r.line == "own" else r.unit for r in report.lines)])
    for code in items_of(report):
        items.append([code, *(r[f"item:{code}"] for r in rows)])
    book.save(out)


def _cell(value: str) -> float | None:
    return float(value) if value else None


async def build_report(unit: str | None, period_from: datetime | None, period_to: datetime | None) -> Report:
    """The report ``daiban report`` prints: default unit the city, default the last 30 days."""
    now = datetime.now(UTC)
    end = period_to.date() if period_to else local_date(now)
    start = period_from.date() if period_from else end - timedelta(days=29)
    if unit is None:
        city = await Unit.select(Unit.code).where(Unit.level == Level.CITY.value).first()
        if city is None:
            raise NotFound("unit.not_found", "the network has no city: run daiban seed")
        unit = str(city["code"])
    return await summary(unit, start, end, now)


def write_report(report: Report, fmt: str, output: str | None) -> None:
    """Write ``report`` as ``fmt`` (md, csv, xlsx) to ``output`` or standard output."""
    if fmt == "xlsx":
        if output:
            to_xlsx(report, output)
        else:
            sys.stdout.buffer.write(render(report, "xlsx"))
        return
    text = to_markdown(report) if fmt == "md" else _csv_text(report)
    if output:
        with open(output, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


def _csv_text(report: Report) -> str:
    out = io.StringIO()
    to_csv(report, out)
    return out.getvalue()
