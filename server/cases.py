"""Cases on the server: create, act (one conditional update + one event), read, list."""

from __future__ import annotations

import base64
import enum
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec
from piccolo.columns import JSON

from hierarchy import intake
from hierarchy.breaches import is_overdue
from hierarchy.calendar import TZ, span_known
from hierarchy.cases import (
    NO_ITEM_DAYS,
    OPEN_VALUES,
    Actor,
    CaseKind,
    CaseState,
    Source,
    Status,
    base_priority,
    can_see,
    masked_applicant,
    sees_unmasked,
)
from hierarchy.errors import Conflict, InvalidInput, NotFound
from hierarchy.items import cross_county_owner
from hierarchy.machine import STARTS_AT_CITY, Action, Decision, UnitRef, apply, decide
from hierarchy.notices import notices, on_create
from hierarchy.ratings import new_rating_code, normalise_rating_code
from hierarchy.roles import Role
from hierarchy.sla import SlaEvent, compute_sla
from hierarchy.tree import Level
from server import calendar_store, db, search
from server.auth import load_actor
from server.blobs import verified_args
from server.db import Database
from server.queries import contains, under
from server.tables import Case, CaseEvent, CaseHolder, Counter, Item, Unit
from sync import hlc, wire

MAX_ATTEMPTS = 8
REF_PREFIX = "ZW"


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _json_ready(value: Any) -> Any:
    return msgspec.to_builtins(value)


# --- rows <-> rule state -------------------------------------------------------------


def to_state(row: Mapping[str, Any]) -> CaseState:
    return CaseState(
        id=str(row["id"]),
        kind=CaseKind(row["kind"]),
        item_code=row["item_code"],
        status=Status(row["status"]),
        origin_unit=row["origin_unit"],
        origin_path=row["origin_path"],
        owner_unit=row["owner_unit"],
        owner_path=row["owner_path"],
        created_by=row["created_by"],
        accepted_at=row["accepted_at"],
        due_at=row["due_at"],
        promised_days=row["promised_days"],
        open_weekends=row["open_weekends"],
        assignee_id=row["assignee_id"],
        holders=tuple(row["holders"] or ()),
        version=row["version"],
        priority=row["priority"],
        materials=tuple(row["materials"] or ()),
        sla_events=tuple(msgspec.convert(row["sla_events"] or [], list[SlaEvent])),
        extension=row["extension"],
        last_from_unit=row["last_from_unit"],
        last_from_path=row["last_from_path"],
        queued_at=row["queued_at"],
        resolved_at=row["resolved_at"],
        closed_at=row["closed_at"],
        rating=row["rating"],
        rating_source=row.get("rating_source"),
        review=row["review"],
        result=row.get("result"),
        applicant=row.get("applicant") or {},
        escalations=row["escalations"],
        returns=row["returns"],
        reopens=row["reopens"],
        title=row["title"],
        description=row["description"],
        attachments=tuple(row.get("attachments") or ()),
        source=row.get("source") or Source.VILLAGE.value,
        feedback=row.get("feedback"),
    )


_JSON_CHANGES = frozenset(
    {"sla_events", "materials", "holders", "extension", "review", "attachments", "feedback", "result", "applicant"}
)


def to_columns(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Decision changes as column values: enums to text, tuples to JSON lists, UTC times."""
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if isinstance(value, datetime):
            out[name] = utc(value)
        elif name in _JSON_CHANGES:
            out[name] = _json_ready(value)
        elif isinstance(value, enum.Enum):
            out[name] = value.value
        else:
            out[name] = value
    if "applicant" in changes:  # a correction: the search keys follow the applicant
        keys = search.case_keys(changes["applicant"], None)
        out |= {k: v for k, v in keys.items() if k != "project_key"}
    return out


def to_wire(row: Mapping[str, Any], viewer: Actor, now: datetime) -> wire.Case:
    state_unmasked = viewer.id is not None and viewer.id in (row["assignee_id"], row["created_by"])
    applicant = row["applicant"] if state_unmasked else masked_applicant(row["applicant"])
    overdue = is_overdue(row, now)
    estimated = row["due_at"] is not None and not span_known(row["accepted_at"], row["due_at"])
    skip = ("applicant", "overdue", "due_estimated")
    fields = {k: row[k] for k in wire.Case.__struct_fields__ if k in row and k not in skip}
    if not (viewer.id == row["created_by"] or viewer.unit_code == row["origin_unit"]):
        fields["rating_code"] = None  # the origin side prints it for the applicant; nobody else sees it
    extra = {"applicant": applicant, "overdue": overdue, "due_estimated": estimated}
    return msgspec.convert({**fields, **extra}, wire.Case, strict=False)


# --- lookups ----------------------------------------------------------------------------


async def fetch_row(case_id: uuid.UUID | str) -> dict[str, Any] | None:
    return await Case.select().where(Case.id == _uuid(case_id)).output(load_json=True).first()


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound("case.not_found", "no such case", case=str(value)) from None


async def visible_row(case_id: uuid.UUID | str, actor: Actor) -> dict[str, Any]:
    """The case row, or 404 when it does not exist or the actor may not see it."""
    await calendar_store.refresh()
    row = await fetch_row(case_id)
    if row is None or not can_see(to_state(row), actor):
        raise NotFound("case.not_found", "no such case", case=str(case_id))
    return row


async def unit_ref(code: str, field: str = "unit") -> UnitRef:
    row = await Unit.select(Unit.code, Unit.path, Unit.level).where(Unit.code == code).first()
    if row is None:
        raise InvalidInput("unit.unknown", f"no unit with code {code}", field=field, unit=code)
    return UnitRef(code=row["code"], path=row["path"], level=Level(row["level"]))


async def agent_actor(username: str, field: str = "agent") -> Actor:
    from server.tables import Agent

    row = await Agent.select(Agent.id, Agent.active).where(Agent.username == username).first()
    loaded = await load_actor(row["id"]) if row and row["active"] else None
    if loaded is None:
        raise InvalidInput("agent.unknown", f"no active agent {username}", field=field, agent=username)
    return loaded[0]


#: One statement on both engines: create the counter at ``step`` or advance it by ``step``.
NEXT_VALUE_SQL = (
    "INSERT INTO counter (name, value) VALUES ({}, {})"
    " ON CONFLICT (name) DO UPDATE SET value = counter.value + excluded.value RETURNING value"
)


async def next_value(name: str, step: int = 1) -> int:
    """Advance a named counter inside the caller's transaction; returns the last value.

    The counter row is locked until commit, so values are handed out in commit order —
    which is what makes ``change_seq`` a safe pull cursor.
    """
    rows = await Counter.raw(NEXT_VALUE_SQL, name, step)
    return int(rows[0]["value"])


# --- create -----------------------------------------------------------------------------


def check_applicant(applicant: wire.Applicant) -> dict[str, Any]:
    return intake.check_applicant(msgspec.to_builtins(applicant))


def new_case_values(
    actor: Actor,
    data: wire.CaseCreate,
    now: datetime,
    item: Mapping[str, Any] | None,
    origin: Mapping[str, Any],
    city: Mapping[str, Any],
) -> dict[str, Any]:
    """Column values of a new case (without ref and change_seq), after every input check.

    Shared by the online create and the synced ``create`` operation: one set of checks.
    """
    if actor.id is None or actor.role is Role.ADMIN:
        raise InvalidInput("case.creator_invalid", "cases are taken by agents", field="actor")
    applicant = check_applicant(data.applicant)
    title, ticket = intake.check_case_fields(
        kind=data.kind, source=data.source, item_code=data.item_code, item=item, title=data.title,
        description=data.description, has_project=data.project is not None, applicant_type=data.applicant.type,
        ticket_no=data.ticket_no,
    )  # fmt: skip
    promised_days = item["promised_days"] if item else NO_ITEM_DAYS
    elsewhere = cross_county_owner(item, origin["path"]) if item else None
    last_from: dict[str, Any] = {"code": None, "path": None}
    if data.kind in STARTS_AT_CITY:
        owner, status, assignee = city, Status.QUEUED, None
    elif elsewhere is not None:
        # 跨域通办: accepted here, handled by the county the local item belongs to — straight
        # into its task force's queue; a return would send it back to where it was taken.
        owner, status, assignee = {"code": elsewhere[0], "path": elsewhere[1]}, Status.QUEUED, None
        last_from = {"code": origin["code"], "path": origin["path"]}
    else:
        # The agent who takes the matter holds it from the start (they collect materials
        # and hand it up); the SLA clock starts now, at acceptance, not at a claim.
        owner, status, assignee = origin, Status.IN_PROGRESS, actor.id
    sla = compute_sla(now, promised_days, origin["open_weekends"], ())
    groups = [g.value for g in data.groups]
    return dict(
        id=data.id,
        kind=data.kind.value,
        item_code=item["code"] if item else "",
        title=title,
        description=data.description,
        applicant=applicant,
        groups=groups,
        service_mode=data.service_mode.value,
        project=msgspec.to_builtins(data.project) if data.project else None,
        project_code=(data.project.code or None) if data.project else None,
        origin_unit=origin["code"],
        origin_path=origin["path"],
        owner_unit=owner["code"],
        owner_path=owner["path"],
        created_by=actor.id,
        assignee_id=assignee,
        status=status.value,
        priority=base_priority(data.kind, data.service_mode, groups),
        materials=[{**m, "state": "missing"} for m in item["materials"]] if item else [],
        accepted_at=utc(now),
        due_at=utc(sla.due_at),
        promised_days=promised_days,
        open_weekends=origin["open_weekends"],
        sla_events=[],
        queued_at=utc(now),
        holders=[actor.id],
        version=1,
        created_at=utc(now),
        updated_at=utc(now),
        escalations=0,
        returns=0,
        reopens=0,
        extension=None,
        rating=None,
        rating_comment="",
        review=None,
        last_from_unit=last_from["code"],
        last_from_path=last_from["path"],
        resolved_at=None,
        closed_at=None,
        flags={},
        attachments=[],
        source=data.source.value,
        ticket_no=ticket,
        feedback=None,
        rating_source=None,
        rating_code=normalise_rating_code(data.rating_code) if data.rating_code else new_rating_code(),
        rating_code_used_at=None,
        result=None,
        **search.case_keys(applicant, msgspec.to_builtins(data.project) if data.project else None),
    )


async def load_item(code: str) -> dict[str, Any] | None:
    """An item as a new case needs it, with its locality's path (a local item's county)."""
    item = (
        await Item.select(
            Item.code, Item.materials, Item.promised_days, Item.name, Item.lifecycle, Item.serves, Item.locality_code
        )
        .where(Item.code == code)
        .output(load_json=True)
        .first()
    )
    if item is not None and item["locality_code"]:
        unit = await Unit.select(Unit.path).where(Unit.code == item["locality_code"]).first()
        item["locality_path"] = unit["path"] if unit else None
    return item


async def load_unit_row(code: str) -> dict[str, Any] | None:
    return await Unit.select(Unit.code, Unit.path, Unit.open_weekends).where(Unit.code == code).first()


async def load_city() -> dict[str, Any]:
    city = await Unit.select(Unit.code, Unit.path, Unit.open_weekends).where(Unit.level == Level.CITY.value).first()
    assert city is not None, "the network has no city: run daiban seed"
    return city


def case_ref(now: datetime, number: int) -> str:
    return f"{REF_PREFIX}-{now.astimezone(TZ).year}-{number:06d}"


def ref_counter(now: datetime) -> str:
    return f"ref-{now.astimezone(TZ).year}"


def create_digest(data: wire.CaseCreate) -> str:
    """A fingerprint of a create request: a repeat of the same create carries the same one."""
    return hashlib.sha256(msgspec.json.encode(data)).hexdigest()


def same_create(existing: Mapping[str, Any], actor: Actor, digest: str) -> Mapping[str, Any]:
    """``existing`` when it is what this actor's create made (the answer was lost);
    otherwise ``case.id_conflict``, the same whether the case is in the actor's scope,
    someone else's, or the actor's own made from a different request."""
    made = (existing.get("flags") or {}).get("create", digest)
    if existing["created_by"] != actor.id or made != digest:
        raise Conflict("case.id_conflict", "this case id is taken: create the case again with a new id")
    return existing


async def create_case(
    engine: Database,
    actor: Actor,
    data: wire.CaseCreate,
    now: datetime,
    *,
    hand_to: UnitRef | None = None,
    within: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Create a case (or return the existing one when the same creator sends it again).

    Returns the row and whether it was created now. Creates racing on one id make one
    case; the others answer with it (or ``case.id_conflict`` when their request differs).

    Args:
        hand_to: Start in this unit's queue (returnable to the creator's unit), e.g. a
            project blocker handed to a department.
        within: Also run this, with the new row's values, in the creating transaction.
    """
    digest = create_digest(data)
    existing = await fetch_row(data.id)
    if existing is not None:
        return dict(same_create(existing, actor, digest)), False
    origin = await load_unit_row(actor.unit_code)
    assert origin is not None
    values = new_case_values(actor, data, now, await load_item(data.item_code), origin, await load_city())
    values["flags"] = {"create": digest}
    if hand_to is not None:
        values |= dict(
            owner_unit=hand_to.code,
            owner_path=hand_to.path,
            status=Status.QUEUED.value,
            assignee_id=None,
            last_from_unit=origin["code"],
            last_from_path=origin["path"],
        )
    status = Status(values["status"])
    owner = {"code": values["owner_unit"]}
    # Imported here: the notification helpers build on this module's counters.
    from server.notices import announce as write_notices

    # The year's reference number is taken in its own short statement, so concurrent
    # creates do not queue on that row for their whole transaction (a failed create
    # leaves a gap in the numbers, as a sequence would). The change counter is taken
    # last, as every writer does, and held only until the commit.
    values["ref"] = case_ref(now, await next_value(ref_counter(now)))
    try:
        async with db.transaction(engine):
            await Case.insert(Case(**values)).run()
            await CaseHolder.insert(CaseHolder(case_id=data.id, agent_id=actor.id)).run()
            await CaseEvent.insert(
                CaseEvent(
                    case_id=data.id,
                    version=1,
                    action="create",
                    actor_id=actor.id,
                    actor_unit=actor.unit_code,
                    reason="",
                    before={},
                    after={"status": status.value, "owner_unit": owner["code"]},
                    at=utc(now),
                )
            ).run()
            await write_notices(on_create(to_state(values)), values, actor, now)
            if within is not None:
                await within(values)
            change = await next_value("change")
            await Case.update({Case.change_seq: change}).where(Case.id == data.id).run()
    except db.UNIQUE_VIOLATIONS:
        existing = await fetch_row(data.id)
        if existing is None:
            raise
        return dict(same_create(existing, actor, digest)), False
    row = await fetch_row(data.id)
    assert row is not None
    return row, True


# --- act --------------------------------------------------------------------------------


async def resolve_targets(action: Action, req: wire.ActionRequest) -> tuple[UnitRef | None, Actor | None]:
    target_unit = await unit_ref(req.unit) if req.unit else None
    target_agent = await agent_actor(req.agent) if req.agent and action is Action.HANDOVER else None
    return target_unit, target_agent


async def perform(
    engine: Database, actor: Actor, case_id: uuid.UUID | str, action: Action, req: wire.ActionRequest, now: datetime
) -> dict[str, Any]:
    """Apply one action: a conditional update on the version, one event, or a clear 4xx."""
    target_unit, target_agent = await resolve_targets(action, req)
    args = await verified_args(action, req.args())
    for _ in range(MAX_ATTEMPTS):
        row = await visible_row(case_id, actor)
        if req.expected_version is not None and row["version"] != req.expected_version:
            raise Conflict(
                "case.version_conflict",
                "the case changed since you read it",
                expected=req.expected_version,
                actual=row["version"],
            )
        state = to_state(row)
        decision = decide(state, actor, action, args, now, target_unit=target_unit, target_agent=target_agent)
        if action is Action.UPDATE:
            stamp_fields(row, decision, args, now)
        if await write_decision(engine, row, actor, decision, now):
            fresh = await fetch_row(row["id"])
            assert fresh is not None
            return fresh
        if req.expected_version is not None:
            raise Conflict("case.version_conflict", "the case changed since you read it", expected=req.expected_version)
        # Someone else wrote first: decide again on the new state (a losing claim now
        # sees an assignee and answers case.already_claimed).
    raise Conflict("case.busy", "the case is changing too fast; try again", retry_after=1)


def stamp_fields(row: Mapping[str, Any], decision: Decision, args: Mapping[str, Any], now: datetime) -> None:
    """Stamp an online field edit with the server's hybrid logical clock, after every
    stamp the case's fields carry, so a synced edit made before it loses (last writer
    wins across online and offline writers)."""
    flags = dict(row.get("flags") or {})
    clocks: dict[str, str] = dict(flags.get("hlc") or {})
    names: list[str] = [n for n in ("title", "description") if n in decision.changes]
    names += [f"materials.{m.get('code')}" for m in args.get("materials") or [] if isinstance(m, Mapping)]
    stamp = hlc.later_than(clocks.values(), int(now.timestamp() * 1000), "server")
    decision.changes["flags"] = {**flags, "hlc": {**clocks, **dict.fromkeys(names, stamp)}}


async def write_decision(
    engine: Database,
    row: Mapping[str, Any],
    actor: Actor,
    decision: Decision,
    now: datetime,
    *,
    announce: bool = True,
    rebalance: bool = False,
) -> bool:
    """Write a decision if the case is still at the version it was decided on.

    With ``announce`` the notifications the change causes (:func:`hierarchy.notices.notices`)
    are written in the same transaction; ``rebalance`` marks a move of a rebalancing plan.
    """
    # Imported here: the notification helpers build on this module's counters.
    from server.notices import announce as write_notices

    columns = to_columns(decision.changes)
    columns["updated_at"] = utc(now)
    # The history shows what people changed, not the sync clocks kept in flags.
    before = {k: _json_ready(row.get(k)) for k in decision.changes if k in row and k not in ("version", "flags")}
    after = {k: _json_ready(v) for k, v in to_columns(decision.changes).items() if k not in ("version", "flags")}
    # Lock order, the same for every writer: the case row first, the change counter last
    # (held only until the commit, which keeps change_seq in commit order for pulls).
    async with db.transaction(engine):
        updated = (
            await Case.update({getattr(Case, k): v for k, v in columns.items()})
            .where((Case.id == row["id"]) & (Case.version == row["version"]))
            .returning(Case.id)
        )
        if not updated:
            return False
        new_assignee = decision.changes.get("assignee_id")
        if new_assignee is not None and new_assignee not in (row["holders"] or []):
            await CaseHolder.insert(CaseHolder(case_id=row["id"], agent_id=new_assignee)).run()
        await CaseEvent.insert(
            CaseEvent(
                case_id=row["id"],
                version=decision.changes["version"],
                action=decision.action.value,
                actor_id=actor.id,
                actor_unit=actor.unit_code,
                reason=decision.reason,
                before=before,
                after=after,
                at=utc(now),
            )
        ).run()
        if (row.get("project") or {}).get("blocker") and "status" in decision.changes:
            from server.projects import follow_case  # (it builds on this module)

            await follow_case(row, Status(decision.changes["status"]), now)
        if announce:
            prior = to_state(row)
            told = notices(prior, apply(prior, decision), decision.action, actor, rebalance=rebalance)
            await write_notices(told, row, actor, now)
        seq = await next_value("change")
        await Case.update({Case.change_seq: seq}).where(Case.id == row["id"]).run()
    return True


# --- read -------------------------------------------------------------------------------


async def history(case_id: uuid.UUID | str, actor: Actor) -> list[wire.CaseEvent]:
    row = await visible_row(case_id, actor)
    events = (
        await CaseEvent.select()
        .where(CaseEvent.case_id == row["id"])
        .order_by(CaseEvent.version)
        .output(load_json=True)
    )
    return shown_events(events, row, actor)


def shown_events(events: list[dict[str, Any]], row: Mapping[str, Any], actor: Actor) -> list[wire.CaseEvent]:
    """Events as ``actor`` may read them: the applicant masked unless they see it whole,
    and never the search keys (hashes are not for reading)."""
    masked = not sees_unmasked(to_state(row), actor)
    for e in events:
        for side in ("before", "after"):
            for key in search.KEY_COLUMNS:
                e[side].pop(key, None)
            if masked and "applicant" in e[side]:
                e[side]["applicant"] = masked_applicant(e[side]["applicant"])
    return msgspec.convert(events, list[wire.CaseEvent])


async def events_after(rows: list[dict[str, Any]], held: Mapping[uuid.UUID, int], actor: Actor) -> list[wire.CaseEvent]:
    """History of ``rows`` newer than the version the device already holds of each
    (``held``): what a pull carries so the device can show it offline."""
    out: list[wire.CaseEvent] = []
    ids = [r["id"] for r in rows]
    by_case: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found = await CaseEvent.select().where(CaseEvent.case_id.is_in(chunk)).output(load_json=True)
        for e in found:
            if e["version"] > held.get(e["case_id"], 0):
                by_case.setdefault(e["case_id"], []).append(e)
    for row in rows:
        events = sorted(by_case.get(row["id"], []), key=lambda e: int(e["version"]))
        out.extend(shown_events(events, row, actor))
    return out


#: Cases read per query when a person search checks the scope case by case.
PERSON_BATCH = 200


def _after(priority: int, due: datetime, case_id: uuid.UUID) -> Any:
    """Cases after (priority, due, id) in the list order: priority down, then due time, id."""
    return (
        (Case.priority < priority)
        | ((Case.priority == priority) & (Case.due_at > due))
        | ((Case.priority == priority) & (Case.due_at == due) & (Case.id > case_id))
    )


async def _visible_only(conds: list[Any], actor: Actor, want: int) -> list[dict[str, Any]]:
    """Up to ``want`` cases matching ``conds`` that ``actor`` may see, in the list order.

    For a person search: the search indexes find that person's few cases across the
    whole network in one lookup, and :func:`can_see` (the rule every read applies) keeps
    those in the actor's scope — cheaper than intersecting with a scope of a million.
    """
    out: list[dict[str, Any]] = []
    last: dict[str, Any] | None = None
    while len(out) < want:
        query = Case.select().output(load_json=True)
        for cond in conds:
            query = query.where(cond)
        if last is not None:
            query = query.where(_after(last["priority"], last["due_at"], last["id"]))
        batch = await query.order_by(Case.priority, ascending=False).order_by(Case.due_at, Case.id).limit(PERSON_BATCH)
        out += [r for r in batch if can_see(to_state(r), actor)]
        if len(batch) < PERSON_BATCH:
            break
        last = batch[-1]
    return out[:want]


def person_match(text: str) -> Any:
    """Cases whose applicant has this name, resident ID, credit code or phone, or whose
    project has this code: exact matches on the keyed-hash columns (server.search), each
    of them indexed — an index lookup, never a scan, and no identifier stored in clear."""
    keys = search.query_keys(text)
    cond: Any = None
    for column, value in keys.items():
        arm = getattr(Case, column) == value
        cond = arm if cond is None else cond | arm
    return cond


def encode_cursor(row: Mapping[str, Any]) -> str:
    raw = msgspec.json.encode([row["priority"], row["due_at"].isoformat(), str(row["id"])])
    return base64.urlsafe_b64encode(raw).decode()


HELD_OUTSIDE_SQL = (
    "SELECT h.case_id FROM case_holder h JOIN case_file c ON c.id = h.case_id"
    " WHERE h.agent_id = {} AND c.owner_path NOT LIKE {} AND c.origin_path NOT LIKE {}"
)
JSON_COLUMNS = tuple(c._meta.name for c in Case._meta.columns if isinstance(c, JSON))


async def union_pages(queries: list[Any], size: int) -> list[dict[str, Any]]:
    """The first ``size`` rows of the union of ``queries`` (each ordered and limited) in
    the list's order: one statement, merged here."""
    parts = [q.querystrings[0] for q in queries]
    template = " UNION ALL ".join("({})" for _ in parts)
    rows = await Case.raw(template, *parts)
    seen: dict[Any, dict[str, Any]] = {}
    for row in rows:
        if row["id"] not in seen:
            for name in JSON_COLUMNS:
                if isinstance(row.get(name), str):
                    row[name] = msgspec.json.decode(row[name])
            seen[row["id"]] = row
    ordered = sorted(seen.values(), key=lambda r: (-r["priority"], r["due_at"], r["id"]))
    return ordered[:size]


def decode_cursor(cursor: str) -> tuple[int, datetime, uuid.UUID]:
    invalid = InvalidInput("request.cursor_invalid", "cursor is not one this API issued", field="cursor")
    try:
        priority, due, cid = msgspec.json.decode(base64.urlsafe_b64decode(cursor.encode()))
        position = int(priority), datetime.fromisoformat(due), uuid.UUID(cid)
    except (ValueError, TypeError, OverflowError, msgspec.DecodeError):
        raise invalid from None
    # Out-of-range numbers would reach the database (a 32-bit column) and fail there.
    if not -(2**31) <= position[0] < 2**31 or position[1].tzinfo is None:
        raise invalid
    return position


async def list_cases(
    actor: Actor,
    view: str,
    now: datetime,
    *,
    status: list[Status] | None = None,
    item: str | None = None,
    kind: CaseKind | None = None,
    overdue: bool | None = None,
    unit: str | None = None,
    q: str | None = None,
    person: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> wire.CasePage:
    """One page of cases, most urgent first: priority, then due time (keyset paging).

    The whole scope ("all": owned or taken in the actor's subtree, or ever held) is one
    OR on SQLite. On PostgreSQL an OR with the holders' subquery cannot use an index, so
    each part is its own ordered, limited branch of one UNION ALL statement, merged here:
    each branch reads its page off an index in the list's order (a leaf unit's path by
    equality on the path-and-order index; a subtree by its path prefix or, for a large
    one, the order index), so a page costs about the same at any table size.
    """
    await calendar_store.refresh()
    conds: list[Any] = []
    branches: list[Any] = []
    if view == "mine":
        conds.append(Case.assignee_id == actor.id)
    elif view == "queue":
        conds.append((Case.owner_unit == actor.unit_code) & (Case.status == Status.QUEUED.value))
    elif person:
        pass  # a person's few cases come off the search indexes; the scope is checked on each below
    else:
        held = Case.id.is_in(CaseHolder.select(CaseHolder.case_id).where(CaseHolder.agent_id == (actor.id or -1)))
        if Case._meta.db.engine_type == "postgres":
            leaf = not await Unit.exists().where(Unit.parent_code == actor.unit_code)
            branches = [
                (Case.owner_path == actor.unit_path) if leaf else under(Case.owner_path, actor.unit_path),
                (Case.origin_path == actor.unit_path) if leaf else under(Case.origin_path, actor.unit_path),
            ]
            # Cases the agent held that lie outside the scope, found first from indexes
            # alone: as a subquery PostgreSQL would walk the whole order index probing
            # each case for a holder, and most holdings are in the scope anyway.
            ids = [r["case_id"] for r in await Case.raw(HELD_OUTSIDE_SQL, actor.id or -1, *[f"{actor.unit_path}%"] * 2)]
            if ids:
                branches.append(Case.id.is_in(ids))
        else:
            conds.append(under(Case.owner_path, actor.unit_path) | under(Case.origin_path, actor.unit_path) | held)
    if status:
        conds.append(Case.status.is_in([s.value for s in status]))
    if item:
        conds.append(Case.item_code == item)
    if kind:
        conds.append(Case.kind == kind.value)
    if overdue is not None:
        # The index narrows by stored due time; a case waiting for the applicant is then
        # decided by the rule itself (its due time credits the pause in progress).
        open_values, waiting = list(OPEN_VALUES), Status.WAITING_APPLICANT.value
        if overdue:
            conds.append((Case.due_at < utc(now)) & Case.status.is_in(open_values))
        else:
            conds.append((Case.due_at >= utc(now)) | Case.status.not_in(open_values) | (Case.status == waiting))
    if unit:
        ref = await unit_ref(unit)
        conds.append(under(Case.owner_path, ref.path))
    if q:
        conds.append(contains(Case.title, q) | contains(Case.ref, q) | person_match(q))
    if person:
        conds.append(person_match(person))
    if cursor:
        p, due, cid = decode_cursor(cursor)
        conds.append(_after(p, utc(due), cid))

    def page_query(extra: list[Any]) -> Any:
        query = Case.select().output(load_json=True)
        for cond in [*conds, *extra]:
            query = query.where(cond)
        return query.order_by(Case.priority, ascending=False).order_by(Case.due_at, Case.id).limit(limit + 1)

    if person and view not in ("mine", "queue"):
        rows = await _visible_only(conds, actor, limit + 1)
    elif branches:
        rows = await union_pages([page_query([b]) for b in branches], limit + 1)
    else:
        rows = await page_query([])
    page = rows[:limit]
    shown = page if overdue is None else [r for r in page if is_overdue(r, now) == overdue]
    return wire.CasePage(
        cases=[to_wire(r, actor, now) for r in shown],
        next_cursor=encode_cursor(page[-1]) if len(rows) > limit else None,
    )
