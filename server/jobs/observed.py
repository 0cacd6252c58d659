"""Every job run is timed, counted by outcome and logged — and idle runs stay quiet.

A run that changed something is one ``job.done`` line with its duration and result; a
run that found nothing to do (a sweep with nothing due) is logged at debug level only,
so an idle worker writes nothing; a run that asks arq to retry later is ``job.retry``; a
failure is a ``job.failed`` line (the queue that ran
it logs the traceback).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from typing import Any

from arq import Retry

from server.jobs.queue import JobFunction
from server.logs import get_logger
from server.metrics import JOB_DURATION, JOB_RUNS

log = get_logger("daiban.jobs")


def idle(result: Any) -> bool:
    """Nothing done: no result, or only zero counts (what was merely looked at aside)."""
    if not result:
        return True
    if isinstance(result, Mapping):
        return all(v == 0 for k, v in result.items() if k != "scanned" and isinstance(v, int | float))
    return False


def observed(function: JobFunction) -> JobFunction:
    """Wrap a job function (same name, so arq and the in-process queue find it as before)."""
    name = function.__name__

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            result = await function(ctx, *args, **kwargs)
        except Retry as again:
            # Asked to run again later (a webhook receiver failed): not a failure of the job.
            elapsed = time.perf_counter() - started
            JOB_RUNS.labels(name, "retry").inc()
            JOB_DURATION.labels(name).observe(elapsed)
            log.info("job.retry", job=name, ms=round(elapsed * 1000, 1), defer_ms=again.defer_score)
            raise
        except Exception as exc:
            elapsed = time.perf_counter() - started
            JOB_RUNS.labels(name, "failed").inc()
            JOB_DURATION.labels(name).observe(elapsed)
            log.error("job.failed", job=name, ms=round(elapsed * 1000, 1), error=type(exc).__name__)
            raise
        elapsed = time.perf_counter() - started
        JOB_RUNS.labels(name, "ok").inc()
        JOB_DURATION.labels(name).observe(elapsed)
        fields: dict[str, Any] = {"job": name, "ms": round(elapsed * 1000, 1), "outcome": "ok"}
        if isinstance(result, Mapping) and all(isinstance(v, int | float) for v in result.values()):
            fields.update(result)
        log.log(10 if idle(result) else 20, "job.done", **fields)
        return result

    return run
