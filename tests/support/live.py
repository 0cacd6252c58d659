"""A real API server on loopback, in a background thread, for client and fault tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import httpx
import uvicorn

from server.app import create_app
from server.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """``create_app(settings, clock)`` served by uvicorn on 127.0.0.1 until the block ends.

    ``server`` is the ``uvicorn.Server`` (its ``server_state`` shows the open connections).
    """

    def __init__(
        self, settings: Settings, port: int | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings, clock=clock),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            backlog=256,
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.thread.is_alive():
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("the test server did not start")

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def live_server(
    settings: Settings, port: int | None = None, clock: Callable[[], datetime] | None = None
) -> Iterator[str]:
    """Serve the app on loopback until the block ends; yields the base URL."""
    with LiveServer(settings, port, clock) as live:
        yield live.url
