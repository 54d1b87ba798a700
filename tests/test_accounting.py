"""Accounting on the toy country: hand-computable areas, invariants, failures."""

import math

import pytest
import shapely

from territory.accounting import DMZ, evaluate
from territory.errors import ScenarioError
from territory.geodesy import area_km2, length_km
from territory.scenario import parse_scenario
from tests import scenario_world
from tests.shapes import LAT0, LON0, box_at, cell_area_km2, geodesic_km, ring_at

HEAD = '[scenario]\ntitle = "Toy"\nas_of = 2025-01-01\n'
# The toy country at 30°E 48°N (tests/scenario_world.py); coordinates below are
# degrees from that origin (box_at, ring_at), areas closed-form (cell_area_km2).
CELL = cell_area_km2(*box_at(0, 0, 1, 1))  # one region, 8,217.73 km²
#: The toy front (no pocket): the meridian +1.5° from 48°N to 49°N, 111.200 km
#: on WGS84 (110.574 km on the equator); the front after Beta moves, +1°, is as long.
FRONT_KM = geodesic_km(LON0 + 1.5, LAT0, LON0 + 1.5, LAT0 + 1)


def _scenario(body, tmp_path=None):
    import tomllib

    return parse_scenario(tomllib.loads(HEAD + body), table=scenario_world.table())


def _transfer(name, src, dst, select):
    return f'[[transfers]]\nname = "{name}"\nfrom = "{src}"\nto = "{dst}"\nselect = {select}\n'


@pytest.fixture(scope="module")
def toy():
    return scenario_world.control()


@pytest.fixture(scope="module")
def toy_no_pocket():
    return scenario_world.control(pocket=False)


def test_before_matches_the_map(toy):
    ev = evaluate(
        _scenario(_transfer("t", "UA", "RU", '{ regions = ["Beta"] }')),
        toy,
        people=False,
    )
    pocket = cell_area_km2(*box_at(0.1, 0.1, 0.2, 0.2))
    assert ev.before_km2["RU"] == pytest.approx(
        cell_area_km2(*box_at(1.5, 0, 3, 1)) + pocket, rel=1e-9
    )
    assert ev.before_km2["UA"] == pytest.approx(
        cell_area_km2(*box_at(0, 0, 1.5, 1)) - pocket, rel=1e-9
    )
    assert ev.land_km2 == pytest.approx(3 * CELL, rel=1e-9)


def test_whole_region_transfer_and_balance(toy):
    ev = evaluate(
        _scenario(_transfer("Beta west", "UA", "RU", '{ regions = ["Beta"] }')),
        toy,
        people=False,
    )
    moved = cell_area_km2(*box_at(1, 0, 1.5, 1))
    (m,) = ev.moves
    assert m.area_km2 == pytest.approx(moved, rel=1e-9)
    assert [r["region_id"] for r in m.regions] == ["XB"]
    assert ev.lost_km2("UA") == ev.gained_km2("RU") == pytest.approx(moved, rel=1e-12)
    assert ev.net_km2("UA") == pytest.approx(-moved, rel=1e-12)
    assert ev.after_km2["RU"] == pytest.approx(ev.before_km2["RU"] + moved, rel=1e-9)
    assert ev.ratio is None  # Ukraine receives nothing
    shares = ev.parties_frame()
    assert shares.loc[["UA", "RU"], "share_after_pct"].sum() == pytest.approx(
        100, rel=1e-9
    )


def test_pockets_by_connectivity(toy):
    pocket = cell_area_km2(*box_at(0.1, 0.1, 0.2, 0.2))
    not_connected = evaluate(
        _scenario(
            _transfer(
                "p", "RU", "UA", '{ regions = ["Alpha", "Beta"], connected = false }'
            )
        ),
        toy,
        people=False,
    )
    assert not_connected.moves[0].area_km2 == pytest.approx(pocket, rel=1e-9)
    connected = evaluate(
        _scenario(
            _transfer(
                "p", "RU", "UA", '{ regions = ["Alpha", "Beta"], connected = true }'
            )
        ),
        toy,
        people=False,
    )
    # The block +1.5–3° reaches into Gamma: connected to Russian-held land elsewhere.
    assert connected.moves[0].area_km2 == pytest.approx(
        cell_area_km2(*box_at(1.5, 0, 2, 1)), rel=1e-9
    )


def test_ratio_is_what_ukraine_gives_per_km2_received(toy):
    body = _transfer("give", "UA", "RU", '{ regions = ["Beta"] }') + _transfer(
        "get", "RU", "UA", '{ regions = ["Alpha"], connected = false }'
    )
    ev = evaluate(_scenario(body), toy, people=False)
    expected = cell_area_km2(*box_at(1, 0, 1.5, 1)) / cell_area_km2(
        *box_at(0.1, 0.1, 0.2, 0.2)
    )
    assert ev.ratio == pytest.approx(expected, rel=1e-9)


def test_inline_polygon_and_exclusion(toy):
    poly = f'{{ type = "Polygon", coordinates = {[ring_at(1.2, 0, 1.4, 1)]} }}'
    strip = cell_area_km2(*box_at(1.2, 0, 1.4, 1))
    ev = evaluate(
        _scenario(_transfer("strip", "UA", "RU", f"{{ geometry = {poly} }}")),
        toy,
        people=False,
    )
    # edges of the inline box run along meridians and the parallels 48°N and 49°N,
    # straight in lon/lat as the accounting area reads them: exact
    assert ev.moves[0].area_km2 == pytest.approx(strip, rel=1e-9)
    ex = evaluate(
        _scenario(
            _transfer(
                "rest",
                "UA",
                "RU",
                f'{{ regions = ["Beta"], exclude = {{ geometry = {poly} }} }}',
            )
        ),
        toy,
        people=False,
    )
    assert ex.moves[0].area_km2 == pytest.approx(
        cell_area_km2(*box_at(1, 0, 1.5, 1)) - strip, rel=1e-9
    )


def test_polygon_reaching_land_not_held_warns_and_moves_only_held(toy):
    poly = f'{{ type = "Polygon", coordinates = {[ring_at(1.4, 0, 1.6, 1)]} }}'
    ev = evaluate(
        _scenario(_transfer("over the line", "UA", "RU", f"{{ geometry = {poly} }}")),
        toy,
        people=False,
    )
    assert ev.moves[0].area_km2 == pytest.approx(
        cell_area_km2(*box_at(1.4, 0, 1.5, 1)), rel=1e-9
    )
    assert len(ev.warnings) == 1
    assert "over the line" in ev.warnings[0]
    assert "does not hold" in ev.warnings[0]


def test_distance_to_front_uses_true_distance(toy_no_pocket):
    ev = evaluate(
        _scenario(
            _transfer("band", "UA", "DMZ", "{ all = true, within_km_of_front = 10 }")
        ),
        toy_no_pocket,
        people=False,
    )
    # The front is the meridian +1.5° from 48°N to 49°N (FRONT_KM); the band
    # 10 km west of it, cut at 48°N and 49°N, is 10 km × FRONT_KM.  To 1e-4
    # (was 2e-3, from a metric-CRS buffer): the band's width is true to 0.11 m
    # (1.1e-5, buffer_tolerance_m); the parallels cutting its ends leave the
    # perpendicular to the front by d²·tanφ/2N (9 m at 10 km), the same way at
    # both ends, so the two end corrections cancel to ~1e-6; the ellipsoid's
    # curvature changes a 10 km band by under 1e-6.
    assert ev.moves[0].area_km2 == pytest.approx(10 * FRONT_KM, rel=1e-4)
    assert ev.after_km2[DMZ] == pytest.approx(ev.moves[0].area_km2, rel=1e-12)


@pytest.mark.parametrize(
    ("withdraw", "sides"),
    [('["UA"]', 1), ('["UA", "RU"]', 2)],
    ids=["one-sided", "two-sided"],
)
def test_zone_along_the_contact_line(toy_no_pocket, withdraw, sides):
    body = f'[[zones]]\nname = "buffer"\ndepth_km = 15\nwithdraw = {withdraw}\n'
    ev = evaluate(_scenario(body), toy_no_pocket, people=False)
    assert len(ev.moves) == sides
    # d·L per side: 15 km along the front (FRONT_KM); to 1e-4 (was 3e-3, from a
    # metric-CRS buffer), as for the band above (width true to 0.115 m, 8e-6).
    assert ev.after_km2[DMZ] == pytest.approx(sides * 15 * FRONT_KM, rel=1e-4)
    for m in ev.moves:
        assert m.target == DMZ
    assert ev.lost_km2("UA") == pytest.approx(15 * FRONT_KM, rel=1e-4)


def test_transfer_then_reverse_restores_status_quo(toy):
    there = evaluate(
        _scenario(_transfer("t", "UA", "RU", '{ regions = ["Beta"] }')),
        toy,
        people=False,
    )
    geom = shapely.geometry.mapping(there.moves[0].geometry)
    coords = [[list(map(float, pt)) for pt in ring] for ring in geom["coordinates"]]
    back_body = _transfer(
        "back",
        "RU",
        "UA",
        f'{{ geometry = {{ type = "Polygon", coordinates = {coords} }} }}',
    )
    back = evaluate(_scenario(back_body), there.after_control(), people=False)
    for party in ("UA", "RU"):
        assert back.after_km2[party] == pytest.approx(there.before_km2[party], rel=1e-9)
    restored = back.after_geoms["UA"].symmetric_difference(toy.holding("UA"))
    assert area_km2(restored) < 1e-6


def test_overlapping_transfers_are_rejected(toy):
    body = _transfer("all Beta", "UA", "RU", '{ regions = ["Beta"] }') + _transfer(
        "near front", "UA", "DMZ", "{ all = true, within_km_of_front = 5 }"
    )
    with pytest.raises(
        ScenarioError, match="'all Beta' and 'near front' both select the same"
    ):
        evaluate(_scenario(body), toy, people=False)


def test_empty_selection_names_transfer_and_fix(toy):
    with pytest.raises(
        ScenarioError,
        match=r"transfer 'nothing' selects no land UA holds .* check the rule",
    ):
        evaluate(
            _scenario(_transfer("nothing", "UA", "RU", '{ regions = ["Gamma"] }')),
            toy,
            people=False,
        )


def test_front_line_length(toy_no_pocket):
    ev = evaluate(
        _scenario(_transfer("t", "UA", "RU", '{ regions = ["Beta"] }')),
        toy_no_pocket,
        people=False,
    )
    # Before: the meridian +1.5° from 48°N to 49°N (111.200 km); after: the
    # meridian +1°, as long.  To 1e-4: the contact line stops 1e-6° (0.1 m) short
    # of the land's outline at either end, 2e-6 of its length.
    assert ev.front_before_km == pytest.approx(FRONT_KM, rel=1e-4)
    assert ev.front_after_km == pytest.approx(
        geodesic_km(LON0 + 1, LAT0, LON0 + 1, LAT0 + 1), rel=1e-4
    )
    assert math.isfinite(ev.front_after_km)


# --- the books: areas after from the partition's pieces ----------------------


def test_areas_after_add_up_the_pieces_and_the_check_still_bites(toy, monkeypatch):
    import territory.accounting as acc

    body = _transfer("give", "UA", "RU", '{ regions = ["Beta"] }') + _transfer(
        "get", "RU", "UA", '{ regions = ["Alpha"], connected = false }'
    )
    ev = evaluate(_scenario(body), toy, people=False)
    pocket = cell_area_km2(*box_at(0.1, 0.1, 0.2, 0.2))
    moved = cell_area_km2(*box_at(1, 0, 1.5, 1))
    assert ev.after_km2["UA"] == pytest.approx(
        cell_area_km2(*box_at(0, 0, 1, 1)), rel=1e-9
    )
    assert ev.after_km2["RU"] == pytest.approx(
        cell_area_km2(*box_at(1, 0, 3, 1)), rel=1e-9
    )
    assert ev.flow_km2("UA", "RU") == pytest.approx(moved, rel=1e-9)
    assert ev.flow_km2("RU", "UA") == pytest.approx(pocket, rel=1e-9)
    # The areas after are measured on the pieces, not derived from the moves:
    # a selection that claims to be all of Ukraine's land in Alpha (it is not)
    # makes the books drop land no move took, and the check fails.
    real = acc.SelectionContext.whole_regions

    def wrong(self, geom):
        found = real(self, geom)
        return None if found is None else (found[0], ("XA", *found[1]))

    monkeypatch.setattr(acc.SelectionContext, "whole_regions", wrong)
    with pytest.raises(acc.InternalError, match="invariant failed"):
        evaluate(_scenario(body), toy, people=False)


def test_pieces_that_do_not_add_up_give_way_to_the_whole_land(toy, monkeypatch):
    import territory.accounting as acc
    import territory.control as control_mod

    body = _transfer("give", "UA", "RU", '{ regions = ["Beta"] }')
    first = evaluate(_scenario(body), toy, people=False)
    # on a map whose pieces leave land out (as `after_control` may, by up to
    # REGION_NOISE_KM2 a region), the books start from each whole holding
    monkeypatch.setattr(control_mod, "PIECES_REL", -1.0)
    ctl = scenario_world.control()
    second = evaluate(_scenario(body), ctl, people=False)
    assert acc._partition_pieces(ctl, "UA")[0][0] is None
    for p in ("UA", "RU"):
        assert second.after_km2[p] == pytest.approx(first.after_km2[p], rel=1e-12)


def test_land_after_is_built_only_when_asked(toy):
    body = _transfer("give", "UA", "RU", '{ regions = ["Beta"] }')
    ev = evaluate(_scenario(body), toy, people=False)
    assert list(ev.after_geoms) == ["UA", "RU", "GREY", "DMZ"]
    pieces = ev.after_geoms._pieces
    assert "UA" not in pieces._built  # the direct contact needs Russia's only
    assert area_km2(ev.after_geoms["UA"]) == pytest.approx(ev.after_km2["UA"], rel=1e-9)
    assert ev.after_geoms["DMZ"].is_empty


# --- the land after, joined without seams ------------------------------------


def test_pieces_closer_than_the_grid_are_joined_without_a_seam(toy):
    """Two pieces 1e-12° apart are one land: no contact line runs between them.

    GEOS's union keeps the float gap, and both of its sides would count as
    contact line (the negative control); `join_pieces` snaps it shut.
    """
    from territory.accounting import join_pieces

    west = shapely.box(*box_at(0, 0, 1, 1))
    x = LON0 + 1 + 1e-12  # the second piece starts just past the first one's edge
    east = shapely.box(x, LAT0, LON0 + 1.5, LAT0 + 1)
    seam_km = geodesic_km(LON0 + 1, LAT0, LON0 + 1, LAT0 + 1)
    # each line loses 1e-6° (0.1 m) at either end, in the band around the land
    end_km = 1e-3
    plain = toy.contact_line(shapely.union_all([west, east]))
    assert length_km(plain) == pytest.approx(FRONT_KM + 2 * seam_km, abs=end_km)
    joined = join_pieces([west, east])
    assert length_km(toy.contact_line(joined)) == pytest.approx(FRONT_KM, abs=end_km)
    whole = area_km2(shapely.box(*box_at(0, 0, 1.5, 1)))
    assert area_km2(joined) == pytest.approx(whole, rel=1e-9)


def _on_shared_edges_km(line, pieces):
    """Length (km) of `line` within 1e-8° of the outlines of two of `pieces`."""
    parts = [p for g in pieces for p in shapely.get_parts(g)]
    near = [shapely.buffer(p.boundary, 1e-8) for p in parts]
    tree = shapely.STRtree(near)
    shared = [
        shapely.intersection(near[i], near[j])
        for i, j in tree.query(near, predicate="intersects").T
        if i < j
    ]
    return length_km(shapely.intersection(line, shapely.union_all(shared)))


@pytest.mark.data
@pytest.mark.parametrize(
    ("name", "when"),
    [
        # where a plain union of the pieces leaves seams (2.9 and 14.5 km):
        # whether it does rests on the float noise of the pieces' shared
        # edges, so the cases are maps where it does
        ("witkoff-2025-08-08", None),
        ("kremlin-memorandum-2026-02", "2025-11-20"),
    ],
)
def test_line_after_has_no_seams_and_no_order(record, name, when):
    """Russia's line after never runs along an edge two of its pieces share,
    and is the same however the pieces are joined."""
    from territory.accounting import join_pieces
    from territory.scenario import read_scenario

    sc = read_scenario(name)
    ctl = record.control(when or sc.as_of)
    ev = evaluate(sc, ctl, people=False)
    pieces = list(ev.after_geoms._pieces["RU"])
    assert len(pieces) > 1
    line = ev.after_geoms.contact_line("RU")
    # measured tile by tile (territory._line_tiles): the same to 1e-8
    assert ev.front_after_km == pytest.approx(length_km(line), rel=1e-8)
    assert _on_shared_edges_km(line, pieces) < 1e-3  # under a metre
    plain = ctl.contact_line(shapely.union_all(pieces))
    assert _on_shared_edges_km(plain, pieces) > 0.5  # the defect this prevents
    for order in (pieces[::-1], pieces[1:] + pieces[:1]):
        again = length_km(ctl.contact_line(join_pieces(order)))
        assert again == pytest.approx(ev.front_after_km, rel=1e-7)


# --- what is reused from the partition ---------------------------------------


@pytest.mark.data
@pytest.mark.parametrize(
    ("giver", "regions"),
    [
        ("UA", ("UA-14", "UA-09")),  # Alaska's Donbas
        ("RU", ("UA-23", "UA-65")),  # Zaporizhzhia and Kherson
        ("RU", ("UA-43",)),  # Crimea: no Ukrainian-held land beside it
        ("UA", None),  # every region
    ],
)
def test_whole_regions_by_region_is_the_partitions_measure(record, giver, regions):
    """A selection of all a giver's land in some regions is broken down by
    region from the partition's kept piece areas; a fresh measure of the
    selection in each region (`_by_region`) gives the same rows to 1e-9."""
    import territory.accounting as acc
    from territory.selection import SelectionContext

    ctl = record.control("2025-08-15")
    ids = tuple(ctl.regions.index) if regions is None else regions
    ctx = SelectionContext(ctl)
    geom = ctx.polygonal(ctx.in_regions(giver, ctl.partition.country[giver], ids, None))
    kept = acc._whole_regions_rows(geom, ctl, ctx)
    fresh = acc._by_region(geom, ctl)
    assert kept is not None
    assert [r[0] for r in kept] == [r["region_id"] for r in fresh]
    assert [r[1] for r in kept] == [r["name"] for r in fresh]
    for (_, _, a), r in zip(kept, fresh, strict=True):
        assert a == pytest.approx(r["area_km2"], rel=1e-9)
    # any other selection is measured
    held = ctl.partition.country[giver]
    part = ctx.polygonal(shapely.intersection(held, shapely.box(36, 46, 40, 50)))
    assert acc._whole_regions_rows(part, ctl, ctx) is None
