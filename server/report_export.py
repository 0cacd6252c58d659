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
from functools import cache
from typing import IO, Any

from hierarchy.calendar import local_date
from hierarchy.cases import CaseKind, Source, Status
from hierarchy.errors import NotFound
from hierarchy.i18n import N_, _
from hierarchy.labels import status_label
from hierarchy.tree import Level
from seeds.catalogue import load_items
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
    "estimated_due_open": lambda r: r.estimated_due_open,
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

#: What people read above each column (Markdown and the workbook; CSV keeps the names above
#: for the tools that read it).
LABELS = {
    "unit": N_("Unit code"),
    "line": N_("Line"),
    "name": N_("Unit"),
    "level": N_("Level"),
    "cases": N_("Cases"),
    "open": N_("Open"),
    "overdue_open": N_("Open and overdue"),
    "resolved": N_("Resolved"),
    "on_time_pct": N_("On time %"),
    "held_resolved": N_("Resolved while held"),
    "held_on_time_pct": N_("On time while held %"),
    "claims": N_("Claims"),
    "median_claim_h": N_("Median hours to claim"),
    "returns": N_("Returns"),
    "escalations": N_("Escalations"),
    "auto_escalations": N_("Auto-escalations"),
    "escalation_pct": N_("Escalated %"),
    "reopen_pct": N_("Reopened %"),
    "bad_ratings": N_("Bad ratings"),
    "bad_rating_fix_pct": N_("Bad ratings fixed %"),
    "overdue_deferrals": N_("Overdue deferrals"),
    "overdue_deferral_pct": N_("Overdue deferrals %"),
    "mean_rating": N_("Mean rating"),
    "first_mean_rating": N_("Mean first rating"),
    "rated_by_applicant": N_("Rated by applicant"),
    "rated_by_agent": N_("Rated by agent"),
    "unrated": N_("Unrated"),
    "hotline_feedback": N_("12345 feedback"),
    "hotline_feedback_on_time_pct": N_("12345 feedback on time %"),
    "period_from": N_("From"),
    "period_to": N_("To"),
    "id": N_("Agent id"),
    "username": N_("Username"),
    "on_time": N_("On time"),
    "item": N_("Item"),
}
KIND_WORDS = {"service": N_("service"), "project_issue": N_("project"), "complaint": N_("complaint")}
SOURCE_WORDS = {
    "village": N_("village service point"),
    "hall": N_("service hall window"),
    "12345": N_("12345 hotline"),
    "online": N_("online"),
    "blocked": N_("hard-to-get-done report"),
}
LINE_WORDS = {"total": N_("total"), "own": N_("own"), "child": N_("child")}


@cache
def item_names() -> dict[str, str]:
    """Item names from the catalogue (an item outside it shows by its code)."""
    return {item.code: item.name for item in load_items()}


def column_label(column: str) -> str:
    """A column's heading in the current language."""
    if column in LABELS:
        return _(LABELS[column])
    head, _sep, rest = column.partition("_")
    if column.startswith("first_rating_"):
        return _("First rating {n}").format(n=column.removeprefix("first_rating_"))
    if head == "rating":
        return _("Rating {n}").format(n=rest)
    if head == "status":
        return _("Status: {status}").format(status=status_label(rest))
    if head == "kind":
        return _("Kind: {kind}").format(kind=_(KIND_WORDS[rest]) if rest in KIND_WORDS else rest)
    if head == "source":
        return _("Source: {source}").format(source=_(SOURCE_WORDS[rest]) if rest in SOURCE_WORDS else rest)
    if column.startswith("item:"):
        code = column.removeprefix("item:")
        return item_names().get(code, code)
    return column


def title_of(report: Report) -> str:
    return _("{name} ({unit}) assisted-service report, {start} to {end}").format(
        name=report.name, unit=report.unit, start=report.period_from, end=report.period_to
    )


def _line_word(line: str) -> str:
    return _(LINE_WORDS[line]) if line in LINE_WORDS else line


def _line_heads(report: Report) -> list[str]:
    """A heading per line: the unit's name, its own line marked."""
    return [f"{r.name}（{_line_word(r.line)}）" if r.line == "own" else r.name for r in report.lines]


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
    out.write(f"# {title_of(report)}\n\n")
    rows = flat_rows(report)
    _md_table(out, [column_label(c) for c in COLUMNS], [[str(r[c]) for c in COLUMNS] for r in rows])
    items = items_of(report)
    names = item_names()
    if items:
        out.write("\n## " + _("Cases by item") + "\n\n")
        heads = _line_heads(report)
        body = [[names.get(c, c), *(str(r[f"item:{c}"]) for r in rows)] for c in items]
        _md_table(out, [column_label("item"), *heads], body)
    if report.agents:
        out.write("\n## " + _("Agents") + "\n\n")
        header = [column_label(c) for c in AGENT_COLUMNS]
        _md_table(out, header, [[str(a[c]) for c in AGENT_COLUMNS] for a in agent_rows(report)])
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
    book.properties.title = title_of(report)
    sheet = book.active
    assert sheet is not None
    sheet.title = "summary"
    rows = flat_rows(report)
    header = [*COLUMNS, "period_from", "period_to"]
    sheet.append([column_label(c) for c in header])
    for r in rows:
        sheet.append([_cell(r[c]) if c in DECIMAL_COLUMNS else r[c] for c in header])
    _fit_widths(sheet)
    sheet.freeze_panes = "D2"
    agents = book.create_sheet("agents")
    agents.append([column_label(c) for c in AGENT_COLUMNS])
    for a in agent_rows(report):
        agents.append([_cell(a[c]) if c == "on_time_pct" else a[c] for c in AGENT_COLUMNS])
    _fit_widths(agents)
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
    names = item_names()
    items.append([column_label("item"), *_line_heads(report)])
    for code in items_of(report):
        items.append([names.get(code, code), *(r[f"item:{code}"] for r in rows)])
    _fit_widths(items)
    book.save(out)


def _fit_widths(sheet: Any) -> None:
    """Columns as wide as their widest cell (CJK characters count twice), within reason."""
    from openpyxl.utils import get_column_letter
    from rich.cells import cell_len

    for index, column in enumerate(sheet.iter_cols(values_only=True), start=1):
        widest = max((cell_len(str(v)) for v in column if v is not None), default=4)
        sheet.column_dimensions[get_column_letter(index)].width = min(max(widest + 2, 6), 40)


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
