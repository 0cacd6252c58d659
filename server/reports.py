"""Accountability figures (SPEC §4) for a unit and each of its children.

A report covers a period of Beijing calendar days, both ends included. Its ``rows`` are
the unit's whole subtree (``line="total"``, first) and each child's subtree
(``line="child"``); ``own`` is the unit's own line — cases taken at the unit itself and
work done by its own agents — so every count of the total is the own line plus the
children, and the figures drill down city → county → town → village by asking again for
a child. ``agents`` has the work of each agent of the subtree over the period.

Three populations, chosen so that a child's figures always add up into its parent's:

- **Cases taken** in the subtree (origin unit inside it) and accepted in the period:
  counts by status, kind, item and source (channel: village point, hall window, 12345,
  online, 办不成事); open and overdue; the 12345 on-time feedback rate (feedback recorded
  no later than the due time, among 12345 matters resolved); on-time resolution rate
  (resolved no later than the due time, among those resolved); reopen rate (reopened
  at least once, among those ever resolved); escalation rate (escalated at least once);
  bad-rating fix rate (reviews fixed, among bad ratings); overdue 容缺 deferrals (flagged
  by the SLA sweep, among cases with a deferral); the rating distribution.
- **Work done** by agents of the subtree in the period, from the case history: claims
  and the median time to claim (from joining that queue to the claim — the clock that
  bouncing cases runs up), returns (退回) sent, escalations sent and how many of those
  the SLA sweep made.
- **Work held**, attributed to the unit that held the case at that step rather than to
  where it was taken: resolutions made by the unit's agents in the period, and how many
  of them were on time (``held_*``). A village's on-time rate in this view is its own,
  not the delays of the town and county that held its cases later.

Ratings: ``ratings`` is the final rating of each case; ``first_ratings`` keeps the first
one, so a 差评 that a review later turned around still counts where it was given.
"""

from __future__ import annotations

import statistics
from collections import Counter as Tally
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

import msgspec

from hierarchy.breaches import is_overdue, on_time, rate
from hierarchy.calendar import TZ, span_known
from hierarchy.cases import OPEN_STATUSES, Actor, CaseKind, Source, Status
from hierarchy.errors import InvalidInput, NotFound
from hierarchy.ratings import RatingSource
from hierarchy.tree import Level, in_subtree
from server.cases import utc
from server.queries import case_batches, under
from server.report_work import AgentRow, work_done
from server.tables import Case, Unit

BATCH = 2000
MAX_DAYS = 366


Line = Literal["total", "own", "child"]


class ReportRow(msgspec.Struct, kw_only=True):
    unit: str
    name: str
    level: Level
    line: Line = "total"
    cases: int = 0
    open: int = 0
    overdue_open: int = 0
    #: Open cases whose due time is an estimate (it counts days of a year whose holidays
    #: are not known yet).
    estimated_due_open: int = 0
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
    first_ratings: dict[str, int] = {}
    first_mean_rating: float | None = None
    held_resolved: int = 0
    held_on_time: int = 0
    held_on_time_rate: float | None = None
    #: Cases per channel (hierarchy.cases.Source); for 12345: feedback given, on time, rate.
    by_source: dict[str, int] = {}
    hotline_resolved: int = 0
    hotline_feedback: int = 0
    hotline_feedback_on_time: int = 0
    hotline_feedback_on_time_rate: float | None = None
    #: Who recorded the ratings: the applicant with the code, or an agent on their behalf.
    rated_by_applicant: int = 0
    rated_by_agent: int = 0
    #: Closed as 未评价 (never rated): counted apart, never as a good rating.
    unrated: int = 0


class Report(msgspec.Struct, kw_only=True):
    unit: str
    name: str
    period_from: date
    period_to: date
    generated_at: datetime
    rows: list[ReportRow]
    own: ReportRow | None = None
    agents: list[AgentRow] = []

    @property
    def lines(self) -> list[ReportRow]:
        """Total, own line, then the children: the order files print."""
        return [*self.rows[:1], *([self.own] if self.own else []), *self.rows[1:]]


@dataclass(slots=True)
class _Acc:
    """Running totals of one row."""

    row: ReportRow
    status: Tally[str] = field(default_factory=Tally)
    kind: Tally[str] = field(default_factory=Tally)
    item: Tally[str] = field(default_factory=Tally)
    source: Tally[str] = field(default_factory=Tally)
    rating: Tally[int] = field(default_factory=Tally)
    first_rating: Tally[int] = field(default_factory=Tally)
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
    level = Level(top["level"])
    total = _Acc(ReportRow(unit=code, name=top["name"], level=level))
    own = _Acc(ReportRow(unit=code, name=top["name"], level=level, line="own"))
    accs = {
        u["code"]: _Acc(ReportRow(unit=u["code"], name=u["name"], level=Level(u["level"]), line="child"))
        for u in children
    }
    prefix = len(top["path"])

    def rows_for(path: str) -> Iterable[_Acc]:
        yield total
        child = path[prefix:].split("/", 1)[0]
        yield accs.get(child, own)

    await _cases(top["path"], lo, hi, now, rows_for)
    agents = await work_done(top["path"], lo, hi, rows_for)
    return Report(
        unit=code,
        name=top["name"],
        period_from=start,
        period_to=end,
        generated_at=now,
        rows=[_finish(total), *(_finish(a) for a in accs.values())],
        own=_finish(own),
        agents=agents,
    )


async def _cases(path: str, lo: datetime, hi: datetime, now: datetime, rows_for: Any) -> None:
    columns = (
        Case.id, Case.kind, Case.item_code, Case.status, Case.origin_path, Case.due_at, Case.resolved_at,
        Case.escalations, Case.reopens, Case.rating, Case.review, Case.materials, Case.flags,
        Case.accepted_at, Case.promised_days, Case.open_weekends, Case.sla_events, Case.source, Case.feedback,
        Case.rating_source,
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
    acc.source[case["source"]] += 1
    if case["source"] == Source.HOTLINE.value:
        feedback = case["feedback"] or {}
        row.hotline_resolved += case["resolved_at"] is not None or bool(feedback)
        row.hotline_feedback += bool(feedback)
        row.hotline_feedback_on_time += bool(feedback.get("on_time"))
    if status in OPEN_STATUSES:
        row.open += 1
        row.overdue_open += is_overdue(case, now)
        row.estimated_due_open += not span_known(case["accepted_at"], case["due_at"])
    if case["resolved_at"] is not None:
        row.resolved += 1
        row.on_time += on_time(case["resolved_at"], case["due_at"])
    if case["resolved_at"] is not None or case["reopens"]:
        acc.ever_resolved += 1
    row.reopened += bool(case["reopens"])
    row.escalated_cases += bool(case["escalations"])
    review = case["review"] or {}
    if case["rating"] is not None:
        acc.rating[int(case["rating"])] += 1
    first = review.get("rating", case["rating"])
    if first is not None:
        acc.first_rating[int(first)] += 1
    source = case["rating_source"]
    row.rated_by_applicant += source == RatingSource.APPLICANT.value
    row.rated_by_agent += source == RatingSource.AGENT.value
    row.unrated += source == RatingSource.UNRATED.value
    if review:  # a bad rating (差评) opened it
        row.reviews += 1
        row.reviews_fixed += review.get("state") == "fixed"
    flagged = ((case["flags"] or {}).get("sla") or {}).get("deferrals") or {}
    deferred = any(m.get("state") == "deferred" for m in case["materials"] or [])
    if flagged or deferred:
        row.with_deferrals += 1
        row.overdue_deferrals += bool(flagged)


def _finish(acc: _Acc) -> ReportRow:
    row = acc.row
    row.by_status = {s.value: acc.status[s.value] for s in Status}
    row.by_kind = {k.value: acc.kind[k.value] for k in CaseKind}
    row.by_item = dict(sorted(acc.item.items()))
    row.by_source = {s.value: acc.source[s.value] for s in Source}
    # On-time feedback among the 12345 matters that are due one (resolved, or fed back).
    row.hotline_feedback_on_time_rate = rate(row.hotline_feedback_on_time, row.hotline_resolved)
    row.ratings = {str(r): acc.rating[r] for r in range(1, 6)}
    row.mean_rating = _mean(acc.rating)
    row.first_ratings = {str(r): acc.first_rating[r] for r in range(1, 6)}
    row.first_mean_rating = _mean(acc.first_rating)
    row.held_on_time_rate = rate(row.held_on_time, row.held_resolved)
    row.on_time_rate = rate(row.on_time, row.resolved)
    row.escalation_rate = rate(row.escalated_cases, row.cases)
    row.reopen_rate = rate(row.reopened, acc.ever_resolved)
    row.bad_rating_fix_rate = rate(row.reviews_fixed, row.reviews)
    row.overdue_deferral_rate = rate(row.overdue_deferrals, row.with_deferrals)
    row.median_claim_hours = round(statistics.median(acc.claim_hours), 2) if acc.claim_hours else None
    return row


def _mean(tally: Tally[int]) -> float | None:
    rated = sum(tally.values())
    return round(sum(r * n for r, n in tally.items()) / rated, 2) if rated else None
