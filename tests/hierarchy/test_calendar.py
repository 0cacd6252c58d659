from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hierarchy.calendar import (
    BUSINESS_DAY_END,
    TZ,
    add_working_days,
    calendar_known,
    is_working_day,
    local_date,
    span_known,
    working_days_between,
)
from hierarchy.errors import InvalidInput

# Expected dates below are worked out by hand from chinese_calendar 1.11's 2026 data:
#   中秋 Fri 09-25 .. Sun 09-27 closed; 国庆 Thu 10-01 .. Wed 10-07 closed (10-08 is a
#   normal Thursday); make-up working days Sun 09-20 and Sat 10-10.


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def due(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), BUSINESS_DAY_END, tzinfo=TZ)


@pytest.mark.parametrize("day", [date(2026, 10, d) for d in range(1, 8)])
def test_national_day_2026_is_closed(day: date) -> None:
    assert not is_working_day(day)
    assert not is_working_day(day, open_weekends=True)


def test_day_after_national_day_2026_is_open() -> None:
    assert is_working_day(date(2026, 10, 8))


@pytest.mark.parametrize("day", [date(2026, 9, 20), date(2026, 10, 10)])
def test_national_day_make_up_weekend_days_are_working(day: date) -> None:
    assert day.weekday() >= 5
    assert is_working_day(day)


@pytest.mark.parametrize("day", [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9)])
def test_other_2026_make_up_days_are_working(day: date) -> None:
    assert is_working_day(day)


def test_ordinary_weekend_only_opens_with_open_weekends() -> None:
    saturday = date(2026, 11, 21)
    assert not is_working_day(saturday)
    assert is_working_day(saturday, open_weekends=True)


@pytest.mark.parametrize("day", [date(2026, 9, 26), date(2026, 10, 3), date(2026, 10, 4), date(2026, 2, 21)])
def test_weekends_inside_statutory_holidays_stay_closed_with_open_weekends(day: date) -> None:
    assert not is_working_day(day, open_weekends=True)


@pytest.mark.parametrize(
    ("accepted", "days", "open_weekends", "expected"),
    [
        # Friday before the 09-20 make-up Sunday: Sun 20, Mon 21, Tue 22.
        ("2026-09-18T10:00", 3, False, "2026-09-22"),
        # Accepted on the Mid-autumn holiday itself: Mon 28, Tue 29, Wed 30.
        ("2026-09-25T10:00", 3, False, "2026-09-30"),
        # The day before National Day: Thu 10-08, Fri 10-09, make-up Sat 10-10.
        ("2026-09-30T09:00", 3, False, "2026-10-10"),
        # Open weekends change nothing here: 10-03/04 belong to the holiday.
        ("2026-09-30T09:00", 3, True, "2026-10-10"),
        # Open weekends skip the holiday's Saturday and Sunday too: Mon 28, Tue 29.
        ("2026-09-24T09:00", 2, True, "2026-09-29"),
        # Ordinary weekend with open weekends: Sat 21, Sun 22, Mon 23.
        ("2026-11-20T09:00", 3, True, "2026-11-23"),
        ("2026-11-20T09:00", 3, False, "2026-11-25"),
        # Accepted late in the evening still does not count the acceptance day.
        ("2026-11-26T23:59", 1, False, "2026-11-27"),
    ],
)
def test_add_working_days(accepted: str, days: int, open_weekends: bool, expected: str) -> None:
    assert add_working_days(at(accepted), days, open_weekends=open_weekends) == due(expected)


def test_acceptance_is_read_in_beijing_time() -> None:
    # 23:30 UTC on Thursday is 07:30 Friday in Beijing: one day later is Monday.
    accepted = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    assert add_working_days(accepted, 1) == due("2026-11-30")


def test_zero_days_is_due_tonight_but_never_before_acceptance() -> None:
    assert add_working_days(at("2026-11-26T09:00"), 0) == due("2026-11-26")
    late = at("2026-11-26T20:00")
    assert add_working_days(late, 0) == late


def test_negative_days_and_naive_times_are_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        add_working_days(at("2026-11-26T09:00"), -1)
    assert caught.value.code == "calendar.days_invalid"
    with pytest.raises(InvalidInput) as caught:
        add_working_days(datetime(2026, 11, 26, 9), 1)
    assert caught.value.code == "calendar.naive_datetime"


def test_2027_falls_back_to_weekdays_and_is_flagged() -> None:
    assert calendar_known(date(2026, 12, 31))
    assert not calendar_known(date(2027, 1, 1))
    assert not span_known(date(2026, 12, 1), date(2027, 1, 5))
    assert span_known(date(2025, 12, 1), date(2026, 12, 31))
    # Fallback: Fri 01-01 counts (the data would likely close it), then Mon 4, Tue 5.
    assert add_working_days(at("2026-12-31T10:00"), 3) == due("2027-01-05")
    assert is_working_day(date(2027, 1, 1))
    assert not is_working_day(date(2027, 1, 2))
    assert is_working_day(date(2027, 1, 2), open_weekends=True)


def test_working_days_between() -> None:
    # Thu 09-24 .. Thu 10-08: Mon 28, Tue 29, Wed 30, Thu 10-08.
    assert working_days_between(at("2026-09-24T17:00"), at("2026-10-08T09:00")) == 4
    assert working_days_between(at("2026-10-08T09:00"), at("2026-10-08T17:00")) == 0
    assert working_days_between(at("2026-10-08T09:00"), at("2026-09-24T17:00")) == 0


def test_local_date_converts_to_beijing() -> None:
    assert local_date(datetime(2026, 11, 26, 16, 30, tzinfo=UTC)) == date(2026, 11, 27)


moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(TZ))


@given(moments, st.integers(0, 40), st.booleans())
def test_due_time_counts_exactly_the_promised_working_days(start: datetime, days: int, open_weekends: bool) -> None:
    due_at = add_working_days(start, days, open_weekends=open_weekends)
    assert due_at >= start
    assert working_days_between(start, due_at, open_weekends=open_weekends) == days
    if days:
        assert is_working_day(due_at.date(), open_weekends=open_weekends)
        assert due_at.timetz().replace(tzinfo=None) == BUSINESS_DAY_END


@given(moments, st.integers(0, 20))
def test_open_weekends_is_never_slower(start: datetime, days: int) -> None:
    assert add_working_days(start, days, open_weekends=True) <= add_working_days(start, days)


@given(moments, st.integers(0, 60), st.integers(0, 60))
def test_working_days_between_is_additive(start: datetime, first: int, second: int) -> None:
    middle = start + timedelta(days=first)
    end = middle + timedelta(days=second)
    assert working_days_between(start, end) == working_days_between(start, middle) + working_days_between(middle, end)
