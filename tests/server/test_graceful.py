"""SIGTERM to ``daiban serve``: it stops taking connections and finishes the request in flight."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest
from live import free_port
from processes import start_server, stop

pytestmark = pytest.mark.slow


def test_a_request_in_flight_is_answered_after_sigterm(sqlite_template: Path, tmp_path: Path) -> None:
    database = tmp_path / "d.sqlite"
    shutil.copy(sqlite_template, database)
    port = free_port()
    server = start_server(f"sqlite:///{database}", port, tmp_path / "serve.log")
    try:
        body = json.dumps({"username": "a640502100", "password": "demo"}).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            head = (f"POST /api/v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
            conn.sendall(head + body[:10])  # the request has begun; the rest is still on its way
            time.sleep(0.5)
            server.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            with pytest.raises(httpx.ConnectError):  # no new connections once stopping
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
            conn.sendall(body[10:])
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
        # uvicorn re-raises the signal once it has shut down: "killed by SIGTERM", which
        # systemd and compose count as a clean stop.
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)
        assert "Finished server process" in (tmp_path / "serve.log").read_text()
    finally:
        stop(server)
