"""Folium rendering of control maps (the only module that imports folium)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely

from territory.control import GREY, RU, UA

if TYPE_CHECKING:
    import folium

    from territory.control import Control
    from territory.record import Record

#: Named colours per holder / direction; no random colours, so renders are stable.
COLOURS = {
    RU: "#c0392b",
    GREY: "#9e9e9e",
    UA: "#2e86c1",
    "border": "#333333",
}

#: Display simplification tolerance, degrees (~200 m); accounting never uses it.
DISPLAY_TOLERANCE_DEG = 0.002

ATTRIBUTION = (
    "Control: DeepStateMap · Boundaries: geoBoundaries (Runfola et al. 2020), "
    "© OpenStreetMap contributors · Land: Natural Earth"
)


def _folium() -> Any:
    try:
        import folium
    except ImportError as err:  # pragma: no cover - folium is a dependency
        msg = "maps need folium; install it with 'pip install folium'"
        raise ImportError(msg) from err
    return folium


def simplify_for_display(geom: shapely.Geometry, tolerance_deg: float = DISPLAY_TOLERANCE_DEG) -> shapely.Geometry:
    """Return a topology-preserving simplification of `geom` for display."""
    return shapely.simplify(geom, tolerance_deg, preserve_topology=True)


def _legend_html(title: str, rows: list[tuple[str, str]], foot: str) -> str:
    items = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;background:{c};'
        f'opacity:.7;margin-right:6px;vertical-align:middle"></span>{html.escape(label)}</div>'
        for c, label in rows
    )
    return (
        '<div id="territory-legend" style="position:absolute;bottom:24px;left:12px;z-index:1000;'
        'background:white;padding:8px 10px;border:1px solid #999;border-radius:4px;'
        f'font:12px/1.4 sans-serif;max-width:300px"><b>{html.escape(title)}</b>{items}'
        f'<div style="margin-top:4px;color:#555">{html.escape(foot)}</div></div>'
    )


def render_control(record: Record, control: Control) -> folium.Map:
    """Build a folium map of regions and control as of `control.as_of`.

    Layers (each a named FeatureGroup in the layer control): regions with
    names, Russian-held land, grey zone (if the source has one), Ukrainian-held
    land.  Display geometry is simplified; tooltips give areas in km².
    """
    folium = _folium()
    fmap = folium.Map(location=(48.6, 31.4), zoom_start=6, tiles=None, control_scale=True)
    regions = record.display_regions
    frame = control.to_frame().set_index("region_id")
    reg = regions[["region_id", "name", "geometry"]].copy()
    reg["occupied_km2"] = [round(float(frame.at[r, "occupied_km2"])) for r in reg["region_id"]]
    reg["land_km2"] = [round(float(frame.at[r, "land_km2"])) for r in reg["region_id"]]
    g = folium.FeatureGroup(name="Regions", show=True)
    folium.GeoJson(
        reg.to_json(), name="Regions",
        style_function=lambda _f: {"color": COLOURS["border"], "weight": 1, "fillOpacity": 0.03},
        tooltip=folium.GeoJsonTooltip(["name", "region_id", "land_km2", "occupied_km2"],
                                      aliases=["Region", "Code", "Land km²", "Russian-held km²"]),
    ).add_to(g)
    g.add_to(fmap)
    labels = {RU: "Russian-held", GREY: "Grey zone", UA: "Ukrainian-held"}
    for holder in (RU, GREY, UA):
        if holder == GREY and not control.has_grey_zone:
            continue
        geom = control.holding(holder)
        from territory.geodesy import area_km2

        area = round(area_km2(geom))
        layer = folium.FeatureGroup(name=f"{labels[holder]} ({area:,} km²)", show=holder != UA)
        folium.GeoJson(
            {"type": "Feature", "properties": {"holder": holder, "area_km2": area},
             "geometry": shapely.geometry.mapping(simplify_for_display(geom))},
            style_function=lambda _f, c=COLOURS[holder]: {"color": c, "weight": 1, "fillColor": c, "fillOpacity": 0.45},
            tooltip=f"{labels[holder]}: {area:,} km²",
        ).add_to(layer)
        layer.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    rows = [(COLOURS[h], labels[h]) for h in (RU, GREY, UA) if h != GREY or control.has_grey_zone]
    foot = f"As of {control.as_of} (evening), {control.snapshot.label}. Areas: km², WGS84 geodesic, land only."
    fmap.get_root().html.add_child(folium.Element(_legend_html("Control", rows, foot)))
    fmap.get_root().html.add_child(folium.Element(
        f'<div id="territory-attribution" style="position:absolute;bottom:0;right:0;z-index:1000;'
        f'background:rgba(255,255,255,.8);font:11px sans-serif;padding:2px 6px">{html.escape(ATTRIBUTION)}</div>'
    ))
    fmap.fit_bounds([[44.2, 22.1], [52.4, 40.3]])
    return fmap


def save_map(fmap: folium.Map, path: Path) -> None:
    """Write a folium map to `path` atomically."""
    from territory.datasets import write_bytes_atomic

    write_bytes_atomic(Path(path), fmap.get_root().render().encode("utf-8"))
