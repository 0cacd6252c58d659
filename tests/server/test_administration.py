"""Administration: a production seed with no known password, the first admin from the
command line, agents created and reset through the API with a forced password change,
the last admin, nobody approving their own extension, and an audit of every change."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import rawdb
from click.testing import CliRunner
from factories import Client, assert_problem, case_payload, headers
from litestar.testing import AsyncTestClient
from live import live_server

from cli import main
from server.app import create_app
from server.settings import Settings, load_settings

DAIBAN = Path(sys.executable).parent / "daiban"
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "/api/v1/auth/token"


def daiban(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAIBAN_DATABASE_URL": db_url, "DAIBAN_LANG": "zh_CN"}
    return subprocess.run([str(DAIBAN), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


async def sign_in(client: Client, username: str, password: str) -> dict[str, str]:
    r = await client.post(TOKEN, json={"username": username, "password": password})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_production_seed_then_first_admin_end_to_end(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'prod.sqlite'}"
    seeded = daiban(url, "seed", "--no-demo")
    assert seeded.returncode == 0, seeded.stderr
    assert "daiban agents add" in seeded.stdout
    with sqlite3.connect(tmp_path / "prod.sqlite") as conn:
        assert conn.execute("select count(*) from agent").fetchone() == (0,)
        assert conn.execute("select count(*) from unit").fetchone()[0] > 500

    added = daiban(url, "agents", "add", "root", "--name", "系统管理员", "--unit", "640500", "--role", "admin")
    assert added.returncode == 0, added.stderr
    temporary = added.stdout.split("temporary password): ")[1].split()[0]
    listed = daiban(url, "agents", "list")
    assert "root" in listed.stdout and "须改密码" in listed.stdout

    app = create_app(load_settings({}, database_url=url, embedded_jobs=False))
    async with AsyncTestClient(app=app) as client:
        r = await client.post(TOKEN, json={"username": "root", "password": "demo"})
        assert_problem(r, 401, "auth.invalid_credentials")
        r = await client.post(TOKEN, json={"username": "root", "password": temporary})
        assert r.status_code == 201 and r.json()["must_change_password"] is True
        who = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert_problem(await client.get("/api/v1/agents", headers=who), 403, "auth.password_change_required")
        assert (await client.get("/api/v1/auth/me", headers=who)).status_code == 200
        change = {"current_password": temporary, "new_password": "新的口令-2026"}
        assert (await client.post("/api/v1/auth/password", json=change, headers=who)).status_code == 204
        assert (await client.get("/api/v1/agents", headers=who)).status_code == 200
        # The only admin cannot disable itself, by API or command line.
        assert_problem(await client.post("/api/v1/agents/root/disable", headers=who), 409, "agent.last_admin")
    refused = daiban(url, "agents", "disable", "root")
    assert refused.returncode == 1 and "agent.last_admin" in refused.stderr
    with sqlite3.connect(tmp_path / "prod.sqlite") as conn:
        actions = [row[0] for row in conn.execute("select action from admin_event order by id")]
    assert actions == ["agent.create", "password.change"]


async def test_admin_creates_resets_and_audits(client: Client, settings: Settings) -> None:
    admin = await headers(client, "admin")
    name = f"t{uuid.uuid4().hex[:10]}"
    new = {"username": name, "name": "马玉兰", "unit_code": "640502100", "role": "town_agent"}
    villager = await headers(client, "a640502100002")
    assert_problem(await client.post("/api/v1/agents", json=new, headers=villager), 403, "auth.forbidden")
    wrong_level = new | {"role": "village_agent"}
    assert_problem(await client.post("/api/v1/agents", json=wrong_level, headers=admin), 422, "agent.role_invalid")

    try:
        r = await client.post("/api/v1/agents", json=new, headers=admin)
        assert r.status_code == 201, r.text
        temporary = r.json()["temporary_password"]
        assert r.json()["agent"]["username"] == name and len(temporary) >= 12
        assert_problem(await client.post("/api/v1/agents", json=new, headers=admin), 409, "agent.exists")

        who = await sign_in(client, name, temporary)
        assert_problem(await client.get("/api/v1/cases", headers=who), 403, "auth.password_change_required")
        short = {"current_password": temporary, "new_password": "short"}
        r = await client.post("/api/v1/auth/password", json=short, headers=who)
        assert_problem(r, 422, "auth.password_too_short")
        wrong = {"current_password": "not-it-at-all", "new_password": "a-long-new-one"}
        assert_problem(await client.post("/api/v1/auth/password", json=wrong, headers=who), 403, "auth.wrong_password")
        good = {"current_password": temporary, "new_password": "a-long-new-one"}
        assert (await client.post("/api/v1/auth/password", json=good, headers=who)).status_code == 204
        assert (await client.get("/api/v1/cases", headers=who)).status_code == 200

        # A reset: the old token stops, the temporary password must be changed again.
        r = await client.post(f"/api/v1/agents/{name}/reset", headers=admin)
        again = r.json()["temporary_password"]
        assert_problem(await client.get("/api/v1/auth/me", headers=who), 401, "auth.token_invalid")
        r = await client.post(TOKEN, json={"username": name, "password": again})
        assert r.json()["must_change_password"] is True
        # An admin's set password needs no change.
        r = await client.post(f"/api/v1/agents/{name}/password", json={"password": "set-by-admin-1"}, headers=admin)
        assert r.status_code == 204
        r = await client.post(TOKEN, json={"username": name, "password": "set-by-admin-1"})
        assert r.json()["must_change_password"] is False
        assert (await client.post(f"/api/v1/agents/{name}/disable", headers=admin)).json()["active"] is False
        assert_problem(await client.post("/api/v1/agents/admin/disable", headers=admin), 409, "agent.last_admin")

        sql = "select actor, action from admin_event where target = ? order by id"
        assert await rawdb.fetch(settings.database_url, sql, name) == [
            ("admin", "agent.create"), (name, "password.change"), ("admin", "password.reset"),
            ("admin", "password.set"), ("admin", "agent.disable"),
        ]  # fmt: skip
    finally:  # agents are seeded once per session on PostgreSQL (a SQLite copy is per test)
        await rawdb.fetch(settings.database_url, "delete from agent where username = ?", name)


async def test_nobody_approves_their_own_extension(client: Client) -> None:
    dispatcher = await headers(client, "dispatcher")
    r = await client.post("/api/v1/cases", json=case_payload(), headers=dispatcher)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await client.post(f"/api/v1/cases/{cid}/extend", json={"reason": "等材料", "days": 2}, headers=dispatcher)
    assert r.status_code == 200 and r.json()["extension"]["state"] == "requested", r.text
    r = await client.post(f"/api/v1/cases/{cid}/approve-extension", json={"approve": True}, headers=dispatcher)
    assert_problem(r, 403, "case.own_extension")


def test_village_passwd_changes_a_reset_password(sqlite_template: Path, tmp_path: Path) -> None:
    db = tmp_path / "daiban.sqlite"
    shutil.copy(sqlite_template, db)
    settings = load_settings({}, database_url=f"sqlite:///{db}", embedded_jobs=False)
    name = f"t{uuid.uuid4().hex[:10]}"
    with live_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        r = http.post(TOKEN, json={"username": "admin", "password": "demo"})
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
        new = {"username": name, "name": "马玉兰", "unit_code": "640502100002", "role": "village_agent"}
        temporary = http.post("/api/v1/agents", json=new, headers=admin).json()["temporary_password"]
        village = ["village", "--replica", str(tmp_path / "village.sqlite")]
        runner = CliRunner()
        init = [*village, "init", "--server", url, "--user", name]
        r = runner.invoke(main, [*init, "--password", temporary])
        assert r.exit_code == 1 and "auth.password_change_required" in r.output
        passwd = [*village, "passwd", "--server", url, "--user", name, "--current", temporary]
        r = runner.invoke(main, [*passwd, "--new", "short"])
        assert r.exit_code == 1 and "auth.password_too_short" in r.output
        r = runner.invoke(main, [*passwd, "--new", "村里的新密码2026"])
        assert r.exit_code == 0, r.output
        assert runner.invoke(main, [*init, "--password", "村里的新密码2026"]).exit_code == 0
        # Once set up, the device changes it again with no options and keeps working.
        r = runner.invoke(main, [*village, "passwd", "--current", "村里的新密码2026", "--new", "又一个新密码2026"])
        assert r.exit_code == 0, r.output
        assert runner.invoke(main, [*village, "sync"]).exit_code == 0
        r = http.post(TOKEN, json={"username": name, "password": "又一个新密码2026"})
        assert r.status_code == 201 and r.json()["must_change_password"] is False
