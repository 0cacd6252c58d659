"""Outgoing webhooks through a real arq worker and Redis, to a receiver on loopback: a
receiver that fails twice gets every notification exactly once; one that hangs does not
slow the API; one that never answers ends as a failure an admin can see."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec
import pytest
from arq.worker import Worker
from factories import Client, case_payload, headers
from jobkit import arq_pool, redis_settings
from litestar.testing import AsyncTestClient
from live import free_port

from server import db
from server.app import create_app
from server.jobs.worker import FUNCTIONS
from server.settings import Settings
from server.tables import WebhookDelivery

pytestmark = pytest.mark.redis

VILLAGE = "640502100002"
TOWN = "640502100"
COUNTY = "640502"


class Receiver:
    """Answers 500 to the first ``failures`` posts of each delivery, then 200; with
    ``hang`` set, holds every request that long first."""

    def __init__(self, failures: int = 2, hang: float = 0.0) -> None:
        self.failures, self.hang = failures, hang
        self.tries: dict[str, int] = {}
        self.accepted: list[tuple[str, dict[str, Any]]] = []
        self.in_flight = 0
        self.lock = threading.Lock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                delivery = self.headers["X-Daiban-Delivery"]
                with receiver.lock:
                    receiver.in_flight += 1
                time.sleep(receiver.hang)
                with receiver.lock:
                    receiver.in_flight -= 1
                    receiver.tries[delivery] = receiver.tries.get(delivery, 0) + 1
                    ok = receiver.tries[delivery] > receiver.failures
                    if ok:
                        receiver.accepted.append((delivery, body))
                self.send_response(200 if ok else 500)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errcode": 0, "errmsg": "ok"}' if ok else b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


def fast(settings: Settings, **over: Any) -> Settings:
    return msgspec.structs.replace(
        settings, webhook_retry_seconds=0.05, webhook_attempts=4, webhook_timeout=5.0, **over
    )


def worker(queue: str, settings: Settings, engine: Any, burst: bool = True) -> Worker:
    return Worker(
        functions=FUNCTIONS, burst=burst, poll_delay=0.02, queue_name=queue, redis_settings=redis_settings(),
        ctx={"engine": engine, "settings": settings, "clock": lambda: datetime.now(UTC)},
        handle_signals=False, max_jobs=4, max_tries=settings.webhook_attempts,
    )  # fmt: skip


async def escalated_cases(client: Client, n: int) -> list[str]:
    villager = await headers(client, f"a{VILLAGE}")
    ids = []
    for _ in range(n):
        cid = (await client.post("/api/v1/cases", json=case_payload(), headers=villager)).json()["id"]
        r = await client.post(f"/api/v1/cases/{cid}/escalate", json={"reason": "需要镇里办理"}, headers=villager)
        assert r.status_code == 200
        ids.append(cid)
    return ids


async def set_hook(client: Client, admin: dict[str, str], unit: str, url: str, shape: str) -> None:
    r = await client.put(f"/api/v1/webhooks/units/{unit}", json={"url": url, "shape": shape}, headers=admin)
    assert r.status_code == 200, r.text


async def drain(settings: Settings, queue: str, pool: Any) -> None:
    """Queue the dispatch and run a worker until every job (retries included) is done."""
    engine = db.connect(settings)
    await db.start(engine)
    try:
        await pool.enqueue_job("webhook_dispatch", _queue_name=queue)
        w = worker(queue, settings, engine)
        try:
            await w.async_run()
        finally:
            await w.close()
    finally:
        await db.stop(engine)


async def deliveries() -> list[dict[str, Any]]:
    return list(await WebhookDelivery.select().order_by(WebhookDelivery.id).output(load_json=True))


async def test_each_notification_arrives_once_though_the_receiver_fails_twice(settings: Settings) -> None:
    settings = fast(settings)
    with Receiver(failures=2).running() as receiver:
        async with AsyncTestClient(app=create_app(settings)) as client:
            admin = await headers(client, "admin")
            await set_hook(client, admin, TOWN, receiver.url, "wecom")
            await set_hook(client, admin, COUNTY, receiver.url, "json")
            village = await headers(client, f"a{VILLAGE}")
            r = await client.put(f"/api/v1/webhooks/units/{TOWN}", json={"url": receiver.url}, headers=village)
            assert (r.status_code, r.json()["code"]) == (404, "unit.not_found")  # above the village: not its own
            ids = await escalated_cases(client, 3)  # the town's two agents hear of each: one post per case
            town = await headers(client, f"a{TOWN}")
            assert (await client.post(f"/api/v1/cases/{ids[0]}/claim", headers=town)).status_code == 200
            r = await client.post(f"/api/v1/cases/{ids[0]}/escalate", json={"reason": "区里协调"}, headers=town)
            assert r.status_code == 200
        async with arq_pool() as (pool, queue):
            await drain(settings, queue, pool)
            rows = await deliveries()
            assert [(r["unit_code"], r["status"], r["attempts"]) for r in rows] == (
                [(TOWN, "delivered", 3)] * 3 + [(COUNTY, "delivered", 3)]
            )
            delivered = [d for d, _ in receiver.accepted]
            assert sorted(delivered) == sorted(str(r["id"]) for r in rows)  # each exactly once
            assert all(receiver.tries[d] == 3 for d in delivered)
            bodies = dict(receiver.accepted)
            town_body = bodies[str(rows[0]["id"])]
            assert town_body["msgtype"] == "text" and "上报" in town_body["text"]["content"]
            county_body = bodies[str(rows[3]["id"])]
            expected = ("case.escalated", ids[0], COUNTY)
            assert (county_body["kind"], county_body["case_id"], county_body["unit"]) == expected
            # Dispatching again sends nothing twice.
            await drain(settings, queue, pool)
            assert len(receiver.accepted) == 4


async def test_a_dead_receiver_ends_as_a_failure_an_admin_sees(settings: Settings) -> None:
    settings = fast(settings)
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    async with AsyncTestClient(app=create_app(settings)) as client:
        admin = await headers(client, "admin")
        await set_hook(client, admin, TOWN, dead, "dingtalk")
        await escalated_cases(client, 1)
        async with arq_pool() as (pool, queue):
            await drain(settings, queue, pool)
        r = await client.get("/api/v1/webhooks/deliveries", params={"status": "failed"}, headers=admin)
        [failed] = r.json()
        assert (failed["unit"], failed["attempts"]) == (TOWN, settings.webhook_attempts)
        assert "ConnectError" in failed["last_error"] and failed["payload"]["msgtype"] == "text"
        lead = await headers(client, f"lead{COUNTY}")
        assert (await client.get("/api/v1/webhooks/deliveries", headers=lead)).status_code == 403


async def test_a_hanging_receiver_does_not_slow_the_api(settings: Settings) -> None:
    settings = fast(settings)
    app = create_app(settings)
    with Receiver(failures=0, hang=3.0).running() as receiver:
        async with AsyncTestClient(app=app) as client, arq_pool() as (pool, queue):
            admin = await headers(client, "admin")
            villager = await headers(client, f"a{VILLAGE}")

            async def timed_escalations(n: int) -> list[float]:
                took = []
                for _ in range(n):
                    cid = (await client.post("/api/v1/cases", json=case_payload(), headers=villager)).json()["id"]
                    start = time.perf_counter()
                    r = await client.post(f"/api/v1/cases/{cid}/escalate", json={"reason": "上报"}, headers=villager)
                    took.append(time.perf_counter() - start)
                    assert r.status_code == 200
                return took

            before = await timed_escalations(8)  # no webhook yet
            await set_hook(client, admin, TOWN, receiver.url, "json")
            await timed_escalations(2)  # deliveries for the worker to hang on
            await pool.enqueue_job("webhook_dispatch", _queue_name=queue)
            # The worker runs on the API's own event loop, with its engine: a stricter
            # test than a worker process of its own would be.
            async def run_worker() -> None:
                w = worker(queue, settings, app.state.engine, burst=False)
                try:
                    await w.async_run()
                finally:
                    await w.close()

            running = client.blocking_portal.start_task_soon(run_worker)
            try:
                deadline = time.monotonic() + 5
                while receiver.in_flight == 0 and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                assert receiver.in_flight > 0, "the worker never reached the receiver"
                during = await timed_escalations(8)
                assert receiver.in_flight > 0  # still hanging all along
            finally:
                running.cancel()
                with contextlib.suppress(concurrent.futures.CancelledError, asyncio.CancelledError):
                    await asyncio.wrap_future(running)
            print(f"escalate median {statistics.median(before) * 1000:.1f} ms before, "
                  f"{statistics.median(during) * 1000:.1f} ms while the receiver hangs")  # fmt: skip
            assert max(during) < 1.0
            assert statistics.median(during) < 3 * statistics.median(before) + 0.1
