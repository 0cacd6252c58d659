"""Cases that leave a device's scope are evicted; unsynced edits to them become conflicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from factories import case_payload
from live import live_server

from server.settings import Settings
from sync.client import SyncClient

VILLAGE = "640502100002"
TOWN = "640502100"
OTHER_TOWN = "640502101"
COUNTY = "640502"


def fast(path: Path) -> SyncClient:
    return SyncClient.open(path, attempts=3, wait_initial=0.01, wait_max=0.05, timeout=5)


def login(url: str, user: str) -> dict[str, str]:
    r = httpx.post(url + "/api/v1/auth/token", json={"username": user, "password": "demo"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def act(url: str, who: dict[str, str], case_id: str, action: str, **body: object) -> dict:
    r = httpx.post(f"{url}/api/v1/cases/{case_id}/{action}", json=body, headers=who)
    assert r.status_code == 200, r.text
    return r.json()


async def test_moved_on_with_an_unsynced_edit(settings: Settings, tmp_path: Path) -> None:
    with live_server(settings) as url:
        town, lead = login(url, f"a{TOWN}"), login(url, f"lead{COUNTY}")
        case = httpx.post(url + "/api/v1/cases", json=case_payload(), headers=town).json()
        act(url, town, case["id"], "escalate", reason="县里协调")
        act(url, lead, case["id"], "dispatch", unit=VILLAGE, reason="请村里上门办")
        device = fast(tmp_path / "v.sqlite")
        await device.init(url, f"a{VILLAGE}", "demo")
        await device.sync()
        assert device.case(case["id"]) is not None
        device.edit(case["id"], description="已联系申请人，周三上门")  # offline, not yet synced
        # Sent on to another town before anyone at the village held it.
        act(url, lead, case["id"], "handover", unit=OTHER_TOWN, note="该户已迁至文昌镇")
        report = await device.sync()
    assert device.case(case["id"]) is None and report.evicted == 1
    # The edit reached the server after the case had left: refused, and kept, shown, not lost.
    [kept] = [c for c in device.conflicts() if c.case_id == case["id"]]
    assert (kept.kind, kept.code) == ("edit", "case.not_found")
    assert kept.snapshot is not None and kept.snapshot.description == "已联系申请人，周三上门"
    await device.close()


async def test_closed_past_retention_is_evicted(settings: Settings, tmp_path: Path) -> None:
    now = [datetime(2026, 11, 2, 2, 0, tzinfo=UTC)]
    with live_server(settings, clock=lambda: now[0]) as url:
        device = fast(tmp_path / "v.sqlite")
        await device.init(url, f"a{VILLAGE}", "demo")
        body = case_payload()
        body.pop("id")
        case = device.create(body)
        device.edit(case.id, materials=[{"code": m["code"], "state": "provided"} for m in case.materials])
        device.act(case.id, "resolve", note="当场办结")
        await device.sync()
        # The agent resolved it, so the applicant rates it, with the code on the receipt.
        await device.api("POST", "/api/v1/ratings", json={"code": case.rating_code, "rating": 5})
        await device.sync()
        assert device.case(case.id).status.value == "closed"
        now[0] += timedelta(days=29)
        assert (await device.sync()).evicted == 0
        now[0] += timedelta(days=2)
        report = await device.sync()
    assert report.evicted == 1 and device.case(case.id) is None and report.checksum_ok
    assert device.conflicts() == []  # nothing unsynced: a quiet eviction
    await device.close()
