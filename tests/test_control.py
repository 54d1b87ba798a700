import pytest
import shapely

from territory.control import GREY, RU, UA, partition_land
from territory.geodesy import area_km2
from tests.shapes import box_at, cell, cell_area_km2

# The synthetic world (tests/conftest.py) at 30°E 48°N; coordinates below are
# degrees from that origin (box_at), areas closed-form (cell_area_km2).


def _by(partition, region_id, holder):
    p = partition.pieces
    geoms = p.geometry[(p.region_id == region_id) & (p.holder == holder)]
    return area_km2(shapely.union_all(geoms.values)) if len(geoms) else 0.0


def test_partition_is_exact_on_hand_computable_shapes(synthetic_world):
    regions, land, by_status = synthetic_world
    part = partition_land(
        regions, land, by_status, sliver_tolerance_m=0, enclave_max_km2=0
    )
    # Alpha is all land, all held.
    assert _by(part, "XA", UA) == pytest.approx(
        cell_area_km2(*box_at(0, 0, 1, 1)), rel=1e-6
    )
    assert _by(part, "XA", RU) == 0.0
    # Beta: occupied +1.5..2 (DeepState's coast reaches past the land mask, so it is land too).
    assert _by(part, "XB", RU) == pytest.approx(
        cell_area_km2(*box_at(1.5, 0, 2, 1)), rel=1e-6
    )
    assert _by(part, "XB", UA) == pytest.approx(
        cell_area_km2(*box_at(1, 0, 1.5, 1)), rel=1e-6
    )
    assert part.removed.empty


def test_parts_add_up_to_the_whole(synthetic_world):
    regions, land, by_status = synthetic_world
    part = partition_land(regions, land, by_status)
    for rid in regions.region_id:
        pieces = part.pieces[part.pieces.region_id == rid]
        whole = area_km2(shapely.union_all(pieces.geometry.values))
        assert sum(area_km2(g) for g in pieces.geometry) == pytest.approx(
            whole, rel=1e-9
        )


def test_coastal_sliver_is_removed_and_reported(synthetic_world):
    regions, land, _ = synthetic_world
    # DeepState's coast at +1.795°, the land mask's at +1.8°: a 0.005° strip of
    # "held" land between occupied territory and the sea, 366–373 m wide at
    # 49–48°N (557 m on the equator), under twice the 1 km tolerance.
    occupied = cell(*box_at(1.5, 0, 1.795, 1))
    part = partition_land(
        regions, land, {"occupied": occupied}, sliver_tolerance_m=1000
    )
    strip_km2 = cell_area_km2(*box_at(1.795, 0, 1.8, 1))
    removed = sum(area_km2(g) for g in part.removed.geometry)
    assert removed == pytest.approx(strip_km2, rel=0.01)
    assert _by(part, "XB", UA) == pytest.approx(
        cell_area_km2(*box_at(1, 0, 1.5, 1)), rel=1e-4
    )
    # Without a tolerance the strip stays, as Ukrainian-held land.
    raw = partition_land(
        regions, land, {"occupied": occupied}, sliver_tolerance_m=0, enclave_max_km2=0
    )
    assert _by(raw, "XB", UA) == pytest.approx(
        cell_area_km2(*box_at(1, 0, 1.5, 1)) + strip_km2, rel=1e-6
    )


def test_wide_coastal_land_is_kept(synthetic_world):
    regions, land, _ = synthetic_world
    # Held coast +1.7..1.8 is 7.4 km wide at 48°N: real land, not a sliver.
    occupied = cell(*box_at(1.5, 0, 1.7, 0.5))
    part = partition_land(regions, land, {"occupied": occupied})
    held = _by(part, "XB", UA)
    expected = cell_area_km2(*box_at(1, 0, 1.8, 1)) - cell_area_km2(
        *box_at(1.5, 0, 1.7, 0.5)
    )
    # Opening rounds the corner where the front meets the coast: < 0.1 km² here.
    assert held == pytest.approx(expected, abs=0.5)


def test_small_hole_inside_occupied_is_an_enclave(synthetic_world):
    regions, land, _ = synthetic_world
    lake = cell(*box_at(1.6, 0.4, 1.65, 0.45))  # ≈20.6 km² hole in DeepState's polygon
    occupied = cell(*box_at(1.5, 0, 1.79, 1)).difference(lake)
    part = partition_land(regions, land, {"occupied": occupied})
    reasons = set(part.removed.reason)
    assert "enclave" in reasons
    enclave = area_km2(
        shapely.union_all(
            part.removed.geometry[part.removed.reason == "enclave"].values
        )
    )
    assert enclave >= cell_area_km2(*box_at(1.6, 0.4, 1.65, 0.45)) * 0.99


def test_grey_zone_is_disjoint_from_occupied(synthetic_world):
    regions, land, _ = synthetic_world
    occupied = cell(*box_at(1.5, 0, 1.8, 1))
    grey = cell(*box_at(1.4, 0, 1.6, 1))  # overlaps occupied by 0.1°
    part = partition_land(regions, land, {"occupied": occupied, "grey_zone": grey})
    assert _by(part, "XB", GREY) == pytest.approx(
        cell_area_km2(*box_at(1.4, 0, 1.5, 1)), rel=1e-6
    )
    assert _by(part, "XB", UA) == pytest.approx(
        cell_area_km2(*box_at(1, 0, 1.4, 1)), rel=1e-6
    )
    total = sum(_by(part, "XB", h) for h in (RU, GREY, UA))
    assert total == pytest.approx(cell_area_km2(*box_at(1, 0, 1.8, 1)), rel=1e-6)


def test_missing_crs_is_an_error(synthetic_world):
    from territory.errors import CRSError

    regions, land, by_status = synthetic_world
    with pytest.raises(CRSError, match="has no CRS"):
        partition_land(regions.set_crs(None, allow_override=True), land, by_status)
