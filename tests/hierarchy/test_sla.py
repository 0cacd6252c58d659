from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hierarchy.calendar import BUSINESS_DAY_END, TZ, add_working_days
from hierarchy.errors import InvalidInput
from hierarchy.sla import (
    MAX_PAUSE_WORKING_DAYS,
    SlaEvent,
    SlaState,
    compute_sla,
    working_days_left,
)

# Dates worked out by hand from chinese_calendar 1.11's 2026 data (see test_calendar).


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def due(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), BUSINESS_DAY_END, tzinfo=TZ)


ACCEPTED = at("2026-11-02T09:00")  # a Monday with no holiday for weeks


def test_no_events_is_the_promised_limit() -> None:
    state = compute_sla(ACCEPTED, 3, False, [])
    assert state == SlaState(
        due_at=due("2026-11-05"),
        paused=False,
        paused_working_days=0,
        extended_days=0,
        estimated=False,
        open_weekends=False,
    )


def test_pause_is_credited_in_working_days() -> None:
    # Paused Tue 11-03, resumed Mon 11-09: Wed, Thu, Fri, Mon = 4 working days.
    events = [SlaEvent(at("2026-11-03T10:00"), "pause"), SlaEvent(at("2026-11-09T10:00"), "resume")]
    state = compute_sla(ACCEPTED, 3, False, events)
    assert state.paused_working_days == 4
    assert not state.paused
    # 3 + 4 = 7 working days after Mon 11-02.
    assert state.due_at == due("2026-11-11")


def test_pauses_are_capped_at_five_working_days_in_total() -> None:
    events = [
        SlaEvent(at("2026-11-03T10:00"), "pause"),
        SlaEvent(at("2026-11-06T10:00"), "resume"),  # Wed, Thu, Fri = 3
        SlaEvent(at("2026-11-09T10:00"), "pause"),
        SlaEvent(at("2026-11-13T10:00"), "resume"),  # Tue..Fri = 4, only 2 left
    ]
    state = compute_sla(ACCEPTED, 3, False, events)
    assert state.paused_working_days == MAX_PAUSE_WORKING_DAYS
    assert state.due_at == add_working_days(ACCEPTED, 3 + MAX_PAUSE_WORKING_DAYS)


def test_open_pause_is_credited_up_to_now() -> None:
    events = [SlaEvent(at("2026-11-03T10:00"), "pause")]
    without_now = compute_sla(ACCEPTED, 3, False, events)
    assert without_now.paused and without_now.paused_working_days == 0
    state = compute_sla(ACCEPTED, 3, False, events, now=at("2026-11-05T10:00"))
    assert state.paused and state.paused_working_days == 2
    assert state.due_at == due("2026-11-09")
    assert not at("2026-11-05T10:00") > state.due_at  # not overdue


def test_capped_waiting_case_can_become_overdue() -> None:
    events = [SlaEvent(at("2026-11-03T10:00"), "pause")]
    now = at("2026-11-30T10:00")
    state = compute_sla(ACCEPTED, 3, False, events, now=now)
    assert state.paused_working_days == MAX_PAUSE_WORKING_DAYS
    assert now > state.due_at  # overdue


def test_repeated_pause_and_stray_resume_change_nothing() -> None:
    events = [
        SlaEvent(at("2026-11-02T12:00"), "resume"),
        SlaEvent(at("2026-11-03T10:00"), "pause"),
        SlaEvent(at("2026-11-04T10:00"), "pause"),
        SlaEvent(at("2026-11-05T10:00"), "resume"),
        SlaEvent(at("2026-11-06T10:00"), "resume"),
    ]
    assert compute_sla(ACCEPTED, 3, False, events).paused_working_days == 2


def test_only_the_first_extension_counts() -> None:
    events = [
        SlaEvent(at("2026-11-04T10:00"), "extend", days=5),
        SlaEvent(at("2026-11-05T10:00"), "extend", days=10),
    ]
    state = compute_sla(ACCEPTED, 3, False, list(reversed(events)))
    assert state.extended_days == 5
    assert state.due_at == add_working_days(ACCEPTED, 8)


def test_events_before_acceptance_are_not_credited() -> None:
    # An offline device stamped the pause before the server accepted the case.
    events = [SlaEvent(at("2026-10-26T10:00"), "pause"), SlaEvent(at("2026-11-03T10:00"), "resume")]
    assert compute_sla(ACCEPTED, 3, False, events).paused_working_days == 1


def test_open_weekends_follow_through_to_pause_credit() -> None:
    # Paused Fri 11-06, resumed Mon 11-09: Sat, Sun, Mon with open weekends.
    events = [SlaEvent(at("2026-11-06T10:00"), "pause"), SlaEvent(at("2026-11-09T10:00"), "resume")]
    assert compute_sla(ACCEPTED, 3, True, events).paused_working_days == 3
    assert compute_sla(ACCEPTED, 3, False, events).paused_working_days == 1


def test_due_time_in_2027_is_flagged_estimated() -> None:
    assert compute_sla(at("2026-12-28T09:00"), 3, False, []).estimated is False
    state = compute_sla(at("2026-12-28T09:00"), 5, False, [])
    assert state.estimated
    # Tue 29, Wed 30, Thu 31, then fallback Fri 2027-01-01 and Mon 01-04.
    assert state.due_at == due("2027-01-04")


def test_days_left_and_overdue() -> None:
    state = compute_sla(ACCEPTED, 3, False, [])  # due Thu 11-05 18:00
    assert working_days_left(state, at("2026-11-02T10:00")) == 3
    assert working_days_left(state, at("2026-11-05T10:00")) == 0
    assert not at("2026-11-05T17:59") > state.due_at
    assert at("2026-11-05T18:01") > state.due_at
    assert working_days_left(state, at("2026-11-09T10:00")) == -2  # Fri, Mon


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        compute_sla(ACCEPTED, -1, False, [])
    assert caught.value.code == "sla.promised_days_invalid"
    with pytest.raises(InvalidInput) as caught:
        SlaEvent(ACCEPTED, "extend", days=-2)
    assert caught.value.code == "sla.event_invalid"
    with pytest.raises(InvalidInput) as caught:
        SlaEvent(datetime(2026, 11, 3, 10), "pause")
    assert caught.value.code == "calendar.naive_datetime"


offsets = st.integers(-3 * 24 * 60, 60 * 24 * 60)  # minutes from acceptance
event_lists = st.lists(
    st.builds(
        lambda minutes, kind, days: SlaEvent(ACCEPTED + timedelta(minutes=minutes), kind, days),
        offsets,
        st.sampled_from(["pause", "resume", "extend"]),
        st.integers(0, 30),
    ),
    max_size=12,
)


@given(st.integers(0, 30), st.booleans(), event_lists, st.none() | offsets)
def test_sla_invariants(promised: int, open_weekends: bool, events: list[SlaEvent], now_offset: int | None) -> None:
    now = None if now_offset is None else ACCEPTED + timedelta(minutes=now_offset)
    state = compute_sla(ACCEPTED, promised, open_weekends, events, now=now)
    assert state.due_at >= ACCEPTED
    assert 0 <= state.paused_working_days <= MAX_PAUSE_WORKING_DAYS
    extensions = [e for e in sorted(events, key=lambda e: e.at) if e.kind == "extend"]
    assert state.extended_days == (extensions[0].days if extensions else 0)
    assert state.due_at == add_working_days(
        ACCEPTED, promised + state.paused_working_days + state.extended_days, open_weekends=open_weekends
    )
    # Pausing never costs time: dropping the pause events never gives a later due time.
    unpaused = compute_sla(ACCEPTED, promised, open_weekends, [e for e in events if e.kind == "extend"])
    assert unpaused.due_at <= state.due_at
