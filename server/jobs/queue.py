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
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from arq.connections import ArqRedis, RedisSettings
from arq.cron import next_cron
from redis.exceptions import RedisError
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter

from hierarchy.calendar import TZ
from server.logs import get_logger

log = logging.getLogger("daiban.jobs")

JobFunction = Callable[..., Awaitable[Any]]
_CHECK_TIMEOUT = 2.0  # seconds for one ping
_MAX_WAIT_S = 30.0  # the longest wait between pings while Redis is away


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


#: What a Redis that is away (not started yet, restarting, unreachable) raises.
REDIS_AWAY = (RedisError, OSError, TimeoutError)
#: Jobs held in this process while Redis is away, oldest dropped first beyond this.
HELD_JOBS = 10_000


class ArqQueue:
    """Jobs go to Redis; ``daiban worker`` processes run them.

    The connection is made lazily, so the API starts while Redis is away. A job enqueued
    then is held here and sent once Redis answers again (tenacity pings it with growing
    waits); one ``jobs.redis_away`` line says it went, one ``jobs.redis_back`` that it is back.
    """

    def __init__(self, pool: ArqRedis) -> None:
        self.pool = pool
        self.held: deque[tuple[str, dict[str, Any]]] = deque(maxlen=HELD_JOBS)
        self._watch: asyncio.Task[None] | None = None

    @classmethod
    def lazy(cls, redis_url: str) -> ArqQueue:
        """A queue on ``redis_url`` that connects at its first command, not here."""
        settings = RedisSettings.from_dsn(redis_url)
        return cls(ArqRedis.from_url(redis_url, socket_connect_timeout=settings.conn_timeout))

    @property
    def away(self) -> bool:
        return self._watch is not None and not self._watch.done()

    async def check(self) -> None:
        """Ping Redis once; when it is away, log it and wait for it in the background."""
        try:
            await asyncio.wait_for(self.pool.ping(), _CHECK_TIMEOUT)
        except REDIS_AWAY as exc:
            self._went_away(exc)

    async def enqueue(self, function: str, **kwargs: Any) -> str | None:
        if self.away:
            self.held.append((function, kwargs))
            return None
        try:
            job = await self.pool.enqueue_job(function, **kwargs)
        except REDIS_AWAY as exc:
            self.held.append((function, kwargs))
            self._went_away(exc)
            return None
        return job.job_id if job is not None else None

    def _went_away(self, exc: BaseException) -> None:
        if self.away:
            return
        get_logger("daiban.jobs").warning("jobs.redis_away", error=type(exc).__name__, held=len(self.held))
        self._watch = asyncio.create_task(self._wait_for_redis(), name="daiban-redis-watch")

    async def _wait_for_redis(self) -> None:
        async for attempt in AsyncRetrying(
            wait=wait_exponential_jitter(multiplier=0.2, max=_MAX_WAIT_S),
            retry=retry_if_exception_type(REDIS_AWAY),
        ):
            with attempt:
                await asyncio.wait_for(self.pool.ping(), _CHECK_TIMEOUT)
                sent = 0
                while self.held:
                    function, kwargs = self.held[0]
                    await self.pool.enqueue_job(function, **kwargs)
                    self.held.popleft()
                    sent += 1
        get_logger("daiban.jobs").info("jobs.redis_back", sent=sent)

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):  # the cancellation asked for just above
                await self._watch
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
