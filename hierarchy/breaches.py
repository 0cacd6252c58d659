"""The one reading of a case's clock: overdue, on time, about to breach, utilisation.

Every figure that says "overdue" — the case API, the list filter, the SLA sweep, the
workload view, the planner and the reports — asks :func:`is_overdue` here, so a case
waiting for the applicant is overdue (or not) identically everywhere:

- **open** means queued, in progress or waiting for the applicant
  (:data:`~hierarchy.cases.OPEN_STATUSES`);
- **due now** (:func:`effective_due`) is the stored due time, except for a case waiting
  for the applicant, whose pause in progress is credited up to now (within the pause
  cap), recomputed from its history;
- **overdue** = open and past its due time now;
- **about to breach** = open, not overdue, and at most one working day left;
- **on time** = resolved no later than the due time;
- **utilisation** = active cases / capacity (None without capacity).

The breach rules of the SLA sweep are here too, as pure functions of a case row and the
time: the sweep (``server.jobs.sweep``) acts on what :func:`assess` finds. Handled
breaches are recorded under ``flags["sla"]``, each under a key naming that very breach
(the due time, or the queue entry), so a breach is acted on once and a new one (a new
due time, a new queue) is seen afresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal

import msgspec

from hierarchy.calendar import TZ, add_working_days, local_date, working_days_between
from hierarchy.cases import OPEN_VALUES, Status
from hierarchy.sla import MAX_PAUSE_WORKING_DAYS, SlaEvent, compute_sla

#: The columns of a case row the functions here read.
CLOCK_COLUMNS = ("status", "due_at", "accepted_at", "promised_days", "open_weekends", "sla_events")

BreachKind = Literal["unclaimed", "overdue", "warned"]


@dataclass(frozen=True, slots=True)
class Breach:
    """What the sweep must do about one case; ``key`` names the breach in the flags."""

    kind: BreachKind
    key: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class UnitClock:
    response_days: int
    open_weekends: bool


Row = Mapping[str, Any]


def sla_flags(row: Row) -> dict[str, Any]:
    return dict((row.get("flags") or {}).get("sla") or {})


@lru_cache(maxsize=4096)  # due times cluster at 18:00 of a few days
def _key(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def effective_due(row: Row, now: datetime) -> tuple[datetime, bool]:
    """The due time at ``now`` and whether the clock is stopped by a pause under its cap.

    The stored due time of a case waiting for the applicant does not yet credit the
    pause in progress; it is recomputed from the history here.
    """
    if row["status"] != Status.WAITING_APPLICANT.value:
        return row["due_at"], False
    events = msgspec.convert(row["sla_events"] or [], list[SlaEvent])
    state = compute_sla(row["accepted_at"], row["promised_days"], row["open_weekends"], events, now=now)
    return state.due_at, state.paused and state.paused_working_days < MAX_PAUSE_WORKING_DAYS


def is_open(row: Row) -> bool:
    return row["status"] in OPEN_VALUES


def is_overdue(row: Row, now: datetime) -> bool:
    """Open and past its due time now (a waiting case's due time credits its pause)."""
    return is_open(row) and now > effective_due(row, now)[0]


def about_to_breach(row: Row, now: datetime) -> bool:
    """Open, not yet overdue, and at most one working day left on a running clock."""
    if not is_open(row):
        return False
    due, stopped = effective_due(row, now)
    if stopped or now > due:
        return False
    return working_days_between(now, due, open_weekends=row["open_weekends"]) <= 1


def on_time(resolved_at: datetime, due_at: datetime) -> bool:
    """A resolution no later than the due time."""
    return resolved_at <= due_at


def utilisation(active: int, capacity: int) -> float | None:
    """Active cases per unit of capacity; None when there is no capacity to measure."""
    return round(active / capacity, 4) if capacity > 0 else None


def rate(part: int, whole: int) -> float | None:
    """A share, None when there is nothing to measure (the on-time rate of no resolution)."""
    return round(part / whole, 4) if whole else None


def assess(row: Row, now: datetime, clock: UnitClock | None) -> Breach | None:
    """The breach the sweep should act on for this case now, or None.

    Overdue comes first (it is the graver breach); a queued case is then checked for an
    unclaimed queue entry; an assigned case on a running clock for the last-day warning.
    """
    flags = sla_flags(row)
    due, stopped = effective_due(row, now)
    if is_open(row) and now > due and flags.get("overdue") != _key(due):
        return Breach("overdue", _key(due), due)
    if row["status"] == Status.QUEUED.value:
        if clock is None:
            return None
        deadline = add_working_days(row["queued_at"], max(1, clock.response_days), open_weekends=clock.open_weekends)
        key = f"{row['owner_unit']}@{_key(row['queued_at'])}"
        if now > deadline and flags.get("unclaimed") != key:
            return Breach("unclaimed", key, due)
        return None
    if row["assignee_id"] is None or stopped or now > due:
        return None
    if working_days_between(now, due, open_weekends=row["open_weekends"]) <= 1 and flags.get("warned") != _key(due):
        return Breach("warned", _key(due), due)
    return None


def warn_horizon(now: datetime) -> datetime:
    """Midnight after the next working day: every due time warned about lies before it.

    Counted without open weekends, the later of the two calendars, so the scan is a
    superset for both.
    """
    next_day = local_date(add_working_days(now, 1, open_weekends=False))
    return datetime.combine(next_day + timedelta(days=1), datetime.min.time(), tzinfo=TZ)


def unclaimed_horizon(now: datetime) -> datetime:
    """Nothing queued from this moment on can be past its response time at ``now``.

    Response times are at least one working day and end at 18:00, so a case queued on
    day D is late only once 18:00 of the working day after D has passed. Counted with
    open weekends, the earliest deadlines, so the bound holds for every unit.
    """
    day = local_date(now)
    while add_working_days(datetime.combine(day, time.min, tzinfo=TZ), 1, open_weekends=True) >= now:
        day -= timedelta(days=1)
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=TZ)


def overdue_deferrals(row: Row, today: date) -> dict[str, str]:
    """Deferred materials past their due date and not yet flagged: code → due date."""
    flagged = sla_flags(row).get("deferrals") or {}
    out: dict[str, str] = {}
    for m in row.get("materials") or []:
        if m.get("state") != "deferred" or not m.get("due"):
            continue
        try:
            due = date.fromisoformat(str(m["due"]))
        except ValueError:
            continue
        if due < today and flagged.get(str(m["code"])) != due.isoformat():
            out[str(m["code"])] = due.isoformat()
    return out
