"""The scenario library on the real record (needs `make data`)."""

import pytest

from territory.accounting import evaluate
from territory.scenario import library, read_scenario

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def alaska(record):
    sc = read_scenario("alaska-2025")
    return evaluate(sc, record.control(sc.as_of))


def test_alaska_matches_reuters(alaska):
    # Reuters, 16 Aug 2025, citing DeepState: Ukraine holds ~6,600 km² of
    # Donbas (±3%: "around", rounded) and Russia ~440 km² of Sumy and Kharkiv
    # (±5%: "around", and a small figure, so rounding weighs more).
    donbas, pockets = alaska.moves
    assert donbas.source == "UA" and donbas.target == "RU"
    assert donbas.area_km2 == pytest.approx(6_600, rel=0.03)
    assert pockets.source == "RU" and pockets.target == "UA"
    assert pockets.area_km2 == pytest.approx(440, rel=0.05)
    assert {r["region_id"] for r in pockets.regions} == {"UA-59", "UA-63"}
    assert {r["region_id"] for r in donbas.regions} == {"UA-14", "UA-09"}
    # the report shows the rule that produced each figure
    assert donbas.rule == "Ukrainian-held land in Donetsk and Luhansk"
    assert "not connected to Russian-held land outside Sumy and Kharkiv" in pockets.rule
    assert alaska.ratio == pytest.approx(donbas.area_km2 / pockets.area_km2, rel=1e-12)


def test_alaska_pockets_exclude_the_block_joined_to_luhansk(record, alaska):
    ctl = alaska.control
    ru_kharkiv_sumy = (
        ctl.to_frame()
        .set_index("region_id")
        .loc[["UA-59", "UA-63"], "occupied_km2"]
        .sum()
    )
    # Russia holds ~1,480 km² there; the pockets are the part not joined to Luhansk.
    assert ru_kharkiv_sumy > 3 * alaska.moves[1].area_km2


def test_alaska_people_and_front(alaska):
    donbas = alaska.moves[0]
    assert donbas.people["places"] > 50
    names = {p["name"] for p in donbas.people["largest"]}
    assert "Kramatorsk" in names or "Sloviansk" in names
    assert "Sotsmisto" not in {
        p["name"] for p in donbas.people["largest"]
    }  # a section of Kramatorsk
    # Handing over Donbas removes the Donetsk front: the contact line shortens.
    assert 1_000 < alaska.front_after_km < alaska.front_before_km < 1_600


@pytest.mark.parametrize("name", sorted(library()))
@pytest.mark.parametrize("when", ["own", "latest"])
def test_every_library_scenario_evaluates_with_invariants(record, name, when):
    sc = read_scenario(name)
    day = sc.as_of if when == "own" else record.latest_date()
    ev = evaluate(
        sc, record.control(day), people=False
    )  # invariants are checked inside
    assert sum(ev.after_km2.values()) == pytest.approx(ev.land_km2, rel=1e-9)
    assert sum(ev.net_km2(p) for p in ("UA", "RU", "DMZ")) == pytest.approx(0, abs=1e-6)
    assert all(m.area_km2 > 0 for m in ev.moves)


def test_us_plan_makes_donetsk_a_dmz_under_russian_sovereignty(record):
    sc = read_scenario("us-28-point-2025-11")
    ev = evaluate(sc, record.control(sc.as_of), people=False)
    dmz = [m for m in ev.moves if m.target == "DMZ"]
    assert len(dmz) == 1 and dmz[0].sovereignty == "RU"
    assert ev.after_km2["DMZ"] == pytest.approx(dmz[0].area_km2, rel=1e-12)
    assert {r["region_id"] for r in dmz[0].regions} == {"UA-14"}
