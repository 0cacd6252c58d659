"""Scope (subtree) query speed: the Zhongwei network against a national-size tree.

SPEC §2 asks that "everything under X" stay fast for ~3,000 counties, ~40,000 towns and
~500,000 villages. This script times the app's own subtree query on PostgreSQL for

1. the seeded Zhongwei network (561 units), and
2. the synthetic national tree from :mod:`seeds.synthetic` (paths computed while the rows
   stream in, loaded with binary COPY),

each in a scratch database it creates, migrates with the project's migrations and drops
again, then prints the medians side by side and the national/Zhongwei ratios. With the
``text_pattern_ops`` index the query is a B-tree range scan, so its cost follows the rows
returned, not the size of the table, and the ratios stay near 1.

A query takes a fraction of a millisecond, mostly the round trip, and on a small shared
machine the round trip alone drifts by 2x from one second to the next. Timing one network
and then the other would measure that drift, so both databases exist side by side and
the samples alternate between them.

    python bench/hierarchy.py [--dsn postgresql://root@127.0.0.1:5432/test]
                              [--counties 3000 --towns 40000 --villages 500000]

The last line is ``county subtree ratio: X``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where this file's own name would
# shadow the ``hierarchy`` package; the repository root belongs there instead.
_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from itertools import islice  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import asyncpg  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402

from hierarchy.tree import KIND_ORDER, Kind, Level  # noqa: E402
from seeds.synthetic import COUNTIES, TOWNS, VILLAGES, national_tree  # noqa: E402
from server import db  # noqa: E402
from server.queries import under  # noqa: E402
from server.seed import seed_network  # noqa: E402
from server.settings import load_settings  # noqa: E402
from server.tables import Unit  # noqa: E402

DEFAULT_DSN = os.environ.get("DAIBAN_BENCH_PG", "postgresql://root@127.0.0.1:5432/test")
DEFAULT_DATABASE = "daiban_bench_hierarchy"
ZHONGWEI_COUNTY = "640521"  # 中宁县

#: Columns written by COPY, in record order; the rest of ``unit`` keeps its defaults.
COLUMNS = (
    "code",
    "name",
    "level",
    "kind",
    "parent_code",
    "path",
    "depth",
    "open_weekends",
    "response_days",
    "sort_key",
)
#: Rows per COPY: big enough that COPY overhead vanishes, small enough to move the bar.
BATCH = 25_000
_DEPTH = {level.value: level.depth for level in Level}
_KIND_ORDER = {kind.value: KIND_ORDER[kind] for kind in Kind}


@dataclass(frozen=True, slots=True)
class Measured:
    """Subtree timings for one loaded network."""

    size: str
    units: int
    county: str
    county_rows: int
    county_ms: float
    county_plan: str
    village: str
    village_ms: float
    village_plan: str


# -- database lifecycle ------------------------------------------------------------------


def database_url(dsn: str, name: str) -> str:
    """``dsn`` pointing at database ``name`` instead of its own."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _admin(dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def recreate_database(dsn: str, name: str) -> None:
    await _admin(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')


async def drop_database(dsn: str, name: str) -> None:
    await _admin(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def migrate(url: str, seed: bool) -> int:
    """Run the project's migrations and, if ``seed``, seed Zhongwei as ``make run`` does.

    Returns the number of units seeded.
    """
    settings = load_settings({}, database_url=url)
    engine = db.connect(settings)
    await db.start(engine)
    try:
        await db.migrate(engine)
        counts = await seed_network(settings.demo_password) if seed else {"units": 0}
    finally:
        await db.stop(engine)
    return int(counts["units"])


def subtree_sql(path: str) -> tuple[str, str]:
    """The app's subtree query and its one argument, as Piccolo sends them to PostgreSQL.

    Needs the tables bound to a PostgreSQL engine (:func:`migrate` leaves them so).
    """
    query = Unit.select(Unit.code).where(under(Unit.path, path))
    sql, args = query.querystrings[0].compile_string(engine_type="postgres")
    if len(args) != 1 or not str(args[0]).startswith(path):
        raise RuntimeError(f"unexpected subtree query: {sql} {args}")
    return sql, str(args[0])


# -- the national tree -------------------------------------------------------------------


def national_records(counties: int, towns: int, villages: int) -> Iterator[tuple[Any, ...]]:
    """``unit`` records for the synthetic tree, paths computed as the rows stream past.

    Rows come parents first, so a parent's path is always known; villages have no
    children, so only the ~43,000 paths above them are kept.
    """
    paths: dict[str, str] = {}
    for code, name, level, parent, kind in national_tree(counties, towns, villages):
        path = f"{paths[parent] if parent else '/'}{code}/"
        if level != Level.VILLAGE:
            paths[code] = path
        sort_key = f"{_KIND_ORDER[kind] if kind else 0}{code}"
        yield (code, name, level, kind, parent, path, _DEPTH[level], False, 1, sort_key)


async def load_national(conn: asyncpg.Connection, counties: int, towns: int, villages: int, console: Console) -> int:
    """Load the national tree into an empty ``unit`` table; the number of rows loaded."""
    total = 1 + counties + towns + villages
    records = national_records(counties, towns, villages)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("national tree", total=total)
        while batch := list(islice(records, BATCH)):
            await conn.copy_records_to_table("unit", records=batch, columns=COLUMNS)
            progress.advance(task, len(batch))
    return total


# -- measuring ---------------------------------------------------------------------------


async def pick(conn: asyncpg.Connection, level: str, within: str | None = None) -> tuple[str, str]:
    """The middle unit of ``level`` by code (under ``within`` if given): (code, path)."""
    prefix = f"{within}%" if within else "%"
    count = await conn.fetchval("SELECT count(*) FROM unit WHERE level = $1 AND path LIKE $2", level, prefix)
    if not count:
        raise RuntimeError(f"no {level} under {within or 'the root'}")
    row = await conn.fetchrow(
        "SELECT code, path FROM unit WHERE level = $1 AND path LIKE $2 ORDER BY code OFFSET $3 LIMIT 1",
        level,
        prefix,
        count // 2,
    )
    return row["code"], row["path"]


@dataclass(slots=True)
class Probe:
    """One subtree query to time: a prepared statement, its argument, its samples."""

    stmt: asyncpg.prepared_stmt.PreparedStatement
    arg: str
    rows: int = 0
    samples: list[int] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) / 1e6


async def probe(conn: asyncpg.Connection, path: str) -> Probe:
    """The app's subtree query at ``path``, prepared once as asyncpg (and so Piccolo) does."""
    sql, arg = subtree_sql(path)
    return Probe(await conn.prepare(sql), arg)


async def time_interleaved(probes: list[Probe], warmup: int, repeat: int) -> None:
    """Run every probe ``warmup`` times untimed, then ``repeat`` times timed, in turns.

    Warm-up also takes each statement past the five runs after which PostgreSQL may give
    it a generic plan. Each round starts at the next probe, so none is always first.
    """
    for p in probes:
        for _ in range(warmup):
            p.rows = len(await p.stmt.fetch(p.arg))
    for i in range(repeat):
        for p in probes[i % len(probes) :] + probes[: i % len(probes)]:
            start = time.perf_counter_ns()
            await p.stmt.fetch(p.arg)
            p.samples.append(time.perf_counter_ns() - start)


async def explain(conn: asyncpg.Connection, path: str, options: str) -> Any:
    """EXPLAIN of a reused prepared subtree statement, after enough runs for its plan to settle.

    Returns the text lines, or the parsed plan when ``options`` asks for JSON.
    """
    sql, arg = subtree_sql(path)
    await conn.execute(f"PREPARE subtree(text) AS {sql}")
    try:
        literal = arg.replace("'", "''")
        for _ in range(10):
            await conn.execute(f"EXECUTE subtree('{literal}')")
        rows = await conn.fetch(f"EXPLAIN ({options}) EXECUTE subtree('{literal}')")
    finally:
        await conn.execute("DEALLOCATE subtree")
    if "JSON" in options.upper():
        return json.loads(rows[0][0])
    return [r[0] for r in rows]


def plan_summary(plan: Any) -> str:
    """The scan nodes of a JSON plan: 'Index Scan unit_path_prefix', 'Seq Scan' …"""
    found: list[str] = []
    stack = [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        if "Scan" in node["Node Type"]:
            found.append(" ".join(filter(None, (node["Node Type"], node.get("Index Name")))))
        stack.extend(reversed(node.get("Plans", [])))
    return " > ".join(found) or plan[0]["Plan"]["Node Type"]


@dataclass(frozen=True, slots=True)
class Network:
    """A loaded network and the county and village whose subtrees are timed."""

    size: str
    conn: asyncpg.Connection
    units: int
    county: str
    county_path: str
    village: str
    village_path: str


async def network(size: str, conn: asyncpg.Connection, units: int, county: str | None = None) -> Network:
    """Choose ``county`` (default the middle one by code) and the middle village in it."""
    if county is None:
        county, county_path = await pick(conn, Level.COUNTY.value)
    else:
        county_path = await conn.fetchval("SELECT path FROM unit WHERE code = $1", county)
    village, village_path = await pick(conn, Level.VILLAGE.value, county_path)
    return Network(size, conn, units, county, county_path, village, village_path)


async def measure(networks: list[Network], warmup: int, repeat: int) -> list[Measured]:
    """Time the county and village subtree of every network, samples interleaved."""
    probes = [(await probe(n.conn, n.county_path), await probe(n.conn, n.village_path)) for n in networks]
    await time_interleaved([p for pair in probes for p in pair], warmup, repeat)
    measured = []
    for n, (county, village) in zip(networks, probes, strict=True):
        if village.rows != 1:
            raise RuntimeError(f"village {n.village} subtree has {village.rows} rows")
        measured.append(
            Measured(
                size=n.size,
                units=n.units,
                county=n.county,
                county_rows=county.rows,
                county_ms=county.median_ms,
                county_plan=plan_summary(await explain(n.conn, n.county_path, "COSTS OFF, FORMAT JSON")),
                village=n.village,
                village_ms=village.median_ms,
                village_plan=plan_summary(await explain(n.conn, n.village_path, "COSTS OFF, FORMAT JSON")),
            )
        )
    return measured


def report(small: Measured, big: Measured, warmup: int, repeat: int) -> Table:
    table = Table(
        title=f"subtree query: median of {repeat} runs after {warmup} warm-up, prepared, the networks in turns"
    )
    for header in ("size", "units", "county", "rows", "county ms", "village", "village ms"):
        table.add_column(header, justify="left" if header == "size" else "right")
    for m in (small, big):
        table.add_row(
            m.size,
            f"{m.units:,}",
            m.county,
            f"{m.county_rows:,}",
            f"{m.county_ms:.3f}",
            m.village,
            f"{m.village_ms:.3f}",
        )
    table.add_row(
        "national/Zhongwei",
        f"{big.units / small.units:,.0f}x",
        "",
        f"{big.county_rows / small.county_rows:.2f}x",
        f"{big.county_ms / small.county_ms:.2f}x",
        "",
        f"{big.village_ms / small.village_ms:.2f}x",
        style="bold",
    )
    return table


# -- entry point -------------------------------------------------------------------------


def _database_name(value: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,53}", value):
        raise argparse.ArgumentTypeError("use at most 54 lower-case letters, digits and _")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/hierarchy.py",
        description="Time the app's subtree (scope) query on the Zhongwei network and on a "
        "national-size synthetic tree in a scratch PostgreSQL database.",
    )
    parser.add_argument(
        "--dsn",
        default=DEFAULT_DSN,
        help="PostgreSQL server to use; its database is only used to create and drop the "
        "scratch one (default: $DAIBAN_BENCH_PG or %(default)s)",
    )
    parser.add_argument(
        "--database",
        type=_database_name,
        default=DEFAULT_DATABASE,
        help="prefix of the two scratch databases (<prefix>_zhongwei, <prefix>_national), "
        "dropped and re-created each run (default: %(default)s)",
    )
    parser.add_argument("--counties", type=int, default=COUNTIES, help="default: %(default)s")
    parser.add_argument("--towns", type=int, default=TOWNS, help="default: %(default)s")
    parser.add_argument("--villages", type=int, default=VILLAGES, help="default: %(default)s")
    parser.add_argument("--warmup", type=int, default=100, help="untimed runs per query (default: %(default)s)")
    parser.add_argument(
        "--repeat", type=int, default=2000, help="timed runs per query, at least 50 (default: %(default)s)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the scratch databases behind")
    args = parser.parse_args(argv)
    if args.repeat < 50:
        parser.error("--repeat must be at least 50")
    if args.counties < 1 or args.towns < 1 or args.villages < 1:
        parser.error("the national tree needs at least one county, town and village")
    return args


async def run(args: argparse.Namespace, console: Console) -> None:
    names = {size: f"{args.database}_{size}" for size in ("zhongwei", "national")}
    urls = {size: database_url(args.dsn, name) for size, name in names.items()}
    for name in names.values():
        await recreate_database(args.dsn, name)
    conns: list[asyncpg.Connection] = []
    try:
        started = time.perf_counter()
        units = await migrate(urls["zhongwei"], seed=True)
        await migrate(urls["national"], seed=False)
        console.print(
            f"migrated {', '.join(names.values())} and seeded Zhongwei in {time.perf_counter() - started:.1f} s"
        )
        conns = [await asyncpg.connect(urls["zhongwei"]), await asyncpg.connect(urls["national"])]
        small_conn, big_conn = conns

        started = time.perf_counter()
        total = await load_national(big_conn, args.counties, args.towns, args.villages, console)
        for conn in conns:
            await conn.execute("ANALYZE unit")
        elapsed = time.perf_counter() - started
        console.print(f"loaded {total:,} units and analysed in {elapsed:.1f} s ({total / elapsed:,.0f}/s)")

        networks = [
            await network("Zhongwei", small_conn, units, ZHONGWEI_COUNTY),
            await network("national", big_conn, total),
        ]
        started = time.perf_counter()
        small, big = await measure(networks, args.warmup, args.repeat)
        console.print(f"timed {4 * args.repeat:,} queries in {time.perf_counter() - started:.1f} s")

        sql, arg = subtree_sql(networks[1].county_path)
        console.print(f"\nquery: {sql}    -- $1 = '{arg}'\n")
        console.print(report(small, big, args.warmup, args.repeat))
        for m in (small, big):
            console.print(f"plan {m.size}: county {m.county_plan}; village {m.village_plan}")
        plan = await explain(big_conn, networks[1].county_path, "ANALYZE, BUFFERS")
        console.print(f"\nEXPLAIN (ANALYZE, BUFFERS) national county {big.county}, prepared and reused:")
        console.print("\n".join(f"  {line}" for line in plan), markup=False, highlight=False)
    finally:
        for conn in conns:
            await conn.close()
        if not args.keep:
            for name in names.values():
                await drop_database(args.dsn, name)
    print()
    print(f"village subtree ratio: {big.village_ms / small.village_ms:.2f}")
    print(f"county subtree ratio: {big.county_ms / small.county_ms:.2f}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 120  # rich assumes 80 columns in a pipe, which cuts the codes short
    asyncio.run(run(args, console))


if __name__ == "__main__":
    main()
