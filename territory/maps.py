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

A scenario or comparison page opens on its transfers and zones
(`focus_bounds`, the static figures' view: parts of 1 km² or more, padded),
fitted between the boxes on the left (title, headline, legend, in one column
so that none covers another) and the controls on the right, with buttons to
the whole country and back; a control page opens on the whole country.  The
legend has a row for each layer that draws something, shown while that
layer is on the map.  Settlements are those of `PLACE_MIN_POPULATION` or
more, hollow circles whose area grows with the population.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry.base import BaseGeometry

from territory.charts import LAYER_COLOURS, OKABE_ITO
from territory.control import GREY, RU, UA, contact_line
from territory.crs import STORAGE_CRS, to_latlon, transform
from territory.figures import FIGURE_CRS, PLACE_MIN_POPULATION, moves_extent
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
    **LAYER_COLOURS,
    "land": "#f4f1ea",
    "other_land": "#e4e1da",
    "sea": "#dbe8f3",
    "border": "#495057",
    "place": "#343a40",
    "removed": OKABE_ITO["sky_blue"],
}

#: Display simplification tolerance (degrees, ~100-200 m), and coordinate grid
#: (1e-5 degree, ~1 m).  Accounting never sees either.
DISPLAY_TOLERANCE_DEG = 0.002
DISPLAY_GRID_DEG = 1e-5

#: Settlements drawn: at least `PLACE_MIN_POPULATION` people (GeoNames; the
#: static figures' threshold), as hollow circles whose area grows with the
#: population, of `PLACE_RADIUS_PX` at the threshold.
PLACE_RADIUS_PX = 3.0

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


@dataclass
class _Legend:
    """The legend's rows, each keyed to the layers that draw it.

    A layer that draws something gets a key (``L1``, ``L2`` …), which its
    Leaflet layer carries as the option ``territoryKey``; a row lists the
    keys of the layers it stands for and is shown while one of them is on
    the map (the page's script follows the layer control), so the legend
    lists exactly the layers drawn.  Rows with the same swatch and label
    are one row.
    """

    rows: dict[str, list[str]] = field(default_factory=dict)
    shown: set[str] = field(default_factory=set)
    count: int = 0

    def key(self) -> str:
        """Return a new layer key."""
        self.count += 1
        return f"L{self.count}"

    def add(self, swatch: str, *, show: bool, key: str | None = None) -> str:
        """Add a row (`_swatch`) for the layer `key` (a new one if None); return the key."""
        key = key or self.key()
        self.rows.setdefault(swatch, []).append(key)
        if show:
            self.shown.add(key)
        return key

    def html(self) -> str:
        """The rows; those of layers hidden on opening are hidden."""
        return "".join(
            f'<div class="territory-legend-row" data-layers="{" ".join(keys)}"'
            + ("" if self.shown.intersection(keys) else ' style="display:none"')
            + f">{swatch}</div>"
            for swatch, keys in self.rows.items()
        )


def _legend_of(fmap: Any) -> _Legend:
    return fmap.territory_legend


@lru_cache(maxsize=1)
def _group_class() -> type:
    from folium.template import Template

    folium = _folium()

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


def _geojson_layer(
    fmap: Any,
    name: str,
    data: dict[str, Any],
    style: Any,
    *,
    legend: str | None = None,
    show: bool = True,
    fields: Sequence[str] = (),
    aliases: Sequence[str] = (),
    move_popup: bool = False,
    overlay: bool = True,
    marker: Any = None,
) -> Any:
    """Add a named layer of `data`; with `legend` (a `_swatch`), its legend row if it draws anything."""
    folium = _folium()
    options = {}
    if legend is not None and data["features"]:
        options["territoryKey"] = _legend_of(fmap).add(legend, show=show)
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


#: The page's style: the left column of boxes (title, headline, legend) in
#: flow, so that no box covers another; the layer control's width capped.
_PAGE_CSS = (
    f".leaflet-container{{background:{COLOURS['sea']}}}"
    ".leaflet-control-layers{font:12px/1.5 sans-serif;max-width:340px}"
    ".territory-label{font:600 11px/1.1 sans-serif;color:#343a40;text-shadow:0 0 3px #fff,0 0 3px #fff;"
    "white-space:nowrap;pointer-events:none}"
    "#territory-panels{position:absolute;top:10px;left:10px;bottom:58px;z-index:1000;"
    "display:flex;flex-direction:column;align-items:flex-start;gap:8px;pointer-events:none}"
    ".territory-box{pointer-events:auto;flex:0 1 auto;min-height:0;overflow:auto;box-sizing:border-box;"
    "background:rgba(255,255,255,.95);padding:8px 10px;border:1px solid #adb5bd;border-radius:4px;"
    "font:12px/1.45 sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.2)}"
    "#territory-title{flex-shrink:0;font:14px/1.3 sans-serif;padding:6px 10px}"
    "#territory-legend{margin-top:auto;flex-shrink:0;max-height:60%}"
    ".territory-headline summary{cursor:pointer}"
    ".territory-views a{width:auto!important;padding:0 8px;font:600 12px/26px sans-serif;"
    "white-space:nowrap;text-decoration:none}"
    ".territory-compare td:first-child{min-width:130px}"
    ".territory-compare th{white-space:normal}"
    ".leaflet-bottom.leaflet-right{bottom:16px}"  # Leaflet's own above ours
)


def _new_map(title: str) -> Any:
    fmap = _offline_map_class()(
        location=(48.6, 31.4),
        zoom_start=6,
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
        zoom_control="topright",
        zoom_snap=0.25,
    )
    fmap.territory_legend = _Legend()
    fmap.get_root().header.add_child(
        _html(f"<title>{esc(title)}</title><style>{_PAGE_CSS}{TABLE_CSS}</style>")
    )
    return fmap


def leaflet_bounds(
    bounds: tuple[float, float, float, float],
) -> list[list[float]]:
    """Return lon/lat `bounds` (west, south, east, north) as Leaflet's [[south, west], [north, east]].

    >>> leaflet_bounds((37.0, 47.5, 38.5, 49.25))
    [[47.5, 37.0], [49.25, 38.5]]
    """
    west, south, east, north = bounds
    return [
        [round(v, 4) for v in to_latlon((west, south))],
        [round(v, 4) for v in to_latlon((east, north))],
    ]


def country_bounds(control: Control) -> list[list[float]]:
    """The view of the whole country: its land's bounds, Leaflet (lat, lon) order."""
    return leaflet_bounds(control.partition.country["land"].bounds)


def focus_bounds(evs: Sequence[Evaluation]) -> list[list[float]] | None:
    """The view the page opens on: the evaluations' transfers and zones, padded.

    The box of `territory.figures.moves_extent` (the static figures' view:
    every part of at least 1 km², so that crumbs along the borders do not
    pull it into Russia; padded by 12%, at least 150 km across), in
    Leaflet's [[south, west], [north, east]] order (degrees); the page fits
    it to the window between its boxes.
    None when no evaluation moves any land.
    """
    moves = [m for ev in evs for m in ev.moves]
    if not moves:
        return None
    minx, miny, maxx, maxy = moves_extent(moves, evs[0].control, aspect=None)
    box = shapely.segmentize(shapely.box(minx, miny, maxx, maxy), (maxx - minx) / 16)
    return leaflet_bounds(transform(box, FIGURE_CRS, STORAGE_CRS).bounds)


#: The page's view script (a constant template; the bounds are numbers and
#: the button labels constants of this module): the opening view fitted
#: between the boxes on the left and the controls on the right, the buttons
#: "Whole country" and back to the scenario, and the legend rows shown while
#: their layers are on the map.  Views change without animation: Leaflet
#: starts one on the next frame, which a page printed headless never draws.
_VIEW_TEMPLATE = """{% macro script(this, kwargs) %}
(function (map) {
  var country = {{ this.country|tojson }};
  var focus = {{ this.focus|tojson }};
  var buttons = {{ this.buttons|tojson }};
  var container = map.getContainer();
  function padding() {
    var box = container.getBoundingClientRect();
    var left = 0;
    var right = 0;
    var i;
    var r;
    var panels = document.getElementById("territory-panels");
    if (panels) {
      for (i = 0; i < panels.children.length; i++) {
        r = panels.children[i].getBoundingClientRect();
        if (r.width > 0) left = Math.max(left, r.right - box.left);
      }
    }
    var corner = container.querySelector(".leaflet-top.leaflet-right");
    if (corner) {
      for (i = 0; i < corner.children.length; i++) {
        r = corner.children[i].getBoundingClientRect();
        if (r.width > 0) right = Math.max(right, box.right - r.left);
      }
    }
    if (box.width - left - right < 240) {
      left = 0;
      right = 0;
    }
    return {paddingTopLeft: [left + 10, 10], paddingBottomRight: [right + 10, 24]};
  }
  function fit(bounds) {
    var options = padding();
    options.animate = false;
    map.fitBounds(bounds, options);
  }
  if (focus) {
    var views = L.control({position: "topright"});
    views.onAdd = function () {
      var bar = L.DomUtil.create("div", "leaflet-bar territory-views");
      buttons.forEach(function (b) {
        var a = L.DomUtil.create("a", "territory-view-" + b[2], bar);
        a.href = "#";
        a.setAttribute("role", "button");
        a.textContent = b[0];
        a.title = b[1];
        L.DomEvent.on(a, "click", function (e) {
          L.DomEvent.stop(e);
          fit(b[2] === "country" ? country : focus);
        });
      });
      L.DomEvent.disableClickPropagation(bar);
      return bar;
    };
    views.addTo(map);
    var holder = views.getContainer().parentNode;
    holder.insertBefore(views.getContainer(), holder.children[1] || null);
  }
  var on = {};
  function key(layer) {
    return layer.options && layer.options.territoryKey;
  }
  function sync() {
    var rows = document.querySelectorAll("#territory-legend [data-layers]");
    for (var j = 0; j < rows.length; j++) {
      var keys = rows[j].getAttribute("data-layers").split(" ");
      var shown = keys.some(function (k) { return on[k] === true; });
      rows[j].style.display = shown ? "" : "none";
    }
  }
  map.eachLayer(function (layer) {
    if (key(layer)) on[key(layer)] = true;
  });
  map.on("layeradd", function (e) {
    if (key(e.layer)) {
      on[key(e.layer)] = true;
      sync();
    }
  });
  map.on("layerremove", function (e) {
    if (key(e.layer)) {
      delete on[key(e.layer)];
      sync();
    }
  });
  sync();
  fit(focus || country);
})({{ this._parent.get_name() }});
{% endmacro %}"""


@lru_cache(maxsize=1)
def _view_class() -> type:
    from branca.element import MacroElement
    from jinja2 import Template

    class View(MacroElement):
        """The opening view, the view buttons and the legend's sync (`_VIEW_TEMPLATE`)."""

        _template = Template(_VIEW_TEMPLATE)

        def __init__(
            self,
            country: list[list[float]],
            focus: list[list[float]] | None,
            focus_label: str,
        ) -> None:
            super().__init__()
            self._name = "TerritoryView"
            self.country = country
            self.focus = focus
            self.buttons = [
                ["Whole country", "Show the whole country", "country"],
                [focus_label, f"Back to the {focus_label.lower()}", "focus"],
            ]

    return View


def _add_view(
    fmap: Any,
    control: Control,
    evs: Sequence[Evaluation] = (),
) -> None:
    """Open on `evs`' transfers and zones (`focus_bounds`), with a button back to the country.

    Add it after every layer and the layer control: the script measures the
    controls to fit the view between them.
    """
    kinds = {m.kind for ev in evs for m in ev.moves}
    label = {
        frozenset({"transfer"}): "Transfers",
        frozenset({"zone"}): "Zones",
    }.get(frozenset(kinds), "Transfers and zones")
    fmap.add_child(_view_class()(country_bounds(control), focus_bounds(evs), label))


#: How far around the country (degrees) other countries' land is drawn.
OTHER_LAND_MARGIN_DEG = 8.0


def _add_base(
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
    folium = _folium()
    if tiles:
        folium.TileLayer(
            "OpenStreetMap",
            name="OpenStreetMap tiles (online)",
            overlay=False,
            show=True,
        ).add_to(fmap)
    if land is not None:
        west, south, east, north = control.partition.country["land"].bounds
        m = OTHER_LAND_MARGIN_DEG
        around = shapely.clip_by_rect(land, west - m, south - m, east + m, north + m)
        _geojson_layer(
            fmap,
            "Other countries (offline base)",
            _collection([_feature(display_geometry(around, 0.01), {})]),
            _style(COLOURS["other_land"], fill=1.0, weight=0),
            legend=_swatch(COLOURS["other_land"], "Other countries", opacity=1.0),
        )
    home = control.partition.country["land"]
    _geojson_layer(
        fmap,
        "Land (offline base)",
        _collection([_feature(display_geometry(home, 0.005), {})]),
        _style(COLOURS["land"], fill=1.0, weight=0),
        legend=_swatch(COLOURS["land"], land_label, opacity=1.0),
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
        legend=_swatch(COLOURS["border"], "Oblast boundaries", kind="thin"),
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


_CONTROL_FIELDS = (["holder", "area_km2", "as_of"], ["Held by", "Area km²", "As of"])


def _add_control(fmap: Any, control: Control, *, label: str = "before") -> None:
    for name, data, holder in _control_layers(control, label=label):
        _geojson_layer(
            fmap,
            name,
            data,
            _style(COLOURS[holder], fill=0.35, weight=0.6),
            legend=_swatch(COLOURS[holder], _holder_label(holder, label), opacity=0.35),
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
        legend=_swatch(COLOURS["removed"], "Removed from the land (slivers, water)"),
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
    legend: str,
    show: bool = True,
    weight: float = 2.5,
) -> None:
    """A line's layer, its length in the name; `legend` is its row's label."""
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
        legend=_swatch(colour, legend, kind="dash" if dash else "line"),
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


#: The order of the directions in the layers and the legend.
_DIRECTIONS = ("UA>RU", "RU>UA", ">DMZ")


def move_features(ev: Evaluation, *, kind: str) -> dict[str, list[dict[str, Any]]]:
    """Return the GeoJSON features of an evaluation's moves, by direction (UA→RU, RU→UA, →DMZ)."""
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
        out.setdefault(_direction(m.source, m.target), []).append(
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
    """The click popup of a move: its name, the source's claim and the note."""
    return _folium().GeoJsonPopup(
        ["name", "claim", "note"],
        aliases=["Transfer", "Claim", "Note"],
        localize=False,
        max_width=380,
    )


def _add_moves(fmap: Any, ev: Evaluation) -> None:
    """Each direction's transfers, then the demilitarised zones, each a layer with its km²."""
    for key, feats in move_features(ev, kind="transfer").items():
        total = sum(f["properties"]["area_km2"] for f in feats)
        _geojson_layer(
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
        _geojson_layer(
            fmap,
            f"Demilitarised zones ({total:,.0f} km²)",
            _collection(zones),
            _style(COLOURS["zone"], fill=0.45, weight=1.0, dash="4 3"),
            legend=_move_swatch("zone", zones),
            fields=_MOVE_FIELDS,
            aliases=_MOVE_ALIASES,
            move_popup=True,
        )


def _move_swatch(key: str, feats: list[dict[str, Any]]) -> str:
    """The legend row of a direction's transfers (or of the zones), with their km².

    The km² tell a reader why a layer the legend lists may be hard to see.
    """
    km2 = sum(f["properties"]["area_km2"] for f in feats)
    if key == "zone":
        label = f"Demilitarised zones ({km2:,.0f} km²)"
        return _swatch(COLOURS["zone"], label, kind="zone", opacity=0.45)
    return _swatch(COLOURS[key], f"Transfers {_direction_label(key)} ({km2:,.0f} km²)")


def place_radius_px(population: int) -> float:
    """A settlement's circle radius (px): its area grows with the population.

    >>> place_radius_px(10_000), place_radius_px(40_000)
    (3.0, 6.0)
    """
    return PLACE_RADIUS_PX * math.sqrt(population / PLACE_MIN_POPULATION)


def _places_where(ev: Evaluation) -> str:
    kinds = {m.kind for m in ev.moves}
    return {"transfer": "transfers", "zone": "zones"}.get(
        "".join(kinds), "transfers and zones"
    )


def _add_places(fmap: Any, ev: Evaluation) -> None:
    """Settlements of `PLACE_MIN_POPULATION`+ in the transfers and zones.

    Hollow circles (a light fill, so the land beneath shows) whose area grows
    with the population; the layer's name gives how many are drawn of all the
    named places inside.
    """
    from territory.people import places_in

    folium = _folium()
    seen: dict[Any, tuple[dict[str, Any], str]] = {}
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
    _geojson_layer(
        fmap,
        name,
        _collection(feats),
        lambda f: {**style, "radius": f["properties"]["radius_px"]},
        legend=_swatch(
            COLOURS["place"],
            f"Settlements of {PLACE_MIN_POPULATION:,}+ people, sized by population",
            kind="circle",
        ),
        fields=["place", "population", "transfer"],
        aliases=["Place", "Population (GeoNames)", "In"],
        marker=folium.CircleMarker(radius=PLACE_RADIUS_PX),
    )


def _box(element_id: str, body: str, *, width_px: int = 340, cls: str = "") -> str:
    """A box of the left column (`_panels`)."""
    return (
        f'<div id="{element_id}" class="territory-box {cls}" style="max-width:{width_px}px">'
        f"{body}</div>"
    )


def _panels(*boxes: str) -> str:
    """The left column: title, headline or table, legend, one under the other, never overlapping."""
    return f'<div id="territory-panels">{"".join(boxes)}</div>'


def _swatch(
    colour: str, label: str, *, kind: str = "fill", opacity: float = 0.6
) -> str:
    """A legend row's swatch and label: a fill, a line, a dashed line, a thin line or a circle."""
    if kind in ("line", "dash", "thin"):
        width = 1 if kind == "thin" else 3
        style = (
            f"width:18px;height:0;margin-top:7px;"
            f"border-top:{width}px {'dashed' if kind == 'dash' else 'solid'} {colour}"
        )
    elif kind == "circle":
        style = (
            f"width:9px;height:9px;margin:2px 5px 0 3px;border:1.5px solid {colour};"
            "border-radius:50%;background:rgba(255,255,255,.2)"
        )
    else:
        edge = "1px dashed #6c757d" if kind == "zone" else "1px solid rgba(0,0,0,.2)"
        style = (
            f"width:18px;height:12px;margin-top:1px;background:{colour};"
            f"opacity:{max(opacity, 0.35):.2f};border:{edge};box-sizing:border-box"
        )
    return (
        f'<span class="territory-swatch territory-swatch-{kind}" style="display:inline-block;'
        f'{style};margin-right:6px;vertical-align:top"></span>{esc(label)}'
    )


def _legend(controls: Control | Sequence[Control], legend: _Legend) -> str:
    """The legend: a row per layer drawn, units, and the date and snapshot of every control map shown."""
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
        f"<b>Legend</b>{legend.html()}<div class='territory-def' style='margin-top:4px'>"
        f"Areas in km² (WGS84 ellipsoidal, land only). Lengths in km.<br>{when}</div>"
    )
    return _box("territory-legend", body)


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
    body = (
        f'<b>{esc(text)}</b><br><span style="font-size:12px;color:#495057">{esc(sub)}</span>'
        f"{more}"
    )
    return _box("territory-title", body, width_px=430)


def _headline(ev: Evaluation) -> str:
    """The headline: the reciprocity in words, and folded under it the tables.

    The tables (`territory.tables.summary_html`): flows, both ratios with
    their definitions, and the contact line, with ruled-off headers.
    "Receives nothing in return" only when Ukraine cedes land to Russia and
    Russia cedes none.  Folded on opening, so that it covers no map.
    """
    from territory.tables import reciprocity_text

    words = esc(reciprocity_text(ev))
    tables = summary_html(ev).replace(f"<div>{words}</div>", "", 1)  # said above
    body = (
        f"<details><summary><b>Headline:</b> {words} "
        "<span class='territory-def'>(click for the flows, ratios and contact "
        f"line)</span></summary>{tables}</details>"
    )
    return _box("territory-headline", body, width_px=430, cls="territory-headline")


def render_control(
    control: Control, *, tiles: bool = False, land: BaseGeometry | None = None
) -> folium.Map:
    """Build the control map on a date: oblasts, Russian-held land, grey zone, contact line.

    The land the partition removed (slivers and water) is a layer hidden by
    default, its total in its name.  The page opens on the whole country.
    `land`, the land mask (`Record.land`), draws other countries' land apart
    from the sea.
    """
    folium = _folium()
    fmap = _new_map(f"Control as of {control.as_of}")
    _add_base(fmap, control, tiles=tiles, land=land)
    _add_control(fmap, control, label="")
    _add_removed(fmap, control)
    front = contact_line(control.holding(RU), control.partition.country["land"])
    _line_layer(
        fmap,
        "Contact line",
        front,
        COLOURS["front_before"],
        dash=None,
        legend="Contact line",
    )
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    _add_view(fmap, control)
    t = control.totals(official_area_km2=1.0)
    title = _title(
        f"Who holds what, as of {control.as_of}",
        f"Russian-held {t['occupied_km2']:,.0f} km² of {t['land_km2']:,.0f} km² of land "
        f"({t['occupied_pct']:.2f}%)",
    )
    root = fmap.get_root().html
    root.add_child(_html(_panels(title, _legend(control, _legend_of(fmap)))))
    root.add_child(_html(_attribution()))
    return fmap


def _add_lines(fmap: Any, ev: Evaluation) -> None:
    """The contact line before, the direct contact after and each zone's two edges."""
    land = ev.control.partition.country["land"]
    _line_layer(
        fmap,
        "Contact line before",
        contact_line(ev.control.holding(RU), land),
        COLOURS["front_before"],
        dash=None,
        legend="Contact line before",
    )
    _line_layer(
        fmap,
        "Contact line after: direct contact",
        ev.line_after.direct,
        COLOURS["front_after"],
        dash="6 4",
        legend="Contact line after: direct contact",
    )
    for z in ev.line_after.zones:
        _line_layer(
            fmap,
            f"{z.name}: Ukrainian edge after",
            z.ua_edge,
            COLOURS["edge_ua"],
            dash=None,
            legend="Zone edge after, Ukrainian side",
            weight=3.0,
        )
        _line_layer(
            fmap,
            f"{z.name}: Russian edge after",
            z.ru_edge,
            COLOURS["edge_ru"],
            dash="2 5",
            legend="Zone edge after, Russian side",
            weight=3.0,
        )


def render_scenario(
    ev: Evaluation, *, tiles: bool = False, land: BaseGeometry | None = None
) -> folium.Map:
    """Build the map of one evaluated scenario.

    Layers (each in the layer control): land and oblast boundaries with names,
    control before the swap, the land the partition removed (slivers and
    water; hidden by default, its total in its name), every transfer coloured by direction (tooltip:
    name, area km², regions, rule), demilitarised zones, the contact line
    before, the direct contact after and each zone's Ukrainian and Russian
    edges (see `territory.accounting.LINE_AFTER_DEFINITION`), and the
    settlements of `PLACE_MIN_POPULATION`+ inside the moves.  The page opens
    on the transfers and zones (`focus_bounds`), with a button to the whole
    country.  A legend (a row per layer drawn, units, as-of date, snapshot),
    a headline (flows, both ratios with their definitions, the contact line;
    folded under the reciprocity in words) and the attribution are always shown.
    `land`, the land mask (`Record.land`), draws other countries' land apart
    from the sea.
    """
    folium = _folium()
    sc = ev.scenario
    fmap = _new_map(sc.title)
    _add_base(
        fmap,
        ev.control,
        tiles=tiles,
        land_label="Ukrainian-held land before",
        land=land,
    )
    _add_control(fmap, ev.control)
    _add_removed(fmap, ev.control)
    _add_moves(fmap, ev)
    _add_lines(fmap, ev)
    _add_places(fmap, ev)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    _add_view(fmap, ev.control, [ev])
    title = _title(
        sc.title,
        f"Control as of {ev.control.as_of} · {sc.source}",
        about=sc.description,
        citation=sc.citation,
    )
    root = fmap.get_root().html
    root.add_child(
        _html(_panels(title, _headline(ev), _legend(ev.control, _legend_of(fmap))))
    )
    root.add_child(_html(_attribution()))
    return fmap


def _add_scenario_group(
    fmap: Any, ev: Evaluation, name: str, *, show: bool, own_date: bool
) -> None:
    """One scenario of a comparison: a base (radio) layer of its moves, and its control if `own_date`."""
    folium = _folium()
    legend = _legend_of(fmap)
    key = legend.key()
    group = _group_class()(name=esc(name), overlay=False, show=show, territoryKey=key)
    if own_date:
        for layer_name, data, holder in _control_layers(ev.control):
            swatch = _swatch(COLOURS[holder], layer_name, opacity=0.35)
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


def render_compare(
    evs: Sequence[Evaluation],
    *,
    tiles: bool = False,
    land: BaseGeometry | None = None,
) -> folium.Map:
    """Build one page comparing several scenarios: one switchable (radio) layer each.

    Each scenario is shown on the control map of its own date: when the
    evaluations' dates differ, each scenario's layer holds its own control
    map (Russian-held land and grey zone of its as-of date) and names that
    date; when they share one date, one control layer serves them all.  The
    base and the comparison table (as-of date, flows, both ratios) are always
    shown; exactly one scenario is shown at a time, and the legend lists what
    it draws.  The page opens on all the scenarios' transfers and zones.
    `land` as in `render_scenario`.
    """
    folium = _folium()
    if not evs:
        msg = "render_compare needs at least one evaluation"
        raise ValueError(msg)
    dates = sorted({ev.control.as_of for ev in evs})
    own_dates = len(dates) > 1
    fmap = _new_map("Scenarios compared")
    _add_base(
        fmap,
        evs[0].control,
        tiles=tiles,
        occupied=not own_dates,
        land_label="Ukrainian-held land before",
        land=land,
    )
    if not own_dates:
        _add_control(fmap, evs[0].control)
    for i, ev in enumerate(evs):
        name = f"Scenario: {ev.scenario.title}"
        if own_dates:
            name += f" (as of {ev.control.as_of})"
        _add_scenario_group(fmap, ev, name, show=i == 0, own_date=own_dates)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    _add_view(fmap, evs[0].control, evs)
    title = _title(
        "Swap scenarios compared",
        f"{len(evs)} scenarios · control as of "
        + ", ".join(str(d) for d in dates)
        + (" (each scenario on its own date)" if own_dates else ""),
    )
    table = _box(
        "territory-headline",
        _compare_table(evs),
        width_px=460,
        cls="territory-headline",
    )
    legend = _legend([ev.control for ev in evs], _legend_of(fmap))
    root = fmap.get_root().html
    root.add_child(_html(_panels(title, table, legend)))
    root.add_child(_html(_attribution()))
    return fmap


def _compare_table(evs: Sequence[Evaluation]) -> str:
    """The comparison table: each scenario's as-of date, flows (km²) and both ratios.

    A flow no scenario has, and the zone ratio when no scenario has a zone,
    are left out (said under the table).
    """
    from territory.accounting import DMZ, FLOWS, RATIO_DEFINITIONS

    flows = [(a, b) for a, b in FLOWS if any(ev.flow_km2(a, b) > 0 for ev in evs)]
    ratios = ["cession"]
    if any(ev.flow_km2(a, DMZ) > 0 for ev in evs for a in (UA, RU, GREY)):
        ratios.append("zone")
    omitted = [
        f"{a}→{b}"
        for a, b in FLOWS
        if (a, b) not in flows and a != GREY and ("zone" in ratios or b != DMZ)
    ]

    def earlier(ev: Evaluation) -> bool:
        return ev.control.snapshot.as_of < ev.control.as_of

    rows = [
        [
            esc(ev.scenario.title),
            esc(ev.control.as_of) + ("*" if earlier(ev) else ""),
            *(f"{ev.flow_km2(a, b):,.0f}" for a, b in flows),
            *(ratio_text(ev.ratios[r]) for r in ratios),
        ]
        for ev in evs
    ]
    table = html_table(
        [
            "",
            "As of",
            *(f"{a}→{b}" for a, b in flows),
            *(f"{r.capitalize()} ratio" for r in ratios),
        ],
        rows,
        numeric=[False, True, *(True for _ in flows), *(True for _ in ratios)],
    )
    defs = "".join(
        f"<br>{name} ratio: {esc(RATIO_DEFINITIONS[name])}" for name in ratios
    )
    if omitted:
        defs += f"<br>No scenario has {', '.join(omitted)}: 0 km² each."
    if "zone" not in ratios:
        defs += "<br>No scenario has a demilitarised zone."
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
