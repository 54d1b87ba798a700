"""A contact line measured tile by tile, each tile once per content (territory._line_tiles)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

import territory._line_tiles as tiles
from territory.control import contact_line
from territory.geodesy import length_km
from tests.shapes import box_at, cell


def test_the_content_order_depends_on_the_rows_alone():
    rng = np.random.default_rng(7)
    seg = rng.normal(size=(500, 5))
    seg[:, 0] = rng.integers(0, 3, size=500)  # the piece
    seg = np.vstack([seg, seg[:20]])  # some rows twice
    shuffled = seg[rng.permutation(len(seg))]
    a = seg[tiles._content_order(seg)]
    b = shuffled[tiles._content_order(shuffled)]
    assert a.tobytes() == b.tobytes()
    assert sorted(map(tuple, a)) == sorted(map(tuple, seg))  # every row, once


def test_the_same_edges_in_another_order_are_not_measured_again():
    land = cell(*box_at(0, 0, 3, 3), step_deg=0.01)
    held = cell(*box_at(0, 0, 1.7, 3), step_deg=0.01)  # the front: x = 1.7
    want = length_km(contact_line(held, land))
    tiles._kept.clear()
    assert tiles.contact_length_km([held], land) == pytest.approx(want, rel=1e-9)
    measured = len(tiles._kept)
    assert measured > 1
    # the ring starting at another vertex, the other way round: the same edges
    ring = np.asarray(held.exterior.coords)[:-1]
    turned = shapely.Polygon(np.roll(ring, 17, axis=0)[::-1])
    assert shapely.equals(turned, held)
    again = tiles.contact_length_km([turned], land)
    assert len(tiles._kept) == measured  # every tile found by its content
    assert again == pytest.approx(want, rel=1e-9)
