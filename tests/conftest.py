"""Shared fixtures: the same storage tests run on a SQLite file and on PostgreSQL.

A database is migrated and seeded once per session per engine; each test then gets a
copy (SQLite) or a truncation of everything but the network (PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from server import db
from server.app import create_app
from server.seed import seed_network
from server.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
#: Tests read Chinese unless they ask for English, whatever the machine's locale.
os.environ["DAIBAN_LANG"] = "zh_CN"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the message catalogs from the .po files the tests see (as `make` does)."""
    subprocess.run([sys.executable, str(ROOT / "tools" / "catalogs.py"), "compile"], check=True)


PG_ADMIN_DSN = os.environ.get("DAIBAN_TEST_PG", "postgresql://root@127.0.0.1:5432/test")
REQUIRE_SERVICES = os.environ.get("DAIBAN_REQUIRE_SERVICES") == "1"
#: Tables a test may fill; the network, catalogue and agents are seeded once.
VOLATILE = (
    "case_file", "case_event", "case_holder", "token", "counter", "device", "sync_op", "client_view",
    "notification", "workload_plan", "project", "blocker", "unit_webhook", "webhook_delivery", "blob", "upload",
    "admin_event", "calendar_year",
)


def _pg_reachable() -> bool:
    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        except (OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


async def _prepare(settings: Settings) -> None:
    engine = db.connect(settings)
    await db.start(engine)
    try:
        await db.migrate(engine)
        await seed_network(settings.demo_password)
    finally:
        await db.stop(engine)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "daiban.sqlite"
    asyncio.run(_prepare(load_settings({}, database_url=f"sqlite:///{path}")))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    if not _pg_reachable():
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL is required (CI=true) but {PG_ADMIN_DSN} cannot be reached")
        pytest.skip("PostgreSQL not reachable")
    name = f"daiban_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(_prepare(load_settings({}, database_url=url)))
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for a fresh, seeded database of each engine."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "daiban.sqlite"
        shutil.copy(template, path)
        return load_settings({}, database_url=f"sqlite:///{path}", embedded_jobs=False)
    url: str = request.getfixturevalue("pg_database")

    async def truncate() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f"TRUNCATE {', '.join(VOLATILE)} RESTART IDENTITY")
        finally:
            await conn.close()

    asyncio.run(truncate())
    return load_settings({}, database_url=url, embedded_jobs=False)


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as client:
        yield client
