"""`territory map`: HTML maps of control, a scenario or several; static figures of one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from territory.cli.options import (
    MisuseError,
    allow_paths_option,
    cache_option,
    date_option,
    evaluate_named,
    handle_errors,
)
from territory.io import OutputTarget


def write_scenario_map(
    evaluations,
    target: OutputTarget,
    *,
    self_contained: bool,
    tiles: bool = False,
    land=None,
) -> None:
    """Render one evaluation (or a comparison of several) to a checked destination.

    `land` (the record's land mask) draws other countries' land grey, not as sea.
    """
    from territory.maps import render_compare, render_scenario

    fmap = (
        render_scenario(evaluations[0], tiles=tiles, land=land)
        if len(evaluations) == 1
        else render_compare(evaluations, tiles=tiles, land=land)
    )
    write_page(fmap, target, self_contained=self_contained)


def write_page(fmap, target: OutputTarget, *, self_contained: bool) -> None:
    """Write a folium map as one HTML page to a checked destination."""
    from territory.maps import save_map

    save_map(fmap, target, self_contained=self_contained)
    click.echo(f"wrote {target.given}", err=True)


#: File name endings of an HTML page and of a static figure (`territory.figures`).
PAGE_SUFFIXES = (".html", ".htm")
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def is_figure(output: Path) -> bool:
    """Whether `output` names a static figure (.png, .svg, .pdf) rather than a page."""
    return output.suffix.lower() in FIGURE_SUFFIXES


def check_map_name(
    output: Path, *, option: str = "-o/--output", figures: bool = False
) -> None:
    """Refuse a map file name that is not .html, or with `figures` .png/.svg/.pdf (before any work)."""
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
    raise MisuseError(msg)


def write_figure(rec, evaluation, control, target: OutputTarget) -> None:
    """Draw one evaluation (or control alone) with matplotlib and write it to `target`."""
    from territory.figures import (
        render_control_figure,
        render_scenario_figure,
        save_figure,
    )

    fig = (
        render_control_figure(control, land=rec.land)
        if evaluation is None
        else render_scenario_figure(evaluation, land=rec.land)
    )
    save_figure(fig, target.given)
    click.echo(f"wrote {target.given}", err=True)


@click.command("map", short_help="Write an HTML map, or a PNG/SVG/PDF figure.")
@click.argument("scenario", required=False)
@click.option(
    "--compare",
    "compare_names",
    multiple=True,
    metavar="SCENARIO",
    help="Put several scenarios in one page (repeat, or give 'all'); HTML only.",
)
@date_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write (atomically): .html for the interactive page, .png, .svg or .pdf for a static figure.",
)
@click.option(
    "--self-contained/--cdn",
    default=True,
    show_default=True,
    help="Inline Leaflet so the page works offline, or link it from a CDN (smaller file).",
)
@click.option(
    "--tiles",
    is_flag=True,
    help="Add an OpenStreetMap tile layer (needs the network to view); HTML only.",
)
@allow_paths_option
@cache_option
@handle_errors
def map_command(
    scenario: str | None,
    compare_names: tuple[str, ...],
    as_of: dt.date | None,
    output: Path,
    self_contained: bool,
    tiles: bool,
    allow_paths_outside: bool,
    cache_dir: Path | None,
) -> None:
    """Write a map: of SCENARIO (a .toml file or library name), of several
    scenarios with --compare, or, with neither, of control on --date.  A .html
    file is an interactive page; a .png, .svg or .pdf file a static figure.

    The page has toggleable layers (oblasts, control before, transfers coloured
    by direction, demilitarised zones, the contact line before, the direct
    contact after and each zone's Ukrainian and Russian edges, settlements), a
    legend with units and the as-of date, a headline (flows, both ratios with
    their definitions, the contact line) and the data attribution.  With
    --compare, each scenario is a switchable layer on the control map of its
    own as-of date (named in the layer and the table) unless --date is given.
    Display geometry is simplified; the numbers are computed at full
    resolution.

    A static figure (matplotlib; PNG 2,000 × 1,250 px) draws the same layers,
    focused on the scenario's transfers and zones with a locator inset of the
    country, with the title, the as-of date and map version, the reciprocity
    in words, a legend of exactly the layers drawn, a scale bar in true km
    and the attribution; without a scenario, control over the whole
    country.  --compare is refused for a figure (one scenario a figure; use
    a .html page to compare), and so is --tiles.

    \b
    Examples
      territory map alaska-2025 -o build/alaska.html
      territory map alaska-2025 -o build/alaska.png
      territory map --compare alaska-2025 --compare european-2025-08-09 -o build/compare.html
      territory map --date 2025-08-15 -o build/control.html
    """
    from territory.record import Record

    if scenario and compare_names:
        msg = "give a SCENARIO or --compare, not both"
        raise click.UsageError(msg)
    from territory.io import check_output

    check_map_name(output, figures=True)
    if is_figure(output) and compare_names:
        msg = (
            f"--compare draws an HTML page only, not {output.suffix}; "
            "give a .html file, or one SCENARIO for a figure"
        )
        raise MisuseError(msg)
    if is_figure(output) and tiles:
        msg = f"--tiles is for HTML pages only, not {output.suffix}; drop it"
        raise MisuseError(msg)
    target = check_output(output)
    rec = Record(cache_dir)
    if is_figure(output):
        ev = (
            evaluate_named(
                rec, scenario, as_of, allow_paths_outside=allow_paths_outside
            )
            if scenario
            else None
        )
        write_figure(rec, ev, rec.control(as_of) if ev is None else ev.control, target)
        return
    if scenario or compare_names:
        from territory.scenario import library

        names = (
            [scenario]
            if scenario
            else (list(library()) if compare_names == ("all",) else list(compare_names))
        )
        evs = [
            evaluate_named(rec, n, as_of, allow_paths_outside=allow_paths_outside)
            for n in names
        ]
        write_scenario_map(
            evs, target, self_contained=self_contained, tiles=tiles, land=rec.land
        )
        return
    from territory.maps import render_control

    write_page(
        render_control(rec.control(as_of), tiles=tiles, land=rec.land),
        target,
        self_contained=self_contained,
    )
