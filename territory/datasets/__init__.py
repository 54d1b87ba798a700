"""Manifest-driven fetch, conversion, verification and status of the data cache.

Every third-party file is fetched from upstream or from a mirror directory,
checked against its published sha256, converted once to GeoParquet (so that no
later command parses GeoJSON) and written atomically into the cache.  The cache
index (``index.json``) records, for each cached file, where it came from, the
checksum of the source and of the cached file, and for control snapshots their
id, publication time and the date they show ("as of").

A cached file is used only when it is what was fetched: every reader goes
through `Cache.check` (read the bytes once, compare size and sha256 with the
index, parse from memory), and so does ``territory data verify``.  Writers
(`fetch`, `fetch_latest`, `forget`) hold the cache's lock (`locked`): a second
one stops at once, naming the first; the index is re-read under the lock, so no
entry is lost; temporary files left by a killed fetch are removed.
"""

import importlib
from typing import Any

from territory.datasets._cache import (
    DERIVED_DIR,
    Cache,
    FileCheck,
    arrow_file_bytes,
    atomic_path,
    bytes_array,
    parse_geoparquet,
    plain_geometries,
    plain_geometry_column,
    read_arrow_table,
    read_geoparquet,
    read_parquet_table,
    sha256_bytes,
    sha256_file,
    write_bytes_atomic,
)
from territory.datasets._index import (
    INDEX_NAME,
    SNAPSHOT_PREFIXES,
    daily_key,
    entry_problems,
    repair_command,
)

#: Names imported from their module when first asked for (PEP 562): reading
#: the cache needs none of fetching's, live snapshots', locking's or status'.
_LAZY = {
    "_fetch": (
        "_CONVERTERS",
        "DEFAULT_DATASETS",
        "FetchReport",
        "Progress",
        "Source",
        "fetch",
    ),
    "_live": ("DEFAULT_API_URL", "fetch_latest", "forget"),
    "_lock": ("LOCK_NAME", "STALE_DERIVED_PART_S", "locked"),
    "_status": ("status", "verify"),
}
_LAZY_NAMES = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    """Import a lazy name's module (`_LAZY`) and return the name, or the module."""
    module = _LAZY_NAMES.get(name, name if name in _LAZY else None)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    found = importlib.import_module(f"{__name__}.{module}")
    value = found if name == module else getattr(found, name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_DATASETS",
    "DERIVED_DIR",
    "INDEX_NAME",
    "LOCK_NAME",
    "SNAPSHOT_PREFIXES",
    "STALE_DERIVED_PART_S",
    "_CONVERTERS",
    "Cache",
    "FetchReport",
    "FileCheck",
    "Progress",
    "Source",
    "arrow_file_bytes",
    "atomic_path",
    "bytes_array",
    "daily_key",
    "entry_problems",
    "fetch",
    "fetch_latest",
    "forget",
    "locked",
    "parse_geoparquet",
    "plain_geometries",
    "plain_geometry_column",
    "read_arrow_table",
    "read_geoparquet",
    "read_parquet_table",
    "repair_command",
    "sha256_bytes",
    "sha256_file",
    "status",
    "verify",
    "write_bytes_atomic",
]
