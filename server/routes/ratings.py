"""好差评 by the applicant: a one-time code, no sign-in, rate-limited per address."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath, JSONBody

from server import ratings
from server.deps import EngineDep, NowDep
from server.ratings import RatingCase, RatingIn


def rate_limit(per_minute: int) -> RateLimitConfig:
    """Per client address, in the app's ``ratings`` store (Redis when configured, so API
    processes count together; else each process's memory)."""
    return RateLimitConfig(rate_limit=("minute", per_minute), store="ratings")


class RatingController(Controller):
    path = "/api/v1/ratings"
    tags = ["ratings"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @get("/{code:str}", operation_id="getRatingCase", summary="The case a rating code rates (no personal data)")
    async def describe(self, code: FromPath[str]) -> RatingCase:
        return await ratings.describe(code)

    @post("/", operation_id="rateWithCode", status_code=200, summary="The applicant rates a resolved case, once")
    async def rate(self, engine: EngineDep, now: NowDep, data: JSONBody[RatingIn]) -> RatingCase:
        return await ratings.rate_with_code(engine, data, now)
