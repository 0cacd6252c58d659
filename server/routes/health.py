"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Response

from server.tables import Unit


@get("/health", operation_id="health", tags=["ops"], summary="The process is up")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/ready", operation_id="ready", tags=["ops"], summary="The database (and Redis when configured) answer")
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    checks: dict[str, str] = {}
    try:
        await Unit.count()
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports the failure instead of raising it
        checks["database"] = f"error: {type(exc).__name__}"
    redis = getattr(request.app.state, "redis", None)
    if redis is not None:
        try:
            await redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:  # same: reported, not raised
            checks["redis"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return Response({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)
