"""Accounting on the toy country: hand-computable areas, invariants, failures."""

import math

import pytest
import shapely

from territory.accounting import DMZ, evaluate
from territory.errors import ScenarioError
from territory.geodesy import area_km2
from territory.scenario import parse_scenario
from tests import scenario_world
from tests.shapes import cell_area_km2

HEAD = '[scenario]\ntitle = "Toy"\nas_of = 2025-01-01\n'
CELL = cell_area_km2(0, 0, 1, 1)  # one region, 12,308.46 km²


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
    pocket = cell_area_km2(0.1, 0.1, 0.2, 0.2)
    assert ev.before_km2["RU"] == pytest.approx(
        cell_area_km2(1.5, 0, 3, 1) + pocket, rel=1e-9
    )
    assert ev.before_km2["UA"] == pytest.approx(
        cell_area_km2(0, 0, 1.5, 1) - pocket, rel=1e-9
    )
    assert ev.land_km2 == pytest.approx(3 * CELL, rel=1e-9)


def test_whole_region_transfer_and_balance(toy):
    ev = evaluate(
        _scenario(_transfer("Beta west", "UA", "RU", '{ regions = ["Beta"] }')),
        toy,
        people=False,
    )
    moved = cell_area_km2(1, 0, 1.5, 1)
    (m,) = ev.moves
    assert m.area_km2 == pytest.approx(moved, rel=1e-9)
    assert [r["region_id"] for r in m.regions] == ["XB"]
    assert ev.lost_km2("UA") == ev.gained_km2("RU") == pytest.approx(moved, rel=1e-12)
    assert ev.net_km2("UA") == pytest.approx(-moved, rel=1e-12)
    assert ev.after_km2["RU"] == pytest.approx(ev.before_km2["RU"] + moved, rel=1e-9)
    assert ev.ratio is None  # Ukraine receives nothing
    shares = ev.parties_frame().set_index("party")
    assert shares.loc[["UA", "RU"], "share_after_pct"].sum() == pytest.approx(
        100, rel=1e-9
    )


def test_pockets_by_connectivity(toy):
    pocket = cell_area_km2(0.1, 0.1, 0.2, 0.2)
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
    # The block 1.5–3°E reaches into Gamma: connected to Russian-held land elsewhere.
    assert connected.moves[0].area_km2 == pytest.approx(
        cell_area_km2(1.5, 0, 2, 1), rel=1e-9
    )


def test_ratio_is_what_ukraine_gives_per_km2_received(toy):
    body = _transfer("give", "UA", "RU", '{ regions = ["Beta"] }') + _transfer(
        "get", "RU", "UA", '{ regions = ["Alpha"], connected = false }'
    )
    ev = evaluate(_scenario(body), toy, people=False)
    expected = cell_area_km2(1, 0, 1.5, 1) / cell_area_km2(0.1, 0.1, 0.2, 0.2)
    assert ev.ratio == pytest.approx(expected, rel=1e-9)


def test_inline_polygon_and_exclusion(toy):
    poly = '{ type = "Polygon", coordinates = [[[1.2, 0], [1.4, 0], [1.4, 1], [1.2, 1], [1.2, 0]]] }'
    strip = cell_area_km2(1.2, 0, 1.4, 1)
    ev = evaluate(
        _scenario(_transfer("strip", "UA", "RU", f"{{ geometry = {poly} }}")),
        toy,
        people=False,
    )
    # edges of the inline box run along meridians and parallels 0 and 1: exact
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
        cell_area_km2(1, 0, 1.5, 1) - strip, rel=1e-9
    )


def test_polygon_reaching_land_not_held_warns_and_moves_only_held(toy):
    poly = '{ type = "Polygon", coordinates = [[[1.4, 0], [1.6, 0], [1.6, 1], [1.4, 1], [1.4, 0]]] }'
    ev = evaluate(
        _scenario(_transfer("over the line", "UA", "RU", f"{{ geometry = {poly} }}")),
        toy,
        people=False,
    )
    assert ev.moves[0].area_km2 == pytest.approx(
        cell_area_km2(1.4, 0, 1.5, 1), rel=1e-9
    )
    assert len(ev.warnings) == 1
    assert "over the line" in ev.warnings[0] and "does not hold" in ev.warnings[0]


def test_distance_to_front_uses_true_distance(toy_no_pocket):
    ev = evaluate(
        _scenario(
            _transfer("band", "UA", "DMZ", "{ all = true, within_km_of_front = 10 }")
        ),
        toy_no_pocket,
        people=False,
    )
    # The front is the meridian 1.5°E from the equator to 1°N (110.57 km); the
    # band 10 km west of it, cut at the equator and at 1°N, is 10 × 110.57 km²
    # (to 0.2%: the band's rounded ends and the metric CRS's scale error).
    assert ev.moves[0].area_km2 == pytest.approx(10 * 110.574, rel=2e-3)
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
    assert ev.after_km2[DMZ] == pytest.approx(sides * 15 * 110.574, rel=3e-3)
    for m in ev.moves:
        assert m.target == DMZ
    assert ev.lost_km2("UA") == pytest.approx(15 * 110.574, rel=3e-3)


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
    # Before: the meridian 1.5°E over one degree of latitude (110.574 km); after:
    # the meridian 1°E, same length.
    assert ev.front_before_km == pytest.approx(110.574, rel=1e-4)
    assert ev.front_after_km == pytest.approx(110.574, rel=1e-4)
    assert math.isfinite(ev.front_after_km)
