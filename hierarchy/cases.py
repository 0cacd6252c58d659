"""Cases as the rules see them: kinds, statuses, actors, visibility and masking.

The status machine itself is in :mod:`hierarchy.machine`; both work on these plain,
frozen values so the server and the offline client apply exactly the same rules.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hierarchy.roles import LEAD_ROLES, Role
from hierarchy.sla import SlaEvent
from hierarchy.tree import Level, in_subtree
from hierarchy.validation import mask_phone, mask_resident_id


class CaseKind(enum.StrEnum):
    SERVICE = "service"
    PROJECT_ISSUE = "project_issue"
    COMPLAINT = "complaint"


class Source(enum.StrEnum):
    """Where a matter came in (its channel)."""

    VILLAGE = "village"  # 村级代办点
    HALL = "hall"  # 政务服务大厅窗口
    HOTLINE = "12345"  # 12345 政务服务便民热线
    ONLINE = "online"  # 网上 (政务服务网, app)
    BLOCKED = "blocked"  # 办不成事反映


#: Working days a matter without a catalogue item (a complaint, a 12345 ticket) gets.
NO_ITEM_DAYS = 5


class Status(enum.StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    WAITING_APPLICANT = "waiting_applicant"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


#: The open statuses, defined once: everything that counts open or overdue cases uses these.
OPEN_STATUSES = frozenset({Status.QUEUED, Status.IN_PROGRESS, Status.WAITING_APPLICANT})
#: The same as stored values, in a fixed order (for ``IN (...)`` queries).
OPEN_VALUES: tuple[str, ...] = tuple(status.value for status in Status if status in OPEN_STATUSES)


class ServiceMode(enum.StrEnum):
    ASSIST = "assist"  # 帮办
    PROXY = "proxy"  # 代理办
    ACCOMPANY = "accompany"  # 陪同办
    HOME_VISIT = "home_visit"  # 上门办
    PRIORITY = "priority"  # 优先办


class Group(enum.StrEnum):
    """Special groups that raise a case's priority."""

    ELDERLY = "elderly"
    DISABLED = "disabled"
    PREGNANT = "pregnant"
    LOW_INCOME = "low_income"
    VETERAN = "veteran"
    KEY_PROJECT = "key_project"


class MaterialState(enum.StrEnum):
    PROVIDED = "provided"
    MISSING = "missing"
    DEFERRED = "deferred"  # 容缺: accepted now against a signed commitment and a due date


#: Ratings, 好差评: 5 非常满意 … 1 非常不满意; at or below this a review opens.
BAD_RATING = 2
RATING_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: an agent at a unit, or the system (the SLA sweep) with ``id`` None."""

    id: int | None
    unit_code: str
    unit_path: str
    role: Role
    level: Level
    username: str = ""

    @property
    def is_system(self) -> bool:
        return self.id is None

    def leads(self, unit_code: str) -> bool:
        """Whether this actor may act for ``unit_code`` as its lead.

        County-level units and the city have named leads (and the dispatcher); towns,
        villages and departments have no lead role, so any of their agents acts for the unit.
        """
        if self.unit_code != unit_code:
            return False
        return self.role in LEAD_ROLES or self.level in (Level.TOWN, Level.VILLAGE, Level.DEPARTMENT)


SYSTEM_PATH = "/"


def system_actor(unit_code: str, unit_path: str) -> Actor:
    return Actor(
        id=None, unit_code=unit_code, unit_path=unit_path, role=Role.ADMIN, level=Level.CITY, username="system"
    )


@dataclass(frozen=True, slots=True)
class CaseState:
    """Everything the rules look at. Timestamps are timezone-aware."""

    id: str
    kind: CaseKind
    item_code: str
    status: Status
    origin_unit: str
    origin_path: str
    owner_unit: str
    owner_path: str
    created_by: int
    accepted_at: datetime
    due_at: datetime
    promised_days: int
    open_weekends: bool = False
    assignee_id: int | None = None
    holders: tuple[int, ...] = ()
    version: int = 1
    priority: int = 0
    materials: tuple[Mapping[str, Any], ...] = ()
    sla_events: tuple[SlaEvent, ...] = ()
    extension: Mapping[str, Any] | None = None
    #: The unit that escalated or dispatched the case here: where a return sends it.
    last_from_unit: str | None = None
    last_from_path: str | None = None
    queued_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    rating: int | None = None
    #: Who recorded the rating: hierarchy.ratings.RatingSource (None while unrated).
    rating_source: str | None = None
    review: Mapping[str, Any] | None = None
    #: Set at resolve: outcome, what was issued, how and when it reaches the applicant.
    result: Mapping[str, Any] | None = None
    applicant: Mapping[str, Any] = field(default_factory=dict)
    escalations: int = 0
    returns: int = 0
    reopens: int = 0
    title: str = ""
    description: str = ""
    #: Files of the materials, by sha256 (see hierarchy.attachments).
    attachments: tuple[Mapping[str, Any], ...] = ()
    source: str = Source.VILLAGE.value
    #: What was reported back to the 12345 hotline, and when (its ``feedback`` step).
    feedback: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def can_see(case: CaseState, actor: Actor) -> bool:
    """Agents whose subtree holds the owner or origin unit, and anyone who ever held it."""
    if actor.is_system:
        return True
    if in_subtree(case.owner_path, actor.unit_path) or in_subtree(case.origin_path, actor.unit_path):
        return True
    return actor.id in case.holders or actor.id == case.created_by


def sees_unmasked(case: CaseState, actor: Actor) -> bool:
    """Resident IDs and phones are shown whole only to the assignee and the origin agent."""
    return actor.id is not None and actor.id in (case.assignee_id, case.created_by)


def masked_applicant(applicant: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(applicant)
    if out.get("resident_id"):
        out["resident_id"] = mask_resident_id(str(out["resident_id"]))
    if out.get("phone"):
        out["phone"] = mask_phone(str(out["phone"]))
    return out


def base_priority(kind: CaseKind, mode: ServiceMode, groups: tuple[str, ...] | list[str]) -> int:
    """优先办 raises priority most; special groups and complaints raise it too."""
    priority = 0
    if mode is ServiceMode.PRIORITY:
        priority += 2
    if groups:
        priority += 1
    if kind is CaseKind.COMPLAINT:
        priority += 1
    return priority
