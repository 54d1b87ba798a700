"""Land neighbours: the tripoint table and the border lines drawn from it."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from territory import borders
from territory.borders import (
    SNAP_MAX_M,
    Neighbour,
    load_neighbours,
    max_distance_m,
    neighbour_borders,
)
from territory.errors import DataError
from territory.geodesy import GEOD, length_km

#: Lengths on land vs the official ones: within 2% plus 1.5 km per stretch end.
#: The outline (geoBoundaries, from OpenStreetMap) follows the border rivers
#: (Bug, Tisza, Prut, Dniester, Danube) in more detail than the official
#: figures, which makes it longer (Russia +1.1%, Romania +1.3%), and each end
#: moves with the snap of a tripoint given to ~1 km (Hungary -1.9%, Moldova -0.6%).
LENGTH_REL = 0.02
LENGTH_PER_END_KM = 1.5


@pytest.fixture(scope="module")
def ctx(record):
    from territory.selection import SelectionContext

    return SelectionContext(record.control("2025-08-15"))


def test_table_has_every_neighbour():
    nbs = load_neighbours()
    assert sorted(nbs) == ["BY", "HU", "MD", "PL", "RO", "RU", "SK"]
    assert len(nbs["RO"].stretches) == 2
    # consecutive stretches meet: each stretch starts where another ends
    ends = [s[1] for n in nbs.values() for s in n.stretches]
    starts = [s[0] for n in nbs.values() for s in n.stretches]
    assert (
        sum(1 for s in starts if s in ends) == len(starts) - 1
    )  # the Azov end is free


@pytest.mark.data
def test_every_tripoint_lies_on_the_outline(ctx):
    coords = shapely.get_coordinates(borders.outline_ring(ctx.country))
    for nb in load_neighbours().values():
        for stretch in nb.stretches:
            for lon, lat in stretch:
                _, _, d = GEOD.inv(
                    np.full(len(coords), lon), np.full(len(coords), lat), *coords.T
                )
                assert d.min() <= SNAP_MAX_M, (nb.code, lon, lat, d.min())


@pytest.mark.data
def test_lengths_against_the_official_ones(ctx):
    for code, nb in load_neighbours().items():
        km = length_km(ctx.borders[code])
        tol = LENGTH_REL * nb.official_length_km + LENGTH_PER_END_KM * 2 * len(
            nb.stretches
        )
        assert abs(km - nb.official_length_km) <= tol, (code, km)


@pytest.mark.data
def test_stretches_cover_the_land_border_without_overlap(ctx):
    parts = list(ctx.borders.values())
    union = shapely.union_all(parts)
    whole = ctx.border  # the outline where it runs on land
    assert length_km(whole) == pytest.approx(5_676.2, abs=0.1)
    assert sum(length_km(p) for p in parts) - length_km(union) < 0.01  # no overlap
    assert length_km(shapely.difference(whole, shapely.buffer(union, 1e-7))) < 0.01
    assert length_km(shapely.difference(union, shapely.buffer(whole, 1e-7))) < 0.01


@pytest.mark.data
def test_each_neighbour_is_one_line(ctx):
    # no holes in a border line: the land mask keeps DeepState's artefacts
    for code, line in ctx.borders.items():
        assert len(shapely.get_parts(line)) == (2 if code == "RO" else 1), code


@pytest.mark.data
def test_a_tripoint_far_from_the_outline_is_refused(ctx, monkeypatch):
    # the table once put the Belarus-Russia tripoint at 52.368°N, 28 km off
    wrong = {
        "BY": Neighbour(
            "BY", "Belarus", (((31.784, 52.368), (23.606, 51.513)),), 1084.0
        )
    }
    monkeypatch.setattr(borders, "load_neighbours", lambda: wrong)
    with pytest.raises(
        DataError, match=r"neighbours.csv: Belarus tripoint .* lies 28\.\d km"
    ):
        neighbour_borders(ctx.country, ctx.land_mask)


def test_max_distance_is_between_corners():
    box = (22.137, 44.185, 40.228, 52.379)  # Ukraine with its territorial sea
    bound_m = max_distance_m(box)
    assert bound_m / 1000 == pytest.approx(1_615.5, abs=0.5)
    rng = np.random.default_rng(0)
    a = rng.uniform(box[:2], box[2:], (20_000, 2))
    b = rng.uniform(box[:2], box[2:], (20_000, 2))
    _, _, d = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    assert d.max() <= bound_m
