"""回执: the receipt handed to the applicant, as a PDF and as plain text for receipt printers.

Made from a case as the server or the device holds it, so a village device prints it
offline. It tells the applicant everything at once (一次性告知): the reference number, the
item, the whole material checklist — what was provided, what was deferred under a signed
commitment (告知承诺) and by when — the promised due date, who accepted the matter where,
the result once there is one, and the one-time rating code with a QR code of its link.

The PDF's Chinese text uses reportlab's built-in CID font STSong-Light (the reader's own
font for it; nothing is downloaded or embedded); the QR code comes from segno.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import msgspec

from hierarchy.attachments import OTHER
from hierarchy.calendar import TZ
from hierarchy.ratings import rating_link
from hierarchy.results import DELIVERY_LABELS, Delivery
from hierarchy.validation import mask_resident_id
from sync.wire import Case

FONT = "STSong-Light"
STATE_LABELS = {"provided": "已提供", "deferred": "容缺", "missing": "未提供"}
WIDTH = 32  # characters of a 58 mm receipt printer line


class ReceiptMaterial(msgspec.Struct, kw_only=True, frozen=True):
    code: str
    name: str
    state: str
    commitment: str = ""
    due: str = ""
    #: Names of the files (photos, scans) attached to this material.
    files: list[str] = []


class Receipt(msgspec.Struct, kw_only=True, frozen=True):
    ref: str
    item_code: str
    item_name: str
    applicant_name: str
    applicant_id: str
    accepted_at: datetime | None
    due_at: datetime | None
    agent: str
    unit: str
    status: str
    materials: list[ReceiptMaterial]
    rating_code: str | None = None
    rating_url: str | None = None
    result: dict[str, Any] | None = None
    #: Files attached to no listed material.
    other_files: list[str] = []


def _files(case: Case, material: str) -> list[str]:
    return [str(a.get("name") or str(a.get("sha256"))[:12]) for a in case.attachments if a.get("material") == material]


def receipt_of(case: Case, *, item_name: str, agent: str, unit: str, base_url: str) -> Receipt:
    """The receipt of ``case``; the rating code (and its link) only when the case shows it."""
    applicant = case.applicant
    ident = str(applicant.get("resident_id") or applicant.get("credit_code") or "")
    shown = mask_resident_id(ident) if applicant.get("resident_id") and "*" not in ident else ident
    code = case.rating_code
    return Receipt(
        ref=case.ref or f"（待同步）{str(case.id)[:8]}",
        item_code=case.item_code,
        item_name=item_name or case.title,
        applicant_name=str(applicant.get("name") or ""),
        applicant_id=shown,
        accepted_at=case.accepted_at,
        due_at=case.due_at,
        agent=agent,
        unit=unit,
        status=case.status.value,
        materials=[
            ReceiptMaterial(
                code=str(m.get("code")),
                name=str(m.get("name") or m.get("code")),
                state=str(m.get("state") or "missing"),
                commitment=str(m.get("commitment") or ""),
                due=str(m.get("due") or ""),
                files=_files(case, str(m.get("code"))),
            )
            for m in case.materials
        ],
        other_files=_files(case, OTHER),
        rating_code=code,
        rating_url=rating_link(base_url, code) if code else None,
        result=case.result,
    )


def _day(value: datetime | None) -> str:
    return value.astimezone(TZ).strftime("%Y-%m-%d") if value else "—"


def _material_line(n: int, m: ReceiptMaterial) -> str:
    line = f"{n}. {m.name}：{STATE_LABELS.get(m.state, m.state)}"
    if m.state == "deferred":
        line += f"，承诺 {m.due} 前补交（{m.commitment}）"
    if m.files:
        line += f"；附件：{'、'.join(m.files)}"
    return line


def _result_lines(result: dict[str, Any]) -> list[str]:
    delivery = DELIVERY_LABELS[Delivery(result["delivery"])] if result.get("delivery") else "—"
    out = [f"办理结果：{result.get('outcome') or ''}", f"出件：{result.get('issued') or '—'}"]
    out.append(f"送达方式：{delivery}")
    if result.get("delivered_on"):
        out.append(f"送达日期：{result['delivered_on']}")
    return out


def lines(r: Receipt) -> list[str]:
    """The receipt's lines, shared by the text and the PDF forms."""
    out = [
        "帮办代办受理回执",
        f"受理编号：{r.ref}",
        f"办理事项：{r.item_name}（{r.item_code}）",
        f"申请人：{r.applicant_name}  证件：{r.applicant_id}",
        f"受理时间：{_day(r.accepted_at)}",
        f"承诺办结：{_day(r.due_at)} 前",
        f"受理人：{r.agent}（{r.unit}）",
        "材料清单：",
        *(_material_line(n, m) for n, m in enumerate(r.materials, start=1)),
    ]
    if r.other_files:
        out.append(f"其他附件：{'、'.join(r.other_files)}")
    if r.result:
        out += _result_lines(r.result)
    if r.rating_code:
        out += [f"评价码：{r.rating_code}（办结后凭码评价，仅限一次）", f"评价链接（手机扫码或打开）：{r.rating_url}"]
    return out


def receipt_text(r: Receipt) -> str:
    """Plain text for a receipt printer (a rule above and below, no layout)."""
    rule = "-" * WIDTH
    return "\n".join([rule, *lines(r), rule]) + "\n"


def receipt_pdf(r: Receipt) -> bytes:
    """An A4 PDF: the lines, and a QR code of the rating link when there is a code."""
    import segno
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(f"回执 {r.ref}")
    height = A4[1]
    y = height - 60
    for n, line in enumerate(lines(r)):
        size = 18 if n == 0 else 11
        pdf.setFont(FONT, size)
        for part in _wrap(line, 46):
            pdf.drawString(50, y, part)
            y -= size + 8
        if y < 60:
            pdf.showPage()
            y = height - 60
    if r.rating_url:
        qr = segno.make(r.rating_url, error="m")
        modules = list(qr.matrix_iter(border=4))
        cell = 3.0
        top = y - 10
        if top - len(modules) * cell < 40:
            pdf.showPage()
            top = height - 60
        for row_n, row in enumerate(modules):
            for col_n, dark in enumerate(row):
                if dark:
                    pdf.rect(50 + col_n * cell, top - (row_n + 1) * cell, cell, cell, stroke=0, fill=1)
        pdf.setFont(FONT, 10)
        pdf.drawString(50 + len(modules) * cell + 12, top - 20, "扫码评价（好差评）")
    pdf.save()
    return buffer.getvalue()


def _wrap(line: str, width: int) -> list[str]:
    return [line[i : i + width] for i in range(0, len(line), width)] or [""]
