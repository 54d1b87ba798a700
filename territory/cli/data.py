"""`territory data fetch|status|verify`: the data cache."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click

from territory.cli.options import (
    cache_option,
    date_bound_option,
    emit,
    format_option,
    handle_errors,
)


@click.group(short_help="Fetch, list and verify the cached data.")
def data() -> None:
    """Manage the data cache: third-party files listed in geodata/MANIFEST.toml,
    fetched from upstream or a mirror, checked against their published sha256
    and converted to GeoParquet.  Nothing here is ever committed.
    """


@data.command(short_help="Fetch datasets into the cache.")
@click.argument("datasets", nargs=-1)
@click.option(
    "--mirror",
    metavar="DIR|URL",
    envvar="TERRITORY_MIRROR",
    show_envvar=True,
    help="Take files from this mirror directory or base URL instead of upstream.",
)
@date_bound_option("--start", "First DeepState daily file to fetch (file date).")
@date_bound_option("--end", "Last DeepState daily file to fetch (file date).")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="The whole DeepState daily record (the default when no range is given).",
)
@click.option(
    "--latest",
    is_flag=True,
    help="Fetch the latest snapshot from DeepState's live API (with grey zone).",
)
@click.option(
    "--api-url",
    envvar="TERRITORY_DEEPSTATE_API",
    show_envvar=True,
    metavar="URL",
    help="Base URL of DeepState's API [default: https://deepstatemap.live/api].",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    help="Seconds allowed for each download in total (connecting, waiting, transfer).",
)
@click.option(
    "--max-mb",
    "max_mb",
    type=click.FloatRange(min=0.001),
    default=None,
    metavar="MB",
    help="Largest file accepted, in MB (10^6 bytes) [default: per dataset in "
    "geodata/MANIFEST.toml, 16 for --latest].",
)
@click.option(
    "--force", is_flag=True, help="Fetch again what is already cached and verified."
)
@cache_option
@handle_errors
def fetch(
    datasets: tuple[str, ...],
    mirror: str | None,
    start: dt.date | None,
    end: dt.date | None,
    everything: bool,
    latest: bool,
    api_url: str | None,
    timeout_s: float,
    max_mb: float | None,
    force: bool,
    cache_dir: Path | None,
) -> None:
    """Fetch DATASETS (default: boundaries, land mask, the DeepState daily record
    and DeepState's published areas) into the cache.

    Every file is checked against the manifest's sha256 and written atomically:
    an interrupted or failed fetch leaves the cache as it was, and files already
    cached and verified are skipped (a cached file that fails its check is
    fetched again).  Each download must finish within --timeout seconds and
    stay under its size cap (--max-mb).  One fetch at a time writes to a
    cache: a second one stops at once, naming the first.

    --latest keeps the live snapshot only if it is plausible: its occupied
    land inside the cached region boundaries and close to the nearest cached
    snapshot, so fetch the boundaries and some daily files first.

    \b
    Examples
      territory data fetch --mirror ../shared/geodata
      territory data fetch deepstate-daily --start 2025-08-01 --end 2025-08-31
      territory data fetch --latest
    """
    from territory import datasets as ds

    max_bytes = None if max_mb is None else int(max_mb * 1_000_000)
    if everything and (start or end):
        msg = "--all fetches the whole record; drop it, or drop --start/--end"
        raise click.UsageError(msg)
    if latest:
        if datasets or start or end:
            msg = "--latest fetches only the live snapshot; give no datasets or dates with it"
            raise click.UsageError(msg)
        _check_api_url(api_url)
        entry = ds.fetch_latest(
            cache_dir=cache_dir,
            api_url=api_url,
            timeout_s=timeout_s,
            max_bytes=max_bytes,
        )
        click.echo(
            f"cached {entry['snapshot']} (published {entry['published']}, as of {entry['as_of']})"
        )
        return
    state: dict[str, Any] = {"bar": None}

    def progress(_done: int, total: int, label: str) -> None:
        if total < 5:
            return
        if state["bar"] is None:
            bar = click.progressbar(
                length=total,
                label="fetching",
                file=sys.stderr,
                show_pos=True,
                item_show_func=lambda x: x,
            )
            bar.__enter__()
            state["bar"] = bar
        state["bar"].update(1, label)

    try:
        report = ds.fetch(
            datasets or None,
            cache_dir=cache_dir,
            mirror=mirror,
            start=start,
            end=end,
            force=force,
            timeout_s=timeout_s,
            max_bytes=max_bytes,
            progress=progress,
        )
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)
    click.echo(
        f"fetched {len(report.fetched)}, already cached {len(report.skipped)}"
        + (f", not available {len(report.unavailable)}" if report.unavailable else "")
    )
    _derive_from_daily_files(cache_dir)


def _derive_from_daily_files(cache_dir: Path | None) -> None:
    """Date the cached daily files by the map version each shows.

    And derive every map's Russian-held km² by region (each once per cache).
    """
    from territory.errors import DataError, DataNotFoundError
    from territory.record import Record
    from territory.versions import MATCHED

    rec = Record(cache_dir)
    versions = rec.versions
    if versions:
        matched = sum(v.how == MATCHED for v in versions.values())
        click.echo(
            f"dated {len(versions)} daily files by their map version: {matched} matched "
            f"to DeepState's published area history, {len(versions) - matched} inferred (±1 day)"
        )
    if (
        rec.snapshots
        and "boundaries" in rec.cache.entries
        and "land" in rec.cache.entries
    ):
        # every map's Russian-held km² by region (seconds, once per cache):
        # timelines, pace and each evaluation's pace line then only read them
        try:
            rec.region_figures(rec.snapshots, gross=True)
        except (DataError, DataNotFoundError) as err:  # a damaged file: named on use
            click.echo(f"the by-region figures were not derived: {err}", err=True)
            return
        click.echo(
            f"derived the Russian-held km² by region of {len(rec.snapshots)} maps"
        )


def _check_api_url(api_url: str | None) -> None:
    """Refuse a bad --api-url / TERRITORY_DEEPSTATE_API as misuse (exit 2)."""
    from territory.deepstate import check_api_url
    from territory.errors import DataError

    if api_url is None:
        return
    try:
        check_api_url(api_url)
    except DataError as err:
        raise click.BadParameter(
            str(err), param_hint="'--api-url' / TERRITORY_DEEPSTATE_API"
        ) from None


@data.command(short_help="Remove entries that cannot be fetched again.")
@click.argument("keys", nargs=-1, required=True)
@cache_option
@handle_errors
def forget(keys: tuple[str, ...], cache_dir: Path | None) -> None:
    """Remove KEYS (as 'territory data verify' names them) from the cache index,
    with their files: the repair of an entry that cannot be fetched again, such
    as a damaged live snapshot or an entry of an unknown dataset.

    \b
    Examples
      territory data forget snapshots/1754251105
    """
    from territory import datasets as ds

    removed = ds.forget(keys, cache_dir=cache_dir)
    click.echo(f"forgot {len(removed)}: {', '.join(removed)}")


@data.command(short_help="Remove derived partitions no map reads any more.")
@click.option(
    "--dry-run", is_flag=True, help="Remove nothing; say what would be removed."
)
@cache_option
@handle_errors
def prune(dry_run: bool, cache_dir: Path | None) -> None:
    """Remove the derived partitions (and the figures kept beside them) that
    no map of the cache reads any more: those an earlier version of the
    partition made, or made from files no longer in the cache.  They take
    3–5 MB each and are never read again.  Nothing fetched and nothing else
    derived is touched; anything derived can be derived again.

    \b
    Examples
      territory data prune --dry-run
      territory data prune
    """
    from territory.record import Record

    paths, size = Record(cache_dir).prune_derived(dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    click.echo(
        f"{verb} {len(paths):,} derived file(s) no map reads ({size / 1e6:,.1f} MB)"
    )


@data.command(short_help="List what is cached, with licences.")
@format_option
@cache_option
@handle_errors
def status(fmt: str, cache_dir: Path | None) -> None:
    """List the cached datasets: files, date range, gaps, licence and attribution.

    \b
    Examples
      territory data status
    """
    from territory import datasets as ds
    from territory import tables

    rows = ds.status(cache_dir)
    if fmt == "json":
        emit(tables.to_json(rows), None)
        return
    if fmt == "csv":
        import pandas as pd

        df = pd.DataFrame(rows)
        for col in ("missing_upstream", "not_fetched"):
            df[col] = df[col].str.join(";")
        emit(tables.frame_csv(df), None)
        return
    lines = []
    for r in rows:
        span = f" {r['first']} … {r['last']}" if r["first"] else ""
        lines.append(f"{r['dataset']}: {r['files']} file(s){span}")
        if r["missing_upstream"]:
            lines.append(
                f"  missing upstream (no file published): {', '.join(r['missing_upstream'])}"
            )
        if r["not_fetched"]:
            n = len(r["not_fetched"])
            lines.append(f"  not fetched: {n} day(s), first {r['not_fetched'][0]}")
        lines.append(f"  licence: {r['licence']}")
        lines.append(f"  attribution: {r['attribution']}")
    emit("\n".join(lines), None)


@data.command(short_help="Re-check cached files against checksums.")
@cache_option
@handle_errors
def verify(cache_dir: Path | None) -> None:
    """Re-hash every cached file and compare with the index and the manifest,
    and check every index entry, with the same check every reader makes.
    Exits 1 and lists the problems, one line each with its repair command.

    \b
    Examples
      territory data verify
    """
    from territory import datasets as ds

    checked, problems = ds.verify(cache_dir)
    if problems:
        for p in problems:
            click.echo(p, err=True)
        msg = f"{len(problems)} of {checked} cached files failed verification; repair them as shown"
        raise click.ClickException(msg)
    click.echo(f"{checked} cached files verified")
