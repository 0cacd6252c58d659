"""Accountability reports (SPEC §4), drillable from the city down to a village."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import QueryParameter

from hierarchy.calendar import local_date
from server import reports
from server.auth import Principal
from server.deps import NowDep

Req = Request[Principal, Any, Any]
DEFAULT_DAYS = 30


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @get("/summary", operation_id="getReportSummary", summary="Figures for a unit and each child, over a period")
    async def summary(
        self,
        request: Req,
        now: NowDep,
        unit: Annotated[str, QueryParameter(description="a unit in your scope")],
        period_from: Annotated[date | None, QueryParameter(name="from", description="first day (Beijing)")] = None,
        period_to: Annotated[date | None, QueryParameter(name="to", description="last day, included")] = None,
    ) -> reports.Report:
        end = period_to or local_date(now)
        start = period_from or end - timedelta(days=DEFAULT_DAYS - 1)
        return await reports.summary(unit, start, end, now, request.user.actor)
