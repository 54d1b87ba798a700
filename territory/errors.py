"""Exception hierarchy of territory (and nothing else).

`TerritoryError` and its subclasses are expected failures: bad input, missing
or damaged data, an unreachable server.  The CLI prints them as one line (exit
1 for data and domain failures, 2 for misuse).  `InternalError` is a bug in
territory itself (a failed invariant): it is deliberately *not* a
`TerritoryError`, so ``except TerritoryError`` never hides it, and the CLI
shows it with its traceback and a request to report it (exit 3).
"""

from __future__ import annotations


class TerritoryError(Exception):
    """Root of every error territory raises on purpose."""


class DataError(TerritoryError, ValueError):
    """A dataset is missing a column, malformed, or fails its checksum."""


class GeometryError(TerritoryError, ValueError):
    """A geometry operation was asked for something it cannot do exactly."""


class CRSError(TerritoryError, ValueError):
    """A layer has no CRS, a mismatched CRS, or one unfit for the purpose."""


class ScenarioError(TerritoryError, ValueError):
    """A scenario file is malformed or inconsistent with the control map."""


class DataNotFoundError(TerritoryError, FileNotFoundError):
    """A dataset, date or file that was asked for is not there."""


class FetchError(TerritoryError, OSError):
    """Fetching a dataset from upstream, a mirror or the live API failed."""


class OutputError(TerritoryError, OSError):
    """An output file cannot be written safely (read-only, missing directory...)."""


class ScenarioFormatError(ScenarioError):
    """A scenario file breaks the file format (misuse: exit code 2 in the CLI)."""


class InternalError(RuntimeError):
    """A bug in territory: an invariant of the accounting failed.

    Not a `TerritoryError`: nothing a user can fix; please report it.
    """
