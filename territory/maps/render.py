"""The three pages: control on a date, one scenario, several compared.

Each page is a folium map of the layers (`territory.maps.layers`) with the
page's chrome (`territory.maps.page`): a scenario or comparison page opens on
its transfers and zones, a control page on the whole country.  Write it with
`territory.maps.offline.save_map`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from territory.control import RU, contact_line
from territory.maps import layers, page
from territory.maps.offline import folium_module, offline_map_class
from territory.maps.style import COLOURS

if TYPE_CHECKING:
    import folium
    from shapely.geometry.base import BaseGeometry

    from territory.accounting import Evaluation
    from territory.control import Control


def new_map(title: str) -> Any:
    """Return an empty page: no tiles, the view controls on the right, its legend, title and style."""
    fmap = offline_map_class()(
        location=(48.6, 31.4),
        zoom_start=6,
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
        zoom_control="topright",
        zoom_snap=0.25,
    )
    fmap.territory_legend = page.Legend()
    fmap.get_root().header.add_child(page.html_element(page.head(title)))
    return fmap


def render_control(
    control: Control, *, tiles: bool = False, land: BaseGeometry | None = None
) -> folium.Map:
    """Build the control map on a date: oblasts, Russian-held land, grey zone, contact line.

    The land the partition removed (slivers and water) is a layer hidden by
    default, its total in its name.  The page opens on the whole country.
    `land`, the land mask (`Record.land`), draws other countries' land apart
    from the sea.
    """
    folium = folium_module()
    fmap = new_map(f"Control as of {control.as_of}")
    layers.add_base(fmap, control, tiles=tiles, land=land)
    layers.add_control(fmap, control, label="")
    layers.add_removed(fmap, control)
    front = contact_line(control.holding(RU), control._partition.country["land"])
    layers.line_layer(
        fmap,
        "Contact line",
        front,
        COLOURS["front_before"],
        dash=None,
        legend="Contact line",
    )
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    page.add_view(fmap, control)
    t = control.totals(official_area_km2=1.0)
    title = page.title_box(
        f"Who holds what, as of {control.as_of}",
        f"Russian-held {t['occupied_km2']:,.0f} km² of {t['land_km2']:,.0f} km² of land "
        f"({t['occupied_pct']:.2f}%)",
    )
    root = fmap.get_root().html
    root.add_child(
        page.html_element(
            page.panels(title, page.legend_box(control, fmap.territory_legend))
        )
    )
    root.add_child(page.html_element(page.attribution()))
    return fmap


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
    folium = folium_module()
    sc = ev.scenario
    fmap = new_map(sc.title)
    layers.add_base(
        fmap,
        ev.control,
        tiles=tiles,
        land_label="Ukrainian-held land before",
        land=land,
    )
    layers.add_control(fmap, ev.control)
    layers.add_removed(fmap, ev.control)
    layers.add_moves(fmap, ev)
    layers.add_lines(fmap, ev)
    layers.add_places(fmap, ev)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    page.add_view(fmap, ev.control, [ev])
    title = page.title_box(
        sc.title,
        f"Control as of {ev.control.as_of} · {sc.source}",
        about=sc.description,
        citation=sc.citation,
    )
    root = fmap.get_root().html
    root.add_child(
        page.html_element(
            page.panels(
                title,
                page.headline_box(ev),
                page.legend_box(ev.control, fmap.territory_legend),
            )
        )
    )
    root.add_child(page.html_element(page.attribution()))
    return fmap


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
    folium = folium_module()
    if not evs:
        msg = "render_compare needs at least one evaluation"
        raise ValueError(msg)
    dates = sorted({ev.control.as_of for ev in evs})
    own_dates = len(dates) > 1
    fmap = new_map("Scenarios compared")
    layers.add_base(
        fmap,
        evs[0].control,
        tiles=tiles,
        occupied=not own_dates,
        land_label="Ukrainian-held land before",
        land=land,
    )
    if not own_dates:
        layers.add_control(fmap, evs[0].control)
    for i, ev in enumerate(evs):
        name = f"Scenario: {ev.scenario.title}"
        if own_dates:
            name += f" (as of {ev.control.as_of})"
        layers.add_scenario_group(fmap, ev, name, show=i == 0, own_date=own_dates)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    page.add_view(fmap, evs[0].control, evs)
    title = page.title_box(
        "Swap scenarios compared",
        f"{len(evs)} scenarios · control as of "
        + ", ".join(str(d) for d in dates)
        + (" (each scenario on its own date)" if own_dates else ""),
    )
    table = page.compare_box(evs)
    legend = page.legend_box([ev.control for ev in evs], fmap.territory_legend)
    root = fmap.get_root().html
    root.add_child(page.html_element(page.panels(title, table, legend)))
    root.add_child(page.html_element(page.attribution()))
    return fmap
