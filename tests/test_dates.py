"""Every way a user can write a date becomes a date, or is refused in one line."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from territory.dates import as_date
from territory.errors import DataError

DAY = dt.date(2025, 8, 15)


@pytest.mark.parametrize(
    "value",
    [
        DAY,
        "2025-08-15",
        " 2025-08-15 ",
        dt.datetime(2025, 8, 15),
        dt.datetime(2025, 8, 15, tzinfo=dt.UTC),
        pd.Timestamp("2025-08-15"),
        np.datetime64("2025-08-15"),
        np.datetime64("2025-08-15T00:00:00"),
    ],
    ids=[
        "date",
        "iso",
        "iso-spaces",
        "datetime",
        "aware",
        "timestamp",
        "dt64-day",
        "dt64-s",
    ],
)
def test_dates_in_every_form(value):
    assert as_date(value) == DAY


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        (dt.datetime(2025, 8, 15, 10), "time of day"),
        (pd.Timestamp("2025-08-15 10:00"), "time of day"),
        (np.datetime64("2025-08-15T10:00"), "time of day"),
        (pd.NaT, "NaT"),
        (np.datetime64("NaT"), "NaT"),
        ("2025-13-01", "not an ISO date"),
        ("15/08/2025", "not an ISO date"),
        ("", "not an ISO date"),
        (20250815, "int"),
        (None, "None"),
        ([2025, 8, 15], "list"),
    ],
)
def test_bad_dates_are_one_line(value, needle):
    with pytest.raises(DataError, match=needle) as info:
        as_date(value, what="as_of")
    assert "\n" not in str(info.value)
    assert "as_of" in str(info.value)


@pytest.mark.data
@pytest.mark.parametrize(
    "value",
    [dt.datetime(2025, 8, 15), pd.Timestamp("2025-08-15"), np.datetime64("2025-08-15")],
)
def test_record_control_takes_datetimes(record, value):
    assert record.control(value).as_of == DAY


@pytest.mark.data
def test_record_control_refuses_a_time_of_day(record):
    with pytest.raises(DataError, match="time of day"):
        record.control(pd.Timestamp("2025-08-15 10:00"))
