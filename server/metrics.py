"""Prometheus metrics: what is counted, and the /metrics endpoint that shows it.

Metrics are process-wide, as prometheus-client keeps them. Under several API processes
(``daiban serve --workers N``) every process writes its samples to files in
``PROMETHEUS_MULTIPROC_DIR`` and /metrics sums them, so any process answers for all. The
directory must be set before this module is first imported; ``daiban serve`` does that.

Per-county gauges (open cases, breaches) are set by the ``case_gauges`` job, so they live
where jobs run: the worker serves them on ``DAIBAN_WORKER_METRICS_PORT``; without Redis
the API process runs the job and /metrics shows them.
"""

from __future__ import annotations

import os

from litestar import get
from litestar.response import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from server.throttle import log_throttled
from sync.protocol import PushResponse

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("daiban_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "daiban_http_request_duration_seconds", "Time to answer, by route", ["method", "route"], buckets=_LATENCY_BUCKETS
)
SYNC_OPS = Counter("daiban_sync_operations", "Pushed operations by outcome", ["outcome"])
SYNC_REJECTIONS = Counter("daiban_sync_rejections", "Outbox operations rejected, by code", ["code"])
PULL_LAG = Histogram(
    "daiban_sync_pull_lag_changes",
    "Server change sequence minus the device's cursor, at each pull",
    buckets=(0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000),
)
OPEN_CASES = Gauge("daiban_open_cases", "Open cases by county-level unit", ["county"], multiprocess_mode="mostrecent")
BREACHES = Gauge(
    "daiban_breached_cases", "Open cases past their due time, by county-level unit", ["county"],
    multiprocess_mode="mostrecent",
)
JOB_RUNS = Counter("daiban_job_runs", "Background job runs by outcome", ["job", "outcome"])
JOB_DURATION = Histogram(
    "daiban_job_duration_seconds", "Background job run time", ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0),
)
THROTTLE_HITS = Counter(
    "daiban_throttle_hits", "Sign-ins refused by the throttle, by window (account, username, address, busy)", ["limit"]
)


def record_push(result: PushResponse) -> dict[str, int]:
    """Count a push's outcomes; returns them (applied, duplicate, rejected) for the log line."""
    counts = {"applied": 0, "duplicate": 0, "rejected": 0}
    for op in result.results:
        counts[op.result] = counts.get(op.result, 0) + 1
        if op.result == "rejected":
            SYNC_REJECTIONS.labels(op.code or "unknown").inc()
    for outcome, n in counts.items():
        if n:
            SYNC_OPS.labels(outcome).inc(n)
    return counts


def throttled(kind: str) -> None:
    """The sign-in throttle's hook: count the refusal (and log it, as the default hook does)."""
    THROTTLE_HITS.labels(kind).inc()
    log_throttled(kind)


def scrape() -> bytes:
    """The exposition text: this process's registry, or every process's when multiprocess."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


@get("/metrics", operation_id="metrics", tags=["ops"], summary="Prometheus metrics", include_in_schema=False)
async def metrics_endpoint() -> Response[bytes]:
    return Response(scrape(), media_type=CONTENT_TYPE_LATEST)
