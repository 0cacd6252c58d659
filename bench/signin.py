"""Sign-in under hostile traffic, against ``daiban serve`` on loopback (PostgreSQL).

Creates a fresh database (dropped at the end), seeds the network, serves it in its own
process, then:

- the median time of a wrong password for a known and for an unknown username (the
  timing must not tell which usernames exist: within 20 %);
- ``--flood-rate`` wrong sign-ins a second (default 50) for ``--flood-seconds`` (30)
  while a signed-in agent reads a case ten times a second: the reads' p99 (< 200 ms);
- ``--huge`` sign-ins (default 10,000) with distinct 1 MB usernames: the server's
  resident memory growth (< 20 MB).

    .venv/bin/python bench/signin.py [--admin-dsn postgresql://…/test] [--huge 10000]
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)
sys.path.insert(1, str(_HERE.parent / "tests" / "support"))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from signin_load import guess_while_reading, huge_username_growth, serve, wrong_sign_in_medians  # noqa: E402

from server import db  # noqa: E402
from server.seed import seed_network  # noqa: E402
from server.settings import load_settings  # noqa: E402

USER = "a640502100"


async def admin(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def prepare(url: str) -> None:
    engine = db.connect(load_settings({}, database_url=url))
    await db.start(engine)
    try:
        await db.migrate(engine)
        await seed_network("demo")
    finally:
        await db.stop(engine)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--admin-dsn", default=os.environ.get("DAIBAN_TEST_PG", "postgresql://root@127.0.0.1:5432/test")
    )
    parser.add_argument("--flood-rate", type=float, default=50)
    parser.add_argument("--flood-seconds", type=float, default=30)
    parser.add_argument("--huge", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=31, help="wrong sign-ins per kind for the timing medians")
    args = parser.parse_args()

    name = f"daiban_bench_signin_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(args.admin_dsn, f'CREATE DATABASE "{name}"'))
    url = args.admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    failed = False
    try:
        asyncio.run(prepare(url))
        log = Path(tempfile.mkdtemp()) / "server.log"
        loose = {f"DAIBAN_LOGIN_LIMITS_{k}": "100000/minute" for k in ("ACCOUNT", "USERNAME", "ADDRESS")}
        proc, base = serve(url, log, **loose)
        try:
            known, unknown = wrong_sign_in_medians(base, USER, args.rounds)
        finally:
            proc.kill()
            proc.wait()
        ratio = unknown / known
        print(f"median wrong sign-in: known {known * 1000:.1f} ms, unknown {unknown * 1000:.1f} ms, ratio {ratio:.2f}")
        failed |= abs(ratio - 1) >= 0.20

        proc, base = serve(url, log)  # the default throttle
        try:
            r = httpx.post(base + "/api/v1/auth/token", json={"username": USER, "password": "demo"})
            auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
            flood = guess_while_reading(base, auth, rate=args.flood_rate, seconds=args.flood_seconds)
            print(f"flood: {flood.summary()}")
            print(f"flood read p99: {flood.p99_ms:.1f} ms (bound 200 ms)")
            failed |= flood.p99_ms >= 200 or flood.server_errors > 0
            grown = huge_username_growth(base, proc.pid, args.huge)
            print(f"{args.huge} sign-ins with 1 MB usernames: server memory grew {grown / 2**20:.1f} MB (bound 20 MB)")
            failed |= grown >= 20 * 2**20
        finally:
            proc.kill()
            proc.wait()
    finally:
        asyncio.run(admin(args.admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
