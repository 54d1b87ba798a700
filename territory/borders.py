"""Ukraine's land neighbours and the stretches of the state border each one shares.

The facts live in ``geodata/neighbours.csv``: one row per stretch of the land
border, from one tripoint (or the coast) to the next, with the official length
of the whole border with that neighbour.  A neighbour may have several
stretches (Romania: north of Moldova and along the Danube).

`neighbour_borders` draws each neighbour's border line: the country outline
(the exterior ring of the union of the region polygons, which include the
territorial sea) between the ring's vertices nearest to the stretch's two
ends, taking the shorter arc, and cut to the land.  Ends on the coast are
given as a vertex of the ring at sea, so that the cut ends the line at the
coast.  Accuracy: the table gives the tripoints to about 1 km and each is
snapped to the nearest vertex (at most `SNAP_MAX_M` away, or the table is
refused), so a neighbour's line may begin or end up to ~2 km along the outline
from the true tripoint; in between it is the region layer's outline exactly.  The stretches share their
snapped tripoints, so together they cover the land border with no overlap
(tested).  Their lengths come out within 2% + 3 km per stretch end of the
official lengths (tested): the region outline (OpenStreetMap) follows rivers
in more detail than official measurements, and the ends move with the snaps.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from territory.errors import DataError
from territory.frozen import ReadOnlyDict
from territory.geodesy import GEOD, length_km
from territory.manifest import geodata_dir

LonLat = tuple[float, float]

#: A tripoint of the table may lie at most this far (m) from the country
#: outline; the table gives them to about 1 km.
SNAP_MAX_M = 2_000.0


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A neighbouring state and the stretches of land border shared with it."""

    code: str
    name: str
    stretches: tuple[tuple[LonLat, LonLat], ...]
    official_length_km: float


@lru_cache(maxsize=1)
def load_neighbours() -> ReadOnlyDict[str, Neighbour]:
    """Return the land neighbours by ISO 3166-1 alpha-2 code (``RU``, ``BY``, ...).

    Examples
    --------
    >>> sorted(load_neighbours())
    ['BY', 'HU', 'MD', 'PL', 'RO', 'RU', 'SK']
    >>> load_neighbours()["RO"].name, len(load_neighbours()["RO"].stretches)
    ('Romania', 2)
    """
    path = geodata_dir() / "neighbours.csv"
    rows: dict[str, dict] = {}
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                stretch = (
                    (float(r["from_lon"]), float(r["from_lat"])),
                    (float(r["to_lon"]), float(r["to_lat"])),
                )
                entry = rows.setdefault(
                    r["code"],
                    {
                        "name": r["name"],
                        "stretches": [],
                        "length": float(r["official_length_km"]),
                    },
                )
                entry["stretches"].append(stretch)
    except (OSError, KeyError, ValueError) as err:
        msg = f"{path} is missing or malformed ({err}); reinstall territory"
        raise DataError(msg) from None
    # kept once per process and shared: read-only
    return ReadOnlyDict(
        {
            code: Neighbour(code, e["name"], tuple(e["stretches"]), e["length"])
            for code, e in rows.items()
        }
    )


def outline_ring(country: BaseGeometry) -> shapely.LineString:
    """Return the exterior ring of the largest polygon of `country`, as a line."""
    parts = list(shapely.get_parts(country))
    main = max(parts, key=lambda p: p.area)
    return shapely.LineString(main.exterior.coords)


def _snap(coords: np.ndarray, point: LonLat, *, what: str) -> int:
    """Return the index of the ring vertex nearest to `point`, checked.

    A vertex, not a point between two: the arcs then keep the outline's own
    vertices, which the land's edges share (to the partition's snap-rounding
    grid, which the land mask's growth covers), so cutting them to the land
    loses nothing.
    """
    n = len(coords) - 1  # the ring is closed: the last vertex repeats the first
    _, _, dist_m = GEOD.inv(
        np.full(n, point[0]), np.full(n, point[1]), coords[:n, 0], coords[:n, 1]
    )
    i = int(np.argmin(dist_m))
    if dist_m[i] > SNAP_MAX_M:
        msg = (
            f"geodata/neighbours.csv: {what} {point} lies {dist_m[i] / 1000:.1f} km "
            f"from the country outline (at most {SNAP_MAX_M / 1000:g} km); correct "
            "the tripoint in the table"
        )
        raise DataError(msg)
    return i


def stretch_arc(
    ring: shapely.LineString, a: LonLat, b: LonLat, *, what: str
) -> shapely.LineString:
    """Return the shorter arc of `ring` between its vertices nearest to `a` and `b`."""
    coords = shapely.get_coordinates(ring)
    i, j = sorted((_snap(coords, a, what=what), _snap(coords, b, what=what)))
    inside = shapely.LineString(coords[i : j + 1])
    around = shapely.LineString(np.vstack([coords[j:], coords[1 : i + 1]]))
    return inside if length_km(inside) <= length_km(around) else around


def neighbour_borders(
    country: BaseGeometry, land: BaseGeometry
) -> dict[str, BaseGeometry]:
    """Return the land border with each neighbour, lon/lat lines by ISO code.

    Parameters
    ----------
    country
        Union of the region polygons (with the territorial sea), EPSG:4326.
    land
        The country's land, EPSG:4326: the outline is kept where it runs on land.

    Raises
    ------
    DataError
        If a tripoint of the table lies farther than `SNAP_MAX_M` from the outline.
    """
    ring = outline_ring(country)
    out: dict[str, BaseGeometry] = {}
    for code, nb in load_neighbours().items():
        arcs = [
            stretch_arc(ring, a, b, what=f"{nb.name} tripoint") for a, b in nb.stretches
        ]
        on_land = shapely.intersection(shapely.union_all(arcs), land)
        lines = [p for p in shapely.get_parts(on_land) if p.geom_type == "LineString"]
        out[code] = (
            shapely.line_merge(shapely.MultiLineString(lines))
            if lines
            else shapely.LineString()
        )
    return out


def max_distance_m(bounds: tuple[float, float, float, float]) -> float:
    """Return the largest geodesic distance (m) between two points of a lon/lat box.

    For a box not reaching a pole and narrower than 180° of longitude, the
    distance from any point grows monotonically along parallels (with the
    difference of longitude) and has no interior maximum along meridians, so
    the maximum is between two corners.

    Examples
    --------
    >>> round(max_distance_m((0.0, 0.0, 1.0, 0.0)) / 1000, 3)  # 1° of equator
    111.319
    """
    minx, miny, maxx, maxy = bounds
    corners = np.array([(minx, miny), (minx, maxy), (maxx, miny), (maxx, maxy)])
    i, j = np.triu_indices(4, 1)
    _, _, dist_m = GEOD.inv(corners[i, 0], corners[i, 1], corners[j, 0], corners[j, 1])
    return float(np.max(dist_m))
