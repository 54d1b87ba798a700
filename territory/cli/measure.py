"""`territory measure`: ellipsoidal area and perimeter of any vector file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from territory.cli.options import emit, format_option, handle_errors, output_option


@click.command(short_help="Geodesic area (km²) and perimeter (km) of a file.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--as-is",
    is_flag=True,
    help="Measure the shapes where they are, even if lon/lat look swapped.",
)
@format_option
@output_option
@handle_errors
def measure(path: Path, fmt: str, output: Path | None, as_is: bool) -> None:
    """Measure the polygons in PATH on the WGS84 ellipsoid (Karney's geodesic algorithm,
    as PostGIS ST_Area(geography)).  Edges are geodesics between vertices: densify
    lon/lat shapes whose edges should follow parallels before measuring them.

    Prints each feature's area (km², and m² in JSON) and perimeter (km), and the total.
    Coordinates that cannot be degrees (metres in a file with no CRS) are
    refused; shapes outside the area territory covers whose swapped lon/lat
    would fall inside it are refused too, unless --as-is.

    \b
    Examples
      territory measure claimed_area.geojson
      territory measure zones.gpkg --format json
    """
    from territory import tables
    from territory.errors import DataError
    from territory.geodesy import geodesic_area_perimeter_m
    from territory.io import read_vector

    gdf = read_vector(
        path,
        check_lonlat=not as_is,
        swapped_also="or pass --as-is to measure them where they are",
    )
    name_col = next(
        (c for c in ("name", "Name", "NAME", "title") if c in gdf.columns), None
    )
    features: list[dict[str, Any]] = []
    for i, geom in enumerate(gdf.geometry):
        a_m2, p_m = geodesic_area_perimeter_m(geom)
        features.append(
            {
                "index": i,
                "name": str(gdf[name_col].iat[i]) if name_col else None,
                "geometry_type": geom.geom_type if geom is not None else None,
                "area_m2": a_m2,
                "area_km2": a_m2 / 1e6,
                "perimeter_km": p_m / 1e3,
            }
        )
    if not any(f["area_m2"] > 0 for f in features):
        msg = f"{path.name!r} holds no polygons with area; measure polygons, not lines or points"
        raise DataError(msg)
    total = {
        "features": len(features),
        "area_m2": sum(f["area_m2"] for f in features),
        "area_km2": sum(f["area_km2"] for f in features),
        "perimeter_km": sum(f["perimeter_km"] for f in features),
    }
    if fmt == "json":
        text = tables.to_json(
            {
                "file": str(path),
                "crs": "EPSG:4326 (WGS84 ellipsoid)",
                "features": features,
                "total": total,
            }
        )
    elif fmt == "csv":
        import pandas as pd

        text = tables.frame_csv(pd.DataFrame(features))
    else:
        rows = [
            [f["index"], f["name"] or "", f["area_km2"], f["perimeter_km"]]
            for f in features
        ]
        foot = [["total", "", total["area_km2"], total["perimeter_km"]]]
        text = tables.text_table(
            rows,
            ["#", "Name", "Area km²", "Perimeter km"],
            digits=[0, 0, 2, 2],
            footer=foot,
        )
    emit(text, output)
