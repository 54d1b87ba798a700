"""The by-region figures map after map (`territory.series`) equal the partition's."""

import itertools

import numpy as np
import pytest
import shapely

from territory import series
from territory.control import RU, partition_land
from territory.geodesy import area_km2
from territory.record import _forked_walk as _real_forked_walk

pytestmark = pytest.mark.data


def _partition_ru_km2(record, by_status):
    p = partition_land(record.regions, record.land, by_status)
    ru = p.pieces[p.pieces["holder"] == RU]
    km2 = ru.assign(a=[area_km2(g) for g in ru.geometry]).groupby("region_id")["a"]
    return km2.sum().reindex(record.regions.index).fillna(0.0).to_numpy()


@pytest.fixture(scope="module")
def statics(record):
    regions = record.regions
    return series.Statics.build(
        list(regions.index), regions.geometry.values, record.land
    )


# Consecutive daily maps in spans where the line moved along the Sumy border
# (border gaps appear and vanish there) and across Donetsk, and two where a
# map redrew much of the line (hundreds of pieces decided again: the daily
# map of 2025-04-29, and a snapshot with a grey zone, given seams too); the
# engine's figures are checked against a full partition at the last map of
# each span.
@pytest.mark.parametrize(
    ("first", "last"), [(300, 306), (600, 604), (289, 292), (387, 390)]
)
def test_engine_equals_the_partition(record, statics, first, last):
    snaps = record.snapshots[first:last]
    engine = series.Engine(statics)
    for snap in snaps:
        got = engine.step(record.read_snapshot(snap))
    expected = _partition_ru_km2(record, record.read_snapshot(snaps[-1]))
    # 1e-9 relative: the accounting area is additive under every overlay,
    # so only float rounding separates the sum over cells from the whole
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
    assert any(g.reason == "border gap" for g in engine.given)


def test_a_map_that_goes_back_steps_from_the_kept_one(record, statics, monkeypatch):
    # The daily file of 2025-04-29 rounds every coordinate to 1e-6°, and the
    # next goes back: the engine steps to it from the map before the rounded
    # one (a few dozen edges changed, not thousands), with the same figures
    # as stepping through (and as the partition, checked above on this span).
    snaps = record.snapshots[289:292]
    assert snaps[1].key == "deepstate-daily/2025-04-29"
    maps = [record.read_snapshot(s) for s in snaps]
    engine = series.Engine(statics)
    for m in maps:
        got = engine.step(m)
    back = [k for k in engine._kept if k.prev.occupied is maps[0]["occupied"]]
    assert back
    assert back[0] is engine._kept[-1]
    assert len(series.changed_edges(back[0].prev, engine._prev)) < 300
    # gross changes are from the last map: that engine steps through
    gross = series.Engine(statics, gross=True)
    for m in maps:
        gross.step(m)
    assert not gross._kept
    np.testing.assert_allclose(gross.region_km2(), got, rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(series, "_REWIND_EDGES", 10**9)
    through = series.Engine(statics)
    for m in maps:
        want = through.step(m)
    assert not through._kept
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert got.sum() > 100_000  # km², Russian-held


def test_maps_going_back_and_forth_step_from_the_kept_ones(statics, monkeypatch):
    # Two drawings of one polygon (every vertex moved a hair), alternating:
    # after the first two, each map is stepped to from the kept state of the
    # same drawing (nothing to recompute), and the kept states, some of the
    # same map, are told apart; the figures are those of stepping through.
    circle = shapely.Point(37.6, 48.1).buffer(0.2, quad_segs=128)
    moved = shapely.set_precision(circle, 1e-6)
    maps = [{"occupied": g} for g in (circle, moved, circle, moved, circle, moved)]
    engine = series.Engine(statics)
    got = [engine.step(m).copy() for m in maps]
    assert len(engine._kept) == series._STATES_KEPT
    assert engine._kept[-1].prev.occupied is moved  # the one it stepped from
    monkeypatch.setattr(series, "_REWIND_EDGES", 10**9)
    through = series.Engine(statics)
    for m, g in zip(maps, got, strict=True):
        np.testing.assert_allclose(g, through.step(m), rtol=1e-12, atol=1e-12)


def test_groups_asking_the_main_held_land_once_are_the_same(record, statics):
    # The whole country's main held land is measured against all the seeds
    # at once: the same groups as `touching_groups`, on toy pieces (two
    # chains reaching the main land, one not) and on a map's held land.
    from territory.control import held_land, touching_groups

    main = shapely.box(36.0, 48.0, 37.0, 49.0)
    toys = [
        shapely.box(37.0, 48.2, 37.01, 48.21),  # touches the main land
        main,
        shapely.box(37.01, 48.2, 37.02, 48.21),  # touches the first
        shapely.box(37.5, 48.5, 37.51, 48.51),  # alone
        shapely.box(36.2, 49.0, 36.21, 49.01),  # touches the main land
        shapely.box(37.02, 48.2, 37.03, 48.21),  # not a seed, touches the third
    ]
    seeds = [0, 2, 3, 4]
    for start in (seeds, [3, 2], None):
        want = touching_groups(toys, seeds, start)
        assert touching_groups(toys, seeds, start, main=1) == want
    assert [0, 1, 2, 5] in want

    occupied = record.read_snapshot(record.snapshots[300])["occupied"]
    parts = list(
        shapely.get_parts(
            held_land(
                statics.country_land, shapely.intersection(occupied, statics.country)
            )
        )
    )
    main_k = int(np.argmax(series._areas_km2(parts)))
    seeds = [k for k in range(len(parts)) if k != main_k]
    start = seeds[::3]
    want = touching_groups(parts, seeds, start)
    assert touching_groups(parts, seeds, start, main=main_k) == want
    assert len(want) > 100


def test_gross_changes_add_up_to_the_net(record, statics):
    snaps = record.snapshots[400:404]
    engine = series.Engine(statics, gross=True)
    before = engine.step(record.read_snapshot(snaps[0]))
    for snap in snaps[1:]:
        after = engine.step(record.read_snapshot(snap))
        np.testing.assert_allclose(
            engine.gained_km2 - engine.lost_km2, after - before, atol=1e-8
        )
        before = after
    assert engine.gained_km2.sum() >= 0
    assert engine.lost_km2.sum() >= 0


def test_changed_edges_are_exact():
    # Ukraine's latitudes: two squares sharing three edges of four
    a = shapely.box(36.0, 48.0, 36.1, 48.1)
    b = shapely.Polygon(
        [(36.0, 48.0), (36.1, 48.0), (36.1, 48.1), (36.05, 48.12), (36.0, 48.1)]
    )
    old = series._Map(a, series._EMPTY, {}, {})
    new = series._Map(b, series._EMPTY, {}, {})
    for m in (old, new):
        for status, g in (("occupied", m.occupied), ("grey", m.grey)):
            m.edges[status], m.segments[status] = series._edges(g)
    changed = series.changed_edges(old, new)
    # the old top edge, and the two new edges of the roof
    assert len(changed) == 3
    assert series.changed_edges(old, old).shape == (0, 4)


def test_a_cell_enclosed_by_a_new_polygon_is_recomputed(record, statics):
    # A polygon that appears around whole cells changes no edge inside them:
    # the parity of a ray from each cell's centre finds them.
    engine = series.Engine(statics)
    base = {"occupied": shapely.box(37.0, 47.6, 37.05, 47.65)}
    engine.step(base)
    ring = shapely.box(37.0, 47.6, 37.05, 47.65).union(
        shapely.box(35.9, 48.4, 36.9, 49.1)
    )
    got = engine.step({"occupied": ring})
    expected = _partition_ru_km2(record, {"occupied": ring})
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


def test_damaged_derived_figures_are_never_trusted(record, tmp_path, monkeypatch):
    # The by-region figures are kept in a derived file named after its
    # content; a file changed by one digit, still valid JSON, is recomputed.
    monkeypatch.setattr(type(record), "_derived_dir", lambda self: tmp_path)
    snaps = record.snapshots[500:502]
    first, _ = record.region_figures(snaps)
    (path,) = tmp_path.glob("series-*.json")
    text = path.read_text()
    digit = next(i for i, c in enumerate(text) if c.isdigit() and text[i - 1] == "[")
    bad = text[:digit] + str((int(text[digit]) + 1) % 10) + text[digit + 1 :]
    path.write_text(bad)  # same name, other content
    again, _ = record.region_figures(snaps)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not path.exists() or path.read_text() == text


@pytest.mark.parametrize("cpus", [2, 4])
def test_forked_walks_equal_one_engine(record, tmp_path, monkeypatch, cpus):
    # A long span is cut into segments, each walked by two processes outward
    # from its pivot, the walk down starting from the state the walk up had
    # after its full map there; the figures (and the gross changes) equal
    # one engine's (with 4 CPUs, two segments: the second's walk down steps
    # to the map before it last).
    from territory import record as record_module

    snaps = record.snapshots[640:648]
    monkeypatch.setattr(type(record), "_derived_dir", lambda self: tmp_path / "one")
    monkeypatch.setattr(record_module, "PARALLEL_MIN_MAPS", 10_000)
    one_rows, one_steps = record.region_figures(snaps, gross=True)
    monkeypatch.setattr(type(record), "_derived_dir", lambda self: tmp_path / "forked")
    monkeypatch.setattr(record_module, "PARALLEL_MIN_MAPS", 2)
    monkeypatch.setattr("os.cpu_count", lambda: cpus)
    rows, steps = record.region_figures(snaps, gross=True)
    assert all(s is not None for s in steps[1:])
    for a, b in zip(one_rows, rows, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    for a, b in zip(one_steps[1:], steps[1:], strict=True):
        np.testing.assert_allclose(a[0], b[0], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-9, atol=1e-12)
    assert one_steps[0] is None
    assert steps[0] is None


def test_an_engine_taking_over_goes_on_as_the_one_it_took_over_from(record, statics):
    # A long run's walk down starts from the state its walk up had after the
    # pivot's full map (handed over between processes, pickled): from there
    # it steps as that engine would, to the same figures and the same land
    # given, with no full map of its own.
    at, nxt = (
        series.prepared(record.read_snapshot(s)) for s in record.snapshots[387:389]
    )
    one = series.Engine(statics)
    one.step(at)
    other = series.Engine.taking_over(statics, one.handover(), at)
    assert other.has_map
    np.testing.assert_array_equal(other.region_km2(), one.region_km2())
    calls = []
    other._full = calls.append  # never taken again
    np.testing.assert_array_equal(other.step(nxt), one.step(nxt))
    assert not calls
    assert [g.holder for g in other.given] == [g.holder for g in one.given]
    assert all(
        shapely.equals_identical(a.geom, b.geom)
        for a, b in zip(other.given, one.given, strict=True)
    )


def test_a_walk_down_equals_a_walk_up(record, statics):
    # Going down, the engine steps from map i + 1 to map i: the same rows,
    # and the change from i to i + 1 with gained and lost swapped.
    from territory.record import _FiguresJob

    order = record.snapshots[300:306]
    sha = {s.key: s.key for s in order}
    pair = {b.key: f"{a.key}>{b.key}" for a, b in itertools.pairwise(order)}
    todo = set(range(1, len(order)))
    job = _FiguresJob(record, statics, order, todo=todo, sha=sha, pair=pair, gross=True)
    span = range(len(order))
    up_rows, up_steps, _ = job.walk(iter(span), forward=True, tick=None)
    down_rows, down_steps, _ = job.walk(reversed(span), forward=False, tick=None)
    assert up_rows.keys() == down_rows.keys() == sha.keys()
    assert up_steps.keys() == down_steps.keys() == set(pair.values())
    for key, row in up_rows.items():
        np.testing.assert_allclose(down_rows[key], row, rtol=1e-12, atol=1e-9)
    for key, (gained, lost) in up_steps.items():
        np.testing.assert_allclose(down_steps[key][0], gained, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(down_steps[key][1], lost, rtol=1e-9, atol=1e-9)
    assert any(max(g) > 0 for g, _ in up_steps.values())  # the line moved


def test_a_walk_takes_a_repeated_file_without_reading_it(record, statics, monkeypatch):
    # Daily files often repeat the last one's content (snapshots 164, 165 and
    # 167 of the record repeat the one before): a walk keeps the figures of
    # the map it is at for them, and (gross) no change, without reading or
    # stepping them; the same as stepping each, either way.
    from territory.record import _FiguresJob

    order = record.snapshots[162:169]
    sha = {s.key: record._recorded_sha(s) for s in order}
    pair = {b.key: f"{sha[a.key]}>{sha[b.key]}" for a, b in itertools.pairwise(order)}
    repeats = {
        i for i in range(1, len(order)) if sha[order[i].key] == sha[order[i - 1].key]
    }
    assert repeats == {2, 3, 5}
    engine = series.Engine(statics, gross=True)
    want_rows, want_steps = {}, {}
    for i, snap in enumerate(order):
        engine.step(record.read_snapshot(snap))
        want_rows[sha[snap.key]] = engine.region_km2()
        if i:
            want_steps[pair[snap.key]] = (engine.gained_km2, engine.lost_km2)
    job = _FiguresJob(
        record,
        statics,
        order,
        todo=set(range(len(order))),
        sha=sha,
        pair=pair,
        gross=True,
    )
    real = type(record).read_snapshot
    for forward in (True, False):
        read = []
        monkeypatch.setattr(
            type(record),
            "read_snapshot",
            lambda self, s, read=read: read.append(s) or real(self, s),
        )
        span = range(len(order))
        rows, steps, _ = job.walk(
            iter(span) if forward else reversed(span), forward=forward, tick=None
        )
        taken = {order.index(s) for s in read}
        assert taken == set(span) - (repeats if forward else {i - 1 for i in repeats})
        assert rows.keys() == want_rows.keys()
        for key, row in rows.items():
            np.testing.assert_allclose(row, want_rows[key], rtol=1e-12, atol=1e-9)
        assert steps.keys() == want_steps.keys()
        for key, (gained, lost) in steps.items():
            np.testing.assert_allclose(gained, want_steps[key][0], rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(lost, want_steps[key][1], rtol=1e-9, atol=1e-9)


def test_static_layers_are_kept_to_the_last_bit(record, statics, tmp_path, monkeypatch):
    # The prepared regions and land are kept in the derived cache (they
    # change with no map) and read back identical; a damaged file is never
    # trusted: it is deleted and the layers built again.
    got = series.Statics.from_bytes(statics.to_bytes())
    for name in ("country", "country_land", "border", "sea_m", "near_sea"):
        assert shapely.equals_identical(getattr(got, name), getattr(statics, name))
    assert all(shapely.equals_identical(got.regions, statics.regions))
    assert (got.metric, got.origin, got.shape, got.region_ids) == (
        statics.metric,
        statics.origin,
        statics.shape,
        statics.region_ids,
    )
    with pytest.raises(ValueError, match="not the static layers"):
        series.Statics.from_bytes(b"ARROW1 not arrow")
    monkeypatch.setattr(type(record), "_derived_dir", lambda self: tmp_path)
    built = []
    real = series.Statics.build
    monkeypatch.setattr(
        series.Statics, "build", lambda *a, **k: built.append(1) or real(*a, **k)
    )
    record.region_figures(record.snapshots[500:501])
    (path,) = tmp_path.glob("statics-*.arrow")
    read, kept = record._series_statics()
    assert len(built) == 1
    assert kept is None
    assert shapely.equals_identical(read.country, statics.country)
    body = path.read_bytes()
    path.write_bytes(body[:-1] + b"x")  # same name, other content
    rebuilt, kept = record._series_statics()
    assert len(built) == 2
    assert not path.exists()
    assert kept is not None
    assert path.name.startswith(f"{kept}-")
    assert rebuilt.to_bytes() == body


def test_the_figures_and_the_partition_share_their_static_layers(
    record, tmp_path, monkeypatch
):
    # The country's layers depend on the boundaries alone: whichever of the
    # by-region figures and the partition comes first builds and keeps
    # them, and the other reads them, the same to the last bit (each Record
    # here is what a new process starts with).  Neither builds the border's
    # band for a map whose pieces by the border are shown to lie within it
    # (`control.in_border_band`): both only say where it would come from.
    from territory import control
    from territory.record import Record

    monkeypatch.setattr(Record, "_derived_dir", lambda self: tmp_path)
    read: list[str] = []
    real = control.hand_static_layers
    monkeypatch.setattr(
        control, "hand_static_layers", lambda *a: read.append("layers") or real(*a)
    )
    monkeypatch.setattr(control, "_HANDED_BUFFERS", {})
    control.static_metric_buffer.cache_clear()
    built_bands: list[str] = []
    real_build = control.build_static_buffer

    def build(geom, *rest):
        if "Line" in geom.geom_type:  # (the sea's, a polygon's, is always built)
            built_bands.append(geom.geom_type)
        return real_build(geom, *rest)

    monkeypatch.setattr(control, "build_static_buffer", build)
    snaps = record.snapshots[500:501]
    first = Record(record.cache.root)
    first.region_figures(snaps)
    assert read == []  # built here, and kept
    (layers_file,) = tmp_path.glob("static-layers-*.wkb")
    statics, _ = first._series_statics()
    # the partition reads them
    Record(record.cache.root).control(snaps[0].as_of)
    assert read == ["layers"]
    # and a first run of the figures on them reads them
    for path in tmp_path.glob("statics-*"):
        path.unlink()
    read.clear()
    third = Record(record.cache.root)
    built, stem = third._series_statics()
    assert stem is not None  # built (the statics' own file is gone)
    assert read == ["layers"]
    assert shapely.equals_identical(built.country, statics.country)
    assert shapely.equals_identical(
        shapely.get_parts(shapely.from_wkb(layers_file.read_bytes()))[0], built.country
    )
    assert built_bands == []
    assert not list(tmp_path.glob("border-band-*"))
    control.static_metric_buffer.cache_clear()


def test_maps_read_ahead_are_the_maps_taken_in_order():
    # While a walk down waits for its state it reads the next maps of its
    # walk ahead: the walk still takes every map once, in order, and a
    # map read ahead is the one read when it is taken (unwanted ones are
    # not read at all).
    from territory.record import _Ahead

    read = []

    def prepare(i):
        read.append(i)
        return ("map", i)

    ahead = _Ahead(iter(range(10, 20)), prepare, wanted=lambda i: i != 13)
    taken = []
    for i in ahead:
        taken.append(i)
        if i == 11:  # waiting: five maps read ahead
            assert all(ahead.fetch() for _ in range(5))
        assert ahead.map(i) == ("map", i)
    assert taken == list(range(10, 20))
    assert sorted(read) == list(range(10, 20))  # each read once
    assert read[:6] == [10, 12, 14, 15, 16, 11]  # 13 read only when taken
    ahead = _Ahead(iter(range(3)), prepare, wanted=lambda i: True)
    ahead.LIMIT = 2
    assert ahead.fetch()
    assert ahead.fetch()
    assert not ahead.fetch()  # enough read ahead
    assert list(ahead) == [0, 1, 2]
    assert not _Ahead(iter(()), prepare, wanted=lambda i: True).fetch()


def test_maps_read_ahead_come_with_the_change_from_the_map_before():
    # A walk waiting for its state works out, for each map it reads ahead,
    # the change from the map the engine will be at before it: the map it
    # starts from, then the last map read (a repeated file is not read: the
    # engine stays at the map before it); maps read when taken have none.
    from territory.record import _Ahead

    ahead = _Ahead(
        iter(range(10, 16)),
        lambda i: ("map", i),
        wanted=lambda i: i != 12,
        diff=lambda old, new: (old, new),
        start=("map", 9),
    )
    taken = []
    assert all(ahead.fetch() for _ in range(3))  # waiting: 10, 11 and 12
    for i in ahead:
        taken.append((i, ahead.diff_to(i)))
        if i != 12:  # (the walk takes a repeated file without reading it)
            ahead.map(i)
        if i == 13:  # waiting again: one more read ahead
            assert ahead.fetch()
    assert taken == [
        (10, (("map", 9), ("map", 10))),
        (11, (("map", 10), ("map", 11))),
        (12, None),  # a repeated file: not read
        (13, None),  # read when taken
        (14, (("map", 13), ("map", 14))),
        (15, None),
    ]


def test_a_change_worked_out_ahead_gives_the_same_figures(record, statics, monkeypatch):
    # `Engine.step` uses a change worked out ahead (`series.diff`) only when
    # it is from the map the engine is at: the same figures and land given,
    # to the last bit; one from another map is worked out again.
    a, b, c = (
        series.prepared(record.read_snapshot(s)) for s in record.snapshots[300:303]
    )
    plain = series.Engine(statics)
    for m in (a, b, c):
        want = plain.step(m)
    ab, bc = series.diff(a, b, statics), series.diff(b, c, statics)
    ac = series.diff(a, c, statics)
    other = series.Engine(statics)
    other.step(a)
    calls = []
    changed_edges = series.changed_edges
    monkeypatch.setattr(
        series, "changed_edges", lambda *x: calls.append(x) or changed_edges(*x)
    )
    other.step(b, ahead=ab)
    got = other.step(c, ahead=bc)
    assert not calls  # both changes were had ahead
    np.testing.assert_array_equal(got, want)
    assert all(
        shapely.equals_identical(x.geom, y.geom)
        for x, y in zip(other.given, plain.given, strict=True)
    )
    skipped = series.Engine(statics)
    skipped.step(a)
    direct = series.Engine(statics)
    direct.step(a)
    # from a to c, with the change from b to c: not used
    np.testing.assert_array_equal(skipped.step(c, ahead=bc), direct.step(c, ahead=ac))
    assert len(calls) == 1


def test_the_check_reads_the_figures_the_partition_keeps(record, tmp_path, monkeypatch):
    # The check that ends a long run reads the RU km² of its last map from
    # the areas the derived partition keeps (no geometry parsed): the same
    # figures as measuring the partition's pieces, to 1e-12.  With no
    # partition derived, the walk that ends there works the map out afresh
    # (`Engine.afresh`: a new engine's full map, sharing only the exact
    # pieces cut): the partition's figures to 1e-9, as the walk's are.
    from territory.control import RU
    from territory.geodesy import area_km2

    monkeypatch.setattr(type(record), "_derived_dir", lambda self: tmp_path)
    snaps = record.snapshots[697:701]
    snap = snaps[-1]
    statics, _ = record._series_statics()
    engine = series.Engine(statics)
    for s in snaps:
        walked = engine.step(record.read_snapshot(s))
    fresh = engine.afresh()
    assert record._kept_ru_km2(snap) is None
    pieces = record.partition(snap).pieces
    measured = [0.0] * len(record.region_ids)
    for rid, holder, geom in zip(
        pieces["region_id"], pieces["holder"], pieces.geometry, strict=True
    ):
        if holder == RU:
            measured[record.region_ids.index(rid)] += area_km2(geom)
    kept = record._kept_ru_km2(snap)
    assert kept is not None
    np.testing.assert_allclose(kept, measured, rtol=1e-12, atol=1e-9)
    assert max(kept) > 10_000  # the occupied oblasts are there
    np.testing.assert_allclose(fresh, measured, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(walked, measured, rtol=1e-9, atol=1e-9)
    from territory.errors import InternalError

    with pytest.raises(InternalError, match="no map to work out afresh"):
        series.Engine(statics).afresh()


@pytest.mark.parametrize("cpus", [1, 2])
@pytest.mark.parametrize("derived", [False, True], ids=["afresh", "partition"])
def test_a_long_run_that_disagrees_with_the_check_is_refused(
    record, tmp_path, monkeypatch, derived, cpus
):
    # Negative control of the check that ends every long run, against the
    # partition when one is derived and the map worked out afresh when not
    # (in one process, and by the forked walk that ends there): figures
    # stepped 1 km² off are an InternalError (exit 3), never written or shown.
    from territory import record as record_module
    from territory.errors import InternalError

    snaps = record.snapshots[640:648]
    monkeypatch.setattr(type(record), "_derived_dir", lambda self: tmp_path)
    if derived:
        record.partition(snaps[-1])
    monkeypatch.setattr(record_module, "PARALLEL_MIN_MAPS", 2)
    monkeypatch.setattr("os.cpu_count", lambda: cpus)
    real = series.Engine._update

    def off(self, *args, **kwargs):  # a step that gets a region wrong
        real(self, *args, **kwargs)
        self._occ_km2[0] += 1.0

    monkeypatch.setattr(series.Engine, "_update", off)
    what = "its partition" if derived else "the map worked out afresh"
    with pytest.raises(InternalError, match=f"disagree with {what}"):
        record.region_figures(snaps)
    assert not list(tmp_path.glob("series-*.json"))


def _measuring_dies():
    """A forked worker measuring daily files that dies at once (a test's)."""
    import os

    os._exit(9)


def _walk_up_dies(segment, span, forward, ticks):
    """A forked walk whose walk up dies before it hands its state over (a test's)."""
    import os

    if forward:
        os._exit(9)
    return _real_forked_walk(segment, span, forward, ticks)


def _walk_making_no_transformer(segment, span, forward, ticks):
    """A forked walk that fails if it builds a reprojection of its own (a test's)."""
    from territory import crs

    before = crs._transformer.cache_info().misses
    out = _real_forked_walk(segment, span, forward, ticks)
    if crs._transformer.cache_info().misses != before:
        msg = "a walk built its own transformer"
        raise AssertionError(msg)
    return out


@pytest.mark.parametrize("warm", [True, False])
def test_the_walks_inherit_the_reprojection(record, tmp_path, monkeypatch, warm):
    # The reprojection to the metric CRS every walk needs (pyproj's import
    # and a transformer, 0.1 s) is made by the parent before the fork, once
    # for all: statics read from the derived cache have not needed it yet.
    # Negative control: without `Statics.warm`, the walks make their own.
    from territory import crs
    from territory import record as record_module

    monkeypatch.setattr(type(record), "_derived_dir", lambda self: tmp_path)
    monkeypatch.setattr(record_module, "PARALLEL_MIN_MAPS", 2)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr(record_module, "_forked_walk", _walk_making_no_transformer)
    if not warm:
        monkeypatch.setattr(series.Statics, "warm", lambda self: None)
    with monkeypatch.context() as m:  # the static layers derived (short: no fork)
        m.setattr(record_module, "PARALLEL_MIN_MAPS", 10_000)
        record.region_figures(record.snapshots[600:602])
    crs._transformer.cache_clear()  # then a new process's: read, no reprojection
    snaps = record.snapshots[640:646]
    if warm:
        rows, _ = record.region_figures(snaps)
        assert len(rows) == len(snaps)
    else:
        with pytest.raises(AssertionError, match="its own transformer"):
            record.region_figures(snaps)


def _read_in_a_walk(real):
    """`Record.read_snapshot` failing in a forked walk (a test's): the walks
    read their maps from what the parent read ahead."""
    import os

    parent = os.getpid()

    def read(self, snap):
        if os.getpid() != parent:
            msg = f"a walk read {snap.key} from its file"
            raise AssertionError(msg)
        return real(self, snap)

    return read


@pytest.mark.parametrize("ahead", [True, False])
def test_maps_read_while_the_layers_are_made_are_the_maps_taken(
    record, tmp_path, monkeypatch, ahead
):
    # With no static layers kept, a long run makes them (half a second) while
    # forked workers read, check and decode the maps its walks take: the
    # walks read none from its file, the figures are those of the same
    # walks reading them (to the last bit), the layers are kept, and the
    # maps read are dropped once the walks are done.  Negative control:
    # without the reading ahead, the walks read their files.
    from territory import record as record_module

    snaps = record.snapshots[640:648]
    monkeypatch.setattr(record_module, "PARALLEL_MIN_MAPS", 2)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    with monkeypatch.context() as m:
        m.setattr(type(record), "_derived_dir", lambda self: tmp_path / "read")
        m.setattr(type(record), "_statics_reading_ahead", lambda self, files: [])
        read_rows, _ = record.region_figures(snaps)
    monkeypatch.setattr(type(record), "_derived_dir", lambda self: tmp_path / "ahead")
    monkeypatch.setattr(
        type(record), "read_snapshot", _read_in_a_walk(type(record).read_snapshot)
    )
    if not ahead:
        monkeypatch.setattr(type(record), "_statics_reading_ahead", lambda self, f: [])
        with pytest.raises(AssertionError, match="from its file"):
            record.region_figures(snaps)
        return
    rows, _ = record.region_figures(snaps)
    for a, b in zip(read_rows, rows, strict=True):
        np.testing.assert_array_equal(a, b)
    assert list((tmp_path / "ahead").glob(f"statics-*{record_module.STATICS_SUFFIX}"))
    assert not record._maps_ahead


def test_a_worker_killed_in_a_long_run_is_one_error_and_nothing_kept(
    runner, record, tmp_path, monkeypatch
):
    # A forked worker that stops abruptly (the kernel's out-of-memory killer,
    # a kill) breaks the pool: the run stops with one TerritoryError naming
    # what happened (exit 1, not a bug report), the other workers are
    # stopped too (no wait without end for a hand-over that never comes),
    # and nothing is written.
    from territory import record as record_module
    from territory.errors import TerritoryError

    monkeypatch.setattr(type(record), "_derived_dir", lambda self: tmp_path)
    monkeypatch.setattr(record_module, "PARALLEL_MIN_MAPS", 2)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr(record_module, "_forked_walk", _walk_up_dies)
    with pytest.raises(TerritoryError, match="stopped abruptly") as caught:
        record.region_figures(record.snapshots[700:706])
    assert "\n" not in str(caught.value)
    assert not list(tmp_path.glob("series-*.json"))
    from territory.cli.main import cli

    args = [
        "timeline",
        "--by",
        "region",
        "--start",
        "2026-06-01",
        "--end",
        "2026-06-06",
    ]
    result = runner.invoke(cli, [*args, "--every", "1"])
    assert result.exit_code == 1
    assert "stopped abruptly" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not list(tmp_path.glob("series-*.json"))


def test_a_worker_killed_measuring_the_daily_files_is_one_error(record, monkeypatch):
    # The same for the forked workers that measure a new cache's daily files
    # for their dating (`Record._measure`): one TerritoryError, not a bug.
    from territory import record as record_module
    from territory.errors import TerritoryError

    monkeypatch.setattr(record_module, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr(record_module, "_turns_forked", _measuring_dies)
    with pytest.raises(TerritoryError, match="stopped abruptly"):
        record._measure(list(record.snapshots[700:704]))


def test_float_noise_below_zero_is_zero_and_more_is_refused(statics):
    # taking a region's pieces away again, map after map, may leave it a few
    # 1e-12 km² below zero: shown as 0 (never "-5e-12" in a CSV, nor -0.0);
    # anything more is the engine gone wrong
    from territory.errors import InternalError

    engine = series.Engine(statics)
    noise = np.zeros(len(statics.regions))
    noise[0], noise[1] = -5.3e-12, -0.0
    engine._occ_km2 = noise
    out = engine.region_km2()
    assert out[0] == 0.0
    assert not np.signbit(out).any()
    noise[2] = -1e-3
    with pytest.raises(InternalError, match="below zero"):
        engine.region_km2()


def test_areas_in_one_pass_equal_area_km2():
    # The cells' and given pieces' km² are measured all at once; each equals
    # `area_km2` of its geometry (another summation order: float rounding).
    square = shapely.box(36.0, 48.0, 36.25, 48.25)
    holed = square.difference(shapely.box(36.1, 48.1, 36.15, 48.2))
    multi = shapely.MultiPolygon([holed, shapely.box(37.0, 47.0, 37.01, 47.3)])
    mixed = shapely.GeometryCollection(
        [shapely.box(35.0, 46.0, 35.2, 46.1), shapely.LineString([(35, 46), (36, 47)])]
    )
    sliver = shapely.Polygon([(35.8, 45.0), (35.85, 45.0), (35.84, 44.9984)])
    geoms = [square, holed, shapely.Polygon(), multi, mixed, sliver]
    got = series._areas_km2(geoms)
    want = [area_km2(g) for g in geoms]
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-15)
    assert got[2] == 0.0
    np.testing.assert_allclose(series._areas_km2([holed]), [area_km2(holed)])


def test_many_geometries_reproject_as_each_alone():
    # One call to PROJ for the pieces of a window: each comes out as
    # `transform` makes it, a folded ring made valid the same way.
    from territory.crs import STORAGE_CRS, local_metric_crs, transform, transform_many

    metric = local_metric_crs(31.0, 48.5).to_wkt()
    bowtie = shapely.Polygon([(35, 48), (35.1, 48.1), (35, 48.1), (35.1, 48), (35, 48)])
    geoms = [
        shapely.Point(33.0, 47.0).buffer(0.05),
        bowtie,
        shapely.Polygon(),
        shapely.box(38.0, 49.0, 38.5, 49.2).difference(
            shapely.box(38.1, 49.05, 38.2, 49.1)
        ),
    ]
    got = transform_many(geoms, STORAGE_CRS, metric)
    for g, out in zip(geoms, got, strict=True):
        assert shapely.equals_exact(transform(g, STORAGE_CRS, metric), out, 0.0)


def test_ray_parity_equals_counting_every_crossing():
    # Row by row with sorted crossings: the same parity as testing every edge
    # against every cell centre (edges through a centre's row included).
    rng = np.random.default_rng(7)
    ii, jj = np.nonzero(np.ones((40, 30), dtype=bool))
    centres = np.column_stack([30 + (ii + 0.5) * 0.25, 44 + (jj + 0.5) * 0.25])
    for _ in range(50):
        start = rng.uniform([30, 44], [40, 51.5], size=(200, 2))
        end = start + rng.normal(0, rng.choice([0.02, 0.5, 3.0]), size=(200, 2))
        seg = np.hstack([start, end])
        seg[:20, 1] = seg[:20, 3] = 44.125 + 0.25 * rng.integers(0, 30, 20)
        cx, cy = centres[:, :1], centres[:, 1:]
        x1, y1, x2, y2 = seg.T
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (cy - y1) * (x2 - x1) / (y2 - y1)
        crossing = ((y1 > cy) != (y2 > cy)) & (cx < x_at)
        want = crossing.sum(axis=1) % 2 == 1
        np.testing.assert_array_equal(series._parity(centres, seg), want)


def test_windows_hold_every_change_and_are_disjoint(statics):
    # A window reaches more than `_PAD_DEG` past each changed edge (so every
    # piece near a change lies in one), and no two windows meet.
    rng = np.random.default_rng(3)
    x0, y0 = statics.origin
    for _ in range(30):
        n = int(rng.integers(1, 40))
        start = rng.uniform([x0 + 0.2, y0 + 0.2], [x0 + 15, y0 + 7], size=(n, 2))
        seg = np.hstack([start, start + rng.normal(0, 0.05, size=(n, 2))])
        windows = series._windows(seg, statics)
        d = series._PAD_DEG
        for x1, y1, x2, y2 in seg:
            assert any(
                w[0] <= min(x1, x2) - d
                and w[1] <= min(y1, y2) - d
                and w[2] >= max(x1, x2) + d
                and w[3] >= max(y1, y2) + d
                for w in windows
            )
        for k, a in enumerate(windows):
            for b in windows[k + 1 :]:
                assert a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]
    assert series._windows(np.empty((0, 4)), statics) == []


@pytest.mark.parametrize("edge_deg", [series._EDGE_DEG, 0.0])
def test_a_piece_cut_off_the_snap_grid_by_a_window_is_cut(monkeypatch, edge_deg):
    # A window widened to 49.074999999999996° (off the 1e-9° grid the held
    # land is snap-rounded to) cuts a held notch 8 km tall whose top, within
    # the window, is 5.5 m wide.  The cut, snap-rounded to 49.075000000000003°,
    # does not touch the window's edge: taken for a whole piece, the strip
    # was a seam, given to Russia, though the whole country gives none (on
    # the record, a fragment of a border gap given beside the whole gap,
    # 0.0014 km² counted twice, when the grid's cells were 0.125°).  Within
    # `_EDGE_DEG` of the edge, a piece is cut: the window is widened instead
    # (the negative control, at 0: the fragment given).
    regions = [shapely.box(38.0, 47.5, 40.0, 50.5), shapely.box(40.0, 47.5, 42.0, 50.5)]
    statics = series.Statics.build(
        ["A", "B"], regions, shapely.box(37.0, 46.5, 43.0, 51.5)
    )
    notch = shapely.box(39.9, 49.0, 39.95, 49.07505)
    occupied = shapely.box(38.5, 48.0, 41.5, 50.0).difference(notch)
    new = series.prepared({"occupied": occupied})
    window = (39.375, 49.074999999999996, 40.425000000000004, 49.875)
    near = shapely.multilinestrings([notch.exterior])
    shapely.prepare(near)
    assert series.Engine(statics)._decide(new, None) == []  # the whole country
    monkeypatch.setattr(series, "_EDGE_DEG", edge_deg)
    given = series.Engine(statics)._redecide(new, window, near)
    if edge_deg:
        assert given == []
    else:
        assert [g.reason for g in given] == ["seam"]
        assert given[0].geom.bounds[1] < window[1] < given[0].geom.bounds[3]


def test_a_piece_two_windows_decide_is_given_once(monkeypatch):
    # A widened window may overlap another and decide the same piece of held
    # land; each cuts its exact piece from its own cut of the land and the
    # sides, which may differ in the last bits.  The piece is given once, by
    # its decision on the map, not once per distinct exact piece (made to
    # differ here by 1e-12°: before, a 5.5 m seam was counted twice).
    import dataclasses

    regions = [shapely.box(38.0, 47.5, 40.0, 50.5), shapely.box(40.0, 47.5, 42.0, 50.5)]
    statics = series.Statics.build(
        ["A", "B"], regions, shapely.box(37.0, 46.5, 43.0, 51.5)
    )
    block = shapely.box(38.5, 48.0, 41.5, 50.0)
    strip = shapely.box(39.9, 49.0, 39.95, 49.00005)
    old = series.prepared({"occupied": block})
    new = series.prepared({"occupied": block.difference(strip)})
    engine = series.Engine(statics)
    before = engine.step(old).copy()
    overlapping = [(39.5, 48.8, 40.3, 49.4), (39.4, 48.7, 40.4, 49.5)]
    change = dataclasses.replace(series.diff(old, new, statics), windows=overlapping)
    cut = series.exact_pieces
    calls = []

    def cut_apart(*args, **kwargs):
        calls.append(1)
        return shapely.transform(
            cut(*args, **kwargs), lambda xy: xy + len(calls) * 1e-12
        )

    def decide_alone(self, *args, **kwargs):
        self._exact.clear()  # each window cuts its own exact piece
        return decide(self, *args, **kwargs)

    decide = series.Engine._redecide
    monkeypatch.setattr(series, "exact_pieces", cut_apart)
    monkeypatch.setattr(series.Engine, "_redecide", decide_alone)
    after = engine.step(new, ahead=change)
    assert len(calls) == 2  # both windows cut the seam
    assert [g.reason for g in engine.given] == ["seam"]
    # the seam taken from the polygon is given back to its side once: no
    # region's figure moves (before, A's grew by the seam's 0.02 km²)
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-9)


def test_a_step_widening_a_window_off_the_snap_grid_equals_the_map_afresh(
    record, monkeypatch
):
    # The record's case of the test above: with the grid's cells at 0.125°,
    # the step from the daily map of 2025-11-02 to that of 2025-11-03 widens
    # a window to 49.074999999999996°, across a border gap in Luhansk, whose
    # fragment was given besides the whole gap (0.0014 km² counted twice,
    # to the record's end).  The figures now equal the map worked out afresh.
    monkeypatch.setattr(series, "CELL_DEG", 0.125)
    regions = record.regions
    statics = series.Statics.build(
        list(regions.index), regions.geometry.values, record.land
    )
    snaps = {s.key: s for s in record.snapshots}
    engine = series.Engine(statics)
    for key in ("deepstate-daily/2025-11-02", "deepstate-daily/2025-11-03"):
        got = engine.step(record.read_snapshot(snaps[key]))
    np.testing.assert_allclose(got, engine.afresh(), rtol=1e-9, atol=1e-9)


def test_static_layers_cut_from_tiles_are_the_layers_cut(statics):
    # A window's country, land and border are cut from a tile's cut: the
    # same land as cutting the whole layer.
    for box in [
        (33.4, 49.1, 33.65, 49.35),
        (35.0, 51.8, 35.4, 52.2),
        (36.9, 45.9, 37.3, 46.4),
    ]:
        for name in ("country", "country_land"):
            got = statics.clip(name, box)
            want = shapely.clip_by_rect(getattr(statics, name), *box)
            assert area_km2(shapely.symmetric_difference(got, want)) < 1e-9
        got = statics.clip("border", box)
        want = shapely.clip_by_rect(statics.border, *box)
        assert abs(got.length - want.length) < 1e-12
        assert statics.clip("country", box) is statics.clip("country", box)  # kept


def test_a_piece_wide_in_degrees_is_no_seam(record, statics):
    # Pieces cut by a window are not reprojected when far wider than a seam
    # (`_inner_point`, in degrees): such a piece is never "nowhere wide" in metres.
    from territory.control import held_land, nowhere_wide
    from territory.crs import STORAGE_CRS, transform

    # And a point of it farther from the border than the border's buffer
    # reaches (`_far_from_border`) shows what `_could_be_given` says: not given.
    occupied = record.read_snapshot(record.snapshots[300])["occupied"]
    wide = far = large = 0
    t = series.SLIVER_TOLERANCE_M
    for box in [
        (37.4, 47.8, 37.8, 48.1),
        (35.5, 47.3, 35.9, 47.6),
        (34.6, 51.0, 35.0, 51.4),
        # larger than `_WIDE_SPAN_DEG`: a point farther in is asked
        (37.0, 47.5, 38.2, 48.4),
        (35.0, 46.9, 36.5, 47.9),
    ]:
        land = statics.clip("country_land", box)
        others = shapely.clip_by_rect(
            shapely.intersection(occupied, statics.country), *box
        )
        m = {"border": statics.clip("border_m", series._widen(box, 1, pad=0.03))}
        for piece in shapely.get_parts(held_land(land, others)):
            inner = series._inner_point(piece)
            if inner is None:
                continue
            wide += 1
            minx, miny, maxx, maxy = piece.bounds
            large += max(maxx - minx, maxy - miny) > series._WIDE_SPAN_DEG
            pm = transform(piece, STORAGE_CRS, statics.metric)
            assert not nowhere_wide(pm)
            inner_m = transform(inner, STORAGE_CRS, statics.metric)
            assert shapely.contains(pm, inner_m)
            assert shapely.distance(inner_m, pm.boundary) > 60
            if series._far_from_border(inner, m, statics.metric, t):
                far += 1
                assert not series._could_be_given(pm, m, t)
    assert wide
    assert far
    assert large


@pytest.mark.parametrize("side_deg", [series._WIDE_SPAN_DEG, 0.8, 1.6])
def test_the_metric_crs_bends_a_straight_edge_as_inner_point_assumes(statics, side_deg):
    # `_inner_point`: a straight lon/lat edge within a box `side_deg` across
    # bends at most 65 m × (side / _WIDE_SPAN_DEG)² from the straight line
    # between its ends in the metric CRS, anywhere in the country.
    from territory.crs import STORAGE_CRS, transform

    minx, miny, maxx, maxy = statics.country.bounds
    steps = np.linspace(0, 1, 21)
    worst = 0.0
    for x in np.arange(minx, maxx - side_deg, 1.0):
        for y in np.arange(miny, maxy - side_deg, 1.0):
            for dx, dy in [(side_deg, 0), (0, side_deg), (side_deg, side_deg)]:
                for x0, y0 in [(x, y), (x, y + side_deg)] if dx and dy else [(x, y)]:
                    sy = -dy if y0 > y else dy
                    edge = shapely.LineString(
                        np.column_stack([x0 + dx * steps, y0 + sy * steps])
                    )
                    coords = shapely.get_coordinates(
                        transform(edge, STORAGE_CRS, statics.metric)
                    )
                    chord = shapely.LineString([coords[0], coords[-1]])
                    worst = max(
                        worst,
                        float(shapely.distance(shapely.points(coords), chord).max()),
                    )
    assert worst < 65 * (side_deg / series._WIDE_SPAN_DEG) ** 2
    # and a degree is at least 67.9 km in the country (of longitude, at its
    # northern edge): `_WIDE_DEG` is more than 135.8 m everywhere
    assert maxy < 52.4


def test_a_whole_map_cut_cell_by_cell_equals_it_cut_by_region(record, statics):
    # A whole map is cut cell by cell (the cells kept for the steps after
    # it); `afresh` cuts it by each region at once.  The cells are those whose
    # box meets the polygon, and the two ways give the same km² (1e-9: only
    # the order the pieces' areas are added in differs).
    snap = record.snapshots[600]
    occupied = record.read_snapshot(snap)["occupied"]
    cells = statics.cells_meeting(occupied)
    nx, ny = statics.shape
    every = [(i, j) for i in range(nx) for j in range(ny)]
    boxes = shapely.box(*np.array([statics.cell_box(i, j) for i, j in every]).T)
    meets = shapely.intersects(boxes, occupied)
    assert cells == [c for c, m in zip(every, meets, strict=True) if m]
    assert statics.cells_meeting(shapely.Polygon()) == []
    engine = series.Engine(statics)
    engine.step(record.read_snapshot(snap))
    assert set(engine._cell_pieces) == set(cells)
    by_cells = engine._occ_km2.copy()
    fresh = series.Engine(statics)
    fresh._full(series.prepared(record.read_snapshot(snap)), by_region=True)
    assert not fresh._cell_pieces
    np.testing.assert_allclose(by_cells, fresh._occ_km2, rtol=1e-9, atol=1e-9)
    assert (by_cells > 0).sum() >= 5
