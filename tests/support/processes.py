"""Real processes for crash tests: the API server (``daiban serve``) and a device.

Both can be killed with SIGKILL at any moment; the tests then restart them on the same
files and check that nothing acknowledged was lost and nothing was applied twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
DAIBAN = Path(sys.executable).parent / "daiban"
DEVICE = Path(__file__).resolve().parent / "device_main.py"


def start_server(database_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``daiban serve`` on 127.0.0.1:port over ``database_url``, once it answers /health."""
    env = {
        **os.environ,
        "DAIBAN_DATABASE_URL": database_url,
        "DAIBAN_EMBEDDED_JOBS": "0",
        "DAIBAN_REDIS_URL": "",
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(DAIBAN), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"the server did not start; see {log}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def run_device(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``device_main.py`` with ``args`` to the end (it may kill itself)."""
    return subprocess.run(
        [sys.executable, str(DEVICE), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def spawn_device(*args: str) -> subprocess.Popen[str]:
    """Start ``device_main.py`` with ``args`` in the background."""
    return subprocess.Popen(
        [sys.executable, str(DEVICE), *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
