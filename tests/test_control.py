import math
import re

import pytest
import shapely

from territory.control import (
    BORDER_GAP,
    GREY,
    RU,
    SEAM,
    SLIVER_TOLERANCE_M,
    UA,
    WATER,
    edges_not_in,
    partition_land,
    polygon_edges,
    segment_hashes,
)
from territory.geodesy import area_km2
from tests.shapes import box_at, cell, cell_area_km2

# The synthetic world (tests/conftest.py) at 30°E 48°N; coordinates below are
# degrees from that origin (box_at), areas closed-form (cell_area_km2).
# Region XB is the cell 1..2 × 0..1; the land ends at +1.8 (the sea beyond);
# the lines 0 and 1 north are the state border.
#
# Tolerances:
# - EXACT (rel 1e-9): `area_km2` of a lon/lat cell agrees with the closed form
#   to ~1e-12 (edges along parallels are straight in lon/lat, which is what it
#   integrates), and overlays only round coordinates; 1e-9 leaves room for that.
# - CORNER_KM2: the sliver rule opens held land by the 1-km tolerance, which
#   rounds each right-angled corner it touches: a square of side t loses its
#   quarter disc, (1 − π/4)·t² = 0.215 km² at t = 1 km.  The local metric CRS
#   is true to 0.15% here, which changes this by far less than it rounds.
EXACT = 1e-9
T_KM = SLIVER_TOLERANCE_M / 1000
CORNER_KM2 = (1 - math.pi / 4) * T_KM**2 * 1.01


def _by(partition, region_id, holder):
    p = partition.pieces
    geoms = p.geometry[(p.region_id == region_id) & (p.holder == holder)]
    return area_km2(shapely.union_all(geoms.values)) if len(geoms) else 0.0


def _removed(partition, reason=None):
    r = partition.removed
    if reason is not None:
        r = r[r.reason == reason]
    return area_km2(shapely.union_all(r.geometry.values)) if len(r) else 0.0


def _c(*b):
    """A densified cell given in degrees from the origin."""
    return cell(*box_at(*b))


def _a(*b):
    """The closed-form area (km²) of that cell."""
    return cell_area_km2(*box_at(*b))


def test_partition_is_exact_on_hand_computable_shapes(synthetic_world):
    regions, land, by_status = synthetic_world
    part = partition_land(
        regions, land, by_status, sliver_tolerance_m=0, enclave_max_km2=0
    )
    # Alpha is all land, all held.
    assert _by(part, "XA", UA) == pytest.approx(_a(0, 0, 1, 1), rel=EXACT)
    assert _by(part, "XA", RU) == 0.0
    # Beta: occupied +1.5..2 (DeepState's coast reaches past the land mask, so it is land too).
    assert _by(part, "XB", RU) == pytest.approx(_a(1.5, 0, 2, 1), rel=EXACT)
    assert _by(part, "XB", UA) == pytest.approx(_a(1, 0, 1.5, 1), rel=EXACT)
    assert part.removed.empty


@pytest.mark.parametrize(
    ("occupied", "grey"),
    [
        pytest.param(_c(1.5, 0, 2, 1), None, id="occupied-to-the-coast"),
        pytest.param(
            _c(1.5, 0, 1.79, 1).difference(_c(1.6, 0.4, 1.65, 0.45)),
            None,
            id="encircled-town-and-sliver",
        ),
        pytest.param(
            _c(1.5, 0.1, 1.8, 1), _c(1.7, 0, 1.72, 0.1), id="grey-cut-coastal-piece"
        ),
        pytest.param(
            _c(1.4, 0, 1.79, 1).difference(_c(1.5, 0, 1.7, 0.005)),
            None,
            id="border-gap",
        ),
        pytest.param(
            _c(1.5, 0, 1.8, 1).difference(_c(1.75, 0.4, 1.8, 0.45)),
            None,
            id="lagoon",
        ),
        pytest.param(
            _c(1.5, 0, 1.79, 1).difference(_c(1.6, 0.3, 1.60005, 0.6)),
            None,
            id="seam",
        ),
    ],
)
def test_pieces_cover_the_land_less_what_was_removed(synthetic_world, occupied, grey):
    # Computed apart from the partition: each region's land is
    # region ∩ (land mask ∪ occupied ∪ grey) less the removed pieces; its
    # Russian-held and grey land is region ∩ (occupied ∪ grey) plus the border
    # gaps and seams; the pieces, measured one by one, must add up to both.
    regions, land, _ = synthetic_world
    status = {"occupied": occupied} | ({"grey_zone": grey} if grey else {})
    part = partition_land(regions, land, status)
    removed = shapely.union_all(part.removed.geometry.values)
    gaps = shapely.union(part.country[BORDER_GAP], part.country[SEAM])
    source = shapely.union(occupied, grey) if grey else occupied
    for rid, region in zip(regions.region_id, regions.geometry, strict=True):
        expected_land = area_km2(
            shapely.difference(
                shapely.intersection(region, shapely.union(land, source)), removed
            )
        )
        pieces = part.pieces[part.pieces.region_id == rid]
        assert sum(area_km2(g) for g in pieces.geometry) == pytest.approx(
            expected_land, rel=EXACT
        ), rid
        # a border gap goes to the occupier or the grey zone: test them together
        expected_ru_grey = area_km2(
            shapely.intersection(region, shapely.union(source, gaps))
        )
        assert _by(part, rid, RU) + _by(part, rid, GREY) == pytest.approx(
            expected_ru_grey, rel=EXACT
        ), rid


def test_coastal_sliver_is_removed_and_reported(synthetic_world):
    regions, land, _ = synthetic_world
    # DeepState's coast at +1.795°, the land mask's at +1.8°: a 0.005° strip of
    # "held" land between occupied territory and the sea, 372 m wide at 48°N,
    # under twice the 1 km tolerance: all of it goes.
    occupied = _c(1.5, 0, 1.795, 1)
    part = partition_land(
        regions, land, {"occupied": occupied}, sliver_tolerance_m=1000
    )
    strip_km2 = _a(1.795, 0, 1.8, 1)
    assert set(part.removed.reason) == {"sliver"}
    assert _removed(part) == pytest.approx(strip_km2, rel=EXACT)
    assert _by(part, "XB", UA) == pytest.approx(_a(1, 0, 1.5, 1), rel=EXACT)
    # Without a tolerance the strip stays, as Ukrainian-held land.
    raw = partition_land(
        regions, land, {"occupied": occupied}, sliver_tolerance_m=0, enclave_max_km2=0
    )
    assert _by(raw, "XB", UA) == pytest.approx(_a(1, 0, 1.5, 1) + strip_km2, rel=EXACT)


def test_wide_coastal_land_is_kept(synthetic_world):
    regions, land, _ = synthetic_world
    # Held coast +1.7..1.8 is 7.4 km wide at 48°N: real land, not a sliver.
    occupied = _c(1.5, 0, 1.7, 0.5)
    part = partition_land(regions, land, {"occupied": occupied})
    expected = _a(1, 0, 1.8, 1) - _a(1.5, 0, 1.7, 0.5)
    # Only the corner where the front meets the coast is rounded off.
    assert _by(part, "XB", UA) == pytest.approx(expected, abs=CORNER_KM2)
    assert _removed(part) <= CORNER_KM2


def test_encircled_town_stays_held(synthetic_world):
    # A Ukrainian-held town of 20.6 km² encircled by Russian-held land, 11 km
    # from the sea: nothing says it is water, so it stays held (the earlier
    # enclave rule removed it).  The strip +1.79..1.8 by the sea is a sliver.
    regions, land, _ = synthetic_world
    town = _c(1.6, 0.4, 1.65, 0.45)
    occupied = _c(1.5, 0, 1.79, 1).difference(town)
    part = partition_land(regions, land, {"occupied": occupied})
    assert _by(part, "XB", UA) == pytest.approx(
        _a(1, 0, 1.5, 1) + _a(1.6, 0.4, 1.65, 0.45), rel=EXACT
    )
    assert set(part.removed.reason) == {"sliver"}
    assert _removed(part) == pytest.approx(_a(1.79, 0, 1.8, 1), rel=EXACT)
    assert part.country[BORDER_GAP].is_empty


def test_piece_cut_off_by_the_grey_zone_stays_held(synthetic_world):
    # Held land on the coast, 66 km², cut off from the rest by a grey band
    # (+1.70..1.72) and by occupied land to the north: the old rule called it
    # an enclave, nearer occupied land than the held land, and removed it.
    regions, land, _ = synthetic_world
    occupied = _c(1.5, 0.1, 1.8, 1)
    grey = _c(1.7, 0, 1.72, 0.1)
    part = partition_land(regions, land, {"occupied": occupied, "grey_zone": grey})
    cut_off = _a(1.72, 0, 1.8, 0.1)
    main = _a(1, 0, 1.5, 1) + _a(1.5, 0, 1.7, 0.1)
    assert _by(part, "XB", GREY) == pytest.approx(_a(1.7, 0, 1.72, 0.1), rel=EXACT)
    # It stays, less the corner rounded off where the front meets the coast.
    assert _by(part, "XB", UA) == pytest.approx(main + cut_off, abs=CORNER_KM2)
    assert _removed(part, WATER) == 0.0


def test_inland_gap_at_the_border_goes_to_the_occupier(synthetic_world):
    # DeepState's occupied edge stops 556 m short of the state border (the
    # line 0 north) over +1.5..1.7: a strip cut off from the held land, far
    # from the sea, between the occupied polygon and the border.  It is the
    # occupier's, reported as a border gap, and never removed as water.
    regions, land, _ = synthetic_world
    strip = _c(1.5, 0, 1.7, 0.005)
    occupied = _c(1.4, 0, 1.79, 1).difference(strip)
    part = partition_land(regions, land, {"occupied": occupied})
    assert area_km2(part.country[BORDER_GAP]) == pytest.approx(
        _a(1.5, 0, 1.7, 0.005), rel=EXACT
    )
    assert _by(part, "XB", RU) == pytest.approx(_a(1.4, 0, 1.79, 1), rel=EXACT)
    assert _by(part, "XB", UA) == pytest.approx(_a(1, 0, 1.4, 1), rel=EXACT)
    assert set(part.removed.reason) == {"sliver"}  # only the strip by the sea


def test_wide_cut_off_land_at_the_border_stays_held(synthetic_world):
    # The same, but 5.6 km deep: more than the 1-km tolerance from the border,
    # so not two drawings of one line: an encircled held pocket, kept.
    regions, land, _ = synthetic_world
    pocket = _c(1.5, 0, 1.7, 0.05)
    occupied = _c(1.4, 0, 1.79, 1).difference(pocket)
    part = partition_land(regions, land, {"occupied": occupied})
    assert part.country[BORDER_GAP].is_empty
    assert _by(part, "XB", UA) == pytest.approx(
        _a(1, 0, 1.4, 1) + _a(1.5, 0, 1.7, 0.05), rel=EXACT
    )


@pytest.mark.parametrize(
    ("width_deg", "seam"),
    [
        # 0.00005° of longitude is 3.7 m at 48°N: under the 10-m seam width
        pytest.param(0.00005, True, id="3.7-m-seam"),
        # 0.0002° is 14.9 m: wider than any seam, an encircled strip, kept
        pytest.param(0.0002, False, id="14.9-m-strip"),
    ],
)
def test_seam_between_two_occupied_polygons_goes_to_the_occupier(
    synthetic_world, width_deg, seam
):
    # Two occupied polygons drawn separately miss each other by a few metres
    # over 33 km, inside occupied land: not a held pocket but a seam.
    regions, land, _ = synthetic_world
    slit = (1.6, 0.3, 1.6 + width_deg, 0.6)
    occupied = _c(1.5, 0, 1.79, 1).difference(_c(*slit))
    part = partition_land(regions, land, {"occupied": occupied})
    if seam:
        assert area_km2(part.country[SEAM]) == pytest.approx(_a(*slit), rel=EXACT)
        assert _by(part, "XB", RU) == pytest.approx(_a(1.5, 0, 1.79, 1), rel=EXACT)
        assert _by(part, "XB", UA) == pytest.approx(_a(1, 0, 1.5, 1), rel=EXACT)
    else:
        assert part.country[SEAM].is_empty
        assert _by(part, "XB", UA) == pytest.approx(
            _a(1, 0, 1.5, 1) + _a(*slit), rel=EXACT
        )
    assert set(part.removed.reason) == {"sliver"}  # only the strip by the sea


def test_gap_between_grey_land_and_the_border_goes_to_the_grey_zone(
    synthetic_world,
):
    regions, land, _ = synthetic_world
    occupied = _c(1.5, 0, 1.79, 1)
    grey = _c(1.4, 0.005, 1.5, 1).union(_c(1.3, 0, 1.4, 1))  # stops short at +1.4..1.5
    part = partition_land(regions, land, {"occupied": occupied, "grey_zone": grey})
    gap = _a(1.4, 0, 1.5, 0.005)
    assert area_km2(part.country[BORDER_GAP]) == pytest.approx(gap, rel=EXACT)
    assert _by(part, "XB", GREY) == pytest.approx(_a(1.3, 0, 1.5, 1), rel=EXACT)
    assert _by(part, "XB", RU) == pytest.approx(_a(1.5, 0, 1.79, 1), rel=EXACT)


@pytest.mark.parametrize(
    ("lagoon", "spit"),
    [
        pytest.param((1.75, 0.4, 1.8, 0.45), None, id="lagoon-open-to-the-sea"),
        # behind a 740-m spit DeepState draws as occupied: within 1 km of the sea
        pytest.param(
            (1.74, 0.4, 1.79, 0.45), (1.79, 0.4, 1.8, 0.45), id="lagoon-behind-a-spit"
        ),
    ],
)
def test_lagoon_drawn_as_water_is_removed(synthetic_world, lagoon, spit):
    # DeepState leaves a lagoon out of its polygon; the land mask fills it.
    regions, land, _ = synthetic_world
    occupied = _c(1.5, 0, 1.8, 1).difference(_c(*lagoon))
    part = partition_land(regions, land, {"occupied": occupied})
    lagoon_km2 = _a(*lagoon)
    # All of it leaves the land: as water, less the corners the sliver rule
    # rounds off where it meets the sea or the spit (two corners, each CORNER_KM2).
    assert _removed(part) == pytest.approx(lagoon_km2, rel=EXACT)
    assert _removed(part, WATER) >= lagoon_km2 - 2 * CORNER_KM2
    assert _by(part, "XB", UA) == pytest.approx(_a(1, 0, 1.5, 1), rel=EXACT)
    assert part.country[BORDER_GAP].is_empty
    if spit:
        assert _by(part, "XB", RU) == pytest.approx(
            _a(1.5, 0, 1.8, 1) - lagoon_km2, rel=EXACT
        )


def test_islet_nearer_held_land_stays(synthetic_world):
    # A held islet 1.5 km off a held coast, 22 km from occupied land (Zmiinyi,
    # off Odesa's coast, is the real case): nearer its own side, it stays.
    regions, _, _ = synthetic_world
    land = _c(-1, -1, 1.7, 2).union(_c(1.72, 0.5, 1.73, 0.52))
    occupied = _c(1.5, 0, 1.7, 0.3)
    part = partition_land(regions, land, {"occupied": occupied})
    assert _removed(part, WATER) == 0.0
    held = shapely.union_all(part.pieces.geometry[part.pieces.holder == UA].values)
    assert held.covers(_c(1.72, 0.5, 1.73, 0.52))


def test_grey_zone_is_disjoint_from_occupied(synthetic_world):
    regions, land, _ = synthetic_world
    occupied = _c(1.5, 0, 1.8, 1)
    grey = _c(1.4, 0, 1.6, 1)  # overlaps occupied by 0.1°
    part = partition_land(regions, land, {"occupied": occupied, "grey_zone": grey})
    assert _by(part, "XB", GREY) == pytest.approx(_a(1.4, 0, 1.5, 1), rel=EXACT)
    assert _by(part, "XB", UA) == pytest.approx(_a(1, 0, 1.4, 1), rel=EXACT)
    assert _by(part, "XB", RU) == pytest.approx(_a(1.5, 0, 1.8, 1), rel=EXACT)


def test_removed_land_is_a_hidden_map_layer_with_its_total(synthetic_world):
    # The control map draws the removed pieces in a layer that is off by
    # default, with their total in its name and each piece's area in its tooltip.
    import datetime as dt

    from territory.control import Control, Snapshot
    from territory.maps import render_control, to_html
    from tests.pages import embedded_geojson

    regions, land, _ = synthetic_world
    occupied = _c(1.5, 0, 1.8, 1).difference(_c(1.75, 0.4, 1.8, 0.45))
    snap = Snapshot("toy", "toy map", dt.date(2025, 1, 1), None, grey_zone=False)
    ctl = Control(
        as_of=snap.as_of,
        snapshot=snap,
        note=None,
        regions=regions.assign(official_area_km2=8_200.0),
        partition=partition_land(regions, land, {"occupied": occupied}),
    )
    page = to_html(render_control(ctl), self_contained=False)
    removed_km2 = ctl.totals(official_area_km2=1.0)["removed_km2"]
    # removed pieces are decided on the snap-rounded held land and cut from
    # the exact one grown by HELD_GRID_DEG (1e-9°, 0.1 mm): a film of that
    # width along a neighbour, 1 m² at most on this 20-km² lagoon
    assert removed_km2 == pytest.approx(_a(1.75, 0.4, 1.8, 0.45), rel=1e-7)
    name = f"Removed from the land ({removed_km2:,.0f} km\\u00b2)"
    # off by default: the layer control lists it, the page never adds it
    (layer,) = re.findall(rf'"{re.escape(name)}" : (feature_group_\w+)', page)
    assert f"{layer}.addTo(" not in page
    assert "feature_group_" in page
    assert ".addTo(map_" in page
    feats = [
        f["properties"]
        for fc in embedded_geojson(page)
        for f in fc["features"]
        if "reason" in f["properties"]
    ]
    assert {f["reason"] for f in feats} == {"sliver", "water"}
    # each tooltip area is rounded to 0.1 km²
    assert sum(float(f["area_km2"]) for f in feats) == pytest.approx(
        removed_km2, abs=0.05 * len(feats)
    )


def test_missing_crs_is_an_error(synthetic_world):
    from territory.errors import CRSError

    regions, land, by_status = synthetic_world
    with pytest.raises(CRSError, match="has no CRS"):
        partition_land(regions.set_crs(None, allow_override=True), land, by_status)


def test_nowhere_wide_is_the_erosion_test():
    # A piece is a seam when eroding it by half `SEAM_WIDTH_M` leaves nothing;
    # the quick answer from a point deep inside agrees with the erosion, on
    # both sides of the width and for shapes whose inner point is off-centre.
    from territory.control import SEAM_WIDTH_M, nowhere_wide

    shapes = []
    for width in (2.0, 9.0, 9.9, 10.0, 10.1, 11.0, 12.0, 13.0, 40.0):
        strip = shapely.box(0.0, 0.0, 500.0, width)
        shapes += [
            strip,
            shapely.affinity.rotate(strip, 33.0, origin=(0, 0)),
            strip.union(shapely.box(0.0, 0.0, width, 300.0)),  # an L
            shapely.Point(0, 0).buffer(width / 2, quad_segs=2),
            shapely.Polygon([(0, 0), (600, 0), (0, 2 * width)]),  # a wedge
            shapely.MultiPolygon(
                [shapely.box(0, 0, 3, 3), shapely.box(10, 0, 10 + width, 80)]
            ),
        ]
    for pm in shapes:
        assert nowhere_wide(pm) == pm.buffer(-SEAM_WIDTH_M / 2).is_empty, pm.wkt[:60]


def test_nowhere_wide_many_answers_each_shape_as_its_erosion():
    # All shapes asked at once (the quick answer for some, the erosion for
    # the others) give each shape's own erosion answer, in their order.
    from territory.control import SEAM_WIDTH_M, nowhere_wide_many

    shapes = [
        shapely.box(0.0, 0.0, 500.0, width).buffer(0.0)
        for width in (40.0, 2.0, 11.0, 9.9, 10.1, 300.0, 9.0)
    ]
    shapes.append(shapely.Polygon([(0, 0), (600, 0), (0, 20)]))  # a wedge
    got = nowhere_wide_many(shapes)
    assert (
        got.tolist()
        == [s.buffer(-SEAM_WIDTH_M / 2).is_empty for s in shapes]
        == [False, True, False, True, False, False, True, False]
    )


def _toy_sides_m():
    """Sides around a few pieces of held land, in a local metric CRS (metres).

    The state border runs along y = 1,500; the occupier's land is north of
    y = 2,000 m west of x = 5,000 (two blocks 5 m apart) with a small block
    east of x = 8,004; two grey blocks lie between.  What `given_to` reads of
    a map, as its callers hand it in: in the local metric CRS of the
    partition, which is true to 0.15% over the country, so the pieces here
    are drawn in metres directly.
    """
    t = SLIVER_TOLERANCE_M
    occupied = shapely.union_all(
        [
            shapely.box(0, 2_000, 5_000, 4_000),
            shapely.box(0, 4_005, 5_000, 6_000),
            shapely.box(8_004, 3_500, 9_000, 3_600),
        ]
    )
    grey = shapely.union_all(
        [
            shapely.box(6_000, 2_000, 8_000, 4_000),
            shapely.box(5_004, 2_000, 5_996, 2_800),
        ]
    )
    border = shapely.LineString([(-10_000, 1_500), (20_000, 1_500)])
    m = {"occupied": occupied, "grey": grey, "border": border}
    m["border_band"] = border.buffer(t)
    for g in m.values():
        shapely.prepare(g)
    pieces = [
        shapely.box(0, 4_000, 5_000, 4_005),  # a seam between occupied blocks
        shapely.box(6_500, 1_500, 7_000, 2_000),  # by the border, under grey
        shapely.box(1_000, 1_500, 2_000, 2_000),  # by the border, under occupied
        # seams between the two sides: 500 m along occupied, 300 m along grey
        shapely.box(5_000, 2_500, 5_004, 3_000),
        # and 1,600 m along grey, 100 m along occupied
        shapely.box(8_000, 2_000, 8_004, 3_600),
        shapely.box(1_000, 1_000, 1_400, 1_400),  # touches nothing
        shapely.box(5_996, 2_000, 6_000, 2_700),  # a seam between grey blocks
        # touches occupied and the border, reaches past the band, wide
        shapely.box(3_000, -1_000, 4_000, 2_000),
    ]
    return pieces, m, t


def test_given_to_many_answers_each_piece_as_alone():
    # Every piece asked at once gets the answer it gets alone, and the
    # answers are the rule's: seams to the side touching them (the longer
    # shared outline when both do), strips along the border to the side
    # above them; a piece touching nothing, or wider than the border's band
    # and than a seam, stays held.
    from territory.control import given_to, given_to_many

    pieces, m, t = _toy_sides_m()
    alone = [given_to(p, m, sliver_tolerance_m=t) for p in pieces]
    assert given_to_many(pieces, m, sliver_tolerance_m=t) == alone
    assert alone == [
        (SEAM, RU),
        (BORDER_GAP, GREY),
        (BORDER_GAP, RU),
        (SEAM, RU),
        (SEAM, GREY),
        None,
        (SEAM, GREY),
        None,
    ]
    # in another order, and with no piece at all
    assert given_to_many(pieces[::-1], m, sliver_tolerance_m=t) == alone[::-1]
    assert given_to_many([], m, sliver_tolerance_m=t) == []


def _border_and_pieces():
    """A winding border at 48–49°N and pieces around it, in its metric CRS.

    The border wanders with 2,000 vertices 30–300 m apart (random turns, a
    fixed seed); the pieces are small polygons (1 m to 3 km across) set at
    0–1.1 band widths from a vertex of it, and strips following it at up
    to 0.9 band widths.
    """
    import numpy as np

    from territory.crs import metric_crs_for, transform

    rng = np.random.default_rng(7)
    heading = np.cumsum(rng.normal(0, 0.5, 2_000))
    step_deg = rng.uniform(30, 300, 2_000) / 111_000
    lon = 30.0 + np.cumsum(step_deg * np.cos(heading) / math.cos(math.radians(48.5)))
    lat = 48.5 + np.cumsum(step_deg * np.sin(heading))
    border = shapely.LineString(np.column_stack([lon, lat]))
    wkt = metric_crs_for(border).to_wkt()
    border_m = transform(border, "EPSG:4326", wkt)
    t = SLIVER_TOLERANCE_M
    xy = shapely.get_coordinates(border_m)
    n = 1_500
    at = xy[rng.integers(0, len(xy), n)]
    turn = rng.uniform(0, 2 * math.pi, n)
    away = rng.uniform(0, 1.1, n) * t
    size = np.exp(rng.uniform(math.log(1), math.log(3_000), n))
    centres = shapely.points(
        at[:, 0] + away * np.cos(turn), at[:, 1] + away * np.sin(turn)
    )
    pieces = list(shapely.buffer(centres, size / 2, quad_segs=2))
    for k in range(0, 1_900, 100):  # strips along the border
        stretch = shapely.LineString(xy[k : k + 60])
        offset = float(rng.uniform(0, 0.9)) * t
        pieces.append(
            shapely.buffer(stretch, offset / 2 + 1).difference(
                shapely.buffer(stretch, max(offset / 2 - 50, 0))
            )
        )
    pieces.append(shapely.Polygon())
    return border, wkt, border_m, np.asarray(pieces, dtype=object), t


def test_pieces_shown_near_the_border_lie_in_its_band():
    # `surely_near` shows a piece lies within BAND_SURE_SHARE of the band's
    # width of the border by boxes alone: every piece it shows lies in the
    # band GEOS builds (`build_static_buffer`), near or far from its edge,
    # so the band need not be built for them.  It shows most pieces well
    # inside, with the whole border or any part of it around the piece.
    # Negative control: claiming more than GEOS's buffer reaches (2% past
    # the band's width) claims pieces the band leaves out.
    import numpy as np

    from territory.control import BAND_SURE_SHARE, build_static_buffer, surely_near

    border, wkt, border_m, pieces, t = _border_and_pieces()
    band = build_static_buffer(border, wkt, t)
    shapely.prepare(border_m)
    covered = shapely.covers(band, pieces)
    sure = surely_near(border_m, pieces, BAND_SURE_SHARE * t)
    assert not (sure & ~covered).any()
    assert not sure[-1]  # the empty piece: never shown
    # the pieces whose outline (they are disks and rings) lies within 0.8
    # band widths of the border, to 25 m
    edge = shapely.segmentize(shapely.boundary(pieces[:-1]), 50.0)
    xy, owner = shapely.get_coordinates(edge, return_index=True)
    beyond = ~shapely.dwithin(border_m, shapely.points(xy), 0.8 * t - 25)
    well_inside = covered & (np.bincount(owner[beyond], minlength=len(pieces)) == 0)
    assert well_inside.sum() > 300
    assert sure[well_inside].mean() > 0.95
    strips = np.arange(1_500, len(pieces) - 1)
    assert sure[strips].all()
    # a part of the border around each piece shows the same pieces, or fewer
    part = shapely.clip_by_rect(
        border_m, *shapely.bounds(shapely.union_all(pieces[:50]))
    )
    shown = surely_near(part, pieces[:50], BAND_SURE_SHARE * t)
    assert not (shown & ~sure[:50]).any()
    over = surely_near(border_m, pieces, 1.02 * t)
    assert (over & ~covered).any()


def test_the_border_band_is_asked_only_of_pieces_not_shown():
    # `in_border_band` answers as the band does for every piece, and makes
    # the band (here: counted) only when a piece is not shown without it.
    import numpy as np

    from territory.control import LazyLayers, build_static_buffer, in_border_band

    border, wkt, border_m, pieces, t = _border_and_pieces()
    band = build_static_buffer(border, wkt, t)
    made = []

    def layers():
        return LazyLayers(
            {"border": border_m},
            {"border_band": lambda: made.append(1) or band},
        )

    covered = shapely.covers(band, pieces)
    assert np.array_equal(in_border_band(pieces, layers(), t), covered)
    assert made == [1]
    near = [p for p, c in zip(pieces, covered, strict=True) if c][:20]
    assert in_border_band(near, layers(), t).all()
    assert made == [1]  # the band was not made for pieces well inside it
    assert len(in_border_band([], layers(), t)) == 0


def test_exact_pieces_cut_each_piece_as_alone():
    # Pieces cut at once, each with its own held land and side, are each the
    # piece `exact_piece` cuts alone, to the bit; an empty piece is itself.
    from territory.control import exact_piece, exact_pieces

    held = shapely.box(30.0, 48.0, 30.2, 48.1).difference(
        shapely.box(30.05, 48.02, 30.1, 48.04)
    )
    side = shapely.box(30.05, 48.02, 30.1, 48.04)
    pieces = [
        shapely.box(30.0, 48.0, 30.05, 48.02),
        shapely.Polygon(),
        shapely.box(30.1, 48.04, 30.2, 48.1),
    ]
    helds = [held, held.buffer(0.001), held]
    sides = [side, side, side.buffer(0.0005)]
    import numpy as np

    got = exact_pieces(
        pieces,
        np.array(helds, dtype=object),
        joined_to=np.array(sides, dtype=object),
    )
    for g, p, h, s in zip(got, pieces, helds, sides, strict=True):
        assert shapely.to_wkb(g) == shapely.to_wkb(exact_piece(p, h, joined_to=s))
    assert got[1] is pieces[1]
    assert not got[0].is_empty
    assert not got[2].is_empty
    # one held land for all, no side
    got = exact_pieces(pieces, held)
    for g, p in zip(got, pieces, strict=True):
        assert shapely.to_wkb(g) == shapely.to_wkb(exact_piece(p, held))


def test_groups_from_some_seeds_are_those_groups():
    # Starting from some seeds gives, of all the groups, those holding one.
    import numpy as np

    from territory.control import touching_groups

    rng = np.random.default_rng(5)
    for _ in range(20):
        corners = rng.integers(0, 12, size=(40, 2))
        parts = [shapely.box(x, y, x + 1, y + 1) for x, y in corners.tolist()]
        seeds = sorted(rng.choice(40, size=25, replace=False).tolist())
        start = sorted(rng.choice(seeds, size=6, replace=False).tolist())
        every = touching_groups(parts, seeds)
        some = touching_groups(parts, seeds, start)
        want = [g for g in every if any(k in g for k in start)]
        assert sorted(some) == sorted(want)


def test_edges_are_the_same_whichever_way_a_ring_runs():
    # Ukraine's latitudes; a square with a hole, and the same run the other way
    outer = [(36.0, 48.0), (36.2, 48.0), (36.2, 48.2), (36.0, 48.2)]
    hole = [(36.05, 48.05), (36.1, 48.05), (36.1, 48.1)]
    a = shapely.Polygon(outer, [hole])
    b = shapely.Polygon(outer[::-1], [hole[::-1]])
    ea, eb = polygon_edges(a), polygon_edges(b)
    assert ea.shape == (7, 4)  # four edges and three, none from ring to ring
    assert (ea[:, 0] <= ea[:, 2]).all()
    assert sorted(map(tuple, ea)) == sorted(map(tuple, eb))
    assert polygon_edges(shapely.Polygon()).shape == (0, 4)


def test_edges_not_in_confirms_each_hash_on_the_coordinates():
    old = polygon_edges(shapely.box(36.0, 48.0, 36.1, 48.1))
    new = polygon_edges(
        shapely.Polygon(
            [(36.0, 48.0), (36.1, 48.0), (36.1, 48.1), (36.05, 48.12), (36.0, 48.1)]
        )
    )

    def sort(seg):
        h = segment_hashes(seg)
        order = h.argsort()
        return h[order], seg[order]

    oh, os_ = sort(old)
    # the two edges of the roof are new; the old top edge is gone
    assert len(edges_not_in(segment_hashes(new), new, oh, os_)) == 2
    nh, ns = sort(new)
    assert len(edges_not_in(segment_hashes(old), old, nh, ns)) == 1
    # a collision: every hash equal, so each edge is checked on its
    # coordinates against the one edge of that hash; only that edge is the same
    same = segment_hashes(new)[:1].repeat(len(new))
    assert len(edges_not_in(same, new, same[:1], new[:1])) == len(new) - 1
    far = polygon_edges(shapely.box(37.0, 49.0, 37.1, 49.1))[:1]
    assert len(edges_not_in(same, new, same[:1], far)) == len(new)


def test_the_country_is_the_union_of_its_regions_coverage_or_not():
    # Regions meeting along shared edges are joined by dropping those edges
    # (a coverage union); regions that overlap, or whose shared outlines
    # do not match vertex for vertex, by a general union: the same country
    # either way, with its holes and its separate parts.
    from territory.control import static_layers

    west = shapely.Polygon(
        [box_at(0, 0, 1, 1)[:2], (30.6, 48.0), (30.6, 49.0), (30.0, 49.0)]
    )
    east = shapely.Polygon([(30.6, 48.0), (31.0, 48.0), (31.0, 49.0), (30.6, 49.0)])
    lake = shapely.box(*box_at(0.2, 0.4, 0.4, 0.6))
    island = shapely.box(*box_at(2, 0, 2.5, 0.5))
    land = shapely.box(*box_at(-1, -1, 4, 2))
    cases = {
        "coverage": [west.difference(lake), east, island],
        "overlapping": [shapely.box(*box_at(0, 0, 0.7, 1)), east, island],
        # the shared edge has a vertex on one side only: not a valid coverage
        "unmatched": [
            west,
            shapely.Polygon(
                [(30.6, 48.0), (31.0, 48.0), (31.0, 49.0), (30.6, 49.0), (30.6, 48.5)]
            ),
            island,
        ],
    }
    for name, regions in cases.items():
        country, _, _ = static_layers(tuple(regions), land)
        want = shapely.union_all(regions)
        assert shapely.is_valid(country), name
        assert shapely.equals(country, want), name
        assert country.area == pytest.approx(want.area, rel=1e-12), name
        assert shapely.get_num_geometries(country) == 2, name
    country, _, _ = static_layers(tuple(cases["coverage"]), land)
    assert len(shapely.get_parts(country)[0].interiors) == 1  # the lake
