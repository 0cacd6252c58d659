"""回执: a case's receipt for the applicant, as a PDF or as plain text for receipt printers."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get
from litestar.params import FromPath, QueryParameter

from server import cases
from server.auth import Principal
from server.deps import NowDep, SettingsDep
from server.tables import Agent, Item, Unit
from sync.receipt import Receipt, receipt_of, receipt_pdf, receipt_text


async def build(case_id: uuid.UUID, request: Request[Principal, Any, Any], base_url: str, now: Any) -> Receipt:
    actor = request.user.actor
    row = await cases.visible_row(case_id, actor)
    case = cases.to_wire(row, actor, now)
    item = await Item.select(Item.name).where(Item.code == row["item_code"]).first()
    agent = await Agent.select(Agent.name).where(Agent.id == row["created_by"]).first()
    unit = await Unit.select(Unit.name).where(Unit.code == row["origin_unit"]).first()
    return receipt_of(
        case,
        item_name=item["name"] if item else "",
        agent=agent["name"] if agent else f"#{row['created_by']}",
        unit=unit["name"] if unit else row["origin_unit"],
        base_url=base_url,
    )


class ReceiptController(Controller):
    path = "/api/v1/cases"
    tags = ["cases"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @get(
        "/{case_id:uuid}/receipt",
        operation_id="getCaseReceipt",
        summary="The applicant's receipt (回执): PDF, or plain text for receipt printers",
        media_type="application/pdf",
    )
    async def receipt(
        self,
        request: Request[Principal, Any, Any],
        settings: SettingsDep,
        now: NowDep,
        case_id: FromPath[uuid.UUID],
        receipt_format: Annotated[Literal["pdf", "text"], QueryParameter(name="format")] = "pdf",
    ) -> Response[bytes]:
        base = settings.public_url or str(request.base_url)
        receipt = await build(case_id, request, base, now)
        if receipt_format == "text":
            return Response(receipt_text(receipt).encode(), media_type="text/plain; charset=utf-8")
        return Response(
            receipt_pdf(receipt),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="receipt-{receipt.ref}.pdf"'},
        )
