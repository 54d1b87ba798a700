"""Shared options of the territory commands, and the error and output helpers.

Options
-------
--cache DIR       data cache (default $TERRITORY_CACHE or geodata/cache): every command
--date D          as-of date, ISO or 'latest' (map as of the evening of D): control, evaluate, map, balance, pace
--format F        table | csv | json (default table): control, regions, measure, evaluate, compare
-o/--output FILE  write to FILE atomically instead of stdout: control, regions, measure, evaluate, compare
--start/--end D   first and last date (date_bound_option): data fetch (file dates), timeline (as-of dates)
SCENARIO          a scenario .toml file or a library name (territory scenarios): evaluate, compare, map
--allow-paths-outside   let a scenario's polygon files lie outside its folder: evaluate, compare, map
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

FORMATS = ("table", "csv", "json")


def _parse_date(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> dt.date | None:
    """Parse an ISO date, or ``latest``.

    ``latest`` is the last as-of date of the record in the command's cache
    (``--cache`` is read first: it is eager).
    """
    if value is None:
        return None
    if value.strip().lower() == "latest":
        from territory.errors import TerritoryError
        from territory.record import Record

        try:
            return Record(ctx.params.get("cache_dir")).day(value)
        except TerritoryError as err:  # no record: a data failure, exit 1
            raise click.ClickException(str(err)) from None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        msg = f"{value!r} is not an ISO date; write it as YYYY-MM-DD (e.g. 2025-08-15) or 'latest'"
        raise click.BadParameter(msg, ctx=ctx, param=param) from None


cache_option = click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="TERRITORY_CACHE",
    show_envvar=True,
    is_eager=True,  # read before the dates: --date latest needs the record
    help="Data cache directory [default: geodata/cache].",
)


def date_bound_option(flag: str, help_text: str):
    """Return an ISO date option (``--start`` / ``--end``), parsed like ``--date``."""
    return click.option(
        flag, callback=_parse_date, metavar="YYYY-MM-DD|latest", help=help_text
    )


date_option = click.option(
    "--date",
    "as_of",
    callback=_parse_date,
    metavar="YYYY-MM-DD|latest",
    help="Control map as of this date (or 'latest', the record's last): the latest map version made by its end, Kyiv time.",
)
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format: a table for people, CSV or JSON for machines (areas in km²).",
)


def _check_output_early(
    _ctx: click.Context, _param: click.Parameter, value: Path | None
) -> Path | None:
    """Refuse an unusable -o path before any work is done (it is checked again on write)."""
    if value is None:
        return None
    from territory.errors import OutputError
    from territory.io import check_output

    try:
        check_output(value)
    except OutputError as err:
        raise MisuseError(str(err)) from None
    return value


output_option = click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    callback=_check_output_early,
    help="Write to this file (atomically; symlinks and devices are written through) instead of standard output.",
)


class MisuseError(click.ClickException):
    """A one-line error for misuse (a malformed input file): exit code 2."""

    exit_code = 2


#: Exit status of an internal error (a bug in territory), with its traceback.
EXIT_INTERNAL = 3


def _bug(err: BaseException) -> None:
    """Print a bug report request with the traceback and exit `EXIT_INTERNAL`."""
    import traceback

    click.echo("".join(traceback.format_exception(err)).rstrip(), err=True)
    click.echo(
        f"territory: internal error ({type(err).__name__}): this is a bug in territory, "
        "not in your input; please report it on territory's issue tracker with the "
        "command you ran and the traceback above",
        err=True,
    )
    sys.exit(EXIT_INTERNAL)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn failures into the documented exit codes.

    1: a data or domain failure (one line); 2: misuse — a malformed input file
    or an unusable output path (one line); 3: an internal error, i.e. a bug
    (the traceback and a request to report it); 130: interrupted.
    """
    from territory.errors import (
        InternalError,
        OutputError,
        ScenarioFormatError,
        TerritoryError,
    )

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ScenarioFormatError, OutputError) as err:
            raise MisuseError(" ".join(str(err).split())) from None
        except TerritoryError as err:
            raise click.ClickException(" ".join(str(err).split())) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise  # click's own exits and messages
        except KeyboardInterrupt:
            click.echo("interrupted; nothing half-written was left behind", err=True)
            sys.exit(130)
        except InternalError as err:
            _bug(err)
        except OSError as err:  # the machine, not the input: disk full, permissions
            where = f" ({err.filename})" if err.filename else ""
            msg = f"{err.strerror or err}{where}; check free space and permissions, then try again"
            raise click.ClickException(msg) from None
        except Exception as err:  # anything else is a bug: say so, with the traceback
            _bug(err)

    return wrapper


def emit_as(
    fmt: str,
    output: Path | None,
    *,
    table: Callable[[], str],
    csv: Callable[[], str],
    json: Callable[[], Any],
) -> None:
    """Build only the output `fmt` asks for (JSON: an object to serialise) and emit it."""
    from territory import tables

    if fmt == "json":
        emit(tables.to_json(json()), output)
    elif fmt == "csv":
        emit(csv(), output)
    else:
        emit(table(), output)


def emit(text: str, output: Path | None) -> None:
    """Write `text` to stdout, or safely to `output` (see `territory.io.write_output`)."""
    if output is None:
        click.echo(text.rstrip("\n"))
        return
    from territory.io import write_output

    write_output(output, text.encode("utf-8"))
    click.echo(f"wrote {output}", err=True)


allow_paths_option = click.option(
    "--allow-paths-outside",
    is_flag=True,
    help="Let scenario polygon files lie outside the scenario's folder "
    "(off: a file from someone else can only read files beside it).",
)


def evaluate_named(
    record: Any,
    name: str,
    as_of: dt.date | None,
    *,
    allow_paths_outside: bool = False,
    people: bool = True,
) -> Any:
    """Read scenario `name` (file or library name) and evaluate it on `record`.

    The map is the scenario's own as-of date unless `as_of` is given.
    """
    from territory.accounting import evaluate
    from territory.scenario import read_scenario

    scenario = read_scenario(name, allow_paths_outside=allow_paths_outside)
    return evaluate(scenario, record.control(as_of or scenario.as_of), people=people)


def resolve_regions(regions: tuple[str, ...]) -> tuple[Any, list[str]]:
    """Return the region table and the ids of --region names (misuse if unknown)."""
    from territory.errors import DataError
    from territory.regions import load_region_table

    table = load_region_table()
    try:
        return table, table.ids(list(regions))
    except DataError as err:
        raise click.BadParameter(str(err), param_hint="--region") from None


def map_version_text(iso: str) -> str:
    """Return a map version for the table: its UTC time, or "inferred"."""
    if not iso:
        return "inferred"
    return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")


def check_plot(value: Path | None) -> Path | None:
    """Refuse a chart name in a format not drawn, before any work."""
    if value is None:
        return None
    from territory.charts import FORMATS
    from territory.errors import OutputError
    from territory.io import check_output

    if value.suffix.lower() not in FORMATS:
        msg = f"--plot {value.name!r}: a chart is written as {', '.join(FORMATS)}; name it like chart.png"
        raise MisuseError(msg)
    try:
        check_output(value, option="--plot")
    except OutputError as err:
        raise MisuseError(str(err)) from None
    return value


def plot_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--plot FILE``: a chart in a format drawn, checked before any work."""
    return click.option(
        "--plot",
        type=click.Path(dir_okay=False, path_type=Path),
        callback=lambda _ctx, _param, value: check_plot(value),
        help=help_text,
    )
