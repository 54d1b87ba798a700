"""Adapter for DeepStateMap: its daily files, its raw API format and its live API.

This module is the only one that knows how DeepState encodes control.  It turns
every source into the control schema used everywhere else: a GeoDataFrame with
a ``status`` column (``occupied``, ``grey_zone``, ``liberated``) and one
(Multi)Polygon per status, 2-D, in EPSG:4326.  It also says what a plausible
snapshot looks like (`check_sane`, `check_snapshot_id`, `check_plausible`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from territory.errors import DataError, FetchError
from territory.geodesy import area_km2
from territory.manifest import ENV_API

log = logging.getLogger(__name__)

OCCUPIED = "occupied"
GREY_ZONE = "grey_zone"
LIBERATED = "liberated"
STATUSES = (OCCUPIED, GREY_ZONE, LIBERATED)

#: Tokens of DeepState's ``properties.name`` ("UA /// EN /// token") by status.
#: Every other ``territories.*`` token is a territory outside Ukraine and is
#: dropped, as are points (directions, units) and decorations.
TOKEN_STATUS = {
    "geoJSON.status.occupied": OCCUPIED,
    "geoJSON.territories.crimea": OCCUPIED,
    "geoJSON.territories.ordlo": OCCUPIED,
    "geoJSON.territories.tuzla": OCCUPIED,
    "geoJSON.status.unknown": GREY_ZONE,
    "geoJSON.status.dismissed": LIBERATED,
}
_DISMISSED_AT = re.compile(r"^geoJSON\.status\.dismissed_at\b")
#: GeoJSON geometry types that are not areas: dropped (directions, units, lines).
_NOT_AREAS = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "GeometryCollection"}
)

#: A sane band for the occupied total of a snapshot, km² (SOURCES.md).
SANE_OCCUPIED_KM2 = (50_000.0, 250_000.0)

#: Least share of a live snapshot's occupied area that must lie inside the
#: union of the region boundaries.  Measured: 99.952% for the raw snapshot
#: 1754251105 and 99.947-99.953% for all 769 daily files (about 55 km² of
#: DeepState's finer coastline falls outside geoBoundaries' outline).  At 99%
#: the allowance (~1,100 km²) is 19 times what real maps use, and a polygon
#: anywhere else (the Atlantic, Russia, a shifted map) is refused.
MIN_INSIDE_SHARE = 0.99

#: Largest change of a live snapshot's occupied land from the nearest cached
#: snapshot: area of the symmetric difference over the cached snapshot's area,
#: at most ``MAX_CHANGE_SHARE + MAX_CHANGE_SHARE_PER_DAY * days apart``.
#: Measured on the daily record 2024-07 … 2026-08 (largest seen): 0.11% after
#: 1 day, 0.21% after 7, 0.67% after 30, 1.5% after 90, 2.5% after 180, 4.5%
#: after 365; the raw snapshot 1754251105 against the daily file of the same
#: day: 0.02% (the formats draw the same map).  1% + 0.015%/day allows 1.0%,
#: 1.5%, 2.4%, 3.7% and 6.5% for those gaps: about 10 times the day-to-day
#: change and 1.4 times the largest change over a year, while a map that lost
#: Crimea (23%) or moved by a few km is refused.
MAX_CHANGE_SHARE = 0.01
MAX_CHANGE_SHARE_PER_DAY = 0.00015

#: Snapshot ids are unix times of publication: none before the full-scale
#: invasion, none later than now plus `FUTURE_ALLOWANCE` (clocks disagree).
FIRST_SNAPSHOT = dt.datetime(2022, 2, 24, tzinfo=dt.UTC)
FUTURE_ALLOWANCE = dt.timedelta(days=1)

_API_FIX = "set --api-url or TERRITORY_DEEPSTATE_API to https://… (default https://deepstatemap.live/api)"


def classify(name: str) -> str | None:
    r"""Return the control status of a DeepState feature name, or None to drop it.

    Examples
    --------
    >>> classify("Окуповано /// Occupied /// geoJSON.status.occupied")
    'occupied'
    >>> classify("x /// y\xa0/// geoJSON.status.dismissed_at {{at:25.03}}")
    'liberated'
    >>> classify(
    ...     "Придністров'я /// Transnistria /// geoJSON.territories.transnistria"
    ... ) is None
    True
    """
    token = name.rsplit("///", maxsplit=1)[-1].strip().replace("\xa0", " ")
    if token in TOKEN_STATUS:
        return TOKEN_STATUS[token]
    if _DISMISSED_AT.match(token):
        return LIBERATED
    return None


# --------------------------------------------------------------------------- parsing


def _ring(coords: Any, where: str) -> np.ndarray:
    """Return one linear ring as an (n, 2) float array, refusing anything else."""
    try:
        arr = np.asarray(coords)
    except (ValueError, TypeError, RecursionError):
        arr = np.asarray([], dtype=object)
    # positions must be 2 or 3 plain numbers; strings, booleans, nested lists,
    # NaN or infinities are not coordinates, whatever numpy would make of them
    if arr.dtype.kind not in "iuf" or arr.ndim != 2 or arr.shape[1] not in (2, 3):
        msg = f"{where} has malformed coordinates (not a list of [lon, lat] numbers)"
        raise DataError(msg)
    xy = arr[:, :2].astype(float)
    if not np.isfinite(xy).all():
        msg = f"{where} has NaN or infinite coordinates"
        raise DataError(msg)
    if (np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any():
        msg = f"{where} has coordinates outside lon -180…180, lat -90…90"
        raise DataError(msg)
    if len(xy) < 4:
        msg = f"{where} has a ring of {len(xy)} positions (a ring needs at least 4)"
        raise DataError(msg)
    return xy


def _polygon(rings: Any, where: str) -> shapely.Polygon:
    if not isinstance(rings, list | tuple):
        msg = f"{where} has malformed coordinates (a polygon is a list of rings)"
        raise DataError(msg)
    if not rings:
        return shapely.Polygon()
    shell, *holes = (_ring(r, where) for r in rings)
    return shapely.Polygon(shell, holes)


def _area_geometry(geometry: Any, where: str) -> BaseGeometry | None:
    """Return a feature's (Multi)Polygon, 2-D and valid; None for non-areas."""
    if geometry is None:
        return None
    if not isinstance(geometry, dict) or not isinstance(geometry.get("type"), str):
        msg = f"{where} has a geometry that is not a GeoJSON object"
        raise DataError(msg)
    kind = geometry["type"]
    if kind in _NOT_AREAS:
        return None
    coords = geometry.get("coordinates")
    geom: BaseGeometry
    if kind == "Polygon":
        geom = _polygon(coords, where)
    elif kind == "MultiPolygon":
        if not isinstance(coords, list | tuple):
            msg = f"{where} has malformed coordinates (a multipolygon is a list of polygons)"
            raise DataError(msg)
        parts = [_polygon(p, where) for p in coords]
        geom = shapely.MultiPolygon([p for p in parts if not p.is_empty])
    else:
        msg = f"{where} has a geometry of unknown type {kind[:40]!r}"
        raise DataError(msg)
    if not geom.is_valid:
        geom = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    return geom


def _status_of(feat: Any, raw: bool, where: str) -> str | None:
    props = feat.get("properties")
    if props is not None and not isinstance(props, dict):
        msg = f"{where} has properties that are not a JSON object"
        raise DataError(msg)
    name = (props or {}).get("name")
    if name is None:
        # daily files: unnamed features, all occupied; in a raw API file every
        # feature is named, so an unnamed one there is unclassifiable
        return None if raw else OCCUPIED
    if not isinstance(name, str):
        msg = f"{where} has a name that is not a string"
        raise DataError(msg)
    return classify(name)


def parse_feature_collection(fc: Any, *, source: str) -> dict[str, BaseGeometry]:
    """Parse a DeepState FeatureCollection (raw API or daily file) by status.

    Daily files carry one feature with empty properties: all of it is occupied.
    Raw API features are classified by `classify`.

    Returns
    -------
    dict
        Status → unioned (Multi)Polygon, lon/lat, 2-D.  Statuses absent from
        the source are absent from the dict.

    Raises
    ------
    DataError
        If `fc` is not a FeatureCollection, holds a malformed feature (not an
        object, a geometry of unknown type, malformed, NaN, infinite or
        out-of-range coordinates) or holds no occupied territory.
    """
    if not isinstance(fc, dict) or fc.get("type") != "FeatureCollection":
        msg = f"{source}: not a GeoJSON FeatureCollection; re-fetch it"
        raise DataError(msg)
    features = fc.get("features") or []
    if not isinstance(features, list):
        msg = f"{source}: 'features' is not a list; the file is not a DeepState map"
        raise DataError(msg)
    for i, feat in enumerate(features):
        if not isinstance(feat, dict):
            msg = f"{source}: feature #{i} is not a JSON object; the file is damaged or not a DeepState map"
            raise DataError(msg)
    raw = any(
        isinstance(f.get("properties"), dict)
        and f["properties"].get("name") is not None
        for f in features
    )
    parts: dict[str, list[BaseGeometry]] = {}
    dropped = 0
    for i, feat in enumerate(features):
        where = f"{source}: feature #{i}"
        status = _status_of(feat, raw, where)
        geom = _area_geometry(feat.get("geometry"), where)
        if status is None or geom is None or geom.is_empty:
            dropped += 1
            continue
        parts.setdefault(status, []).append(geom)
    log.debug("%s: dropped %d features (points, foreign territories)", source, dropped)
    if OCCUPIED not in parts:
        msg = f"{source}: no occupied territory found; the file is not a DeepState map"
        raise DataError(msg)
    out = {status: shapely.union_all(geoms) for status, geoms in parts.items()}
    # DeepState draws grey zone and liberated areas on top of nothing else; keep
    # the statuses disjoint so that they partition: occupied wins any overlap.
    if GREY_ZONE in out:
        out[GREY_ZONE] = shapely.difference(out[GREY_ZONE], out[OCCUPIED])
    return out


def loads(data: bytes, *, source: str, error: type[Exception] = DataError) -> Any:
    """Parse JSON bytes, turning any failure into one `error` naming `source`."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        msg = f"{source}: invalid JSON ({len(data)} bytes); the answer is damaged, try again later"
        raise error(msg) from None


# ------------------------------------------------------------------------- plausibility


def check_sane(by_status: dict[str, BaseGeometry], *, source: str) -> float:
    """Return the occupied area in km², raising if it is outside the sane band."""
    occupied_km2 = area_km2(by_status[OCCUPIED])
    low, high = SANE_OCCUPIED_KM2
    if not low <= occupied_km2 <= high:
        msg = (
            f"{source}: occupied area {occupied_km2:,.0f} km² is outside the sane band "
            f"{low:,.0f}-{high:,.0f} km²; the snapshot is damaged or not DeepState's"
        )
        raise DataError(msg)
    return occupied_km2


def check_snapshot_id(
    value: Any, *, source: str, now: dt.datetime | None = None
) -> int:
    """Return a snapshot id (unix time) if it is an integer in the plausible range.

    Raises
    ------
    DataError
        If `value` is not an integer (booleans and floats are refused; a string
        of digits is accepted) or is before 2022-02-24 or after now + 1 day.

    Examples
    --------
    >>> check_snapshot_id(1754251105, source="t")
    1754251105
    >>> check_snapshot_id(-1, source="t")
    Traceback (most recent call last):
    ...
    territory.errors.DataError: t: snapshot id -1 is not a time between 2022-02-24 and now; the API answer is not a DeepState snapshot
    """
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if type(value) is not int:
        kind = "non-numeric" if isinstance(value, str) else type(value).__name__
        msg = f"{source}: {kind} id {str(value)[:40]!r}; the API answer is not a DeepState snapshot (the API may have changed)"
        raise DataError(msg)
    now = now or dt.datetime.now(dt.UTC)
    lo, hi = FIRST_SNAPSHOT.timestamp(), (now + FUTURE_ALLOWANCE).timestamp()
    if not lo <= value <= hi:
        msg = f"{source}: snapshot id {value} is not a time between {FIRST_SNAPSHOT.date()} and now; the API answer is not a DeepState snapshot"
        raise DataError(msg)
    return value


def check_plausible(
    occupied: BaseGeometry,
    *,
    source: str,
    country: BaseGeometry,
    previous: BaseGeometry,
    previous_label: str,
    days_apart: int,
) -> tuple[float, float]:
    """Check a snapshot's occupied land against the country and a cached snapshot.

    Parameters
    ----------
    occupied
        The snapshot's occupied (Multi)Polygon, lon/lat.
    country
        Union of the region boundaries, lon/lat.
    previous
        Occupied land of the nearest cached snapshot, lon/lat.
    previous_label, days_apart
        Which snapshot `previous` is, and how many days lie between the two.

    Returns
    -------
    (float, float)
        Share of the occupied area inside `country`, and the change from
        `previous` (symmetric difference over its area).

    Raises
    ------
    DataError
        If less than `MIN_INSIDE_SHARE` lies inside the country, or the change
        exceeds ``MAX_CHANGE_SHARE + MAX_CHANGE_SHARE_PER_DAY * days_apart``.
    """
    total_km2 = area_km2(occupied)
    inside = 1.0 - area_km2(shapely.difference(occupied, country)) / total_km2
    if inside < MIN_INSIDE_SHARE:
        msg = (
            f"{source}: only {inside:.2%} of the occupied area lies inside the "
            f"region boundaries (at least {MIN_INSIDE_SHARE:.0%} expected); the "
            "snapshot is not a map of this country, so it was not kept"
        )
        raise DataError(msg)
    prev_km2 = area_km2(previous)
    change = area_km2(shapely.symmetric_difference(occupied, previous)) / prev_km2
    allowed = MAX_CHANGE_SHARE + MAX_CHANGE_SHARE_PER_DAY * abs(days_apart)
    if change > allowed:
        msg = (
            f"{source}: occupied land differs by {change:.2%} from the cached "
            f"{previous_label} ({abs(days_apart)} days apart; at most {allowed:.2%} "
            "expected); the snapshot is implausible, so it was not kept"
        )
        raise DataError(msg)
    return inside, change


# ---------------------------------------------------------------------------- live API


@dataclass(frozen=True, slots=True)
class LiveSnapshot:
    """The latest snapshot from DeepState's live API."""

    snapshot_id: int
    published: dt.datetime
    by_status: dict[str, BaseGeometry]


def check_api_url(api_url: str) -> str:
    """Return `api_url` if it may be used, else raise naming the option and variable.

    Raises
    ------
    DataError
        Unless the URL is ``https://``, or ``http://`` to 127.0.0.1, localhost or ::1.
    """
    from territory._http import url_problem  # (http, ssl: only to fetch)

    problem = url_problem(api_url)
    if problem is not None:
        msg = f"DeepState API URL {api_url[:200]!r} is refused: {problem}; {_API_FIX}"
        raise DataError(msg)
    return api_url


def fetch_latest(
    api_url: str, *, timeout_s: float = 30.0, max_bytes: int = 16_000_000
) -> LiveSnapshot:
    """Fetch, parse and check the latest snapshot from DeepState's live API.

    Parameters
    ----------
    api_url
        Base URL of the API (``https://deepstatemap.live/api``).
    timeout_s
        Seconds allowed for the whole download.
    max_bytes
        Largest answer accepted, in bytes.

    Raises
    ------
    FetchError
        On HTTP errors, the deadline, an answer over `max_bytes`, truncated or
        invalid JSON.
    DataError
        If the URL is refused (see `check_api_url`), the answer is not a
        DeepState map, its id is not a plausible time or its occupied area is
        not sane.  `check_plausible` needs the cache and is the caller's.
    """
    from territory._http import http_get

    url = check_api_url(api_url).rstrip("/") + "/history/last"
    body = http_get(
        url,
        timeout_s=timeout_s,
        max_bytes=max_bytes,
        what="DeepState API",
        fix=f"check the network or {ENV_API} / --api-url, or use the daily record",
    )
    payload = loads(body, source=f"DeepState API: {url}", error=FetchError)
    if not isinstance(payload, dict) or not {"id", "map"} <= payload.keys():
        msg = f"DeepState API answer from {url} lacks 'id' or 'map'; the API may have changed"
        raise DataError(msg)
    snapshot_id = check_snapshot_id(
        payload["id"], source=f"DeepState API answer from {url}"
    )
    published = dt.datetime.fromtimestamp(snapshot_id, tz=dt.UTC)
    by_status = parse_feature_collection(
        payload["map"], source=f"snapshot {snapshot_id}"
    )
    check_sane(by_status, source=f"snapshot {snapshot_id}")
    return LiveSnapshot(
        snapshot_id=snapshot_id, published=published, by_status=by_status
    )
