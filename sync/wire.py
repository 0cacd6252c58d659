"""Wire types shared by the server and its clients (JSON and MessagePack).

Server input types forbid unknown fields; types a client decodes accept them and give
every field a default, so an old phone survives a newer server.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec

from hierarchy.cases import CaseKind, CaseState, Group, ServiceMode, Source, Status
from hierarchy.machine import MAX_TEXT, MAX_TITLE
from hierarchy.roles import Role
from hierarchy.sla import SlaEvent
from hierarchy.tree import Kind, Level

#: No control characters but tab and line breaks (NUL cannot be stored by PostgreSQL).
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
#: One line: no control characters at all.
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"

Username = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=ONE_LINE)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


#: Free text a person writes; the limits are the ones the rules apply (hierarchy.machine).
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT, pattern=PRINTABLE)]
Title = Annotated[str, msgspec.Meta(max_length=MAX_TITLE, pattern=PRINTABLE)]
Int32 = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
# One-line strings: codes, names, numbers.
Code = Annotated[str, msgspec.Meta(max_length=64, pattern=ONE_LINE)]
UnitCode = Annotated[str, msgspec.Meta(max_length=16, pattern=ONE_LINE)]
Number = Annotated[str, msgspec.Meta(max_length=32, pattern=ONE_LINE)]
PersonName = Annotated[str, msgspec.Meta(max_length=200, pattern=ONE_LINE)]
FileName = Annotated[str, msgspec.Meta(max_length=200, pattern=ONE_LINE)]
MediaType = Annotated[str, msgspec.Meta(max_length=127, pattern=ONE_LINE)]
#: Materials as a case lists them: a few dozen at most.
Materials = Annotated[list[dict[str, Any]], msgspec.Meta(max_length=100)]


class Applicant(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    type: Literal["person", "firm"]
    name: PersonName = msgspec.field(default="")
    resident_id: Number | None = None
    phone: Number | None = None
    credit_code: Number | None = None
    contact: PersonName | None = None


class ProjectRef(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The enterprise investment project a county or park task force follows (专员跟进)."""

    name: PersonName
    code: Code = ""
    firm: PersonName = ""


class CaseCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    kind: CaseKind = CaseKind.SERVICE
    #: The catalogue item; a complaint or a 12345 matter may have none.
    item_code: Code = ""
    title: Title = ""
    description: Text = ""
    applicant: Applicant
    groups: list[Group] = []
    service_mode: ServiceMode = ServiceMode.ASSIST
    project: ProjectRef | None = None
    #: When the device took the matter; the server accepts it at first sync.
    taken_at: datetime | None = None
    #: The channel it came in by; a 12345 matter carries its ticket number.
    source: Source = Source.VILLAGE
    ticket_no: Code | None = None
    #: The one-time rating code the device printed on the receipt (the server makes one if absent).
    rating_code: Code | None = None


class ActionRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Arguments of a case action; which are required depends on the action."""

    expected_version: Int32 | None = None
    reason: Text | None = None
    note: Text | None = None
    unit: UnitCode | None = None
    agent: Code | None = None
    days: Int32 | None = None
    approve: bool | None = None
    rating: Int32 | None = None
    comment: Text | None = None
    uphold: bool | None = None
    title: Title | None = None
    description: Text | None = None
    materials: Materials | None = None
    #: attach / detach: the file by its sha256, its material ("other" for none) and name.
    #: The server takes type and size from the verified upload, not from here.
    sha256: Code | None = None
    material: Code | None = None
    name: FileName | None = None
    media_type: MediaType | None = None
    size: Int64 | None = None
    provided: bool | None = None
    #: resolve: what was issued, how it reaches the applicant (window, village_point, post,
    #: e_licence) and on which day (YYYY-MM-DD).
    issued: Text | None = None
    delivery: Code | None = None
    delivered_on: Code | None = None
    #: update: corrections of the applicant's name, phone, resident_id or credit_code.
    applicant: dict[str, Any] | None = None

    def args(self) -> dict[str, Any]:
        return {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not None}


class EditRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Arguments of a synced ``edit``: the fields merged one by one by their clocks."""

    title: Title | None = None
    description: Text | None = None
    materials: Materials | None = None
    #: A correction of the applicant's name, phone, resident_id or credit_code.
    applicant: dict[str, Any] | None = None


class Case(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    ref: str | None = None
    kind: CaseKind = CaseKind.SERVICE
    item_code: str = ""
    title: str = ""
    description: str = ""
    applicant: dict[str, Any] = {}
    groups: list[str] = []
    service_mode: str = ServiceMode.ASSIST.value
    project: dict[str, Any] | None = None
    origin_unit: str = ""
    owner_unit: str = ""
    created_by: int | None = None
    assignee_id: int | None = None
    status: Status = Status.QUEUED
    priority: int = 0
    materials: list[dict[str, Any]] = []
    accepted_at: datetime | None = None
    due_at: datetime | None = None
    overdue: bool = False
    #: The due time counts days of a year whose official holidays are not known yet
    #: (Monday to Friday assumed): an estimate.
    due_estimated: bool = False
    escalations: int = 0
    returns: int = 0
    reopens: int = 0
    extension: dict[str, Any] | None = None
    rating: int | None = None
    rating_comment: str = ""
    #: Who recorded the rating: applicant, agent (on their behalf) or unrated (closed as 未评价).
    rating_source: str | None = None
    #: Shown to the origin side only (they print the receipt).
    rating_code: str | None = None
    review: dict[str, Any] | None = None
    #: Set at resolve: outcome, issued, delivery, delivered_on, at.
    result: dict[str, Any] | None = None
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    # What an offline device needs to apply the same rules locally.
    origin_path: str = ""
    owner_path: str = ""
    holders: list[int] = []
    promised_days: int = 0
    open_weekends: bool = False
    sla_events: list[dict[str, Any]] = []
    last_from_unit: str | None = None
    last_from_path: str | None = None
    queued_at: datetime | None = None
    attachments: list[dict[str, Any]] = []
    source: str = Source.VILLAGE.value
    ticket_no: str | None = None
    feedback: dict[str, Any] | None = None


class Attachment(msgspec.Struct, kw_only=True):
    """A file on a case, named by the sha256 of what the agent uploaded."""

    sha256: str
    material: str = "other"
    name: str = ""
    media_type: str = ""
    size: int = 0
    added_by: int | None = None
    added_at: str = ""


class CasePage(msgspec.Struct, kw_only=True):
    cases: list[Case]
    next_cursor: str | None = None


class CaseEvent(msgspec.Struct, kw_only=True):
    id: int
    case_id: uuid.UUID
    version: int
    action: str
    actor_id: int | None = None
    actor_unit: str | None = None
    reason: str = ""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    at: datetime | None = None


class AgentOut(msgspec.Struct, kw_only=True):
    id: int
    username: str
    name: str
    unit_code: str
    role: str
    active: bool = True
    #: On disabling: the open cases still assigned to the agent, now stranded. Plan them
    #: away with ``POST /api/v1/workload/plans {"unit": …, "agent": username}``.
    stranded_cases: int = 0


class AgentCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new agent at a unit. Without a password the server makes a temporary one; either
    way the agent chooses their own at first sign-in."""

    username: Username
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=ONE_LINE)]
    unit_code: UnitCode
    role: Role
    password: Password | None = None


class AgentCreated(msgspec.Struct, kw_only=True):
    agent: AgentOut
    #: Shown once, when the server made the password.
    temporary_password: str | None = None


class PasswordSet(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    password: Password


class TemporaryPassword(msgspec.Struct, kw_only=True):
    temporary_password: str


class PasswordChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    current_password: Password
    new_password: Password


class TokenRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    username: Username
    password: Password


class TokenResponse(msgspec.Struct, kw_only=True):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime | None = None
    agent: AgentOut | None = None
    #: The password was set by an admin: change it (POST /api/v1/auth/password) before anything else.
    must_change_password: bool = False


# --- the network and the catalogue (public reference data) ------------------------------


class UnitOut(msgspec.Struct, kw_only=True, frozen=True):
    code: str
    name: str
    level: Level
    kind: Kind | None = None
    parent_code: str | None = None
    path: str
    open_weekends: bool = False
    response_days: int = 1


class UnitPage(msgspec.Struct, kw_only=True, frozen=True):
    units: list[UnitOut]
    next_cursor: str | None = None


class MaterialOut(msgspec.Struct, kw_only=True, frozen=True):
    """One entry of the item's checklist (一次性告知): everything the applicant hands in."""

    code: str
    name: str
    #: May be handed in later under a signed commitment (容缺).
    deferrable: bool = False
    #: Must be provided (or deferred) before the case can be resolved.
    required: bool = True


class ItemOut(msgspec.Struct, kw_only=True, frozen=True):
    code: str
    name: str
    scope: str
    lifecycle: str
    lead_departments: list[str]
    materials: list[MaterialOut]
    promised_days: int
    demo_fields: list[str] = []
    #: The plan's "13+1+7+N" group: national, certificate (高效办证), regional or local.
    group: str = "national"
    #: Who may apply: person, enterprise or both.
    serves: str = "person"
    #: A local item's county-level unit (None: the whole city); opened outside it, a case
    #: goes straight to that county's task-force queue (跨域通办).
    locality_code: str | None = None
    locality_name: str | None = None
    locality_path: str | None = None


def state_of(case: Case) -> CaseState:
    """The rules' view of a case as the wire carries it (the device and the console ask the rules with it)."""
    return CaseState(
        id=str(case.id), kind=case.kind, item_code=case.item_code, status=case.status,
        origin_unit=case.origin_unit, origin_path=case.origin_path, owner_unit=case.owner_unit,
        owner_path=case.owner_path, created_by=case.created_by or 0,
        accepted_at=case.accepted_at or datetime.now(UTC), due_at=case.due_at or datetime.now(UTC),
        promised_days=case.promised_days, open_weekends=case.open_weekends, assignee_id=case.assignee_id,
        holders=tuple(case.holders), version=case.version, priority=case.priority,
        materials=tuple(case.materials), sla_events=tuple(msgspec.convert(case.sla_events, list[SlaEvent])),
        extension=case.extension, last_from_unit=case.last_from_unit, last_from_path=case.last_from_path,
        queued_at=case.queued_at, resolved_at=case.resolved_at, closed_at=case.closed_at, rating=case.rating,
        rating_source=case.rating_source, result=case.result, applicant=case.applicant, review=case.review,
        escalations=case.escalations, returns=case.returns, reopens=case.reopens,
        title=case.title, description=case.description, attachments=tuple(case.attachments),
        source=case.source, feedback=case.feedback,
    )  # fmt: skip
