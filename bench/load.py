"""A mixed load from 200 signed-in agents on PostgreSQL, and the cost of an authenticated read.

A scratch database is seeded with the network and ``--cases`` cases (set-based SQL), plus
two queued cases at the unit of each of the ``--agents`` village agents. The API is
served by uvicorn with 2 worker processes (uvloop and httptools) on loopback; each agent
holds a bearer token and a registered device.

1. **Load.** For ``--seconds``, operations start at a fixed offered rate (``--rate`` per
   second, open loop: a slow answer does not slow the arrivals), each by a random agent:
   list (``GET /cases``), get (``GET /cases/{id}``), search (``?q=``), claim then release
   of a queued case of the agent's unit, and sync pull from the device's cursor. Printed:
   p50/p95/p99 latency per kind (from the scheduled start), the achieved rate, errors.
2. **Read ratio.** The same client, closed loop with ``--connections`` concurrent
   requests for ``--burst`` seconds each, against a bare Litestar endpoint served the
   same way (``bench/bare.py``: 2 uvicorn workers) and against an authenticated
   ``GET /api/v1/cases/{id}``. ``read ratio`` = the second's throughput / the first's.

    python bench/load.py [--dsn …] [--agents 200] [--seconds 60] [--rate 150]

The last lines are the per-kind table, ``errors: N`` and ``read ratio: X``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench.scale import fill  # noqa: E402
from bench.serving import DEFAULT_DSN, create_seeded, drop, serving  # noqa: E402
from server.security import token_digest  # noqa: E402

MIX = {"list": 30, "get": 30, "search": 10, "claim": 15, "pull": 15}


@dataclass
class Agent:
    username: str
    unit: str
    auth: dict[str, str]
    device: str = ""
    cursor: int = 0
    queued: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)


async def prepare(url: str, count: int, now: datetime) -> list[tuple[str, str, str]]:
    """Tokens and two queued cases for ``count`` village agents: (username, unit, token)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT a.id, a.username, a.unit_code, u.path FROM agent a JOIN unit u ON u.code = a.unit_code "
            "WHERE u.level = 'village' AND a.active ORDER BY a.username LIMIT $1",
            count,
        )
        out = []
        for r in rows:
            token = secrets.token_urlsafe(32)
            await conn.execute(
                "INSERT INTO token (digest, agent_id, created_at, expires_at, revoked) VALUES ($1, $2, $3, $4, false)",
                token_digest(token), r["id"], now, now + timedelta(days=1),
            )  # fmt: skip
            out.append((r["username"], r["unit_code"], token))
        await conn.execute(
            """
            INSERT INTO case_file (id, ref, kind, item_code, title, applicant, origin_unit, origin_path, owner_unit,
                owner_path, created_by, status, priority, accepted_at, due_at, promised_days, queued_at, holders,
                version, change_seq, created_at, updated_at)
            SELECT gen_random_uuid(), 'LQ-' || a.id || '-' || k, 'service', 'N01-newborn-birth', '排队待签收',
                '{"type": "person", "name": "马玉兰"}'::json, u.code, u.path, u.code, u.path, a.id, 'queued', 0,
                $2::timestamptz, $2::timestamptz + interval '7 days', 5, $2::timestamptz, json_build_array(a.id), 1, 0,
                $2::timestamptz, $2::timestamptz
            FROM agent a JOIN unit u ON u.code = a.unit_code CROSS JOIN generate_series(1, 2) AS k
            WHERE a.username = ANY($1::text[])
            """,
            [u for u, _, _ in out],
            now,
        )
        return out
    finally:
        await conn.close()


async def setup_agents(base: str, rows: list[tuple[str, str, str]]) -> list[Agent]:
    agents = [Agent(username=u, unit=unit, auth={"Authorization": f"Bearer {t}"}) for u, unit, t in rows]
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for a in agents:
            r = await client.post("/api/v1/devices", json={"name": "bench"}, headers=a.auth)
            r.raise_for_status()
            a.device = r.json()["client_id"]
            page = await client.get("/api/v1/cases", params={"view": "scope"}, headers=a.auth)
            page.raise_for_status()
            a.cases = [c["id"] for c in page.json()["cases"]]
            queue = await client.get("/api/v1/cases", params={"view": "queue"}, headers=a.auth)
            queue.raise_for_status()
            a.queued = [c["id"] for c in queue.json()["cases"]]
    return agents


async def operation(client: httpx.AsyncClient, a: Agent, kind: str, rng: random.Random) -> list[tuple[str, int]]:
    """One operation; the kinds and statuses of the requests it made."""
    if kind == "list":
        r = await client.get("/api/v1/cases", params={"view": "scope"}, headers=a.auth)
        return [("list", r.status_code)]
    if kind == "get" and a.cases:
        r = await client.get(f"/api/v1/cases/{rng.choice(a.cases)}", headers=a.auth)
        return [("get", r.status_code)]
    if kind == "search":
        r = await client.get("/api/v1/cases", params={"view": "scope", "q": "新生儿"}, headers=a.auth)
        return [("search", r.status_code)]
    if kind == "claim" and a.queued:
        case = a.queued.pop()
        claimed = await client.post(f"/api/v1/cases/{case}/claim", headers=a.auth)
        released = await client.post(f"/api/v1/cases/{case}/release", json={"reason": "压测释放"}, headers=a.auth)
        a.queued.insert(0, case)
        return [("claim", claimed.status_code), ("release", released.status_code)]
    r = await client.get("/api/v1/sync/pull", params={"client_id": a.device, "cursor": a.cursor}, headers=a.auth)
    if r.status_code == 200:
        a.cursor = int(r.json().get("cursor", a.cursor))
    return [("pull", r.status_code)]


async def offered_load(
    base: str, agents: list[Agent], seconds: float, rate: float
) -> tuple[dict[str, list[float]], list[str], float]:
    rng = random.Random(7)
    kinds = list(MIX)
    weights = [MIX[k] for k in kinds]
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    busy: set[str] = set()  # one operation per agent at a time, as one person at one device
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def one(at: float, a: Agent, kind: str) -> None:
            try:
                done = await operation(client, a, kind, rng)
            except httpx.HTTPError as exc:
                errors.append(f"{kind}: {type(exc).__name__}")
                return
            finally:
                busy.discard(a.username)
            took = time.perf_counter() - at
            for name, status in done:
                latencies[name].append(took)
                if status >= 400 and not (name == "claim" and status == 409):
                    errors.append(f"{name}: {status}")

        tasks = []
        start = time.perf_counter()
        n = 0
        while True:
            at = start + n / rate
            if at - start >= seconds:
                break
            # Always yield, even when behind: the operations already started must run.
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            free = [a for a in agents if a.username not in busy]
            a = rng.choice(free or agents)
            busy.add(a.username)
            tasks.append(asyncio.create_task(one(at, a, rng.choices(kinds, weights)[0])))
            n += 1
        await asyncio.gather(*tasks)
        achieved = n / (time.perf_counter() - start)
    return latencies, errors, achieved


async def closed_loop(base: str, path_of: list[str], auth: dict[str, str], seconds: float, connections: int) -> float:
    """Requests per second with ``connections`` requests always in flight."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    count = 0
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        until = time.perf_counter() + seconds

        async def worker(i: int) -> None:
            nonlocal count
            while time.perf_counter() < until:
                r = await client.get(path_of[(count + i) % len(path_of)], headers=auth)
                assert r.status_code == 200, r.text
                count += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(connections)))
        return count / (time.perf_counter() - started)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run(args: argparse.Namespace) -> tuple[int, float]:
    name = f"daiban_bench_load_{os.getpid()}"
    url = await create_seeded(args.dsn, name)
    log = Path(tempfile.gettempdir()) / f"{name}.log"
    now = datetime.now(UTC)
    try:
        await fill(url, 1, args.cases, now)
        rows = await prepare(url, args.agents, now)
        with serving(url, log, workers=2) as base:
            agents = await setup_agents(base, rows)
            print(f"{len(agents)} agents signed in with devices; {args.cases:,} cases; offered {args.rate}/s")
            latencies, errors, achieved = await offered_load(base, agents, args.seconds, args.rate)
            print(f"achieved {achieved:.1f} ops/s over {args.seconds:.0f} s")
            print(f"{'kind':>8} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
            for kind in ("list", "get", "search", "claim", "release", "pull"):
                v = latencies.get(kind, [])
                if v:
                    print(f"{kind:>8} {len(v):>6} {pct(v, 0.5):>8.1f} {pct(v, 0.95):>8.1f} {pct(v, 0.99):>8.1f}")
            every = [x for v in latencies.values() for x in v]
            print(
                f"{'all':>8} {len(every):>6} {pct(every, 0.5):>8.1f} {pct(every, 0.95):>8.1f} {pct(every, 0.99):>8.1f}"
            )
            for e in sorted(set(errors))[:5]:
                print(f"  error: {e}")
            reader = agents[0]
            paths = [f"/api/v1/cases/{c}" for c in reader.cases] or ["/api/v1/cases"]
            auth_rates = [await closed_loop(base, paths, reader.auth, args.burst, args.connections)]
        with serving(url, log, workers=2, app="bench.bare:create_bare_app") as bare_base:
            bare_rates = [await closed_loop(bare_base, ["/bare"], {}, args.burst, args.connections)]
        print(f"bare endpoint: {statistics.median(bare_rates):.0f} req/s; "
              f"authenticated GET /cases/{{id}}: {statistics.median(auth_rates):.0f} req/s")  # fmt: skip
        return len(errors), statistics.median(auth_rates) / statistics.median(bare_rates)
    finally:
        await drop(args.dsn, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=150)
    parser.add_argument("--burst", type=float, default=10, help="seconds of each closed-loop throughput run")
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    errors, ratio = asyncio.run(run(args))
    print(f"errors: {errors}")
    print(f"read ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
