"""The folium layers of the pages: base, holdings, removed land, moves, lines, settlements.

Each layer is a named `FeatureGroup` in the layer control; one that draws
something adds its row to the page's legend (`territory.maps.page.Legend`),
keyed to the layer.  Every text property of a feature goes through
`territory.maps.style.esc`; geometry is simplified for display only
(`display_geometry`; accounting always uses full resolution).  Settlements are
those of `PLACE_MIN_POPULATION` or more, hollow circles whose area grows with
the population.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry.base import BaseGeometry

from territory.control import GREY, RU, contact_line
from territory.crs import to_latlon
from territory.maps.figures import PLACE_MIN_POPULATION
from territory.maps.offline import folium_module
from territory.maps.page import Swatch
from territory.maps.style import (
    COLOURS,
    HOLDER_LABEL,
    direction,
    display_geometry,
    esc,
)

if TYPE_CHECKING:
    from territory.accounting import Evaluation
    from territory.control import Control

#: Settlements drawn: at least `PLACE_MIN_POPULATION` people (GeoNames; the
#: static figures' threshold), as hollow circles whose area grows with the
#: population, of `PLACE_RADIUS_PX` at the threshold.
PLACE_RADIUS_PX = 3.0


def _feature(geom: BaseGeometry, props: dict[str, Any]) -> dict[str, Any]:
    safe = {k: (esc(v) if isinstance(v, str) else v) for k, v in props.items()}
    return {
        "type": "Feature",
        "properties": safe,
        "geometry": shapely.geometry.mapping(geom),
    }


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def _style(
    colour: str, *, fill: float = 0.45, weight: float = 1.0, dash: str | None = None
) -> Any:
    style = {
        "color": colour,
        "weight": weight,
        "fillColor": colour,
        "fillOpacity": fill,
        "opacity": 0.9,
    }
    if dash:
        style["dashArray"] = dash
    return lambda _feature, s=style: s


@lru_cache(maxsize=1)
def _group_class() -> type:
    from folium.template import Template

    # a module imported at run time (folium is lazy): its classes are Any here
    folium: Any = folium_module()

    class Group(folium.FeatureGroup):
        """A FeatureGroup whose options reach Leaflet (folium passes them as its layers).

        Its legend key travels as the option ``territoryKey``.
        """

        _template = Template(
            "{% macro script(this, kwargs) %}"
            "var {{ this.get_name() }} = L.featureGroup([], {{ this.options|tojavascript }});"
            "{% endmacro %}"
        )

    return Group


def geojson_layer(
    fmap: Any,
    name: str,
    data: dict[str, Any],
    style: Any,
    *,
    legend: Swatch | None = None,
    show: bool = True,
    fields: Sequence[str] = (),
    aliases: Sequence[str] = (),
    move_popup: bool = False,
    overlay: bool = True,
    marker: Any = None,
) -> Any:
    """Add a named layer of `data`; with `legend`, its legend row if it draws anything."""
    folium = folium_module()
    options = {}
    if legend is not None and data["features"]:
        options["territoryKey"] = fmap.territory_legend.add(legend, show=show)
    group = _group_class()(name=esc(name), show=show, overlay=overlay, **options)
    tooltip = (
        folium.GeoJsonTooltip(fields=list(fields), aliases=list(aliases), sticky=True)
        if fields
        else None
    )
    folium.GeoJson(
        data,
        name=esc(name),
        style_function=style,
        tooltip=tooltip,
        popup=_move_popup() if move_popup else None,
        highlight_function=None,
        smooth_factor=1.0,
        marker=marker,
    ).add_to(group)
    group.add_to(fmap)
    return group


#: How far around the country (degrees) other countries' land is drawn.
OTHER_LAND_MARGIN_DEG = 8.0


def add_base(
    fmap: Any,
    control: Control,
    *,
    tiles: bool,
    occupied: bool = True,
    land_label: str = "Ukrainian-held land",
    land: BaseGeometry | None = None,
) -> None:
    """Offline base: land and oblast boundaries with names; optional OSM tiles.

    With `occupied`, each oblast's tooltip gives its Russian-held land on the
    control's date (not on a page that shows several dates).  With `land`
    (the land mask, lon/lat), other countries' land is drawn apart from the
    sea, so that a view focused near a border does not show Russia as water.
    """
    folium = folium_module()
    if tiles:
        folium.TileLayer(
            "OpenStreetMap",
            name="OpenStreetMap tiles (online)",
            overlay=False,
            show=True,
        ).add_to(fmap)
    if land is not None:
        west, south, east, north = control._partition.country["land"].bounds
        m = OTHER_LAND_MARGIN_DEG
        around = shapely.clip_by_rect(land, west - m, south - m, east + m, north + m)
        geojson_layer(
            fmap,
            "Other countries (offline base)",
            _collection([_feature(display_geometry(around, 0.01), {})]),
            _style(COLOURS["other_land"], fill=1.0, weight=0),
            legend=Swatch(COLOURS["other_land"], "Other countries", opacity=1.0),
        )
    home = control._partition.country["land"]
    geojson_layer(
        fmap,
        "Land (offline base)",
        _collection([_feature(display_geometry(home, 0.005), {})]),
        _style(COLOURS["land"], fill=1.0, weight=0),
        legend=Swatch(COLOURS["land"], land_label, opacity=1.0),
        show=True,
    )
    frame = control.to_frame()
    regions = control.regions
    features = []
    for rid, name, geom in zip(
        regions.index, regions["name"], regions.geometry, strict=True
    ):
        props = {
            "name": name,
            "region_id": rid,
            "land_km2": f"{frame['land_km2'][rid]:,.0f}",
        }
        if occupied:
            props["occupied_km2"] = f"{frame['occupied_km2'][rid]:,.0f}"
        features.append(_feature(display_geometry(geom, 0.005), props))
    fields = ["name", "region_id", "land_km2", "occupied_km2"]
    aliases = ["Region", "Code", "Land km²", "Russian-held km²"]
    n = 4 if occupied else 3
    geojson_layer(
        fmap,
        "Oblast boundaries",
        _collection(features),
        _style(COLOURS["border"], fill=0.0, weight=0.8),
        legend=Swatch(COLOURS["border"], "Oblast boundaries", kind="thin"),
        fields=fields[:n],
        aliases=aliases[:n],
    )
    labels = folium.FeatureGroup(name="Oblast names", show=True)
    for name, geom in zip(regions["name"], regions.geometry, strict=True):
        if name in ("Kyiv city", "Sevastopol"):
            continue
        pt = geom.representative_point()
        folium.Marker(
            to_latlon((pt.x, pt.y)),
            icon=folium.DivIcon(
                html=f'<div class="territory-label">{esc(name)}</div>',
                icon_size=(1, 1),
                icon_anchor=(30, 6),
            ),
        ).add_to(labels)
    labels.add_to(fmap)


def _holder_label(holder: str, label: str) -> str:
    """Name a holder's layer: "Russian-held before", or "Russian-held" alone (no stray space)."""
    return " ".join(part for part in (HOLDER_LABEL[holder], label) if part)


def _control_layers(
    control: Control, *, label: str = "before"
) -> list[tuple[str, dict[str, Any], str]]:
    """Russian-held land and the grey zone on the control's date: (name, GeoJSON, holder)."""
    from territory.geodesy import area_km2

    out = []
    for holder in (RU, GREY):
        geom = control.holding(holder)
        if geom.is_empty:
            continue
        area = area_km2(geom)
        name = f"{_holder_label(holder, label)}, {control.as_of} ({area:,.0f} km²)"
        data = _collection(
            [
                _feature(
                    display_geometry(geom),
                    {
                        "holder": HOLDER_LABEL[holder],
                        "area_km2": f"{area:,.0f}",
                        "as_of": str(control.as_of),
                    },
                )
            ]
        )
        out.append((name, data, holder))
    return out


_CONTROL_FIELDS = (["holder", "area_km2", "as_of"], ["Holder", "Area km²", "As of"])


def add_control(fmap: Any, control: Control, *, label: str = "before") -> None:
    """Add each holder's land on `control` to `fmap` as a layer named with `label`."""
    for name, data, holder in _control_layers(control, label=label):
        geojson_layer(
            fmap,
            name,
            data,
            _style(COLOURS[holder], fill=0.35, weight=0.6),
            legend=Swatch(COLOURS[holder], _holder_label(holder, label), opacity=0.35),
            fields=_CONTROL_FIELDS[0],
            aliases=_CONTROL_FIELDS[1],
        )


#: Display tolerance (degrees, ~40 m) of the removed pieces: slivers are
#: under 2 km wide, so the map's usual ~150 m would bend them out of shape.
REMOVED_TOLERANCE_DEG = 0.0005


def add_removed(fmap: Any, control: Control) -> None:
    """Add the land removed from the partition (off by default), its total in the name."""
    from territory.control import REMOVED_REASONS
    from territory.geodesy import area_km2

    removed = control._partition.removed
    removed = removed[removed["reason"].isin(REMOVED_REASONS)]
    names = control.regions["name"].to_dict()
    features, total_km2 = [], 0.0
    for rid, reason, geom in zip(
        removed["region_id"], removed["reason"], removed.geometry, strict=True
    ):
        km2 = area_km2(geom)
        total_km2 += km2
        props = {
            "reason": reason,
            "region": names.get(rid, rid),
            "area_km2": f"{km2:,.1f}",
        }
        features.append(_feature(display_geometry(geom, REMOVED_TOLERANCE_DEG), props))
    geojson_layer(
        fmap,
        f"Removed from the land ({total_km2:,.0f} km²)",
        _collection(features),
        _style(COLOURS["removed"], fill=0.6, weight=0.8),
        legend=Swatch(COLOURS["removed"], "Removed from the land (slivers, water)"),
        show=False,
        fields=["reason", "region", "area_km2"] if features else [],
        aliases=["Removed as", "Region", "Area km²"] if features else [],
    )


def line_layer(
    fmap: Any,
    name: str,
    line: BaseGeometry,
    colour: str,
    *,
    dash: str | None,
    legend: str,
    show: bool = True,
    weight: float = 2.5,
) -> None:
    """Add a line's layer, its length in the name; `legend` is its row's label."""
    from territory.geodesy import length_km

    km = length_km(line)
    data = _collection(
        []
        if line.is_empty
        else [
            _feature(
                display_geometry(line, 0.001), {"line": name, "length_km": f"{km:,.0f}"}
            )
        ]
    )
    geojson_layer(
        fmap,
        f"{name} ({km:,.0f} km)",
        data,
        _style(colour, fill=0.0, weight=weight, dash=dash),
        legend=Swatch(colour, legend, kind="dash" if dash else "line"),
        fields=[] if line.is_empty else ["line", "length_km"],
        aliases=[] if line.is_empty else ["", "Length km"],
        show=show,
    )


def _direction_label(key: str) -> str:
    return {
        "UA>RU": "Ukraine → Russia",
        "RU>UA": "Russia → Ukraine",
        ">DMZ": "→ demilitarised",
    }.get(key, key)


#: The order of the directions in the layers and the legend.
_DIRECTIONS = ("UA>RU", "RU>UA", ">DMZ")


def move_features(ev: Evaluation, *, kind: str) -> dict[str, list[dict[str, Any]]]:
    """Return the GeoJSON features of an evaluation's moves, by direction (UA→RU, RU→UA, →DMZ)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for m in ev.moves:
        if m.kind != kind:
            continue
        props: dict[str, Any] = {
            "name": m.name,
            "direction": f"{m.source} → {m.target}",
            "area_km2": round(m.area_km2, 1),
            "regions": ", ".join(r["name"] for r in m.regions if r["area_km2"] >= 0.5)
            or "–",
            "rule": m.rule,
            "population": f"{(m.people or {}).get('population', 0):,}"
            if m.people
            else "–",
            "largest": ", ".join(
                f"{p['name']} ({p['population']:,})"
                for p in (m.people or {}).get("largest", [])
            )
            or "–",
            "claim": m.claim or "–",
            "note": m.note or "–",
        }
        if m.sovereignty:
            props["direction"] += f" (sovereignty: {m.sovereignty})"
        out.setdefault(direction(m.source, m.target), []).append(
            _feature(display_geometry(m.geometry), props)
        )
    rank = {k: i for i, k in enumerate(_DIRECTIONS)}
    return dict(sorted(out.items(), key=lambda kv: rank.get(kv[0], len(rank))))


_MOVE_FIELDS = [
    "name",
    "direction",
    "area_km2",
    "regions",
    "rule",
    "population",
    "largest",
]
_MOVE_ALIASES = [
    "Transfer",
    "Direction",
    "Area km²",
    "Regions",
    "Rule",
    "People (named places)",
    "Largest places",
]


def _move_popup() -> Any:
    """Return the click popup of a move: its name, the source's claim and the note."""
    return folium_module().GeoJsonPopup(
        ["name", "claim", "note"],
        aliases=["Transfer", "Claim", "Note"],
        localize=False,
        max_width=380,
    )


def add_moves(fmap: Any, ev: Evaluation) -> None:
    """Each direction's transfers, then the demilitarised zones, each a layer with its km²."""
    for key, feats in move_features(ev, kind="transfer").items():
        total = sum(f["properties"]["area_km2"] for f in feats)
        geojson_layer(
            fmap,
            f"Transfers {_direction_label(key)} ({total:,.0f} km²)",
            _collection(feats),
            _style(COLOURS[key], fill=0.6, weight=1.5),
            legend=_move_swatch(key, feats),
            fields=_MOVE_FIELDS,
            aliases=_MOVE_ALIASES,
            move_popup=True,
        )
    zones = [f for feats in move_features(ev, kind="zone").values() for f in feats]
    if zones:
        total = sum(f["properties"]["area_km2"] for f in zones)
        geojson_layer(
            fmap,
            f"Demilitarised zones ({total:,.0f} km²)",
            _collection(zones),
            _style(COLOURS["zone"], fill=0.45, weight=1.0, dash="4 3"),
            legend=_move_swatch("zone", zones),
            fields=_MOVE_FIELDS,
            aliases=_MOVE_ALIASES,
            move_popup=True,
        )


def _move_swatch(key: str, feats: list[dict[str, Any]]) -> Swatch:
    """Return the legend row of a direction's transfers (or zones), with their km².

    The km² tell a reader why a layer the legend lists may be hard to see.
    """
    km2 = sum(f["properties"]["area_km2"] for f in feats)
    if key == "zone":
        label = f"Demilitarised zones ({km2:,.0f} km²)"
        return Swatch(COLOURS["zone"], label, kind="zone", opacity=0.45)
    return Swatch(COLOURS[key], f"Transfers {_direction_label(key)} ({km2:,.0f} km²)")


def place_radius_px(population: int) -> float:
    """Return a settlement's circle radius (px): its area grows with the population.

    >>> place_radius_px(10_000), place_radius_px(40_000)
    (3.0, 6.0)
    """
    return PLACE_RADIUS_PX * math.sqrt(population / PLACE_MIN_POPULATION)


def _places_where(ev: Evaluation) -> str:
    kinds = {m.kind for m in ev.moves}
    return {"transfer": "transfers", "zone": "zones"}.get(
        "".join(kinds), "transfers and zones"
    )


def add_places(fmap: Any, ev: Evaluation) -> None:
    """Settlements of `PLACE_MIN_POPULATION`+ in the transfers and zones.

    Hollow circles (a light fill, so the land beneath shows) whose area grows
    with the population; the layer's name gives how many are drawn of all the
    named places inside.
    """
    from territory.people import places_in

    folium = folium_module()
    seen: dict[Any, tuple[Mapping[str, Any], str]] = {}
    for m in ev.moves:
        for p in places_in(m.geometry):
            seen.setdefault(p.get("geonameid", (p["lon"], p["lat"])), (p, m.name))
    if not seen:
        return
    shown = sorted(
        (pm for pm in seen.values() if pm[0]["population"] >= PLACE_MIN_POPULATION),
        key=lambda pm: -pm[0]["population"],
    )
    name = (
        f"Settlements of {PLACE_MIN_POPULATION:,}+ in {_places_where(ev)} "
        f"({len(shown):,} of {len(seen):,})"
    )
    if not shown:  # the count alone, in the layer control
        folium.FeatureGroup(name=esc(name), show=True).add_to(fmap)
        return
    feats = [
        {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [round(p["lon"], 5), round(p["lat"], 5)],
            },
            "properties": {
                "place": esc(p["name"]),
                "population": f"{p['population']:,}",
                "transfer": esc(move),
                "radius_px": round(place_radius_px(p["population"]), 1),
            },
        }
        for p, move in shown
    ]
    style = {
        "color": COLOURS["place"],
        "weight": 1.4,
        "opacity": 0.95,
        "fill": True,
        "fillColor": "#ffffff",
        "fillOpacity": 0.2,
        "className": "territory-place",
    }
    geojson_layer(
        fmap,
        name,
        _collection(feats),
        lambda f: {**style, "radius": f["properties"]["radius_px"]},
        legend=Swatch(
            COLOURS["place"],
            f"Settlements of {PLACE_MIN_POPULATION:,}+ people, sized by population",
            kind="circle",
        ),
        fields=["place", "population", "transfer"],
        aliases=["Place", "Population (GeoNames)", "In"],
        marker=folium.CircleMarker(radius=PLACE_RADIUS_PX),
    )


def add_lines(fmap: Any, ev: Evaluation) -> None:
    """Add the contact line before, the direct contact after, each zone's two edges."""
    land = ev.control._partition.country["land"]
    line_layer(
        fmap,
        "Contact line before",
        contact_line(ev.control.holding(RU), land),
        COLOURS["front_before"],
        dash=None,
        legend="Contact line before",
    )
    line_layer(
        fmap,
        "Contact line after: direct contact",
        ev.line_after.direct,
        COLOURS["front_after"],
        dash="6 4",
        legend="Contact line after: direct contact",
    )
    for z in ev.line_after.zones:
        line_layer(
            fmap,
            f"{z.name}: Ukrainian edge after",
            z.ua_edge,
            COLOURS["edge_ua"],
            dash=None,
            legend="Zone edge after, Ukrainian side",
            weight=3.0,
        )
        line_layer(
            fmap,
            f"{z.name}: Russian edge after",
            z.ru_edge,
            COLOURS["edge_ru"],
            dash="2 5",
            legend="Zone edge after, Russian side",
            weight=3.0,
        )


def add_scenario_group(
    fmap: Any, ev: Evaluation, name: str, *, show: bool, own_date: bool
) -> None:
    """One scenario of a comparison: a base (radio) layer of its moves, and its control if `own_date`."""
    folium = folium_module()
    legend = fmap.territory_legend
    key = legend.key()
    group = _group_class()(name=esc(name), overlay=False, show=show, territoryKey=key)
    if own_date:
        for layer_name, data, holder in _control_layers(ev.control):
            swatch = Swatch(COLOURS[holder], layer_name, opacity=0.35)
            legend.add(swatch, show=show, key=key)
            folium.GeoJson(
                data,
                style_function=_style(COLOURS[holder], fill=0.35, weight=0.6),
                tooltip=folium.GeoJsonTooltip(
                    _CONTROL_FIELDS[0], aliases=_CONTROL_FIELDS[1], sticky=True
                ),
            ).add_to(group)
    layers = [
        (
            _move_swatch(k, feats),
            _style(COLOURS[k], fill=0.6, weight=1.5),
            feats,
        )
        for k, feats in move_features(ev, kind="transfer").items()
    ]
    zones = [f for feats in move_features(ev, kind="zone").values() for f in feats]
    if zones:
        layers.append(
            (
                _move_swatch("zone", zones),
                _style(COLOURS["zone"], fill=0.45, dash="4 3"),
                zones,
            )
        )
    for swatch, style, feats in layers:
        legend.add(swatch, show=show, key=key)
        folium.GeoJson(
            _collection(feats),
            style_function=style,
            tooltip=folium.GeoJsonTooltip(
                _MOVE_FIELDS, aliases=_MOVE_ALIASES, sticky=True
            ),
            popup=_move_popup(),
        ).add_to(group)
    group.add_to(fmap)
