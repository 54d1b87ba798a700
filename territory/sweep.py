"""Evaluate one scenario on every date of a range: a scenario across time.

`sweep_scenario` applies the same scenario rules to the control map of each date
with `territory.accounting.evaluate` — the function a single evaluation
uses, so every figure equals ``territory evaluate SCENARIO --date D`` — and
returns one row per date.  The work goes through a standard
`concurrent.futures` executor:

- ``workers=1``: in this process, no pool;
- ``workers=N`` (default: the machine's CPUs): a `ProcessPoolExecutor` of
  N processes (started with "spawn": no threads are forked);
- ``scheduler="tcp://HOST:PORT"``: a Dask cluster through
  ``Client(address).get_executor()`` (optional: ``pip install 'territory[dask]'``).

The dates are cut into one contiguous segment per two workers, and the two
work through it from its two ends towards each other, each taking the next
map from its end until they meet (`_claim`), so a segment ends when its
work is done whichever maps cost the most (a map partitioned afresh costs
twenty patched ones).  Each worker is one process (one Record, opened on
the same cache directory, kept for the whole sweep): a map not yet
partitioned is patched from the one it took before (the next earlier or
later map), or when that one is too far from one of the few before it
(`territory._partition_patch`, about a twentieth of a fresh partition;
`territory.record.PATCH_BASES_EARLIER`), and what the Record kept of that
map (areas, edges) is reused for the land the two share.  A worker returns
its rows every `CHUNK_MAX_DATES` dates at most, so the progress bar moves.  Dates on the same map
share one evaluation (their rows differ only in ``as_of`` and
``earlier_snapshot``); the moves' land by region, which no row shows, is
measured only if read (``evaluate(..., by_region=False)``).  A Record keeps its last few maps only
(`territory.record.MAPS_KEPT`), so memory stays bounded however long the
sweep.  On a Dask cluster each chunk is a task with a Record of its own.
Rows come back in date order whatever ran them, with the same float values
as single evaluations on the same partitions (tested).  A Dask cluster's
workers must see the cache at the same path (a shared filesystem).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from territory.accounting import FLOW_COLUMNS, FLOWS, as_scenario, evaluate
from territory.dates import as_date, check_span, check_step
from territory.errors import DataError, TerritoryError
from territory.progress import progress as progress_bar

if TYPE_CHECKING:
    from concurrent.futures import Future

    import pandas as pd

    from territory.accounting import Evaluation
    from territory.control import Snapshot
    from territory.record import Record
    from territory.scenario import Scenario

#: A task evaluates at most this many consecutive dates: long sweeps are cut
#: into month-sized chunks so the progress bar moves (and, on Dask, the work
#: spreads over the workers; opening a Record costs about one date).
CHUNK_MAX_DATES = 30
#: How long to try to reach a Dask scheduler before giving up, seconds.
SCHEDULER_TIMEOUT_S = 10.0
#: The install hint for the optional Dask support.
DASK_HINT = "pip install 'territory[dask]'"

#: Which map each row used (as in `territory timeline`): the snapshot's label,
#: the date it shows, whether an earlier snapshot serves the date, when
#: DeepState published the map version (ISO UTC; empty when inferred) and how
#: it was dated.
PROVENANCE_COLUMNS = (
    "snapshot",
    "snapshot_as_of",
    "earlier_snapshot",
    "map_version",
    "map_dated_by",
)


def transfer_column(name: str) -> str:
    """Return the column of a transfer's area (km²) in a sweep.

    >>> transfer_column("Ukraine withdraws from Donbas")
    'transfer:Ukraine withdraws from Donbas_km2'
    """
    return f"transfer:{name}_km2"


def zone_column(name: str, what: str = "") -> str:
    """Return the column of a zone's area (km², all sides) or of one of its edges.

    `what` is empty for the area, ``ua_edge`` or ``ru_edge`` for the length
    (km) of the zone's Ukrainian or Russian edge after the swap.

    >>> zone_column("Donetsk zone")
    'zone:Donetsk zone_km2'
    >>> zone_column("Donetsk zone", "ua_edge")
    'zone:Donetsk zone:ua_edge_km'
    """
    return f"zone:{name}:{what}_km" if what else f"zone:{name}_km2"


def sweep_columns(scenario: Scenario) -> list[str]:
    """Return the columns of `scenario`'s sweep, in order (see `sweep_scenario`)."""
    moves = [transfer_column(t.name) for t in scenario.transfers]
    zones = [
        col
        for z in scenario.zones
        for col in (
            zone_column(z.name),
            zone_column(z.name, "ua_edge"),
            zone_column(z.name, "ru_edge"),
        )
    ]
    return [
        "as_of",
        *PROVENANCE_COLUMNS,
        *FLOW_COLUMNS,
        "cession_ratio",
        "zone_ratio",
        *moves,
        *zones,
        "front_before_km",
        "front_after_km",
        "population_moved",
    ]


def sweep_dates(
    start: str | dt.date, end: str | dt.date, *, every_days: int = 1
) -> list[dt.date]:
    """Return the dates from `start` to `end` (both included), `every_days` apart.

    Raises
    ------
    DataError
        If a date is not a date, `start` is after `end`, or `every_days` is
        below 1; the message names the fix.

    Examples
    --------
    >>> [d.isoformat() for d in sweep_dates("2025-08-13", "2025-08-17", every_days=2)]
    ['2025-08-13', '2025-08-15', '2025-08-17']
    >>> sweep_dates("2025-08-15", "2025-08-15")
    [datetime.date(2025, 8, 15)]
    """
    lo, hi = as_date(start, what="start"), as_date(end, what="end")
    check_step(every_days)
    check_span(lo, hi)
    return [lo + dt.timedelta(days=i) for i in range(0, (hi - lo).days + 1, every_days)]


def sweep_scenario(
    scenario: Scenario | str | os.PathLike[str],
    dates: Iterable[Any],
    *,
    cache_dir: Path | str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    people: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Evaluate `scenario` on the control map of each of `dates`: one row per date.

    Parameters
    ----------
    scenario
        The scenario: a `Scenario`, a library name or a scenario file's path
        (as `territory.evaluate` takes it); its own as-of date is not used,
        each row is evaluated on its own date's map.
    dates
        The as-of dates (anything `territory.dates.as_date` takes); see
        `sweep_dates` for a range.  Rows come in date order, one per date
        (a date given twice gives one row).
    cache_dir
        The data cache (default $TERRITORY_CACHE or ``geodata/cache``); every
        worker opens it by this path.
    workers
        How many dates are evaluated at once: 1 runs in this process with no
        pool; N runs N processes.  Default: the number of CPUs, or with a
        `scheduler` the threads of the cluster's workers.
    scheduler
        Address of a Dask scheduler (``tcp://HOST:PORT``) to run the chunks
        on instead of local processes; needs ``pip install 'territory[dask]'``.
    people
        Count the people in the moved land (``population_moved``); cheap once
        the place table is cached.
    progress
        Draw a progress bar on stderr (only when it is a terminal; see
        `territory.progress`).

    Returns
    -------
    pandas.DataFrame
        One row per date, indexed by ``as_of`` (a DatetimeIndex), with the
        other columns of `sweep_columns`: which map was used
        (`PROVENANCE_COLUMNS`); every flow in km² (`FLOW_COLUMNS`:
        ``ua_to_ru_km2`` … ``grey_to_dmz_km2``); ``cession_ratio`` and
        ``zone_ratio`` (NaN when the denominator is zero, see
        `territory.accounting.RATIO_DEFINITIONS`); each transfer's area,
        ``transfer:<name>_km2``; each zone's area (all sides),
        ``zone:<name>_km2``, and its Ukrainian and Russian edges after,
        ``zone:<name>:ua_edge_km`` / ``zone:<name>:ru_edge_km``;
        ``front_before_km`` (the contact line on the date) and
        ``front_after_km`` (the direct contact left after, see
        `territory.accounting.LINE_AFTER_DEFINITION`); ``population_moved``
        (people in named places in all the moved land; None when `people` is
        False).  Nothing is rounded.

    Raises
    ------
    DataNotFoundError
        If a date is outside the cached record (before any evaluation).
    DataError
        If a date is not a date, `dates` is empty, or `workers` is not a
        positive integer.
    ScenarioError
        If `scenario` is not a Scenario, a library name or a path (or names
        no scenario), or a rule selects no land on a date
        (the message names the date).
    TerritoryError
        If the Dask scheduler cannot be reached.
    ImportError
        If `scheduler` is given and Dask is not installed (the message names
        ``pip install 'territory[dask]'``).

    Examples
    --------
    >>> from territory import read_scenario
    >>> from territory.sweep import sweep_scenario, sweep_dates
    >>> df = sweep_scenario(
    ...     read_scenario("alaska-2025"),
    ...     sweep_dates("2025-08-13", "2025-08-15"),
    ...     workers=1,
    ... )  # doctest: +SKIP
    >>> df[["ua_to_ru_km2", "cession_ratio"]]  # doctest: +SKIP
    """
    scenario = as_scenario(scenario, what="sweep_scenario")
    rows = sweep_rows(
        scenario,
        dates,
        cache_dir=cache_dir,
        workers=workers,
        scheduler=scheduler,
        people=people,
        progress=progress,
    )
    return sweep_frame(rows, scenario)


def sweep_frame(rows: list[dict[str, Any]], scenario: Scenario) -> pd.DataFrame:
    """Return `sweep_rows`' rows as `sweep_scenario` returns them: a frame by date."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=sweep_columns(scenario))
    # a ratio with no denominator is None in an evaluation, NaN in the frame
    df = df.astype({"cession_ratio": float, "zone_ratio": float})
    df.index = pd.DatetimeIndex(df.pop("as_of"), name="as_of")
    return df


def sweep_rows(
    scenario: Scenario | str | os.PathLike[str],
    dates: Iterable[Any],
    *,
    cache_dir: Path | str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    people: bool = True,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Return the rows of `sweep_scenario` as plain dicts, in date order, without pandas.

    Each row maps every column of `sweep_columns` (``as_of`` a date) to its
    value as the evaluation gives it: a ratio with no denominator is None
    (NaN in the frame).  Same parameters and errors as `sweep_scenario`;
    for output written without pandas (the command line).
    """
    from territory.record import Record

    scenario = as_scenario(scenario, what="sweep_scenario")
    if isinstance(dates, str | dt.date):
        msg = "sweep_scenario: 'dates' is one date; pass a list, e.g. sweep_dates(start, end)"
        raise DataError(msg)
    days = sorted({as_date(d, what="sweep date") for d in dates})
    if not days:
        msg = (
            "sweep_scenario: no dates given; pass a list, e.g. sweep_dates(start, end)"
        )
        raise DataError(msg)
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        msg = f"sweep_scenario: workers is {workers!r}; pass a positive integer (1: no pool)"
        raise DataError(msg)
    for name, flag in (("people", people), ("progress", progress)):
        if not isinstance(flag, bool):
            msg = f"sweep_scenario: {name!r} is a {type(flag).__name__}; pass True or False"
            raise DataError(msg)
    record = Record(cache_dir)
    for day in days:  # every date in the record, before any work
        record.snapshot_for(day)
    root = str(record.cache.root)
    if scheduler is not None:
        rows = _on_dask(
            scenario,
            days,
            root,
            address=scheduler,
            workers=workers,
            people=people,
            progress=progress,
        )
    elif min(workers or os.cpu_count() or 1, len(days)) == 1:
        rows = _in_process(scenario, days, root, people, progress)
    else:
        rows = _on_processes(
            scenario,
            days,
            root,
            workers=workers or os.cpu_count() or 1,
            people=people,
            progress=progress,
            record=record,
        )
    rows.sort(key=lambda r: r["as_of"])
    return rows


# ---------------------------------------------------------------------- one chunk
#: The Record a worker process of the pool keeps from one task to the next
#: (by cache directory): the next task goes on from its last map.
_LANE_RECORDS: dict[str, Record] = {}
#: The last map a worker process evaluated (by cache directory), for the
#: next task's `_rows`: its row, key and file checksum, and what was swept.
_LANE_LAST: dict[str, dict[str, Any]] = {}
#: A worker process's view of the ends of every segment (`_set_ends`):
#: ``[2k]`` the next map to take from segment k's start, ``[2k + 1]`` from its end.
_ENDS: Any = None


def _evaluate_chunk(
    scenario: Scenario,
    dates: list[dt.date],
    cache_dir: str,
    *,
    people: bool = True,
) -> list[dict[str, Any]]:
    """Evaluate `scenario` on each of `dates` (in order): a Dask task.

    Each chunk opens its own Record.
    """
    return list(_rows(_record(cache_dir), scenario, dates, people=people))


def _lane_record(cache_dir: str) -> Record:
    """Return the Record this worker process keeps for the whole sweep."""
    record = _LANE_RECORDS.get(cache_dir)
    if record is None:
        record = _LANE_RECORDS[cache_dir] = _record(cache_dir)
    return record


def _set_ends(ends: Any) -> None:
    """Start a worker process of the pool (its initializer).

    Gives it the segments' shared ends, and has it end without tearing its
    interpreter down: once its pool lets it go it has nothing left to do
    (each derived file it wrote is whole and closed, it writes nothing to
    stdout), and freeing what it kept (its maps, the lengths and areas kept
    by content) took about 0.15 s, which the command waited for.
    """
    import atexit

    global _ENDS  # noqa: PLW0603 (one per worker process, set when it starts)
    _ENDS = ends
    atexit.register(_exit_now)


def _exit_now() -> None:
    """End this worker process now, as a forked one ends (see `_set_ends`)."""
    sys.stderr.flush()
    os._exit(0)


def _claim(ends: Any, k: int, forward: bool) -> int | None:
    """Take the next map of segment `k` from its start (or end); None once they met.

    `ends` is shared by the segment's two workers (a lock guards it), so
    every map is taken once.
    """
    with ends.get_lock():
        lo, hi = ends[2 * k], ends[2 * k + 1]
        if lo > hi:
            return None
        if forward:
            ends[2 * k] = lo + 1
            return lo
        ends[2 * k + 1] = hi - 1
        return hi


def _evaluate_claims(
    scenario: Scenario,
    maps: list[list[dt.date]],
    k: int,
    forward: bool,
    cache_dir: str,
    *,
    people: bool = True,
    first: Iterable[list[dt.date]] = (),
) -> list[dict[str, Any]]:
    """Evaluate the maps of segment `k` this worker takes from its end: a task.

    `maps`: the segment's dates, grouped by the map that serves them, in
    order.  The worker evaluates the maps `first` (`_lone_maps`), then takes
    map after map (`_claim`) until it has `CHUNK_MAX_DATES` dates or the
    segment's two workers have met.  Returns the rows (none once the segment
    is done).
    """
    record = _lane_record(cache_dir)
    last = _LANE_LAST.setdefault(cache_dir, {})
    if last.get("what") != (scenario, people):  # (another sweep's)
        last.clear()
        last["what"] = (scenario, people)
    rows: list[dict[str, Any]] = []
    for dates in first:
        rows.extend(_rows(record, scenario, dates, people=people, last=last))
    while len(rows) < CHUNK_MAX_DATES:
        i = _claim(_ENDS, k, forward)
        if i is None:
            break
        rows.extend(_rows(record, scenario, maps[i], people=people, last=last))
    return rows


def _record(cache_dir: str) -> Record:
    from territory.record import Record

    return Record(cache_dir)


def _in_process(scenario, days, root, people, progress) -> list[dict]:
    """Evaluate every date here, in order, with one Record (it keeps a few maps)."""
    rows: Iterable[dict[str, Any]] = _rows(_record(root), scenario, days, people=people)
    if progress:
        rows = progress_bar(rows, total=len(days), desc="evaluating", unit="date")
    return list(rows)


def _rows(
    record: Record,
    scenario: Scenario,
    dates: list[dt.date],
    *,
    people: bool,
    last: dict[str, Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the rows of `dates` (in order); dates on one map share its evaluation.

    So do maps whose files hold the same content as the map evaluated
    before (a daily file that repeats the last: about one in fifteen): the
    same partition, the same figures; only which map it was differs.
    `last` (updated) holds the map evaluated before, ``row``, ``key`` and
    ``sha``, from an earlier call on the same scenario (a worker's last task).
    """
    last = {} if last is None else last
    for day in sorted(dates):
        snap, _ = record.snapshot_for(day)
        row = last.get("row")
        if row is not None and snap.key == last["key"]:
            # the same map: the same evaluation, as of another date
            yield {**row, "as_of": day, "earlier_snapshot": snap.as_of < day}
            continue
        sha = record.snapshot_sha256(snap)
        if row is not None and sha == last["sha"]:
            row = {**row, **_provenance(snap, day)}
        else:
            try:
                control = record.control(day)
                ev = evaluate(scenario, control, people=people, by_region=False)
            except TerritoryError as err:  # name the date; keep the kind of error
                msg = f"as of {day}: {err}"
                raise type(err)(msg) from None
            row = evaluation_row(ev)
        last.update(row=row, key=snap.key, sha=sha)
        yield row


def evaluation_row(ev: Evaluation) -> dict[str, Any]:
    """Return the sweep row of one evaluation (see `sweep_scenario` for the columns)."""
    out: dict[str, Any] = _provenance(ev.control.snapshot, ev.control.as_of)
    for col, (a, b) in zip(FLOW_COLUMNS, FLOWS, strict=True):
        out[col] = ev.flow_km2(a, b)
    ratios = ev.ratios
    out["cession_ratio"] = ratios["cession"]
    out["zone_ratio"] = ratios["zone"]
    for m in ev.moves:
        if m.kind == "transfer":
            out[transfer_column(m.name)] = m.area_km2
        else:  # a zone's sides (and grey land) add up to the zone
            col = zone_column(m.group)
            out[col] = out.get(col, 0.0) + m.area_km2
    for z in ev.line_after.zones:
        if zone_column(z.name) in out:  # zones, not transfers to DMZ
            out[zone_column(z.name, "ua_edge")] = z.ua_edge_km
            out[zone_column(z.name, "ru_edge")] = z.ru_edge_km
    out["front_before_km"] = ev.front_before_km
    out["front_after_km"] = ev.front_after_km
    counted = [m.people for m in ev.moves]
    out["population_moved"] = (
        sum(p["population"] for p in counted if p is not None)
        if all(p is not None for p in counted)
        else None
    )
    return out


def _provenance(snap: Snapshot, as_of: dt.date) -> dict[str, Any]:
    """Return the columns of a row that say which map served `as_of`."""
    return {
        "as_of": as_of,
        "snapshot": snap.label,
        "snapshot_as_of": snap.as_of,
        "earlier_snapshot": snap.as_of < as_of,
        "map_version": snap.version or "",
        "map_dated_by": snap.dated_by,
    }


def _split(dates: list[dt.date], n: int) -> list[list[dt.date]]:
    """Cut `dates` into `n` contiguous parts of nearly equal length (n ≤ len)."""
    size, extra = divmod(len(dates), n)
    out, i = [], 0
    for k in range(n):
        j = i + size + (1 if k < extra else 0)
        out.append(dates[i:j])
        i = j
    return out


def _chunks(dates: list[dt.date], workers: int) -> list[list[dt.date]]:
    """Cut `dates` into contiguous chunks: one per worker, `CHUNK_MAX_DATES` at most.

    >>> d = [dt.date(2025, 8, 1) + dt.timedelta(days=i) for i in range(5)]
    >>> [len(c) for c in _chunks(d, 2)]
    [3, 2]
    >>> [len(c) for c in _chunks(d * 20, 2)]
    [25, 25, 25, 25]
    """
    n = max(workers, math.ceil(len(dates) / CHUNK_MAX_DATES))
    return _split(dates, min(n, len(dates)))


def _segments(maps: list[list[dt.date]], workers: int) -> list[tuple[int, int]]:
    """Cut `maps` into contiguous segments, one per two workers: (start, stop) each.

    With an odd number of workers the last segment has one worker: it is
    half as long.

    >>> _segments([[dt.date(2025, 8, 1)]] * 10, 2)
    [(0, 10)]
    >>> _segments([[dt.date(2025, 8, 1)]] * 10, 3)
    [(0, 7), (7, 10)]
    >>> _segments([[dt.date(2025, 8, 1)]] * 2, 5)
    [(0, 2)]
    """
    workers = min(workers, len(maps))
    shares = [2] * (workers // 2) + [1] * (workers % 2)
    out, start = [], 0
    for k, share in enumerate(shares):
        stop = (
            len(maps)
            if k == len(shares) - 1
            else start + round(len(maps) * share / workers)
        )
        out.append((start, stop))
        start = stop
    return out


# ---------------------------------------------------------------------- executors
def _gathered(
    futures: Iterable[Future],
    then: Callable[[Future], Future | None],
    total: int,
    progress: bool,
) -> list[dict]:
    """Return the rows of `futures` as they complete, with the bar (`progress`).

    Each future's result is its rows; `then(future)`, once it is done, may
    submit a task that goes on from it (its future, else None).
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    pending = set(futures)

    def done() -> Iterator[dict[str, Any]]:
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                pending.discard(future)
                rows = future.result()
                follow = then(future)
                if follow is not None:
                    pending.add(follow)
                yield from rows

    try:
        if progress:
            return list(
                progress_bar(done(), total=total, desc="evaluating", unit="date")
            )
        return list(done())
    finally:
        for future in pending:  # after a failure, run nothing more
            future.cancel()


def _by_map(record: Record, days: list[dt.date]) -> list[list[dt.date]]:
    """Group `days` (in order) by the map that serves them."""
    out: list[list[dt.date]] = []
    last = None
    for day in days:
        key = record.snapshot_for(day)[0].key
        if out and key == last:
            out[-1].append(day)
        else:
            out.append([day])
        last = key
    return out


def _lone_maps(record: Record, maps: list[list[dt.date]]) -> dict[int, list[dt.date]]:
    """Return the maps (by index, with their dates) of another kind than both neighbours'.

    A map with a grey zone between maps without (DeepState's own snapshot
    among the daily files), or the reverse: no map beside it can be patched
    into it (`territory._partition_patch`), so it is partitioned afresh.
    """
    grey = [record.snapshot_for(dates[0])[0].grey_zone for dates in maps]
    lone = {
        k: maps[k]
        for k in range(len(maps))
        if len(maps) > 2
        and all(grey[j] != grey[k] for j in (k - 1, k + 1) if 0 <= j < len(maps))
    }
    # (a few among many: maps of both kinds in turn are left in their place)
    return lone if 4 * len(lone) <= len(maps) else {}


def _on_processes(
    scenario, days, root, *, workers, people, progress, record
) -> list[dict]:
    """Two processes per segment of maps (`_segments`), from its two ends (`_claim`)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    from contextlib import ExitStack

    maps = _by_map(record, days)
    # a map of another kind than both its neighbours' is partitioned afresh
    # whenever it is taken: taken first, it never ends a segment late
    lone = _lone_maps(record, maps)
    maps = [m for k, m in enumerate(maps) if k not in lone]
    segments = _segments(maps, workers)
    # spawn: a fresh interpreter per worker, never a fork of a threaded parent
    context = multiprocessing.get_context("spawn")
    ends = context.Array(
        "i", [e for start, stop in segments for e in (0, stop - start - 1)]
    )
    # each worker's segment, and whether it starts from its start or its end
    # (the last segment's only one, with an odd number of workers)
    used = min(workers, len(maps))
    lanes = [
        (k, forward)
        for k in range(len(segments))
        for forward in ((True, False) if 2 * (k + 1) <= used else (True,))
    ]
    try:
        with ExitStack() as stack:
            pools = [
                stack.enter_context(
                    ProcessPoolExecutor(
                        1, mp_context=context, initializer=_set_ends, initargs=(ends,)
                    )
                )
                for _ in lanes
            ]
            lane_of: dict[Future, int] = {}

            def submit(w: int, first: list[list[dt.date]] | None = None) -> Future:
                k, forward = lanes[w]
                start, stop = segments[k]
                future = pools[w].submit(
                    _evaluate_claims,
                    scenario,
                    maps[start:stop],
                    k,
                    forward,
                    root,
                    people=people,
                    first=first or [],
                )
                lane_of[future] = w
                return future

            def then(future: Future) -> Future | None:
                # the worker goes on while its segment has maps left
                w = lane_of.pop(future)
                k = lanes[w][0]
                with ends.get_lock():
                    left = ends[2 * k] <= ends[2 * k + 1]
                return submit(w) if left else None

            # the lone maps dealt out from the last lane back (the first
            # lane starts at once)
            firsts: list[list[list[dt.date]]] = [[] for _ in lanes]
            for j, k in enumerate(sorted(lone)):
                firsts[len(lanes) - 1 - j % len(lanes)].append(lone[k])
            futures = [submit(w, firsts[w]) for w in range(len(lanes))]
            rows = _gathered(futures, then, len(days), progress)
            # each pool shut down and waited for (a worker ends at once, by
            # `os._exit`: a few milliseconds each).  Not let go to end in the
            # background: this process's exit handlers close the pools'
            # queues, and a pool whose thread had not yet sent its worker the
            # word to end never could, the exit waiting for that worker for
            # ever (seen once in about ten short sweeps)
            for pool in pools:
                pool.shutdown(wait=True)
            return rows
    except BrokenProcessPool:
        msg = (
            "a worker process of the sweep stopped abruptly (killed, out of memory, "
            "or started from a script whose code is not under "
            "\"if __name__ == '__main__':\"); guard the script, or pass workers=1 "
            "(--workers 1) to evaluate in this process"
        )
        raise TerritoryError(msg) from None


def dask_client(address: str) -> Any:
    """Return a Dask `Client` connected to the scheduler at `address`.

    Raises
    ------
    ImportError
        If Dask is not installed (the message names ``pip install 'territory[dask]'``).
    TerritoryError
        If the scheduler cannot be reached within `SCHEDULER_TIMEOUT_S`, or
        the address is malformed; one line naming the address.
    """
    try:
        from dask.distributed import Client
    except ImportError as err:
        msg = f"running on a Dask scheduler needs Dask; install it with {DASK_HINT}"
        raise ImportError(msg) from err
    try:
        return Client(address, timeout=SCHEDULER_TIMEOUT_S, set_as_default=False)
    except (OSError, ValueError, TypeError) as err:
        why = " ".join(str(err).split()) or type(err).__name__
        msg = (
            f"cannot reach the Dask scheduler at {address!r} ({why}); check the "
            "address (tcp://HOST:PORT) and that the scheduler is running"
        )
        raise TerritoryError(msg) from None


def _on_dask(scenario, days, root, *, address, workers, people, progress) -> list[dict]:
    """Chunks of dates on the Dask cluster at `address`, one task per chunk."""
    with dask_client(address) as client:
        if workers is None:
            workers = max(1, sum(client.nthreads().values()))
        parts = _chunks(days, workers)
        # pure=False: the tasks need no content hash of the scenario
        executor = client.get_executor(pure=False)
        futures = [
            executor.submit(_evaluate_chunk, scenario, part, root, people=people)
            for part in parts
        ]
        return _gathered(futures, lambda _: None, len(days), progress)
