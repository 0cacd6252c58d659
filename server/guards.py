"""Route guards: who may call a route at all, said once on the route instead of in its body.

Scope (which unit or case) is still checked where the row is read; a guard answers the
question that needs no row: does this agent's role allow the route.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from hierarchy.errors import Forbidden
from hierarchy.roles import Role

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]


def roles(allowed: frozenset[Role], code: str, detail: str) -> Guard:
    """A guard that lets through only agents whose role is in ``allowed``."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if connection.user.actor.role not in allowed:
            raise Forbidden(code, detail)

    return guard
