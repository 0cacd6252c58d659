"""SIGKILL at the worst moments: a device between its local apply and the push, a device
during the push, and the server in the middle of a long stream of pushes.

Nothing a device queued is lost, nothing the server acknowledged is lost, and nothing is
applied twice, on both engines.
"""

from __future__ import annotations

import asyncio
import random
import signal
import statistics
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from factories import case_payload
from live import free_port, live_server
from processes import run_device, spawn_device, start_server, stop
from rawdb import fetch, scalar

from server.settings import Settings
from sync.client import SyncClient
from sync.transport import SyncError

VILLAGE = "640502100002"


def fast(path: Path, **options: object) -> SyncClient:
    return SyncClient.open(path, attempts=3, wait_initial=0.01, wait_max=0.05, timeout=5, **options)


def new_case() -> dict[str, object]:
    body = case_payload()
    body.pop("id")
    return body


async def registered(url: str, replica: Path) -> None:
    device = fast(replica)
    await device.init(url, f"a{VILLAGE}", "demo", "村部平板")
    await device.close()


async def server_copies(settings: Settings, op_id: uuid.UUID, case_id: uuid.UUID) -> tuple[int, int, int]:
    """(ledger rows for the op, 'create' events of the case, case rows)."""
    url = settings.database_url
    return (
        await scalar(url, "SELECT count(*) FROM sync_op WHERE op_id = ?", op_id),
        await scalar(url, "SELECT count(*) FROM case_event WHERE case_id = ? AND action = 'create'", case_id),
        await scalar(url, "SELECT count(*) FROM case_file WHERE id = ?", case_id),
    )


async def test_device_killed_before_push_sends_the_operation_once(settings: Settings, tmp_path: Path) -> None:
    replica = tmp_path / "v.sqlite"
    with live_server(settings) as url:
        await registered(url, replica)
        child = run_device("create-and-die", str(replica))
        assert child.returncode == -signal.SIGKILL, child.stderr
        case_id = uuid.UUID(child.stdout.strip())

        device = fast(replica)
        [op] = device.replica.outbox()
        assert (op.case_id, op.kind, op.seq) == (case_id, "create", 1)
        assert device.case(case_id) is not None  # the local apply survived with its operation
        report = await device.sync()
        assert (report.applied, report.duplicates, report.rejected) == (1, 0, 0)
        assert device.status().pending == 0 and device.case(case_id).ref
        assert await server_copies(settings, op.op_id, case_id) == (1, 1, 1)
        again = await device.sync()
        assert again.pushed == 0
        await device.close()
    assert await server_copies(settings, op.op_id, case_id) == (1, 1, 1)


async def test_device_killed_during_push_gets_duplicate_after_restart(settings: Settings, tmp_path: Path) -> None:
    replica = tmp_path / "v.sqlite"
    marker = tmp_path / "answered"
    with live_server(settings) as url:
        await registered(url, replica)
        device = fast(replica)
        case = device.create(new_case())
        [op] = device.replica.outbox()
        await device.close()

        child = spawn_device("sync-and-stall", str(replica), str(marker))
        try:
            deadline = time.monotonic() + 30
            recorded = 0
            while time.monotonic() < deadline and not (marker.exists() and recorded):
                assert child.poll() is None, child.communicate()
                recorded = await scalar(settings.database_url, "SELECT count(*) FROM sync_op WHERE op_id = ?", op.op_id)
                await asyncio.sleep(0.02)
            assert marker.exists() and recorded == 1, "the push never reached the server"
        finally:
            child.send_signal(signal.SIGKILL)
            child.communicate(timeout=10)
        assert child.returncode == -signal.SIGKILL

        device = fast(replica)
        assert device.status().pending == 1  # the device never learnt the outcome
        report = await device.sync()
        assert (report.applied, report.duplicates, report.rejected, report.conflicts) == (0, 1, 0, 0)
        assert device.status().pending == 0 and device.replica.outbox() == []
        assert device.case(case.id).ref and device.case(case.id).version == 1
        assert report.checksum_ok
        await device.close()
    assert await server_copies(settings, op.op_id, case.id) == (1, 1, 1)


ROUNDS = 30
PER_ROUND = 20


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["random", "after_commit"])
async def test_server_killed_during_pushes_loses_nothing_it_acknowledged(
    settings: Settings, tmp_path: Path, moment: str
) -> None:
    """``random``: SIGKILL at a random share of a push's usual duration (before the request
    is read, while the batch is applied, or after the answer). ``after_commit``: SIGKILL
    once the server has committed and answered, and the device never reads that answer."""
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    kill_at = rng.randrange(ROUNDS // 4, 3 * ROUNDS // 4)  # which push is cut
    share = rng.uniform(0, 1.5)
    where = f"seed {seed}: {moment} kill at push #{kill_at}" + (f", {share:.0%} in" if moment == "random" else "")

    port = free_port()
    log = tmp_path / "server.log"
    server = {"proc": start_server(settings.database_url, port, log)}
    url = f"http://127.0.0.1:{port}"
    sent: list[float] = []
    took: list[float] = []
    timers: list[threading.Timer] = []
    acknowledged: set[str] = set()
    duplicates = 0

    async def on_request(request: httpx.Request) -> None:
        if request.url.path.endswith("/sync/push"):
            sent.append(time.monotonic())
            if moment == "random" and len(sent) == kill_at:
                timers.append(threading.Timer(share * statistics.median(took), server["proc"].kill))
                timers[-1].start()

    async def on_response(response: httpx.Response) -> None:
        nonlocal duplicates
        if not response.request.url.path.endswith("/sync/push"):
            return
        if moment == "after_commit" and len(sent) == kill_at:
            stop(server["proc"])
            raise httpx.ReadError("the server died before its answer arrived", request=response.request)
        if response.status_code == 200:
            # What the server acknowledged: every op its answer says it applied.
            await response.aread()
            took.append(time.monotonic() - sent[-1])
            results = response.json()["results"]
            acknowledged.update(r["op_id"] for r in results if r["result"] == "applied")
            duplicates += sum(r["result"] == "duplicate" for r in results)

    http = httpx.AsyncClient(timeout=10, event_hooks={"request": [on_request], "response": [on_response]})
    device = SyncClient.open(tmp_path / "v.sqlite", attempts=2, wait_initial=0.01, wait_max=0.05, client=http)
    made: set[str] = set()
    restarts = 0
    try:
        await device.init(url, f"a{VILLAGE}", "demo", "村部平板")
        for _ in range(ROUNDS):
            for _ in range(PER_ROUND):
                device.create(new_case())
            made.update(str(o.op_id) for o in device.replica.outbox())
            try:
                await device.sync()
            except SyncError as exc:
                assert exc.transient and restarts == 0, f"{where}: {exc.code} {exc}"
                stop(server["proc"])
                server["proc"] = start_server(settings.database_url, port, log)
                restarts += 1
        report = await device.sync(check=True)
        assert device.status().pending == 0, where
        assert report.checksum_ok, where
    finally:
        for timer in timers:
            timer.cancel()
        await device.close()
        stop(server["proc"])

    assert restarts == 1, where
    assert len(made) == ROUNDS * PER_ROUND
    db = settings.database_url
    ledger = {str(op_id): result for op_id, result in await fetch(db, "SELECT op_id, result FROM sync_op")}
    assert len(ledger) == len(made) == await scalar(db, "SELECT count(*) FROM sync_op"), where
    assert set(ledger) == made and set(ledger.values()) == {"applied"}, where
    # Only the answer cut by the kill can be missing: its batch, if the server had committed
    # it, came back as duplicates when pushed again.
    assert acknowledged <= set(ledger) and len(acknowledged) + duplicates == len(made), where
    if moment == "after_commit":
        assert duplicates == PER_ROUND, where
    case_of = {str(op_id): str(case_id) for op_id, case_id in await fetch(db, "SELECT op_id, case_id FROM sync_op")}
    stored = {str(r[0]) for r in await fetch(db, "SELECT id FROM case_file")}
    assert {case_of[o] for o in acknowledged} <= stored, where
    assert set(case_of.values()) == stored and len(stored) == len(made), where
    creates = await fetch(db, "SELECT count(*), count(DISTINCT case_id) FROM case_event WHERE action = 'create'")
    assert creates == [(len(made), len(made))], where
