"""A cluster on loopback: HAProxy (deploy/haproxy.cfg) in front of several ``daiban serve``
processes and ``daiban worker`` processes on one PostgreSQL and one Redis — and a mixed
load of village devices and online agents to run through it.

Used by the cluster test (bounded) and by ``bench/cluster.py`` (longer, and the scale ratio).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
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
        self.proxy_port = free_port()
        cfg = self.workdir / "haproxy.cfg"
        cfg.write_text(loopback_haproxy_config(self.proxy_port, self.api_ports))
        log = self.workdir / "haproxy.log"
        with log.open("ab") as out:
            self.proxy = subprocess.Popen([self.haproxy, "-db", "-f", str(cfg)], stdout=out, stderr=out)
        _wait_http(self.url + "/ready", self.proxy, log)
        # Both backends up in HAProxy's eyes (it starts them up, then probes each second).
        time.sleep(1.5)
        return self

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
        procs = [p for p in (*self.api_procs, *self.worker_procs, self.proxy) if p is not None and p.poll() is None]
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

    def __init__(self, http: httpx.AsyncClient, username: str, tally: Tally, rng: random.Random) -> None:
        self.http, self.username, self.tally, self.rng = http, username, tally, rng
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

    async def run_until(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            roll = self.rng.random()
            kind = "create" if roll < 0.2 else "push" if roll < 0.5 else "read"
            self.tally.by_kind[kind] = self.tally.by_kind.get(kind, 0) + 1
            await getattr(self, {"create": "create_online", "push": "push", "read": "read"}[kind])()


async def run_load(
    base: str, usernames: list[str], seconds: float, tally: Tally, seed: int = 17, started: asyncio.Event | None = None
) -> None:
    """Every username is one client, all at once, for ``seconds`` (counted from when all are
    signed in, which sets ``started``); then each flushes its outbox."""
    limits = httpx.Limits(max_connections=len(usernames) * 2, max_keepalive_connections=len(usernames) * 2)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        clients = [Client(http, name, tally, random.Random(seed + i)) for i, name in enumerate(usernames)]
        await asyncio.gather(*(c.sign_in() for c in clients))
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
