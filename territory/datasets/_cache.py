"""The data cache: atomic writes, and reading a cached file only when it is what was fetched."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import io
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from territory.datasets._index import (
    INDEX_NAME,
    _is_snapshot,
    _placement,
    _read_index,
    entry_problems,
    repair_command,
)
from territory.errors import DataError, DataNotFoundError
from territory.io import new_file_mode
from territory.manifest import default_cache_dir

if TYPE_CHECKING:
    import geopandas as gpd

#: Directory of derived files (land partitions), written by `territory.record`.
DERIVED_DIR = "derived"


def sha256_bytes(data: bytes) -> str:
    """Return the hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of the file at `path`."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it over `target` on success.

    On any failure the temporary file is removed and `target` is left as it was.
    Temporary names are ``.<stem>.<random>.part<suffix>``; a fetch removes
    those that a killed process left behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            tmp_path.chmod(new_file_mode())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Write `data` to `target` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


@functools.lru_cache(maxsize=8)
def _crs(projjson: str) -> Any:
    """Return the pyproj CRS of a GeoParquet column's ``crs``, built once per process.

    A PROJJSON naming its EPSG code is the EPSG definition it was written
    from: it is built from the code (2 ms, against 30 ms to parse it).
    """
    from pyproj import CRS

    crs = json.loads(projjson)
    if crs == "OGC:CRS84":  # GeoParquet's default, as geopandas reads it
        return CRS.from_epsg(4326)
    ident = crs.get("id") if isinstance(crs, dict) else None
    if isinstance(ident, dict) and ident.get("authority") == "EPSG":
        return CRS.from_epsg(int(ident["code"]))
    return CRS.from_user_input(crs)


def read_parquet_table(data: bytes, columns: list[str] | None = None) -> Any:
    """Return the pyarrow Table of the Parquet file `data` (its `columns`, default all).

    The files read here are small (a few MB at most): read in this thread,
    which costs a fifth of handing them to pyarrow's thread pool, through
    `pyarrow.parquet.ParquetFile`, which does not import ``pyarrow.dataset``
    as ``read_table`` does, from a `pyarrow.BufferReader` over the bytes
    (no copy, and no Python file object read call by call: a daily map in
    0.13 ms instead of 0.2), with no pre-buffering (which gathers a remote
    file's reads; in memory it only copies: 0.04 ms less a daily map).
    Raises whatever pyarrow raises.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pq.ParquetFile(pa.BufferReader(data), pre_buffer=False).read(
        columns=columns, use_threads=False
    )


def plain_geometry_column(table: Any) -> tuple[str, Any] | None:
    """Return the geometry column of a plain GeoParquet table and its CRS, or None.

    Plain: what this project writes, one WKB geometry column (its CRS as the
    GeoParquet metadata gives it, ``OGC:CRS84`` when it gives none).  Raises
    if the metadata is not JSON.
    """
    geo = json.loads((table.schema.metadata or {}).get(b"geo", b"{}"))
    col = geo.get("primary_column")
    columns = geo.get("columns", {})
    if not col or list(columns) != [col] or columns[col].get("encoding") != "WKB":
        return None
    return col, columns[col].get("crs", "OGC:CRS84")


def parse_geoparquet(data: bytes) -> gpd.GeoDataFrame:
    """Parse GeoParquet `data` from memory, as ``geopandas.read_parquet`` does.

    The files this project writes (one WKB geometry column) are read with
    pyarrow and shapely, each CRS built once per process; anything else
    goes to geopandas.  Raises whatever the parser raises.
    """
    import geopandas as gpd

    table = read_parquet_table(data)
    plain = plain_geometry_column(table)
    if plain is None:
        # geopandas reads file-like objects; its stubs name paths only
        return gpd.read_parquet(io.BytesIO(data))  # type: ignore[arg-type]
    col = plain[0]
    df = table.to_pandas()
    df[col], crs = plain_geometries(table)
    return gpd.GeoDataFrame(df, geometry=col, crs=crs)


def arrow_file_bytes(table: Any) -> bytes:
    """Return the pyarrow Table `table` as an Arrow IPC file, uncompressed.

    The form of the derived files read on every run: read back
    (`read_arrow_table`) without a copy or a decoding pass, and without
    importing ``pyarrow.parquet``, at a tenth of a Parquet file's cost.
    """
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def bytes_array(items: list[bytes] | list[str]) -> Any:
    """Return a pyarrow binary array of `items` (of `str`: a UTF-8 string array).

    Built from its two buffers (offsets and data), not by ``pyarrow.array``:
    given a list or a NumPy array, that imports pandas (0.4 s) to ask
    whether it is a pandas object, in a run that has no other use for it.
    The same array as ``pyarrow.array(items, pyarrow.binary())`` (or
    ``pyarrow.string()``; tested).
    """
    import numpy as np
    import pyarrow as pa

    text = bool(items) and isinstance(items[0], str)
    if any(isinstance(x, str) != text for x in items):
        msg = "bytes_array takes all bytes or all str"
        raise TypeError(msg)
    data = [x.encode() if isinstance(x, str) else x for x in items]
    offsets = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in data], out=offsets[1:])
    if offsets[-1] > np.iinfo(np.int32).max:
        msg = "over 2 GiB in one Arrow binary column"
        raise ValueError(msg)
    buffers = [
        None,
        pa.py_buffer(offsets.astype(np.int32)),
        pa.py_buffer(b"".join(data)),
    ]
    return pa.Array.from_buffers(
        pa.string() if text else pa.binary(), len(data), buffers
    )


def read_arrow_table(data: bytes) -> Any:
    """Return the pyarrow Table of the Arrow IPC file `data` (`arrow_file_bytes`).

    Its columns are views of `data`.  Raises whatever pyarrow raises.
    """
    import pyarrow as pa

    return pa.ipc.open_file(pa.py_buffer(data)).read_all()


def plain_geometries(table: Any) -> tuple[Any, Any]:
    """Return the geometries and CRS of a plain GeoParquet table (`plain_geometry_column`).

    The geometries as a numpy array of shapely objects, the CRS as pyproj
    builds it (once per process); raises `ValueError` if `table` is not plain.
    """
    import shapely

    plain = plain_geometry_column(table)
    if plain is None:
        msg = "not one WKB geometry column"
        raise ValueError(msg)
    col, crs = plain
    geoms = shapely.from_wkb(table.column(col).to_numpy(zero_copy_only=False))
    return geoms, None if crs is None else _crs(json.dumps(crs, sort_keys=True))


def read_geoparquet(data: bytes, *, key: str, fix: str) -> gpd.GeoDataFrame:
    """Parse GeoParquet `data` (already checked) from memory; raise naming `fix`."""
    try:
        return parse_geoparquet(data)
    except Exception as err:  # any parse failure: the file is not what it claims
        msg = f"{key}: the cached file cannot be read as GeoParquet ({type(err).__name__}); run '{fix}'"
        raise DataError(msg) from None


@dataclass(frozen=True, slots=True)
class FileCheck:
    """The result of checking one cached file against its index entry.

    ``problem`` is one line ending with the repair command, or None when the
    file is what was fetched; then ``data`` holds its bytes and ``sha256``
    their hash (the one pass that both checks and feeds the parser).
    """

    key: str
    problem: str | None
    data: bytes | None = None
    sha256: str | None = None
    missing: bool = False

    def raise_for_problem(self) -> None:
        """Raise `DataNotFoundError` (missing) or `DataError` (damaged), if any."""
        if self.problem is not None:
            raise (DataNotFoundError if self.missing else DataError)(self.problem)


@dataclass
class Cache:
    """The data cache: a directory and its index of verified files."""

    root: Path
    entries: dict[str, Any] = field(default_factory=dict)
    _changed: set[str] = field(default_factory=set, repr=False)
    _removed: set[str] = field(default_factory=set, repr=False)
    #: each entry found sound (`entry_problems`), by key: an entry is replaced,
    #: never changed in place, so the same object needs no second look
    _sound: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, root: Path | str | None = None) -> Cache:
        """Open the cache at `root` (default: $TERRITORY_CACHE or geodata/cache)."""
        root = Path(root).expanduser() if root else default_cache_dir()
        return cls(root=root, entries=_read_index(root))

    def save(self) -> None:
        """Write the index atomically, merged into the index on disk.

        The index is read again first, so entries another writer added since
        this cache was opened are kept; only this cache's changes are applied.
        """
        current = _read_index(self.root)
        for key in self._removed:
            current.pop(key, None)
        for key in self._changed:
            current[key] = self.entries[key]
        body = json.dumps({"format": 1, "files": current}, indent=1, sort_keys=True)
        try:
            write_bytes_atomic(self.root / INDEX_NAME, body.encode())
        except OSError as err:
            raise _unwritable(self.root, err) from None
        self.entries = current
        self._changed.clear()
        self._removed.clear()

    def path(self, key: str) -> Path:
        """Return the path of the cached file recorded under `key`."""
        return self.root / self.entries[key]["path"]

    def has(self, key: str) -> bool:
        """Return True if `key` is indexed and its file is present with the recorded size.

        A quick look (no hashing) for listings; readers use `check`.
        """
        entry = self.entries.get(key)
        if not isinstance(entry, dict) or not self._is_sound(key, entry):
            return False
        try:  # (one stat: a listing asks this of every file of the record)
            found = os.stat(os.path.join(self.root, entry["path"]))
        except OSError:
            return False
        return stat.S_ISREG(found.st_mode) and found.st_size == entry["size"]

    def _is_sound(self, key: str, entry: Any) -> bool:
        """Whether the index entry `entry` of `key` has no problem (`entry_problems`)."""
        if not isinstance(entry, dict):
            return False
        if self._sound.get(key) is entry:
            return True
        if entry_problems(key, entry):
            return False
        self._sound[key] = entry
        return True

    def check(self, key: str) -> FileCheck:
        """Read the file of `key` once and check it against its index entry.

        The one check of the cache: every reader and ``territory data verify``
        use it.  The entry must be valid (`entry_problems`), the file present,
        of the recorded size and sha256.
        """
        indexed = key in self.entries

        def fix() -> str:  # named only when the file is refused (it reads the manifest)
            return repair_command(key, indexed=indexed, root=self.root)

        if not indexed:
            msg = f"{key} is not in the cache at {self.root}; run '{fix()}'"
            return FileCheck(key, msg, missing=True)
        entry = self.entries[key]
        # (an entry found sound before is not asked again: a walk over the
        # record reads hundreds of files whose entries a listing checked)
        problems = [] if self._is_sound(key, entry) else entry_problems(key, entry)
        if problems:
            msg = f"{key}: the index entry is damaged ({'; '.join(problems)}); run '{fix()}'"
            return FileCheck(key, msg)
        path = self.root / entry["path"]
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            msg = f"{key}: file {path} is missing; run '{fix()}'"
            return FileCheck(key, msg, missing=True)
        except OSError as err:
            msg = f"{key}: cannot read {path} ({err.strerror}); check its permissions, or run '{fix()}'"
            return FileCheck(key, msg)
        if len(data) != entry["size"]:
            msg = (
                f"{key}: {path.name} changed since it was fetched ({len(data):,} bytes, "
                f"the index says {entry['size']:,}: truncated or overwritten); run '{fix()}'"
            )
            return FileCheck(key, msg)
        digest = sha256_bytes(data)
        if digest != entry["sha256"]:
            msg = (
                f"{key}: {path.name} changed since it was fetched (sha256 {digest[:12]}…, "
                f"the index says {entry['sha256'][:12]}…); run '{fix()}'"
            )
            return FileCheck(key, msg)
        return FileCheck(key, None, data=data, sha256=digest)

    def read_verified(self, key: str) -> tuple[bytes, str]:
        """Return the bytes of the cached file of `key` and their sha256, checked.

        Raises
        ------
        DataNotFoundError
            If `key` is not indexed or its file is gone.
        DataError
            If its index entry is damaged or the file is not what was fetched;
            the message names the repair command.
        """
        checked = self.check(key)
        checked.raise_for_problem()
        assert checked.data is not None
        assert checked.sha256 is not None
        return checked.data, checked.sha256

    def read_frame(self, key: str) -> tuple[gpd.GeoDataFrame, str]:
        """Return the checked GeoParquet file of `key` and the sha256 it was read with."""
        data, digest = self.read_verified(key)
        fix = repair_command(key, root=self.root)
        return read_geoparquet(data, key=key, fix=fix), digest

    def require(self, key: str, *, dataset: str) -> Path:
        """Return the cached file for `key`, checked, or raise naming the fix."""
        if key not in self.entries:
            msg = (
                f"dataset {dataset!r} is not in the cache at {self.root}; "
                f"run 'territory data fetch {dataset}' (or 'make data')"
            )
            raise DataNotFoundError(msg)
        self.check(key).raise_for_problem()
        return self.path(key)

    def record(self, key: str, dataset: str, rel: str, **info: Any) -> None:
        """Index the file at `rel`, computing its checksum and size."""
        p = self.root / rel
        self.entries[key] = {
            "dataset": dataset,
            "path": rel,
            "sha256": sha256_file(p),
            "size": p.stat().st_size,
            "fetched": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **info,
        }
        self._changed.add(key)
        self._removed.discard(key)

    def remove(self, key: str) -> None:
        """Drop `key` from the index (`save` writes it)."""
        self.entries.pop(key, None)
        self._changed.discard(key)
        self._removed.add(key)

    def snapshots(self) -> list[dict[str, Any]]:
        """Return the index entries of all control snapshots, oldest first.

        Entries whose index data are damaged are kept, placed by their key
        (``damaged`` holds the problem), so that asking for their date fails
        loudly instead of silently using another snapshot.

        Raises
        ------
        DataError
            If a damaged snapshot entry cannot even be placed by its key.
        """
        out = []
        for key, entry in self.entries.items():
            if not _is_snapshot(key, entry):
                continue
            if self._is_sound(key, entry):
                out.append(dict(entry, key=key, damaged=None))
                continue
            problems = entry_problems(key, entry)
            place = _placement(key)
            if place is None:
                fix = repair_command(key, root=self.root)
                msg = f"cache index entry {key!r} is damaged ({'; '.join(problems)}); run '{fix}'"
                raise DataError(msg)
            out.append(dict(place, key=key, damaged="; ".join(problems)))
        return sorted(out, key=lambda e: (e["as_of"], e.get("published") or ""))


def _unwritable(root: Path, err: OSError) -> DataError:
    reason = err.strerror or type(err).__name__
    msg = (
        f"cannot write to the cache directory {root} ({reason}); make it writable, "
        "or use another one with --cache DIR or TERRITORY_CACHE"
    )
    return DataError(msg)
