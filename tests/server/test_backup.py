"""``daiban backup`` of a live store, restored: the same cases come back."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import threading
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from factories import case_payload
from litestar.testing import AsyncTestClient
from live import live_server
from processes import DAIBAN, ROOT

from server.app import create_app
from server.settings import load_settings

VILLAGE = "640502100002"


def cases_in(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {str(uuid.UUID(str(r[0]))): r[1] for r in conn.execute("SELECT id, version FROM case_file")}


def run_backup(database_url: str, target: Path) -> str:
    env = {**os.environ, "DAIBAN_DATABASE_URL": database_url, "DAIBAN_LANG": "en"}
    done = subprocess.run([str(DAIBAN), "backup", str(target)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


class Writer(threading.Thread):
    """Creates cases through the API until stopped; keeps the ids the server acknowledged."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.acked, self.stop = url, list[str](), threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as http:
            r = http.post("/api/v1/auth/token", json={"username": f"a{VILLAGE}", "password": "demo"})
            who = {"Authorization": f"Bearer {r.json()['access_token']}"}
            while not self.stop.is_set():
                r = http.post("/api/v1/cases", json=case_payload(), headers=who)
                assert r.status_code == 201, r.text
                self.acked.append(r.json()["id"])


def test_sqlite_backup_while_serving_restores_the_same_cases(sqlite_template: Path, tmp_path: Path) -> None:
    source = tmp_path / "live.sqlite"
    shutil.copy(sqlite_template, source)
    url = f"sqlite:///{source}"
    settings = load_settings({}, database_url=url, embedded_jobs=False)
    with live_server(settings) as base:
        writer = Writer(base)
        writer.start()
        while len(writer.acked) < 10 and writer.is_alive():
            writer.stop.wait(0.05)
        before = set(writer.acked)
        out = run_backup(url, tmp_path / "during.sqlite")
        writes_during = len(writer.acked) - len(before)
        writer.stop.set()
        writer.join(timeout=20)
        assert "Backed up the sqlite database" in out
        during = cases_in(tmp_path / "during.sqlite")
        # A consistent snapshot taken while the API kept writing: everything acknowledged
        # before it started is in it, and nothing that the source does not have.
        assert before <= during.keys() <= set(writer.acked)
        print(f"backup while serving: {len(during)} cases copied, {writes_during} writes meanwhile")
        out = run_backup(url, tmp_path / "after.sqlite")
        assert f"Cases in the copy: {len(writer.acked)}" in out
    assert cases_in(tmp_path / "after.sqlite") == cases_in(source)

    # Restore: the copy becomes the database of a fresh API, which serves every case.
    restored = tmp_path / "restored" / "daiban.sqlite"
    restored.parent.mkdir()
    shutil.copy(tmp_path / "after.sqlite", restored)

    async def read_back() -> None:
        app = create_app(load_settings({}, database_url=f"sqlite:///{restored}", embedded_jobs=False))
        async with AsyncTestClient(app=app) as client:
            r = await client.post("/api/v1/auth/token", json={"username": f"a{VILLAGE}", "password": "demo"})
            who = {"Authorization": f"Bearer {r.json()['access_token']}"}
            for case_id in writer.acked:
                assert (await client.get(f"/api/v1/cases/{case_id}", headers=who)).status_code == 200

    asyncio.run(read_back())


@pytest.mark.pg
def test_postgres_backup_is_a_pg_dump_that_pg_restore_brings_back(pg_database: str, tmp_path: Path) -> None:
    if shutil.which("pg_restore") is None:
        pytest.skip("pg_restore is not installed")
    settings = load_settings({}, database_url=pg_database, embedded_jobs=False)
    with live_server(settings) as base:
        writer = Writer(base)
        writer.start()
        while len(writer.acked) < 5 and writer.is_alive():
            writer.stop.wait(0.05)
        writer.stop.set()
        writer.join(timeout=20)
    run_backup(pg_database, tmp_path / "daiban.dump")
    target = f"daiban_restore_{uuid.uuid4().hex[:8]}"
    admin = pg_database.rsplit("/", 1)[0] + "/postgres"

    async def sql(dsn: str, query: str) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetch(query)
        finally:
            await conn.close()

    asyncio.run(sql(admin, f'CREATE DATABASE "{target}"'))
    restored = pg_database.rsplit("/", 1)[0] + f"/{target}"
    try:
        done = subprocess.run(["pg_restore", "--no-owner", f"--dbname={restored}", str(tmp_path / "daiban.dump")],
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 0, done.stderr
        query = "SELECT id::text AS id, version FROM case_file"
        source = {r["id"]: r["version"] for r in asyncio.run(sql(pg_database, query))}
        back = {r["id"]: r["version"] for r in asyncio.run(sql(restored, query))}
        assert back == source and set(writer.acked) <= back.keys()
    finally:
        asyncio.run(sql(admin, f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
