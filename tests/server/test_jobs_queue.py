"""The in-process runner (jobs run when enqueued and on the worker's timetable), and the
sweep's way with a deadlock."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from asyncpg.exceptions import DeadlockDetectedError

from hierarchy.calendar import TZ
from server.jobs.queue import InProcessQueue, Scheduled
from server.jobs.sweep import _Sweep


async def test_a_failing_job_is_logged_and_does_not_fail_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(ctx: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    queue = InProcessQueue({}, [broken])
    with caplog.at_level(logging.ERROR, logger="daiban.jobs"):
        assert await queue.enqueue("broken") is None
    assert "job broken failed" in caplog.text and "boom" in caplog.text
    with pytest.raises(KeyError):
        await queue.enqueue("no_such_job")


async def test_the_timetable_runs_each_minute() -> None:
    runs: list[dict[str, Any]] = []
    twice = asyncio.Event()

    async def tick(ctx: dict[str, Any]) -> int:
        runs.append(ctx)
        if len(runs) == 2:
            twice.set()
        return len(runs)

    # A clock that stands just short of each minute the runner waits for, then just past it.
    start = datetime(2026, 4, 3, 7, 0, 30, tzinfo=TZ)
    minute = timedelta(minutes=1)
    times = iter(
        [start]
        + [
            t
            for k in (1, 2, 3)
            for t in (start + k * minute - timedelta(seconds=29.9), start + k * minute - timedelta(seconds=29.8))
        ]
    )
    queue = InProcessQueue({"who": "test"}, [tick], [Scheduled(tick)], now=lambda: next(times))
    queue.start()
    try:
        await asyncio.wait_for(twice.wait(), timeout=5)
    finally:
        await queue.close()
    assert runs == [{"who": "test"}, {"who": "test"}] and queue.results["tick"] == 2


async def test_a_deadlocked_case_is_left_for_the_next_sweep(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime(2026, 4, 3, 10, 0, tzinfo=TZ)
    late = {"id": "c1", "status": "in_progress", "due_at": now - timedelta(hours=1), "flags": {}, "assignee_id": 7,
            "open_weekends": False, "owner_unit": "640502100"}  # fmt: skip
    handled: list[str] = []

    async def handle(self: Any, case_id: str) -> None:
        if case_id == "c1":
            raise DeadlockDetectedError("deadlock detected")
        handled.append(case_id)

    monkeypatch.setattr(_Sweep, "handle", handle)
    run = _Sweep(SimpleNamespace(engine_type="postgres"), now)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="daiban.jobs.sweep"):
        await run.look([late, {**late, "id": "c2"}])
    assert handled == ["c2"] and run.result.lost == 1 and "left for the next run" in caplog.text
