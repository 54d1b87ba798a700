"""Shared options of the territory commands, and the error and output helpers.

Options
-------
--cache DIR       data cache (default $TERRITORY_CACHE or geodata/cache): every command
--date D          as-of date, ISO (map as of the evening of D): control, evaluate, map
--format F        table | csv | json (default table): control, regions, measure, evaluate, compare
-o/--output FILE  write to FILE atomically instead of stdout: control, regions, measure, evaluate, compare
--start/--end D   first and last date (date_bound_option): data fetch (file dates), timeline (as-of dates)
SCENARIO          a scenario .toml file or a library name (territory scenarios): evaluate, compare, map
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
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        msg = f"{value!r} is not an ISO date; write it as YYYY-MM-DD, e.g. 2025-08-15"
        raise click.BadParameter(msg, ctx=ctx, param=param) from None


cache_option = click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="TERRITORY_CACHE",
    show_envvar=True,
    help="Data cache directory [default: geodata/cache].",
)


def date_bound_option(flag: str, help_text: str):
    """An ISO date option (``--start`` / ``--end``), parsed like ``--date``."""
    return click.option(
        flag, callback=_parse_date, metavar="YYYY-MM-DD", help=help_text
    )


date_option = click.option(
    "--date",
    "as_of",
    callback=_parse_date,
    metavar="YYYY-MM-DD",
    help="Control map as of the evening of this date [default: latest in the record].",
)
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format: a table for people, CSV or JSON for machines (areas in km²).",
)
output_option = click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (atomically) instead of standard output.",
)


class MisuseError(click.ClickException):
    """A one-line error for misuse (a malformed input file): exit code 2."""

    exit_code = 2


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into one-line messages with exit code 1."""
    from territory.errors import ScenarioFormatError, TerritoryError

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ScenarioFormatError as err:
            raise MisuseError(" ".join(str(err).split())) from None
        except TerritoryError as err:
            raise click.ClickException(" ".join(str(err).split())) from None
        except KeyboardInterrupt:
            click.echo("interrupted; nothing half-written was left behind", err=True)
            sys.exit(130)

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
    """Write `text` to stdout, or atomically to `output`."""
    if output is None:
        click.echo(text.rstrip("\n"))
        return
    from territory.datasets import write_bytes_atomic

    if not output.parent.exists():
        msg = f"directory {output.parent} does not exist; create it or choose another -o path"
        raise click.BadParameter(msg, param_hint="-o/--output")
    write_bytes_atomic(output, text.encode("utf-8"))
    click.echo(f"wrote {output}", err=True)
