"""Distance rules and border_with: thresholds on both sides, bounded cost, errors."""

from __future__ import annotations

import math
import tomllib

import pytest
import shapely
from hypothesis import example, given, settings
from hypothesis import strategies as st

from territory import selection
from territory.accounting import DMZ, evaluate
from territory.buffers import buffer_line_m, buffer_tolerance_m
from territory.errors import ScenarioError
from territory.geodesy import area_km2
from territory.scenario import Rule, parse_scenario
from territory.selection import SelectionContext, select
from tests import scenario_world
from tests.shapes import LAT0, LON0, distance_to_meridian_km, geodesic_km

DATE = "2025-08-15"
#: Ukrainian-held land on 15 Aug 2025 (every distance rule beyond the country's
#: extent selects all of it; the trial's 8,400 km gave 200,285 km², 8,800 km nothing).
UA_HELD_KM2 = 485_942.2
SUMY, KHARKIV, CHERNIHIV = "UA-59", "UA-63", "UA-74"

# The toy country (tests/scenario_world.py, no pocket) at 30°E 48°N: Ukraine
# holds +0..1.5° × 0..1° from the origin, Russia +1.5..3°; the front is the
# meridian +1.5° from 48°N to 49°N.  Its lengths, from GeographicLib:
#: The front, 111.200 km (110.574 km on the equator).
TOY_FRONT_KM = geodesic_km(LON0 + 1.5, LAT0, LON0 + 1.5, LAT0 + 1)
#: How far the held land reaches from the front: from its corner (30°E, 48°N)
#: (the distance grows westward along a parallel and shrinks northward as the
#: meridians converge), 111.931 km; 5 m less than along the parallel 48°N, as
#: the nearest point of the front lies ~1 km north of it.
TOY_REACH_KM = distance_to_meridian_km(LON0, LAT0, LON0 + 1.5, LAT0, LAT0 + 1)
#: The country's extent: the largest distance between two of its points,
#: corner to opposite corner of its box +0..3° × 0..1° (both diagonals are as
#: long), 248.004 km.
TOY_EXTENT_KM = geodesic_km(LON0, LAT0, LON0 + 3, LAT0 + 1)


@pytest.fixture(scope="module")
def control(record):
    return record.control(DATE)


@pytest.fixture
def ctx(control):
    return SelectionContext(control)


@pytest.fixture(scope="module")
def toy():
    return scenario_world.control(pocket=False)


def _km2(rule: Rule, ctx: SelectionContext, giver: str = "UA") -> float:
    geom, _ = select(rule, giver, ctx)
    return area_km2(geom)


# --- the country's extent: beyond it, everything -----------------------------


@pytest.mark.data
def test_extent_of_the_country(ctx):
    assert ctx.extent_m / 1000 == pytest.approx(1_615.5, abs=0.5)


@pytest.mark.data
@pytest.mark.parametrize(
    "width_km",
    [
        pytest.param(8_400.0, id="8400km"),
        pytest.param(8_800.0, id="8800km"),
        pytest.param(1e300, id="1e300km"),
    ],
)
def test_any_width_beyond_the_extent_selects_all_held_land(ctx, control, width_km):
    held_km2 = area_km2(control.holding("UA"))
    assert held_km2 == pytest.approx(UA_HELD_KM2, abs=0.05)
    km2 = _km2(Rule(everything=True, within_km_of_front=width_km), ctx)
    assert km2 == pytest.approx(held_km2, rel=1e-9)


@pytest.mark.data
def test_both_sides_of_the_extent(ctx, control):
    # just below: the band is built (1,615 km from the front covers every point);
    # at and just above: no band is needed; the three agree
    held_km2 = area_km2(control.holding("UA"))
    extent_km = ctx.extent_m / 1000
    for width_km in (extent_km * (1 - 1e-6), extent_km, extent_km * (1 + 1e-6)):
        km2 = _km2(Rule(everything=True, within_km_of_front=width_km), ctx)
        assert km2 == pytest.approx(held_km2, rel=1e-9), width_km


def test_both_sides_of_the_farthest_held_point(toy):
    # Toy: the Ukrainian-held point farthest from the front is the corner
    # (30°E, 48°N), TOY_REACH_KM away (the band's tolerance there is 0.21 m; the
    # distance along the parallel would be 5 m too long).
    ctx = SelectionContext(toy)
    d_m = TOY_REACH_KM * 1000
    tol_m = buffer_tolerance_m(d_m)
    corner = shapely.Point(LON0, LAT0)
    assert not buffer_line_m(ctx.front, d_m - 2 * tol_m).contains(corner)
    assert buffer_line_m(ctx.front, d_m + 2 * tol_m).contains(corner)
    held_km2 = area_km2(toy.holding("UA"))
    below = _km2(Rule(everything=True, within_km_of_front=(d_m - 1_000) / 1000), ctx)
    above = _km2(Rule(everything=True, within_km_of_front=(d_m + 1) / 1000), ctx)
    assert below < held_km2 - 1.0
    assert above == pytest.approx(held_km2, rel=1e-9)


@pytest.mark.parametrize(
    ("width_km", "match"),
    [
        pytest.param(0.000999, "below 0.001 km", id="just-below-1m"),
    ],
)
def test_too_narrow_is_refused_naming_the_rule(toy, width_km, match):
    rule = Rule(everything=True, within_km_of_front=width_km)
    with pytest.raises(ScenarioError, match=rf"rule .*contact line.*{match}"):
        select(rule, "UA", SelectionContext(toy))


def test_narrowest_band_is_built(toy):
    # 1 m along the 111.2-km toy front: 0.11 km², within a thousandth (the
    # band's tolerance at 1 m is 1 mm)
    km2 = _km2(Rule(everything=True, within_km_of_front=0.001), SelectionContext(toy))
    assert km2 == pytest.approx(0.001 * TOY_FRONT_KM, rel=2e-3)


def test_beyond_the_widest_band_and_short_of_the_extent_is_refused(toy, monkeypatch):
    # Ukraine's extent (1,615 km) is within the widest band built (2,000 km);
    # a country wider than that would have a gap, refused with both limits.
    # The toy's extent is 248.0 km (its held land reaches 111.9 km from the
    # front); pretend bands stop at 100 km.
    monkeypatch.setattr(selection, "BUFFER_MAX_M", 100_000.0)
    ctx = SelectionContext(toy)
    held_km2 = area_km2(toy.holding("UA"))
    assert _km2(Rule(everything=True, within_km_of_front=100.0), ctx) < held_km2
    extent, at_least = f"{TOY_EXTENT_KM:,.0f}", math.ceil(TOY_EXTENT_KM)  # 248, 249
    with pytest.raises(
        ScenarioError,
        match=rf"within 100.001 km.*beyond 100 km.*short of {extent} km.*at least {at_least}",
    ):
        _km2(Rule(everything=True, within_km_of_front=100.001), ctx)
    extent_km = ctx.extent_m / 1000
    with pytest.raises(ScenarioError, match="beyond 100 km"):
        _km2(Rule(everything=True, within_km_of_front=extent_km * (1 - 1e-9)), ctx)
    km2 = _km2(Rule(everything=True, within_km_of_front=extent_km), ctx)
    assert km2 == pytest.approx(held_km2, rel=1e-9)


# --- border_with ---------------------------------------------------------------


@pytest.mark.data
def test_russian_border_strip_in_sumy_and_kharkiv(ctx):
    rule = Rule(regions=(SUMY, KHARKIV), within_km_of_border=20.0, border_with=("RU",))
    geom, _ = select(rule, "UA", ctx)
    km2 = area_km2(geom)
    assert 10_000 < km2 < 12_000
    # only land near Russia: nothing beyond 20 km of the Russian border line
    outside = shapely.difference(
        geom, buffer_line_m(ctx.border_line(("RU",)), 20_000.0 + 1.0)
    )
    assert area_km2(outside) < 1e-6
    # Sumy and Kharkiv touch no other neighbour: the same as every border
    every = _km2(Rule(regions=(SUMY, KHARKIV), within_km_of_border=20.0), ctx)
    assert every == pytest.approx(km2, rel=1e-9)


@pytest.mark.data
def test_belarus_border_strip_in_chernihiv(ctx):
    rule = Rule(regions=(CHERNIHIV,), within_km_of_border=30.0, border_with=("BY",))
    geom, _ = select(rule, "UA", ctx)
    outside = shapely.difference(
        geom, buffer_line_m(ctx.border_line(("BY",)), 30_000.0 + 1.0)
    )
    assert area_km2(outside) < 1e-6
    # the Belarus border ends at the tripoint (31.78°E): nothing far east of it
    assert geom.bounds[2] < 31.78 + 0.45
    every = _km2(Rule(regions=(CHERNIHIV,), within_km_of_border=30.0), ctx)
    assert every > area_km2(geom) + 1_000  # Chernihiv also borders Russia


@pytest.mark.data
def test_neighbour_the_regions_do_not_touch_selects_nothing(ctx, control):
    rule = Rule(regions=(CHERNIHIV,), within_km_of_border=20.0, border_with=("MD",))
    assert _km2(rule, ctx) == 0.0
    text = (
        '[scenario]\ntitle = "t"\nas_of = 2025-08-15\n[[transfers]]\nname = "far"\n'
        'from = "UA"\nto = "RU"\n'
        'select = { regions = ["Chernihiv"], within_km_of_border = 20, border_with = ["MD"] }\n'
    )
    with pytest.raises(ScenarioError, match=r"transfer 'far' selects no land UA holds"):
        evaluate(parse_scenario(tomllib.loads(text)), control, people=False)


@pytest.mark.data
def test_whole_russian_border_strip_is_quick(ctx):
    import time

    t0 = time.perf_counter()
    km2 = _km2(
        Rule(everything=True, within_km_of_border=50.0, border_with=("RU",)), ctx
    )
    assert time.perf_counter() - t0 < 30
    assert 30_000 < km2 < 40_000


# --- zones ---------------------------------------------------------------------


def _zone(depth_km: float):
    text = (
        '[scenario]\ntitle = "Toy"\nas_of = 2025-01-01\n'
        f'[[zones]]\nname = "buffer"\ndepth_km = {depth_km}\nwithdraw = ["UA"]\n'
    )
    return parse_scenario(tomllib.loads(text), table=scenario_world.table())


def test_both_sides_of_the_deepest_zone_that_moves_land(toy):
    # the toy's held land reaches TOY_REACH_KM (111.93 km) from the front: 100 m
    # short of it, a corner of ~0.26 km² stays out; 20 m beyond it (the band's
    # tolerance is 0.21 m), all is in
    held_km2 = area_km2(toy.holding("UA"))
    below = evaluate(_zone(TOY_REACH_KM - 0.1), toy, people=False)
    assert below.after_km2[DMZ] < held_km2 - 0.01
    for depth_km in (TOY_REACH_KM + 0.02, 200.0):  # 200 km: the parser's cap
        ev = evaluate(_zone(depth_km), toy, people=False)
        assert ev.after_km2[DMZ] == pytest.approx(held_km2, rel=1e-9)


@pytest.mark.parametrize(
    "width_km",
    [math.floor(TOY_EXTENT_KM), math.ceil(TOY_EXTENT_KM), 8_400.0, 8_800.0],
)
def test_zone_band_beyond_the_held_land_covers_it(toy, width_km):
    # the zone band (SelectionContext.near_line) on both sides of the toy's
    # extent (248.0 km), and far beyond
    ctx = SelectionContext(toy)
    band = ctx.near_line(ctx.front, width_km, what="zone")
    held = toy.holding("UA")
    assert area_km2(shapely.intersection(held, band)) == pytest.approx(
        area_km2(held), rel=1e-9
    )


def test_zone_band_is_true_distance(toy):
    ev = evaluate(_zone(15), toy, people=False)
    # 15 km west of the meridian front (111.200 km), cut at 48°N and 49°N: d·L
    # to 1e-4 (the width is true to 0.115 m, 8e-6; the ends, see test_accounting)
    assert ev.after_km2[DMZ] == pytest.approx(15 * TOY_FRONT_KM, rel=1e-4)


# --------------------------------------------------------------------------- property


def _km_per_deg_lon(lat: float) -> float:
    """Length of one degree of the parallel `lat` (km), from 1/100 of a degree."""
    return 100 * geodesic_km(LON0, lat, LON0 + 0.01, lat)


def _strip_km2(width_deg: float) -> float:
    """The held cell's strip next to the front, `width_deg` of longitude wide."""
    from tests.shapes import cell_area_km2

    west = max(LON0, LON0 + 1.5 - width_deg)
    return cell_area_km2(west, LAT0, LON0 + 1.5, LAT0 + 1)


_ANY_WIDTH = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=5e-4, max_value=300.0),
    st.floats(min_value=100.0, max_value=1e7),
)


@settings(max_examples=40, deadline=None)
@given(width_km=_ANY_WIDTH)
@example(width_km=1.797693134862316e305)  # finite, but inf in metres: everything
def test_any_number_as_a_width_gives_the_right_land_or_one_error(width_km):
    """Any float: refused with our error, or the land within that true distance.

    The strip of held land next to the front (the meridian +1.5°) that lies
    within `width_km` is bounded independently: it holds every point less than
    width / (km per degree of longitude at 48°N, the widest) degrees west of
    the front, and no point more than width / (km per degree at 49°N, the
    narrowest) degrees west, less 0.1% for the meridians' convergence (the
    nearest point of the front lies a little north: 5 m at 112 km).
    """
    toy = scenario_world.control(pocket=False)
    held_km2 = area_km2(toy.holding("UA"))
    try:
        rule = Rule(everything=True, within_km_of_front=width_km)
        km2 = _km2(rule, SelectionContext(toy))
    except ScenarioError as err:
        assert not (math.isfinite(width_km) and width_km >= 0.001), err
        assert "\n" not in str(err)
        return
    assert math.isfinite(width_km)
    assert width_km >= 0.001
    if width_km >= TOY_REACH_KM * 1.001:
        assert km2 == pytest.approx(held_km2, rel=1e-9)
        return
    inner = _strip_km2(width_km / _km_per_deg_lon(LAT0))
    outer = _strip_km2(width_km / (_km_per_deg_lon(LAT0 + 1) * (1 - 1e-3)))
    assert inner * (1 - 1e-6) <= km2 <= outer * (1 + 1e-6) + 1e-9


# --- selections by regions are kept with the map -----------------------------


def _rule(select_toml: str) -> Rule:
    """A rule of the toy country, as a scenario file writes it."""
    text = (
        '[scenario]\ntitle = "Toy"\nas_of = 2025-01-01\n[[transfers]]\n'
        f'name = "t"\nfrom = "UA"\nto = "RU"\nselect = {select_toml}\n'
    )
    return (
        parse_scenario(tomllib.loads(text), table=scenario_world.table())
        .transfers[0]
        .rule
    )


def test_selection_by_regions_is_kept_with_the_map(toy):
    beta = _rule('{ regions = ["Beta"] }')
    geom, _ = select(beta, "UA", SelectionContext(toy))
    ctx = SelectionContext(toy)
    again, _ = select(beta, "UA", ctx)
    assert again is geom  # taken from the map, not cut again
    assert ctx.kept_key(again) is not None
    assert ctx.whole_regions(again) == ("UA", ("XB",))
    # the same land picked another way is not known to be kept
    assert ctx.kept_key(shapely.Polygon(again.exterior)) is None
    # by connection: kept, but not all the giver's land in the regions
    ctx = SelectionContext(toy)
    pocket, _ = select(_rule('{ regions = ["Beta"], connected = false }'), "RU", ctx)
    assert ctx.kept_key(pocket) is not None
    assert ctx.whole_regions(pocket) is None
    # narrowed by another criterion: neither
    ctx = SelectionContext(toy)
    band, _ = select(_rule('{ regions = ["Beta"], within_km_of_front = 5 }'), "UA", ctx)
    assert ctx.kept_key(band) is None
    assert ctx.whole_regions(band) is None
    assert area_km2(band) < area_km2(geom)


def test_whole_holdings_are_all_the_givers_land_everywhere(toy):
    ctx = SelectionContext(toy)
    geom, _ = select(Rule(everything=True), "RU", ctx)
    assert geom is toy.holding("RU")
    assert ctx.whole_regions(geom) == ("RU", tuple(toy.regions.index))


def test_a_component_is_measured_once_per_content():
    # a pocket no change of the map reached is the same from one map to the
    # next: its area and its cut to the regions are kept by its content
    # (another object of the same coordinates finds them), never by object
    area = shapely.box(0, 0, 2, 2)
    part = shapely.box(1, 1, 3, 3)
    same = shapely.from_wkb(shapely.to_wkb(part))  # another object, equal
    moved = shapely.box(1, 1, 3, 3.5)
    selection._kept_parts.clear()
    cut = selection._part_in(part, area)
    assert shapely.equals_exact(cut, shapely.intersection(part, area), 0)
    assert selection._part_in(same, area) is cut
    other = selection._part_in(moved, area)
    assert other is not cut
    assert shapely.equals_exact(other, shapely.intersection(moved, area), 0)
    assert selection._part_km2(same) == selection._part_km2(part) == area_km2(part)
    assert selection._part_km2(moved) == area_km2(moved)


@pytest.mark.data
@pytest.mark.parametrize("day", ["2025-02-01", "2025-08-03", "2026-08-20"])
def test_the_components_areas_are_measured_ones(record, day):
    # each component of a side's land measured, but the main one: the
    # holding's kept area less the others' (the same to float rounding,
    # far inside the margins `_parts_by_connection` compares them with)
    ctx = SelectionContext(record.control(day))
    for holder in ("RU", "UA"):
        parts = ctx.components(holder)
        assert len(parts) > 1
        got = ctx.components_km2(holder)
        for part, km2 in zip(parts, got, strict=True):
            assert km2 == pytest.approx(area_km2(part), rel=1e-12, abs=1e-9)


@pytest.mark.data
@pytest.mark.parametrize("day", ["2025-06-20", "2025-08-03"])
def test_a_whole_holding_in_regions_is_its_pieces_there_joined(
    record, day, monkeypatch
):
    # all a giver's land in some regions is the partition's pieces of it
    # there, joined: the same land as the holding cut to the regions (the
    # overlay it replaces), to float rounding; a map whose pieces are not
    # the whole holding (as a map after a swap may be) is cut by the overlay
    import territory.control as control_mod
    from territory.geodesy import coverage_union, polygonal_in_box

    ctl = record.control(day)
    cases = [("UA", ("UA-14", "UA-09")), ("RU", ("UA-23", "UA-65")), ("UA", ("UA-12",))]
    for giver, ids in cases:
        holding = ctl._partition.country[giver]
        area = SelectionContext(ctl).regions_union(ids)
        cut = shapely.intersection(polygonal_in_box(holding, area.bounds), area)
        got = SelectionContext(ctl).in_regions(giver, holding, ids, None)
        assert shapely.is_valid(got)
        assert area_km2(got) == pytest.approx(area_km2(cut), rel=1e-12)
        assert shapely.symmetric_difference(got, cut).area < 1e-12
        # the pieces: each region's of the giver, as the partition keeps them
        pieces = [g for r, g, _ in ctl._whole_pieces(giver) if r in ids]
        assert shapely.equals_exact(got, coverage_union(pieces), 0)
        assert area_km2(got) == pytest.approx(sum(map(area_km2, pieces)), rel=1e-12)
    monkeypatch.setattr(control_mod, "PIECES_REL", -1.0)
    giver, ids = cases[0]
    other = ctl.with_partition(ctl._partition, note=None)  # (nothing kept shared)
    assert other._whole_pieces(giver) is None
    holding = other._partition.country[giver]
    area = SelectionContext(other).regions_union(ids)
    got = SelectionContext(other).in_regions(giver, holding, ids, None)
    want = shapely.intersection(polygonal_in_box(holding, area.bounds), area)
    assert shapely.equals_exact(got, want, 0)
