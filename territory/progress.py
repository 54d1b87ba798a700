"""Progress bars for long work: on stderr, and only when stderr is a terminal.

Whole-record timelines, scenario sweeps and fetches take seconds to
minutes; a bar tells a person at a terminal that work goes on.  It is drawn
by tqdm (a kept library) on stderr, never on stdout, so CSV and JSON written
to stdout stay clean, and it is not drawn at all when stderr is not a
terminal (a pipe, a log file, CI, a notebook's captured output) or when
``TERRITORY_PROGRESS=0``.  ``TERRITORY_PROGRESS=1`` forces it on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Sized
from typing import TypeVar

T = TypeVar("T")

#: Environment variable: "0" never draws a bar, "1" always does (on stderr).
ENV = "TERRITORY_PROGRESS"


def enabled() -> bool:
    """Whether a progress bar is drawn: stderr is a terminal, unless `ENV` says otherwise."""
    forced = os.environ.get(ENV, "").strip()
    if forced in {"0", "1"}:
        return forced == "1"
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # closed or replaced stream
        return False


def progress(
    items: Iterable[T], *, total: int | None = None, desc: str = "", unit: str = "it"
) -> Iterator[T]:
    """Yield `items`, drawing a bar on stderr while they are consumed (see `enabled`).

    Parameters
    ----------
    items
        What to iterate over.
    total
        How many items there are (default ``len(items)`` when it has one).
    desc, unit
        The bar's label and the name of one item ("map", "date", "file").
    """
    if not enabled():
        yield from items
        return
    from tqdm import tqdm

    if total is None and isinstance(items, Sized):
        total = len(items)
    with tqdm(
        items, total=total, desc=desc, unit=unit, file=sys.stderr, leave=False
    ) as bar:
        yield from bar
