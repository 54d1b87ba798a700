"""CRS constants and the one place where geometries change coordinates.

pyproj is imported when a CRS is first built or a geometry first reprojected,
not with this module: a run that reads its figures, or whose first work
needs none (the dating of a new cache's daily files), does not wait for it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from territory.errors import CRSError, GeometryError

if TYPE_CHECKING:
    from pyproj import CRS, Transformer

#: Storage, exchange and display CRS: WGS84 lon/lat (GeoJSON axis order).
STORAGE_CRS = "EPSG:4326"

#: Equal-area CRS (ETRS89-LAEA); used only for quick checks, never for lengths.
AREA_CRS = "EPSG:3035"

LonLat = tuple[float, float]


def check_crs(crs: object, *, what: str) -> CRS:
    """Return `crs` as a pyproj CRS, or raise naming the layer.

    Parameters
    ----------
    crs
        Anything pyproj understands (``"EPSG:4326"``, a CRS object), or None.
    what
        Name of the layer, for the message.

    Raises
    ------
    CRSError
        If `crs` is missing or not understood.
    """
    if crs is None:
        msg = f"{what} has no CRS; set one in the source file (expected EPSG:4326)"
        raise CRSError(msg)
    from pyproj import CRS

    try:
        return CRS.from_user_input(crs)
    except Exception as err:  # pyproj raises its own CRSError subclass
        msg = f"{what} has a CRS pyproj does not understand ({crs!r}): {err}"
        raise CRSError(msg) from err


def same_crs(left: object, right: object, *, what: str) -> None:
    """Raise `CRSError` if two layers' CRSs differ; never combine them silently."""
    a, b = check_crs(left, what=what), check_crs(right, what=what)
    if not a.equals(b):
        msg = (
            f"{what}: CRS mismatch ({a.to_string()} vs {b.to_string()}); "
            "reproject one layer with GeoDataFrame.to_crs first"
        )
        raise CRSError(msg)


@lru_cache(maxsize=64)
def local_metric_crs(lon: float, lat: float) -> CRS:
    """Return an azimuthal equidistant CRS centred on (`lon`, `lat`), in metres.

    Distances from the centre are true; elsewhere the scale error grows as
    (d/R)²/6, about 0.15% at 600 km.  Used to build buffers of a given width
    (demilitarised zones, sliver tolerances) with true distances, never for area.
    """
    from pyproj import CRS

    return CRS.from_proj4(
        f"+proj=aeqd +lat_0={lat:.4f} +lon_0={lon:.4f} +ellps=WGS84 +units=m +no_defs"
    )


@lru_cache(maxsize=64)
def _transformer(src: str, dst: str) -> Transformer:
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)


def _coordinates_fn(
    src: CRS | str, dst: CRS | str
) -> Callable[[np.ndarray], np.ndarray]:
    """Make the function `shapely.transform` calls: (n, 2) lon/lat-order coordinates reprojected."""
    src_s = src if isinstance(src, str) else src.to_wkt()
    dst_s = dst if isinstance(dst, str) else dst.to_wkt()
    tr = _transformer(src_s, dst_s)

    def _fn(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return _fn


def warm_transform(src: CRS | str, dst: CRS | str) -> None:
    """Make the reprojection from `src` to `dst` ready: pyproj imported, its transformer kept.

    For a process about to fork workers that reproject: they inherit it,
    rather than each importing pyproj and building it (0.1 s of CPU).
    """
    _coordinates_fn(src, dst)


def transform(geom: BaseGeometry, src: CRS | str, dst: CRS | str) -> BaseGeometry:
    """Reproject one shapely geometry, lon/lat axis order throughout.

    The result is made valid: reprojection can fold a valid ring onto itself.
    """
    out = shapely.transform(geom, _coordinates_fn(src, dst))
    if not out.is_valid:
        out = shapely.make_valid(out, method="structure", keep_collapsed=False)
    return out


def transform_many(geoms: object, src: CRS | str, dst: CRS | str) -> np.ndarray:
    """Reproject an array of shapely geometries at once (see `transform`).

    One call to PROJ for all their coordinates; each geometry comes out as
    `transform` gives it (coordinates are reprojected one by one either
    way), made valid where reprojection folded a ring.
    """
    out = shapely.transform(np.asarray(geoms, dtype=object), _coordinates_fn(src, dst))
    bad = ~shapely.is_valid(out)
    if bad.any():
        out[bad] = shapely.make_valid(
            out[bad], method="structure", keep_collapsed=False
        )
    return out


def metric_crs_for(geom: BaseGeometry) -> CRS:
    """Return the local equidistant CRS centred on the bounds of a lon/lat geometry."""
    minx, miny, maxx, maxy = geom.bounds
    return local_metric_crs(round((minx + maxx) / 2, 2), round((miny + maxy) / 2, 2))


#: Largest distance (m) `buffer_m` accepts.
BUFFER_M_MAX_M = 100.0


def buffer_m(
    geom: BaseGeometry, distance_m: float, *, crs: CRS | None = None
) -> BaseGeometry:
    """Buffer a lon/lat geometry by a small distance in metres (a tolerance).

    The buffer is built in one azimuthal equidistant CRS centred on the
    geometry (see `local_metric_crs`) and returned in lon/lat.  Negative
    distances shrink.  Only for tolerances: GEOS simplifies by 1% of the
    distance and the scale error grows away from the centre (0.15% at 600 km),
    so a 1-m buffer is right to a centimetre.  Bands of a given width are
    `buffer_line_m`.

    Raises
    ------
    GeometryError
        If ``abs(distance_m)`` exceeds `BUFFER_M_MAX_M`.
    """
    if abs(distance_m) > BUFFER_M_MAX_M:
        msg = (
            f"buffer_m is for tolerances up to {BUFFER_M_MAX_M:g} m, not "
            f"{distance_m:g} m; use territory.buffers.buffer_line_m for bands"
        )
        raise GeometryError(msg)
    if geom.is_empty:
        return geom
    crs = crs or metric_crs_for(geom)
    projected = transform(geom, STORAGE_CRS, crs)
    return transform(projected.buffer(distance_m, quad_segs=8), crs, STORAGE_CRS)


def to_latlon(point: LonLat) -> tuple[float, float]:
    """Swap a (lon, lat) pair into Leaflet's (lat, lon) order."""
    lon, lat = point
    return (lat, lon)
