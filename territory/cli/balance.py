"""`territory balance`: the withdrawal that makes an offer reciprocal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from territory.cli.options import (
    allow_paths_option,
    cache_option,
    date_option,
    emit,
    handle_errors,
)


def _check_toml_name(
    ctx: click.Context, param: click.Parameter, value: Path | None
) -> Path | None:
    if value is None:
        return None
    if value.suffix.lower() != ".toml":
        msg = f"{value} is not a .toml file; name the solved scenario like balanced.toml (its band goes beside it as balanced.geojson)"
        raise click.BadParameter(msg, ctx=ctx, param=param)
    from territory.cli.options import _check_output_early

    _check_output_early(ctx, param, value)
    _check_output_early(ctx, param, value.with_suffix(".geojson"))
    return value


@click.command(short_help="Solve the withdrawal that balances an offer.")
@click.argument("scenario", required=False)
@click.option(
    "--within",
    "within",
    multiple=True,
    required=True,
    metavar="REGION",
    help="A region the band runs in (repeat for several), e.g. --within Zaporizhzhia --within Kherson.",
)
@click.option(
    "--transfer",
    metavar="NAME",
    help="Match this transfer or zone of the scenario; the other side withdraws.",
)
@click.option(
    "--target-km2",
    type=float,
    help="Match this area instead (with --by).",
)
@click.option(
    "--overall",
    is_flag=True,
    help="Balance the whole exchange: the side that gives less makes up the rest.",
)
@click.option(
    "--by",
    type=click.Choice(["UA", "RU"], case_sensitive=False),
    help="Who withdraws (implied by --transfer and --overall).",
)
@click.option(
    "--ratio",
    type=float,
    default=1.0,
    show_default=True,
    help="The ratio to reach: the band is the target ÷ ratio (1: an even exchange).",
)
@click.option(
    "--as",
    "kind",
    type=click.Choice(["transfer", "zone"]),
    default="transfer",
    show_default=True,
    help="The band goes to the other side (transfer) or becomes a demilitarised zone.",
)
@click.option(
    "--mirror",
    is_flag=True,
    help="Solve a two-sided zone where both sides give the same land (with --depth-km or --width-km).",
)
@click.option(
    "--depth-km",
    type=float,
    help="With --mirror: how far the other side pulls back; --by's depth is solved.",
)
@click.option(
    "--width-km",
    type=float,
    help="With --mirror: the zone's whole width, split so both sides give the same land.",
)
@click.option("--name", help="The band's name in the solved scenario.")
@date_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format: the answer in words, or JSON.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=_check_toml_name,
    help="Write the solved scenario (.toml: the original plus the band) and the band beside it (.geojson).",
)
@allow_paths_option
@cache_option
@handle_errors
def balance(
    scenario: str | None,
    within: tuple[str, ...],
    transfer: str | None,
    target_km2: float | None,
    overall: bool,
    by: str | None,
    ratio: float,
    kind: str,
    mirror: bool,
    depth_km: float | None,
    width_km: float | None,
    name: str | None,
    as_of: dt.date | None,
    fmt: str,
    output: Path | None,
    allow_paths_outside: bool,
    cache_dir: Path | None,
) -> None:
    """Find how deep one side would have to withdraw, along the contact line in
    the named regions, to match what the other side gives in SCENARIO (on its
    own as-of date, or --date).

    Say what to match with exactly one of --transfer, --target-km2 (with --by)
    or --overall.  The band is measured from the withdrawing side's own edge
    of the line, in true distance, and solved by bisection to 0.1% of the
    target.  With -o, the solved scenario is written as a file anyone can
    evaluate, and the band as GeoJSON beside it.

    With --mirror, a two-sided zone in the regions: the other side pulls back
    --depth-km and --by's depth is solved so both give the same land, or the
    two depths add up to --width-km and are split so both give the same.
    Without SCENARIO, the zone runs along the line of the map as it is
    (--date, default the latest).

    \b
    Examples
      territory balance alaska-2025 --transfer "Ukraine withdraws from Donbas" \\
          --within Zaporizhzhia --within Kherson -o build/alaska-balanced.toml
      territory balance alaska-2025 --overall --within Zaporizhzhia --within Kherson
      territory balance --mirror --by RU --depth-km 10 --within Donetsk \\
          --date 2026-02-18 --format json
    """
    from territory.accounting import DMZ
    from territory.balancing import balance as solve
    from territory.balancing import balance_mirror
    from territory.record import Record
    from territory.scenario import read_scenario

    if mirror:
        if transfer or target_km2 is not None or overall or kind != "transfer":
            msg = "--mirror solves a zone from --depth-km or --width-km; leave out --transfer, --target-km2, --overall and --as"
            raise click.UsageError(msg)
        if (depth_km is None) == (width_km is None):
            msg = "--mirror needs one of --depth-km (the other side's depth) or --width-km (the zone's width)"
            raise click.UsageError(msg)
    else:
        if depth_km is not None or width_km is not None:
            msg = "--depth-km and --width-km go with --mirror"
            raise click.UsageError(msg)
        if sum((transfer is not None, target_km2 is not None, overall)) != 1:
            msg = "say what to match with exactly one of --transfer NAME, --target-km2 X or --overall"
            raise click.UsageError(msg)
        if target_km2 is not None and by is None:
            msg = "--target-km2 needs --by UA or --by RU (who withdraws)"
            raise click.UsageError(msg)
    from territory.errors import ScenarioError
    from territory.scenario import Rule

    try:
        Rule(regions=within)
    except ScenarioError as err:
        msg = str(err).removeprefix("Rule: ")
        raise click.BadParameter(msg, param_hint="--within") from None
    if scenario is None and not mirror:
        msg = "name the SCENARIO to balance (a .toml file or a library name; 'territory scenarios' lists them)"
        raise click.UsageError(msg)
    rec = Record(cache_dir)
    sc = (
        None
        if scenario is None
        else read_scenario(scenario, allow_paths_outside=allow_paths_outside)
    )
    control = rec.control(as_of or (sc.as_of if sc else rec.latest_date()))
    party = by.upper() if by else None
    if mirror:
        result = balance_mirror(
            sc,
            control,
            within=within,
            depth_km=depth_km,
            width_km=width_km,
            by=party or "RU",
            name=name,
        )
    else:
        assert sc is not None  # no SCENARIO without --mirror is refused above
        result = solve(
            sc,
            control,
            within=within,
            transfer=transfer,
            target_km2=target_km2,
            overall=overall,
            by=party,
            ratio=ratio,
            kind=kind,
            name=name,
        )
    written = None
    if output is not None:
        written = _write(result, output)
    payload = dict(result.to_dict(), output=None if written is None else str(written))
    lines = [result.describe()]
    if written is not None:
        lines.append(
            f"Wrote {written} (evaluate it with: territory evaluate {written}) "
            f"and its band {written.with_suffix('.geojson')}."
        )
    to = DMZ if result.kind != "transfer" else None
    lines.append(
        "The band is measured from the withdrawing side's own edge of the line, "
        f"on the map as of {result.as_of}; it is arithmetic on the map, not a proposal"
        + ("" if to is None else " (the zone runs along the line after the scenario)")
        + "."
    )
    if fmt == "json":
        from territory.tables import to_json

        emit(to_json(payload), None)
    else:
        emit("\n".join(lines), None)


def _write(result, output: Path) -> Path:
    """Write the solved scenario and its band; nothing is left half-written."""
    import geopandas as gpd

    from territory.crs import STORAGE_CRS
    from territory.io import check_outputs, output_file, write_output
    from territory.scenario import scenario_toml

    band_path = output.with_suffix(".geojson")
    targets = check_outputs({"-o/--output": output, "band": band_path})
    sc = result.scenario
    text = (
        f"# Solved by territory balance on the map as of {result.as_of}.\n"
        f"# {result.describe()}\n" + scenario_toml(sc, output.resolve().parent)
    )
    band = gpd.GeoDataFrame(
        {
            "name": [
                sc.transfers[-1].name
                if result.kind == "transfer"
                else sc.zones[-1].name
            ],
            "party": [result.party],
            "as": [result.kind],
            "depth_km": [result.depth_km],
            "area_km2": [result.area_km2],
            "target_km2": [result.target_km2],
            "as_of": [result.as_of.isoformat()],
            "scenario": [sc.title],
        },
        geometry=[result.band],
        crs=STORAGE_CRS,
    )
    with output_file(targets["band"]) as tmp:
        band.to_file(tmp, driver="GeoJSON", layer=band_path.stem)
    write_output(targets["-o/--output"], text.encode("utf-8"))
    return output
