"""`territory control`: who holds what, by region, on a date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from territory.cli.options import (
    cache_option,
    date_option,
    emit_as,
    format_option,
    handle_errors,
    output_option,
)


@click.command(short_help="Russian- and Ukrainian-held land by region on a date.")
@date_option
@format_option
@output_option
@cache_option
@handle_errors
def control(
    as_of: dt.date | None, fmt: str, output: Path | None, cache_dir: Path | None
) -> None:
    """Show, per region, its land and the Russian-held, grey-zone and Ukrainian-held parts.

    Areas are ellipsoidal km² of land (WGS84; polygons with lon/lat-straight
    edges, as GeoJSON defines them; territorial sea excluded).  "As of D" is
    the latest DeepState map version made by the end of day D (Kyiv time);
    the output names the snapshot, the version it shows and how that was
    established, and says so when the record has no version of D and the
    latest earlier one serves it (CSV and JSON rows: as_of, snapshot,
    snapshot_as_of, earlier_snapshot, map_version, map_dated_by).  Percentages are given of the unit's
    land and of its official area.

    \b
    Examples
      territory control --date 2025-08-14
      territory control --format json | jq .total
    """
    from territory import tables
    from territory.record import Record

    rec = Record(cache_dir)
    ctl = rec.control(as_of)
    area = rec.official_area_km2
    emit_as(
        fmt,
        output,
        table=lambda: tables.control_text(ctl, official_area_km2=area),
        csv=lambda: tables.control_csv(ctl),
        json=lambda: tables.control_payload(ctl, official_area_km2=area),
    )
