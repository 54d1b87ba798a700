"""What a Control keeps for later evaluations never carries a caller's edits.

The Controls of one snapshot share what they compute from the map alone
(`Control.derived`): each side's edge, areas, unions of regions.  Only values
nobody can change in place are kept, and what a caller gets is a copy or is
itself immutable, so an edit to a returned object reaches no other Control
and no later evaluation.
"""

from __future__ import annotations

import pytest
import shapely

from territory.accounting import evaluate
from territory.control import _immutable
from territory.errors import InternalError
from territory.scenario import parse_scenario
from territory.selection import SelectionContext
from tests import scenario_world

BODY = """
[scenario]
title = "Toy"
as_of = 2025-01-01

[[transfers]]
name = "Beta"
from = "UA"
to = "RU"
select = { regions = ["Beta"] }

[[transfers]]
name = "Pocket"
from = "RU"
to = "UA"
select = { regions = ["Alpha"], connected = false }

[[zones]]
name = "Zone"
withdraw = ["UA", "RU"]
depth_km = 5
"""


def _scenario():
    import tomllib

    return parse_scenario(tomllib.loads(BODY), table=scenario_world.table())


def _numbers(ev) -> dict:
    return {
        "moves": [(m.name, m.area_km2, m.regions) for m in ev.moves],
        "before": ev.before_km2,
        "after": ev.after_km2,
        "front": (ev.front_before_km, ev.front_after_km),
        "zones": [(z.ua_edge_km, z.ru_edge_km) for z in ev.line_after.zones],
        "geoms": {p: shapely.to_wkb(g) for p, g in ev.after_geoms.items()},
    }


@pytest.fixture
def controls():
    """Two Controls of one snapshot sharing their cache, as `Record.control` makes them."""
    base = scenario_world.control()
    other = base.dated(base.as_of, "another date")
    return base, other


def test_edits_to_returned_objects_do_not_leak(controls):
    base, other = controls
    first = _numbers(evaluate(_scenario(), base, people=False))
    frame = base.to_frame()
    # a caller edits everything it was handed
    pieces = base.pieces
    pieces["area_km2"] = 0.0
    pieces["holder"] = "UA"
    ev = evaluate(_scenario(), base, people=False)
    ev.moves[0].regions.clear()
    ev.before_km2["UA"] = -1.0
    ev.after_km2.clear()
    SelectionContext(base).region_geoms.clear()
    with pytest.raises(TypeError):
        ev.after_geoms["RU"] = shapely.Polygon()  # read-only
    # nothing of it reaches the other Control of the snapshot, or the first
    for ctl in (other, base):
        assert _numbers(evaluate(_scenario(), ctl, people=False)) == first
        assert ctl.to_frame().equals(frame)
        assert ctl.pieces["area_km2"].sum() > 0


def test_regions_measured_when_read_equal_those_measured_at_once():
    # a sweep leaves each move's land by region to be measured when read
    now = evaluate(_scenario(), scenario_world.control(), people=False)
    later = evaluate(
        _scenario(), scenario_world.control(), people=False, by_region=False
    )
    assert all(callable(m._regions) for m in later.moves)
    assert [m.regions for m in later.moves] == [m.regions for m in now.moves]
    assert any(m.regions for m in now.moves)
    assert _numbers(later) == _numbers(now)


def test_only_immutable_values_are_kept(controls):
    base, _ = controls
    evaluate(_scenario(), base, people=False)
    base.to_frame()
    assert base._cache
    assert all(_immutable(v) for v in base._cache.values())
    assert all(isinstance(k, tuple) for k in base._cache)


def test_keeping_a_mutable_value_is_a_bug(controls):
    base, _ = controls
    with pytest.raises(InternalError, match="not immutable"):
        base.derived(("test", "list"), lambda: [1.0])
    assert ("test", "list") not in base._cache
    assert base.derived(("test", "tuple"), lambda: (1.0, shapely.Point(0, 0)))[0] == 1.0


def test_a_second_evaluation_equals_a_first_on_a_fresh_map():
    fresh = _numbers(evaluate(_scenario(), scenario_world.control(), people=False))
    ctl = scenario_world.control()
    evaluate(_scenario(), ctl, people=False)
    assert _numbers(evaluate(_scenario(), ctl, people=False)) == fresh


@pytest.mark.parametrize("target", ["RU", "DMZ"])
def test_the_land_after_kept_selections_is_kept_with_the_map(target):
    """Transfers of selections kept with the map leave land that depends on
    the map alone: it is kept with it, and a second evaluation equals a first
    on a fresh map (with a transfer to a zone, whose direct contact is not
    Russia's whole line, too)."""
    import tomllib

    body = BODY.split("[[zones]]", maxsplit=1)[0].replace(
        'to = "RU"', f'to = "{target}"'
    )
    sc = parse_scenario(tomllib.loads(body), table=scenario_world.table())
    fresh = _numbers(evaluate(sc, scenario_world.control(), people=False))
    ctl = scenario_world.control()
    ev = evaluate(sc, ctl, people=False)
    # Russia's whole line after is built when asked for; its length, by tile
    assert ev.line_after.direct_km == pytest.approx(ev.front_after_km, rel=1e-8)
    kept = {k[1] for k in ctl._cache if k[0] == "accounting"}
    assert {"after", "joined", "line after"} <= kept
    assert ("front after km" in kept) == (target == "RU")
    assert _numbers(evaluate(sc, ctl, people=False)) == fresh
