"""A national day, compressed: how many API nodes, how big a PostgreSQL, where one primary
stops being enough, and what to partition by.

1. **The nation in one database.** The synthetic national tree (``seeds/synthetic.py``:
   3,000 counties, 40,000 towns, 500,000 villages) replaces Zhongwei's units; the item
   catalogue stays. ``--cases`` cases (default a million; 85 % closed in past years, the
   rest open, a few overdue) are spread over the villages with binary COPY.
2. **A day of traffic, compressed.** ``--devices`` village devices sampled from the 500,000
   (each a village agent with its own device) run the national mix — sync pulls, pushes
   of operations (creates and edits), reads of their cases, online creates — for
   ``--seconds``, through HAProxy to one ``daiban serve`` process and then to two,
   alternately, ``--rounds`` times. Result: requests per second per process and the
   scaling factor; PostgreSQL transactions per second beside them.
3. **Sizing.** From the measured per-process rate, the bytes each case costs in the
   database (its row, holder, events, sync ledger, notifications) and the PostgreSQL
   transaction rate this machine sustained, a table for a city, a province and the nation:
   API processes at peak, database size after a year, Redis — and the scale at which one
   PostgreSQL primary stops being enough.
4. **Partitioning.** The cases are copied into a table partitioned by county (hash on the
   owner's county code, the second segment of its path; 32 partitions), and the hot
   queries — a village's open queue, a device's pull page, the SLA sweep's scan, a
   county's report — are EXPLAINed there: the plan lines show which partitions each one
   reads.

    python bench/national.py [--dsn postgresql://root@127.0.0.1:5432/test]
        [--cases 1000000] [--devices 60] [--rounds 2 --seconds 15]

Needs HAProxy (``make deploy-tools``), PostgreSQL and Redis.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)
sys.path.insert(1, str(_HERE.parent / "tests" / "support"))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from itertools import islice  # noqa: E402
from typing import Any  # noqa: E402

import asyncpg  # noqa: E402
from cluster import Cluster, Tally, flush, run_load  # noqa: E402

from bench.serving import admin, database_url  # noqa: E402
from hierarchy.serving import EVERYONE  # noqa: E402
from hierarchy.tree import Level  # noqa: E402
from hierarchy.validation import make_resident_id  # noqa: E402
from seeds.synthetic import COUNTIES, TOWNS, VILLAGES, national_tree  # noqa: E402
from server import db  # noqa: E402
from server.seed import seed_network  # noqa: E402
from server.settings import load_settings  # noqa: E402

DB_NAME = "daiban_bench_national"
NOW = datetime.now(UTC)
ITEM = "N01-newborn-birth"
BATCH = 20_000
PARTITIONS = 32
#: The national mix, per request: a device pulls far more often than it writes.
MIX = {"pull": 0.5, "push": 0.15, "read": 0.25, "create": 0.1}
_DEPTH = {level.value: level.depth for level in (Level.CITY, Level.COUNTY, Level.TOWN, Level.VILLAGE)}

UNIT_COLUMNS = ("code", "name", "level", "kind", "parent_code", "path", "depth", "open_weekends", "response_days",
                "sort_key", "serves")  # fmt: skip
CASE_COLUMNS = (
    "id", "ref", "kind", "item_code", "title", "applicant", "origin_unit", "origin_path", "owner_unit",
    "owner_path", "created_by", "assignee_id", "status", "priority", "materials", "accepted_at", "due_at",
    "promised_days", "queued_at", "holders", "version", "change_seq", "created_at", "updated_at", "resolved_at",
    "closed_at",
)  # fmt: skip


# --- the database ---------------------------------------------------------------------------


def unit_records(villages: list[tuple[str, str, str]]) -> Iterator[tuple[Any, ...]]:
    """The national tree as ``unit`` records; every village's (code, path, town) is kept."""
    paths: dict[str, str] = {}
    serves = json.dumps(list(EVERYONE))
    for code, name, level, parent, kind in national_tree(COUNTIES, TOWNS, VILLAGES):
        path = f"{paths[parent] if parent else '/'}{code}/"
        if level == Level.VILLAGE:
            villages.append((code, path, parent or ""))
        else:
            paths[code] = path
        yield (code, name, level, kind, parent, path, _DEPTH[level], False, 1, f"0{code}", serves)


def case_records(
    villages: list[tuple[str, str, str]], agents: dict[str, int], count: int, rng: random.Random
) -> Iterator[tuple[tuple[Any, ...], tuple[uuid.UUID, int]]]:
    applicant = json.dumps({"type": "person", "name": "马玉兰", "resident_id": make_resident_id("64050219800101001"),
                            "phone": "13895512345"}, ensure_ascii=False)  # fmt: skip
    materials = json.dumps([{"code": "birth-cert", "name": "出生医学证明", "state": "missing"}], ensure_ascii=False)
    for n in range(count):
        code, path, _ = villages[rng.randrange(len(villages))]
        agent = agents.get(code, 1)
        closed = rng.random() < 0.85
        accepted = NOW - timedelta(days=rng.randrange(30, 700) if closed else rng.randrange(0, 10), minutes=n % 1440)
        due = accepted + timedelta(days=7)
        done = accepted + timedelta(days=3) if closed else None
        yield (
            uuid.uuid4(), f"NB-{n:08d}", "service", ITEM, "新生儿出生一件事", applicant, code, path, code, path, agent,
            agent, "closed" if closed else "in_progress", 0, materials, accepted, due, 5, accepted, f"[{agent}]", 1,
            n + 1, accepted, done or accepted, done, done,
        ), (uuid.uuid4(), agent)  # fmt: skip


@dataclass
class Nation:
    url: str
    devices: list[str]  # usernames of the sampled village agents
    cases: int
    load_seconds: float


async def reuse(dsn: str, cases: int, devices: int) -> Nation | None:
    """The database a previous run kept (``--keep``), when it holds the cases asked for."""
    try:
        conn = await asyncpg.connect(database_url(dsn, DB_NAME))
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        count = int(await conn.fetchval("SELECT count(*) FROM case_file WHERE ref LIKE 'NB-%'"))
        rows = await conn.fetch("SELECT username FROM agent WHERE role = 'village_agent' ORDER BY id LIMIT $1", devices)
    finally:
        await conn.close()
    if count != cases or len(rows) < devices:
        return None
    url = database_url(dsn, DB_NAME)
    engine = db.connect(load_settings({}, database_url=url))
    await db.start(engine)
    try:
        await db.migrate(engine)  # the code may have moved on since it was kept
    finally:
        await db.stop(engine)
    return Nation(url, [r["username"] for r in rows], cases, 0.0)


async def build(dsn: str, cases: int, devices: int, rng: random.Random) -> Nation:
    started = time.perf_counter()
    await admin(dsn, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)', f'CREATE DATABASE "{DB_NAME}"')
    url = database_url(dsn, DB_NAME)
    settings = load_settings({}, database_url=url)
    engine = db.connect(settings)
    await db.start(engine)
    try:
        await db.migrate(engine)
        await seed_network(settings.demo_password)  # the catalogue (and one password hash to reuse)
    finally:
        await db.stop(engine)
    conn = await asyncpg.connect(url)
    try:
        hashed = await conn.fetchval("SELECT password_hash FROM agent LIMIT 1")
        await conn.execute("DELETE FROM agent; DELETE FROM unit")
        villages: list[tuple[str, str, str]] = []
        records = unit_records(villages)
        while batch := list(islice(records, BATCH)):
            await conn.copy_records_to_table("unit", records=batch, columns=UNIT_COLUMNS)
        sample = rng.sample(villages, devices)
        rows = [(f"a{code}", f"{code}代办员", code, "village_agent", hashed) for code, _, _ in sample]
        towns = sorted({t for _, _, t in sample})
        rows += [(f"a{town}", f"{town}代办员", town, "town_agent", hashed) for town in towns]
        rows += [("dispatcher", "调度员", "000000", "dispatcher", hashed)]
        await conn.executemany(
            "INSERT INTO agent (username, name, unit_code, role, password_hash, active, capacity, skills)"
            " VALUES ($1, $2, $3, $4, $5, true, 20, '[]')",
            rows,
        )
        agents = {r["unit_code"]: r["id"] for r in await conn.fetch("SELECT id, unit_code FROM agent")}
        stream = case_records(villages, agents, cases, rng)
        done = 0
        while batch2 := list(islice(stream, BATCH)):
            async with conn.transaction():
                await conn.copy_records_to_table("case_file", records=[c for c, _ in batch2], columns=CASE_COLUMNS)
                holders = [(c[0], c[10]) for c, _ in batch2]
                await conn.copy_records_to_table("case_holder", records=holders, columns=("case_id", "agent_id"))
            done += len(batch2)
            print(f"\rcases loaded: {done:,}", end="", flush=True)
        print()
        await conn.execute(
            "INSERT INTO counter (name, value) VALUES ('change', $1)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            cases,
        )
        for table in ("unit", "agent", "case_file", "case_holder"):
            await conn.execute(f"VACUUM ANALYZE {table}")
    finally:
        await conn.close()
    return Nation(url, [f"a{code}" for code, _, _ in sample], cases, time.perf_counter() - started)


# --- the day ---------------------------------------------------------------------------------


@dataclass
class Round:
    processes: int
    rps: float
    commits_per_s: float
    requests: int
    errors: int


async def commits(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = $1", DB_NAME))
    finally:
        await conn.close()


def day(nation: Nation, redis_url: str, workdir: Path, haproxy: str, rounds: int, seconds: float) -> list[Round]:
    asyncio.run(flush(redis_url))
    # Every device signs in from 127.0.0.1: lift the per-address window a real network spreads.
    lifted = {"DAIBAN_LOGIN_LIMITS_ADDRESS": "100000/minute", "DAIBAN_LOGIN_LIMITS_ACCOUNT": "1000/minute"}
    cluster = Cluster(nation.url, redis_url, workdir, apis=2, workers=0, haproxy=haproxy, extra_env=lifted)
    out: list[Round] = []

    async def measured(base: str, seed: int) -> Round:
        """Requests and commits from the moment every device has signed in to the end."""
        tally, signed_in, mark = Tally(), asyncio.Event(), dict[str, float]()

        async def watch() -> None:
            await signed_in.wait()
            mark.update(t=time.monotonic(), n=tally.requests, c=await commits(nation.url))

        watcher = asyncio.create_task(watch())
        await run_load(base, nation.devices, seconds, tally, seed=seed, started=signed_in, mix=MIX)
        await watcher
        elapsed = time.monotonic() - mark["t"]
        tx = (await commits(nation.url) - mark["c"]) / elapsed
        n = int(tally.requests - mark["n"])
        print(f"  {n} requests in {elapsed:.1f}s, {tally.errors} errors, {tally.by_kind}")
        return Round(0, n / elapsed, tx, n, tally.errors)

    with cluster.running():
        targets = {1: cluster.proxy_to([0]), 2: cluster.url}
        for r in range(rounds):
            for n, base in targets.items():
                result = asyncio.run(measured(base, 100 * r + n))
                result.processes = n
                out.append(result)
                load = os.getloadavg()[0]
                print(f"round {r + 1}, {n} API process{'es' if n > 1 else ''}: {result.rps:.1f} requests/s, "
                      f"{result.commits_per_s:.0f} PostgreSQL transactions/s (load average {load:.1f})")  # fmt: skip
    return out


# --- what a case costs ------------------------------------------------------------------------


async def bytes_per_case(url: str, loaded: int) -> tuple[float, float]:
    """(bytes of a bulk-loaded case: row, indexes, holder), (bytes a case made through the API
    adds beyond that: events, sync ledger, client views, notifications), measured."""
    conn = await asyncpg.connect(url)
    try:

        async def size(*tables: str) -> int:
            return sum([int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", t)) for t in tables])

        total = int(await conn.fetchval("SELECT count(*) FROM case_file"))
        made = max(1, total - loaded)
        per_row = await size("case_file", "case_holder") / total
        extra = await size("case_event", "sync_op", "client_view", "notification") / made
    finally:
        await conn.close()
    return per_row, extra


# --- partitioned by county ---------------------------------------------------------------------

PART_DDL = [
    "DROP TABLE IF EXISTS case_part",
    "CREATE TABLE case_part (LIKE case_file INCLUDING DEFAULTS, county varchar(6) NOT NULL)"
    " PARTITION BY HASH (county)",
    *[
        f"CREATE TABLE case_part_{i:02d} PARTITION OF case_part FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {i})"
        for i in range(PARTITIONS)
    ],
    "INSERT INTO case_part SELECT c.*, substr(c.owner_path, 9, 6) FROM case_file c",
    "ALTER TABLE case_part ADD PRIMARY KEY (county, id)",
    "CREATE INDEX ON case_part (county, owner_path text_pattern_ops, status)",
    "CREATE INDEX ON case_part (county, origin_path text_pattern_ops)",
    "CREATE INDEX ON case_part (county, change_seq)",
    "CREATE INDEX ON case_part (due_at, id) WHERE status IN ('queued', 'in_progress', 'waiting_applicant')",
    "CREATE INDEX ON case_part (county, created_at)",
    "ANALYZE case_part",
]

HOT_QUERIES = {
    "a village's open queue": (
        "SELECT id, ref, status, due_at FROM case_part WHERE county = $1 AND owner_path LIKE $2"
        " AND status IN ('queued', 'in_progress', 'waiting_applicant') ORDER BY due_at LIMIT 50"
    ),
    "a device's pull page": (
        "SELECT * FROM case_part WHERE county = $1 AND (owner_path LIKE $2 OR origin_path LIKE $2)"
        " AND change_seq > $3 ORDER BY change_seq LIMIT 201"
    ),
    "the SLA sweep's scan (every county)": (
        "SELECT id, status, owner_unit, due_at FROM case_part"
        " WHERE status IN ('queued', 'in_progress', 'waiting_applicant') AND due_at < $4 ORDER BY due_at, id LIMIT 500"
    ),
    "a county's month (report)": (
        "SELECT status, count(*) FROM case_part WHERE county = $1 AND created_at >= $5 GROUP BY status"
    ),
}


async def partitioned_plans(url: str) -> dict[str, list[str]]:
    conn = await asyncpg.connect(url)
    try:
        for sql in PART_DDL:
            await conn.execute(sql)
        path = str(await conn.fetchval("SELECT owner_path FROM case_file WHERE status = 'in_progress' LIMIT 1"))
        county = path[8:14]
        args = (county, path + "%", 0, NOW, NOW - timedelta(days=30))
        plans = {}
        for name, sql in HOT_QUERIES.items():
            used = sorted({int(n[1:]) for n in _placeholders(sql)})
            query = f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) {sql}"
            rows = await conn.fetch(_renumber(query, used), *[args[i - 1] for i in used])
            plans[name] = compact([r[0] for r in rows])
    finally:
        await conn.close()
    return plans


def compact(plan: list[str]) -> list[str]:
    """The plan with each partition's repeat of a line shown once, and which partitions it read."""
    seen: set[str] = set()
    out: list[str] = []
    partitions: set[str] = set()
    skip_below: int | None = None  # indentation of a repeated node: its children go too
    for line in plan:
        indent = len(line) - len(line.lstrip())
        if skip_below is not None and indent > skip_below:
            continue
        skip_below = None
        partitions.update(re.findall(r"\bon (case_part_\d+)", line))
        shape = re.sub(r"case_part_\d+", "case_part_NN", re.sub(r"rows=\d+", "rows=N", line))
        if shape in seen and "case_part_NN" in shape:
            skip_below = indent
            continue
        seen.add(shape)
        out.append(line)
    return [*out, f"(partitions read: {len(partitions)} of {PARTITIONS}: {', '.join(sorted(partitions)[:3])}"
                  f"{' …' if len(partitions) > 3 else ''})"]  # fmt: skip


def _placeholders(sql: str) -> set[str]:
    return {f"${i}" for i in range(1, 6) if f"${i}" in sql}


def _renumber(sql: str, used: list[int]) -> str:
    for new, old in enumerate(used, start=1):
        sql = sql.replace(f"${old}", f"$@{new}")
    return sql.replace("$@", "$")


# --- sizing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    name: str
    counties: int
    towns: int
    villages: int


SCALES = (Scale("city (Zhongwei)", 5, 46, 550), Scale("province", 100, 1_300, 17_000),
          Scale("nation", COUNTIES, TOWNS, VILLAGES))  # fmt: skip
#: Assumed day, per unit: a village device pulls 12 times, pushes 3 times, reads 10 times
#: and opens 0.3 cases; a town's 2 agents make 300 requests each online; a county's 5, 500.
DEVICE_REQUESTS, CASES_PER_VILLAGE, TOWN_REQUESTS, COUNTY_REQUESTS = 25, 0.3, 600, 2_500
WORK_HOURS, PEAK = 8, 3.0  # the day's traffic falls in 8 hours, the busiest minute at 3x the mean
WRITES_PER_CASE = 6  # create, claim, escalate or hand over, resolve, confirm, an edit: transactions
#: A 32-core primary with NVMe: this many times the commits/s this run's primary sustained
#: (a shared 2-core machine); its working set should fit in its RAM (here: 256 GB).
PRIMARY_CORES_FACTOR, PRIMARY_RAM = 16, 256 * 2**30


def peak_req(s: Scale) -> float:
    per_day = s.villages * DEVICE_REQUESTS + s.towns * TOWN_REQUESTS + s.counties * COUNTY_REQUESTS
    return per_day / (WORK_HOURS * 3600) * PEAK


def peak_commits(s: Scale) -> float:
    """Writes at the peak: the cases' own transactions, and the 15 % of requests that write."""
    cases_day = s.villages * CASES_PER_VILLAGE
    return cases_day * WRITES_PER_CASE / (WORK_HOURS * 3600) * PEAK + peak_req(s) * 0.15


def sizing(rps_per_process: float, commits_per_s: float, row_bytes: float, extra_bytes: float) -> list[str]:
    lines = [f"{'':16} {'peak req/s':>10} {'API procs':>9} {'8-core nodes':>12} {'cases/yr':>11} "
             f"{'PG after 1 yr':>13} {'peak commits/s':>14} {'Redis':>7}"]  # fmt: skip
    for s in SCALES:
        peak = peak_req(s)
        procs = max(2, math.ceil(peak / (rps_per_process * 0.7)))  # 70 %: room for a node to fail
        cases_year = s.villages * CASES_PER_VILLAGE * 365
        pg_bytes = cases_year * (row_bytes + extra_bytes)
        redis_mb = 50 + s.villages * 400 / 2**20  # throttle windows and the job queue
        lines.append(f"{s.name:16} {peak:10.0f} {procs:9d} {math.ceil(procs / 8):12d} {cases_year:11,.0f} "
                     f"{pg_bytes / 2**30:11.1f} GB {peak_commits(s):14.0f} {redis_mb:5.0f} MB")  # fmt: skip
    capacity = commits_per_s * PRIMARY_CORES_FACTOR
    per_case = row_bytes + extra_bytes
    nation = SCALES[-1]
    nation_cases_year = nation.villages * CASES_PER_VILLAGE * 365
    nation_commits = peak_commits(nation)
    # About a third of the retained cases (the open ones, recent ones, their indexes) is hot.
    hot_years = PRIMARY_RAM * 3 / per_case / nation_cases_year
    lines += [
        "",
        f"one PostgreSQL primary: this run reached {commits_per_s:.0f} transactions/s (reads are single-statement "
        f"transactions too) on this shared 2-core machine; a 32-core primary with NVMe does ~{PRIMARY_CORES_FACTOR}x: "
        f"~{capacity:,.0f}/s.",
        f"The nation's peak write rate (~{nation_commits:,.0f} commits/s) is {nation_commits / capacity:.0%} of that,",
        f"but its cases grow {nation_cases_year * per_case / 2**30:,.0f} GB a year: past ~{hot_years:.1f} years kept "
        f"in the primary (hot third > {PRIMARY_RAM / 2**30:.0f} GB RAM), or past ~{capacity / nation_commits:.1f}x the "
        "nation's write rate, one primary stops being enough.",
        "A city or a province fits one primary (plus a streaming replica for reads and failover) for many years.",
        "Partitioning key: the county (the owner's county code, the second segment of every path): every queue, pull",
        "and report names one county, so each reads one partition; PostgreSQL declarative partitions (HASH) on one",
        "primary first, then Citus distributed by county across nodes; the city-wide sweep fans out to all of them.",
    ]
    return lines


# --- the run ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("DAIBAN_TEST_PG", "postgresql://root@127.0.0.1:5432/test"))
    parser.add_argument("--redis", default=os.environ.get("DAIBAN_TEST_REDIS", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--devices", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument(
        "--keep", action="store_true", help="Keep the database afterwards, and reuse one kept before (same --cases)."
    )
    args = parser.parse_args(argv)
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        sys.exit("haproxy is not installed: make deploy-tools (Debian's haproxy package)")
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    nation = (asyncio.run(reuse(args.dsn, args.cases, args.devices)) if args.keep else None) or asyncio.run(
        build(args.dsn, args.cases, args.devices, random.Random(543_001))
    )
    units = 1 + COUNTIES + TOWNS + VILLAGES
    print(f"national tree: {units:,} units; {nation.cases:,} cases; {len(nation.devices)} village devices "
          f"sampled from {VILLAGES:,}; built in {nation.load_seconds:.0f}s")  # fmt: skip
    try:
        with tempfile.TemporaryDirectory(prefix="daiban-national-") as tmp:
            rounds = day(nation, args.redis, Path(tmp), haproxy, args.rounds, args.seconds)
        one = statistics.median(r.rps for r in rounds if r.processes == 1)
        two = statistics.median(r.rps for r in rounds if r.processes == 2)
        tx = max(r.commits_per_s for r in rounds)
        print(f"per-node throughput: {one:.1f} requests/s with 1 API process; {two:.1f} with 2 ({two / 2:.1f} each)")
        print(f"scaling factor (2 processes / 1): {two / one:.2f}")
        row, extra = asyncio.run(bytes_per_case(nation.url, nation.cases))
        print(f"bytes per case: {row:,.0f} (row, indexes, holder) + {extra:,.0f} (events, sync ledger, views, notices)")
        print()
        for line in sizing(one, tx, row, extra):
            print(line)
        print()
        print(f"EXPLAIN on case_part: {nation.cases:,} cases in {PARTITIONS} hash partitions by county")
        for name, plan in asyncio.run(partitioned_plans(nation.url)).items():
            print(f"-- {name}")
            for line in plan:
                print(f"   {line}")
    finally:
        if not args.keep:
            asyncio.run(admin(args.dsn, f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
