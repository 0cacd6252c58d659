"""The loopback cluster: HAProxy in front of two ``daiban serve`` processes and two workers on
one PostgreSQL and Redis. Under a mixed load (online creates, device pushes, reads), one API
process is killed and restarted and one worker is killed; afterwards no acknowledged write
is missing, the clients' error rate is printed (after the proxy's and their own retries:
goal 0), and every SLA breach was escalated exactly once by the surviving workers.

HAProxy comes from Debian's packages (``make deploy-tools``; CI installs it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from arq.connections import RedisSettings, create_pool
from cluster import Cluster, Tally, case_body, lost_writes, run_load
from programs import need

from server.settings import Settings

pytestmark = [pytest.mark.pg, pytest.mark.redis, pytest.mark.slow]

LOAD_SECONDS = 15
BREACHES = 8


async def village_agents(url: str, count: int) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT a.username FROM agent a JOIN unit u ON u.code = a.unit_code"
            " WHERE u.level = 'village' AND a.role = 'village_agent' AND a.active ORDER BY a.username LIMIT $1",
            count,
        )
    finally:
        await conn.close()
    return [r["username"] for r in rows]


async def seed_breaches(base: str, username: str, url: str) -> list[str]:
    """Cases past their due time (made online, then their clock moved two days back)."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        r = await http.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
        who = {"Authorization": f"Bearer {r.json()['access_token']}"}
        ids = []
        for n in range(BREACHES):
            body = case_body(900 + n)
            assert (await http.post("/api/v1/cases", json=body, headers=who)).status_code == 201
            ids.append(body["id"])
    conn = await asyncpg.connect(url)
    try:
        past = datetime.now(UTC) - timedelta(days=2)
        await conn.execute("UPDATE case_file SET due_at = $1 WHERE id = ANY($2::uuid[])", past, ids)
    finally:
        await conn.close()
    return ids


async def sweeps(redis_url: str, stop: asyncio.Event) -> int:
    """Ask the workers for an SLA sweep every two seconds (besides their own cron)."""
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    asked = 0
    try:
        while not stop.is_set():
            await pool.enqueue_job("sla_sweep")
            asked += 1
            with contextlib.suppress(TimeoutError):  # two seconds passed: ask again
                await asyncio.wait_for(stop.wait(), 2)
        job = await pool.enqueue_job("sla_sweep")  # one last, waited for
        assert job is not None
        await job.result(timeout=60)
    finally:
        await pool.aclose()
    return asked + 1


async def escalations(url: str, ids: list[str]) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT case_id::text AS id, count(*) AS n FROM case_event"
            " WHERE action = 'escalate' AND reason = 'sla.overdue' AND case_id = ANY($1::uuid[]) GROUP BY 1",
            ids,
        )
    finally:
        await conn.close()
    found = {r["id"]: int(r["n"]) for r in rows}
    return {i: found.get(i, 0) for i in ids}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
def test_killing_an_api_process_and_a_worker_loses_nothing(settings: Settings, tmp_path: Path) -> None:
    haproxy = need("haproxy", install="make deploy-tools")[0]
    redis_url = os.environ.get("DAIBAN_TEST_REDIS", "redis://127.0.0.1:6379/0")
    asyncio.run(_flush(redis_url))
    url = settings.database_url
    agents = asyncio.run(village_agents(url, 13))
    cluster = Cluster(url, redis_url, tmp_path, apis=2, workers=2, haproxy=haproxy)
    events: list[str] = []

    def chaos(started: float) -> None:
        def at(second: float) -> None:
            time.sleep(max(0.0, started + second - time.monotonic()))

        at(4)
        cluster.kill_api(0)
        events.append(f"{time.monotonic() - started:.1f}s api1 killed")
        at(7)
        cluster.restart_api(0)
        events.append(f"{time.monotonic() - started:.1f}s api1 restarted")
        at(10)
        cluster.kill_worker(0)
        events.append(f"{time.monotonic() - started:.1f}s worker1 killed")
        cluster.wait_api(0)
        events.append(f"{time.monotonic() - started:.1f}s api1 ready")

    with cluster.running():
        breached = asyncio.run(seed_breaches(cluster.url, agents[0], url))
        tally = Tally()

        threads: list[threading.Thread] = []

        async def load_and_sweeps() -> int:
            stop, signed_in = asyncio.Event(), asyncio.Event()
            asking = asyncio.create_task(sweeps(redis_url, stop))
            loading = asyncio.create_task(run_load(cluster.url, agents[1:], LOAD_SECONDS, tally, started=signed_in))
            await signed_in.wait()
            threads.append(threading.Thread(target=chaos, args=(time.monotonic(),)))
            threads[0].start()
            await loading
            stop.set()
            return await asking

        asked = asyncio.run(load_and_sweeps())
        threads[0].join()
        assert cluster.api_procs[0] is not None and cluster.api_procs[0].poll() is None  # restarted
    missing_cases, missing_ops = asyncio.run(lost_writes(url, tally))
    escalated = asyncio.run(escalations(url, breached))
    print(
        f"\ncluster: {tally.requests} requests {tally.by_kind}, {len(tally.acked_cases)} cases and "
        f"{len(tally.acked_ops)} operations acknowledged; {'; '.join(events)}; {asked} sweeps asked\n"
        f"client error rate: {tally.error_rate:.4f} after retries ({tally.errors} requests), "
        f"{tally.first_failure_rate:.4f} at the first attempt ({tally.first_failures}: "
        f"{sorted(set(tally.first_failure_reasons))})\n"
        f"lost acknowledged writes: {len(missing_cases) + len(missing_ops)}; "
        f"breaches escalated: {sorted(set(escalated.values()))} time(s) each"
    )
    assert len(events) == 4
    assert (missing_cases, missing_ops) == ([], [])
    assert tally.errors == 0, tally.failures[:10]
    assert escalated == dict.fromkeys(breached, 1)
    assert len(tally.acked_cases) > 50


async def _flush(redis_url: str) -> None:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        await pool.flushdb()
    finally:
        await pool.aclose()
