"""What the console reads and does, as a protocol any data client can fill.

Two clients fill it: :class:`console.http_client.HttpDataClient` talks to the API
directly (always online), and :class:`console.replica_client.ReplicaDataClient` works from
the offline client's local replica and outbox. Screens only ever see a ``DataClient``.

Errors: a refusal comes back as a :class:`hierarchy.errors.DaibanError` (``.code``,
``.message``), the same tree the rules raise; a network failure as :class:`Unreachable`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any, Literal, Protocol, runtime_checkable

import msgspec

from hierarchy.cases import OPEN_STATUSES
from hierarchy.errors import DaibanError
from hierarchy.i18n import _
from sync.wire import AgentOut, Case, CaseEvent, ItemOut, UnitOut

__all__ = [
    "OPEN_FILTER",
    "VIEWS",
    "AgentLoad",
    "AgentOut",
    "Case",
    "CaseEvent",
    "CaseFilter",
    "CaseRow",
    "DataClient",
    "Item",
    "Plan",
    "PlanMove",
    "PlanResult",
    "ReportRow",
    "SyncConflict",
    "SyncStatus",
    "Unit",
    "UnitLoad",
    "Unreachable",
    "View",
    "Workload",
    "with_escalations",
]

#: The statuses of work still to do: the lists show these unless the agent asks for all.
OPEN_FILTER: tuple[str, ...] = tuple(sorted(status.value for status in OPEN_STATUSES))

View = Literal["mine", "queue", "scope"]
VIEWS: tuple[View, ...] = ("mine", "queue", "scope")


class Unreachable(DaibanError):
    """The server could not be reached (or answered garbage); the action did not happen."""

    status = 503


class CaseFilter(msgspec.Struct, kw_only=True, frozen=True):
    """Filters of a case list; an empty filter lists everything in the view."""

    status: tuple[str, ...] = ()
    item: str | None = None
    kind: str | None = None
    overdue: bool | None = None
    #: Only cases owned in this unit's subtree.
    unit: str | None = None
    #: Text in the title or the reference.
    q: str | None = None

    def describe(self) -> str:
        parts = []
        if tuple(sorted(self.status)) == OPEN_FILTER:
            parts.append(_("open"))
        elif self.status:
            parts.append(_("status={status}").format(status=",".join(self.status)))
        else:
            parts.append(_("all statuses"))
        if self.item:
            parts.append(_("item={item}").format(item=self.item))
        if self.kind:
            parts.append(_("kind={kind}").format(kind=self.kind))
        if self.overdue is not None:
            parts.append(_("overdue") if self.overdue else _("not overdue"))
        if self.unit:
            parts.append(_("unit={unit}").format(unit=self.unit))
        return " ".join(parts)


class CaseRow(msgspec.Struct, kw_only=True):
    """One line of a case list: the few fields a table shows, decoded straight off the wire."""

    id: uuid.UUID
    ref: str | None = None
    kind: str = "service"
    item_code: str = ""
    title: str = ""
    status: str = "queued"
    origin_unit: str = ""
    owner_unit: str = ""
    assignee_id: int | None = None
    priority: int = 0
    due_at: datetime | None = None
    overdue: bool = False
    escalations: int = 0
    version: int = 1
    #: A local operation on this case waits to be synced.
    pending: bool = False
    #: A synced operation on this case was refused by the server.
    conflict: bool = False


#: Units and items as the server sends them (one declaration, in sync.wire).
Unit = UnitOut
Item = ItemOut


class SyncStatus(msgspec.Struct, kw_only=True, frozen=True):
    online: bool
    pending: int = 0
    conflicts: int = 0
    last_sync: datetime | None = None
    #: Cases the last sync brought in or took away (a list showing them is stale).
    changed: int = 0
    #: Unread notifications (the badge every screen shows).
    unread: int = 0


class ProjectBlocker(msgspec.Struct, kw_only=True, frozen=True):
    id: int
    title: str
    department: str
    department_name: str = ""
    status: str
    due_date: date
    overdue: bool = False
    case_ref: str | None = None
    case_status: str | None = None


class ProjectIssue(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    ref: str | None = None
    title: str = ""
    status: str = ""
    owner_unit: str = ""
    blockers: list[ProjectBlocker] = []


class ProjectView(msgspec.Struct, kw_only=True, frozen=True):
    """A project a task force follows: every issue and blocker with its state."""

    code: str
    name: str
    firm: str = ""
    stage: str = ""
    investment: int = 0
    unit: str = ""
    issues: list[ProjectIssue] = []
    blockers_open: int = 0
    blockers_resolved: int = 0


class Notice(msgspec.Struct, kw_only=True, frozen=True):
    """A notification: what reached the agent or concerns them, about a case."""

    id: int
    kind: str
    message: str
    case_id: str | None = None
    created_at: datetime | None = None
    read: bool = False


class SyncConflict(msgspec.Struct, kw_only=True, frozen=True):
    """An operation the server refused, or a local edit to a case that left the scope."""

    op_id: str
    #: The device's number for it (what dismissing names); None where nothing is kept.
    id: int | None = None
    case_id: str | None = None
    ref: str | None = None
    action: str = ""
    code: str = ""
    message: str = ""
    at: datetime | None = None


class AgentLoad(msgspec.Struct, kw_only=True, frozen=True):
    """One agent's load (``GET /api/v1/workload``)."""

    username: str
    id: int | None = None
    name: str = ""
    role: str = ""
    unit_code: str = ""
    open: int = 0
    in_progress: int = 0
    waiting: int = 0
    overdue: int = 0
    capacity: int = 0
    utilisation: float | None = None


class UnitLoad(msgspec.Struct, kw_only=True, frozen=True):
    """A unit's load, its whole subtree counted; escalations come from the period report."""

    code: str
    name: str = ""
    level: str = ""
    #: total (the whole subtree), own (the unit's own queue and agents) or child.
    line: str = ""
    open: int = 0
    queued: int = 0
    in_progress: int = 0
    waiting: int = 0
    overdue: int = 0
    agents: int = 0
    capacity: int = 0
    utilisation: float | None = None
    escalations: int | None = None


class Workload(msgspec.Struct, kw_only=True, frozen=True):
    """A unit (first row) and each child, and the unit's own agents."""

    unit: str
    name: str = ""
    units: list[UnitLoad] = []
    agents: list[AgentLoad] = []
    #: Escalations over this many days (None: the report was not available).
    report_days: int | None = None

    @property
    def breaches(self) -> int:
        """Open cases past their due time in the whole subtree."""
        top = next((u for u in self.units if u.code == self.unit), None)
        return top.overdue if top else sum(u.overdue for u in self.units)

    @property
    def escalations(self) -> int | None:
        top = next((u for u in self.units if u.code == self.unit), None)
        return top.escalations if top else None


class ReportRow(msgspec.Struct, kw_only=True, frozen=True):
    """The part of ``GET /api/v1/reports/summary`` rows the dashboard shows."""

    unit: str
    escalations: int = 0
    overdue_open: int = 0
    on_time_rate: float | None = None


def with_escalations(load: Workload, rows: list[ReportRow], days: int) -> Workload:
    """``load`` with each unit's escalation count from a period report."""
    by_unit = {r.unit: r.escalations for r in rows}
    units = [msgspec.structs.replace(u, escalations=by_unit.get(u.code)) for u in load.units]
    return msgspec.structs.replace(load, units=units, report_days=days)


class PlanMove(msgspec.Struct, kw_only=True, frozen=True):
    case_id: str
    ref: str | None = None
    item: str = ""
    #: ``agent`` (to another agent) or ``unit`` (to another unit's queue).
    kind: str = ""
    from_unit: str | None = None
    to_unit: str | None = None
    from_agent: int | None = None
    to_agent: int | None = None
    locality: str = ""


class Plan(msgspec.Struct, kw_only=True, frozen=True):
    id: int
    unit: str
    moves: list[PlanMove] = []
    before_max_agent_utilisation: float | None = None
    after_max_agent_utilisation: float | None = None
    before_max_unit_utilisation: float | None = None
    after_max_unit_utilisation: float | None = None
    applied_at: datetime | None = None
    result: dict[str, Any] | None = None


class PlanResult(msgspec.Struct, kw_only=True, frozen=True):
    id: int
    applied: int = 0
    skipped: int = 0
    codes: list[str] = []

    @classmethod
    def of(cls, plan: Plan) -> PlanResult:
        result = plan.result or {}
        skipped = [s for s in result.get("skipped", []) if isinstance(s, dict)]
        return cls(
            id=plan.id,
            applied=len(result.get("applied", [])),
            skipped=len(skipped),
            codes=sorted({str(s.get("code", "")) for s in skipped}),
        )


@runtime_checkable
class DataClient(Protocol):
    """Everything the console needs from its data source; every method may raise
    :class:`~hierarchy.errors.DaibanError` (a refusal) or :class:`Unreachable`."""

    def prepare(self) -> None:
        """Load what the first call needs (the network stack) while the agent types."""
        ...

    async def sign_in(self, username: str, password: str) -> AgentOut: ...

    async def sign_out(self) -> None: ...

    async def me(self) -> AgentOut: ...

    async def cases(self, view: View, filters: CaseFilter) -> list[CaseRow]: ...

    def case_pages(self, view: View, filters: CaseFilter) -> AsyncIterator[list[CaseRow]]:
        """The same list in pages as they arrive, so a long list shows before it is complete."""
        ...

    async def case(self, case_id: str) -> Case: ...

    async def history(self, case_id: str) -> list[CaseEvent]: ...

    async def attachment(self, case_id: str, sha256: str) -> bytes:
        """One of a case's files (this device's copy when it has one, else the server's)."""
        ...

    async def act(self, case_id: str, action: str, **args: Any) -> Case:
        """Perform ``action``; returns the case as it now stands (offline: pending)."""
        ...

    async def edit(self, case_id: str, **fields: Any) -> Case:
        """Edit fields (``materials``, ``title``, ``description``); merged field by field."""
        ...

    async def create(self, body: dict[str, Any]) -> Case:
        """Take a new matter (a ``CaseCreate`` body; the id is made here when missing)."""
        ...

    async def is_pending(self, case_id: str) -> bool: ...

    async def units(self, within: str) -> list[Unit]: ...

    async def unit(self, code: str) -> Unit: ...

    async def children(self, code: str) -> list[Unit]: ...

    async def items(self) -> list[Item]: ...

    async def agents(self, unit: str, *, subtree: bool = False) -> list[AgentOut]:
        """Agents of ``unit`` (and the units below with ``subtree``); empty outside the scope."""
        ...

    async def status(self) -> SyncStatus: ...

    async def conflicts(self) -> list[SyncConflict]: ...

    async def notifications(self) -> list[Notice]:
        """The agent's notifications, unread first, newest first."""
        ...

    async def project(self, code: str) -> ProjectView:
        """A project with its issues and blockers (online only)."""
        ...

    async def mark_read(self, notice_id: int | None = None) -> None:
        """Mark one notification (None: every one) read."""
        ...

    async def dismiss_conflict(self, conflict_id: int) -> None:
        """The agent has seen it (and redone or told the applicant): stop listing it."""
        ...

    async def sync(self) -> SyncStatus: ...

    async def workload(self, unit: str) -> Workload: ...

    async def plan(self, unit: str) -> Plan: ...

    async def apply_plan(self, plan_id: int) -> PlanResult: ...

    async def close(self) -> None: ...
