"""The record: the cached boundaries, land mask and dated control snapshots.

`Record` is the entry point of the data layer for everything above it: it
reads the GeoParquet cache written by `territory.datasets` and answers "which
snapshot shows the map as of date D" and "who holds what on D".
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import itertools
import json
import logging
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import shapely

from territory.control import (
    KEPT_ON_DISK_KEYS,
    SLIVER_TOLERANCE_M,
    Control,
    Partition,
    Snapshot,
    build_outline_band,
    partition_land,
)
from territory.datasets import (
    DERIVED_DIR,
    Cache,
    arrow_file_bytes,
    plain_geometries,
    plain_geometry_column,
    read_arrow_table,
    read_geoparquet,
    read_parquet_table,
    repair_command,
    sha256_bytes,
    write_bytes_atomic,
)
from territory.dates import check_span, check_step
from territory.errors import DataError, DataNotFoundError, TerritoryError
from territory.frozen import ReadOnlyDict
from territory.manifest import load_manifest

if TYPE_CHECKING:
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    from shapely.geometry.base import BaseGeometry

    from territory._partition_patch import PatchBase
    from territory.series import Diff, Prepared, Statics
    from territory.versions import Version

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Cache keys of the daily files and of DeepState's published area history.
DAILY_PREFIX = "deepstate-daily/"
AREAS_KEY = "deepstate-areas"
#: What the cached daily-file areas are (bump if the measure changes).
AREAS_MEASURE = "occupied, unclipped, geodesy.measure_km2"
#: Daily files to measure from which the work is shared with forked processes.
PARALLEL_MIN_FILES = 64
#: The smallest share of such work (`_shares`) is this fraction of it per CPU.
_LEAST_SHARE = 1 / 16


def _snapshot_order(s: Snapshot) -> tuple[dt.date, str, bool, str]:
    """Return the sort key of a snapshot: oldest first.

    Within a day, by map version (or publication), then grey zone, then the
    later file (two files may show the same version).
    """
    return (s.as_of, s.version or s.published or "", s.grey_zone, s.key)


#: Bump when `partition_land` changes its result: cached partitions are keyed on it.
#: (14: the held land is taken out of the removed and given land by a
#: snap-rounded overlay, and partitions may be patched from a nearby map's;
#: 15: a patched map's country-wide layers swapped by their change in one
#: overlay, `territory._partition_patch._swapped`;
#: 16: the outline band kept once, in a file of its own, which each
#: partition's file names (`_partition_bytes`);
#: 17: the held land snap-rounded in one overlay, ``land − others``, not
#: ``(land ∪ others) − others``, `territory.control.held_land`;
#: 18: each large geometry kept once, in a file of its own named after its
#: content, which the partition's file names (`_partition_bytes`);
#: 19: the country joined as a coverage (`territory.control.static_layers`):
#: the same polygon, its ring starting elsewhere.)
PARTITION_VERSION = "partition-19"
#: A geometry of a partition whose WKB is at least this long (bytes) is kept
#: in a file of its own (``rows/row-<content>.wkb``), which the partition's file
#: names: the regions far from the front, the same from map to map, are
#: two thirds of each partition, written and hashed once.
ROW_REF_MIN_BYTES = 32_000
#: How many geometries kept in files of their own a Record keeps once read
#: or written (the least recently used go: the static ones, used by every
#: map, stay; a few MB each at most).
ROWS_READ_KEPT = 64
#: The folder of the derived cache those files are kept in (a sweep over a
#: year writes thousands: apart, they leave the lookups of the other derived
#: files, by listing, as fast as they were).
ROWS_DIR = "rows"
#: Bump when what a derived copy of a static layer keeps changes (`Record._code_frame`).
LAYER_COPY = "layer-1"
#: The form of a derived partition's file (`_partition_bytes`): Arrow IPC.
PARTITION_SUFFIX = ".arrow"
#: The form of the derived static layers of `territory.series` (`Statics.to_bytes`).
STATICS_SUFFIX = ".arrow"
#: Bump when the layers `Statics.to_bytes` keeps change: they are keyed on it.
#: (2: without the border's band, made only when a map needs it.)
STATICS_VERSION = "statics-2"
#: Bump when a figure kept beside a derived partition (`KEPT_ON_DISK_KEYS`)
#: is measured differently: the kept files are keyed on it.  (3: a selection by
#: regions keeps its pieces as the overlay that cut them left them,
#: `territory.geodesy.overlay_polygonal`; 4: the line after keeps the map's
#: length in the tiles no move reaches, `territory.accounting._front_after_km`;
#: 5: a selection of whole regions cuts the holding to their bounds first,
#: `territory.selection.SelectionContext.in_regions`; 6: it is the holding's
#: pieces in those regions, joined, and a move is taken from a side's land
#: by cutting only the parts it meets, `territory.geodesy.difference_by_parts`.)
FACTS_VERSION = "facts-6"
#: How many maps a Record keeps with what was computed of them (`Record.control`).
MAPS_KEPT = 8
#: How many maps before the last one a partition not derived yet may be
#: patched from (`Record._patched`), when the last one is too far: a map
#: redrawn for a day, or one with a grey zone between maps without.
PATCH_BASES_EARLIER = 3
#: Hex digits of the hashes in a derived file's name: ``partition-<inputs>-<content>.arrow``.
_DIGEST_HEX = 16
#: What parsing a derived JSON file that is not what it should be raises.
_UNREADABLE: tuple[type[Exception], ...] = (
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
)


def _partition_columns(p: Partition) -> dict[str, list]:
    """Return a partition's layers as the columns of one table.

    ``region_id``, ``holder`` (or reason), ``geometry``, ``layer`` and the
    areas it keeps (``area_km2``, NaN where none).
    """
    nan = float("nan")
    cols: dict[str, list] = {
        "region_id": [],
        "holder": [],
        "geometry": [],
        "layer": [],
        "area_km2": [],
    }

    def add(layer, ids, names, geoms, areas) -> None:
        cols["region_id"] += list(ids)
        cols["holder"] += list(names)
        cols["geometry"] += list(geoms)
        cols["layer"] += [layer] * len(cols["geometry"][len(cols["layer"]) :])
        cols["area_km2"] += list(areas)

    n = len(p.pieces)
    add(
        "piece",
        p.pieces["region_id"],
        p.pieces["holder"],
        p.pieces.geometry.values,
        p.piece_km2 if p.piece_km2 is not None else [nan] * n,
    )
    add(
        "removed",
        p.removed["region_id"],
        p.removed["reason"],
        p.removed.geometry.values,
        [nan] * len(p.removed),
    )
    kept = p.country_km2 or {}
    add(
        "country",
        ["*"] * len(p.country),
        list(p.country),
        list(p.country.values()),
        [kept.get(k, nan) for k in p.country],
    )
    if p.outline_band is not None:
        add("outline", ["*"], ["*"], [p.outline_band], [nan])
    return cols


def _partition_to_frame(p: Partition) -> gpd.GeoDataFrame:
    """One frame of a partition's layers (see `_partition_columns`)."""
    import geopandas as gpd

    cols = _partition_columns(p)
    geoms = cols.pop("geometry")
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=p.pieces.crs)


def _partition_bytes(
    p: Partition,
    wkb_kept: dict[int, tuple[BaseGeometry, bytes]] | None = None,
    *,
    band_ref: str | None = None,
    row_ref: Callable[[BaseGeometry, bytes], str | None] | None = None,
) -> bytes:
    """Return the table of `_partition_to_frame` as an Arrow IPC file (`PARTITION_SUFFIX`).

    The columns and GeoParquet metadata ``to_parquet`` would write, less
    what no reader here uses (geopandas' pandas metadata, the bounding box),
    in the form read on every run at the least cost
    (`territory.datasets.arrow_file_bytes`, uncompressed: WKB does not
    compress); read back by `_partition_from_table`.
    `wkb_kept` holds the WKB of geometries written before (by id, with the
    geometry): a partition patched from the one before shares most of its
    geometries with it.  It is replaced by this partition's.
    With `band_ref`, the outline band (the same for every map on the same
    land, a quarter of the file) is not written: its row names the band
    kept in a file of its own (`Record._band_ref`), its geometry null.
    `row_ref(geometry, wkb)` names the file a geometry is kept in of its
    own (`Record._row_ref`), or None: a named one's geometry is null, its
    ``ref`` the name (`_partition_from_table` reads it back).
    """
    import json

    import numpy as np
    import pyarrow as pa

    cols = _partition_columns(p)
    by_ref = band_ref is not None and p.outline_band is not None
    geoms = cols["geometry"]
    if by_ref:  # the last row, the outline's: its name, no geometry
        cols["region_id"][-1] = band_ref
        geoms = geoms[:-1]
    kept = wkb_kept if wkb_kept is not None else {}
    wkb: list[bytes | None] = []
    for g in geoms:
        hit = kept.get(id(g))
        wkb.append(hit[1] if hit is not None and hit[0] is g else None)
    todo = [i for i, w in enumerate(wkb) if w is None]
    if todo:
        made = shapely.to_wkb(np.asarray([geoms[i] for i in todo], dtype=object))
        for i, w in zip(todo, made, strict=True):
            wkb[i] = w
    if wkb_kept is not None:
        wkb_kept.clear()
        wkb_kept.update(
            {id(g): (g, w) for g, w in zip(geoms, wkb, strict=True) if w is not None}
        )
    refs: list[str | None] = [None] * len(wkb)
    if row_ref is not None:
        for i, (g, w) in enumerate(zip(geoms, wkb, strict=True)):
            refs[i] = row_ref(g, w) if w is not None else None
            if refs[i] is not None:
                wkb[i] = None
    geo = {
        "version": "1.0.0",
        "primary_column": "geometry",
        "columns": {
            "geometry": {
                "encoding": "WKB",
                "geometry_types": [],
                "crs": None if p.pieces.crs is None else p.pieces.crs.to_json_dict(),
            }
        },
    }
    table = pa.table(
        {
            "region_id": pa.array(cols["region_id"], pa.string()),
            "holder": pa.array(cols["holder"], pa.string()),
            "geometry": pa.array([*wkb, None] if by_ref else wkb, pa.binary()),
            "layer": pa.array(cols["layer"], pa.string()),
            "area_km2": pa.array(cols["area_km2"], pa.float64()),
            "ref": pa.array([*refs, None] if by_ref else refs, pa.string()),
        },
        metadata={"geo": json.dumps(geo)},
    )
    return arrow_file_bytes(table)


def _partition_from_table(
    table: pa.Table,
    band_of: Callable[[str], BaseGeometry | None] | None = None,
    row_of: Callable[[str], BaseGeometry] | None = None,
) -> Partition:
    """Return the partition of a derived file's table (`_partition_bytes`).

    Its frames are built from the columns, layer by layer (no frame of the
    whole table): what reading it as GeoParquet and splitting the frame by
    ``layer`` gave, with the same columns, dtypes and index.  An outline
    band kept in a file of its own is `band_of` its name (None: none, the
    partition's Controls build it when a line needs it).  A geometry kept
    in a file of its own is `row_of` its name (``ref``), which raises if
    that file is not sound: the partition is then not read.
    """
    import geopandas as gpd

    geoms, crs = plain_geometries(table)
    if "ref" in table.column_names:
        for i, ref in enumerate(table.column("ref").to_pylist()):
            if ref is not None:
                if row_of is None:
                    msg = f"the partition names a geometry kept apart ({ref})"
                    raise ValueError(msg)
                geoms[i] = row_of(ref)
    ids = table.column("region_id").to_pylist()
    names = table.column("holder").to_pylist()
    rows: dict[str, list[int]] = {}
    for i, layer in enumerate(table.column("layer").to_pylist()):
        rows.setdefault(layer, []).append(i)
    areas = (
        table.column("area_km2").to_pylist()
        if "area_km2" in table.column_names
        else None
    )

    def frame(layer: str, name: str) -> gpd.GeoDataFrame:
        at = rows.get(layer, [])
        return gpd.GeoDataFrame(
            {"region_id": [ids[i] for i in at], name: [names[i] for i in at]},
            geometry=geoms[at],
            crs=crs,
        )

    band = None
    if rows.get("outline"):  # kept since the band was derived with the partition
        at = rows["outline"][0]
        band = geoms[at]
        if band is not None:
            shapely.prepare(band)
        elif band_of is not None:  # kept once, in a file of its own
            band = band_of(ids[at])
    country = rows.get("country", [])
    piece_km2 = country_km2 = None
    if areas is not None:
        values = [_float(areas[i]) for i in rows.get("piece", [])]
        if not any(math.isnan(a) for a in values):
            piece_km2 = tuple(values)
        kept = ((names[i], _float(areas[i])) for i in country)
        country_km2 = {h: a for h, a in kept if not math.isnan(a)}
    return Partition(
        pieces=frame("piece", "holder"),
        removed=frame("removed", "reason"),
        country={names[i]: geoms[i] for i in country},
        outline_band=band,
        piece_km2=piece_km2,
        country_km2=country_km2,
    )


def _row_refs(path: Path) -> set[str]:
    """Return the names of the geometries kept apart a partition's file names.

    Only its ``ref`` column is read (memory-mapped); none for a file that
    cannot be read.
    """
    import pyarrow as pa

    try:
        with pa.memory_map(str(path)) as source:
            table = pa.ipc.open_file(source).read_all()
            if "ref" not in table.column_names:
                return set()
            return {r for r in table.column("ref").to_pylist() if r is not None}
    except (OSError, pa.ArrowException):
        return set()


def _geometry_of(body: bytes) -> BaseGeometry:
    """Return the geometry of WKB `body`."""
    return shapely.from_wkb(body)


def _wkb_of(geom: BaseGeometry) -> bytes:
    """Return `geom` as WKB (read back bit for bit, `_geometry_of`)."""
    return shapely.to_wkb(geom)


def _float(value: float | None) -> float:
    """Return a kept area as a float: NaN where none (what pandas reads a null as)."""
    return math.nan if value is None else float(value)


def _kept_on_disk(control: Control) -> dict[tuple, object]:
    """Return the derived values of `control` the record keeps on disk.

    Those of `KEPT_ON_DISK_KEYS`.
    """
    return {
        k: v
        for k, v in control._cache.items()
        if k[:2] in KEPT_ON_DISK_KEYS and _json_value(v)
    }


def _json_value(value: object) -> bool:
    """Whether `value` comes back from JSON as itself (lists read as tuples)."""
    if isinstance(value, tuple):
        return all(_json_value(v) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, bool | int | str)


def _as_tuple(value: object) -> object:
    return tuple(_as_tuple(v) for v in value) if isinstance(value, list) else value


def _parse_facts(data: bytes) -> list[tuple[tuple, object]]:
    """Return the (key, value) pairs of a kept-figures file (`Record._keep_facts`)."""
    doc = json.loads(data)
    if doc["version"] != FACTS_VERSION:
        msg = "another version"
        raise ValueError(msg)
    out = []
    for raw_key, raw_value in doc["facts"]:
        key, value = _as_tuple(raw_key), _as_tuple(raw_value)
        if not isinstance(key, tuple) or key[:2] not in KEPT_ON_DISK_KEYS:
            msg = f"not a kept figure: {key!r}"
            raise ValueError(msg)
        if not _json_value(value):
            msg = f"not a figure: {value!r}"
            raise ValueError(msg)
        out.append((key, value))
    return out


#: A snapshot file as `Record._decode_snapshot` read it: its statuses and
#: their geometries' WKB.
_Decoded = tuple[list[str], list[bytes]]

#: One share of the dating's files measured (`Record._measure_share`): the
#: areas of those to measure, the keys of the sound ones of those only checked,
#: and the files measured as decoded, by checksum, when walks follow
#: (`Record._maps_ahead`).
_Measured = tuple[list[float | None], list[str], dict[str, _Decoded]]


def _geometries(decoded: _Decoded) -> dict[str, BaseGeometry]:
    """Return the geometries by status of a decoded snapshot file (`_Decoded`)."""
    import numpy as np

    status, wkb = decoded
    geoms = shapely.from_wkb(np.array(wkb, dtype=object))
    return dict(zip(status, geoms, strict=True))


#: What forked workers take in turn (`_in_turns`; set in the parent just
#: before they start): the function of a share's number, the number of
#: shares, the next share to take (shared by the processes), and whether
#: the workers yield the CPUs to the parent (`_YIELD_NICE`).
_TURNS: tuple[Callable[[int], Any], int, Any, bool] | None = None
#: How much forked workers lower their priority (`os.nice`) while the parent
#: runs the one long task no share can take over (`_in_turns`), when they
#: and it are more processes than there are CPUs: the task then runs on a
#: CPU of its own, not on two thirds of one, and they share the others.
#: The same work, in another order: the parent takes the shares left once
#: its task is done, so the CPUs idle less at the end (0.05–0.08 s sooner
#: a dating of the whole record with the static layers made meanwhile).
_YIELD_NICE = 10
#: Whether this process (a forked worker) lowered its priority already.
_YIELDED = False


def _turns_forked() -> list[tuple[int, Any]]:
    """Return, in a forked worker, the shares of the parent's work it took, by number."""
    global _YIELDED  # noqa: PLW0603 (this worker's own)
    assert _TURNS is not None
    take, shares, turn, yield_cpus = _TURNS
    if yield_cpus and not _YIELDED:
        import os

        # (this process's own priority, once: it ends with the work)
        os.nice(_YIELD_NICE)
        _YIELDED = True
    return _take_turns(take, shares, turn)


def _take_turns(
    take: Callable[[int], T], shares: int, turn: Any
) -> list[tuple[int, T]]:
    """Take shares in turn (`turn`, shared by the processes) until none is left.

    Return each share taken, by number, with `take` of it.
    """
    out: list[tuple[int, T]] = []
    while True:
        with turn.get_lock():
            k = turn.value
            turn.value = k + 1
        if k >= shares:
            return out
        out.append((k, take(k)))


def _fork_workers() -> int:
    """Return how many processes share long work: one per CPU (at most 8); 1 without fork."""
    import multiprocessing as mp
    import os

    if "fork" not in mp.get_all_start_methods():
        return 1
    return min(os.cpu_count() or 1, 8)


def _shares(n: int, workers: int) -> list[slice]:
    """Cut n items into contiguous shares for `workers` processes, the largest first.

    Each share is a half-worker's part of what is left (a quarter with
    two), down to `_LEAST_SHARE` / `workers` of the whole: the processes
    taking them in turn, whoever starts late or ends its other work late
    (this process makes the static layers first) still finds small ones
    at the end, where equal shares left one core idle for up to a share
    (about 0.09 s of the dating).  The cut depends on `workers` alone, so
    two lists cut alike pair up share for share (some may be empty).
    """
    least = _LEAST_SHARE / workers
    bounds, rest = [0.0], 1.0
    while rest > least / 2:
        rest -= min(max(rest / (2 * workers), least), rest)
        bounds.append(1.0 - rest)
    cut = [round(b * n) for b in bounds[:-1]] + [n]
    return [slice(a, b) for a, b in itertools.pairwise(cut)]


def _in_turns(
    take: Callable[[int], T],
    shares: int,
    *,
    forked: int,
    meanwhile: Callable[[], None],
) -> list[T]:
    """Return `take` of every share, 0 to `shares` − 1, in order; run `meanwhile` too.

    `forked` workers forked from this process (they inherit it: nothing is
    pickled but what `take` returns) take the shares in turn; this process
    runs `meanwhile`, then takes the shares left in turn too.  With as many
    workers as CPUs, they yield the CPUs to `meanwhile` (`_YIELD_NICE`).
    """
    import multiprocessing as mp
    import os

    global _TURNS  # noqa: PLW0603 (forked workers inherit it, never pickled)
    turn = mp.get_context("fork").Value("i", 0)  # the next share to take
    _TURNS = (take, shares, turn, forked >= (os.cpu_count() or 1))
    try:
        with _forked_pool(forked) as pool:
            futures = [pool.submit(_turns_forked) for _ in range(forked)]
            _handed_out(futures)
            meanwhile()
            taken = _take_turns(take, shares, turn)
            for future in futures:
                taken += future.result()
    finally:
        _TURNS = None
    return [value for _, value in sorted(taken, key=lambda kv: kv[0])]


@contextmanager
def _forked_pool(workers: int) -> Iterator[Any]:
    """Yield a pool of `workers` processes forked from this one (they inherit it).

    A worker that stops abruptly (killed, or by the out-of-memory killer)
    breaks the pool: that is one `TerritoryError` naming it, not a bug
    report; the pool stops the other workers, so none waits for it.  On
    any failure the pool is shut down and its workers waited for; once the
    work is done (every caller has had all its results by then), they end
    on their own, this process going on meanwhile: a worker of a long run
    takes about 10 ms to end, its memory given back.
    """
    import concurrent.futures as cf
    import multiprocessing as mp
    from concurrent.futures.process import BrokenProcessPool

    pool = cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"))
    try:
        yield pool
    except BaseException as err:
        pool.shutdown(wait=True)
        if isinstance(err, BrokenProcessPool):
            msg = (
                "a worker process stopped abruptly (killed, or out of memory); "
                "nothing was kept: run the command again, with more memory free "
                "if it was short"
            )
            raise TerritoryError(msg) from None
        raise
    pool.shutdown(wait=False)  # (documented: it frees the rest once they have)


def _handed_out(futures: list[Any], *, limit_s: float = 1.0) -> None:
    """Return once a pool's threads have passed the work of `futures` on to its workers.

    Those threads need this process's GIL to do it, and what this process
    does next may hold the GIL for tens of milliseconds at a time (one long
    C call: writing out the static layers, checking the regions'
    coverage), which the workers would spend waiting for their work: about
    20 ms at the start of the walks.  Waited for here (at most `limit_s`),
    they start within a few milliseconds of their fork.  Only when the work
    starts changes, never what it gives.
    """
    import concurrent.futures as cf
    import time

    end = time.monotonic() + limit_s
    while time.monotonic() < end and not all(f.running() or f.done() for f in futures):
        cf.wait(futures, timeout=0.001)
    time.sleep(0.001)  # (the call queue's thread writes the last out)


def _partition_inputs(snap_sha: str, boundaries_sha: str, land_sha: str) -> str:
    """Name of a derived partition's inputs: the algorithm and its files' checksums."""
    parts = [PARTITION_VERSION, snap_sha, boundaries_sha, land_sha]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:_DIGEST_HEX]


def _facts_digest(content: str, boundaries_sha: str) -> str:
    """Name of the figures kept beside a derived partition of content `content`."""
    parts = [FACTS_VERSION, content, boundaries_sha]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:_DIGEST_HEX]


def parse_date(text: object) -> dt.date:
    """Return `text` as a date (see `territory.dates.as_date`); raise `DataError`."""
    from territory.dates import as_date

    return as_date(text)


class Record:
    """Cached data of the record, opened from a cache directory.

    Parameters
    ----------
    cache_dir
        Cache directory; default $TERRITORY_CACHE or ``geodata/cache``.

    Notes
    -----
    Typical use: ``Record().control("2025-08-15").to_frame()``; the cache must
    have been filled by ``territory data fetch`` (or ``make data``).
    """

    def __init__(self, cache_dir: Path | str | None = None) -> None:
        self.cache = Cache.open(cache_dir)
        self._controls: dict[str, Control] = {}
        #: the last partition made or read, what the next is patched from:
        #: its snapshot, the file's bytes, the partition and the patch base
        self._last: tuple[Snapshot, bytes, Partition, PatchBase | None] | None = None
        #: the ones before it (`PATCH_BASES_EARLIER`), the latest last
        self._earlier: list[tuple[Snapshot, bytes, Partition, PatchBase | None]] = []
        #: whether the border's band was looked for in the derived cache
        self._band_handed = False
        #: which snapshot's partition each patched one came from
        self._patched_from: dict[str, str] = {}
        #: the WKB of the last partition written (`_partition_bytes`)
        self._wkb: dict[int, tuple[BaseGeometry, bytes]] = {}
        #: the geometries kept in files of their own this Record wrote or
        #: read (`_row_ref`, `_row`), by name (the last used last), and their
        #: names by id
        self._rows_read: dict[str, BaseGeometry] = {}
        self._row_names: dict[int, tuple[BaseGeometry, str]] = {}
        #: the outline bands this Record wrote or read (`_band_ref`), by name
        self._bands: dict[str, BaseGeometry] = {}
        #: the name of the last land's outline band (`_band_ref`): (land, name)
        self._band_land: tuple[BaseGeometry, str] | None = None
        #: sha256 of the content of each static layer as it was read and used
        self._read_sha256: dict[str, str] = {}
        #: the content hash of each snapshot's derived partition (its file's name)
        self._partition_content: dict[str, str] = {}
        #: per snapshot: the kept figures' file name, what it holds, its files
        self._facts_kept: dict[str, tuple[str, dict, list[Path]]] = {}
        #: The by-region figures this Record read or computed (`region_figures`):
        #: rows, steps and the files holding them, by their directory and stem,
        #: read again only when those files change (`_derived_listing`).
        self._figures_read: dict[
            tuple[str, str], tuple[tuple, dict, dict, list[Path]]
        ] = {}
        #: the by-region figures' static layers made while forked workers
        #: measured the daily files (`_figures_ahead`), and whether to make them
        self._statics_ahead: tuple[Statics, str | None] | None = None
        self._ahead = False
        #: within `_figures_ahead`, the files the dating measured as it
        #: decoded them, by checksum: the walks that follow read them from
        #: here, not from their files again (`_read_map`)
        self._maps_ahead: dict[str, _Decoded] = {}

    def __repr__(self) -> str:
        first, last = self.date_range() if self.snapshots else (None, None)
        return f"<Record {self.cache.root} · {len(self.snapshots)} snapshots · as of {first} … {last}>"

    # ------------------------------------------------------------------ static layers
    def _require(self, key: str) -> None:
        """Raise `DataNotFoundError` unless the cache indexes the static layer `key`."""
        if key not in self.cache.entries:
            msg = (
                f"dataset {key!r} is not in the cache at {self.cache.root}; "
                f"run 'territory data fetch {key}' (or 'make data')"
            )
            raise DataNotFoundError(msg)

    def _frame(self, key: str) -> gpd.GeoDataFrame:
        """Read a cached GeoParquet file once, checked against its index entry."""
        self._require(key)
        frame, digest = self.cache.read_frame(key)
        self._read_sha256[key] = digest
        return frame

    def _layer_sha(self, key: str) -> str:
        """Return the sha256 of the static layer `key` as read and used.

        One not read yet is read and checked against its index entry now
        (raising, naming the repair), not parsed: a derived partition is
        keyed on it.
        """
        if key not in self._read_sha256:
            self._require(key)
            _, self._read_sha256[key] = self.cache.read_verified(key)
        return self._read_sha256[key]

    def _code_frame(self, key: str, codes: tuple[str, ...]) -> gpd.GeoDataFrame:
        """Return the geometries and code column of a cached GeoParquet layer, checked.

        The code column is the first of `codes` the layer has.  The file is
        read and checked against its index entry each time; what it holds
        is parsed from a copy of those two columns in the derived cache
        (``derived/layer-<inputs>-<content>.arrow``, named after the file's
        checksum and after its own content, which is checked when it is
        read; `territory.datasets.arrow_file_bytes`): the bytes of its WKB,
        so the same geometries, without decoding Parquet.  A layer that is
        not plain (`territory.datasets.plain_geometry_column`) is read whole.
        """
        import geopandas as gpd

        self._require(key)
        data, digest = self.cache.read_verified(key)
        self._read_sha256[key] = digest
        inputs = hashlib.sha256("|".join([LAYER_COPY, key, digest]).encode())
        stem = f"layer-{inputs.hexdigest()[:_DIGEST_HEX]}"

        def parse(body: bytes) -> gpd.GeoDataFrame:
            table = read_arrow_table(body)
            geoms, crs = plain_geometries(table)
            (code,) = (c for c in table.column_names if c in codes)
            values = table.column(code).to_pylist()
            return gpd.GeoDataFrame({code: values}, geometry=geoms, crs=crs)

        for _, frame in self._read_derived(stem, ".arrow", parse, (Exception,)):
            return frame
        try:  # the file parsed once: its copy written, and read as later runs do
            table = read_parquet_table(data)
            plain = plain_geometry_column(table)
            found = [c for c in codes if c in table.column_names]
            if plain is not None and found:
                copy = table.select([found[0], plain[0]]).replace_schema_metadata(
                    {b"geo": table.schema.metadata[b"geo"]}
                )
                body = arrow_file_bytes(copy)
                frame = parse(body)
                self._write_derived(stem, ".arrow", body)
                return frame
        except Exception:  # any failure: read whole below, which names the repair
            pass
        fix = repair_command(key, root=self.cache.root)
        return read_geoparquet(data, key=key, fix=fix)

    @cached_property
    def _region_layer(self) -> gpd.GeoDataFrame:
        """The region layer every Control of this record shares (never handed out)."""
        from territory.regions import regions_frame

        # the columns `regions_frame` reads: the code it joins on, the geometry
        return regions_frame(self._code_frame("boundaries", ("region_id", "shapeISO")))

    @property
    def regions(self) -> gpd.GeoDataFrame:
        """The region layer (27 units) with full-resolution boundaries.

        Returns
        -------
        GeoDataFrame
            Indexed by ``region_id`` (`territory.regions.regions_frame`),
            EPSG:4326; a new frame each time.
        """
        return self._region_layer.copy()

    @cached_property
    def _region_id_order(self) -> tuple[str, ...]:
        from territory.regions import load_region_table

        return tuple(load_region_table().regions)

    @property
    def region_ids(self) -> list[str]:
        """The region ids in the order of `regions`, read without the boundaries (a new list)."""
        return list(self._region_id_order)

    @cached_property
    def _display_layer(self) -> gpd.GeoDataFrame:
        from territory.regions import regions_frame

        if "boundaries-simplified" not in self.cache.entries:
            return self._region_layer
        return regions_frame(self._frame("boundaries-simplified"))

    @property
    def display_regions(self) -> gpd.GeoDataFrame:
        """The region layer with simplified boundaries (display only; as `regions`)."""
        return self._display_layer.copy()

    @cached_property
    def land(self) -> BaseGeometry:
        """The land mask, one (Multi)Polygon in EPSG:4326."""
        return shapely.union_all(self._frame("land").geometry.values)

    # ------------------------------------------------------------------ snapshots
    @cached_property
    def _indexed_snapshots(self) -> list[Snapshot]:
        """The snapshots as the index dates them (a daily file: its date − 1)."""
        return [
            Snapshot(
                key=e["key"],
                label=e["snapshot"],
                as_of=dt.date.fromisoformat(e["as_of"]),
                published=e.get("published"),
                grey_zone=bool(e.get("grey_zone", False)),
            )
            for e in self.cache.snapshots()
        ]

    @cached_property
    def snapshots(self) -> tuple[Snapshot, ...]:
        """Every indexed control snapshot, dated by its map version, oldest first.

        A daily file is the map of the day of the version it shows
        (`versions`); an API snapshot, of the Kyiv date it was published.
        Snapshots whose file or index entry is damaged are kept: asking for
        their date fails, naming the repair, rather than using another map.
        """
        from territory.versions import PUBLISHED, kyiv_date

        versions = self.versions
        out = []
        for snap in self._indexed_snapshots:
            dated = snap
            # built whole (`dataclasses.replace` costs ten times as much)
            if snap.published:
                t = dt.datetime.fromisoformat(snap.published)
                dated = Snapshot(
                    snap.key,
                    snap.label,
                    kyiv_date(t),
                    snap.published,
                    snap.grey_zone,
                    version=snap.published,
                    dated_by=PUBLISHED,
                )
            elif snap.key in versions:
                v = versions[snap.key]
                dated = Snapshot(
                    snap.key,
                    snap.label,
                    v.day,
                    snap.published,
                    snap.grey_zone,
                    version=None if v.time is None else v.time.isoformat(),
                    dated_by=v.how,
                )
            out.append(dated)
        return tuple(sorted(out, key=_snapshot_order))  # shared: a tuple

    @cached_property
    def versions(self) -> ReadOnlyDict[str, Version]:
        """The map version each cached daily file shows, by cache key.

        Established from the files' areas and DeepState's published area
        history (`territory.versions.date_files`) and kept in the cache
        (``derived/versions-<inputs>-<content>.json``, named after the files'
        and the history's checksums and after its own content, which is
        checked when it is read), so it is computed once per cache (reading
        and measuring every daily file, `_daily_areas`, about a second of
        CPU, shared with forked workers); ``territory data fetch`` does it.
        """
        import json

        from territory.versions import Version

        daily = self._daily_files()
        if not daily:
            return ReadOnlyDict()
        stem = f"versions-{self._versions_inputs(daily)}"

        def parse(data: bytes) -> dict[str, Version]:
            files = json.loads(data)["files"]
            return {k: Version.from_json(v) for k, v in files.items()}

        for _, versions in self._read_derived(stem, ".json", parse):
            return ReadOnlyDict(versions)  # shared: read-only
        versions = self._compute_versions(daily)
        doc = {"files": {k: v.to_json() for k, v in versions.items()}}
        self._write_derived(stem, ".json", json.dumps(doc).encode())
        return ReadOnlyDict(versions)

    def _daily_files(self) -> list[Snapshot]:
        """Return the index's daily files (not the snapshots DeepState published), in order."""
        return [
            s
            for s in self._indexed_snapshots
            if s.key.startswith(DAILY_PREFIX) and not s.published
        ]

    def _daily_areas(
        self, daily: list[Snapshot], wanted: Callable[[Snapshot], bool]
    ) -> tuple[dict[str, float], set[str]]:
        """Return the occupied area (km²) of each daily file, by key; and the sound unmeasured.

        Only the files `wanted` are measured (the others' areas are returned
        when they are kept); the others are only read and checked against
        their checksums, and the keys of the sound ones returned.  Kept in
        the cache by file content (``derived/daily-areas-<measure>-
        <content>.json``, areas keyed by each file's checksum; every sound
        such file is read and merged), so a changed index reads only new files
        (`_measure`: in forked processes too when there are many).
        """
        import json

        stem = f"daily-areas-{hashlib.sha256(AREAS_MEASURE.encode()).hexdigest()[:_DIGEST_HEX]}"

        def parse(data: bytes) -> dict[str, float]:
            found = json.loads(data)
            return {
                str(k): float(v) for k, v in found.items() if isinstance(v, int | float)
            }

        areas: dict[str, float] = {}
        merged = []
        for path, found in self._read_derived(stem, ".json", parse):
            areas.update(found)
            merged.append(path)
        todo, seen = [], set()  # a content shared by several files measured once
        unwanted = []
        for s in daily:
            sha = self._entry_sha(s.key)
            if sha != "-" and sha in areas:
                continue
            if not wanted(s):
                unwanted.append(s)
            elif sha == "-" or sha not in seen:
                todo.append(s)
                seen.add(sha)

        def meanwhile() -> None:
            # the figures' static layers made if they will be wanted (a
            # failure is raised again where they are: the dating goes on)
            if self._ahead and self._statics_ahead is None:
                with suppress(TerritoryError):
                    self._statics_ahead = self._series_statics()

        # (the others only read and checked, not parsed nor measured: the
        # keys of the sound ones)
        areas_of, sound = self._measure(todo, unwanted, meanwhile)
        measured = dict(zip([s.key for s in todo], areas_of, strict=True))
        out, new = {}, False
        for s in daily:
            sha = self._entry_sha(s.key)
            if sha != "-" and sha in areas:
                out[s.key] = areas[sha]
                continue
            if s.key in sound or not wanted(s):
                continue
            # (one whose first file was damaged: measured now, from its own file)
            area = measured[s.key] if s.key in measured else self._occupied_km2(s)
            if area is None:
                continue  # damaged: asking for its date names the repair
            out[s.key] = area
            if sha != "-":
                areas[sha] = area
                new = True
        if new:
            self._write_merged(stem, areas, merged)
        return out, sound

    def _occupied_km2(self, snap: Snapshot) -> float | None:
        """Return the occupied area (km²) of a file; None if damaged.

        `geodesy.measure_km2`: the accounting area to about 1e-13, which the
        dating (matching areas to 2e-5) needs far less than, in two thirds
        of the time.
        """
        from territory.geodesy import measure_km2

        read = self._read_decoded(snap)
        if read is None:
            return None
        sha, by_status, decoded = read
        if self._ahead:  # the walks that follow read it from here
            self._maps_ahead[sha] = decoded
        return measure_km2(by_status["occupied"])

    def _read_decoded(
        self, snap: Snapshot
    ) -> tuple[str, dict[str, BaseGeometry], _Decoded] | None:
        """Return a file's checksum, geometries by status and decoding; None if damaged.

        (Asking for its date, or its walk reading it again, names the repair.)
        """
        try:
            data, sha = self._snapshot_bytes(snap)
            by_status, decoded = self._decode_snapshot(snap, data)
        except (DataError, DataNotFoundError):
            return None
        return sha, by_status, decoded

    def _measure(
        self,
        todo: list[Snapshot],
        checked: Sequence[Snapshot] = (),
        meanwhile: Callable[[], None] = lambda: None,
    ) -> tuple[list[float | None], set[str]]:
        """Return the `_occupied_km2` of each of `todo`, in order; run `meanwhile` too.

        And the keys of the files of `checked` that are sound (read and
        checked against their checksums only, `_is_sound`).

        From `PARALLEL_MIN_FILES` files on, each list is cut into
        contiguous shares, the largest first (`_shares`), taken in
        turn by forked workers (they inherit this Record; nothing is pickled
        but what `_measure_share` returns), one per CPU but this one's (one
        per CPU with `_figures_ahead`, where this process makes the figures'
        static layers meanwhile); this process runs `meanwhile`, then takes the
        shares left in turn too (`_in_turns`).  The same function on
        the same bytes, so the same areas to the last bit.  Otherwise (fewer
        files, one CPU, no fork) all here, then `meanwhile`.
        """
        workers = _fork_workers()
        if len(todo) < PARALLEL_MIN_FILES or workers < 2:
            out, keys, self._maps_ahead = self._measure_share(todo, checked)
            meanwhile()
            return out, set(keys)
        # what reading a file imports, imported once, before the fork, not
        # in every worker (pyarrow: 0.08 s of CPU each)
        import pyarrow.parquet  # noqa: F401

        # (the layers and the measuring seldom take the same time: whichever
        # ends first, the rest is shared)
        m, c = _shares(len(todo), workers), _shares(len(checked), workers)
        # (without the layers to make, this process is a worker too)
        taken = _in_turns(
            lambda k: self._measure_share(todo[m[k]], checked[c[k]]),
            len(m),
            forked=workers if self._ahead else workers - 1,
            meanwhile=meanwhile,
        )
        areas: list[float | None] = []
        sound: set[str] = set()
        for some, keys, decoded in taken:
            areas += some
            sound.update(keys)
            self._maps_ahead.update(decoded)
        return areas, sound

    def _measure_share(
        self, todo: Sequence[Snapshot], checked: Sequence[Snapshot]
    ) -> _Measured:
        """`_measure` of one share: the areas of `todo`, the keys of the sound of `checked`.

        And the files of `todo` decoded (`_maps_ahead`; taken from it: a
        forked worker hands them to the parent).
        """
        areas = [self._occupied_km2(s) for s in todo]
        sound = [s.key for s in checked if self._is_sound(s)]
        decoded, self._maps_ahead = self._maps_ahead, {}
        return areas, sound, decoded

    def _is_sound(self, snap: Snapshot) -> bool:
        """Whether `snap`'s file reads and matches its checksum (else asking for its date names the repair)."""
        try:
            self._snapshot_bytes(snap)
        except (DataError, DataNotFoundError):
            return False
        return True

    def _entry_sha(self, key: str) -> str:
        """Return the checksum an index entry records.

        "-" when it has none, or is damaged.
        """
        entry = self.cache.entries.get(key)
        return str(entry.get("sha256", "-")) if isinstance(entry, dict) else "-"

    def _versions_inputs(self, daily: list[Snapshot]) -> str:
        from territory.versions import ALGORITHM

        # (and the measure: another gives the same dating, its residuals
        # within 1e-13, not to the bit)
        parts = [ALGORITHM, AREAS_MEASURE, self._entry_sha(AREAS_KEY)]
        parts += [f"{s.key}:{self._entry_sha(s.key)}" for s in daily]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:_DIGEST_HEX]

    def _compute_versions(self, daily: list[Snapshot]) -> dict[str, Version]:
        from territory.versions import Published, date_files

        log.info("dating %d daily files by the map version they show", len(daily))
        published = None
        if AREAS_KEY in self.cache.entries:
            try:
                # (read without pandas: its import would delay the work)
                published = Published.from_csv(self.cache.read_verified(AREAS_KEY)[0])
            except (DataError, DataNotFoundError, ValueError, KeyError) as err:
                # the files are then dated by inference, and every output says so
                log.warning("dating the daily files without the area history: %s", err)
                published = None

        def file_day(s: Snapshot) -> dt.date:
            return s.as_of + dt.timedelta(days=1)

        # only a file the history covers is dated by its area (a third of
        # the record lies past its end: those are only checked)
        known, sound = self._daily_areas(
            daily, lambda s: published is not None and published.covers(file_day(s))
        )
        areas = {file_day(s): (s.key, known[s.key]) for s in daily if s.key in known}
        unmeasured = {file_day(s): s.key for s in daily if s.key in sound}
        dated, _ = date_files(
            {d: a for d, (_, a) in areas.items()}, published, unmeasured=unmeasured
        )
        return {
            s.key: dated[file_day(s)] for s in daily if s.key in known or s.key in sound
        }

    def date_range(self) -> tuple[dt.date, dt.date]:
        """Return the first and last as-of dates of the cached record."""
        if not self.snapshots:
            msg = (
                f"no control snapshots in the cache at {self.cache.root}; "
                "run 'territory data fetch' (or 'make data')"
            )
            raise DataNotFoundError(msg)
        return self.snapshots[0].as_of, self.snapshots[-1].as_of

    def latest_date(self) -> dt.date:
        """Return the last as-of date of the record."""
        return self.date_range()[1]

    def day(self, value: object) -> dt.date:
        """Return `value` as a date of the record.

        `value` is a date, an ISO string, or ``"latest"`` (the last as-of
        date); raise `DataError` otherwise.
        """
        if isinstance(value, str) and value.strip().lower() == "latest":
            return self.latest_date()
        return parse_date(value)

    def snapshot_for(self, as_of: str | dt.date) -> tuple[Snapshot, str | None]:
        """Return the snapshot showing the map as of `as_of`, and a note if it is older.

        "As of D" means the map at the end of day D.  Among the snapshots of
        that date an API snapshot (which has a grey zone) is preferred to the
        daily file; with none for D, the latest earlier snapshot is used and
        the note says so.

        Raises
        ------
        DataNotFoundError
            If `as_of` is outside the cached record (the message names its
            range), or the daily file showing `as_of` was published but is
            not in the cache (the message names the fetch command): only a
            gap upstream falls back to an earlier map.
        """
        day = self.day(as_of)
        first, last = self.date_range()
        if not first <= day <= last:
            msg = (
                f"no control map as of {day}: the cached record covers {first} … {last}; "
                "pick a date in that range or fetch more with 'territory data fetch'"
            )
            raise DataNotFoundError(msg)
        # the latest map version made by the end of the day, whatever its
        # source: `snapshots` is in `_snapshot_order`, as-of date first
        snap = self.snapshots[bisect.bisect_right(self._snapshot_days, day) - 1]
        note = None
        if snap.as_of != day:
            self._refuse_unfetched(day)
            shown = f"version of {snap.version}" if snap.version else snap.dated_by
            note = (
                f"no map version of {day} is in the record; using the latest earlier "
                f"one, the map of {snap.as_of} ({snap.label}, {shown})"
            )
            log.info(
                note
            )  # returned to the caller, which shows it; not a warning twice
        return snap, note

    @cached_property
    def _snapshot_days(self) -> list[dt.date]:
        """The as-of date of each of `snapshots`, in order (for bisection)."""
        return [s.as_of for s in self.snapshots]

    @cached_property
    def _published_days(self) -> tuple[frozenset[dt.date], int]:
        """The dates of the daily files DeepState published, and their lag in days."""
        ds = load_manifest().by_kind("control-daily")
        return frozenset(ds.checksums()), int(ds.extra.get("as_of_lag_days", 0))

    def _refuse_unfetched(self, day: dt.date) -> None:
        """Raise if the daily file showing `day` exists upstream but is not cached."""
        from territory.datasets import daily_key

        published, lag_days = self._published_days
        file_day = day + dt.timedelta(days=lag_days)
        if file_day in published and daily_key(file_day) not in self.cache.entries:
            fix = repair_command(
                daily_key(file_day), indexed=False, root=self.cache.root
            )
            msg = (
                f"no snapshot for {day} in the cache at {self.cache.root}, though "
                f"DeepState published one; run '{fix}'"
            )
            raise DataNotFoundError(msg)

    def _snapshot_bytes(self, snap: Snapshot) -> tuple[bytes, str]:
        return self.cache.read_verified(snap.key)

    def snapshot_sha256(self, snap: Snapshot) -> str:
        """Return the sha256 of `snap`'s file, read and checked against the index.

        Two snapshots of the same checksum hold the same map: every figure
        derived from one is the other's.

        Raises
        ------
        DataError
            If the file is missing or damaged (the message names the repair).
        """
        return self._snapshot_bytes(snap)[1]

    def _parse_snapshot(self, snap: Snapshot, data: bytes) -> dict[str, BaseGeometry]:
        return self._decode_snapshot(snap, data)[0]

    def _decode_snapshot(
        self, snap: Snapshot, data: bytes
    ) -> tuple[dict[str, BaseGeometry], _Decoded]:
        """Return a snapshot file's geometries by status, and what they were parsed from.

        Its statuses and their WKB (`_geometries` of them gives the same
        geometries).  Raises `DataError`, naming the repair, if the bytes are
        not a snapshot's (not GeoParquet, no occupied territory).
        """

        def fix() -> str:  # named only when the file is refused
            return repair_command(snap.key, root=self.cache.root)

        try:  # read with pyarrow: a tenth of the time of a GeoDataFrame (and
            # the file alone, without the datasets layer of `read_table`)
            table = read_parquet_table(data, ["status", "geometry"])
            status = [str(x) for x in table.column("status").to_pylist()]
            # (a list, not `to_numpy`, which imports pandas: a few rows)
            wkb = table.column("geometry").to_pylist()
            by_status = _geometries((status, wkb))
        except Exception as err:  # any parse failure: the file is not what it claims
            if "status" in str(err):
                status, wkb, by_status = [], [], {}
            else:
                msg = f"{snap.key}: the cached file cannot be read as GeoParquet ({type(err).__name__}); run '{fix()}'"
                raise DataError(msg) from None
        if "occupied" not in status:
            msg = f"{snap.key}: the cached snapshot has no occupied territory; run '{fix()}'"
            raise DataError(msg)
        return by_status, (status, wkb)

    def read_snapshot(self, snap: Snapshot) -> dict[str, BaseGeometry]:
        """Return a snapshot's geometries by status (``occupied``, ``grey_zone``, ...).

        Raises
        ------
        DataError, DataNotFoundError
            If the cached file is damaged or gone; the message names the
            command that fetches it again.
        """
        data, _ = self._snapshot_bytes(snap)
        return self._parse_snapshot(snap, data)

    def _read_map(self, snap: Snapshot, sha: str) -> dict[str, BaseGeometry]:
        """`read_snapshot`, from what the dating decoded of its file if it did (`_maps_ahead`).

        `sha`: the checksum the index records for it (`_recorded_sha`, which
        a walk has already asked).  The same geometries: parsed from the
        bytes this run read and checked against the same checksum.
        """
        if self._maps_ahead:
            decoded = self._maps_ahead.get(sha)
            if decoded is not None:
                return _geometries(decoded)
        return self.read_snapshot(snap)

    # ------------------------------------------------------------------ control
    def _derived_dir(self) -> Path:
        return self.cache.root / DERIVED_DIR

    def _derived_bodies(self, stem: str, suffix: str) -> Iterator[tuple[Path, bytes]]:
        """Yield the derived files ``<stem>-<content><suffix>`` whose content checks out.

        A derived file is named after the sha256 of its content (`_write_derived`);
        one whose content does not match its name is deleted, never trusted.
        """
        for path in sorted(self._derived_dir().glob(f"{stem}-*{suffix}")):
            content = path.name[len(stem) + 1 : len(path.name) - len(suffix)]
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if sha256_bytes(data)[:_DIGEST_HEX] == content:
                yield path, data
            else:
                log.warning(
                    "recomputing %s: its content does not match its name", path.name
                )
                path.unlink(missing_ok=True)

    def _derived_listing(self, stem: str, suffix: str) -> tuple:
        """Name, size and modification time of each ``<stem>-*<suffix>`` file."""
        out = []
        for path in sorted(self._derived_dir().glob(f"{stem}-*{suffix}")):
            try:
                st = path.stat()
            except OSError:
                continue
            out.append((path.name, st.st_size, st.st_mtime_ns))
        return tuple(out)

    def _read_derived(
        self,
        stem: str,
        suffix: str,
        parse: Callable[[bytes], T],
        errors: tuple[type[Exception], ...] = _UNREADABLE,
    ) -> Iterator[tuple[Path, T]]:
        """Yield each sound derived file ``<stem>-<content><suffix>``, parsed.

        One whose content does not match its name (`_derived_bodies`), or
        that `parse` cannot read (raising one of `errors`), is deleted, never
        trusted: the caller computes what it held again.
        """
        for path, data in self._derived_bodies(stem, suffix):
            try:
                value = parse(data)
            except errors as err:
                log.warning("recomputing %s, which cannot be read (%s)", path.name, err)
                path.unlink(missing_ok=True)
                continue
            yield path, value

    def _write_derived(
        self, stem: str, suffix: str, body: bytes, content_hex: str | None = None
    ) -> Path | None:
        """Write ``<stem>-<content><suffix>`` to the derived cache; None if it cannot.

        `content_hex` is the start of the body's sha256 if the caller has it.
        """
        if content_hex is None:
            content_hex = sha256_bytes(body)[:_DIGEST_HEX]
        path = self._derived_dir() / f"{stem}-{content_hex}{suffix}"
        try:
            write_bytes_atomic(path, body)
        except OSError as err:  # a read-only cache only costs time
            log.info("could not cache %s (%s); continuing", path.name, err)
            return None
        return path

    def prune_derived(self, *, dry_run: bool = False) -> tuple[list[Path], int]:
        """Remove the derived partitions no map of this cache reads any more.

        A derived partition is named after the partition algorithm
        (`PARTITION_VERSION`) and the checksums of the files it was made
        from (a snapshot, the boundaries, the land mask): once the
        algorithm changes, or a file leaves the cache, no map reads it
        again, yet it stays (1–5 MB each).  Those go, with the figures kept
        beside them (``facts-*``), the figures kept beside partitions
        that are gone, and the geometries kept apart (``row-*``) that no
        partition staying names.  Nothing else in the cache is touched, and whatever
        is derived can be derived again: removing it costs time, never a
        figure.

        Parameters
        ----------
        dry_run
            Remove nothing; return what would be removed.

        Returns
        -------
        paths, size
            The files removed (or that would be), and their size in bytes.
        """
        derived = self._derived_dir()
        if not derived.is_dir():
            return [], 0
        boundaries, land = self._entry_sha("boundaries"), self._entry_sha("land")
        # every file of the index may be a snapshot (a superset keeps more)
        read = {
            _partition_inputs(str(entry["sha256"]), boundaries, land)
            for entry in self.cache.entries.values()
            if isinstance(entry, dict) and "sha256" in entry
        }
        stale: list[Path] = []
        contents: set[str] = set()
        named: set[str] = set()  # the geometries kept apart a staying one names
        for path in sorted(derived.glob("partition-*")):
            name = path.name.split(".", 1)[0].split("-")
            if len(name) != 3 or not path.is_file():
                continue  # not a partition file of this project's naming
            if path.name.endswith(PARTITION_SUFFIX) and name[1] in read:
                contents.add(name[2])
                named |= _row_refs(path)
            else:
                stale.append(path)
        kept_facts = {_facts_digest(c, boundaries) for c in contents}
        for path in sorted((derived / ROWS_DIR).glob("row-*.wkb")):
            name = path.name.removesuffix(".wkb").split("-")
            if len(name) == 2 and path.is_file() and name[1] not in named:
                stale.append(path)
        for path in sorted(derived.glob("facts-*.json")):
            name = path.name.removesuffix(".json").split("-")
            if len(name) == 3 and path.is_file() and name[1] not in kept_facts:
                stale.append(path)
        size = 0
        for path in stale:
            try:
                size += path.stat().st_size
                if not dry_run:
                    path.unlink()
            except FileNotFoundError:  # removed meanwhile (another process)
                continue
        return stale, size

    def _write_merged(self, stem: str, doc: object, merged: list[Path]) -> Path | None:
        """Write `doc` as the derived JSON of `stem`; return the file written.

        It holds what the files `merged` held: they are deleted once it is
        written.  None if the cache is read-only.
        """
        import json

        written = self._write_derived(stem, ".json", json.dumps(doc).encode())
        if written is not None:
            for path in merged:
                if path != written:
                    path.unlink(missing_ok=True)
        return written

    def _cached_partition(self, inputs: str) -> tuple[Partition, str] | None:
        """Return the derived partition keyed `inputs`, and the hash of its content.

        The hash is taken from its file's name; None unless a file checks out.
        """
        stem = f"partition-{inputs}"
        found = self._read_derived(
            stem,
            PARTITION_SUFFIX,
            lambda data: _partition_from_table(
                read_arrow_table(data), self._band, self._row
            ),
            errors=(Exception,),  # any parse failure: damaged, recomputed
        )
        for path, partition in found:
            return partition, path.name[len(stem) + 1 : -len(PARTITION_SUFFIX)]
        return None

    # ------------------------------------------------------------------ kept figures
    def _facts_stem(self, snap: Snapshot) -> str | None:
        """Name of the figures kept of `snap`'s map (`KEPT_ON_DISK_KEYS`).

        Keyed by what they were measured on: the content of the derived
        partition this Record read or wrote, and the region layer.
        """
        content = self._partition_content.get(snap.key)
        if content is None:
            return None
        return f"facts-{_facts_digest(content, self._read_sha256['boundaries'])}"

    def _read_facts(self, snap: Snapshot, control: Control) -> None:
        """Put the figures kept of `snap`'s map into `control`'s derived values."""
        stem = self._facts_stem(snap)
        if stem is None:
            return
        paths = []
        for path, facts in self._read_derived(stem, ".json", _parse_facts):
            paths.append(path)
            for key, value in facts:
                control._cache.setdefault(key, value)
        self._facts_kept[snap.key] = (stem, _kept_on_disk(control), paths)

    def _keep_facts(self, snap: Snapshot) -> None:
        """Write the figures measured of `snap`'s map since they were last kept."""
        base = self._controls.get(snap.key)
        kept = self._facts_kept.get(snap.key)
        if base is None or kept is None:
            return
        stem, known, paths = kept
        now = _kept_on_disk(base)
        if len(now) <= len(known):
            return
        doc = {"version": FACTS_VERSION, "facts": [[k, v] for k, v in now.items()]}
        body = json.dumps(doc).encode()
        written = self._write_derived(stem, ".json", body)
        if written is not None:
            for path in paths:
                if path != written:
                    path.unlink(missing_ok=True)
            paths = [written]
        self._facts_kept[snap.key] = (stem, now, paths)

    def partition(self, snap: Snapshot) -> Partition:
        """Return the land partition of a snapshot, with frames of its own.

        The partition the record keeps (`_shared_partition`), which its
        Controls share, copied (`Partition.copy`): an edit reaches nothing
        else.
        """
        return self._shared_partition(snap).copy()

    def _shared_partition(self, snap: Snapshot) -> Partition:
        """Return the land partition of a snapshot, from the derived cache if there.

        The partition depends only on the snapshot, the boundaries, the land
        mask and the partition algorithm.  The derived file is named after the
        sha256 of the content of all three inputs as they were read (and
        checked), and after its own content, which is checked when it is read:
        a damaged derived file is recomputed, never trusted.

        A partition not derived yet is patched from the last one this Record
        made or read, when that map is near enough
        (`territory._partition_patch`: about a twentieth of the cost; equal to
        a fresh partition to 1e-9), else computed afresh.
        """
        data, snap_sha = self._snapshot_bytes(snap)
        regions = self._region_layer

        def inputs() -> str:  # the inputs as they were read and used
            return _partition_inputs(
                snap_sha, self._read_sha256["boundaries"], self._layer_sha("land")
            )

        found = self._cached_partition(inputs())
        if found is not None:
            cached, self._partition_content[snap.key] = found
            if self._last is not None and self._last[0].key != snap.key:
                from territory._partition_patch import shared

                # the geometries it shares with the last map, as objects of
                # that map's (what was measured of them is kept, `control`)
                cached, sharing = shared(cached, self._last[2])
                if sharing:
                    self._patched_from[snap.key] = self._last[0].key
            self._set_last((snap, data, cached, None))
            return cached
        land = self.land  # read (and checked) again: named after what is used
        inputs_hex = inputs()
        by_status = self._parse_snapshot(snap, data)
        self._hand_border_band()
        partition, base = self._patched(snap, by_status)
        if partition is None:
            partition = partition_land(regions, land, by_status)
        # every contact line needs the band around the land's outline: derive it once
        if partition.outline_band is None:
            band = build_outline_band(partition.country["land"])
            partition = replace(partition, outline_band=band)
            if base is not None:
                base = replace(base, partition=partition)
        ref = self._keep_band(partition)
        body = _partition_bytes(
            partition, self._wkb, band_ref=ref, row_ref=self._row_ref
        )
        content_hex = sha256_bytes(body)[:_DIGEST_HEX]
        self._write_derived(
            f"partition-{inputs_hex}", PARTITION_SUFFIX, body, content_hex
        )
        self._partition_content[snap.key] = content_hex
        self._set_last((snap, data, partition, base))
        return partition

    def _band_ref(self, land: BaseGeometry) -> str:
        """Name of the outline band of `land`: what it is built from, hashed."""
        if self._band_land is not None and self._band_land[0] is land:
            return self._band_land[1]
        parts = [PARTITION_VERSION, "outline band", sha256_bytes(shapely.to_wkb(land))]
        ref = hashlib.sha256("|".join(parts).encode()).hexdigest()[:_DIGEST_HEX]
        self._band_land = (land, ref)
        return ref

    def _keep_band(self, partition: Partition) -> str | None:
        """Keep `partition`'s outline band in a derived file of its own, once.

        ``derived/outline-band-<name>-<content>.wkb`` (WKB reads back bit for
        bit); returns its name (`_band_ref`), None if it cannot be written
        (the band is then written with the partition).
        """
        band = partition.outline_band
        if band is None:
            return None
        ref = self._band_ref(partition.country["land"])
        if self._bands.get(ref) is band:
            return ref
        if (
            self._write_derived(f"outline-band-{ref}", ".wkb", shapely.to_wkb(band))
            is None
        ):
            return None
        self._bands = {ref: band}  # the last land's only
        return ref

    def _row_ref(self, geom: BaseGeometry, wkb: bytes) -> str | None:
        """Return the name of the file `geom` is kept in of its own, or None.

        For `_partition_bytes`: a geometry whose WKB is `ROW_REF_MIN_BYTES`
        or longer is kept in ``derived/rows/row-<name>.wkb``, its name the start
        of its content's sha256 (WKB reads back bit for bit); written once,
        and not again for a geometry this Record wrote or read before (by
        identity).  None for a smaller one, or if it cannot be written.
        """
        if len(wkb) < ROW_REF_MIN_BYTES:
            return None
        known = self._row_names.get(id(geom))
        if known is not None and known[0] is geom:
            self._note_row(known[1], geom)  # (used last)
            return known[1]
        name = sha256_bytes(wkb)[:_DIGEST_HEX]
        path = self._derived_dir() / ROWS_DIR / f"row-{name}.wkb"
        if not path.is_file():
            try:
                path.parent.mkdir(exist_ok=True)
                write_bytes_atomic(path, wkb)
            except OSError as err:  # a read-only cache: kept in the partition
                log.info("could not cache %s (%s); continuing", path.name, err)
                return None
        self._note_row(name, geom)
        return name

    def _note_row(self, name: str, geom: BaseGeometry) -> None:
        """Keep `geom` as the geometry named `name`, used last (`_row_ref`, `_row`).

        One geometry a name, one name a geometry: another object of the same
        content replaces the one kept; the least recently used go beyond
        `ROWS_READ_KEPT`.
        """
        was = self._rows_read.pop(name, None)
        if was is not None and was is not geom:
            self._row_names.pop(id(was), None)
        while len(self._rows_read) >= ROWS_READ_KEPT:
            gone = self._rows_read.pop(next(iter(self._rows_read)))
            self._row_names.pop(id(gone), None)
        self._rows_read[name] = geom
        self._row_names[id(geom)] = (geom, name)

    def _row(self, name: str) -> BaseGeometry:
        """Return the geometry kept in a file of its own named `name` (`_row_ref`).

        Raises `ValueError` if no sound file holds it: a file whose content
        does not match its name is deleted, never trusted.
        """
        geom = self._rows_read.get(name)
        if geom is not None:
            self._note_row(name, geom)  # (used last)
            return geom
        path = self._derived_dir() / ROWS_DIR / f"row-{name}.wkb"
        try:
            data = path.read_bytes()
        except OSError:
            data = None
        if data is not None and sha256_bytes(data)[:_DIGEST_HEX] == name:
            geom = shapely.from_wkb(data)
            self._note_row(name, geom)
            return geom
        if data is not None:
            log.warning("%s: its content does not match its name; deleted", path.name)
            path.unlink(missing_ok=True)
        msg = f"no sound derived file holds its geometry {name}"
        raise ValueError(msg)

    def _band(self, ref: str) -> BaseGeometry | None:
        """Return the outline band named `ref` (`_keep_band`); None if none is sound."""
        band = self._bands.get(ref)
        if band is not None:
            return band
        found = self._read_derived(
            f"outline-band-{ref}", ".wkb", shapely.from_wkb, (Exception,)
        )
        for _, band in found:
            shapely.prepare(band)
            self._bands = {ref: band}
            return band
        return None

    def _hand_border_band(
        self, border: BaseGeometry | None = None, wkt: str | None = None
    ) -> None:
        """Tell the partition where the border's band comes from, if a piece needs it.

        The band (`territory.control.static_metric_buffer` of the country's
        outline by the sliver tolerance) depends on the boundaries alone and
        takes about a second to build; few maps need it
        (`territory.control.in_border_band` shows most pieces lie within it
        without it).  The first that does, in any process, reads it from the
        derived cache (``derived/border-band-<inputs>-<content>.wkb``,
        checked like every derived file; WKB reads back bit for bit), or
        builds it and keeps it there.  Nothing is read or built here.
        `border` and `wkt` are the country's outline and metric CRS, when
        the caller has them (`_border_of`).
        """
        if self._band_handed:
            return
        self._band_handed = True
        from territory.control import hand_static_buffer

        if border is None or wkt is None:
            border, wkt = self._border_of(self._static_layers()[0])
        hand_static_buffer(
            border, wkt, SLIVER_TOLERANCE_M, lambda: self._border_band(border, wkt)
        )

    @staticmethod
    def _border_of(country: BaseGeometry) -> tuple[BaseGeometry, str]:
        """Return the country's outline and the partition's metric CRS (WKT) for it."""
        from territory.crs import metric_crs_for

        border = country.boundary
        return border, metric_crs_for(border).to_wkt()

    def _border_band(self, border: BaseGeometry, wkt: str) -> BaseGeometry:
        """Return the border's band kept in the derived cache, else build and keep it."""
        from territory.control import build_static_buffer

        stem = self._static_stem("border-band", f"border band {SLIVER_TOLERANCE_M!r}")
        for _, band in self._read_derived(stem, ".wkb", _geometry_of, (Exception,)):
            return band
        band = build_static_buffer(border, wkt, SLIVER_TOLERANCE_M)
        self._write_derived(stem, ".wkb", _wkb_of(band))
        return band

    def _static_layers(self) -> tuple[BaseGeometry, BaseGeometry, BaseGeometry]:
        """Return `territory.control.static_layers` of the regions, kept in the derived cache.

        See `_kept_layers`.
        """
        return self._kept_layers(tuple(self._region_layer.geometry.values), self.land)

    def _kept_layers(
        self, regions: tuple[BaseGeometry, ...], land: BaseGeometry
    ) -> tuple[BaseGeometry, BaseGeometry, BaseGeometry]:
        """Return `territory.control.static_layers`, kept in the derived cache.

        The country, its land and the sea around it depend on the boundaries
        and the land mask alone and take about 0.25 s to build, in every
        process that partitions a map or first computes by-region figures:
        once built they are kept (``derived/static-layers-<inputs>-<content>.wkb``,
        one geometry collection, checked like every derived file; WKB reads
        back bit for bit), and a later process reads them and hands them to
        `static_layers`.  `regions` and `land` as the partition reads them
        (the by-region figures read the same geometries another way).
        """
        from territory.control import SEA_BOX_DEG, hand_static_layers, static_layers

        stem = self._static_stem("static-layers", f"static layers {SEA_BOX_DEG!r}")

        def parse(body: bytes) -> tuple[BaseGeometry, BaseGeometry, BaseGeometry]:
            country, land_in, sea = shapely.get_parts(shapely.from_wkb(body))
            return country, land_in, sea

        for _, layers in self._read_derived(stem, ".wkb", parse, (Exception,)):
            hand_static_layers(regions, land, layers)
            break
        else:
            built = static_layers(regions, land)
            body = shapely.to_wkb(shapely.GeometryCollection(list(built)))
            self._write_derived(stem, ".wkb", body)
        return static_layers(regions, land)

    def _static_stem(self, kind: str, label: str) -> str:
        """Name of a derived file of what no map changes (``<kind>-<inputs>``).

        The inputs: the partition algorithm, `label`, and the boundaries'
        and land mask's checksums as read.
        """
        parts = [
            PARTITION_VERSION,
            label,
            self._layer_sha("boundaries"),
            self._layer_sha("land"),
        ]
        digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:_DIGEST_HEX]
        return f"{kind}-{digest}"

    def _set_last(
        self, last: tuple[Snapshot, bytes, Partition, PatchBase | None]
    ) -> None:
        """Make `last` the map the next is patched from; keep a few before it."""
        if self._last is not None and self._last[0].key != last[0].key:
            self._earlier = [e for e in self._earlier if e[0].key != last[0].key]
            self._earlier.append(self._last)
            del self._earlier[:-PATCH_BASES_EARLIER]
        self._last = last

    def _patched(
        self, snap: Snapshot, by_status: dict[str, BaseGeometry]
    ) -> tuple[Partition | None, PatchBase | None]:
        """Return the partition of `snap` patched from the last one this Record had.

        Patched if it can be: returns the partition (None: compute it afresh)
        and the base the next map is patched from.  When the last map is too
        far, the few before it are tried, latest first
        (`PATCH_BASES_EARLIER`).
        """
        from territory._partition_patch import PatchBase, patch_partition

        if self._last is None or self._last[0].key == snap.key:
            return None, None  # (the same map: its derived file went bad)
        for last_snap, last_data, last_partition, kept_base in [
            self._last,
            *reversed(self._earlier),
        ]:
            if last_snap.key == snap.key:
                continue
            base = kept_base
            if base is None:
                parsed = self._parse_snapshot(last_snap, last_data)
                base = PatchBase(parsed, last_partition)
            try:
                out = patch_partition(self._region_layer, self.land, by_status, base)
            except shapely.errors.GEOSException as err:  # an overlay a window cannot do
                log.warning("patching the partition of %s failed (%s)", snap.label, err)
                out = None
            if out is not None:
                partition, next_base = out
                self._patched_from[snap.key] = last_snap.key
                return partition, next_base
            log.info("partition of %s: too far from %s", snap.label, last_snap.label)
        log.info("partition of %s computed afresh", snap.label)
        return None, None

    def control(self, as_of: str | dt.date | None = None) -> Control:
        """Return who holds what, by region, as of `as_of`.

        `as_of` is a date, an ISO string or ``"latest"`` (default: the latest
        date).

        The last `MAPS_KEPT` maps are kept with what was computed of them
        (`Control.derived`); a map patched from one of them keeps what was
        measured of the land it shares with it.
        """
        day = self.day(as_of) if as_of is not None else self.latest_date()
        snap, note = self.snapshot_for(day)
        base = self._controls.pop(snap.key, None)
        if base is None:
            partition = self._shared_partition(snap)
            base = Control(
                as_of=snap.as_of,
                snapshot=snap,
                note=None,
                regions=self._region_layer,
                partition=partition,
            )
            earlier = self._controls.get(self._patched_from.pop(snap.key, ""))
            if earlier is not None:
                base.inherit(earlier)
            self._read_facts(snap, base)
            base._keeper = functools.partial(self._keep_facts, snap)
        self._controls[snap.key] = base  # the most recent last
        while len(self._controls) > MAPS_KEPT:
            del self._controls[next(iter(self._controls))]
        return base.dated(day, note)

    # ------------------------------------------------------------------ series
    def _series_stem(self) -> str:
        """Name of the derived by-region figures: the algorithm and the static inputs."""
        from territory.series import ALGORITHM

        # the inputs as the index records them: the layers are read (and
        # checked against these checksums) only when figures are computed
        parts = [
            ALGORITHM,
            PARTITION_VERSION,
            self._entry_sha("boundaries"),
            self._entry_sha("land"),
            ",".join(self.region_ids),  # the order of the figures
        ]
        digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:_DIGEST_HEX]
        return f"series-{digest}"

    def region_figures(
        self, snaps: Sequence[Snapshot], *, gross: bool = False
    ) -> tuple[list[np.ndarray], list[tuple[np.ndarray, np.ndarray] | None]]:
        """Russian-held km² of every region on each snapshot, as `control` gives it.

        Computed map after map by `territory.series` (about 4 ms a map median,
        7.5 ms mean, against about 2 s for a partition) and kept in the derived cache
        (``derived/series-<inputs>-<content>.json``, rows keyed by each
        file's checksum, merged), so a second run only reads them.

        Parameters
        ----------
        snaps
            Snapshots in order; the same one may repeat.
        gross
            Also return, for each snapshot after the first, the km² gained and
            lost by region since the previous different snapshot of `snaps`.

        Returns
        -------
        rows, steps
            One array per snapshot (in `regions` order); with `gross`, one
            (gained, lost) pair per snapshot (None for the first, and where
            the snapshot repeats the previous one: nothing changed).
        """
        return self._region_figures(snaps, gross=gross, pandas=True)

    def _region_figures(
        self, snaps: Sequence[Snapshot], *, gross: bool, pandas: bool
    ) -> tuple[list[np.ndarray], list[tuple[np.ndarray, np.ndarray] | None]]:
        """`region_figures`; with `pandas`, pandas is imported while the workers run.

        (For callers that build frames of the figures: imported then, it
        costs no time of its own.)
        """
        import json

        import numpy as np

        stem = self._series_stem()
        n = len(self.region_ids)

        def parse(data: bytes) -> tuple[dict, dict]:
            doc = json.loads(data)
            found = {k: v for k, v in doc["rows"].items() if len(v) == n}
            return found, dict(doc.get("steps", {}))

        where = (str(self._derived_dir()), stem)
        listing = self._derived_listing(stem, ".json")
        seen = self._figures_read.get(where)
        if seen is not None and seen[0] == listing:
            _, rows, steps, merged = seen
        else:
            rows, steps, merged = {}, {}, []
            for path, (got_rows, got_steps) in self._read_derived(stem, ".json", parse):
                rows.update(got_rows)
                steps.update(got_steps)
                merged.append(path)
            self._figures_read[where] = (listing, rows, steps, merged)
        order: list[Snapshot] = []
        for snap in snaps:
            if not order or order[-1].key != snap.key:
                order.append(snap)
        sha = {s.key: self._recorded_sha(s) for s in order}
        pair = {
            b.key: f"{sha[a.key]}>{sha[b.key]}" for a, b in itertools.pairwise(order)
        }

        def known(i: int, snap: Snapshot) -> bool:
            if sha[snap.key] not in rows:
                return False
            return not gross or i == 0 or pair[snap.key] in steps

        todo = [i for i, snap in enumerate(order) if not known(i, snap)]
        if todo:
            # with gross figures each step needs the map before it
            first = max(todo[0] - 1, 0) if gross else todo[0]
            span = range(first, todo[-1] + 1)
            # a long run's maps read while the static layers are made, if
            # they are to be (each map's file once)
            read_ahead = (
                self._statics_reading_ahead(order[max(first - 1, 0) : span.stop])
                if len(todo) >= PARALLEL_MIN_MAPS
                else []
            )
            try:
                statics, built = self._series_statics()
                last = order[todo[-1]]
                # a long run ends checked against its last map worked out
                # another way: figures the engine got wrong are never kept
                # or shown.  The figures its derived partition keeps when
                # there is one (read, no geometry parsed), else the map
                # worked out afresh by the walk that ends there
                # (`Engine.afresh`)
                check = len(todo) >= PARALLEL_MIN_MAPS
                kept = self._kept_ru_km2(last) if check else None
                job = _FiguresJob(
                    self,
                    statics,
                    order,
                    todo=set(todo),
                    sha=sha,
                    pair=pair,
                    gross=gross,
                    afresh_at=todo[-1] if check and kept is None else None,
                )

                def meanwhile() -> bytes | None:
                    # what the parent does while the workers run: the static
                    # layers' file, pandas imported
                    body = None if built is None else statics.to_bytes()
                    return _warm(body) if pandas else body

                found_rows, found_steps, body = job.run(span, meanwhile=meanwhile)
            finally:
                for digest in read_ahead:  # (read for these walks alone)
                    self._maps_ahead.pop(digest, None)
            if check:
                self._check_figures(
                    last,
                    found_rows[sha[last.key]],
                    kept,
                    job.afresh.get(sha[last.key]),
                )
            rows.update(found_rows)
            steps.update(found_steps)
            written = self._write_merged(stem, {"rows": rows, "steps": steps}, merged)
            if written is not None:
                merged = [written]  # the files it replaced are gone
            listing = self._derived_listing(stem, ".json")
            self._figures_read[where] = (listing, rows, steps, merged)
            if built is not None and body is not None:
                # kept once figures were had (a failed run writes nothing)
                self._write_derived(built, STATICS_SUFFIX, body)
        out_rows = [np.array(rows[sha[s.key]]) for s in snaps]
        out_steps: list[tuple[np.ndarray, np.ndarray] | None] = []
        prev = None
        for s in snaps:
            if prev is None or prev.key == s.key or not gross:
                out_steps.append(None)
            else:
                g, lo = steps[f"{sha[prev.key]}>{sha[s.key]}"]
                out_steps.append((np.array(g), np.array(lo)))
            prev = s
        return out_rows, out_steps

    @contextmanager
    def _figures_ahead(self) -> Iterator[None]:
        """Within it, a dating of the daily files makes the figures' static layers too.

        For the callers that go on to compute by-region figures: on a new
        cache the maps' versions (`versions`) are wanted first, and the
        layers (`_series_statics`) after them; alone, each leaves a core
        idle (the measuring's files, then the layers), so the layers are
        made by this process while forked workers measure every share of
        the files (`_measure`), and the next `_series_statics` returns them.
        And the files measured are kept as decoded (`_maps_ahead`, about
        50 kB each): the walks parse them from there, not again from their
        files (most of what reading a map costs: its checksum and
        GeoParquet).  Not when figures are derived already (the layers are
        then likely not needed); what was made and not asked for is dropped
        when it ends.
        """
        if self._derived_listing(self._series_stem(), ".json"):
            yield
            return
        self._ahead = True
        try:
            yield
        finally:
            self._ahead = False
            self._statics_ahead = None
            self._maps_ahead = {}

    def _series_statics(self) -> tuple[Statics, str | None]:
        """Return the regions and land mask prepared for `territory.series`.

        Kept in the derived cache (``derived/statics-<inputs>-<content>.arrow``);
        with them, when they were built, the stem they are kept under.

        They depend only on the boundaries, the land mask and the order of
        the regions, never on a map, so the first figures computed build
        them (about a second) and later runs read them (a few hundredths).
        Keyed, as the figures are, on the checksums the index records; the
        files must still be there, of their recorded size, or they are
        read (and refused, naming the repair).
        """
        if self._statics_ahead is not None:  # made while other work ran
            ahead, self._statics_ahead = self._statics_ahead, None
            return ahead
        stem = self._statics_stem()
        kept = self._kept_statics(stem)
        if kept is not None:
            return kept, None
        return self._built_statics(), stem

    def _built_statics(self) -> Statics:
        """Build the figures' static layers (`_series_statics`, about half a second)."""
        from territory.series import Statics

        ids, geoms, land = self._static_geometries()
        # the layers the partition keeps, if it has (else built and kept for
        # it: the same function of the same geometries), and where the
        # border's band comes from if a piece needs it (`_hand_border_band`)
        country = self._kept_layers(tuple(geoms), land)[0]
        self._hand_border_band(*self._border_of(country))
        return Statics.build(ids, geoms, land)

    def _statics_reading_ahead(self, files: Sequence[Snapshot]) -> list[str]:
        """Make the figures' static layers if they are not kept, reading `files` meanwhile.

        Making them takes this process about half a second, which a long
        run's walks wait for: forked workers meanwhile read, check and
        decode the maps of `files` (`_maps_ahead`, by checksum; the walks
        read them from there, not from their files again), and this process
        takes its share of them once the layers are made (`_in_turns`);
        the next `_series_statics` returns the layers.  Nothing when the
        layers are kept or were made already, on one CPU, or without fork.
        Return the checksums of the maps so read (the caller drops them
        when the walks are done).  A file that cannot be read is left to
        its walk, which names the repair; a failure making the layers is
        raised again where they are asked for.
        """
        workers = _fork_workers()
        if workers < 2 or self._statics_ahead is not None:
            return []
        stem = self._statics_stem()
        kept = self._kept_statics(stem)
        if kept is not None:
            self._statics_ahead = (kept, None)
            return []
        todo: dict[str, Snapshot] = {}  # one file per content not read yet
        for snap in files:
            digest = self._entry_sha(snap.key)
            if digest != "-" and digest not in self._maps_ahead:
                todo.setdefault(digest, snap)
        unread = list(todo.values())

        def make() -> None:
            with suppress(TerritoryError):
                self._statics_ahead = (self._built_statics(), stem)

        # what reading a file imports, imported once, before the fork
        import pyarrow.parquet  # noqa: F401

        cut = _shares(len(unread), workers)
        read = _in_turns(
            lambda k: self._decode_share(unread[cut[k]]),
            len(cut),
            forked=workers,
            meanwhile=make,
        )
        for decoded in read:
            self._maps_ahead.update(decoded)
        return [d for decoded in read for d in decoded]

    def _decode_share(self, files: Sequence[Snapshot]) -> dict[str, _Decoded]:
        """Return the files of `files` read, checked and decoded, by checksum (the sound ones)."""
        out: dict[str, _Decoded] = {}
        for snap in files:
            read = self._read_decoded(snap)
            if read is not None:  # (else read again by its walk)
                out[read[0]] = read[2]
        return out

    def _statics_stem(self) -> str:
        """Return the stem the figures' static layers are kept under (`_series_statics`)."""
        from territory.series import ALGORITHM

        parts = [
            ALGORITHM,
            PARTITION_VERSION,
            STATICS_VERSION,
            self._entry_sha("boundaries"),
            self._entry_sha("land"),
            ",".join(self.region_ids),
        ]
        digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:_DIGEST_HEX]
        return f"statics-{digest}"

    def _kept_statics(self, stem: str) -> Statics | None:
        """Return the figures' static layers kept under `stem`, if they are."""
        from territory.series import Statics

        if self.cache.has("boundaries") and self.cache.has("land"):
            for _, statics in self._read_derived(
                stem, STATICS_SUFFIX, Statics.from_bytes, (ValueError,)
            ):
                if statics.region_ids == self.region_ids:
                    self._hand_border_band(statics.border, statics.metric)
                    return statics
        return None

    def _static_geometries(self) -> tuple[list[str], list[BaseGeometry], BaseGeometry]:
        """Return the region ids and geometries (in `regions` order) and the land mask.

        As `regions` and `land` give them.

        Read with pyarrow alone when the files are the plain GeoParquet this
        project writes in lon/lat (the same geometries, parsed from the same
        WKB), so a long `region_figures` imports neither geopandas nor pandas
        before its workers start (it imports them while they run); anything
        else, or a file that does not match the region table, is read by
        `regions` and `land` (which raise, naming the repair).
        """
        if "_region_layer" not in self.__dict__ and "land" not in self.__dict__:
            boundaries = self._plain_layer("boundaries", ["region_id", "shapeISO"])
            land = self._plain_layer("land", [])
            if boundaries is not None and land is not None:
                codes, geoms = boundaries
                by_code = dict(zip(codes, geoms, strict=True))
                ids = list(self._region_id_order)
                if len(by_code) == len(codes) and set(by_code) == set(ids):
                    return (
                        ids,
                        [by_code[rid] for rid in ids],
                        shapely.union_all(land[1]),
                    )
        regions = self._region_layer
        return list(regions.index), list(regions.geometry.values), self.land

    def _plain_layer(
        self, key: str, code_columns: list[str]
    ) -> tuple[list[str], np.ndarray] | None:
        """Return the codes and geometries of the cached GeoParquet file `key`, if plain.

        The codes are the first of `code_columns` found; the file is checked
        and must be plain (one WKB column, lon/lat, `parse_geoparquet`'s fast
        case); else None (read it as a frame).
        """
        import numpy as np

        if key not in self.cache.entries:
            return None
        data, digest = self.cache.read_verified(key)
        try:
            table = read_parquet_table(data)
            plain = plain_geometry_column(table)
        except Exception:  # any failure: read as a frame, which names the repair
            return None
        if plain is None:
            return None
        col, crs = plain
        ident = crs.get("id") if isinstance(crs, dict) else None
        lonlat = crs == "OGC:CRS84" or ident == {"authority": "EPSG", "code": 4326}
        found = [c for c in code_columns if c in table.column_names]
        if not lonlat or (code_columns and not found):
            return None
        try:
            geoms = shapely.from_wkb(
                np.array(table.column(col).to_pylist(), dtype=object)
            )
        except Exception:  # any failure: read as a frame, which names the repair
            return None
        self._read_sha256[key] = digest
        codes = [str(c) for c in table.column(found[0]).to_pylist()] if found else []
        return codes, geoms

    def _recorded_sha(self, snap: Snapshot) -> str:
        """Return the checksum the index records for `snap`'s file.

        Derived figures are keyed on it, so known ones are read without
        reading the file; its file is read and checked against it when its
        figures are computed.  A damaged entry, or a file missing or of
        another size, raises here, naming the repair.
        """
        if self.cache.has(snap.key):
            return str(self.cache.entries[snap.key]["sha256"])
        return self._snapshot_bytes(snap)[1]  # raises, naming the repair

    def _kept_ru_km2(self, snap: Snapshot) -> list[float] | None:
        """Return the RU km² by region of `snap`'s derived partition, or None.

        In `region_ids` order, from the areas the partition keeps beside its
        pieces (the ``area_km2`` column, read alone: no geometry is parsed).
        None: none derived, or one that keeps no areas.

        Keyed as `partition` keys it, on the checksums the index records (the
        partition reads and checks the files against them); the file's
        content is checked against its name as for any derived file.
        """
        import math

        from territory.control import RU

        if not (self.cache.has("boundaries") and self.cache.has("land")):
            return None
        _, snap_sha = self._snapshot_bytes(snap)
        parts = [snap_sha, self._entry_sha("boundaries"), self._entry_sha("land")]
        inputs = hashlib.sha256("|".join([PARTITION_VERSION, *parts]).encode())
        stem = f"partition-{inputs.hexdigest()[:_DIGEST_HEX]}"
        index = {rid: k for k, rid in enumerate(self.region_ids)}

        def parse(data: bytes) -> list[float] | None:
            try:
                table = read_arrow_table(data).select(
                    ["region_id", "holder", "layer", "area_km2"]
                )
            except Exception:  # any failure: `partition` reads it, or derives it again
                return None
            out = [0.0] * len(index)
            for rid, holder, layer, km2 in zip(
                *(table.column(c).to_pylist() for c in table.column_names),
                strict=True,
            ):
                if layer != "piece" or holder != RU:
                    continue
                if km2 is None or math.isnan(km2) or rid not in index:
                    return None  # no areas kept: measured on the partition
                out[index[rid]] += km2
            return out

        for _, found in self._read_derived(stem, PARTITION_SUFFIX, parse):
            return found
        return None

    def _check_figures(
        self,
        snap: Snapshot,
        figures: list[float],
        kept: list[float] | None,
        fresh: list[float] | None,
    ) -> None:
        """Raise `InternalError` unless `figures` are the reference's, to 1e-9.

        The reference: `kept`, the figures of `snap`'s derived partition
        (`_kept_ru_km2`), else `fresh`, the map worked out afresh
        (`territory.series.Engine.afresh`); with neither, the figures were
        not checked, which is a bug too.
        """
        from territory.errors import InternalError

        if kept is not None:
            expected, what = kept, "its partition"
        elif fresh is not None:
            expected, what = fresh, "the map worked out afresh"
        else:
            msg = f"the by-region figures of {snap.label} were not checked; please report this"
            raise InternalError(msg)
        ids = self.region_ids
        for rid, got, want in zip(ids, figures, expected, strict=True):
            if abs(got - want) > 1e-9 * max(abs(want), 1.0):
                msg = (
                    f"the by-region figures of {snap.label} disagree with {what} "
                    f"in {rid}: {got!r} km² against {want!r}; please report this"
                )
                raise InternalError(msg)

    def occupied_series(
        self,
        start: str | dt.date | None = None,
        end: str | dt.date | None = None,
        *,
        every_days: int = 1,
        region_ids: list[str] | None = None,
    ) -> pd.DataFrame:
        """Return Russian-held land over time, km², one row per date.

        The figures are `control`'s ``occupied_km2`` for the same dates (the
        occupied polygon cut to the regions, plus the border gaps and seams
        the partition gives to the occupier), computed map after map without
        a partition (`region_figures`), so the whole record takes seconds
        the first time and is read from the derived cache after.

        Parameters
        ----------
        start, end
            As-of dates (default: the whole record).
        every_days
            Step between dates, in days.
        region_ids
            Also give the Russian-held km² of these regions (ids, names or
            any spelling of `territory.load_region_table`; columns named by id).

        Returns
        -------
        DataFrame
            Indexed by ``as_of`` (a DatetimeIndex: ``.loc["2025-03"]`` is
            March 2025), with ``snapshot``, ``snapshot_as_of`` (the date the
            snapshot shows), ``map_version`` (when DeepState published that
            map, ISO UTC; empty when inferred) and ``map_dated_by`` (how the
            map was dated, see `territory.versions`), ``note`` (set when an
            earlier snapshot serves the date, as `snapshot_for` says),
            ``occupied_km2`` (the country), one column per requested region,
            and ``change_km2`` since the previous row.

        Raises
        ------
        DataNotFoundError
            If `start` or `end` is outside the record (the message names its range).
        DataError
            If `start` is after `end`, `every_days` is below 1, or a snapshot
            needed is damaged (the message names the repair command).
        """
        rows = self._occupied_rows(
            start, end, every_days=every_days, region_ids=region_ids, pandas=True
        )
        import pandas as pd

        df = pd.DataFrame(rows)
        df.index = pd.DatetimeIndex(df.pop("as_of"), name="as_of")
        return df

    def occupied_rows(
        self,
        start: str | dt.date | None = None,
        end: str | dt.date | None = None,
        *,
        every_days: int = 1,
        region_ids: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Return `occupied_series` as plain rows, without importing pandas.

        One dict per date, with the frame's columns in its order, ``as_of``
        (a date) first: what ``territory timeline`` prints, so a run that
        prints the figures never imports pandas (a quarter of a second, which
        would compete with the workers of a long run for the CPUs).
        ``change_km2`` is NaN on the first row, as in the frame.  Parameters
        and errors are those of `occupied_series`.
        """
        return self._occupied_rows(
            start, end, every_days=every_days, region_ids=region_ids, pandas=False
        )

    def _occupied_rows(
        self,
        start: str | dt.date | None,
        end: str | dt.date | None,
        *,
        every_days: int,
        region_ids: list[str] | None,
        pandas: bool,
    ) -> list[dict[str, Any]]:
        """`occupied_rows`; with `pandas`, pandas imported while a long run's workers run."""
        with self._figures_ahead():
            first, last = self.date_range()
            lo = self.day(start) if start else first
            hi = self.day(end) if end else last
            check_step(every_days)
            self.snapshot_for(lo)
            self.snapshot_for(hi)  # both raise, naming the range, if outside it
            check_span(lo, hi)
            index = self._region_index(region_ids or [])
            days, snaps = [], []
            day = lo
            while day <= hi:
                days.append(day)
                snaps.append(self.snapshot_for(day))
                day += dt.timedelta(days=every_days)
            figures, _ = self._region_figures(
                [snap for snap, _ in snaps], gross=False, pandas=pandas
            )
        rows: list[dict[str, Any]] = []
        before = math.nan
        for day, (snap, note), by_region in zip(days, snaps, figures, strict=True):
            occupied_km2 = float(by_region.sum())
            row = {
                "as_of": day,
                "snapshot": snap.label,
                "snapshot_as_of": snap.as_of,
                "map_version": snap.version or "",
                "map_dated_by": snap.dated_by,
                "note": note,
                "occupied_km2": occupied_km2,
            }
            for rid, k in index.items():
                row[rid] = float(by_region[k])
            row["change_km2"] = occupied_km2 - before  # (NaN on the first row)
            before = occupied_km2
            rows.append(row)
        return rows

    def _region_index(self, region_ids: list[str]) -> dict[str, int]:
        """Position in `regions` of each region, by id.

        The regions are given by id, name or any spelling of the region
        table; an unknown one raises `DataError` suggesting the closest names.
        """
        from territory.regions import load_region_table

        ids = self.region_ids
        return {rid: ids.index(rid) for rid in load_region_table().ids(region_ids)}

    def occupied_by_month(
        self,
        start: str | dt.date | None = None,
        end: str | dt.date | None = None,
        *,
        region_ids: list[str] | None = None,
    ) -> pd.DataFrame:
        """Return Russian-held land month by month, km², one row per calendar month.

        Each month is read on the last map of the month in the range (by map
        version, as `snapshot_for` dates them), with `control`'s figures.
        The net change is from the last map of the previous month; the gross
        gains and losses add up the land that changed hands between every two
        consecutive maps of the month (the land the partition gives at the
        border counted net, map by map), so gained − lost equals the net
        change, to float rounding.

        Parameters
        ----------
        start, end
            First and last as-of dates (default: the whole record); a month
            cut by them is read up to `end` and counted from `start`'s
            previous map.
        region_ids
            Count only these regions together (ids, names or any spelling;
            default: the country).

        Returns
        -------
        DataFrame
            Indexed by ``month`` (a monthly PeriodIndex, shown YYYY-MM), with
            ``as_of`` (the last date read), ``snapshot``,
            ``map_version``, ``occupied_km2`` at the month's end,
            ``change_km2`` (net, None for the first month of the record),
            ``gained_km2`` and ``lost_km2`` (gross), ``maps`` (how many maps
            the month's changes were read from).
        """
        import pandas as pd

        with self._figures_ahead():
            first, last = self.date_range()
            lo = self.day(start) if start else first
            hi = self.day(end) if end else last
            self.snapshot_for(lo)
            self.snapshot_for(hi)
            check_span(lo, hi)
            ids = region_ids or self.region_ids
            index = list(self._region_index(ids).values())
            start = lo - dt.timedelta(days=1)
            days = []
            day = start if start >= first else lo
            while day <= hi:
                days.append(day)
                day += dt.timedelta(days=1)
            snaps = [self.snapshot_for(d)[0] for d in days]
            figures, steps = self.region_figures(snaps, gross=True)
        has_prev = days[0] < lo
        rows, gained, lost, maps = [], 0.0, 0.0, 0
        month_start_km2 = float(figures[0][index].sum()) if has_prev else None
        for k, day in enumerate(days):
            if day < lo:
                continue
            step = steps[k]
            if step is not None:
                gained += float(step[0][index].sum())
                lost += float(step[1][index].sum())
                maps += 1
            tomorrow = day + dt.timedelta(days=1)
            if tomorrow.month != day.month or day == hi:
                end_km2 = float(figures[k][index].sum())
                snap = snaps[k]
                started = month_start_km2 is not None
                rows.append(
                    {
                        "month": f"{day:%Y-%m}",
                        "as_of": day,
                        "snapshot": snap.label,
                        "map_version": snap.version or "",
                        "occupied_km2": end_km2,
                        "change_km2": (
                            None
                            if month_start_km2 is None
                            else end_km2 - month_start_km2
                        ),
                        "gained_km2": gained if started else None,
                        "lost_km2": lost if started else None,
                        "maps": maps,
                    }
                )
                month_start_km2, gained, lost, maps = end_km2, 0.0, 0.0, 0
        df = pd.DataFrame(rows)
        df.index = pd.PeriodIndex(df.pop("month"), freq="M", name="month")
        return df

    @property
    def official_area_km2(self) -> float:
        """Official area of the country (km²) from the manifest."""
        return float(load_manifest().country["official_area_km2"])


def _warm(value: T) -> T:
    """Return `value`, pandas imported.

    Pandas is what the callers of a long `Record.region_figures` build their
    frames with, imported while its workers run rather than before or after
    them.
    """
    import pandas  # noqa: F401

    return value


#: Maps from which `Record.region_figures` shares the work between processes.
PARALLEL_MIN_MAPS = 200
#: How far into a segment its two walks start (`_FiguresJob.pivot`): the
#: middle (the walk up also takes the full map there, the walk down shares its
#: core with the parent's work while the workers run).
PIVOT = 0.5
#: The same, for the segment whose walk up ends working its last map out
#: afresh for the check (`Engine.afresh`, about half a second): later, so
#: that walk takes fewer maps.
PIVOT_AFRESH = 0.53
#: The job forked workers run (set in the parent just before they start).
_FORKED: _FiguresJob | None = None


class _FiguresJob:
    """Runs `territory.series.Engine` over a span of maps for `Record.region_figures`.

    A long span is cut into one contiguous segment per two CPUs, and each
    segment walked by two forked processes (the parent's record and
    prepared layers are inherited, not rebuilt) outward from its pivot
    (`pivot`): the walk up takes the pivot as a full map and hands its
    engine's state to the walk down (`_Post`), which reads its first maps
    while it waits, so a segment costs one full map, not two.  The figures
    depend on the map, not the way there, so they are the same as one
    engine's over the whole span.  One shared progress bar.
    """

    def __init__(
        self, record, statics, order, *, todo, sha, pair, gross, afresh_at=None
    ) -> None:
        self.record, self.statics, self.order = record, statics, order
        self.todo, self.sha, self.pair, self.gross = todo, sha, pair, gross
        #: the map the walk that ends there works out afresh (`Engine.afresh`)
        #: for the check, if any; and the figures so had, by file checksum
        self.afresh_at: int | None = afresh_at
        self.afresh: dict[str, list[float]] = {}
        #: per segment, where its walk up hands its first state to its walk down
        self.posts: list[_Post] = []

    def run(
        self, span: range, *, meanwhile: Callable[[], T] | None = None
    ) -> tuple[dict, dict, T | None]:
        """Return the rows and steps of the maps of `span`, and `meanwhile`'s result.

        `meanwhile` runs in this process while the workers run (or after the
        maps, in one process).
        """
        workers = _fork_workers()
        if len(span) < PARALLEL_MIN_MAPS or workers < 2:
            from territory.progress import progress

            rows, steps, fresh = self.walk(
                iter(span),
                forward=True,
                tick=None,
                bar=lambda it: progress(it, desc="maps", unit="map"),
            )
            self.afresh.update(fresh)
            return rows, steps, None if meanwhile is None else meanwhile()
        return self._forked(span, workers, meanwhile)

    def _forked(
        self, span: range, workers: int, meanwhile: Callable[[], T] | None
    ) -> tuple[dict, dict, T | None]:
        import multiprocessing as mp

        from territory.progress import enabled

        global _FORKED  # noqa: PLW0603 (forked workers inherit the Record, never pickled)
        # what every walk would make first, made once for all (statics read
        # from the derived cache have not needed pyproj yet)
        self.statics.warm()
        ctx = mp.get_context("fork")
        ticks = ctx.Queue() if enabled() else None
        size = -(-len(span) // max(workers // 2, 1))
        segments = [
            range(a, min(a + size, span.stop))
            for a in range(span.start, span.stop, size)
        ]
        self.posts = [_Post(ctx) for _ in segments]
        _FORKED = self
        try:
            return self._on_workers(span, segments, ticks, meanwhile)
        finally:
            _FORKED = None
            for post in self.posts:
                post.close()
            self.posts = []

    def _on_workers(
        self,
        span: range,
        segments: list[range],
        ticks: Any,
        meanwhile: Callable[[], T] | None,
    ) -> tuple[dict, dict, T | None]:
        """Walk `segments` in forked workers (see `_forked`), `meanwhile` run here."""
        import concurrent.futures as cf
        import gc
        import queue

        rows: dict = {}
        steps: dict = {}
        with _forked_pool(2 * len(segments)) as pool:
            # what the workers inherit is frozen while they are forked:
            # their collections never walk it (nor copy its pages)
            gc.freeze()
            try:
                futures = [
                    pool.submit(_forked_walk, k, seg, forward, ticks)
                    for k, seg in enumerate(segments)
                    for forward in (True, False)
                ]
            finally:
                gc.unfreeze()
            # (every worker is forked by now: nothing of this is theirs)
            _handed_out(futures)
            extra = None if meanwhile is None else meanwhile()
            bar = None
            if ticks is not None:
                from tqdm import tqdm

                bar = tqdm(
                    total=len(span),
                    desc="maps",
                    unit="map",
                    file=sys.stderr,
                    leave=False,
                )
            while True:
                _, pending = cf.wait(futures, timeout=0.2)
                if bar is not None and ticks is not None:
                    try:
                        while True:
                            bar.update(ticks.get_nowait())
                    except queue.Empty:
                        pass
                if not pending:
                    break
            if bar is not None:
                bar.close()
            for f in futures:
                r, st, fresh = f.result()
                rows.update(r)
                steps.update(st)
                self.afresh.update(fresh)
        return rows, steps, extra

    def pivot(self, segment: range) -> int:
        """Return the map of `segment` both its walks start from.

        `PIVOT` of the way, or `PIVOT_AFRESH` for the segment whose walk up
        works its last map out afresh.
        """
        share = PIVOT_AFRESH if self.afresh_at == segment.stop - 1 else PIVOT
        return segment.start + max(
            min(round(share * len(segment)), len(segment) - 1), 1
        )

    def walk(
        self,
        taken: Iterator[int],
        *,
        forward: bool,
        tick,
        bar=None,
        hand_to: _Post | None = None,
        take_from: tuple[_Post, int] | None = None,
    ) -> tuple[dict, dict, dict]:
        """Return the rows (and steps) of the maps `taken` hands out, and any map worked out afresh.

        Consecutive maps, upwards if `forward`, else downwards; a map
        is read only if needed, and not at all when its file repeats the
        content of the map the walk took before (`Engine.same_again`).

        Going down, the step from map i + 1 to map i is the change from i to
        i + 1 backwards: gained and lost swap.  A forward walk starting a
        segment reads the map before it first, and a walk down ending one
        steps to it, for the change to the segment's first map.

        `hand_to`: the engine's state after the first map is posted there
        (`territory.series.Engine.handover`; nothing if it took no map).
        `take_from`: the post and the map whose state the walk starts from
        (the maps it takes are read while it waits); with nothing posted,
        the walk starts with a full map.
        """
        from territory.series import Engine, diff, prepared

        rows: dict = {}
        steps: dict = {}
        back = -1 if forward else 1  # the map a walk takes before map i

        def repeat(i: int) -> bool:
            # the same file content as the map taken before (a daily file
            # that repeats the last): the same figures, no change
            j = i + back
            return 0 <= j < len(self.order) and (
                self.sha[self.order[i].key] == self.sha[self.order[j].key]
            )

        def read(i: int) -> Prepared:
            return prepared(self.map_at(i))

        # the map a walk taking over starts from (the change to its first
        # map is worked out while it waits)
        at_map = None if take_from is None else read(take_from[1])
        ahead = _Ahead(
            taken,
            read,
            wanted=lambda i: (i in self.todo or i + 1 in self.todo) and not repeat(i),
            diff=lambda old, new: diff(old, new, self.statics),
            start=at_map,
        )
        engine = Engine(self.statics, gross=self.gross)
        if take_from is not None and at_map is not None:
            handed = take_from[0].receive(idle=ahead.fetch)
            if handed is not None:
                engine = Engine.taking_over(
                    self.statics, handed, at_map, gross=self.gross
                )
        last = last_stepped = None
        if take_from is not None and engine.has_map:
            last_stepped = take_from[1]
        done = 0
        try:
            for i in bar(ahead) if bar is not None else ahead:
                last = i
                if i not in self.todo and i + 1 not in self.todo:
                    # skip what is known
                    engine, last_stepped = Engine(self.statics, gross=self.gross), None
                    if hand_to is not None:
                        hand_to.send(None)
                        hand_to = None
                    continue
                if (
                    forward
                    and hand_to is None
                    and self.gross
                    and not engine.has_map
                    and i in self.todo
                    and i
                ):
                    # a walk starting a segment reads the map before it first,
                    # so its first step has a previous map
                    engine.step(self.map_at(i - 1))
                    last_stepped = i - 1
                had_previous = engine.has_map
                snap = self.order[i]
                if had_previous and last_stepped == i + back and repeat(i):
                    # the engine is at the same map: not read again
                    engine.same_again()
                else:
                    engine.step(ahead.map(i), ahead=ahead.diff_to(i))
                last_stepped = i
                if hand_to is not None:
                    hand_to.send(engine.handover())
                    hand_to = None
                rows[self.sha[snap.key]] = [float(x) for x in engine.region_km2()]
                if self.gross and had_previous:
                    if forward and i in self.todo:
                        self._keep_step(steps, i, engine.gained_km2, engine.lost_km2)
                    elif not forward and i + 1 in self.todo:
                        self._keep_step(
                            steps, i + 1, engine.lost_km2, engine.gained_km2
                        )
                done += 1
                if tick is not None and done % 10 == 0:
                    tick.put(10)
        finally:
            if hand_to is not None:  # no map taken (or a failure): a full map
                hand_to.send(None)
        if tick is not None and done % 10:
            tick.put(done % 10)
        if (
            not forward
            and self.gross
            and last is not None
            and last in self.todo
            and last > 0
            and engine.has_map
        ):
            # a walk down ending a segment: the change to its first map
            engine.step(self.map_at(last - 1))
            self._keep_step(steps, last, engine.lost_km2, engine.gained_km2)
        fresh = {}
        if forward and last is not None and last == self.afresh_at and engine.has_map:
            # the check's map (`Record._region_figures`), where this walk ends
            fresh[self.sha[self.order[last].key]] = [float(x) for x in engine.afresh()]
        return rows, steps, fresh

    def map_at(self, i: int) -> dict[str, BaseGeometry]:
        """Return map i's geometries by status (`Record._read_map`: read ahead, or its file)."""
        snap = self.order[i]
        return self.record._read_map(snap, self.sha[snap.key])

    def _keep_step(self, steps: dict, i: int, gained, lost) -> None:
        """Keep the km² gained and lost from map i − 1 to map i."""
        steps[self.pair[self.order[i].key]] = [
            [float(x) for x in gained],
            [float(x) for x in lost],
        ]


class _Ahead:
    """The maps a walk takes (`_FiguresJob.walk`), some read ahead.

    `fetch` takes the next from the walk's end and reads it (and hashes its
    edges, `territory.series.prepared`) while the walk has nothing else to
    do; with `diff`, it also works out the change to it from the map read
    before it (`territory.series.diff`; from `start` for the first), which
    `Engine.step` uses when it steps from that map.
    """

    #: Maps read ahead at most (about 0.17 MB each: under 90 MB).
    LIMIT = 512

    def __init__(
        self,
        taken: Iterator[int],
        prepare: Callable[[int], Prepared],
        *,
        wanted: Callable[[int], bool],
        diff: Callable[[Prepared, Prepared], Diff] | None = None,
        start: Prepared | None = None,
    ) -> None:
        self.taken, self.prepare, self.wanted = taken, prepare, wanted
        self.queue: list[int] = []  # taken ahead, in order
        self.ready: dict[int, Prepared] = {}
        self.diff = diff
        self.diffs: dict[int, Diff] = {}
        #: the last map read, in the walk's order (the one a step to the
        #: next map read comes from: a map not read repeats it)
        self.last = start

    def __iter__(self) -> Iterator[int]:
        while True:
            if self.queue:
                yield self.queue.pop(0)
                continue
            i = next(self.taken, None)
            if i is None:
                return
            yield i

    def fetch(self) -> bool:
        """Take and read the next map; False if there is none (or enough are)."""
        if len(self.queue) >= self.LIMIT:
            return False
        i = next(self.taken, None)
        if i is None:
            return False
        self.queue.append(i)
        if self.wanted(i):
            new = self.ready[i] = self.prepare(i)
            if self.diff is not None and self.last is not None:
                self.diffs[i] = self.diff(self.last, new)
            self.last = new
        return True

    def map(self, i: int) -> Prepared:
        """Map `i` as `Engine.step` takes it: read ahead, or read now."""
        found = self.ready.pop(i, None)
        if found is None:
            found = self.prepare(i)
            if not self.queue:  # the farthest map taken: the next comes from it
                self.last = found
        return found

    def diff_to(self, i: int) -> Diff | None:
        """Return the change to map `i` worked out ahead, if it was."""
        return self.diffs.pop(i, None)


class _Post:
    """Bytes handed from one process to another once: a file and an event.

    The file is in a directory of its own; `send` of None (or a sender that
    fails) sets the event with no file, and `receive` gives None.
    """

    def __init__(self, ctx) -> None:
        import tempfile

        self.dir = Path(tempfile.mkdtemp(prefix="territory-post-"))
        self.path = self.dir / "body"
        self.ready = ctx.Event()

    def send(self, data: bytes | None) -> None:
        """Hand `data` over (None: nothing)."""
        try:
            if data is not None:
                part = self.dir / "body.part"
                part.write_bytes(data)
                part.replace(self.path)
        finally:
            self.ready.set()

    def receive(
        self,
        idle: Callable[[], bool] | None = None,
        gone: Callable[[], bool] | None = None,
    ) -> bytes | None:
        """Return what was sent, once it was; None if nothing was.

        Meanwhile `idle` is called while it returns True (it did some other
        work); `gone` tells, every second, whether the sender is gone
        (`InternalError`).
        """
        from territory.errors import InternalError

        while not self.ready.is_set():
            if idle is not None and idle():
                continue
            if self.ready.wait(1.0):
                break
            if gone is not None and gone():
                msg = (
                    "the process that was to hand over work is gone; please report this"
                )
                raise InternalError(msg)
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def close(self) -> None:
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)


def _forked_walk(
    segment: int, span: range, forward: bool, ticks
) -> tuple[dict, dict, dict]:
    """Run, in a forked worker, one walk of a segment of the parent's job.

    Both start at the segment's pivot: the walk up takes it (a full map) and
    hands its state to the walk down, which reads its maps meanwhile.
    """
    assert _FORKED is not None
    job = _FORKED
    at = job.pivot(span)
    post = job.posts[segment]
    if forward:
        return job.walk(
            iter(range(at, span.stop)), forward=True, tick=ticks, hand_to=post
        )
    return job.walk(
        iter(range(at - 1, span.start - 1, -1)),
        forward=False,
        tick=ticks,
        take_from=(post, at),
    )
