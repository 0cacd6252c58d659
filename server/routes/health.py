"""Liveness and readiness.

``/health`` answers from the process alone (a proxy may probe it every second).
``/ready`` asks the database for ``SELECT 1`` and pings Redis when configured, each within
``DAIBAN_READY_TIMEOUT`` seconds, so a stuck dependency makes the probe fail fast instead
of hanging it; nothing is counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from litestar import Request, get
from litestar.response import Response

from server.deps import SettingsDep
from server.tables import Unit


@get("/health", operation_id="health", tags=["ops"], summary="The process is up")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _probe(check: Awaitable[Any], timeout: float) -> str:
    try:
        await asyncio.wait_for(check, timeout)
    except TimeoutError:
        return "error: timeout"
    except Exception as exc:  # readiness reports the failure instead of raising it
        return f"error: {type(exc).__name__}"
    return "ok"


@get("/ready", operation_id="ready", tags=["ops"], summary="The database (and Redis when configured) answer")
async def ready(request: Request[Any, Any, Any], settings: SettingsDep) -> Response[dict[str, Any]]:
    timeout = settings.ready_timeout
    checks = {"database": await _probe(Unit.raw("SELECT 1").run(), timeout)}
    redis = getattr(request.app.state, "redis", None)
    if redis is not None:
        checks["redis"] = await _probe(redis.ping(), timeout)
    ok = all(v == "ok" for v in checks.values())
    return Response({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)
