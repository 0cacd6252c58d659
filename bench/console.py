"""Console start-up with a big queue: time to the first painted list, and peak memory.

A scratch SQLite database is migrated, seeded and given ``--cases`` queued cases in the
queue of 滨河镇 (640502100), taken at its villages and escalated there; a real server
serves it from a child process. The console then runs headless at 80×24 in another
child process (so its memory is its own), signs in as the town agent and waits until
the whole queue is in the table and the screen has been refreshed once after it.

With ``--source replica`` the console works from a device replica instead: the device
is set up and synced from the server first (timed separately), then the console starts
on it and reads the queue from the local replica.

    python bench/console.py [--cases 10000] [--source server|replica]

Over the API the queue arrives in pages of 500 and each page is added as it comes, so
the first rows show long before the last; both times are printed. The last two lines
are ``first paint: X s`` (from starting the app, sign-in included, to the first painted
rows of the queue) and ``peak memory: Y MB`` (peak resident size of the console
process, interpreter and imports included).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where this file's own name would
# shadow the ``console`` package; the repository root belongs there instead.
_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

ROOT = _HERE.parent
TOWN = "640502100"
USER = f"a{TOWN}"
ITEMS = ("N01-newborn-birth", "N02-school-enrolment", "N03-social-security-card")


# --- the scene: a database with a big queue, served from a child process ---------------


async def _prepare(db_path: Path, n: int) -> None:
    from hierarchy.cases import Actor
    from hierarchy.roles import Role
    from hierarchy.tree import Level
    from hierarchy.validation import make_resident_id
    from server import db
    from server.cases import load_city, load_item, load_unit_row, new_case_values
    from server.seed import seed_network
    from server.settings import load_settings
    from server.tables import Agent, Case, Counter
    from sync.wire import Applicant, CaseCreate

    engine = db.connect(load_settings({}, database_url=f"sqlite:///{db_path}"))
    await db.start(engine)
    try:
        await db.migrate(engine)
        await seed_network("demo")
        town = _found(await load_unit_row(TOWN))
        city = await load_city()
        villages = await Agent.select(Agent.id, Agent.unit_code).where(Agent.role == Role.VILLAGE_AGENT.value)
        villages = [v for v in villages if v["unit_code"].startswith(TOWN)]
        items = [_found(await load_item(code)) for code in ITEMS]
        origins = {v["unit_code"]: _found(await load_unit_row(v["unit_code"])) for v in villages}
        start = datetime.now(UTC) - timedelta(days=12)
        rows = []
        for i in range(n):
            village = villages[i % len(villages)]
            origin = origins[village["unit_code"]]
            actor = Actor(
                id=village["id"],
                unit_code=origin["code"],
                unit_path=origin["path"],
                role=Role.VILLAGE_AGENT,
                level=Level.VILLAGE,
            )
            item = items[i % len(items)]
            data = CaseCreate(
                id=uuid.uuid4(),
                item_code=item["code"],
                title=f"{item['name']} 第{i + 1}件",
                applicant=Applicant(
                    type="person", name="马玉兰", resident_id=make_resident_id(f"64050219800101{i % 1000:03d}")
                ),
            )
            taken = start + timedelta(minutes=i)  # a case a minute: some overdue by now, most not
            values = new_case_values(actor, data, taken, item, origin, city)
            values |= {
                "ref": f"ZW-2026-{i + 1:06d}",
                "change_seq": i + 1,
                "status": "queued",
                "owner_unit": town["code"],
                "owner_path": town["path"],
                "assignee_id": None,
                "escalations": 1,
                "last_from_unit": origin["code"],
                "last_from_path": origin["path"],
            }
            rows.append(Case(**values))
        for chunk in range(0, len(rows), 500):
            await Case.insert(*rows[chunk : chunk + 500]).run()
        await Counter.insert(Counter(name="change", value=n), Counter(name="ref-2026", value=n)).run()
    finally:
        await db.stop(engine)


def _found(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        raise RuntimeError("the seed is missing a unit or item this bench needs")
    return row


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "DAIBAN_DATABASE_URL": f"sqlite:///{db_path}", "DAIBAN_EMBEDDED_JOBS": "0"}
    command = [sys.executable, "-m", "uvicorn", "--factory", "server.app:create_app", "--port", str(port)]
    proc = subprocess.Popen([*command, "--log-level", "warning"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start")


async def _sync_replica(url: str, path: Path) -> tuple[float, int]:
    from sync.client import SyncClient

    device = SyncClient.open(path)
    began = time.perf_counter()
    await device.init(url, USER, "demo", "bench console")
    report = await device.sync()
    took = time.perf_counter() - began
    await device.close()
    return took, report.pulled


# --- the measurement, in its own process ------------------------------------------------


async def _measure(url: str, replica: str | None, n: int) -> dict[str, Any]:
    began = time.perf_counter()
    from console.app import DaibanConsole
    from console.data import DataClient
    from console.widgets.case_table import CaseTable

    imported = time.perf_counter()
    client: DataClient
    if replica:
        from console.replica_client import ReplicaDataClient

        client = ReplicaDataClient.open(replica, server=url)
    else:
        from console.http_client import HttpDataClient

        client = HttpDataClient(url)
    start = time.perf_counter()
    app = DaibanConsole(client, username=USER, status_every=3600, sync_every=3600)
    marks: dict[str, float] = {}
    async with app.run_test(size=(80, 24)) as pilot:

        async def until(predicate: Any, step: float = 0.005, limit: float = 300) -> None:
            deadline = time.perf_counter() + limit
            while not predicate():
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"console stuck on {type(app.screen).__name__}")
                await asyncio.sleep(step)

        await until(lambda: type(app.screen).__name__ == "SignInScreen")
        marks["sign-in screen"] = time.perf_counter()
        await pilot.press(*"demo", "enter")
        marks["submitted"] = time.perf_counter()
        await until(lambda: type(app.screen).__name__ == "MainScreen" and app.screen.query(CaseTable))
        marks["signed in"] = time.perf_counter()
        table = app.screen.query_one(CaseTable)

        async def painted() -> float:
            done = asyncio.Event()
            app.call_after_refresh(done.set)
            await done.wait()
            return time.perf_counter()

        await until(lambda: table.row_count > 0, step=0.001)
        marks["painted"] = await painted()
        first_rows = table.row_count
        await until(lambda: table.row_count >= n)
        marks["all painted"] = await painted()
        # Responsiveness on the big list: jump to the end and back.
        await pilot.press("ctrl+end")
        await until(lambda: table.cursor_row == n - 1)
        await pilot.press("ctrl+home")
        await until(lambda: table.cursor_row == 0)
        marks["end and home"] = time.perf_counter()
        rows = table.row_count
    await client.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "rows": rows,
        "first rows": first_rows,
        "imports": imported - began,
        "sign-in screen": marks["sign-in screen"] - start,
        "sign-in": marks["signed in"] - marks["submitted"],
        "first page": marks["painted"] - marks["signed in"],
        "whole queue": marks["all painted"] - marks["signed in"],
        "first paint": marks["painted"] - start,
        "all painted": marks["all painted"] - start,
        "end and home": marks["end and home"] - marks["all painted"],
        "peak memory": peak_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--source", choices=("server", "replica"), default="server")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--replica", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(_measure(args.measure, args.replica, args.cases))))
        return

    with tempfile.TemporaryDirectory(prefix="daiban-bench-") as tmp:
        db_path = Path(tmp) / "daiban.sqlite"
        began = time.perf_counter()
        asyncio.run(_prepare(db_path, args.cases))
        print(f"scene: {args.cases:,} queued cases in {TOWN} ({time.perf_counter() - began:.1f} s to build)")
        proc, url = _serve(db_path)
        try:
            command = [sys.executable, str(Path(__file__).resolve()), "--measure", url, "--cases", str(args.cases)]
            if args.source == "replica":
                replica = Path(tmp) / "replica.sqlite"
                took, pulled = asyncio.run(_sync_replica(url, replica))
                print(f"device set-up and first sync: {pulled:,} cases in {took:.1f} s")
                command += ["--replica", str(replica)]
            out = subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    result = json.loads(out.strip().splitlines()[-1])
    print(f"source: {args.source}, terminal 80×24, {result['rows']:,} rows in the queue table")
    print(f"  imports of the console           {result['imports']:.2f} s")
    print(f"  start → sign-in screen           {result['sign-in screen']:.2f} s")
    print(f"  sign-in (password check, network) {result['sign-in']:.2f} s")
    print(f"  signed in → first {result['first rows']:,} rows painted {result['first page']:.2f} s")
    print(f"  signed in → all {result['rows']:,} rows painted {result['whole queue']:.2f} s")
    print(f"  start → all rows painted         {result['all painted']:.2f} s")
    print(f"  ctrl+end, ctrl+home on the list  {result['end and home']:.2f} s")
    print(f"first paint: {result['first paint']:.2f} s")
    print(f"peak memory: {result['peak memory']:.0f} MB")


if __name__ == "__main__":
    main()
