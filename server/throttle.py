"""Sign-in throttling on the `limits` library: bounded, shared between processes, fair.

Three kinds of windows (moving windows, so a wait is never longer than its window):

* **per account and address** — every attempt for one username from one address counts
  before its password is checked (so a burst of concurrent guesses is cut at the limit),
  and a success clears it. Several tiers give growing delays (default: 5 a minute, then
  10 in 10 minutes, then 20 an hour), never a lock-out the real user cannot wait out.
* **per username** (from any address) — failures only; stops a guesser that rotates
  addresses, with a limit high enough that the real user is only delayed.
* **per address** (across usernames) — every attempt, counted before the password is
  checked; stops one password being tried across many accounts. Successes count too, so
  the default leaves room for a whole office behind one address signing in at once.

State lives in Redis when ``DAIBAN_REDIS_URL`` is set, so every API process and host
counts together; otherwise in this process's memory, where `limits` expires it. Keys are
digests of the username, so their size does not depend on what a client sends.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from redis.exceptions import RedisError

from hierarchy.errors import RateLimited
from server.logs import get_logger

log = logging.getLogger("daiban.throttle")
T = TypeVar("T")
#: What a Redis that is away (not started yet, restarting, unreachable) raises.
REDIS_AWAY = (RedisError, OSError, TimeoutError)

#: Called with the window kind ("account", "username", "address"; "busy" when password checks
#: are already queued) each time a sign-in is
#: refused by the throttle. Metrics hook in here; the default only logs.
ThrottleHook = Callable[[str], None]


def log_throttled(kind: str) -> None:
    log.warning("sign-in throttled (%s window)", kind)


@dataclass(frozen=True, slots=True)
class Limits:
    """Windows in `limits` notation, several separated by ``;`` (e.g. ``5/minute;20/hour``)."""

    account: str = "5/minute;10/10 minutes;20/hour"
    username: str = "50/hour"
    address: str = "60/minute;600/hour"


KEY_PREFIX = "daiban:signin"


def open_storage(redis_url: str | None) -> Storage:
    if not redis_url:
        return MemoryStorage()
    uri = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
    storage = storage_from_string(uri, implementation="redispy", key_prefix=KEY_PREFIX, wrap_exceptions=True)
    assert isinstance(storage, Storage)
    return storage


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class SignInThrottle:
    """The windows above. When the shared storage (Redis) is away, sign-ins are counted in
    this process's memory until it answers again: throttled still, never refused with a 500;
    one ``throttle.storage_away`` line says so and one ``throttle.storage_back`` ends it."""

    def __init__(self, storage: Storage, limits: Limits | None = None, on_throttled: ThrottleHook = log_throttled):
        limits = limits or Limits()
        self.storage = storage
        self.shared = MovingWindowRateLimiter(storage)
        self.local = MovingWindowRateLimiter(MemoryStorage())
        self.storage_away = False
        self.account = parse_many(limits.account)
        self.username = parse_many(limits.username)
        self.address = parse_many(limits.address)
        self.on_throttled = on_throttled

    async def _counted(self, step: Callable[[MovingWindowRateLimiter], Awaitable[None]]) -> None:
        try:
            await step(self.shared)
        except StorageError as exc:
            if not self.storage_away:
                self.storage_away = True
                get_logger("daiban.throttle").warning("throttle.storage_away", error=type(exc.storage_error).__name__)
            await step(self.local)
            return
        if self.storage_away:
            self.storage_away = False
            get_logger("daiban.throttle").info("throttle.storage_back")

    async def attempt(self, address: str, username: str) -> None:
        """Count one attempt; raise :class:`RateLimited` with the wait if it is over a limit."""
        user = _digest(username)

        async def step(limiter: MovingWindowRateLimiter) -> None:
            await self._refuse_if_over(limiter, "username", self.username, user)
            for item in self.address:
                if not await limiter.hit(item, "address", address):
                    await self._refuse(limiter, "address", item, "address", address)
            for item in self.account:
                if not await limiter.hit(item, "account", address, user):
                    await self._refuse(limiter, "account", item, "account", address, user)

        await self._counted(step)

    async def failed(self, address: str, username: str) -> None:
        user = _digest(username)

        async def step(limiter: MovingWindowRateLimiter) -> None:
            for item in self.username:
                await limiter.hit(item, "username", user)

        await self._counted(step)

    async def succeeded(self, address: str, username: str) -> None:
        user = _digest(username)

        async def step(limiter: MovingWindowRateLimiter) -> None:
            for item in self.account:
                await limiter.clear(item, "account", address, user)

        await self._counted(step)

    async def _refuse_if_over(
        self, limiter: MovingWindowRateLimiter, kind: str, items: Sequence[RateLimitItem], key: str
    ) -> None:
        for item in items:
            if not await limiter.test(item, kind, key):
                await self._refuse(limiter, kind, item, kind, key)

    async def _refuse(self, limiter: MovingWindowRateLimiter, kind: str, item: RateLimitItem, *key: str) -> None:
        stats = await limiter.get_window_stats(item, *key)
        self.on_throttled(kind)
        raise RateLimited(
            "auth.rate_limited",
            "登录失败次数过多，请稍后再试",
            retry_after=max(1, int(stats.reset_time - time.time()) + 1),
        )


class FallbackStore(Store):
    """A Litestar store that counts in ``shared`` (Redis) and, while it is away, in this
    process's memory: a public rate limit keeps limiting instead of answering 500. One
    ``store.away`` line when Redis goes, one ``store.back`` when it answers again."""

    def __init__(self, shared: Store, name: str) -> None:
        self.shared = shared
        self.local = MemoryStore()
        self.name = name
        self.away = False

    async def _either(self, call: Callable[[Store], Awaitable[T]]) -> T:
        try:
            result = await call(self.shared)
        except REDIS_AWAY as exc:
            if not self.away:
                self.away = True
                get_logger("daiban.throttle").warning("store.away", store=self.name, error=type(exc).__name__)
            return await call(self.local)
        if self.away:
            self.away = False
            get_logger("daiban.throttle").info("store.back", store=self.name)
        return result

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        await self._either(lambda s: s.set(key, value, expires_in))

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        return await self._either(lambda s: s.get(key, renew_for))

    async def delete(self, key: str) -> None:
        await self._either(lambda s: s.delete(key))

    async def delete_all(self) -> None:
        await self._either(lambda s: s.delete_all())

    async def exists(self, key: str) -> bool:
        return await self._either(lambda s: s.exists(key))

    async def expires_in(self, key: str) -> int | None:
        return await self._either(lambda s: s.expires_in(key))
