"""A device in its own process, for tests that kill it with SIGKILL.

python device_main.py create-and-die REPLICA
    take a new case (local apply + outbox, one transaction), print its id, then
    SIGKILL this process before any sync.

python device_main.py sync REPLICA
    sync (uploads first), as ``daiban village sync`` does; the parent may kill it midway.

python device_main.py sync-forever REPLICA
    sync again and again (transient failures included) until killed.

python device_main.py sync-and-stall REPLICA MARKER
    sync; when the push answer arrives, touch MARKER and hang before reading it, so
    the parent can kill the process after the server committed the batch and before
    the device learnt so.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
from factories import case_payload

from sync.client import SyncClient
from sync.transport import SyncError


def create_and_die(replica: str) -> None:
    device = SyncClient.open(replica)
    body = case_payload()
    body.pop("id")
    case = device.create(body)
    print(case.id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


async def sync_and_stall(replica: str, marker: str) -> None:
    async def stall(response: httpx.Response) -> None:
        if response.request.url.path.endswith("/sync/push"):
            Path(marker).write_text(str(response.status_code))
            await asyncio.sleep(3600)

    http = httpx.AsyncClient(timeout=30, event_hooks={"response": [stall]})
    device = SyncClient.open(replica, attempts=1, client=http)
    await device.sync()
    raise SystemExit("the push answer was processed; the parent should have killed this process")


async def sync(replica: str) -> None:
    device = SyncClient.open(replica, attempts=50, wait_initial=0.01, wait_max=0.1)
    try:
        await device.sync()
    finally:
        await device.close()


async def sync_forever(replica: str) -> None:
    device = SyncClient.open(replica, attempts=1)
    while True:
        try:
            await device.sync()
        except SyncError as exc:
            if not exc.transient:
                raise


def main(argv: list[str]) -> None:
    mode, *args = argv
    if mode == "sync":
        asyncio.run(sync(*args))
    elif mode == "create-and-die":
        create_and_die(*args)
    elif mode == "sync-forever":
        asyncio.run(sync_forever(*args))
    elif mode == "sync-and-stall":
        asyncio.run(sync_and_stall(*args))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
