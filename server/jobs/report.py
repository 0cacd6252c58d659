"""The daily report job (cron: 07:00 Beijing time): yesterday's figures for the city.

The full report is returned (arq keeps job results; the in-process runner keeps the
last one) and logged as Markdown; the city dispatchers get a one-line notification
with the headline figures, so it is also stored in the database and reaches the console.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from hierarchy.calendar import local_date
from hierarchy.tree import Level
from server import db, reports
from server.jobs import notify as nt
from server.report_export import to_markdown
from server.tables import Unit

log = logging.getLogger("daiban.jobs.report")


def headline(row: reports.ReportRow) -> str:
    def pct(rate: float | None) -> str:
        return "—" if rate is None else f"{rate * 100:.1f}%"

    return (
        f"受理 {row.cases} 件，在办 {row.open} 件（逾期 {row.overdue_open}），按时办结率 {pct(row.on_time_rate)}，"
        f"签收 {row.claims} 次（中位 {row.median_claim_hours if row.median_claim_hours is not None else '—'} 小时），"
        f"上报 {row.escalations} 次（自动 {row.auto_escalations}），退回 {row.returns} 次"
    )


async def daily_report(ctx: dict[str, Any]) -> dict[str, Any]:
    """Job: compute yesterday's city report, log it and tell the dispatchers."""
    clock: Callable[[], datetime] = ctx.get("clock") or (lambda: datetime.now(UTC))
    now = clock()
    day = local_date(now) - timedelta(days=1)
    city = await Unit.select(Unit.code).where(Unit.level == Level.CITY.value).first()
    if city is None:
        return {}
    report = await reports.summary(city["code"], day, day, now)
    log.info("daily report %s\n%s", day, to_markdown(report))
    async with db.transaction(ctx["engine"]):
        await nt.notify(await nt.dispatchers(), nt.REPORT_DAILY, f"{day} 日报：{headline(report.rows[0])}", now)
    result: dict[str, Any] = msgspec.to_builtins(report)
    return result
