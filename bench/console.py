"""Console start-up with a big queue: time to the first painted list, and peak memory.

A scratch SQLite database is migrated, seeded and given ``--cases`` queued cases in the
queue of 滨河镇 (640502100), taken at its villages and escalated there; a real server
serves it from a child process. The console then runs headless at 80×24 in another
child process (so its memory is its own), signs in as the town agent and waits until
the whole queue is in the table and the screen has been refreshed once after it.

Both sources are measured: first the console on a device replica (the device is set up
and synced from the server beforehand, timed separately; the console then reads the
queue from the local replica and syncs behind it), then the console straight over the
API, which is what ``daiban console`` runs without ``--replica``.

    python bench/console.py [--cases 10000] [--source both|server|replica]

The first page is small (200 rows) and shows as soon as it is read; the rest follow in
pages, each painted before the next is added. The last two lines are
``first paint: X s`` and ``peak memory: Y MB``, both for the API source; the replica's
figures come before them. First paint is the time a person waits: the console's imports
and its data client, then from starting the app to the sign-in screen painted, plus
from pressing Enter on the password (the server's password check included) to the queue
table painted with its first rows. Typing the password is left out: through Textual's
Pilot each key waits for the app to go idle (at least 40 ms a key), which measures the
harness, not the console; the total with it is printed too. Peak memory is the peak
resident size of the console process, interpreter and imports included.
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
import re  # noqa: E402
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

    client: DataClient
    if replica:
        from console.replica_client import ReplicaDataClient

        client = ReplicaDataClient.open(replica, server=url)
    else:
        from console.http_client import HttpDataClient

        client = HttpDataClient(url)
    imported = start = time.perf_counter()
    app = DaibanConsole(client, username=USER, status_every=3600, sync_every=3600)
    marks: dict[str, float] = {}
    async with app.run_test(size=(80, 24)) as pilot:

        async def until(predicate: Any, step: float = 0.005, limit: float = 300) -> None:
            deadline = time.perf_counter() + limit
            while not predicate():
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"console stuck on {type(app.screen).__name__}")
                await asyncio.sleep(step)

        async def painted(node: Any = None) -> float:
            """The time of the screen's next refresh. Asked of the widget itself: through
            the app's queue (busy building a screen) it would come a refresh or two late."""
            done = asyncio.Event()
            (node or app.screen).call_after_refresh(done.set)
            await done.wait()
            return time.perf_counter()

        async def note(name: str, predicate: Any) -> None:
            await until(predicate, step=0.001)
            marks[name] = time.perf_counter()

        await until(lambda: type(app.screen).__name__ == "SignInScreen")
        marks["sign-in screen"] = await painted()
        await pilot.press(*"demo")
        # From here on the console works and the person waits; typing was theirs.
        marks["enter"] = time.perf_counter()

        def listed() -> CaseTable | None:
            found = app.screen.query(CaseTable) if type(app.screen).__name__ == "MainScreen" else None
            return found.first() if found else None

        async def first_rows() -> int:
            await until(lambda: (t := listed()) is not None and t.row_count > 0, step=0.001)
            shown = listed()
            marks["painted"] = await painted(shown)
            return shown.row_count if shown else 0

        # Watched from their own tasks: Pilot.press returns only once the app is idle,
        # and a replica keeps it busy adding pages after the first one.
        watch = asyncio.create_task(note("signed in", lambda: app.me is not None))
        first = asyncio.create_task(first_rows())
        await pilot.press("enter")
        await watch
        first_count = await first
        table = app.screen.query_one(CaseTable)
        await until(lambda: table.row_count >= n)
        marks["all painted"] = await painted(table)
        # Responsiveness on the big list: jump to the end and back.
        await pilot.press("ctrl+end")
        await until(lambda: table.cursor_row == n - 1)
        await pilot.press("ctrl+home")
        await until(lambda: table.cursor_row == 0)
        marks["end and home"] = time.perf_counter()
        rows = table.row_count
    await client.close()
    waiting = (imported - began) + (marks["sign-in screen"] - start) + (marks["painted"] - marks["enter"])
    return {
        "rows": rows,
        "first rows": first_count,
        "imports": imported - began,
        "sign-in screen": marks["sign-in screen"] - start,
        "typing": marks["enter"] - marks["sign-in screen"],
        "sign-in": marks["signed in"] - marks["enter"],
        "first page": marks["painted"] - marks["signed in"],
        "whole queue": marks["all painted"] - marks["signed in"],
        "first paint": waiting,
        "with typing": marks["painted"] - start,
        "all painted": marks["all painted"] - marks["enter"],
        "end and home": marks["end and home"] - marks["all painted"],
        "peak memory": _peak_mb(),
    }


def _peak_mb() -> float:
    """This process's peak resident size. ``ru_maxrss`` would not do: Linux carries it
    over ``exec``, so a child would report its parent's peak (this bench's, with the whole
    scene built) whenever that was higher. ``VmHWM`` belongs to the address space."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--source", choices=("both", "server", "replica"), default="both")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--replica", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(_measure(args.measure, args.replica, args.cases))))
        return

    # The API source is what `daiban console` runs by default: measured and printed last.
    sources = ["replica", "server"] if args.source == "both" else [args.source]
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="daiban-bench-") as tmp:
        db_path = Path(tmp) / "daiban.sqlite"
        began = time.perf_counter()
        asyncio.run(_prepare(db_path, args.cases))
        print(f"scene: {args.cases:,} queued cases in {TOWN} ({time.perf_counter() - began:.1f} s to build)")
        proc, url = _serve(db_path)
        try:
            for source in sources:
                command = [sys.executable, str(Path(__file__).resolve()), "--measure", url, "--cases", str(args.cases)]
                if source == "replica":
                    replica = Path(tmp) / "replica.sqlite"
                    took, pulled = asyncio.run(_sync_replica(url, replica))
                    print(f"device set-up and first sync: {pulled:,} cases in {took:.1f} s")
                    command += ["--replica", str(replica)]
                out = subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout
                results[source] = json.loads(out.strip().splitlines()[-1])
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    for source in sources:
        _report(source, results[source], last=source == sources[-1])


def _report(source: str, result: dict[str, Any], *, last: bool) -> None:
    name = {"server": "over the API (the default)", "replica": "from a device replica"}[source]
    print(f"source: {source}, {name}, terminal 80×24, {result['rows']:,} rows in the queue table")
    lines = (
        ("imports, data client", result["imports"]),
        ("start → sign-in screen painted", result["sign-in screen"]),
        ("Enter → password accepted", result["sign-in"]),
        (f"accepted → first {result['first rows']:,} rows painted", result["first page"]),
        (f"Enter → all {result['rows']:,} rows painted", result["all painted"]),
        ("ctrl+end, ctrl+home on the list", result["end and home"]),
        ("typing the password (not counted)", result["typing"]),
        ("start → first rows, typing counted", result["with typing"]),
    )
    for label, seconds in lines:
        print(f"  {label:<38} {seconds:5.2f} s")
    label = "" if last else f" ({source})"
    print(f"first paint{label}: {result['first paint']:.2f} s")
    print(f"peak memory{label}: {result['peak memory']:.0f} MB")


if __name__ == "__main__":
    main()
