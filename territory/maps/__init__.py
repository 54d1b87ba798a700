"""Maps: interactive HTML pages (folium/Leaflet) and static figures (matplotlib).

This is the only package that imports folium.  Maps are built from the
accounting results; geometry is simplified for display only (accounting
always uses full resolution).

- `render`: the three pages, `render_control` (control on a date),
  `render_scenario` (one evaluation) and `render_compare` (several);
- `layers`: their folium layers (base, holdings, removed land, moves, lines,
  settlements), each with its legend row;
- `page`: the page's chrome (title, headline, legend, comparison table,
  attribution, the opening view and its buttons), rendered from the Jinja2
  templates in ``templates/`` with every value passed as a variable and
  escaped;
- `offline`: `to_html` / `save_map`, Leaflet inlined so that a page works
  with no network, stable element ids;
- `figures` (drawing in private `_draw`): the static PNG/SVG/PDF maps;
- `svg`: the small SVG of the notebook reprs;
- `style`: colours, attribution, `esc` (the one way text reaches a page) and
  display geometry;
- `write`: the step `territory map` and `territory evaluate --map` share,
  checking a map's file name and writing a page or a figure.

Text is data, never markup or a template: see `territory.maps.style.esc` and
`territory.maps.page`.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from territory.maps.figures import (
        FIGURE_CRS,
        PLACE_MIN_POPULATION,
        country_extent,
        focus_extent,
        moves_extent,
        render_control_figure,
        render_scenario_figure,
        save_figure,
    )
    from territory.maps.layers import PLACE_RADIUS_PX, move_features, place_radius_px
    from territory.maps.offline import save_map, to_html
    from territory.maps.page import country_bounds, focus_bounds, leaflet_bounds
    from territory.maps.render import render_compare, render_control, render_scenario
    from territory.maps.style import (
        ATTRIBUTION,
        COLOURS,
        DISPLAY_GRID_DEG,
        DISPLAY_TOLERANCE_DEG,
        HOLDER_LABEL,
        display_geometry,
        esc,
    )
    from territory.maps.svg import mini_map_svg
    from territory.maps.write import (
        FIGURE_SUFFIXES,
        PAGE_SUFFIXES,
        check_map_name,
        is_figure,
        write_figure,
        write_page,
    )

#: Where each name lives: the package imports a module when one of its names
#: is first asked for (PEP 562), so that `territory evaluate` writing a table
#: does not import the map and figure code it does not use.
_HOME = {
    "FIGURE_CRS": "territory.maps.figures",
    "PLACE_MIN_POPULATION": "territory.maps.figures",
    "country_extent": "territory.maps.figures",
    "focus_extent": "territory.maps.figures",
    "moves_extent": "territory.maps.figures",
    "render_control_figure": "territory.maps.figures",
    "render_scenario_figure": "territory.maps.figures",
    "save_figure": "territory.maps.figures",
    "PLACE_RADIUS_PX": "territory.maps.layers",
    "move_features": "territory.maps.layers",
    "place_radius_px": "territory.maps.layers",
    "save_map": "territory.maps.offline",
    "to_html": "territory.maps.offline",
    "country_bounds": "territory.maps.page",
    "focus_bounds": "territory.maps.page",
    "leaflet_bounds": "territory.maps.page",
    "render_compare": "territory.maps.render",
    "render_control": "territory.maps.render",
    "render_scenario": "territory.maps.render",
    "ATTRIBUTION": "territory.maps.style",
    "COLOURS": "territory.maps.style",
    "DISPLAY_GRID_DEG": "territory.maps.style",
    "DISPLAY_TOLERANCE_DEG": "territory.maps.style",
    "HOLDER_LABEL": "territory.maps.style",
    "display_geometry": "territory.maps.style",
    "esc": "territory.maps.style",
    "mini_map_svg": "territory.maps.svg",
    "FIGURE_SUFFIXES": "territory.maps.write",
    "PAGE_SUFFIXES": "territory.maps.write",
    "check_map_name": "territory.maps.write",
    "is_figure": "territory.maps.write",
    "write_figure": "territory.maps.write",
    "write_page": "territory.maps.write",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        msg = f"module 'territory.maps' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])


__all__ = [
    "ATTRIBUTION",
    "COLOURS",
    "DISPLAY_GRID_DEG",
    "DISPLAY_TOLERANCE_DEG",
    "FIGURE_CRS",
    "FIGURE_SUFFIXES",
    "HOLDER_LABEL",
    "PAGE_SUFFIXES",
    "PLACE_MIN_POPULATION",
    "PLACE_RADIUS_PX",
    "check_map_name",
    "country_bounds",
    "country_extent",
    "display_geometry",
    "esc",
    "focus_bounds",
    "focus_extent",
    "is_figure",
    "leaflet_bounds",
    "mini_map_svg",
    "move_features",
    "moves_extent",
    "place_radius_px",
    "render_compare",
    "render_control",
    "render_control_figure",
    "render_scenario",
    "render_scenario_figure",
    "save_figure",
    "save_map",
    "to_html",
    "write_figure",
    "write_page",
]
