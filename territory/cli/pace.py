"""`territory pace`: the rate of Russia's advance, and what an area is worth at it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from territory.cli.options import (
    allow_paths_option,
    cache_option,
    date_bound_option,
    date_option,
    emit_as,
    format_option,
    handle_errors,
    output_option,
    resolve_regions,
)


@click.command(short_help="The pace of Russia's advance, and areas as days of it.")
@date_bound_option(
    "--start", "First date of the window [default: a year before --end]."
)
@date_bound_option("--end", "Last date of the window [default: the end of the record].")
@click.option(
    "--region",
    "regions",
    multiple=True,
    metavar="NAME",
    help="Count these regions together (repeatable) [default: the country].",
)
@date_option
@click.option(
    "--scenario",
    help="Also express each transfer of this scenario (file or library name) "
    "in days and months of advance at that pace.",
)
@format_option
@output_option
@allow_paths_option
@cache_option
@handle_errors
def pace(
    start: dt.date | None,
    end: dt.date | None,
    regions: tuple[str, ...],
    as_of: dt.date | None,
    scenario: str | None,
    fmt: str,
    output: Path | None,
    allow_paths_outside: bool,
    cache_dir: Path | None,
) -> None:
    """Show Russia's net advance over a window (net km² a day and a month,
    between the maps at its ends), the Ukrainian-held land left in the regions
    on --date (default: the window's end), and how long taking it would take at
    that rate.  Arithmetic on the record, not a forecast.

    \b
    Examples
      territory pace
      territory pace --region Donetsk --start 2025-01-01 --end 2025-12-31
      territory pace --scenario alaska-2025 --format json
    """
    from territory import tables
    from territory.pace import DAYS_PER_MONTH, NOT_A_FORECAST
    from territory.pace import pace as measure_pace
    from territory.record import Record

    table, ids = resolve_regions(regions)
    rec = Record(cache_dir)
    p = measure_pace(rec, start, end, region_ids=ids, as_of=as_of)
    where = ", ".join(table.regions[r].name for r in ids) if ids else "Ukraine"
    moves = []
    if scenario is not None:
        from territory.cli.options import evaluate_named

        ev = evaluate_named(
            rec, scenario, None, allow_paths_outside=allow_paths_outside, people=False
        )
        for m in ev.moves:
            days = p.days_to_take(m.area_km2)
            moves.append(
                {
                    "name": m.name,
                    "from": m.source,
                    "to": m.target,
                    "area_km2": m.area_km2,
                    "as_of": ev.control.as_of.isoformat(),
                    "days_of_advance": days,
                    "months_of_advance": None
                    if days is None
                    else days / DAYS_PER_MONTH,
                }
            )

    def text() -> str:
        lines = [
            f"Russia's net advance in {where}, {p.start} … {p.end} ({p.days} days): "
            f"{p.net_km2:,.0f} km², {p.rate_km2_per_day:,.1f} km² a day, "
            f"{p.rate_km2_per_month:,.0f} km² a month.",
            f"Ukrainian-held land in {where} on {p.as_of}: {p.remaining_km2:,.0f} km².",
        ]
        days = p.days_to_take_remaining
        if days is None:
            lines.append("Russia did not advance over the window: no time to take it.")
        else:
            lines.append(
                f"At that rate taking it would take {days:,.0f} days "
                f"({days / DAYS_PER_MONTH:,.1f} months)."
            )
        for m in moves:
            if m["days_of_advance"] is None:
                continue
            lines.append(
                f"{m['name']} ({m['from']}→{m['to']}, {m['area_km2']:,.0f} km² as of "
                f"{m['as_of']}) equals about {m['months_of_advance']:,.1f} months "
                f"({m['days_of_advance']:,.0f} days) of Russia's advance at this pace."
            )
        lines.append(f"({NOT_A_FORECAST}.)")
        return "\n".join(lines)

    emit_as(
        fmt,
        output,
        table=text,
        csv=lambda: tables.frame_csv(_flat(p.to_dict(), where)),
        json=lambda: {**p.to_dict(), "area": where, "transfers": moves},
    )


def _flat(doc: dict, where: str):
    """Return the pace as one CSV row."""
    import pandas as pd

    window = doc.pop("window")
    row = {
        "area": where,
        "window_start": window["start"],
        "window_end": window["end"],
        "window_days": window["days"],
        "region_ids": " ".join(doc.pop("region_ids")),
        **doc,
    }
    return pd.DataFrame([row])
