"""The one place where tables meet an engine, chosen by the settings."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TypeAlias, overload

import asyncpg
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType
from piccolo.table import Table

from server import piccolo_conf
from server.settings import Settings
from server.tables import ALL_TABLES

os.environ.setdefault("PICCOLO_CONF", "server.piccolo_conf")

#: The two engines daiban runs on; code that differs per engine narrows with ``isinstance``.
Database: TypeAlias = PostgresEngine | SQLiteEngine

#: What each engine raises when an insert hits a unique key (a racing writer got there first).
UNIQUE_VIOLATIONS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, asyncpg.UniqueViolationError)


def make_engine(settings: Settings) -> Database:
    """An engine for the settings' database URL (SQLite file or PostgreSQL)."""
    if settings.is_postgres:
        # Scope queries match a path prefix given as a parameter (LIKE $1). A generic plan,
        # which PostgreSQL may switch a prepared statement to after five runs, cannot use
        # the prefix index and scans the table; plan each run for its own values instead.
        server_settings = {"plan_cache_mode": "force_custom_plan"}
        return PostgresEngine(
            config={"dsn": settings.database_url, "server_settings": server_settings}, log_queries=False
        )
    path = Path(settings.sqlite_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers work beside the writer; it is a property of the file, set once.
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    return SQLiteEngine(path=str(path), timeout=30)


def bind(engine: Database) -> Database:
    """Point every table, and Piccolo's migration runner, at ``engine``."""
    piccolo_conf.DB = engine
    tables: tuple[type[Table], ...] = (*ALL_TABLES, Migration)
    for table in tables:
        table._meta.db = engine
    return engine


def connect(settings: Settings) -> Database:
    """Bind the tables to the engine the settings choose (and set the search key)."""
    from server import search

    search.configure(settings.search_key)
    return bind(make_engine(settings))


async def start(engine: Database) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=2, max_size=20)


async def stop(engine: Database) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()


async def migrate(engine: Database) -> None:
    """Run every migration not yet run (quietly: Piccolo prints as it goes)."""
    from contextlib import redirect_stdout
    from io import StringIO

    from piccolo.apps.migrations.commands.forwards import run_forwards

    bind(engine)
    out = StringIO()
    with redirect_stdout(out):
        result = await run_forwards(app_name="daiban", migration_id="all")
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}\n{out.getvalue()}")


@overload
def transaction(engine: PostgresEngine) -> PostgresTransaction: ...
@overload
def transaction(engine: SQLiteEngine) -> SQLiteTransaction: ...
@overload
def transaction(engine: Database) -> PostgresTransaction | SQLiteTransaction: ...
def transaction(engine: Database) -> PostgresTransaction | SQLiteTransaction:
    """A write transaction. SQLite takes the write lock up front (IMMEDIATE) so two
    writers never both read under a shared lock and then deadlock on upgrading it."""
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()
