"""`territory map`: an interactive HTML map of control on a date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from territory.cli.options import cache_option, date_option, handle_errors


@click.command("map", short_help="Write an interactive HTML map.")
@date_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="HTML file to write (atomically).")
@cache_option
@handle_errors
def map_command(as_of: dt.date | None, output: Path, cache_dir: Path | None) -> None:
    """Write an HTML map of the regions and the land each side holds on a date.

    \b
    Examples
      territory map --date 2025-08-15 -o build/control.html
    """
    from territory.maps import render_control, save_map
    from territory.record import Record

    rec = Record(cache_dir)
    if not output.parent.exists():
        msg = f"directory {output.parent} does not exist; create it or choose another -o path"
        raise click.BadParameter(msg, param_hint="-o/--output")
    fmap = render_control(rec, rec.control(as_of))
    save_map(fmap, output)
    click.echo(f"wrote {output}", err=True)
