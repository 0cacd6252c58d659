"""Offline sync on PostgreSQL: push throughput against raw inserts, pull time against table size.

1. **Push.** ``daiban serve`` runs in a subprocess on loopback over a scratch database;
   several devices (village agents, each registered like a phone) push batches of
   operations at once — creates, and edits of cases their earlier batches made — as JSON
   through ``POST /api/v1/sync/push``. Result: operations per second, wall clock.
2. **Baseline.** The same number of connections insert, with raw asyncpg ``executemany``
   and one transaction per batch, the rows a create leaves behind: a ``case_file`` row, a
   ``case_event`` row and a ``sync_op`` row of the very shapes the server writes. Result:
   such row sets per second. Push rounds and baseline rounds take turns (this machine's
   speed drifts from one second to the next); ``push ratio`` is the median push rate over
   the median baseline rate.
3. **Pull.** Two more scratch databases hold 10,000 and 1,000,000 cases, loaded with
   binary COPY and spread over the network's units (most closed long ago, as in a
   network that has run for years). One village agent has the same few hundred open
   cases in both, so only the size of the table differs. A second device of that agent
   edits 100 of them through the API, then the timed device pulls from its previous
   cursor until it has everything (through HTTP, scope checksum included). Each database
   has its own server; the samples alternate between the two. ``pull ratio`` is the 1M
   median over the 10k median. The scans PostgreSQL picks for the pull's page and scope
   queries (``EXPLAIN`` of the server's own queries) are printed beside the timings.

4. **Initial sync.** A new device of a village agent whose scope holds 2,000 cases signs
   in and registers (untimed), then its first ``sync()`` through the real client is timed:
   every page pulled and written to the replica, the scope checksum compared. Fresh
   replica each run; ``initial sync: X s`` is the median (goal: at most 2 s).
5. **Large scope.** Two databases of the same size; in one the pulling village's scope
   holds 400 cases, in the other 50,000. 100 of them change before each pull, as in 3.
   ``large scope pull ratio`` is the 50,000 median over the 400 median: a pull should
   cost what changed, not what the scope holds (goal: at most 1.5).

    python bench/sync.py [--dsn postgresql://root@127.0.0.1:5432/test] [--devices 4]
                         [--rounds 5 --batches 10] [--small 10000 --large 1000000]
                         [--initial 2000] [--large-scope 50000] [--parts push,pull,initial,scope]

The last lines are ``initial sync: X s``, then ``push ratio``, ``pull ratio`` and
``large scope pull ratio``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where this file's own name would
# shadow the ``sync`` package; the repository root belongs there instead.
_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import msgspec  # noqa: E402

from hierarchy.cases import Actor  # noqa: E402
from hierarchy.roles import Role  # noqa: E402
from hierarchy.tree import Level  # noqa: E402
from hierarchy.validation import make_resident_id  # noqa: E402
from server import db  # noqa: E402
from server.cases import case_ref, new_case_values  # noqa: E402
from server.seed import seed_network  # noqa: E402
from server.settings import load_settings  # noqa: E402
from sync import wire  # noqa: E402
from sync.hlc import HLC  # noqa: E402

ROOT = _HERE.parent
DEFAULT_DSN = os.environ.get("DAIBAN_BENCH_PG", "postgresql://root@127.0.0.1:5432/test")
DEFAULT_DATABASE = "daiban_bench_sync"
ITEM = "N01-newborn-birth"
#: The agent whose device pulls: a village, so its scope is small.
PULL_VILLAGE = "640502100002"
#: Rows per COPY.
COPY_BATCH = 50_000
NOW = datetime.now(UTC)


# --- databases and servers ---------------------------------------------------------------


def database_url(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


async def _admin(dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def create_seeded(dsn: str, name: str) -> str:
    """Drop and create database ``name``, migrate and seed it; its URL."""
    await _admin(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    url = database_url(dsn, name)
    settings = load_settings({}, database_url=url)
    engine = db.connect(settings)
    await db.start(engine)
    try:
        await db.migrate(engine)
        await seed_network(settings.demo_password)
    finally:
        await db.stop(engine)
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(url: str, log: Path) -> Iterator[str]:
    """``daiban serve`` over ``url`` in a subprocess on loopback; yields its base URL."""
    port = free_port()
    env = {**os.environ, "DAIBAN_DATABASE_URL": url, "DAIBAN_EMBEDDED_JOBS": "0", "DAIBAN_REDIS_URL": ""}
    daiban = Path(sys.executable).parent / "daiban"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(daiban), "serve", "--no-migrate", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {log}")
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- devices -------------------------------------------------------------------------------


@dataclass
class Device:
    """A registered device speaking the push/pull protocol over HTTP."""

    http: httpx.AsyncClient
    base: str
    token: str
    client_id: str
    seq: int = 0
    cursor: int = 0
    hlc: HLC = field(default_factory=lambda: HLC(node="bench"))

    @classmethod
    async def register(cls, http: httpx.AsyncClient, base: str, username: str, name: str) -> Device:
        r = await http.post(base + "/api/v1/auth/token", json={"username": username, "password": "demo"})
        r.raise_for_status()
        token = r.json()["access_token"]
        r = await http.post(base + "/api/v1/devices", json={"name": name}, headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        client_id = r.json()["client_id"]
        return cls(http, base, token, client_id, hlc=HLC(node=client_id[:8]))

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def op(self, case_id: str, kind: str, args: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        return {
            "op_id": str(uuid.uuid4()),
            "client_id": self.client_id,
            "seq": self.seq,
            "case_id": case_id,
            "kind": kind,
            "args": args,
            "hlc": self.hlc.now(),
        }

    async def push(self, ops: list[dict[str, Any]]) -> None:
        body = msgspec.json.encode({"client_id": self.client_id, "ops": ops})
        r = await self.http.post(
            self.base + "/api/v1/sync/push",
            content=body,
            headers={**self.auth, "Content-Type": "application/json"},
        )
        r.raise_for_status()
        results = msgspec.json.decode(r.content)["results"]
        wrong = [x for x in results if x["result"] != "applied"]
        if wrong or len(results) != len(ops):
            raise RuntimeError(f"push: {len(wrong)} of {len(ops)} not applied, e.g. {wrong[:1]}")

    async def pull(self) -> tuple[int, int]:
        """Pull from the cursor until done: (cases received, pages)."""
        cases = pages = 0
        while True:
            r = await self.http.get(
                self.base + "/api/v1/sync/pull",
                params={"client_id": self.client_id, "cursor": self.cursor},
                headers=self.auth,
            )
            r.raise_for_status()
            page = msgspec.json.decode(r.content)
            cases += len(page["cases"])
            pages += 1
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return cases, pages


def create_args(n: int) -> dict[str, Any]:
    return {
        "kind": "service",
        "item_code": ITEM,
        "title": "新生儿出生一件事",
        "applicant": {"type": "person", "name": "马玉兰", "resident_id": resident(n), "phone": "13895512345"},
        "groups": [],
        "service_mode": "assist",
    }


def resident(n: int) -> str:
    return make_resident_id(f"64050219800101{n % 1000:03d}")


# --- 1. push through the API -----------------------------------------------------------------


async def villages(url: str, count: int, skip: str) -> list[str]:
    """``count`` village codes spread over the network (not ``skip``)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT code FROM unit WHERE level = $1 AND code <> $2 ORDER BY code", "village", skip)
    finally:
        await conn.close()
    codes = [r["code"] for r in rows]
    step = max(1, len(codes) // count)
    return codes[::step][:count]


@dataclass
class Pusher:
    """A device making batches: creates, and edits of cases its earlier batches made."""

    device: Device
    size: int
    edit_share: float
    serial: Iterator[int]
    mine: list[str] = field(default_factory=list)
    creates: int = 0
    edits: int = 0

    def batch(self) -> list[dict[str, Any]]:
        n_edit = min(int(self.size * self.edit_share), len(self.mine))
        ops = [
            self.device.op(case_id, "edit", {"description": f"补充材料 {self.device.seq}"})
            for case_id in random.sample(self.mine, n_edit)
        ]
        fresh = [str(uuid.uuid4()) for _ in range(self.size - n_edit)]
        ops.extend(self.device.op(cid, "create", create_args(next(self.serial))) for cid in fresh)
        self.mine.extend(fresh)
        self.creates += len(fresh)
        self.edits += n_edit
        return ops


async def push_round(pushers: list[Pusher], batches: int) -> tuple[int, float]:
    """Every device pushes ``batches`` batches, all devices at once: (operations, seconds)."""
    # Made up front: the clock measures the server, not the making of requests.
    plans = [[p.batch() for _ in range(batches)] for p in pushers]

    async def one(pusher: Pusher, plan: list[list[dict[str, Any]]]) -> None:
        for ops in plan:
            await pusher.device.push(ops)

    start = time.perf_counter()
    await asyncio.gather(*(one(p, plan) for p, plan in zip(pushers, plans, strict=True)))
    return sum(len(ops) for plan in plans for ops in plan), time.perf_counter() - start


# --- 2. the baseline: raw executemany of the same rows ---------------------------------------

_CASE_COLUMNS = [
    "id", "ref", "kind", "item_code", "title", "description", "applicant", "groups", "service_mode", "project",
    "origin_unit", "origin_path", "owner_unit", "owner_path", "created_by", "assignee_id", "status", "priority",
    "materials", "accepted_at", "due_at", "promised_days", "open_weekends", "sla_events", "queued_at",
    "last_from_unit", "last_from_path", "escalations", "returns", "reopens", "extension", "rating",
    "rating_comment", "review", "holders", "version", "change_seq", "created_at", "updated_at", "resolved_at",
    "closed_at", "flags",
]  # fmt: skip
_JSON = {"applicant", "groups", "project", "materials", "sla_events", "extension", "review", "holders", "flags"}
_EVENT_COLUMNS = ["case_id", "version", "action", "actor_id", "actor_unit", "reason", "before", "after", "at"]
_OP_COLUMNS = ["op_id", "client_id", "seq", "case_id", "kind", "result", "code", "message", "at"]
Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def _insert_sql(table: str, columns: list[str]) -> str:
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


_BASELINE_SQL = (
    _insert_sql("case_file", _CASE_COLUMNS),
    _insert_sql("case_event", _EVENT_COLUMNS),
    _insert_sql("sync_op", _OP_COLUMNS),
)


@dataclass
class Baseline:
    """Writers inserting, per batch and in one transaction, the rows of creates."""

    pool: asyncpg.Pool
    connections: int
    size: int
    actor: Actor
    unit: dict[str, Any]
    city: dict[str, Any]
    item: dict[str, Any]
    serial: Iterator[int]

    @classmethod
    async def open(cls, url: str, connections: int, size: int) -> Baseline:
        conn = await asyncpg.connect(url)
        try:
            unit = await conn.fetchrow("SELECT code, path, open_weekends FROM unit WHERE code = $1", PULL_VILLAGE)
            city = await conn.fetchrow("SELECT code, path, open_weekends FROM unit WHERE level = 'city'")
            item = await conn.fetchrow("SELECT code, materials, promised_days, name FROM item WHERE code = $1", ITEM)
            agent = await conn.fetchval("SELECT id FROM agent WHERE username = $1", f"a{PULL_VILLAGE}")
        finally:
            await conn.close()
        if unit is None or city is None or item is None or agent is None:
            raise RuntimeError(f"the database lacks the seeded village {PULL_VILLAGE}, city or item {ITEM}")
        actor = Actor(id=agent, unit_code=unit["code"], unit_path=unit["path"], role=Role.VILLAGE_AGENT,
                      level=Level.VILLAGE, username=f"a{PULL_VILLAGE}")  # fmt: skip
        pool = await asyncpg.create_pool(url, min_size=connections, max_size=connections)
        item_row = {**dict(item), "materials": msgspec.json.decode(item["materials"])}
        return cls(pool, connections, size, actor, dict(unit), dict(city), item_row, iter(range(10**9)))

    def rows(self, client_id: uuid.UUID, first_seq: int) -> Rows:
        """One batch: the case_file, case_event and sync_op rows the server writes for creates."""
        cases, events, ops = [], [], []
        for i in range(self.size):
            n = next(self.serial)
            data = msgspec.convert({"id": str(uuid.uuid4()), **create_args(n)}, wire.CaseCreate)
            values = new_case_values(self.actor, data, NOW, self.item, self.unit, self.city)
            values.update(ref=case_ref(NOW, 500_000 + n), change_seq=10**9 + n)
            cases.append(
                tuple(msgspec.json.encode(values[c]).decode() if c in _JSON else values[c] for c in _CASE_COLUMNS)
            )
            after = msgspec.json.encode({"status": values["status"], "owner_unit": values["owner_unit"]}).decode()
            events.append((data.id, 1, "create", self.actor.id, self.unit["code"], "", "{}", after, NOW))
            ops.append((uuid.uuid4(), client_id, first_seq + i, data.id, "create", "applied", "", "", NOW))
        return cases, events, ops

    async def round(self, batches: int) -> tuple[int, float]:
        """Each writer inserts ``batches`` batches, all at once: (row sets, seconds)."""
        plans = [[self.rows(uuid.uuid4(), b * self.size + 1) for b in range(batches)] for _ in range(self.connections)]

        async def writer(plan: list[Rows]) -> None:
            async with self.pool.acquire() as c:
                for batch in plan:
                    async with c.transaction():
                        for statement, records in zip(_BASELINE_SQL, batch, strict=True):
                            await c.executemany(statement, records)

        start = time.perf_counter()
        await asyncio.gather(*(writer(plan) for plan in plans))
        return self.connections * batches * self.size, time.perf_counter() - start


@dataclass
class PushBench:
    push_rates: list[float]
    base_rates: list[float]
    creates: int
    edits: int

    @property
    def ratio(self) -> float:
        return statistics.median(self.push_rates) / statistics.median(self.base_rates)


async def bench_push(url: str, log: Path, args: argparse.Namespace) -> PushBench:
    """Push rounds and baseline rounds in turns, so that the machine's drift hits both."""
    push_rates: list[float] = []
    base_rates: list[float] = []
    with serving(url, log) as base:
        async with httpx.AsyncClient(timeout=120) as http:
            serial = iter(range(10**9))
            pushers = [
                Pusher(await Device.register(http, base, f"a{code}", f"bench {code}"), args.batch_size,
                       args.edit_share, serial)
                for code in await villages(url, args.devices, PULL_VILLAGE)
            ]  # fmt: skip
            baseline = await Baseline.open(url, args.devices, args.batch_size)
            try:
                await push_round(pushers, 1)  # warm-up: connections, statement caches
                await baseline.round(1)
                creates = sum(p.creates for p in pushers)
                edits = sum(p.edits for p in pushers)
                for _ in range(args.rounds):
                    ops, seconds = await push_round(pushers, args.batches)
                    push_rates.append(ops / seconds)
                    rows, seconds = await baseline.round(args.batches)
                    base_rates.append(rows / seconds)
            finally:
                await baseline.pool.close()
    return PushBench(
        push_rates,
        base_rates,
        creates=sum(p.creates for p in pushers) - creates,
        edits=sum(p.edits for p in pushers) - edits,
    )


# --- 3. pull with a small and a large table ------------------------------------------------


@dataclass
class Network:
    """What the bulk loader needs to know about the seeded network."""

    units: list[tuple[str, str]]  # (code, path) of every unit but the pulling village
    agents: dict[str, int]  # unit code -> its a<code> agent
    village: tuple[str, str]
    agent: int


async def network(conn: asyncpg.Connection) -> Network:
    rows = await conn.fetch("SELECT code, path FROM unit ORDER BY code")
    agents = {r["username"][1:]: r["id"] for r in await conn.fetch("SELECT id, username FROM agent")}
    village = next((r["code"], r["path"]) for r in rows if r["code"] == PULL_VILLAGE)
    units = [(r["code"], r["path"]) for r in rows if r["code"] != PULL_VILLAGE]
    return Network(units=units, agents=agents, village=village, agent=agents[PULL_VILLAGE])


_LOAD_COLUMNS = (
    "id", "ref", "kind", "item_code", "title", "applicant", "origin_unit", "origin_path", "owner_unit",
    "owner_path", "created_by", "assignee_id", "status", "priority", "materials", "accepted_at", "due_at",
    "promised_days", "queued_at", "holders", "version", "change_seq", "created_at", "updated_at", "resolved_at",
    "closed_at",
)  # fmt: skip


def bulk_cases(
    net: Network, count: int, mine: int, first_seq: int, rng: random.Random
) -> Iterator[tuple[tuple[Any, ...], tuple[uuid.UUID, int]]]:
    """``count`` case records (and their holder record), ``mine`` of them open at the village.

    The village's cases are scattered among the others so that their change numbers are too;
    nine in ten of the others were closed long before the sync retention window.
    """
    applicant = msgspec.json.encode({"type": "person", "name": "马玉兰", "resident_id": resident(1)}).decode()
    materials = msgspec.json.encode([{"code": "birth-cert", "name": "出生医学证明", "state": "missing"}]).decode()
    at_village = set(rng.sample(range(count), mine))
    for n in range(count):
        case_id = uuid.uuid4()
        if n in at_village:
            (code, path), agent, closed = net.village, net.agent, False
        else:
            code, path = net.units[rng.randrange(len(net.units))]
            agent, closed = net.agents.get(code, 1), rng.random() < 0.9
        accepted = NOW - timedelta(days=400 if closed else 3, minutes=n % 1440)
        done = accepted + timedelta(days=2) if closed else None
        record = (
            case_id, f"BK-{first_seq + n}", "service", ITEM, "新生儿出生一件事", applicant, code, path, code, path,
            agent, agent, "closed" if closed else "in_progress", 0, materials, accepted, accepted + timedelta(days=5),
            5, accepted, f"[{agent}]", 1, first_seq + n, accepted, done or accepted, done, done,
        )  # fmt: skip
        yield record, (case_id, agent)


async def load_cases(url: str, count: int, mine: int, seed: int) -> float:
    """COPY ``count`` cases (and holders) into the database at ``url``; seconds taken."""
    start = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        net = await network(conn)
        head = int(await conn.fetchval("SELECT coalesce(max(value), 0) FROM counter WHERE name = 'change'") or 0)
        stream = bulk_cases(net, count, mine, head + 1, random.Random(seed))
        while True:
            batch = [row for _, row in zip(range(COPY_BATCH), stream, strict=False)]
            if not batch:
                break
            async with conn.transaction():
                await conn.copy_records_to_table("case_file", records=[c for c, _ in batch], columns=_LOAD_COLUMNS)
                await conn.copy_records_to_table(
                    "case_holder", records=[h for _, h in batch], columns=("case_id", "agent_id")
                )
        await conn.execute(
            "INSERT INTO counter (name, value) VALUES ('change', $1) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            head + count,
        )
        await conn.execute("VACUUM ANALYZE case_file")
        await conn.execute("VACUUM ANALYZE case_holder")
    finally:
        await conn.close()
    return time.perf_counter() - start


@dataclass
class PullSide:
    label: str
    cases: int
    base: str
    puller: Device
    changer: Device
    mine: list[str]
    samples: list[float] = field(default_factory=list)
    pulled: set[int] = field(default_factory=set)

    async def change(self, n: int, run: int) -> None:
        """Edit ``n`` of the village's cases from the agent's other device (untimed)."""
        chosen = random.sample(self.mine, n)
        await self.changer.push(
            [self.changer.op(cid, "edit", {"description": f"第{run}轮回访：材料已补齐"}) for cid in chosen]
        )

    async def timed_pull(self) -> None:
        start = time.perf_counter()
        cases, _ = await self.puller.pull()
        self.samples.append(time.perf_counter() - start)
        self.pulled.add(cases)


async def bench_pull(
    urls: dict[str, str], sizes: dict[str, int], log: Path, changes: int, runs: int
) -> dict[str, PullSide]:
    """Median incremental-pull time on each database, the samples alternating."""
    sides: dict[str, PullSide] = {}
    with serving(urls["small"], log) as small, serving(urls["large"], log) as large:
        async with httpx.AsyncClient(timeout=120) as http:
            for label, base in (("small", small), ("large", large)):
                user = f"a{PULL_VILLAGE}"
                puller = await Device.register(http, base, user, "村部平板")
                changer = await Device.register(http, base, user, "村部手机")
                conn = await asyncpg.connect(urls[label])
                try:
                    mine = [
                        str(r["id"])
                        for r in await conn.fetch(
                            "SELECT id FROM case_file WHERE owner_unit = $1 AND status = 'in_progress'", PULL_VILLAGE
                        )
                    ]
                finally:
                    await conn.close()
                side = PullSide(label, sizes[label], base, puller, changer, mine)
                await puller.pull()  # the first, full pull: the device now holds its scope
                for run in range(2):  # warm-up
                    await side.change(changes, -run)
                    await puller.pull()
                sides[label] = side
            order = list(sides.values())
            for run in range(runs):
                for side in order[run % 2 :] + order[: run % 2]:
                    await side.change(changes, run)
                    await side.timed_pull()
    for side in sides.values():
        if side.pulled != {changes}:
            raise RuntimeError(f"{side.label}: pulls brought {side.pulled} cases, expected {changes}")
    return sides


async def pull_plans(url: str, changes: int) -> dict[str, str]:
    """The scans PostgreSQL chooses for the pull's page and scope queries, built by the
    server's own code (``EXPLAIN`` with the parameters of an incremental pull)."""
    from server.sync import _scope
    from server.tables import Case

    db.connect(load_settings({}, database_url=url))  # binds the tables; no pool needed to compile
    conn = await asyncpg.connect(url)
    try:
        agent = await conn.fetchrow(
            "SELECT a.id, a.unit_code, u.path FROM agent a JOIN unit u ON u.code = a.unit_code WHERE a.username = $1",
            f"a{PULL_VILLAGE}",
        )
        if agent is None:
            raise RuntimeError(f"no agent a{PULL_VILLAGE}")
        head = int(await conn.fetchval("SELECT value FROM counter WHERE name = 'change'"))
        actor = Actor(id=agent["id"], unit_code=agent["unit_code"], unit_path=agent["path"], role=Role.VILLAGE_AGENT,
                      level=Level.VILLAGE, username=f"a{PULL_VILLAGE}")  # fmt: skip
        scope = _scope(actor, datetime.now(UTC))
        queries = {
            "page": Case.select()
            .where(scope & (Case.change_seq > head - changes) & (Case.change_seq <= head))
            .order_by(Case.change_seq)
            .limit(201),
            "scope": Case.select(Case.id, Case.version).where(scope),
        }
        plans = {}
        for name, query in queries.items():
            sql, params = query.querystrings[0].compile_string(engine_type="postgres")
            plan = json.loads(await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *params))
            plans[name] = plan_summary(plan)
        return plans
    finally:
        await conn.close()


def plan_summary(plan: Any) -> str:
    """The scan nodes of a JSON plan: 'Index Scan case_file_change_seq', 'Seq Scan' …"""
    found: list[str] = []
    stack = [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        if "Scan" in node["Node Type"]:
            found.append(" ".join(filter(None, (node["Node Type"], node.get("Index Name")))))
        stack.extend(reversed(node.get("Plans", [])))
    return ", ".join(found) or plan[0]["Plan"]["Node Type"]


async def bench_initial(dsn: str, name: str, log: Path, scope: int, runs: int, seed: int) -> list[float]:
    """Seconds for a new device's first sync of a ``scope``-case village scope, through the
    real client (sign-in and registration untimed; pulling, writing the replica and the
    checksum timed), each run with a fresh replica."""
    from sync.client import SyncClient

    url = await create_seeded(dsn, name)
    await load_cases(url, scope + 2_000, scope, seed)
    samples: list[float] = []
    with serving(url, log) as base, tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            device = SyncClient.open(Path(tmp) / f"device{run}.sqlite", timeout=120)
            await device.init(base, f"a{PULL_VILLAGE}", "demo", f"新平板 {run}")
            start = time.perf_counter()
            report = await device.sync()
            samples.append(time.perf_counter() - start)
            await device.close()
            if report.pulled != scope or not report.checksum_ok:
                raise RuntimeError(f"initial sync brought {report.pulled} cases (checksum ok: {report.checksum_ok})")
    return samples


# --- entry point -------------------------------------------------------------------------------


def _database_name(value: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,50}", value):
        raise argparse.ArgumentTypeError("use at most 51 lower-case letters, digits and _")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/sync.py",
        description="Time offline sync on PostgreSQL: push throughput through the HTTP API against raw "
        "asyncpg inserts of the same rows, and incremental pulls with 10k and 1M cases in the database.",
    )
    parser.add_argument(
        "--dsn",
        default=DEFAULT_DSN,
        help="PostgreSQL server; its database is only used to create and drop the scratch ones "
        "(default: $DAIBAN_BENCH_PG or %(default)s)",
    )
    parser.add_argument(
        "--database",
        type=_database_name,
        default=DEFAULT_DATABASE,
        help="scratch database for the push; the pull uses <name>_small and <name>_large; all "
        "dropped and re-created each run (default: %(default)s)",
    )
    parser.add_argument("--devices", type=int, default=4, help="devices pushing at once (default: %(default)s)")
    parser.add_argument(
        "--batches", type=int, default=10, help="pushes per device in each round (default: %(default)s)"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="push rounds, each followed by a baseline round (default: %(default)s)"
    )
    parser.add_argument("--batch-size", type=int, default=200, help="operations per push (default: %(default)s)")
    parser.add_argument(
        "--edit-share",
        type=float,
        default=0.1,
        help="share of edits in each push after the first (default: %(default)s)",
    )
    parser.add_argument("--small", type=int, default=10_000, help="cases in the small database (default: %(default)s)")
    parser.add_argument(
        "--large", type=int, default=1_000_000, help="cases in the large database (default: %(default)s)"
    )
    parser.add_argument(
        "--scope", type=int, default=400, help="open cases of the pulling village in both (default: %(default)s)"
    )
    parser.add_argument(
        "--changes", type=int, default=100, help="cases changed before each pull (default: %(default)s)"
    )
    parser.add_argument("--runs", type=int, default=15, help="timed pulls per database (default: %(default)s)")
    parser.add_argument(
        "--seed", type=int, default=20261126, help="random seed of the bulk data (default: %(default)s)"
    )
    parser.add_argument(
        "--initial", type=int, default=2_000, help="scope of the device timed on its first sync (default: %(default)s)"
    )
    parser.add_argument(
        "--large-scope",
        type=int,
        default=50_000,
        help="the village scope compared with --scope for the large scope pull ratio (default: %(default)s)",
    )
    parser.add_argument(
        "--parts",
        default="push,pull,initial,scope",
        help="which parts to run, comma-separated (default: %(default)s)",
    )
    parser.add_argument("--keep", action="store_true", help="leave the scratch databases behind")
    args = parser.parse_args(argv)
    if not 0 < args.changes <= args.scope:
        parser.error("--changes must be between 1 and --scope")
    if not args.scope < args.small <= args.large:
        parser.error("need --scope < --small <= --large")
    if min(args.devices, args.batches, args.batch_size, args.runs, args.rounds) < 1:
        parser.error("--devices, --batches, --batch-size, --rounds and --runs must be at least 1")
    return args


async def run(args: argparse.Namespace) -> None:
    random.seed(args.seed)
    parts = set(args.parts.split(","))
    names = {
        "push": args.database, "small": f"{args.database}_small", "large": f"{args.database}_large",
        "initial": f"{args.database}_initial", "scope_small": f"{args.database}_scope_small",
        "scope_large": f"{args.database}_scope_large",
    }  # fmt: skip
    log = Path(tempfile.mkstemp(prefix="daiban-bench-sync-", suffix=".log")[1])
    print(f"PostgreSQL databases {', '.join(names.values())}; server log {log}", flush=True)
    ratios: dict[str, float] = {}
    try:
        if "push" in parts:
            push_url = await create_seeded(args.dsn, names["push"])
            push = await bench_push(push_url, log, args)
            ops = push.creates + push.edits
            print(
                f"push:     {args.rounds} rounds of {ops // args.rounds:,} operations "
                f"({push.creates // args.rounds:,} creates, {push.edits // args.rounds:,} edits), {args.devices} "
                f"devices at once, {args.batch_size} per push: {' '.join(f'{r:,.0f}' for r in push.push_rates)} "
                f"ops/s, median {statistics.median(push.push_rates):,.0f}",
                flush=True,
            )
            print(
                f"baseline: raw asyncpg executemany of case_file + case_event + sync_op rows, {args.devices} "
                f"connections, one transaction per {args.batch_size}: "
                f"{' '.join(f'{r:,.0f}' for r in push.base_rates)} row sets/s, "
                f"median {statistics.median(push.base_rates):,.0f}",
                flush=True,
            )
            ratios["push ratio"] = push.ratio
        if "pull" in parts:
            urls = {label: await create_seeded(args.dsn, names[label]) for label in ("small", "large")}
            sizes = {"small": args.small, "large": args.large}
            for label in ("small", "large"):
                seconds = await load_cases(urls[label], sizes[label], args.scope, args.seed)
                print(f"loaded:   {sizes[label]:,} cases into {names[label]} with COPY in {seconds:.1f} s", flush=True)
            sides = await bench_pull(urls, sizes, log, args.changes, args.runs)
            for label, side in sides.items():
                plans = await pull_plans(urls[label], args.changes)
                ms = sorted(1000 * s for s in side.samples)
                print(
                    f"pull:     {args.changes} changes, {side.cases:,} cases in the database: median "
                    f"{statistics.median(ms):.1f} ms (min {ms[0]:.1f}, max {ms[-1]:.1f}, {len(ms)} runs)",
                    flush=True,
                )
                print(f"          plans: page query {plans['page']}; scope query {plans['scope']}", flush=True)
            ratios["pull ratio"] = statistics.median(sides["large"].samples) / statistics.median(
                sides["small"].samples
            )
        if "initial" in parts:
            samples = await bench_initial(args.dsn, names["initial"], log, args.initial, 3, args.seed)
            print(
                f"initial:  a new device's first sync of a {args.initial:,}-case scope: "
                f"{' '.join(f'{x:.2f}' for x in samples)} s",
                flush=True,
            )
            print(f"initial sync: {statistics.median(samples):.2f} s")
        if "scope" in parts:
            # The same database size around each scope, so that only the scope differs.
            scopes = {"small": args.scope, "large": args.large_scope}
            urls = {label: await create_seeded(args.dsn, names[f"scope_{label}"]) for label in scopes}
            sizes = {label: args.large_scope + 10_000 for label in scopes}
            for label, mine in scopes.items():
                seconds = await load_cases(urls[label], sizes[label], mine, args.seed)
                print(f"loaded:   {sizes[label]:,} cases, {mine:,} in the village's scope: {seconds:.1f} s", flush=True)
            sides = await bench_pull(urls, sizes, log, args.changes, args.runs)
            for label, side in sides.items():
                ms = sorted(1000 * s for s in side.samples)
                print(
                    f"scope:    {args.changes} changes in a {scopes[label]:,}-case scope: median "
                    f"{statistics.median(ms):.1f} ms (min {ms[0]:.1f}, max {ms[-1]:.1f}, {len(ms)} runs)",
                    flush=True,
                )
            ratios["large scope pull ratio"] = statistics.median(sides["large"].samples) / statistics.median(
                sides["small"].samples
            )
    finally:
        if not args.keep:
            for name in names.values():
                await _admin(args.dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for label, ratio in ratios.items():
        print(f"{label}: {ratio:.2f}")


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
