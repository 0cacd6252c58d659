"""A year's official holiday arrangement (节假日安排), loaded ahead of the library.

The State Council publishes the next year's holidays and make-up working days (调休)
each autumn; ``chinese_calendar`` learns them with its next release. An admin can load
the published arrangement from a small dated file as soon as it is out (``daiban
calendar import FILE``); :func:`parse` validates it and :func:`hierarchy.calendar.learn`
makes every working-day count use it, so due times in that year stop being estimates.

The file is JSON::

    {"year": 2027, "published": "2026-11-12", "source": "国办发明电〔2026〕X号",
     "holidays": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"}, …],
     "workdays": [{"name": "春节", "date": "2027-02-07"}, …]}

Rules checked: every date lies in ``year``; a holiday range runs forward and lasts at
most :data:`MAX_HOLIDAY_DAYS` days; holidays do not overlap; a make-up working day is a
Saturday or Sunday outside every holiday; names are not empty; ``published`` is before
the year ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import msgspec

from hierarchy.errors import InvalidInput

MAX_HOLIDAY_DAYS = 10


class HolidaySpan(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")


class MakeUpDay(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    date: date


class ArrangementFile(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    year: int
    published: date
    source: str = ""
    holidays: list[HolidaySpan]
    workdays: list[MakeUpDay] = []


@dataclass(frozen=True, slots=True)
class Arrangement:
    """A validated year: holiday dates with their names, and the make-up working days."""

    year: int
    published: date
    source: str
    holidays: dict[date, str]
    workdays: frozenset[date]

    def to_file(self) -> ArrangementFile:
        """Back to the file's shape (one span per day), for storage."""
        return ArrangementFile(
            year=self.year,
            published=self.published,
            source=self.source,
            holidays=[HolidaySpan(name=n, start=d, end=d) for d, n in sorted(self.holidays.items())],
            workdays=[MakeUpDay(name="调休", date=d) for d in sorted(self.workdays)],
        )


def _invalid(message: str, **data: object) -> InvalidInput:
    return InvalidInput("calendar.arrangement_invalid", message, **data)


def parse(raw: bytes | str) -> Arrangement:
    """Decode and validate an arrangement file.

    Raises:
        InvalidInput: ``calendar.arrangement_invalid`` with what is wrong.
    """
    try:
        data = msgspec.json.decode(raw, type=ArrangementFile)
    except msgspec.ValidationError as exc:
        raise _invalid(f"the arrangement file does not have the expected shape: {exc}") from None
    except msgspec.DecodeError as exc:
        raise _invalid(f"the arrangement file is not JSON: {exc}") from None
    return validate(data)


def validate(data: ArrangementFile) -> Arrangement:
    year = data.year
    if not 2000 <= year <= 2100:
        raise _invalid("the year is out of range", year=year)
    if data.published > date(year, 12, 31):
        raise _invalid("an arrangement is published before its year ends", published=str(data.published))
    if not data.holidays:
        raise _invalid("an arrangement lists its holidays", year=year)
    holidays: dict[date, str] = {}
    for span in data.holidays:
        if not span.name.strip():
            raise _invalid("every holiday has a name", start=str(span.start))
        if span.end < span.start or (span.end - span.start).days >= MAX_HOLIDAY_DAYS:
            raise _invalid("a holiday runs forward and lasts at most ten days", name=span.name)
        day = span.start
        while day <= span.end:
            if day.year != year:
                raise _invalid("every holiday lies in the arrangement's year", name=span.name, day=str(day))
            if day in holidays:
                raise _invalid("holidays overlap", day=str(day))
            holidays[day] = span.name.strip()
            day += timedelta(days=1)
    workdays: set[date] = set()
    for extra in data.workdays:
        if extra.date.year != year:
            raise _invalid("every make-up working day lies in the arrangement's year", day=str(extra.date))
        if extra.date.weekday() < 5:
            raise _invalid("a make-up working day (调休) is a Saturday or a Sunday", day=str(extra.date))
        if extra.date in holidays:
            raise _invalid("a make-up working day cannot be a holiday", day=str(extra.date))
        workdays.add(extra.date)
    return Arrangement(
        year=year, published=data.published, source=data.source, holidays=holidays, workdays=frozenset(workdays)
    )
