"""Password hashing and bearer tokens.

argon2 takes a fifth of a second of CPU: it runs in worker threads (at most
``HASH_THREADS`` at a time), never on the event loop, so sign-ins cannot stall other
requests. An unknown username is checked against a dummy hash of the same cost, so the
answer's timing does not tell whether an account exists.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
import threading

import anyio.to_thread
from pwdlib import PasswordHash

_hasher = PasswordHash.recommended()  # argon2id with pwdlib's current parameters

#: Password checks running at once; more wait their turn instead of starving the loop.
HASH_THREADS = 2
#: Password checks waiting their turn; beyond that a sign-in is refused at once (busy).
HASH_QUEUE = 2
#: Niceness of the threads doing password work (Linux: per thread), so that serving
#: requests always comes first and a flood of sign-ins cannot slow everyone's reads.
HASH_NICENESS = 10
_lowered = threading.local()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _yield_cpu() -> None:
    if getattr(_lowered, "done", False):
        return
    _lowered.done = True
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), HASH_NICENESS))
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        pass


def _check(password: str, hashed: str | None) -> bool:
    _yield_cpu()
    if hashed is None:
        _hasher.verify(password, _dummy_hash())
        return False
    return _hasher.verify(password, hashed)


def hash_limiter() -> anyio.CapacityLimiter:
    """The limiter of password work for one event loop (made when the app starts)."""
    return anyio.CapacityLimiter(HASH_THREADS)


def hashing_busy(limiter: anyio.CapacityLimiter) -> bool:
    """True when ``HASH_QUEUE`` checks already wait: a flood of sign-ins is shed, not queued."""
    return limiter.statistics().tasks_waiting >= HASH_QUEUE


async def check_password(password: str, hashed: str | None, limiter: anyio.CapacityLimiter | None = None) -> bool:
    """Verify off the event loop; ``hashed=None`` (no such agent) costs the same and is False."""
    return await anyio.to_thread.run_sync(_check, password, hashed, limiter=limiter)


async def hash_password_async(password: str) -> str:
    """:func:`hash_password` off the event loop."""
    return await anyio.to_thread.run_sync(hash_password, password)


def new_token() -> tuple[str, str]:
    """A fresh bearer token and the digest under which it is stored."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
