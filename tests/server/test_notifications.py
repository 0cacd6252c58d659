"""Who hears of what: a case walked through its hand-offs, with every inbox counted at
each step — online and, after a pull, on each agent's device."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from factories import case_payload
from live import live_server

from hierarchy import notices as hn
from server.settings import Settings
from sync.client import SyncClient

VILLAGE = "640502100002"
TOWN = "640502100"
COUNTY = "640502"
OTHER_TOWN = "640502101"
#: Everyone who could plausibly hear of the case, and two who should not.
CAST = [
    f"a{VILLAGE}", f"a{TOWN}", f"a{TOWN}-2", f"a{COUNTY}", f"a{COUNTY}-2", f"lead{COUNTY}",
    f"a{OTHER_TOWN}", f"a{OTHER_TOWN}-2", "dispatcher", "a640500",
]  # fmt: skip


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    with live_server(settings) as url:
        yield url


class Walk:
    def __init__(self, url: str, devices: dict[str, SyncClient]) -> None:
        self.url = url
        self.devices = devices
        self.http = httpx.Client(base_url=url, timeout=10)
        self.auth = {}
        for who in CAST:
            r = self.http.post("/api/v1/auth/token", json={"username": who, "password": "demo"})
            self.auth[who] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        self.seen = self.unread()

    def unread(self) -> dict[str, int]:
        return {w: self.http.get("/api/v1/notifications/unread-count", headers=self.auth[w]).json()["unread"]
                for w in CAST}  # fmt: skip

    def act(self, who: str, case_id: str, action: str, **body: object) -> dict[str, object]:
        r = self.http.post(f"/api/v1/cases/{case_id}/{action}", json=body, headers=self.auth[who])
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def expect(self, told: set[str], kind: str) -> None:
        """Exactly ``told`` got one new unread notification of ``kind``; nobody else any."""
        now = self.unread()
        assert {w: now[w] - self.seen[w] for w in CAST} == {w: int(w in told) for w in CAST}, kind
        for w in told:
            newest = self.http.get("/api/v1/notifications", headers=self.auth[w]).json()["notifications"][0]
            assert newest["kind"] == kind and newest["read_at"] is None
        self.seen = now
        for w, device in self.devices.items():
            await device.sync()
            assert device.replica.unread_notices() == now[w], w
            if w in told:
                assert device.inbox(unread_only=True)[0].kind == kind


async def test_walk_every_hand_off_tells_exactly_who_it_reaches(server: str, tmp_path: Path) -> None:
    devices = {}
    for who in CAST:
        devices[who] = SyncClient.open(tmp_path / f"{who}.sqlite", attempts=3, wait_initial=0.01, timeout=10)
        await devices[who].init(server, who, "demo", "测试终端")
    walk = Walk(server, devices)
    try:
        village = devices[f"a{VILLAGE}"]
        body = case_payload()
        body.pop("id")
        case = village.create(body)
        cid = str(case.id)
        village.act(cid, "escalate", reason="需镇里办理")  # offline, then pushed
        await village.sync()
        await walk.expect({f"a{TOWN}", f"a{TOWN}-2"}, hn.CASE_ESCALATED)

        walk.act(f"a{TOWN}", cid, "claim")
        await walk.expect(set(), "")
        walk.act(f"a{TOWN}", cid, "escalate", reason="需区专班协调")
        await walk.expect({f"a{COUNTY}", f"a{COUNTY}-2", f"lead{COUNTY}"}, hn.CASE_ESCALATED)

        walk.act(f"lead{COUNTY}", cid, "dispatch", unit=OTHER_TOWN, reason="文昌镇承办")
        await walk.expect({f"a{OTHER_TOWN}", f"a{OTHER_TOWN}-2"}, hn.CASE_DISPATCHED)

        walk.act(f"a{OTHER_TOWN}", cid, "claim")
        walk.act(f"a{OTHER_TOWN}", cid, "handover", agent=f"a{OTHER_TOWN}-2", note="轮休，请接办")
        await walk.expect({f"a{OTHER_TOWN}-2"}, hn.CASE_HANDED_OVER)

        provided = [{"code": m["code"], "state": "provided"} for m in case.materials]
        walk.act(f"a{OTHER_TOWN}-2", cid, "update", materials=provided)
        provided = [{"code": m["code"], "state": "provided"} for m in case.materials]
        walk.act(f"a{OTHER_TOWN}-2", cid, "update", materials=provided)  # (the assignee's edit: nobody told)
        await walk.expect(set(), "")
        walk.act(f"a{OTHER_TOWN}-2", cid, "resolve", note="已办结")
        await walk.expect({f"a{VILLAGE}"}, hn.CASE_RESOLVED)

        village.act(cid, "confirm", rating=1, comment="办得太慢")  # on the device, pushed
        await village.sync()
        await walk.expect({f"a{COUNTY}", f"a{COUNTY}-2", f"lead{COUNTY}"}, hn.REVIEW_OPENED)

        walk.act(f"a{COUNTY}", cid, "claim")
        walk.act(f"a{COUNTY}", cid, "resolve", note="已整改，重新办结")
        await walk.expect({f"a{VILLAGE}"}, hn.CASE_RESOLVED)

        # The origin agent reads the inbox; marking read empties the badge everywhere.
        me = walk.auth[f"a{VILLAGE}"]
        page = walk.http.get("/api/v1/notifications", headers=me).json()
        assert page["unread"] == 2 and [n["case_id"] for n in page["notifications"]] == [cid, cid]
        first = page["notifications"][0]["id"]
        assert walk.http.post(f"/api/v1/notifications/{first}/read", headers=me).json() == {"marked": 1, "unread": 1}
        assert walk.http.post(f"/api/v1/notifications/{first}/read", headers=me).json() == {"marked": 0, "unread": 1}
        page = walk.http.get("/api/v1/notifications", headers=me).json()
        assert [n["read_at"] is None for n in page["notifications"]] == [True, False]  # unread first
        assert walk.http.post("/api/v1/notifications/read-all", headers=me).json() == {"marked": 1, "unread": 0}
        other = walk.auth[f"a{TOWN}"]
        assert walk.http.post(f"/api/v1/notifications/{first}/read", headers=other).status_code == 404
    finally:
        walk.http.close()
        for d in devices.values():
            await d.close()
