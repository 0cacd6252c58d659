"""China's working-day calendar, used for every promised time limit (承诺时限).

Public holidays and make-up working days (调休) come from the maintained
``chinese_calendar`` package rather than a hand-kept list. That package only knows the
years the State Council had published at its release; a year published since can be
taught with :func:`learn` (from a validated arrangement file, see
:mod:`hierarchy.arrangement`), and it then takes precedence. For any other year we fall
back to Monday to Friday and say so through :func:`calendar_known`, so a due time can
be flagged as an estimate instead of silently pretending.

All times are timezone-aware; the business day is counted in :data:`TZ`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from hierarchy.arrangement import Arrangement
from hierarchy.errors import InvalidInput

__all__ = [
    "BUSINESS_DAY_END",
    "TZ",
    "add_working_days",
    "calendar_known",
    "forget",
    "is_working_day",
    "learn",
    "learned_years",
    "local_date",
    "span_known",
    "working_days_between",
]

TZ = ZoneInfo("Asia/Shanghai")
"""The business timezone: every unit of the network works on Beijing time."""

BUSINESS_DAY_END = time(18, 0)
"""Local time at which a working day, and so a due time, ends."""

_CACHE_SIZE = 16384  # about 20 years of days for both open_weekends values


def local_date(moment: datetime) -> date:
    """Return the calendar date of ``moment`` in :data:`TZ`.

    Raises:
        InvalidInput: ``calendar.naive_datetime`` if ``moment`` has no timezone; guessing
            one would shift due times by hours on servers that do not run on Beijing time.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(
            "calendar.naive_datetime",
            "Times must carry a timezone.",
            value=moment.isoformat(),
        )
    return moment.astimezone(TZ).date()


def _as_date(day: date) -> date:
    # A datetime is a date subclass: reduce it to its Beijing date so the cache key and
    # the library both see a plain date.
    if isinstance(day, datetime):
        return local_date(day)
    return day


#: Years taught by :func:`learn`, ahead of the library.
_LEARNED: dict[int, Arrangement] = {}


def learn(arrangement: Arrangement) -> bool:
    """Use ``arrangement`` for its year from now on; True when that changes anything."""
    if _LEARNED.get(arrangement.year) == arrangement:
        return False
    _LEARNED[arrangement.year] = arrangement
    _calendar_known.cache_clear()
    _is_working_day.cache_clear()
    return True


def forget(year: int) -> None:
    """Stop using a learned arrangement for ``year`` (back to the library's data)."""
    if _LEARNED.pop(year, None) is not None:
        _calendar_known.cache_clear()
        _is_working_day.cache_clear()


def learned_years() -> dict[int, Arrangement]:
    return dict(_LEARNED)


@lru_cache(maxsize=_CACHE_SIZE)
def _calendar_known(day: date) -> bool:
    if day.year in _LEARNED:
        return True
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def calendar_known(day: date) -> bool:
    """Tell whether the holiday data covers ``day``'s year.

    When it does not, :func:`is_working_day` falls back to Monday to Friday and any due
    time that depends on that day is only an estimate.
    """
    return _calendar_known(_as_date(day))


def span_known(first: date, last: date) -> bool:
    """Tell whether the holiday data covers every day from ``first`` to ``last``.

    The library publishes data by whole years, so checking one day per year is exact.
    """
    first, last = _as_date(first), _as_date(last)
    if last < first:
        first, last = last, first
    return all(calendar_known(date(year, 1, 1)) for year in range(first.year, last.year + 1))


@lru_cache(maxsize=_CACHE_SIZE)
def _is_working_day(day: date, open_weekends: bool) -> bool:
    weekend = day.weekday() >= 5
    learned = _LEARNED.get(day.year)
    if learned is not None:
        if day in learned.holidays:
            return False
        return day in learned.workdays or not weekend or open_weekends
    if not _calendar_known(day):
        return open_weekends or not weekend
    if chinese_calendar.is_workday(day):
        # Covers ordinary weekdays and the weekend days that are make-up working days.
        return True
    if open_weekends and weekend:
        # The library marks every weekend as a holiday; only the ones inside a statutory
        # holiday carry a name, and those stay closed even for 周末不打烊 halls.
        _, holiday_name = chinese_calendar.get_holiday_detail(day)
        return holiday_name is None
    return False


def is_working_day(day: date, *, open_weekends: bool = False) -> bool:
    """Tell whether service halls are open on ``day``.

    Args:
        day: A date in :data:`TZ` (an aware datetime is reduced to its Beijing date).
        open_weekends: The unit keeps weekends open (周末不打烊): a Saturday or Sunday
            that is not part of a statutory holiday counts as a working day.

    Returns:
        True for weekdays that are not public holidays, make-up working days (调休),
        and, with ``open_weekends``, ordinary weekends. Statutory holidays are closed.
        For years the holiday data does not cover, Monday to Friday (plus weekends if
        ``open_weekends``).
    """
    return _is_working_day(_as_date(day), open_weekends)


def _next_working_day(day: date, open_weekends: bool) -> date:
    day += timedelta(days=1)
    while not _is_working_day(day, open_weekends):
        day += timedelta(days=1)
    return day


def add_working_days(start: datetime, days: int, *, open_weekends: bool = False) -> datetime:
    """Compute the due time of a limit of ``days`` working days from ``start``.

    The rule follows Chinese promised-time-limit practice: the acceptance day itself is
    not counted, so the due time is :data:`BUSINESS_DAY_END` (18:00 Beijing time) on the
    ``days``-th working day *after* the acceptance date. Accepting on a non-working day
    changes nothing: counting starts from the next working day all the same. A limit of
    0 (即办件) is due at the end of the acceptance day, or at ``start`` itself if that is
    already later, so a due time is never before its start.

    Only whole days are supported; the catalogue promises limits in whole working days.

    Args:
        start: The acceptance time; must be timezone-aware.
        days: The number of working days, 0 or more.
        open_weekends: Count ordinary weekends as working days (see
            :func:`is_working_day`).

    Returns:
        The due time, in :data:`TZ`.

    Raises:
        InvalidInput: ``calendar.days_invalid`` for a negative limit,
            ``calendar.naive_datetime`` for a start without timezone.
    """
    if days < 0:
        raise InvalidInput("calendar.days_invalid", "A time limit cannot be negative.", days=days)
    day = local_date(start)
    for _ in range(days):
        day = _next_working_day(day, open_weekends)
    due = datetime.combine(day, BUSINESS_DAY_END, tzinfo=TZ)
    return max(due, start.astimezone(TZ))


def working_days_between(a: datetime, b: datetime, *, open_weekends: bool = False) -> int:
    """Count the working days ``d`` with ``a``'s date < ``d`` <= ``b``'s date.

    Dates are taken in :data:`TZ`. Used to measure how long a clock was paused and how
    far past its due time a case is. Returns 0 when ``b`` is not after ``a``.
    """
    first, last = local_date(a), local_date(b)
    count = 0
    day = first + timedelta(days=1)
    while day <= last:
        if _is_working_day(day, open_weekends):
            count += 1
        day += timedelta(days=1)
    return count
