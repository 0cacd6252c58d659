"""Accountability figures (SPEC §4) for a unit and each of its children.

A report covers a period of Beijing calendar days, both ends included. It has one row
for the unit and one for each child, each aggregated over that unit's whole subtree, so
the figures drill down city → county → town → village by asking again for a child.

Two populations, chosen so that a child's figures always add up into its parent's:

- **Cases taken** in the subtree (origin unit inside it) and accepted in the period:
  counts by status, kind and item; open and overdue; on-time resolution rate
  (resolved no later than the due time, among those resolved); reopen rate (reopened
  at least once, among those ever resolved); escalation rate (escalated at least once);
  bad-rating fix rate (reviews fixed, among bad ratings); overdue 容缺 deferrals (flagged
  by the SLA sweep, among cases with a deferral); the rating distribution.
- **Work done** by agents of the subtree in the period, from the case history: claims
  and the median time to claim (from joining that queue to the claim — the clock that
  bouncing cases runs up), returns (退回) sent, escalations sent and how many of those
  the SLA sweep made.
"""

from __future__ import annotations

import statistics
from collections import Counter as Tally
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import msgspec

from hierarchy.breaches import is_overdue, on_time
from hierarchy.calendar import TZ
from hierarchy.cases import OPEN_STATUSES, Actor, CaseKind, Status
from hierarchy.errors import InvalidInput, NotFound
from hierarchy.tree import Level, in_subtree
from server.cases import utc
from server.queries import case_batches, under
from server.tables import Case, CaseEvent, Unit

BATCH = 2000
MAX_DAYS = 366
SLA_REASONS = ("sla.unclaimed", "sla.overdue")


class ReportRow(msgspec.Struct, kw_only=True):
    unit: str
    name: str
    level: Level
    cases: int = 0
    open: int = 0
    overdue_open: int = 0
    by_status: dict[str, int] = {}
    by_kind: dict[str, int] = {}
    by_item: dict[str, int] = {}
    resolved: int = 0
    on_time: int = 0
    on_time_rate: float | None = None
    claims: int = 0
    median_claim_hours: float | None = None
    returns: int = 0
    escalations: int = 0
    auto_escalations: int = 0
    escalated_cases: int = 0
    escalation_rate: float | None = None
    reopened: int = 0
    reopen_rate: float | None = None
    reviews: int = 0
    reviews_fixed: int = 0
    bad_rating_fix_rate: float | None = None
    with_deferrals: int = 0
    overdue_deferrals: int = 0
    overdue_deferral_rate: float | None = None
    ratings: dict[str, int] = {}
    mean_rating: float | None = None


class Report(msgspec.Struct, kw_only=True):
    unit: str
    name: str
    period_from: date
    period_to: date
    generated_at: datetime
    rows: list[ReportRow]


@dataclass(slots=True)
class _Acc:
    """Running totals of one row."""

    row: ReportRow
    status: Tally[str] = field(default_factory=Tally)
    kind: Tally[str] = field(default_factory=Tally)
    item: Tally[str] = field(default_factory=Tally)
    rating: Tally[int] = field(default_factory=Tally)
    ever_resolved: int = 0
    claim_hours: list[float] = field(default_factory=list)


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """UTC bounds of Beijing days ``start`` … ``end`` (end included)."""
    if end < start:
        raise InvalidInput("report.period_invalid", "the period ends before it starts", field="to")
    if (end - start).days >= MAX_DAYS:
        raise InvalidInput("report.period_too_long", f"a report covers at most {MAX_DAYS} days", field="from")
    lo = datetime.combine(start, time.min, tzinfo=TZ)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=TZ)
    return utc(lo), utc(hi)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def scoped_unit(code: str, actor: Actor | None) -> dict[str, Any]:
    """The unit, or 404 when it does not exist or lies outside the actor's scope."""
    row = await Unit.select(Unit.code, Unit.name, Unit.level, Unit.path).where(Unit.code == code).first()
    if row is None or (actor is not None and not actor.is_system and not in_subtree(row["path"], actor.unit_path)):
        raise NotFound("unit.not_found", f"no unit with code {code}", unit=code)
    return row


async def summary(code: str, start: date, end: date, now: datetime, actor: Actor | None = None) -> Report:
    """The report for unit ``code`` over Beijing days ``start`` … ``end``."""
    lo, hi = period_bounds(start, end)
    top = await scoped_unit(code, actor)
    children = (
        await Unit.select(Unit.code, Unit.name, Unit.level, Unit.path)
        .where(Unit.parent_code == code)
        .order_by(Unit.sort_key)
    )
    accs = {
        u["code"]: _Acc(ReportRow(unit=u["code"], name=u["name"], level=Level(u["level"]))) for u in [top, *children]
    }
    prefix = len(top["path"])

    def rows_for(path: str) -> Iterable[_Acc]:
        yield accs[code]
        child = path[prefix:].split("/", 1)[0]
        if child and child in accs:
            yield accs[child]

    await _cases(top["path"], lo, hi, now, rows_for)
    await _work(top["path"], lo, hi, rows_for)
    return Report(
        unit=code,
        name=top["name"],
        period_from=start,
        period_to=end,
        generated_at=now,
        rows=[_finish(a) for a in accs.values()],
    )


async def _cases(path: str, lo: datetime, hi: datetime, now: datetime, rows_for: Any) -> None:
    columns = (
        Case.id, Case.kind, Case.item_code, Case.status, Case.origin_path, Case.due_at, Case.resolved_at,
        Case.escalations, Case.reopens, Case.rating, Case.review, Case.materials, Case.flags,
        Case.accepted_at, Case.promised_days, Case.open_weekends, Case.sla_events,
    )  # fmt: skip
    window = under(Case.origin_path, path) & (Case.accepted_at >= lo) & (Case.accepted_at < hi)
    async for batch in case_batches(columns, window, BATCH):
        for case in batch:
            for acc in rows_for(case["origin_path"]):
                _count_case(acc, case, now)


def _count_case(acc: _Acc, case: dict[str, Any], now: datetime) -> None:
    row, status = acc.row, Status(case["status"])
    row.cases += 1
    acc.status[status.value] += 1
    acc.kind[case["kind"]] += 1
    acc.item[case["item_code"]] += 1
    if status in OPEN_STATUSES:
        row.open += 1
        row.overdue_open += is_overdue(case, now)
    if case["resolved_at"] is not None:
        row.resolved += 1
        row.on_time += on_time(case["resolved_at"], case["due_at"])
    if case["resolved_at"] is not None or case["reopens"]:
        acc.ever_resolved += 1
    row.reopened += bool(case["reopens"])
    row.escalated_cases += bool(case["escalations"])
    if case["rating"] is not None:
        acc.rating[int(case["rating"])] += 1
    review = case["review"] or {}
    if review:  # a bad rating (差评) opened it
        row.reviews += 1
        row.reviews_fixed += review.get("state") == "fixed"
    flagged = ((case["flags"] or {}).get("sla") or {}).get("deferrals") or {}
    deferred = any(m.get("state") == "deferred" for m in case["materials"] or [])
    if flagged or deferred:
        row.with_deferrals += 1
        row.overdue_deferrals += bool(flagged)


async def _work(path: str, lo: datetime, hi: datetime, rows_for: Any) -> None:
    units = {u["code"]: u["path"] for u in await Unit.select(Unit.code, Unit.path).where(under(Unit.path, path))}
    claims: list[dict[str, Any]] = []
    last = 0
    while True:
        batch = (
            await CaseEvent.select(
                CaseEvent.id,
                CaseEvent.case_id,
                CaseEvent.version,
                CaseEvent.action,
                CaseEvent.actor_unit,
                CaseEvent.reason,
                CaseEvent.at,
            )
            .where(
                (CaseEvent.at >= lo)
                & (CaseEvent.at < hi)
                & CaseEvent.action.is_in(["claim", "return", "escalate"])
                & (CaseEvent.id > last)
            )
            .order_by(CaseEvent.id)
            .limit(BATCH)
        )
        if not batch:
            break
        last = batch[-1]["id"]
        for event in batch:
            unit_path = units.get(event["actor_unit"] or "")
            if unit_path is None:
                continue
            if event["action"] == "claim":
                claims.append({**event, "path": unit_path})
                continue
            for acc in rows_for(unit_path):
                if event["action"] == "return":
                    acc.row.returns += 1
                else:
                    acc.row.escalations += 1
                    acc.row.auto_escalations += event["reason"] in SLA_REASONS
    await _claim_times(claims, rows_for)


async def _claim_times(claims: list[dict[str, Any]], rows_for: Any) -> None:
    """Time from joining a queue (the latest earlier event that left the case queued) to the claim."""
    for start in range(0, len(claims), BATCH):
        chunk = claims[start : start + BATCH]
        ids = list({c["case_id"] for c in chunk})
        queued: dict[Any, list[tuple[int, datetime]]] = {}
        history = (
            await CaseEvent.select(CaseEvent.case_id, CaseEvent.version, CaseEvent.at, CaseEvent.after)
            .where(CaseEvent.case_id.is_in(ids))
            .order_by(CaseEvent.version)
            .output(load_json=True)
        )
        for e in history:
            if (e["after"] or {}).get("status") == Status.QUEUED.value:
                queued.setdefault(e["case_id"], []).append((e["version"], e["at"]))
        for claim in chunk:
            entries = [at for v, at in queued.get(claim["case_id"], []) if v < claim["version"]]
            if not entries:
                continue
            hours = (claim["at"] - entries[-1]).total_seconds() / 3600
            for acc in rows_for(claim["path"]):
                acc.row.claims += 1
                acc.claim_hours.append(hours)


def _finish(acc: _Acc) -> ReportRow:
    row = acc.row
    row.by_status = {s.value: acc.status[s.value] for s in Status}
    row.by_kind = {k.value: acc.kind[k.value] for k in CaseKind}
    row.by_item = dict(sorted(acc.item.items()))
    row.ratings = {str(r): acc.rating[r] for r in range(1, 6)}
    rated = sum(acc.rating.values())
    row.mean_rating = round(sum(r * n for r, n in acc.rating.items()) / rated, 2) if rated else None
    row.on_time_rate = _rate(row.on_time, row.resolved)
    row.escalation_rate = _rate(row.escalated_cases, row.cases)
    row.reopen_rate = _rate(row.reopened, acc.ever_resolved)
    row.bad_rating_fix_rate = _rate(row.reviews_fixed, row.reviews)
    row.overdue_deferral_rate = _rate(row.overdue_deferrals, row.with_deferrals)
    row.median_claim_hours = round(statistics.median(acc.claim_hours), 2) if acc.claim_hours else None
    return row
