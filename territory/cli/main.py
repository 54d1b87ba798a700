"""The `territory` command group."""

from __future__ import annotations

import logging

import click

from territory import __version__
from territory.cli.balance import balance
from territory.cli.control import control
from territory.cli.data import data
from territory.cli.evaluate import compare, evaluate, scenarios
from territory.cli.map import map_command
from territory.cli.measure import measure
from territory.cli.pace import pace
from territory.cli.regions import regions
from territory.cli.timeline import timeline


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="territory")
@click.option("-v", "--verbose", count=True, help="More log output (repeatable).")
@click.option("-q", "--quiet", count=True, help="Less log output (repeatable).")
def cli(verbose: int, quiet: int) -> None:
    """Evaluate proposed territorial swaps in the Russia-Ukraine war.

    Areas are ellipsoidal km² (WGS84; polygons with lon/lat-straight edges, as
    GeoJSON defines them), on land only; 'measure' gives geodesic areas.
    Control maps are DeepState's, "as of D" meaning the latest map version
    made by the end of day D (Kyiv time).

    \b
    Examples
      territory data fetch --mirror ../shared/geodata
      territory control --date 2025-08-14
      territory evaluate alaska-2025
      territory measure claim.geojson --format json
    """
    level = max(10, 30 - 10 * (verbose - quiet))
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s")
    logging.captureWarnings(True)


cli.add_command(control)
cli.add_command(regions)
cli.add_command(measure)
cli.add_command(data)
cli.add_command(map_command)
cli.add_command(evaluate)
cli.add_command(compare)
cli.add_command(balance)
cli.add_command(scenarios)
cli.add_command(timeline)
cli.add_command(pace)
