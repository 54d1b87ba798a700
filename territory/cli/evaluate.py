"""`territory evaluate` and `territory compare`: swap scenarios on a control map."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from territory.cli.options import (
    MisuseError,
    allow_paths_option,
    cache_option,
    date_bound_option,
    date_option,
    emit,
    emit_as,
    evaluate_named,
    format_option,
    handle_errors,
    map_version_text,
    output_option,
    plot_option,
)

if TYPE_CHECKING:
    from territory.accounting import Evaluation
    from territory.record import Record


def check_export(path: Path) -> None:
    """Refuse an export file name whose format is not supported (before any work)."""
    from territory.exports import DRIVERS

    if path.suffix.lower() not in DRIVERS:
        msg = f"--export {path.name!r}: cannot export to that format; use .gpkg (every layer), .geojson or .parquet"
        raise MisuseError(msg)


@click.command(short_help="Evaluate a swap scenario: flows, ratios, line.")
@click.argument("scenario")
@date_option
@format_option
@output_option
@click.option(
    "--export",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the whole result as GIS layers (EPSG:4326, areas in area_km2, "
    "lengths in length_km): transfers, zones, holdings_before, holdings_after, "
    "contact_line_before, contact_line_after, settlements, removed. A .gpkg holds "
    "them all; a .geojson or .parquet file holds the transfers and zones, and each "
    "other layer goes beside it as NAME-LAYER.geojson (or .parquet).",
)
@click.option(
    "--map",
    "map_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the interactive HTML map of the scenario.",
)
@click.option(
    "--net-only",
    is_flag=True,
    help="Print only Ukraine's net change in km² (for scripts).",
)
@click.option(
    "--table",
    "table",
    type=click.Choice(("regions", "transfers", "parties", "flows")),
    default=None,
    help="With --format csv: which table [default: regions, one row per move and "
    "region]; every row names the scenario and its map.",
)
@date_bound_option(
    "--start",
    "Sweep: evaluate the scenario on every date from this one (instead of --date).",
)
@date_bound_option("--end", "Sweep: the last date [default: the latest in the record].")
@click.option(
    "--every",
    "every_days",
    type=click.IntRange(min=1),
    default=None,
    help="Sweep: days between dates [default: 1].",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Sweep: dates evaluated at once, in as many processes (1: in this "
    "process) [default: the number of CPUs; with --scheduler, the cluster's threads].",
)
@click.option(
    "--scheduler",
    metavar="tcp://HOST:PORT",
    callback=lambda _ctx, _param, value: _check_scheduler(value),
    help="Sweep: run on this Dask scheduler instead of local processes "
    "(needs pip install 'territory[dask]'; its workers must see the cache at the same path).",
)
@plot_option(
    "Sweep: also draw a chart (.png, .svg or .pdf): each transfer's and "
    "zone's km² and the ratios over time."
)
@allow_paths_option
@cache_option
@handle_errors
def evaluate(
    scenario: str,
    as_of: dt.date | None,
    fmt: str,
    output: Path | None,
    export: Path | None,
    map_path: Path | None,
    net_only: bool,
    table: str | None,
    start: dt.date | None,
    end: dt.date | None,
    every_days: int | None,
    workers: int | None,
    scheduler: str | None,
    plot: Path | None,
    allow_paths_outside: bool,
    cache_dir: Path | None,
) -> None:
    """Evaluate SCENARIO (a .toml file, or a library name such as alaska-2025) on the
    control map of its own as-of date, or of --date.

    Reports every transfer's and zone's area (km², ellipsoidal, land only) by
    region with the rule that selected it; the flows (Ukraine cedes to Russia,
    Russia cedes to Ukraine, each side gives to demilitarised zones, grey-zone
    land joins them); the cession ratio (UA→RU ÷ RU→UA) and the zone ratio
    (UA→DMZ ÷ RU→DMZ), each with its definition; each party's holdings before
    and after, gains, losses and net; the contact line before, the direct
    contact left after (where Russian-held land still meets Ukrainian-held or
    grey-zone land) and each zone's Ukrainian and Russian edges (km); and the
    people living in the named places of each transfer (GeoNames, mostly pre-2022
    estimates), with an official recent count beside it where one applies.

    --format json adds "flows", "ratios", "ratio_definitions" and
    "contact_line_km"; --format csv gives one row per move and region, with
    the flows, ratios, line and definitions on every row, or with --table
    one row per transfer (with its people), per party or per flow; every CSV
    row carries the scenario, as_of and the map (snapshot, map_version).

    A sweep (--start, with --end and --every) evaluates the same rules on the
    control map of every date of the range and gives one row per date: which
    map (snapshot, map_version, map_dated_by), every flow (km²), the cession
    and zone ratios, each transfer's area (transfer:NAME_km2) and each zone's
    (zone:NAME_km2, with its edges zone:NAME:ua_edge_km and :ru_edge_km), the
    contact line before and the direct contact after (km), and the people in
    the moved land; --format json gives a list of row objects, --plot a chart.
    Each row equals `territory evaluate SCENARIO --date D` on its date.

    \b
    Examples
      territory evaluate alaska-2025
      territory evaluate my_swap.toml --date 2026-08-21 --format json
      territory evaluate alaska-2025 --export build/alaska.gpkg --map build/alaska.html
      territory evaluate alaska-2025 --start 2025-08-01 --end 2025-08-31 --plot build/alaska.png
      territory evaluate alaska-2025 --start 2025-01-01 --every 7 --format csv -o alaska.csv
      territory evaluate alaska-2025 --start 2025-08-01 --scheduler tcp://10.0.0.5:8786
    """
    from territory import tables
    from territory.io import check_outputs
    from territory.maps.write import check_map_name, write_page
    from territory.record import Record

    if table is not None and (fmt != "csv" or start is not None or end is not None):
        msg = "--table picks a CSV table of one date: add --format csv, or drop --table (a sweep has one table, a row per date)"
        raise click.UsageError(msg)
    if start is not None or end is not None:
        _refuse_with_sweep(
            as_of=as_of, export=export, map_path=map_path, net_only=net_only
        )
        if start is None:
            msg = "--end needs --start: give the first date of the sweep"
            raise click.UsageError(msg)
        _sweep(
            scenario,
            start=start,
            end=end,
            every_days=every_days or 1,
            workers=workers,
            scheduler=scheduler,
            plot=plot,
            fmt=fmt,
            output=output,
            allow_paths_outside=allow_paths_outside,
            cache_dir=cache_dir,
        )
        return
    for flag, value in (
        ("--every", every_days),
        ("--workers", workers),
        ("--scheduler", scheduler),
        ("--plot", plot),
    ):
        if value is not None:
            msg = f"{flag} is for a sweep: give --start (and --end) to evaluate a range of dates"
            raise click.UsageError(msg)

    # each file the export writes: its label among the outputs, and its layers
    files: dict[Path, tuple[str, tuple[str, ...]]] = {}
    if export is not None:
        from territory.exports import export_files

        check_export(export)
        files = {
            path: (f"--export ({', '.join(names)})", names)
            for path, names in export_files(export).items()
        }
    if map_path is not None:
        check_map_name(map_path, option="--map")
    targets = check_outputs(
        {
            **{label: path for path, (label, _) in files.items()},
            "--map": map_path,
            "-o/--output": output,
        }
    )
    rec = Record(cache_dir)
    ev = evaluate_named(rec, scenario, as_of, allow_paths_outside=allow_paths_outside)
    if files:
        from territory.exports import export_layers, write_layers

        write_layers(export_layers(ev), [(targets[k], n) for k, n in files.values()])
        for path, (_, names) in files.items():
            click.echo(f"wrote {path} (layers: {', '.join(names)})", err=True)
    if map_path is not None:
        write_page(targets["--map"], [ev], land=rec.land)
        click.echo(f"wrote {targets['--map'].given}", err=True)
    if net_only:
        emit(f"{ev.net_km2('UA'):.1f}", output)
        return
    cessions = _cession_pace(rec, ev) if fmt in ("table", "json") else None
    emit_as(
        fmt,
        output,
        table=lambda: tables.evaluation_text(ev) + _pace_text(cessions),
        csv=lambda: tables.evaluation_table_csv(ev, table or "regions"),
        json=lambda: {**tables.evaluation_payload(ev), "pace": cessions},
    )


def _cession_pace(rec: Record, ev: Evaluation) -> dict | None:
    """Return each cession as months of Russia's advance at the recent pace.

    The pace of the 12 months to the evaluation's date (from the record's
    start when it is younger).
    """
    from territory.pace import DAYS_PER_MONTH, DEFAULT_WINDOW_DAYS, NOT_A_FORECAST
    from territory.pace import pace as measure_pace

    end = ev.control.as_of
    first = rec.date_range()[0]
    start = max(first, end - dt.timedelta(days=DEFAULT_WINDOW_DAYS))
    if start >= end:
        return None
    p = measure_pace(rec, start, end)
    rows = []
    for m in ev.moves:
        if (m.source, m.target) != ("UA", "RU"):
            continue
        days = p.days_to_take(m.area_km2)
        rows.append(
            {
                "name": m.name,
                "area_km2": m.area_km2,
                "days_of_advance": days,
                "months_of_advance": None if days is None else days / DAYS_PER_MONTH,
            }
        )
    return {
        "window": {"start": start.isoformat(), "end": end.isoformat(), "days": p.days},
        "rate_km2_per_day": p.rate_km2_per_day,
        "rate_km2_per_month": p.rate_km2_per_month,
        "cessions": rows,
        "definition": NOT_A_FORECAST,
    }


def _pace_text(pace: dict | None) -> str:
    """Return the pace lines under the table: one per cession."""
    if not pace or not pace["cessions"]:
        return ""
    w = pace["window"]
    span = "12 months" if w["days"] >= 365 else f"{w['days']} days"
    lines = [
        "",
        f"Pace of the {span} to {w['end']} ({pace['rate_km2_per_day']:,.1f} km²/day net; {pace['definition']}):",
    ]
    for c in pace["cessions"]:
        months = c["months_of_advance"]
        worth = (
            f"about {months:,.1f} months of Russia's advance at that pace"
            if months is not None
            else "more than Russia gained in the window (it did not advance)"
        )
        lines.append(
            f"  the {c['name']!s} cession ({c['area_km2']:,.0f} km²) equals {worth}"
        )
    return "\n".join(lines) + "\n"


def _check_scheduler(value: str | None) -> str | None:
    """Refuse a scheduler address that is not SCHEME://HOST:PORT, before any work."""
    if value is None:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        port = None
    if not (parts.scheme and parts.hostname and port):
        msg = f"{value!r} is not a scheduler address; write it as tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786"
        raise click.BadParameter(msg, param_hint="--scheduler")
    return value


def _refuse_with_sweep(
    *, as_of: dt.date | None, export: Path | None, map_path: Path | None, net_only: bool
) -> None:
    """Refuse the options of a single evaluation in a sweep, naming the fix."""
    if as_of is not None:
        msg = (
            "--date evaluates one date and --start/--end a range; give one or the other"
        )
        raise click.UsageError(msg)
    if map_path is not None:
        msg = (
            "--map draws one date: give --date D instead of --start/--end, or "
            "draw the sweep as a chart with --plot FILE.png"
        )
        raise click.UsageError(msg)
    if export is not None:
        msg = "--export writes one date's polygons: give --date D instead of --start/--end"
        raise click.UsageError(msg)
    if net_only:
        msg = (
            "--net-only prints one number: give --date D instead of --start/--end, "
            "or take ua_to_ru_km2 and ru_to_ua_km2 from --format csv"
        )
        raise click.UsageError(msg)


def _sweep(
    name: str,
    *,
    start: dt.date,
    end: dt.date | None,
    every_days: int,
    workers: int | None,
    scheduler: str | None,
    plot: Path | None,
    fmt: str,
    output: Path | None,
    allow_paths_outside: bool,
    cache_dir: Path | None,
) -> None:
    """Evaluate scenario `name` on every date of the range and emit the rows."""
    from territory import tables
    from territory.record import Record
    from territory.scenario import read_scenario
    from territory.sweep import DASK_HINT, sweep_columns, sweep_dates, sweep_rows

    if scheduler is not None:
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            msg = f"--scheduler needs Dask; install it with {DASK_HINT}"
            raise MisuseError(msg) from None
    sc = read_scenario(name, allow_paths_outside=allow_paths_outside)
    rec = Record(cache_dir)
    days = sweep_dates(start, end or rec.latest_date(), every_days=every_days)
    found = sweep_rows(
        sc,
        days,
        cache_dir=rec.cache.root,
        workers=workers,
        scheduler=scheduler,
    )
    # (the rows as the API's frame holds them, written without pandas: the
    # dates are the first column of every output)
    columns = sweep_columns(sc)
    # dates whose map draws a grey zone among maps that draw none (DeepState's
    # own snapshot among the daily files): not comparable, marked
    grey = {r["as_of"] for r in found if rec.snapshot_for(r["as_of"])[0].grey_zone}
    grey = grey if len(grey) < len(found) else set()
    rows = tables.frame_values(found, columns)
    for r in rows:
        for col in ("as_of", "snapshot_as_of"):
            r[col] = r[col].isoformat()
    moves = _move_labels(sc)
    span = f"{days[0]} … {days[-1]}"
    step = "every day" if every_days == 1 else f"every {every_days} days"
    if plot is not None:
        from territory.charts import save_chart, sweep_chart
        from territory.sweep import sweep_frame

        df = sweep_frame(found, sc).reset_index()
        title = f"{sc.title}: evaluated on each date, {span} ({step})"
        chart = sweep_chart(df, title=title, moves=moves, marked=sorted(grey))
        save_chart(chart, plot)
        click.echo(f"wrote {plot}", err=True)
    emit_as(
        fmt,
        output,
        table=lambda: _sweep_text(
            rows, sc.title, moves, f"{span}, {step}", grey={d.isoformat() for d in grey}
        ),
        csv=lambda: tables.rows_csv(rows, columns),
        json=lambda: rows,
    )


def _move_labels(sc) -> dict[str, str]:
    """Return the area column of each transfer and zone, with its label for people."""
    from territory.sweep import transfer_column, zone_column

    labels = {
        transfer_column(t.name): f"{t.name} ({t.source} → {t.target})"
        for t in sc.transfers
    }
    labels.update({zone_column(z.name): f"{z.name} (zone)" for z in sc.zones})
    return labels


def _sweep_text(
    rows: list[dict[str, Any]],
    title: str,
    moves: dict[str, str],
    span: str,
    *,
    grey: frozenset[str] | set[str] = frozenset(),
) -> str:
    """Return the sweep for people: one row per date, the moves numbered below.

    `rows`: as `territory.tables.frame_values` gives them; `grey`: the dates
    (ISO) whose map draws a grey zone among maps that draw none, marked.
    """
    from territory import tables
    from territory.accounting import FLOW_COLUMNS, FLOWS, LINE_AFTER_DEFINITION
    from territory.accounting import RATIO_DEFINITIONS as RATIOS
    from territory.people import PEOPLE_DEFINITION

    def given(v: Any) -> bool:  # (not None, not NaN)
        return v is not None and not (isinstance(v, float) and math.isnan(v))

    numbered = {col: f"[{i}]" for i, col in enumerate(moves, start=1)}
    flows = [
        (col, f"{a}→{b} km²")
        for col, (a, b) in zip(FLOW_COLUMNS, FLOWS, strict=True)
        if col in ("ua_to_ru_km2", "ru_to_ua_km2")
        or any(given(r[col]) and r[col] != 0 for r in rows)
    ]
    zones = any(given(r["zone_ratio"]) for r in rows)
    people = all(given(r["population_moved"]) for r in rows)
    cols = [
        *moves,
        *(c for c, _ in flows),
        "cession_ratio",
        *(["zone_ratio"] if zones else []),
        "front_before_km",
        "front_after_km",
        *(["population_moved"] if people else []),
    ]
    headers = [
        "As of",
        *(f"{n} km²" for n in numbered.values()),
        *(h for _, h in flows),
        "Cession ratio",
        *(["Zone ratio"] if zones else []),
        "Front before km",
        "Direct contact after km",
        *(["People moved"] if people else []),
        "DeepState's map",
    ]
    digits = [0] * (1 + len(cols)) + [None]
    ratio_at = [1 + cols.index(c) for c in ("cession_ratio", "zone_ratio") if c in cols]
    for i in ratio_at:
        digits[i] = 2
    cells = [
        [
            r["as_of"]
            + ("*" if r["earlier_snapshot"] else "")
            + ("†" if r["as_of"] in grey else ""),
            *(r[c] for c in cols),
            map_version_text(r["map_version"]),
        ]
        for r in rows
    ]
    lines = [
        f"{title}: evaluated on the control map of each date, {span} ({len(rows)} dates)",
        "",
        tables.text_table(cells, headers, digits=digits),
        "",
        *(f"{numbered[c]} {label}" for c, label in moves.items()),
        f"Cession ratio: {RATIOS['cession']}.",
        *([f"Zone ratio: {RATIOS['zone']}."] if zones else []),
        f"Contact line: before, where Russian-held land meets other land; {LINE_AFTER_DEFINITION}"
        " (zone edges: --format csv or json).",
    ]
    if people:
        lines.append(f"People moved: {PEOPLE_DEFINITION}.")
    if grey:
        lines.append(
            "† DeepState's own snapshot, which draws a grey zone (land neither side "
            "holds, so in no transfer of either side's land); the daily files draw "
            "none and count that land as Ukrainian-held: that date's figures are "
            "not comparable with the others'"
        )
    if any(r["earlier_snapshot"] for r in rows):
        lines.append(
            "* no map version of that date: the map of the latest earlier one "
            "(its date is snapshot_as_of in --format csv or json)"
        )
    first, last = rows[0]["snapshot"], rows[-1]["snapshot"]
    maps = first if first == last else f"{first} … {last}"
    lines.append(
        f"Maps: {maps} (each row's in "
        "--format csv or json). DeepState's map: when the version shown was "
        "published, matched to DeepState's published area history; 'inferred' "
        "where the history does not reach (from the file date, ±1 day)."
    )
    return "\n".join(lines)


@click.command(short_help="Compare several scenarios side by side.")
@click.argument("scenarios", nargs=-1, required=True)
@date_option
@format_option
@output_option
@allow_paths_option
@cache_option
@handle_errors
def compare(
    scenarios: tuple[str, ...],
    as_of: dt.date | None,
    fmt: str,
    output: Path | None,
    allow_paths_outside: bool,
    cache_dir: Path | None,
) -> None:
    """Evaluate SCENARIOS (files or library names; 'all' for the whole library) and
    show them side by side: every flow (km²: UA→RU, RU→UA, UA→DMZ, RU→DMZ,
    GREY→DMZ), what each side gives (to the other side and to zones) and
    receives, the cession and zone ratios with their definitions, Ukraine's
    share after, the contact line before, the direct contact after and the
    zones' edges (km).  Each is evaluated on the control map of its own as-of
    date unless --date is given; every row shows that date.

    \b
    Examples
      territory compare alaska-2025 european-2025-08-09
      territory compare all --date 2026-08-21 --format json
    """
    from territory import tables
    from territory.accounting import compare as compare_evaluations
    from territory.record import Record
    from territory.scenario import library

    names = list(library()) if scenarios == ("all",) else list(scenarios)
    rec = Record(cache_dir)
    evs = [
        evaluate_named(rec, n, as_of, allow_paths_outside=allow_paths_outside)
        for n in names
    ]
    df = compare_evaluations(evs)

    emit_as(
        fmt,
        output,
        table=lambda: tables.compare_text(tables.compare_frame(evs, df)),
        csv=lambda: tables.compare_csv(evs, df),
        json=lambda: tables.compare_payload(evs, df),
    )


@click.command(short_help="List the scenarios in the library.")
@format_option
@handle_errors
def scenarios(fmt: str) -> None:
    """List the library's scenarios (geodata/scenarios): name, as-of date, title, source.

    \b
    Examples
      territory scenarios
    """
    from territory import tables
    from territory.scenario import library, read_scenario

    rows = []
    for name, path in library().items():
        sc = read_scenario(path)
        rows.append(
            {
                "name": name,
                "as_of": sc.as_of.isoformat(),
                "title": sc.title,
                "source": sc.source,
                "default": sc.extra.get("default", False),
            }
        )
    if fmt == "json":
        emit(tables.to_json(rows), None)
    elif fmt == "csv":
        import pandas as pd

        emit(tables.frame_csv(pd.DataFrame(rows)), None)
    else:
        emit(
            tables.text_table(
                [
                    [r["name"] + (" *" if r["default"] else ""), r["as_of"], r["title"]]
                    for r in rows
                ],
                ["Name (* default)", "As of", "Title"],
            ),
            None,
        )
