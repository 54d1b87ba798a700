"""Evaluate a swap scenario: transfers and zones applied to the control map.

Pure accounting on geometry: every area is measured on the WGS84 ellipsoid,
nothing is rounded here, and two invariants are checked on every evaluation:
the parties' holdings after add up to the land before (1e-9 relative), and
each party's holdings after equal before − lost + gained.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry.base import BaseGeometry

from territory.control import GREY, RU, UA, contact_line
from territory.crs import STORAGE_CRS, buffer_m
from territory.errors import InternalError, ScenarioError, TerritoryError
from territory.geodesy import area_km2, length_km, polygonal
from territory.selection import SelectionContext, select

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from territory.control import Control
    from territory.scenario import Scenario

log = logging.getLogger(__name__)

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
    regions: list[dict[str, Any]] = field(default_factory=list)
    people: dict[str, Any] | None = None


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
        Land held per party (UA, RU, DMZ, GREY) before and after, km².
    land_km2
        Land of the country (the denominator of every share), km².
    front_before_km, front_after_km
        Length of the line where Russian-held land meets other land, km.
    warnings
        Recoverable oddities (e.g. polygons reaching land the giver does not hold).
    """

    scenario: Scenario
    control: Control
    moves: list[Move]
    before_km2: dict[str, float]
    after_km2: dict[str, float]
    land_km2: float
    after_geoms: dict[str, BaseGeometry]
    front_before_km: float
    front_after_km: float
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

    @property
    def ratio(self) -> float | None:
        """Km² Ukraine gives for each km² it receives (None if it receives nothing)."""
        gained = self.gained_km2(UA)
        return self.lost_km2(UA) / gained if gained > 0 else None

    def parties_frame(self) -> pd.DataFrame:
        """Per party: before, after, gained, lost, net (km²) and share of land (%)."""
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
        return pd.DataFrame(rows)

    def transfers_frame(self) -> pd.DataFrame:
        """One row per transfer or zone: name, kind, from, to, area_km2, regions, rule."""
        import pandas as pd

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
            ]
        )

    def regions_frame(self) -> pd.DataFrame:
        """One row per (move, region): area moved in each region, km².

        Columns: ``name`` (the transfer or zone), ``kind``, ``from``, ``to``,
        ``region_id``, ``region`` (its name) and ``area_km2``.
        """
        import pandas as pd

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
                }
                for m in self.moves
                for r in m.regions
            ],
            columns=["name", "kind", "from", "to", "region_id", "region", "area_km2"],
        )

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """The moved land as a GeoDataFrame (EPSG:4326), one row per transfer or zone."""
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
        """Return the control map after the swap (DMZ land held by ``DMZ``).

        Evaluate another scenario on it to chain swaps, e.g. to check that a
        transfer followed by its reverse restores the status quo.
        """
        import geopandas as gpd

        from territory.control import Control, Partition

        rows = []
        for party, geom in self.after_geoms.items():
            for r in _by_region(geom, self.control, geometries=True):
                rows.append((r["region_id"], party, r["geometry"]))
        pieces = gpd.GeoDataFrame(
            {"region_id": [r[0] for r in rows], "holder": [r[1] for r in rows]},
            geometry=[r[2] for r in rows],
            crs=STORAGE_CRS,
        )
        country = dict(self.after_geoms, land=self.control.partition.country["land"])
        partition = Partition(
            pieces=pieces, removed=self.control.partition.removed, country=country
        )
        return Control(
            as_of=self.control.as_of,
            snapshot=self.control.snapshot,
            note=f"after {self.scenario.title}",
            regions=self.control.regions,
            partition=partition,
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


def _by_region(
    geom: BaseGeometry, control: Control, *, geometries: bool = False
) -> list[dict[str, Any]]:
    regs = control.regions
    tree = shapely.STRtree(regs.geometry.values)
    out = []
    for idx in sorted(tree.query(geom, predicate="intersects")):
        part = polygonal(shapely.intersection(regs.geometry.iat[idx], geom))
        a = area_km2(part)
        if a > REGION_NOISE_KM2:
            row = {
                "region_id": regs["region_id"].iat[idx],
                "name": regs["name"].iat[idx],
                "area_km2": a,
            }
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
    scenario: Scenario, control: Control, *, people: bool = True
) -> Evaluation:
    """Apply a scenario's transfers and zones to a control map and account for them.

    Parameters
    ----------
    scenario
        The scenario (see `territory.scenario.read_scenario`).
    control
        The control map to apply it to (usually ``Record().control(scenario.as_of)``).
    people
        Count settlements and their population inside each move.

    Returns
    -------
    Evaluation

    Raises
    ------
    ScenarioError
        If a transfer selects no land its giver holds, two transfers select the
        same land, or an invariant fails; or if an argument has the wrong
        type (the message says what to pass).
    """
    from territory.control import Control
    from territory.scenario import Scenario

    # Wrong types fail here with the fix, not as AttributeError deep inside.
    if not isinstance(scenario, Scenario):
        hint = "read_scenario('alaska-2025')"
        if isinstance(scenario, str) or hasattr(scenario, "__fspath__"):
            hint = f"read_scenario({str(scenario)[:80]!r})"
        elif isinstance(scenario, dict):
            hint = "parse_scenario(document)"
        msg = f"evaluate: 'scenario' is a {type(scenario).__name__}, not a Scenario; pass {hint}"
        raise ScenarioError(msg)
    if not isinstance(control, Control):
        msg = (
            f"evaluate: 'control' is a {type(control).__name__}, not a Control; pass "
            f"Record().control({scenario.as_of.isoformat()!r}), the map as of the scenario's date"
        )
        raise ScenarioError(msg)
    if not isinstance(people, bool):
        msg = f"evaluate: 'people' is a {type(people).__name__}; pass people=True or people=False"
        raise ScenarioError(msg)
    where = scenario.label
    ctx = SelectionContext(control)
    country = control.partition.country
    holders: dict[str, list[BaseGeometry]] = {
        p: [country[p]] if p in country and not country[p].is_empty else []
        for p in (UA, RU, GREY, DMZ)
    }
    before = {p: _sum_km2(g) for p, g in holders.items()}
    land_km2 = sum(before.values())
    warnings: list[str] = []
    moves: list[Move] = []
    for t in scenario.transfers:
        try:
            geom, warns = select(t.rule, t.source, ctx)
        except TerritoryError as err:  # name the transfer; keep the kind of error
            raise type(err)(f"{where}: transfer {t.name!r}: {err}") from None
        warnings.extend(f"{where}: transfer {t.name!r}: {w}" for w in warns)
        a = area_km2(geom)
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
    after = _apply(holders, moves)
    for z in scenario.zones:
        ru_after, dmz_after = _union(after[RU]), _union(after[DMZ])
        line = contact_line(ru_after, ctx.land)
        if not dmz_after.is_empty:
            line = shapely.difference(line, buffer_m(dmz_after, 1.0))
        if line.is_empty:
            msg = f"{where}: zone {z.name!r}: after the transfers Russian- and Ukrainian-held land no longer meet; drop the zone"
            raise ScenarioError(msg)
        band = ctx.near_line(line, z.depth_km, what=f"{where}: zone {z.name!r}")
        zone_moves = []
        for party in z.withdraw:
            geom = polygonal(shapely.intersection(_union(after[party]), band))
            zone_moves.append(
                Move(
                    name=f"{z.name} ({party} side)" if len(z.withdraw) > 1 else z.name,
                    kind="zone",
                    source=party,
                    target=DMZ,
                    rule=z.describe(),
                    claim=z.claim,
                    note=z.note,
                    sovereignty=z.sovereignty,
                    geometry=geom,
                    area_km2=area_km2(geom),
                )
            )
        after = _apply(after, zone_moves)
        moves.extend(zone_moves)
    for m in moves:
        m.regions = _by_region(m.geometry, control)
    after_km2 = {p: _sum_km2(g) for p, g in after.items()}
    after_geoms = {p: _union(g) for p, g in after.items()}
    ev = Evaluation(
        scenario=scenario,
        control=control,
        moves=moves,
        before_km2=before,
        after_km2=after_km2,
        land_km2=land_km2,
        after_geoms=after_geoms,
        front_before_km=length_km(ctx.front),
        front_after_km=length_km(contact_line(after_geoms[RU], ctx.land)),
        warnings=warnings,
    )
    check_invariants(ev)
    if people:
        from territory.people import count_people

        for m in moves:
            m.people = count_people(m.geometry)
    for w in warnings:
        log.warning(w)
    return ev


def _apply(
    holders: dict[str, list[BaseGeometry]], moves: list[Move]
) -> dict[str, list[BaseGeometry]]:
    """Return the holdings after `moves` (each giver loses, each receiver gains).

    Holdings are lists of disjoint pieces, never unioned: a union of adjacent
    pieces can close or open float-sized gaps along their shared edges, and the
    books must balance to 1e-9.
    """
    out_by: dict[str, list[BaseGeometry]] = {}
    for m in moves:
        out_by.setdefault(m.source, []).append(m.geometry)
    after: dict[str, list[BaseGeometry]] = {}
    for p, pieces in holders.items():
        if p in out_by:
            out = shapely.union_all(out_by[p])
            pieces = [polygonal(shapely.difference(g, out)) for g in pieces]
        after[p] = [g for g in pieces if not g.is_empty]
    for m in moves:
        after.setdefault(m.target, []).append(m.geometry)
    return after


def _sum_km2(pieces: list[BaseGeometry]) -> float:
    return sum(area_km2(g) for g in pieces)


def _union(pieces: list[BaseGeometry]) -> BaseGeometry:
    return shapely.union_all(pieces) if pieces else shapely.Polygon()


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


def compare(evaluations: list[Evaluation]) -> pd.DataFrame:
    """Return scenarios side by side: one row per evaluation, areas in km²."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "scenario": ev.scenario.title,
                "file": ev.scenario.label,
                "as_of": ev.control.as_of.isoformat(),
                "ua_lost_km2": ev.lost_km2(UA),
                "ua_gained_km2": ev.gained_km2(UA),
                "ua_net_km2": ev.net_km2(UA),
                "ru_net_km2": ev.net_km2(RU),
                "dmz_km2": ev.after_km2.get(DMZ, 0.0),
                "ratio": ev.ratio,
                "ua_share_after_pct": 100 * ev.after_km2[UA] / ev.land_km2,
                "front_before_km": ev.front_before_km,
                "front_after_km": ev.front_after_km,
                "population_moved": (
                    sum(m.people["population"] for m in ev.moves)
                    if all(m.people is not None for m in ev.moves)
                    else None
                ),
            }
            for ev in evaluations
        ]
    )
