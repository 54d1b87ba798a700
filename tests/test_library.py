"""The scenario library on the real record (needs `make data`)."""

import datetime as dt

import pytest

from territory.accounting import evaluate
from territory.scenario import library, read_scenario

pytestmark = pytest.mark.data

#: The proposals of May 2025 - Feb 2026 (shared/sources/proposals-2025-05_2026-02.md).
NEW_2025_2026 = (
    "kellogg-2025-05",
    "us-free-economic-zone-2025-12",
    "zelensky-20-point-2025-12",
    "geneva-2026-02",
    "kremlin-memorandum-2026-02",
)


@pytest.fixture(scope="module")
def alaska(record):
    sc = read_scenario("alaska-2025")
    return evaluate(sc, record.control(sc.as_of))


def test_alaska_matches_reuters(alaska):
    # Reuters, 16 Aug 2025, citing DeepState: Ukraine holds ~6,600 km² of
    # Donbas (±3%: "around", rounded) and Russia ~440 km² of Sumy and Kharkiv
    # (±5%: "around", and a small figure, so rounding weighs more).
    donbas, pockets = alaska.moves
    assert donbas.source == "UA"
    assert donbas.target == "RU"
    assert donbas.area_km2 == pytest.approx(6_600, rel=0.03)
    assert pockets.source == "RU"
    assert pockets.target == "UA"
    assert pockets.area_km2 == pytest.approx(440, rel=0.05)
    assert {r["region_id"] for r in pockets.regions} == {"UA-59", "UA-63"}
    assert {r["region_id"] for r in donbas.regions} == {"UA-14", "UA-09"}
    # the report shows the rule that produced each figure
    assert donbas.rule == "Ukrainian-held land in Donetsk and Luhansk"
    assert "not connected to Russian-held land outside Sumy and Kharkiv" in pockets.rule
    assert alaska.ratio == pytest.approx(donbas.area_km2 / pockets.area_km2, rel=1e-12)


def test_alaska_pockets_exclude_the_block_joined_to_luhansk(record, alaska):
    ctl = alaska.control
    ru_kharkiv_sumy = ctl.to_frame().loc[["UA-59", "UA-63"], "occupied_km2"].sum()
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


#: The one map of the record with a grey zone: DeepState's own snapshot of
#: 2025-08-03 (SOURCES.md, ``deepstate/raw``).
GREY_DAY = dt.date(2025, 8, 3)


@pytest.mark.parametrize("name", sorted(library()))
@pytest.mark.parametrize("when", ["own", "latest", "grey zone"])
def test_every_library_scenario_evaluates_with_invariants(record, name, when):
    sc = read_scenario(name)
    day = {"own": sc.as_of, "latest": record.latest_date(), "grey zone": GREY_DAY}[when]
    if when == "grey zone":  # (the map is the one with grey land)
        assert record.control(day).to_frame()["grey_km2"].sum() > 500
    ev = evaluate(
        sc, record.control(day), people=False
    )  # invariants are checked inside
    assert sum(ev.after_km2.values()) == pytest.approx(ev.land_km2, rel=1e-9)
    parties = ("UA", "RU", "DMZ", "GREY")
    assert sum(ev.net_km2(p) for p in parties) == pytest.approx(0, abs=1e-6)
    # Every transfer moves land; a zone may take nothing from one side (or from
    # the grey zone), but every zone takes land in total.
    assert all(m.area_km2 > 0 for m in ev.moves if m.kind == "transfer")
    for z in sc.zones:
        parts = [m for m in ev.moves if m.kind == "zone" and m.group == z.name]
        assert {m.source for m in parts} <= {*z.withdraw, "GREY"}
        assert sum(m.area_km2 for m in parts) > 0, z.name
    # Every move is one of the reported flows (none goes elsewhere, e.g. to GREY).
    flows_km2 = sum(f["area_km2"] for f in ev.flows())
    assert flows_km2 == pytest.approx(sum(m.area_km2 for m in ev.moves), rel=1e-12)


def test_the_library_reaches_2026():
    # Ten proposals or more, three of them from December 2025 or later.
    scenarios = [read_scenario(n) for n in library()]
    assert len(scenarios) >= 10
    assert sum(sc.as_of >= dt.date(2025, 12, 1) for sc in scenarios) >= 3
    assert set(NEW_2025_2026) <= set(library())


@pytest.mark.parametrize("name", sorted(library()))
def test_every_library_scenario_cites_its_report(name):
    sc = read_scenario(name)
    assert sc.citation.strip()
    assert sc.source.strip()
    for item in (*sc.transfers, *sc.zones):
        assert item.claim.strip(), item.name
        if name in NEW_2025_2026:
            assert item.note.strip(), item.name
    if name in NEW_2025_2026:
        # The summaries these encode, and the outlet's date.
        assert "shared/sources/proposals-2025-05_2026-02.md" in sc.citation
        assert any(y in sc.citation for y in ("2025", "2026"))


def test_only_alaska_is_the_default():
    defaults = [n for n in library() if read_scenario(n).extra.get("default")]
    assert defaults == ["alaska-2025"]


def test_us_plan_makes_donetsk_a_dmz_under_russian_sovereignty(record):
    sc = read_scenario("us-28-point-2025-11")
    ev = evaluate(sc, record.control(sc.as_of), people=False)
    dmz = [m for m in ev.moves if m.target == "DMZ"]
    assert len(dmz) == 1
    assert dmz[0].sovereignty == "RU"
    assert ev.after_km2["DMZ"] == pytest.approx(dmz[0].area_km2, rel=1e-12)
    assert {r["region_id"] for r in dmz[0].regions} == {"UA-14"}


# --------------------------------------------------------------------------- the proposals of May 2025 - Feb 2026

#: The day Zelensky briefed the 20-point framework; the published figures of
#: late 2025 are checked on its map.
BRIEFING = dt.date(2025, 12, 23)


@pytest.fixture(scope="module")
def briefing_control(record):
    return record.control(BRIEFING)


def _held_km2(control, region_id):
    frame = control.to_frame()
    return frame.loc[region_id, "held_km2"], frame.loc[region_id, "land_km2"]


def test_donetsk_held_matches_russia_matters(briefing_control):
    # Russia Matters (late 2025): Ukraine holds about 2,250 sq mi (≈ 5,830 km²)
    # of Donetsk. ±3%: the figure is rounded to 50 sq mi (±1.1%) and dated only
    # "late 2025", and our figure falls about 13 km² a day in December (6,009
    # on 11 Dec, 5,851 on 23 Dec): 3% is about two weeks of that.
    sc = read_scenario("us-free-economic-zone-2025-12")
    ev = evaluate(sc, briefing_control, people=False)
    (zone,) = [m for m in ev.moves if m.target == "DMZ"]
    held_km2, _ = _held_km2(briefing_control, "UA-14")
    assert zone.area_km2 == pytest.approx(held_km2, rel=1e-9)
    assert zone.area_km2 == pytest.approx(2_250 * 2.589988, rel=0.03)


@pytest.mark.parametrize(
    ("day", "source"),
    [
        pytest.param(BRIEFING, "AFP, 24 Dec 2025", id="afp-2025-12"),
        pytest.param(dt.date(2026, 1, 25), "NYT, 25 Jan 2026", id="nyt-2026-01"),
    ],
)
def test_donetsk_held_share_matches_the_round_20_percent(record, day, source):
    # AFP ("the 20% of the Donetsk region it controls") and the NYT ("roughly
    # 20%"): a round figure. ±2.5 points: what rounds to 20 at a 5-point
    # step. Ours is 22.1% on 23 Dec 2025, near the top; the 20-point file's
    # note says it agrees only as a round figure.
    held_km2, land_km2 = _held_km2(record.control(day), "UA-14")
    assert 100 * held_km2 / land_km2 == pytest.approx(20, abs=2.5), source


def test_guardian_donbas_figure_is_not_ours(briefing_control):
    # The Guardian (Dec 2025): Russia demands about 5,000 km² of Donbas still
    # held by Ukraine. We get about 19% more on 23 Dec 2025 and cannot
    # reconcile it (no source or date given). Not a tolerance: this pins the
    # disagreement the 20-point note states, so a change in the data that
    # closes or widens it shows here and the note gets rewritten.
    donetsk_km2, _ = _held_km2(briefing_control, "UA-14")
    luhansk_km2, _ = _held_km2(briefing_control, "UA-09")
    donbas_km2 = donetsk_km2 + luhansk_km2
    assert 1.15 < donbas_km2 / 5_000 < 1.25
    note = " ".join(read_scenario("zelensky-20-point-2025-12").zones[0].note.split())
    assert f"{round(donbas_km2):,}" in note
    assert "cannot reconcile" in note


def test_free_economic_zone_people_against_the_administration_count(record):
    # The Donetsk military administration: 196,200 civilians in the
    # Ukrainian-held part on 4 Dec 2025; 1.7 million lived in the (larger)
    # part Ukraine held in 2022. Our count adds up GeoNames' mostly pre-2022
    # populations of the places inside, so it must lie between the two: above
    # today's count (the area has emptied), below the pre-war population of
    # the larger area of 2022. Not a match, and the note says so.
    sc = read_scenario("us-free-economic-zone-2025-12")
    ev = evaluate(sc, record.control(sc.as_of))
    (zone,) = [m for m in ev.moves if m.target == "DMZ"]
    assert 196_200 < zone.people["population"] < 1_700_000
    assert f"{zone.people['population']:,}" in zone.note


# What the new files' notes quote of our own figures (km² or people, rounded),
# on the scenario's own date: kept true here.
NOTE_FIGURES = [
    ("us-free-economic-zone-2025-12", "UA", "DMZ", "area_km2", "6,009"),
    ("zelensky-20-point-2025-12", "UA", "DMZ", "area_km2", "5,467"),
    ("zelensky-20-point-2025-12", "RU", "DMZ", "area_km2", "8,086"),
    ("geneva-2026-02", "UA", "DMZ", "area_km2", "3,000"),
    ("geneva-2026-02", "RU", "DMZ", "area_km2", "3,633"),
    ("kremlin-memorandum-2026-02", "UA", "RU", "area_km2", "5,555"),
    ("kremlin-memorandum-2026-02", "UA", "RU", "people", "582,803"),
]


@pytest.mark.parametrize(
    ("name", "source", "target", "what", "quoted"),
    NOTE_FIGURES,
    ids=[f"{n}-{s}-{t}-{w}" for n, s, t, w, _ in NOTE_FIGURES],
)
def test_notes_quote_what_evaluate_gives(record, name, source, target, what, quoted):
    sc = read_scenario(name)
    ev = evaluate(sc, record.control(sc.as_of), people=what == "people")
    (move,) = [m for m in ev.moves if m.source == source and m.target == target]
    value = move.people["population"] if what == "people" else move.area_km2
    assert f"{round(value):,}" == quoted
    assert quoted in " ".join(move.note.split())


def test_geneva_is_a_mirror_withdrawal_in_donetsk(record):
    sc = read_scenario("geneva-2026-02")
    (zone,) = sc.zones
    assert zone.mirror
    assert zone.sovereignty is None
    ev = evaluate(sc, record.control(sc.as_of), people=False)
    sides = {m.source: m for m in ev.moves if m.group == zone.name}
    assert set(sides) == {"UA", "RU"}
    for m in sides.values():
        assert {r["region_id"] for r in m.regions} == {"UA-14"}
    assert ev.ratios["cession"] is None  # no cession: both sides give to the zone
    assert ev.ratios["zone"] is not None
    assert 0.5 < ev.ratios["zone"] < 2


@pytest.mark.parametrize("depth_km", [5, 10, 25])
def test_a_symmetric_zone_keeps_the_alaska_cession_ratio(alaska, depth_km):
    # Land given to a zone is not land given to Russia: the cession ratio of
    # 15 Aug 2025 stays what it was, and the zone has its own ratio.
    import dataclasses

    from territory.scenario import Zone

    sc = dataclasses.replace(
        alaska.scenario, zones=(Zone(name="z", depth_km=depth_km),), path=None
    )
    ev = evaluate(sc, alaska.control, people=False)
    # 15.20 on 15 Aug 2025 (6,730.2 ÷ 442.6 km²: the pockets include the
    # border gaps DeepState's map leaves along the Russian border)
    assert ev.ratio == alaska.ratio == pytest.approx(15.20, abs=0.005)
    ua, ru = ev.flow_km2("UA", "DMZ"), ev.flow_km2("RU", "DMZ")
    # both sides give alike (the same depth along the same line): near even
    assert ua > 0
    assert ru > 0
    assert 0.8 < ev.ratios["zone"] < 1.25
    # the zone separates the sides along the whole line: no direct contact left
    assert ev.line_after.direct_km < 0.01 * alaska.front_after_km


def test_a_donetsk_only_mirror_zone(record):
    from territory.scenario import Rule, Scenario, Zone

    day = dt.date(2025, 8, 15)
    zone = Zone(name="Donetsk mirror", depth_km=10, rule=Rule(regions=("Donetsk",)))
    sc = Scenario(title="mirror", as_of=day, transfers=(), zones=(zone,))
    ev = evaluate(sc, record.control(day), people=False)
    sides = {m.source: m for m in ev.moves}
    assert set(sides) == {"UA", "RU"}
    for m in sides.values():
        assert m.area_km2 > 1_000
        assert {r["region_id"] for r in m.regions} == {
            "UA-14"
        }  # nothing outside Donetsk
    assert ev.ratios["cession"] is None
    # the front in Donetsk still meets the rest of the line outside it
    assert 0 < ev.line_after.direct_km < ev.front_before_km
    (edges,) = ev.line_after.zones
    assert edges.ua_edge_km > 100
    assert edges.ru_edge_km > 100
