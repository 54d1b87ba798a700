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
