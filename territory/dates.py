"""Dates as the tool understands them: a calendar day, "the map as of the end of D".

Every entry point (TOML files, the Python API, the CLI) passes what it was given
through `as_date`, so a ``datetime``, a ``pandas.Timestamp``, a
``numpy.datetime64`` or a TOML date-time either becomes a date or is refused
with one clear line, never a traceback.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from territory.errors import DataError

_HINT = "write it as YYYY-MM-DD, e.g. 2025-08-15"


def as_date(value: Any, *, what: str = "date") -> dt.date:
    """Return `value` as a `datetime.date`, or raise `DataError` naming `what`.

    Accepted: a date; an ISO string ``YYYY-MM-DD``; a ``datetime`` (including
    ``pandas.Timestamp`` and TOML date-times) or ``numpy.datetime64`` at
    midnight.  A date-time with a time of day is refused: "as of D" is the map
    at the end of day D, so 10:00 on D would be ambiguous.

    Examples
    --------
    >>> as_date("2025-08-15")
    datetime.date(2025, 8, 15)
    >>> as_date(dt.datetime(2025, 8, 15))
    datetime.date(2025, 8, 15)
    >>> as_date(dt.datetime(2025, 8, 15, 10))
    Traceback (most recent call last):
    ...
    territory.errors.DataError: date 2025-08-15 10:00:00 has a time of day; give the day alone (the map as of the end of that day), e.g. 2025-08-15
    """
    if type(value).__name__ == "datetime64":  # numpy, without importing it
        if str(value) == "NaT":
            msg = f"{what} is NaT (not a time); {_HINT}"
            raise DataError(msg)
        value = value.astype("datetime64[us]").item()
    if isinstance(value, dt.datetime):
        if str(value) == "NaT":  # pandas.NaT is a datetime subclass
            msg = f"{what} is NaT (not a time); {_HINT}"
            raise DataError(msg)
        if value.time() != dt.time(0, 0):
            msg = (
                f"{what} {value} has a time of day; give the day alone (the map as of "
                f"the end of that day), e.g. {value.date().isoformat()}"
            )
            raise DataError(msg)
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            msg = f"{what} {value!r} is not an ISO date; {_HINT}"
            raise DataError(msg) from None
    msg = f"{what} is {value!r} ({type(value).__name__}); {_HINT}"
    raise DataError(msg)


def check_step(every_days: object) -> None:
    """Raise `DataError` unless `every_days` is a whole number of days, at least 1.

    >>> check_step(7)
    >>> check_step(1.5)
    Traceback (most recent call last):
    ...
    territory.errors.DataError: every_days is 1.5; give a step of at least 1 day (an integer)
    """
    if (
        isinstance(every_days, bool)
        or not isinstance(every_days, int)
        or every_days < 1
    ):
        msg = (
            f"every_days is {every_days!r}; give a step of at least 1 day (an integer)"
        )
        raise DataError(msg)


def check_span(start: dt.date, end: dt.date, *, one_day: bool = True) -> None:
    """Raise `DataError` unless `start` … `end` is a span of dates in order.

    With `one_day` false, a span must run over at least two dates (a rate
    over it needs a first and a last map).

    >>> check_span(dt.date(2025, 1, 1), dt.date(2025, 1, 1))
    >>> check_span(dt.date(2025, 2, 1), dt.date(2025, 1, 1))
    Traceback (most recent call last):
    ...
    territory.errors.DataError: start 2025-02-01 is after end 2025-01-01; give the earlier date as the start (--start) and the later as the end (--end)
    """
    if start > end:
        msg = (
            f"start {start} is after end {end}; give the earlier date as the start "
            "(--start) and the later as the end (--end)"
        )
        raise DataError(msg)
    if start == end and not one_day:
        msg = (
            f"start and end are both {start}; a rate needs a span of days: "
            "give an earlier --start or a later --end"
        )
        raise DataError(msg)
