"""Tests of territory.datasets and territory.manifest: fetch, verify, status.

Fetches read the geodata mirror (``@pytest.mark.data``) into a tmp cache and
keep to a few days of the DeepState record, so the module stays fast.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
from pathlib import Path

import geopandas as gpd
import pytest

from territory import datasets
from territory.datasets import Cache, atomic_path, daily_key
from territory.errors import DataError, DataNotFoundError
from territory.manifest import load_manifest
from territory.record import Record
from tests.support import MIRROR, fresh_python, isolate_env, require_mirror, tree

DAILY_REL = "deepstate/daily/deepstatemap_data_{:%Y%m%d}.geojson"
# Days with no file upstream (SOURCES.md), inside the record 2024-07-08 … 2026-08-22.
MISSING_UPSTREAM = {
    dt.date(2024, 8, 18),
    dt.date(2024, 8, 19),
    dt.date(2025, 1, 1),
    dt.date(2025, 3, 31),
    dt.date(2025, 4, 1),
    dt.date(2025, 11, 26),
    dt.date(2026, 7, 9),
}
FIRST, LAST = dt.date(2024, 7, 8), dt.date(2026, 8, 22)
D = dt.date


@pytest.fixture
def mirror() -> Path:
    return require_mirror()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


def index_of(cache: Path) -> dict[str, dict]:
    return json.loads((cache / "index.json").read_text())["files"]


def fetch_days(
    cache: Path,
    mirror: Path | str,
    start: dt.date | None,
    end: dt.date | None,
    **kw: object,
) -> datasets.FetchReport:
    return datasets.fetch(
        ["deepstate-daily"],
        cache_dir=cache,
        mirror=str(mirror),
        start=start,
        end=end,
        **kw,
    )


# ------------------------------------------------------------------ fetch from a mirror


@pytest.mark.data
def test_fetch_converts_and_indexes(mirror: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    report = fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 16))

    days = [D(2025, 8, 14), D(2025, 8, 15), D(2025, 8, 16)]
    assert report.fetched == [daily_key(d) for d in days]
    assert report.skipped == report.unavailable == []
    sums = load_manifest().dataset("deepstate-daily").checksums()
    index = index_of(cache)
    assert sorted(index) == [daily_key(d) for d in days]
    for day in days:
        entry = index[daily_key(day)]
        # the file dated D shows the map as of the evening of D-1
        assert entry["as_of"] == (day - dt.timedelta(days=1)).isoformat()
        assert entry["dataset"] == "deepstate-daily"
        assert entry["path"] == f"deepstate-daily/{day.isoformat()}.parquet"
        assert entry["source"] == str(mirror / DAILY_REL.format(day))
        assert entry["source_sha256"] == sums[day]
        parquet = cache / entry["path"]
        assert entry["sha256"] == hashlib.sha256(parquet.read_bytes()).hexdigest()
        assert entry["size"] == parquet.stat().st_size
        gdf = gpd.read_parquet(parquet)
        assert list(gdf["status"]) == ["occupied"]
        assert gdf.crs.to_epsg() == 4326
        assert gdf.geometry.iloc[0].geom_type in ("Polygon", "MultiPolygon")
    # converted once: only parquet and the index, no GeoJSON, no leftovers
    files = sorted(
        p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file()
    )
    assert files == [
        "deepstate-daily/2025-08-14.parquet",
        "deepstate-daily/2025-08-15.parquet",
        "deepstate-daily/2025-08-16.parquet",
        "index.json",
    ]
    assert [s.as_of for s in Record(cache).snapshots] == [
        D(2025, 8, 13),
        D(2025, 8, 14),
        D(2025, 8, 15),
    ]


@pytest.mark.data
def test_second_fetch_skips_everything(mirror: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 15))
    listing, index = tree(cache), (cache / "index.json").read_bytes()

    report = fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 15))

    assert report.fetched == []
    assert report.skipped == [daily_key(D(2025, 8, 14)), daily_key(D(2025, 8, 15))]
    assert tree(cache) == listing
    assert (cache / "index.json").read_bytes() == index


@pytest.mark.data
def test_progress_is_reported_per_file(mirror: Path, tmp_path: Path) -> None:
    calls: list[tuple[int, int, str]] = []
    fetch_days(
        tmp_path / "cache",
        mirror,
        D(2024, 8, 17),
        D(2024, 8, 20),
        progress=lambda done, total, label: calls.append((done, total, label)),
    )
    assert calls == [
        (1, 2, "deepstate-daily/2024-08-17"),
        (2, 2, "deepstate-daily/2024-08-20"),
    ]


@pytest.mark.data
def test_fetch_static_datasets(mirror: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    report = datasets.fetch(
        ["land", "boundaries-simplified", "deepstate-areas", "deepstate-sample"],
        cache_dir=cache,
        mirror=str(mirror),
    )
    assert sorted(report.fetched) == [
        "boundaries-simplified",
        "deepstate-areas",
        "land",
        "snapshots/1754251105",
    ]
    index = index_of(cache)

    land = gpd.read_parquet(cache / index["land"]["path"])
    assert list(land["status"]) == ["land"]
    minx, miny, maxx, maxy = land.total_bounds
    # clipped to the manifest's box
    assert minx >= 21.5
    assert miny >= 43.5
    assert maxx <= 41.0
    assert maxy <= 53.0

    regions = gpd.read_parquet(cache / index["boundaries-simplified"]["path"])
    assert len(regions) == 27
    assert {"shapeISO", "shapeName"} <= set(regions.columns)
    assert regions.crs.to_epsg() == 4326

    # the validation table is copied byte for byte
    csv = cache / index["deepstate-areas"]["path"]
    assert csv.suffix == ".csv"
    assert (
        csv.read_bytes()
        == (mirror / "validation" / "deepstate_area_history.csv").read_bytes()
    )

    snap = index["snapshots/1754251105"]
    assert snap["as_of"] == "2025-08-03"
    assert snap["published"] == "2025-08-03T19:58:25+00:00"
    assert snap["grey_zone"] is True
    assert datasets.verify(cache) == (4, [])


def test_optional_dataset_missing_from_mirror_is_unavailable(tmp_path: Path) -> None:
    empty_mirror = tmp_path / "mirror"
    empty_mirror.mkdir()
    report = datasets.fetch(
        ["deepstate-sample"], cache_dir=tmp_path / "cache", mirror=str(empty_mirror)
    )
    assert report.unavailable == ["snapshots/1754251105"]
    assert report.fetched == []
    assert not (tmp_path / "cache").exists()


def test_required_dataset_missing_from_mirror_raises(tmp_path: Path) -> None:
    empty_mirror = tmp_path / "mirror"
    empty_mirror.mkdir()
    with pytest.raises(
        DataNotFoundError,
        match=r"not in the mirror.*ne_10m_land_ukraine_region\.geojson",
    ):
        datasets.fetch(["land"], cache_dir=tmp_path / "cache", mirror=str(empty_mirror))
    assert tree(tmp_path / "cache") == {}


# ------------------------------------------------------------------------------- verify


@pytest.mark.data
def test_verify_detects_corruption_and_deletion(mirror: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 16))
    assert datasets.verify(cache) == (3, [])

    corrupt = cache / "deepstate-daily" / "2025-08-14.parquet"
    data = bytearray(corrupt.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 8):  # same size, other bytes
        data[i] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    checked, problems = datasets.verify(cache)
    assert checked == 3
    assert len(problems) == 1
    assert problems[0].startswith("deepstate-daily/2025-08-14:")
    assert "changed since it was fetched" in problems[0]
    assert "--force deepstate-daily" in problems[0]

    (cache / "deepstate-daily" / "2025-08-16.parquet").unlink()
    checked, problems = datasets.verify(cache)
    assert checked == 3
    assert len(problems) == 2
    missing = [p for p in problems if p.startswith("deepstate-daily/2025-08-16:")]
    assert len(missing) == 1
    assert "is missing" in missing[0]

    # a forced fetch repairs both
    report = fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 16), force=True)
    assert len(report.fetched) == 3
    assert datasets.verify(cache) == (3, [])


@pytest.mark.data
def test_verify_detects_source_checksum_drift(mirror: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 14))
    index = index_of(cache)
    index["deepstate-daily/2025-08-14"]["source_sha256"] = "0" * 64
    (cache / "index.json").write_text(json.dumps({"format": 1, "files": index}))
    checked, problems = datasets.verify(cache)
    assert checked == 1
    assert len(problems) == 1
    assert "source checksum differs from the manifest" in problems[0]


def test_verify_empty_cache(tmp_path: Path) -> None:
    assert datasets.verify(tmp_path / "nothing") == (0, [])


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("{not json", id="not-json"),
        pytest.param("", id="empty-file"),
        pytest.param('{"format": 1}', id="no-files"),
        pytest.param("[]", id="json-list"),
        pytest.param('{"format": 1, "files": []}', id="files-not-object"),
    ],
)
def test_damaged_index_is_reported(body: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "index.json").write_text(body)
    with pytest.raises(
        DataError, match=r"cache index .* is damaged.*'territory data fetch'"
    ):
        Cache.open(cache)


# -------------------------------------------------------------------- checksum mismatch


@pytest.fixture
def fake_mirror(mirror: Path, tmp_path: Path) -> Path:
    """Return a mirror whose file of 2025-08-15 differs from the published one."""
    fake = tmp_path / "fake-mirror"
    for day in (D(2025, 8, 14), D(2025, 8, 15)):
        rel = DAILY_REL.format(day)
        (fake / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mirror / rel, fake / rel)
    bad = fake / DAILY_REL.format(D(2025, 8, 15))
    bad.write_bytes(
        bad.read_bytes().rstrip() + b" \n"
    )  # still valid GeoJSON, other bytes
    json.loads(bad.read_bytes())
    return fake


@pytest.mark.data
def test_checksum_mismatch_caches_nothing(
    mirror: Path, fake_mirror: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 14))
    listing, index = tree(cache), (cache / "index.json").read_bytes()

    with pytest.raises(
        DataError, match=r"checksum mismatch for .*deepstatemap_data_20250815\.geojson"
    ):
        fetch_days(cache, fake_mirror, D(2025, 8, 15), D(2025, 8, 15))

    assert not (cache / "deepstate-daily" / "2025-08-15.parquet").exists()
    assert tree(cache) == listing
    assert (cache / "index.json").read_bytes() == index


@pytest.mark.data
def test_checksum_mismatch_on_forced_refetch_keeps_good_copy(
    mirror: Path, fake_mirror: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    fetch_days(cache, mirror, D(2025, 8, 15), D(2025, 8, 15))
    listing, index = tree(cache), (cache / "index.json").read_bytes()

    with pytest.raises(DataError, match="checksum mismatch"):
        fetch_days(cache, fake_mirror, D(2025, 8, 15), D(2025, 8, 15), force=True)

    assert tree(cache) == listing
    assert (cache / "index.json").read_bytes() == index
    assert datasets.verify(cache) == (1, [])


@pytest.mark.data
def test_checksum_mismatch_mid_range_keeps_earlier_files(
    fake_mirror: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch_days(cache, fake_mirror, D(2025, 8, 14), D(2025, 8, 15))
    # documented: everything fetched before the failing file is cached and indexed
    assert sorted(index_of(cache)) == ["deepstate-daily/2025-08-14"]
    assert sorted(p.name for p in (cache / "deepstate-daily").iterdir()) == [
        "2025-08-14.parquet"
    ]
    assert datasets.verify(cache) == (1, [])


# ------------------------------------------------------------------------- interruption


@pytest.mark.data
def test_interrupted_fetch_keeps_completed_files(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    convert, suffix = datasets._CONVERTERS["control-daily"]
    calls = []

    def interrupted_on_third(data: bytes, target: Path, ds) -> None:
        calls.append(target.name)
        if len(calls) == 3:
            with atomic_path(target) as tmp:
                tmp.write_bytes(data[:100])  # half-written…
                raise KeyboardInterrupt  # …when Ctrl-C arrives
        convert(data, target, ds)

    monkeypatch.setitem(
        datasets._CONVERTERS, "control-daily", (interrupted_on_third, suffix)
    )
    cache = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 17))

    assert len(calls) == 3
    assert sorted(index_of(cache)) == [
        "deepstate-daily/2025-08-14",
        "deepstate-daily/2025-08-15",
    ]
    # no temporary file left behind (".<name>.<random>.part<suffix>")
    assert not [p for p in cache.rglob("*") if ".part" in p.name]
    assert sorted(p.name for p in (cache / "deepstate-daily").iterdir()) == [
        "2025-08-14.parquet",
        "2025-08-15.parquet",
    ]
    assert datasets.verify(cache) == (2, [])

    # the next run picks up where it stopped
    monkeypatch.undo()
    report = fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 17))
    assert report.skipped == [
        "deepstate-daily/2025-08-14",
        "deepstate-daily/2025-08-15",
    ]
    assert report.fetched == [
        "deepstate-daily/2025-08-16",
        "deepstate-daily/2025-08-17",
    ]


def test_atomic_path_leaves_target_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "a" / "file.parquet"
    target.parent.mkdir()
    target.write_bytes(b"old")

    def fail_half_way() -> None:
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"new, half")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_half_way()
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.parquet"]
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.parquet"]


# ------------------------------------------------------------------------------- status


@pytest.mark.data
def test_status_reports_gaps(mirror: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    report = fetch_days(cache, mirror, D(2024, 8, 17), D(2024, 8, 20))
    assert report.fetched == [
        "deepstate-daily/2024-08-17",
        "deepstate-daily/2024-08-20",
    ]

    rows = {r["dataset"]: r for r in datasets.status(cache)}
    daily = rows["deepstate-daily"]
    assert daily["files"] == 2
    assert (daily["first"], daily["last"]) == ("2024-08-17", "2024-08-20")
    assert daily["missing_upstream"] == ["2024-08-18", "2024-08-19"]
    assert daily["not_fetched"] == []
    assert daily["licence"].startswith("GPL-3.0")
    assert "DeepStateMap" in daily["attribution"]
    assert set(rows) == set(load_manifest().datasets)
    assert all(rows[n]["files"] == 0 for n in rows if n != "deepstate-daily")

    # a day that exists upstream but was not fetched is reported as such
    fetch_days(cache, mirror, D(2024, 8, 22), D(2024, 8, 22))
    daily = {r["dataset"]: r for r in datasets.status(cache)}["deepstate-daily"]
    assert daily["files"] == 3
    assert daily["missing_upstream"] == ["2024-08-18", "2024-08-19"]
    assert daily["not_fetched"] == ["2024-08-21"]


@pytest.mark.data
def test_status_ignores_files_that_are_gone(mirror: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 16))
    (cache / "deepstate-daily" / "2025-08-15.parquet").unlink()
    daily = {r["dataset"]: r for r in datasets.status(cache)}["deepstate-daily"]
    assert daily["files"] == 2
    assert daily["not_fetched"] == ["2025-08-15"]


def test_status_of_empty_cache(tmp_path: Path) -> None:
    rows = datasets.status(tmp_path / "nothing")
    assert [r["dataset"] for r in rows] == list(load_manifest().datasets)
    for r in rows:
        assert r["files"] == 0
        assert r["first"] is None
        assert r["licence"]
        assert r["attribution"]


# ------------------------------------------------------------------------- bad requests


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(D(2023, 1, 1), D(2023, 1, 31), id="before"),
        pytest.param(D(2026, 9, 1), D(2026, 12, 31), id="after"),
        # one bound only: the message must still say the record's range, not
        # blame the order of --start/--end (which the user did not both give)
        pytest.param(None, D(2024, 7, 7), id="end-before-record"),
        pytest.param(D(2027, 1, 1), None, id="start-after-record"),
    ],
)
def test_date_range_outside_record(
    start: dt.date | None, end: dt.date | None, tmp_path: Path
) -> None:
    with pytest.raises(DataNotFoundError) as info:
        fetch_days(tmp_path / "cache", tmp_path / "no-mirror", start, end)
    msg = str(info.value)
    for given in (start, end):
        if given is not None:
            assert given.isoformat() in msg
    if start and end:
        assert f"{start.isoformat()} … {end.isoformat()}" in msg
    assert "the record covers 2024-07-08 … 2026-08-22" in msg
    assert "is after end" not in msg
    assert not (tmp_path / "cache").exists()


def test_date_range_reversed(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"start 2025-08-20 is after end 2025-08-10"):
        fetch_days(
            tmp_path / "cache", tmp_path / "no-mirror", D(2025, 8, 20), D(2025, 8, 10)
        )
    assert not (tmp_path / "cache").exists()


def test_unknown_dataset_lists_available(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError) as info:
        datasets.fetch(
            ["deepstate-daly"], cache_dir=tmp_path / "cache", mirror=str(tmp_path)
        )
    msg = str(info.value)
    assert "unknown dataset 'deepstate-daly'" in msg
    assert "did you mean deepstate-daily" in msg
    for name in load_manifest().datasets:
        assert name in msg.split("available:")[1]
    assert not (tmp_path / "cache").exists()


def test_live_dataset_needs_latest(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="--latest"):
        datasets.fetch(
            ["deepstate-live"], cache_dir=tmp_path / "cache", mirror=str(tmp_path)
        )
    assert not (tmp_path / "cache").exists()


# ------------------------------------------------------------------------- the manifest


def test_manifest_provenance() -> None:
    manifest = load_manifest()
    assert set(datasets.DEFAULT_DATASETS) <= set(manifest.datasets)
    for ds in manifest.datasets.values():
        assert ds.licence.strip(), ds.name
        assert ds.attribution.strip(), ds.name
        assert ds.url.startswith("https://"), ds.name
        assert ds.dates.strip(), ds.name
        if ds.kind != "control-live" and not ds.is_series:
            assert re.fullmatch(r"[0-9a-f]{64}", ds.sha256 or ""), ds.name
            assert ds.mirror, ds.name


def test_manifest_series_urls() -> None:
    ds = load_manifest().dataset("deepstate-daily")
    assert ds.is_series
    assert ds.url_for(D(2025, 8, 15)).endswith(
        "/data/deepstatemap_data_20250815.geojson"
    )
    assert (
        ds.mirror_for(D(2025, 8, 15))
        == "deepstate/daily/deepstatemap_data_20250815.geojson"
    )
    assert int(ds.extra["as_of_lag_days"]) == 1


def test_checksum_list() -> None:
    ds = load_manifest().dataset("deepstate-daily")
    sums = ds.checksums()
    assert len(sums) == 769
    assert (min(sums), max(sums)) == (FIRST, LAST)
    assert (ds.extra["first"], ds.extra["last"]) == (
        FIRST.isoformat(),
        LAST.isoformat(),
    )
    every = {FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)}
    assert every - set(sums) == MISSING_UPSTREAM
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in sums.values())


@pytest.mark.data
def test_checksum_list_matches_mirror() -> None:
    daily = MIRROR / "deepstate" / "daily"
    if not daily.is_dir():
        pytest.skip(
            f"mirror directory {daily} is absent; "
            "set TERRITORY_MIRROR to check the checksum list"
        )
    sums = load_manifest().dataset("deepstate-daily").checksums()
    files = {p.name for p in daily.glob("deepstatemap_data_*.geojson")}
    assert files == {Path(DAILY_REL.format(d)).name for d in sums}
    bad = [
        d
        for d, h in sums.items()
        if hashlib.sha256((MIRROR / DAILY_REL.format(d)).read_bytes()).hexdigest() != h
    ]
    assert bad == []


def test_missing_mirror_directory_is_named(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(
        DataNotFoundError, match=r"mirror directory .*nope does not exist"
    ):
        datasets.fetch(["land"], cache_dir=cache, mirror=str(tmp_path / "nope"))
    assert not cache.exists()  # nothing written


# ------------------------------------------------------------------ checks of the index


@pytest.mark.data
def test_verify_lists_every_damaged_entry_one_line_each(
    mirror: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 16))
    index = index_of(cache)
    index["deepstate-daily/2025-08-14"]["sha256"] = None
    index["deepstate-daily/2025-08-15"]["as_of"] = "2025-13-01"
    index["deepstate-daily/2025-08-16"] = None
    index["somewhere"] = {"dataset": "land", "path": "/etc/passwd"}
    (cache / "index.json").write_text(json.dumps({"format": 1, "files": index}))
    checked, problems = datasets.verify(cache)
    assert checked == 4
    assert [p.split(":")[0] for p in problems] == [
        "deepstate-daily/2025-08-14",
        "deepstate-daily/2025-08-15",
        "deepstate-daily/2025-08-16",
        "somewhere",
    ]
    assert all("\n" not in p for p in problems)
    assert "no valid sha256" in problems[0]
    assert "as_of '2025-13-01' is not an ISO date" in problems[1]
    assert "the entry is null" in problems[2]
    assert "leads outside the cache" in problems[3]
    assert "the key does not fit dataset 'land'" in problems[3]
    fix = (
        f"--force deepstate-daily --start 2025-08-15 --end 2025-08-15 --cache {cache}'"
    )
    assert problems[1].endswith(fix)
    assert problems[3].endswith(
        f"run 'territory data forget somewhere --cache {cache}'"
    )
    # status lists only what is sound, and says nothing wrong
    daily = {r["dataset"]: r for r in datasets.status(cache)}["deepstate-daily"]
    assert daily["files"] == 0


@pytest.mark.data
def test_plain_fetch_repairs_a_damaged_file(mirror: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 15))
    good = (cache / "deepstate-daily" / "2025-08-15.parquet").read_bytes()
    (cache / "deepstate-daily" / "2025-08-15.parquet").write_bytes(good[:-1] + b"!")
    report = fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 15))
    assert report.skipped == ["deepstate-daily/2025-08-14"]
    assert report.fetched == ["deepstate-daily/2025-08-15"]
    assert datasets.verify(cache) == (2, [])


def test_snapshots_keep_damaged_entries_in_place(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    files = {
        "deepstate-daily/2025-08-15": None,
        "snapshots/1754251105": {"dataset": "deepstate-sample", "as_of": "x"},
    }
    (cache / "index.json").write_text(json.dumps({"format": 1, "files": files}))
    snaps = Cache.open(cache).snapshots()
    assert [(s["key"], s["as_of"], s["snapshot"], s["grey_zone"]) for s in snaps] == [
        ("snapshots/1754251105", "2025-08-03", "deepstate 1754251105", True),
        (
            "deepstate-daily/2025-08-15",
            "2025-08-14",
            "deepstate-daily 2025-08-15",
            False,
        ),
    ]
    assert all(s["damaged"] for s in snaps)
    with pytest.raises(DataError, match=r"fetch --force deepstate-sample --cache"):
        Record(cache).read_snapshot(Record(cache).snapshot_for("2025-08-03")[0])


@pytest.mark.parametrize(
    ("key", "indexed", "expected"),
    [
        ("deepstate-daily/2025-06-21", True,
         "territory data fetch --force deepstate-daily --start 2025-06-21 --end 2025-06-21"),
        ("deepstate-daily/2025-06-21", False,
         "territory data fetch deepstate-daily --start 2025-06-21 --end 2025-06-21"),
        ("boundaries", True, "territory data fetch --force boundaries"),
        ("snapshots/1754251105", True, "territory data fetch --force deepstate-sample"),
        ("snapshots/1754164800", True, "territory data forget snapshots/1754164800"),
        ("deepstate-daily/2025-99-01", True, "territory data forget deepstate-daily/2025-99-01"),
        ("it's odd", True, "territory data forget 'it'\"'\"'s odd'"),
    ],
)  # fmt: skip
def test_repair_command(key: str, indexed: bool, expected: str) -> None:
    assert datasets.repair_command(key, indexed=indexed) == expected


def test_repair_command_names_a_cache_other_than_the_default(tmp_path: Path) -> None:
    got = datasets.repair_command("land", root=tmp_path / "my cache")
    assert got == f"territory data fetch --force land --cache '{tmp_path / 'my cache'}'"


def test_index_written_by_the_previous_version_is_valid() -> None:
    # the entry forms the code before the integrity checks wrote (format 1):
    # still readable without a re-fetch
    entries = {
        "deepstate-daily/2024-07-08": {
            "as_of": "2024-07-07",
            "dataset": "deepstate-daily",
            "fetched": "2026-11-22T02:08:36+00:00",
            "path": "deepstate-daily/2024-07-08.parquet",
            "sha256": "8afda3d6a9cc60786fb356039785351a7eb13c72fd4f5e95cc852526e18e7fb4",
            "size": 54405,
            "snapshot": "deepstate-daily 2024-07-08",
            "source": "../shared/geodata/deepstate/daily/deepstatemap_data_20240708.geojson",
            "source_sha256": "73acabcb2bf774d647974f2818b80573d36bec170b23afd2f10618d598db4f3a",
        },
        "snapshots/1754251105": {
            "as_of": "2025-08-03",
            "dataset": "deepstate-sample",
            "grey_zone": True,
            "path": "snapshots/1754251105.parquet",
            "published": "2025-08-03T19:58:25+00:00",
            "sha256": "0" * 64,
            "size": 1,
            "snapshot": "deepstate 1754251105",
        },
        "snapshots/1754164800": {
            "as_of": "2025-08-02",
            "dataset": "deepstate-live",
            "grey_zone": False,
            "path": "snapshots/1754164800.parquet",
            "published": "2025-08-02T20:00:00+00:00",
            "sha256": "0" * 64,
            "size": 1,
            "snapshot": "deepstate 1754164800",
            "source_sha256": None,
        },
        "land": {
            "dataset": "land",
            "path": "land.parquet",
            "sha256": "1" * 64,
            "size": 2,
        },
    }
    for key, entry in entries.items():
        assert datasets.entry_problems(key, entry) == [], key


@pytest.mark.parametrize(
    "crs",
    [
        "EPSG:4326",
        "EPSG:3035",
        "+proj=laea +lat_0=48.5 +lon_0=31 +datum=WGS84 +units=m",  # no EPSG id
        None,
    ],
)
def test_parse_geoparquet_reads_what_geopandas_reads(crs, tmp_path):
    # the fast reader of the cache's GeoParquet files (pyarrow + shapely, each
    # CRS built once) gives the frame geopandas gives: columns, dtypes, index,
    # geometries to the bit and the CRS
    import io

    import shapely
    from geopandas.testing import assert_geodataframe_equal

    from territory.datasets import parse_geoparquet

    frame = gpd.GeoDataFrame(
        {"region_id": ["UA-14", "UA-23"], "area_km2": [26_517.0, 27_180.0]},
        geometry=[shapely.box(37.1, 47.0, 38.2, 48.1), shapely.Point(35.2, 47.8)],
        crs=crs,
    )
    buf = io.BytesIO()
    frame.to_parquet(buf)
    data = buf.getvalue()
    expected = gpd.read_parquet(io.BytesIO(data))
    got = parse_geoparquet(data)
    assert_geodataframe_equal(got, expected)
    assert (got.dtypes == expected.dtypes).all()
    assert got.crs == expected.crs
    if crs is not None:
        assert got.crs.to_wkt() == expected.crs.to_wkt()


def test_bytes_array_is_pyarrows_array_without_pandas() -> None:
    # The derived files a long timeline writes are built without pandas
    # (pyarrow.array imports it: 0.4 s of a run that has no other use for
    # it), into the same arrays pyarrow.array makes.
    import pyarrow as pa

    for items, kind in (
        ([b"\x01\x00wkb", b"", b"x" * 70_000], pa.binary()),
        (["country", "", "region:UA-14", "Запоріжжя"], pa.string()),
        ([], pa.binary()),
    ):
        got = datasets.bytes_array(items)
        assert got.type == kind
        assert got.equals(pa.array(items, kind))
        assert got.to_pylist() == items
    with pytest.raises(TypeError, match="all bytes or all str"):
        datasets.bytes_array(["name", b"wkb"])
    code = (
        "import sys\n"
        "from territory.datasets import bytes_array\n"
        "bytes_array(['a', 'b']); bytes_array([b'c'])\n"
        "print('pandas' in sys.modules)\n"
    )
    assert fresh_python(code).strip() == "False"


@pytest.mark.data
def test_reading_the_record_imports_no_network_code(record):
    # Only fetching needs http and urllib (30 ms of imports): a run that
    # reads the cache (a timeline, an evaluation) imports none of them,
    # asking whether a day's file is cached (`daily_key`) included.
    code = (
        "import sys\n"
        "from territory.record import Record\n"
        f"rec = Record({str(record.cache.root)!r})\n"
        "rec.snapshot_for(rec.date_range()[1]); rec.read_snapshot(rec.snapshots[-1])\n"
        "print(sorted(m for m in ('http.client', 'urllib.request', 'territory._http') if m in sys.modules))\n"
    )
    assert fresh_python(code).strip() == "[]"
