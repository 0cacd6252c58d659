"""Fifty agents claim one queued case at the same moment: exactly one wins.

The API runs in a real uvicorn server on a free local port, so the claims arrive on fifty
separate connections and race inside the database, not in a test transport.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from factories import case_payload
from live import LiveServer

from server.settings import Settings

VILLAGE = "640502100002"
TOWN = "640502100"
CLAIMERS = (f"a{TOWN}", f"a{TOWN}-2")
RACERS = 50


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server


@pytest.fixture
async def http(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=RACERS * 2, max_keepalive_connections=RACERS * 2)
    async with httpx.AsyncClient(base_url=live.url, limits=limits, timeout=60) as client:
        yield client


async def sign_in(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await http.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
    assert r.status_code in (200, 201), r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_fifty_concurrent_claims_one_winner(http: httpx.AsyncClient, live: LiveServer) -> None:
    villager = await sign_in(http, f"a{VILLAGE}")
    claimers = [await sign_in(http, name) for name in CLAIMERS]
    r = await http.post("/api/v1/cases", json=case_payload(), headers=villager)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await http.post(f"/api/v1/cases/{cid}/escalate", json={"reason": "需要镇里办理"}, headers=villager)
    assert r.status_code == 200 and r.json()["status"] == "queued" and r.json()["owner_unit"] == TOWN

    # Fifty clients, each holding its own open connection before the gate opens: the
    # claims then arrive side by side on fifty connections, not one after another.
    clients = [httpx.AsyncClient(base_url=live.url, timeout=60, limits=httpx.Limits(max_connections=1))
               for _ in range(RACERS)]  # fmt: skip
    try:
        await asyncio.gather(*(c.get("/health") for c in clients))
        assert len(live.server.server_state.connections) >= RACERS
        gate = asyncio.Event()

        async def claim(n: int) -> httpx.Response:
            await gate.wait()
            return await clients[n].post(f"/api/v1/cases/{cid}/claim", headers=claimers[n % 2])

        racers = [asyncio.create_task(claim(n)) for n in range(RACERS)]
        await asyncio.sleep(0)  # every racer is parked at the gate
        gate.set()
        answers = await asyncio.gather(*racers)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))

    counts = collections.Counter(r.status_code for r in answers)
    assert counts == {200: 1, 409: RACERS - 1}, [(r.status_code, r.text) for r in answers if r.status_code != 409]
    losers = [r for r in answers if r.status_code == 409]
    assert {r.json()["code"] for r in losers} == {"case.already_claimed"}
    assert all(r.headers["content-type"].startswith("application/problem+json") for r in losers)
    won = next(r for r in answers if r.status_code == 200).json()
    assert won["status"] == "in_progress" and won["version"] == 3 and won["assignee_id"] is not None

    hist = (await http.get(f"/api/v1/cases/{cid}/history", headers=villager)).json()
    assert [e["action"] for e in hist] == ["create", "escalate", "claim"]
    assert hist[-1]["actor_id"] == won["assignee_id"]
    case = (await http.get(f"/api/v1/cases/{cid}", headers=villager)).json()
    assert (case["version"], case["assignee_id"]) == (3, won["assignee_id"])
