"""The dataset manifest: where each third-party file comes from, and how to check it.

The manifest (``geodata/MANIFEST.toml``) and the region table are the only
places that know which country and which sources territory is set up for.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from territory.errors import DataError, DataNotFoundError
from territory.frozen import ReadOnlyDict

_PACKAGE_DIR = Path(__file__).resolve().parent

#: Environment variables that override the default locations.
ENV_CACHE = "TERRITORY_CACHE"
ENV_MIRROR = "TERRITORY_MIRROR"
ENV_API = "TERRITORY_DEEPSTATE_API"

#: Largest download accepted for a dataset with no ``max_bytes`` in the manifest
#: (bytes); ``territory data fetch --max-mb`` overrides every cap.
DEFAULT_MAX_BYTES = 64_000_000


def geodata_dir() -> Path:
    """Return the directory holding MANIFEST.toml, the region table and scenarios.

    A source checkout keeps it at the top level (``geodata/``); an installed
    wheel carries a copy inside the package (``territory/_geodata``).
    """
    for candidate in (_PACKAGE_DIR.parent / "geodata", _PACKAGE_DIR / "_geodata"):
        if (candidate / "MANIFEST.toml").is_file():
            return candidate
    msg = "territory's geodata/MANIFEST.toml is missing; reinstall the package"
    raise DataNotFoundError(msg)


def default_cache_dir() -> Path:
    """Return the cache directory: $TERRITORY_CACHE, else ``geodata/cache``.

    An installed wheel (no writable checkout) falls back to ``~/.cache/territory``.
    """
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    base = geodata_dir()
    if base.name == "geodata":
        return base / "cache"
    return Path.home() / ".cache" / "territory"


@dataclass(frozen=True, slots=True)
class Dataset:
    """One manifest entry."""

    name: str
    title: str
    kind: str
    url: str
    licence: str
    attribution: str
    dates: str
    mirror: str | None = None
    sha256: str | None = None
    optional: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_series(self) -> bool:
        """True for a dated series of files (one per day)."""
        return "{yyyymmdd}" in self.url

    def url_for(self, day: dt.date | None = None) -> str:
        """Return the upstream URL, for `day` if this is a dated series."""
        return self.url.replace("{yyyymmdd}", f"{day:%Y%m%d}") if day else self.url

    def mirror_for(self, day: dt.date | None = None) -> str | None:
        """Return the path inside a mirror directory, for `day` if a series."""
        if self.mirror is None:
            return None
        return (
            self.mirror.replace("{yyyymmdd}", f"{day:%Y%m%d}") if day else self.mirror
        )

    def checksums(self) -> dict[dt.date, str]:
        """Return the published sha256 of every file of a dated series."""
        return _series_checksums(self.name)


@dataclass(frozen=True, slots=True)
class Manifest:
    """The parsed manifest: country facts, parties and datasets."""

    country: Mapping[str, Any]
    parties: Mapping[str, Mapping[str, str]]
    datasets: Mapping[str, Dataset]

    def dataset(self, name: str) -> Dataset:
        """Return the dataset called `name`, or raise listing the available ones."""
        try:
            return self.datasets[name]
        except KeyError:
            close = difflib.get_close_matches(name, self.datasets, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            msg = (
                f"unknown dataset {name!r}{hint}; available: "
                f"{', '.join(sorted(self.datasets))}"
            )
            raise DataNotFoundError(msg) from None

    def by_kind(self, kind: str) -> Dataset:
        """Return the one dataset of `kind` (``regions``, ``land``, ...)."""
        for ds in self.datasets.values():
            if ds.kind == kind:
                return ds
        msg = f"the manifest has no dataset of kind {kind!r}"
        raise DataError(msg)


_FIELDS = {
    "title",
    "kind",
    "url",
    "licence",
    "attribution",
    "dates",
    "mirror",
    "sha256",
    "optional",
    "max_bytes",
}


@lru_cache(maxsize=1)
def load_manifest() -> Manifest:
    """Read and check ``geodata/MANIFEST.toml``."""
    path = geodata_dir() / "MANIFEST.toml"
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    datasets = {}
    problems = []
    for name, entry in raw.get("datasets", {}).items():
        # every dataset must say where it comes from and how it may be used
        missing = [
            k
            for k in ("title", "kind", "url", "licence", "attribution", "dates")
            if k not in entry
        ]
        if missing:
            problems.append(f"- dataset {name!r} lacks {', '.join(missing)}")
            continue
        # a cap on each download keeps a wrong or hostile answer out of memory
        cap = entry.get("max_bytes", DEFAULT_MAX_BYTES)
        if type(cap) is not int or cap <= 0:
            problems.append(
                f"- dataset {name!r}: max_bytes {cap!r} is not a positive integer"
            )
            continue
        known = {k: v for k, v in entry.items() if k in _FIELDS}
        extra = {k: v for k, v in entry.items() if k not in _FIELDS}
        datasets[name] = Dataset(name=name, extra=ReadOnlyDict(extra), **known)
    if problems:
        msg = f"{path} is malformed:\n" + "\n".join(problems)
        raise DataError(msg)
    # kept once per process and shared: nobody may change it in place
    return Manifest(
        country=ReadOnlyDict(raw["country"]),
        parties=ReadOnlyDict({k: ReadOnlyDict(v) for k, v in raw["parties"].items()}),
        datasets=ReadOnlyDict(datasets),
    )


@lru_cache(maxsize=8)
def _series_checksums(name: str) -> dict[dt.date, str]:
    ds = load_manifest().dataset(name)
    rel = ds.extra.get("checksums")
    if not rel:
        return {}
    sums: dict[dt.date, str] = {}
    for line in (geodata_dir() / rel).read_text().splitlines():
        if not line.strip():
            continue
        digest, fname = line.split()
        stamp = "".join(ch for ch in fname if ch.isdigit())[-8:]
        if len(stamp) != 8:
            msg = f"no YYYYMMDD date in the file name {fname!r} of {rel}"
            raise ValueError(msg)
        # (not strptime: ten times the cost, for every file of the record)
        sums[dt.date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))] = digest
    return sums
