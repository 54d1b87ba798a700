"""Reciprocity on toy maps at 48°N: flows, the two ratios, zones, grey bands.

Every expectation is computed independently of territory: cell areas in
closed form (`cell_area_km2`), band areas as depth × the geodesic length of
the meridian they run along (`geodesic_km`).  At 48°N a degree of longitude
is ~74 km and a degree of latitude ~111 km, so a band built in degrees, or in
a CRS that is not true to distance there, misses these figures by percents.
"""

import tomllib

import pytest

from territory.accounting import DMZ, FLOWS, evaluate
from territory.control import GREY, RU, UA
from territory.errors import ScenarioError, ScenarioFormatError
from territory.scenario import Rule, Scenario, Zone, parse_scenario
from tests import scenario_world
from tests.shapes import LAT0, LON0, box_at, cell_area_km2, geodesic_km

HEAD = '[scenario]\ntitle = "Toy"\nas_of = 2025-01-01\n'

#: The meridian from 48°N to 49°N, and its halves (South and North of the grey world).
LINE_KM = geodesic_km(LON0 + 1.5, LAT0, LON0 + 1.5, LAT0 + 1)
SOUTH_KM = geodesic_km(LON0 + 1.5, LAT0, LON0 + 1.5, LAT0 + 0.5)
NORTH_KM = geodesic_km(LON0 + 1.5, LAT0 + 0.5, LON0 + 1.5, LAT0 + 1)
GREY_KM2 = cell_area_km2(*box_at(1.4, 0, 1.5, 1))
#: A band d km wide along a meridian segment of length L has area d·L, to 2e-4:
#: its width is true to 0.115 m (buffers.py's contract, 1e-5); where a parallel
#: cuts it (48°N, 48.5°N, 49°N) the cut leaves the perpendicular to the
#: meridian by d²·tanφ/2N (9 m at 10 km, 0.04 km² a cut; 8e-5 of the band at
#: each of two cuts); the curvature of the ellipsoid changes it by under 1e-6.
BAND_REL = 2e-4


def _toy(body, table=None):
    return parse_scenario(
        tomllib.loads(HEAD + body), table=table or scenario_world.table()
    )


def _grey(body):
    return _toy(body, scenario_world.grey_table())


@pytest.fixture(scope="module")
def toy():
    return scenario_world.control()


@pytest.fixture(scope="module")
def grey():
    return scenario_world.grey_control()


def _flows(ev):
    return {(f["from"], f["to"]): f["area_km2"] for f in ev.flows()}


# ------------------------------------------------------------------ flows and ratios

SWAP = """
[[transfers]]
name = "Beta"
from = "UA"
to = "RU"
select = { regions = ["Beta"] }

[[transfers]]
name = "pocket"
from = "RU"
to = "UA"
select = { regions = ["Alpha"], connected = false }
"""


def test_flows_and_the_cession_ratio_of_a_swap(toy):
    ev = evaluate(_toy(SWAP), toy, people=False)
    beta_ua = cell_area_km2(*box_at(1, 0, 1.5, 1))
    pocket = cell_area_km2(*box_at(0.1, 0.1, 0.2, 0.2))
    flows = _flows(ev)
    assert list(flows) == list(FLOWS)
    assert flows[UA, RU] == pytest.approx(beta_ua, rel=1e-9)
    assert flows[RU, UA] == pytest.approx(pocket, rel=1e-9)
    assert flows[UA, DMZ] == flows[RU, DMZ] == flows[GREY, DMZ] == 0
    assert ev.ratios == {
        "cession": pytest.approx(beta_ua / pocket, rel=1e-9),
        "zone": None,
    }
    assert ev.ratio == ev.ratios["cession"]


def test_a_symmetric_zone_leaves_the_cession_ratio_alone(toy):
    alone = evaluate(_toy(SWAP), toy, people=False)
    zoned = evaluate(
        _toy(SWAP + '[[zones]]\nname = "z"\ndepth_km = 10\n'), toy, people=False
    )
    assert zoned.ratio == alone.ratio  # the zone is not a cession
    flows = _flows(zoned)
    # After the transfers the line is the meridian +1°; 10 km each side of it.
    line_km = geodesic_km(LON0 + 1, LAT0, LON0 + 1, LAT0 + 1)
    assert flows[UA, DMZ] == pytest.approx(10 * line_km, rel=BAND_REL)
    assert flows[RU, DMZ] == pytest.approx(10 * line_km, rel=BAND_REL)
    assert zoned.ratios["zone"] == pytest.approx(1, abs=2 * BAND_REL)
    # what Ukraine loses in all is the cession plus the zone, and the ratio ignores it
    assert zoned.lost_km2(UA) == pytest.approx(
        flows[UA, RU] + flows[UA, DMZ], rel=1e-12
    )


def test_a_transfer_to_a_zone_is_a_zone_flow_not_a_cession(toy):
    body = SWAP.replace('to = "RU"', 'to = "DMZ"', 1)
    ev = evaluate(_toy(body), toy, people=False)
    flows = _flows(ev)
    assert flows[UA, RU] == 0
    assert flows[UA, DMZ] > 0
    assert (
        ev.ratios["cession"] == 0
    )  # Ukraine cedes nothing to Russia and receives the pocket
    assert ev.ratios["zone"] is None  # Russia gives nothing to a zone


# ------------------------------------------------------------------ the grey band


def test_a_two_sided_zone_is_measured_from_each_sides_own_edge(grey):
    ev = evaluate(_grey('[[zones]]\nname = "z"\ndepth_km = 10\n'), grey, people=False)
    flows = _flows(ev)
    # 10 km from the meridian +1.4° (Ukraine's edge) and from +1.5° (Russia's):
    # measured from Russia's edge, Ukraine would give only ~2.6 km of depth.
    assert flows[UA, DMZ] == pytest.approx(10 * LINE_KM, rel=BAND_REL)
    assert flows[RU, DMZ] == pytest.approx(10 * LINE_KM, rel=BAND_REL)
    # the grey band (7.3–7.5 km wide) joins the zone whole
    assert flows[GREY, DMZ] == pytest.approx(GREY_KM2, rel=1e-9)
    assert ev.after_km2[GREY] == pytest.approx(0, abs=1e-6)
    assert ev.ratios["zone"] == pytest.approx(1, abs=2 * BAND_REL)
    names = [m.name for m in ev.moves]
    assert names == ["z (Ukrainian side)", "z (Russian side)", "z (grey zone)"]
    assert {m.group for m in ev.moves} == {"z"}


def test_a_one_sided_zone_takes_the_grey_land_within_its_depth(grey):
    body = '[[zones]]\nname = "z"\ndepth_km = 5\nwithdraw = ["UA"]\n'
    ev = evaluate(_grey(body), grey, people=False)
    flows = _flows(ev)
    assert flows[UA, DMZ] == pytest.approx(5 * LINE_KM, rel=BAND_REL)
    assert flows[RU, DMZ] == 0
    # 5 km of the grey band east of Ukraine's edge; the rest (2.3–2.5 km) stays grey
    assert flows[GREY, DMZ] == pytest.approx(5 * LINE_KM, rel=BAND_REL)
    assert ev.after_km2[GREY] == pytest.approx(GREY_KM2 - 5 * LINE_KM, rel=1e-3)
    assert ev.ratios["zone"] is None


def test_within_km_of_front_is_measured_from_the_givers_edge(grey):
    for giver, to in ((UA, RU), (RU, UA)):
        body = f'[[transfers]]\nname = "t"\nfrom = "{giver}"\nto = "{to}"\nselect = {{ all = true, within_km_of_front = 10 }}\n'
        ev = evaluate(_grey(body), grey, people=False)
        assert ev.moves[0].area_km2 == pytest.approx(10 * LINE_KM, rel=BAND_REL)


def test_per_side_depths(grey):
    body = '[[zones]]\nname = "z"\ndepth_km = { UA = 5, RU = 20 }\n'
    ev = evaluate(_grey(body), grey, people=False)
    flows = _flows(ev)
    assert flows[UA, DMZ] == pytest.approx(5 * LINE_KM, rel=BAND_REL)
    assert flows[RU, DMZ] == pytest.approx(20 * LINE_KM, rel=BAND_REL)
    assert flows[GREY, DMZ] == pytest.approx(GREY_KM2, rel=1e-9)
    assert ev.ratios["zone"] == pytest.approx(0.25, rel=2 * BAND_REL)


def test_a_mirror_zone_limited_to_a_region(grey):
    body = (
        '[[zones]]\nname = "north"\ndepth_km = 10\nselect = { regions = ["North"] }\n'
    )
    ev = evaluate(_grey(body), grey, people=False)
    flows = _flows(ev)
    assert flows[UA, DMZ] == pytest.approx(10 * NORTH_KM, rel=BAND_REL)
    assert flows[RU, DMZ] == pytest.approx(10 * NORTH_KM, rel=BAND_REL)
    assert flows[GREY, DMZ] == pytest.approx(
        cell_area_km2(*box_at(1.4, 0.5, 1.5, 1)), rel=1e-9
    )
    # no land outside North moves
    assert {r["region_id"] for m in ev.moves for r in m.regions} == {"XN"}
    # The line after: Russia still meets the grey band along South's half of
    # its edge; the zone's edges run 10 km off each side's edge in North and
    # along the 48.5° parallel where the zone meets South (10 km each side).
    line = ev.line_after
    assert line.direct_km == pytest.approx(SOUTH_KM, rel=1e-4)
    assert ev.front_after_km == line.direct_km
    # the line stops short of the country's outline by under a metre at each end
    assert ev.front_before_km == pytest.approx(LINE_KM, abs=2e-3)
    (edges,) = line.zones
    assert edges.name == "north"
    assert edges.ua_edge_km == pytest.approx(NORTH_KM + 10, rel=1e-3)
    assert edges.ru_edge_km == pytest.approx(NORTH_KM + 10, rel=1e-3)


def test_a_zone_across_the_whole_line_leaves_no_direct_contact(grey):
    ev = evaluate(_grey('[[zones]]\nname = "z"\ndepth_km = 10\n'), grey, people=False)
    assert ev.line_after.direct_km == pytest.approx(0, abs=1e-3)
    (edges,) = ev.line_after.zones
    # a curve 10 km off a meridian is as long as it, to 1e-6 on the sphere
    assert edges.ua_edge_km == pytest.approx(LINE_KM, rel=1e-4)
    assert edges.ru_edge_km == pytest.approx(LINE_KM, rel=1e-4)


# ------------------------------------------------------------------ refusals


def test_a_zone_where_the_sides_do_not_meet_is_refused(toy):
    body = '[[zones]]\nname = "far"\ndepth_km = 5\nselect = { regions = ["Alpha"] }\n'
    with pytest.raises(ScenarioError, match="'far' takes no land"):
        evaluate(_toy(body), scenario_world.control(pocket=False), people=False)


@pytest.mark.parametrize(
    ("select", "key"),
    [
        ('{ regions = ["Beta"], within_km_of_front = 5 }', "within_km_of_front"),
        ('{ regions = ["Beta"], connected = false }', "connected"),
    ],
)
def test_a_zone_select_may_not_measure_from_the_front(select, key):
    body = f'[[zones]]\nname = "z"\ndepth_km = 5\nselect = {select}\n'
    with pytest.raises(ScenarioFormatError, match=f"uses '{key}'.*set depth_km"):
        _toy(body)


@pytest.mark.parametrize(
    ("depth", "withdraw", "phrase"),
    [
        ("{ UA = 5 }", '["RU"]', "gives depths for UA but 'withdraw' names RU"),
        ("{ UA = 5, RU = -1 }", None, "must be a positive number"),
        ("{}", None, "'depth_km' is {}"),
    ],
)
def test_bad_per_side_depths(depth, withdraw, phrase):
    body = f'[[zones]]\nname = "z"\ndepth_km = {depth}\n'
    if withdraw:
        body += f"withdraw = {withdraw}\n"
    with pytest.raises(ScenarioFormatError, match=phrase):
        _toy(body)


def test_zones_built_in_code_match_the_file():
    z = Zone(name="z", depth_km={"UA": 5, "RU": 20}, rule=Rule(regions=("Donetsk",)))
    assert z.withdraw == (UA, RU)
    assert z.depths_km == {UA: 5.0, RU: 20.0}
    assert z.rule.regions == ("UA-14",)
    assert not z.mirror
    sc = Scenario(title="t", as_of="2025-01-01", transfers=(), zones=(z,))
    words = sc.zones[0].describe()
    assert "Ukrainian forces 5 km and Russian forces 20 km" in words
    assert words.endswith("in Donetsk (two-sided)")
    assert Zone(name="m", depth_km=10).mirror
    assert Zone(name="m", depth_km=10).withdraw == (UA, RU)
