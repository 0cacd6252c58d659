"""Server-side subcommands: serve, migrate, seed, worker, report."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from hierarchy.errors import DaibanError
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


@click.command()
@click.option(
    "--check",
    is_flag=True,
    help="Touch no database: fail (exit 1) when the tables and the migrations disagree.",
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


@click.command()
@click.option(
    "--demo-cases",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Also generate this many demo cases across the network.",
)
def seed(demo_cases: int) -> None:
    """Load the Zhongwei network, the item catalogue and demo agents (idempotent)."""
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
            counts = await seed_network(settings.demo_password, progress)
            if demo_cases:
                from server.demo import seed_demo_cases

                counts["cases"] = await seed_demo_cases(demo_cases, progress)
            return counts

        counts = run_with_db(settings, work)
    click.echo(", ".join(f"{v} {k}" for k, v in counts.items()))


@click.command()
@click.option("--host", default=None, help="Interface to bind (default DAIBAN_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default DAIBAN_PORT or 8000).")
@click.option("--no-migrate", is_flag=True, help="Do not run pending migrations first.")
def serve(host: str | None, port: int | None, no_migrate: bool) -> None:
    """Serve the HTTP API (OpenAPI at /schema)."""
    import uvicorn

    from server.app import create_app

    settings = load_settings()
    if not no_migrate:
        run_with_db(settings, lambda: db.migrate(piccolo_conf.DB))
    app = create_app(settings)
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_level="info")


@click.command()
@click.option("--burst", is_flag=True, help="Run the jobs already queued, then exit.")
def worker(burst: bool) -> None:
    """Run background jobs from Redis (DAIBAN_REDIS_URL): the SLA sweep every minute,
    the daily report at 07:00 Beijing time, notifications."""
    import logging

    from arq.worker import run_worker

    from server.jobs.worker import worker_settings

    settings = load_settings()
    if not settings.redis_url:
        raise click.UsageError("set DAIBAN_REDIS_URL; without Redis, daiban serve runs the jobs itself")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run_worker(dict(worker_settings(settings)), burst=burst)


@click.command()
@click.option("--unit", default=None, help="Unit code (default: the city).")
@click.option(
    "--from", "period_from", type=click.DateTime(["%Y-%m-%d"]), help="First day (default: 29 days before --to)."
)
@click.option("--to", "period_to", type=click.DateTime(["%Y-%m-%d"]), help="Last day, included (default: today).")
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "xlsx"]), default="md", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file instead of standard output.")
def report(unit: str | None, period_from: Any, period_to: Any, fmt: str, output: str | None) -> None:
    """Accountability figures for a unit and each of its children (Beijing days)."""
    settings = load_settings()
    try:
        result = run_with_db(settings, lambda: build_report(unit, period_from, period_to))
    except DaibanError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc
    write_report(result, fmt, output)
