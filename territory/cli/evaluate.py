"""`territory evaluate` and `territory compare`: swap scenarios on a control map."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from territory.cli.options import (
    MisuseError,
    allow_paths_option,
    cache_option,
    date_option,
    emit,
    emit_as,
    evaluate_named,
    format_option,
    handle_errors,
    output_option,
)
from territory.io import OutputTarget

EXPORT_DRIVERS = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GPKG",
    ".parquet": None,
}


def check_export(path: Path) -> None:
    """Refuse an export file name whose format is not supported (before any work)."""
    if path.suffix.lower() not in EXPORT_DRIVERS:
        msg = f"--export {path.name!r}: cannot export to that format; use .geojson, .gpkg or .parquet"
        raise MisuseError(msg)


def removed_path(export: Path) -> Path | None:
    """Where the land the partition decided itself goes beside a one-layer export.

    A GeoPackage holds it as a second layer (None); GeoJSON and GeoParquet
    hold one layer, so it goes to ``<name>-removed<suffix>`` beside the export.
    """
    if export.suffix.lower() == ".gpkg":
        return None
    return export.with_name(f"{export.stem}-removed{export.suffix}")


def write_export(
    gdf, target: OutputTarget, *, layer: str = "transfers", append: bool = False
) -> None:
    """Write a layer to GeoJSON, GeoPackage or GeoParquet at a checked destination.

    `target` comes from `territory.io.check_outputs`, its name from
    `check_export`.  With `append` (GeoPackage only), the layer is added to
    the file just written, which is replaced as a whole.
    """
    import shutil

    from territory.io import output_file

    suffix = target.given.suffix.lower()
    with output_file(target) as tmp:
        if suffix == ".parquet":
            gdf.to_parquet(tmp, index=False)
        elif append:
            shutil.copyfile(target.path, tmp)
            gdf.to_file(tmp, driver=EXPORT_DRIVERS[suffix], layer=layer)
        else:
            tmp.unlink()
            gdf.to_file(tmp, driver=EXPORT_DRIVERS[suffix], layer=layer)


@click.command(short_help="Evaluate a swap scenario: flows, ratios, line.")
@click.argument("scenario")
@date_option
@format_option
@output_option
@click.option(
    "--export",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the transferred polygons (.geojson, .gpkg or .parquet, EPSG:4326), "
    "with the land the partition removed or gave as a layer 'removed' (.gpkg) or a "
    "file NAME-removed beside it.",
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
    the flows, ratios, line and definitions on every row.

    \b
    Examples
      territory evaluate alaska-2025
      territory evaluate my_swap.toml --date 2026-08-21 --format json
      territory evaluate alaska-2025 --export build/alaska.gpkg --map build/alaska.html
    """
    from territory import tables
    from territory.cli.map import check_map_name, write_scenario_map
    from territory.io import check_outputs
    from territory.record import Record

    if export is not None:
        check_export(export)
    if map_path is not None:
        check_map_name(map_path, option="--map")
    beside = removed_path(export) if export is not None else None
    targets = check_outputs(
        {
            "--export": export,
            "--export (removed land)": beside,
            "--map": map_path,
            "-o/--output": output,
        }
    )
    rec = Record(cache_dir)
    ev = evaluate_named(rec, scenario, as_of, allow_paths_outside=allow_paths_outside)
    if export is not None:
        # the moved land, and the land the partition removed or gave (its own layer)
        removed = ev.control.removed_frame()
        write_export(ev.to_geodataframe(), targets["--export"])
        if beside is None:
            write_export(removed, targets["--export"], layer="removed", append=True)
            click.echo(f"wrote {export} (layers: transfers, removed)", err=True)
        else:
            write_export(removed, targets["--export (removed land)"], layer="removed")
            click.echo(f"wrote {export} and {beside}", err=True)
    if map_path is not None:
        write_scenario_map([ev], targets["--map"], self_contained=True)
    if net_only:
        emit(f"{ev.net_km2('UA'):.1f}", output)
        return
    emit_as(
        fmt,
        output,
        table=lambda: tables.evaluation_text(ev),
        csv=lambda: tables.evaluation_csv(ev),
        json=lambda: tables.evaluation_payload(ev),
    )


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
