"""How long the SLA sweep takes over 100,000 open cases on PostgreSQL.

Creates a fresh database (dropped at the end), seeds the network and inserts the open
cases in bulk: queued at towns, in progress, waiting for applicants, about one in eight
past its due time. The network is in a steady state, as with a sweep every minute:
the breaches are already recorded in the cases' flags, as the sweep leaves them, except
a fresh ``--fresh`` share (default 2 %) that the first sweep must act on
(``--fresh 1`` gives the sweep the whole backlog; expect minutes). Then, in the same run:

- the first sweep: the fresh breaches (escalations, flags, warnings);
- a steady sweep, what every later minute costs: the same scans, nothing left to do;
- the same work as one hand-written SQL statement: the same candidate selection (cases
  whose due time is near and whose breach is not yet recorded, and cases long queued),
  the same columns, and — in the steady state — the same writes, none;
- for reference, a plain indexed SELECT of the due cases (open and past their due time).

The last line is ``sweep ratio: X`` = steady sweep time / the hand-written statement's.

    .venv/bin/python bench/sweep.py [--cases 100000] [--fresh 0.02] [--admin-dsn postgresql://…/test]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where bench/hierarchy.py would
# hide the hierarchy package: put the project root there instead.
_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

import asyncpg  # noqa: E402

from hierarchy.breaches import UnitClock, assess, unclaimed_horizon, warn_horizon  # noqa: E402  # noqa: E402
from server import db  # noqa: E402
from server.demo import DEFAULT_SEED, insert_cases, load_network, open_case_values  # noqa: E402
from server.jobs.sweep import DUE_PENDING_SQL, OPEN, SCAN_COLUMNS, sweep  # noqa: E402
from server.seed import seed_network  # noqa: E402
from server.settings import load_settings  # noqa: E402
from server.tables import Case  # noqa: E402

INSERT_BATCH = 5000


async def admin(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def settle(values: dict[str, Any], now: datetime, rng: random.Random, fresh: float, net: Any) -> None:
    """Record the case's breaches as handled, as the sweep would have — unless it is fresh."""
    if rng.random() < fresh:
        return
    clock = UnitClock(1, bool(net.units[values["owner_unit"]]["open_weekends"]))
    for _ in range(3):
        breach = assess(values, now, clock)
        if breach is None:
            return
        if breach.kind == "unclaimed":
            # The sweep escalated it: it queues afresh a level up (here: in the same unit).
            values["queued_at"] = now - timedelta(minutes=rng.uniform(1, 120))
            continue
        flags = dict(values.get("flags") or {})
        flags["sla"] = {**flags.get("sla", {}), breach.kind: breach.key}
        values["flags"] = flags


async def fill(n: int, now: datetime, fresh: float) -> None:
    net = await load_network()
    rng = random.Random(DEFAULT_SEED)
    done = 0
    started = time.perf_counter()
    while done < n:
        batch = [open_case_values(rng, net, now) for _ in range(min(INSERT_BATCH, n - done))]
        for values in batch:
            settle(values, now, rng, fresh, net)
        await insert_cases(batch, [])
        done += len(batch)
        print(f"\rinserted {done:,}/{n:,}", end="", flush=True)
    print(f"  ({time.perf_counter() - started:.1f} s)")


def same_work_sql() -> str:
    """The sweep's two candidate scans as one statement, with the sweep's columns."""
    columns = ", ".join(c._meta.db_column_name for c in SCAN_COLUMNS)
    pending = DUE_PENDING_SQL.format("$2")
    return (
        f"SELECT {columns} FROM case_file WHERE status IN ('queued', 'in_progress', 'waiting_applicant')"
        f" AND due_at < $1 AND {pending}"
        f" UNION ALL SELECT {columns} FROM case_file WHERE status = 'queued' AND queued_at < $3"
    )


async def same_work(url: str, now: datetime) -> tuple[float, int]:
    conn = await asyncpg.connect(url)
    try:
        args = (warn_horizon(now), now, unclaimed_horizon(now))
        started = time.perf_counter()
        rows = await conn.fetch(same_work_sql(), *args)
        return time.perf_counter() - started, len(rows)
    finally:
        await conn.close()


async def due_select(now: datetime) -> tuple[float, int]:
    started = time.perf_counter()
    rows = await Case.select(Case.id).where(Case.status.is_in(OPEN) & (Case.due_at < now))
    return time.perf_counter() - started, len(rows)


async def bench(url: str, n: int, fresh: float) -> float:
    engine = db.connect(load_settings({}, database_url=url))
    await db.start(engine)
    try:
        await db.migrate(engine)
        await seed_network("bench")
        now = datetime.now(UTC)
        await fill(n, now, fresh)
        await Case.raw("ANALYZE")
        open_count = await Case.count().where(Case.status.is_in(OPEN))
        print(f"open cases: {open_count:,}")

        started = time.perf_counter()
        first = await sweep(engine, now)
        first_s = time.perf_counter() - started
        acted = {k: v for k, v in first.as_dict().items() if v and k != "scanned"}
        print(f"first sweep (fresh breaches): {first_s:.2f} s, scanned {first.scanned:,} candidates, acted: {acted}")

        steady_times = []
        for _ in range(3):
            started = time.perf_counter()
            steady = await sweep(engine, now)
            steady_times.append(time.perf_counter() - started)
            assert not any(v for k, v in steady.as_dict().items() if k != "scanned"), steady
        steady_s = statistics.median(steady_times)
        print(f"steady sweep: {steady_s:.3f} s (median of 3), scanned {steady.scanned:,} candidates")

        selects = [await due_select(now) for _ in range(3)]
        select_s = statistics.median(t for t, _ in selects)
        print(f"indexed SELECT of due cases: {select_s:.3f} s (median of 3), {selects[0][1]:,} rows")
        same = [await same_work(url, now) for _ in range(3)]
        same_s = statistics.median(t for t, _ in same)
        print(f"same work as one SQL statement: {same_s:.3f} s (median of 3), {same[0][1]:,} candidates")
        print(
            f"steady sweep / due SELECT: {steady_s / select_s:.1f}; first sweep / same-work SQL: {first_s / same_s:.1f}"
        )
        return steady_s / same_s
    finally:
        await db.stop(engine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--fresh", type=float, default=0.02, help="share of breaches the first sweep finds new")
    parser.add_argument(
        "--admin-dsn", default=os.environ.get("DAIBAN_TEST_PG", "postgresql://root@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    name = f"daiban_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = args.admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(admin(args.admin_dsn, f'CREATE DATABASE "{name}"'))
    try:
        ratio = asyncio.run(bench(url, args.cases, args.fresh))
    finally:
        asyncio.run(admin(args.admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"sweep ratio: {ratio:.1f}")


if __name__ == "__main__":
    main()
