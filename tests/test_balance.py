"""The balance solver: toy maps at 48°N with closed-form answers, and the record.

On the toy map Russia's edge is the meridian +1.5° from 48°N to 49°N
(LINE_KM long), so a band d km deep along it has area d·LINE_KM (to 2e-4,
see tests/test_reciprocity.py): the depth that matches A km² is A / LINE_KM.
The solver stops within 0.1% of the target area, so the depth is right to
0.1% plus the band's 2e-4.
"""

import tomllib

import pytest

from territory.accounting import evaluate
from territory.balancing import REL_TOL, balance, balance_mirror
from territory.control import RU, UA
from territory.errors import ScenarioError
from territory.scenario import parse_scenario, read_scenario, scenario_toml
from tests import scenario_world
from tests.shapes import LAT0, LON0, box_at, cell_area_km2, geodesic_km, ring_at

LINE_KM = geodesic_km(LON0 + 1.5, LAT0, LON0 + 1.5, LAT0 + 1)
DEPTH_REL = REL_TOL + 2e-4

WEST = f"""[scenario]
title = "Toy"
as_of = 2025-01-01

[[transfers]]
name = "west"
from = "UA"
to = "RU"
select = {{ geometry = {{ type = "Polygon", coordinates = {[ring_at(0, 0, 0.3, 1)]} }} }}
"""
WEST_KM2 = cell_area_km2(*box_at(0, 0, 0.3, 1))


@pytest.fixture(scope="module")
def toy():
    return scenario_world.control(pocket=False)


@pytest.fixture(autouse=True)
def toy_regions(request, monkeypatch):
    """Region names in the solver's rules resolve against the toy table."""
    if request.node.get_closest_marker("data"):
        return
    monkeypatch.setattr(
        "territory._scenario_checks.load_region_table", scenario_world.table
    )


def _west():
    return parse_scenario(tomllib.loads(WEST), table=scenario_world.table())


@pytest.mark.parametrize("kind", ["transfer", "zone"])
def test_the_depth_that_matches_a_transfer(toy, kind):
    b = balance(_west(), toy, within=["Beta"], transfer="west", kind=kind)
    assert b.party == RU
    assert b.target_km2 == pytest.approx(WEST_KM2, rel=1e-9)
    assert abs(b.area_km2 - WEST_KM2) <= REL_TOL * WEST_KM2
    assert b.depth_km == pytest.approx(WEST_KM2 / LINE_KM, rel=DEPTH_REL)
    assert b.front_km == pytest.approx(LINE_KM, abs=2e-3)
    # the solved scenario re-evaluates to the band: even to the solver's tolerance
    ev = evaluate(b.scenario, toy, people=False)
    flow = (RU, UA) if kind == "transfer" else (RU, "DMZ")
    assert ev.flow_km2(*flow) == pytest.approx(b.area_km2, rel=1e-9)
    ratio = ev.ratios["cession" if kind == "transfer" else "zone"]
    if kind == "transfer":
        assert ratio == pytest.approx(1, abs=REL_TOL)
    else:
        assert (
            ratio == 0
        )  # Ukraine gives nothing to a zone; the zone matches the cession
    assert b.ratios_after == ev.ratios


def test_ratio_and_target_area(toy):
    b = balance(_west(), toy, within=["Beta"], transfer="west", ratio=2)
    assert b.depth_km == pytest.approx(WEST_KM2 / 2 / LINE_KM, rel=DEPTH_REL)
    b = balance(_west(), toy, within=["Beta"], target_km2=1_000, by="RU")
    assert b.depth_km == pytest.approx(1_000 / LINE_KM, rel=DEPTH_REL)
    assert "Russia would have to withdraw" in b.describe()


def test_the_whole_exchange(toy):
    b = balance(_west(), toy, within=["Beta"], overall=True)
    assert b.party == RU
    assert b.target_km2 == pytest.approx(WEST_KM2, rel=1e-9)
    assert b.ratios_after["cession"] == pytest.approx(1, abs=REL_TOL)


def test_an_unreachable_target_gives_the_most_reachable(toy):
    most = cell_area_km2(*box_at(1.5, 0, 2, 1))  # all Russia holds in Beta
    with pytest.raises(ScenarioError, match=f"at most {most:,.0f} km²"):
        balance(_west(), toy, within=["Beta"], target_km2=most * 1.1, by="RU")


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [
        ({}, "one of transfer=NAME, target_km2=X or overall=True"),
        ({"transfer": "west", "overall": True}, "one of transfer=NAME"),
        ({"transfer": "nope"}, "no transfer or zone 'nope'; use one of 'west'"),
        ({"target_km2": 100.0}, "say who withdraws"),
        ({"target_km2": -5.0, "by": "RU"}, "positive area"),
        ({"transfer": "west", "ratio": 0}, "ratio is 0"),
        ({"transfer": "west", "by": "UA"}, "the other side \\(RU\\) withdraws"),
        ({"transfer": "west", "kind": "both"}, "kind is 'both'"),
    ],
)
def test_unclear_questions_are_refused(toy, kwargs, phrase):
    with pytest.raises(ScenarioError, match=phrase):
        balance(_west(), toy, within=["Beta"], **kwargs)


def test_mirror_on_a_grey_band(monkeypatch):
    monkeypatch.setattr(
        "territory._scenario_checks.load_region_table", scenario_world.grey_table
    )
    grey = scenario_world.grey_control()
    sc = None  # the map as it is
    # North: straight edges, symmetric sides, each measured from its own edge
    split = balance_mirror(sc, grey, within=["North"], width_km=20)
    assert split.depths_km[UA] == pytest.approx(10, abs=0.02)
    assert split.depths_km[RU] == pytest.approx(10, abs=0.02)
    assert split.areas_km2[UA] == pytest.approx(split.areas_km2[RU], rel=1e-3)
    half = geodesic_km(LON0 + 1.5, LAT0 + 0.5, LON0 + 1.5, LAT0 + 1)
    deep = balance_mirror(sc, grey, within=["North"], depth_km=12, by="RU")
    assert deep.depths_km == {UA: 12, RU: pytest.approx(12, rel=DEPTH_REL)}
    assert deep.areas_km2[UA] == pytest.approx(12 * half, rel=2e-4)
    assert "for both sides to give the zone the same land" in deep.describe()
    (zone,) = deep.scenario.zones
    assert zone.depths_km == deep.depths_km
    assert zone.rule.regions == ("XN",)


# --------------------------------------------------------------------- the record


@pytest.mark.data
def test_alaska_balanced_in_zaporizhzhia_and_kherson(record, tmp_path):
    sc = read_scenario("alaska-2025")
    ctl = record.control(sc.as_of)
    b = balance(
        sc,
        ctl,
        within=["Zaporizhzhia", "Kherson"],
        transfer="Ukraine withdraws from Donbas",
    )
    cession = b.target_km2
    assert cession == pytest.approx(
        6_730, rel=0.01
    )  # evaluate alaska-2025, 15 Aug 2025
    assert abs(b.area_km2 - cession) <= 0.01 * cession
    assert 10 < b.depth_km < 25  # a user found "about 16 km" by hand
    # the scenario it writes evaluates to the band: Donbas for the band, even to 1%
    path = tmp_path / "balanced.toml"
    path.write_text(scenario_toml(b.scenario, tmp_path), encoding="utf-8")
    ev = evaluate(read_scenario(path), ctl, people=False)
    band = next(m for m in ev.moves if m.group == b.scenario.transfers[-1].name)
    assert band.area_km2 == pytest.approx(b.area_km2, rel=1e-9)
    assert band.area_km2 / ev.flow_km2(UA, RU) == pytest.approx(1, abs=0.01)
    # balancing the whole exchange (the pockets count too) makes the ratio even
    whole = balance(sc, ctl, within=["Zaporizhzhia", "Kherson"], overall=True)
    assert whole.ratios_after["cession"] == pytest.approx(1, abs=0.01)
    assert whole.depth_km < b.depth_km


@pytest.mark.data
def test_the_balance_answer_quoted_in_the_free_economic_zone_note(record):
    # The note of us-free-economic-zone-2025-12 quotes this answer: kept true.
    sc = read_scenario("us-free-economic-zone-2025-12")
    (fez,) = [t for t in sc.transfers if t.target == "DMZ"]
    b = balance(
        sc, record.control(sc.as_of), within=["Donetsk"], transfer=fez.name, kind="zone"
    )
    note = " ".join(fez.note.split())
    assert f"{b.depth_km:.1f} km" in note
    assert f"{b.area_km2:,.0f} km²" in note
    assert f"the {b.front_km:,.0f} km of its Donetsk line" in note
    assert b.ratios_after["zone"] == pytest.approx(1, abs=REL_TOL)
    assert b.matched == "zone"
    assert "zone ratio (UA→DMZ ÷ RU→DMZ) is 1.00" in b.describe()


@pytest.mark.data
def test_the_even_split_quoted_in_the_geneva_note(record):
    # The note of geneva-2026-02 quotes this split of its 30-km zone: kept true.
    sc = read_scenario("geneva-2026-02")
    b = balance_mirror(None, record.control(sc.as_of), within=["Donetsk"], width_km=30)
    assert b.depths_km[UA] + b.depths_km[RU] == pytest.approx(30, abs=2e-3)
    assert b.areas_km2[UA] == pytest.approx(b.areas_km2[RU], rel=2e-3)
    note = " ".join(sc.zones[0].note.split())
    assert (
        f"Ukraine pull back {b.depths_km[UA]:.1f} km and Russia {b.depths_km[RU]:.1f} km"
        in note
    )
    assert f"({b.areas_km2[UA]:,.0f} km² each)" in note


def test_a_band_over_land_already_given_is_refused(toy):
    body = WEST + (
        '\n[[transfers]]\nname = "east"\nfrom = "RU"\nto = "UA"\n'
        'select = { regions = ["Beta"] }\n'
    )
    sc = parse_scenario(tomllib.loads(body), table=scenario_world.table())
    beta_ru = cell_area_km2(*box_at(1.5, 0, 2, 1))
    with pytest.raises(
        ScenarioError, match=f"already gives {beta_ru:,.0f} km².*'east'"
    ):
        balance(sc, toy, within=["Beta"], transfer="west")


def test_nothing_to_balance(toy):
    with pytest.raises(
        ScenarioError, match="neither side gives land to demilitarised zones"
    ):
        balance(_west(), toy, within=["Beta"], overall=True, kind="zone")


@pytest.mark.data
def test_balance_takes_a_name_and_a_date(record):
    """A library name and a date compose as the objects do; a wrong type names
    what to pass."""
    from territory.scenario import read_scenario

    sc = read_scenario("alaska-2025")
    args = {
        "within": ["Zaporizhzhia", "Kherson"],
        "transfer": "Ukraine withdraws from Donbas",
    }
    by_objects = balance(sc, record.control(sc.as_of), **args)
    by_name = balance("alaska-2025", "2025-08-15", record=record, **args)
    own_date = balance("alaska-2025", record=record, **args)
    assert by_name.depth_km == own_date.depth_km == by_objects.depth_km
    assert by_name.area_km2 == by_objects.area_km2
    with pytest.raises(
        ScenarioError, match="balance: 'control' is a list, not a Control or a date"
    ):
        balance(sc, [], **args)
    with pytest.raises(ScenarioError, match="balance: 'scenario' is a int"):
        balance_mirror(5, record.control(sc.as_of), within="Donetsk", depth_km=5)


def test_the_answer_quotes_only_a_ratio_of_what_was_matched(toy):
    # a zone band matched to a cession: the zone ratio (0, only RU gives to
    # the zone) says nothing about the match, so the answer leaves it out
    zone = balance(_west(), toy, within=["Beta"], transfer="west", kind="zone")
    assert zone.matched == "transfer"
    assert zone.ratios_after["zone"] == 0
    assert "ratio" not in zone.describe()
    assert zone.area_km2 == pytest.approx(zone.target_km2, rel=REL_TOL)
    # a transfer band matched to the cession: the cession ratio after is the match
    ceded = balance(_west(), toy, within=["Beta"], transfer="west")
    assert ceded.matched == "transfer"
    assert "cession ratio (UA→RU ÷ RU→UA) is 1.00" in ceded.describe()
