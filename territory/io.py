"""User files in and out.

Vector files are read into lon/lat, and output files written without
destroying what is not ours.

Reading diagnoses the common mistakes (metres in a file without a CRS,
swapped lon/lat) instead of measuring the wrong place.  Writing replaces a
regular file atomically, writes through a device or FIFO (``-o /dev/stdout``),
follows symlinks, and refuses read-only files and unwritable places before
anything is written.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from territory.errors import DataError, OutputError

if TYPE_CHECKING:
    import geopandas as gpd


def coverage_bbox() -> tuple[float, float, float, float]:
    """Return the lon/lat box the tool's data cover (the land mask's clip box)."""
    from territory.manifest import load_manifest

    minx, miny, maxx, maxy = load_manifest().by_kind("land").extra["clip_bbox"]
    return float(minx), float(miny), float(maxx), float(maxy)


def diagnose_lonlat(
    bounds: tuple[float, float, float, float], *, what: str, swapped_also: str = ""
) -> str | None:
    """Return why lon/lat `bounds` look wrong (metres, swapped axes), or None.

    Metres: coordinates beyond ±180/±90 cannot be degrees.  Swapped: the
    shapes lie outside the area the tool covers, but would lie inside it with
    the axes exchanged (GeoJSON is [lon, lat]; Ukraine at [48, 35] is Iran).
    `swapped_also` is another way out, added to the swapped message
    ("or pass --as-is …").

    Examples
    --------
    >>> diagnose_lonlat((35.0, 48.0, 36.0, 49.0), what="f") is None
    True
    >>> diagnose_lonlat((48.0, 35.0, 49.0, 36.0), what="f")[:40]
    'f lies at 35.0..36.0°N 48.0..49.0°E, out'
    """
    minx, miny, maxx, maxy = bounds
    if not all(math.isfinite(v) for v in bounds):
        return f"{what} has non-finite coordinates; fix the file"
    if min(minx, miny) < -180 or maxx > 180 or max(abs(miny), abs(maxy)) > 90:
        return (
            f"{what} has coordinates up to {max(abs(v) for v in bounds):,.0f}, which are not "
            "degrees (metres, e.g. EPSG:3857?); declare the file's CRS (GeoJSON: a 'crs' "
            "member) or reproject it to lon/lat EPSG:4326"
        )
    cx0, cy0, cx1, cy1 = coverage_bbox()
    inside = cx0 <= minx and maxx <= cx1 and cy0 <= miny and maxy <= cy1
    swapped_inside = cx0 <= miny and maxy <= cx1 and cy0 <= minx and maxx <= cy1
    if not inside and swapped_inside:
        return (
            f"{what} lies at {miny:.1f}..{maxy:.1f}°N {minx:.1f}..{maxx:.1f}°E, outside the "
            "area territory covers, and would lie inside it with lon and lat exchanged; "
            "write coordinates as [lon, lat] (GeoJSON order)"
            + (f", {swapped_also}" if swapped_also else "")
        )
    return None


def read_vector(
    path: Path | str,
    *,
    what: str = "vector file",
    check_lonlat: bool = True,
    swapped_also: str = "",
) -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, GeoPackage, Shapefile, ...) into EPSG:4326.

    Invalid polygons are repaired with ``make_valid``.

    Parameters
    ----------
    path
        The file.
    what
        What the file is, for messages ("scenario polygon file").
    check_lonlat
        Refuse shapes whose coordinates look like metres or swapped lon/lat
        (see `diagnose_lonlat`); `swapped_also` is added to the swapped message.

    Raises
    ------
    DataError
        If the file cannot be read, holds no features or no geometry, or its
        coordinates look like metres or swapped lon/lat.
    CRSError
        If the file declares no CRS.
    """
    import geopandas as gpd
    import numpy as np
    import shapely

    from territory.crs import STORAGE_CRS, check_crs

    path = Path(path)
    label = f"{what} {path.name!r}"
    if not path.is_file():
        msg = f"{label} does not exist or is not a file; check the path"
        raise DataError(msg)
    try:
        gdf = gpd.read_file(path)
    except Exception as err:  # pyogrio raises several DataSourceError flavours
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        msg = (
            f"{label} cannot be read ({first}); give a GeoJSON, GeoPackage or Shapefile"
        )
        raise DataError(msg) from None
    if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf:
        msg = f"{label} has no geometry (a table?); give a GeoJSON, GeoPackage or Shapefile"
        raise DataError(msg)
    if gdf.empty or gdf.geometry.isna().all():
        msg = f"{label} holds no features with geometry; nothing to use"
        raise DataError(msg)
    crs = check_crs(gdf.crs, what=label)
    if check_lonlat and crs.is_geographic:
        west, south, east, north = (float(v) for v in gdf.total_bounds)
        problem = diagnose_lonlat(
            (west, south, east, north), what=label, swapped_also=swapped_also
        )
        if problem:
            raise DataError(problem)
    if not crs.equals(STORAGE_CRS):
        gdf = gdf.to_crs(STORAGE_CRS)
    invalid = ~gdf.geometry.is_valid & gdf.geometry.notna()
    if invalid.any():
        gdf.loc[invalid, "geometry"] = shapely.make_valid(
            np.asarray(gdf.geometry[invalid])
        )
    return gdf


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class OutputTarget:
    """A checked destination for one output file.

    Attributes
    ----------
    given
        The path as the user gave it (for messages).
    path
        Where the bytes go: the path itself, or the file a symlink points to.
    regular
        True when `path` is (or will be) a regular file, replaced atomically;
        False for a device, FIFO or socket (``/dev/stdout``), written through.
    mode
        Permission bits to keep when replacing an existing file (None: new file).
    """

    given: Path
    path: Path
    regular: bool
    mode: int | None


def check_output(path: Path | str, *, option: str = "-o/--output") -> OutputTarget:
    """Check that `path` can be written without destroying what is not ours.

    A symlink is followed (its target is written, the link stays); a device,
    FIFO or socket (``/dev/stdout``) is written through, never replaced; a
    regular file is replaced atomically, keeping its mode.  Nothing is written.

    Raises
    ------
    OutputError
        If `path` is a directory, a read-only file, in a directory that does
        not exist or cannot be written; the message names `option` and the fix.
    """
    given = Path(path)
    if str(given) in ("", "."):
        msg = f"{option}: no file name given; name the file to write"
        raise OutputError(msg)
    target = given.resolve() if given.is_symlink() else given
    try:
        st = target.stat()
    except FileNotFoundError:
        st = None
    except OSError as err:
        msg = f"{option} {given}: cannot be inspected ({err.strerror}); choose another path"
        raise OutputError(msg) from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            msg = f"{option} {given} is a directory; give a file name inside it"
            raise OutputError(msg)
        if not stat.S_ISREG(st.st_mode):  # a device, FIFO or socket: write through
            if not os.access(target, os.W_OK):
                msg = f"{option} {given} cannot be written (permission denied); choose another path"
                raise OutputError(msg)
            return OutputTarget(given, target, regular=False, mode=None)
        if not st.st_mode & 0o222 or not os.access(target, os.W_OK):
            msg = (
                f"{option} {given} is read-only; choose another path, or make it "
                f"writable (chmod u+w {given}) if it may be replaced"
            )
            raise OutputError(msg)
    parent = target.parent
    if not parent.is_dir():
        msg = f"{option} {given}: directory {parent} does not exist; create it or choose another path"
        raise OutputError(msg)
    try:  # a real probe: permission bits do not stop root, a read-only mount does
        fd, probe = tempfile.mkstemp(prefix=".territory-probe.", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        msg = f"{option} {given}: directory {parent} is not writable ({err.strerror}); choose another path"
        raise OutputError(msg) from None
    mode = stat.S_IMODE(st.st_mode) if st is not None else None
    return OutputTarget(given, target, regular=True, mode=mode)


def check_outputs(targets: dict[str, Path | None]) -> dict[str, OutputTarget]:
    """Check every destination of a command before anything is written.

    `targets` maps an option name (``--map``) to its path (None: not asked).
    Two options naming the same file are refused too.
    """
    checked: dict[str, OutputTarget] = {}
    seen: dict[Path, str] = {}
    for option, path in targets.items():
        if path is None:
            continue
        t = check_output(path, option=option)
        key = t.path.resolve() if t.regular else t.path
        if key in seen and t.regular:
            msg = (
                f"{option} and {seen[key]} name the same file {path}; give each its own"
            )
            raise OutputError(msg)
        seen[key] = option
        checked[option] = t
    return checked


def new_file_mode() -> int:
    """Return the mode a new file gets here (0o666 less the umask).

    Temporary files are created 0600; a file they become gets this mode.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def output_file(target: OutputTarget | Path | str) -> Iterator[Path]:
    """Yield a temporary path to write; on success it becomes `target`.

    A regular file is replaced atomically (rename in the same directory), with
    its previous permissions; a device or FIFO receives the bytes written to
    the temporary file.  On failure nothing of the output is left behind.
    """
    if not isinstance(target, OutputTarget):
        target = check_output(target)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.path.stem}.",
        suffix=f".part{target.path.suffix}",
        dir=target.path.parent if target.regular else None,
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if target.regular:
            tmp_path.chmod(new_file_mode() if target.mode is None else target.mode)
            os.replace(tmp_path, target.path)
        else:
            with target.path.open("wb") as out, tmp_path.open("rb") as src:
                shutil.copyfileobj(src, out)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_output(target: OutputTarget | Path | str, data: bytes) -> None:
    """Write `data` to a checked destination (see `output_file`)."""
    with output_file(target) as tmp:
        tmp.write_bytes(data)
