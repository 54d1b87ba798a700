"""Fetching the manifest's datasets: sources, size caps, checksums, conversion."""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from territory import deepstate
from territory._http import BYTES_PER_MB, HTTPStatusError, http_get
from territory.datasets._cache import (
    Cache,
    _unwritable,
    atomic_path,
    sha256_bytes,
    write_bytes_atomic,
)
from territory.datasets._index import daily_key
from territory.datasets._lock import locked
from territory.dates import check_span
from territory.errors import DataError, DataNotFoundError, FetchError, TerritoryError
from territory.manifest import (
    ENV_MIRROR,
    Dataset,
    load_manifest,
)

DEFAULT_DATASETS = (
    "boundaries",
    "boundaries-simplified",
    "land",
    "deepstate-daily",
    "deepstate-areas",
)

#: progress(done, total, label) — called by long fetches; the CLI draws a bar.
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class Source:
    """Where files come from: upstream URLs, or a mirror directory or URL."""

    mirror: str | None = None
    timeout_s: float = 60.0
    max_bytes: int | None = None

    @classmethod
    def from_env(
        cls,
        mirror: str | None = None,
        timeout_s: float = 60.0,
        max_bytes: int | None = None,
    ) -> Source:
        """Use `mirror`, else $TERRITORY_MIRROR, else upstream."""
        return cls(
            mirror=mirror or os.environ.get(ENV_MIRROR) or None,
            timeout_s=timeout_s,
            max_bytes=max_bytes,
        )

    def describe(self, ds: Dataset, day: dt.date | None = None) -> str:
        """Return the location a file would be read from."""
        if self.mirror and ds.mirror:
            sep = "" if self.mirror.endswith("/") else "/"
            return f"{self.mirror}{sep}{ds.mirror_for(day)}"
        return ds.url_for(day)

    @property
    def is_mirror(self) -> bool:
        """True when reading from a mirror."""
        return bool(self.mirror)

    def read(self, ds: Dataset, day: dt.date | None = None) -> bytes:
        """Return the bytes of one file of `ds`, at most its size cap."""
        where = self.describe(ds, day)
        cap = self.max_bytes or ds.max_bytes
        if "://" in where:
            try:
                return http_get(
                    where,
                    timeout_s=self.timeout_s,
                    max_bytes=cap,
                    what=f"download of {ds.name}",
                    fix="check the network, or use --mirror DIR",
                )
            except HTTPStatusError as err:
                if self.is_mirror and err.code == 404:
                    msg = f"{where} is not in the mirror; check --mirror (it should hold {ds.mirror_for(day)})"
                    raise DataNotFoundError(msg) from None
                raise
        p = Path(where)
        if not p.is_file():
            msg = f"{p} is not in the mirror; check --mirror (it should hold {ds.mirror_for(day)})"
            raise DataNotFoundError(msg)
        if p.stat().st_size > cap:
            msg = (
                f"{p} is {p.stat().st_size / BYTES_PER_MB:,.1f} MB, over the cap of "
                f"{cap / BYTES_PER_MB:g} MB for {ds.name}; check the mirror, or raise "
                "the cap with --max-mb"
            )
            raise FetchError(msg)
        return p.read_bytes()


# --------------------------------------------------------------------------- converters


def _check_sha(data: bytes, expected: str | None, *, where: str) -> str:
    got = sha256_bytes(data)
    if expected and got != expected:
        msg = (
            f"checksum mismatch for {where}: sha256 {got[:12]}…, expected {expected[:12]}…; "
            "the source file differs from the published one, so nothing was cached"
        )
        raise DataError(msg)
    return got


def _write_status_parquet(by_status: dict[str, BaseGeometry], target: Path) -> None:
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(
        {"status": list(by_status)}, geometry=list(by_status.values()), crs="EPSG:4326"
    )
    with atomic_path(target) as tmp:
        gdf.to_parquet(tmp, index=False)


def _convert_regions(data: bytes, target: Path, ds: Dataset) -> None:
    import geopandas as gpd

    gdf = gpd.read_file(io.BytesIO(data))
    need = {ds.extra.get("id_column", "shapeISO"), "shapeName"}
    if missing := need - set(gdf.columns):
        msg = f"{ds.name}: columns {sorted(missing)} missing; the upstream file changed"
        raise DataError(msg)
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    with atomic_path(target) as tmp:
        gdf.to_parquet(tmp, index=False)


def _convert_land(data: bytes, target: Path, ds: Dataset) -> None:
    import geopandas as gpd

    gdf = gpd.read_file(io.BytesIO(data))
    geom = shapely.union_all(shapely.make_valid(gdf.geometry.values))
    bbox = ds.extra.get("clip_bbox")
    if bbox:
        geom = shapely.intersection(geom, shapely.box(*bbox))
    _write_status_parquet({"land": geom}, target)


def _convert_control(data: bytes, target: Path, ds: Dataset) -> None:
    fc = deepstate.loads(data, source=ds.name)
    by_status = deepstate.parse_feature_collection(fc, source=ds.name)
    _write_status_parquet(by_status, target)


def _convert_copy(data: bytes, target: Path, _ds: Dataset) -> None:
    write_bytes_atomic(target, data)


_CONVERTERS = {
    "regions": (_convert_regions, ".parquet"),
    "regions-display": (_convert_regions, ".parquet"),
    "land": (_convert_land, ".parquet"),
    "control-daily": (_convert_control, ".parquet"),
    "control-snapshot": (_convert_control, ".parquet"),
    "validation": (_convert_copy, ".csv"),
}


# --------------------------------------------------------------------------- fetch


@dataclass
class FetchReport:
    """What a fetch did."""

    fetched: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)


def _daily_days(
    ds: Dataset, start: dt.date | None, end: dt.date | None
) -> list[dt.date]:
    sums = ds.checksums()
    first, last = min(sums), max(sums)
    lo, hi = start or first, end or last
    if hi < first or lo > last:
        asked = f"{start or '…'} … {end or '…'}"
        msg = f"no DeepState daily files in {asked}; the record covers {first} … {last}"
        raise DataNotFoundError(msg)
    check_span(lo, hi)
    days = [d for d in sorted(sums) if lo <= d <= hi]
    if not days:
        msg = f"no DeepState daily file was published for {lo} … {hi} (a gap upstream); widen the range"
        raise DataNotFoundError(msg)
    return days


#: One file to fetch: dataset, key, relative path, day, expected sha256, extra index data.
_Job = tuple[Dataset, str, str, dt.date | None, str | None, dict[str, Any]]


def _jobs(
    names: Iterable[str] | None, start: dt.date | None, end: dt.date | None
) -> list[_Job]:
    manifest = load_manifest()
    wanted = list(names) if names else list(DEFAULT_DATASETS)
    jobs: list[_Job] = []
    for ds in [manifest.dataset(n) for n in wanted]:
        if ds.kind == "control-live":
            msg = "the live API is fetched with 'territory data fetch --latest'"
            raise DataError(msg)
        _, suffix = _CONVERTERS[ds.kind]
        if ds.is_series:
            sums = ds.checksums()
            lag = dt.timedelta(days=int(ds.extra.get("as_of_lag_days", 0)))
            for day in _daily_days(ds, start, end):
                key = daily_key(day)
                info: dict[str, Any] = {
                    "as_of": (day - lag).isoformat(),
                    "snapshot": f"deepstate-daily {day}",
                }
                jobs.append((ds, key, f"{key}{suffix}", day, sums[day], info))
        elif ds.kind == "control-snapshot":
            sid = int(ds.extra["snapshot_id"])
            published = dt.datetime.fromtimestamp(sid, tz=dt.UTC)
            info = {
                "as_of": published.date().isoformat(),
                "published": published.isoformat(),
                "snapshot": f"deepstate {sid}",
                "grey_zone": True,
            }
            key = f"snapshots/{sid}"
            jobs.append((ds, key, f"{key}{suffix}", None, ds.sha256, info))
        else:
            jobs.append((ds, ds.name, f"{ds.name}{suffix}", None, ds.sha256, {}))
    return jobs


def _fetch_one(cache: Cache, src: Source, job: _Job) -> None:
    ds, key, rel, day, expected, extra = job
    convert, _ = _CONVERTERS[ds.kind]
    where = src.describe(ds, day)
    data = src.read(ds, day)
    verify = (
        expected if (src.is_mirror or ds.extra.get("upstream_sha256", True)) else None
    )
    got = _check_sha(data, verify, where=where)
    try:
        convert(data, cache.root / rel, ds)
        cache.record(key, ds.name, rel, source=where, source_sha256=got, **extra)
    except TerritoryError:
        raise
    except OSError as err:
        raise _unwritable(cache.root, err) from None


def fetch(
    names: Iterable[str] | None = None,
    *,
    cache_dir: Path | str | None = None,
    mirror: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    force: bool = False,
    timeout_s: float = 60.0,
    max_bytes: int | None = None,
    progress: Progress | None = None,
) -> FetchReport:
    """Fetch datasets into the cache, verifying checksums and converting them.

    Parameters
    ----------
    names
        Dataset names from the manifest; default: everything the tool needs
        (boundaries, land mask, the whole DeepState daily record, the
        published-area table).
    cache_dir
        Cache directory; default $TERRITORY_CACHE or ``geodata/cache``.
    mirror
        A mirror directory or base URL; default $TERRITORY_MIRROR, else upstream.
    start, end
        Limit the DeepState daily record to files dated in this range (inclusive).
    force
        Fetch again even what is cached and verified.  Without it, a cached
        file that fails its check (`Cache.check`) is fetched again too.
    timeout_s
        Seconds allowed for each download, in total (upstream and URL mirrors).
    max_bytes
        Largest file accepted, bytes; default: each dataset's ``max_bytes``.
    progress
        Called as ``progress(done, total, label)`` after every file.

    Returns
    -------
    FetchReport
        Keys fetched, skipped (already cached) and unavailable (optional
        datasets the source does not have).

    Raises
    ------
    FetchError, DataError, DataNotFoundError
        The file in flight is not cached; everything fetched before it is.
        A `FetchError` also when another fetch holds the cache's lock.
    """
    jobs = _jobs(names, start, end)
    src = Source.from_env(mirror, timeout_s, max_bytes)
    if src.mirror and "://" not in src.mirror and not Path(src.mirror).is_dir():
        msg = f"mirror directory {src.mirror} does not exist; give the directory that holds boundaries/ and deepstate/"
        raise DataNotFoundError(msg)
    report = FetchReport()
    with locked(cache_dir) as cache:
        try:
            for i, job in enumerate(jobs, 1):
                key, expected = job[1], job[4]
                entry = cache.entries.get(key, {})
                fresh = cache.check(key).problem is None and (
                    expected is None or entry.get("source_sha256") == expected
                )
                if fresh and not force:
                    report.skipped.append(key)
                else:
                    try:
                        _fetch_one(cache, src, job)
                    except DataNotFoundError:
                        if not job[0].optional:
                            raise
                        report.unavailable.append(key)
                    else:
                        report.fetched.append(key)
                        if len(report.fetched) % 50 == 0:
                            cache.save()
                if progress:
                    progress(i, len(jobs), key)
        finally:
            if report.fetched:
                cache.save()
    return report
