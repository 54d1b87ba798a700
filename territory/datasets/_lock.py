"""The writers' lock of a cache, and the removal of what killed writers left."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from territory.datasets._cache import DERIVED_DIR, Cache, _unwritable
from territory.errors import FetchError, TerritoryError
from territory.manifest import default_cache_dir

log = logging.getLogger(__name__)

#: The lock file of writers; removed when the writer is done.
LOCK_NAME = ".lock"
#: A temporary file in ``derived/`` older than this (s) is left over by a killed
#: process; younger ones may belong to a reader computing a partition now.
STALE_DERIVED_PART_S = 3600.0
_PART = re.compile(r"\..+\.part(\.[A-Za-z0-9]+)?")


def _make_dirs(root: Path) -> list[Path]:
    """Create `root` and its missing parents; return those created, deepest last."""
    created: list[Path] = []
    for d in reversed([root, *root.parents]):
        if d.is_dir():
            continue
        try:
            d.mkdir()
        except FileExistsError:
            if not d.is_dir():
                _remove_empty(created)
                raise _unwritable(
                    root, NotADirectoryError(20, "not a directory")
                ) from None
        except OSError as err:
            _remove_empty(created)
            raise _unwritable(root, err) from None
        else:
            created.append(d)
    return created


def _remove_empty(dirs: list[Path]) -> None:
    for d in reversed(dirs):
        with contextlib.suppress(OSError):
            d.rmdir()


def _lock_fd(root: Path) -> int:
    """Open and lock ``root/.lock``; raise naming the holder if it is taken."""
    path = root / LOCK_NAME
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as err:
            raise _unwritable(root, err) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 300).decode("utf-8", "replace").strip() or "starting"
            os.close(fd)
            msg = (
                f"another 'territory data' command ({holder}) is writing to the cache "
                f"{root}; wait for it to finish, then run this one again"
            )
            raise FetchError(msg) from None
        # the previous holder unlinks the file when done: lock the file that is there
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _clean_stale_parts(root: Path) -> None:
    """Remove temporary files left by killed writers (see `atomic_path`).

    Under the lock no fetch is writing, so every temporary file outside
    ``derived/`` is stale; in ``derived/`` a reader may be writing a partition
    now, so only old ones go.
    """
    now = time.time()
    for p in [*root.glob(".*"), *root.glob("*/.*")]:
        if not _PART.fullmatch(p.name) or not p.is_file():
            continue
        derived = p.parent.name == DERIVED_DIR and p.parent.parent == root
        try:
            if derived and now - p.stat().st_mtime < STALE_DERIVED_PART_S:
                continue
            p.unlink()
        except OSError:
            continue  # gone already, or not ours to remove: the fetch goes on
        log.info("removed %s, left over by an interrupted write", p)


@contextlib.contextmanager
def locked(cache_dir: Path | str | None = None) -> Iterator[Cache]:
    """Hold the writers' lock of a cache; yield the cache, its index read under it.

    A second writer stops at once with a `FetchError` naming the first (its
    pid, host and start): waiting could hang behind a stuck download.  Stale
    temporary files are removed first.  On exit the lock file is removed, and
    so is the cache directory if this call created it and it stayed empty.

    Raises
    ------
    FetchError
        If another writer holds the lock.
    DataError
        If the cache directory cannot be created or written.
    """
    root = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    created = _make_dirs(root)
    try:
        fd = _lock_fd(root)
    except TerritoryError:
        _remove_empty(created)
        raise
    try:
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.write(
            fd, f"pid {os.getpid()} on {socket.gethostname()}, since {since}".encode()
        )
        _clean_stale_parts(root)
        yield Cache.open(root)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(root / LOCK_NAME)
        os.close(fd)
        _remove_empty(created)
