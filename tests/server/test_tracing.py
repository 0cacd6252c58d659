"""OpenTelemetry: off, no tracer, exporter or middleware (Litestar itself imports the API
package when it is installed, as it is with ``daiban[otel]``; a plain ``daiban[server]``
has none of it); on, each request becomes a span sent to the collector by OTLP/HTTP.
Each case runs in its own interpreter (a tracer provider is global)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

OFF = """
import sys
from server.app import create_app
from server.settings import load_settings
app = create_app(load_settings({}, database_url="sqlite:///%s"))
print(sorted(m for m in sys.modules if m.startswith(("opentelemetry.sdk", "opentelemetry.exporter"))))
print(sorted(type(p).__name__ for p in app.plugins if "Telemetry" in type(p).__name__))
"""

ON = """
import asyncio
from litestar.testing import AsyncTestClient
from opentelemetry import trace
from server.app import create_app
from server.settings import load_settings

async def main():
    app = create_app(load_settings({}, database_url="sqlite:///%s", otel_endpoint="%s"))
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health")).status_code == 200
    trace.get_tracer_provider().force_flush()

asyncio.run(main())
"""


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_tracing_off_has_no_tracer_exporter_or_middleware(tmp_path: Path) -> None:
    assert run(OFF % (tmp_path / "d.sqlite")).split() == ["[]", "[]"]


def test_tracing_on_sends_request_spans_to_the_collector(sqlite_template: Path, tmp_path: Path) -> None:
    database = tmp_path / "d.sqlite"
    shutil.copy(sqlite_template, database)
    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            received.append((self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run(ON % (database, f"http://127.0.0.1:{server.server_port}"))
    finally:
        server.shutdown()
    paths = [p for p, _ in received]
    assert "/v1/traces" in paths
    assert any(b"/health" in body for _, body in received)  # the request's span, with its route
