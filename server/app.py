"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.stores.base import Store

from server import calendar_store, db, logs
from server.auth import PUBLIC_PATHS, BearerAuth
from server.deps import DEPENDENCIES
from server.docs import docs_assets, docs_plugin
from server.headers import security_headers
from server.input_guard import InputGuard
from server.jobs.worker import open_queue
from server.metrics import metrics_endpoint, throttled
from server.observe import ObserveMiddleware
from server.openapi import CompleteJsonPlugin
from server.problems import EXCEPTION_HANDLERS
from server.routes.agents import AgentController
from server.routes.attachments import AttachmentController
from server.routes.auth import AuthController
from server.routes.cases import CaseController
from server.routes.health import health, ready
from server.routes.network import ItemController, UnitController
from server.routes.notifications import NotificationController
from server.routes.projects import ProjectController
from server.routes.rating_page import RatingPageController
from server.routes.ratings import RatingController, rate_limit
from server.routes.receipts import ReceiptController
from server.routes.reports import ReportController
from server.routes.sync import DeviceController, SyncController
from server.routes.webhooks import WebhookController
from server.routes.workload import WorkloadController
from server.security import hash_limiter
from server.settings import Settings, load_settings
from server.storage import open_store
from server.throttle import FallbackStore, Limits, SignInThrottle, open_storage
from server.tus import UploadController


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] | None = None) -> Litestar:
    """Build the API for ``settings`` (default: from the environment).

    ``clock`` gives the current time (tests travel in time with it); default UTC now.
    """
    settings = settings or load_settings()
    engine = db.connect(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await db.start(engine)
        await calendar_store.load_all()  # holiday arrangements loaded ahead of the library
        # Jobs go to arq when Redis is configured; otherwise they run here, on the
        # worker's timetable when settings.embedded_jobs.
        app.state.jobs = await open_queue(settings, engine, app.state.clock)
        app.state.redis = getattr(app.state.jobs, "pool", None)  # /ready pings it when there is one
        # Sign-in windows are shared through Redis by every process when there is one.
        app.state.throttle = SignInThrottle(
            open_storage(settings.redis_url),
            Limits(settings.login_limits_account, settings.login_limits_username, settings.login_limits_address),
            on_throttled=throttled,
        )
        app.state.hash_limiter = hash_limiter()
        try:
            yield
        finally:
            await app.state.jobs.close()
            await db.stop(engine)

    app = Litestar(
        route_handlers=[health, ready, metrics_endpoint, UnitController, ItemController, AuthController,
                        AgentController, CaseController, DeviceController, SyncController, WorkloadController,
                        ReportController, NotificationController, UploadController, AttachmentController,
                        ProjectController, ReceiptController, WebhookController, docs_assets(),
                        Router("/", route_handlers=[RatingController, RatingPageController],
                               middleware=[rate_limit(settings.ratings_per_minute).middleware])],
        # Outermost first: the request line sees refused sign-ins too.
        middleware=[
            ObserveMiddleware,
            InputGuard,  # control characters and bad UTF-8 in the path, query or a JSON body
            DefineMiddleware(BearerAuth, exclude=[*PUBLIC_PATHS, r"^/metrics$"]),
        ],
        dependencies=DEPENDENCIES,
        plugins=[logs.plugin(settings), *tracing(settings)],
        lifespan=[lifespan],
        before_send=[security_headers],  # nosniff; no-store on API answers
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.max_body_bytes,
        # Large pulls travel gzipped when the device accepts it (village links are slow).
        compression_config=CompressionConfig(backend="gzip", minimum_size=2048, gzip_compress_level=6),
        openapi_config=OpenAPIConfig(
            title="daiban API",
            version="1.0.0",
            description="The 1+5+N 帮办代办 network: cases, offline sync, workload and reports.",
            path="/schema",
            # Served with its assets by the app: the docs page works with no internet.
            render_plugins=[docs_plugin(), CompleteJsonPlugin()],
        ),
        debug=False,
        stores=rating_stores(settings),
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.store = open_store(settings)
    app.state.clock = clock or (lambda: datetime.now(UTC))
    return app


def rating_stores(settings: Settings) -> dict[str, Store]:
    """The rating endpoint's rate-limit counts: in Redis when it is configured, so every API
    process counts together (each in its own memory while Redis is away); otherwise in this
    process's memory (Litestar's default)."""
    if not settings.redis_url:
        return {}
    from litestar.stores.redis import RedisStore

    shared = RedisStore.with_client(url=settings.redis_url, namespace="daiban:ratings")
    return {"ratings": FallbackStore(shared, "ratings")}  # in memory while Redis is away


def tracing(settings: Settings) -> list[Any]:
    """OpenTelemetry's plugin when an OTLP endpoint is set (``daiban[otel]``); otherwise no
    tracer, exporter or middleware (``daiban[server]`` alone does not install OpenTelemetry)."""
    if not settings.otel_endpoint:
        return []
    from server.tracing import otel_plugin

    return [otel_plugin(settings.otel_endpoint)]
