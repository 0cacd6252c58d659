"""``daiban serve`` with ``DAIBAN_REDIS_URL`` set while Redis is away: the API starts, signs
in, writes cases and answers the rate-limited rating endpoint; ``/ready`` names Redis as
down; a job queued meanwhile is held and reaches Redis once a real ``redis-server`` comes
up on that port, and so do later ones."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from factories import case_payload, headers
from jobkit import in_app
from litestar.testing import AsyncTestClient
from live import free_port

from server.app import create_app
from server.jobs.queue import ArqQueue
from server.settings import load_settings

pytestmark = [pytest.mark.redis, pytest.mark.slow]

VILLAGE = "640502100002"


async def until(check: object, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {timeout}s")


async def test_the_api_starts_and_serves_while_redis_is_away_then_uses_it(
    sqlite_template: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        pytest.skip("redis-server is not installed")
    database = tmp_path / "d.sqlite"
    shutil.copy(sqlite_template, database)
    port = free_port()  # nothing listens here yet
    url = f"redis://127.0.0.1:{port}/0"
    settings = load_settings({}, database_url=f"sqlite:///{database}", redis_url=url, embedded_jobs=False)
    app = create_app(settings)
    redis = None
    try:
        async with AsyncTestClient(app=app) as client:
            jobs = app.state.jobs
            assert isinstance(jobs, ArqQueue)
            assert (await client.get("/health")).status_code == 200
            r = await client.get("/ready")
            assert r.status_code == 503, r.text
            assert r.json()["checks"]["database"] == "ok"
            assert r.json()["checks"]["redis"].startswith("error")

            villager = await headers(client, f"a{VILLAGE}")  # sign-in throttle without Redis
            r = await client.post("/api/v1/cases", json=case_payload(), headers=villager)
            assert r.status_code == 201, r.text
            case_id = r.json()["id"]
            r = await client.get(f"/api/v1/cases/{case_id}", headers=villager)
            assert r.status_code == 200, r.text
            r = await client.post("/api/v1/ratings", json={"code": "0000000000", "rating": 5})
            assert r.status_code == 404, r.text  # the public limit counts without Redis too
            assert await in_app(client, lambda: jobs.enqueue("sla_sweep")) is None  # held, not raised
            assert len(jobs.held) == 1

            redis = subprocess.Popen(
                [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            )

            async def ready() -> bool:
                return (await client.get("/ready")).status_code == 200

            await until(ready, 10)
            await until(lambda: asyncio.sleep(0, not jobs.held and not jobs.away), 35)
            later = await in_app(client, lambda: jobs.enqueue("sla_sweep"))
            assert isinstance(later, str)  # an arq job id: Redis took it at once

            r = await client.post("/api/v1/cases", json=case_payload(), headers=villager)
            assert r.status_code == 201, r.text
            await headers(client, f"a{VILLAGE}")  # the throttle counts in Redis again
            r = await client.post("/api/v1/ratings", json={"code": "0000000000", "rating": 5})
            assert r.status_code == 404, r.text

        direct = aioredis.from_url(url)
        try:
            queued = await direct.zrange("arq:queue", 0, -1)
            assert len(queued) == 2 and later.encode() in queued  # the held job and the later one
            assert await direct.exists(b"arq:job:" + later.encode())
        finally:
            await direct.aclose()
        err = capfd.readouterr().err
        events = [json.loads(line)["event"] for line in err.splitlines() if line.startswith("{")]
        assert events.count("jobs.redis_away") == 1 and events.count("jobs.redis_back") == 1, events
        assert events.count("throttle.storage_away") == 1, events  # one line, not one per sign-in
        assert events.count("throttle.storage_back") == 1, events
        assert events.count("store.away") == 1 and events.count("store.back") == 1, events
        assert "Traceback" not in err
    finally:
        if redis is not None:
            redis.kill()
            redis.wait()
