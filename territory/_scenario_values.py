"""Value checks for scenarios: one field at a time, each problem with its fix.

Private to `territory.scenario`.  Every check takes the raw value, the field's
name and a `_Style` (the file's keys and TOML, or Python), and returns the
value in normal form or raises `_Invalid` with the problem and the fix; the
object checks (`territory._scenario_checks`) and the parser
(`territory._scenario_parse`) add the class, or the file and the transfer.
Short reprs (`_show`) keep every message to one short line, whatever the input.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import numbers
import os
import reprlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import territory.scenario as model
from territory.borders import load_neighbours
from territory.dates import as_date
from territory.errors import DataError, ScenarioFormatError
from territory.regions import RegionTable

#: Fields whose key in a file differs from the attribute name.
_FILE_KEY = {
    "everything": "all",
    "geometries": "geometry",
    "source": "from",
    "target": "to",
    "rule": "select",
}
_PARTY_NAMES = {"ukraine": "UA", "ukrainian": "UA", "russia": "RU", "russian": "RU"}


class _ShortRepr(reprlib.Repr):
    """Reprs cut to a few items, two levels and short strings; objects by type."""

    def repr_instance(self, x: Any, level: int) -> str:
        if x is None or isinstance(x, numbers.Number | dt.date | dt.time):
            return super().repr_instance(x, level)
        return _kind(x)


def _kind(x: Any) -> str:
    """Name the type of `x`: ``a Rule``, ``a numpy.bool``."""
    kind = type(x)
    module = kind.__module__.split(".")[0]
    own = module in ("builtins", "territory", "pathlib")
    return f"a {kind.__name__}" if own else f"a {module}.{kind.__name__}"


_REPR = _ShortRepr()
_REPR.maxlevel = 2
_REPR.maxstring = 48
_REPR.maxother = 48
_REPR.maxlong = 24
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4


def _show(value: Any) -> str:
    """Return a short one-line repr of any value, safe for deep or huge ones."""
    try:
        return _REPR.repr(value).replace("\n", " ")
    except Exception:  # e.g. an int too long to print
        return _kind(value)


class _Invalid(ScenarioFormatError):  # noqa: N818 (re-raised as ScenarioError, with the place)
    """A value breaks the schema; the parser adds the file and the transfer."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem = problem
        self.fix = fix


@dataclass(frozen=True, slots=True)
class _Style:
    """How a problem is told: in the file's keys and TOML, or in Python."""

    file: bool

    def key(self, name: str) -> str:
        return _FILE_KEY.get(name, name) if self.file else name

    def write(self, name: str, toml: str, python: str | None = None) -> str:
        if self.file:
            return f"write {name} = {toml}"
        return f"pass {name}={toml if python is None else python}"

    @property
    def booleans(self) -> str:
        return "true or false (no quotes)" if self.file else "True or False"


_FILE, _CODE = _Style(file=True), _Style(file=False)


# --------------------------------------------------------------------------- value checks


def _flag(value: Any, name: str, s: _Style) -> bool:
    # A flag must be a real boolean: bool("no") is True, so "no" would mean yes.
    if isinstance(value, bool):
        return value
    problem = f"'{s.key(name)}' is {_show(value)}, not a boolean"
    raise _Invalid(problem, f"use {s.booleans}")


def _km(value: Any, name: str, s: _Style, *, max_km: float | None = None) -> float:
    # Distances become buffers: nan, inf, 0 or a negative number would select
    # nothing, everything, or fail inside GEOS; True would silently be 1 km.
    limit = f", at most {max_km:g}" if max_km is not None else ""
    problem = (
        f"'{name}' is {_show(value)}, but it must be a positive number of km "
        f"(finite, above 0{limit})"
    )
    fix = s.write(name, "10")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _Invalid(problem, fix)
    try:
        km = float(value)
    except (OverflowError, ValueError, TypeError):
        raise _Invalid(problem, fix) from None
    if not math.isfinite(km) or km <= 0 or (max_km is not None and km > max_km):
        raise _Invalid(problem, fix)
    return km


def _maybe_km(value: Any, name: str, s: _Style) -> float | None:
    return None if value is None else _km(value, name, s)


def _utf8(value: str, name: str, s: _Style) -> str:
    """Refuse a lone surrogate: no page, CSV or file can hold it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        bad = value[err.start : err.end].encode("unicode_escape").decode()
        msg = f"'{name}' holds {bad}, half of a character pair, which is not text"
        raise _Invalid(
            msg,
            s.write(name, '"..."'),
        ) from None
    return value


def _text(value: Any, name: str, s: _Style, *, required: bool = False) -> str:
    if isinstance(value, str):
        _utf8(value, name, s)
        if required and not value.strip():
            msg = f"'{name}' is empty"
            raise _Invalid(msg, s.write(name, '"..."'))
        return value
    if value is None and required:
        msg = f"'{name}' is missing"
        raise _Invalid(msg, s.write(name, '"..."'))
    msg = f"'{name}' is {_show(value)}, not text"
    raise _Invalid(msg, s.write(name, '"..."'))


def _party(
    value: Any, name: str, s: _Style, allowed: tuple[str, ...] = model.PARTIES
) -> str:
    if isinstance(value, str) and value.strip().upper() in allowed:
        return value.strip().upper()
    guess = (
        _PARTY_NAMES.get(value.strip().casefold()) if isinstance(value, str) else None
    )
    hint = f"did you mean {guess}? " if guess in allowed else ""
    msg = f"'{s.key(name)}' is {_show(value)}"
    raise _Invalid(msg, f"{hint}use one of {', '.join(allowed)}")


def _as_of(value: Any, s: _Style) -> dt.date:
    fix = s.write(
        "as_of",
        "2025-08-15 (the date of the control map)",
        "datetime.date(2025, 8, 15)",
    )
    if value is None:
        missing = " (the key is missing)" if s.file else ""
        msg = f"'as_of' is None{missing}"
        raise _Invalid(msg, fix)
    # as_date reads dates, ISO strings, date-times at midnight (TOML, datetime,
    # pandas.Timestamp) and numpy.datetime64; anything else is told here.
    known = isinstance(value, dt.date) or type(value).__name__ == "datetime64"
    if not known and not (isinstance(value, str) and len(value) <= 40):
        msg = f"'as_of' is {_show(value)}, not a date"
        raise _Invalid(msg, fix)
    try:
        return as_date(value, what="'as_of'")
    except DataError as err:
        problem, _, hint = str(err).partition("; ")
        raise _Invalid(problem, hint or fix) from None


def _name(value: Any, s: _Style) -> str:
    if not isinstance(value, str) or not value.strip():
        shown = "missing" if value is None else _show(value)
        msg = f"'name' is {shown}"
        raise _Invalid(msg, s.write("name", '"..."'))
    return _utf8(value, "name", s).strip()


def _absent(value: Any, s: _Style) -> bool:
    """Return True when an optional list field is left out.

    In code, None and an empty tuple or list mean "no such criterion"; in a
    file a key is either absent or must say something, so ``regions = []`` is
    an error rather than a rule that silently selects everything.
    """
    if value is None or (isinstance(value, tuple) and not value):
        return True
    return not s.file and isinstance(value, list) and not value


def _sequence(value: Any, item: Any) -> list[Any] | None:
    """Return `value` as a list when it is one `item` or a list/tuple of them."""
    if isinstance(value, item):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(x, item) for x in value):
        return list(value)
    return None


def _regions(
    value: Any, names: Any, s: _Style, table: RegionTable
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Resolve region names or codes to ids; return (ids, display names)."""
    fix = s.write("regions", '["Donetsk", "Luhansk"]', '("Donetsk", "Luhansk")')
    if _absent(value, s):
        return (), ()
    items = _sequence(value, str)
    if not items:
        msg = f"'regions' is {_show(value)}, not a list of region names or codes"
        raise _Invalid(msg, fix)
    ids: list[str] = []
    for x in items:
        if len(x) > 100:  # a name, not a document: keep the message one short line
            msg = f"unknown region {_show(x)}"
            raise _Invalid(msg, "'territory regions' lists them all")
        try:
            rid = table.lookup(x).region_id
        except DataError as err:  # the lookup's message has the did-you-mean
            problem, _, hint = str(err).partition("; ")
            raise _Invalid(problem, hint) from None
        if rid not in ids:
            ids.append(rid)
    # region_names is for display only: the caller's spelling is kept when it
    # names the same regions; otherwise (e.g. after dataclasses.replace changed
    # the regions) it is filled in again from the ids, the single truth.
    given = _sequence(names, str)
    if given and len(given) == len(ids) and all(len(n) <= 100 for n in given):
        try:
            if [table.lookup(n).region_id for n in given] == ids:
                return tuple(ids), tuple(given)
        except DataError:
            pass
    return tuple(ids), tuple(table.regions[r].name for r in ids)


def _border_with(value: Any, s: _Style) -> tuple[str, ...]:
    """Resolve neighbour codes or English names (any case) to ISO alpha-2 codes."""
    neighbours = load_neighbours()
    codes = ", ".join(f"{c} ({n.name})" for c, n in neighbours.items())
    fix = (
        s.write("border_with", '["RU", "BY"]', '("RU", "BY")') + f"; the codes: {codes}"
    )
    if _absent(value, s):
        return ()
    items = _sequence(value, str)
    if not items:
        msg = f"'border_with' is {_show(value)}, not a list of neighbours"
        raise _Invalid(msg, fix)
    by_key = {}
    for code, n in neighbours.items():
        by_key[code.casefold()] = code
        by_key[n.name.casefold()] = code
    out: list[str] = []
    for x in items:
        key = x.strip().casefold()
        if key not in by_key:
            close = difflib.get_close_matches(key[:40], by_key, n=1, cutoff=0.6)
            hint = ""
            if close:
                code = by_key[close[0]]
                hint = f"did you mean {code} ({neighbours[code].name})? "
            msg = f"'border_with' names {_show(x)}, not a land neighbour of Ukraine"
            raise _Invalid(
                msg,
                f"{hint}use one of {codes}",
            )
        if by_key[key] not in out:
            out.append(by_key[key])
    return tuple(out)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL byte, ...
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _polygon_files(value: Any, s: _Style) -> tuple[Path, ...]:
    """Check polygon files given in code (the parser also confines them)."""
    if _absent(value, s):
        return ()
    items = _sequence(value, str | os.PathLike)
    if not items or not all(isinstance(os.fspath(x), str) for x in items):
        msg = f"'polygons' is {_show(value)}, not a file path or a list of them"
        raise _Invalid(
            msg,
            s.write("polygons", '"zone.geojson"', '(Path("zone.geojson"),)'),
        )
    out = []
    for x in items:
        p = Path(x)
        if _is_dir(p):
            msg = f"polygon file {_show(str(x))} is a folder"
            raise _Invalid(msg, "give a vector file")
        if not _is_file(p):
            msg = f"polygon file {_show(str(x))} not found"
            raise _Invalid(
                msg,
                "give the path of a GeoJSON, GeoPackage or Shapefile (relative paths are from the current folder)",
            )
        out.append(p)
    return tuple(out)


def _geometries(value: Any, s: _Style) -> tuple[dict[str, Any], ...]:
    if _absent(value, s):
        return ()
    items = _sequence(value, dict)
    if not items or not all(
        isinstance(g.get("type"), str) and g["type"] in ("Polygon", "MultiPolygon")
        for g in items
    ):
        msg = f"'{s.key('geometries')}' is {_show(value)}, not a GeoJSON Polygon or MultiPolygon"
        raise _Invalid(
            msg,
            s.write(
                s.key("geometries"),
                '{ type = "Polygon", coordinates = [[[lon, lat], ...]] }',
                '({"type": "Polygon", "coordinates": [[[lon, lat], ...]]},)',
            ),
        )
    for g in items:
        _check_inline(g)
    return tuple(items)


def _rings_ok(rings: Any) -> bool:
    """Return True when `rings` is a list of rings of [lon, lat] pairs of finite numbers."""
    if not isinstance(rings, list | tuple):
        return False
    for ring in rings:
        if not isinstance(ring, list | tuple):
            return False
        for pos in ring:
            if not isinstance(pos, list | tuple) or len(pos) not in (2, 3):
                return False
            for c in pos:
                if isinstance(c, bool) or not isinstance(c, numbers.Real):
                    return False
                try:
                    if not math.isfinite(float(c)):
                        return False
                except OverflowError:
                    return False
    return True


def _check_inline(g: dict[str, Any]) -> None:
    import shapely
    from shapely.geometry import shape

    coords = g.get("coordinates")
    # Checked by hand first: shapely warns, overflows or recurses on odd input.
    polys = coords if g["type"] == "MultiPolygon" else [coords]
    if not isinstance(polys, list | tuple) or not all(_rings_ok(p) for p in polys):
        msg = "inline geometry is malformed (coordinates are not rings of [lon, lat] numbers)"
        raise _Invalid(
            msg,
            "give [[lon, lat], ...] rings, closed, in degrees",
        )
    try:
        geom = shape(g)
    except Exception as err:  # shapely raises several types for bad coordinates
        reason = str(err).splitlines()[0][:80] if str(err) else type(err).__name__
        msg = f"inline geometry is malformed ({reason})"
        raise _Invalid(
            msg,
            "give [[lon, lat], ...] rings, closed",
        ) from None
    if geom.is_empty:
        msg = "inline geometry is empty"
        raise _Invalid(msg, "give [[lon, lat], ...] rings, closed")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        msg = "inline geometry is not lon/lat"
        raise _Invalid(
            msg,
            "give coordinates as [lon, lat] in degrees (EPSG:4326)",
        )
    from territory.io import diagnose_lonlat

    swapped = diagnose_lonlat(geom.bounds, what="inline geometry")
    if swapped:  # e.g. [48, 37] for 37°E 48°N: Iran, not Ukraine
        problem, _, fix = swapped.partition("; ")
        raise _Invalid(problem, fix)
    if not shapely.is_valid(geom):
        msg = f"inline geometry is invalid ({shapely.is_valid_reason(geom)})"
        raise _Invalid(
            msg,
            "fix the ring (no self-intersections)",
        )
