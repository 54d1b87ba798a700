"""People in named places: each place counted once, no unit above its pre-war
population, and official counts shown beside the figure where they apply."""

from __future__ import annotations

import datetime as dt
import json
import math
from types import SimpleNamespace

import pandas as pd
import pytest
import shapely

from territory import people
from territory.errors import DataError
from territory.people import (
    CORE_SHARE,
    SECTION_RATIO,
    count_people,
    drop_sections,
    official_counts_for,
    people_figures,
    places_in,
    read_people_figures,
    settlements,
    town_radius_km,
)

DONETSK, LUHANSK, KYIV_CITY = "05", "14", "12"  # GeoNames' first-level codes

#: Units whose named places add up to more than their pre-war population,
#: and why; `count_people` caps them. Each must still exceed (so the list
#: stays true), and no other unit may.
ABOVE_PREWAR = {
    # GeoNames' Sevastopol is Russia's 2021 census of the whole city (547,820);
    # Ukrstat's last figure is 385,900 (1 Jan 2014).
    "UA-40": "Sevastopol",
    # Bukovina's villages: their GeoNames figures (older censuses, some
    # community totals) add up to 4% more than Ukrstat's 2022 estimate; no
    # two lie within a town's reach of each other.
    "UA-77": "Chernivtsi",
}


def _unit(code: str) -> list[dict]:
    return [p for p in settlements() if p["admin1"] == code]


def _place(code: str, name: str, population: int) -> dict:
    (p,) = [
        p for p in _unit(code) if p["name"] == name and p["population"] == population
    ]
    return p


def _km(a: dict, b: dict) -> float:
    coslat = math.cos(math.radians((a["lat"] + b["lat"]) / 2))
    return math.hypot(
        (a["lon"] - b["lon"]) * 111.2 * coslat, (a["lat"] - b["lat"]) * 111.2
    )


def _kept(code: str) -> set[tuple[str, int]]:
    return {(p["name"], p["population"]) for p in drop_sections(_unit(code))}


# --- which places are sections ----------------------------------------------


@pytest.mark.parametrize(
    ("code", "name", "population"),
    [
        (DONETSK, "Kyivskyi", 139_177),  # districts of Donetsk (issue 9)
        (DONETSK, "Smolyanskyi", 116_779),
        (DONETSK, "Voznesenskyi", 85_399),  # Donetsk's south-west, 16 km out
        (DONETSK, "Hirnytskyi", 107_216),  # a district of Makiivka
        (DONETSK, "Lazurnyi", 13_460),  # 4.3 km from Kramatorsk (issue 9)
        (DONETSK, "Sotsmisto", 53_370),  # a section of Kramatorsk
        (DONETSK, "Pravyi Bereh", 352_088),  # Mariupol's right bank
        (DONETSK, "Tsentralnyi", 179_582),  # a district of Mariupol
        (DONETSK, "Tekstylnyk", 75_000),  # a quarter of Donetsk, no district name
        (LUHANSK, "Verhunskyi", 185_593),  # a district of Luhansk
    ],
)
def test_districts_and_quarters_are_dropped(code, name, population):
    place = _place(code, name, population)  # the place exists in the data
    assert (name, population) not in _kept(code)
    assert place in _unit(code)


@pytest.mark.parametrize(
    ("code", "name", "population"),
    [
        (DONETSK, "Donetsk", 901_645),
        (DONETSK, "Makiyivka", 338_968),  # 9.6 km from Donetsk, 2.7x fewer people
        (DONETSK, "Mariupol", 230_000),  # stands for its districts
        (DONETSK, "Horlivka", 239_828),
        (DONETSK, "Kramatorsk", 147_145),
        (DONETSK, "Slovyansk", 105_141),
        (DONETSK, "Druzhkivka", 53_977),
        (DONETSK, "Avdiyivka", 35_826),  # 13.6 km from Donetsk
        (DONETSK, "Yasynuvata", 37_600),
        (DONETSK, "Khartsyzk", 56_182),
        (LUHANSK, "Luhansk", 397_677),
        (LUHANSK, "Siverskodonetsk", 99_067),  # 6 km across the Donets from
        (LUHANSK, "Lysychansk", 93_340),  # each other
        (LUHANSK, "Alchevsk", 106_062),
        (LUHANSK, "Kadiyivka", 73_248),
    ],
)
def test_towns_are_kept(code, name, population):
    _place(code, name, population)
    assert (name, population) in _kept(code)


def test_kyiv_city_is_one_place():
    # GeoNames lists over a hundred districts and quarters in Kyiv city; the
    # city's own figure is Ukrstat's for 1 Jan 2022 and stands for them all.
    assert len(_unit(KYIV_CITY)) > 100
    assert _kept(KYIV_CITY) == {("Kyiv", 2_952_301)}


def test_the_rules_sit_between_quarters_and_separate_towns():
    # The stated reasons of CORE_SHARE and SECTION_RATIO, measured.
    def share(a, b):
        big = max(a, b, key=lambda p: p["population"])
        return _km(a, b) / town_radius_km(big["population"])

    kram = _place(DONETSK, "Kramatorsk", 147_145)
    quarters = [
        (kram, _place(DONETSK, "Sotsmisto", 53_370)),
        (
            _place(DONETSK, "Mariupol", 230_000),
            _place(DONETSK, "Pravyi Bereh", 352_088),
        ),
    ]
    assert all(share(a, b) < 0.56 < CORE_SHARE for a, b in quarters)
    donetsk, makiivka = (
        _place(DONETSK, "Donetsk", 901_645),
        _place(DONETSK, "Makiyivka", 338_968),
    )
    assert CORE_SHARE < 0.8 < share(donetsk, makiivka)
    assert donetsk["population"] < SECTION_RATIO * makiivka["population"]
    lazurnyi = _place(DONETSK, "Lazurnyi", 13_460)
    assert _km(kram, lazurnyi) < town_radius_km(kram["population"])
    assert kram["population"] > SECTION_RATIO * lazurnyi["population"]


def test_no_other_pair_of_comparable_places_is_within_the_core():
    # Two places of 5,000 people or more, neither named a district and with
    # fewer than 3x each other's people, nearer than CORE_SHARE of the larger
    # one's radius: outside Kyiv city (where the city absorbs them all), only
    # the three city-and-quarter pairs known (Kramatorsk's two, Mariupol's).
    # A new such pair in GeoNames fails here, to be looked at.
    pairs = set()
    for code in {p["admin1"] for p in settlements()} - {KYIV_CITY}:
        ps = [p for p in _unit(code) if p["population"] >= 5_000 and not p["district"]]
        for i, a in enumerate(ps):
            for b in ps[i + 1 :]:
                big, small = sorted((a, b), key=lambda p: -p["population"])
                if big["population"] >= SECTION_RATIO * small["population"]:
                    continue
                if _km(a, b) <= CORE_SHARE * town_radius_km(big["population"]):
                    pairs.add(frozenset((a["name"], b["name"])))
    assert pairs == {
        frozenset(("Kramatorsk", "Sotsmisto")),
        frozenset(("Sotsmisto", "Sonyachnyi")),
        frozenset(("Pravyi Bereh", "Mariupol")),
    }


def test_a_quarter_counts_when_its_town_is_outside_the_area():
    # De-duplication runs within the area counted: a district across the
    # line from its city is not dropped for a city that is not counted.
    kyivskyi = _place(DONETSK, "Kyivskyi", 139_177)
    donetsk = _place(DONETSK, "Donetsk", 901_645)
    box = shapely.box(
        kyivskyi["lon"] - 0.01,
        kyivskyi["lat"] - 0.01,
        kyivskyi["lon"] + 0.01,
        kyivskyi["lat"] + 0.01,
    )
    assert not box.contains(shapely.Point(donetsk["lon"], donetsk["lat"]))
    assert ("Kyivskyi", 139_177) in {
        (p["name"], p["population"]) for p in places_in(box)
    }
    both = box.union(shapely.Point(donetsk["lon"], donetsk["lat"]).buffer(0.01))
    assert ("Kyivskyi", 139_177) not in {
        (p["name"], p["population"]) for p in places_in(both)
    }


def test_units_do_not_absorb_each_other():
    # A Kyiv-oblast town next to Kyiv city (Vyshneve, 12.8 km from Kyiv's
    # point, well within its radius) is not a quarter of Kyiv.
    vyshneve = [
        p for p in settlements() if p["name"] == "Vyshneve" and p["admin1"] == "13"
    ]
    (v,) = [p for p in vyshneve if p["population"] > 40_000]
    kyiv = _place(KYIV_CITY, "Kyiv", 2_952_301)
    assert _km(v, kyiv) < town_radius_km(kyiv["population"])
    assert v in drop_sections([kyiv, v])


# --- pre-war populations ----------------------------------------------------


def test_prewar_table_is_ukrstat_s():
    figures = people_figures()
    assert len(figures.prewar) == 27
    rows_2022 = [p for p in figures.prewar.values() if p.date == dt.date(2022, 1, 1)]
    # The 24 oblasts and Kyiv city add up to the volume's own total.
    assert len(rows_2022) == 25
    assert sum(p.population for p in rows_2022) == 41_167_335
    assert {p.region_id for p in figures.prewar.values()} - {
        p.region_id for p in rows_2022
    } == {"UA-40", "UA-43"}  # Crimea, Sevastopol: 1 Jan 2014


@pytest.mark.parametrize(
    "prewar",
    sorted(people_figures().prewar.values(), key=lambda p: p.region_id),
    ids=lambda p: f"{p.region_id}-{p.name}",
)
def test_no_unit_s_named_places_exceed_its_prewar_population(prewar):
    named = sum(p["population"] for p in drop_sections(_unit(prewar.geonames_admin1)))
    if prewar.region_id in ABOVE_PREWAR:
        assert named > prewar.population  # the exception is still needed
    else:
        assert named <= prewar.population, (named, prewar.population)


def test_count_people_caps_a_unit_at_its_prewar_population(monkeypatch):
    # Two places of GeoNames unit "20" (Sevastopol), far apart, 600,000 in all.
    places = [
        {"name": "a", "population": 500_000, "lon": 33.5, "lat": 44.6, "admin1": "20"},
        {"name": "b", "population": 100_000, "lon": 33.9, "lat": 44.9, "admin1": "20"},
    ]
    monkeypatch.setattr(people, "settlements", lambda: places)
    got = count_people(shapely.box(33, 44, 34, 45))
    assert got["named_places_population"] == 600_000
    assert got["population"] == 385_900
    assert got["capped"] == [
        {
            "region_id": "UA-40",
            "region": "Sevastopol",
            "named_places": 600_000,
            "prewar": 385_900,
            "prewar_date": "2014-01-01",
        }
    ]
    alone = count_people(shapely.box(33, 44, 33.7, 44.7))  # "a" alone
    assert alone["population"] == 385_900
    assert alone["capped"][0]["named_places"] == 500_000
    small = count_people(shapely.box(33.8, 44.8, 34, 45))  # "b" alone
    assert (small["population"], small["capped"]) == (100_000, [])


@pytest.mark.data
def test_people_of_every_unit_and_side_within_its_prewar_population(record):
    # Issue 9: people in each whole unit and in its Russian-held, Ukrainian-
    # held and grey parts on a date never exceed the unit's pre-war population.
    ctl = record.control("2025-08-15")
    prewar = people_figures().prewar
    geoms = ctl.regions.geometry
    for rid, pw in prewar.items():
        parts = {h: count_people(ctl.holding(h, [rid])) for h in ("RU", "UA", "GREY")}
        whole = count_people(geoms[rid])
        for what, got in [("whole", whole), *parts.items()]:
            assert got["population"] <= pw.population, (pw.name, what)
            if rid not in ABOVE_PREWAR:
                assert got["named_places_population"] <= pw.population, (pw.name, what)
        assert sum(p["population"] for p in parts.values()) <= pw.population, pw.name
    # The figures issue 9 measured, now: Russian-held Donetsk counted 4,839,587
    # and Luhansk 2,164,758, more than either oblast had.
    ru_donetsk = count_people(ctl.holding("RU", ["UA-14"]))["population"]
    ru_luhansk = count_people(ctl.holding("RU", ["UA-09"]))["population"]
    assert 2_500_000 < ru_donetsk < 0.8 * prewar["UA-14"].population
    assert 1_500_000 < ru_luhansk < 0.9 * prewar["UA-09"].population


@pytest.mark.data
def test_geonames_units_are_the_regions(record):
    # Each unit's places lie in the region people.toml maps its GeoNames
    # code to, but for at most one: a point by a boundary can fall on the
    # other side of geoBoundaries' line (5 of 5,488 do, never 2 in one unit).
    geoms = record.control("2025-08-15").regions.geometry
    for pw in people_figures().prewar.values():
        ps = _unit(pw.geonames_admin1)
        inside = shapely.contains_xy(
            geoms[pw.region_id], [p["lon"] for p in ps], [p["lat"] for p in ps]
        )
        assert len(ps) > 20, pw.name
        assert (~inside).sum() <= 1, pw.name


# --- official counts beside the figure --------------------------------------


def _control(as_of: str, ua_donetsk_km2: float = 6_000.0) -> SimpleNamespace:
    pieces = pd.DataFrame(
        {
            "holder": ["UA", "RU", "UA"],
            "region_id": ["UA-14", "UA-14", "UA-09"],
            "area_km2": [ua_donetsk_km2, 20_000.0, 100.0],
        }
    )
    regions = pd.DataFrame(
        {"name": ["Donetsk", "Luhansk"]},
        index=pd.Index(["UA-14", "UA-09"], name="region_id"),
    )

    def holding_km2(holder: str, region_ids: str) -> float:  # as Control's
        rows = (pieces["holder"] == holder) & (pieces["region_id"] == region_ids)
        return float(pieces.loc[rows, "area_km2"].sum())

    return SimpleNamespace(
        as_of=dt.date.fromisoformat(as_of),
        pieces=pieces,
        regions=regions,
        holding_km2=holding_km2,
    )


@pytest.mark.parametrize(
    ("source", "share", "as_of", "expected"),
    [
        pytest.param("UA", 1.0, "2025-08-15", (216_000, "2025-09-04"), id="alaska"),
        pytest.param("UA", 0.95, "2025-11-20", (198_500, "2025-11-12"), id="nearest"),
        pytest.param("UA", 0.85, "2025-08-15", None, id="part-of-the-land"),
        pytest.param("RU", 1.0, "2025-08-15", None, id="russian-held"),
        pytest.param("UA", 1.0, "2024-01-01", None, id="no-count-near"),
        pytest.param("UA", 1.0, "2026-06-05", (196_200, "2025-12-04"), id="183-days"),
        pytest.param("UA", 1.0, "2026-06-06", None, id="184-days"),
    ],
)
def test_official_count_applies_by_land_and_date(source, share, as_of, expected):
    ctl = _control(as_of)
    held = 6_000.0 if source == "UA" else 20_000.0
    regions = [{"region_id": "UA-14", "area_km2": share * held}]
    got = official_counts_for(source, regions, ctl)
    if expected is None:
        assert got == []
        return
    (c,) = got
    assert (c["count"], c["date"]) == expected
    assert c["region"] == "Donetsk"
    assert c["source"].startswith("Donetsk regional")
    assert c["share_of_land"] == pytest.approx(share, rel=1e-12)


def test_a_move_outside_the_unit_gets_no_count():
    regions = [{"region_id": "UA-09", "area_km2": 100.0}]  # all of UA-held Luhansk
    assert official_counts_for("UA", regions, _control("2025-08-15")) == []


# --- the figures file is checked on read -------------------------------------


def _mutated(tmp_path, old: str, new: str, count: int = 1):
    from territory.manifest import geodata_dir

    text = (geodata_dir() / "people.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "people.toml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        pytest.param(
            "population = 1509515",
            "population = true",
            "'population' must be a whole number",
            id="bool-count",
        ),
        pytest.param(
            "population = 1509515", "population = -3", "must be positive", id="negative"
        ),
        pytest.param(
            'holder = "UA"',
            'holder = "XX"',
            "holder must be UA, RU or GREY",
            id="holder",
        ),
        pytest.param(
            'region_id = "UA-05"',
            'region_id = "UA-99"',
            "unknown region_id 'UA-99'",
            id="region",
        ),
        pytest.param(
            'name = "Vinnytsia"',
            'name = "Volyn"',
            "UA-05 is 'Vinnytsia', not 'Volyn'",
            id="name",
        ),
        pytest.param(
            'geonames_admin1 = "23"',
            'geonames_admin1 = "24"',
            "a second row",
            id="code-twice",
        ),
        pytest.param(
            "date = 2022-01-01",
            "date = 2022-01-01T00:00:00",
            "'date' must be a date",
            id="datetime",
        ),
        pytest.param(
            'address = "dn.gov.ua"',
            'address = ""',
            "'address' must be a non-empty string",
            id="empty",
        ),
        pytest.param(
            "[[count]]", "[[counted]]", "no \\[\\[count\\]\\] rows", id="no-counts"
        ),
        pytest.param(
            "population = 1509515",
            "population = 1 509 515",
            "cannot read the people figures",
            id="not-toml",
        ),
    ],
)
def test_a_damaged_figures_file_is_refused(tmp_path, old, new, match):
    path = _mutated(tmp_path, old, new, -1 if old == "[[count]]" else 1)
    with pytest.raises(DataError, match=match):
        read_people_figures(path)


# --- what the outputs say ---------------------------------------------------


@pytest.mark.data
def test_alaska_donbas_figure_and_the_official_count_beside_it(record):
    # Issue 9: 0.5-0.95 million people in named places (720,127 with the old
    # 3-km rule; the administration's 216,000 civilians three weeks later say
    # how many still live there), with the 2025 count shown beside it.
    from territory.accounting import evaluate
    from territory.scenario import read_scenario
    from territory.tables import evaluation_payload, evaluation_text, to_json

    sc = read_scenario("alaska-2025")
    ev = evaluate(sc, record.control(sc.as_of))
    donbas, _ = ev.moves
    assert 500_000 <= donbas.people["population"] <= 950_000
    names = {(p["name"], p["population"]) for p in places_in(donbas.geometry)}
    assert ("Kramatorsk", 147_145) in names
    assert ("Slovyansk", 105_141) in names
    assert not {("Lazurnyi", 13_460), ("Sotsmisto", 53_370)} & names

    doc = json.loads(to_json(evaluation_payload(ev)))
    d_json, p_json = (t["people"] for t in doc["transfers"])
    assert d_json["population"] == donbas.people["population"]
    assert d_json["definition"].startswith(
        "people living in named places (GeoNames, mostly pre-2022 estimates; some later)"
    )
    (count,) = d_json["official_counts"]
    assert (count["count"], count["date"], count["region_id"]) == (
        216_000,
        "2025-09-04",
        "UA-14",
    )
    assert count["date"].startswith("2025")
    assert p_json["official_counts"] == []  # Russia's pockets: no count

    text = evaluation_text(ev)
    assert "People (named places)" in text
    assert (
        "People: people living in named places (GeoNames, mostly pre-2022 "
        "estimates; some later)"
    ) in text
    line = next(s for s in text.splitlines() if "official count" in s)
    assert line.strip().startswith(f"{donbas.name}: official count: 216,000 civilians")
    assert "2025-09-04" in line
    assert "Donetsk regional military administration" in line
    assert f"{donbas.people['population']:,}" in text


@pytest.mark.data
def test_no_people_no_people_lines(record):
    from territory.accounting import evaluate
    from territory.scenario import read_scenario
    from territory.tables import evaluation_payload, evaluation_text

    sc = read_scenario("alaska-2025")
    ev = evaluate(sc, record.control(sc.as_of), people=False)
    assert "People:" not in evaluation_text(ev)
    assert all(t["people"] is None for t in evaluation_payload(ev)["transfers"])


def test_places_in_an_area_are_kept_by_which_places_they_are():
    # two areas with the same places inside: the second is not worked out
    # again, and gets what the first got; what a caller does to its list
    # reaches no one else; another set of places is worked out anew
    inner = shapely.box(37.4, 48.5, 37.8, 48.9)  # Kramatorsk, Sloviansk
    grown = shapely.box(37.4, 48.5, 37.8, 48.9 + 1e-9)
    calls = []
    real = people.drop_sections

    def counted(places):
        calls.append(len(places))
        return real(places)

    people._KEPT_PLACES.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(people, "drop_sections", counted)
        first = places_in(inner)
        first.append({"name": "not a place"})
        again = places_in(grown)
        assert len(calls) == 1
        assert again == real(
            [p for p in settlements() if shapely.contains_xy(inner, p["lon"], p["lat"])]
        )
        places_in(shapely.box(36.0, 47.0, 36.5, 47.5))
        assert len(calls) == 2
    assert [p["name"] for p in again[:2]] == ["Kramatorsk", "Slovyansk"]
