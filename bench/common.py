"""Timing helpers shared by the benchmarks: medians of repeats, child peak memory."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

PY = sys.executable


def median_s(fn: Callable[[], object], repeat: int = 5, *, warm: bool = False) -> float:
    """Return the median wall time (s) of `repeat` calls of `fn` (after one warm-up call if `warm`)."""
    if warm:
        fn()  # the page cache and the imports
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def child_peak_mib(args: list[str]) -> float:
    """Return the peak resident memory (MiB) of the command `args`, run as a child."""
    code = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [PY, "-c", code, *args], check=True, capture_output=True, text=True
    ).stdout
    return int(out.strip()) / 1024


@contextmanager
def derived_aside(cache_root: Path, pattern: str) -> Iterator[Path]:
    """Move the derived files matching `pattern` aside for a cold run; put them back.

    Yields the derived directory.  Files the run writes in their place are
    kept; the moved ones return where none of the same name was written (a
    folder's files likewise, into the folder the run wrote).
    """
    derived = cache_root / "derived"
    aside = Path(tempfile.mkdtemp(prefix="aside-", dir=cache_root))
    try:
        for path in derived.glob(pattern):
            shutil.move(path, aside / path.name)
        yield derived
    finally:
        for path in aside.glob(pattern):
            back = derived / path.name
            if path.is_dir() and back.is_dir():
                for inner in path.iterdir():
                    if not (back / inner.name).exists():
                        shutil.move(inner, back / inner.name)
            elif not back.exists():
                shutil.move(path, back)
        shutil.rmtree(aside, ignore_errors=True)
