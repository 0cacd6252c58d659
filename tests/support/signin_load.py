"""Hostile sign-in traffic against a running server, for the test suite and bench/signin.py."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from factories import case_payload
from live import free_port

TOKEN = "/api/v1/auth/token"
ROOT = Path(__file__).resolve().parents[2]
DAIBAN = Path(sys.executable).parent / "daiban"


def serve(db_url: str, log: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """``daiban serve`` (no Redis unless ``env`` names one) in its own process; its URL."""
    port = free_port()
    full_env = {**os.environ, "DAIBAN_DATABASE_URL": db_url, "DAIBAN_EMBEDDED_JOBS": "0", "DAIBAN_REDIS_URL": ""}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(DAIBAN), "serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=full_env | env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")


def wrong_sign_in_medians(url: str, known: str, rounds: int) -> tuple[float, float]:
    """Median seconds of a wrong password for ``known`` and for unknown usernames,
    interleaved so that load on the machine hits both alike."""
    times: dict[bool, list[float]] = {True: [], False: []}
    with httpx.Client(base_url=url, timeout=60) as http:
        for i in range(rounds):
            for is_known, name in ((True, known), (False, f"nobody{i}")):
                start = time.perf_counter()
                r = http.post(TOKEN, json={"username": name, "password": "wrong"})
                times[is_known].append(time.perf_counter() - start)
                assert r.status_code == 401 and r.json()["code"] == "auth.invalid_credentials", r.text
    return statistics.median(times[True]), statistics.median(times[False])


def huge_username_growth(url: str, pid: int, count: int, size: int = 1_000_000) -> int:
    """Bytes the server at ``pid`` grew over ``count`` sign-ins with distinct ``size``-byte usernames."""
    with httpx.Client(base_url=url, timeout=60) as http:
        for i in range(-20, count):  # the first twenty warm the server up
            if i == 0:
                before = rss_bytes(pid)
            r = http.post(TOKEN, json={"username": f"{i:06d}" + "x" * size, "password": "x"})
            assert r.status_code == 413 and r.json()["code"] == "request.too_large", r.text[:300]
    return rss_bytes(pid) - before


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


@dataclass
class FloodResult:
    seconds: float
    guesses: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    read_ms: list[float] = field(default_factory=list)
    server_errors: int = 0

    @property
    def p99_ms(self) -> float:
        return statistics.quantiles(self.read_ms, n=100, method="inclusive")[98]

    def summary(self) -> str:
        return (
            f"{self.guesses} wrong sign-ins in {self.seconds:.0f} s (answers {dict(sorted(self.refused.items()))}); "
            f"{len(self.read_ms)} case reads: median {statistics.median(self.read_ms):.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms, max {max(self.read_ms):.1f} ms"
        )


async def _guesses(url: str, rate: float, seconds: float) -> dict[int, int]:
    answers: dict[int, int] = {}
    names = itertools.cycle([f"a{640502100000 + i}" for i in range(1, 40)] + ["admin", "dispatcher"])
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:

        async def guess(n: int) -> None:
            r = await http.post(TOKEN, json={"username": next(names), "password": f"guess{n}"})
            answers[r.status_code] = answers.get(r.status_code, 0) + 1

        tasks = []
        start = time.perf_counter()
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(guess(n)))
        await asyncio.gather(*tasks)
    return answers


def _guess_process(url: str, rate: float, seconds: float, out: multiprocessing.Queue[dict[int, int]]) -> None:
    out.put(asyncio.run(_guesses(url, rate, seconds)))


def guess_while_reading(
    url: str,
    auth: dict[str, str],
    rate: float = 50,
    seconds: float = 30,
    reads_per_second: float = 10,
    guessing: bool = True,
) -> FloodResult:
    """``rate`` wrong sign-ins a second (rotating usernames, from another process) for
    ``seconds``, while one signed-in agent reads a case ``reads_per_second`` times a second;
    the reads' latencies. ``guessing=False`` measures the same reads alone (a baseline)."""
    result = FloodResult(seconds=seconds)
    with httpx.Client(base_url=url, timeout=60) as http:
        r = http.post("/api/v1/cases", json=case_payload(), headers=auth)
        assert r.status_code == 201, r.text
        case_url = f"/api/v1/cases/{r.json()['id']}"
        answers: multiprocessing.Queue[dict[int, int]] = multiprocessing.Queue()
        guesser = multiprocessing.Process(target=_guess_process, args=(url, rate, seconds, answers))
        if guessing:
            guesser.start()
        start = time.perf_counter()
        for n in range(int(reads_per_second * seconds)):
            time.sleep(max(0.0, start + n / reads_per_second - time.perf_counter()))
            began = time.perf_counter()
            r = http.get(case_url, headers=auth)
            result.read_ms.append((time.perf_counter() - began) * 1000)
            result.server_errors += r.status_code != 200
        if guessing:
            result.refused = answers.get(timeout=120)
            guesser.join()
            result.guesses = sum(result.refused.values())
            result.server_errors += sum(n for status, n in result.refused.items() if status >= 500)
    return result
