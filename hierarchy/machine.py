"""The case status machine: who may do what, from which state, and what changes.

``decide`` is a pure function of the case, the actor, the action and its arguments. It
raises a domain error or returns the changes; it never reads a clock or a database, so the
server and an offline device reach the same verdict. The server applies the changes as
one conditional update keyed by the case version.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from hierarchy import attachments
from hierarchy.calendar import add_working_days, local_date
from hierarchy.cases import (
    BAD_RATING,
    Actor,
    CaseKind,
    CaseState,
    MaterialState,
    Source,
    Status,
    can_see,
)
from hierarchy.errors import Conflict, Forbidden, InvalidInput, NotFound
from hierarchy.ratings import UNRATED_CLOSE_DAYS, RatingSource, check_agent_may_rate, check_rating, unrated_close_at
from hierarchy.results import check_result, correct_applicant, missing_materials
from hierarchy.roles import Role
from hierarchy.sla import SlaEvent, compute_sla
from hierarchy.tree import Level, in_subtree

REOPEN_WINDOW = timedelta(days=15)
REVIEW_WORKING_DAYS = 15
MAX_EXTENSION_DAYS = 10
MAX_TEXT = 2000
#: A case title is a short line (the column holds 200 characters).
MAX_TITLE = 200


class Action(enum.StrEnum):
    CLAIM = "claim"
    RELEASE = "release"
    ESCALATE = "escalate"
    RETURN = "return"
    DISPATCH = "dispatch"
    HANDOVER = "handover"
    WAIT = "wait"
    RESUME = "resume"
    EXTEND = "extend"
    APPROVE_EXTENSION = "approve-extension"
    RESOLVE = "resolve"
    CONFIRM = "confirm"
    REOPEN = "reopen"
    CANCEL = "cancel"
    UPDATE = "update"
    ATTACH = "attach"
    DETACH = "detach"
    FEEDBACK = "feedback"
    #: The system closes a resolved case the applicant never rated (未评价).
    CLOSE_UNRATED = "close-unrated"


@dataclass(frozen=True, slots=True)
class UnitRef:
    code: str
    path: str
    level: Level


@dataclass(frozen=True, slots=True)
class Decision:
    """What an accepted action changes. ``changes`` always bumps ``version``."""

    action: Action
    changes: dict[str, Any]
    reason: str = ""


def decide(
    case: CaseState,
    actor: Actor,
    action: Action,
    args: Mapping[str, Any],
    now: datetime,
    *,
    target_unit: UnitRef | None = None,
    target_agent: Actor | None = None,
) -> Decision:
    """Check ``action`` and return its changes.

    Raises:
        NotFound: ``case.not_found`` when the actor may not see the case at all.
        Forbidden: ``case.forbidden`` when the actor sees it but may not do this.
        Conflict: ``case.illegal_transition`` (wrong state), ``case.already_claimed``.
        InvalidInput: a missing reason, a bad rating, an unknown target …
    """
    if not can_see(case, actor):
        raise NotFound("case.not_found", "no such case", case=case.id)
    rule = _RULES[action]
    changes = rule(case, actor, args, now, target_unit, target_agent)
    if "sla_events" in changes or "extension" in changes or "review" in changes:
        changes["due_at"] = due_time(dataclasses.replace(case, **_state_fields(changes)), now)
    changes["version"] = case.version + 1
    # Whoever made them so (an agent, a plan applied by the system), a new assignee is a holder.
    if case.assignee_id != changes.get("assignee_id", case.assignee_id):
        new = changes.get("assignee_id")
        if new is not None and new not in case.holders:
            changes["holders"] = (*case.holders, new)
    return Decision(action=action, changes=changes, reason=str(args.get("reason") or args.get("note") or ""))


def apply(case: CaseState, decision: Decision) -> CaseState:
    """The case after ``decision`` (what an offline device shows at once)."""
    return dataclasses.replace(case, **_state_fields(decision.changes))


def due_time(case: CaseState, now: datetime | None = None) -> datetime:
    """Due time from acceptance, pauses and the approved extension (see hierarchy.sla).

    While a bad-rating review is open, its own 15-working-day deadline is the due time:
    the county task force gets its full time even when the original SLA has passed.
    """
    if case.review and case.review.get("state") == "open" and case.review.get("due_at"):
        return datetime.fromisoformat(str(case.review["due_at"]))
    return compute_sla(case.accepted_at, case.promised_days, case.open_weekends, case.sla_events, now=now).due_at


def _state_fields(changes: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(CaseState)}
    return {k: v for k, v in changes.items() if k in names}


# --- helpers ---------------------------------------------------------------------------


def _illegal(case: CaseState, action: str) -> Conflict:
    return Conflict(
        "case.illegal_transition",
        f"cannot {action} a case that is {case.status.value}",
        case_status=case.status.value,
        action=action,
    )


def _require_status(case: CaseState, action: str, *allowed: Status) -> None:
    if case.status not in allowed:
        raise _illegal(case, action)


def _forbid(why: str) -> Forbidden:
    return Forbidden("case.forbidden", why)


def check_text(value: Any, name: str, *, required: bool = False, limit: int = MAX_TEXT, field: str = "") -> str:
    """Free text as a case stores it: at most ``limit`` characters and no NUL character
    (PostgreSQL text cannot hold one); blank counts as missing. Returns it stripped."""
    field = field or name
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"case.{name}_required", f"a {name} is required", field=field)
        return ""
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        why = f"{name} must be text of at most {limit} characters, without NUL"
        raise InvalidInput(f"case.{name}_invalid", why, field=field)
    return value.strip()


def _text(args: Mapping[str, Any], name: str, *, required: bool, limit: int = MAX_TEXT) -> str:
    return check_text(args.get(name), name, required=required, limit=limit)


def _holds_or_leads(case: CaseState, actor: Actor) -> bool:
    return (actor.id is not None and actor.id == case.assignee_id) or actor.leads(case.owner_unit)


def _parent_path(path: str) -> str | None:
    parts = path.strip("/").split("/")
    return "/" + "".join(f"{p}/" for p in parts[:-1]) if len(parts) > 1 else None


def _queued_at(unit: str, path: str, now: datetime, **more: Any) -> dict[str, Any]:
    """Changes that put a case in ``unit``'s queue with no assignee."""
    return {
        "status": Status.QUEUED,
        "owner_unit": unit,
        "owner_path": path,
        "assignee_id": None,
        "queued_at": now,
        **more,
    }


# --- the rules, one per action ------------------------------------------------------------


def _claim(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any) -> dict[str, Any]:
    if case.status is Status.IN_PROGRESS and case.assignee_id is not None:
        raise Conflict("case.already_claimed", "someone else has claimed this case", assignee=case.assignee_id)
    _require_status(case, "claim", Status.QUEUED)
    if actor.unit_code != case.owner_unit or actor.id is None:
        raise _forbid("only an agent of the owner unit can claim its queued cases")
    return {"status": Status.IN_PROGRESS, "assignee_id": actor.id}


def _release(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any) -> dict[str, Any]:
    _require_status(case, "release", Status.IN_PROGRESS)
    if not _holds_or_leads(case, actor):
        raise _forbid("only the assignee or a lead of the owner unit can release a case")
    return {"status": Status.QUEUED, "assignee_id": None, "queued_at": now}


def _escalate(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any) -> dict[str, Any]:
    _text(args, "reason", required=True)
    _require_status(case, "escalate", Status.QUEUED, Status.IN_PROGRESS)
    if not (actor.is_system or _holds_or_leads(case, actor)):
        raise _forbid("only the assignee or a lead of the owner unit can escalate")
    parent = _parent_path(case.owner_path)
    if parent is None:
        raise Conflict("case.escalation_top", "the city is the top of the escalation chain")
    code = parent.strip("/").split("/")[-1]
    return _queued_at(
        code,
        parent,
        now,
        escalations=case.escalations + 1,
        last_from_unit=case.owner_unit,
        last_from_path=case.owner_path,
    )


def _return(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any) -> dict[str, Any]:
    _text(args, "reason", required=True)
    _require_status(case, "return", Status.QUEUED)
    if not actor.leads(case.owner_unit):
        raise _forbid("only a lead of the owner unit can return a case")
    if not case.last_from_unit or not case.last_from_path:
        raise Conflict("case.nothing_to_return", "this case was not escalated or dispatched here")
    # The clock keeps running: returning costs the network time, and is counted.
    return _queued_at(
        case.last_from_unit,
        case.last_from_path,
        now,
        returns=case.returns + 1,
        last_from_unit=case.owner_unit,
        last_from_path=case.owner_path,
    )


def _send_to_unit(case: CaseState, actor: Actor, target: UnitRef | None, now: datetime, what: str) -> dict[str, Any]:
    if actor.level not in (Level.CITY, Level.COUNTY) and not actor.is_system:
        raise _forbid(f"only county and city agents can {what}")
    if target is None:
        raise InvalidInput("case.unit_required", f"{what} needs a target unit", field="unit")
    if target.code == case.owner_unit:
        raise Conflict("case.same_unit", "the case is already in that unit's queue")
    if not (in_subtree(target.path, actor.unit_path) and in_subtree(case.owner_path, actor.unit_path)):
        raise _forbid(f"{what} only moves cases between units in your own subtree")
    return _queued_at(target.code, target.path, now, last_from_unit=case.owner_unit, last_from_path=case.owner_path)


def _dispatch(
    case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, target: UnitRef | None, _agent: Actor | None
) -> dict[str, Any]:
    _require_status(case, "dispatch", Status.QUEUED, Status.IN_PROGRESS)
    if target is not None and not in_subtree(target.path, case.owner_path):
        raise InvalidInput(
            "case.dispatch_not_down", "dispatch sends a case down, into the owner's subtree", field="unit"
        )
    return _send_to_unit(case, actor, target, now, "dispatch")


def _handover(
    case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, target: UnitRef | None, agent: Actor | None
) -> dict[str, Any]:
    _text(args, "note", required=True)
    if agent is not None:
        _require_status(case, "hand over", Status.IN_PROGRESS)
        if not _holds_or_leads(case, actor):
            raise _forbid("only the assignee or a lead of the owner unit can hand a case over")
        if agent.unit_code != case.owner_unit or agent.id is None:
            raise InvalidInput("case.agent_not_in_unit", "hand over to an agent of the same unit", field="agent")
        if agent.id == case.assignee_id:
            raise Conflict("case.same_agent", "that agent already holds the case")
        return {"assignee_id": agent.id}
    _require_status(case, "hand over", Status.QUEUED, Status.IN_PROGRESS)
    return _send_to_unit(case, actor, target, now, "hand over to another unit")


def _wait(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any) -> dict[str, Any]:
    _text(args, "reason", required=True)
    _require_status(case, "wait for the applicant", Status.IN_PROGRESS)
    if actor.id != case.assignee_id:
        raise _forbid("only the assignee can pause a case for the applicant")
    return {"status": Status.WAITING_APPLICANT, "sla_events": (*case.sla_events, SlaEvent(at=now, kind="pause"))}


def _resume(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any) -> dict[str, Any]:
    _require_status(case, "resume", Status.WAITING_APPLICANT)
    if not _holds_or_leads(case, actor):
        raise _forbid("only the assignee or a lead of the owner unit can resume")
    return {"status": Status.IN_PROGRESS, "sla_events": (*case.sla_events, SlaEvent(at=now, kind="resume"))}


def _extend(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any) -> dict[str, Any]:
    reason = _text(args, "reason", required=True)
    _require_status(case, "request an extension for", Status.IN_PROGRESS, Status.WAITING_APPLICANT)
    if actor.id != case.assignee_id:
        raise _forbid("only the assignee can request an extension")
    if case.extension is not None:
        raise Conflict("case.extension_used", "a case gets at most one extension")
    if now >= case.due_at:
        raise Conflict("case.already_overdue", "an extension must be requested before the due time")
    days = args.get("days")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_EXTENSION_DAYS:
        raise InvalidInput("case.days_invalid", f"days must be 1–{MAX_EXTENSION_DAYS} working days", field="days")
    return {
        "extension": {
            "days": days,
            "reason": reason,
            "state": "requested",
            "requested_by": actor.id,
            "requested_at": now.isoformat(),
        }
    }


def _approve_extension(
    case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any
) -> dict[str, Any]:
    if case.extension is None or case.extension.get("state") != "requested":
        raise Conflict("case.no_extension_request", "there is no extension request to decide")
    _require_status(case, "approve an extension for", Status.IN_PROGRESS, Status.WAITING_APPLICANT)
    parent = _parent_path(case.owner_path)
    parent_code = parent.strip("/").split("/")[-1] if parent else case.owner_unit
    if not (actor.leads(parent_code) or actor.role is Role.DISPATCHER):
        raise _forbid("the parent unit approves extensions")
    if actor.id is not None and actor.id == case.extension.get("requested_by"):
        raise Forbidden("case.own_extension", "nobody decides their own extension request")
    approve = args.get("approve", True)
    if approve is not True and approve is not False:
        raise InvalidInput("case.approve_invalid", "approve is true or false", field="approve")
    decided = {
        **case.extension,
        "state": "approved" if approve else "rejected",
        "decided_by": actor.id,
        "decided_at": now.isoformat(),
    }
    if not approve:
        return {"extension": decided}
    if now >= case.due_at:
        raise Conflict("case.already_overdue", "an extension must be approved before the due time")
    event = SlaEvent(at=now, kind="extend", days=int(case.extension["days"]))
    return {"extension": decided, "sla_events": (*case.sla_events, event)}


def _resolve(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any) -> dict[str, Any]:
    note = _text(args, "note", required=True)
    _require_status(case, "resolve", Status.IN_PROGRESS)
    if actor.id != case.assignee_id:
        raise _forbid("only the assignee can resolve a case")
    review = dict(case.review) if case.review and case.review.get("state") == "open" else None
    if review is not None and args.get("uphold") is True:
        _require_feedback(case)
        review.update(state="upheld", reason=note, decided_at=now.isoformat())
        return {"status": Status.CLOSED, "review": review, "closed_at": now}
    missing = missing_materials(case.materials)
    if missing:
        raise Conflict(
            "case.materials_missing",
            "every required material must be provided, or deferred under a commitment, before resolving",
            materials=missing,
        )
    changes: dict[str, Any] = {"status": Status.RESOLVED, "resolved_at": now, "result": check_result(note, args, now)}
    if review is not None:
        review.update(state="fixed", decided_at=now.isoformat())
        changes["review"] = review
    return changes


def _origin_side(case: CaseState, actor: Actor) -> bool:
    return actor.id == case.created_by or actor.unit_code == case.origin_unit


def _require_feedback(case: CaseState) -> None:
    if case.source == Source.HOTLINE.value and case.feedback is None:
        raise Conflict("case.feedback_required", "a 12345 case closes only after its feedback to 12345 is recorded")


def _feedback(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any) -> dict[str, Any]:
    """反馈: what was reported back to the channel the matter came by (12345, a 办不成事
    reflection …), once, after it is resolved. A 12345 case cannot close without it."""
    note = _text(args, "note", required=True)
    _require_status(case, "record feedback for", Status.RESOLVED)
    if not (_origin_side(case, actor) or actor.role is Role.DISPATCHER):
        raise _forbid("the unit that took the matter reports back to its channel")
    if case.feedback is not None:
        raise Conflict("case.feedback_given", "the feedback is already recorded")
    return {"feedback": {"note": note, "at": now.isoformat(), "by": actor.id, "on_time": now <= case.due_at}}


def _confirm(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any) -> dict[str, Any]:
    _require_status(case, "confirm", Status.RESOLVED)
    if not actor.is_system:
        check_agent_may_rate(case, actor)
    _require_feedback(case)
    source = RatingSource.APPLICANT if actor.is_system else RatingSource.AGENT
    return rating_changes(case, check_rating(args.get("rating")), _text(args, "comment", required=False), now, source)


def rating_changes(
    case: CaseState, rating: int, comment: str, now: datetime, source: RatingSource, by: int | None = None
) -> dict[str, Any]:
    """What recording the applicant's rating changes: a good one closes the case, a bad
    one (差评) opens a review in the origin county's task force (15 working days)."""
    changes: dict[str, Any] = {"rating": rating, "rating_comment": comment, "rating_source": source.value}
    if rating <= BAD_RATING:
        county = case.origin_path.strip("/").split("/")[:2]
        county_code = county[-1]
        review_due = add_working_days(now, REVIEW_WORKING_DAYS, open_weekends=False)
        changes |= _queued_at(
            county_code,
            "/" + "".join(f"{c}/" for c in county),
            now,
            last_from_unit=case.owner_unit,
            last_from_path=case.owner_path,
        )
        changes["review"] = {
            "state": "open",
            "rating": rating,
            "comment": comment,
            "opened_at": now.isoformat(),
            "due_at": review_due.isoformat(),
            "unit": county_code,
        }
        return changes
    return changes | {"status": Status.CLOSED, "closed_at": now}


def _close_unrated(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any) -> dict[str, Any]:
    _require_status(case, "close unrated", Status.RESOLVED)
    if not actor.is_system:
        raise _forbid("only the system closes a case the applicant did not rate")
    days = args.get("days")
    close_at = unrated_close_at(case, days if isinstance(days, int) and days > 0 else UNRATED_CLOSE_DAYS)
    if close_at is None or now < close_at:
        raise Conflict("case.rating_window_open", "the applicant can still rate this case")
    changes: dict[str, Any] = {"status": Status.CLOSED, "closed_at": now}
    if case.rating is None:
        changes["rating_source"] = RatingSource.UNRATED.value
    return changes


def _reopen(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any) -> dict[str, Any]:
    _text(args, "reason", required=True)
    _require_status(case, "reopen", Status.RESOLVED, Status.CLOSED)
    if not _origin_side(case, actor):
        raise _forbid("only the origin side can reopen a case")
    since = case.closed_at or case.resolved_at
    if since is not None and now - since > REOPEN_WINDOW:
        raise Conflict("case.reopen_window_passed", "cases can be reopened within 15 days")
    return {
        "status": Status.QUEUED,
        "assignee_id": None,
        "queued_at": now,
        "reopens": case.reopens + 1,
        "resolved_at": None,
        "closed_at": None,
        "rating": None,
        "rating_source": None,
        "result": None,
    }


def _cancel(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any) -> dict[str, Any]:
    _text(args, "reason", required=True)
    _require_status(case, "cancel", Status.QUEUED, Status.IN_PROGRESS)
    if not (actor.id == case.created_by or actor.role is Role.DISPATCHER):
        raise _forbid("only the creator or a dispatcher can cancel a case")
    return {"status": Status.CANCELLED, "assignee_id": None, "closed_at": now}


def _update(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any) -> dict[str, Any]:
    if not case.is_open:
        raise _illegal(case, "edit")
    if not (_holds_or_leads(case, actor) or actor.id == case.created_by):
        raise _forbid("only the assignee, a lead of the owner unit or the creator edits a case")
    changes: dict[str, Any] = {}
    if "title" in args:
        changes["title"] = _text(args, "title", required=False, limit=MAX_TITLE)
    if "description" in args:
        changes["description"] = _text(args, "description", required=False)
    if "materials" in args:
        changes["materials"] = merge_materials(case, args["materials"])
    if "applicant" in args:
        if not (actor.id == case.assignee_id or actor.id == case.created_by or actor.unit_code == case.origin_unit):
            raise _forbid("only the origin side or the assignee corrects the applicant's details")
        changes["applicant"] = correct_applicant(case.applicant, args["applicant"])
    if not changes:
        raise InvalidInput("case.nothing_to_update", "nothing to update")
    return changes


def merge_materials(case: CaseState, patch: Any) -> tuple[dict[str, Any], ...]:
    """Apply material state changes; a deferral needs a commitment and a due date ≤ the case's."""
    if not isinstance(patch, list):
        raise InvalidInput("case.materials_invalid", "materials is a list", field="materials")
    by_code = {str(m.get("code")): dict(m) for m in case.materials}
    for entry in patch:
        if not isinstance(entry, Mapping) or str(entry.get("code")) not in by_code:
            raise InvalidInput(
                "case.material_unknown",
                "unknown material",
                field="materials",
                material=entry.get("code") if isinstance(entry, Mapping) else None,
            )
        try:
            state = MaterialState(entry.get("state", ""))  # missing: "" is no state either
        except ValueError:
            raise InvalidInput(
                "case.material_state_invalid", "state is provided, missing or deferred", field="materials"
            ) from None
        material = by_code[str(entry["code"])]
        material["state"] = state.value
        if state is MaterialState.DEFERRED:
            if not material.get("deferrable"):
                raise InvalidInput(
                    "case.material_not_deferrable",
                    "this material cannot be deferred",
                    field="materials",
                    material=material["code"],
                )
            commitment = check_text(entry.get("commitment"), "commitment", field="materials")
            try:
                due = date.fromisoformat(str(entry.get("due")))
            except ValueError:
                raise InvalidInput(
                    "case.deferral_due_invalid", "a deferral needs a due date (YYYY-MM-DD)", field="materials"
                ) from None
            if not commitment:
                raise InvalidInput(
                    "case.commitment_required", "a deferral needs a signed commitment (告知承诺)", field="materials"
                )
            if due > local_date(case.due_at):
                raise InvalidInput(
                    "case.deferral_after_due", "a deferral is due no later than the case", field="materials"
                )
            material |= {"commitment": commitment, "due": due.isoformat()}
        else:
            material.pop("commitment", None)
            material.pop("due", None)
    return tuple(by_code.values())


def _attach(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any) -> dict[str, Any]:
    return attachments.attach(case, actor, args, now)


def _detach(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime, *_: Any) -> dict[str, Any]:
    return attachments.detach(case, actor, args, now)


_RULES = {
    Action.CLAIM: _claim,
    Action.RELEASE: _release,
    Action.ESCALATE: _escalate,
    Action.RETURN: _return,
    Action.DISPATCH: _dispatch,
    Action.HANDOVER: _handover,
    Action.WAIT: _wait,
    Action.RESUME: _resume,
    Action.EXTEND: _extend,
    Action.APPROVE_EXTENSION: _approve_extension,
    Action.RESOLVE: _resolve,
    Action.CONFIRM: _confirm,
    Action.REOPEN: _reopen,
    Action.CANCEL: _cancel,
    Action.UPDATE: _update,
    Action.ATTACH: _attach,
    Action.DETACH: _detach,
    Action.FEEDBACK: _feedback,
    Action.CLOSE_UNRATED: _close_unrated,
}

#: Kinds that start in the city's queue: 办不成事 complaints go straight to the top.
STARTS_AT_CITY = frozenset({CaseKind.COMPLAINT})
