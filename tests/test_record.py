"""Checks of our numbers against the published record (needs `make data`)."""

import datetime as dt
import itertools
import math

import pandas as pd
import pytest
import shapely

from territory.control import BORDER_GAP, RU, SEAM, UA
from territory.errors import DataError, DataNotFoundError
from territory.geodesy import area_km2
from tests.support import overlay_cache

pytestmark = pytest.mark.data

OFFICIAL_UA_KM2 = 603_628


def _snapshot(record, label):
    """The snapshot with this label, chosen by name (not by the dating of files)."""
    (snap,) = [s for s in record.snapshots if s.label == label]
    return snap


def test_total_occupied_matches_deepstate_published_figure(record):
    # The daily file dated 2025-08-15 shows DeepState's map of 13 Aug 2025
    # 19:34 UTC (issue 9: the map of 14 Aug is in no daily file).
    snap = _snapshot(record, "deepstate-daily 2025-08-15")
    at = pd.Timestamp("2025-08-13 19:34:29", tz="UTC")
    published = _published_occupied(record)[at]
    raw = record.read_snapshot(snap)["occupied"]
    part = record.partition(snap)
    country = shapely.union_all(record.regions.geometry.values)
    # DeepState's figure is its own area of its whole polygon; its areas run
    # a steady +0.03…0.05% below our ellipsoidal ones (SOURCES.md).
    whole = area_km2(raw)
    assert 0 < whole / published - 1 < 5e-4
    # Ours is that polygon cut to Ukraine's outline (what lies beyond goes)
    # plus the border gaps and seams given to the occupier; nothing else moves.
    # Tolerance 1e-9: `area_km2` is additive under overlays.
    ours = sum(area_km2(g) for g in part.pieces.geometry[part.pieces.holder == RU])
    cut = area_km2(shapely.intersection(raw, country))
    gaps = area_km2(shapely.union(part.country[BORDER_GAP], part.country[SEAM]))
    assert ours == pytest.approx(cut + gaps, rel=1e-9)
    # So ours differs from the published figure by at most the steady factor,
    # what lies beyond the outline and the land given to the occupier.
    assert abs(ours - published) <= 5e-4 * published + (whole - cut) + gaps


def test_ukrainian_held_donbas_matches_reuters(record):
    # Reuters (16 Aug 2025, citing DeepState): Ukraine holds about 6,600 km² of
    # Donbas.  3% tolerance: "about" in the report, and the figure is rounded.
    df = record.control("2025-08-15").to_frame()
    donbas = df.loc[["UA-14", "UA-09"], "held_km2"].sum()
    assert donbas == pytest.approx(6_600, rel=0.03)


def _published_occupied(record) -> pd.Series:
    path = record.cache.require("deepstate-areas", dataset="deepstate-areas")
    h = pd.read_csv(path)
    h["t"] = pd.to_datetime(h["time_index"].str.replace(" UTC", ""), utc=True)
    occ = h[
        h["area_type"].isin(["occupied_after_24_02_2022", "occupied_to_24_02_2022"])
    ]
    return occ.groupby("t")["area"].sum()


@pytest.mark.parametrize(
    "day", ["2024-07-10", "2025-01-01", "2025-06-01", "2025-11-28"]
)
def test_totals_track_deepstate_published_history(record, day):
    # The daily file dated D+1 shows the last snapshot published before ~03:00
    # UTC on D+1.  Tolerance 0.1%: the published figures are planar areas of
    # the same polygons, which agree with the geodesic ones to a few 0.01%.
    published = _published_occupied(record)
    cut = pd.Timestamp(
        f"{dt.date.fromisoformat(day) + dt.timedelta(days=1)} 03:00", tz="UTC"
    )
    expected = published[published.index < cut].iloc[-1]
    ours = record.control(day).totals(official_area_km2=OFFICIAL_UA_KM2)["occupied_km2"]
    assert ours == pytest.approx(expected, rel=1e-3)


def test_inland_oblasts_land_matches_official_areas(record):
    # Inland oblasts have no territorial sea: their land is their whole area,
    # which must match the State Statistics Service to 0.5% (boundary data
    # from OSM 2017 against official cadastral figures).
    coastal = {"UA-14", "UA-23", "UA-65", "UA-48", "UA-51", "UA-43", "UA-40"}
    df = record.control("2025-08-15").to_frame()
    inland = df[
        ~df.index.isin(coastal)
        & df.index.isin(
            [
                r
                for r, k in zip(record.regions.index, record.regions.kind, strict=True)
                if k == "oblast"
            ]
        )
    ]
    assert len(inland) == 19
    rel = (inland.land_km2 / inland.official_area_km2 - 1).abs()
    assert rel.max() < 0.005, (
        inland.assign(rel=rel).sort_values("rel").tail(3).to_string()
    )


def test_coastal_land_excludes_territorial_sea(record):
    # Donetsk's polygon is 28,936 km² with its Azov territorial sea; its land
    # must be near the official 26,517 km² (within 0.5%), not the polygon.
    df = record.control("2025-08-15").to_frame()
    assert df.at["UA-14", "land_km2"] == pytest.approx(26_517, rel=0.005)
    assert df.at["UA-14", "land_km2"] < 27_000


@pytest.mark.parametrize(
    "label", ["deepstate-daily 2025-08-16", "deepstate 1754251105"]
)
def test_every_region_land_is_its_pieces(record, label):
    # Computed apart from the partition, per region: its land is
    # region ∩ (land mask ∪ occupied ∪ grey) less the removed pieces, and its
    # Russian-held and grey land is region ∩ (occupied ∪ grey ∪ border gaps
    # ∪ seams).
    # The pieces, measured one by one, must add up to both.  Tolerance 1e-9:
    # `area_km2` is additive under overlays (Green's theorem on the same
    # edges), which only round coordinates.
    snap = _snapshot(record, label)
    part = record.partition(snap)
    status = record.read_snapshot(snap)
    source = shapely.union(
        status["occupied"], status.get("grey_zone", shapely.Polygon())
    )
    land = shapely.union(record.land, source)
    gaps = shapely.union(part.country[BORDER_GAP], part.country[SEAM])
    pieces = part.pieces.assign(km2=[area_km2(g) for g in part.pieces.geometry])
    removed = part.removed
    for rid, region in zip(record.regions.index, record.regions.geometry, strict=True):
        mine = pieces[pieces.region_id == rid]
        gone = shapely.union_all(removed.geometry[removed.region_id == rid].values)
        expected = area_km2(
            shapely.difference(shapely.intersection(region, land), gone)
        )
        assert mine.km2.sum() == pytest.approx(expected, rel=1e-9), rid
        taken = area_km2(shapely.intersection(region, shapely.union(source, gaps)))
        assert mine.km2[mine.holder != UA].sum() == pytest.approx(taken, rel=1e-9), rid


def test_removed_land_is_by_the_coast_only(record):
    # Slivers and water are removed only by the sea: every removed piece lies
    # within the 1-km tolerance (and touching) of the land mask's sea, and
    # only units with a coast lose land.  Odesa, with no front on its coast,
    # loses nothing; Luhansk, Sumy and Kharkiv have no coast.
    from territory.control import REMOVED_REASONS, SLIVER_TOLERANCE_M, TOUCH_M
    from territory.crs import STORAGE_CRS, metric_crs_for, transform

    ctl = record.control("2025-08-15")
    removed = ctl.partition.removed
    assert set(removed.reason) == set(REMOVED_REASONS)
    coastal = {"UA-14", "UA-23", "UA-65", "UA-48", "UA-43", "UA-40"}
    assert set(removed.region_id) <= coastal
    df = ctl.to_frame()
    assert (df.drop(index=list(coastal)).removed_km2 == 0).all()
    country = shapely.union_all(record.regions.geometry.values)
    sea = shapely.difference(shapely.box(*country.buffer(0.2).bounds), record.land)
    # one metric CRS for the coast, as the partition uses: it is true to
    # 0.15% at 600 km from its centre, 1.5 m at 1 km, under TOUCH_M
    metric = metric_crs_for(ctl.holding("UA"))
    sea_m = transform(sea, STORAGE_CRS, metric)
    shapely.prepare(sea_m)
    far = [
        (rid, area_km2(p))
        for rid, g in zip(removed.region_id, removed.geometry, strict=True)
        for p in shapely.get_parts(g)
        if not shapely.dwithin(
            transform(p, STORAGE_CRS, metric), sea_m, SLIVER_TOLERANCE_M + TOUCH_M
        )
    ]
    assert far == [], far


def test_border_gaps_lie_along_the_state_border(record):
    # Land between the occupied polygon and the state border, cut off from the
    # held land, is the occupier's: each gap touches the outline and lies
    # within 1 km of it.  Luhansk's, along the Russian border, are Russian-held.
    from territory.control import SLIVER_TOLERANCE_M

    ctl = record.control("2025-08-15")
    gaps = ctl.partition.country[BORDER_GAP]
    outline = shapely.union_all(record.regions.geometry.values).boundary
    parts = list(shapely.get_parts(gaps))
    assert parts
    # 1 km is less than 0.0149° of longitude south of 53°N (Ukraine ends at
    # 52.4°N), and less still in latitude: the outline widened by that much
    # (1.6% more than 1 km at 52.4°N, above the partition's 0.15% scale
    # error and the 0.2% a 16-segment circle falls short) covers every gap.
    band = outline.buffer(
        SLIVER_TOLERANCE_M / (111_320 * math.cos(math.radians(53))), quad_segs=16
    )
    assert all(band.covers(p) for p in parts)
    assert all(p.distance(outline) < 1e-8 for p in parts)  # touches (~1 mm)
    df = ctl.to_frame()
    assert df.at["UA-09", "border_gap_km2"] > 0
    # the held land is snap-rounded to 1e-9° (HELD_GRID_DEG, 0.1 mm): the
    # gaps' outlines (a few thousand km in all) may move by half that, so
    # their pieces cut by the regions and their union differ by < 1e-7
    assert df.border_gap_km2.sum() == pytest.approx(area_km2(gaps), rel=1e-7)
    in_ru = area_km2(shapely.intersection(gaps, ctl.holding("RU")))
    assert in_ru == pytest.approx(area_km2(gaps), rel=1e-9)


def test_fully_occupied_units_have_no_ukrainian_held_land(record):
    # Crimea and Sevastopol are wholly occupied: no coastline artefact may show
    # up as "Ukrainian-held" there.
    df = record.control("2025-08-15").to_frame()
    # nothing but float noise where snap-rounded pieces meet the exact land
    # along the coast (films 1e-9° wide): under 1 m²
    assert (df.loc[["UA-43", "UA-40"], "held_km2"] < 1e-6).all()


def test_missing_day_uses_the_latest_earlier_snapshot(record):
    # The files of 2024-08-18 and -19 are missing upstream: as of 2024-08-18,
    # the latest earlier map is the file of 2024-08-17 (as of 2024-08-16).
    ctl = record.control("2024-08-18")
    assert ctl.snapshot.as_of == dt.date(2024, 8, 16)
    assert ctl.note
    assert "2024-08-18" in ctl.note
    assert "latest earlier" in ctl.note


def test_dates_outside_the_record_name_the_range(record):
    first, last = record.date_range()
    assert first == dt.date(2024, 7, 7)
    with pytest.raises(DataNotFoundError, match=rf"covers {first} … {last}"):
        record.control(last + dt.timedelta(days=1))
    with pytest.raises(DataNotFoundError, match="covers"):
        record.control("2020-01-01")
    with pytest.raises(DataError, match="YYYY-MM-DD"):
        record.control("15/08/2025")


def test_api_snapshot_brings_a_grey_zone(record):
    # The raw API snapshot 1754251105 (2025-08-03 19:58 UTC) has a grey zone;
    # for 2025-08-03 it is preferred to the daily file and named as the source.
    ctl = record.control("2025-08-03")
    assert ctl.snapshot.label == "deepstate 1754251105"
    totals = ctl.totals(official_area_km2=OFFICIAL_UA_KM2)
    # SOURCES.md: grey zone 1,044.8 km² geodesic over the whole polygon; inside
    # Ukraine's land a little less.  Occupied 114,324.9 (DeepState: 114,273.1).
    assert 900 < totals["grey_km2"] < 1_045
    assert totals["occupied_km2"] == pytest.approx(114_273.1, rel=1e-3)


def test_the_cache_in_use_passes_every_check(record):
    # Backward compatibility: the index and files written before the integrity
    # checks existed pass them as they are, with no re-fetch.
    from territory import datasets

    checked, problems = datasets.verify(record.cache.root)
    assert problems == []
    assert checked == len(record.cache.entries)
    snapshot_keys = [
        k
        for k in record.cache.entries
        if k.startswith(("deepstate-daily/", "snapshots/"))
    ]
    assert sorted(s.key for s in record.snapshots) == sorted(snapshot_keys)


def test_series_start_after_end_names_both_dates(record):
    with pytest.raises(DataError, match="start 2025-08-15 is after end 2025-08-01"):
        record.occupied_series("2025-08-15", "2025-08-01")


@pytest.mark.parametrize("step", [0, 1.5, True, "7"])
def test_series_step_is_a_whole_number_of_days(record, step):
    # the same check as a sweep's: 1.5 is refused, not taken as 1 day
    with pytest.raises(DataError, match="a step of at least 1 day \\(an integer\\)"):
        record.occupied_series("2025-08-01", "2025-08-15", every_days=step)


def test_removed_frame_is_ready_for_export(record, tmp_path):
    # The removed and given land as one layer for an export beside the
    # transfers: its areas are the control table's, reason by reason.
    import geopandas as gpd

    ctl = record.control("2025-08-15")
    frame = ctl.removed_frame()
    df = ctl.to_frame()
    assert frame.index.names == ["region_id", "reason"]
    assert frame.crs.to_epsg() == 4326
    removed = frame[frame.removed]
    assert set(removed.index.get_level_values("reason")) == {"sliver", "water"}
    assert removed.area_km2.sum() == pytest.approx(df.removed_km2.sum(), rel=1e-9)
    gaps = frame.xs(BORDER_GAP, level="reason")
    assert gaps.area_km2.sum() == pytest.approx(df.border_gap_km2.sum(), rel=1e-9)
    assert (frame.as_of == "2025-08-15").all()
    path = tmp_path / "removed.gpkg"
    frame.to_file(path, layer="removed", driver="GPKG")
    back = gpd.read_file(path, layer="removed")
    assert len(back) == len(frame)
    assert {"region_id", "reason"} <= set(back.columns)  # the index, written
    assert back.crs.to_epsg() == 4326


def test_oblast_shares_against_deepstate_on_1_jan_2026(record):
    # DeepState's per-oblast shares for 1 Jan 2026 (its map of 31 Dec 2025),
    # as the issue quotes them: every oblast agrees within 0.2 points — the
    # gap a different coastline in the land's denominator leaves (DESIGN.md:
    # Zaporizhzhia's is the Molochnyi lagoon) — except Kherson, whose "72%"
    # is 1.2 points below ours for the reason DESIGN.md gives (the Syvash bays
    # and lagoons the 1-km mask counts as land).  Pinned so a change to the
    # land that closes or widens it shows here and the text is rewritten.
    df = record.control("2025-12-31").to_frame().set_index("name")["occupied_pct"]
    published = {
        "Donetsk": 78.1,
        "Luhansk": 99.6,
        "Zaporizhzhia": 74.8,
        "Sumy": 1.0,
        "Kharkiv": 4.7,
        "Dnipropetrovsk": 0.6,
    }
    for name, pct in published.items():
        assert df[name] == pytest.approx(pct, abs=0.2), name
    assert 1.0 < df["Kherson"] - 72.0 < 1.4


# ------------------------------------------------------------ map after map
def _not_derived(monkeypatch, rec):
    """`rec` finds no derived partition and keeps none (the cache is left as it is)."""
    monkeypatch.setattr(rec, "_cached_partition", lambda inputs: None)
    monkeypatch.setattr(
        rec, "_write_derived", lambda stem, suffix, body, content_hex=None: None
    )


def test_a_partition_not_derived_is_patched_from_the_last_one(monkeypatch):
    from territory.control import partition_land
    from territory.record import Record
    from tests.test_partition_patch import assert_same_partition

    rec = Record()
    _not_derived(monkeypatch, rec)
    first, then = (rec.snapshot_for(d)[0] for d in ("2025-08-15", "2025-08-16"))
    rec.partition(first)
    patched = rec.partition(then)
    assert rec._patched_from[then.key] == first.key
    fresh = partition_land(rec.regions, rec.land, rec.read_snapshot(then))
    assert_same_partition(patched, fresh)
    # the Control of the later map keeps what was measured of the land the two share
    a, b = rec.control("2025-08-15"), rec.control("2025-08-16")
    shared_rows = set(map(id, a.partition.pieces.geometry)) & set(
        map(id, b.partition.pieces.geometry)
    )
    assert shared_rows  # most regions' pieces did not change


def test_a_map_far_from_the_last_is_patched_from_an_earlier_one(monkeypatch):
    # The map of 28 Apr 2025 redraws much of the front (fresh); the next one
    # draws it back: patched from the map before (27 Apr), not afresh.
    from territory.control import partition_land
    from territory.record import Record
    from tests.test_partition_patch import assert_same_partition

    rec = Record()
    _not_derived(monkeypatch, rec)
    snaps = [rec.snapshot_for(d)[0] for d in ("2025-04-27", "2025-04-28", "2025-04-30")]
    for snap in snaps:
        rec.partition(snap)
    assert snaps[1].key not in rec._patched_from  # too far: afresh
    assert rec._patched_from[snaps[2].key] == snaps[0].key
    fresh = partition_land(rec.regions, rec.land, rec.read_snapshot(snaps[2]))
    assert_same_partition(rec.partition(snaps[2]), fresh)


@pytest.mark.parametrize(
    ("handed", "built", "keep", "files"),
    [
        # the country, its land and the sea around it (about 0.3 s)
        ("_HANDED_LAYERS", "static_layers", "_static_layers", "static-layers"),
    ],
)
def test_what_no_map_changes_is_kept_for_the_next_process(
    monkeypatch, handed, built, keep, files
):
    # Kept in the derived cache; a new process (here: the caches emptied)
    # reads it back, bit for bit what it would build, and the partition
    # uses it.
    import territory.control as ctl
    from territory.record import Record

    build = getattr(ctl, built)
    for _ in range(2):  # the first may build and keep it; the second reads it
        monkeypatch.setattr(ctl, handed, {})
        build.cache_clear()
        rec = Record()
        getattr(rec, keep)()
        assert list((rec.cache.root / "derived").glob(f"{files}-*.wkb"))
    ((key, value),) = getattr(ctl, handed).items()
    assert build(*key) is value
    build.cache_clear()
    monkeypatch.setattr(ctl, handed, {})
    again = build(*key)  # built anew
    build.cache_clear()

    assert [shapely.to_wkb(g) for g in value] == [shapely.to_wkb(g) for g in again]
    assert [g.geom_type for g in value] == [g.geom_type for g in again]


def test_the_border_band_is_made_when_first_needed_and_kept(monkeypatch, tmp_path):
    # The partition's band of the border (about a second to build) is made
    # only when a piece needs it: a Record tells the partition where it
    # comes from and reads or builds nothing; the first need builds it,
    # bit for bit what `build_static_buffer` gives, and keeps it; a new
    # process (here: the caches emptied) reads it back instead of building.
    import territory.control as ctl
    from territory.record import Record

    monkeypatch.setattr(Record, "_derived_dir", lambda self: tmp_path)
    band = None
    for round_ in range(2):
        monkeypatch.setattr(ctl, "_HANDED_BUFFERS", {})
        ctl.static_metric_buffer.cache_clear()
        rec = Record()
        rec._hand_border_band()
        ((key, source),) = ctl._HANDED_BUFFERS.items()
        assert callable(source)
        assert bool(list(tmp_path.glob("border-band-*.wkb"))) == (round_ == 1)
        if round_ == 1:  # kept: read, not built
            monkeypatch.setattr(ctl, "build_static_buffer", lambda *a: 1 / 0)
        got = ctl.static_metric_buffer(*key)
        assert ctl.static_metric_buffer(*key) is got  # once per process
        if band is None:
            band = got
        assert shapely.to_wkb(got) == shapely.to_wkb(band)
    monkeypatch.undo()
    ctl.static_metric_buffer.cache_clear()
    assert shapely.to_wkb(ctl.build_static_buffer(*key)) == shapely.to_wkb(band)
    assert len(list(tmp_path.glob("border-band-*.wkb"))) == 1


def test_a_record_keeps_its_last_maps_only(monkeypatch):
    import territory.record
    from territory.record import Record

    monkeypatch.setattr(territory.record, "MAPS_KEPT", 2)
    rec = Record()
    _not_derived(monkeypatch, rec)
    days = ("2025-08-15", "2025-08-16", "2025-08-17")
    for day in days:
        rec.control(day)
    assert list(rec._controls) == [rec.snapshot_for(d)[0].key for d in days[1:]]


def test_a_derived_partition_shares_the_geometries_of_the_map_before(record):
    from territory.datasets import read_arrow_table
    from territory.record import Record, _partition_bytes, _partition_from_table

    first, then = (record.snapshot_for(d)[0] for d in ("2025-08-15", "2025-08-16"))
    record.partition(first)
    record.partition(then)  # both derived now
    rec = Record()
    a, b = rec.partition(first), rec.partition(then)
    assert rec._patched_from[then.key] == first.key
    assert any(
        g is h for g, h in zip(a.pieces.geometry, b.pieces.geometry, strict=False)
    )
    # the areas kept with a partition survive the derived file
    back = _partition_from_table(read_arrow_table(_partition_bytes(b)))
    assert back.piece_km2 == b.piece_km2
    assert back.country_km2 == b.country_km2


def test_the_outline_band_is_kept_once_and_named_by_each_partition(record, tmp_path):
    # the band around the land's outline, the same for every map on the same
    # land (a quarter of a partition's file), is kept in a file of its own
    # that each partition's file names: read back, one object for every map,
    # equal to the band built anew.  (In a cache of its own, with none of the
    # partitions earlier runs left: a map patched in a sweep from another
    # base may hold the land to float noise otherwise, and name another band.)
    from territory.control import build_outline_band
    from territory.datasets import read_arrow_table
    from territory.record import Record, _partition_bytes, _partition_from_table

    root = overlay_cache(tmp_path / "cache", record.cache.root)
    for f in (root / "derived").iterdir():
        if f.name.startswith(("partition-", "outline-band-", "facts-")):
            f.unlink()
    derive = Record(root)
    first, then = (derive.snapshot_for(d)[0] for d in ("2025-08-15", "2025-08-16"))
    derive.partition(first)
    derive.partition(then)  # both derived now, the second patched from the first
    rec = Record(root)
    a, b = rec.partition(first), rec.partition(then)
    assert a.outline_band is b.outline_band
    land = b.country["land"]
    assert shapely.equals_exact(b.outline_band, build_outline_band.__wrapped__(land), 0)
    assert list((root / "derived").glob(f"outline-band-{rec._band_ref(land)}-*.wkb"))
    named = _partition_bytes(b, band_ref="some-band")
    assert len(named) < len(_partition_bytes(b)) - 1_000_000  # not written again
    table = read_arrow_table(named)
    assert table.column("geometry")[-1].as_py() is None
    assert table.column("region_id")[-1].as_py() == "some-band"
    kept = _partition_from_table(table, {"some-band": b.outline_band}.get)
    assert kept.outline_band is b.outline_band
    # a band not found (gone, damaged): none; a Control builds it when asked
    assert _partition_from_table(table, lambda ref: None).outline_band is None
    assert _partition_from_table(table).outline_band is None


def test_large_geometries_are_kept_once_apart_and_read_back_exactly(
    record, caplog, tmp_path
):
    # A partition's large geometries (the regions far from the front, the
    # same from map to map) are each kept once, in a file named after its
    # content, which the partition's file names: two maps share most of
    # them; read back in a new process, the partition is the one written,
    # to the bit.  A geometry file damaged or gone is never trusted: the
    # partition naming it is computed again.
    import shutil

    from territory.datasets import read_arrow_table, sha256_bytes
    from territory.record import (
        ROW_REF_MIN_BYTES,
        ROWS_DIR,
        Record,
        _partition_bytes,
        _row_refs,
    )
    from tests.support import overlay_cache
    from tests.test_partition_patch import assert_same_partition

    first, then = (record.snapshot_for(d)[0] for d in ("2025-08-15", "2025-08-16"))
    a, b = record.partition(first), record.partition(then)
    rows = record.cache.root / "derived" / ROWS_DIR
    names = []
    for p in (a, b):
        table = read_arrow_table(_partition_bytes(p, row_ref=record._row_ref))
        refs = table.column("ref").to_pylist()
        wkb = table.column("geometry").to_pylist()
        names.append({r for r in refs if r is not None})
        for ref, w in zip(refs, wkb, strict=True):
            # each large geometry apart, each small one in the file
            assert (ref is None) == (w is not None)
            if w is not None:
                assert len(w) < ROW_REF_MIN_BYTES
        for ref in names[-1]:
            body = (rows / f"row-{ref}.wkb").read_bytes()
            assert sha256_bytes(body)[:16] == ref
            assert len(body) >= ROW_REF_MIN_BYTES
    assert len(names[0] & names[1]) >= 15  # most of them shared
    # read back in a new process: the same partition, to the bit
    rec = Record(record.cache.root)
    back = rec.partition(then)
    for got, want in (
        (back.pieces.geometry, b.pieces.geometry),
        (back.removed.geometry, b.removed.geometry),
        (list(back.country.values()), list(b.country.values())),
    ):
        assert [shapely.to_wkb(g) for g in got] == [shapely.to_wkb(g) for g in want]
    assert back.piece_km2 == b.piece_km2
    # damaged (a flipped byte) or gone: the partition naming it is recomputed.
    # In a cache of its own, its geometry files copies: the real ones are
    # read by tests running beside this one
    root = overlay_cache(tmp_path / "c", record.cache.root)
    rows = root / "derived" / ROWS_DIR
    rows.mkdir()
    for name in names[1]:
        shutil.copyfile(
            record.cache.root / "derived" / ROWS_DIR / f"row-{name}.wkb",
            rows / f"row-{name}.wkb",
        )
    current = Record(root)  # the Record that read (or wrote) the partition on disk
    current.partition(then)
    for damage in ("flip", "gone"):
        content = current._partition_content[then.key]
        (path,) = (root / "derived").glob(f"partition-*-{content}.arrow")
        victim = rows / f"row-{sorted(_row_refs(path))[0]}.wkb"
        if damage == "flip":
            data = bytearray(victim.read_bytes())
            data[len(data) // 2] ^= 0x01
            victim.write_bytes(bytes(data))
        else:
            victim.unlink()
        fresh = Record(root)
        caplog.clear()
        again = fresh.partition(then)
        assert "recomputing" in caplog.text
        # the partition naming it: deleted, or written again the same
        if path.exists():
            assert sha256_bytes(path.read_bytes())[:16] == content
        assert_same_partition(again, b)  # (afresh: the same to 1e-9)
        # nothing damaged is left: gone, or written again (named again), sound
        if victim.exists():
            assert sha256_bytes(victim.read_bytes())[:16] == victim.stem[4:]
        # and what was written in its place reads back, to the bit
        current = Record(root)
        back = current.partition(then)
        assert [shapely.to_wkb(g) for g in back.pieces.geometry] == [
            shapely.to_wkb(g) for g in again.pieces.geometry
        ]


def test_a_derived_partition_reads_back_as_it_was_written(record):
    # the derived file (Arrow IPC) gives the frames, layers and areas written,
    # geometry for geometry: the same columns, dtypes, index and coordinates
    from geopandas.testing import assert_geodataframe_equal

    from territory.datasets import read_arrow_table
    from territory.record import (
        PARTITION_SUFFIX,
        _partition_bytes,
        _partition_from_table,
    )

    assert PARTITION_SUFFIX == ".arrow"
    p = record.partition(record.snapshot_for("2025-08-15")[0])
    back = _partition_from_table(read_arrow_table(_partition_bytes(p)))
    for got, want in ((back.pieces, p.pieces), (back.removed, p.removed)):
        assert_geodataframe_equal(got, want, check_less_precise=False)
        pd.testing.assert_series_equal(got.dtypes, want.dtypes)
        assert got.geometry.geom_equals_exact(want.geometry, tolerance=0).all()
        assert got.crs == want.crs
    assert list(back.country) == list(p.country)
    for holder, geom in p.country.items():
        assert shapely.equals_exact(back.country[holder], geom, tolerance=0), holder
    assert shapely.equals_exact(back.outline_band, p.outline_band, tolerance=0)
    assert back.piece_km2 == p.piece_km2
    assert back.country_km2 == p.country_km2


def test_pruning_removes_only_derived_files_no_map_reads(record, tmp_path):
    # A cache reading the real one (links), with the partition of one map,
    # the figures kept beside it and the geometries it keeps apart, as
    # derived by the record, and files nothing reads: a partition of an
    # earlier version of the algorithm, one of a file no longer in the
    # cache, one of an earlier form, figures kept beside a partition that is
    # gone, and a geometry kept apart that no partition names.  Only those
    # go; nothing else.
    import hashlib

    from territory.accounting import evaluate
    from territory.record import PARTITION_VERSION, ROWS_DIR, Record, _row_refs
    from territory.scenario import read_scenario

    day = "2025-08-15"
    ctl = record.control(day)
    evaluate(read_scenario("alaska-2025"), ctl, people=False)
    ctl.keep_derived()
    snap, _ = record.snapshot_for(day)
    real = record.cache.root / "derived"
    content = record._partition_content[snap.key]
    partition = list(real.glob(f"partition-*-{content}.arrow"))
    facts = list(real.glob(f"{record._facts_stem(snap)}-*.json"))
    assert len(partition) == 1
    assert facts  # (two processes may each have kept theirs)
    read = [*partition, *facts]
    root = tmp_path / "cache"
    root.mkdir()
    for entry in record.cache.root.iterdir():
        if entry.name != "derived":
            (root / entry.name).symlink_to(entry)
    derived = root / "derived"
    derived.mkdir()
    for f in read:
        (derived / f.name).symlink_to(f)
    named = sorted(_row_refs(partition[0]))
    assert len(named) >= 15  # the regions far from the front
    (derived / ROWS_DIR).mkdir()
    rows = [derived / ROWS_DIR / f"row-{name}.wkb" for name in named]
    for f in rows:
        f.symlink_to(real / ROWS_DIR / f.name)
    entries = record.cache.entries
    earlier = "|".join(
        [
            PARTITION_VERSION.rsplit("-", 1)[0] + "-1",  # an earlier version
            entries[snap.key]["sha256"],
            entries["boundaries"]["sha256"],
            entries["land"]["sha256"],
        ]
    )
    earlier_hex = hashlib.sha256(earlier.encode()).hexdigest()[:16]
    stale = [
        derived / f"partition-{earlier_hex}-{'1' * 16}.arrow",
        derived / f"partition-{'0' * 16}-{'1' * 16}.arrow",
        derived / read[0].name.replace(".arrow", ".parquet"),
        derived / f"facts-{'2' * 16}-{'3' * 16}.json",
        derived / ROWS_DIR / f"row-{'6' * 16}.wkb",
    ]
    others = [
        derived / f"series-{'4' * 16}-{'5' * 16}.json",
        derived / f".{read[0].stem}.x.part.arrow",  # being written
    ]
    for i, f in enumerate([*stale, *others]):
        f.write_bytes(b"x" * (i + 1))
    kept = [*(derived / f.name for f in read), *rows, *others]

    found, size = Record(root).prune_derived(dry_run=True)
    assert sorted(found) == sorted(stale)
    assert size == 1 + 2 + 3 + 4 + 5
    assert all(f.exists() for f in [*stale, *kept])  # a dry run removes nothing

    found, size = Record(root).prune_derived()
    assert sorted(found) == sorted(stale)
    assert not any(f.exists() for f in stale)
    assert all(f.exists() for f in kept)
    assert all(f.exists() for f in read)  # the real cache is untouched
    assert Record(root).prune_derived() == ([], 0)


def test_the_geometries_kept_apart_stay_one_name_one_geometry(tmp_path, monkeypatch):
    # Two objects of the same content share a name; the one noted last is
    # kept; past the limit the least recently used go, the names of the
    # others with them, and a name asked again is worked out again.
    import territory.record as rec_mod
    from territory.datasets import sha256_bytes

    monkeypatch.setattr(rec_mod, "ROW_REF_MIN_BYTES", 10)
    monkeypatch.setattr(rec_mod, "ROWS_READ_KEPT", 2)
    rec = rec_mod.Record.__new__(rec_mod.Record)
    rec._rows_read, rec._row_names = {}, {}
    monkeypatch.setattr(rec, "_derived_dir", lambda: tmp_path)
    a, b = shapely.box(30, 48, 31, 49), shapely.box(30, 48, 31, 49)
    c, d = shapely.box(32, 48, 33, 49), shapely.box(34, 48, 35, 49)
    name = rec._row_ref(a, shapely.to_wkb(a))
    assert name == sha256_bytes(shapely.to_wkb(a))[:16]
    assert rec._row_ref(b, shapely.to_wkb(b)) == name  # the same content
    assert rec._rows_read[name] is b
    assert id(a) not in rec._row_names
    for g in (c, d, a, c):  # past the limit of 2, in turn
        assert rec._row_ref(g, shapely.to_wkb(g)) is not None
        assert len(rec._rows_read) <= 2
        assert {id(v) for v in rec._rows_read.values()} == set(rec._row_names)
    assert rec._row(name) is a  # kept, the last noted of its content
    assert shapely.equals_exact(rec._row(rec._row_ref(d, shapely.to_wkb(d))), d, 0)


@pytest.mark.parametrize("cpus", [2, 3])
def test_workers_yield_the_cpus_to_the_parents_task_only_when_crowded(
    monkeypatch, cpus
):
    # Two workers forked while this process runs its own long task
    # (`meanwhile`) are three processes: on two CPUs they lower their
    # priority, so the task runs on a CPU of its own; on three, where each
    # has one, they do not (the negative control).  The shares are the same.
    import multiprocessing as mp
    import os
    import time

    from territory import record as record_module

    monkeypatch.setattr("os.cpu_count", lambda: cpus)
    base = os.nice(0)
    taken = mp.get_context("fork").Value("i", 0)

    def take(k: int) -> tuple[int, int, int]:
        with taken.get_lock():
            taken.value += 1
        return k, os.getpid(), os.nice(0)

    def meanwhile() -> None:  # until the workers have taken every share
        end = time.monotonic() + 30
        while taken.value < 6 and time.monotonic() < end:
            time.sleep(0.01)

    out = record_module._in_turns(take, 6, forked=2, meanwhile=meanwhile)
    assert [k for k, _, _ in out] == list(range(6))
    assert os.getpid() not in {pid for _, pid, _ in out}  # all the workers'
    assert os.nice(0) == base  # (this process's own is untouched)
    want = min(base + record_module._YIELD_NICE, 19) if cpus == 2 else base
    assert {nice for _, _, nice in out} == {want}


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_shares_cover_the_work_largest_first(workers):
    # The work the forked processes take in turn is cut into contiguous
    # shares covering every item once, the largest first, down to small ones
    # at the end (whoever ends its other work late still finds some), the
    # same number of shares whatever the work (two lists cut alike pair up).
    from territory.record import _LEAST_SHARE, _shares

    counts = set()
    for n in (0, 1, 7, 264, 505, 10_000):
        shares = _shares(n, workers)
        counts.add(len(shares))
        assert shares[0].start == 0
        assert shares[-1].stop == n
        assert all(a.stop == b.start for a, b in itertools.pairwise(shares))
        sizes = [s.stop - s.start for s in shares]
        if n == 10_000:
            assert sizes[0] == max(sizes)
            # (never larger than the one before, but for rounding)
            assert all(a >= b - 1 for a, b in itertools.pairwise(sizes[:-1]))
            # the last share: at most one and a half of the least
            assert sizes[-1] <= 1.5 * _LEAST_SHARE / workers * n + 1
            assert sizes[0] >= n / (2 * workers) - 1
    assert len(counts) == 1
