"""Server-side subcommands: serve, migrate, seed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from server import db
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
def migrate() -> None:
    """Create or upgrade the database schema (DAIBAN_DATABASE_URL)."""
    settings = load_settings()
    run_with_db(settings, lambda: db.migrate(db.piccolo_conf.DB))
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
        tasks: dict[str, int] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done)

        async def work() -> dict[str, int]:
            await db.migrate(db.piccolo_conf.DB)
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
        run_with_db(settings, lambda: db.migrate(db.piccolo_conf.DB))
    app = create_app(settings)
    uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_level="info")
