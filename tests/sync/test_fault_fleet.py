"""Twenty devices, two thousand operations, a network that drops and delays, devices
killed mid-sync: nothing lost.

Village devices take matters offline (creates, field edits, escalations); town devices
claim the shared queue (two agents per town race for the same cases) and edit. Every
device syncs through a proxy that drops connections before the request, after it,
mid-answer, or delays them. Then the county moves cases between villages: four village
devices sync as real processes (``device_main.py sync-forever``) through the same proxy
and are killed with SIGKILL at random moments, several times each, while the county
moves more cases into their villages and they send cases back out offline. After a final
clean sync: every operation is in the server's ledger exactly once, losing claims are
conflicts on the loser's device, cases moved between villages leave no false eviction
conflict, and each replica (the killed ones included) holds exactly the server's view of
its scope, version for version.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from factories import case_payload
from faultproxy import FaultProxy
from live import live_server
from processes import spawn_device

from hierarchy.errors import DaibanError
from seeds.network import load_units
from server.settings import Settings
from sync.client import SyncClient

COUNTY = "640502"
TOWNS = ("640502100", "640502101")
VILLAGES_PER_TOWN = 8
CREATES, EDITS, ESCALATIONS = 40, 40, 20  # 100 operations per village device
CLAIMS, TOWN_EDITS = 50, 50  # 100 per town device
MOVES = 24  # cases each town sends down to another village
KILLED = (1, 5, 9, 13)  # village devices (by index) that sync as processes killed with SIGKILL
KILLS = 4  # kills per such device, each after a county move into its village
FAULTS = {"pass": 0.4, "drop_before": 0.15, "drop_after": 0.2, "drop_mid": 0.15, "delay": 0.1}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    with live_server(settings) as url:
        yield url


def villages() -> list[str]:
    units = load_units()
    out: list[str] = []
    for town in TOWNS:
        out += sorted(u.code for u in units if u.parent_code == town)[:VILLAGES_PER_TOWN]
    return out


def device(path: Path, url: str | None = None) -> SyncClient:
    # One connection per request, so the proxy's faults hit every kind of request.
    client = httpx.AsyncClient(timeout=5, limits=httpx.Limits(max_keepalive_connections=0))
    c = SyncClient.open(path, attempts=4, wait_initial=0.01, wait_max=0.05, client=client)
    if url:
        c.transport.base_url = url
    return c


async def sync_until_done(client: SyncClient, tries: int = 60) -> None:
    for _ in range(tries):
        try:
            await client.sync()
            return
        except DaibanError as exc:
            if not getattr(exc, "transient", False):
                raise
    raise AssertionError("sync never got through")


async def query(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    if settings.is_postgres:
        conn = await asyncpg.connect(settings.database_url)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()
    with sqlite3.connect(settings.sqlite_path) as db:
        return db.execute(sql).fetchall()


def login(url: str, username: str) -> dict[str, str]:
    token = httpx.post(url + "/api/v1/auth/token", json={"username": username, "password": "demo"}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def dispatch(url: str, headers: dict[str, str], case_id: str, unit: str) -> None:
    r = httpx.post(f"{url}/api/v1/cases/{case_id}/dispatch", json={"unit": unit}, headers=headers)
    assert r.status_code == 200, r.text


def server_scope(url: str, username: str) -> dict[str, int]:
    headers = login(url, username)
    versions: dict[str, int] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"view": "scope", "limit": 500} | ({"cursor": cursor} if cursor else {})
        page = httpx.get(url + "/api/v1/cases", params=params, headers=headers).json()
        versions |= {c["id"]: c["version"] for c in page["cases"]}
        cursor = page["next_cursor"]
        if not cursor:
            return versions


async def test_fleet_through_a_faulty_network(server: str, settings: Settings, tmp_path: Path) -> None:
    proxy = await FaultProxy(upstream_port=int(server.rsplit(":", 1)[1]), seed=7).start()
    users = [f"a{v}" for v in villages()] + [a for t in TOWNS for a in (f"a{t}", f"a{t}-2")]
    fleet: dict[str, SyncClient] = {}
    for user in users:
        fleet[user] = device(tmp_path / f"{user}.sqlite")
        await fleet[user].init(proxy.url, user, "demo", f"{user} tablet")
    made: set[str] = set()

    # Round 1: villages work offline, then sync through the faults.
    for user in users[: len(TOWNS) * VILLAGES_PER_TOWN]:
        c = fleet[user]
        ids = []
        for n in range(CREATES):
            body = case_payload(title=f"{user} 事项 {n}")
            body.pop("id")
            ids.append(c.create(body).id)
        for n in range(EDITS):
            c.edit(ids[n], description=f"补充说明 {n}")
        for n in range(ESCALATIONS):
            c.act(ids[n], "escalate", reason="需镇里办理")
        made |= {str(op.op_id) for op in c.replica.outbox()}
    proxy.set_faults(**FAULTS)
    for user in users[: len(TOWNS) * VILLAGES_PER_TOWN]:
        await sync_until_done(fleet[user])

    # Round 2: both agents of each town claim the same queued cases offline, and edit them.
    for town in TOWNS:
        pair = [fleet[f"a{town}"], fleet[f"a{town}-2"]]
        for c in pair:
            await sync_until_done(c)
        queue = sorted(str(x.id) for x in pair[0].cases("queue"))[:CLAIMS]
        assert len(queue) == CLAIMS
        for c in pair:
            for cid in queue:
                c.act(cid, "claim")
            for n, cid in enumerate(queue[:TOWN_EDITS]):
                c.edit(cid, title=f"{c.actor().username} 处理 {n}")
            made |= {str(op.op_id) for op in c.replica.outbox()}
        for c in pair:
            await sync_until_done(c)

    # Round 3: cases move between villages. The county sends cases queued at each town down
    # to a village other than the one that took them (online); the receiving
    # devices send half of them back up offline, through the faults. Moves in and out of a
    # village's scope, and evictions whose answers are lost on the way.
    proxy.set_faults(**{"pass": 1.0})
    moved = 0
    returned: list[tuple[str, str]] = []
    office = login(server, f"lead{COUNTY}")
    spare: dict[str, list[dict[str, Any]]] = {}  # queued cases kept for the moves between kills
    for t, town in enumerate(TOWNS):
        own = villages()[t * VILLAGES_PER_TOWN : (t + 1) * VILLAGES_PER_TOWN]
        params: dict[str, Any] = {"view": "scope", "unit": town, "status": "queued", "limit": 500}
        queued = sorted(
            (
                c for c in httpx.get(server + "/api/v1/cases", params=params, headers=office).json()["cases"]
                if c["owner_unit"] == town
            ),
            key=lambda c: c["id"],
        )
        for n, case in enumerate(queued[:MOVES]):
            target = next(v for v in own[n % len(own) :] + own if v != case["origin_unit"])
            dispatch(server, office, case["id"], target)
            moved += 1
        spare[town] = queued[MOVES:]
    proxy.set_faults(**FAULTS)
    killed = [users[i] for i in KILLED]
    for user in users[: len(TOWNS) * VILLAGES_PER_TOWN]:
        await sync_until_done(fleet[user])
        c = fleet[user]
        arrived = [x for x in c.cases("queue") if x.origin_unit != c.actor().unit_code]
        for case in arrived[::2]:
            c.act(case.id, "return", reason="不属本村，退回镇里")
            returned.append((user, str(case.id)))
        made |= {str(op.op_id) for op in c.replica.outbox()}
        if user not in killed:  # the killed devices push their returns from their processes
            await sync_until_done(c)
    assert moved == len(TOWNS) * MOVES and len(returned) >= MOVES // 2

    # Round 4: the killed devices. Each time, the county moves another case into the village,
    # the village sends one case back offline, and the device process syncs through the
    # faults until SIGKILL at a random moment.
    rng = random.Random(7)
    kills = talked = 0
    for user in killed:
        await fleet[user].close()
        path = tmp_path / f"{user}.sqlite"
        village = user[1:]
        pool = [x for x in spare[village[:9]] if x["origin_unit"] != village]
        for _ in range(KILLS):
            case = pool.pop(0)
            spare[village[:9]].remove(case)
            dispatch(server, office, case["id"], village)
            moved += 1
            c = device(path)
            gone = {cid for u, cid in returned if u == user}
            back = [x for x in c.cases("queue") if x.origin_unit != village and str(x.id) not in gone][:1]
            for x in back:
                c.act(x.id, "return", reason="不属本村，退回镇里")
                returned.append((user, str(x.id)))
            made |= {str(op.op_id) for op in c.replica.outbox()}
            await c.close()
            before = sum(proxy.seen.values())
            child = spawn_device("sync-forever", str(path))
            await asyncio.sleep(rng.uniform(0.5, 2.0))
            child.send_signal(signal.SIGKILL)
            _, err = await asyncio.to_thread(child.communicate, timeout=30)
            assert child.returncode == -signal.SIGKILL, err
            kills += 1
            talked += sum(proxy.seen.values()) > before
        fleet[user] = device(path)
    # Every device was killed several times, most of them while talking to the server.
    assert kills == len(KILLED) * KILLS > 0 and talked >= kills // 2, (kills, talked)

    # A clean network: everyone syncs twice (push, then pull what the others pushed).
    proxy.set_faults(**{"pass": 1.0})
    for _ in range(2):
        for c in fleet.values():
            await sync_until_done(c)
    print(
        f"devices: {len(fleet)}; operations: {len(made)}; moves: {moved}, returns: {len(returned)}; "
        f"faults injected: {dict(proxy.seen)}; kills: {kills} ({talked} mid-sync) on {len(killed)} devices"
    )
    assert min(proxy.seen[f] for f in ("drop_before", "drop_after", "drop_mid", "delay")) >= 3, proxy.seen

    # Nothing lost, nothing twice.
    assert len(made) >= len(users) * 100
    ledger = await query(settings, "SELECT op_id FROM sync_op")
    assert len(ledger) == len(made) and {str(r[0]) for r in ledger} == made
    creates = await query(settings, "SELECT count(*) FROM case_event WHERE action = 'create'")
    assert creates[0][0] == len(TOWNS) * VILLAGES_PER_TOWN * CREATES
    claims = await query(settings, "SELECT count(*) FROM case_event WHERE action = 'claim'")
    assert claims[0][0] == len(TOWNS) * CLAIMS  # exactly one winner per contested case

    # Losing claims are conflicts on the losing device, and only those.
    for town in TOWNS:
        pair = [fleet[f"a{town}"], fleet[f"a{town}-2"]]
        lost = [[x for x in c.conflicts() if x.kind == "claim"] for c in pair]
        assert sum(len(x) for x in lost) == CLAIMS
        assert all(x.code == "case.already_claimed" for side in lost for x in side)

    # Every replica is the server's view of its agent's scope.
    for user, c in fleet.items():
        assert c.status().pending == 0, user
        assert dict(c.replica.versions()) == server_scope(server, user), user
        for case in c.cases():
            assert case == c.replica.server_case(str(case.id)), (user, case.id)
    # Every case a village sent back has left its replica (evicted, not a conflict).
    assert all(fleet[user].case(case_id) is None for user, case_id in returned)
    # Cases that left a village after its own operations were applied are no conflicts.
    evictions = [(u, x.case_id) for u, c in fleet.items() for x in c.conflicts() if x.kind == "evicted"]
    assert evictions == []
    for c in fleet.values():
        await c.close()
    await proxy.stop()
