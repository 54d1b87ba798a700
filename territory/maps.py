"""Interactive HTML maps (folium/Leaflet): control on a date, a scenario, a comparison.

This is the only module that imports folium.  Maps are built from the
accounting results; geometry is simplified for display only (accounting always
uses full resolution).

Text is data, never markup or a template: every text that reaches the page (from
a scenario file, a data file or the live API) goes through `esc`, which
HTML-escapes it and writes its braces as character references, so it can
neither inject script nor form a Jinja2 delimiter when folium/branca compile
rendered elements (they do: ``MacroElement.render`` wraps each rendered macro in
``Element(...)``, which compiles it).  The page's own boxes (title, legend,
headline, attribution, comparison table, ``<title>``/style) are `_html`
elements, whose template is a constant and whose HTML body is a variable, so
they are never compiled at all.

With ``self_contained=True`` (`to_html`, `save_map`) the page inlines Leaflet
and needs no network; tiles are optional and off by default, and an offline
base layer drawn from our own land and boundaries keeps the map readable.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry.base import BaseGeometry

from territory.charts import OKABE_ITO
from territory.control import GREY, RU, UA, contact_line
from territory.tables import (
    TABLE_CSS,
    html_table,
    map_version_text,
    ratio_text,
    summary_html,
)

if TYPE_CHECKING:
    import folium

    from territory.accounting import Evaluation
    from territory.control import Control
    from territory.io import OutputTarget

#: Layer colours from the Okabe–Ito palette (`territory.charts.OKABE_ITO`),
#: told apart with the common colour-vision deficiencies and shared with the
#: static figures; the base (land, sea, boundaries) neutral.
COLOURS = {
    RU: OKABE_ITO["vermillion"],
    GREY: "#8d8d8d",
    UA: OKABE_ITO["blue"],
    "UA>RU": OKABE_ITO["reddish_purple"],
    "RU>UA": OKABE_ITO["bluish_green"],
    ">DMZ": OKABE_ITO["yellow"],
    "zone": OKABE_ITO["yellow"],
    "front_before": OKABE_ITO["black"],
    "front_after": OKABE_ITO["orange"],
    "edge_ua": OKABE_ITO["blue"],
    "edge_ru": OKABE_ITO["vermillion"],
    "land": "#f4f1ea",
    "sea": "#dbe8f3",
    "border": "#495057",
    "place": "#343a40",
    "removed": OKABE_ITO["sky_blue"],
}

#: Display simplification tolerance (degrees, ~100-200 m), and coordinate grid
#: (1e-5 degree, ~1 m).  Accounting never sees either.
DISPLAY_TOLERANCE_DEG = 0.002
DISPLAY_GRID_DEG = 1e-5

#: Places drawn per map (the most populous inside the transfers).
MAX_PLACES = 400

ATTRIBUTION = (
    "Control: DeepStateMap (deepstatemap.live) · Boundaries: geoBoundaries (Runfola et al. 2020), "
    "© OpenStreetMap contributors (ODbL) · Land: Made with Natural Earth · Places: GeoNames (CC BY 4.0)"
)

HOLDER_LABEL = {RU: "Russian-held", GREY: "Grey zone", UA: "Ukrainian-held"}
_VENDOR = Path(__file__).resolve().parent / "_vendor" / "leaflet"


def _folium() -> Any:
    try:
        import folium
    except ImportError as err:  # pragma: no cover - folium is a dependency
        msg = "maps need folium; install it with 'pip install folium'"
        raise ImportError(msg) from err
    return folium


def esc(value: Any) -> str:
    """Return `value` as HTML text: escaped (quotes too), braces as ``&#123;``/``&#125;``.

    The one way text reaches a page.  The browser shows the braces, but the
    page source never holds a ``{{``, ``{%`` or ``{#`` that came from data, so
    branca's compiling of rendered elements cannot evaluate it.

    Examples
    --------
    >>> esc("Swap {{ 5*5 }} <b>")
    'Swap &#123;&#123; 5*5 &#125;&#125; &lt;b&gt;'
    """
    return (
        html.escape(str(value), quote=True)
        .replace("{", "&#123;")
        .replace("}", "&#125;")
    )


@lru_cache(maxsize=1)
def _html_class() -> type:
    from branca.element import Element
    from jinja2 import Template

    class Html(Element):
        """Page HTML given as data: the template is a constant, the body a variable."""

        _template = Template("{{ this.body }}")

        def __init__(self, body: str) -> None:
            super().__init__()
            self._name = "Html"
            self.body = body

    return Html


def _html(body: str) -> Any:
    """Return a page element showing `body` (HTML built with `esc`), never compiled."""
    return _html_class()(body)


def display_geometry(
    geom: BaseGeometry, tolerance_deg: float = DISPLAY_TOLERANCE_DEG
) -> BaseGeometry:
    """Simplify `geom` for display and snap it to a 1e-5° grid (~1 m)."""
    if geom.is_empty:
        return geom
    simple = shapely.simplify(geom, tolerance_deg, preserve_topology=True)
    return shapely.set_precision(simple, DISPLAY_GRID_DEG)


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


def _geojson_layer(
    fmap: Any,
    name: str,
    data: dict[str, Any],
    style: Any,
    *,
    show: bool = True,
    fields: Sequence[str] = (),
    aliases: Sequence[str] = (),
    move_popup: bool = False,
    overlay: bool = True,
) -> Any:
    folium = _folium()
    group = folium.FeatureGroup(name=esc(name), show=show, overlay=overlay)
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
    ).add_to(group)
    group.add_to(fmap)
    return group


@lru_cache(maxsize=1)
def _offline_map_class() -> type:
    folium = _folium()

    class OfflineMap(folium.Map):
        """A folium Map that shows itself in notebooks from a self-contained page (no CDN)."""

        def _repr_html_(self, **kwargs: Any) -> str:
            page = html.escape(to_html(self, self_contained=True), quote=True)
            return (
                f'<iframe srcdoc="{page}" style="width:100%;height:560px;border:none" '
                'sandbox="allow-scripts"></iframe>'
            )

    return OfflineMap


def _new_map(title: str) -> Any:
    fmap = _offline_map_class()(
        location=(48.6, 31.4),
        zoom_start=6,
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
        zoom_control=True,
    )
    fmap.get_root().header.add_child(
        _html(
            f"<title>{esc(title)}</title><style>.leaflet-container{{background:{COLOURS['sea']};}}"
            ".leaflet-control-layers{font:12px/1.5 sans-serif}"
            ".territory-label{font:600 11px/1.1 sans-serif;color:#343a40;text-shadow:0 0 3px #fff,0 0 3px #fff;"
            "white-space:nowrap;pointer-events:none}"
            ".territory-compare td:first-child{min-width:190px}"
            f"{TABLE_CSS}</style>"
        )
    )
    fmap.fit_bounds([[44.3, 22.1], [52.4, 40.3]])
    return fmap


def _add_base(
    fmap: Any, control: Control, *, tiles: bool, occupied: bool = True
) -> None:
    """Offline base: land and oblast boundaries with names; optional OSM tiles.

    With `occupied`, each oblast's tooltip gives its Russian-held land on the
    control's date (not on a page that shows several dates).
    """
    folium = _folium()
    if tiles:
        folium.TileLayer(
            "OpenStreetMap",
            name="OpenStreetMap tiles (online)",
            overlay=False,
            show=True,
        ).add_to(fmap)
    land = control.partition.country["land"]
    _geojson_layer(
        fmap,
        "Land (offline base)",
        _collection([_feature(display_geometry(land, 0.005), {})]),
        _style(COLOURS["land"], fill=1.0, weight=0),
        show=True,
    )
    frame = control.to_frame().set_index("region_id")
    features = []
    for rid, name, geom in zip(
        control.regions["region_id"],
        control.regions["name"],
        control.regions.geometry,
        strict=True,
    ):
        props = {
            "name": name,
            "region_id": rid,
            "land_km2": f"{frame.at[rid, 'land_km2']:,.0f}",
        }
        if occupied:
            props["occupied_km2"] = f"{frame.at[rid, 'occupied_km2']:,.0f}"
        features.append(_feature(display_geometry(geom, 0.005), props))
    fields = ["name", "region_id", "land_km2", "occupied_km2"]
    aliases = ["Region", "Code", "Land km²", "Russian-held km²"]
    n = 4 if occupied else 3
    _geojson_layer(
        fmap,
        "Oblast boundaries",
        _collection(features),
        _style(COLOURS["border"], fill=0.0, weight=0.8),
        fields=fields[:n],
        aliases=aliases[:n],
    )
    labels = folium.FeatureGroup(name="Oblast names", show=True)
    for name, geom in zip(
        control.regions["name"], control.regions.geometry, strict=True
    ):
        if name in ("Kyiv city", "Sevastopol"):
            continue
        pt = geom.representative_point()
        folium.Marker(
            (pt.y, pt.x),
            icon=folium.DivIcon(
                html=f'<div class="territory-label">{esc(name)}</div>',
                icon_size=(1, 1),
                icon_anchor=(30, 6),
            ),
        ).add_to(labels)
    labels.add_to(fmap)


def _control_layers(
    control: Control, *, label: str = "before"
) -> list[tuple[str, dict[str, Any], str]]:
    """Russian-held land and the grey zone on the control's date: (name, GeoJSON, colour)."""
    from territory.geodesy import area_km2

    out = []
    for holder in (RU, GREY):
        geom = control.holding(holder)
        if geom.is_empty:
            continue
        area = area_km2(geom)
        name = f"{HOLDER_LABEL[holder]} {label}, {control.as_of} ({area:,.0f} km²)"
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
        out.append((name, data, COLOURS[holder]))
    return out


_CONTROL_FIELDS = (["holder", "area_km2", "as_of"], ["Held by", "Area km²", "As of"])


def _add_control(fmap: Any, control: Control, *, label: str = "before") -> None:
    for name, data, colour in _control_layers(control, label=label):
        _geojson_layer(
            fmap,
            name,
            data,
            _style(colour, fill=0.35, weight=0.6),
            fields=_CONTROL_FIELDS[0],
            aliases=_CONTROL_FIELDS[1],
        )


#: Display tolerance (degrees, ~40 m) of the removed pieces: slivers are
#: under 2 km wide, so the map's usual ~150 m would bend them out of shape.
REMOVED_TOLERANCE_DEG = 0.0005


def _add_removed(fmap: Any, control: Control) -> None:
    """Add the land removed from the partition (off by default), its total in the name."""
    from territory.control import REMOVED_REASONS
    from territory.geodesy import area_km2

    removed = control.partition.removed
    removed = removed[removed["reason"].isin(REMOVED_REASONS)]
    names = dict(
        zip(control.regions["region_id"], control.regions["name"], strict=True)
    )
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
    _geojson_layer(
        fmap,
        f"Removed from the land ({total_km2:,.0f} km²)",
        _collection(features),
        _style(COLOURS["removed"], fill=0.6, weight=0.8),
        show=False,
        fields=["reason", "region", "area_km2"] if features else [],
        aliases=["Removed as", "Region", "Area km²"] if features else [],
    )


def _line_layer(
    fmap: Any,
    name: str,
    line: BaseGeometry,
    colour: str,
    *,
    dash: str | None,
    show: bool = True,
    weight: float = 2.5,
) -> None:
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
    _geojson_layer(
        fmap,
        f"{name} ({km:,.0f} km)",
        data,
        _style(colour, fill=0.0, weight=weight, dash=dash),
        fields=[] if line.is_empty else ["line", "length_km"],
        aliases=[] if line.is_empty else ["", "Length km"],
        show=show,
    )


def _direction(source: str, target: str) -> str:
    return ">DMZ" if target == "DMZ" else f"{source}>{target}"


def _direction_label(key: str) -> str:
    return {
        "UA>RU": "Ukraine → Russia",
        "RU>UA": "Russia → Ukraine",
        ">DMZ": "→ demilitarised",
    }.get(key, key)


def move_features(ev: Evaluation, *, kind: str) -> dict[str, list[dict[str, Any]]]:
    """Return the GeoJSON features of an evaluation's moves, by direction."""
    out: dict[str, list[dict[str, Any]]] = {}
    for m in ev.moves:
        if m.kind != kind:
            continue
        props = {
            "name": m.name,
            "direction": f"{m.source} → {m.target}",
            "area_km2": round(m.area_km2, 1),
            "regions": ", ".join(r["name"] for r in m.regions if r["area_km2"] >= 0.5)
            or "–",
            "rule": m.rule,
            "population": f"{(m.people or {}).get('population', 0):,}"
            if m.people
            else "–",
            "claim": m.claim or "–",
            "note": m.note or "–",
        }
        if m.sovereignty:
            props["direction"] += f" (sovereignty: {m.sovereignty})"
        out.setdefault(_direction(m.source, m.target), []).append(
            _feature(display_geometry(m.geometry), props)
        )
    return out


_MOVE_FIELDS = ["name", "direction", "area_km2", "regions", "rule", "population"]
_MOVE_ALIASES = [
    "Transfer",
    "Direction",
    "Area km²",
    "Regions",
    "Rule",
    "People (named places)",
]


def _move_popup() -> Any:
    """The click popup of a move: its name, the source's claim and the note."""
    return _folium().GeoJsonPopup(
        ["name", "claim", "note"],
        aliases=["Transfer", "Claim", "Note"],
        localize=False,
        max_width=380,
    )


def _add_moves(
    fmap: Any,
    ev: Evaluation,
    *,
    prefix: str = "",
    show: bool = True,
    overlay: bool = True,
) -> None:
    for key, feats in move_features(ev, kind="transfer").items():
        total = sum(f["properties"]["area_km2"] for f in feats)
        _geojson_layer(
            fmap,
            f"{prefix}Transfers {_direction_label(key)} ({total:,.0f} km²)",
            _collection(feats),
            _style(COLOURS[key], fill=0.6, weight=1.5),
            fields=_MOVE_FIELDS,
            aliases=_MOVE_ALIASES,
            move_popup=True,
            show=show,
            overlay=overlay,
        )
    zones = [f for feats in move_features(ev, kind="zone").values() for f in feats]
    if zones:
        total = sum(f["properties"]["area_km2"] for f in zones)
        _geojson_layer(
            fmap,
            f"{prefix}Demilitarised zones ({total:,.0f} km²)",
            _collection(zones),
            _style(COLOURS["zone"], fill=0.45, weight=1.0, dash="4 3"),
            fields=_MOVE_FIELDS,
            aliases=_MOVE_ALIASES,
            move_popup=True,
            show=show,
            overlay=overlay,
        )


def _add_places(fmap: Any, ev: Evaluation) -> None:
    from territory.people import places_in

    folium = _folium()
    feats = []
    for m in ev.moves:
        for p in places_in(m.geometry):
            feats.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "Point",
                        "coordinates": [round(p["lon"], 5), round(p["lat"], 5)],
                    },
                    "properties": {
                        "place": esc(p["name"]),
                        "population": f"{p['population']:,}",
                        "transfer": esc(m.name),
                    },
                }
            )
    if not feats:
        return
    feats.sort(key=lambda f: -int(f["properties"]["population"].replace(",", "")))
    shown = feats[:MAX_PLACES]
    group = folium.FeatureGroup(
        name=f"Settlements in transfers ({len(feats):,}, largest {len(shown)} shown)",
        show=True,
    )
    folium.GeoJson(
        _collection(shown),
        marker=folium.CircleMarker(
            radius=2.5,
            color=COLOURS["place"],
            weight=0.8,
            fill=True,
            fill_color="#ffffff",
            fill_opacity=0.9,
        ),
        tooltip=folium.GeoJsonTooltip(
            ["place", "population", "transfer"],
            aliases=["Place", "Population (GeoNames)", "In"],
        ),
    ).add_to(group)
    group.add_to(fmap)


def _box(element_id: str, position: str, body: str, *, width_px: int = 340) -> str:
    return (
        f'<div id="{element_id}" class="territory-box" style="position:absolute;{position};z-index:1000;'
        "background:rgba(255,255,255,.95);padding:8px 10px;border:1px solid #adb5bd;border-radius:4px;"
        f'font:12px/1.45 sans-serif;max-width:{width_px}px;box-shadow:0 1px 4px rgba(0,0,0,.2)">{body}</div>'
    )


def _swatch(colour: str, label: str, *, line: bool = False, dash: bool = False) -> str:
    if line:
        style = f"border-top:3px {'dashed' if dash else 'solid'} {colour};height:0;margin-top:7px"
    else:
        style = f"background:{colour};opacity:.75;height:14px"
    return (
        f'<div class="territory-legend-row"><span style="display:inline-block;width:18px;{style};'
        f'margin-right:6px;vertical-align:top"></span>{esc(label)}</div>'
    )


def _legend(controls: Control | Sequence[Control], rows: list[str]) -> str:
    """The legend: swatches, units, and the date and snapshot of every control map shown."""
    from territory.control import Control

    if isinstance(controls, Control):
        controls = [controls]
    by_date = {c.as_of: c for c in controls}
    if len(by_date) == 1:
        (control,) = by_date.values()
        note = f"<br><b>Note:</b> {esc(control.note)}." if control.note else ""
        when = (
            f"Control as of {esc(control.as_of)} (evening), snapshot "
            f"{esc(control.snapshot.label)}. {esc(map_version_text(control.snapshot))}.{note}"
        )
    else:
        when = "Each scenario on the control map of its own date (evening):" + "".join(
            f"<br>{esc(d)}: snapshot {esc(c.snapshot.label)}, "
            f"{esc(map_version_text(c.snapshot))}"
            + (f" (<b>Note:</b> {esc(c.note)})" if c.note else "")
            for d, c in sorted(by_date.items())
        )
    body = (
        f"<b>Legend</b>{''.join(rows)}<div style='margin-top:4px;color:#495057'>Areas in km² (WGS84 "
        f"ellipsoidal, land only). Lengths in km.<br>{when}</div>"
    )
    return _box("territory-legend", "bottom:58px;left:10px", body)


def _attribution() -> str:
    return (
        f'<div id="territory-attribution" style="position:absolute;bottom:0;right:0;z-index:1001;'
        f'background:rgba(255,255,255,.85);font:10px sans-serif;padding:2px 6px">{esc(ATTRIBUTION)}</div>'
    )


def _title(text: str, sub: str, *, about: str = "", citation: str = "") -> str:
    more = ""
    if about.strip() or citation.strip():
        cite = f"<br><i>Citation:</i> {esc(citation)}" if citation.strip() else ""
        more = (
            '<details style="font-size:12px;margin-top:3px"><summary>About this scenario</summary>'
            f"{esc(about.strip())}{cite}</details>"
        )
    return (
        f'<div id="territory-title" style="position:absolute;top:10px;left:56px;z-index:1000;'
        f"background:rgba(255,255,255,.95);padding:6px 10px;border:1px solid #adb5bd;border-radius:4px;"
        f'font:14px/1.3 sans-serif;max-width:520px"><b>{esc(text)}</b><br><span style="font-size:12px;'
        f'color:#495057">{esc(sub)}</span>{more}</div>'
    )


def _headline(ev: Evaluation) -> str:
    """The headline: flows, both ratios with their definitions, and the contact line.

    Laid out as tables with ruled-off headers (`territory.tables.summary_html`);
    "receives nothing in return" only when Ukraine cedes land to Russia and
    Russia cedes none.
    """
    body = (
        "<details open><summary><b>Headline</b> (click to fold)</summary>"
        f"{summary_html(ev)}</details>"
    )
    return _box("territory-headline", "top:112px;left:10px", body, width_px=400)


def render_control(control: Control, *, tiles: bool = False) -> folium.Map:
    """Build the control map on a date: oblasts, Russian-held land, grey zone, contact line.

    The land the partition removed (slivers and water) is a layer hidden by
    default, its total in its name.
    """
    folium = _folium()
    fmap = _new_map(f"Control as of {control.as_of}")
    _add_base(fmap, control, tiles=tiles)
    _add_control(fmap, control, label="")
    _add_removed(fmap, control)
    front = contact_line(control.holding(RU), control.partition.country["land"])
    _line_layer(fmap, "Contact line", front, COLOURS["front_before"], dash=None)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    rows = [_swatch(COLOURS[RU], "Russian-held")]
    if control.has_grey_zone:
        rows.append(_swatch(COLOURS[GREY], "Grey zone"))
    rows += [
        _swatch(COLOURS["land"], "Ukrainian-held (land)"),
        _swatch(COLOURS["front_before"], "Contact line", line=True),
    ]
    t = control.totals(official_area_km2=1.0)
    root = fmap.get_root().html
    root.add_child(
        _html(
            _title(
                f"Who holds what, as of {control.as_of}",
                f"Russian-held {t['occupied_km2']:,.0f} km² of {t['land_km2']:,.0f} km² of land "
                f"({t['occupied_pct']:.2f}%)",
            )
        )
    )
    root.add_child(_html(_legend(control, rows)))
    root.add_child(_html(_attribution()))
    return fmap


def _move_legend_rows(evs: Sequence[Evaluation]) -> list[str]:
    keys = {
        _direction(m.source, m.target)
        for ev in evs
        for m in ev.moves
        if m.kind == "transfer"
    }
    many = len({ev.control.as_of for ev in evs}) > 1
    when = " (each scenario's own date)" if many else ""
    rows = [_swatch(COLOURS[RU], f"Russian-held before{when}")]
    if any(ev.control.has_grey_zone for ev in evs):
        rows.append(_swatch(COLOURS[GREY], f"Grey zone before{when}"))
    rows += [
        _swatch(COLOURS[k], f"Transfer {_direction_label(k)}")
        for k in ("UA>RU", "RU>UA", ">DMZ")
        if k in keys
    ]
    if any(m.kind == "zone" for ev in evs for m in ev.moves):
        rows.append(_swatch(COLOURS["zone"], "Demilitarised zone"))
    if len(evs) == 1:
        rows += [
            _swatch(COLOURS["front_before"], "Contact line before", line=True),
            _swatch(
                COLOURS["front_after"],
                "Contact line after: direct contact",
                line=True,
                dash=True,
            ),
        ]
        if evs[0].line_after.zones:
            rows += [
                _swatch(
                    COLOURS["edge_ua"], "Zone edge after, Ukrainian side", line=True
                ),
                _swatch(
                    COLOURS["edge_ru"],
                    "Zone edge after, Russian side",
                    line=True,
                    dash=True,
                ),
            ]
        rows.append(_swatch(COLOURS["place"], "Settlement in a transfer"))
    return rows


def _add_lines(fmap: Any, ev: Evaluation) -> None:
    """The contact line before, the direct contact after and each zone's two edges."""
    land = ev.control.partition.country["land"]
    _line_layer(
        fmap,
        "Contact line before",
        contact_line(ev.control.holding(RU), land),
        COLOURS["front_before"],
        dash=None,
    )
    _line_layer(
        fmap,
        "Contact line after: direct contact",
        ev.line_after.direct,
        COLOURS["front_after"],
        dash="6 4",
    )
    for z in ev.line_after.zones:
        _line_layer(
            fmap,
            f"{z.name}: Ukrainian edge after",
            z.ua_edge,
            COLOURS["edge_ua"],
            dash=None,
            weight=3.0,
        )
        _line_layer(
            fmap,
            f"{z.name}: Russian edge after",
            z.ru_edge,
            COLOURS["edge_ru"],
            dash="2 5",
            weight=3.0,
        )


def render_scenario(ev: Evaluation, *, tiles: bool = False) -> folium.Map:
    """Build the map of one evaluated scenario.

    Layers (each in the layer control): land and oblast boundaries with names,
    control before the swap, the land the partition removed (slivers and
    water; hidden by default, its total in its name), every transfer coloured by direction (tooltip:
    name, area km², regions, rule), demilitarised zones, the contact line
    before, the direct contact after and each zone's Ukrainian and Russian
    edges (see `territory.accounting.LINE_AFTER_DEFINITION`), and the
    settlements inside transfers.  A legend (units, as-of date, snapshot), a
    headline (flows, both ratios with their definitions, the contact line)
    and the attribution are always shown.
    """
    folium = _folium()
    sc = ev.scenario
    fmap = _new_map(sc.title)
    _add_base(fmap, ev.control, tiles=tiles)
    _add_control(fmap, ev.control)
    _add_removed(fmap, ev.control)
    _add_moves(fmap, ev)
    _add_lines(fmap, ev)
    _add_places(fmap, ev)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    root = fmap.get_root().html
    root.add_child(
        _html(
            _title(
                sc.title,
                f"Control as of {ev.control.as_of} · {sc.source}",
                about=sc.description,
                citation=sc.citation,
            )
        )
    )
    root.add_child(_html(_legend(ev.control, _move_legend_rows([ev]))))
    root.add_child(_html(_headline(ev)))
    root.add_child(_html(_attribution()))
    return fmap


def render_compare(evs: Sequence[Evaluation], *, tiles: bool = False) -> folium.Map:
    """Build one page comparing several scenarios: one switchable (radio) layer each.

    Each scenario is shown on the control map of its own date: when the
    evaluations' dates differ, each scenario's layer holds its own control
    map (Russian-held land and grey zone of its as-of date) and names that
    date; when they share one date, one control layer serves them all.  The
    base and the comparison table (as-of date, flows, both ratios) are always
    shown; exactly one scenario is shown at a time.
    """
    folium = _folium()
    if not evs:
        msg = "render_compare needs at least one evaluation"
        raise ValueError(msg)
    dates = sorted({ev.control.as_of for ev in evs})
    own_dates = len(dates) > 1
    fmap = _new_map("Scenarios compared")
    _add_base(fmap, evs[0].control, tiles=tiles, occupied=not own_dates)
    if not own_dates:
        _add_control(fmap, evs[0].control)
    for i, ev in enumerate(evs):
        name = f"Scenario: {ev.scenario.title}"
        if own_dates:
            name += f" (as of {ev.control.as_of})"
        group = folium.FeatureGroup(name=esc(name), overlay=False, show=i == 0)
        if own_dates:
            for _name, data, colour in _control_layers(ev.control):
                folium.GeoJson(
                    data,
                    style_function=_style(colour, fill=0.35, weight=0.6),
                    tooltip=folium.GeoJsonTooltip(
                        _CONTROL_FIELDS[0], aliases=_CONTROL_FIELDS[1], sticky=True
                    ),
                ).add_to(group)
        layers = [
            *(
                (COLOURS[key], feats)
                for key, feats in move_features(ev, kind="transfer").items()
            ),
            *(
                (COLOURS["zone"], feats)
                for feats in move_features(ev, kind="zone").values()
            ),
        ]
        for colour, feats in layers:
            folium.GeoJson(
                _collection(feats),
                style_function=_style(colour, fill=0.6, weight=1.5),
                tooltip=folium.GeoJsonTooltip(
                    _MOVE_FIELDS, aliases=_MOVE_ALIASES, sticky=True
                ),
                popup=_move_popup(),
            ).add_to(group)
        group.add_to(fmap)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    root = fmap.get_root().html
    root.add_child(
        _html(
            _title(
                "Swap scenarios compared",
                f"{len(evs)} scenarios · control as of "
                + ", ".join(str(d) for d in dates)
                + (" (each scenario on its own date)" if own_dates else ""),
            )
        )
    )
    root.add_child(
        _html(
            _box(
                "territory-headline",
                "top:80px;left:10px",
                _compare_table(evs),
                width_px=700,
            )
        )
    )
    root.add_child(_html(_legend([ev.control for ev in evs], _move_legend_rows(evs))))
    root.add_child(_html(_attribution()))
    return fmap


def _compare_table(evs: Sequence[Evaluation]) -> str:
    """The comparison table: each scenario's as-of date, flows (km²) and both ratios."""
    from territory.accounting import FLOWS, RATIO_DEFINITIONS

    flows = [
        (a, b)
        for a, b in FLOWS
        if a != GREY or any(ev.flow_km2(a, b) > 0 for ev in evs)
    ]

    def earlier(ev: Evaluation) -> bool:
        return ev.control.snapshot.as_of < ev.control.as_of

    rows = [
        [
            esc(ev.scenario.title),
            esc(ev.control.as_of) + ("*" if earlier(ev) else ""),
            *(f"{ev.flow_km2(a, b):,.0f}" for a, b in flows),
            ratio_text(ev.ratios["cession"]),
            ratio_text(ev.ratios["zone"]),
        ]
        for ev in evs
    ]
    table = html_table(
        [
            "",
            "As of",
            *(f"{a}→{b}" for a, b in flows),
            "Cession ratio",
            "Zone ratio",
        ],
        rows,
        numeric=[False, True, *(True for _ in flows), True, True],
    )
    defs = "".join(
        f"<br>{name} ratio: {esc(RATIO_DEFINITIONS[name])}"
        for name in ("cession", "zone")
    )
    if any(earlier(ev) for ev in evs):
        defs += (
            "<br>* no snapshot for that date: the latest earlier one (see the legend)."
        )
    return (
        "<div class='territory-compare'><b>Scenarios</b> (switch in the layer "
        f"control; each on the control map of its as-of date){table}"
        f"<div class='territory-def'>Flows in km².{defs}</div></div>"
    )


# --------------------------------------------------------------------------- HTML

_EXTERNAL_TAG = re.compile(
    r'<script[^>]+src="https?://[^"]+"[^>]*>\s*</script>\s*|<link[^>]+href="https?://[^"]+"[^>]*/?>\s*',
    re.I,
)


def _inline_leaflet() -> str:
    css = (_VENDOR / "leaflet.css").read_text(encoding="utf-8")
    for img in ("layers-2x.png", "layers.png"):
        data = base64.b64encode((_VENDOR / "images" / img).read_bytes()).decode()
        css = css.replace(f"images/{img}", f"data:image/png;base64,{data}")
    css = re.sub(r"url\(images/[^)]+\)", "none", css)  # marker images: unused
    js = (_VENDOR / "leaflet.js").read_text(encoding="utf-8")
    return f"<style>{css}</style>\n<script>{js}</script>\n"


def _stable_ids(root: Any) -> None:
    """Give every element a sequential id instead of folium's random uuid: same input, same page."""
    counter = 0

    def walk(element: Any) -> None:
        nonlocal counter
        counter += 1
        element._id = f"{counter:06d}"
        for child in element._children.values():
            walk(child)

    walk(root)


def to_html(fmap: folium.Map, *, self_contained: bool = True) -> str:
    """Render a map to one HTML page.

    With `self_contained`, every external script and stylesheet folium links
    (Leaflet, and the jQuery/Bootstrap/icon fonts these maps do not use) is
    removed and Leaflet is inlined: the page renders with no network.
    """
    _stable_ids(fmap.get_root())
    page = fmap.get_root().render()
    if not self_contained:
        return page
    page = _EXTERNAL_TAG.sub("", page)
    return page.replace("<head>", "<head>\n" + _inline_leaflet(), 1)


def save_map(
    fmap: folium.Map, path: OutputTarget | Path | str, *, self_contained: bool = True
) -> None:
    """Write a map to `path` as one HTML page (see `to_html`).

    Written like every output (`territory.io.write_output`): a regular file is
    replaced atomically, a symlink or a device is written through, and a
    read-only file or an unwritable place raises `OutputError`.
    """
    from territory.io import write_output

    write_output(path, to_html(fmap, self_contained=self_contained).encode("utf-8"))


def embedded_geojson(page: str) -> list[dict[str, Any]]:
    """Return the GeoJSON objects embedded in a rendered page (for tests and audits)."""
    decoder = json.JSONDecoder()
    out = []
    for m in re.finditer(r"geo_json_\w+_add\(\{", page):
        obj, _ = decoder.raw_decode(page, m.end() - 1)
        out.append(obj)
    return out


def mini_map_svg(
    ev: Evaluation | None = None, *, control: Control | None = None, width_px: int = 360
) -> str:
    """Return a small static SVG: oblasts, Russian-held land and, for an evaluation, its moves.

    Give an evaluation, or a control map alone (``control=``).
    """
    if ev is not None:
        control = ev.control
    if control is None:
        msg = "mini_map_svg needs an evaluation or control="
        raise ValueError(msg)
    regions = control.regions
    minx, miny, maxx, maxy = 22.0, 44.3, 40.3, 52.4
    scale = width_px / (maxx - minx)
    height = int((maxy - miny) * scale * 1.45)
    ky = height / (maxy - miny)

    def path(geom: BaseGeometry) -> str:
        parts = []
        for poly in shapely.get_parts(display_geometry(geom, 0.02)):
            if poly.geom_type != "Polygon":
                continue
            for ring in [poly.exterior, *poly.interiors]:
                pts = " ".join(
                    f"{(x - minx) * scale:.1f},{(maxy - y) * ky:.1f}"
                    for x, y in ring.coords
                )
                parts.append(f"M{pts}Z")
        return " ".join(parts)

    shapes = [
        f'<path d="{path(g)}" fill="{COLOURS["land"]}" stroke="{COLOURS["border"]}" stroke-width=".4"/>'
        for g in regions.geometry
    ]
    shapes.append(
        f'<path d="{path(control.holding(RU))}" fill="{COLOURS[RU]}" fill-opacity=".4"/>'
    )
    for m in ev.moves if ev is not None else []:
        key = "zone" if m.kind == "zone" else _direction(m.source, m.target)
        shapes.append(
            f'<path d="{path(m.geometry)}" fill="{COLOURS[key]}" fill-opacity=".8"><title>{esc(m.name)}</title></path>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_px}" height="{height}" '
        f'style="background:{COLOURS["sea"]}">{"".join(shapes)}</svg>'
    )
