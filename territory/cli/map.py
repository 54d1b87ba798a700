"""`territory map`: interactive HTML maps of control, a scenario, or several."""

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
    evaluations, target: OutputTarget, *, self_contained: bool, tiles: bool = False
) -> None:
    """Render one evaluation (or a comparison of several) to a checked destination."""
    from territory.maps import render_compare, render_scenario

    fmap = (
        render_scenario(evaluations[0], tiles=tiles)
        if len(evaluations) == 1
        else render_compare(evaluations, tiles=tiles)
    )
    write_page(fmap, target, self_contained=self_contained)


def write_page(fmap, target: OutputTarget, *, self_contained: bool) -> None:
    """Write a folium map as one HTML page to a checked destination."""
    from territory.maps import save_map

    save_map(fmap, target, self_contained=self_contained)
    click.echo(f"wrote {target.given}", err=True)


def check_map_name(output: Path, *, option: str = "-o/--output") -> None:
    """Refuse a map file name that is not .html (before any work)."""
    if output.suffix.lower() not in (".html", ".htm") and not (
        output.exists() and not output.is_file()
    ):
        msg = f"{option} {output.name!r}: maps are HTML pages; give a .html file name"
        raise MisuseError(msg)


@click.command("map", short_help="Write an interactive HTML map.")
@click.argument("scenario", required=False)
@click.option(
    "--compare",
    "compare_names",
    multiple=True,
    metavar="SCENARIO",
    help="Put several scenarios in one page (repeat, or give 'all').",
)
@date_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="HTML file to write (atomically).",
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
    help="Add an OpenStreetMap tile layer (needs the network to view).",
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
    """Write an interactive map: of SCENARIO (a .toml file or library name), of
    several scenarios with --compare, or, with neither, of control on --date.

    The page has toggleable layers (oblasts, control before, transfers coloured
    by direction, demilitarised zones, the contact line before, the direct
    contact after and each zone's Ukrainian and Russian edges, settlements), a
    legend with units and the as-of date, a headline (flows, both ratios with
    their definitions, the contact line) and the data attribution.  With
    --compare, each scenario is a switchable layer on the control map of its
    own as-of date (named in the layer and the table) unless --date is given.
    Display geometry is simplified; the numbers are computed at full
    resolution.

    \b
    Examples
      territory map alaska-2025 -o build/alaska.html
      territory map --compare alaska-2025 --compare european-2025-08-09 -o build/compare.html
      territory map --date 2025-08-15 -o build/control.html
    """
    from territory.record import Record

    if scenario and compare_names:
        msg = "give a SCENARIO or --compare, not both"
        raise click.UsageError(msg)
    from territory.io import check_output

    check_map_name(output)
    target = check_output(output)
    rec = Record(cache_dir)
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
        write_scenario_map(evs, target, self_contained=self_contained, tiles=tiles)
        return
    from territory.maps import render_control

    write_page(
        render_control(rec.control(as_of), tiles=tiles),
        target,
        self_contained=self_contained,
    )
