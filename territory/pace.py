"""The pace of the war: Russia's net advance over a window, as a rate.

Arithmetic on the record, not a forecast: the rate is the net change of
Russian-held land between the maps at the two ends of a window, divided by
its days; "days to take" an area is that area divided by the rate.  A month
is `DAYS_PER_MONTH` days (a Gregorian year's average).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from territory.control import UA
from territory.dates import check_span

if TYPE_CHECKING:
    from territory.record import Record

#: Days in an average month (365.2425 / 12).
DAYS_PER_MONTH = 30.436875
#: The default window: the last this many days of the record.
DEFAULT_WINDOW_DAYS = 365

NOT_A_FORECAST = (
    "arithmetic on the record, not a forecast: the net change of Russian-held "
    "land over the window, at a constant rate"
)


@dataclass(frozen=True)
class Pace:
    """Russia's net advance over a window, and what it would take at that rate.

    Attributes
    ----------
    start, end
        The window's as-of dates (the maps at its ends).
    region_ids
        The regions counted together (empty: the country).
    net_km2
        Russian-held km² at `end` less at `start`.
    remaining_km2
        Ukrainian-held km² in those regions on `as_of`.
    as_of
        The date of `remaining_km2`.
    """

    start: dt.date
    end: dt.date
    region_ids: tuple[str, ...]
    net_km2: float
    remaining_km2: float
    as_of: dt.date

    @property
    def days(self) -> int:
        """Length of the window, days."""
        return (self.end - self.start).days

    @property
    def rate_km2_per_day(self) -> float:
        """Net km² a day (negative: Russia lost ground)."""
        return self.net_km2 / self.days

    @property
    def rate_km2_per_month(self) -> float:
        """Net km² a month (`DAYS_PER_MONTH` days)."""
        return self.rate_km2_per_day * DAYS_PER_MONTH

    def days_to_take(self, area_km2: float) -> float | None:
        """Days at this rate to take `area_km2` (None if Russia did not advance)."""
        rate = self.rate_km2_per_day
        return area_km2 / rate if rate > 0 else None

    @property
    def days_to_take_remaining(self) -> float | None:
        """Days at this rate to take the Ukrainian-held land of the regions."""
        return self.days_to_take(self.remaining_km2)

    def to_dict(self) -> dict[str, Any]:
        """Return the figures as plain data (the JSON of ``territory pace``)."""
        days = self.days_to_take_remaining
        return {
            "window": {
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "days": self.days,
            },
            "region_ids": list(self.region_ids),
            "net_km2": self.net_km2,
            "rate_km2_per_day": self.rate_km2_per_day,
            "rate_km2_per_month": self.rate_km2_per_month,
            "remaining_km2": self.remaining_km2,
            "remaining_as_of": self.as_of.isoformat(),
            "days_to_take_remaining": days,
            "months_to_take_remaining": None if days is None else days / DAYS_PER_MONTH,
            "definition": NOT_A_FORECAST,
        }


def pace(
    record: Record,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
    *,
    region_ids: list[str] | tuple[str, ...] = (),
    as_of: str | dt.date | None = None,
) -> Pace:
    """Return Russia's net advance over a window and the land left at that rate.

    Parameters
    ----------
    record
        The record (`territory.Record`).
    start, end
        The window (default: the last `DEFAULT_WINDOW_DAYS` days of the record).
    region_ids
        Count these regions together (names or ids, e.g. ``("Donetsk",)``);
        default the country.
    as_of
        The date of the Ukrainian-held land left (default: `end`).

    Raises
    ------
    DataError
        If the window is empty or reversed, or a region is unknown;
        `DataNotFoundError` if a date is outside the record.
    """
    from territory.regions import load_region_table

    last = record.latest_date()
    hi = record.day(end) if end else last
    lo = record.day(start) if start else hi - dt.timedelta(days=DEFAULT_WINDOW_DAYS)
    record.snapshot_for(lo)
    record.snapshot_for(hi)  # both raise, naming the record's span, if outside it
    check_span(lo, hi, one_day=False)
    # names or ids; DataError naming an unknown one
    ids = load_region_table().ids(list(region_ids))

    def occupied_km2(day: dt.date) -> float:
        if not ids:  # the country: `occupied_series`' figure, without its frame
            (by_region,), _ = record.region_figures([record.snapshot_for(day)[0]])
            return float(by_region.sum())
        row = record.occupied_series(day, day, region_ids=ids).iloc[0]
        return float(row[ids].sum())

    day = record.day(as_of) if as_of else hi
    ctl = record.control(day)
    # Ukrainian-held land: only those pieces are measured (not the whole table)
    remaining = ctl.holding_km2(UA, ids or ctl.region_ids())
    net = occupied_km2(hi) - occupied_km2(lo)
    return Pace(
        start=lo,
        end=hi,
        region_ids=tuple(ids),
        net_km2=net,
        remaining_km2=remaining,
        as_of=day,
    )
