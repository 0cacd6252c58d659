"""How jobs run: on arq workers through Redis, or in this process when there is none.

The web tier enqueues through :class:`JobQueue` and never learns which one it has.
:class:`InProcessQueue` also runs the schedule (the same cron fields arq uses, through
arq's own ``next_cron``) so ``daiban serve`` without Redis sweeps and reports on the
same timetable as a worker would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.cron import next_cron

from hierarchy.calendar import TZ

log = logging.getLogger("daiban.jobs")

JobFunction = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A job on a timetable, in arq's cron fields (None: every value), read in
    :data:`hierarchy.calendar.TZ`."""

    function: JobFunction
    hour: int | None = None
    minute: int | None = None
    second: int | set[int] = 0

    @property
    def name(self) -> str:
        return self.function.__name__

    def next_after(self, moment: datetime) -> datetime:
        return next_cron(moment.astimezone(TZ), hour=self.hour, minute=self.minute, second=self.second)


class JobQueue(Protocol):
    """Somewhere to send work that should not hold up a request."""

    async def enqueue(self, function: str, **kwargs: Any) -> str | None:
        """Queue ``function(ctx, **kwargs)``; returns a job id when the backend has one."""
        ...

    async def close(self) -> None: ...


class ArqQueue:
    """Jobs go to Redis; ``daiban worker`` processes run them."""

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool

    @classmethod
    async def connect(cls, redis_url: str) -> ArqQueue:
        return cls(await create_pool(RedisSettings.from_dsn(redis_url)))

    async def enqueue(self, function: str, **kwargs: Any) -> str | None:
        job = await self.pool.enqueue_job(function, **kwargs)
        return job.job_id if job is not None else None

    async def close(self) -> None:
        await self.pool.aclose()


class InProcessQueue:
    """Jobs run in this process: at once when enqueued, and on the schedule once started."""

    def __init__(
        self,
        ctx: dict[str, Any],
        functions: Sequence[JobFunction],
        schedule: Sequence[Scheduled] = (),
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.ctx = ctx
        self.functions = {f.__name__: f for f in functions}
        self.schedule = list(schedule)
        self.results: dict[str, Any] = {}
        self._now = now or (lambda: datetime.now(TZ))
        self._task: asyncio.Task[None] | None = None

    async def run(self, function: str, **kwargs: Any) -> Any:
        """Run one job now. A failing job is logged and returns None: as on arq, the
        caller that queued it is not the one to fail (the sweep retries next minute)."""
        try:
            result = await self.functions[function](self.ctx, **kwargs)
        except Exception:
            log.exception("job %s failed", function)
            return None
        self.results[function] = result
        return result

    async def enqueue(self, function: str, **kwargs: Any) -> str | None:
        if function not in self.functions:
            raise KeyError(f"no job called {function}")
        await self.run(function, **kwargs)
        return None

    def start(self) -> None:
        """Start the timetable (no-op without a schedule or when already started)."""
        if self.schedule and self._task is None:
            self._task = asyncio.create_task(self._timetable(), name="daiban-jobs")

    async def _timetable(self) -> None:
        start = self._now()
        due = {s.name: s.next_after(start) for s in self.schedule}
        by_name = {s.name: s for s in self.schedule}
        while True:
            name = min(due, key=lambda n: due[n])
            await asyncio.sleep(max(0.0, (due[name] - self._now()).total_seconds()))
            await self.run(name)
            # From the later of the planned time and now: a slow run skips, never piles up.
            due[name] = by_name[name].next_after(max(due[name], self._now()))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):  # the cancellation asked for just above
                await self._task
            self._task = None
