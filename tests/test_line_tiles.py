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


def test_a_tile_no_move_reaches_keeps_the_other_lines_length():
    # Russia's land after a swap: the map's, less a pocket given back, with
    # a block taken.  The tiles no move reaches keep the map's line's length
    # (not measured again); the others are measured on the joined pieces;
    # the total is the line after's, measured whole.
    from territory.accounting import join_pieces

    land = cell(*box_at(0, 0, 4, 3), step_deg=0.01)
    before = cell(*box_at(0, 0, 2.6, 3), step_deg=0.01)  # the front: x = 2.6
    taken = cell(*box_at(2.6, 2.2, 3.1, 2.8), step_deg=0.01)  # up north
    pocket = cell(*box_at(1.9, 0.3, 2.6, 0.6), step_deg=0.01)  # down south
    kept = shapely.difference(before, pocket)
    after = [kept, taken]
    moved = [taken, pocket]
    joined = join_pieces(after)
    want = length_km(contact_line(joined, land))
    tiles._kept.clear()
    map_tiles = tiles.tile_lengths_km([before], land)
    tiles._kept.clear()
    got = tiles.tile_lengths_km(
        after, land, join=join_pieces, same_as=(map_tiles, moved)
    )
    assert sum(got.values()) == pytest.approx(want, rel=1e-9)
    reached = {
        k
        for k in got
        if any(
            shapely.intersects(
                g, shapely.box(*tiles._tile_box(*k, tiles.TILE_MARGIN_DEG))
            )
            for g in moved
        )
    }
    kept_tiles = set(got) - reached
    assert kept_tiles  # some of each
    assert reached
    for k in kept_tiles:
        assert got[k] == map_tiles[k]  # taken over
    assert len(tiles._kept) == len(reached)  # only those measured
    # negative control: a tile a move reaches is not taken over, or the
    # pocket's new line would be missing from the total
    wrong = tiles.tile_lengths_km(
        after, land, join=join_pieces, same_as=(map_tiles, [])
    )
    assert sum(wrong.values()) != pytest.approx(want, rel=1e-6)
