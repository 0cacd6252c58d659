"""The case list at a million cases on PostgreSQL: one page at 1,000,000 cases against 10,000.

Two scratch databases are migrated and seeded with the network, then filled with
10,000 and 1,000,000 cases by set-based SQL (``INSERT … SELECT … FROM
generate_series``), spread evenly over the network's units, nine in ten closed long
ago, priorities 0–3. The server's own ``list_cases`` is timed on each for the city
dispatcher, a county lead, a town agent and a village agent: the first page and the
third (by the cursor the API hands out). Samples alternate between the two databases
(this machine's speed drifts from one second to the next), ``--repeat`` of each; the
medians are compared. The plan PostgreSQL picks for the dispatcher's first page is
printed beside the timings.

``list ratio`` is, over the four viewers and both pages, the largest ratio of the median
page time at 1,000,000 to the one at 10,000.

    python bench/scale.py [--dsn postgresql://root@127.0.0.1:5432/test] [--small 10000] [--large 1000000]
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
import statistics  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

import asyncpg  # noqa: E402

from bench.serving import admin, database_url  # noqa: E402
from hierarchy.cases import Actor  # noqa: E402
from server import db  # noqa: E402
from server.auth import load_actor  # noqa: E402
from server.cases import list_cases  # noqa: E402
from server.seed import seed_network  # noqa: E402
from server.settings import load_settings  # noqa: E402
from server.tables import Agent  # noqa: E402

DEFAULT_DSN = os.environ.get("DAIBAN_BENCH_PG", "postgresql://root@127.0.0.1:5432/test")
VIEWERS = ("dispatcher", "lead640502", "a640502100", "a640502100002")
CHUNK = 200_000

#: Cases ``$1`` … ``$2``: unit by number, nine in ten closed long ago, the rest open.
FILL_SQL = """
WITH units AS (
    SELECT row_number() OVER (ORDER BY code) - 1 AS n, code, path FROM unit
), agents AS (
    SELECT DISTINCT ON (unit_code) unit_code, id FROM agent WHERE role <> 'admin' ORDER BY unit_code, id
), total AS (SELECT count(*) AS units FROM unit)
INSERT INTO case_file (
    id, ref, kind, item_code, title, applicant, origin_unit, origin_path, owner_unit, owner_path, created_by,
    assignee_id, status, priority, accepted_at, due_at, promised_days, queued_at, holders, version, change_seq,
    created_at, updated_at, resolved_at, closed_at
)
SELECT
    gen_random_uuid(), 'BK-' || g, 'service', 'N01-newborn-birth', '新生儿出生一件事',
    '{"type": "person", "name": "马玉兰"}'::json, u.code, u.path, u.code, u.path, a.id,
    CASE WHEN g % 10 = 0 AND g % 30 <> 0 THEN a.id END,
    CASE WHEN g % 10 <> 0 THEN 'closed' WHEN g % 30 = 0 THEN 'queued' ELSE 'in_progress' END,
    (g * 7919) % 4,
    $3::timestamptz - make_interval(mins => ((g * 37) % 600000)::int),
    $3::timestamptz - make_interval(mins => ((g * 37) % 600000)::int) + interval '7 days',
    5,
    $3::timestamptz - make_interval(mins => ((g * 37) % 600000)::int),
    json_build_array(a.id), 1, g,
    $3::timestamptz - make_interval(mins => ((g * 37) % 600000)::int),
    $3::timestamptz,
    CASE WHEN g % 10 <> 0
        THEN $3::timestamptz - make_interval(mins => ((g * 37) % 600000)::int) + interval '2 days' END,
    CASE WHEN g % 10 <> 0
        THEN $3::timestamptz - make_interval(mins => ((g * 37) % 600000)::int) + interval '3 days' END
FROM generate_series($1::bigint, $2::bigint) AS g
CROSS JOIN total
JOIN units u ON u.n = g % total.units
JOIN agents a ON a.unit_code = u.code
"""


async def fill(url: str, first: int, last: int, now: datetime) -> float:
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        for lo in range(first, last + 1, CHUNK):
            await conn.execute(FILL_SQL, lo, min(last, lo + CHUNK - 1), now)
            print(f"\r  cases {min(last, lo + CHUNK - 1):,}", end="", flush=True)
        await conn.execute(
            "INSERT INTO case_holder (case_id, agent_id) SELECT id, created_by FROM case_file WHERE change_seq >= $1",
            first,
        )
        await conn.execute("VACUUM ANALYZE case_file")
        await conn.execute("VACUUM ANALYZE case_holder")
    finally:
        await conn.close()
    print()
    return time.perf_counter() - started


async def page_times(actor: Actor, now: datetime, repeat: int) -> tuple[float, float]:
    """Median seconds for the first page and for the third (by cursor)."""
    firsts, thirds = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        page = await list_cases(actor, "scope", now)
        firsts.append(time.perf_counter() - started)
        cursor = page.next_cursor
        cursor = (await list_cases(actor, "scope", now, cursor=cursor)).next_cursor if cursor else None
        started = time.perf_counter()
        await list_cases(actor, "scope", now, cursor=cursor)
        thirds.append(time.perf_counter() - started)
    return statistics.median(firsts), statistics.median(thirds)


async def explain(url: str, actor: Actor, now: datetime) -> str:
    """The plan of the dispatcher's first page, as the server builds the query."""
    conn = await asyncpg.connect(url)
    try:
        sql = await conn.fetch(
            "EXPLAIN SELECT id FROM case_file WHERE owner_path LIKE $1 OR origin_path LIKE $1 "
            "ORDER BY priority DESC, due_at, id LIMIT 51",
            actor.unit_path + "%",
        )
        return " / ".join(r[0].strip() for r in sql[:4])
    finally:
        await conn.close()


async def viewers() -> dict[str, Actor]:
    """The timed viewers, read through the engine bound last (the network is the same in both)."""
    out = {}
    for username in VIEWERS:
        row = await Agent.select(Agent.id).where(Agent.username == username).first()
        assert row is not None
        loaded = await load_actor(row["id"])
        assert loaded is not None
        out[username] = loaded[0]
    return out


async def create(dsn: str, name: str) -> str:
    url = database_url(dsn, name)
    await admin(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin(dsn, f'CREATE DATABASE "{name}"')
    settings = load_settings({}, database_url=url)
    engine = db.connect(settings)
    await db.start(engine)
    try:
        await db.migrate(engine)
        await seed_network(settings.demo_password)
    finally:
        await db.stop(engine)
    return url


async def run(args: argparse.Namespace) -> float:
    names = {size: f"daiban_bench_scale_{size}_{os.getpid()}" for size in (args.small, args.large)}
    now = datetime.now(UTC)
    try:
        urls = {size: await create(args.dsn, name) for size, name in names.items()}
        for size, url in urls.items():
            print(f"filled {size:,} cases in {await fill(url, 1, size, now):.1f} s")
        engines = {size: db.connect(load_settings({}, database_url=url)) for size, url in urls.items()}
        samples: dict[tuple[int, str], list[tuple[float, float]]] = {}
        for engine in engines.values():
            await db.start(engine)
        try:
            actors = await viewers()
            for username, actor in actors.items():
                for _ in range(args.repeat):
                    for size, engine in engines.items():
                        db.bind(engine)  # Piccolo's tables follow the engine bound last
                        samples.setdefault((size, username), []).append(await page_times(actor, now, 1))
            ratios = {}
            for username in VIEWERS:
                for i, page in enumerate(("first", "third")):
                    small = statistics.median(t[i] for t in samples[(args.small, username)][2:])
                    large = statistics.median(t[i] for t in samples[(args.large, username)][2:])
                    ratios[f"{username} {page} page"] = large / small
                    print(
                        f"{username:>14} {page} page: {args.small:,} cases {small * 1000:6.1f} ms, "
                        f"{args.large:,} cases {large * 1000:6.1f} ms, ratio {large / small:.2f}"
                    )
            print(f"plan (dispatcher, first page): {await explain(urls[args.large], actors['dispatcher'], now)}")
        finally:
            for engine in engines.values():
                await db.stop(engine)
        return max(ratios.values())
    finally:
        for name in names.values():
            await admin(args.dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    ratio = asyncio.run(run(args))
    print(f"list ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
