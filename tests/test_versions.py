"""Dating daily files by the map version they show (territory.versions).

Synthetic histories test the matching rules on cases built to break them
(a lagging mirror, equal areas, a version no file holds, the history's end);
the record tests check the dating against DeepState's published areas.
"""

import datetime as dt
import io
import random
import statistics

import numpy as np
import pandas as pd
import pytest

from territory.versions import (
    INFERRED,
    MATCH_REL,
    MATCHED,
    TIE_REL,
    Published,
    _best_index,
    _BestOfAll,
    date_files,
    estimate_factor,
    kyiv_date,
    published_occupied,
)

UTC = dt.UTC
FACTOR = 1.00045  # the file's area ÷ the published area of the same map


def _history(days: int, start=dt.date(2025, 3, 1), seed=1):
    """One version a day at 19:00–21:59 UTC, the area growing 5–40 km² a day."""
    rng = random.Random(seed)
    area, times, areas = 110_000.0, [], []
    for i in range(days):
        day = start + dt.timedelta(days=i)
        t = dt.datetime.combine(
            day, dt.time(19 + rng.randrange(3), rng.randrange(60)), UTC
        )
        area += rng.uniform(5, 40)
        times.append(t)
        areas.append(round(area, 1))  # DeepState publishes 0.1 km²
    return pd.Series(areas, index=pd.DatetimeIndex(times))


def _files_of(published, versions):
    """The area of the daily file after each of `versions` (positions), by file day."""
    return {
        published.index[i].date() + dt.timedelta(days=1): published.iloc[i] * FACTOR
        for i in versions
    }


def _file_area(published, t, rng):
    # the file's own measure of the same map: the factor, and noise of 5e-6
    return published[pd.Timestamp(t)] * FACTOR * (1 + rng.gauss(0, 5e-6))


def test_files_are_matched_to_the_version_they_show_even_when_the_mirror_lags():
    rng = random.Random(2)
    published = _history(60)
    truth, areas = {}, {}
    for i in range(2, 60):
        file_day = published.index[i].date() + dt.timedelta(days=1)
        lag = 1 if rng.random() < 0.6 else 2  # 40% of the files show an older map
        t = published.index[i + 1 - lag].to_pydatetime()
        truth[file_day], areas[file_day] = t, _file_area(published, t, rng)
    versions, factor = date_files(areas, published)
    assert factor == pytest.approx(FACTOR, abs=2e-6)  # estimated, not assumed
    for day, t in truth.items():
        assert versions[day].how == MATCHED
        assert versions[day].time == t, day
        assert versions[day].day == kyiv_date(t)
        assert versions[day].residual < 3e-5


def test_the_factor_is_estimated_robustly():
    rng = random.Random(3)
    published = _history(40)
    areas = {}
    for i in range(1, 40):
        t = published.index[i].to_pydatetime()
        areas[t.date() + dt.timedelta(days=1)] = _file_area(published, t, rng)
    # a third of the files lag two days: the first guess (the last version
    # before each file) is wrong for them, and the estimate still converges
    for d in list(areas)[::3]:
        i = list(published.index.date).index(d - dt.timedelta(days=1))
        areas[d] = _file_area(published, published.index[i - 1].to_pydatetime(), rng)
    assert estimate_factor(areas, published) == pytest.approx(FACTOR, abs=2e-6)


def test_the_factor_rounds_choose_as_file_by_file():
    # the factor's rounds ask every file's best candidate at once
    # (`_BestOfAll`): the same choice as `_best_index` file by file, ties
    # (equal areas, and areas within TIE_REL) and files whose every
    # candidate is later than the usual capture time included
    rng = random.Random(7)
    pairs = []
    for _ in range(300):
        taken = dt.datetime(2025, 5, 1, 4, 30, tzinfo=UTC)
        n = rng.randrange(1, 9)
        first = taken - dt.timedelta(hours=rng.randrange(0, 60))
        times = [
            first + dt.timedelta(hours=10 * k + rng.randrange(8)) for k in range(n)
        ]
        base = 110_000.0
        kms = []
        for _ in times:
            pick = rng.random()
            if kms and pick < 0.3:
                kms.append(kms[-1])  # a day with no change
            elif kms and pick < 0.5:
                kms.append(kms[-1] * (1 + rng.choice([-1, 1]) * TIE_REL * rng.random()))
            else:
                kms.append(base + rng.uniform(0, 300))
        cands = list(zip(times, kms, strict=True))
        area = rng.choice(kms) * FACTOR * (1 + rng.gauss(0, 1e-5))
        pairs.append((area, cands, kms[0], taken))
    best = _BestOfAll(pairs)
    for factor in (FACTOR, FACTOR * (1 + 3e-5), 0.9995):
        want = []
        for area, cands, _, taken in pairs:
            k = _best_index(area, cands, factor, None, taken)
            want.append(area / cands[k][1])
        assert best.ratios(factor) == want


def test_versions_the_area_cannot_tell_apart():
    # Two versions with the same area (a day with no change): the file taken
    # at 04:00 shows the one published before it, never one published later.
    published = _history(10)
    same = published.index[5]
    later = same + pd.Timedelta(hours=20)  # the next version: no change in area
    published = pd.concat(
        [published, pd.Series([published[same]], index=[later])]
    ).sort_index()
    published = published[published.index != published.index[6]]  # keep it the last
    file_day = same.date() + dt.timedelta(days=1)
    areas = {file_day: published[same] * FACTOR, **_files_of(published, range(1, 5))}
    versions, _ = date_files(areas, published)
    assert versions[file_day].time == same.to_pydatetime()


def test_a_version_no_file_holds_and_the_end_of_the_history():
    published = _history(20)
    areas = _files_of(published, range(1, 20))
    odd = published.index[10].date() + dt.timedelta(days=1)
    areas[odd] *= 1 + 10 * MATCH_REL  # a map the history does not hold
    after = [published.index[-1].date() + dt.timedelta(days=k) for k in (3, 4)]
    for d in after:
        areas[d] = published.iloc[-1] * FACTOR + 50
    versions, _ = date_files(areas, published)
    for d in (odd, *after):
        # inferred with the usual lag of the matched files (1 day here), ±1 day
        assert versions[d].how == INFERRED
        assert versions[d].time is None
        assert versions[d].day == d - dt.timedelta(days=1)
    assert versions[odd + dt.timedelta(days=1)].how == MATCHED


def test_files_past_the_history_are_dated_without_their_areas():
    # A file the history does not cover is dated by inference whatever its
    # area, so it need not be measured: the same versions as measured; a
    # file the history covers must be measured (its area dates it).
    published = _history(20)
    areas = _files_of(published, range(1, 20))
    after = [published.index[-1].date() + dt.timedelta(days=k) for k in (3, 4, 9)]
    measured, _ = date_files(
        {**areas, **dict.fromkeys(after, published.iloc[-1] * FACTOR + 50)}, published
    )
    unmeasured, _ = date_files(areas, published, unmeasured=after)
    assert unmeasured == measured
    assert all(unmeasured[d].how == INFERRED for d in after)
    inside = next(iter(areas))
    with pytest.raises(ValueError, match="measure it"):
        date_files(areas, published, unmeasured=[inside])


def test_without_a_history_every_file_is_inferred():
    versions, factor = date_files({dt.date(2025, 1, 2): 1.0}, None)
    assert factor is None
    assert versions[dt.date(2025, 1, 2)].how == INFERRED


def test_kyiv_date_is_the_end_of_the_day_in_kyiv():
    # 21:30 UTC is 00:30 next day in Kyiv in summer (UTC+3), 23:30 in winter (UTC+2)
    assert kyiv_date(dt.datetime(2025, 8, 15, 21, 30, tzinfo=UTC)) == dt.date(
        2025, 8, 16
    )
    assert kyiv_date(dt.datetime(2025, 11, 15, 21, 30, tzinfo=UTC)) == dt.date(
        2025, 11, 15
    )


# --------------------------------------------------------------------- the record


@pytest.mark.data
def test_the_files_of_mid_august_2025(record):
    # The file dated 2025-08-15 (taken at 03:33 UTC on 15 Aug) shows the map
    # of 13 Aug 19:34 UTC (114,463.5 km² published), not that of 14 Aug 20:21
    # (114,480); the file of 2025-08-16 shows 15 Aug 16:37.  The map of 14 Aug
    # is in no daily file, and "as of 14 Aug" says so.
    v = record.versions
    assert v["deepstate-daily/2025-08-15"].time == dt.datetime(
        2025, 8, 13, 19, 34, 29, tzinfo=UTC
    )
    assert v["deepstate-daily/2025-08-16"].time == dt.datetime(
        2025, 8, 15, 16, 37, 13, tzinfo=UTC
    )
    snap, note = record.snapshot_for("2025-08-14")
    assert snap.label == "deepstate-daily 2025-08-15"
    assert snap.as_of == dt.date(2025, 8, 13)
    assert note.startswith("no map version of 2025-08-14 is in the record")
    assert record.snapshot_for("2025-08-15")[0].version == "2025-08-15T16:37:13+00:00"


@pytest.mark.data
def test_every_file_the_history_covers_is_matched(record):
    history = pd.read_csv(
        record.cache.require("deepstate-areas", dataset="deepstate-areas")
    )
    end = published_occupied(history).index[-1].date()
    covered = [
        v
        for k, v in record.versions.items()
        if dt.date.fromisoformat(k.split("/")[1]) <= end
    ]
    assert len(covered) > 480
    assert all(v.how == MATCHED for v in covered)
    assert statistics.median(v.residual for v in covered) < 1e-5


@pytest.mark.data
def test_the_history_read_without_pandas_is_the_same_to_the_bit(record):
    # The dating reads the area history with the csv module (pandas' import
    # would delay a first run): the same times and areas as the frame's
    # `published_occupied`, to the last bit, and the same dating of every file.
    data, _ = record.cache.read_verified("deepstate-areas")
    plain = Published.from_csv(data)
    framed = Published.from_series(published_occupied(pd.read_csv(io.BytesIO(data))))
    assert len(plain.times) > 1_000
    assert plain.times == framed.times
    assert plain.areas_km2 == framed.areas_km2
    areas = {
        dt.date(2025, 3, 2) + dt.timedelta(days=i): 110_000.0 + 17.0 * i
        for i in range(90)
    }
    assert date_files(areas, plain) == date_files(areas, framed)


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("time_index,hash,percent\n", "no column area, area_type"),
        (
            "time_index,area,area_type\n2025-08-15 16:37:13 UTC,12.5x,occupied_to_24_02_2022\n",
            "line 2 of the area history does not parse",
        ),
        (
            "time_index,area,area_type\n,12.5,occupied_to_24_02_2022\n",
            "line 2 of the area history does not parse",
        ),
        (  # a short row, after a blank line (skipped, as pandas skips it)
            "time_index,area,area_type\n\n2025-08-15 16:37:13 UTC,12.5\n",
            "line 3 of the area history does not parse",
        ),
    ],
)
def test_a_damaged_history_is_refused_naming_what_is_wrong(text, fault):
    # A ValueError the record turns into "dated without the area history"
    with pytest.raises(ValueError, match=fault):
        Published.from_csv(text.encode())


@pytest.mark.data
def test_the_map_of_day_d_is_the_latest_made_by_its_end(record):
    # On 3 Aug 2025 the API snapshot (19:58 UTC, with its grey zone) is the
    # latest map of the day; the daily file dated 2025-08-04 shows an older one.
    snap, note = record.snapshot_for("2025-08-03")
    assert snap.published == "2025-08-03T19:58:25+00:00"
    assert note is None
    daily = record.versions["deepstate-daily/2025-08-04"]
    assert daily.time < dt.datetime.fromisoformat(snap.published)


@pytest.mark.data
@pytest.mark.slow
def test_timeline_matches_the_published_history_on_every_date(record):
    # Every as-of date the history covers: ours against the latest version
    # DeepState published by the end of that day (Kyiv), after the steady
    # factor (the median ratio: our areas are ellipsoidal and cut to the
    # country, DeepState's its own).  Bounds from the issue: median 0.003%,
    # 95th percentile 0.017% — what remains once each file is dated by its
    # version is the days whose latest version no daily file holds.
    history = pd.read_csv(
        record.cache.require("deepstate-areas", dataset="deepstate-areas")
    )
    published = published_occupied(history)
    first = record.date_range()[0]
    series = record.occupied_series(
        first, published.index[-1].date() - dt.timedelta(days=1)
    )
    expected = []
    for day in series.index.date:
        end = pd.Timestamp(
            dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0)),
            tz="Europe/Kyiv",
        )
        expected.append(published[published.index < end].iloc[-1])
    ratio = series["occupied_km2"].to_numpy() / pd.Series(expected).to_numpy()
    error = abs(ratio / statistics.median(ratio) - 1)
    assert statistics.median(error) <= 3e-5
    assert pd.Series(error).quantile(0.95) <= 1.7e-4


@pytest.mark.data
def test_a_damaged_dating_file_is_never_trusted(record, tmp_path):
    # A dating file is named after its content: one byte changed (a day, still
    # valid JSON) must not move a map by a day; the file is dated again.
    from territory.record import Record
    from tests.support import overlay_cache

    cache = overlay_cache(tmp_path / "c", record.cache.root)
    # (the current one: a cache may keep others, of other measures)
    current = f"versions-{record._versions_inputs(record._daily_files())}-*.json"
    (link,) = (cache / "derived").glob(current)
    text = link.read_text()
    link.unlink()  # a copy of its own: the real cache stays as it is
    damaged = text.replace('"day": "2025-08-15"', '"day": "2025-08-14"', 1)
    assert damaged != text
    link.write_text(damaged)
    snap, note = Record(cache).snapshot_for("2025-08-15")
    assert snap.version == "2025-08-15T16:37:13+00:00"
    assert note is None
    # dated again: the same content, so the same name, now sound
    assert link.read_text() == text
    assert len(list((cache / "derived").glob(current))) == 1


def _damage(monkeypatch, method, key):
    """Have `Record.<method>` refuse the file of `key` as damaged."""
    import territory.record as rec
    from territory.errors import DataError

    own = getattr(rec.Record, method)

    def refused(self, snap):
        if snap.key == key:
            msg = f"{snap.key}: damaged; run 'territory data fetch'"
            raise DataError(msg)
        return own(self, snap)

    monkeypatch.setattr(rec.Record, method, refused)


def _fresh_overlay(record, root):
    """An overlay of the real cache with no daily areas or dating derived yet."""
    from tests.support import overlay_cache

    cache = overlay_cache(root, record.cache.root)
    for pattern in ("daily-areas-*", "versions-*"):
        for link in (cache / "derived").glob(pattern):
            link.unlink()  # the link only: the real cache stays as it is
    return cache


@pytest.mark.data
def test_the_areas_measured_in_forked_processes_are_the_serial_ones(
    record, tmp_path, monkeypatch
):
    # A fresh cache measures every daily file, shared with forked workers
    # (`Record._measure`): the same areas to the last bit, so the same
    # derived files, byte for byte, as when one process measures them all.
    import os

    import territory.record as rec

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    measured_here = {}
    own = rec.Record._occupied_km2

    def counted(self, snap):
        measured_here[name] = measured_here.get(name, 0) + 1
        return own(self, snap)

    monkeypatch.setattr(rec.Record, "_occupied_km2", counted)
    written = {}
    for name, least in (("serial", 10**9), ("forked", 2)):
        monkeypatch.setattr(rec, "PARALLEL_MIN_FILES", least)
        cache = _fresh_overlay(record, tmp_path / name)
        assert len(rec.Record(cache).versions) > 700
        written[name] = {
            p.name: p.read_bytes()
            for pattern in ("daily-areas-*", "versions-*")
            for p in (cache / "derived").glob(pattern)
        }
    assert len(written["serial"]) == 2
    assert written["forked"] == written["serial"]
    # the parent measured the shares it took in turn: the worker took others
    # (eleven shares, the largest first; it starts in milliseconds)
    assert measured_here["forked"] < measured_here["serial"]


@pytest.mark.data
def test_only_the_files_the_history_covers_are_measured(record, tmp_path, monkeypatch):
    # A fresh cache measures the daily files the history covers (their areas
    # date them); those past its end are only read and checked, and dated as
    # when every file was measured; a damaged one is left out (asking for its
    # date names the repair).
    import territory.record as rec

    measured = []
    own = rec.Record._occupied_km2
    monkeypatch.setattr(rec, "PARALLEL_MIN_FILES", 10**9)  # all in this process

    def counted(self, snap):
        measured.append(snap.key)
        return own(self, snap)

    monkeypatch.setattr(rec.Record, "_occupied_km2", counted)
    fresh = rec.Record(_fresh_overlay(record, tmp_path / "c"))
    daily = fresh._daily_files()
    past = daily[-1].key  # the history ends before the record does
    _damage(monkeypatch, "_snapshot_bytes", past)
    versions = fresh.versions
    assert past not in versions
    assert past not in measured
    assert 400 < len(set(measured)) < 0.8 * len(daily)
    inferred = [k for k, v in versions.items() if v.how == INFERRED]
    assert len(versions) == len(daily) - 1
    assert set(inferred) - set(measured)  # dated without being measured
    for key, version in versions.items():  # as the whole record's dating
        assert version == record.versions[key], key


@pytest.mark.data
def test_the_figures_layers_are_made_while_workers_measure(
    record, tmp_path, monkeypatch
):
    # With figures to compute next (`_figures_ahead`), a new cache's dating
    # has forked workers measure the files while this process makes the
    # figures' static layers first (then takes the shares left), which the
    # next `_series_statics` returns as made; the same dating as the
    # record's.  Not when figures are derived.
    import os

    import territory.record as rec

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    here = []
    own = rec.Record._occupied_km2
    own_statics = rec.Record._series_statics
    when_made = []

    def counted(self, snap):
        here.append(snap.key)  # (a forked worker's list is its own)
        return own(self, snap)

    def statics(self):
        out = own_statics(self)
        when_made.append(len(here))
        return out

    monkeypatch.setattr(rec.Record, "_occupied_km2", counted)
    monkeypatch.setattr(rec.Record, "_series_statics", statics)
    cache = _fresh_overlay(record, tmp_path / "c")
    for pattern in ("series-*", "statics-*", "static-layers-*", "border-band-*"):
        for link in (cache / "derived").glob(pattern):
            link.unlink()
    fresh = rec.Record(cache)
    with fresh._figures_ahead():
        versions = fresh.versions
        made = fresh._statics_ahead
        assert made is not None
        with monkeypatch.context() as m:
            m.setattr(rec.Record, "_static_geometries", None)  # not made again
            assert fresh._series_statics() is made
    # the layers made before this process measured any file, and the
    # workers measured some (this process only the shares they had not
    # taken by then)
    assert when_made[0] == 0
    matched = [k for k, v in versions.items() if v.how == MATCHED]
    assert len(here) < len(matched)
    assert dict(versions) == dict(record.versions)
    statics, stem = made
    built, built_stem = rec.Record(cache)._series_statics()
    assert (stem, statics.to_bytes()) == (built_stem, built.to_bytes())
    # with figures derived, nothing made ahead (nor while dating again)
    again = rec.Record(_fresh_overlay(record, tmp_path / "d"))
    assert list((tmp_path / "d" / "derived").glob("series-*"))
    with again._figures_ahead():
        assert dict(again.versions) == dict(versions)
        assert again._statics_ahead is None


@pytest.mark.data
def test_a_damaged_layer_made_ahead_is_refused_after_the_dating(
    record, tmp_path, monkeypatch
):
    # The layers fail while the workers measure: the dating goes on and is
    # kept, and the land's error (naming its repair) is raised where the
    # layers are wanted, as without making them ahead.
    import os

    import territory.record as rec
    from territory.errors import DataError

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    cache = _fresh_overlay(record, tmp_path / "c")
    for pattern in ("series-*", "statics-*", "static-layers-*", "border-band-*"):
        for link in (cache / "derived").glob(pattern):
            link.unlink()
    land = cache / "land.parquet"
    data = bytearray(land.read_bytes())
    land.unlink()  # the link only: a damaged copy in its place
    data[len(data) // 2] ^= 0x01
    land.write_bytes(bytes(data))
    fresh = rec.Record(cache)
    with pytest.raises(
        DataError, match=r"^land: .*run 'territory data fetch --force land"
    ):
        fresh.occupied_rows(every_days=30)
    assert list((cache / "derived").glob("versions-*.json"))
    assert dict(fresh.versions) == dict(record.versions)


@pytest.mark.data
def test_a_damaged_file_measured_by_a_forked_worker_is_left_out(
    record, tmp_path, monkeypatch
):
    # Its area is missing (asking for its date names the repair), the others
    # are measured as in one process; so for a file only checked (not
    # measured): a damaged one is not sound, wherever it was checked.
    import os

    import territory.record as rec

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    fresh = rec.Record(_fresh_overlay(record, tmp_path / "c"))
    daily = fresh._daily_files()[:40]
    checked = fresh._daily_files()[-30:]
    _damage(monkeypatch, "_snapshot_bytes", daily[-1].key)  # in the worker's share
    # (one in each share of the checked files: this process's and a worker's)
    for snap in (checked[3], checked[-2]):
        _damage(monkeypatch, "_snapshot_bytes", snap.key)
    monkeypatch.setattr(rec, "PARALLEL_MIN_FILES", 2)
    forked = fresh._measure(daily, checked)
    with monkeypatch.context() as m:
        m.setattr(fresh, "_ahead", True)  # (every share a worker's)
        assert fresh._measure(daily, checked) == forked
    monkeypatch.setattr(rec, "PARALLEL_MIN_FILES", 10**9)
    assert forked == fresh._measure(daily, checked)
    areas, sound = forked
    assert areas[-1] is None
    assert all(isinstance(a, float) and a > 100_000 for a in areas[:-1])
    assert sound == {s.key for s in checked} - {checked[3].key, checked[-2].key}


@pytest.mark.data
def test_the_walks_after_a_dating_read_the_files_it_measured_from_it(
    record, tmp_path, monkeypatch
):
    # With figures to compute next (`_figures_ahead`), the files the dating
    # measured (in forked workers and here) are kept as decoded, by checksum
    # (`_maps_ahead`), and the walks parse them from there, not from their
    # files: the same geometries, so the same figures.  A damaged file is not
    # kept; nothing is once the figures are done.
    import json
    import os

    import shapely

    import territory.record as rec
    from territory.errors import DataError

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    cache = _fresh_overlay(record, tmp_path / "c")
    for link in (cache / "derived").glob("series-*"):
        link.unlink()
    fresh = rec.Record(cache)
    daily = fresh._daily_files()
    damaged = daily[60]
    _damage(monkeypatch, "_snapshot_bytes", damaged.key)
    with fresh._figures_ahead():
        fresh.versions  # noqa: B018 (the dating, in forked workers)
        kept = dict(fresh._maps_ahead)
        (areas,) = (cache / "derived").glob("daily-areas-*.json")
        assert set(kept) == set(json.loads(areas.read_bytes()))  # every one measured
        assert len(kept) > 400
        assert fresh._recorded_sha(damaged) not in kept
        snaps = [s for s in daily[30:60] if fresh._recorded_sha(s) in kept]
        assert len(snaps) > 20
        for snap in snaps[::7]:
            read = fresh.read_snapshot(snap)
            got = fresh._read_map(snap, fresh._recorded_sha(snap))
            assert got.keys() == read.keys()
            for status, geom in read.items():
                assert shapely.to_wkb(got[status]) == shapely.to_wkb(geom)
        # the walk over them reads none of their files
        read_files = []
        own = rec.Record._snapshot_bytes
        monkeypatch.setattr(
            rec.Record,
            "_snapshot_bytes",
            lambda self, s: read_files.append(s.key) or own(self, s),
        )
        rows, _ = fresh._region_figures(snaps, gross=False, pandas=False)
        assert read_files == []
    assert fresh._maps_ahead == {}
    want, _ = record.region_figures(snaps)
    for got_row, want_row in zip(rows, want, strict=True):
        np.testing.assert_allclose(got_row, want_row, rtol=1e-12, atol=1e-9)
    with pytest.raises(DataError, match="damaged"):
        fresh._read_map(damaged, fresh._recorded_sha(damaged))
