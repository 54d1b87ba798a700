"""`territory timeline`: Russian-held land over time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from territory.cli.options import (
    cache_option,
    date_bound_option,
    emit_as,
    format_option,
    handle_errors,
    output_option,
)


@click.command(short_help="Russian-held land over time (km²).")
@date_bound_option("--start", "First as-of date [default: start of the record].")
@date_bound_option("--end", "Last as-of date [default: end of the record].")
@click.option(
    "--every",
    "every_days",
    type=click.IntRange(min=1),
    default=7,
    show_default=True,
    help="Days between rows.",
)
@click.option(
    "--region",
    "regions",
    multiple=True,
    metavar="NAME",
    help="Also show this region's Russian-held km² (repeatable; any spelling or code).",
)
@format_option
@output_option
@cache_option
@handle_errors
def timeline(
    start: dt.date | None,
    end: dt.date | None,
    every_days: int,
    regions: tuple[str, ...],
    fmt: str,
    output: Path | None,
    cache_dir: Path | None,
) -> None:
    """Show Russian-held land (km², WGS84 ellipsoidal, inside Ukraine's boundaries)
    as of every --every days from --start to --end, with the change since the
    previous row.  The figures are the occupied_km2 of `territory control`.

    \b
    Examples
      territory timeline --start 2025-01-01 --every 30
      territory timeline --region Donetsk --region Zaporizhzhia --format csv
    """
    from territory import tables
    from territory.errors import DataError
    from territory.record import Record
    from territory.regions import load_region_table

    table = load_region_table()
    try:
        ids = table.ids(list(regions))
    except DataError as err:
        raise click.BadParameter(str(err), param_hint="--region") from None
    df = Record(cache_dir).occupied_series(
        start, end, every_days=every_days, region_ids=ids
    )
    df["as_of"] = df["as_of"].map(dt.date.isoformat)
    names = {rid: table.regions[rid].name for rid in ids}

    def text() -> str:
        cols = ["as_of", "occupied_km2", "change_km2", *ids]
        headers = [
            "As of",
            "Russian-held km²",
            "Change km²",
            *(f"{names[r]} km²" for r in ids),
        ]
        rows = df[cols].itertuples(index=False)
        return tables.text_table(list(rows), headers, digits=[0] * len(cols))

    emit_as(
        fmt,
        output,
        table=text,
        csv=lambda: tables.frame_csv(df),
        json=lambda: {"regions": names, "rows": df.to_dict("records")},
    )
