"""Read-only views of what the package keeps and hands out more than once.

A value computed once and shared (a cached manifest, the land neighbours,
the places counted, a partition the Controls of one snapshot share) must
not be changed through one caller's hands: the next caller would see the
edit.  `ReadOnlyDict` is such a mapping; sequences are handed out as tuples.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TypeVar

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
