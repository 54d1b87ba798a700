"""Reading user-supplied vector files (any format GDAL reads) into lon/lat."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from territory.crs import STORAGE_CRS, check_crs
from territory.errors import DataError

if TYPE_CHECKING:
    import geopandas as gpd


def read_vector(path: Path | str, *, what: str = "vector file") -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, GeoPackage, Shapefile, ...) into EPSG:4326.

    Invalid polygons are repaired with ``make_valid`` (and say so in the log).

    Raises
    ------
    DataError
        If the file cannot be read or holds no features.
    CRSError
        If the file declares no CRS.
    """
    import geopandas as gpd
    import shapely

    path = Path(path)
    try:
        gdf = gpd.read_file(path)
    except Exception as err:  # pyogrio raises several DataSourceError flavours
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        msg = f"{what} {path.name!r} cannot be read ({first}); give a GeoJSON, GeoPackage or Shapefile"
        raise DataError(msg) from None
    if gdf.empty:
        msg = f"{what} {path.name!r} holds no features; nothing to measure"
        raise DataError(msg)
    check_crs(gdf.crs, what=f"{what} {path.name!r}")
    if not gdf.crs.equals(STORAGE_CRS):
        gdf = gdf.to_crs(STORAGE_CRS)
    invalid = ~gdf.geometry.is_valid & gdf.geometry.notna()
    if invalid.any():
        gdf.loc[invalid, "geometry"] = shapely.make_valid(gdf.geometry[invalid].values)
    return gdf
