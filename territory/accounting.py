"""Evaluate a swap scenario: transfers and zones applied to the control map.

Pure accounting on geometry: every area is measured on the WGS84 ellipsoid,
nothing is rounded here, and two invariants are checked on every evaluation:
the parties' holdings after add up to the land before (1e-9 relative), and
each party's holdings after equal before − lost + gained.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import shapely
from shapely.geometry.base import BaseGeometry

from territory._line_tiles import Tiles, contact_length_km, tile_lengths_km
from territory.control import GREY, RU, UA, union_on_grid
from territory.crs import STORAGE_CRS, buffer_m
from territory.errors import InternalError, ScenarioError, TerritoryError
from territory.geodesy import (
    area_km2,
    difference_by_parts,
    length_km,
    linear,
    polygonal,
)
from territory.selection import SelectionContext, select

if TYPE_CHECKING:
    import datetime as dt
    import os

    import geopandas as gpd
    import pandas as pd

    from territory.control import Control
    from territory.record import Record
    from territory.scenario import Scenario, Zone

log = logging.getLogger(__name__)
T = TypeVar("T")

DMZ = "DMZ"
#: Parties of the accounting, in display order (GREY is contested land: no party).
PARTY_ORDER = (UA, RU, DMZ, GREY)

#: Relative tolerance of the conservation invariants.
INVARIANT_REL = 1e-9
#: Two transfers may share at most this much land (km²) before it is an error;
#: below it, the overlap is floating-point noise at shared edges.
OVERLAP_MAX_KM2 = 0.01


@dataclass
class Move:
    """One evaluated transfer or zone: land moved from one party to another."""

    name: str
    kind: str  # "transfer" or "zone"
    source: str
    target: str
    rule: str
    claim: str
    note: str
    sovereignty: str | None
    geometry: BaseGeometry
    area_km2: float = 0.0
    #: The move's land by region: ``region_id``, ``name``, ``area_km2`` each
    #: (measured when first read if `evaluate` was told so: a property, below).
    regions: list[dict[str, Any]] = field(default_factory=list)
    people: dict[str, Any] | None = None
    #: The transfer or zone the move belongs to (a zone moves land from each
    #: withdrawing side and from the grey zone: one move each).
    group: str = ""

    def __post_init__(self) -> None:
        if not self.group:
            self.group = self.name


def _move_regions_read(self: Move) -> list[dict[str, Any]]:
    rows = self.__dict__["_regions"]
    if callable(rows):  # what measures them (`evaluate(by_region=False)`)
        rows = self.__dict__["_regions"] = rows()
    return rows


def _move_regions_set(self: Move, rows: list[dict[str, Any]]) -> None:
    self.__dict__["_regions"] = rows


# a field of the dataclass (its __init__, replace, eq) read through a property
Move.regions = property(_move_regions_read, _move_regions_set)  # type: ignore[assignment]


#: Every flow an evaluation reports, (from, to), in display order.
FLOWS = ((UA, RU), (RU, UA), (UA, DMZ), (RU, DMZ), (GREY, DMZ))
#: The columns of the flows in tables (``ua_to_ru_km2`` ...), in `FLOWS` order.
FLOW_COLUMNS = tuple(f"{a.lower()}_to_{b.lower()}_km2" for a, b in FLOWS)

#: What each ratio means, in words every output prints beside it.
RATIO_DEFINITIONS = {
    "cession": (
        "km² Ukraine cedes to Russia for each km² Russia cedes to Ukraine "
        "(UA→RU ÷ RU→UA; none when Russia cedes nothing)"
    ),
    "zone": (
        "km² Ukraine gives to demilitarised zones for each km² Russia gives "
        "(UA→DMZ ÷ RU→DMZ; none when Russia gives none)"
    ),
}

#: What "contact line after" measures, in words every output prints beside it.
LINE_AFTER_DEFINITION = (
    "after: where Russian-held land still meets Ukrainian-held or grey-zone land; "
    "each demilitarised zone's edges (Ukrainian and Russian) are measured separately"
)


@dataclass
class ZoneEdges:
    """The edges of one demilitarised zone after the swap (lon/lat lines, km)."""

    name: str
    ua_edge: BaseGeometry
    ru_edge: BaseGeometry

    @property
    def ua_edge_km(self) -> float:
        """Length of the line where Ukrainian-held land meets the zone, km."""
        return length_km(self.ua_edge)

    @property
    def ru_edge_km(self) -> float:
        """Length of the line where Russian-held land meets the zone, km."""
        return length_km(self.ru_edge)


class LineAfter:
    """The contact line after the swap, defined (see `LINE_AFTER_DEFINITION`).

    Attributes
    ----------
    direct
        Where Russian-held land still meets Ukrainian-held or grey-zone land
        (given, or built on first use from a function).
    zones
        The Ukrainian and Russian edges of each demilitarised zone (from
        zones and from transfers to DMZ), by zone.
    """

    def __init__(
        self,
        direct: BaseGeometry | Callable[[], BaseGeometry],
        zones: list[ZoneEdges] | None = None,
    ) -> None:
        self._direct = direct
        self.zones = list(zones) if zones is not None else []

    @property
    def direct(self) -> BaseGeometry:
        """Where Russian-held land still meets Ukrainian-held or grey-zone land."""
        if not isinstance(self._direct, BaseGeometry):
            self._direct = self._direct()
        return self._direct

    @property
    def direct_km(self) -> float:
        """Length of the remaining direct contact, km."""
        return length_km(self.direct)

    def __repr__(self) -> str:
        return f"LineAfter(direct={self.direct!r}, zones={self.zones!r})"


class AfterGeoms(Mapping[str, BaseGeometry]):
    """Each party's land after the swap (lon/lat), a read-only mapping by party.

    A party's pieces are built and joined on first use: the direct contact
    after needs only Russia's line, and a scenario without zones needs no
    other.
    """

    def __init__(
        self, pieces: Mapping[str, list[BaseGeometry]], control: Control
    ) -> None:
        self._pieces: Mapping[str, list[BaseGeometry]] = (
            pieces
            if isinstance(pieces, _Applied)
            else {p: list(g) for p, g in pieces.items()}
        )
        self._control = control
        self._joined: dict[str, BaseGeometry] = {}

    def map_key(self, party: str) -> tuple | None:
        """Return the key under which `party`'s land after depends on the map alone.

        None if it does not (`_Applied.map_key`).
        """
        if isinstance(self._pieces, _Applied):
            return self._pieces.map_key(party)
        return None

    def _kept(self, what: str, party: str, build: Callable[[], T]) -> T:
        """`build()`, kept with the map when `party`'s land after depends on it alone."""
        key = self.map_key(party)
        if key is None:
            return build()
        return self._control.derived(("accounting", what, *key), build)

    def __getitem__(self, party: str) -> BaseGeometry:
        if party not in self._joined:
            self._joined[party] = self._kept(
                "joined", party, lambda: _join(list(self._pieces[party]), self._control)
            )
        return self._joined[party]

    def contact_line(self, party: str) -> BaseGeometry:
        """Return the line where `party`'s land after meets other land.

        That of a holding no move touched is kept with the map; any other is
        that of the party's land joined (kept here for `__getitem__`, and
        with the map when the land after depends on the map alone).
        """
        if party not in self._pieces:
            return shapely.LineString()
        return self._kept(
            "line after",
            party,
            lambda: _contact_line(
                list(self._pieces[party]), self._control, self[party]
            ),
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._pieces)

    def __len__(self) -> int:
        return len(self._pieces)

    def __repr__(self) -> str:
        return f"AfterGeoms({dict(self)!r})"


@dataclass
class Evaluation:
    """The result of evaluating a scenario on a control map.

    Attributes
    ----------
    scenario, control
        What was evaluated, and the map it was evaluated on.
    moves
        Transfers then zones, each with its geometry, area (km²) and
        breakdown by region.
    before_km2, after_km2
        Each party's holding (UA, RU, DMZ, GREY) before and after, km².
    land_km2
        Land of the country (the denominator of every share), km².
    after_geoms
        Each party's land after (lon/lat), a read-only mapping (`AfterGeoms`).
    front_before_km, front_after_km
        Length of the contact line, km: before, where Russian-held land meets
        other land; after, where it still meets Ukrainian-held or grey-zone
        land (zones' edges are in `line_after`; see `LINE_AFTER_DEFINITION`).
    line_after
        The contact line after, with each demilitarised zone's edges.
    warnings
        Recoverable oddities (e.g. polygons reaching land the giver does not hold).
    """

    scenario: Scenario
    control: Control
    moves: list[Move]
    before_km2: dict[str, float]
    after_km2: dict[str, float]
    land_km2: float
    after_geoms: Mapping[str, BaseGeometry]
    front_before_km: float
    front_after_km: float
    line_after: LineAfter
    warnings: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ balances
    def gained_km2(self, party: str) -> float:
        """Land `party` receives, km²."""
        return sum(m.area_km2 for m in self.moves if m.target == party)

    def lost_km2(self, party: str) -> float:
        """Land `party` gives up, km²."""
        return sum(m.area_km2 for m in self.moves if m.source == party)

    def net_km2(self, party: str) -> float:
        """Gained − lost, km²."""
        return self.gained_km2(party) - self.lost_km2(party)

    def flow_km2(self, source: str, target: str) -> float:
        """Land moved from `source` to `target` (transfers and zones), km²."""
        return sum(
            m.area_km2 for m in self.moves if m.source == source and m.target == target
        )

    def flows(self) -> list[dict[str, Any]]:
        """Every flow of `FLOWS` as ``{"from", "to", "area_km2"}`` (zeros included)."""
        return [{"from": a, "to": b, "area_km2": self.flow_km2(a, b)} for a, b in FLOWS]

    @property
    def ratios(self) -> dict[str, float | None]:
        """The cession and zone ratios (see `RATIO_DEFINITIONS`); None: no denominator."""
        return {
            "cession": _ratio(self.flow_km2(UA, RU), self.flow_km2(RU, UA)),
            "zone": _ratio(self.flow_km2(UA, DMZ), self.flow_km2(RU, DMZ)),
        }

    @property
    def ratio(self) -> float | None:
        """The cession ratio: km² Ukraine cedes to Russia per km² Russia cedes to it.

        Land given to demilitarised zones is not in it (see `ratios`).
        """
        return self.ratios["cession"]

    def parties_frame(self) -> pd.DataFrame:
        """Return the balance of each party, km² and % of the land.

        Returns
        -------
        DataFrame
            Indexed by ``party`` (``UA``, ``RU``, then ``DMZ`` and ``GREY``
            where they hold or receive land; ``.loc["UA"]``): ``before_km2``,
            ``after_km2``, ``gained_km2``, ``lost_km2``, ``net_km2``,
            ``share_before_pct`` and ``share_after_pct`` (of the country's
            land, `land_km2`).
        """
        import pandas as pd

        rows = []
        for p in PARTY_ORDER:
            if (
                p == DMZ
                and not any(m.target == DMZ for m in self.moves)
                and self.before_km2.get(DMZ, 0) == 0
            ):
                continue
            if p == GREY and self.before_km2.get(GREY, 0) == 0:
                continue
            rows.append(
                {
                    "party": p,
                    "before_km2": self.before_km2.get(p, 0.0),
                    "after_km2": self.after_km2.get(p, 0.0),
                    "gained_km2": self.gained_km2(p),
                    "lost_km2": self.lost_km2(p),
                    "net_km2": self.net_km2(p),
                    "share_before_pct": 100
                    * self.before_km2.get(p, 0.0)
                    / self.land_km2,
                    "share_after_pct": 100 * self.after_km2.get(p, 0.0) / self.land_km2,
                }
            )
        columns = [
            "before_km2",
            "after_km2",
            "gained_km2",
            "lost_km2",
            "net_km2",
            "share_before_pct",
            "share_after_pct",
        ]
        return pd.DataFrame(rows, columns=["party", *columns]).set_index("party")

    def transfers_frame(self) -> pd.DataFrame:
        """Return one row per move: each transfer, and each side of each zone.

        Returns
        -------
        DataFrame
            Indexed by ``name`` (unique: the transfer's name, or the zone's
            with its side, e.g. ``"Donbas DMZ (UA)"``; ``.loc[name]``), with
            ``kind`` (``transfer`` or ``zone``), ``from``, ``to``,
            ``area_km2``, ``regions`` (their names), ``rule``,
            and ``population`` (in named places; None where not counted).
        """
        import pandas as pd

        columns = [
            "kind",
            "from",
            "to",
            "area_km2",
            "regions",
            "rule",
            "population",
        ]
        return pd.DataFrame(
            [
                {
                    "name": m.name,
                    "kind": m.kind,
                    "from": m.source,
                    "to": m.target,
                    "area_km2": m.area_km2,
                    "regions": ", ".join(r["name"] for r in m.regions),
                    "rule": m.rule,
                    "population": (m.people or {}).get("population"),
                }
                for m in self.moves
            ],
            columns=["name", *columns],
        ).set_index("name")

    def regions_frame(self) -> pd.DataFrame:
        """Return the land each move takes in each region, km².

        Returns
        -------
        DataFrame
            Indexed by (``name``, ``region_id``): the move (as in
            `transfers_frame`) and the region (``.xs("UA-14",
            level="region_id")`` is every move in Donetsk), in the moves'
            order; columns ``kind``, ``from``, ``to``, ``region`` (its
            name), ``area_km2`` and ``group`` (the transfer or zone the move
            belongs to).
        """
        import pandas as pd

        columns = ["name", "kind", "from", "to", "region_id", "region", "area_km2"]
        return pd.DataFrame(
            [
                {
                    "name": m.name,
                    "kind": m.kind,
                    "from": m.source,
                    "to": m.target,
                    "region_id": r["region_id"],
                    "region": r["name"],
                    "area_km2": r["area_km2"],
                    "group": m.group,
                }
                for m in self.moves
                for r in m.regions
            ],
            columns=[*columns, "group"],
        ).set_index(["name", "region_id"])

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """Return the moved land as a GeoDataFrame (EPSG:4326).

        One row per transfer or zone.
        """
        import geopandas as gpd

        return gpd.GeoDataFrame(
            {
                "name": [m.name for m in self.moves],
                "kind": [m.kind for m in self.moves],
                "from": [m.source for m in self.moves],
                "to": [m.target for m in self.moves],
                "area_km2": [m.area_km2 for m in self.moves],
                "regions": [
                    ", ".join(r["region_id"] for r in m.regions) for m in self.moves
                ],
                "rule": [m.rule for m in self.moves],
                "claim": [m.claim for m in self.moves],
                "sovereignty": [m.sovereignty or "" for m in self.moves],
                "population": [(m.people or {}).get("population") for m in self.moves],
                "scenario": [self.scenario.title] * len(self.moves),
                "as_of": [self.control.as_of.isoformat()] * len(self.moves),
            },
            geometry=[m.geometry for m in self.moves],
            crs=STORAGE_CRS,
        )

    def after_control(self) -> Control:
        """Return the control map after the swap (demilitarised land: holder ``DMZ``).

        Evaluate another scenario on it to chain swaps, e.g. to check that a
        transfer followed by its reverse restores the status quo.
        """
        import geopandas as gpd

        from territory.control import Partition

        rows = []
        for party, geom in self.after_geoms.items():
            for r in _by_region(geom, self.control, geometries=True):
                rows.append((r["region_id"], party, r["geometry"]))
        pieces = gpd.GeoDataFrame(
            {"region_id": [r[0] for r in rows], "holder": [r[1] for r in rows]},
            geometry=[r[2] for r in rows],
            crs=STORAGE_CRS,
        )
        country = dict(self.after_geoms, land=self.control._partition.country["land"])
        partition = Partition(
            pieces=pieces, removed=self.control._partition.removed, country=country
        )
        return self.control.with_partition(
            partition, note=f"after {self.scenario.title}"
        )

    def __repr__(self) -> str:
        ratio = f"{self.ratio:.2f}" if self.ratio is not None else "–"
        return (
            f"<Evaluation {self.scenario.title!r} as of {self.control.as_of}: "
            f"UA net {self.net_km2(UA):+,.0f} km², RU net {self.net_km2(RU):+,.0f} km², ratio {ratio}>"
        )


#: Parts of a move smaller than this (km²) in a region are float noise along
#: the region's boundary, not land in it; they are left out of the breakdown.
REGION_NOISE_KM2 = 1e-3


def _region_index(
    control: Control,
) -> tuple[shapely.STRtree, tuple[str, ...], tuple[str, ...]]:
    """Return the regions' STRtree, ids and names, kept per map.

    In the region layer's order.
    """

    def build() -> tuple[shapely.STRtree, tuple[str, ...], tuple[str, ...]]:
        regs = control.regions
        return (
            shapely.STRtree(regs.geometry.values),
            tuple(str(r) for r in regs.index),
            tuple(regs["name"]),
        )

    return control.derived(("accounting", "region index"), build)


def _by_region(
    geom: BaseGeometry, control: Control, *, geometries: bool = False
) -> list[dict[str, Any]]:
    tree, ids, names = _region_index(control)
    out = []
    for idx in sorted(tree.query(geom, predicate="intersects")):
        part = polygonal(shapely.intersection(tree.geometries[idx], geom))
        a = area_km2(part)
        if a > REGION_NOISE_KM2:
            row = {"region_id": ids[idx], "name": names[idx], "area_km2": a}
            if geometries:
                row["geometry"] = part
            out.append(row)
    return out


def _check_overlaps(moves: list[Move], where: str) -> None:
    for i, a in enumerate(moves):
        for b in moves[i + 1 :]:
            if not shapely.intersects(a.geometry, b.geometry):
                continue
            shared = area_km2(shapely.intersection(a.geometry, b.geometry))
            if shared > OVERLAP_MAX_KM2:
                msg = (
                    f"{where}: transfers {a.name!r} and {b.name!r} both select the same "
                    f"{shared:,.1f} km²; add an exclude to one of them"
                )
                raise ScenarioError(msg)


def evaluate(
    scenario: Scenario | str | os.PathLike[str],
    control: Control | str | dt.date | None = None,
    *,
    people: bool = True,
    record: Record | None = None,
    by_region: bool = True,
) -> Evaluation:
    """Apply a scenario's transfers and zones to a control map and account for them.

    Parameters
    ----------
    scenario
        The scenario: a `Scenario` (built in code or by
        `territory.scenario.read_scenario`), a library name such as
        ``"alaska-2025"``, or the path of a scenario file.
    control
        The control map to apply it to, or its date (``"2026-08-21"``, a
        `datetime.date`, or ``"latest"``, the last map of the record); by
        default the map as of the scenario's own date.
    people
        Count settlements and their population inside each move.
    record
        The record a date is read from (default: ``Record()``, the default
        cache); ignored when `control` is a `Control`.
    by_region
        Measure each move's land by region now (`Move.regions`); False
        measures it when first read (a sweep reads none of it).

    Returns
    -------
    Evaluation

    Raises
    ------
    ScenarioError
        If a transfer selects no land its giver holds, two transfers select the
        same land, or an invariant fails; or if an argument has the wrong
        type (the message says what to pass).
    DataError
        If the scenario file or the date's map cannot be read.

    Examples
    --------
    ``territory.evaluate("alaska-2025")`` evaluates the Alaska offer on the
    map of its own date; ``territory.evaluate("alaska-2025", "latest")`` on
    the record's last map.
    """
    scenario = as_scenario(scenario)
    for name, flag in (("people", people), ("by_region", by_region)):
        if not isinstance(flag, bool):
            msg = f"evaluate: {name!r} is a {type(flag).__name__}; pass {name}=True or {name}=False"
            raise ScenarioError(msg)
    control = as_control(control, scenario.as_of, record)
    where = scenario.label
    ctx = SelectionContext(control)
    country = control._partition.country
    holders: dict[str, list[BaseGeometry]] = {
        p: [country[p]] if p in country and not country[p].is_empty else []
        for p in (UA, RU, GREY, DMZ)
    }
    # the area of the whole holding, computed once per map (0 when none)
    before = {p: control.holding_km2(p) if g else 0 for p, g in holders.items()}
    land_km2 = sum(before.values())
    warnings: list[str] = []
    moves: list[Move] = []
    for t in scenario.transfers:
        try:
            geom, warns = select(t.rule, t.source, ctx)
        except TerritoryError as err:  # name the transfer; keep the kind of error
            msg = f"{where}: transfer {t.name!r}: {err}"
            raise type(err)(msg) from None
        warnings.extend(f"{where}: transfer {t.name!r}: {w}" for w in warns)
        a = _move_km2(geom, ctx)
        if a <= OVERLAP_MAX_KM2:
            msg = (
                f"{where}: transfer {t.name!r} selects no land {t.source} holds as of {control.as_of} "
                f"({t.describe()}); check the rule, the regions or the date"
            )
            raise ScenarioError(msg)
        moves.append(
            Move(
                name=t.name,
                kind="transfer",
                source=t.source,
                target=t.target,
                rule=t.describe(),
                claim=t.claim,
                note=t.note,
                sovereignty=t.sovereignty,
                geometry=geom,
                area_km2=a,
            )
        )
    _check_overlaps(moves, where)
    # the areas after are added up from the partition's pieces (`_Books`);
    # the land after, joined, only where it is needed (`_Applied`)
    books = _Books(control, holders)
    books.apply(moves, ctx)
    after = _apply(holders, moves, ctx)
    for z in scenario.zones:
        zone_moves = zone_moves_for(z, after, ctx, where=where)
        after = _apply(after, zone_moves)
        books.apply(zone_moves, ctx)
        moves.extend(zone_moves)
    for m in moves:
        if by_region:
            m.regions = _move_regions(m.geometry, control, ctx)
        else:  # measured when first read (`_move_regions_read`)
            m.__dict__["_regions"] = functools.partial(
                _move_regions, m.geometry, control, ctx
            )
    after_km2 = books.km2()
    after_geoms = AfterGeoms(after, control)
    line_after = _line_after(moves, after_geoms)
    front_before_km, before_tiles = _front_before_km(control)
    front_after_km = _front_after_km(moves, after_geoms, line_after, before_tiles)
    ev = Evaluation(
        scenario=scenario,
        control=control,
        moves=moves,
        before_km2=before,
        after_km2=after_km2,
        land_km2=land_km2,
        after_geoms=after_geoms,
        front_before_km=front_before_km,
        front_after_km=front_after_km,
        warnings=warnings,
        line_after=line_after,
    )
    check_invariants(ev)
    if people:
        for m in moves:
            m.people = _move_people(m.geometry, ctx)
    control.keep_derived()  # the map's figures measured here, for another process
    for w in warnings:
        log.warning(w)
    return ev


def _front_before_km(control: Control) -> tuple[float, Tiles | None]:
    """Return the length of Russia's line on the map (km), and its tiles.

    Kept with the map; the tiles (`territory._line_tiles.tile_lengths_km`)
    only when measured here, else None.
    """
    measured: list[Tiles] = []

    def measure() -> float:
        tiles = _map_line_tiles(control)
        measured.append(tiles)
        return math.fsum(tiles.values())

    km = control.derived(("accounting", "front km"), measure)
    return km, measured[0] if measured else None


def _map_line_tiles(control: Control) -> Tiles:
    """Return the length (km) of Russia's line on the map in each tile."""
    return tile_lengths_km([control.holding(RU)], control._partition.country["land"])


def _front_after_km(
    moves: list[Move],
    after: AfterGeoms,
    line_after: LineAfter,
    before_tiles: Tiles | None = None,
) -> float:
    """Return the length of the direct contact after (km).

    Kept with the map when Russia's land after depends on it alone and no
    land goes to a zone (then the direct contact is Russia's whole line
    after, measured tile by tile from its pieces, `territory._line_tiles`,
    with no join of the whole).  A tile no move to or from Russia reaches
    keeps the length of Russia's line on the map there (`before_tiles`, or
    measured here): Russia's land and the others' are the same there, and
    it is not measured again on the joined pieces (whose join moves the
    outline by up to half its grid: 2e-10 of the line's length, relative).
    """
    key = after.map_key(RU)
    if key is None or any(m.target == DMZ for m in moves) or _has_dmz(after):
        return line_after.direct_km
    control = after._control

    def measure() -> float:
        pieces = list(after._pieces[RU])
        land = control._partition.country["land"]
        if _whole_holding(pieces, control) is not None:
            return contact_length_km(pieces, land)
        # (measured again when the map's length was kept, not its tiles:
        # the length after is the same whatever was kept before)
        before = before_tiles if before_tiles is not None else _map_line_tiles(control)
        moved = [m.geometry for m in moves if RU in (m.source, m.target)]
        for g in moved:
            shapely.prepare(g)
        tiles = tile_lengths_km(pieces, land, join=join_pieces, same_as=(before, moved))
        return math.fsum(tiles.values())

    return control.derived(("accounting", "front after km", *key), measure)


def _has_dmz(after: AfterGeoms) -> bool:
    """Whether any land is demilitarised after the swap."""
    return any(not g.is_empty for g in after._pieces.get(DMZ, []))


def _ratio(given: float, received: float) -> float | None:
    return given / received if received > 0 else None


def zone_moves_for(
    zone: Zone,
    after: Mapping[str, list[BaseGeometry]],
    ctx: SelectionContext,
    *,
    where: str,
    allow_empty: bool = False,
) -> list[Move]:
    """Return the land a zone takes from each withdrawing side and the grey zone.

    Each withdrawing party gives the land it holds (in `after`) within its
    depth of its own edge of the line (where its land meets land it does not
    hold: the other side's, the grey zone's, or a zone's), inside the zone's
    rule; grey-zone land within a withdrawing party's depth of its edge, inside
    the rule, joins the zone as its own move (GREY → DMZ).

    Raises
    ------
    ScenarioError
        If the sides no longer meet, or the zone takes no land (unless
        `allow_empty`: the balance solver tries depths that may take none).
    """
    what = f"{where}: zone {zone.name!r}"
    mask = ctx.land
    if zone.rule is not None:
        mask, _ = select(zone.rule, UA, ctx, holding=ctx.land)
    grey = _join(after.get(GREY, []), ctx.control)
    if not grey.is_empty:
        grey = polygonal(shapely.intersection(grey, mask))
    depths = zone.depths_km
    sides: list[tuple[str, BaseGeometry]] = []
    bands = []
    for party in zone.withdraw:
        pieces = after.get(party, [])
        held = _join(pieces, ctx.control)
        line = _contact_line(pieces, ctx.control, held)
        if line.is_empty:
            msg = f"{what}: after the transfers {party}-held land no longer meets the other side or the grey zone; drop the zone"
            raise ScenarioError(msg)
        land = polygonal(shapely.intersection(held, mask))
        reach = (
            land if grey.is_empty else shapely.box(*shapely.total_bounds([land, grey]))
        )
        band = ctx.near_line(line, depths[party], what=what, near=reach)
        bands.append(band)
        sides.append((party, polygonal(shapely.intersection(land, band))))
    if not grey.is_empty:
        joined = polygonal(shapely.intersection(grey, _union(bands)))
        if area_km2(joined) > OVERLAP_MAX_KM2:  # below it: noise along the edges
            sides.append((GREY, joined))
    from territory.scenario import ZONE_SIDES

    moves = [
        Move(
            name=f"{zone.name} ({ZONE_SIDES[party]})" if len(sides) > 1 else zone.name,
            kind="zone",
            source=party,
            target=DMZ,
            rule=zone.describe(),
            claim=zone.claim,
            note=zone.note,
            sovereignty=zone.sovereignty,
            geometry=geom,
            area_km2=area_km2(geom),
            group=zone.name,
        )
        for party, geom in sides
    ]
    if not allow_empty and all(m.area_km2 <= OVERLAP_MAX_KM2 for m in moves):
        msg = (
            f"{what} takes no land ({zone.describe()}); check its regions: the "
            "sides must meet there"
        )
        raise ScenarioError(msg)
    return moves


def _line_after(moves: list[Move], after: AfterGeoms) -> LineAfter:
    """Return the contact line after the swap and each demilitarised zone's edges."""
    groups: dict[str, list[BaseGeometry]] = {}
    for m in moves:
        if m.target == DMZ:
            groups.setdefault(m.group, []).append(m.geometry)
    if not groups and not _has_dmz(after):
        # Russia's whole line after, built when asked for (its length is
        # measured without it, `_front_after_km`)
        return LineAfter(direct=lambda: after.contact_line(RU))
    dmz = after.get(DMZ, shapely.Polygon())
    ru_line = after.contact_line(RU)
    # the direct contact: Russia's edge, less the parts along demilitarised land
    direct = ru_line
    if not dmz.is_empty and not ru_line.is_empty:
        direct = shapely.difference(ru_line, buffer_m(dmz, 1.0))
    edges = []
    if groups:
        ua_line = after.contact_line(UA)
        for name, geoms in groups.items():
            near = buffer_m(_union(geoms), 1.0)
            edges.append(
                ZoneEdges(
                    name=name,
                    ua_edge=linear(shapely.intersection(ua_line, near)),
                    ru_edge=linear(shapely.intersection(ru_line, near)),
                )
            )
    return LineAfter(direct=direct, zones=edges)


def _apply(
    holders: Mapping[str, list[BaseGeometry]],
    moves: list[Move],
    ctx: SelectionContext | None = None,
) -> _Applied:
    """Return the holdings after `moves` (each giver loses, each receiver gains).

    Holdings are lists of disjoint pieces, never unioned: a union of adjacent
    pieces can close or open float-sized gaps along their shared edges, and the
    books must balance to 1e-9.  Each party's pieces are built on first use;
    with `ctx`, kept with the map where they depend on it alone
    (`_Applied.map_key`).
    """
    return _Applied(holders, moves, ctx)


def _step(
    pieces: list[BaseGeometry], outs: list[BaseGeometry], ins: list[BaseGeometry]
) -> list[BaseGeometry]:
    """One party's pieces after losing `outs` and gaining `ins` (see `_apply`)."""
    if outs and pieces:
        out = shapely.union_all(outs)
        # (a party's land less a few pockets: only its parts they meet are cut)
        pieces = [difference_by_parts(g, out) for g in pieces]
    return [g for g in pieces if not g.is_empty] + list(ins)


class _Applied(Mapping[str, list[BaseGeometry]]):
    """Each party's pieces after `moves` (`_apply`), a party's built on first use.

    The parties are those of `holders`, then any receiver not among them, in
    the order of the moves.
    """

    def __init__(
        self,
        holders: Mapping[str, list[BaseGeometry]],
        moves: list[Move],
        ctx: SelectionContext | None = None,
    ) -> None:
        self._holders = holders
        self._moves = list(moves)
        self._parties = list(dict.fromkeys([*holders, *(m.target for m in moves)]))
        self._built: dict[str, list[BaseGeometry]] = {}
        self._ctx = ctx

    def map_key(self, party: str) -> tuple | None:
        """Return a key under which `party`'s pieces after depend on the map alone.

        None if they do not.  They do when the holdings before are the map's
        whole holdings (not the land after earlier moves) and every move
        `party` gives or receives is a selection kept with the map
        (`SelectionContext.kept_key`): the key names those moves, in order.
        """
        if self._ctx is None or isinstance(self._holders, _Applied):
            return None
        moves = []
        for m in self._moves:
            if party in (m.source, m.target):
                key = self._ctx.kept_key(m.geometry)
                if key is None:
                    return None
                moves.append((m.source, m.target, key))
        return (party, tuple(moves))

    def _changes(self, party: str) -> tuple[list[BaseGeometry], list[BaseGeometry]]:
        outs = [m.geometry for m in self._moves if m.source == party]
        ins = [m.geometry for m in self._moves if m.target == party]
        return outs, ins

    def __getitem__(self, party: str) -> list[BaseGeometry]:
        if party not in self._parties:
            raise KeyError(party)
        if party not in self._built:

            def build() -> tuple[BaseGeometry, ...]:
                pieces = list(self._holders.get(party, []))
                outs, ins = self._changes(party)
                if party not in self._holders:
                    outs = []
                return tuple(_step(pieces, outs, ins))

            key = self.map_key(party)
            if key is None or self._ctx is None:
                self._built[party] = list(build())
            else:
                kept = self._ctx.control.derived(("accounting", "after", *key), build)
                self._built[party] = list(kept)
        return self._built[party]

    def __contains__(self, party: object) -> bool:
        return party in self._parties

    def __iter__(self) -> Iterator[str]:
        return iter(self._parties)

    def __len__(self) -> int:
        return len(self._parties)


class _Books:
    """Each party's land as pieces with their areas (km²), for the areas after.

    The pieces start as the partition's, one per region and holder, whose
    areas are measured once per map; a move takes land from the pieces it
    meets (a selection of whole regions takes its regions' pieces whole:
    `SelectionContext.whole_regions`) and is added whole, with its own area.
    Only pieces a move cut are measured again, so the areas after are not
    computed from the moves' areas: `check_invariants` compares them.
    """

    def __init__(self, control: Control, holders: Mapping[str, list]) -> None:
        #: per party: [geometry, area (km²) or None (to measure), region id or None]
        self._pieces: dict[str, list[list[Any]]] = {
            p: [[g, a, r] for r, g, a in _partition_pieces(control, p)] for p in holders
        }

    def apply(self, moves: list[Move], ctx: SelectionContext) -> None:
        """Take each move's land from its giver and give it to its receiver."""
        for m in moves:
            pieces = self._pieces.get(m.source)
            if not pieces:
                continue
            whole = ctx.whole_regions(m.geometry)
            if whole is not None and whole[0] == m.source:
                # all the giver's land in those regions: their pieces are in
                # the move, its pieces elsewhere outside it
                regions = set(whole[1])
                pieces[:] = [q for q in pieces if q[2] not in regions]
                cut = [q for q in pieces if q[2] is None]  # land it received
            else:
                cut = pieces
            tree = shapely.STRtree([q[0] for q in cut])
            for i in tree.query(m.geometry, predicate="intersects"):
                q = cut[i]
                q[0] = difference_by_parts(q[0], m.geometry)
                q[1] = None
            pieces[:] = [q for q in pieces if not q[0].is_empty]
        for m in moves:
            self._pieces.setdefault(m.target, []).append([m.geometry, m.area_km2, None])

    def km2(self) -> dict[str, float]:
        """Return each party's land (km²), measuring the pieces a move cut."""
        return {
            p: sum(a if a is not None else area_km2(g) for g, a, _ in pieces)
            for p, pieces in self._pieces.items()
        }


def _partition_pieces(
    control: Control, holder: str
) -> tuple[tuple[str | None, BaseGeometry, float], ...]:
    """`holder`'s land as (region id, geometry, area km²), kept per map.

    The partition's pieces, one per region, when they are its whole land
    (`Control._whole_pieces`, which keeps them with the map); else the
    whole land, as one piece of no region.
    """
    pieces = control._whole_pieces(holder)
    if pieces is not None:
        return pieces
    whole = control._partition.country[holder]
    return ((None, whole, control.holding_km2(holder)),)


def _move_km2(geom: BaseGeometry, ctx: SelectionContext) -> float:
    """Area (km²) of a selection; kept with the map for a selection kept there."""
    key = ctx.kept_key(geom)
    if key is None:
        return area_km2(geom)
    return ctx.control.derived(("accounting", "km2", *key), lambda: area_km2(geom))


def _move_people(geom: BaseGeometry, ctx: SelectionContext) -> dict[str, Any]:
    """`count_people` in a move; kept with the map for a selection kept there."""
    from territory.people import count_key, count_people

    key = ctx.kept_key(geom)
    if key is None:
        return count_people(geom)
    text = ctx.control.derived(
        ("accounting", "people", count_key(), *key),
        lambda: json.dumps(count_people(geom)),
    )
    return json.loads(text)


def _move_regions(
    geom: BaseGeometry, control: Control, ctx: SelectionContext
) -> list[dict[str, Any]]:
    """`_by_region` of a move; kept with the map for a selection kept there."""
    key = ctx.kept_key(geom)
    if key is None:
        return _by_region(geom, control)

    def measure() -> tuple[tuple[str, str, float], ...]:
        whole = _whole_regions_rows(geom, control, ctx)
        if whole is not None:
            return whole
        return tuple(
            (r["region_id"], r["name"], r["area_km2"])
            for r in _by_region(geom, control)
        )

    rows = control.derived(("accounting", "by region", *key), measure)
    return [{"region_id": i, "name": n, "area_km2": a} for i, n, a in rows]


def _whole_regions_rows(
    geom: BaseGeometry, control: Control, ctx: SelectionContext
) -> tuple[tuple[str, str, float], ...] | None:
    """`_by_region` of all a giver's land in some regions, from the partition.

    Such a selection (`SelectionContext.whole_regions`) is the union of the
    giver's pieces in those regions, one per region: its part in each
    region is that piece, whose area the partition keeps.  None when the
    selection is not one, or the pieces do not stand for the giver's land
    (`_partition_pieces`): measure it then.  Equal to `_by_region` to 1e-9
    relative (tested on the record).
    """
    whole = ctx.whole_regions(geom)
    if whole is None:
        return None
    giver, region_ids = whole
    pieces = _partition_pieces(control, giver)
    if any(r is None for r, _, _ in pieces):
        return None
    km2: dict[str, float] = {}
    for r, _, a in pieces:
        if r is not None:  # (checked above: every piece has its region)
            km2[r] = km2.get(r, 0.0) + a
    _, ids, names = _region_index(control)
    wanted = set(region_ids)
    return tuple(
        (rid, name, km2[rid])
        for rid, name in zip(ids, names, strict=True)
        if rid in wanted and km2.get(rid, 0.0) > REGION_NOISE_KM2
    )


def _union(pieces: list[BaseGeometry]) -> BaseGeometry:
    return shapely.union_all(pieces) if pieces else shapely.Polygon()


def _whole_holding(pieces: list[BaseGeometry], control: Control) -> str | None:
    """Return the holder whose whole land `pieces` is, untouched by any move.

    None if there is none.
    """
    if len(pieces) != 1:
        return None
    return next(
        (h for h, g in control._partition.country.items() if g is pieces[0]), None
    )


def _join(pieces: list[BaseGeometry], control: Control) -> BaseGeometry:
    """Return the union of a party's `pieces` (see `_apply`, `join_pieces`).

    A holding no move touched is the map's own, as it is.
    """
    holder = _whole_holding(pieces, control)
    if holder is None:
        return join_pieces(pieces)
    return pieces[0]


#: Grid (degrees; about 1 mm) on which a party's pieces after a swap are
#: joined (`join_pieces`).  The contact line measured on the join is the same
#: for grids from 1e-9° to 1e-7° (to 0.1 m in 1,000 km on the library's
#: cases) and whatever the order of the pieces; from 1e-6° it starts to move.
JOIN_GRID_DEG = 1e-8


def join_pieces(pieces: list[BaseGeometry]) -> BaseGeometry:
    """Return the union of a party's `pieces`, snap-rounded to `JOIN_GRID_DEG`.

    Pieces cut by different operations meet along edges whose vertices do
    not quite coincide.  A plain union (GEOS's cascaded `union_all`) can
    leave slits of no visible width (1e-12°) along such an edge, whose two
    sides would both count as contact line: on the Alaska scenario's own map
    it made Russia's line after 6.7 km (0.6%) long.  Snap rounding joins
    every two edges closer than the grid, so no slit survives, and the
    result does not depend on how the pieces are grouped (tested).  It moves
    the outline by at most half a grid cell: areas are never measured on it
    (they are summed from the pieces, `Evaluation.after_km2`).
    """
    return union_on_grid(pieces, JOIN_GRID_DEG)


def _contact_line(
    pieces: list[BaseGeometry], control: Control, joined: BaseGeometry
) -> BaseGeometry:
    """Return the line where `joined` meets other land of the map.

    `joined` is the join of `pieces` (`_join`).  That of a holding no move
    touched is the map's edge of it (`Control.edge`).
    """
    holder = _whole_holding(pieces, control)
    if holder is None:
        return control.contact_line(joined)
    return control.edge(holder)


def check_invariants(ev: Evaluation) -> None:
    """Raise `InternalError` unless the books balance (to `INVARIANT_REL`).

    A failure here is a bug in territory, never a problem with the scenario.
    """
    total_after = sum(ev.after_km2.values())
    problems = []
    if abs(total_after - ev.land_km2) > INVARIANT_REL * ev.land_km2:
        problems.append(
            f"holdings after add up to {total_after:,.6f} km², land before is {ev.land_km2:,.6f} km²"
        )
    for p in ev.before_km2:
        expected = ev.before_km2[p] - ev.lost_km2(p) + ev.gained_km2(p)
        if abs(ev.after_km2[p] - expected) > INVARIANT_REL * ev.land_km2:
            problems.append(
                f"{p} holds {ev.after_km2[p]:,.6f} km² after, expected {expected:,.6f}"
            )
    if problems:
        msg = (
            f"{ev.scenario.label}: accounting invariant failed: "
            + "; ".join(problems)
            + "; this is a bug in territory, please report it"
        )
        raise InternalError(msg)


def as_scenario(scenario: object, *, what: str = "evaluate") -> Scenario:
    """`scenario` as a `Scenario`: itself, a library name or a file's path.

    Raises `ScenarioError` (starting ``what:``) naming what to pass otherwise.
    """
    from territory.scenario import Scenario, read_scenario

    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, str | os.PathLike):
        return read_scenario(scenario)
    hint = "parse_scenario(document)" if isinstance(scenario, dict) else "'alaska-2025'"
    msg = (
        f"{what}: 'scenario' is a {type(scenario).__name__}; pass a Scenario, "
        f"a library name or a scenario file's path (e.g. {hint})"
    )
    raise ScenarioError(msg)


def as_control(
    control: object,
    default: dt.date | None,
    record: Record | None = None,
    *,
    what: str = "evaluate",
) -> Control:
    """`control` as a `Control`: itself, or the map as of a date or ``"latest"``.

    None is the map as of `default` (a scenario's own date), or the latest
    map when `default` is None too (`Record.control`).  Dates are read from
    `record` (default:
    ``Record()``).  Raises `ScenarioError` (starting ``what:``) for anything
    else, naming what to pass.
    """
    import datetime as dt

    from territory.control import Control
    from territory.record import Record

    if isinstance(control, Control):
        return control
    if control is not None and not isinstance(control, str | dt.date):
        day = (default or dt.date(2025, 8, 15)).isoformat()
        msg = (
            f"{what}: 'control' is a {type(control).__name__}, not a Control or a date; pass "
            f'Record().control({day!r}), a date, or "latest"'
        )
        raise ScenarioError(msg)
    rec = Record() if record is None else record
    return rec.control(default if control is None else control)


def compare(evaluations: list[Evaluation]) -> pd.DataFrame:
    """Return scenarios side by side: one row per evaluation, areas in km².

    Columns: the scenario, its file and as-of date; every flow
    (``ua_to_ru_km2`` ... ``grey_to_dmz_km2``); what each side gives and
    receives in all (``ua_gives_km2`` = to Russia and to zones); both ratios
    (``ratio`` is the cession ratio); Ukraine's share of land after; the
    contact line before and after (see `LINE_AFTER_DEFINITION`) and the
    length of the zones' edges; the people in the moved land.
    """
    import pandas as pd

    rows = []
    for ev in evaluations:
        row: dict[str, Any] = {
            "scenario": ev.scenario.title,
            "file": ev.scenario.label,
            "as_of": ev.control.as_of.isoformat(),
        }
        for column, (a, b) in zip(FLOW_COLUMNS, FLOWS, strict=True):
            row[column] = ev.flow_km2(a, b)
        for p in (UA, RU):
            row[f"{p.lower()}_gives_km2"] = ev.lost_km2(p)
            row[f"{p.lower()}_receives_km2"] = ev.gained_km2(p)
        ratios = ev.ratios
        row["ratio"] = ratios["cession"]
        row["cession_ratio"] = ratios["cession"]
        row["zone_ratio"] = ratios["zone"]
        row["ua_share_after_pct"] = 100 * ev.after_km2[UA] / ev.land_km2
        row["front_before_km"] = ev.front_before_km
        row["front_after_km"] = ev.front_after_km
        row["zone_ua_edge_km"] = sum(z.ua_edge_km for z in ev.line_after.zones)
        row["zone_ru_edge_km"] = sum(z.ru_edge_km for z in ev.line_after.zones)
        row["population_moved"] = (
            sum(m.people["population"] for m in ev.moves if m.people is not None)
            if all(m.people is not None for m in ev.moves)
            else None
        )
        rows.append(row)
    return pd.DataFrame(rows)
