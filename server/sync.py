"""Offline sync on the server: devices, push (exactly once, set-wise) and pull (paged).

Push applies a batch in per-device ``seq`` order. The rules run in memory on the cases
loaded once for the batch; the writes go out in bulk in one transaction together with the
device's new ``last_seq``, so an operation's effect and its acknowledgement commit or
vanish together. A rejected operation is recorded with its code and changes nothing.
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import msgspec
from piccolo.columns import JSON
from piccolo.columns.combination import WhereRaw
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from hierarchy import notices as hn
from hierarchy.cases import Actor, CaseState, Status, can_see
from hierarchy.errors import Conflict, DaibanError, Forbidden, InvalidInput, NotFound, TooLarge
from hierarchy.machine import Action, Decision, apply, decide
from hierarchy.roles import Role
from server import db
from server.auth import Principal
from server.blobs import verified_args
from server.cases import (
    case_ref,
    create_digest,
    events_after,
    load_city,
    load_item,
    load_unit_row,
    new_case_values,
    next_value,
    ref_counter,
    resolve_targets,
    same_create,
    to_columns,
    to_state,
    to_wire,
    utc,
)
from server.db import Database
from server.notices import announce
from server.projects import follow_case
from server.queries import under
from server.tables import Case, CaseEvent, CaseHolder, ClientView, Counter, Device, Notification, SyncOp, Token
from sync import hlc, wire
from sync.protocol import (
    BucketPage,
    BucketSums,
    DeviceCreate,
    DeviceOut,
    Notice,
    Operation,
    OpResult,
    PullResponse,
    PushRequest,
    PushResponse,
    bucket_checksums,
    scope_checksum,
)

RETENTION = timedelta(days=30)
#: A device's pulls compare its whole scope at least this often (evictions no change
#: announces: closed past retention, an agent moved to another unit).
RECONCILE_EVERY = timedelta(hours=1)
MAX_ATTEMPTS = 5
#: Rows per multi-row INSERT: far below SQLite's variable limit for our widest table.
INSERT_CHUNK = 50
#: Fields a device edits, merged field by field (latest clock wins); "applicant" is a correction.
EDITABLE = ("title", "description", "applicant")


# --- devices ----------------------------------------------------------------------------


_ID_TAKEN = "this device id is taken: register with a new one"


async def register_device(principal: Principal, data: DeviceCreate, now: datetime) -> tuple[DeviceOut, bool]:
    """Register a device (or answer with it again); returns it and whether it is new.

    The signing-in token is bound to the device. A device id that another agent holds, or
    that was revoked, answers the same ``device.id_conflict``.
    """
    client_id = data.client_id or principal.device or uuid.uuid4()
    if principal.device is not None and principal.device != client_id:
        raise Forbidden("device.token_bound", "this sign-in belongs to another device; sign in again")
    existing = await Device.select().where(Device.client_id == client_id).first()
    created = existing is None
    if existing is None:
        try:
            device = Device(
                client_id=client_id, agent_id=principal.id, name=data.name[:100], created_at=utc(now), last_seq=0
            )
            await Device.insert(device).run()
        except db.UNIQUE_VIOLATIONS:
            created = False
        existing = await Device.select().where(Device.client_id == client_id).first()
        assert existing is not None
    if existing["agent_id"] != principal.id or existing["revoked"]:
        raise Conflict("device.id_conflict", _ID_TAKEN)
    await _bind(principal, client_id)
    return msgspec.convert(existing, DeviceOut, strict=False), created


async def _bind(principal: Principal, client_id: uuid.UUID) -> None:
    if principal.device is None and principal.token_digest:
        await Token.update({Token.client_id: client_id}).where(
            (Token.digest == principal.token_digest) & Token.client_id.is_null()
        ).run()


async def revoke_device(principal: Principal, client_id: uuid.UUID) -> DeviceOut:
    """Revoke a device and every token bound to it."""
    row = await Device.select().where(Device.client_id == client_id).first()
    if row is None or not (principal.actor.role is Role.ADMIN or row["agent_id"] == principal.id):
        raise NotFound("device.not_found", "no such device")
    await Device.update({Device.revoked: True}).where(Device.client_id == client_id).run()
    await Token.update({Token.revoked: True}).where(Token.client_id == client_id).run()
    return msgspec.convert({**row, "revoked": True}, DeviceOut, strict=False)


async def device_of(principal: Principal, client_id: uuid.UUID) -> dict[str, Any]:
    if principal.device is not None and principal.device != client_id:
        raise Forbidden("device.token_bound", "this sign-in belongs to another device; sign in again")
    row = await Device.select().where(Device.client_id == client_id).first()
    if row is None:
        raise NotFound("device.not_found", "register this device first (POST /api/v1/devices)")
    if row["agent_id"] != principal.id:
        raise NotFound("device.not_found", "register this device first (POST /api/v1/devices)")
    if row["revoked"]:
        raise Forbidden("sync.device_revoked", "this device has been revoked; ask an admin")
    await _bind(principal, client_id)
    return row


# --- push -------------------------------------------------------------------------------


class _Retry(Exception):
    """Someone else wrote one of the batch's cases (or this device) first."""


@dataclass
class _Work:
    """One batch being applied in memory before it is written."""

    actor: Actor
    now: datetime
    rows: dict[uuid.UUID, dict[str, Any]]
    states: dict[uuid.UUID, CaseState] = field(default_factory=dict)
    new: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    changed: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    holders: list[tuple[uuid.UUID, int]] = field(default_factory=list)
    #: The version each changed case had when the batch read it: the write's guard.
    base_versions: dict[uuid.UUID, int] = field(default_factory=dict)
    #: Looked up once per batch, not once per operation.
    items: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    units: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    city: dict[str, Any] | None = None
    #: What the batch's changes announce (hierarchy.notices), written with them.
    notices: list[tuple[uuid.UUID, list[hn.Notice]]] = field(default_factory=list)

    async def item(self, code: str) -> dict[str, Any] | None:
        if code not in self.items:
            self.items[code] = await load_item(code)
        return self.items[code]

    async def unit(self, code: str) -> dict[str, Any] | None:
        if code not in self.units:
            self.units[code] = await load_unit_row(code)
        return self.units[code]

    async def the_city(self) -> dict[str, Any]:
        if self.city is None:
            self.city = await load_city()
        return self.city

    def state(self, case_id: uuid.UUID) -> CaseState | None:
        if case_id in self.states:
            return self.states[case_id]
        row = self.rows.get(case_id)
        if row is None:
            return None
        self.states[case_id] = to_state(row)
        return self.states[case_id]

    def event(
        self, case_id: uuid.UUID, version: int, action: str, reason: str, before: dict[str, Any], after: dict[str, Any]
    ) -> None:
        self.events.append(
            dict(
                case_id=case_id,
                version=version,
                action=action,
                actor_id=self.actor.id,
                actor_unit=self.actor.unit_code,
                reason=reason,
                before=before,
                after=after,
                at=utc(self.now),
            )
        )


async def push(engine: Database, principal: Principal, req: PushRequest, now: datetime, max_batch: int) -> PushResponse:
    if len(req.ops) > max_batch:
        raise TooLarge("sync.batch_too_large", f"at most {max_batch} operations per push", limit=max_batch)
    for op in req.ops:
        if op.client_id != req.client_id:
            raise InvalidInput(
                "sync.client_mismatch", "every operation carries the pushing client's id", field="ops.client_id"
            )
    # Optimistic first: read, decide in memory, write if nothing moved. Under contention
    # (online agents acting on the same cases) the last attempt holds the writers' locks
    # from the start, so a large batch cannot be starved by a stream of small writes.
    for attempt in range(MAX_ATTEMPTS):
        try:
            if attempt < MAX_ATTEMPTS - 1:
                device = await device_of(principal, req.client_id)
                return await _push_once(engine, principal.actor, device, req, now)
            async with db.transaction(engine):
                await _hold_writers(engine, req)
                device = await device_of(principal, req.client_id)
                return await _push_once(engine, principal.actor, device, req, now)
        except _Retry:
            continue
    raise Conflict("sync.busy", "the cases in this batch are changing fast; push again", retry_after=1)


async def _hold_writers(engine: Database, req: PushRequest) -> None:
    """Lock, in the order every writer takes them, the device and the batch's existing
    cases, so nothing the batch reads can change before it commits.

    SQLite's write transaction already holds the whole database.
    """
    if isinstance(engine, PostgresEngine):
        await Device.select(Device.client_id).where(Device.client_id == req.client_id).lock_rows()
        ids = sorted({op.case_id for op in req.ops})
        if ids:
            await Case.select(Case.id).where(Case.id.is_in(ids)).order_by(Case.id).lock_rows()


async def _push_once(
    engine: Database, actor: Actor, device: Mapping[str, Any], req: PushRequest, now: datetime
) -> PushResponse:
    last = int(device["last_seq"])
    ops = sorted(req.ops, key=lambda o: o.seq)
    results: dict[uuid.UUID, OpResult] = {}
    seen = await _seen_op_ids(engine, [o.op_id for o in ops])
    fresh: list[Operation] = []
    for op in ops:
        if op.seq <= last or op.op_id in seen:
            # A replay: say so, and repeat what happened the first time, so a device that
            # lost the first answer still learns of a rejection.
            first = seen.get(op.op_id, {})
            results[op.op_id] = OpResult(op_id=op.op_id, seq=op.seq, result="duplicate",
                                         original=first.get("result", ""), code=first.get("code", ""),
                                         message=first.get("message", ""))
        elif fresh and op.seq == fresh[-1].seq:
            raise InvalidInput("sync.seq_repeated", f"two operations carry seq {op.seq}", field="ops.seq")
        else:
            fresh.append(op)
    for i, op in enumerate(fresh):
        if op.seq != last + 1 + i:
            raise Conflict(
                "sync.seq_gap",
                f"expected seq {last + 1 + i}, got {op.seq}: push the missing ones",
                expected=last + 1 + i,
                got=op.seq,
                last_seq=last,
            )
    if not fresh:
        return PushResponse(results=[results[o.op_id] for o in req.ops], last_seq=last)

    rows = await _load_rows(engine, {op.case_id for op in fresh})
    work = _Work(actor=actor, now=now, rows=rows)
    ledger: list[dict[str, Any]] = []
    for op in fresh:
        try:
            version = await _apply_op(work, op)
            results[op.op_id] = OpResult(op_id=op.op_id, seq=op.seq, result="applied", case_version=version)
            ledger.append(_ledger(op, "applied", "", "", now))
        except (ValueError, TypeError, OverflowError) as exc:
            # Arguments that decode but that a rule cannot use (a date out of range …):
            # still the operation's content, rejected alone.
            bad = InvalidInput("sync.op_invalid", f"the operation's arguments cannot be used: {type(exc).__name__}")
            results[op.op_id] = OpResult(op_id=op.op_id, seq=op.seq, result="rejected", code=bad.code,
                                         message=bad.message)
            ledger.append(_ledger(op, "rejected", bad.code, bad.message, now))
        except DaibanError as exc:
            results[op.op_id] = OpResult(
                op_id=op.op_id, seq=op.seq, result="rejected", code=exc.code, message=exc.message
            )
            ledger.append(_ledger(op, "rejected", exc.code, exc.message, now))
    await _write(engine, work, device, fresh[-1].seq, ledger)
    return PushResponse(results=[results[o.op_id] for o in req.ops], last_seq=fresh[-1].seq)


def _ledger(op: Operation, result: str, code: str, message: str, now: datetime) -> dict[str, Any]:
    return dict(
        op_id=op.op_id,
        client_id=op.client_id,
        seq=op.seq,
        case_id=op.case_id,
        # The ledger keeps any operation, whatever it carries (PostgreSQL text holds no NUL).
        kind=op.kind[:24].replace("\x00", "?"),
        result=result,
        code=code,
        message=message[:500].replace("\x00", "?"),
        at=utc(now),
    )


async def _seen_op_ids(engine: Database, op_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    if not op_ids:
        return {}
    if isinstance(engine, PostgresEngine):
        # One array parameter instead of an IN list Piccolo builds value by value.
        rows = await SyncOp.raw("SELECT op_id, result, code, message FROM sync_op WHERE op_id = ANY({})", op_ids)
    else:
        rows = await SyncOp.select(SyncOp.op_id, SyncOp.result, SyncOp.code, SyncOp.message).where(
            SyncOp.op_id.is_in(op_ids)
        )
    return {r["op_id"]: r for r in rows}


async def _load_rows(engine: Database, case_ids: set[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    out: dict[uuid.UUID, dict[str, Any]] = {}
    ids = list(case_ids)
    if isinstance(engine, PostgresEngine) and ids:
        for row in await Case.raw("SELECT * FROM case_file WHERE id = ANY({})", ids):
            for name in _JSON_COLUMNS[Case]:
                if isinstance(row[name], str):
                    row[name] = msgspec.json.decode(row[name])
            out[row["id"]] = row
        return out
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in await Case.select().where(Case.id.is_in(chunk)).output(load_json=True):
            out[row["id"]] = row
    return out


async def _apply_op(work: _Work, op: Operation) -> int:
    """Apply one operation to the in-memory batch; return the case's new version.

    The operation's own content is checked first (``sync.op_invalid``); then a case the
    actor may not see answers exactly as one that does not exist.
    """
    _no_nul([op.kind, op.hlc, op.args])
    if op.kind == "create":
        return await _apply_create(work, op)
    edit: wire.EditRequest | None = None
    if op.kind == "edit":
        edit = _decode(op.args, wire.EditRequest)
    else:
        try:
            action = Action(op.kind)
        except ValueError:
            raise InvalidInput("sync.op_invalid", "unknown operation kind", field="kind") from None
        if action is Action.UPDATE:
            raise InvalidInput("sync.op_invalid", "field edits travel as kind 'edit'", field="kind")
        req = _decode(op.args, wire.ActionRequest)
    state = work.state(op.case_id)
    if state is None or not can_see(state, work.actor):
        raise NotFound("case.not_found", "no such case")
    if edit is not None:
        decision = _edit_decision(work, state, op, edit)
    else:
        target_unit, target_agent = await resolve_targets(action, req)
        args = await verified_args(action, req.args())
        decision = decide(state, work.actor, action, args, work.now, target_unit=target_unit, target_agent=target_agent)
    _record(work, op.case_id, state, decision)
    return int(decision.changes["version"])


_T = TypeVar("_T")


def _decode(args: Any, into: type[_T]) -> _T:
    """An operation's arguments as ``into``, or ``sync.op_invalid`` naming what is wrong."""
    try:
        return msgspec.convert(args, into)
    except msgspec.ValidationError as exc:
        raise InvalidInput("sync.op_invalid", f"the operation's arguments do not decode: {exc}", field="args") from None


def _no_nul(value: Any) -> None:
    """No text in an operation may hold a NUL character (PostgreSQL cannot store one)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput("sync.op_invalid", "text cannot hold a NUL character", field="args")
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _no_nul(k)
            _no_nul(v)
    elif isinstance(value, list):
        for v in value:
            _no_nul(v)


async def _apply_create(work: _Work, op: Operation) -> int:
    if not isinstance(op.args, Mapping):
        raise InvalidInput("sync.op_invalid", "a create's arguments are an object", field="args")
    data = _decode({**op.args, "id": str(op.case_id)}, wire.CaseCreate)
    existing = work.rows.get(op.case_id)
    if existing is not None:
        # The device never heard the answer: the same case. Any other case with this id,
        # in this actor's scope or not, answers the same conflict.
        return int(same_create(existing, work.actor, create_digest(data))["version"])
    origin = await work.unit(work.actor.unit_code)
    assert origin is not None
    values = new_case_values(work.actor, data, work.now, await work.item(data.item_code), origin, await work.the_city())
    work.new[op.case_id] = values
    work.rows[op.case_id] = values
    work.holders.append((op.case_id, int(values["created_by"])))
    work.event(op.case_id, 1, "create", "", {}, {"status": values["status"], "owner_unit": values["owner_unit"]})
    work.notices.append((op.case_id, hn.on_create(to_state(values))))
    return 1


def _edit_decision(work: _Work, state: CaseState, op: Operation, edit: wire.EditRequest) -> Decision:
    """Field edits merge field by field: the latest hybrid logical clock wins."""
    stamp = hlc.bounded(op.hlc, int(work.now.timestamp() * 1000))
    flags = dict(work.rows[op.case_id].get("flags") or {})
    clocks: dict[str, str] = dict(flags.get("hlc") or {})
    args: dict[str, Any] = {}
    for name in EDITABLE:
        value = getattr(edit, name)
        if value is not None and stamp > clocks.get(name, ""):
            args[name] = value
            clocks[name] = stamp
    if edit.materials is not None:
        newer = []
        for m in edit.materials:
            key = f"materials.{m.get('code') if isinstance(m, Mapping) else m}"
            if stamp > clocks.get(key, ""):
                newer.append(m)
                clocks[key] = stamp
        if newer:
            args["materials"] = newer
    if not args:
        # Every field already carries a later edit: accepted, and nothing changes.
        decision = Decision(action=Action.UPDATE, changes={"version": state.version})
        return decision
    decision = decide(state, work.actor, Action.UPDATE, args, work.now)
    decision.changes["flags"] = {**flags, "hlc": clocks}
    return decision


def _record(work: _Work, case_id: uuid.UUID, state: CaseState, decision: Decision) -> None:
    if decision.changes.get("version") == state.version:
        return  # a no-op edit
    columns = to_columns(decision.changes)
    row = work.rows[case_id]
    before = {k: msgspec.to_builtins(row.get(k)) for k in columns if k in row and k != "version"}
    after = {k: msgspec.to_builtins(v) for k, v in columns.items() if k not in ("version", "flags")}
    work.states[case_id] = apply(state, decision)
    work.notices.append((case_id, hn.notices(state, work.states[case_id], decision.action, work.actor)))
    if case_id in work.new:
        work.new[case_id].update(columns)
    else:
        work.base_versions.setdefault(case_id, int(row["version"]))
        work.changed.setdefault(case_id, {}).update(columns)
    work.rows[case_id] = {**row, **columns}
    new_assignee = decision.changes.get("assignee_id")
    if new_assignee is not None and new_assignee not in state.holders:
        work.holders.append((case_id, int(new_assignee)))
    work.event(case_id, int(decision.changes["version"]), decision.action.value, decision.reason, before, after)


def merge_flags(current: Mapping[str, Any], ours: Mapping[str, Any]) -> dict[str, Any]:
    """Sync owns only the field clocks in ``flags``; what the SLA sweep recorded there in
    the meantime (without a new version) is kept."""
    return {**current, "hlc": ours.get("hlc", current.get("hlc", {}))}


async def _write(
    engine: Database, work: _Work, device: Mapping[str, Any], new_last: int, ledger: list[dict[str, Any]]
) -> None:
    if isinstance(engine, PostgresEngine):
        return await _write_pg(engine, work, device, new_last, ledger)
    touched = list(work.new) + [cid for cid in work.changed if cid not in work.new]
    async with db.transaction(engine):
        moved = (
            await Device.update({Device.last_seq: new_last, Device.last_push_at: utc(work.now)})
            .where((Device.client_id == device["client_id"]) & (Device.last_seq == device["last_seq"]))
            .returning(Device.client_id)
        )
        if not moved:
            raise _Retry()
        # Counters are locked in the order every writer takes them (reference number, then
        # change sequence, as the online create does); the other order deadlocks with it.
        if work.new:
            top = await next_value(ref_counter(work.now), len(work.new))
        if touched:
            head = await next_value("change", len(touched))
            seqs = dict(zip(touched, range(head - len(touched) + 1, head + 1), strict=True))
        if work.new:
            for n, (cid, values) in enumerate(work.new.items()):
                values["ref"] = case_ref(work.now, top - len(work.new) + 1 + n)
                values["change_seq"] = seqs[cid]
            await _insert(Case, list(work.new.values()))
        for cid, columns in work.changed.items():
            if cid in work.new:
                continue
            columns = {**columns, "change_seq": seqs[cid], "updated_at": utc(work.now)}
            if "flags" in columns:
                current = await Case.select(Case.flags).where(Case.id == cid).output(load_json=True).first()
                columns["flags"] = merge_flags(current["flags"] if current else {}, columns["flags"])
            done = (
                await Case.update({getattr(Case, k): v for k, v in columns.items()})
                .where((Case.id == cid) & (Case.version == work.base_versions[cid]))
                .returning(Case.id)
            )
            if not done:
                raise _Retry()
        await _insert(CaseHolder, [dict(case_id=c, agent_id=a) for c, a in work.holders])
        await _insert(CaseEvent, work.events)
        await _insert(SyncOp, ledger)
        await _announce(work)


async def _write_pg(
    engine: PostgresEngine, work: _Work, device: Mapping[str, Any], new_last: int, ledger: list[dict[str, Any]]
) -> None:
    """The same writes on PostgreSQL, through the transaction's asyncpg connection.

    New rows go out with one binary COPY per table, updates with one ``executemany`` per
    set of changed columns.
    """
    changed = sorted(cid for cid in work.changed if cid not in work.new)
    touched = list(work.new) + changed
    async with db.transaction(engine) as tx:
        conn = tx.connection
        moved = await conn.fetchval(
            "UPDATE device SET last_seq = $1, last_push_at = $2 WHERE client_id = $3 AND last_seq = $4 "
            "RETURNING client_id",
            new_last, utc(work.now), device["client_id"], device["last_seq"],
        )  # fmt: skip
        if moved is None:
            raise _Retry()
        # Case rows first, counters last: the order every writer takes them (write_decision,
        # the SLA sweep, the online create), so no two writers wait on each other, and the
        # counters stay locked only for the last few statements before the commit.
        if changed:
            # Lock the cases this batch changes and check none moved since it read them.
            locked = await conn.fetch(
                "SELECT id, version, flags FROM case_file WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", changed
            )
            if {r["id"]: r["version"] for r in locked} != {cid: work.base_versions[cid] for cid in changed}:
                raise _Retry()
            for r in locked:
                if "flags" in work.changed[r["id"]]:
                    current = msgspec.json.decode(r["flags"]) if isinstance(r["flags"], str) else r["flags"] or {}
                    work.changed[r["id"]]["flags"] = merge_flags(current, work.changed[r["id"]]["flags"])
        await _pg_insert(conn, CaseHolder, [dict(case_id=c, agent_id=a) for c, a in work.holders])
        await _pg_insert(conn, CaseEvent, work.events)
        await _pg_insert(conn, SyncOp, ledger)
        if work.new:
            top = await _pg_next_value(conn, ref_counter(work.now), len(work.new))
            for n, values in enumerate(work.new.values()):
                values["ref"] = case_ref(work.now, top - len(work.new) + 1 + n)
        head = await _pg_next_value(conn, "change", len(touched)) if touched else 0
        for n, cid in enumerate(touched):
            seq = head - len(touched) + 1 + n
            if cid in work.new:
                work.new[cid]["change_seq"] = seq
            else:
                work.changed[cid] = {**work.changed[cid], "change_seq": seq, "updated_at": utc(work.now)}
        await _pg_insert(conn, Case, list(work.new.values()))
        rows = [{**work.changed[cid], "id": cid} for cid in changed]
        for names, group in _by_columns(rows).items():
            sets = ", ".join(f'"{n}" = ${i}' for i, n in enumerate(names, start=1) if n != "id")
            await conn.executemany(
                f"UPDATE case_file SET {sets} WHERE id = ${names.index('id') + 1}", _pg_records(Case, names, group)
            )
        await _announce(work)


async def _announce(work: _Work) -> None:
    """The batch's notifications, last in its transaction (they take the change counter),
    and the project blockers whose department cases changed status."""
    for cid, told in work.notices:
        if told:
            await announce(told, work.new.get(cid) or work.rows[cid], work.actor, work.now)
    for cid, columns in work.changed.items():
        if "status" in columns and (work.rows[cid].get("project") or {}).get("blocker"):
            await follow_case(work.rows[cid], Status(columns["status"]), work.now)


async def _pg_next_value(conn: Any, name: str, step: int) -> int:
    """:func:`server.cases.next_value` in one statement: the counter row stays locked until commit."""
    return int(
        await conn.fetchval(
            "INSERT INTO counter (name, value) VALUES ($1, $2) "
            "ON CONFLICT (name) DO UPDATE SET value = counter.value + excluded.value RETURNING value",
            name,
            step,
        )
    )


async def _insert(table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), INSERT_CHUNK):
        await table.insert(*[table(**r) for r in rows[start : start + INSERT_CHUNK]]).run()


_JSON_COLUMNS: dict[type[Table], frozenset[str]] = {
    t: frozenset(c._meta.db_column_name for c in t._meta.columns if isinstance(c, JSON))
    for t in (Case, CaseEvent, CaseHolder, SyncOp)
}
_json = msgspec.json.Encoder()


def _by_columns(rows: list[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """Rows grouped by the columns they set, in order: one statement per group."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    return groups


def _pg_records(table: type[Table], names: tuple[str, ...], rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Values as asyncpg takes them: ``json`` columns as text, NULL kept NULL."""
    pick = operator.itemgetter(*names)
    json_at = [i for i, n in enumerate(names) if n in _JSON_COLUMNS[table]]
    if len(names) == 1:
        return [(pick(row),) for row in rows]
    if not json_at:
        return [pick(row) for row in rows]
    encode = _json.encode
    out = []
    for row in rows:
        values = list(pick(row))
        for i in json_at:
            if values[i] is not None:
                values[i] = encode(values[i]).decode()
        out.append(tuple(values))
    return out


async def _pg_insert(conn: Any, table: type[Table], rows: list[dict[str, Any]]) -> None:
    for names, group in _by_columns(rows).items():
        await conn.copy_records_to_table(
            table._meta.tablename, records=_pg_records(table, names, group), columns=list(names)
        )


# --- pull -------------------------------------------------------------------------------


def _scope(actor: Actor, now: datetime) -> Any:
    agent = actor.id or -1
    held: Any
    if Case.id._meta.engine_type == "postgres":
        # Inside the OR, ``id IN (subquery)`` cannot use an index and PostgreSQL reads the
        # whole table; ``id = ANY(ARRAY(subquery))`` can, and the three arms become one
        # BitmapOr of the two path prefix indexes and the primary key.
        held = WhereRaw("case_file.id = ANY(ARRAY(SELECT case_id FROM case_holder WHERE agent_id = {}))", agent)
    else:
        held = Case.id.is_in(CaseHolder.select(CaseHolder.case_id).where(CaseHolder.agent_id == agent))
    visible = under(Case.owner_path, actor.unit_path) | under(Case.origin_path, actor.unit_path) | held
    fresh = Case.closed_at.is_null() | (Case.closed_at >= utc(now - RETENTION))
    return visible & fresh


def in_sync_scope(row: Mapping[str, Any], actor: Actor, now: datetime) -> bool:
    closed = row.get("closed_at")
    return can_see(to_state(row), actor) and (closed is None or closed >= now - RETENTION)


async def pull(
    principal: Principal,
    client_id: uuid.UUID,
    cursor: int,
    limit: int,
    now: datetime,
    ack: int | None = None,
    full: bool = False,
) -> PullResponse:
    """One page of changes after ``cursor``, with the cases the device holds that these
    changes took out of its scope: the work is proportional to what changed, not to the
    scope. ``ack`` is the eviction round of the last answer the device applied: only now
    are the cases that round evicted forgotten. With ``full`` (and on a first pull, and
    every :data:`RECONCILE_EVERY`) the last page compares the whole scope too and
    carries its checksum."""
    device = await device_of(principal, client_id)
    actor = principal.actor
    if ack:
        await ClientView.delete().where(
            (ClientView.client_id == client_id) & ClientView.gone.is_not_null() & (ClientView.gone <= ack)
        )
    round_ = int(device.get("evict_round") or 0)
    head_row = await Counter.select(Counter.value).where(Counter.name == "change").first()
    head = int(head_row["value"]) if head_row else 0
    rows = await (
        Case.select()
        .where(_scope(actor, now) & (Case.change_seq > cursor) & (Case.change_seq <= head))
        .order_by(Case.change_seq)
        .limit(limit + 1)
        .output(load_json=True)
    )
    has_more = len(rows) > limit
    page = rows[:limit]
    end = page[-1]["change_seq"] if has_more else max(head, cursor)
    evicted: list[uuid.UUID] = []
    checksum = None
    scope_size = None
    events = []
    if page:
        # Each case's history the device does not hold yet: it shows it offline.
        held = await ClientView.select(ClientView.case_id, ClientView.version).where(
            (ClientView.client_id == client_id) & ClientView.case_id.is_in([r["id"] for r in page])
        )
        events = await events_after(page, {h["case_id"]: h["version"] for h in held}, actor)
        await _remember(client_id, [(r["id"], r["version"]) for r in page])
    full = full or cursor == 0 or _reconcile_due(device, now)
    # A full pull compares the whole scope on its last page; the others evict page by page.
    evicted = [] if full else await _left_scope(client_id, actor, now, cursor, end)
    if not has_more and full:
        # A full reconcile: compare what the device holds with the whole scope, evict what
        # left it without a change of its own (closed past retention, the agent moved), and
        # send the checksum. Every pull does it now and then; the device asks for it too.
        scope = await Case.select(Case.id, Case.version).where(_scope(actor, now))
        versions = {r["id"]: r["version"] for r in scope}
        held = await ClientView.select(ClientView.case_id).where(ClientView.client_id == client_id)
        evicted = [r["case_id"] for r in held if r["case_id"] not in versions]
        checksum = scope_checksum([(str(k), v) for k, v in versions.items()])
        scope_size = len(versions)
        await Device.update({Device.reconciled_at: utc(now)}).where(Device.client_id == client_id).run()
    elif not has_more:
        # Evictions sent before and not yet acknowledged go again.
        unacked = await ClientView.select(ClientView.case_id).where(
            (ClientView.client_id == client_id) & ClientView.gone.is_not_null()
        )
        evicted = list(dict.fromkeys([*evicted, *(r["case_id"] for r in unacked)]))
    if evicted:
        # A new round; the rows stay (marked with it) until the device acknowledges it.
        moved = await Device.update({Device.evict_round: Device.evict_round + 1}).where(
            Device.client_id == client_id
        ).returning(Device.evict_round)
        round_ = int(moved[0]["evict_round"])
        for start in range(0, len(evicted), 500):
            chunk = evicted[start : start + 500]
            await ClientView.update({ClientView.gone: round_}).where(
                (ClientView.client_id == client_id) & ClientView.case_id.is_in(chunk)
            )
    notes = await (
        Notification.select()
        .where(
            (Notification.agent_id == principal.id)
            & (Notification.change_seq > cursor)
            & (Notification.change_seq <= end)
        )
        .order_by(Notification.change_seq)
    )
    await Device.update({Device.last_pull_at: utc(now)}).where(Device.client_id == client_id).run()
    return PullResponse(
        cursor=end,
        has_more=has_more,
        cases=[to_wire(r, actor, now) for r in page],
        events=events,
        evicted=evicted,
        last_seq=int(device["last_seq"]),
        checksum=checksum,
        scope_size=scope_size,
        ack=round_,
        notifications=[
            Notice(
                id=n["id"],
                kind=n["kind"],
                message=n["message"],
                case_id=n["case_id"],
                created_at=n["created_at"].astimezone(UTC).isoformat(),
            )
            for n in notes
        ],
    )


def _reconcile_due(device: Mapping[str, Any], now: datetime) -> bool:
    last = device.get("reconciled_at")
    return last is None or last < now - RECONCILE_EVERY


async def _left_scope(
    client_id: uuid.UUID, actor: Actor, now: datetime, cursor: int, end: int
) -> list[uuid.UUID]:
    """Cases the device holds that changed in (cursor, end] and are now out of its scope."""
    if end <= cursor:
        return []
    changed = Case.select(Case.id).where((Case.change_seq > cursor) & (Case.change_seq <= end))
    held = [
        r["case_id"]
        for r in await ClientView.select(ClientView.case_id).where(
            (ClientView.client_id == client_id) & ClientView.case_id.is_in(changed)
        )
    ]
    if not held:
        return []
    still = {r["id"] for r in await Case.select(Case.id).where(Case.id.is_in(held) & _scope(actor, now))}
    return [cid for cid in held if cid not in still]


async def _remember(client_id: uuid.UUID, pairs: list[tuple[uuid.UUID, int]]) -> None:
    """Record what the device now holds (its client view)."""
    # A case back in scope is held again: no longer waiting for its eviction's acknowledgement.
    rows = [ClientView(client_id=client_id, case_id=cid, version=v, gone=None) for cid, v in pairs]
    for start in range(0, len(rows), INSERT_CHUNK):
        await (
            ClientView.insert(*rows[start : start + INSERT_CHUNK])
            .on_conflict(
                target=(ClientView.client_id, ClientView.case_id),
                action="DO UPDATE",
                values=[ClientView.version, ClientView.gone],
            )
            .run()
        )


# --- divergence repair by buckets ---------------------------------------------------------


def _bucket_range(bucket: str) -> tuple[uuid.UUID, uuid.UUID]:
    if len(bucket) != 2 or any(c not in "0123456789abcdef" for c in bucket):
        raise InvalidInput("sync.bucket_invalid", "a bucket is two lowercase hex digits", field="bucket")
    return uuid.UUID(bucket + "0" * 30), uuid.UUID(bucket + "f" * 30)


async def bucket_sums(principal: Principal, client_id: uuid.UUID, now: datetime) -> BucketSums:
    """The scope's checksum per bucket, for a device whose replica does not match."""
    await device_of(principal, client_id)
    scope = await Case.select(Case.id, Case.version).where(_scope(principal.actor, now))
    return BucketSums(buckets=bucket_checksums([(str(r["id"]), r["version"]) for r in scope]))


async def bucket_page(principal: Principal, client_id: uuid.UUID, bucket: str, now: datetime) -> BucketPage:
    """Every case of the scope in one bucket: the device replaces that bucket with it."""
    low, high = _bucket_range(bucket)
    await device_of(principal, client_id)
    actor = principal.actor
    rows = await (
        Case.select()
        .where(_scope(actor, now) & (Case.id >= low) & (Case.id <= high))
        .order_by(Case.id)
        .output(load_json=True)
    )
    if rows:
        await _remember(client_id, [(r["id"], r["version"]) for r in rows])
    pairs = [(str(r["id"]), int(r["version"])) for r in rows]
    return BucketPage(
        bucket=bucket,
        cases=[to_wire(r, actor, now) for r in rows],
        checksum=bucket_checksums(pairs).get(bucket, ""),
    )
