"""Who is told of what: the one rule behind every case notification.

``notices`` looks at a case before and after an accepted action (see
:mod:`hierarchy.machine`) and says which notifications it causes and to whom. It is pure:
the server resolves the audiences to agents and writes the rows in the transaction that
makes the change; a device can ask the same question of a change it made offline.

Audiences:
- ``Audience(unit=...)``: every working agent of that unit (a queue the case entered);
- ``Audience(agent=...)``: one agent (a new assignee, the origin agent, a requester);
- ``Audience(approvers=...)``: whoever decides for that unit (its leads; the dispatchers
  when the unit is the city).

The actor is never told of what they did themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hierarchy.cases import Actor, CaseKind, CaseState, Status
from hierarchy.i18n import DEFAULT_LANGUAGE, N_, translations
from hierarchy.machine import Action

#: Kinds of notification, as stored (clients switch on them).
CASE_ARRIVED = "case.arrived"
CASE_ESCALATED = "case.escalated"
CASE_DISPATCHED = "case.dispatched"
CASE_RETURNED = "case.returned"
CASE_HANDED_OVER = "case.handed_over"
CASE_REASSIGNED = "case.reassigned"
CASE_RESOLVED = "case.resolved"
CASE_REOPENED = "case.reopened"
REVIEW_OPENED = "review.opened"
EXTENSION_REQUESTED = "extension.requested"
EXTENSION_DECIDED = "extension.decided"

#: What each kind says; ``{label}`` is the case's reference (or title).
MESSAGES = {
    CASE_ARRIVED: N_("{label}: a complaint has reached your queue"),
    CASE_ESCALATED: N_("{label} was escalated to your unit and waits to be claimed"),
    CASE_DISPATCHED: N_("{label} was dispatched to your unit and waits to be claimed"),
    CASE_RETURNED: N_("{label} was returned to your unit"),
    CASE_HANDED_OVER: N_("{label} was handed over to you"),
    CASE_REASSIGNED: N_("{label} was moved to you to balance the work"),
    CASE_RESOLVED: N_("{label} is resolved: tell the applicant and record their rating"),
    CASE_REOPENED: N_("{label} was reopened"),
    REVIEW_OPENED: N_("{label} got a bad rating: review and fix it within 15 working days"),
    EXTENSION_REQUESTED: N_("{label} asks for an extension: yours to decide"),
    EXTENSION_DECIDED: N_("The extension request of {label} was {verdict}"),
}
APPROVED, REJECTED = N_("approved"), N_("rejected")


@dataclass(frozen=True, slots=True)
class Audience:
    unit: str | None = None
    agent: int | None = None
    approvers: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    kind: str
    to: tuple[Audience, ...]
    #: Values for the message template besides ``label``.
    verdict: str = ""

    def message(self, label: str, language: str = DEFAULT_LANGUAGE) -> str:
        """The text stored for the recipients: in the network's language (zh_CN), whatever
        language the request that caused it spoke."""
        words = translations(language)
        return words.gettext(MESSAGES[self.kind]).format(label=label, verdict=words.gettext(self.verdict))


def _parent(path: str) -> str | None:
    parts = path.strip("/").split("/")
    return parts[-2] if len(parts) > 1 else None


def on_create(case: CaseState) -> list[Notice]:
    """A new case that starts in another unit's queue (a complaint arriving at the city)."""
    if case.status is Status.QUEUED and case.owner_unit != case.origin_unit:
        kind = CASE_ARRIVED if case.kind is CaseKind.COMPLAINT else CASE_DISPATCHED
        return [Notice(kind, (Audience(unit=case.owner_unit),))]
    return []


def notices(
    before: CaseState, after: CaseState, action: Action, actor: Actor, *, rebalance: bool = False
) -> list[Notice]:
    """The notifications one accepted action causes.

    Args:
        before: The case the action was decided on.
        after: The case with the decision applied.
        action: What was done.
        actor: Who did it (the system for the sweep; a planner for a rebalance).
        rebalance: The hand-over is a move of a stored rebalancing plan.
    """
    moved = after.owner_unit != before.owner_unit
    queued_there = Audience(unit=after.owner_unit)
    if action is Action.ESCALATE and moved:
        return [Notice(CASE_ESCALATED, (queued_there,))]
    if action is Action.DISPATCH and moved:
        return [Notice(CASE_DISPATCHED, (queued_there,))]
    if action is Action.RETURN and moved:
        return [Notice(CASE_RETURNED, (queued_there,))]
    if action is Action.HANDOVER:
        kind = CASE_REASSIGNED if rebalance else CASE_HANDED_OVER
        if after.assignee_id is not None and after.assignee_id != before.assignee_id:
            return [Notice(kind, (Audience(agent=after.assignee_id),))]
        if moved:
            return [Notice(kind if rebalance else CASE_DISPATCHED, (queued_there,))]
        return []
    if action is Action.RESOLVE and after.status is Status.RESOLVED:
        return [Notice(CASE_RESOLVED, (Audience(agent=after.created_by),))]
    if action is Action.CONFIRM and after.review is not None and after.review.get("state") == "open":
        return [Notice(REVIEW_OPENED, (queued_there,))]
    if action is Action.REOPEN:
        told = [queued_there]
        if before.assignee_id is not None:
            told.append(Audience(agent=before.assignee_id))
        if actor.id != after.created_by:
            told.append(Audience(agent=after.created_by))
        return [Notice(CASE_REOPENED, tuple(told))]
    if action is Action.EXTEND and after.extension is not None:
        parent = _parent(after.owner_path)
        return [Notice(EXTENSION_REQUESTED, (Audience(approvers=parent or after.owner_unit),))]
    if action is Action.APPROVE_EXTENSION and after.extension is not None:
        requester = after.extension.get("requested_by")
        verdict = APPROVED if after.extension.get("state") == "approved" else REJECTED
        if isinstance(requester, int):
            return [Notice(EXTENSION_DECIDED, (Audience(agent=requester),), verdict=verdict)]
    return []


def without_actor(agent_ids: Iterable[int], actor: Actor) -> list[int]:
    """Distinct recipients in a stable order, minus the actor (no one is told of their own act)."""
    return sorted({a for a in agent_ids if a != actor.id})
