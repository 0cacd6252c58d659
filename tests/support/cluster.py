"""A cluster on loopback: HAProxy (deploy/haproxy.cfg) in front of several ``daiban serve``
processes and ``daiban worker`` processes on one PostgreSQL and one Redis — and a mixed
load of village devices and online agents to run through it.

Used by the cluster test (bounded) and by ``bench/cluster.py`` (longer, and the scale ratio).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import httpx
from arq.connections import RedisSettings, create_pool
from live import free_port
from processes import DAIBAN, ROOT

from hierarchy.validation import make_resident_id

HAPROXY_CFG = ROOT / "deploy" / "haproxy.cfg"


def loopback_haproxy_config(port: int, backends: list[int]) -> str:
    """deploy/haproxy.cfg as it is, but listening on ``port`` and sending to loopback ports."""
    text = HAPROXY_CFG.read_text()
    text = re.sub(r"(?ms)^resolvers docker\n.*?(?=^\S)", "", text)
    text = text.replace(" resolvers docker", "")
    text = re.sub(r"(?m)^    bind :\d+$", f"    bind 127.0.0.1:{port}", text)
    text = re.sub(r"(?m)^    server .*\n", "", text)
    servers = "".join(f"    server api{i + 1} 127.0.0.1:{p} check\n" for i, p in enumerate(backends))
    return text.rstrip("\n") + "\n" + servers


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout}s; see {log}")


@dataclass
class Cluster:
    """Processes started by :meth:`start`, stopped by :meth:`stop` (or the ``running`` block)."""

    database_url: str
    redis_url: str
    workdir: Path
    apis: int = 2
    workers: int = 2
    haproxy: str = "haproxy"
    api_ports: list[int] = field(default_factory=list)
    api_procs: list[subprocess.Popen[bytes] | None] = field(default_factory=list)
    worker_procs: list[subprocess.Popen[bytes] | None] = field(default_factory=list)
    proxy: subprocess.Popen[bytes] | None = None
    proxy_port: int = 0
    extra_proxies: list[subprocess.Popen[bytes]] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DAIBAN_DATABASE_URL": self.database_url,
            "DAIBAN_REDIS_URL": self.redis_url,
            "DAIBAN_LOG_FORMAT": "json",
            "DAIBAN_EMBEDDED_JOBS": "0",
            "DAIBAN_SHUTDOWN_TIMEOUT": "5",
            **self.extra_env,
        }

    def _spawn(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            return subprocess.Popen([str(DAIBAN), *args], cwd=ROOT, env=self.env(), stdout=out, stderr=out)

    def spawn_api(self, i: int) -> subprocess.Popen[bytes]:
        port = self.api_ports[i]
        proc = self._spawn(["serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)],
                           self.workdir / f"api{i + 1}.log")  # fmt: skip
        self.api_procs[i] = proc
        return proc

    def wait_api(self, i: int) -> None:
        proc = self.api_procs[i]
        assert proc is not None
        _wait_http(f"http://127.0.0.1:{self.api_ports[i]}/ready", proc, self.workdir / f"api{i + 1}.log")

    def start_worker(self, i: int) -> None:
        self.worker_procs[i] = self._spawn(["worker"], self.workdir / f"worker{i + 1}.log")

    def start(self) -> Cluster:
        self.api_ports = [free_port() for _ in range(self.apis)]
        self.api_procs = [None] * self.apis
        self.worker_procs = [None] * self.workers
        for i in range(self.apis):
            self.spawn_api(i)
        for i in range(self.workers):
            self.start_worker(i)
        for i in range(self.apis):
            self.wait_api(i)
        self.proxy_port, self.proxy = self._haproxy("haproxy", self.api_ports)
        return self

    def _haproxy(self, name: str, backends: list[int]) -> tuple[int, subprocess.Popen[bytes]]:
        port = free_port()
        cfg = self.workdir / f"{name}.cfg"
        cfg.write_text(loopback_haproxy_config(port, backends))
        log = self.workdir / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen([self.haproxy, "-db", "-f", str(cfg)], stdout=out, stderr=out)
        _wait_http(f"http://127.0.0.1:{port}/ready", proc, log)
        # Every backend up in HAProxy's eyes (it starts them up, then probes each second).
        time.sleep(1.5)
        return port, proc

    def proxy_to(self, apis: list[int]) -> str:
        """One more HAProxy, in front of only these API processes (by index); its URL."""
        port, proc = self._haproxy(f"haproxy-{'-'.join(map(str, apis))}", [self.api_ports[i] for i in apis])
        self.extra_proxies.append(proc)
        return f"http://127.0.0.1:{port}"

    def kill_api(self, i: int) -> None:
        proc = self.api_procs[i]
        assert proc is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def restart_api(self, i: int) -> None:
        """Start it again (on the same port); :meth:`wait_api` waits until it is ready."""
        self.spawn_api(i)

    def kill_worker(self, i: int) -> None:
        proc = self.worker_procs[i]
        assert proc is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.worker_procs[i] = None

    def stop(self) -> None:
        everything = (*self.api_procs, *self.worker_procs, self.proxy, *self.extra_proxies)
        procs = [p for p in everything if p is not None and p.poll() is None]
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    @contextmanager
    def running(self) -> Iterator[Cluster]:
        try:
            yield self.start()
        finally:
            self.stop()


# --- the load --------------------------------------------------------------------------------

RETRY_STATUS = {502, 503, 504}


@dataclass
class Tally:
    """What the clients saw. ``errors`` are requests that failed even after the client's own
    retries; ``first_failures`` failed at the first attempt (what the proxy did not absorb)."""

    requests: int = 0
    first_failures: int = 0
    errors: int = 0
    acked_cases: set[str] = field(default_factory=set)
    acked_ops: set[str] = field(default_factory=set)
    by_kind: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    first_failure_reasons: list[str] = field(default_factory=list)

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def first_failure_rate(self) -> float:
        return self.first_failures / self.requests if self.requests else 0.0


def _applicant(n: int) -> dict[str, Any]:
    rid = make_resident_id(f"64050219800101{n % 1000:03d}")
    return {"type": "person", "name": "马玉兰", "resident_id": rid, "phone": "13895512345"}


def case_body(n: int) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "kind": "service", "item_code": "N01-newborn-birth", "title": "新生儿出生一件事",
            "applicant": _applicant(n), "groups": [], "service_mode": "assist"}  # fmt: skip


class Client:
    """One signed-in agent with one device: creates online, pushes from its outbox, reads."""

    #: Share of each kind of request (the cluster test's mix; the national bench pulls more).
    MIX: ClassVar[dict[str, float]] = {"create": 0.2, "push": 0.3, "read": 0.5}

    def __init__(
        self, http: httpx.AsyncClient, username: str, tally: Tally, rng: random.Random,
        mix: dict[str, float] | None = None,
    ) -> None:  # fmt: skip
        self.http, self.username, self.tally, self.rng = http, username, tally, rng
        self.mix = mix or self.MIX
        self.cursor = 0
        self.auth: dict[str, str] = {}
        self.client_id = ""
        self.seq = 0
        self.outbox: list[dict[str, Any]] = []
        self.mine: list[str] = []

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """A request with up to 3 client retries on transport errors and 502/503/504."""
        self.tally.requests += 1
        for attempt in range(3):
            try:
                r = await self.http.request(method, path, headers=self.auth, **kwargs)
                if r.status_code not in RETRY_STATUS:
                    return r
                why = f"{r.status_code}"
            except httpx.TransportError as exc:
                why = f"{type(exc).__name__} {exc}"
            if attempt == 0:
                self.tally.first_failures += 1
                self.tally.first_failure_reasons.append(f"{method} {path}: {why}")
            await asyncio.sleep(0.2 * (attempt + 1))
        self.tally.errors += 1
        self.tally.failures.append(f"{method} {path}: {why}")
        return None

    async def sign_in(self) -> None:
        while True:  # a burst of sign-ins is shed with 429 auth.busy: wait as told, as apps do
            r = await self.call("POST", "/api/v1/auth/token", json={"username": self.username, "password": "demo"})
            if r is None or r.status_code != 429:
                break
            await asyncio.sleep(float(r.headers.get("retry-after", "1")) * (0.5 + self.rng.random()))
        assert r is not None and r.status_code in (200, 201), r and r.text
        self.auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = await self.call("POST", "/api/v1/devices", json={"name": "压测设备"})
        assert r is not None and r.status_code == 201, r and r.text
        self.client_id = r.json()["client_id"]

    def op(self, case_id: str, op_kind: str, **args: Any) -> dict[str, Any]:
        self.seq += 1
        hlc = f"{int(time.time() * 1000):013d}:000000:{self.client_id[:8]}"
        return {"op_id": str(uuid.uuid4()), "client_id": self.client_id, "seq": self.seq, "case_id": case_id,
                "kind": op_kind, "args": args, "hlc": hlc}  # fmt: skip

    async def create_online(self) -> None:
        body = case_body(self.rng.randrange(1000))
        r = await self.call("POST", "/api/v1/cases", json=body)
        if r is not None:
            # 200: a retry of a create that had reached the server (the same case comes back).
            assert r.status_code in (200, 201), r.text
            self.tally.acked_cases.add(body["id"])
            self.mine.append(body["id"])

    async def push(self) -> None:
        if not self.outbox:
            body = case_body(self.rng.randrange(1000))
            case_id = body.pop("id")
            self.outbox.append(self.op(case_id, "create", **body))
            if self.mine:
                self.outbox.append(self.op(self.rng.choice(self.mine), "edit", description=f"补充说明 {self.seq}"))
        r = await self.call("POST", "/api/v1/sync/push", json={"client_id": self.client_id, "ops": self.outbox})
        if r is None:
            return  # kept in the outbox, sent again next time (as a device does)
        assert r.status_code == 200, r.text
        for op, result in zip(self.outbox, r.json()["results"], strict=True):
            assert result["result"] in ("applied", "duplicate"), result
            self.tally.acked_ops.add(op["op_id"])
            if op["kind"] == "create":
                self.tally.acked_cases.add(op["case_id"])
                self.mine.append(op["case_id"])
        self.outbox = []

    async def read(self) -> None:
        if self.mine and self.rng.random() < 0.7:
            r = await self.call("GET", f"/api/v1/cases/{self.rng.choice(self.mine)}")
        else:
            r = await self.call("GET", "/api/v1/cases", params={"view": "mine"})
        if r is not None:
            assert r.status_code == 200, r.text

    async def pull(self) -> None:
        """One page of the device's sync pull from its cursor (as a device does on a signal)."""
        params = {"client_id": self.client_id, "cursor": self.cursor, "limit": 100}
        r = await self.call("GET", "/api/v1/sync/pull", params=params)
        if r is not None:
            assert r.status_code == 200, r.text
            self.cursor = r.json()["cursor"]

    async def run_until(self, deadline: float) -> None:
        kinds, weights = list(self.mix), list(self.mix.values())
        actions = {"create": self.create_online, "push": self.push, "read": self.read, "pull": self.pull}
        while time.monotonic() < deadline:
            kind = self.rng.choices(kinds, weights)[0]
            self.tally.by_kind[kind] = self.tally.by_kind.get(kind, 0) + 1
            await actions[kind]()


async def run_load(
    base: str, usernames: list[str], seconds: float, tally: Tally, seed: int = 17, started: asyncio.Event | None = None,
    mix: dict[str, float] | None = None,
) -> None:  # fmt: skip
    """Every username is one client, all at once, for ``seconds`` (counted from when all are
    signed in, which sets ``started``); then each flushes its outbox."""
    limits = httpx.Limits(max_connections=len(usernames) * 2, max_keepalive_connections=len(usernames) * 2)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        clients = [Client(http, name, tally, random.Random(seed + i), mix) for i, name in enumerate(usernames)]
        gate = asyncio.Semaphore(2)  # a server checks two passwords at a time; more only wait

        async def sign_in(client: Client) -> None:
            async with gate:
                await client.sign_in()

        await asyncio.gather(*(sign_in(c) for c in clients))
        if started is not None:
            started.set()
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(c.run_until(deadline) for c in clients))
        for c in clients:
            if c.outbox:
                await c.push()


async def lost_writes(database_url: str, tally: Tally) -> tuple[list[str], list[str]]:
    """Acknowledged cases and operations that are not in the database (should be none)."""
    conn = await asyncpg.connect(database_url)
    try:
        cases = {str(r["id"]) for r in await conn.fetch(
            "SELECT id FROM case_file WHERE id = ANY($1::uuid[])", list(tally.acked_cases))}  # fmt: skip
        ops = {str(r["op_id"]) for r in await conn.fetch(
            "SELECT op_id FROM sync_op WHERE op_id = ANY($1::uuid[])", list(tally.acked_ops))}  # fmt: skip
    finally:
        await conn.close()
    return sorted(tally.acked_cases - cases), sorted(tally.acked_ops - ops)


# --- the SLA side ------------------------------------------------------------------------------


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


async def seed_breaches(base: str, username: str, url: str, count: int) -> list[str]:
    """Cases past their due time (made online, then their clock moved two days back)."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        r = await http.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
        who = {"Authorization": f"Bearer {r.json()['access_token']}"}
        ids = []
        for n in range(count):
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

async def flush(redis_url: str) -> None:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    try:
        await pool.flushdb()
    finally:
        await pool.aclose()


# --- a run with failures ------------------------------------------------------------------------


@dataclass
class KillRun:
    """A mixed load through the proxy while one API process and one worker are killed."""

    tally: Tally
    events: list[str]
    breached: list[str]
    asked: int = 0
    escalated: dict[str, int] = field(default_factory=dict)
    missing_cases: list[str] = field(default_factory=list)
    missing_ops: list[str] = field(default_factory=list)

    async def check(self, database_url: str) -> None:
        self.missing_cases, self.missing_ops = await lost_writes(database_url, self.tally)
        self.escalated = await escalations(database_url, self.breached)

    def report(self) -> str:
        t = self.tally
        return (
            f"cluster: {t.requests} requests {t.by_kind}, {len(t.acked_cases)} cases and "
            f"{len(t.acked_ops)} operations acknowledged; {'; '.join(self.events)}; {self.asked} sweeps asked\n"
            f"client error rate: {t.error_rate:.4f} after retries ({t.errors} requests), "
            f"{t.first_failure_rate:.4f} at the first attempt ({t.first_failures}: "
            f"{sorted(set(t.first_failure_reasons))})\n"
            f"lost acknowledged writes: {len(self.missing_cases) + len(self.missing_ops)}; "
            f"breaches escalated: {sorted(set(self.escalated.values()))} time(s) each"
        )


def kill_run(
    cluster: Cluster, agents: list[str], seconds: float, breaches: int, *,
    kill_api_at: float, restart_at: float, kill_worker_at: float,
) -> KillRun:  # fmt: skip
    """``agents[0]`` makes ``breaches`` overdue cases; the others load the cluster for
    ``seconds`` while sweeps are asked for every two seconds; API process 1 is killed at
    ``kill_api_at`` seconds (after sign-in), restarted at ``restart_at``, worker 1 killed
    at ``kill_worker_at``. Call :meth:`KillRun.check` afterwards."""
    breached = asyncio.run(seed_breaches(cluster.url, agents[0], cluster.database_url, breaches))
    run = KillRun(Tally(), [], breached)

    def chaos(started: float) -> None:
        def at(second: float, what: Callable[[], None], event: str) -> None:
            time.sleep(max(0.0, started + second - time.monotonic()))
            what()
            run.events.append(f"{time.monotonic() - started:.1f}s {event}")

        at(kill_api_at, lambda: cluster.kill_api(0), "api1 killed")
        at(restart_at, lambda: cluster.restart_api(0), "api1 restarted")
        at(kill_worker_at, lambda: cluster.kill_worker(0), "worker1 killed")
        at(0, lambda: cluster.wait_api(0), "api1 ready")

    threads: list[threading.Thread] = []

    async def load_and_sweeps() -> int:
        stop, signed_in = asyncio.Event(), asyncio.Event()
        asking = asyncio.create_task(sweeps(cluster.redis_url, stop))
        loading = asyncio.create_task(run_load(cluster.url, agents[1:], seconds, run.tally, started=signed_in))
        await signed_in.wait()
        threads.append(threading.Thread(target=chaos, args=(time.monotonic(),)))
        threads[0].start()
        await loading
        stop.set()
        return await asking

    run.asked = asyncio.run(load_and_sweeps())
    threads[0].join()
    return run
