"""The whole result of an evaluation as GIS layers, and writing them.

`export_layers` turns an `Evaluation` into named GeoDataFrames, each in
EPSG:4326 with its units in its field names, so that a file opened in QGIS
or geopandas needs no explanation:

``transfers``
    Land moved from one party to another (one row per transfer).
``zones``
    Land given to demilitarised zones (one row per zone, and per transfer
    to ``DMZ``).
``holdings_before``, ``holdings_after``
    Each party's land before and after (one row per party), with its area.
``contact_line_before``, ``contact_line_after``
    The contact line before; after, the direct contact left and each
    demilitarised zone's Ukrainian and Russian edges (one row each).
``settlements``
    The named places counted in the moved land (GeoNames), one point each.
``removed``
    Land the partition removed from, or gave to, a holder (see
    `territory.control.Control.removed_frame`).

`write_layers` writes them: a GeoPackage holds every layer; GeoJSON and
GeoParquet hold one layer a file, so the transfers and zones go to the file
named and each other layer beside it as ``<name>-<layer><suffix>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from territory.crs import STORAGE_CRS
from territory.geodesy import length_km

if TYPE_CHECKING:
    from pathlib import Path

    import geopandas as gpd

    from territory.accounting import Evaluation
    from territory.io import OutputTarget

#: The layers of `export_layers`, in the order they are written.
LAYERS = (
    "transfers",
    "zones",
    "holdings_before",
    "holdings_after",
    "contact_line_before",
    "contact_line_after",
    "settlements",
    "removed",
)
#: GDAL drivers by file suffix (GeoParquet is written by geopandas itself).
DRIVERS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".parquet": None}
#: The layer a one-layer file (GeoJSON, GeoParquet) holds under its own name.
MAIN_LAYER = "transfers"


def _frame(columns: Mapping[str, list], geometry: list) -> gpd.GeoDataFrame:
    import geopandas as gpd

    return gpd.GeoDataFrame(dict(columns), geometry=geometry, crs=STORAGE_CRS)


def _context(ev: Evaluation, n: int) -> dict[str, list]:
    """Return the columns every layer carries: the scenario, its map and date."""
    snapshot = ev.control.snapshot
    return {
        "scenario": [ev.scenario.title] * n,
        "as_of": [ev.control.as_of.isoformat()] * n,
        "snapshot": [snapshot.label if snapshot is not None else ""] * n,
    }


def _moves(ev: Evaluation, *, zones: bool) -> gpd.GeoDataFrame:
    """Return the moves into demilitarised zones (`zones`) or the others.

    As `Evaluation.to_geodataframe` gives them, with the context columns.
    """
    from territory.accounting import DMZ

    moves = ev.to_geodataframe()
    moves = moves[(moves["to"] == DMZ) == zones].reset_index(drop=True)
    return moves.assign(**_context(ev, len(moves)))


def _holdings(ev: Evaluation, *, after: bool) -> gpd.GeoDataFrame:
    from territory.accounting import PARTY_ORDER

    if after:
        parties = [p for p in PARTY_ORDER if p in ev.after_geoms]
        geoms = [ev.after_geoms[p] for p in parties]
        areas = [ev.after_km2.get(p, 0.0) for p in parties]
    else:
        held = ev.control._partition.country
        parties = [p for p in PARTY_ORDER if p in held]
        geoms = [held[p] for p in parties]
        areas = [ev.before_km2.get(p, 0.0) for p in parties]
    keep = [i for i, g in enumerate(geoms) if not g.is_empty]
    return _frame(
        {
            "party": [parties[i] for i in keep],
            "area_km2": [areas[i] for i in keep],
            **_context(ev, len(keep)),
        },
        [geoms[i] for i in keep],
    )


def _lines_before(ev: Evaluation) -> gpd.GeoDataFrame:
    from territory.control import RU

    line = ev.control.edge(RU)
    return _frame(
        {
            "kind": ["contact line"],
            "zone": [""],
            "side": [""],
            "length_km": [ev.front_before_km],
            **_context(ev, 1),
        },
        [line],
    )


def _lines_after(ev: Evaluation) -> gpd.GeoDataFrame:
    la = ev.line_after
    rows = [("direct contact", "", "", la.direct)]
    for z in la.zones:
        rows.append(("zone edge", z.name, "UA", z.ua_edge))
        rows.append(("zone edge", z.name, "RU", z.ru_edge))
    return _frame(
        {
            "kind": [r[0] for r in rows],
            "zone": [r[1] for r in rows],
            "side": [r[2] for r in rows],
            "length_km": [length_km(r[3]) for r in rows],
            **_context(ev, len(rows)),
        },
        [r[3] for r in rows],
    )


def _settlements(ev: Evaluation) -> gpd.GeoDataFrame:
    import shapely

    from territory.people import places_in

    rows = [(m.name, p) for m in ev.moves for p in places_in(m.geometry)]
    return _frame(
        {
            "place": [p["name"] for _, p in rows],
            "population": [int(p["population"]) for _, p in rows],
            "move": [name for name, _ in rows],
            **_context(ev, len(rows)),
        },
        list(shapely.points([[p["lon"], p["lat"]] for _, p in rows])) if rows else [],
    )


def _removed(ev: Evaluation) -> gpd.GeoDataFrame:
    removed = ev.control.removed_frame().reset_index()  # region_id, reason
    return removed.assign(**_context(ev, len(removed)))


def export_layers(ev: Evaluation) -> dict[str, gpd.GeoDataFrame]:
    """Return the whole result of `ev` as GIS layers (see the module's doc).

    Every layer is in EPSG:4326 and carries ``scenario``, ``as_of`` and
    ``snapshot``; areas are in ``area_km2`` (ellipsoidal), lengths in
    ``length_km`` (geodesic), as the evaluation measured them.
    """
    return {
        "transfers": _moves(ev, zones=False),
        "zones": _moves(ev, zones=True),
        "holdings_before": _holdings(ev, after=False),
        "holdings_after": _holdings(ev, after=True),
        "contact_line_before": _lines_before(ev),
        "contact_line_after": _lines_after(ev),
        "settlements": _settlements(ev),
        "removed": _removed(ev),
    }


def export_files(path: Path) -> dict[Path, tuple[str, ...]]:
    """Return the files an export to `path` writes, each with the layers it holds.

    A GeoPackage holds every layer; a GeoJSON or GeoParquet file holds the
    transfers and zones (the file named), and each other layer goes beside
    it as ``<name>-<layer><suffix>``.
    """
    if path.suffix.lower() == ".gpkg":
        return {path: LAYERS}
    files: dict[Path, tuple[str, ...]] = {path: (MAIN_LAYER, "zones")}
    for layer in LAYERS:
        if layer not in files[path]:
            files[path.with_name(f"{path.stem}-{layer}{path.suffix}")] = (layer,)
    return files


def write_layers(
    layers: Mapping[str, gpd.GeoDataFrame],
    files: Sequence[tuple[OutputTarget, Sequence[str]]],
) -> None:
    """Write `layers` to `files`: each checked target with the layers it holds.

    The targets come from `territory.io.check_outputs` of `export_files`'s
    paths. A GeoPackage gets a layer each; a one-layer file gets its layers
    in one layer named after the first (the transfers file also holds the
    zones).
    Each file is written atomically.
    """
    import pandas as pd

    from territory.io import output_file

    for target, names in files:
        suffix = target.given.suffix.lower()
        with output_file(target) as tmp:
            tmp.unlink()
            if suffix == ".gpkg":
                for name in names:
                    layers[name].to_file(tmp, driver="GPKG", layer=name)
                continue
            frame = pd.concat([layers[n] for n in names], ignore_index=True)
            if suffix == ".parquet":
                frame.to_parquet(tmp, index=False)
            else:
                frame.to_file(tmp, driver=DRIVERS[suffix], layer=names[0])
