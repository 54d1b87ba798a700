"""The page's chrome: title, headline, legend, comparison table, attribution, view.

Each box is rendered from a Jinja2 template kept in ``templates/`` (package
data), with every value passed as a variable: the environment autoescapes,
and its `finalize` writes every value that is not already `Markup` through
`territory.maps.style.esc`, so text from a scenario, a data file or the live
API is HTML-escaped with its braces as character references.  Nothing from
data is ever compiled as a template: the templates are this package's files,
and their output reaches the folium page as the body of an `html_element`,
whose own template is a constant.  HTML built elsewhere (the tables of
`territory.tables`, which escape their cells with `esc`) is passed as
`Markup`.

The view: a scenario or comparison page opens on its transfers and zones
(`focus_bounds`, the static figures' view: parts of 1 km² or more, padded),
fitted between the boxes on the left and the controls on the right, with
buttons to the whole country and back (`add_view`, ``templates/view.js``); a
control page opens on the whole country.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import shapely

from territory.crs import STORAGE_CRS, to_latlon, transform
from territory.maps.figures import FIGURE_CRS, moves_extent
from territory.maps.style import ATTRIBUTION, COLOURS, esc

if TYPE_CHECKING:
    from jinja2 import Environment
    from markupsafe import Markup

    from territory.accounting import Evaluation
    from territory.control import Control


def _as_text(value: Any) -> Any:
    """Finalize every template value: `Markup` as it is, anything else through `esc`."""
    from markupsafe import Markup

    if isinstance(value, Markup):
        return value
    return Markup(esc(value))


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Return the Jinja2 environment of the page's templates (autoescaping)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("territory.maps", "templates"),
        autoescape=True,
        finalize=_as_text,
        undefined=StrictUndefined,
    )


def render(name: str, **data: Any) -> Markup:
    """Render the template `name` with `data` as its variables."""
    from markupsafe import Markup

    return Markup(environment().get_template(name).render(**data))


def safe(html: str) -> Markup:
    """Mark HTML this library built (its text escaped with `esc`) as such."""
    from markupsafe import Markup

    return Markup(html)


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


def html_element(body: str) -> Any:
    """Return a page element showing `body` (a rendered box), never compiled."""
    return _html_class()(str(body))


# --------------------------------------------------------------------------- the legend


@dataclass(frozen=True, slots=True)
class Swatch:
    """A legend row's swatch and label: a fill, a line, a dashed line, a thin line or a circle.

    `opacity` is a fill's (at least 0.35, so that a light fill still shows).
    """

    colour: str
    label: str
    kind: str = "fill"
    opacity: float = 0.6

    def __post_init__(self) -> None:
        object.__setattr__(self, "opacity", round(max(self.opacity, 0.35), 2))


@dataclass
class Legend:
    """The legend's rows, each keyed to the layers that draw it.

    A layer that draws something gets a key (``L1``, ``L2`` …), which its
    Leaflet layer carries as the option ``territoryKey``; a row lists the
    keys of the layers it stands for and is shown while one of them is on
    the map (``templates/view.js`` follows the layer control), so the legend
    lists exactly the layers drawn.  Rows with the same swatch and label
    are one row.
    """

    rows: dict[Swatch, list[str]] = field(default_factory=dict)
    shown: set[str] = field(default_factory=set)
    count: int = 0

    def key(self) -> str:
        """Return a new layer key."""
        self.count += 1
        return f"L{self.count}"

    def add(self, swatch: Swatch, *, show: bool, key: str | None = None) -> str:
        """Add a row for the layer `key` (a new one if None); return the key."""
        key = key or self.key()
        self.rows.setdefault(swatch, []).append(key)
        if show:
            self.shown.add(key)
        return key

    def entries(self) -> list[dict[str, Any]]:
        """Return the rows for ``templates/legend.html``.

        Those of layers hidden on opening are hidden.
        """
        return [
            {"swatch": s, "layers": keys, "shown": bool(self.shown.intersection(keys))}
            for s, keys in self.rows.items()
        ]


# --------------------------------------------------------------------------- the boxes


def head(title: str) -> Markup:
    """Render the page's ``<title>`` and style."""
    from territory.tables import TABLE_CSS

    return render(
        "head.html", title=title, sea=COLOURS["sea"], table_css=safe(TABLE_CSS)
    )


def panels(*boxes: Markup) -> Markup:
    """Render the left column: title, headline or table, legend, one under the other.

    They never overlap.
    """
    return render("panels.html", boxes=boxes)


def title_box(text: str, sub: str, *, about: str = "", citation: str = "") -> Markup:
    """Render the title box; a scenario's description and citation folded under it."""
    return render(
        "title.html",
        title=text,
        sub=sub,
        about=about.strip(),
        citation=citation if citation.strip() else "",
    )


def headline_box(ev: Evaluation) -> Markup:
    """Render the headline: the reciprocity in words, and folded under it the tables.

    The tables (`territory.tables.summary_html`): flows, both ratios with
    their definitions, and the contact line, with ruled-off headers.
    "Receives nothing in return" only when Ukraine cedes land to Russia and
    Russia cedes none.  Folded on opening, so that it covers no map.
    """
    from territory.tables import reciprocity_text, summary_html

    words = reciprocity_text(ev)
    tables = summary_html(ev).replace(f"<div>{esc(words)}</div>", "", 1)  # said above
    return render("headline.html", words=words, tables=safe(tables))


def legend_box(controls: Control | Sequence[Control], legend: Legend) -> Markup:
    """Render the legend: a row per layer drawn, units, and the control maps shown.

    For every control map shown: its date and snapshot.
    """
    from territory.control import Control
    from territory.tables import map_version_text

    if isinstance(controls, Control):
        controls = [controls]
    by_date = {c.as_of: c for c in controls}
    shown = [
        {
            "as_of": d,
            "snapshot": c.snapshot.label,
            "version": map_version_text(c.snapshot),
            "note": c.note or "",
        }
        for d, c in sorted(by_date.items())
    ]
    return render("legend.html", rows=legend.entries(), controls=shown)


def attribution() -> Markup:
    """Render the data's attribution (`ATTRIBUTION`), bottom right."""
    return render("attribution.html", attribution=ATTRIBUTION)


def compare_box(evs: Sequence[Evaluation]) -> Markup:
    """Render the comparison table: per scenario, as-of date, flows (km²), both ratios.

    A flow no scenario has, and the zone ratio when no scenario has a zone,
    are left out (said under the table).
    """
    from territory.accounting import DMZ, FLOWS, RATIO_DEFINITIONS
    from territory.control import GREY, RU, UA
    from territory.tables import html_table, ratio_text

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
    return render(
        "compare.html",
        table=safe(table),
        ratios=[(name, RATIO_DEFINITIONS[name]) for name in ratios],
        omitted=omitted,
        zones="zone" in ratios,
        earlier=any(earlier(ev) for ev in evs),
    )


# --------------------------------------------------------------------------- the view


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
    """Return the whole country's view: its land's bounds, Leaflet (lat, lon) order."""
    return leaflet_bounds(control._partition.country["land"].bounds)


def focus_bounds(evs: Sequence[Evaluation]) -> list[list[float]] | None:
    """Return the view the page opens on: the evaluations' transfers and zones, padded.

    The box of `territory.maps.figures.moves_extent` (the static figures'
    view: every part of at least 1 km², so that crumbs along the borders do
    not pull it into Russia; padded by 12%, at least 150 km across), in
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


@lru_cache(maxsize=1)
def _view_class() -> type:
    from branca.element import MacroElement

    class View(MacroElement):
        """The opening view, the view buttons and the legend's sync (``templates/view.js``)."""

        _template = environment().get_template("view.js")

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


def add_view(fmap: Any, control: Control, evs: Iterable[Evaluation] = ()) -> None:
    """Open on `evs`' transfers and zones (`focus_bounds`), with a button back to the country.

    Add it after every layer and the layer control: the script measures the
    controls to fit the view between them.
    """
    evs = list(evs)
    kinds = {m.kind for ev in evs for m in ev.moves}
    label = {
        frozenset({"transfer"}): "Transfers",
        frozenset({"zone"}): "Zones",
    }.get(frozenset(kinds), "Transfers and zones")
    fmap.add_child(_view_class()(country_bounds(control), focus_bounds(evs), label))
