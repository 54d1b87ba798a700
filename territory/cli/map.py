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


def _wrote(target: OutputTarget) -> None:
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
    from territory.maps.write import check_map_name, is_figure, write_figure, write_page

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
        if ev is None:
            write_figure(target, control=rec.control(as_of), land=rec.land)
        else:
            write_figure(target, ev, land=rec.land)
        _wrote(target)
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
        write_page(
            target, evs, self_contained=self_contained, tiles=tiles, land=rec.land
        )
    else:
        write_page(
            target,
            control=rec.control(as_of),
            self_contained=self_contained,
            tiles=tiles,
            land=rec.land,
        )
    _wrote(target)
