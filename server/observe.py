"""One line and one sample per request: request id, agent, unit, route, status, latency.

:class:`ObserveMiddleware` sits outside sign-in, so refused requests are seen too. It
takes the proxy's ``X-Request-ID`` when it looks like one (else makes one), binds it for
every line logged while the request runs, and sends it back. It logs the route template
(``/api/v1/cases/{case_id:uuid}``), never the query string or body, which can hold
personal data; the agent is named by number and unit code.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.logs import get_logger
from server.metrics import LATENCY, PULL_LAG, REQUESTS, record_push
from server.tables import Counter
from sync.protocol import PullResponse, PushResponse

log = get_logger("daiban.http")
sync_log = get_logger("daiban.sync")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
#: Probes and scrapes: counted, but logged only when they fail (a proxy probes every second).
_QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _REQUEST_ID.match(text) else None
    return None


def _who(scope: Scope) -> dict[str, Any]:
    actor = getattr(scope.get("user"), "actor", None)
    if actor is None:
        return {}
    return {"agent": actor.id, "unit": actor.unit_code}


class ObserveMiddleware:
    """ASGI middleware: the request log line and the request metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:  # answered by the app's outer handler; noted here, re-raised
                code: Any = getattr(exc, "status", None) or getattr(exc, "status_code", None) or 500
                status = int(code)
                raise
            finally:
                elapsed = time.perf_counter() - started
                route = scope.get("path_template") or "unmatched"
                method = scope.get("method", "")
                REQUESTS.labels(method, route, str(status)).inc()
                LATENCY.labels(method, route).observe(elapsed)
                if route not in _QUIET_ROUTES or status >= 400:
                    log.log(
                        40 if status >= 500 else 20,
                        "http.request",
                        method=method,
                        route=route,
                        status=status,
                        ms=round(elapsed * 1000, 1),
                        **_who(scope),
                    )


def pushed(client_id: uuid.UUID, result: PushResponse) -> None:
    """Count a push and log its outcome (the request id comes from the request's context)."""
    counts = record_push(result)
    codes = sorted({op.code for op in result.results if op.result == "rejected"})
    extra = {"codes": codes} if codes else {}
    sync_log.info("sync.push", device=str(client_id), last_seq=result.last_seq, **counts, **extra)


async def pulled(cursor: int, page: PullResponse) -> None:
    """Record how far behind the device was: the server's change sequence minus its cursor."""
    if page.has_more:
        head_row = await Counter.select(Counter.value).where(Counter.name == "change").first()
        head = int(head_row["value"]) if head_row else page.cursor
    else:
        head = page.cursor  # the last page ends at the head
    PULL_LAG.observe(max(0, head - cursor))
