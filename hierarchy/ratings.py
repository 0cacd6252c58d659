"""好差评: who may record the applicant's rating, and the one-time rating code.

A rating is the applicant's judgement of the people who handled the matter, so it is
never recorded by them. Two ways in:

- **on the applicant's behalf** by the origin side — the agent who took the matter from
  the applicant, or a colleague at that unit — as long as that agent did not hold the
  case after it was accepted, is not its assignee, and is not in the unit reviewing a
  bad rating of it;
- **by the applicant directly**, with the case's short one-time rating code (printed on
  the receipt, and in a QR code of a rating link), on a public endpoint.

A resolved case the applicant never rates closes as 未评价 (unrated) after
:data:`UNRATED_CLOSE_DAYS` working days; it is counted apart, never as a good rating.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from hierarchy.calendar import add_working_days
from hierarchy.cases import Actor, CaseState
from hierarchy.errors import Forbidden, InvalidInput

#: Working days a resolved case waits for the applicant's rating before it closes unrated.
UNRATED_CLOSE_DAYS = 10

#: Crockford's base32 without I, L, O, U: nothing to misread when typed from paper.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10  # 50 bits: guessing one is hopeless behind a rate limit
#: The applicant's rating page (public, no sign-in); the receipt's link and QR code open it.
RATING_PAGE = "/r/"


class RatingSource(enum.StrEnum):
    """Who recorded a case's rating (stored with it and reported)."""

    APPLICANT = "applicant"  # the applicant, with the one-time code
    AGENT = "agent"  # an origin-side agent, on the applicant's behalf
    UNRATED = "unrated"  # nobody: closed as 未评价 after the waiting time


def new_rating_code() -> str:
    """A fresh random rating code, e.g. ``7KQ2M9XD4R``."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def rating_link(base_url: str, code: str) -> str:
    """The link printed on the receipt (and in its QR code): the rating page for ``code``."""
    return f"{base_url.rstrip('/')}{RATING_PAGE}{code}"


def normalise_rating_code(value: object) -> str:
    """The code as stored: uppercase, without spaces or dashes people type between groups.

    Raises:
        InvalidInput: ``rating.code_invalid`` unless it is :data:`CODE_LENGTH` characters
            of :data:`CODE_ALPHABET`.
    """
    text = str(value or "").upper().replace("-", "").replace(" ", "")
    if len(text) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in text):
        raise InvalidInput("rating.code_invalid", "a rating code is 10 letters and digits", field="code")
    return text


def check_agent_may_rate(case: CaseState, actor: Actor) -> None:
    """Refuse an agent who may not record the applicant's rating of ``case``.

    Raises:
        Forbidden: the first that applies of ``rating.rater_is_assignee`` (the agent who
            resolved it), ``rating.reviewing_unit`` (the unit reviewing a bad rating of it),
            ``rating.rater_held_case`` (held it after acceptance), ``rating.not_origin``
            (neither the origin agent nor at the origin unit).
    """
    if actor.id is not None and actor.id == case.assignee_id:
        raise Forbidden("rating.rater_is_assignee", "the agent who handled the case cannot rate it")
    if case.review and actor.unit_code == case.review.get("unit"):
        raise Forbidden("rating.reviewing_unit", "the unit reviewing a bad rating cannot rate the case")
    if actor.id != case.created_by and actor.id in case.holders:
        raise Forbidden("rating.rater_held_case", "an agent who held the case cannot rate it")
    if actor.id is None or not (actor.id == case.created_by or actor.unit_code == case.origin_unit):
        raise Forbidden(
            "rating.not_origin", "only the agent who took the matter, or that unit, records the applicant's rating"
        )


def check_rating(value: object) -> int:
    """Raises ``case.rating_invalid`` unless ``value`` is an int 1–5."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
        raise InvalidInput("case.rating_invalid", "rating is 1 (非常不满意) to 5 (非常满意)", field="rating")
    return value


def unrated_close_at(case: CaseState, days: int = UNRATED_CLOSE_DAYS) -> datetime | None:
    """When a resolved case with no rating closes as 未评价 (None when it is not waiting)."""
    if case.resolved_at is None:
        return None
    return add_working_days(case.resolved_at, days, open_weekends=False)
