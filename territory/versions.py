"""Date each daily control file by the map version it shows.

DeepState publishes map versions at irregular times (about one a day, each
with its own area); the daily mirror takes one file a day at about 03:00–04:30
UTC, so a file shows the last version published before it was taken — or an
older one when the mirror lagged (a third of the files of 2024–2025 show a
version a day or more older than "file date − 1").  Where DeepState's own
published area history covers a file, its version is identified by its area:

- the file's occupied area and the published area of the same map differ by
  a steady factor (DeepState measures on its own projection; ~1.00045): it is
  estimated as the median ratio over all files, then refined on the matches
  (`estimate_factor`), never assumed;
- each file is matched to the published version, among those published
  from `WINDOW_DAYS` before it was taken to the end of its date (from
  November 2025 some files were taken late in the day), whose area times
  the factor is nearest its own; versions whose areas are within `TIE_REL`
  of the best cannot be told apart by area, and the latest of them
  published by the usual capture time (04:30 UTC) is taken; a file's
  version is never older than the previous file's (the mirror does not go
  back in time);
- a file whose best match is further than `MATCH_REL` shows a version the
  history does not hold, and is dated like the files after the history ends:
  inferred with the most common lag of the matched files (1 day: the
  evening before the file's date), ±1 day.

"As of D" is the latest map version made by the end of D, Kyiv time
(`kyiv_date`).  This module is pure: `territory.record` feeds it the areas.
"""

from __future__ import annotations

import bisect
import datetime as dt
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

#: Time zone of "the end of day D".
KYIV = ZoneInfo("Europe/Kyiv")
#: The mirror usually takes each day's file by this time (UTC) on the file's
#: date; from November 2025 it took some late on that date, so versions
#: published until the end of the file's date (UTC) are candidates too.
CAPTURE_BY = dt.time(4, 30)
#: A file shows a version published at most this many days before it was taken.
WINDOW_DAYS = 6
#: Two versions whose areas (× the factor) are within this fraction of the
#: file's are the same as far as the area can tell: the residual of a true
#: match is ~5e-6 (median) to ~1e-5 (95th percentile), the rounding of the
#: published areas (0.1 km² in 115,000) and of the file's coordinates.
TIE_REL = 2e-5
#: A best match further than this is no match: the file shows a version the
#: history does not hold (the smallest step between published versions is a
#: few km², ~3e-5; ten times the 95th-percentile residual).
MATCH_REL = 1e-4

#: At most this many refinements of the factor on the matches (`estimate_factor`).
FACTOR_ROUNDS = 5

#: Bump when the dating changes: the cached dating is keyed on it.
ALGORITHM = "versions-2"

MATCHED = "matched to DeepState's published area history"
INFERRED = "inferred from the file date (±1 day): the usual lag of the matched files"
PUBLISHED = "published time of the snapshot (DeepState's API)"
#: The lag (days from a version's day to the file's date) of files with no
#: match, when no file matched either: the mirror's documented behaviour.
DEFAULT_LAG_DAYS = 1


@dataclass(frozen=True)
class Version:
    """The map version a daily file shows.

    Attributes
    ----------
    time
        When DeepState published it (UTC), or None when it is inferred.
    day
        The day it is the map of: the Kyiv date of `time`, or the file's date
        minus one day when inferred.
    how
        How it was established (`MATCHED` or `INFERRED`).
    residual
        The relative difference between the file's area and the matched
        version's (× the factor); None when inferred.
    """

    time: dt.datetime | None
    day: dt.date
    how: str
    residual: float | None = None

    def to_json(self) -> dict[str, object]:
        """Return the version as JSON-ready data (`from_json` reads it back)."""
        return {
            "time": None if self.time is None else self.time.isoformat(),
            "day": self.day.isoformat(),
            "how": self.how,
            "residual": self.residual,
        }

    @classmethod
    def from_json(cls, raw: dict) -> Version:
        """Read back `to_json`'s data (raises ValueError, KeyError, TypeError if damaged)."""
        return cls(
            time=None
            if raw["time"] is None
            else dt.datetime.fromisoformat(raw["time"]),
            day=dt.date.fromisoformat(raw["day"]),
            how=str(raw["how"]),
            residual=None if raw["residual"] is None else float(raw["residual"]),
        )


def kyiv_date(t: dt.datetime) -> dt.date:
    """Return the Kyiv calendar date of a UTC time (a map made then is the map of that day)."""
    return t.astimezone(KYIV).date()


def captured_at(file_day: dt.date) -> dt.datetime:
    """Return the latest time (UTC) the daily file of `file_day` can have been taken."""
    return dt.datetime.combine(file_day, CAPTURE_BY, tzinfo=dt.UTC)


#: The area types of the history whose sum is the occupied area.
OCCUPIED_TYPES = ("occupied_after_24_02_2022", "occupied_to_24_02_2022")


def published_occupied(history: pd.DataFrame) -> pd.Series:
    """Return the published occupied area (km²) by version time, from the area history.

    `history` has DeepState's columns ``time_index`` ("2025-08-15 16:37:13
    UTC"), ``area_type`` and ``area``; occupied is the sum of the areas
    occupied after and before 24 Feb 2022.
    """
    import pandas as pd

    occ = history[history["area_type"].isin(list(OCCUPIED_TYPES))]
    times = pd.to_datetime(occ["time_index"].str.replace(" UTC", ""), utc=True)
    return occ.groupby(times)["area"].sum().sort_index()


class Published:
    """`published_occupied` as plain sorted lists, searched by bisection.

    ``times`` are the versions' times (UTC, as `datetime`), ``areas_km2`` their
    areas (`float`), in time order: each file's window is two bisections, not
    two comparisons of the whole index (a thousand windows in a dating).
    Made from `published_occupied`'s series, or read from the history's CSV
    file without pandas (`from_csv`: the same times and areas, tested).
    """

    def __init__(self, times: list[dt.datetime], areas_km2: list[float]) -> None:
        self.times, self.areas_km2 = times, areas_km2
        # (what `covers` compares a file's capture time with, made once: a
        # dating asks it of every file, some twice)
        day = dt.timedelta(days=1)
        self._span = (times[0] + day, times[-1] + day) if times else None

    @classmethod
    def from_series(cls, published: pd.Series) -> Published:
        """Return the lists of `published_occupied`'s series."""
        if not published.index.is_monotonic_increasing:
            published = published.sort_index(kind="stable")
        index = cast("pd.DatetimeIndex", published.index)  # times (UTC)
        return cls(
            list(index.to_pydatetime()), [float(a) for a in published.to_numpy()]
        )

    @classmethod
    def from_csv(cls, data: bytes) -> Published:
        """Return `published_occupied` of the history's CSV file, read without pandas.

        (Importing pandas would cost a first dating about 0.4 s before any
        work starts.)  The areas of a time are summed in the file's order, as
        pandas' group sum adds them; the times sorted, stable.

        Raises
        ------
        ValueError
            If the file is not such a history (a column missing, a time or
            an area that does not parse).
        """
        import csv
        import io

        reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
        header = next(reader, [])
        missing = {"time_index", "area_type", "area"} - set(header)
        if missing:
            msg = f"the area history has no column {', '.join(sorted(missing))}"
            raise ValueError(msg)
        # (plain rows, not dicts: a third of the time; a time's rows share
        # its text, parsed once)
        col_t, col_type, col_area = (
            header.index(name) for name in ("time_index", "area_type", "area")
        )
        sums: dict[dt.datetime, float] = {}
        parsed: dict[str, dt.datetime] = {}
        for line, row in enumerate(reader, start=2):
            if not row:
                continue  # a blank line, as pandas skips it
            try:
                if row[col_type] not in OCCUPIED_TYPES:
                    continue
                text = row[col_t]
                t = parsed.get(text)
                if t is None:
                    t = dt.datetime.fromisoformat(text.replace(" UTC", ""))
                    t = (
                        t.replace(tzinfo=dt.UTC)
                        if t.tzinfo is None
                        else t.astimezone(dt.UTC)
                    )
                    parsed[text] = t
                area = float(row[col_area])
            except (IndexError, ValueError):  # a short or bad row
                msg = f"line {line} of the area history does not parse"
                raise ValueError(msg) from None
            sums[t] = sums.get(t, 0.0) + area
        times = sorted(sums)
        return cls(times, [sums[t] for t in times])

    def covers(self, day: dt.date) -> bool:
        """Tell whether the history reaches from before the file of `day` was taken to after it."""
        if self._span is None:
            return False
        after, until = self._span
        return after < captured_at(day) <= until


def _candidates(
    published: Published, file_day: dt.date, taken: dt.datetime
) -> list[tuple[dt.datetime, float]]:
    """Return the versions a file of `file_day` can show, (time, area), in time order.

    `taken`: its `captured_at`.
    """
    start = taken - dt.timedelta(days=WINDOW_DAYS)
    end = dt.datetime.combine(file_day + dt.timedelta(days=1), dt.time(), dt.UTC)
    lo = bisect.bisect_left(published.times, start)
    hi = bisect.bisect_left(published.times, end, lo)
    return list(zip(published.times[lo:hi], published.areas_km2[lo:hi], strict=True))


def _best(
    area: float,
    candidates: list[tuple[dt.datetime, float]],
    factor: float,
    not_before: dt.datetime | None,
    usual: dt.datetime | None = None,
) -> tuple[dt.datetime, float] | None:
    """Return the best candidate by area: its time and residual.

    Among those the area cannot tell apart (within TIE_REL of the best), the
    latest published by the `usual` capture time, or else the earliest after it.
    """
    k = _best_index(area, candidates, factor, not_before, usual)
    if k is None:
        return None
    return candidates[k][0], abs(area / (factor * candidates[k][1]) - 1)


def _best_index(
    area: float,
    candidates: list[tuple[dt.datetime, float]],
    factor: float,
    not_before: dt.datetime | None,
    usual: dt.datetime | None,
) -> int | None:
    """`_best`'s candidate, by its place in `candidates` (None if there is none)."""
    residuals = [abs(area / (factor * a) - 1) for _, a in candidates]
    ks = [
        k
        for k, (t, _) in enumerate(candidates)
        if not_before is None or t >= not_before
    ]
    if not ks:
        return None
    best = min(residuals[k] for k in ks)
    tied = [k for k in ks if residuals[k] <= best + TIE_REL]
    # (in time order, the times distinct: the latest by `usual` is the last
    # such, the earliest the first)
    before = [k for k in tied if usual is None or candidates[k][0] <= usual]
    return before[-1] if before else tied[0]


def estimate_factor(
    areas: dict[dt.date, float], published: pd.Series, *, rounds: int = FACTOR_ROUNDS
) -> float:
    """Return the steady factor between a file's area and the published area of its map.

    First the median ratio to the version published last before each file
    was usually taken (04:30 UTC; right for most files); then, repeatedly,
    the median ratio to each file's best match under the current factor.
    Medians keep the files that show an older version from pulling it.
    """
    return _estimate_factor(areas, Published.from_series(published), rounds=rounds)


def _windows(
    published: Published, days: Iterable[dt.date]
) -> dict[dt.date, tuple[dt.datetime, list[tuple[dt.datetime, float]]]]:
    """Return each file day's `captured_at` and `_candidates`."""
    out = {}
    for d in days:
        taken = captured_at(d)
        out[d] = (taken, _candidates(published, d, taken))
    return out


#: A file of the factor's rounds: its area, its candidates, the area of the
#: last of them published before its usual capture time, and that time.
_Pair = tuple[float, list[tuple[dt.datetime, float]], float, dt.datetime]


def _estimate_factor(
    areas: dict[dt.date, float],
    published: Published,
    *,
    rounds: int,
    windows: dict[dt.date, tuple[dt.datetime, list[tuple[dt.datetime, float]]]]
    | None = None,
) -> float:
    """`estimate_factor`; `windows`: each day's `captured_at` and `_candidates`, if made."""
    if windows is None:
        windows = _windows(published, areas)
    pairs: list[_Pair] = []
    for d, a in areas.items():
        taken, cands = windows[d]
        usual = [c for c in cands if c[0] <= taken]
        if usual:
            pairs.append((a, cands, usual[-1][1], taken))
    if not pairs:
        msg = "no daily file falls inside the published area history"
        raise ValueError(msg)
    factor = statistics.median(a / last for a, _, last, _ in pairs)
    best = _BestOfAll(pairs)
    for _ in range(rounds):
        new = statistics.median(best.ratios(factor))
        if new == factor:
            break
        factor = new
    return factor


class _BestOfAll:
    """`_best_index` of every file at once (no `not_before`), for the factor's rounds.

    The candidates of all the files in flat arrays, each file's in a run:
    the same residuals, ties and choices as `_best_index` file by file (the
    same float operations, element by element, tested): a round over the
    record's 505 measured files in 0.14 ms, against 3.8 ms file by file.
    """

    def __init__(self, pairs: list[_Pair]) -> None:
        import numpy as np

        sizes = [len(c) for _, c, _, _ in pairs]  # (each holds its usual one)
        self.areas = np.array([a for a, _, _, _ in pairs], dtype=float)
        self.file_of = np.repeat(np.arange(len(pairs)), sizes)
        self.starts = np.cumsum([0, *sizes[:-1]])
        self.cand_km2 = np.array([x for _, c, _, _ in pairs for _, x in c], dtype=float)
        self.before = np.array(
            [t <= usual for _, c, _, usual in pairs for t, _ in c], dtype=bool
        )
        self.at = np.arange(len(self.cand_km2))

    def ratios(self, factor: float) -> list[float]:
        """Each file's area over the area of its best candidate under `factor`."""
        import numpy as np

        res = np.abs(self.areas[self.file_of] / (factor * self.cand_km2) - 1)
        best = np.minimum.reduceat(res, self.starts)
        tied = res <= best[self.file_of] + TIE_REL
        # the latest tied by the usual capture time, else the earliest tied
        last_before = np.maximum.reduceat(
            np.where(tied & self.before, self.at, -1), self.starts
        )
        first = np.minimum.reduceat(np.where(tied, self.at, len(self.at)), self.starts)
        k = np.where(last_before >= 0, last_before, first)
        return (self.areas / self.cand_km2[k]).tolist()


def date_files(
    areas: dict[dt.date, float],
    published: pd.Series | Published | None,
    *,
    unmeasured: Iterable[dt.date] = (),
) -> tuple[dict[dt.date, Version], float | None]:
    """Return each daily file's map version, and the factor used.

    Parameters
    ----------
    areas
        Occupied area (km², any consistent measure) of each daily file, by
        the file's date.
    published
        `published_occupied` of the history (or its `Published` lists), or
        None (every file inferred).
    unmeasured
        The dates of other daily files, which the history does not cover:
        dated by inference, as a file the history does not cover is whatever
        its area (so it need not be measured).

    Raises
    ------
    ValueError
        If the history covers the date of a file in `unmeasured`.
    """
    out: dict[dt.date, Version] = {}
    history = (
        published
        if published is None or isinstance(published, Published)
        else Published.from_series(published)
    )

    def covered(day: dt.date) -> bool:
        return history is not None and history.covers(day)

    unmeasured = set(unmeasured)
    if any(covered(d) for d in unmeasured):
        msg = "a daily file the area history covers is dated by its area: measure it"
        raise ValueError(msg)
    inside = {d: a for d, a in areas.items() if covered(d)}
    # (each file's window made once: the factor's rounds and the matching
    # ask it again and again)
    windows = {} if history is None else _windows(history, inside)
    factor = (
        _estimate_factor(inside, history, rounds=FACTOR_ROUNDS, windows=windows)
        if inside and history is not None
        else None
    )
    previous: dt.datetime | None = None
    unmatched = []
    for day in sorted(areas.keys() | unmeasured):
        match = None
        if factor is not None and day in windows:
            taken, cands = windows[day]
            match = _best(areas[day], cands, factor, previous, taken)
        if match is not None and match[1] <= MATCH_REL:
            t, residual = match
            out[day] = Version(time=t, day=kyiv_date(t), how=MATCHED, residual=residual)
            previous = t
        else:
            unmatched.append(day)
    lags = [(d - v.day).days for d, v in out.items()]
    lag = statistics.mode(lags) if lags else DEFAULT_LAG_DAYS
    for day in unmatched:
        out[day] = Version(time=None, day=day - dt.timedelta(days=lag), how=INFERRED)
    return dict(sorted(out.items())), factor
