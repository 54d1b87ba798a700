"""Static maps (matplotlib) for articles: a scenario, or control on a date.

`render_scenario_figure` draws what the HTML scenario map shows
(`territory.maps.render_scenario`): Russian-held land and the grey zone
before, each transfer coloured by direction, demilitarised zones, the
contact line before, the direct contact after and each zone's two edges,
and the settlements of at least `PLACE_MIN_POPULATION` people inside the
transfers, drawn as hollow circles sized by population so the land beneath
stays visible.  The view is focused on the transfers and zones
(`focus_extent`), with a locator inset of the whole country; a legend lists
exactly the layers drawn, with their km² and km, and a layer too small to
see at that scale is ringed.  `render_control_figure`
draws control on a date over the whole country.

Geometry is drawn in `FIGURE_CRS`, a conformal projection, so shapes keep
their form at 48°N (lon/lat drawn with equal degrees would stretch them
1.5 times east–west) and the scale bar gives true kilometres (corrected by
the projection's scale factor where the bar is drawn).  Colours are
Okabe–Ito (`territory.charts.OKABE_ITO`), shared with the charts.  Text
from files (scenario titles, notes, place names) goes through
`territory.charts._plain`, so matplotlib never reads it as mathtext.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry.base import BaseGeometry

from territory.charts import FORMATS, TEXT_GREY, _plain, new_figure, save_chart
from territory.control import GREY, RU
from territory.maps import _draw as draw
from territory.maps._draw import (
    ALPHA,
    COLOURS,
    FIGURE_CRS,
    NBSP,
    Extent,
    to_figure_crs,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from territory.accounting import Evaluation, Move
    from territory.control import Control

__all__ = [
    "COLOURS",
    "FIGURE_CRS",
    "country_extent",
    "focus_extent",
    "moves_extent",
    "render_control_figure",
    "render_scenario_figure",
    "save_figure",
    "to_figure_crs",
]

#: Figure size (inches) and resolution: 16 × 10 in at 125 dpi, 2,000 × 1,250 px.
SIZE_IN = (16.0, 10.0)
DPI = 125
#: The map's axes and the side panel (locator, legend), inches from the left
#: and bottom of the figure; the header above is sized to its text.
MAP_LEFT_IN, MAP_WIDTH_IN, MAP_BOTTOM_IN = 0.6, 10.8, 0.75
PANEL_LEFT_IN = 11.65
#: Padding around the transfers and zones, as a share of their larger span,
#: the smallest span of a focused view (metres), and the smallest part of a
#: transfer or zone the view is made to hold (km²): crumbs along borders
#: (a hundred of under 1 km² in Luhansk's) would pull it into Russia.
FOCUS_PAD = 0.12
FOCUS_MIN_SPAN_M = 150_000.0
FOCUS_MIN_PART_KM2 = 1.0
#: Settlements drawn: at least this many people (GeoNames), the largest
#: `PLACE_LABELS` of them named where the names do not collide.
PLACE_MIN_POPULATION = 10_000
PLACE_LABELS = 12
#: A transfer or zone layer covering less than this share of the view is
#: ringed, so that a reader finds what the legend lists.
SMALL_SHARE = 0.0005

DIRECTION_LABEL = {
    "UA>RU": "Transfer Ukraine → Russia",
    "RU>UA": "Transfer Russia → Ukraine",
    ">DMZ": "Transfer → demilitarised",
}


def _map_aspect(header_in: float) -> float:
    return MAP_WIDTH_IN / (SIZE_IN[1] - header_in - MAP_BOTTOM_IN)


def country_extent(control: Control, *, aspect: float | None = 1.4) -> Extent:
    """Return the view of the whole country's land, in `FIGURE_CRS` metres."""
    land = draw.display(control._partition.country["land"])
    return draw.fit(land.bounds, aspect=aspect, pad=0.02, min_span_m=0.0)


def focus_extent(ev: Evaluation, *, aspect: float = 1.4) -> Extent:
    """Return the view of a scenario's transfers and zones, padded, in `FIGURE_CRS` metres.

    The box holds every part of a transfer or zone of at least
    `FOCUS_MIN_PART_KM2`, padded by `FOCUS_PAD` of their larger span, at least `FOCUS_MIN_SPAN_M` across, grown to `aspect`
    (width / height) so that it fills the map.  A scenario that moves no
    land gets the whole country (`country_extent`).
    """
    return moves_extent(ev.moves, ev.control, aspect=aspect)


def moves_extent(
    moves: Iterable[Move], control: Control, *, aspect: float | None = 1.4
) -> Extent:
    """Return the view of these moves (`focus_extent` of any moves, e.g. several scenarios').

    The interactive maps (`territory.maps`) open on it too, with `aspect`
    None (the padded box as it is; Leaflet fits it to the window).  With no
    part of at least `FOCUS_MIN_PART_KM2`, the whole country of `control`.
    """
    from territory.geodesy import area_km2

    parts = [
        p
        for m in moves
        for p in shapely.get_parts(m.geometry)
        if area_km2(p) >= FOCUS_MIN_PART_KM2
    ]
    if not parts:
        return country_extent(control, aspect=aspect)
    bounds = to_figure_crs(shapely.union_all(parts).envelope).bounds
    return draw.fit(bounds, aspect=aspect, pad=FOCUS_PAD, min_span_m=FOCUS_MIN_SPAN_M)


# --------------------------------------------------------------------------- drawing


def _base(ax: Axes, control: Control, extent: Extent, land: BaseGeometry | None):
    """Sea, other countries' land, the country's land, oblast boundaries."""
    ax.set_facecolor(COLOURS["other_land"])
    if land is not None:  # the sea: the land mask's box less its land
        sea = shapely.box(*land.bounds).difference(land)
        draw.fill_polygons(
            ax, draw.display(sea, extent), facecolor=COLOURS["sea"], lw=0, zorder=1
        )
    home = draw.display(control._partition.country["land"], extent)
    draw.fill_polygons(ax, home, facecolor=COLOURS["land"], lw=0, zorder=2)
    lines = shapely.union_all(
        [draw.display(g).boundary for g in control.regions.geometry]
    )
    inner = shapely.intersection(
        shapely.clip_by_rect(lines, *draw.grown(extent)), shapely.buffer(home, -200)
    )
    draw.draw_lines(ax, inner, colors=COLOURS["oblast"], linewidths=0.6, zorder=5)
    draw.draw_lines(ax, home, colors=COLOURS["border"], linewidths=0.9, zorder=5)


def _control_layers(
    ax: Axes, control: Control, extent: Extent, legend: draw.Legend, *, when: str
) -> None:
    for holder, label in ((RU, "Russian-held"), (GREY, "Grey zone")):
        geom = control._partition.country.get(holder)
        if geom is None or geom.is_empty:
            continue
        drawn = draw.fill_polygons(
            ax,
            draw.display(geom, extent),
            facecolor=draw.rgba(COLOURS[holder], ALPHA[holder]),
            edgecolor="none",
            zorder=3,
        )
        if drawn:
            km2 = control.holding_km2(holder)
            legend.fill(holder, f"{label}{when}, {control.as_of} ({km2:,.0f}{NBSP}km²)")
    legend.fill("land", f"Ukrainian-held land{when}")


def _direction(source: str, target: str) -> str:
    return ">DMZ" if target == "DMZ" else f"{source}>{target}"


def _moves(ax: Axes, ev: Evaluation, extent: Extent, legend: draw.Legend) -> None:
    """Transfers by direction, then zones (hatched), each with its total km²."""
    groups: dict[str, list[Any]] = {}
    for m in ev.moves:
        key = "zone" if m.kind == "zone" else _direction(m.source, m.target)
        groups.setdefault(key, []).append(m)
    for key in ("UA>RU", "RU>UA", ">DMZ", "zone"):
        moves = groups.get(key, [])
        geom = shapely.union_all([m.geometry for m in moves]) if moves else None
        if geom is None or geom.is_empty:
            continue
        hatch = "///" if key == "zone" else None
        shown = draw.display(geom, extent)
        drawn = draw.fill_polygons(
            ax,
            shown,
            facecolor=draw.rgba(COLOURS[key], ALPHA[key]),
            edgecolor=draw.darker(key),
            hatch=hatch,
            linewidth=0.9,
            zorder=4,
        )
        if drawn:
            km2 = sum(m.area_km2 for m in moves)
            label = DIRECTION_LABEL.get(key, "Demilitarised zone")
            if _ring_if_small(ax, shown, extent, key):
                label += ", ringed where too small to see"
            legend.fill(key, f"{label} ({km2:,.0f}{NBSP}km²)", hatch=hatch)


def _ring_if_small(ax: Axes, shown: BaseGeometry, extent: Extent, key: str) -> bool:
    """Ring the largest part of a layer too small to find on the map (< `SMALL_SHARE`)."""
    view_m2 = (extent[2] - extent[0]) * (extent[3] - extent[1])
    if shown.area >= SMALL_SHARE * view_m2:  # drawing units: only compared, never shown
        return False
    largest = max(shapely.get_parts(shown), key=lambda g: g.area)
    pt = largest.representative_point()
    ax.scatter(
        [pt.x],
        [pt.y],
        s=26**2,
        facecolors="none",
        edgecolors=COLOURS[key],
        linewidths=3,
        zorder=9,
    )
    return True


def _lines(ax: Axes, ev: Evaluation, extent: Extent, legend: draw.Legend) -> None:
    """Draw the contact line before, the direct contact after, each zone's two edges."""
    from territory.geodesy import length_km

    layers: list[tuple[str, str, list[BaseGeometry], dict[str, Any]]] = [
        ("front_before", "Contact line before", [ev.control.edge(RU)], {"lw": 1.3}),
        (
            "front_after",
            "Contact line after: direct contact",
            [ev.line_after.direct],
            {"lw": 2.6, "ls": (0, (4, 2.5))},
        ),
        (
            "edge_ua",
            "Zone edge after, Ukrainian side",
            [z.ua_edge for z in ev.line_after.zones],
            {"lw": 2.6},
        ),
        (
            "edge_ru",
            "Zone edge after, Russian side",
            [z.ru_edge for z in ev.line_after.zones],
            {"lw": 2.6, "ls": (0, (1.5, 1.5))},
        ),
    ]
    for key, label, all_geoms, style in layers:
        geoms = [g for g in all_geoms if not g.is_empty]
        if not geoms:
            continue
        drawn = draw.draw_lines(
            ax,
            draw.display(shapely.union_all(geoms), extent),
            colors=COLOURS[key],
            linewidths=style["lw"],
            linestyles=[style.get("ls", "solid")],
            capstyle="round",
            zorder=7,
        )
        if drawn:
            km = sum(length_km(g) for g in geoms)
            legend.line(
                key,
                f"{label} ({km:,.0f}{NBSP}km)",
                lw=style["lw"],
                ls=style.get("ls", "-"),
            )


def _places(
    ax: Axes, ev: Evaluation, legend: draw.Legend
) -> list[tuple[Any, str, int]]:
    """Hollow circles sized by population; returns (point, name, population) to label."""
    from territory.people import places_in

    seen: dict[Any, Mapping[str, Any]] = {}
    for m in ev.moves:
        for p in places_in(m.geometry):
            seen.setdefault(p.get("geonameid", (p["lon"], p["lat"])), p)
    shown = sorted(
        (p for p in seen.values() if p["population"] >= PLACE_MIN_POPULATION),
        key=lambda p: -p["population"],
    )
    if not shown:
        return []
    pts = [to_figure_crs(shapely.Point(p["lon"], p["lat"])) for p in shown]
    sizes = [draw.diameter_pt(p["population"]) ** 2 for p in shown]
    xs, ys = list(shapely.get_x(pts)), list(shapely.get_y(pts))
    ax.scatter(
        xs, ys, s=sizes, facecolors="none", edgecolors="white", linewidths=2.6, zorder=8
    )
    ax.scatter(
        xs,
        ys,
        s=sizes,
        facecolors="none",
        edgecolors=COLOURS["place"],
        linewidths=1.1,
        zorder=8,
    )
    kinds = {m.kind for m in ev.moves}
    where = {"transfer": "transfers", "zone": "zones"}.get(
        "".join(kinds), "transfers and zones"
    )
    legend.marker(
        f"Settlements of {PLACE_MIN_POPULATION:,}+ people in the {where} "
        f"({len(shown)} of {len(seen)}; GeoNames), sized by population"
    )
    return [(pt, p["name"], p["population"]) for pt, p in zip(pts, shown, strict=True)]


def _locator(
    fig: Figure,
    rect: Extent,
    control: Control,
    ev: Evaluation,
    *,
    focus: Extent,
    land: BaseGeometry | None,
) -> None:
    """Draw a small map of the whole country, the focus box drawn on it."""
    from matplotlib.patches import Rectangle

    fig_width_in, fig_height_in = SIZE_IN
    left, bottom, width, height = rect
    ax = fig.add_axes(
        (
            left / fig_width_in,
            bottom / fig_height_in,
            width / fig_width_in,
            height / fig_height_in,
        )
    )
    country = country_extent(control, aspect=width / height)
    whole = draw.fit(
        (
            min(country[0], focus[0]),
            min(country[1], focus[1]),
            max(country[2], focus[2]),
            max(country[3], focus[3]),
        ),
        aspect=width / height,
        pad=0.01,
        min_span_m=0.0,
    )
    coarse: dict[str, Any] = {"tolerance_deg": 0.01}
    ax.set_facecolor(COLOURS["other_land"])
    if land is not None:
        sea = shapely.box(*land.bounds).difference(land)
        draw.fill_polygons(
            ax, draw.display(sea, whole, **coarse), facecolor=COLOURS["sea"], lw=0
        )
    home = draw.display(control._partition.country["land"], **coarse)
    draw.fill_polygons(ax, home, facecolor=COLOURS["land"], lw=0)
    held = draw.display(control.holding(RU), **coarse)
    draw.fill_polygons(ax, held, facecolor=draw.rgba(COLOURS[RU], 0.45), lw=0)
    for m in ev.moves:
        key = "zone" if m.kind == "zone" else _direction(m.source, m.target)
        draw.fill_polygons(
            ax, draw.display(m.geometry, **coarse), facecolor=COLOURS[key], lw=0
        )
    draw.draw_lines(ax, home, colors=COLOURS["border"], linewidths=0.6)
    minx, miny, maxx, maxy = focus
    ax.add_patch(
        Rectangle(
            (minx, miny),
            maxx - minx,
            maxy - miny,
            fill=False,
            edgecolor="black",
            linewidth=1.8,
            zorder=5,
        )
    )
    draw.set_frame(ax, whole)
    ax.set_title("Where the map is: the box", fontsize=9.5, color=TEXT_GREY, loc="left")


def _new_figure() -> Figure:
    """Return an empty figure of `SIZE_IN` at `DPI`.

    No pyplot: it is shown inline in Jupyter.
    """
    return new_figure(size_in=SIZE_IN, dpi=DPI)


def _header(fig: Figure, title: str, lines: list[tuple[str, float, str]]) -> float:
    """Title and subtitle lines from the top; returns the header's height (inches)."""
    fig_width_in, fig_height_in = SIZE_IN
    y = fig_height_in - 0.2
    for text, size, colour, weight in [(title, 20, "black", "bold")] + [
        (t, s, c, "normal") for t, s, c in lines
    ]:
        # characters a line holds (DejaVu Sans: about 0.56 em a character)
        width = int((fig_width_in - MAP_LEFT_IN - 0.3) * 72 / (0.56 * size))
        wrapped = textwrap.fill(_plain(text), width)
        fig.text(
            MAP_LEFT_IN / fig_width_in,
            y / fig_height_in,
            wrapped,
            fontsize=size,
            color=colour,
            fontweight=weight,
            va="top",
            ha="left",
        )
        y -= (wrapped.count("\n") + 1) * size * 1.3 / 72 + 0.04
    return fig_height_in - y + 0.1


def _footer(fig: Figure) -> None:
    from territory.maps.style import ATTRIBUTION

    text = (
        f"{ATTRIBUTION}\nAreas in km² (WGS84 ellipsoidal, land only); lengths in km. "
        "Lambert conformal conic projection (standard parallels 46° and 50°N). "
        "Settlement populations: GeoNames, mostly from before 2022."
    )
    fig.text(
        MAP_LEFT_IN / SIZE_IN[0],
        0.08 / SIZE_IN[1],
        _plain(text),
        fontsize=8.5,
        color=TEXT_GREY,
        va="bottom",
        ha="left",
        linespacing=1.4,
    )


def _when(control: Control) -> str:
    from territory.tables import map_version_text

    note = f" Note: {control.note}." if control.note else ""
    return (
        f"Control as of {control.as_of} (evening): {map_version_text(control.snapshot)}, "
        f"snapshot {control.snapshot.label}.{note}"
    )


def _map_axes(fig: Figure, header_in: float) -> Axes:
    fig_width_in, fig_height_in = SIZE_IN
    height = fig_height_in - header_in - MAP_BOTTOM_IN
    return fig.add_axes(
        (
            MAP_LEFT_IN / fig_width_in,
            MAP_BOTTOM_IN / fig_height_in,
            MAP_WIDTH_IN / fig_width_in,
            height / fig_height_in,
        )
    )


def _finish(
    fig: Figure,
    ax: Axes,
    extent: Extent,
    control: Control,
    legend: draw.Legend,
    *,
    places: list,
    top_in: float,
) -> None:
    """Frame the map, add the scale bar, the names, the legend and the footer."""
    draw.set_frame(ax, extent)
    draw.graticule(ax, extent)
    legend.line("oblast", "Oblast boundary", lw=0.8)
    taken = [draw.scale_bar(ax, extent)]
    draw.place_labels(ax, control, extent, places, taken, named=PLACE_LABELS)
    fig_width_in, fig_height_in = SIZE_IN
    fig.legend(
        [h for h, _ in legend.rows],
        [_plain(textwrap.fill(label, 44)) for _, label in legend.rows],
        loc="upper left",
        bbox_to_anchor=(PANEL_LEFT_IN / fig_width_in, top_in / fig_height_in),
        frameon=False,
        fontsize=10.5,
        title="Legend",
        title_fontsize=12,
        alignment="left",
        handlelength=2.4,
        handleheight=1.2,
        labelspacing=0.7,
        borderaxespad=0,
    )
    _footer(fig)


def render_scenario_figure(
    ev: Evaluation, *, land: BaseGeometry | None = None
) -> Figure:
    """Return a static map of one evaluated scenario (a matplotlib Figure).

    Parameters
    ----------
    ev
        The evaluation to draw (`territory.accounting.evaluate`).
    land
        The land mask (`Record.land`, lon/lat), to draw the sea apart from
        the neighbouring countries; without it, all that is not the
        country's land is drawn as other land.

    Returns
    -------
    matplotlib.figure.Figure
        16 × 10 in at `DPI` (2,000 × 1,250 px as PNG): title, as-of date
        and map version, the reciprocity in words, the map focused on the
        transfers and zones (`focus_extent`) with a scale bar, a locator of
        the country, the legend and the attribution.  Save it with
        `save_figure`.
    """
    from territory.tables import reciprocity_text

    sc = ev.scenario
    fig = _new_figure()
    header_in = _header(
        fig,
        sc.title,
        [
            (f"{_when(ev.control)} Source: {sc.source}", 11.5, TEXT_GREY),
            (reciprocity_text(ev), 13, "#222222"),
        ],
    )
    extent = focus_extent(ev, aspect=_map_aspect(header_in))
    ax = _map_axes(fig, header_in)
    legend = draw.Legend()
    _base(ax, ev.control, extent, land)
    _control_layers(ax, ev.control, extent, legend, when=" before")
    _moves(ax, ev, extent, legend)
    _lines(ax, ev, extent, legend)
    places = _places(ax, ev, legend)
    top_in = SIZE_IN[1] - header_in
    whole = country_extent(ev.control)
    if (extent[2] - extent[0]) * (extent[3] - extent[1]) < 0.5 * (
        (whole[2] - whole[0]) * (whole[3] - whole[1])
    ):
        box_w = SIZE_IN[0] - PANEL_LEFT_IN - 0.2
        box_h = box_w / 1.45
        _locator(
            fig,
            (PANEL_LEFT_IN, top_in - box_h, box_w, box_h),
            ev.control,
            ev,
            focus=extent,
            land=land,
        )
        top_in -= box_h + 0.35
    _finish(fig, ax, extent, ev.control, legend, places=places, top_in=top_in)
    return fig


def render_control_figure(
    control: Control, *, land: BaseGeometry | None = None
) -> Figure:
    """Return a static map of control on a date over the whole country.

    Russian-held land, the grey zone, Ukrainian-held land and the contact
    line, with the as-of date, the map version, a scale bar, the legend and
    the attribution; `land` as in `render_scenario_figure`.
    """
    from territory.geodesy import length_km

    t = control.totals(official_area_km2=1.0)
    fig = _new_figure()
    header_in = _header(
        fig,
        f"Who holds what, as of {control.as_of}",
        [
            (
                f"Russian-held {t['occupied_km2']:,.0f} km² of {t['land_km2']:,.0f} km² of land "
                f"({t['occupied_pct']:.2f}%).",
                13,
                "#222222",
            ),
            (_when(control), 11.5, TEXT_GREY),
        ],
    )
    extent = country_extent(control, aspect=_map_aspect(header_in))
    ax = _map_axes(fig, header_in)
    legend = draw.Legend()
    _base(ax, control, extent, land)
    _control_layers(ax, control, extent, legend, when="")
    front = control.edge(RU)
    if draw.draw_lines(
        ax,
        draw.display(front, extent),
        colors=COLOURS["front_before"],
        linewidths=1.3,
        zorder=7,
    ):
        legend.line(
            "front_before", f"Contact line ({length_km(front):,.0f}{NBSP}km)", lw=1.3
        )
    _finish(fig, ax, extent, control, legend, places=[], top_in=SIZE_IN[1] - header_in)
    return fig


def save_figure(fig: Figure, path: Path | str) -> None:
    """Write a figure to `path` (.png, .svg or .pdf) atomically, at its own resolution.

    Raises
    ------
    OutputError
        If the name ends otherwise (the accepted ones are named), or the
        file cannot be written (`territory.io.output_file`).
    """
    from territory.errors import OutputError

    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        msg = (
            f"{path.name!r}: a static map is written as {', '.join(FORMATS)}; "
            "name the file like map.png"
        )
        raise OutputError(msg)
    save_chart(fig, path)
