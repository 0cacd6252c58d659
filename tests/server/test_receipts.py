"""回执: the receipt PDF's Chinese text reads back, holds the checklist and the commitment
date, and its QR code decodes to the rating link; the text form says the same."""

from __future__ import annotations

import io
from typing import Any

import pypdfium2
import zxingcpp
from factories import Client, all_provided, case_payload, headers
from pypdf import PdfReader

CASES = "/api/v1/cases"
VILLAGE = "640502100002"  # 向阳巷居委会
TOWN = "640502100"


async def deferred_case(client: Client, who: dict[str, str]) -> dict[str, Any]:
    case = (await client.post(CASES, json=case_payload(), headers=who)).json()
    body = all_provided(case)
    body["materials"][3] = {"code": "marriage-certificate", "state": "deferred", "commitment": "申请人承诺补交结婚证",
                            "due": case["due_at"][:10]}  # fmt: skip
    body["materials"][4] = {"code": "insurance-enrolment-form", "state": "missing"}
    r = await client.post(f"{CASES}/{case['id']}/update", json=body, headers=who)
    assert r.status_code == 200, r.text
    return dict(r.json())


def qr_texts(pdf: bytes) -> list[str]:
    page = pypdfium2.PdfDocument(pdf)[0]
    return [b.text for b in zxingcpp.read_barcodes(page.render(scale=3).to_pil())]


async def test_receipt_pdf_reads_back_with_checklist_commitment_and_qr(client: Client) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    case = await deferred_case(client, villager)
    due = case["materials"][3]["due"]
    r = await client.get(f"{CASES}/{case['id']}/receipt", headers=villager)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    flat = text.replace("\n", "")
    for expected in (
        "帮办代办受理回执", case["ref"], "新生儿出生", "马玉兰", "向阳巷居委会",
        "出生医学证明：已提供", "结婚证", f"容缺，承诺 {due} 前补交（申请人承诺补交结婚证）",
        "参保登记表：未提供", case["rating_code"],
    ):  # fmt: skip
        assert expected.replace(" ", "") in flat.replace(" ", ""), (expected, text)
    assert case["applicant"]["resident_id"] not in flat, "the receipt shows the ID masked"
    assert qr_texts(r.content) == [f"http://testserver.local/r/{case['rating_code']}"]

    plain = await client.get(f"{CASES}/{case['id']}/receipt", params={"format": "text"}, headers=villager)
    assert plain.headers["content-type"].startswith("text/plain")
    assert f"容缺，承诺 {due} 前补交" in plain.text and case["ref"] in plain.text
    assert f"评价码：{case['rating_code']}" in plain.text


async def test_a_receipt_without_the_code_for_others_and_hidden_out_of_scope(client: Client) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    town = await headers(client, f"a{TOWN}")
    outsider = await headers(client, "a640521100001")
    case = await deferred_case(client, villager)
    r = await client.get(f"{CASES}/{case['id']}/receipt", params={"format": "text"}, headers=town)
    assert r.status_code == 200 and case["rating_code"] not in r.text and "评价码" not in r.text
    r = await client.get(f"{CASES}/{case['id']}/receipt", headers=outsider)
    assert (r.status_code, r.json()["code"]) == (404, "case.not_found")
