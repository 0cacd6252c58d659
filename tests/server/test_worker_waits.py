"""``daiban worker`` when Redis is away: one line per try with backoff, no traceback; then
it starts by itself once Redis appears, and SIGTERM stops it cleanly."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from live import free_port
from processes import DAIBAN, ROOT

pytestmark = [pytest.mark.redis, pytest.mark.slow]


class Lines:
    """Reads a process's JSON log lines in the background."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert proc.stderr is not None
        self.thread = threading.Thread(target=lambda: self.lines.extend(iter(proc.stderr.readline, "")), daemon=True)  # type: ignore[union-attr]
        self.thread.start()

    def events(self, name: str) -> list[dict[str, object]]:
        parsed = [json.loads(line) for line in list(self.lines) if line.startswith("{")]
        return [e for e in parsed if e.get("event") == name]

    def wait_for(self, name: str, timeout: float) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := self.events(name):
                return found[-1]
            time.sleep(0.1)
        raise AssertionError(f"no {name} within {timeout}s:\n" + "".join(self.lines))


def test_worker_waits_for_redis_then_runs_and_stops_on_sigterm(tmp_path: Path) -> None:
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    env = {
        **os.environ,
        "DAIBAN_DATABASE_URL": f"sqlite:///{tmp_path / 'w.sqlite'}",
        "DAIBAN_REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "DAIBAN_LOG_FORMAT": "json",
    }
    worker = subprocess.Popen([str(DAIBAN), "worker"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    lines = Lines(worker)
    redis = None
    try:
        lines.wait_for("worker.waiting", 30)
        time.sleep(2.5)
        waits = lines.events("worker.waiting")
        assert {w["away"] for w in waits} == {"redis"}
        delays = [float(str(w["retry_in_s"])) for w in waits]
        assert delays == sorted(delays) and len(delays) <= 5, delays  # backing off, not spinning
        assert not any("Traceback" in line for line in lines.lines)
        redis = subprocess.Popen(
            [redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        lines.wait_for("worker.ready", 40)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
        lines.thread.join(timeout=5)
        lines.wait_for("worker.stopped", 1)
        assert not any("Traceback" in line for line in lines.lines)
    finally:
        for proc in (worker, redis):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
