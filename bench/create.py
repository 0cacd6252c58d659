"""Online case creation under concurrency on PostgreSQL: 20 creators against one.

The API is served over a scratch database by uvicorn with 2 worker processes on
loopback. First one village agent creates cases back to back through
``POST /api/v1/cases`` for ``--seconds``; then 20 village agents do the same at once.
Each create takes its reference number and its change number; the case's transaction
holds the change counter only from its last write to its commit, and the reference
number is taken in a statement of its own, so creators overlap.

The last line is ``create ratio: X`` = creates per second with 20 creators / with one.

    python bench/create.py [--dsn postgresql://root@127.0.0.1:5432/test] [--seconds 15]
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

from bench.serving import DEFAULT_DSN, create_seeded, drop, serving, sign_in  # noqa: E402
from hierarchy.validation import make_resident_id  # noqa: E402

ITEM = "N01-newborn-birth"


def payload(n: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "kind": "service",
        "item_code": ITEM,
        "title": "新生儿出生一件事",
        "applicant": {
            "type": "person",
            "name": "马玉兰",
            "resident_id": make_resident_id(f"64050219800101{n % 1000:03d}"),
            "phone": "13895512345",
        },
        "groups": [],
        "service_mode": "assist",
    }


async def creator(base: str, auth: dict[str, str], until: float, errors: list[str]) -> int:
    made = 0
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while time.perf_counter() < until:
            r = await client.post("/api/v1/cases", json=payload(made), headers=auth)
            if r.status_code == 201:
                made += 1
            else:
                errors.append(f"{r.status_code} {r.text[:120]}")
    return made


async def rate(base: str, auths: list[dict[str, str]], seconds: float) -> tuple[float, list[str]]:
    errors: list[str] = []
    started = time.perf_counter()
    until = started + seconds
    made = await asyncio.gather(*(creator(base, a, until, errors) for a in auths))
    return sum(made) / (time.perf_counter() - started), errors


async def villages(base: str, count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        auth = await sign_in(client, "dispatcher")
        r = await client.get("/api/v1/agents", params={"unit": "640500", "subtree": "true"}, headers=auth)
        r.raise_for_status()
        names = [a["username"] for a in r.json() if a["username"].startswith("a") and len(a["username"]) == 13]
    return names[:count]


async def run(args: argparse.Namespace) -> float:
    name = f"daiban_bench_create_{os.getpid()}"
    url = await create_seeded(args.dsn, name)
    log = Path(tempfile.gettempdir()) / f"{name}.log"
    try:
        with serving(url, log, workers=2) as base:
            users = await villages(base, args.creators)
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                auths = [await sign_in(client, u) for u in users]
            await rate(base, auths[:1], 2)  # warm up both workers' pools
            one, errors_one = await rate(base, auths[:1], args.seconds)
            print(f"1 creator:  {one:.1f} creates/s, {len(errors_one)} errors")
            many, errors_many = await rate(base, auths, args.seconds)
            print(f"{len(auths)} creators: {many:.1f} creates/s, {len(errors_many)} errors")
            for error in (errors_one + errors_many)[:5]:
                print(f"  error: {error}")
            return many / one
    finally:
        await drop(args.dsn, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--creators", type=int, default=20)
    args = parser.parse_args()
    ratio = asyncio.run(run(args))
    print(f"create ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
