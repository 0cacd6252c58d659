"""A case's due time, recomputed from its event history.

The clock starts at acceptance (the first sync or online create), never at a claim.
Waiting for the applicant pauses it, credited in whole working days and at most
:data:`MAX_PAUSE_WORKING_DAYS` per case; one approved extension (延期) adds its days.
Because the due time is always derived from the history, a pause, a move between
units or a replayed offline event never loses or gains time.

Who may pause or extend, and that an extension is approved before breach, is checked by
the case status machine; this module only does the arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from hierarchy.calendar import add_working_days, local_date, span_known, working_days_between
from hierarchy.errors import InvalidInput

__all__ = [
    "MAX_PAUSE_WORKING_DAYS",
    "SlaEvent",
    "SlaEventKind",
    "SlaState",
    "compute_sla",
    "working_days_left",
]

MAX_PAUSE_WORKING_DAYS = 5
"""Most working days a case's clock may be paused in total (SPEC §4)."""

SlaEventKind = Literal["pause", "resume", "extend"]


@dataclass(frozen=True, slots=True)
class SlaEvent:
    """One clock-relevant event of a case's history.

    Attributes:
        at: When it happened; timezone-aware.
        kind: ``pause`` (waiting for the applicant), ``resume`` or ``extend`` (an
            approved extension).
        days: Working days granted by an ``extend``; ignored for the other kinds.
    """

    at: datetime
    kind: SlaEventKind
    days: int = 0

    def __post_init__(self) -> None:
        local_date(self.at)  # rejects a naive time now rather than deep in a sweep
        if self.days < 0:
            raise InvalidInput("sla.event_invalid", "An extension cannot be negative.", days=self.days)


@dataclass(frozen=True, slots=True)
class SlaState:
    """Where a case's clock stands.

    Attributes:
        due_at: The due time, in Beijing time.
        paused: The clock was paused at the end of the history.
        paused_working_days: Working days credited for pauses, capped at
            :data:`MAX_PAUSE_WORKING_DAYS`.
        extended_days: Working days added by the (single) extension.
        estimated: The holiday data does not cover some day the computation used, so
            ``due_at`` assumes Monday to Friday for those days.
        open_weekends: The calendar the state was computed on, kept so the helpers
            below count days the same way.
    """

    due_at: datetime
    paused: bool
    paused_working_days: int
    extended_days: int
    estimated: bool
    open_weekends: bool = False


def compute_sla(
    accepted_at: datetime,
    promised_days: int,
    open_weekends: bool,
    events: Iterable[SlaEvent],
    *,
    now: datetime | None = None,
) -> SlaState:
    """Compute a case's due time from its acceptance and its clock events.

    Rules:
        - A ``pause`` while paused and a ``resume`` while running are ignored, so a
          replayed event changes nothing.
        - A pause is credited with the working days between pause and resume (see
          :func:`~hierarchy.calendar.working_days_between`); a pause still open is
          credited up to ``now`` if given, else not at all.
        - Credited pauses are capped at :data:`MAX_PAUSE_WORKING_DAYS` in total.
        - Only the first ``extend`` counts; a case is extended at most once.
        - ``due_at = add_working_days(accepted_at, promised + credited + extension)``,
          which is never before ``accepted_at``.

    Args:
        accepted_at: When the case was accepted; timezone-aware.
        promised_days: The item's promised limit in working days, 0 or more.
        open_weekends: The owner unit keeps weekends open (周末不打烊).
        events: The clock events, in any order; they are sorted by time, keeping the
            given order for equal times.
        now: The current time, to credit a pause that is still open. Pass it whenever
            the state decides overdue (:func:`hierarchy.breaches.is_overdue`) or :func:`working_days_left`.

    Raises:
        InvalidInput: ``sla.promised_days_invalid`` for a negative limit,
            ``calendar.naive_datetime`` for a time without timezone.
    """
    if promised_days < 0:
        raise InvalidInput(
            "sla.promised_days_invalid",
            "A promised time limit cannot be negative.",
            promised_days=promised_days,
        )
    local_date(accepted_at)
    paused_since: datetime | None = None
    credited = 0
    extension: int | None = None
    last_seen = accepted_at

    def credit(since: datetime, until: datetime) -> None:
        nonlocal credited
        days = working_days_between(since, until, open_weekends=open_weekends)
        credited = min(MAX_PAUSE_WORKING_DAYS, credited + days)

    for event in sorted(events, key=lambda e: e.at):
        # Offline devices may stamp events before the server accepted the case; the
        # clock did not run then, so nothing before acceptance can be credited.
        at = max(event.at, accepted_at)
        last_seen = max(last_seen, at)
        if event.kind == "pause":
            if paused_since is None:
                paused_since = at
        elif event.kind == "resume":
            if paused_since is not None:
                credit(paused_since, at)
                paused_since = None
        elif extension is None:
            extension = event.days

    paused = paused_since is not None
    if paused_since is not None and now is not None:
        credit(paused_since, now)
        last_seen = max(last_seen, now)

    extended_days = extension or 0
    due_at = add_working_days(accepted_at, promised_days + credited + extended_days, open_weekends=open_weekends)
    return SlaState(
        due_at=due_at,
        paused=paused,
        paused_working_days=credited,
        extended_days=extended_days,
        estimated=not span_known(local_date(accepted_at), local_date(max(due_at, last_seen))),
        open_weekends=open_weekends,
    )


def working_days_left(state: SlaState, now: datetime) -> int:
    """Working days from ``now`` to the due date.

    Returns:
        A positive count while time remains, 0 when the case is due today (or became
        overdue earlier today), and minus the working days elapsed since the due date
        when overdue.
    """
    if now <= state.due_at:
        return working_days_between(now, state.due_at, open_weekends=state.open_weekends)
    return -working_days_between(state.due_at, now, open_weekends=state.open_weekends)
