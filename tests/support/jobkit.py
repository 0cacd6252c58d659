"""Helpers for the job, workload and report tests: a settable clock, a private arq
queue on a dedicated Redis database, and open cases written straight to the tables."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from factories import Client, resident_id
from redis.exceptions import RedisError

from hierarchy.cases import Status
from server.cases import load_city, new_case_values
from server.demo import insert_cases, load_network
from server.tables import Agent, Item, Unit
from sync import wire

#: A Redis database of its own: the tests never touch the others.
REDIS_URL = os.environ.get("DAIBAN_TEST_REDIS", "redis://127.0.0.1:6379/13")
REQUIRE_SERVICES = os.environ.get("DAIBAN_REQUIRE_SERVICES") == "1"


class Clock:
    """The time the app and the jobs see; tests move it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def in_app(client: Client, work: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``work()`` on the loop serving the app, where its connection pool lives (the
    test client serves from a thread of its own)."""

    async def call() -> Any:
        return await work()

    return await asyncio.to_thread(client.blocking_portal.call, call)


async def read(client: Client, query: Awaitable[Any]) -> Any:
    """Await a Piccolo query on the app's loop."""

    async def run() -> Any:
        return await query

    return await in_app(client, run)


def redis_settings() -> RedisSettings:
    settings = RedisSettings.from_dsn(REDIS_URL)
    settings.conn_retries = 0
    return settings


@asynccontextmanager
async def arq_pool() -> AsyncIterator[tuple[ArqRedis, str]]:
    """A pool on the test database and a queue name no other test run shares.

    The database is emptied only of this run's keys: ``flushall`` (arq's own tests) would
    also empty what a parallel test run keeps in the same Redis.
    """
    try:
        pool = await create_pool(redis_settings())
    except (OSError, RedisError) as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"Redis is required but {REDIS_URL} cannot be reached: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    queue = f"daiban-test-{uuid.uuid4().hex}"
    try:
        yield pool, queue
    finally:
        keys = [k async for k in pool.scan_iter(match=f"{queue}*")]
        if keys:
            await pool.delete(*keys)
        await pool.aclose()


async def put_cases(specs: Iterable[dict[str, Any]], now: datetime) -> list[str]:
    """Insert open cases without history. Each spec: ``owner`` (unit code), ``status``,
    ``assignee`` (username or None), ``item`` (code)."""
    net = await load_network()
    city = await load_city()
    ids = {a["username"]: a["id"] for a in await Agent.select(Agent.username, Agent.id)}
    items = {
        i["code"]: i
        for i in await Item.select(Item.code, Item.materials, Item.promised_days, Item.name).output(load_json=True)
    }
    units = {u["code"]: u for u in await Unit.select(Unit.code, Unit.path, Unit.open_weekends)}
    rows = []
    for spec in specs:
        owner = units[spec["owner"]]
        creator = net.cast.agents[owner["code"]][0]
        data = wire.CaseCreate(
            id=uuid.uuid4(),
            item_code=spec["item"],
            applicant=wire.Applicant(type="person", name="测试申请人", resident_id=resident_id()),
        )
        values = new_case_values(creator, data, now, items[spec["item"]], owner, city)
        assignee = ids[spec["assignee"]] if spec.get("assignee") else None
        values.update(status=Status(spec["status"]).value, assignee_id=assignee)
        values["holders"] = sorted({creator.id or 0, *([assignee] if assignee else [])})
        rows.append(values)
    await insert_cases(rows, [])
    return [str(v["id"]) for v in rows]
