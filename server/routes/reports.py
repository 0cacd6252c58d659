"""Accountability reports (SPEC §4), drillable from the city down to a village.

The same figures as JSON, CSV or an xlsx workbook: chosen by ``format=`` or else by the
``Accept`` header (JSON when neither asks for a file). Files are named after their unit
and period, and state both inside too (see :mod:`server.report_export`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get
from litestar.params import QueryParameter

from hierarchy.calendar import local_date
from server import report_export, reports
from server.auth import Principal
from server.deps import NowDep

Req = Request[Principal, Any, Any]
DEFAULT_DAYS = 30
JSON = "application/json"
BY_MEDIA_TYPE = {JSON: "json", "text/csv": "csv", report_export.MEDIA_TYPES["xlsx"]: "xlsx"}
ReportFormat = Literal["json", "csv", "xlsx"]


def chosen_format(request: Req, fmt: ReportFormat | None) -> str:
    if fmt is not None:
        return fmt
    return BY_MEDIA_TYPE[request.accept.best_match(list(BY_MEDIA_TYPE), default=JSON)]


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @get(
        "/summary",
        operation_id="getReportSummary",
        summary="Figures for a unit, its own line and each child, over a period; JSON, CSV or xlsx",
    )
    async def summary(
        self,
        request: Req,
        now: NowDep,
        unit: Annotated[str, QueryParameter(description="a unit in your scope")],
        period_from: Annotated[date | None, QueryParameter(name="from", description="first day (Beijing)")] = None,
        period_to: Annotated[date | None, QueryParameter(name="to", description="last day, included")] = None,
        fmt: Annotated[
            ReportFormat | None,
            QueryParameter(name="format", description="json, csv or xlsx; default: by the Accept header"),
        ] = None,
    ) -> Response[reports.Report]:
        end = period_to or local_date(now)
        start = period_from or end - timedelta(days=DEFAULT_DAYS - 1)
        report = await reports.summary(unit, start, end, now, request.user.actor)
        kind = chosen_format(request, fmt)
        if kind == "json":
            return Response(report)
        name = report_export.file_name(report, kind)
        return Response(
            report_export.render(report, kind),  # type: ignore[arg-type]
            media_type=report_export.MEDIA_TYPES[kind],
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
