"""A small static SVG of a control map or an evaluation, for notebook reprs.

No folium, no matplotlib: the oblasts, Russian-held land and an evaluation's
moves as SVG paths on a fixed frame of the country; move names are text
(`territory.maps.style.esc`), never markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shapely
from shapely.geometry.base import BaseGeometry

from territory.control import RU
from territory.maps.style import COLOURS, direction, display_geometry, esc

if TYPE_CHECKING:
    from territory.accounting import Evaluation
    from territory.control import Control


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
        key = "zone" if m.kind == "zone" else direction(m.source, m.target)
        shapes.append(
            f'<path d="{path(m.geometry)}" fill="{COLOURS[key]}" fill-opacity=".8"><title>{esc(m.name)}</title></path>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_px}" height="{height}" '
        f'style="background:{COLOURS["sea"]}">{"".join(shapes)}</svg>'
    )
