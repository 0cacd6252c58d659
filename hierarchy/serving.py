"""What a unit serves: citizens' matters, enterprises' matters, or both.

Not every unit of the network is a place where people live. An industrial park or a
development zone, a state farm (…场) and a nature-reserve office (自然保护区管理处) take
enterprise matters only: a citizen's 社保卡 case never goes there. Each unit carries the
set it serves (``Unit.serves``, seeded by :func:`default_serves`); the planner moves a
case only to a unit that serves both the item's kind and the applicant.
"""

from __future__ import annotations

import enum
from collections.abc import Collection

from hierarchy.tree import Kind


class Serves(enum.StrEnum):
    INDIVIDUAL = "individual"  # a person's matters (items of the individual lifecycle)
    ENTERPRISE = "enterprise"  # a firm's matters


EVERYONE: tuple[str, ...] = (Serves.INDIVIDUAL.value, Serves.ENTERPRISE.value)
ENTERPRISES_ONLY: tuple[str, ...] = (Serves.ENTERPRISE.value,)
#: County-level kinds that are not residential areas.
NON_RESIDENTIAL_KINDS = frozenset({Kind.PARK, Kind.ZONE})
#: Name endings and parts of units that are not residential areas (farms, reserves).
NON_RESIDENTIAL_ENDINGS = ("场",)
NON_RESIDENTIAL_PARTS = ("自然保护区", "工业园区", "开发区")


def default_serves(name: str, kind: Kind | None, parent: Collection[str] = EVERYONE) -> tuple[str, ...]:
    """What a unit serves by its kind and name; a unit serves nothing its parent does not."""
    residential = (
        kind not in NON_RESIDENTIAL_KINDS
        and not name.endswith(NON_RESIDENTIAL_ENDINGS)
        and not any(part in name for part in NON_RESIDENTIAL_PARTS)
    )
    own = EVERYONE if residential else ENTERPRISES_ONLY
    return tuple(s for s in own if s in parent)


def needs(lifecycle: str, applicant_type: str | None) -> frozenset[str]:
    """What serving a case needs: the item's kind and the applicant's (a person or a firm)."""
    out = {Serves.ENTERPRISE.value if lifecycle == "enterprise" else Serves.INDIVIDUAL.value}
    if applicant_type is not None:
        out.add(Serves.INDIVIDUAL.value if applicant_type == "person" else Serves.ENTERPRISE.value)
    return frozenset(out)


def can_serve(serves: Collection[str], lifecycle: str, applicant_type: str | None) -> bool:
    """Whether a unit serving ``serves`` can take a case of this item kind and applicant."""
    return needs(lifecycle, applicant_type) <= set(serves)
