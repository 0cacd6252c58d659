"""The arq worker (``daiban worker``) and the in-process runner, from one job list.

Both run the same functions on the same timetable: the SLA sweep every minute and the
daily report at 07:00 Beijing time. Settings are read when a worker starts, never at
import time; :func:`worker_settings` builds arq's settings from them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypedDict, Unpack, cast

from arq.connections import RedisSettings
from arq.cron import CronJob, cron
from arq.typing import WorkerCoroutine

from hierarchy.calendar import TZ
from server import db
from server.db import Database
from server.jobs.attachments import attachment_cleanup
from server.jobs.gauges import case_gauges
from server.jobs.notify import notify_agents
from server.jobs.observed import observed
from server.jobs.queue import ArqQueue, InProcessQueue, JobFunction, JobQueue, Scheduled
from server.jobs.recalendar import recompute_due_dates
from server.jobs.report import daily_report
from server.jobs.sweep import sla_sweep
from server.jobs.webhooks import deliver_webhook, webhook_dispatch
from server.logs import get_logger
from server.settings import Settings

log = logging.getLogger("daiban.jobs")

_SWEEP, _REPORT, _GAUGES = observed(sla_sweep), observed(daily_report), observed(case_gauges)
_FILES = observed(attachment_cleanup)
_HOOKS = observed(webhook_dispatch)
FUNCTIONS: tuple[JobFunction, ...] = (
    _SWEEP, _REPORT, _GAUGES, observed(notify_agents), _FILES, _HOOKS, observed(deliver_webhook),
    observed(recompute_due_dates),
)  # fmt: skip
SCHEDULE: tuple[Scheduled, ...] = (
    Scheduled(_SWEEP),  # every minute, at second 0
    Scheduled(_REPORT, hour=7, minute=0),
    Scheduled(_GAUGES, second=30),  # every minute, between sweeps
    Scheduled(_FILES, minute=17, second=15),  # hourly
    Scheduled(_HOOKS, second={5, 15, 25, 35, 45, 55}),  # every ten seconds
)
#: How long arq keeps a scheduled job's result (the daily report is read from it).
KEEP_RESULT = {"daily_report": 7 * 24 * 3600}


class DatabaseUnreachable(ConnectionError):
    """The worker's database did not answer when it started."""


class WorkerSettings(TypedDict, total=False):
    """The keyword arguments of :class:`arq.worker.Worker` that daiban sets."""

    functions: list[JobFunction]
    cron_jobs: list[CronJob]
    redis_settings: RedisSettings
    on_startup: Callable[[dict[str, Any]], Any]
    on_shutdown: Callable[[dict[str, Any]], Any]
    ctx: dict[str, Any]
    timezone: Any
    job_timeout: int
    max_tries: int
    burst: bool


def cron_jobs() -> list[CronJob]:
    return [
        cron(
            cast(WorkerCoroutine, s.function),
            hour=s.hour,
            minute=s.minute,
            second=s.second,
            unique=True,
            keep_result=KEEP_RESULT.get(s.name, 0),
        )
        for s in SCHEDULE
    ]


async def startup(ctx: dict[str, Any]) -> None:
    """Put the database engine (and a clock) in the job context."""
    ctx.setdefault("clock", lambda: datetime.now(UTC))
    if "engine" not in ctx:
        engine = db.connect(ctx["settings"])
        try:
            await db.start(engine)
        except OSError as exc:  # refused, unreachable, timed out: say which service is away
            raise DatabaseUnreachable(str(exc)) from exc
        ctx["engine"] = engine
        ctx["owns_engine"] = True
    get_logger("daiban.worker").info("worker.ready")  # Redis and the database both answered


async def shutdown(ctx: dict[str, Any]) -> None:
    """Close what startup opened, each in its own try so one failure does not leak the rest."""
    if ctx.get("owns_engine"):
        try:
            await db.stop(ctx["engine"])
        except Exception:
            log.exception("closing the database engine failed")


def worker_settings(settings: Settings, **overrides: Unpack[WorkerSettings]) -> WorkerSettings:
    """arq settings for ``settings``; ``overrides`` are passed on to the Worker."""
    if not settings.redis_url:
        raise ValueError("the worker needs DAIBAN_REDIS_URL")
    built = WorkerSettings(
        functions=list(FUNCTIONS),
        cron_jobs=cron_jobs(),
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        ctx={"settings": settings},
        timezone=TZ,
        job_timeout=600,
        # A webhook delivery retries itself (arq.Retry) until its own attempts run out.
        max_tries=max(5, settings.webhook_attempts),
    )
    built.update(overrides)
    return built


async def open_queue(settings: Settings, engine: Database, clock: Callable[[], datetime]) -> JobQueue:
    """The web tier's queue: arq when Redis is configured, else jobs in this process —
    on the timetable too when ``settings.embedded_jobs``. A Redis that is away does not
    stop the API starting: the queue holds jobs until it answers (:class:`ArqQueue`)."""
    if settings.redis_url:
        arq = ArqQueue.lazy(settings.redis_url)
        await arq.check()
        return arq
    ctx = {"settings": settings, "engine": engine, "clock": clock}
    queue = InProcessQueue(ctx, FUNCTIONS, SCHEDULE if settings.embedded_jobs else ())
    queue.start()
    return queue
