"""Shared by the HTTP benchmarks: a scratch PostgreSQL database and the API served over it
by uvicorn with several worker processes on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from server import db
from server.seed import seed_network
from server.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DSN = os.environ.get("DAIBAN_BENCH_PG", "postgresql://root@127.0.0.1:5432/test")
PASSWORD = "bench"


def database_url(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


async def admin(dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def create_seeded(dsn: str, name: str) -> str:
    """Drop and create database ``name``, migrate and seed it (password ``bench``); its URL."""
    await admin(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    url = database_url(dsn, name)
    engine = db.connect(load_settings({}, database_url=url))
    await db.start(engine)
    try:
        await db.migrate(engine)
        await seed_network(PASSWORD)
    finally:
        await db.stop(engine)
    return url


async def drop(dsn: str, name: str) -> None:
    await admin(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(url: str, log: Path, workers: int = 2, app: str = "server.app:create_app") -> Iterator[str]:
    """``app`` (a factory) served by uvicorn with ``workers`` processes; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DAIBAN_DATABASE_URL": url,
        "DAIBAN_EMBEDDED_JOBS": "0",
        "DAIBAN_REDIS_URL": "",
        "DAIBAN_DEMO_PASSWORD": PASSWORD,
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", app, "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    with log.open("ab") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {log}")
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def sign_in(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
