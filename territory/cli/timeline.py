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
    map_version_text,
    output_option,
    plot_option,
    resolve_regions,
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
@click.option(
    "--by",
    type=click.Choice(["date", "region", "month"]),
    default="date",
    show_default=True,
    help="Rows by date; by date with every region as a column; or one row per "
    "calendar month (net and gross change).",
)
@plot_option("Also draw a chart to this file (.png, .svg or .pdf).")
@format_option
@output_option
@cache_option
@handle_errors
def timeline(
    start: dt.date | None,
    end: dt.date | None,
    every_days: int,
    regions: tuple[str, ...],
    by: str,
    plot: Path | None,
    fmt: str,
    output: Path | None,
    cache_dir: Path | None,
) -> None:
    """Show Russian-held land (km², WGS84 ellipsoidal, inside Ukraine's boundaries)
    as of every --every days from --start to --end, with the change since the
    previous row.  The figures are the occupied_km2 of `territory control`.

    Every row says which map it used: snapshot, snapshot_as_of, and
    earlier_snapshot (true where the record has no snapshot for that date and
    the latest earlier one serves it; marked * in the table).

    With --by region, every region's Russian-held km² is a column (named by
    its id in CSV and JSON, by its name in the table).  With --by month, one
    row per calendar month: the Russian-held km² on the month's last map, the
    net change from the previous month's last map, and the gross km² gained
    and lost between every two consecutive maps of the month (for the
    country, or the --region's together).

    \b
    Examples
      territory timeline --start 2025-01-01 --every 30
      territory timeline --region Donetsk --region Zaporizhzhia --format csv
      territory timeline --by month --start 2025-01-01 --end 2025-12-31
      territory timeline --by region --every 30 --format csv
    """
    from territory.record import Record

    table, ids = resolve_regions(regions)
    rec = Record(cache_dir)
    if by == "month":
        _by_month(
            rec, start, end, ids=ids, table=table, fmt=fmt, output=output, plot=plot
        )
        return
    if by == "region":
        if ids:
            msg = "--by region shows every region; leave out --region"
            raise click.UsageError(msg)
        ids = rec.region_ids
    found = rec.occupied_rows(start, end, every_days=every_days, region_ids=ids)
    # (plain rows: printing them imports no pandas, which would compete with
    # a long run's workers for the CPUs)
    from territory import tables

    # the dates are the first column of every output
    first = ["as_of", "snapshot", "snapshot_as_of", "earlier_snapshot"]
    columns = [*first, *(c for c in found[0] if c not in {*first, "note"})]
    notes = [r["note"] for r in found]
    rows = [
        {
            c: (
                r["snapshot_as_of"] != r["as_of"]
                if c == "earlier_snapshot"
                else r[c].isoformat()
                if c in ("as_of", "snapshot_as_of")
                else r[c]
            )
            for c in columns
        }
        for r in found
    ]
    names = {rid: table.regions[rid].name for rid in ids}
    if plot is not None:
        import pandas as pd

        from territory.charts import save_chart, timeline_chart

        df = pd.DataFrame(rows, columns=columns)
        drawn = names
        if by == "region":  # the eight regions with the most Russian-held land
            top = df[ids].iloc[-1].sort_values(ascending=False).index[:8]
            drawn = {rid: names[rid] for rid in top}
        span = f"{rows[0]['as_of']} … {rows[-1]['as_of']}"
        title = f"Russian-held land in Ukraine, {span}"
        if drawn:
            title += " (below: by region)"
        fig = timeline_chart(df, title=title, region_names=drawn)
        save_chart(fig, plot)
        click.echo(f"wrote {plot}", err=True)

    def text() -> str:
        cols = ["as_of", "occupied_km2", "change_km2", *ids]
        headers = [
            "As of",
            "Russian-held km²",
            "Change km²",
            *(f"{names[r]} km²" for r in ids),
            "DeepState's map",
        ]
        lines = [
            [
                f"{r['as_of']}*" if r["earlier_snapshot"] else r["as_of"],
                *(r[c] for c in cols[1:]),
                map_version_text(r["map_version"]),
            ]
            for r in rows
        ]
        out = tables.text_table(lines, headers, digits=[0] * len(cols) + [None])
        if any(r["earlier_snapshot"] for r in rows):
            out += (
                "\n* no map version of that date: the map of the latest earlier one "
                "(its date is snapshot_as_of in --format csv or json)"
            )
        out += (
            "\nDeepState's map: when the version shown was published, matched to "
            "DeepState's published area history; 'inferred' where the history "
            "does not reach (from the file date, ±1 day)."
        )
        return out

    def payload() -> dict:
        return {
            "regions": names,
            "rows": [{**r, "note": note} for r, note in zip(rows, notes, strict=True)],
        }

    emit_as(
        fmt,
        output,
        table=text,
        csv=lambda: tables.rows_csv(rows, columns),
        json=payload,
    )


def _by_month(rec, start, end, *, ids, table, fmt, output, plot) -> None:
    """Emit the month-by-month table (see `Record.occupied_by_month`)."""
    from territory import tables

    df = rec.occupied_by_month(start, end, region_ids=ids or None).reset_index()
    df["month"] = df["month"].astype(str)
    df["as_of"] = df["as_of"].map(dt.date.isoformat)
    where = ", ".join(table.regions[r].name for r in ids) if ids else "Ukraine"
    if plot is not None:
        from territory.charts import monthly_chart, save_chart

        title = f"Russian-held land in {where}: change month by month, {df['month'].iloc[0]} … {df['month'].iloc[-1]}"
        save_chart(monthly_chart(df, title=title), plot)
        click.echo(f"wrote {plot}", err=True)

    def text() -> str:
        cols = ["month", "occupied_km2", "change_km2", "gained_km2", "lost_km2"]
        headers = [
            "Month",
            "Russian-held km² (month end)",
            "Net change km²",
            "Gained km²",
            "Lost km²",
            "DeepState's map",
        ]
        rows = [
            [*r, map_version_text(v)]
            for r, v in zip(
                df[cols].itertuples(index=False), df["map_version"], strict=True
            )
        ]
        out = tables.text_table(rows, headers, digits=[0] * len(cols) + [None])
        return (
            f"Russian-held land in {where}, month by month\n\n{out}\n"
            "Net: from the last map of the previous month to the last map of the "
            "month. Gained and lost: land that changed hands between every two "
            "consecutive maps of the month."
        )

    emit_as(
        fmt,
        output,
        table=text,
        csv=lambda: tables.frame_csv(df),
        json=lambda: {"area": where, "region_ids": ids, "rows": df.to_dict("records")},
    )
