"""A year's holiday arrangement: validated, then used by the working-day calendar."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from hierarchy.arrangement import parse
from hierarchy.calendar import TZ, add_working_days, calendar_known, forget, is_working_day, learn
from hierarchy.errors import InvalidInput

GOOD = {
    "year": 2027,
    "published": "2026-11-12",
    "holidays": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"}],
    "workdays": [{"name": "元旦调休", "date": "2027-01-09"}],
}


@pytest.mark.parametrize(
    "change",
    [
        {"workdays": [{"name": "调休", "date": "2027-01-05"}]},  # a Tuesday is no make-up day
        {"holidays": [{"name": "元旦", "from": "2027-01-03", "to": "2027-01-01"}]},  # backwards
        {"holidays": [{"name": "元旦", "from": "2026-12-31", "to": "2027-01-01"}]},  # another year
        {"holidays": [{"name": "", "from": "2027-01-01", "to": "2027-01-01"}]},  # no name
        {"holidays": []},
        {"published": "2028-01-01"},
        {"surprise": 1},
    ],
)
def test_a_malformed_arrangement_is_refused(change: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(json.dumps({**GOOD, **change}))
    assert caught.value.code == "calendar.arrangement_invalid"


def test_a_learned_year_counts_its_holidays_and_make_up_days() -> None:
    arrangement = parse(json.dumps(GOOD))
    assert not calendar_known(date(2027, 1, 1)) and is_working_day(date(2027, 1, 1))
    try:
        assert learn(arrangement) and not learn(arrangement)  # the second time changes nothing
        assert calendar_known(date(2027, 6, 1))
        assert not is_working_day(date(2027, 1, 1)) and is_working_day(date(2027, 1, 9))
        # Thursday 31 December 2026 + 2 working days: Monday 4, Tuesday 5 January.
        start = datetime(2026, 12, 31, 10, 0, tzinfo=TZ)
        assert add_working_days(start, 2).date() == date(2027, 1, 5)
    finally:
        forget(2027)
    assert is_working_day(date(2027, 1, 1))
