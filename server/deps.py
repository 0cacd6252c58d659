"""What handlers receive by dependency injection instead of reaching into ``app.state``.

``create_app`` stores the settings, the engine, the clock and the job queue on the app
state once; these providers hand them to any handler that names them as a parameter
(``settings``, ``engine``, ``now``, ``jobs``, ``throttle``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Dependency

from server.db import Database
from server.jobs.queue import JobQueue
from server.settings import Settings

# Handler parameter types. The values are the app's own objects: validating them per
# request would cost time and cannot parse an engine union, so validation is skipped.
SettingsDep = Annotated[Settings, Dependency(skip_validation=True)]
EngineDep = Annotated[Database, Dependency(skip_validation=True)]
NowDep = Annotated[datetime, Dependency(skip_validation=True)]
JobsDep = Annotated[JobQueue, Dependency(skip_validation=True)]
ThrottleDep = Annotated[Any, Dependency(skip_validation=True)]


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def provide_engine(state: State) -> Database:
    engine: Database = state.engine
    return engine


def provide_now(state: State) -> datetime:
    """The current time by the app's clock (tests travel in time with it)."""
    now: datetime = state.clock()
    return now


def provide_jobs(state: State) -> JobQueue:
    """The job queue (arq on Redis, or the in-process runner)."""
    jobs: JobQueue = state.jobs
    return jobs


def provide_throttle(state: State) -> Any:
    """The sign-in throttle."""
    return state.throttle


DEPENDENCIES = {
    "throttle": Provide(provide_throttle, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "engine": Provide(provide_engine, sync_to_thread=False),
    "now": Provide(provide_now, sync_to_thread=False),
    "jobs": Provide(provide_jobs, sync_to_thread=False),
}
