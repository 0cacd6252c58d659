"""``daiban worker``: run arq until stopped, and wait out Redis or the database being away.

When Redis or PostgreSQL cannot be reached — at start, or later when a connection drops —
the worker writes one ``worker.waiting`` line (what is away, when it tries again) instead
of a traceback, and starts again with exponential backoff (tenacity), up to
:data:`MAX_WAIT` seconds apart. SIGINT/SIGTERM stop it (arq finishes the running jobs).
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import asyncpg
from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential

from server.jobs.worker import DatabaseUnreachable, worker_settings
from server.logs import get_logger
from server.settings import Settings

log = get_logger("daiban.worker")

MAX_WAIT = 30.0
#: Failures that mean "a service is away", not "the code is wrong".
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.InterfaceError,
)


def _which(exc: BaseException | None) -> str:
    module = type(exc).__module__ if exc is not None else ""
    if module.startswith("redis"):
        return "redis"
    if module.startswith("asyncpg") or isinstance(exc, DatabaseUnreachable):
        return "database"
    return "redis or database"


def _waiting(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome is not None else None
    wait = state.next_action.sleep if state.next_action is not None else 0.0
    log.warning(
        "worker.waiting", away=_which(exc), error=f"{type(exc).__name__}: {exc}", retry_in_s=round(wait, 1),
        attempt=state.attempt_number,
    )  # fmt: skip


def run(settings: Settings, burst: bool = False, **overrides: Any) -> None:
    """Run the worker until a signal stops it (or, with ``burst``, until the queue is empty)."""
    # arq's own reconnect loop would log a line per try and then raise; the backoff is ours.
    retrying = Retrying(
        retry=retry_if_exception_type(UNREACHABLE),
        wait=wait_exponential(multiplier=0.5, max=MAX_WAIT),
        before_sleep=_waiting,
        reraise=True,
    )
    # Piccolo warns (in colour) on every failed connect; worker.waiting already says it.
    warnings.filterwarnings("ignore", message=".*Unable to connect to database", category=Warning)
    log.info("worker.starting", burst=burst)
    try:
        for attempt in retrying:
            with attempt:
                config: dict[str, Any] = dict(worker_settings(settings, **overrides))
                config["redis_settings"].conn_retries = 0
                Worker(**config, burst=burst).run()
    except KeyboardInterrupt:  # Ctrl-C while waiting for a service: a stop, not a crash
        pass
    log.info("worker.stopped")
