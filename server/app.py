"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin

from server import db
from server.problems import EXCEPTION_HANDLERS
from server.routes.health import health, ready
from server.routes.network import ItemController, UnitController
from server.settings import Settings, load_settings


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the API for ``settings`` (default: from the environment)."""
    settings = settings or load_settings()
    engine = db.connect(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await db.start(engine)
        try:
            yield
        finally:
            await db.stop(engine)

    app = Litestar(
        route_handlers=[health, ready, UnitController, ItemController],
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="daiban API",
            version="1.0.0",
            description="The 1+5+N 帮办代办 network: cases, offline sync, workload and reports.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
        ),
        debug=False,
    )
    app.state.settings = settings
    app.state.engine = engine
    return app
