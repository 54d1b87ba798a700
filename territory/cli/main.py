"""The `territory` command group."""

from __future__ import annotations

import atexit
import functools
import gc
import importlib
import logging

import click

from territory import __version__

#: Each command's name and where it is defined (``module:attribute``): a
#: command's module is imported only when it runs or the help lists it.
COMMANDS = {
    "control": "territory.cli.control:control",
    "regions": "territory.cli.regions:regions",
    "measure": "territory.cli.measure:measure",
    "data": "territory.cli.data:data",
    "map": "territory.cli.map:map_command",
    "evaluate": "territory.cli.evaluate:evaluate",
    "compare": "territory.cli.evaluate:compare",
    "balance": "territory.cli.balance:balance",
    "scenarios": "territory.cli.evaluate:scenarios",
    "timeline": "territory.cli.timeline:timeline",
    "pace": "territory.cli.pace:pace",
}


class LazyGroup(click.Group):
    """A click group whose commands (`COMMANDS`) are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """List the commands, the ones not imported yet included."""
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return the command `cmd_name`, importing its module on first use."""
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attr = COMMANDS[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attr)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="territory")
@click.option("-v", "--verbose", count=True, help="More log output (repeatable).")
@click.option("-q", "--quiet", count=True, help="Less log output (repeatable).")
def cli(verbose: int, quiet: int) -> None:
    """Evaluate proposed territorial swaps in the Russia-Ukraine war.

    Areas are ellipsoidal km² (WGS84; polygons with lon/lat-straight edges, as
    GeoJSON defines them), on land only; 'measure' gives geodesic areas.
    Control maps are DeepState's, "as of D" meaning the latest map version
    made by the end of day D (Kyiv time).

    \b
    Examples
      territory data fetch --mirror ../shared/geodata
      territory control --date 2025-08-14
      territory evaluate alaska-2025
      territory measure claim.geojson --format json
    """
    level = max(10, 30 - 10 * (verbose - quiet))
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s")
    logging.captureWarnings(True)
    _skip_last_collection()


def main() -> None:
    """Run the command line (the ``territory`` command), and leave at once.

    Once the command has returned its exit code and every exit handler has
    run, standard output and error are flushed and the process ends there
    (`os._exit`), without the interpreter tearing down what the command
    imported and kept: about 25 ms of every command (a twentieth of a cold
    ``territory evaluate``).  What a command writes to a file is closed
    before it returns.  With a thread of its own still running, or an
    output that cannot be flushed, it leaves the usual way.
    """
    import os
    import sys
    import threading

    try:
        cli()
    except SystemExit as done:
        code = done.code
        if code is not None and not isinstance(code, int):
            raise  # (a message: printed by the interpreter)

        def others() -> bool:
            return any(
                t is not threading.main_thread() and not t.daemon and t.is_alive()
                for t in threading.enumerate()
            )

        # a thread still running (a process pool ending its workers) is
        # waited for by the usual exit, before the exit handlers, which
        # would otherwise close what it still uses
        if others():
            raise
        atexit._run_exitfuncs()
        if others():
            raise
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            raise done from None
        os._exit(code or 0)


@functools.cache
def _skip_last_collection() -> None:
    """Spare the process the interpreter's collections over every object at exit.

    Registered once (`atexit`), to run after every other exit handler:
    `gc.freeze` moves every object left to the permanent generation, which
    the collections of the interpreter's finalisation never traverse (about
    0.1 s of a command's whole time, most of it over the modules
    geopandas imports).  Objects still drop when their references do;
    only cycles left at exit are not collected, whose finalisers Python
    never promises to run, and what a command writes is closed (and
    standard output flushed) before.  In a process that runs commands in
    turn (tests), it runs once, when that process exits.
    """
    atexit.register(gc.freeze)
