"""What the pages and the notebook SVG share: colours, attribution, escaping, display geometry.

Text is data, never markup or a template: every text that reaches a page (from
a scenario file, a data file or the live API) goes through `esc`, which
HTML-escapes it and writes its braces as character references, so it can
neither inject script nor form a Jinja2 delimiter when folium/branca compile
rendered elements (they do: ``MacroElement.render`` wraps each rendered macro in
``Element(...)``, which compiles it).
"""

from __future__ import annotations

import html
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from territory.charts import LAYER_COLOURS, OKABE_ITO
from territory.control import GREY, RU, UA

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

ATTRIBUTION = (
    "Control: DeepStateMap (deepstatemap.live) · Boundaries: geoBoundaries (Runfola et al. 2020), "
    "© OpenStreetMap contributors (ODbL) · Land: Made with Natural Earth · Places: GeoNames (CC BY 4.0)"
)

HOLDER_LABEL = {RU: "Russian-held", GREY: "Grey zone", UA: "Ukrainian-held"}


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


def display_geometry(
    geom: BaseGeometry, tolerance_deg: float = DISPLAY_TOLERANCE_DEG
) -> BaseGeometry:
    """Simplify `geom` for display and snap it to a 1e-5° grid (~1 m)."""
    if geom.is_empty:
        return geom
    simple = shapely.simplify(geom, tolerance_deg, preserve_topology=True)
    return shapely.set_precision(simple, DISPLAY_GRID_DEG)


def direction(source: str, target: str) -> str:
    """Return the key of a move's direction: ``UA>RU``, ``RU>UA`` or ``>DMZ``.

    >>> direction("UA", "RU"), direction("RU", "DMZ")
    ('UA>RU', '>DMZ')
    """
    return ">DMZ" if target == "DMZ" else f"{source}>{target}"
