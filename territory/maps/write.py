"""Write a map to a checked destination: an HTML page, or a static figure.

The step `territory map` and `territory evaluate --map` share: a file name is
checked before any work (`check_map_name`), then one evaluation, several
(compared on one page) or a control map alone is rendered and written
atomically (`write_page`, `write_figure`, through `territory.io`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from territory.errors import OutputError

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from territory.accounting import Evaluation
    from territory.control import Control
    from territory.io import OutputTarget

#: File name endings of an HTML page and of a static figure (`territory.maps.figures`).
PAGE_SUFFIXES = (".html", ".htm")
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def is_figure(output: Path) -> bool:
    """Whether `output` names a static figure (.png, .svg, .pdf) rather than a page.

    >>> is_figure(Path("alaska.PNG")), is_figure(Path("alaska.html"))
    (True, False)
    """
    return output.suffix.lower() in FIGURE_SUFFIXES


def check_map_name(
    output: Path, *, option: str = "-o/--output", figures: bool = False
) -> None:
    """Refuse a map file name that is not .html, or with `figures` .png/.svg/.pdf (before any work).

    An existing destination that is not a regular file (``/dev/stdout``) is
    accepted whatever its name.

    Raises
    ------
    OutputError
        Naming `option`, the file and the names accepted (the CLI: exit 2).
    """
    accepted = PAGE_SUFFIXES + (FIGURE_SUFFIXES if figures else ())
    if output.suffix.lower() in accepted or (output.exists() and not output.is_file()):
        return
    if figures:
        msg = (
            f"{option} {output.name!r}: a map is written as {', '.join(accepted)}; "
            "name the file like map.html (interactive) or map.png (static)"
        )
    else:
        msg = (
            f"{option} {output.name!r}: maps are HTML pages; give a .html file name "
            "(for a .png, .svg or .pdf figure: territory map SCENARIO -o FILE)"
        )
    raise OutputError(msg)


def write_page(
    target: OutputTarget | Path | str,
    evaluations: Sequence[Evaluation] = (),
    *,
    control: Control | None = None,
    self_contained: bool = True,
    tiles: bool = False,
    land: BaseGeometry | None = None,
) -> None:
    """Render an HTML page and write it to `target` (`territory.maps.offline.save_map`).

    One evaluation is a scenario page (`render_scenario`), several one page
    comparing them (`render_compare`); with none, `control` alone
    (`render_control`).  `land` (the record's land mask) draws other
    countries' land grey, not as sea.
    """
    from territory.maps.offline import save_map
    from territory.maps.render import render_compare, render_control, render_scenario

    if len(evaluations) == 1:
        fmap = render_scenario(evaluations[0], tiles=tiles, land=land)
    elif evaluations:
        fmap = render_compare(evaluations, tiles=tiles, land=land)
    elif control is not None:
        fmap = render_control(control, tiles=tiles, land=land)
    else:
        msg = "write_page needs evaluations or control="
        raise ValueError(msg)
    save_map(fmap, target, self_contained=self_contained)


def write_figure(
    target: OutputTarget | Path | str,
    evaluation: Evaluation | None = None,
    *,
    control: Control | None = None,
    land: BaseGeometry | None = None,
) -> None:
    """Draw one evaluation (or `control` alone) with matplotlib and write it to `target`.

    The format follows the name (.png, .svg, .pdf); see
    `territory.maps.figures.save_figure`.
    """
    from territory.maps.figures import (
        render_control_figure,
        render_scenario_figure,
        save_figure,
    )

    if evaluation is not None:
        fig = render_scenario_figure(evaluation, land=land)
    elif control is not None:
        fig = render_control_figure(control, land=land)
    else:
        msg = "write_figure needs an evaluation or control="
        raise ValueError(msg)
    from territory.io import OutputTarget

    save_figure(fig, target.given if isinstance(target, OutputTarget) else target)
