"""The SLA sweep, run every minute: escalate, flag and warn, once per breach.

What it does to each open case:

- **Unclaimed** — a queued case not claimed within the owner unit's ``response_days``
  working days (at least one) since it joined that queue is escalated to the parent
  unit by the system actor with reason ``sla.unclaimed``. At the city, the top of the
  chain, the dispatchers are told instead.
- **Overdue** — a queued or in-progress case past its due time is escalated with reason
  ``sla.overdue``; a case waiting for the applicant whose pause allowance is used up
  (or one already at the city) is flagged and its assignee or the dispatchers told.
- **Warning** — the assignee hears once per due time when one working day is left.
- **容缺 deferrals** — once a day, deferred materials past their due date are flagged
  and the assignee (else the creator) told.
- **未评价** — a resolved case the applicant has not rated within ``unrated_close_days``
  working days is closed by the system as unrated (counted apart in reports).

Once per breach: each breach has a key (the due time, or the queue entry) that is
recorded under ``flags["sla"]`` in the same transaction as the escalation or the
notification. That transaction first locks the case row (on SQLite the write
transaction holds the whole database), then re-reads the case and decides again; the
escalation itself is a conditional update keyed on the version. So a second sweep, or a second worker running
the same sweep at the same moment, finds the breach handled and does nothing.

The scan reads open cases in batches of :data:`BATCH` (keyset paging), and only those
whose stored due time is within the warning horizon (by the due-time index, minus those
whose breach the flags already record, on both engines) or that have queued long
enough to be unclaimed — so 100,000 open cases are never loaded at once, and a steady
sweep reads little more than what is due.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from asyncpg.exceptions import DeadlockDetectedError
from piccolo.columns.combination import WhereRaw

from hierarchy.breaches import Breach, UnitClock, assess, overdue_deferrals, sla_flags, unclaimed_horizon, warn_horizon
from hierarchy.calendar import TZ, local_date
from hierarchy.cases import OPEN_VALUES, Status, system_actor
from hierarchy.machine import Action, decide
from hierarchy.ratings import UNRATED_CLOSE_DAYS, unrated_close_at
from server import calendar_store, db
from server.cases import to_state, utc, write_decision
from server.db import Database
from server.jobs import notify as nt
from server.queries import case_batches
from server.tables import Case, Counter, Unit

log = logging.getLogger("daiban.jobs.sweep")

BATCH = 500
OPEN = list(OPEN_VALUES)
#: The row's due time still needs a look — it is waiting for the applicant (its due time
#: moves), or the breach or warning for this very due time is not yet recorded in the
#: flags. Lets a steady sweep skip what it has handled before, on both engines.
DUE_PENDING_SQL = (
    "(status = 'waiting_applicant' OR NOT ("
    "COALESCE((flags->'sla'->>'overdue')::timestamptz = due_at, false)"
    " OR (due_at >= {} AND (status = 'queued' OR assignee_id IS NULL"
    " OR COALESCE((flags->'sla'->>'warned')::timestamptz = due_at, false)))))"
)
#: The same on SQLite: it keeps a UTC time as ``YYYY-MM-DD HH:MM:SS+00:00``, the flags
#: keep its ISO form with a ``T``.
DUE_PENDING_SQLITE = (
    "(status = 'waiting_applicant' OR NOT ("
    "COALESCE(replace(json_extract(flags, '$.sla.overdue'), 'T', ' ') = due_at, 0)"
    " OR (due_at >= {} AND (status = 'queued' OR assignee_id IS NULL"
    " OR COALESCE(replace(json_extract(flags, '$.sla.warned'), 'T', ' ') = due_at, 0)))))"
)
DEFERRAL_GATE = "sweep.deferrals"

SCAN_COLUMNS = (
    Case.id,
    Case.status,
    Case.owner_unit,
    Case.owner_path,
    Case.assignee_id,
    Case.created_by,
    Case.due_at,
    Case.queued_at,
    Case.accepted_at,
    Case.promised_days,
    Case.open_weekends,
    Case.sla_events,
    Case.flags,
    Case.version,
)


@dataclass(slots=True)
class SweepResult:
    """What one run did; returned by the job (arq stores it) and logged when not idle."""

    scanned: int = 0
    unclaimed: int = 0
    overdue: int = 0
    flagged: int = 0
    warned: int = 0
    deferrals: int = 0
    unrated: int = 0
    lost: int = 0  # someone else (another sweep, an agent) changed the case first

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


# --- the sweep ---------------------------------------------------------------------------


class _Sweep:
    """One run: caches what it looks up (units, agents) for the length of the run."""

    def __init__(self, engine: Database, now: datetime) -> None:
        self.engine = engine
        self.now = now
        self.result = SweepResult()
        self.clocks: dict[str, UnitClock] = {}
        self.agents: dict[str, list[int]] = {}
        self.postgres = engine.engine_type == "postgres"

    async def unit_clocks(self, codes: set[str]) -> None:
        missing = [c for c in codes if c not in self.clocks]
        if missing:
            rows = await Unit.select(Unit.code, Unit.response_days, Unit.open_weekends).where(Unit.code.is_in(missing))
            for r in rows:
                self.clocks[r["code"]] = UnitClock(r["response_days"], r["open_weekends"])

    async def unit_agents(self, code: str) -> list[int]:
        if code not in self.agents:
            self.agents[code] = await nt.unit_agents(code)
        return self.agents[code]

    async def locked_row(self, case_id: uuid.UUID) -> dict[str, Any] | None:
        """Inside a transaction, read the case so that nobody else writes it until commit.

        On PostgreSQL the case row is locked (every writer locks case rows before it takes
        the change counter, so the order cannot deadlock); SQLite's write transaction
        already holds the whole database.
        """
        query = Case.select().where(Case.id == case_id).output(load_json=True)
        if self.postgres:
            query = query.lock_rows()
        return await query.first()

    async def run(self) -> SweepResult:
        """Two keyset scans, each on its own index: cases whose due time is near or past
        (by due time, then id), and cases long queued (by id). A case in both is looked at
        twice; the second look finds its breach handled and does nothing."""
        horizon, queued_before = utc(warn_horizon(self.now)), utc(unclaimed_horizon(self.now))
        due_soon: Any = Case.status.is_in(OPEN) & (Case.due_at < horizon)
        due_soon &= WhereRaw(DUE_PENDING_SQL if self.postgres else DUE_PENDING_SQLITE, utc(self.now))
        last: tuple[datetime, uuid.UUID] | None = None
        while True:
            query = Case.select(*SCAN_COLUMNS).where(due_soon).order_by(Case.due_at, Case.id)
            if last is not None:
                # The bare >= lets the index bound the scan; the OR alone would rescan from the start.
                query = query.where((Case.due_at >= last[0]) & ((Case.due_at > last[0]) | (Case.id > last[1])))
            rows = await query.limit(BATCH).output(load_json=True)
            if not rows:
                break
            await self.look(rows)
            last = (rows[-1]["due_at"], rows[-1]["id"])
        long_queued = (Case.status == Status.QUEUED.value) & (Case.queued_at < queued_before)
        async for rows in case_batches(SCAN_COLUMNS, long_queued, BATCH):
            await self.look(rows)
        return self.result

    async def look(self, rows: list[dict[str, Any]]) -> None:
        """Assess a batch without locks; act, under a lock, only where something is due."""
        self.result.scanned += len(rows)
        await self.unit_clocks({r["owner_unit"] for r in rows if r["status"] == Status.QUEUED.value})
        for row in rows:
            if assess(row, self.now, self.clocks.get(row["owner_unit"])) is None:
                continue
            try:
                await self.handle(row["id"])
            except DeadlockDetectedError:
                # Every writer locks case rows before the change counter, so this should not
                # happen; should it, PostgreSQL rolled one side back and nothing was written:
                # the next run retries the case.
                log.warning("sla sweep: deadlock on case %s, left for the next run", row["id"])
                self.result.lost += 1

    async def handle(self, case_id: uuid.UUID) -> None:
        """Act on every breach of one case, under the lock: a case at the city can be both
        overdue and unclaimed, and both are flagged in this run, not one per minute."""
        async with db.transaction(self.engine):
            row = await self.locked_row(case_id)
            if row is None:
                return
            await self.unit_clocks({row["owner_unit"]})
            breach = assess(row, self.now, self.clocks.get(row["owner_unit"]))
            if breach is None:
                self.result.lost += 1
                return
            for _ in range(3):  # at most one of each kind
                if breach is None:
                    return
                if breach.kind == "warned":
                    await self.warn(row, breach)
                elif row["status"] != Status.WAITING_APPLICANT.value and row["owner_path"].count("/") > 2:
                    await self.escalate(row, breach)
                    return  # a new queue entry: nothing else can be due in this run
                else:
                    await self.flag(row, breach)
                breach = assess(row, self.now, self.clocks.get(row["owner_unit"]))

    async def set_flags(self, row: dict[str, Any], **sla: Any) -> None:
        """Record handled breaches under ``flags["sla"]``, keeping every other key."""
        flags = dict(row.get("flags") or {})
        flags["sla"] = {**sla_flags(row), **sla}
        await Case.update({Case.flags: flags}).where(Case.id == row["id"])
        row["flags"] = flags

    async def warn(self, row: dict[str, Any], breach: Breach) -> None:
        await self.set_flags(row, warned=breach.key)
        due = breach.due_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
        await nt.notify([row["assignee_id"]], nt.SLA_WARNING, f"{_label(row)} 将于 {due} 到期", self.now, row["id"])
        self.result.warned += 1

    async def escalate(self, row: dict[str, Any], breach: Breach) -> None:
        actor = system_actor(row["owner_unit"], row["owner_path"])
        reason = f"sla.{breach.kind}"
        decision = decide(to_state(row), actor, Action.ESCALATE, {"reason": reason}, self.now)
        # Announced below, with the breach that caused it (not as an ordinary escalation).
        if not await write_decision(self.engine, row, actor, decision, self.now, announce=False):
            self.result.lost += 1
            return
        await self.set_flags(row, **{breach.kind: breach.key})
        parent = str(decision.changes["owner_unit"])
        why = "超时未签收" if breach.kind == "unclaimed" else "超过办理时限"
        told = [*await self.unit_agents(parent)]
        await nt.notify(told, nt.CASE_ESCALATED, f"{_label(row)} {why}，已自动上报", self.now, row["id"])
        if row["assignee_id"] is not None:
            await nt.notify([row["assignee_id"]], reason, f"{_label(row)} {why}，已自动上报", self.now, row["id"])
        setattr(self.result, breach.kind, getattr(self.result, breach.kind) + 1)

    async def flag(self, row: dict[str, Any], breach: Breach) -> None:
        """A breach the chain cannot pass up: at the city, or waiting for the applicant."""
        await self.set_flags(row, **{breach.kind: breach.key})
        told = [row["assignee_id"]] if row["assignee_id"] is not None else await nt.dispatchers()
        why = "超时未签收" if breach.kind == "unclaimed" else "已超过办理时限"
        await nt.notify(told, f"sla.{breach.kind}", f"{_label(row)} {why}", self.now, row["id"])
        self.result.flagged += 1

    async def deferrals(self) -> None:
        """Once a day: flag 容缺 deferrals past their due date (keyset over open cases)."""
        today = local_date(self.now)
        if not await _first_today(DEFERRAL_GATE, today):
            return
        async for rows in case_batches((Case.id, Case.materials, Case.flags), Case.status.is_in(OPEN), BATCH):
            for row in rows:
                if overdue_deferrals(row, today):
                    await self.flag_deferrals(row["id"], today)

    async def flag_deferrals(self, case_id: uuid.UUID, today: date) -> None:
        async with db.transaction(self.engine):
            row = await self.locked_row(case_id)
            if row is None or row["status"] not in OPEN:
                return
            late = overdue_deferrals(row, today)
            if not late:
                return
            await self.set_flags(row, deferrals={**(sla_flags(row).get("deferrals") or {}), **late})
            names = {str(m.get("code")): str(m.get("name") or m.get("code")) for m in row["materials"] or []}
            what = "、".join(names[c] for c in late)
            who = row["assignee_id"] if row["assignee_id"] is not None else row["created_by"]
            await nt.notify([who], nt.DEFERRAL_OVERDUE, f"{_label(row)} 容缺材料逾期未补：{what}", self.now, row["id"])
            self.result.deferrals += len(late)


    async def close_unrated(self, days: int) -> None:
        """Close, as 未评价, resolved cases the applicant has not rated within ``days``
        working days (a working day is at least a calendar day: the scan's bound)."""
        resolved = (Case.status == Status.RESOLVED.value) & (Case.resolved_at < utc(self.now - timedelta(days=days)))
        async for rows in case_batches((Case.id,), resolved, BATCH):
            for row in rows:
                async with db.transaction(self.engine):
                    case = await self.locked_row(row["id"])
                    if case is None or case["status"] != Status.RESOLVED.value:
                        continue
                    state = to_state(case)
                    close_at = unrated_close_at(state, days)
                    if close_at is None or self.now < close_at:
                        continue
                    actor = system_actor(case["origin_unit"], case["origin_path"])
                    decision = decide(state, actor, Action.CLOSE_UNRATED, {"days": days}, self.now)
                    if await write_decision(self.engine, case, actor, decision, self.now):
                        self.result.unrated += 1
                    else:
                        self.result.lost += 1


def _label(row: dict[str, Any]) -> str:
    return str(row.get("ref") or row.get("title") or row["id"])


async def _first_today(name: str, today: date) -> bool:
    """Claim today's run of a daily task: true for exactly one caller per day."""
    await Counter.insert(Counter(name=name, value=0)).on_conflict(action="DO NOTHING").run()
    claimed = (
        await Counter.update({Counter.value: today.toordinal()})
        .where((Counter.name == name) & (Counter.value < today.toordinal()))
        .returning(Counter.name)
    )
    return bool(claimed)


async def sweep(engine: Database, now: datetime, unrated_days: int = UNRATED_CLOSE_DAYS) -> SweepResult:
    """Run the whole sweep once at ``now``; safe to run in several workers at once."""
    await calendar_store.refresh()  # an arrangement imported meanwhile moves due times
    run = _Sweep(engine, now)
    await run.run()
    await run.deferrals()
    await run.close_unrated(unrated_days)
    return run.result


def _default_clock() -> datetime:
    return datetime.now(UTC)


async def sla_sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Job: the SLA sweep (cron: every minute)."""
    clock: Callable[[], datetime] = ctx.get("clock") or _default_clock
    settings = ctx.get("settings")
    days = settings.unrated_close_days if settings is not None else UNRATED_CLOSE_DAYS
    result = await sweep(ctx["engine"], clock(), days)
    if any(v for k, v in result.as_dict().items() if k != "scanned"):
        log.info("sla sweep: %s", result.as_dict())
    return result.as_dict()
