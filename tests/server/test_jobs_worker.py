"""The SLA sweep on a real arq worker and Redis, on both engines: an unclaimed case is
escalated by the system actor, and two workers sweeping at once escalate it once.

Cases are made through the API; the workers then run in the test's own event loop with
an engine of their own, as a worker process has (the test client serves the app from
another loop, and a connection pool belongs to the loop that opened it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TypeVar

import msgspec
import pytest
from arq.worker import Worker
from factories import Client, case_payload, headers
from jobkit import REDIS_URL, Clock, arq_pool, redis_settings
from litestar.testing import AsyncTestClient
from piccolo.engine.base import Engine

from hierarchy.calendar import TZ
from server import db
from server.app import create_app
from server.jobs.queue import ArqQueue
from server.jobs.worker import FUNCTIONS
from server.settings import Settings
from server.tables import Agent, Case, CaseEvent, Notification

pytestmark = pytest.mark.redis
T = TypeVar("T")

VILLAGE = "640502100002"
TOWN = "640502100"
COUNTY = "640502"
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
#: Queued Monday morning, the town's one working day of response time ends Tuesday 18:00.
THURSDAY = MONDAY + timedelta(days=3)


async def queued_at_town(client: Client, n: int) -> list[str]:
    villager = await headers(client, f"a{VILLAGE}")
    ids = []
    for _ in range(n):
        r = await client.post("/api/v1/cases", json=case_payload(), headers=villager)
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        r = await client.post(f"/api/v1/cases/{cid}/escalate", json={"reason": "需要镇里办理"}, headers=villager)
        assert r.status_code == 200 and r.json()["owner_unit"] == TOWN
        ids.append(cid)
    return ids


def worker(queue: str, ctx: dict[str, object]) -> Worker:
    return Worker(
        functions=FUNCTIONS,
        burst=True,
        poll_delay=0,
        queue_name=queue,
        redis_settings=redis_settings(),
        ctx=ctx,
        handle_signals=False,
        max_jobs=1,
    )


async def made_through_api(settings: Settings, build: Callable[[Client], Awaitable[T]]) -> T:
    async with AsyncTestClient(app=create_app(settings, Clock(MONDAY))) as client:
        return await build(client)


@asynccontextmanager
async def worker_engine(settings: Settings) -> AsyncIterator[Engine]:
    engine = db.connect(settings)
    await db.start(engine)
    try:
        yield engine
    finally:
        await db.stop(engine)


async def sla_escalations(case_id: str) -> list[dict[str, object]]:
    return list(
        await CaseEvent.select(CaseEvent.reason, CaseEvent.actor_id, CaseEvent.actor_unit)
        .where((CaseEvent.case_id == case_id) & (CaseEvent.action == "escalate") & CaseEvent.reason.like("sla.%"))
        .order_by(CaseEvent.id)
    )


async def test_worker_escalates_unclaimed_case(settings: Settings) -> None:
    [cid] = await made_through_api(settings, lambda client: queued_at_town(client, 1))
    async with worker_engine(settings) as engine, arq_pool() as (pool, queue):
        job = await pool.enqueue_job("sla_sweep", _queue_name=queue)
        assert job is not None
        w = worker(queue, {"engine": engine, "clock": lambda: THURSDAY})
        try:
            assert await w.run_check() == 1
        finally:
            await w.close()
        result = await job.result(timeout=5)
        assert result["unclaimed"] == 1

        case = await Case.select(Case.owner_unit, Case.status, Case.escalations).where(Case.id == cid).first()
        assert case == {"owner_unit": COUNTY, "status": "queued", "escalations": 2}
        assert await sla_escalations(cid) == [{"reason": "sla.unclaimed", "actor_id": None, "actor_unit": TOWN}]
        # The county's agents hear that it arrived.
        county_agents = {a["id"] for a in await Agent.select(Agent.id).where(Agent.unit_code == COUNTY)}
        # (The town's agents heard of the village's escalation before; this is the sweep's.)
        told = {
            n["agent_id"]
            for n in await Notification.select(Notification.agent_id).where(
                (Notification.case_id == cid) & Notification.message.like("%自动上报%")
            )
        }
        assert told and told <= county_agents


async def test_two_workers_two_sweeps_escalate_once(settings: Settings) -> None:
    async def build(client: Client) -> tuple[list[str], str]:
        ids = await queued_at_town(client, 6)
        villager = await headers(client, f"a{VILLAGE}")
        # A complaint sits in the city's queue: it cannot go higher, so the sweep only
        # flags it and tells the dispatcher — with no version to key on, only the flags.
        r = await client.post("/api/v1/cases", json=case_payload(kind="complaint"), headers=villager)
        assert r.status_code == 201
        return ids, str(r.json()["id"])

    ids, complaint = await made_through_api(settings, build)
    async with worker_engine(settings) as engine, arq_pool() as (pool, queue):
        versions = {str(c["id"]): c["version"] for c in await Case.select(Case.id, Case.version)}
        jobs = [await pool.enqueue_job("sla_sweep", _queue_name=queue) for _ in range(2)]
        ctx = {"engine": engine, "clock": lambda: THURSDAY}
        w1, w2 = worker(queue, dict(ctx)), worker(queue, dict(ctx))
        try:
            done = await asyncio.gather(w1.run_check(), w2.run_check())
        finally:
            await w1.close()
            await w2.close()
        assert sum(done) == 2
        results = [await j.result(timeout=5) for j in jobs if j is not None]
        print("two sweeps:", results)
        assert sum(r["unclaimed"] for r in results) == 6
        assert sum(r["flagged"] for r in results) == 1

        for cid in ids:
            assert [e["reason"] for e in await sla_escalations(cid)] == ["sla.unclaimed"], cid
            row = await Case.select(Case.version, Case.owner_unit).where(Case.id == cid).first()
            assert row == {"version": versions[cid] + 1, "owner_unit": COUNTY}
        notes = await Notification.select(Notification.agent_id, Notification.kind).where(
            (Notification.case_id == complaint) & Notification.kind.like("sla.%")
        )
        dispatcher = await Agent.select(Agent.id).where(Agent.username == "dispatcher").first()
        assert dispatcher is not None
        assert notes == [{"agent_id": dispatcher["id"], "kind": "sla.unclaimed"}]
        complaint_row = await Case.select(Case.version).where(Case.id == complaint).first()
        assert complaint_row == {"version": versions[complaint]}


async def test_with_redis_the_web_tier_queues_on_arq_and_ready_checks_it(settings: Settings) -> None:
    async with arq_pool():  # skips when Redis is down
        pass
    app = create_app(msgspec.structs.replace(settings, redis_url=REDIS_URL))
    async with AsyncTestClient(app=app) as client:
        assert isinstance(app.state.jobs, ArqQueue)
        r = await client.get("/ready")
        assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "redis": "ok"}
