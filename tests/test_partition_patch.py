"""A partition patched from a nearby map's equals a fresh one (territory._partition_patch).

Every area (by region and holder, removed by region and reason, each
country layer) to 1e-9 relative, and the length of each side's contact
line to 1e-9: on toy maps where the rules' decisions change (a border gap,
a seam, a lagoon, a pocket cut off), and on the record's maps, consecutive
and weeks apart.
"""

from __future__ import annotations

import pytest
import shapely

from territory._partition_patch import (
    PatchBase,
    _glued,
    _swapped,
    changed_edges,
    patch_partition,
    shared,
)
from territory.control import (
    BORDER_GAP,
    GREY,
    RU,
    SEAM,
    UA,
    WATER,
    Control,
    build_outline_band,
    contact_line,
    partition_land,
)
from territory.geodesy import area_km2, length_km
from tests.shapes import box_at, cell

REL = 1e-9


def _c(*b):
    """A densified cell given in degrees from the test origin (tests/shapes.py)."""
    return cell(*box_at(*b))


def _areas(partition) -> dict[tuple[str, str, str], float]:
    out: dict[tuple[str, str, str], float] = {}
    for frame, col in ((partition.pieces, "holder"), (partition.removed, "reason")):
        for rid, what, geom in zip(
            frame["region_id"], frame[col], frame.geometry, strict=True
        ):
            key = (col, rid, what)
            out[key] = out.get(key, 0.0) + area_km2(geom)
    for name, geom in partition.country.items():
        out[("country", "*", name)] = area_km2(geom)
    return out


def _lines_km(partition) -> dict[str, float]:
    land = partition.country["land"]
    band = build_outline_band.__wrapped__(land)  # built afresh: not a cached one
    return {
        h: length_km(contact_line(partition.country[h], land, outline_band=band))
        for h in (RU, GREY, UA)
    }


def assert_kept_areas(partition) -> None:
    """The areas a partition keeps are those of its geometries (REL)."""
    assert partition.piece_km2 is not None
    assert partition.country_km2 is not None
    for km2, geom in zip(partition.piece_km2, partition.pieces.geometry, strict=True):
        assert km2 == pytest.approx(area_km2(geom), rel=REL, abs=1e-9)
    for name, geom in partition.country.items():
        assert partition.country_km2[name] == pytest.approx(
            area_km2(geom), rel=REL, abs=1e-9
        )


def assert_same_partition(patched, fresh) -> None:
    """Every area and contact line of `patched` equals `fresh`'s (REL)."""
    assert_kept_areas(patched)
    got, want = _areas(patched), _areas(fresh)
    assert set(got) == set(want) or all(
        abs(got.get(k, 0.0)) < 1e-9 and abs(want.get(k, 0.0)) < 1e-9
        for k in set(got) ^ set(want)
    ), sorted(set(got) ^ set(want))
    for key, value in want.items():
        assert got.get(key, 0.0) == pytest.approx(value, rel=REL, abs=1e-9), key
    for holder, km in _lines_km(fresh).items():
        assert _lines_km(patched)[holder] == pytest.approx(km, rel=REL, abs=1e-9), (
            holder
        )


def _patched(regions, land, before, after):
    """The partition of `after` patched from `before`'s fresh one, and the fresh one."""
    base = PatchBase(before, partition_land(regions, land, before))
    out = patch_partition(regions, land, after, base)
    assert out is not None, "the patch declined a small change"
    return out[0], partition_land(regions, land, after)


# ------------------------------------------------------------------ toy maps
FRONT = (1.5, 0, 1.79, 1)  # occupied land of region XB, from the front to the sea


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            _c(*FRONT),
            _c(1.45, 0.4, 1.5, 0.45).union(_c(*FRONT)),
            id="the-front-advances",
        ),
        pytest.param(
            _c(*FRONT),
            _c(1.4, 0, 1.79, 1).difference(_c(1.5, 0, 1.7, 0.005)),
            id="a-border-gap-appears",
        ),
        pytest.param(
            _c(1.4, 0, 1.79, 1).difference(_c(1.5, 0, 1.7, 0.005)),
            _c(*FRONT),
            id="a-border-gap-goes",
        ),
        pytest.param(
            _c(*FRONT),
            _c(*FRONT).difference(_c(1.6, 0.3, 1.60005, 0.6)),
            id="a-seam-appears",
        ),
        pytest.param(
            _c(1.5, 0, 1.8, 1),
            _c(1.5, 0, 1.8, 1).difference(_c(1.75, 0.4, 1.8, 0.45)),
            id="a-lagoon-appears",
        ),
        pytest.param(
            _c(1.3, 0, 1.79, 1).difference(_c(1.35, 0.45, 1.45, 0.55)),
            _c(1.3, 0, 1.79, 1).difference(_c(1.35, 0.45, 1.45, 0.56)),
            id="an-encircled-town-grows",
        ),
    ],
)
def test_a_toy_map_patched_equals_it_afresh(synthetic_world, before, after):
    regions, land, _ = synthetic_world
    patched, fresh = _patched(regions, land, {"occupied": before}, {"occupied": after})
    assert_same_partition(patched, fresh)


def test_the_toy_decisions_are_those_expected(synthetic_world):
    # a guard on the cases above: each changes a decision of the partition
    regions, land, _ = synthetic_world
    gap = partition_land(
        regions,
        land,
        {"occupied": _c(1.4, 0, 1.79, 1).difference(_c(1.5, 0, 1.7, 0.005))},
    )
    seam = partition_land(
        regions,
        land,
        {"occupied": _c(*FRONT).difference(_c(1.6, 0.3, 1.60005, 0.6))},
    )
    lagoon = partition_land(
        regions,
        land,
        {"occupied": _c(1.5, 0, 1.8, 1).difference(_c(1.75, 0.4, 1.8, 0.45))},
    )
    assert not gap.country[BORDER_GAP].is_empty
    assert not seam.country[SEAM].is_empty
    assert WATER in set(lagoon.removed["reason"])


def test_an_islet_decided_by_a_change_beyond_the_window(synthetic_world):
    # An islet 11 km off a held coast: held while the main held land is the
    # nearer side.  The occupied land then spreads along the coast past it:
    # now nearer, it makes the islet water, though the change lies farther
    # from the islet than any window's margin.  Its reach (the nearer of the
    # two distances) brings it into a window.
    regions, _, _ = synthetic_world
    islet = _c(1.85, 0.5, 1.86, 0.51)
    land = _c(-1, -1, 1.7, 2).union(islet)
    before, after = _c(1.5, 0, 1.7, 0.2), _c(1.5, 0, 1.7, 0.7)
    patched, fresh = _patched(regions, land, {"occupied": before}, {"occupied": after})
    assert_same_partition(patched, fresh)
    held_before = partition_land(regions, land, {"occupied": before})
    assert WATER not in set(held_before.removed["reason"])  # held, then
    assert WATER in set(fresh.removed["reason"])  # water, now


def test_a_pocket_cut_off_far_beyond_the_change(synthetic_world):
    # The front closes a ring round held land 0.3° across: the piece cut off
    # reaches far beyond the window around the change; the patch either
    # widens to it or declines, never keeps the wrong decision.
    regions, land, _ = synthetic_world
    ring = _c(1.1, 0.2, 1.5, 0.6).difference(_c(1.15, 0.25, 1.45, 0.55))
    before = _c(*FRONT).union(ring.difference(_c(1.2, 0.2, 1.21, 0.25)))
    after = _c(*FRONT).union(ring)
    base = PatchBase(
        {"occupied": before}, partition_land(regions, land, {"occupied": before})
    )
    out = patch_partition(regions, land, {"occupied": after}, base)
    if out is not None:
        assert_same_partition(
            out[0], partition_land(regions, land, {"occupied": after})
        )


def test_the_same_polygons_give_the_same_partition(synthetic_world):
    regions, land, by_status = synthetic_world
    part = partition_land(regions, land, by_status)
    out = patch_partition(regions, land, dict(by_status), PatchBase(by_status, part))
    assert out is not None
    assert out[0] is part


def test_a_grey_zone_appearing_is_partitioned_afresh(synthetic_world):
    regions, land, by_status = synthetic_world
    base = PatchBase(by_status, partition_land(regions, land, by_status))
    grey = {**by_status, "grey_zone": _c(1.4, 0, 1.5, 1)}
    assert patch_partition(regions, land, grey, base) is None


def test_changed_edges_are_exact():
    a = shapely.box(0, 0, 1, 1)
    b = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0.5, 1 + 1e-15), (0, 1)])
    assert len(changed_edges({"occupied": a}, {"occupied": a})) == 0
    # an edge split by a vertex a hair off it: three edges changed
    assert len(changed_edges({"occupied": a}, {"occupied": b})) == 3


def test_a_country_layer_is_swapped_by_its_change_or_glued():
    old = shapely.box(0, 0, 4, 2)
    box = (1, -1, 3, 3)
    was = shapely.box(1, 0, 3, 2)
    # land lost inside the box (its cuts along the box as they were): swapped
    # in one overlay, as gluing gives it
    new = was.difference(shapely.box(1.5, 1.5, 2.5, 2))
    delta = shapely.symmetric_difference(new, was)
    out = _swapped(old, [(box, new, was, delta)])
    glued = _glued(old, [box], [new])
    assert out.area == pytest.approx(glued.area, rel=1e-12)
    assert out.length == pytest.approx(glued.length, rel=1e-12)
    assert out.length == pytest.approx(old.length + new.length - was.length)
    assert out.length == pytest.approx(13.0)
    # a delta that would crack the land (an outline no change explains): glued
    crack = shapely.box(1.5, 0.5, 2.5, 0.5 + 1e-13)
    out = _swapped(old, [(box, was, was, crack)])
    assert out.length == pytest.approx(old.length, rel=1e-12)
    assert shapely.get_num_interior_rings(out) == 0


def test_shared_geometries_are_the_earlier_objects(synthetic_world):
    regions, land, by_status = synthetic_world
    part = partition_land(regions, land, by_status)
    copy = partition_land(regions, land, by_status)  # equal, other objects
    out, sharing = shared(copy, part)
    assert sharing
    assert all(
        a is b for a, b in zip(out.pieces.geometry, part.pieces.geometry, strict=True)
    )
    assert out.country[RU] is part.country[RU]


# ------------------------------------------------------------------ the record
@pytest.mark.data
@pytest.mark.parametrize(
    "days",
    [
        # consecutive maps where a given piece's float noise once left a
        # contact line 1.5 km too long, and a snapshot's redraw (declined)
        pytest.param(
            ("2025-08-29", "2025-08-30", "2025-08-31", "2025-09-02"), id="consecutive"
        ),
        pytest.param(("2025-07-20", "2025-08-10"), id="three-weeks-apart"),
        pytest.param(("2025-05-01", "2025-05-29"), id="four-weeks-apart"),
    ],
)
def test_the_record_patched_equals_it_afresh(record, days):
    regions, land = record.regions, record.land
    snaps = [record.snapshot_for(d)[0] for d in days]
    first = record.read_snapshot(snaps[0])
    base = PatchBase(first, partition_land(regions, land, first))
    for snap in snaps[1:]:
        by_status = record.read_snapshot(snap)
        out = patch_partition(regions, land, by_status, base)
        fresh = partition_land(regions, land, by_status)
        assert out is not None, snap.label
        assert_same_partition(out[0], fresh)
        # the removed land's frame shared where none of it changed, else new
        same = len(out[0].removed) == len(base.partition.removed) and all(
            a is b
            for a, b in zip(
                out[0].removed.geometry, base.partition.removed.geometry, strict=True
            )
        )
        assert (out[0].removed is base.partition.removed) == same
        base = out[1]


@pytest.mark.data
def test_a_patched_map_keeps_what_was_measured_of_its_earlier_map(record):
    # A Control patched from the one before it takes over the areas of the
    # pieces the two share (the very same geometries): the figures are
    # those of a Control that measures everything itself.
    from territory.accounting import evaluate
    from territory.scenario import read_scenario

    sc = read_scenario("alaska-2025")
    regions, land = record.regions, record.land
    snaps = [record.snapshot_for(d)[0] for d in ("2025-08-15", "2025-08-16")]
    first = record.read_snapshot(snaps[0])
    part = partition_land(regions, land, first)
    part = part.__class__(
        part.pieces,
        part.removed,
        part.country,
        build_outline_band(part.country["land"]),
    )
    patched, _ = patch_partition(
        regions, land, record.read_snapshot(snaps[1]), PatchBase(first, part)
    )
    earlier = Control(snaps[0].as_of, snaps[0], None, regions, part)
    evaluate(sc, earlier)
    later = Control(snaps[1].as_of, snaps[1], None, regions, patched)
    later.inherit(earlier)
    kept = [k for k in later._cache if k[1] == "piece km2"]
    assert kept  # most pieces did not change
    for key in kept:
        assert later._cache[key] == area_km2(patched.pieces.geometry.iat[key[2]])
    alone = Control(snaps[1].as_of, snaps[1], None, regions, patched)
    a, b = evaluate(sc, later), evaluate(sc, alone)
    assert a.after_km2 == b.after_km2
    assert a.front_before_km == b.front_before_km
    assert [m.area_km2 for m in a.moves] == [m.area_km2 for m in b.moves]
