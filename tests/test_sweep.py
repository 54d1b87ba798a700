"""A scenario across time (territory.sweep): rows equal single evaluations,
whatever runs them (this process, a process pool, a Dask cluster)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import re
import sys

import pytest

from territory.accounting import FLOW_COLUMNS, FLOWS, evaluate
from territory.errors import (
    DataError,
    DataNotFoundError,
    ScenarioError,
    TerritoryError,
)
from territory.geodesy import length_km
from territory.scenario import Rule, Scenario, Transfer, Zone, read_scenario
from territory.sweep import (
    _rows,
    dask_client,
    sweep_columns,
    sweep_dates,
    sweep_scenario,
    transfer_column,
    zone_column,
)
from tests.support import cli_without_pandas

#: Three dates two days apart around the Alaska summit (partitions cached by
#: the other tests of that week).
DATES = sweep_dates("2025-08-13", "2025-08-17", every_days=2)
ZONE = "Zaporizhzhia zone"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    """Alaska's two transfers and a mirror zone: every kind of column."""
    zone = Zone(
        name=ZONE,
        depth_km=5.0,
        withdraw=("UA", "RU"),
        rule=Rule(regions=("Zaporizhzhia",)),
    )
    return dataclasses.replace(read_scenario("alaska-2025"), zones=(zone,))


@pytest.fixture(scope="module")
def swept(record, scenario):
    """The sweep in this process (no pool)."""
    return sweep_scenario(scenario, DATES, workers=1, progress=False)


def _same(a, b) -> bool:
    """Exactly equal, None and NaN alike (a ratio with no denominator)."""

    def missing(v) -> bool:
        return v is None or (isinstance(v, float) and math.isnan(v))

    if missing(a) or missing(b):
        return missing(a) and missing(b)
    return a == b


def _records(df) -> list[dict]:
    """The rows of a sweep, each with its date (``as_of``, the index) as a date."""
    flat = df.reset_index()
    flat["as_of"] = flat["as_of"].dt.date
    return flat.to_dict("records")


@pytest.mark.data
def test_every_row_equals_a_single_evaluation(record, scenario, swept):
    assert [swept.index.name, *swept.columns] == sweep_columns(scenario)
    assert list(swept.index.date) == DATES  # one row per date, in date order
    assert swept.loc["2025-08-15", "snapshot"]  # a date is looked up as text
    for row in _records(swept):
        ev = evaluate(scenario, record.control(row["as_of"]))
        snap = ev.control.snapshot
        assert row["snapshot"] == snap.label
        assert row["snapshot_as_of"] == snap.as_of
        assert row["map_version"] == (snap.version or "")
        assert row["map_dated_by"] == snap.dated_by
        assert row["earlier_snapshot"] == (snap.as_of < row["as_of"])
        expected = {
            c: ev.flow_km2(a, b) for c, (a, b) in zip(FLOW_COLUMNS, FLOWS, strict=True)
        }
        expected |= {
            "cession_ratio": ev.ratios["cession"],
            "zone_ratio": ev.ratios["zone"],
            "front_before_km": ev.front_before_km,
            "front_after_km": ev.line_after.direct_km,
            "population_moved": sum(m.people["population"] for m in ev.moves),
        }
        for m in ev.moves:
            if m.kind == "transfer":
                expected[transfer_column(m.name)] = m.area_km2
        expected[zone_column(ZONE)] = sum(
            m.area_km2 for m in ev.moves if m.group == ZONE
        )
        (edges,) = ev.line_after.zones
        expected[zone_column(ZONE, "ua_edge")] = edges.ua_edge_km
        expected[zone_column(ZONE, "ru_edge")] = edges.ru_edge_km
        for col, value in expected.items():  # exact: the same function, same floats
            assert _same(row[col], value), (row["as_of"], col, row[col], value)
    assert (swept["ua_to_dmz_km2"] > 1_000).all()
    assert swept["zone_ratio"].notna().all()


@pytest.mark.data
def test_a_dask_cluster_gives_the_same_rows(record, scenario, swept):
    import pandas as pd
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        on_dask = sweep_scenario(
            scenario,
            list(reversed(DATES[1:])),  # any order in, date order out
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    # a chunk of one date on each worker
    expected = swept.iloc[1:]
    pd.testing.assert_frame_equal(on_dask, expected, check_exact=True, check_freq=False)


@pytest.mark.parametrize(
    ("call", "error", "phrase"),
    [
        pytest.param(
            lambda sc: sweep_scenario({"title": "x"}, DATES),
            ScenarioError,
            "sweep_scenario: 'scenario' is a dict; pass a Scenario, a library name",
            id="scenario-dict",
        ),
        pytest.param(
            lambda sc: sweep_scenario("alaska-2052", DATES),
            DataNotFoundError,
            "scenario 'alaska-2052' not found; give a .toml file or one of",
            id="scenario-unknown-name",
        ),
        pytest.param(
            lambda sc: sweep_scenario(sc, "2025-08-15"),
            DataError,
            "is one date; pass a list",
            id="one-date",
        ),
        pytest.param(
            lambda sc: sweep_scenario(sc, []),
            DataError,
            "no dates given",
            id="no-dates",
        ),
        pytest.param(
            lambda sc: sweep_scenario(sc, ["15/08/2025"]),
            DataError,
            "write it as YYYY-MM-DD",
            id="not-iso",
        ),
        pytest.param(
            lambda sc: sweep_scenario(sc, DATES, workers=0),
            DataError,
            "pass a positive integer",
            id="workers-zero",
        ),
        pytest.param(
            lambda sc: sweep_scenario(sc, DATES, workers=True),
            DataError,
            "pass a positive integer",
            id="workers-bool",
        ),
        pytest.param(
            lambda sc: sweep_scenario(sc, DATES, people="no"),
            DataError,
            "pass True or False",
            id="people-string",
        ),
        pytest.param(
            lambda sc: sweep_dates("2025-08-17", "2025-08-13"),
            DataError,
            "start 2025-08-17 is after end 2025-08-13; give the earlier date",
            id="start-after-end",
        ),
        pytest.param(
            lambda sc: sweep_dates("2025-08-13", "2025-08-17", every_days=0),
            DataError,
            "a step of at least 1 day",
            id="every-zero",
        ),
    ],
)
def test_bad_sweep_arguments_name_the_fix(call, error, phrase):
    sc = Scenario(
        title="t",
        as_of=dt.date(2025, 8, 15),
        transfers=(
            Transfer(name="t", source="UA", target="RU", rule=Rule(everything=True)),
        ),
    )
    with pytest.raises(error, match=re.escape(phrase)):
        call(sc)


@pytest.mark.data
def test_dates_outside_the_record_are_refused_first(record, scenario):
    first, _ = record.date_range()
    before = first - dt.timedelta(days=1)
    with pytest.raises(DataNotFoundError, match=f"no control map as of {before}"):
        sweep_scenario(scenario, [first, before], workers=1, progress=False)


@pytest.mark.data
def test_an_empty_selection_names_the_date(record):
    nothing = Scenario(
        title="Lviv",
        as_of=DATES[0],
        transfers=(
            Transfer(
                name="Lviv", source="RU", target="UA", rule=Rule(regions=("Lviv",))
            ),
        ),
    )
    with pytest.raises(ScenarioError, match=r"^as of 2025-08-13: .*selects no land"):
        sweep_scenario(nothing, DATES, workers=1, progress=False)


def test_dask_client_refusals(monkeypatch):
    import territory.sweep

    # no Dask: the install hint
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "dask.distributed", None)
        with pytest.raises(ImportError, match=r"pip install 'territory\[dask\]'"):
            dask_client("tcp://127.0.0.1:1")
    # nothing listening, or not an address: one line naming it
    monkeypatch.setattr(territory.sweep, "SCHEDULER_TIMEOUT_S", 0.5)
    for address in ("tcp://127.0.0.1:1", "nonsense"):
        with pytest.raises(
            TerritoryError, match="cannot reach the Dask scheduler"
        ) as e:
            dask_client(address)
        assert address in str(e.value)
        assert "\n" not in str(e.value)


@pytest.mark.data
def test_dates_on_one_map_share_its_evaluation(record, scenario):
    # two days shown by one snapshot (no new map version on the second):
    # one evaluation, two rows that differ only in the date
    days = sweep_dates("2025-08-01", "2025-08-31")
    pair = next(
        (a, b)
        for a, b in itertools.pairwise(days)
        if record.snapshot_for(a)[0].key == record.snapshot_for(b)[0].key
    )
    rows = sweep_scenario(scenario, list(pair), workers=1, progress=False)
    first, second = _records(rows)
    assert second["as_of"] == pair[1]
    assert second["earlier_snapshot"]
    for col in rows.columns:
        if col not in ("as_of", "earlier_snapshot"):
            assert _same(first[col], second[col]), col


@pytest.mark.data
def test_maps_of_the_same_content_share_an_evaluation(record, scenario, monkeypatch):
    # two maps, two files, the same content (a daily file that repeats the
    # last): the second row is the first's figures with its own map, and
    # equals a single evaluation of its date; no second evaluation is made
    from territory.record import Record

    days = sweep_dates("2025-07-15", "2025-08-15")
    pair = next(
        (a, b)
        for a, b in itertools.pairwise(days)
        if (sa := record.snapshot_for(a)[0]).key
        != (sb := record.snapshot_for(b)[0]).key
        and record.snapshot_sha256(sa) == record.snapshot_sha256(sb)
    )
    asked = []
    control = Record.control

    def counted(self, as_of=None):
        asked.append(as_of)
        return control(self, as_of)

    monkeypatch.setattr(Record, "control", counted)
    rows = sweep_scenario(scenario, list(pair), workers=1, progress=False)
    assert asked == [pair[0]]
    # so do a worker's tasks, one map each: the last map is kept between them
    last: dict = {}
    for day in pair:
        (row,) = _rows(Record(), scenario, [day], people=True, last=last)
    assert asked == [pair[0], pair[0]]
    assert row["snapshot"] == record.snapshot_for(pair[1])[0].label
    monkeypatch.undo()
    first, second = _records(rows)
    snap = record.snapshot_for(pair[1])[0]
    assert (second["as_of"], second["snapshot"]) == (pair[1], snap.label)
    assert second["snapshot_as_of"] == snap.as_of
    assert second["snapshot"] != first["snapshot"]
    ev = evaluate(scenario, record.control(pair[1]))
    alone = sweep_scenario(scenario, [pair[1]], workers=1, progress=False)
    (expected,) = _records(alone)
    for col in rows.columns:
        assert _same(second[col], expected[col]), col
    assert _same(second["ua_to_ru_km2"], ev.flow_km2("UA", "RU"))


@pytest.mark.data
def test_the_cli_prints_the_frames_rows_without_pandas(record, runner, tmp_path):
    # The command line writes the rows without pandas: the same text, byte
    # for byte, as the API's frame shaped as the command used to shape it.
    # Across the grey-zone map (2025-08-03), a zone's grey flow is 0 on the
    # daily map and km² on that one: all floats in the frame.

    from territory import tables
    from territory.cli.main import cli

    path = tmp_path / "zone.toml"
    path.write_text(
        "[scenario]\n"
        'title = "A Zaporizhzhia zone"\n'
        "as_of = 2025-08-15\n"
        "[[zones]]\n"
        'name = "Zaporizhzhia zone"\n'
        'withdraw = ["UA", "RU"]\n'
        "depth_km = 5\n"
        'select = { regions = ["Zaporizhzhia"] }\n',
        encoding="utf-8",
    )
    span = ("2025-08-02", "2025-08-03")
    df = sweep_scenario(path, sweep_dates(*span), workers=1, progress=False)
    assert list(df["grey_to_dmz_km2"] > 0) == [False, True]
    old = df.reset_index()
    old["as_of"] = old["as_of"].dt.date
    for col in ("as_of", "snapshot_as_of"):
        old[col] = old[col].map(dt.date.isoformat)
    args = ["evaluate", str(path), "--start", span[0], "--end", span[1]]
    printed = runner.invoke(cli, [*args, "--workers", "1", "--format", "json"])
    assert printed.stdout == tables.to_json(old.to_dict("records")) + "\n"
    # with worker processes, the command itself never imports pandas
    csv, pandas = cli_without_pandas(
        [*args, "--format", "csv", "--workers", "2"], record.cache.root
    )
    assert not pandas
    assert csv == tables.frame_csv(old)
    assert ",0.0," in csv  # (the flow's zero, written as a float)


@pytest.mark.parametrize(
    ("greys", "lone"),
    [
        ("..G..", [2]),  # DeepState's own snapshot among daily files
        ("G....", [0]),
        ("...GG...", []),  # two in a row: patched one from the other
        ("G.G.G.G.", []),  # both kinds in turn: left in place
        (".G", []),  # too few maps
    ],
)
def test_lone_maps_are_those_of_another_kind_than_both_neighbours(greys, lone):
    from territory.sweep import _lone_maps

    class Snap:
        def __init__(self, grey: bool) -> None:
            self.grey_zone = grey

    day = dt.date(2025, 8, 1)
    maps = [[day + dt.timedelta(days=i)] for i in range(len(greys))]

    class Rec:
        def snapshot_for(self, d):
            return Snap(greys[(d - day).days] == "G"), None

    assert list(_lone_maps(Rec(), maps)) == lone


@pytest.mark.data
def test_two_workers_across_the_grey_zone_map_give_the_rows_of_one(record, scenario):
    # the grey-zone map (2025-08-03) is taken first, out of its segment;
    # the rows are those of one process, figure for figure
    import multiprocessing

    from territory.sweep import sweep_rows

    days = sweep_dates("2025-08-01", "2025-08-05")
    sweep_rows(scenario, days, workers=2, progress=False)
    # its workers ended and waited for: none is left for this process's exit
    # handlers to wait on (they would close the pools' queues under a pool
    # still telling its worker to end, and wait for that worker for ever)
    assert multiprocessing.active_children() == []
    pooled = sweep_scenario(scenario, days, workers=2, progress=False)
    alone = sweep_scenario(scenario, days, workers=1, progress=False)
    assert list(pooled.index) == list(alone.index)
    for a, b in zip(_records(pooled), _records(alone), strict=True):
        for col in pooled.columns:
            assert _same(a[col], b[col]), (a["as_of"], col)


@pytest.mark.parametrize("order", ["alternate", "start first", "end first"])
def test_two_workers_from_both_ends_take_every_map_once(order):
    # however the two workers of a segment interleave, they meet once: every
    # map is taken, and by one of them (the other segment is untouched)
    import multiprocessing

    from territory.sweep import _claim

    ends = multiprocessing.get_context("spawn").Array("i", [0, 6, 0, 2])
    taken: list[int] = []
    turn = {
        "alternate": itertools.cycle([True, False]),
        "start first": itertools.chain([True] * 4, itertools.repeat(False)),
        "end first": itertools.chain([False] * 5, itertools.repeat(True)),
    }[order]
    while (i := _claim(ends, 0, next(turn))) is not None:
        taken.append(i)
    assert sorted(taken) == list(range(7))
    assert _claim(ends, 0, True) is None
    assert _claim(ends, 0, False) is None
    assert list(ends[2:]) == [0, 2]


def test_segments_give_two_workers_twice_the_maps_of_one():
    from territory.sweep import _segments

    maps = [[dt.date(2025, 8, 1)]] * 9
    assert _segments(maps, 2) == [(0, 9)]
    assert _segments(maps, 3) == [(0, 6), (6, 9)]
    assert _segments(maps, 4) == [(0, 4), (4, 9)]
    assert _segments(maps[:1], 4) == [(0, 1)]


@pytest.mark.data
def test_a_worker_goes_on_from_its_last_map(record, scenario):
    # a worker taking maps from a segment's end keeps one Record, and the
    # next map is patched from the last it took
    import multiprocessing

    import territory.sweep

    territory.sweep._LANE_RECORDS.clear()
    root = str(record.cache.root)
    maps = [[d] for d in DATES]
    territory.sweep._set_ends(
        multiprocessing.get_context("spawn").Array("i", [0, len(maps) - 1])
    )
    try:
        rows = territory.sweep._evaluate_claims(scenario, maps, 0, False, root)
        assert [r["as_of"] for r in rows] == DATES[::-1]  # from the end
        (lane,) = territory.sweep._LANE_RECORDS.values()  # one Record
        assert lane._last[0].key == record.snapshot_for(DATES[0])[0].key
        assert territory.sweep._evaluate_claims(scenario, maps, 0, True, root) == []
    finally:
        territory.sweep._LANE_RECORDS.clear()
        territory.sweep._set_ends(None)


@pytest.mark.data
def test_a_sweep_takes_a_library_name_as_evaluate_does(record):
    by_name = sweep_scenario("alaska-2025", DATES[:1], workers=1, progress=False)
    by_object = sweep_scenario(
        read_scenario("alaska-2025"), DATES[:1], workers=1, progress=False
    )
    import pandas as pd

    pd.testing.assert_frame_equal(by_name, by_object, check_exact=True)
    assert by_name["transfer:Ukraine withdraws from Donbas_km2"].iloc[0] > 6_000


#: Consecutive days in a week of the front moving in Donetsk (where the
#: transfers are), and single days spread over the rest of the year.
SPREAD = [
    *sweep_dates("2025-03-01", "2025-03-04"),
    *sweep_dates("2025-06-15", "2026-01-31", every_days=75),
]


@pytest.mark.data
def test_rows_equal_evaluations_on_fresh_partitions(record):
    """A sweep (partitions patched map after map, line lengths by tile) against
    evaluations on partitions made afresh with nothing kept: 1e-9 in areas,
    1e-6 in lengths."""
    import territory._line_tiles
    from territory.control import Control, partition_land

    sc = read_scenario("alaska-2025")
    rows = sweep_scenario(sc, SPREAD, workers=1, progress=False)
    territory._line_tiles._kept.clear()
    areas = [*FLOW_COLUMNS, *(transfer_column(t.name) for t in sc.transfers)]
    for row in _records(rows):
        snap, _ = record.snapshot_for(row["as_of"])
        fresh = partition_land(record.regions, record.land, record.read_snapshot(snap))
        ev = evaluate(sc, Control(row["as_of"], snap, None, record.regions, fresh))
        expected = dict(
            zip(FLOW_COLUMNS, (ev.flow_km2(a, b) for a, b in FLOWS), strict=True)
        )
        expected |= {
            transfer_column(m.name): m.area_km2
            for m in ev.moves
            if m.kind == "transfer"
        }
        for col in areas:
            assert row[col] == pytest.approx(expected[col], rel=1e-9, abs=1e-9), col
        assert row["front_before_km"] == pytest.approx(ev.front_before_km, rel=1e-6)
        assert row["front_after_km"] == pytest.approx(ev.front_after_km, rel=1e-6)
        # and the lengths by tile are those of the lines themselves
        edge = length_km(ev.control.edge("RU"))
        assert ev.front_before_km == pytest.approx(edge, rel=1e-8)
        assert ev.front_after_km == pytest.approx(ev.line_after.direct_km, rel=1e-8)
        assert row["population_moved"] == sum(m.people["population"] for m in ev.moves)
