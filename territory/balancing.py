"""Solve for the reciprocal version of an offer: the withdrawal that balances it.

Given a scenario and what one side gives (one of its transfers or zones, the
whole exchange, or an area), `balance` finds the depth of a band along the
contact line, withdrawn by the other side within named regions, whose area
matches it: "how far would Russia have to withdraw in Zaporizhzhia and
Kherson to match the Donbas cession?".  The band is an ordinary rule —
``within_km_of_front`` in those regions (a transfer), or a one-sided zone
limited to them — so the scenario it yields can be re-evaluated by anyone.
`balance_mirror` solves a two-sided zone instead: how far one side must pull
back so that both sides give the zone the same land.

The area of the band grows continuously and monotonically with its depth,
so bisection converges; it stops when the area is within `REL_TOL` of the
target, and the depth is then rounded to the metre the scenario file states
(the reported area is the area at that rounded depth).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import shapely

from territory.accounting import (
    DMZ,
    OVERLAP_MAX_KM2,
    Evaluation,
    evaluate,
    zone_moves_for,
)
from territory.control import GREY, RU, UA, contact_line
from territory.errors import InternalError, ScenarioError
from territory.geodesy import area_km2, length_km
from territory.scenario import (
    MAX_ZONE_DEPTH_KM,
    Rule,
    Scenario,
    Transfer,
    Zone,
    _join,
)
from territory.selection import SelectionContext, select

if TYPE_CHECKING:
    import datetime as dt
    import os
    from collections.abc import Callable, Mapping

    from shapely.geometry.base import BaseGeometry

    from territory.control import Control
    from territory.record import Record

#: Bisection stops when the band's area is within this fraction of the target.
REL_TOL = 1e-3
#: The band's depth is written to the scenario to this many decimals of a km (1 m).
DEPTH_DECIMALS = 3
#: An even split stops when the two sides' areas differ by less than this
#: fraction of the gap's range over the width (`_split_root`).
SPLIT_REL = 1e-6
#: Bisection gives up after this many evaluations (it needs about 20).
MAX_STEPS = 60
#: The shallowest band tried, km (narrower bands are refused by the distance rules).
MIN_DEPTH_KM = 0.001
#: The deepest band a transfer may take, km (the widest buffer built exactly).
MAX_TRANSFER_DEPTH_KM = 2_000.0

PARTY_NAME = {UA: "Ukraine", RU: "Russia"}
OTHER = {UA: RU, RU: UA}


@dataclass
class Balance:
    """A solved withdrawal band, with what it balances.

    Attributes
    ----------
    scenario
        The scenario with the band added (the original transfers and zones,
        then the band): evaluate it to check the exchange.
    party
        Who withdraws (UA or RU).
    kind
        ``"transfer"`` (the band goes to the other side) or ``"zone"`` (it
        becomes a one-sided demilitarised zone); ``"mirror"`` for `balance_mirror`.
    regions, region_names
        Where the band runs (ids and names).
    depth_km
        How far the party withdraws from its own edge of the line, km (as written).
    area_km2
        The land the band takes from the party at that depth, km².
    target_km2
        The area it had to match, km², and `target` what that is, in words.
    front_km
        The length of the party's edge of the line within the regions, km.
    band
        The band's land (lon/lat).
    depths_km, areas_km2
        For `balance_mirror`: each side's depth and the land it gives, by party.
    ratios_after
        The solved scenario's ratios (`Evaluation.ratios`), re-evaluated from
        its rules: the band's rule is checked to give the band's area.
    matched
        What the band was matched against: ``"transfer"`` (land ceded to the
        other side), ``"zone"`` (land given to a zone), or None (an area).
        The answer in words quotes the ratio after unless the band and what
        it matched are of different kinds: a zone band matched to a cession
        leaves the zone ratio at 0 (only one side gives to the zone), which
        says nothing about the match.
    """

    scenario: Scenario
    party: str
    kind: str
    regions: tuple[str, ...]
    region_names: tuple[str, ...]
    depth_km: float
    area_km2: float
    target_km2: float
    target: str
    front_km: float
    band: BaseGeometry
    as_of: Any
    steps: int
    depths_km: dict[str, float] = field(default_factory=dict)
    areas_km2: dict[str, float] = field(default_factory=dict)
    ratios_after: dict[str, float | None] = field(default_factory=dict)
    matched: str | None = None

    @property
    def error_pct(self) -> float:
        """How far the band's area is from the target, % of the target."""
        return 100 * (self.area_km2 - self.target_km2) / self.target_km2

    def describe(self) -> str:
        """Return the answer in words."""
        where = _join(list(self.region_names))
        if self.kind == "mirror":
            other = OTHER[self.party]
            return (
                f"With {PARTY_NAME[other]} pulling back {self.depths_km[other]:,.1f} km, "
                f"{PARTY_NAME[self.party]} would have to pull back {self.depth_km:,.1f} km "
                f"in {where} for both sides to give the zone the same land: "
                f"{self.areas_km2[other]:,.0f} and {self.areas_km2[self.party]:,.0f} km² "
                f"(as of {self.as_of})."
            )
        into = (
            f"to {PARTY_NAME[OTHER[self.party]]}"
            if self.kind == "transfer"
            else "into a demilitarised zone"
        )
        ratio = (
            self.ratios_after.get("cession" if self.kind == "transfer" else "zone")
            if self.matched in (None, self.kind)
            else None
        )
        which = (
            "cession ratio (UA→RU ÷ RU→UA)"
            if self.kind == "transfer"
            else "zone ratio (UA→DMZ ÷ RU→DMZ)"
        )
        after = (
            f" With it the scenario's {which} is {ratio:,.2f}."
            if ratio is not None
            else ""
        )
        return (
            f"{PARTY_NAME[self.party]} would have to withdraw {self.depth_km:,.1f} km "
            f"along {self.front_km:,.0f} km of front in {where}, handing "
            f"{self.area_km2:,.0f} km² {into}, to match {self.target} "
            f"({self.target_km2:,.0f} km², as of {self.as_of}).{after}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the answer as plain data (the JSON of ``territory balance``)."""
        return {
            "scenario": self.scenario.title,
            "as_of": self.as_of.isoformat(),
            "party": self.party,
            "as": self.kind,
            "regions": list(self.regions),
            "region_names": list(self.region_names),
            "depth_km": self.depth_km,
            "depths_km": self.depths_km or {self.party: self.depth_km},
            "area_km2": self.area_km2,
            "areas_km2": self.areas_km2 or {self.party: self.area_km2},
            "target_km2": self.target_km2,
            "target": self.target,
            "error_pct": self.error_pct,
            "front_km": self.front_km,
            "steps": self.steps,
            "ratios_after": self.ratios_after,
            "answer": self.describe(),
        }


# --------------------------------------------------------------------------- targets


def _target(
    ev: Evaluation,
    *,
    transfer: str | None,
    target_km2: float | None,
    overall: bool,
    by: str | None,
    ratio: float,
    kind: str,
) -> tuple[str, float, str, str | None]:
    """Return who withdraws, the area to match, the target and its kind.

    The target is in words; its kind is ``"transfer"``, ``"zone"`` or None
    for an area.
    """
    if sum((transfer is not None, target_km2 is not None, bool(overall))) != 1:
        msg = "balance: say what to match: one of transfer=NAME, target_km2=X or overall=True"
        raise ScenarioError(msg)
    if not (isinstance(ratio, int | float) and math.isfinite(ratio) and ratio > 0):
        msg = f"balance: ratio is {ratio!r}; pass a positive number (1 for an even exchange)"
        raise ScenarioError(msg)
    if by is not None and by not in (UA, RU):
        msg = f"balance: by is {by!r}; pass 'UA' or 'RU' (who withdraws)"
        raise ScenarioError(msg)
    per = "" if ratio == 1 else f" at {ratio:g} km² for each km² returned"
    if transfer is not None:
        moves = [m for m in ev.moves if transfer in (m.name, m.group)]
        if not moves:
            names = sorted({m.group for m in ev.moves} | {m.name for m in ev.moves})
            msg = f"balance: the scenario has no transfer or zone {transfer!r}; use one of {', '.join(map(repr, names))}"
            raise ScenarioError(msg)
        givers = {m.source for m in moves} - {GREY}
        if len(givers) != 1:
            sides = ", ".join(repr(m.name) for m in moves if m.source != GREY)
            msg = f"balance: {transfer!r} takes land from both sides; name one side: {sides}"
            raise ScenarioError(msg)
        giver = givers.pop()
        party = OTHER[giver]
        if by is not None and by != party:
            msg = f"balance: {transfer!r} is land {giver} gives, so the other side ({party}) withdraws; leave out by or name a transfer {by} is to match"
            raise ScenarioError(msg)
        given = [m for m in moves if m.source == giver]
        area = sum(m.area_km2 for m in given)
        matched = "zone" if all(m.target == DMZ for m in given) else "transfer"
        return party, area / ratio, f"{transfer!r}{per}", matched
    if target_km2 is not None:
        if not (
            isinstance(target_km2, int | float)
            and math.isfinite(target_km2)
            and target_km2 > 0
        ):
            msg = f"balance: target_km2 is {target_km2!r}; pass a positive area in km²"
            raise ScenarioError(msg)
        if by is None:
            msg = "balance: with target_km2, say who withdraws: by='RU' or by='UA'"
            raise ScenarioError(msg)
        return by, float(target_km2), f"a target of {target_km2:,.0f} km²", None
    # the whole exchange: the party that gives less makes up the difference
    to = DMZ if kind == "zone" else None
    ua_gives = ev.flow_km2(UA, to or RU)
    ru_gives = ev.flow_km2(RU, to or UA)
    party = RU if ua_gives / ratio >= ru_gives else UA
    if by is not None and by != party:
        msg = f"balance: {by} already gives at least its share of this exchange; leave out by"
        raise ScenarioError(msg)
    need = ua_gives / ratio - ru_gives if party == RU else ru_gives * ratio - ua_gives
    what = "cession" if kind == "transfer" else "zone"
    if ua_gives == ru_gives == 0:
        to_whom = (
            "to the other side" if kind == "transfer" else "to demilitarised zones"
        )
        msg = (
            f"balance: neither side gives land {to_whom} in this scenario, so there "
            "is no exchange to balance; name what to match with transfer=NAME "
            "(CLI: --transfer NAME)"
        )
        raise ScenarioError(msg)
    if need <= OVERLAP_MAX_KM2:
        msg = f"balance: the {what} exchange is already at ratio {ev.ratios[what]:,.2f}; nothing to solve"
        raise ScenarioError(msg)
    return party, need, f"the rest of the {what} exchange{per}", kind


# --------------------------------------------------------------------------- solving


def _bisect(area_at, target: float, hi_km: float) -> tuple[float, float, int]:
    """Return (depth, area, steps): the depth whose area is within REL_TOL of target."""
    steps = 0
    lo, hi = 0.0, min(8.0, hi_km)
    a_hi = area_at(hi)
    steps += 1
    while a_hi < target and hi < hi_km:
        lo, hi = hi, min(2 * hi, hi_km)
        a_hi = area_at(hi)
        steps += 1
    d, a = hi, a_hi
    while abs(a - target) > REL_TOL * target and steps < MAX_STEPS:
        d = (lo + hi) / 2
        a = area_at(d)
        steps += 1
        if a < target:
            lo = d
        else:
            hi = d
    rounded = round(d, DEPTH_DECIMALS)
    if rounded != d and rounded >= MIN_DEPTH_KM:
        a_round = area_at(rounded)
        steps += 1
        if abs(a_round - target) <= REL_TOL * target:
            return rounded, a_round, steps
    return d, a, steps


def _split_root(
    gap: Callable[[float], float],
    low: tuple[float, float],
    high: tuple[float, float],
    spread: float,
) -> tuple[float, int]:
    """Return (depth, steps): where the increasing `gap` crosses 0 in the bracket.

    `low` and `high` are (depth, gap) with the gap ≤ 0 and ≥ 0.  Regula falsi
    with the Illinois step (the end that stays is halved in weight), so that
    both ends move: each try cuts two true-distance buffers, and the gap, a
    difference of two smooth areas, is found in about 6 tries where bisection
    to a metre took 15.  It stops when the gap is within `SPLIT_REL` of
    `spread` (a few hundredths of a km² on a zone of thousands; bisection to
    a metre left about 0.2) or the bracket is a metre wide.  Written here:
    one root of one monotone function does not call for a solver library.
    """
    (lo, g_lo), (hi, g_hi) = low, high
    steps, kept = 0, 0
    while hi - lo > 10**-DEPTH_DECIMALS and steps < MAX_STEPS:
        x = hi - g_hi * (hi - lo) / (g_hi - g_lo)
        if not lo < x < hi:
            x = (lo + hi) / 2
        g = gap(x)
        steps += 1
        if abs(g) <= SPLIT_REL * spread:
            return x, steps
        if g < 0:
            lo, g_lo = x, g
            g_hi = g_hi / 2 if kept == -1 else g_hi
            kept = -1
        else:
            hi, g_hi = x, g
            g_lo = g_lo / 2 if kept == 1 else g_lo
            kept = 1
    return (lo + hi) / 2, steps


def _unreachable(
    party: str, names: tuple[str, ...], most: float, target: float, how: str
) -> ScenarioError:
    return ScenarioError(
        f"balance: {PARTY_NAME[party]} cannot give {target:,.0f} km² in "
        f"{_join(list(names))}: {how} gives at most {most:,.0f} km²; name more regions "
        "or pass a smaller ratio"
    )


def _regions(within: tuple[str, ...] | list[str] | str) -> Rule:
    if isinstance(within, str):
        within = (within,)
    if not within:
        msg = "balance: name the regions the band runs in: within=('Zaporizhzhia', 'Kherson')"
        raise ScenarioError(msg)
    return Rule(regions=tuple(within))


def _resolve(
    scenario: object, control: object, record: Record | None
) -> tuple[Scenario | None, Control]:
    """Return the scenario (or None) and the control map `balance` was given.

    Each as objects, a library name or path, and a date or ``"latest"``
    (default: the scenario's own date, or the latest map).
    """
    from territory.accounting import as_control, as_scenario

    sc = None if scenario is None else as_scenario(scenario, what="balance")
    return sc, as_control(control, sc.as_of if sc else None, record, what="balance")


def balance(
    scenario: Scenario | str | os.PathLike[str],
    control: Control | str | dt.date | None = None,
    *,
    within: tuple[str, ...] | list[str] | str,
    transfer: str | None = None,
    target_km2: float | None = None,
    overall: bool = False,
    by: str | None = None,
    ratio: float = 1.0,
    kind: str = "transfer",
    name: str | None = None,
    record: Record | None = None,
) -> Balance:
    """Find the withdrawal band that balances an offer.

    Parameters
    ----------
    scenario, control
        The offer (a `Scenario`, a library name or a file's path) and the
        control map to evaluate it on (a `Control`, a date or ``"latest"``;
        default: the scenario's own date, read from `record`).
    within
        The regions the band runs in (names or ids).
    transfer
        Match this transfer or zone of the scenario (by name; a zone side by
        its full name): the other side withdraws.
    target_km2
        Or match an area (then `by` says who withdraws).
    overall
        Or balance the whole exchange: the side that gives less withdraws
        until the cession ratio (``kind="transfer"``) or the zone ratio
        (``kind="zone"``) equals `ratio`.
    by
        Who withdraws (UA or RU); implied by `transfer` and `overall`.
    ratio
        The ratio to reach: the band is the target ÷ `ratio` (1: even).
    kind
        ``"transfer"``: the band goes to the other side (a transfer with
        ``within_km_of_front`` in the regions, measured on the as-of map);
        ``"zone"``: it becomes a one-sided zone in the regions, along the
        line after the scenario's transfers and zones.
    name
        The band's name in the scenario (a sensible default otherwise).

    Returns
    -------
    Balance

    Raises
    ------
    ScenarioError
        If the target is unclear, or unreachable: withdrawing from all the
        party's land in the regions (a transfer) or 200 km deep (a zone)
        gives less than the target; the message gives the most reachable.
    """
    resolved, control = _resolve(scenario, control, record)
    assert resolved is not None
    scenario = resolved
    if kind not in ("transfer", "zone"):
        msg = f"balance: kind is {kind!r}; pass 'transfer' or 'zone'"
        raise ScenarioError(msg)
    where = _regions(within)
    ev = evaluate(scenario, control, people=False)
    party, target, what, matched = _target(
        ev,
        transfer=transfer,
        target_km2=target_km2,
        overall=overall,
        by=by,
        ratio=ratio,
        kind=kind,
    )
    ctx = SelectionContext(control)
    names = where.region_names
    label = name or f"{PARTY_NAME[party]} withdraws in {_join(list(names))} (balance)"
    if label in {t.name for t in scenario.transfers} | {z.name for z in scenario.zones}:
        msg = f"balance: the scenario already has a transfer or zone named {label!r}; pass another name"
        raise ScenarioError(msg)
    if kind == "transfer":
        held, _ = select(where, party, ctx)
        # A transfer may not take land another transfer already moves: the
        # band would overlap it, and the solved scenario would not evaluate.
        taken = [m for m in ev.moves if m.source == party and m.kind == "transfer"]
        for m in taken:
            shared = area_km2(shapely.intersection(m.geometry, held))
            if shared > OVERLAP_MAX_KM2:
                msg = (
                    f"balance: {PARTY_NAME[party]} already gives {shared:,.0f} km² of its "
                    f"land in {_join(list(names))} in {m.name!r}; balance within regions "
                    "where it gives nothing yet, or pass --as zone"
                )
                raise ScenarioError(msg)
        most = area_km2(held)
        if most < target * (1 - REL_TOL):
            raise _unreachable(
                party, names, most, target, "all the land it holds there"
            )

        def band_at(d: float) -> BaseGeometry:
            rule = dataclasses.replace(where, within_km_of_front=d)
            geom, _ = select(rule, party, ctx)
            return geom

        hi = MAX_TRANSFER_DEPTH_KM
        line = ctx.edge(party)
    else:
        after = {p: [g] for p, g in ev.after_geoms.items() if not g.is_empty}

        def band_at(d: float) -> BaseGeometry:
            z = Zone(name=label, depth_km=((party, d),), rule=where)
            moves = zone_moves_for(
                z, after, ctx, where=scenario.label, allow_empty=True
            )
            return next(m.geometry for m in moves if m.source == party)

        most = area_km2(band_at(MAX_ZONE_DEPTH_KM))
        if most < target * (1 - REL_TOL):
            raise _unreachable(
                party, names, most, target, f"a zone {MAX_ZONE_DEPTH_KM:g} km deep"
            )
        hi = MAX_ZONE_DEPTH_KM
        line = contact_line(ev.after_geoms.get(party, shapely.Polygon()), ctx.land)
    cache: dict[float, BaseGeometry] = {}

    def area_at(d: float) -> float:
        cache[d] = band_at(max(d, MIN_DEPTH_KM))
        return area_km2(cache[d])

    depth, area, steps = _bisect(area_at, target, hi)
    band = cache[depth]
    rule = dataclasses.replace(where, within_km_of_front=depth)
    if kind == "transfer":
        added = Transfer(
            name=label,
            source=party,
            target=OTHER[party],
            rule=rule,
            note=f"Solved by territory balance as of {control.as_of}: matches {what}.",
        )
        solved = dataclasses.replace(
            scenario, transfers=(*scenario.transfers, added), path=None
        )
    else:
        zone = Zone(
            name=label,
            depth_km=((party, depth),),
            rule=where,
            note=f"Solved by territory balance as of {control.as_of}: matches {what}.",
        )
        solved = dataclasses.replace(scenario, zones=(*scenario.zones, zone), path=None)
    front = shapely.intersection(line, ctx.regions_union(where.regions))
    ratios_after = _recheck(solved, control, label, {party: area})
    return Balance(
        scenario=solved,
        party=party,
        kind=kind,
        regions=where.regions,
        region_names=names,
        depth_km=depth,
        area_km2=area,
        target_km2=target,
        target=what,
        front_km=length_km(front),
        band=band,
        as_of=control.as_of,
        steps=steps,
        ratios_after=ratios_after,
        matched=matched,
    )


def balance_mirror(
    scenario: Scenario | str | os.PathLike[str] | None,
    control: Control | str | dt.date | None = None,
    *,
    within: tuple[str, ...] | list[str] | str,
    depth_km: float | None = None,
    width_km: float | None = None,
    by: str = RU,
    name: str | None = None,
    record: Record | None = None,
) -> Balance:
    """Solve a two-sided zone in `within` where both sides give the same land.

    Either the other side pulls back `depth_km` and `by` pulls back as far as
    it takes to give as much land ("to an equivalent distance"), or the two
    depths add up to `width_km` and are split so that both give as much.
    The zone runs along the line after the scenario's transfers and zones
    (`scenario` None: along the line of the control map as it is).
    `scenario` and `control` are taken as by `balance` (with no scenario,
    the default map is the latest).
    """
    scenario, control = _resolve(scenario, control, record)
    if (depth_km is None) == (width_km is None):
        msg = "balance_mirror: pass depth_km (the other side's depth) or width_km (the zone's whole width), not both"
        raise ScenarioError(msg)
    if by not in (UA, RU):
        msg = f"balance_mirror: by is {by!r}; pass 'UA' or 'RU' (who solves its depth)"
        raise ScenarioError(msg)
    where = _regions(within)
    given = depth_km if depth_km is not None else width_km
    if not (
        isinstance(given, int | float)
        and math.isfinite(given)
        and 0 < given <= 2 * MAX_ZONE_DEPTH_KM
    ):
        msg = f"balance_mirror: {given!r} km; pass a positive depth (at most {MAX_ZONE_DEPTH_KM:g} km a side)"
        raise ScenarioError(msg)
    ctx = SelectionContext(control)
    after_geoms: Mapping[str, BaseGeometry]
    if scenario is None:
        held = control._partition.country
        after_geoms = {p: held[p] for p in (UA, RU, GREY) if p in held}
    else:
        after_geoms = evaluate(scenario, control, people=False).after_geoms
    after = {p: [g] for p, g in after_geoms.items() if not g.is_empty}
    other = OTHER[by]
    label = name or f"Mirror zone in {_join(list(where.region_names))} (balance)"

    def zone(depths: dict[str, float]) -> Zone:
        return Zone(
            name=label,
            depth_km=tuple((p, max(d, MIN_DEPTH_KM)) for p, d in depths.items()),
            rule=where,
        )

    # Each side's land depends on its own depth only (it pulls back from its
    # own edge, `zone_moves_for`): it is solved one side at a time, and a side
    # tried at a depth before is not cut again.
    tried: dict[tuple[str, float], tuple[BaseGeometry, float]] = {}

    def side(party: str, d: float) -> tuple[BaseGeometry, float]:
        if (party, d) not in tried:
            moves = zone_moves_for(
                zone({party: d}), after, ctx, where="balance", allow_empty=True
            )
            (m,) = [m for m in moves if m.source == party]
            tried[party, d] = (m.geometry, m.area_km2)
        return tried[party, d]

    def sides(depths: dict[str, float]) -> dict[str, BaseGeometry]:
        return {p: side(p, d)[0] for p, d in depths.items()}

    if depth_km is not None:
        fixed = float(depth_km)
        fixed_area = side(other, fixed)[1]
        if fixed_area <= OVERLAP_MAX_KM2:
            msg = f"balance_mirror: {PARTY_NAME[other]} holds no land within {fixed:g} km of the line in {_join(list(where.region_names))}"
            raise ScenarioError(msg)

        def area_at(d: float) -> float:
            return side(by, d)[1]

        most = area_at(MAX_ZONE_DEPTH_KM)
        if most < fixed_area * (1 - REL_TOL):
            raise _unreachable(
                by,
                where.region_names,
                most,
                fixed_area,
                f"a zone {MAX_ZONE_DEPTH_KM:g} km deep",
            )
        depth, _, steps = _bisect(area_at, fixed_area, MAX_ZONE_DEPTH_KM)
        depths = {other: fixed, by: depth}
        target = fixed_area
        what = f"{PARTY_NAME[other]}'s {fixed_area:,.0f} km² at {fixed:g} km"
    else:
        width = float(given)

        def gap(d: float) -> float:
            # by's area minus the other's: grows with by's share of the width
            return side(by, d)[1] - side(other, width - d)[1]

        lo, hi = MIN_DEPTH_KM, width - MIN_DEPTH_KM
        g_lo, g_hi = gap(lo), gap(hi)
        if g_lo > 0 or g_hi < 0:
            msg = f"balance_mirror: no split of {width:g} km gives both sides the same land in {_join(list(where.region_names))}"
            raise ScenarioError(msg)
        mid, steps = _split_root(gap, (lo, g_lo), (hi, g_hi), g_hi - g_lo)
        depth = round(mid, DEPTH_DECIMALS)
        depths = {by: depth, other: round(width - depth, DEPTH_DECIMALS)}
        target = 0.0
        what = f"an even split of a {width:g}-km zone"
    final = sides(depths)
    areas = {p: side(p, depths[p])[1] for p in (UA, RU)}
    if not target:
        target = areas[other]
    z = dataclasses.replace(
        zone(depths),
        note=f"Solved by territory balance as of {control.as_of}: {what}.",
    )
    if scenario is None:
        solved = Scenario(title=label, as_of=control.as_of, transfers=(), zones=(z,))
    else:
        solved = dataclasses.replace(scenario, zones=(*scenario.zones, z), path=None)
    line = ctx.regions_union(where.regions)
    edge = contact_line(after_geoms.get(by, shapely.Polygon()), ctx.land)
    return Balance(
        scenario=solved,
        party=by,
        kind="mirror",
        regions=where.regions,
        region_names=where.region_names,
        depth_km=depths[by],
        area_km2=areas[by],
        target_km2=target,
        target=what,
        front_km=length_km(shapely.intersection(edge, line)),
        band=shapely.union(final[by], final[other]),
        as_of=control.as_of,
        steps=steps,
        depths_km=depths,
        areas_km2=areas,
        ratios_after=_recheck(solved, control, label, areas),
    )


def _recheck(
    solved: Scenario, control: Control, name: str, areas: dict[str, float]
) -> dict[str, float | None]:
    """Re-evaluate the solved scenario from its rules; the band must come back as solved."""
    ev = evaluate(solved, control, people=False)
    for party, area in areas.items():
        got = sum(m.area_km2 for m in ev.moves if m.group == name and m.source == party)
        if abs(got - area) > 1e-6 * max(area, 1.0):
            msg = (
                f"balance: the solved band {name!r} re-evaluates to {got:,.3f} km² of "
                f"{party} land, not {area:,.3f}; this is a bug in territory, please report it"
            )
            raise InternalError(msg)
    return ev.ratios
