"""The village device shows the town's result and the case history with the server stopped."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pypdfium2
import zxingcpp
from factories import case_payload
from live import live_server
from pypdf import PdfReader

from server.settings import Settings
from sync.client import SyncClient

VILLAGE = "640502100002"
TOWN = "640502100"


async def daiban(*args: str) -> str:
    """The real command line, in its own process (no server anywhere)."""
    command = [sys.executable, "-c", "from cli import main; main()", *args]
    env = {**os.environ, "COLUMNS": "300"}
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def login(url: str, user: str) -> dict[str, str]:
    r = httpx.post(url + "/api/v1/auth/token", json={"username": user, "password": "demo"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def act(url: str, who: dict[str, str], case_id: str, action: str, **body: object) -> dict:
    r = httpx.post(f"{url}/api/v1/cases/{case_id}/{action}", json=body, headers=who)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_the_towns_result_and_the_history_reach_the_village_device(settings: Settings, tmp_path: Path) -> None:
    replica = tmp_path / "v.sqlite"
    with live_server(settings) as url:
        device = SyncClient.open(replica, attempts=3, wait_initial=0.01, wait_max=0.05, timeout=5)
        await device.init(url, f"a{VILLAGE}", "demo")
        body = case_payload()
        body.pop("id")
        case = device.create(body)
        device.act(case.id, "escalate", reason="需镇里办理")
        await device.sync()
        held = device.local_history(case.id)
        assert [e.action for e in held] == ["create", "escalate"]

        town = login(url, f"a{TOWN}")
        cid = str(case.id)
        act(url, town, cid, "claim")
        materials = [{"code": m["code"], "state": "provided"} for m in case.materials]
        act(url, town, cid, "update", materials=materials)
        act(url, town, cid, "resolve", note="出生登记、户口登记已办结", issued="出生医学证明、户口簿",
            delivery="village_point", delivered_on="2026-12-03")  # fmt: skip
        await device.sync()
        await device.close()
    # The server is gone: everything below reads the device's replica only.
    offline = SyncClient.open(replica, attempts=1, wait_initial=0.01, wait_max=0.01, timeout=1)
    seen = offline.case(case.id)
    assert seen is not None and seen.status.value == "resolved"
    assert seen.result is not None
    assert (seen.result["issued"], seen.result["delivery"], seen.result["delivered_on"]) == (
        "出生医学证明、户口簿", "village_point", "2026-12-03")  # fmt: skip
    history = offline.local_history(case.id)
    # Each version once: the second sync brought only what the device did not hold.
    assert [e.action for e in history] == ["create", "escalate", "claim", "update", "resolve"]
    assert [e.version for e in history] == [1, 2, 3, 4, 5]
    assert history[-1].after["result"]["outcome"] == "出生登记、户口登记已办结"
    await offline.close()

    shown = await daiban("village", "--replica", str(replica), "show", str(case.id)[:8])
    assert "办理结果 出生登记、户口登记已办结；出件：出生医学证明、户口簿；代办点转交；送达日期 2026-12-03" in shown
    told = await daiban("village", "--replica", str(replica), "history", str(case.id)[:8])
    for action in ("create", "escalate", "claim", "update", "resolve"):
        assert action in told
    assert "需镇里办理" in told and TOWN in told

    # The receipt, made on the device with the server stopped: text, and a PDF whose QR
    # code decodes to the rating link of the device's own code.
    pdf = tmp_path / "receipt.pdf"
    printed = await daiban("village", "--replica", str(replica), "receipt", str(case.id)[:8], "--pdf", str(pdf))
    assert "帮办代办受理回执" in printed and seen.ref and seen.ref in printed
    assert "办理结果：出生登记、户口登记已办结" in printed and f"评价码：{case.rating_code}" in printed
    text = "".join(p.extract_text() for p in PdfReader(pdf).pages).replace("\n", "")
    assert seen.ref in text and "出生医学证明：已提供" in text
    page = pypdfium2.PdfDocument(pdf.read_bytes())[0]
    codes = [b.text for b in zxingcpp.read_barcodes(page.render(scale=3).to_pil())]
    assert len(codes) == 1 and codes[0].endswith(f"/r/{case.rating_code}")


async def test_a_correction_made_offline_reaches_the_server(settings: Settings, tmp_path: Path) -> None:
    with live_server(settings) as url:
        device = SyncClient.open(tmp_path / "v.sqlite", attempts=3, wait_initial=0.01, wait_max=0.05, timeout=5)
        await device.init(url, f"a{VILLAGE}", "demo")
        body = case_payload()
        body.pop("id")
        case = device.create(body)
        await device.sync()
        fixed = device.edit(case.id, applicant={"name": "马玉蓝", "phone": "0955-7012345"})
        assert fixed.applicant["phone"] == "0955-7012345"
        await device.sync()
        me = login(url, f"a{VILLAGE}")
        seen = httpx.get(f"{url}/api/v1/cases/{case.id}", headers=me).json()["applicant"]
        assert (seen["name"], seen["phone"]) == ("马玉蓝", "0955-7012345"), device.conflicts()
        history = httpx.get(f"{url}/api/v1/cases/{case.id}/history", headers=me).json()
        assert history[-1]["before"]["applicant"]["name"] == "马玉兰"
        await device.close()
