"""Drawing of the static maps (`territory.maps.figures`): geometry to matplotlib.

The projection (`FIGURE_CRS`), the colours, shapely geometry as filled
paths and line collections, the legend's rows, the graticule, the scale bar
in true kilometres, and names placed where they collide with nothing.
Private: `territory.maps.figures` is the public face.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry.base import BaseGeometry

from territory.charts import LAYER_COLOURS, TEXT_GREY, _plain
from territory.control import GREY, RU

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from territory.control import Control


#: Projection of the figures: Lambert conformal conic on Ukraine (standard
#: parallels 46° and 50°N, central meridian 31.5°E), metres.  The scale is
#: within 0.25% of true over the country.
FIGURE_CRS = (
    "+proj=lcc +lat_1=46 +lat_2=50 +lat_0=48 +lon_0=31.5 +ellps=WGS84 +units=m +no_defs"
)
#: Display simplification of lon/lat geometry (degrees, ~150 m; accounting
#: never sees it).
DISPLAY_TOLERANCE_DEG = 0.002

#: Named colours: the layers' from Okabe–Ito (`territory.charts.OKABE_ITO`),
#: the base's (sea, land, boundaries) neutral; no random colours.
COLOURS = {
    **LAYER_COLOURS,
    "sea": "#dbe8f3",
    "other_land": "#e7e5e0",
    "land": "#fdfcf8",
    "border": "#4d4d4d",
    "oblast": "#8f8f8f",
    "place": "#1a1a1a",
}
#: Fill opacity of each layer: Russian-held land light, so the moves stand out.
ALPHA = {RU: 0.32, GREY: 0.55, "UA>RU": 0.85, "RU>UA": 0.85, ">DMZ": 0.8, "zone": 0.7}
#: A view: (min x, min y, max x, max y), metres in `FIGURE_CRS`.
Extent = tuple[float, float, float, float]
#: Between a number and its unit, so that a legend line never breaks there.
NBSP = "\u00a0"


def to_figure_crs(geom: BaseGeometry) -> BaseGeometry:
    """Return a lon/lat (EPSG:4326) geometry in `FIGURE_CRS` (metres)."""
    from territory.crs import STORAGE_CRS, transform

    return transform(geom, STORAGE_CRS, FIGURE_CRS)


def display(
    geom: BaseGeometry,
    extent: Extent | None = None,
    *,
    tolerance_deg: float = DISPLAY_TOLERANCE_DEG,
) -> BaseGeometry:
    """Simplify a lon/lat geometry, project it, and cut it to `extent` (grown 10%)."""
    if geom.is_empty:
        return geom
    out = to_figure_crs(shapely.simplify(geom, tolerance_deg))
    if extent is not None:
        minx, miny, maxx, maxy = extent
        grow = 0.1 * max(maxx - minx, maxy - miny)
        out = shapely.clip_by_rect(
            out, minx - grow, miny - grow, maxx + grow, maxy + grow
        )
    return out


def fit(
    bounds: Extent, *, aspect: float | None, pad: float, min_span_m: float
) -> Extent:
    """Grow `bounds` by `pad` of their larger span, then to the `aspect` (width/height; None: as they are)."""
    minx, miny, maxx, maxy = bounds
    span = max(maxx - minx, maxy - miny, min_span_m)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    w = max(maxx - minx, min_span_m) + 2 * pad * span
    h = max(maxy - miny, min_span_m) + 2 * pad * span
    if aspect is not None:
        w, h = max(w, h * aspect), max(h, w / aspect)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def geometry_path(geom: BaseGeometry) -> Any:
    """Return a matplotlib Path of every polygon in `geom`.

    Holes are wound the other way.
    """
    import numpy as np
    from matplotlib.path import Path as MplPath

    verts, codes = [], []
    for part in shapely.get_parts(shapely.get_parts(geom)):
        if part.geom_type != "Polygon" or part.is_empty:
            continue
        poly = shapely.orient_polygons(part)
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            kinds = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
            kinds[0], kinds[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
            verts.append(xy)
            codes.append(kinds)
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def fill_polygons(ax: Axes, geom: BaseGeometry, **style: Any) -> bool:
    """Fill the polygons of `geom` (figure metres) as one patch; False if none."""
    from matplotlib.patches import PathPatch

    path = geometry_path(geom)
    if path is None:
        return False
    ax.add_patch(PathPatch(path, **style))
    return True


def draw_lines(ax: Axes, geom: BaseGeometry, **style: Any) -> bool:
    """Draw the lines of `geom` (a polygon's outline) as one collection; False if none."""
    from matplotlib.collections import LineCollection

    if geom.geom_type in ("Polygon", "MultiPolygon"):
        geom = geom.boundary
    parts = [
        p.coords
        for p in shapely.get_parts(shapely.get_parts(geom))
        if p.geom_type in ("LineString", "LinearRing") and not p.is_empty
    ]
    if not parts:
        return False
    ax.add_collection(LineCollection(parts, **style))
    return True


def grown(extent: Extent, share: float = 0.1) -> Extent:
    minx, miny, maxx, maxy = extent
    g = share * max(maxx - minx, maxy - miny)
    return (minx - g, miny - g, maxx + g, maxy + g)


def graticule(ax: Axes, extent: Extent) -> None:
    """Meridians and parallels every degree, labelled outside the frame as ticks."""
    from territory.crs import STORAGE_CRS, transform

    lon0, lat0, lon1, lat1 = transform(
        shapely.box(*extent), FIGURE_CRS, STORAGE_CRS
    ).bounds
    frame = shapely.box(*extent)
    edges = {
        "x": shapely.LineString([extent[:2], (extent[2], extent[1])]),  # bottom
        "y": shapely.LineString([extent[:2], (extent[0], extent[3])]),  # left
    }
    ticks: dict[str, tuple[list[float], list[str]]] = {"x": ([], []), "y": ([], [])}
    for axis, lo, hi, other in (
        ("x", lon0, lon1, (lat0, lat1)),
        ("y", lat0, lat1, (lon0, lon1)),
    ):
        steps = [
            other[0] - 1 + k / 10 for k in range(int(10 * (other[1] - other[0] + 2)))
        ]
        for deg in range(math.floor(lo), math.ceil(hi) + 1):
            pts = [(deg, v) if axis == "x" else (v, deg) for v in steps]
            line = to_figure_crs(shapely.LineString(pts))
            draw_lines(
                ax, line.intersection(frame), colors="#b5b5b5", linewidths=0.4, zorder=4
            )
            hit = line.intersection(edges[axis])
            if isinstance(hit, shapely.Point):
                ticks[axis][0].append(hit.x if axis == "x" else hit.y)
                ticks[axis][1].append(f"{deg}°{'E' if axis == 'x' else 'N'}")
    ax.set_xticks(*ticks["x"])
    ax.set_yticks(*ticks["y"])
    ax.tick_params(labelsize=8.5, labelcolor=TEXT_GREY, color="#9a9a9a", length=3)


class Legend:
    """The legend's rows, in the order drawn: only layers that drew something."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, str]] = []

    def fill(self, key: str, label: str, *, hatch: str | None = None) -> None:
        from matplotlib.patches import Patch

        handle = Patch(
            facecolor=rgba(COLOURS[key], ALPHA.get(key, 1.0)),
            edgecolor=darker(key),
            hatch=hatch,
            linewidth=0.8,
        )
        self.rows.append((handle, label))

    def line(self, key: str, label: str, **style: Any) -> None:
        from matplotlib.lines import Line2D

        self.rows.append((Line2D([], [], color=COLOURS[key], **style), label))

    def marker(self, label: str) -> None:
        from matplotlib.lines import Line2D

        handle = Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markersize=10,
            markerfacecolor="none",
            markeredgecolor=COLOURS["place"],
        )
        self.rows.append((handle, label))


def rgba(colour: str, alpha: float) -> tuple[float, float, float, float]:
    from matplotlib.colors import to_rgba

    return to_rgba(colour, alpha)


def darker(key: str) -> str:
    """Return a darker outline of a fill, so adjacent fills stay apart."""
    from matplotlib.colors import to_hex, to_rgb

    r, g, b = to_rgb(COLOURS[key])
    return to_hex((0.6 * r, 0.6 * g, 0.6 * b))


def diameter_pt(population: int) -> float:
    """Return a settlement's circle diameter (pt): its area grows with population."""
    return 4 + 10 * math.sqrt(population / 100_000)


def place_labels(
    ax: Axes, control: Control, extent: Extent, places: list, taken: list, *, named: int
) -> None:
    """Oblast names in view, then the `named` largest places' names, none colliding.

    `places` are (point, name, population), largest first; `taken` holds the
    window boxes already covered (the scale bar), and grows with each name.
    """
    from matplotlib import patheffects
    from matplotlib.transforms import Bbox

    # figures are drawn on the Agg canvas, which has get_renderer; matplotlib
    # types the base canvas, which does not
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    frame = ax.get_window_extent(renderer)
    halo = [patheffects.withStroke(linewidth=3, foreground="white")]
    view = shapely.box(*extent)
    for pt, _name, population in places:  # names never cover a settlement
        x, y = ax.transData.transform((pt.x, pt.y))
        r = diameter_pt(population) / 2 * ax.figure.dpi / 72
        taken.append(Bbox.from_extents(x - r, y - r, x + r, y + r))

    def place(text: Any) -> bool:
        bb = text.get_window_extent(renderer).expanded(1.05, 1.1)
        inside = frame.contains(bb.x0, bb.y0) and frame.contains(bb.x1, bb.y1)
        if inside and not any(bb.overlaps(t) for t in taken):
            taken.append(bb)
            return True
        text.remove()
        return False

    regions = control.regions
    for name, kind, geom in zip(
        regions["name"], regions["kind"], regions.geometry, strict=True
    ):
        if kind == "city":
            continue
        label = name
        if kind == "oblast" and not name.lower().endswith(" oblast"):
            label = f"{name} oblast"  # Donetsk oblast, not the city of Donetsk
        whole = display(geom)
        seen = whole.intersection(view)
        # named if mostly in view, or if its part in view is large enough to hold the name
        if seen.is_empty or seen.area < min(0.04 * view.area, 0.5 * whole.area):
            continue
        pt = seen.representative_point()
        size = 10.5 if extent[2] - extent[0] > 1e6 else 11.5  # the country: smaller
        for dy in (0, size, -size):  # at its point, else a line above or below
            text = ax.annotate(
                _plain(label),
                (pt.x, pt.y),
                xytext=(0, dy),
                textcoords="offset points",
                fontsize=size,
                color="#6a6a6a",
                ha="center",
                va="center",
                zorder=9,
                path_effects=halo,
                fontstyle="italic",
            )
            if place(text):
                break
    for pt, name, population in places[:named]:
        r = diameter_pt(population) / 2 + 1.5
        for dx, dy, ha, va in (
            (r, 0, "left", "center"),
            (-r, 0, "right", "center"),
            (0, r, "center", "bottom"),
            (0, -r, "center", "top"),
        ):
            text = ax.annotate(
                _plain(name),
                (pt.x, pt.y),
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=10.5,
                color=COLOURS["place"],
                zorder=10,
                path_effects=halo,
            )
            if place(text):
                break


def nice_km(target_km: float) -> float:
    steps = (5, 10, 20, 25, 50, 100, 150, 200, 250, 300, 500)
    return max([s for s in steps if s <= target_km] or [steps[0]])


def scale_bar(ax: Axes, extent: Extent) -> Any:
    """Draw a bar of true kilometres at its own latitude, lower left.

    Returns its window box.
    """
    from matplotlib.patches import Rectangle
    from pyproj import Proj

    from territory.crs import STORAGE_CRS, transform

    minx, miny, maxx, maxy = extent
    w, h = maxx - minx, maxy - miny
    km = nice_km(0.2 * w / 1000)
    x0, y0 = minx + 0.03 * w, miny + 0.05 * h
    centre = transform(shapely.Point(x0 + km * 500, y0), FIGURE_CRS, STORAGE_CRS)
    lon, lat = shapely.get_x(centre), shapely.get_y(centre)
    k = Proj(FIGURE_CRS).get_factors(lon, lat).parallel_scale
    length = km * 1000 * k  # metres on the map for km kilometres on the ground
    bar_h = 0.008 * h
    back = Rectangle(
        (x0 - 0.012 * w, y0 - 0.035 * h),
        length + 0.045 * w,
        0.085 * h,
        facecolor=(1, 1, 1, 0.85),
        edgecolor="#b0b0b0",
        linewidth=0.6,
        zorder=11,
    )
    ax.add_patch(back)
    for i, colour in enumerate(("black", "white")):
        ax.add_patch(
            Rectangle(
                (x0 + i * length / 2, y0),
                length / 2,
                bar_h,
                facecolor=colour,
                edgecolor="black",
                linewidth=0.8,
                zorder=12,
            )
        )
    style: dict[str, Any] = {
        "fontsize": 9.5,
        "ha": "center",
        "va": "bottom",
        "zorder": 12,
    }
    for frac, text in ((0, "0"), (0.5, f"{km / 2:g}"), (1, f"{km:g} km")):
        ax.text(x0 + frac * length, y0 + 1.6 * bar_h, text, **style)
    ax.text(
        x0,
        y0 - 0.6 * bar_h,
        f"true at {lat:.1f}°N",
        fontsize=8,
        color=TEXT_GREY,
        ha="left",
        va="top",
        zorder=12,
    )
    return back.get_window_extent(ax.figure.canvas.get_renderer())  # type: ignore[attr-defined]


def set_frame(ax: Axes, extent: Extent) -> None:
    ax.set_xlim(extent[0], extent[2])
    ax.set_ylim(extent[1], extent[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor("#9a9a9a")
