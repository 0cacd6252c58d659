"""The applicant rates directly: the one-time rating code, on a public endpoint.

The code is printed on the receipt (and in its QR code's link). It rates one case, once,
and only once that case is resolved; the rating is recorded with source ``applicant``.
Agents record a rating on the applicant's behalf through the ``confirm`` action instead,
under :func:`hierarchy.ratings.check_agent_may_rate`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from hierarchy.cases import Status, system_actor
from hierarchy.errors import Conflict, NotFound
from hierarchy.machine import Action, decide
from hierarchy.ratings import normalise_rating_code
from server.cases import MAX_ATTEMPTS, to_state, utc, write_decision
from server.db import Database
from server.tables import Case, Item

RATE_ATTEMPTS = MAX_ATTEMPTS


class RatingIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: str
    #: 1 非常不满意 … 5 非常满意
    rating: int
    comment: str = ""


class RatingCase(msgspec.Struct, kw_only=True):
    """What the code shows the applicant: no personal data."""

    ref: str | None
    item_name: str
    status: str
    can_rate: bool
    rating: int | None = None


async def _by_code(code: str) -> dict[str, Any]:
    row = await Case.select().where(Case.rating_code == normalise_rating_code(code)).output(load_json=True).first()
    if row is None:
        raise NotFound("rating.code_unknown", "no case has this rating code")
    return row


def _refusal(row: dict[str, Any]) -> Conflict | None:
    """Why the case's code cannot rate it now, or None when it can."""
    if row["rating_code_used_at"] is not None:
        return Conflict("rating.code_used", "this rating code has already been used")
    if row["status"] != Status.RESOLVED.value:
        return Conflict("rating.not_resolved", "the case can be rated once it is resolved", status=row["status"])
    return None


async def describe(code: str) -> RatingCase:
    row = await _by_code(code)
    item = await Item.select(Item.name).where(Item.code == row["item_code"]).first()
    return RatingCase(
        ref=row["ref"],
        item_name=item["name"] if item else row["item_code"],
        status=row["status"],
        can_rate=_refusal(row) is None,
        rating=row["rating"],
    )


async def rateable(code: str) -> RatingCase:
    """What ``code`` rates, when it can rate it now; the refusal :func:`rate_with_code` would give otherwise."""
    if (refusal := _refusal(await _by_code(code))) is not None:
        raise refusal
    return await describe(code)


async def rate_with_code(engine: Database, data: RatingIn, now: datetime) -> RatingCase:
    """Record the applicant's own rating; the code is spent in the same conditional write.

    Raises:
        NotFound: ``rating.code_unknown``.
        Conflict: ``rating.code_used`` (a second use), ``rating.not_resolved`` (too early).
        InvalidInput: ``rating.code_invalid``, ``case.rating_invalid``.
    """
    for _ in range(RATE_ATTEMPTS):
        row = await _by_code(data.code)
        if (refusal := _refusal(row)) is not None:
            raise refusal
        # The system actor stands for the applicant here: the code is their proof.
        actor = system_actor(row["origin_unit"], row["origin_path"])
        decision = decide(to_state(row), actor, Action.CONFIRM, {"rating": data.rating, "comment": data.comment}, now)
        decision.changes["rating_code_used_at"] = utc(now)
        if await write_decision(engine, row, actor, decision, now):
            return await describe(data.code)
    raise Conflict("case.busy", "the case is changing too fast; try again", retry_after=1)
