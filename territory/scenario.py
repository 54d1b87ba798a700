"""Swap scenarios: small declarative TOML files of named transfers and zones.

A scenario says which land moves from one party to another (or to a neutral
demilitarised zone), each transfer selected by a rule a reader can audit.
This module parses and checks the file; `territory.accounting` evaluates it.

Scenario files are passed between people, so nothing in one is trusted: any
document either becomes a `Scenario` or raises `ScenarioFormatError` with one
line naming the file, the transfer, the key and the fix.  Paths in
``polygons`` are relative to the scenario's folder and may not leave it
(``allow_paths_outside=True`` lifts that).  Objects built in code (`Rule`,
`Transfer`, `Zone`, `Scenario`) are checked the same way when they are
created, and raise `ScenarioError`.

Example
-------
.. code-block:: toml

    [scenario]
    title = "Alaska summit offer"
    as_of = 2025-08-15
    source = "Reuters, 16 Aug 2025"

    [[transfers]]
    name = "Ukraine withdraws from Donbas"
    from = "UA"
    to = "RU"
    claim = "Kyiv would withdraw fully from Donetsk and Luhansk"
    select = { regions = ["Donetsk", "Luhansk"] }
"""

from __future__ import annotations

import contextvars
import datetime as dt
import difflib
import math
import numbers
import os
import reprlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from territory.borders import load_neighbours
from territory.dates import as_date
from territory.errors import (
    DataError,
    DataNotFoundError,
    ScenarioError,
    ScenarioFormatError,
)
from territory.regions import RegionTable, load_region_table

#: Parties a transfer can name; DMZ is the neutral status of demilitarised zones.
PARTIES = ("UA", "RU", "DMZ")
PARTY_ADJECTIVE = {"UA": "Ukrainian-held", "RU": "Russian-held", "DMZ": "demilitarised"}
#: How deep ``exclude`` rules may nest (an exclude inside an exclude ...).
MAX_EXCLUDE_DEPTH = 8
#: The farthest a party may be asked to pull back in a zone, km.
MAX_ZONE_DEPTH_KM = 200.0
#: A scenario is a small text file; larger polygons belong in ``polygons`` files.
MAX_FILE_BYTES = 20_000_000

_RULE_KEYS = {
    "all",
    "regions",
    "connected",
    "within_km_of_front",
    "within_km_of_border",
    "border_with",
    "polygons",
    "geometry",
    "exclude",
}
_TRANSFER_KEYS = {"name", "from", "to", "select", "claim", "note", "sovereignty"}
_ZONE_KEYS = {"name", "along", "depth_km", "withdraw", "claim", "note", "sovereignty"}
_META_KEYS = {"title", "as_of", "source", "citation", "description", "default"}
#: Fields whose key in a file differs from the attribute name.
_FILE_KEY = {
    "everything": "all",
    "geometries": "geometry",
    "source": "from",
    "target": "to",
}
_PARTY_NAMES = {"ukraine": "UA", "ukrainian": "UA", "russia": "RU", "russian": "RU"}
_OUTSIDE_FIX = "or pass allow_paths_outside=True (CLI: --allow-paths-outside) if you trust the file"


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


class _Invalid(ScenarioFormatError):
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


def _text(value: Any, name: str, s: _Style, *, required: bool = False) -> str:
    if isinstance(value, str):
        if required and not value.strip():
            raise _Invalid(f"'{name}' is empty", s.write(name, '"..."'))
        return value
    if value is None and required:
        raise _Invalid(f"'{name}' is missing", s.write(name, '"..."'))
    raise _Invalid(f"'{name}' is {_show(value)}, not text", s.write(name, '"..."'))


def _party(value: Any, name: str, s: _Style, allowed: tuple[str, ...] = PARTIES) -> str:
    if isinstance(value, str) and value.strip().upper() in allowed:
        return value.strip().upper()
    guess = (
        _PARTY_NAMES.get(value.strip().casefold()) if isinstance(value, str) else None
    )
    hint = f"did you mean {guess}? " if guess in allowed else ""
    raise _Invalid(
        f"'{s.key(name)}' is {_show(value)}", f"{hint}use one of {', '.join(allowed)}"
    )


def _as_of(value: Any, s: _Style) -> dt.date:
    fix = s.write(
        "as_of",
        "2025-08-15 (the date of the control map)",
        "datetime.date(2025, 8, 15)",
    )
    if value is None:
        missing = " (the key is missing)" if s.file else ""
        raise _Invalid(f"'as_of' is None{missing}", fix)
    # as_date reads dates, ISO strings, date-times at midnight (TOML, datetime,
    # pandas.Timestamp) and numpy.datetime64; anything else is told here.
    known = isinstance(value, dt.date) or type(value).__name__ == "datetime64"
    if not known and not (isinstance(value, str) and len(value) <= 40):
        raise _Invalid(f"'as_of' is {_show(value)}, not a date", fix)
    try:
        return as_date(value, what="'as_of'")
    except DataError as err:
        problem, _, hint = str(err).partition("; ")
        raise _Invalid(problem, hint or fix) from None


def _name(value: Any, s: _Style) -> str:
    if not isinstance(value, str) or not value.strip():
        shown = "missing" if value is None else _show(value)
        raise _Invalid(f"'name' is {shown}", s.write("name", '"..."'))
    return value.strip()


def _absent(value: Any, s: _Style) -> bool:
    """True when an optional list field is left out.

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
        raise _Invalid(
            f"'regions' is {_show(value)}, not a list of region names or codes", fix
        )
    ids: list[str] = []
    for x in items:
        if len(x) > 100:  # a name, not a document: keep the message one short line
            raise _Invalid(
                f"unknown region {_show(x)}", "'territory regions' lists them all"
            )
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
        raise _Invalid(
            f"'border_with' is {_show(value)}, not a list of neighbours", fix
        )
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
            raise _Invalid(
                f"'border_with' names {_show(x)}, not a land neighbour of Ukraine",
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
        raise _Invalid(
            f"'polygons' is {_show(value)}, not a file path or a list of them",
            s.write("polygons", '"zone.geojson"', '(Path("zone.geojson"),)'),
        )
    out = []
    for x in items:
        p = Path(x)
        if _is_dir(p):
            raise _Invalid(
                f"polygon file {_show(str(x))} is a folder", "give a vector file"
            )
        if not _is_file(p):
            raise _Invalid(
                f"polygon file {_show(str(x))} not found",
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
        raise _Invalid(
            f"'{s.key('geometries')}' is {_show(value)}, not a GeoJSON Polygon or MultiPolygon",
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
    """True when `rings` is a list of rings of [lon, lat] pairs of finite numbers."""
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
        raise _Invalid(
            "inline geometry is malformed (coordinates are not rings of [lon, lat] numbers)",
            "give [[lon, lat], ...] rings, closed, in degrees",
        )
    try:
        geom = shape(g)
    except Exception as err:  # shapely raises several types for bad coordinates
        reason = str(err).splitlines()[0][:80] if str(err) else type(err).__name__
        raise _Invalid(
            f"inline geometry is malformed ({reason})",
            "give [[lon, lat], ...] rings, closed",
        ) from None
    if geom.is_empty:
        raise _Invalid(
            "inline geometry is empty", "give [[lon, lat], ...] rings, closed"
        )
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise _Invalid(
            "inline geometry is not lon/lat",
            "give coordinates as [lon, lat] in degrees (EPSG:4326)",
        )
    if not shapely.is_valid(geom):
        raise _Invalid(
            f"inline geometry is invalid ({shapely.is_valid_reason(geom)})",
            "fix the ring (no self-intersections)",
        )


# --------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class Rule:
    """Which land a transfer moves: every given criterion must hold.

    Checked when created (`ScenarioError` with the fix): region names are
    resolved to ids, flags must be booleans, distances finite and positive,
    and a rule needs at least one criterion (``Rule(everything=True)`` for all
    the giver's land).

    Attributes
    ----------
    everything
        All land the giving party holds.
    regions
        Region ids (ISO 3166-2); names and any spelling are accepted and
        resolved (``Rule(regions=("Donetsk",))`` gives ``("UA-14",)``).
    region_names
        The regions' names, for the rule in words (filled in from `regions`).
    connected
        With `regions`: keep only the parts of the giver's holdings that are
        (True) or are not (False) connected to its holdings outside them.
    within_km_of_front, within_km_of_border
        Only land within this true distance (km) of the contact line on the
        as-of date, or of the state land border.
    border_with
        With `within_km_of_border`: only the border with these neighbours
        (ISO 3166-1 alpha-2 codes: RU, BY, PL, SK, HU, RO, MD; English names
        are accepted too); empty means every land border.
    polygons
        Vector files (relative to the scenario) whose polygons bound the land.
    geometries
        Inline GeoJSON geometries (lon/lat) bounding the land.
    exclude
        A rule whose land is taken out of this one's (nested at most
        `MAX_EXCLUDE_DEPTH` deep).

    Examples
    --------
    >>> Rule(regions=("Donetsk", "luhansk oblast")).regions
    ('UA-14', 'UA-09')
    >>> Rule(within_km_of_border=20, border_with="Russia").describe("UA")
    'Ukrainian-held land within 20 km of the border with Russia'
    """

    everything: bool = False
    regions: tuple[str, ...] = ()
    region_names: tuple[str, ...] = ()
    connected: bool | None = None
    within_km_of_front: float | None = None
    within_km_of_border: float | None = None
    border_with: tuple[str, ...] = ()
    polygons: tuple[Path, ...] = ()
    geometries: tuple[dict[str, Any], ...] = ()
    exclude: Rule | None = None

    def __post_init__(self) -> None:
        _checked(self, _rule_fields)

    def describe(self, giver: str | None = None) -> str:
        """Return the rule in words, e.g. "Ukrainian-held land in Donetsk and Luhansk"."""
        parts = []
        if self.everything:
            parts.append("everywhere")
        if self.region_names:
            parts.append("in " + _join(list(self.region_names)))
        if self.connected is not None:
            who = PARTY_ADJECTIVE.get(giver or "", "its")
            kind = "connected" if self.connected else "not connected"
            parts.append(
                f"only the parts {kind} to {who} land outside {_join(list(self.region_names))}"
            )
        if self.within_km_of_front is not None:
            parts.append(f"within {self.within_km_of_front:g} km of the contact line")
        if self.within_km_of_border is not None:
            if self.border_with:
                names = load_neighbours()
                whom = _join([names[c].name for c in self.border_with])
                parts.append(
                    f"within {self.within_km_of_border:g} km of the border with {whom}"
                )
            else:
                parts.append(
                    f"within {self.within_km_of_border:g} km of the state border"
                )
        if self.polygons:
            parts.append(
                "inside the polygons of " + _join([p.name for p in self.polygons])
            )
        if self.geometries:
            parts.append(
                f"inside {len(self.geometries)} polygon(s) given in the scenario"
            )
        text = ", ".join(parts)
        if self.exclude is not None:
            text += f", except land {self.exclude.describe(None)}"
        if giver is not None:
            return f"{PARTY_ADJECTIVE.get(giver, giver)} land {text}"
        return text


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True, slots=True)
class Transfer:
    """One area handed from one party to another.

    Checked when created: `source` and `target` are parties (UA, RU, DMZ; any
    case), different, and land never comes out of a DMZ; `rule` is a `Rule`.
    """

    name: str
    source: str
    target: str
    rule: Rule
    claim: str = ""
    note: str = ""
    sovereignty: str | None = None

    def __post_init__(self) -> None:
        _checked(self, _transfer_fields)

    def describe(self) -> str:
        """Return the selection rule in words."""
        return self.rule.describe(self.source)


@dataclass(frozen=True, slots=True)
class Zone:
    """A demilitarised buffer along the contact line that results from the transfers.

    Each party in `withdraw` pulls back `depth_km` (true distance) from the
    line; the land it leaves becomes neutral (DMZ).  One party: one-sided zone;
    both: a zone of twice the depth, centred on the line.  Checked when created:
    `depth_km` is finite, above 0 and at most `MAX_ZONE_DEPTH_KM`.
    """

    name: str
    depth_km: float
    withdraw: tuple[str, ...]
    along: str = "front"
    claim: str = ""
    note: str = ""
    sovereignty: str | None = None

    def __post_init__(self) -> None:
        _checked(self, _zone_fields)

    def describe(self) -> str:
        """Return the zone rule in words."""
        who = " and ".join(PARTY_ADJECTIVE[p].split("-")[0] for p in self.withdraw)
        side = "two-sided" if len(self.withdraw) > 1 else "one-sided"
        return f"{who} forces pull back {self.depth_km:g} km from the contact line after the transfers ({side})"


@dataclass(frozen=True, slots=True)
class Scenario:
    """A swap scenario: metadata, transfers and zones.

    Checked when created: `as_of` goes through `territory.dates.as_date` (a
    date, an ISO string, or a date-time at midnight), transfer names are
    unique, and there is at least one transfer or zone.
    """

    title: str
    as_of: dt.date
    transfers: tuple[Transfer, ...]
    zones: tuple[Zone, ...] = ()
    source: str = ""
    citation: str = ""
    description: str = ""
    path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _checked(self, _scenario_fields)

    @property
    def label(self) -> str:
        """The file name, or the title when the scenario was built in code."""
        return self.path.name if self.path else self.title

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><td>{html.escape(t.name)}</td><td>{t.source}→{t.target}</td>"
            f"<td>{html.escape(t.describe())}</td></tr>"
            for t in self.transfers
        )
        rows += "".join(
            f"<tr><td>{html.escape(z.name)}</td><td>{'+'.join(z.withdraw)}→DMZ</td>"
            f"<td>{html.escape(z.describe())}</td></tr>"
            for z in self.zones
        )
        return (
            f"<b>{html.escape(self.title)}</b> (as of {self.as_of})<br>"
            f"<table><tr><th>Transfer or zone</th><th>Direction</th><th>Rule</th></tr>{rows}</table>"
        )


# --------------------------------------------------------------------------- object checks


def _checked(obj: Any, fields: Any) -> None:
    """Check `obj`'s fields and store their normal form (ids, tuples, floats).

    In code a problem raises `ScenarioError` naming the class; while a file is
    parsed it propagates to the parser, which names the file and the transfer.
    """
    ctx = _PARSING.get()
    try:
        values = fields(obj, _FILE if ctx else _CODE, ctx.table if ctx else None)
    except _Invalid as err:
        if ctx is not None:
            raise
        msg = f"{type(obj).__name__}: {err.problem}; {err.fix}"
        raise ScenarioError(msg) from None
    for key, value in values.items():
        object.__setattr__(obj, key, value)


def _rule_fields(r: Rule, s: _Style, table: RegionTable | None) -> dict[str, Any]:
    regions, names = _regions(
        r.regions, r.region_names, s, load_region_table() if table is None else table
    )
    connected = None if r.connected is None else _flag(r.connected, "connected", s)
    if connected is not None and not regions:
        raise _Invalid(
            "'connected' needs 'regions'", "name the regions whose pockets you mean"
        )
    border_km = _maybe_km(r.within_km_of_border, "within_km_of_border", s)
    border_with = _border_with(r.border_with, s)
    if border_with and border_km is None:
        raise _Invalid(
            "'border_with' needs 'within_km_of_border'",
            s.write("within_km_of_border", "20", "20.0") + " alongside it",
        )
    out = {
        "everything": _flag(r.everything, "everything", s),
        "regions": regions,
        "region_names": names,
        "connected": connected,
        "within_km_of_front": _maybe_km(r.within_km_of_front, "within_km_of_front", s),
        "within_km_of_border": border_km,
        "border_with": border_with,
        "polygons": _polygon_files(r.polygons, s),
        "geometries": _geometries(r.geometries, s),
    }
    if r.exclude is not None and not isinstance(r.exclude, Rule):
        raise _Invalid(
            f"'exclude' is {_show(r.exclude)}, not a rule",
            'write exclude = { regions = ["..."] }'
            if s.file
            else "pass exclude=Rule(...)",
        )
    depth, inner = 0, r.exclude
    while inner is not None:
        depth += 1
        if depth > MAX_EXCLUDE_DEPTH:
            raise _Invalid(
                f"'exclude' is nested more than {MAX_EXCLUDE_DEPTH} deep",
                "merge the excluded land into one exclude (it can list several regions and polygons)",
            )
        inner = inner.exclude
    criteria = ("everything", "regions", "within_km_of_front", "within_km_of_border")
    if not any(out[k] for k in (*criteria, "polygons", "geometries")):
        raise _Invalid(
            "the selection rule is empty",
            "say which land moves (regions, polygons, all = true, ...)"
            if s.file
            else "pass a criterion (regions=, polygons=, within_km_of_front=, ...) or everything=True for all the giver's land",
        )
    return out


def _transfer_fields(
    t: Transfer, s: _Style, table: RegionTable | None
) -> dict[str, Any]:
    name = _name(t.name, s)
    source = _party(t.source, "source", s)
    target = _party(t.target, "target", s)
    if source == target:
        raise _Invalid(
            f"moves land from {source} to itself",
            f"set '{s.key('target')}' to the receiving party",
        )
    if source == "DMZ":
        raise _Invalid(
            "moves land out of a demilitarised zone",
            f"transfers give land from UA or RU: set '{s.key('source')}' to one of them",
        )
    if not isinstance(t.rule, Rule):
        raise _Invalid(
            f"'rule' is {_show(t.rule)}, not a Rule",
            "pass rule=Rule(regions=('Donetsk',)) or another Rule",
        )
    return {
        "name": name,
        "source": source,
        "target": target,
        "claim": _text(t.claim, "claim", s),
        "note": _text(t.note, "note", s),
        "sovereignty": None
        if t.sovereignty is None
        else _party(t.sovereignty, "sovereignty", s),
    }


def _zone_fields(z: Zone, s: _Style, table: RegionTable | None) -> dict[str, Any]:
    depth_km = _km(z.depth_km, "depth_km", s, max_km=MAX_ZONE_DEPTH_KM)
    fix = s.write("withdraw", '["UA", "RU"]', '("UA", "RU")') + " (UA, RU or both)"
    w = z.withdraw
    items = (
        [w] if isinstance(w, str) else list(w) if isinstance(w, list | tuple) else []
    )
    if not items:
        raise _Invalid(f"'withdraw' is {_show(z.withdraw)}", fix)
    parties = tuple(_party(w, "withdraw", s, ("UA", "RU")) for w in items)
    if len(set(parties)) != len(parties):
        raise _Invalid(
            f"'withdraw' is {_show(z.withdraw)}: a party is named twice", fix
        )
    if not (isinstance(z.along, str) and z.along == "front"):
        raise _Invalid(
            f"'along' is {_show(z.along)}",
            'zones run along the contact line: along = "front"',
        )
    return {
        "name": _name(z.name, s),
        "depth_km": depth_km,
        "withdraw": parties,
        "claim": _text(z.claim, "claim", s),
        "note": _text(z.note, "note", s),
        "sovereignty": None
        if z.sovereignty is None
        else _party(z.sovereignty, "sovereignty", s),
    }


def _items(value: Any, kind: type, name: str) -> tuple[Any, ...]:
    if isinstance(value, list | tuple):
        wrong = [x for x in value if not isinstance(x, kind)]
        if not wrong:
            return tuple(value)
        got = f"holds {_show(wrong[0])}"
    else:
        got = f"is {_show(value)}"
    raise _Invalid(
        f"'{name}' {got}, not a tuple of {kind.__name__} objects",
        f"pass {name}=({kind.__name__}(...), ...)",
    )


def _scenario_fields(
    sc: Scenario, s: _Style, table: RegionTable | None
) -> dict[str, Any]:
    transfers = _items(sc.transfers, Transfer, "transfers")
    zones = _items(sc.zones, Zone, "zones")
    for kind, things in (("transfer", transfers), ("zone", zones)):
        names = [t.name for t in things]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise _Invalid(
                f"the {kind} name {_show(twice[0])} is used twice",
                f"give every {kind} its own name",
            )
    if not transfers and not zones:
        raise _Invalid(
            "no transfers and no zones",
            "add at least one [[transfers]] table"
            if s.file
            else "pass transfers=(Transfer(...),) or zones=(Zone(...),)",
        )
    path = sc.path
    if path is not None:
        if not isinstance(path, str | os.PathLike) or not isinstance(
            os.fspath(path), str
        ):
            raise _Invalid(
                f"'path' is {_show(path)}, not a file path",
                "pass path=Path('my.toml') or leave it out",
            )
        path = Path(path)
    extra = {} if sc.extra is None else sc.extra
    if not isinstance(extra, dict):
        raise _Invalid(
            f"'extra' is {_show(extra)}, not a dict", "pass extra={} or leave it out"
        )
    return {
        "title": _text(sc.title, "title", s, required=True),
        "as_of": _as_of(sc.as_of, s),
        "transfers": transfers,
        "zones": zones,
        "source": _text(sc.source, "source", s),
        "citation": _text(sc.citation, "citation", s),
        "description": _text(sc.description, "description", s),
        "path": path,
        "extra": extra,
    }


# --------------------------------------------------------------------------- parsing


def _label(path: Path) -> str:
    """The file's name for a message: printable, on one line."""
    return path.name if path.name.isprintable() else repr(path.name)


class _Ctx:
    def __init__(
        self, path: Path | None, table: RegionTable, allow_outside: bool
    ) -> None:
        self.path = path
        self.table = table
        self.allow_outside = allow_outside
        self.where = _label(path) if path else "scenario"

    def fail(self, what: str, problem: str, fix: str) -> ScenarioFormatError:
        return ScenarioFormatError(f"{self.where}: {what}: {problem}; {fix}")

    def build(self, what: str, make: Any, *args: Any, **kwargs: Any) -> Any:
        """Call `make` (a class or a check); name the file and `what` on failure."""
        try:
            return make(*args, **kwargs)
        except _Invalid as err:
            raise self.fail(what, err.problem, err.fix) from None


#: The parse in progress, if any: objects built during it report to the parser
#: (in the file's keys) and resolve regions with the table it was given.
_PARSING: contextvars.ContextVar[_Ctx | None] = contextvars.ContextVar(
    "territory_scenario_parsing", default=None
)


def _no_unknown(
    raw: dict[Any, Any], allowed: set[str], ctx: _Ctx, what: str, kind: str = "key(s)"
) -> None:
    """Refuse keys the format does not know, and keys without a value."""
    unknown = sorted((k for k in raw if k not in allowed), key=str)
    if unknown:
        shown = ", ".join(_show(k) for k in unknown[:6])
        more = f" and {len(unknown) - 6} more" if len(unknown) > 6 else ""
        raise ctx.fail(
            what, f"unknown {kind} [{shown}]{more}", f"use {sorted(allowed)}"
        )
    # TOML has no null, but a JSON document does: a key is there with a value,
    # or not there at all ("connected": null must not read as "not given").
    empty = sorted(k for k, v in raw.items() if v is None)
    if empty:
        raise ctx.fail(
            what, f"'{empty[0]}' is null", "give it a value or leave the key out"
        )


def _polygon_paths(value: Any, ctx: _Ctx, what: str) -> tuple[Path, ...]:
    """Resolve ``polygons`` against the scenario's folder, which they may not leave."""
    items = _sequence(value, str)
    if not items:
        raise ctx.fail(
            what,
            f"'polygons' is {_show(value)}, not a file name or a list of them",
            'write polygons = "zone.geojson"',
        )
    base = ctx.path.parent if ctx.path else Path.cwd()
    try:
        folder = base.resolve()
    except (OSError, RuntimeError, ValueError):
        folder = base.absolute()
    out = []
    for x in items:
        name = _show(x)
        if not x.strip() or "\x00" in x:
            raise ctx.fail(
                what,
                f"'polygons' entry {name} is not a file name",
                'write polygons = "zone.geojson"',
            )
        given = Path(x)
        if given.is_absolute() and not ctx.allow_outside:
            raise ctx.fail(
                what,
                f"polygon file {name} is an absolute path; paths are relative to the scenario's folder",
                f"put the file next to the scenario and write polygons = {_show(given.name)}, {_OUTSIDE_FIX}",
            )
        try:  # symlinks are resolved, so a link that leads out is caught below
            p = (folder / given).resolve()
        except (OSError, RuntimeError, ValueError):
            raise ctx.fail(
                what,
                f"polygon file {name} cannot be resolved (a symlink loop?)",
                "give a plain file next to the scenario",
            ) from None
        if not ctx.allow_outside and not p.is_relative_to(folder):
            raise ctx.fail(
                what,
                f"polygon file {name} lies outside the scenario's folder {str(folder)!r}",
                f"copy it next to the scenario, {_OUTSIDE_FIX}",
            )
        if _is_dir(p):
            raise ctx.fail(
                what,
                f"polygon file {name} is a folder, not a file",
                "name the vector file inside it",
            )
        if not _is_file(p):
            raise ctx.fail(
                what,
                f"polygon file {name} not found in {str(p.parent)!r}",
                "put the file there or fix the name",
            )
        out.append(p)
    return tuple(out)


def _parse_rule(raw: Any, ctx: _Ctx, what: str, depth: int = 0) -> Rule:
    key = "select" if depth == 0 else "exclude"
    here = (
        what
        if depth == 0
        else f"{what} (exclude{'' if depth == 1 else f' level {depth}'})"
    )
    if not isinstance(raw, dict):
        raise ctx.fail(
            here,
            f"'{key}' is {_show(raw)}, not a table",
            f'write {key} = {{ regions = ["Donetsk"] }}',
        )
    _no_unknown(raw, _RULE_KEYS, ctx, here, "selection key(s)")
    if not set(raw) - {"exclude"}:
        raise ctx.fail(
            here,
            "the selection rule is empty",
            "say which land moves (regions, polygons, all = true, ...)",
        )
    kwargs: dict[str, Any] = {}
    for file_key, attr in (
        ("all", "everything"),
        ("regions", "regions"),
        ("connected", "connected"),
        ("within_km_of_front", "within_km_of_front"),
        ("within_km_of_border", "within_km_of_border"),
        ("border_with", "border_with"),
        ("geometry", "geometries"),
    ):
        if file_key in raw:
            kwargs[attr] = raw[file_key]
    if "polygons" in raw:
        kwargs["polygons"] = _polygon_paths(raw["polygons"], ctx, here)
    if "exclude" in raw:
        if depth >= MAX_EXCLUDE_DEPTH:  # checked before descending: no recursion limit
            raise ctx.fail(
                here,
                f"'exclude' is nested more than {MAX_EXCLUDE_DEPTH} deep",
                "merge the excluded land into one exclude (it can list several regions and polygons)",
            )
        kwargs["exclude"] = _parse_rule(raw["exclude"], ctx, what, depth + 1)
    return ctx.build(here, Rule, **kwargs)


def _entries(raw: dict[str, Any], key: str, ctx: _Ctx) -> list[Any]:
    value = raw.get(key, [])
    if isinstance(value, list):
        return value
    got = "a single table" if isinstance(value, dict) else _show(value)
    raise ctx.fail(
        key,
        f"'{key}' is {got}, not an array of tables",
        f"write each one as a [[{key}]] table (two brackets)",
    )


def _parse_transfer(t: Any, i: int, ctx: _Ctx, seen: set[str]) -> Transfer:
    named = isinstance(t, dict) and isinstance(t.get("name"), str) and t["name"].strip()
    what = f"transfer {_show(t['name'].strip())}" if named else f"transfer #{i}"
    if not isinstance(t, dict):
        raise ctx.fail(what, f"is {_show(t)}, not a table", "write it as [[transfers]]")
    _no_unknown(t, _TRANSFER_KEYS, ctx, what)
    if t.get("name") is None or (isinstance(t["name"], str) and not t["name"].strip()):
        raise ctx.fail(what, "has no name", 'add name = "..."')
    name = ctx.build(what, _name, t["name"], _FILE)
    if name in seen:
        raise ctx.fail(
            what, "the name is used twice", "give every transfer its own name"
        )
    seen.add(name)
    for key in ("from", "to", "select"):
        if key not in t:
            raise ctx.fail(what, f"'{key}' is missing", f"add {key} = ...")
    source = ctx.build(what, _party, t["from"], "source", _FILE)
    ctx.build(what, _party, t["to"], "target", _FILE)
    rule = _parse_rule(t["select"], ctx, what)
    return ctx.build(
        what,
        Transfer,
        name=name,
        source=source,
        target=t["to"],
        rule=rule,
        claim=t.get("claim", ""),
        note=t.get("note", ""),
        sovereignty=t.get("sovereignty"),
    )


def _parse_zone(z: Any, i: int, ctx: _Ctx) -> Zone:
    named = isinstance(z, dict) and isinstance(z.get("name"), str) and z["name"].strip()
    what = f"zone {_show(z['name'].strip())}" if named else f"zone #{i}"
    if not isinstance(z, dict):
        raise ctx.fail(what, f"is {_show(z)}, not a table", "write it as [[zones]]")
    _no_unknown(z, _ZONE_KEYS, ctx, what)
    name = z.get("name")
    if name is None or (isinstance(name, str) and not name.strip()):
        name = f"zone {i}"
    if "depth_km" not in z:
        raise ctx.fail(
            what,
            "'depth_km' is missing",
            "add depth_km = 10 (how far each side pulls back, km)",
        )
    return ctx.build(
        what,
        Zone,
        name=name,
        depth_km=z["depth_km"],
        withdraw=z.get("withdraw", ("UA", "RU")),
        along=z.get("along", "front"),
        claim=z.get("claim", ""),
        note=z.get("note", ""),
        sovereignty=z.get("sovereignty"),
    )


def _parse(raw: dict[Any, Any], ctx: _Ctx) -> Scenario:
    meta = raw.get("scenario")
    if meta is None:
        raise ctx.fail(
            "[scenario]",
            "the table is missing",
            'start the file with [scenario] title = "..." as_of = "YYYY-MM-DD"',
        )
    if not isinstance(meta, dict):
        raise ctx.fail(
            "[scenario]",
            f"'scenario' is {_show(meta)}, not a table",
            'write it as one [scenario] table with title = "..." and as_of = YYYY-MM-DD',
        )
    _no_unknown(meta, _META_KEYS, ctx, "[scenario]")
    title = ctx.build(
        "[scenario]", _text, meta.get("title"), "title", _FILE, required=True
    )
    as_of = ctx.build("[scenario]", _as_of, meta.get("as_of"), _FILE)
    default = ctx.build(
        "[scenario]", _flag, meta.get("default", False), "default", _FILE
    )
    texts = {
        k: ctx.build("[scenario]", _text, meta.get(k, ""), k, _FILE)
        for k in ("source", "citation", "description")
    }
    _no_unknown(raw, {"scenario", "transfers", "zones"}, ctx, "file", "table(s)")
    seen: set[str] = set()
    transfers = [
        _parse_transfer(t, i, ctx, seen)
        for i, t in enumerate(_entries(raw, "transfers", ctx), 1)
    ]
    zones = [
        _parse_zone(z, i, ctx) for i, z in enumerate(_entries(raw, "zones", ctx), 1)
    ]
    if not transfers and not zones:
        raise ctx.fail(
            "file", "no transfers and no zones", "add at least one [[transfers]] table"
        )
    return ctx.build(
        "file",
        Scenario,
        title=title,
        as_of=as_of,
        transfers=tuple(transfers),
        zones=tuple(zones),
        path=ctx.path,
        extra={"default": default},
        **texts,
    )


def parse_scenario(
    raw: dict[str, Any],
    *,
    path: Path | str | None = None,
    table: RegionTable | None = None,
    allow_paths_outside: bool = False,
) -> Scenario:
    """Build a `Scenario` from a parsed TOML/JSON document.

    Parameters
    ----------
    raw
        The document, as `tomllib.load` or `json.load` returns it.
    path
        The file it came from: ``polygons`` are relative to its folder (to the
        current folder without it) and messages name it.
    table
        The region table to resolve region names with (default: the shipped one).
    allow_paths_outside
        Let ``polygons`` name absolute paths or files outside the scenario's
        folder (``..``, symlinks).  Off by default: scenario files are passed
        between people, and a file should only read what travels with it.

    Raises
    ------
    ScenarioFormatError
        If the document is malformed; the message names the file, the
        transfer, the key and the fix.
    ScenarioError
        If an argument has the wrong type.
    """
    if path is not None and (
        not isinstance(path, str | os.PathLike) or not isinstance(os.fspath(path), str)
    ):
        msg = f"parse_scenario: path is {_show(path)}; pass the scenario file as a Path or str, or leave it out"
        raise ScenarioError(msg)
    if table is not None and not isinstance(table, RegionTable):
        msg = f"parse_scenario: table is {_show(table)}; pass a RegionTable (load_region_table()) or leave it out"
        raise ScenarioError(msg)
    if not isinstance(allow_paths_outside, bool):
        msg = f"parse_scenario: allow_paths_outside is {_show(allow_paths_outside)}; pass True or False"
        raise ScenarioError(msg)
    ctx = _Ctx(
        Path(path) if path is not None else None,
        table if table is not None else load_region_table(),
        allow_paths_outside,
    )
    if not isinstance(raw, dict):
        raise ctx.fail(
            "document",
            f"is {_show(raw)}, not a table of keys",
            "pass the dict that tomllib.load returns, or call read_scenario(path)",
        )
    token = _PARSING.set(ctx)
    try:
        return _parse(raw, ctx)
    except RecursionError:  # a safety net: every nesting in a scenario is bounded
        raise ctx.fail(
            "file",
            "is nested too deeply",
            "a scenario needs only a few levels of tables",
        ) from None
    finally:
        _PARSING.reset(token)


def _read_document(p: Path) -> dict[str, Any]:
    """Read a scenario file as TOML; every failure is one line naming the file."""
    label = _label(p)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            msg = f"{label}: is {size / 1e6:,.0f} MB, not a scenario; a scenario is a small text file: put large polygons in a file named in 'polygons'"
            raise ScenarioFormatError(msg)
        data = p.read_bytes()
    except OSError as err:
        msg = f"scenario {label} cannot be read ({err.strerror or type(err).__name__}); check that it is a readable file"
        raise DataNotFoundError(msg) from None
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (Notepad) is harmless
    except UnicodeDecodeError:
        msg = f"{label}: not UTF-8 text; save the scenario as UTF-8"
        raise ScenarioFormatError(msg) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        msg = f"{label}: not valid TOML ({str(err).splitlines()[0]}); fix the syntax at that line"
        raise ScenarioFormatError(msg) from None
    except RecursionError:
        msg = f"{label}: arrays or tables are nested too deeply to read; a scenario needs only a few levels"
        raise ScenarioFormatError(msg) from None
    except ValueError as err:  # e.g. an integer of thousands of digits
        reason = str(err).splitlines()[0][:80] if str(err) else "bad value"
        msg = f"{label}: not valid TOML ({reason}); fix that value"
        raise ScenarioFormatError(msg) from None


def read_scenario(
    path: Path | str,
    *,
    table: RegionTable | None = None,
    allow_paths_outside: bool = False,
) -> Scenario:
    """Read a scenario file (TOML) and check it.

    Parameters
    ----------
    path
        The ``.toml`` file, the name of a scenario in the library
        (``alaska-2025``; see `library`), or ``default`` for the library's default.
    table
        The region table to resolve region names with (default: the shipped one).
    allow_paths_outside
        Let ``polygons`` leave the scenario's folder (see `parse_scenario`).

    Raises
    ------
    DataNotFoundError
        If there is no such file or library scenario, or it cannot be read.
    ScenarioFormatError
        If the file is not valid TOML or breaks the scenario schema.
    ScenarioError
        If an argument has the wrong type.
    """
    if not isinstance(path, str | os.PathLike) or not isinstance(os.fspath(path), str):
        msg = (
            f"read_scenario: {_show(path)} is not a file or a library name; "
            "pass a path to a .toml file or a name, e.g. read_scenario('alaska-2025')"
        )
        raise ScenarioError(msg)
    name = os.fspath(path)
    p = default_scenario() if name == "default" else Path(name)
    if not _is_file(p):
        lib = library()
        if name in lib:
            p = lib[name]
        elif _is_dir(p):
            msg = f"scenario {_show(name)} is a folder; give the .toml file inside it"
            raise DataNotFoundError(msg)
        else:
            names = ", ".join(sorted(lib))
            msg = f"scenario {_show(name)} not found; give a .toml file or one of the library's: {names}"
            raise DataNotFoundError(msg)
    raw = _read_document(p)
    return parse_scenario(
        raw, path=p.resolve(), table=table, allow_paths_outside=allow_paths_outside
    )


def library() -> dict[str, Path]:
    """Return the scenarios shipped in ``geodata/scenarios``, by name (file stem)."""
    from territory.manifest import geodata_dir

    folder = geodata_dir() / "scenarios"
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def default_scenario() -> Path:
    """Return the library scenario marked ``default = true`` (the one `make demo` runs)."""
    for p in library().values():
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue  # a damaged library file is reported when it is read
        meta = raw.get("scenario")
        if isinstance(meta, dict) and meta.get("default") is True:
            return p
    msg = "no library scenario has default = true; mark one in geodata/scenarios"
    raise DataNotFoundError(msg)
