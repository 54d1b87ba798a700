"""Adapter for DeepStateMap: its daily files, its raw API format and its live API.

This module is the only one that knows how DeepState encodes control.  It turns
every source into the control schema used everywhere else: a GeoDataFrame with
a ``status`` column (``occupied``, ``grey_zone``, ``liberated``) and one
(Multi)Polygon per status, 2-D, in EPSG:4326.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape

from territory._http import http_get
from territory.errors import DataError, FetchError
from territory.geodesy import area_km2

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

#: A sane band for the occupied total of a snapshot, km² (SOURCES.md).
SANE_OCCUPIED_KM2 = (50_000.0, 250_000.0)


def classify(name: str) -> str | None:
    """Return the control status of a DeepState feature name, or None to drop it.

    Examples
    --------
    >>> classify("Окуповано /// Occupied /// geoJSON.status.occupied")
    'occupied'
    >>> classify("x /// y\\xa0/// geoJSON.status.dismissed_at {{at:25.03}}")
    'liberated'
    >>> classify(
    ...     "Придністров'я /// Transnistria /// geoJSON.territories.transnistria"
    ... ) is None
    True
    """
    token = name.split("///")[-1].strip().replace("\xa0", " ")
    if token in TOKEN_STATUS:
        return TOKEN_STATUS[token]
    if _DISMISSED_AT.match(token):
        return LIBERATED
    return None


def _polygons_2d(geometry: dict[str, Any]) -> shapely.Geometry | None:
    geom = shape(geometry)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return None
    geom = shapely.force_2d(geom)
    if not geom.is_valid:
        geom = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    return geom


def parse_feature_collection(fc: Any, *, source: str) -> dict[str, shapely.Geometry]:
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
        If `fc` is not a FeatureCollection or holds no occupied territory.
    """
    if not isinstance(fc, dict) or fc.get("type") != "FeatureCollection":
        msg = f"{source}: not a GeoJSON FeatureCollection; re-fetch it"
        raise DataError(msg)
    parts: dict[str, list[shapely.Geometry]] = {}
    dropped = 0
    features = fc.get("features") or []
    # Daily files: features without names, all occupied.  Raw API files: every
    # feature is named; an unnamed one there is unclassifiable and dropped.
    raw = any((f.get("properties") or {}).get("name") is not None for f in features)
    for feat in features:
        props = feat.get("properties") or {}
        name = props.get("name")
        status = (None if raw else OCCUPIED) if name is None else classify(str(name))
        geom = _polygons_2d(feat["geometry"]) if feat.get("geometry") else None
        if status is None or geom is None:
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


def check_sane(by_status: dict[str, shapely.Geometry], *, source: str) -> float:
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


@dataclass(frozen=True, slots=True)
class LiveSnapshot:
    """The latest snapshot from DeepState's live API."""

    snapshot_id: int
    published: dt.datetime
    by_status: dict[str, shapely.Geometry]


def _get_json(url: str, *, timeout_s: float) -> Any:
    body = http_get(
        url,
        timeout_s=timeout_s,
        what="DeepState API",
        fix="check the network or --api-url, or use the daily record",
    )
    try:
        return json.loads(body)
    except ValueError:
        msg = f"DeepState API: invalid JSON ({len(body)} bytes) from {url}; try again later"
        raise FetchError(msg) from None


def fetch_latest(api_url: str, *, timeout_s: float = 30.0) -> LiveSnapshot:
    """Fetch, parse and check the latest snapshot from DeepState's live API.

    Parameters
    ----------
    api_url
        Base URL of the API (``https://deepstatemap.live/api``).
    timeout_s
        Seconds to wait for the answer.

    Raises
    ------
    FetchError
        On HTTP errors, time-outs, truncated or invalid JSON.
    DataError
        If the answer is not a DeepState map or its occupied area is not sane.
    """
    url = api_url.rstrip("/") + "/history/last"
    payload = _get_json(url, timeout_s=timeout_s)
    if not isinstance(payload, dict) or not {"id", "map"} <= payload.keys():
        msg = f"DeepState API answer from {url} lacks 'id' or 'map'; the API may have changed"
        raise DataError(msg)
    try:
        snapshot_id = int(payload["id"])
    except (TypeError, ValueError):
        msg = f"DeepState API answer from {url} has a non-numeric id {payload['id']!r}"
        raise DataError(msg) from None
    published = dt.datetime.fromtimestamp(snapshot_id, tz=dt.UTC)
    by_status = parse_feature_collection(
        payload["map"], source=f"snapshot {snapshot_id}"
    )
    check_sane(by_status, source=f"snapshot {snapshot_id}")
    return LiveSnapshot(
        snapshot_id=snapshot_id, published=published, by_status=by_status
    )
