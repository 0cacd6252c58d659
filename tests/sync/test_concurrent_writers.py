"""Pushes from several devices and online creates at the same moment, on both engines."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import httpx
from factories import case_payload
from live import live_server
from rawdb import fetch

from server.settings import Settings

VILLAGES = ("640502100002", "640502100006", "640502100007")
TOWN = "640502100"
PUSHES, PER_PUSH, ONLINE = 6, 25, 40


async def sign_in(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await http.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
    assert r.status_code in (200, 201), r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_pushes_and_online_creates_at_once(settings: Settings) -> None:
    """Every writer takes the counters in the same order, so none deadlocks the other."""
    answers: Counter[tuple[str, int]] = Counter()
    with live_server(settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:

            async def device(village: str) -> None:
                who = await sign_in(http, f"a{village}")
                client_id = (await http.post("/api/v1/devices", json={"name": village}, headers=who)).json()[
                    "client_id"
                ]
                for n in range(PUSHES):
                    ops: list[dict[str, Any]] = []
                    for i in range(PER_PUSH):
                        body = case_payload()
                        case_id = body.pop("id")
                        ops.append({"op_id": str(uuid.uuid4()), "client_id": client_id, "seq": n * PER_PUSH + i + 1,
                                    "case_id": case_id, "kind": "create", "args": body})  # fmt: skip
                    r = await http.post("/api/v1/sync/push", json={"client_id": client_id, "ops": ops}, headers=who)
                    answers["push", r.status_code] += 1

            async def online(who: dict[str, str]) -> None:
                for _ in range(ONLINE):
                    r = await http.post("/api/v1/cases", json=case_payload(), headers=who)
                    answers["create", r.status_code] += 1

            town = await sign_in(http, f"a{TOWN}")
            await asyncio.gather(*(device(v) for v in VILLAGES), online(town), online(town))
    assert answers == {("push", 200): len(VILLAGES) * PUSHES, ("create", 201): 2 * ONLINE}
    total = len(VILLAGES) * PUSHES * PER_PUSH + 2 * ONLINE
    rows = await fetch(
        settings.database_url, "SELECT count(*), count(DISTINCT ref), count(DISTINCT change_seq) FROM case_file"
    )
    assert rows == [(total, total, total)]


async def test_pushed_edits_and_online_actions_on_the_same_cases(settings: Settings) -> None:
    """A push locks the cases it changes; online writes lock the same rows. Nobody deadlocks."""
    answers: Counter[tuple[str, int]] = Counter()
    with live_server(settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            who = await sign_in(http, f"a{TOWN}")
            ids = [(await http.post("/api/v1/cases", json=case_payload(), headers=who)).json()["id"] for _ in range(8)]
            client_id = (await http.post("/api/v1/devices", json={}, headers=who)).json()["client_id"]

            async def device() -> None:
                for n in range(10):
                    stamp = f"{1_780_000_000_000 + n:013d}:000000:dev"
                    ops = [{"op_id": str(uuid.uuid4()), "client_id": client_id, "seq": n * len(ids) + i + 1,
                            "case_id": cid, "kind": "edit", "args": {"description": f"设备 {n}"},
                            "hlc": stamp} for i, cid in enumerate(ids)]  # fmt: skip
                    r = await http.post("/api/v1/sync/push", json={"client_id": client_id, "ops": ops}, headers=who)
                    answers["push", r.status_code] += 1

            async def online(k: int) -> None:
                for n in range(10):
                    cid = ids[(n + k) % len(ids)]
                    r = await http.post(f"/api/v1/cases/{cid}/update", json={"title": f"在线 {k}-{n}"}, headers=who)
                    answers["update", r.status_code] += 1

            await asyncio.gather(device(), online(0), online(3), online(5))
    assert answers == {("push", 200): 10, ("update", 200): 30}, answers
    rows = await fetch(settings.database_url, "SELECT count(*) FROM case_event WHERE action = 'update'")
    assert rows == [(10 * 8 + 30,)]
