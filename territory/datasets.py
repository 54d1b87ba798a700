"""Manifest-driven fetch, conversion, verification and status of the data cache.

Every third-party file is fetched from upstream or from a mirror directory,
checked against its published sha256, converted once to GeoParquet (so that no
later command parses GeoJSON) and written atomically into the cache.  The cache
index (``index.json``) records, for each cached file, where it came from, the
checksum of the source and of the cached file, and for control snapshots their
id, publication time and the date they show ("as of").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely

from territory import deepstate
from territory._http import HTTPStatusError, http_get
from territory.errors import DataError, DataNotFoundError
from territory.manifest import (
    ENV_API,
    ENV_MIRROR,
    Dataset,
    default_cache_dir,
    load_manifest,
)

log = logging.getLogger(__name__)

INDEX_NAME = "index.json"
DEFAULT_DATASETS = (
    "boundaries",
    "boundaries-simplified",
    "land",
    "deepstate-daily",
    "deepstate-areas",
)
DEFAULT_API_URL = "https://deepstatemap.live/api"

#: progress(done, total, label) — called by long fetches; the CLI draws a bar.
Progress = Callable[[int, int, str], None]


def sha256_bytes(data: bytes) -> str:
    """Return the hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of the file at `path`."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it over `target` on success.

    On any failure the temporary file is removed and `target` is left as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield tmp_path
        if tmp_path.exists():
            tmp_path.chmod(0o666 & ~umask)  # mkstemp creates 0600; give the usual mode
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Write `data` to `target` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


# --------------------------------------------------------------------------- cache


@dataclass
class Cache:
    """The data cache: a directory and its index of verified files."""

    root: Path
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def open(cls, root: Path | str | None = None) -> Cache:
        """Open the cache at `root` (default: $TERRITORY_CACHE or geodata/cache)."""
        root = Path(root).expanduser() if root else default_cache_dir()
        index = root / INDEX_NAME
        entries: dict[str, dict[str, Any]] = {}
        if index.is_file():
            try:
                entries = json.loads(index.read_text())["files"]
                if not isinstance(entries, dict):
                    raise TypeError("'files' is not an object")
            except (ValueError, KeyError, TypeError) as err:
                msg = f"cache index {index} is damaged ({err}); delete it and run 'territory data fetch'"
                raise DataError(msg) from None
        return cls(root=root, entries=entries)

    def save(self) -> None:
        """Write the index atomically."""
        body = json.dumps(
            {"format": 1, "files": self.entries}, indent=1, sort_keys=True
        )
        write_bytes_atomic(self.root / INDEX_NAME, body.encode())

    def path(self, key: str) -> Path:
        """Return the path of the cached file recorded under `key`."""
        return self.root / self.entries[key]["path"]

    def has(self, key: str) -> bool:
        """True if `key` is indexed and its file is present with the recorded size."""
        entry = self.entries.get(key)
        if not entry:
            return False
        p = self.root / entry["path"]
        return p.is_file() and p.stat().st_size == entry.get("size")

    def require(self, key: str, *, dataset: str) -> Path:
        """Return the cached file for `key` or raise naming the fetch command."""
        if not self.has(key):
            msg = (
                f"dataset {dataset!r} is not in the cache at {self.root}; "
                f"run 'territory data fetch {dataset}' (or 'make data')"
            )
            raise DataNotFoundError(msg)
        return self.path(key)

    def record(self, key: str, dataset: str, rel: str, **info: Any) -> None:
        """Index the file at `rel`, computing its checksum and size."""
        p = self.root / rel
        self.entries[key] = {
            "dataset": dataset,
            "path": rel,
            "sha256": sha256_file(p),
            "size": p.stat().st_size,
            "fetched": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **info,
        }

    def snapshots(self) -> list[dict[str, Any]]:
        """Return the index entries of all control snapshots, oldest first."""
        snaps = [dict(e, key=k) for k, e in self.entries.items() if "as_of" in e]
        return sorted(snaps, key=lambda e: (e["as_of"], e.get("published", "")))


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True, slots=True)
class Source:
    """Where files come from: upstream URLs, or a mirror directory or URL."""

    mirror: str | None = None
    timeout_s: float = 60.0

    @classmethod
    def from_env(cls, mirror: str | None = None, timeout_s: float = 60.0) -> Source:
        """Use `mirror`, else $TERRITORY_MIRROR, else upstream."""
        return cls(
            mirror=mirror or os.environ.get(ENV_MIRROR) or None, timeout_s=timeout_s
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
        """Return the bytes of one file of `ds`."""
        where = self.describe(ds, day)
        if "://" in where:
            try:
                return http_get(
                    where,
                    timeout_s=self.timeout_s,
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


def _write_status_parquet(by_status: dict[str, shapely.Geometry], target: Path) -> None:
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
    try:
        fc = json.loads(data)
    except ValueError:
        msg = f"{ds.name}: not valid JSON; the file is damaged, re-fetch it"
        raise DataError(msg) from None
    by_status = deepstate.parse_feature_collection(fc, source=ds.name)
    _write_status_parquet(by_status, target)


def _convert_copy(data: bytes, target: Path, ds: Dataset) -> None:
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


def daily_key(day: dt.date) -> str:
    """Return the cache key of the daily file dated `day`."""
    return f"deepstate-daily/{day.isoformat()}"


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
    if lo > hi:
        msg = f"date range {lo} … {hi} is empty; give --start before --end"
        raise DataError(msg)
    days = [d for d in sorted(sums) if lo <= d <= hi]
    if not days:
        msg = f"no DeepState daily file was published for {lo} … {hi} (a gap upstream); widen the range"
        raise DataNotFoundError(msg)
    return days


def _fetch_one(
    cache: Cache,
    ds: Dataset,
    src: Source,
    key: str,
    rel: str,
    day: dt.date | None,
    expected: str | None,
    extra: dict[str, Any],
) -> None:
    convert, _ = _CONVERTERS[ds.kind]
    where = src.describe(ds, day)
    data = src.read(ds, day)
    verify = (
        expected if (src.is_mirror or ds.extra.get("upstream_sha256", True)) else None
    )
    got = _check_sha(data, verify, where=where)
    convert(data, cache.root / rel, ds)
    cache.record(key, ds.name, rel, source=where, source_sha256=got, **extra)


def fetch(
    names: Iterable[str] | None = None,
    *,
    cache_dir: Path | str | None = None,
    mirror: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    force: bool = False,
    timeout_s: float = 60.0,
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
        Fetch again even what is cached and verified.
    timeout_s
        Per-request time-out in seconds (upstream and URL mirrors).
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
    """
    manifest = load_manifest()
    cache = Cache.open(cache_dir)
    src = Source.from_env(mirror, timeout_s)
    wanted = list(names) if names else list(DEFAULT_DATASETS)
    datasets = [manifest.dataset(n) for n in wanted]
    jobs: list[
        tuple[Dataset, str, str, dt.date | None, str | None, dict[str, Any]]
    ] = []
    for ds in datasets:
        if ds.kind == "control-live":
            msg = "the live API is fetched with 'territory data fetch --latest'"
            raise DataError(msg)
        _, suffix = _CONVERTERS[ds.kind]
        if ds.is_series:
            sums = ds.checksums()
            lag = dt.timedelta(days=int(ds.extra.get("as_of_lag_days", 0)))
            for day in _daily_days(ds, start, end):
                key = daily_key(day)
                info = {
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
            jobs.append(
                (
                    ds,
                    f"snapshots/{sid}",
                    f"snapshots/{sid}{suffix}",
                    None,
                    ds.sha256,
                    info,
                )
            )
        else:
            jobs.append((ds, ds.name, f"{ds.name}{suffix}", None, ds.sha256, {}))
    report = FetchReport()
    if src.mirror and "://" not in src.mirror and not Path(src.mirror).is_dir():
        msg = f"mirror directory {src.mirror} does not exist; give the directory that holds boundaries/ and deepstate/"
        raise DataNotFoundError(msg)
    try:
        for i, (ds, key, rel, day, expected, extra) in enumerate(jobs, 1):
            entry = cache.entries.get(key, {})
            fresh = cache.has(key) and (
                expected is None or entry.get("source_sha256") == expected
            )
            if fresh and not force:
                report.skipped.append(key)
            else:
                try:
                    _fetch_one(cache, ds, src, key, rel, day, expected, extra)
                except DataNotFoundError:
                    if not ds.optional:
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


def fetch_latest(
    *,
    cache_dir: Path | str | None = None,
    api_url: str | None = None,
    timeout_s: float = 30.0,
) -> dict[str, Any]:
    """Fetch DeepState's latest snapshot from its live API into the cache.

    The API is `api_url`, else $TERRITORY_DEEPSTATE_API, else deepstatemap.live.
    Returns the new index entry.  On any failure the cache is left as it was.
    """
    url = api_url or os.environ.get(ENV_API) or DEFAULT_API_URL
    snap = deepstate.fetch_latest(url, timeout_s=timeout_s)
    cache = Cache.open(cache_dir)
    key = f"snapshots/{snap.snapshot_id}"
    rel = f"{key}.parquet"
    _write_status_parquet(snap.by_status, cache.root / rel)
    cache.record(
        key,
        "deepstate-live",
        rel,
        source=f"{url.rstrip('/')}/history/last",
        source_sha256=None,
        as_of=snap.published.date().isoformat(),
        published=snap.published.isoformat(),
        snapshot=f"deepstate {snap.snapshot_id}",
        grey_zone=deepstate.GREY_ZONE in snap.by_status,
    )
    cache.save()
    return dict(cache.entries[key], key=key)


# --------------------------------------------------------------------------- status


def _ranges(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    out: list[tuple[dt.date, dt.date]] = []
    for d in sorted(days):
        if out and d - out[-1][1] == dt.timedelta(days=1):
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def status(cache_dir: Path | str | None = None) -> list[dict[str, Any]]:
    """Describe what is cached, per dataset of the manifest.

    Returns
    -------
    list of dict
        One per dataset: ``dataset``, ``title``, ``files`` (count cached),
        ``first``/``last`` (dates of a dated series, else None), ``gaps``
        (dates inside the cached range with no file: ``missing_upstream``
        are absent from the source itself, ``not_fetched`` could be fetched),
        ``licence`` and ``attribution``.
    """
    manifest = load_manifest()
    cache = Cache.open(cache_dir)
    rows = []
    for ds in manifest.datasets.values():
        keys = [
            k
            for k, e in cache.entries.items()
            if e["dataset"] == ds.name and cache.has(k)
        ]
        row: dict[str, Any] = {
            "dataset": ds.name,
            "title": ds.title,
            "files": len(keys),
            "first": None,
            "last": None,
            "missing_upstream": [],
            "not_fetched": [],
            "licence": ds.licence,
            "attribution": ds.attribution,
        }
        if ds.is_series and keys:
            days = sorted(dt.date.fromisoformat(k.split("/")[1]) for k in keys)
            row["first"], row["last"] = days[0].isoformat(), days[-1].isoformat()
            published = set(ds.checksums())
            have = set(days)
            span = (days[-1] - days[0]).days + 1
            every = [days[0] + dt.timedelta(days=i) for i in range(span)]
            row["missing_upstream"] = [
                d.isoformat() for d in every if d not in published
            ]
            row["not_fetched"] = [
                d.isoformat() for d in every if d in published and d not in have
            ]
        elif keys and ds.kind in ("control-snapshot", "control-live"):
            asof = sorted(cache.entries[k]["as_of"] for k in keys)
            row["first"], row["last"] = asof[0], asof[-1]
        rows.append(row)
    return rows


def verify(cache_dir: Path | str | None = None) -> tuple[int, list[str]]:
    """Re-check every cached file against the index and the manifest.

    Returns
    -------
    (int, list of str)
        The number of files checked, and one line per problem (empty if all is well).
    """
    manifest = load_manifest()
    cache = Cache.open(cache_dir)
    problems = []
    for key, entry in sorted(cache.entries.items()):
        p = cache.root / entry["path"]
        if not p.is_file():
            problems.append(
                f"{key}: file {p} is missing; run 'territory data fetch {entry['dataset']}'"
            )
            continue
        if sha256_file(p) != entry["sha256"]:
            problems.append(
                f"{key}: {p.name} changed since it was fetched; run 'territory data fetch --force {entry['dataset']}'"
            )
            continue
        ds = manifest.datasets.get(entry["dataset"])
        expected = None
        if ds is not None and ds.is_series:
            expected = ds.checksums().get(dt.date.fromisoformat(key.split("/")[1]))
        elif ds is not None and ds.extra.get("upstream_sha256", True) is not False:
            expected = ds.sha256
        got = entry.get("source_sha256")
        if expected and got and got != expected:
            problems.append(
                f"{key}: source checksum differs from the manifest; run 'territory data fetch --force {entry['dataset']}'"
            )
    return len(cache.entries), problems
