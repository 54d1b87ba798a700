"""The live snapshot of DeepState's API, kept only when plausible; forgetting entries."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from territory import deepstate
from territory.datasets._cache import Cache, _unwritable, read_geoparquet
from territory.datasets._fetch import _write_status_parquet
from territory.datasets._index import _daily_lag, _inside, repair_command
from territory.datasets._lock import locked
from territory.errors import DataError, DataNotFoundError
from territory.manifest import ENV_API, load_manifest

DEFAULT_API_URL = "https://deepstatemap.live/api"

_COUNTRY: dict[str, BaseGeometry] = {}  # union of the boundaries, by their sha256


def _country(cache: Cache) -> BaseGeometry:
    if "boundaries" not in cache.entries:
        msg = (
            f"a live snapshot is checked against the region boundaries, which are not "
            f"in the cache at {cache.root}; run 'territory data fetch boundaries' first"
        )
        raise DataNotFoundError(msg)
    data, digest = cache.read_verified("boundaries")
    if digest not in _COUNTRY:
        fix = repair_command("boundaries", root=cache.root)
        gdf = read_geoparquet(data, key="boundaries", fix=fix)
        _COUNTRY.clear()
        _COUNTRY[digest] = shapely.union_all(gdf.geometry.values)
    return _COUNTRY[digest]


def _nearest_snapshot(cache: Cache, day: dt.date, key: str) -> dict[str, Any]:
    snaps = [s for s in cache.snapshots() if s["key"] != key]
    if not snaps:
        last = max(load_manifest().dataset("deepstate-daily").checksums())
        d = min(day + _daily_lag(), last)
        msg = (
            "a live snapshot is checked against the nearest cached snapshot, and the "
            f"cache at {cache.root} has none; run 'territory data fetch deepstate-daily "
            f"--start {d} --end {d}' first"
        )
        raise DataNotFoundError(msg)
    # nearest in time; of two equally near, the earlier
    return min(
        snaps,
        key=lambda s: (abs((dt.date.fromisoformat(s["as_of"]) - day).days), s["as_of"]),
    )


def _check_live(cache: Cache, snap: deepstate.LiveSnapshot, key: str) -> None:
    existing = cache.entries.get(key)
    if existing is not None and not (
        isinstance(existing, dict) and existing.get("dataset") == "deepstate-live"
    ):
        name = existing.get("dataset") if isinstance(existing, dict) else "damaged"
        msg = (
            f"snapshot {snap.snapshot_id} from the live API has the key {key!r} of the "
            f"cached dataset {name!r}, which is checksum-verified; it was kept and "
            "nothing was written"
        )
        raise DataError(msg)
    country = _country(cache)
    day = snap.published.date()
    near = _nearest_snapshot(cache, day, key)
    frame, _ = cache.read_frame(near["key"])
    previous = dict(zip(frame["status"], frame.geometry, strict=True))
    deepstate.check_plausible(
        snap.by_status[deepstate.OCCUPIED],
        source=f"snapshot {snap.snapshot_id}",
        country=country,
        previous=previous[deepstate.OCCUPIED],
        previous_label=str(near["snapshot"]),
        days_apart=(day - dt.date.fromisoformat(near["as_of"])).days,
    )


def fetch_latest(
    *,
    cache_dir: Path | str | None = None,
    api_url: str | None = None,
    timeout_s: float = 30.0,
    max_bytes: int | None = None,
) -> dict[str, Any]:
    """Fetch DeepState's latest snapshot from its live API into the cache.

    The API is `api_url`, else $TERRITORY_DEEPSTATE_API, else deepstatemap.live
    (``https://``; plain ``http://`` only to this machine).  The snapshot is
    kept only if it is plausible: a sane id and occupied area
    (`deepstate.fetch_latest`), its occupied land inside the cached region
    boundaries and close to the nearest cached snapshot
    (`deepstate.check_plausible`), and it never replaces a checksummed entry
    (such as ``deepstate-sample``, whose key has the same form).

    Returns the new index entry.  On any failure the cache is left as it was.

    Raises
    ------
    DataError, DataNotFoundError, FetchError
        See above; the cache needs the boundaries and one snapshot first.
    """
    url = deepstate.check_api_url(api_url or os.environ.get(ENV_API) or DEFAULT_API_URL)
    cap = max_bytes or load_manifest().by_kind("control-live").max_bytes
    with locked(cache_dir) as cache:
        snap = deepstate.fetch_latest(url, timeout_s=timeout_s, max_bytes=cap)
        key = f"snapshots/{snap.snapshot_id}"
        _check_live(cache, snap, key)
        rel = f"{key}.parquet"
        try:
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
        except OSError as err:
            raise _unwritable(cache.root, err) from None
    return dict(cache.entries[key], key=key)


def forget(keys: Iterable[str], *, cache_dir: Path | str | None = None) -> list[str]:
    """Remove entries (and their files) from the cache.

    The repair of an entry that cannot be fetched again (a live snapshot, an
    unknown dataset).

    Returns the keys removed.

    Raises
    ------
    DataNotFoundError
        If a key is not in the index; nothing is removed then.
    """
    keys = list(keys)
    with locked(cache_dir) as cache:
        if missing := [k for k in keys if k not in cache.entries]:
            msg = f"not in the cache at {cache.root}: {', '.join(missing)}; see 'territory data verify'"
            raise DataNotFoundError(msg)
        for key in keys:
            entry = cache.entries[key]
            cache.remove(key)
            rel = entry.get("path") if isinstance(entry, dict) else None
            if not isinstance(rel, str) or not _inside(rel):
                continue  # never delete anything outside the cache
            shared = any(
                isinstance(e, dict) and e.get("path") == rel
                for e in cache.entries.values()
            )
            if not shared:
                with contextlib.suppress(OSError):
                    (cache.root / rel).unlink()
        cache.save()
    return keys
