"""Sign-in under hostile traffic: equal timing, a throttle shared by two API processes on
one Redis, bounded memory under huge usernames, and reads that stay fast while guesses
pour in. The long versions of the last two are in bench/signin.py.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from signin_load import guess_while_reading, huge_username_growth, serve, wrong_sign_in_medians

from server.throttle import KEY_PREFIX

REDIS_URL = os.environ.get("DAIBAN_TEST_REDIS", "redis://127.0.0.1:6379/13")
USER = "a640502100"
TOKEN = "/api/v1/auth/token"


@pytest.fixture
def db_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "daiban.sqlite"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def fresh_redis() -> Iterator[str]:
    conn = redis.Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except redis.ConnectionError:
        if os.environ.get("DAIBAN_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is required but {REDIS_URL} cannot be reached")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")

    def wipe() -> None:
        for key in conn.scan_iter(f"{KEY_PREFIX}*"):
            conn.delete(key)

    wipe()
    yield REDIS_URL
    wipe()
    conn.close()


def test_unknown_username_costs_as_much_as_a_known_one(db_url: str, tmp_path: Path) -> None:
    loose = {f"DAIBAN_LOGIN_LIMITS_{kind}": "1000/minute" for kind in ("ACCOUNT", "USERNAME", "ADDRESS")}
    proc, url = serve(db_url, tmp_path / "server.log", **loose)
    try:
        k, u = wrong_sign_in_medians(url, USER, rounds=11)
    finally:
        proc.kill()
        proc.wait()
    print(f"median wrong sign-in: known {k * 1000:.1f} ms, unknown {u * 1000:.1f} ms, ratio {u / k:.2f}")
    assert abs(u - k) / k < 0.20


def test_two_processes_share_one_throttle(db_url: str, fresh_redis: str, tmp_path: Path) -> None:
    limits = {
        "DAIBAN_REDIS_URL": fresh_redis,
        # Long enough that three slow wrong passwords on a busy machine still share one window.
        "DAIBAN_LOGIN_LIMITS_ACCOUNT": "3/10 seconds",
        "DAIBAN_LOGIN_LIMITS_ADDRESS": "20/minute",
    }
    a, url_a = serve(db_url, tmp_path / "a.log", **limits)
    b, url_b = serve(db_url, tmp_path / "b.log", **limits)
    try:
        with httpx.Client(base_url=url_a, timeout=30) as ha, httpx.Client(base_url=url_b, timeout=30) as hb:
            # A burst of wrong passwords for one username, spread over both processes.
            codes = [h.post(TOKEN, json={"username": USER, "password": f"guess{i}"}).status_code
                     for i, h in enumerate([ha, hb] * 4)]  # fmt: skip
            assert codes[:3] == [401, 401, 401] and set(codes[3:]) == {429}, codes
            r = hb.post(TOKEN, json={"username": USER, "password": "demo"})
            assert r.status_code == 429 and r.json()["code"] == "auth.rate_limited"
            wait = int(r.headers["retry-after"])
            assert 1 <= wait <= 11
            # The real user is delayed, not locked out.
            time.sleep(wait)
            r = ha.post(TOKEN, json={"username": USER, "password": "demo"})
            assert r.status_code == 201, r.text

            # One password tried across a hundred usernames from one address.
            answers = [
                (ha if i % 2 else hb).post(TOKEN, json={"username": f"a{640502100000 + i}", "password": "123456"})
                for i in range(100)
            ]
            statuses = [x.status_code for x in answers]
            assert 0 < statuses.count(401) <= 20, statuses  # the burst above counted against the address too
            assert statuses[-50:] == [429] * 50
            assert {x.json()["code"] for x in answers if x.status_code == 429} == {"auth.rate_limited"}
    finally:
        for proc in (a, b):
            proc.kill()
            proc.wait()


def test_huge_usernames_and_a_guessing_flood(db_url: str, tmp_path: Path) -> None:
    """Short version of bench/signin.py: memory stays flat, reads stay fast."""
    proc, url = serve(db_url, tmp_path / "server.log")
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            r = http.post(TOKEN, json={"username": USER, "password": "demo"})
            auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        grown = huge_username_growth(url, proc.pid, 300)
        print(f"300 sign-ins with 1 MB usernames: server memory grew {grown / 2**20:.1f} MB")
        assert grown < 20 * 2**20
        quiet = guess_while_reading(url, auth, seconds=3, reads_per_second=20, guessing=False)
        result = guess_while_reading(url, auth, rate=50, seconds=5, reads_per_second=20)
        print(f"alone: {quiet.summary()}\nunder guesses: {result.summary()}")
        assert result.guesses >= 250 and result.server_errors == 0
        # bench/signin.py holds 200 ms over 30 s; here the suite shares the CPU with other
        # work, so the bound is relative to the same reads without the guesses.
        assert result.p99_ms < max(500.0, 3 * quiet.p99_ms)
    finally:
        proc.kill()
        proc.wait()
