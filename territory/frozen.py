"""Read-only views of what the package keeps and hands out more than once.

A value computed once and shared (a cached manifest, the land neighbours,
the places counted, a partition the Controls of one snapshot share) must
not be changed through one caller's hands: the next caller would see the
edit.  `ReadOnlyDict` is such a mapping; sequences are handed out as tuples.
What is kept by the content of a geometry is keyed on `ContentDigests`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

K = TypeVar("K")
V = TypeVar("V")


class ReadOnlyDict(Mapping[K, V]):
    """A dict nobody can change: what a shared, kept object hands out.

    Pickles like a dict (the worker processes of sweeps and timelines get
    copies).

    Examples
    --------
    >>> d = ReadOnlyDict({"RU": 1.0})
    >>> d["RU"], len(d), dict(d)
    (1.0, 1, {'RU': 1.0})
    >>> d["UA"] = 2.0
    Traceback (most recent call last):
    ...
    TypeError: 'ReadOnlyDict' object does not support item assignment
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[K, V] | None = None) -> None:
        self._data: dict[K, V] = dict(data or {})

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"ReadOnlyDict({self._data!r})"


class ContentDigests:
    """Digests of geometries' content, the last few kept by identity.

    What is kept by the content of a geometry (contact-line tiles by the
    land's outline, a selection's components) is keyed on the BLAKE2b
    digest of its WKB, equal for equal coordinates; the same object asked
    again (a map's layer, read by every call of a sweep) is not serialised
    again.  Each entry holds its geometry, so an id is never another's.
    Thread-safe.

    Parameters
    ----------
    kept
        How many geometries' digests are kept (all are dropped when full).
    digest_size
        Bytes of each digest.

    Examples
    --------
    >>> import shapely
    >>> digest = ContentDigests(kept=2, digest_size=16)
    >>> a, b = shapely.box(30, 48, 31, 49), shapely.box(30, 48, 31, 49)
    >>> digest(a) == digest(b), digest(a) == digest(shapely.box(30, 48, 31, 50))
    (True, False)
    """

    def __init__(self, *, kept: int, digest_size: int) -> None:
        self.kept, self.digest_size = kept, digest_size
        self._by_id: dict[int, tuple[BaseGeometry, bytes]] = {}
        self._lock = threading.Lock()

    def __call__(self, geom: BaseGeometry) -> bytes:
        """Return the digest of `geom`'s content."""
        import hashlib

        import shapely

        entry = self._by_id.get(id(geom))
        if entry is not None and entry[0] is geom:
            return entry[1]
        wkb = shapely.to_wkb(geom)
        digest = hashlib.blake2b(wkb, digest_size=self.digest_size).digest()
        with self._lock:
            if len(self._by_id) >= self.kept:
                self._by_id.clear()
            self._by_id[id(geom)] = (geom, digest)
        return digest
