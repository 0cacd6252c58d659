"""Server-side subcommands: serve, migrate, seed, worker, report, backup, calendar."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from hierarchy.errors import DaibanError
from hierarchy.i18n import _
from server import db, piccolo_conf
from server.report_export import build_report, write_report
from server.settings import Settings, load_settings

T = TypeVar("T")


def run_with_db(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = db.connect(settings)
        await db.start(engine)
        try:
            return await work()
        finally:
            await db.stop(engine)

    return asyncio.run(go())


@click.command(help=_("Create or upgrade the database schema (DAIBAN_DATABASE_URL)."))
@click.option(
    "--check",
    is_flag=True,
    help=_("Touch no database: fail (exit 1) when the tables and the migrations disagree."),
)
def migrate(check: bool) -> None:
    """Create or upgrade the database schema (DAIBAN_DATABASE_URL)."""
    if check:
        from server.schema_check import drift

        missing = asyncio.run(drift())
        if missing:
            click.echo("数据表与迁移不一致，缺少迁移 (tables and migrations disagree):", err=True)
            for line in missing:
                click.echo(f"  {line}", err=True)
            raise SystemExit(1)
        click.echo("数据表与迁移一致 (tables match the migrations)")
        return
    settings = load_settings()
    run_with_db(settings, lambda: db.migrate(piccolo_conf.DB))
    click.echo(f"migrated {settings.database_url}")


@click.command(
    help=_(
        "Load the Zhongwei network, the item catalogue and demo agents (idempotent). The demo agents all "
        "have the password DAIBAN_DEMO_PASSWORD (default demo): for trying daiban out, never for production; "
        "use --no-demo there."
    )
)
@click.option(
    "--demo-cases",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help=_("Also generate this many demo cases across the network."),
)
@click.option(
    "--no-demo",
    is_flag=True,
    help=_(
        "Production: the network and catalogue only, no agent (so no known password); "
        "then create the first admin with `daiban agents add`."
    ),
)
def seed(demo_cases: int, no_demo: bool) -> None:
    """Load the Zhongwei network, the item catalogue and demo agents (idempotent).

    The demo agents (one or two per unit, plus `dispatcher` and `admin`) all have the
    password DAIBAN_DEMO_PASSWORD (default `demo`): for trying daiban out, never for
    production. Use --no-demo there.
    """
    if no_demo and demo_cases:
        raise click.UsageError("--demo-cases needs the demo agents; drop --no-demo")
    from server.seed import seed_network

    settings = load_settings()
    with Progress(TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn()) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done)

        async def work() -> dict[str, int]:
            await db.migrate(piccolo_conf.DB)
            counts = await seed_network(None if no_demo else settings.demo_password, progress)
            if demo_cases:
                from server.demo import seed_demo_cases

                counts["cases"] = await seed_demo_cases(demo_cases, progress)
            return counts

        counts = run_with_db(settings, work)
    click.echo(", ".join(f"{v} {k}" for k, v in counts.items()))
    if no_demo:
        click.echo(
            "没有创建任何用户。创建第一个管理员 (create the first admin):\n"
            "  daiban agents add admin --name 系统管理员 --unit 640500 --role admin\n"
            "它会显示一个临时密码，首次登录时必须修改 (it prints a temporary password, to be changed at first sign-in)."
        )


@click.command(
    help=_(
        "Serve the HTTP API (OpenAPI at /schema, metrics at /metrics). SIGTERM stops taking connections "
        "and lets requests in flight finish."
    )
)
@click.option("--host", default=None, help=_("Interface to bind (default DAIBAN_HOST or 127.0.0.1)."))
@click.option("--port", type=int, default=None, help=_("Port (default DAIBAN_PORT or 8000)."))
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help=_("API processes sharing the port; state lives in the database and Redis, so they act as one."),
)
@click.option("--no-migrate", is_flag=True, help=_("Do not run pending migrations first."))
def serve(host: str | None, port: int | None, workers: int, no_migrate: bool) -> None:
    """Serve the HTTP API (OpenAPI at /schema, metrics at /metrics) on uvicorn with uvloop
    and httptools. SIGTERM stops taking connections and lets requests in flight finish
    (up to DAIBAN_SHUTDOWN_TIMEOUT seconds)."""
    import os
    import tempfile

    import uvicorn

    from server import logs

    settings = load_settings()
    logs.configure(settings)
    if not no_migrate:
        run_with_db(settings, lambda: db.migrate(piccolo_conf.DB))
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each process writes its samples here; /metrics in any of them sums them all.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="daiban-metrics-")
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=None,  # logging is ours (server.logs), in every process
        access_log=False,  # the request line is server.observe's
        proxy_headers=True,
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )


@click.command(
    help=_(
        "Run background jobs from Redis (DAIBAN_REDIS_URL): the SLA sweep every minute, the daily report "
        "at 07:00 Beijing time, notifications. Waits and retries while Redis or the database is away."
    )
)
@click.option("--burst", is_flag=True, help=_("Run the jobs already queued, then exit."))
def worker(burst: bool) -> None:
    """Run background jobs from Redis (DAIBAN_REDIS_URL): the SLA sweep every minute,
    the daily report at 07:00 Beijing time, notifications. Waits (one line, then retries
    with backoff) while Redis or the database is away; quiet while idle."""
    from server import logs
    from server.jobs.runner import run

    settings = load_settings()
    if not settings.redis_url:
        raise click.UsageError("set DAIBAN_REDIS_URL; without Redis, daiban serve runs the jobs itself")
    logs.configure(settings)
    if settings.worker_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port)
    run(settings, burst=burst)


@click.command(
    help=_(
        "Copy the live database to OUTPUT without stopping the API: SQLite's online backup, or pg_dump's "
        "custom format for PostgreSQL (restore with pg_restore --clean --if-exists -d URL OUTPUT)."
    )
)
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
def backup(output: Path) -> None:
    """Copy the live database to OUTPUT without stopping the API: SQLite's online backup
    (restore: stop the API, put the file at DAIBAN_DATABASE_URL's path), or pg_dump's
    custom format for PostgreSQL (restore: pg_restore --clean --if-exists -d URL OUTPUT)."""
    from server.backup import BackupError
    from server.backup import backup as take

    settings = load_settings()
    try:
        result = take(settings, output)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(_("Backed up the {engine} database to {path} ({size} bytes).").format(
        engine=result.engine, path=result.path, size=result.bytes))
    if result.cases is not None:
        click.echo(_("Cases in the copy: {count}").format(count=result.cases))


@click.command(help=_("Accountability figures for a unit and each of its children (Beijing days)."))
@click.option("--unit", default=None, help=_("Unit code (default: the city)."))
@click.option(
    "--from", "period_from", type=click.DateTime(["%Y-%m-%d"]), help=_("First day (default: 29 days before --to).")
)
@click.option("--to", "period_to", type=click.DateTime(["%Y-%m-%d"]), help=_("Last day, included (default: today)."))
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "xlsx"]), default="md", show_default=True)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help=_("Write to this file instead of standard output.")
)
def report(unit: str | None, period_from: Any, period_to: Any, fmt: str, output: str | None) -> None:
    """Accountability figures for a unit and each of its children (Beijing days)."""
    settings = load_settings()
    try:
        result = run_with_db(settings, lambda: build_report(unit, period_from, period_to))
    except DaibanError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    write_report(result, fmt, output)


@click.group(help=_("The working-day calendar: load a year's official holiday arrangement."))
def calendar() -> None:
    """The working-day calendar: load a year's official holiday arrangement."""


@calendar.command(
    "import",
    help=_(
        "Load FILE (a year's holidays and make-up working days, JSON), then recompute the due times of the "
        "open cases it touches and list what moved."
    ),
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help=_("Validate the file and say what would move; change nothing."))
def import_arrangement(file: Path, dry_run: bool) -> None:
    """Load FILE (a year's holidays and 调休 working days, JSON), then recompute the due
    times of the open cases it touches and list what moved."""
    from datetime import UTC, datetime

    from hierarchy.arrangement import parse
    from server import calendar_store

    settings = load_settings()
    try:
        arrangement = parse(file.read_bytes())
    except DaibanError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    click.echo(
        _("{year}: {holidays} holiday days, {workdays} make-up working days (published {published}).").format(
            year=arrangement.year,
            holidays=len(arrangement.holidays),
            workdays=len(arrangement.workdays),
            published=arrangement.published,
        )
    )
    if dry_run:
        return

    async def work() -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        engine = piccolo_conf.DB
        await calendar_store.load_all()
        await calendar_store.store(arrangement, now)
        return await calendar_store.recompute_due_dates(engine, arrangement.year, now)

    moved = run_with_db(settings, work)
    for m in moved:
        click.echo(f"{m['ref'] or m['id']}: {m['from'].isoformat()} → {m['to'].isoformat()}")
    click.echo(_("{count} open cases moved.").format(count=len(moved)))
