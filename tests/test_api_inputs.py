"""Bad input through the Python API: the project's own exception, naming the fix.

Scenario objects built in code are checked like files (`__post_init__`), and
`parse_scenario`, `read_scenario`, `evaluate` and `Record.control` refuse
arguments of the wrong type with one line that says what to pass.  Catalogued
in tests/README.md.
"""

import dataclasses
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from territory.accounting import evaluate
from territory.errors import (
    DataError,
    DataNotFoundError,
    ScenarioError,
    ScenarioFormatError,
)
from territory.record import Record
from territory.scenario import (
    Rule,
    Scenario,
    Transfer,
    Zone,
    parse_scenario,
    read_scenario,
)
from tests import scenario_world

DONETSK = Rule(regions=("Donetsk",))
EVERYTHING = Rule(everything=True)
MOVE = Transfer(name="t", source="UA", target="RU", rule=EVERYTHING)
FRONT_FIX = "pass within_km_of_front=10"
DEPTH_FIX = "pass depth_km=10"
WITHDRAW_FIX = 'pass withdraw=("UA", "RU")'
AS_OF_FIX = "pass as_of=datetime.date(2025, 8, 15)"
DOC = {"scenario": {"title": "x", "as_of": "2025-01-01"}}


def _nested(levels):
    rule = EVERYTHING
    for _ in range(levels):
        rule = Rule(everything=True, exclude=rule)
    return rule


def _case(id_, call, key, fix, exc=ScenarioError):
    return pytest.param(call, exc, key, fix, id=id_)


BAD_CALLS = [
    # Rule
    _case("rule-without-criterion", Rule,
          "Rule: the selection rule is empty", "everything=True for all the giver's land"),
    _case("rule-everything-false-only", lambda: Rule(everything=False),
          "the selection rule is empty", "pass a criterion (regions=,"),
    _case("rule-region-typo", lambda: Rule(regions=("Donetks",)),
          "Rule: unknown region 'Donetks'", "did you mean Donetsk?"),
    _case("rule-region-unknown", lambda: Rule(regions=("Atlantis",)),
          "unknown region 'Atlantis'", "'territory regions' lists them all"),
    _case("rule-region-very-long", lambda: Rule(regions=("x" * 10_000,)),
          "unknown region 'xxxxxxxx", "'territory regions' lists them all"),
    _case("rule-regions-number", lambda: Rule(regions=5),
          "'regions' is 5, not a list of region names or codes", 'pass regions=("Donetsk", "Luhansk")'),
    _case("rule-regions-mixed", lambda: Rule(regions=("Donetsk", 1)),
          "'regions' is ('Donetsk', 1)", 'pass regions=("Donetsk", "Luhansk")'),
    _case("rule-regions-set", lambda: Rule(regions={"Donetsk"}),
          "'regions' is {'Donetsk'}", 'pass regions=("Donetsk", "Luhansk")'),
    _case("rule-everything-string", lambda: Rule(everything="yes"),
          "'everything' is 'yes', not a boolean", "use True or False"),
    _case("rule-everything-integer", lambda: Rule(everything=1),
          "'everything' is 1, not a boolean", "use True or False"),
    _case("rule-everything-numpy-bool", lambda: Rule(everything=np.True_),
          "'everything' is a numpy.bool, not a boolean", "use True or False"),
    _case("rule-connected-string", lambda: Rule(regions=("Sumy",), connected="no"),
          "'connected' is 'no', not a boolean", "use True or False"),
    _case("rule-connected-without-regions", lambda: Rule(everything=True, connected=False),
          "'connected' needs 'regions'", "name the regions whose pockets you mean"),
    _case("rule-front-nan", lambda: Rule(within_km_of_front=math.nan),
          "'within_km_of_front' is nan", FRONT_FIX),
    _case("rule-front-inf", lambda: Rule(within_km_of_front=math.inf),
          "'within_km_of_front' is inf", FRONT_FIX),
    _case("rule-front-minus-inf", lambda: Rule(within_km_of_front=-math.inf),
          "'within_km_of_front' is -inf", FRONT_FIX),
    _case("rule-front-zero", lambda: Rule(within_km_of_front=0),
          "'within_km_of_front' is 0, but it must be a positive number of km", FRONT_FIX),
    _case("rule-front-negative", lambda: Rule(within_km_of_front=-1.5),
          "'within_km_of_front' is -1.5", FRONT_FIX),
    _case("rule-front-bool", lambda: Rule(within_km_of_front=True),
          "'within_km_of_front' is True", FRONT_FIX),
    _case("rule-front-string", lambda: Rule(within_km_of_front="10"),
          "'within_km_of_front' is '10'", FRONT_FIX),
    _case("rule-front-list", lambda: Rule(within_km_of_front=[10]),
          "'within_km_of_front' is [10]", FRONT_FIX),
    _case("rule-front-int-overflowing-float", lambda: Rule(within_km_of_front=10**400),
          "'within_km_of_front' is 1000", FRONT_FIX),
    _case("rule-front-numpy-nan", lambda: Rule(within_km_of_front=np.float64("nan")),
          "'within_km_of_front' is np.float64(nan)", FRONT_FIX),
    _case("rule-front-decimal", lambda: Rule(within_km_of_front=__import__("decimal").Decimal("5")),
          "'within_km_of_front' is Decimal('5')", FRONT_FIX),
    _case("rule-border-nan", lambda: Rule(within_km_of_border=math.nan),
          "'within_km_of_border' is nan", "pass within_km_of_border=10"),
    _case("rule-border_with-without-distance", lambda: Rule(everything=True, border_with=("RU",)),
          "'border_with' needs 'within_km_of_border'", "pass within_km_of_border=20.0"),
    _case("rule-border_with-typo", lambda: Rule(within_km_of_border=5, border_with=("Rusia",)),
          "'border_with' names 'Rusia', not a land neighbour of Ukraine", "did you mean RU (Russia)?"),
    _case("rule-border_with-number", lambda: Rule(within_km_of_border=5, border_with=5),
          "'border_with' is 5", 'pass border_with=("RU", "BY")'),
    _case("rule-polygons-missing", lambda: Rule(polygons=("missing.geojson",)),
          "polygon file 'missing.geojson' not found", "relative paths are from the current folder"),
    _case("rule-polygons-number", lambda: Rule(polygons=5),
          "'polygons' is 5, not a file path", 'pass polygons=(Path("zone.geojson"),)'),
    _case("rule-polygons-bytes", lambda: Rule(polygons=(b"zone.geojson",)),
          "'polygons' is (a bytes,)", 'pass polygons=(Path("zone.geojson"),)'),
    _case("rule-polygons-folder", lambda: Rule(polygons=(".",)),
          "polygon file '.' is a folder", "give a vector file"),
    _case("rule-geometry-point", lambda: Rule(geometries=({"type": "Point", "coordinates": [0, 0]},)),
          "'geometries' is ({'coordinates': [...], 'type': 'Point'},), not a GeoJSON Polygon", "pass geometries=({"),
    _case("rule-geometry-bowtie",
          lambda: Rule(geometries=({"type": "Polygon", "coordinates": [[[30, 48], [31, 49], [31, 48], [30, 49], [30, 48]]]},)),
          "Rule: inline geometry is invalid", "fix the ring"),
    _case("rule-geometry-projected",
          lambda: Rule(geometries=({"type": "Polygon", "coordinates": [[[0, 0], [5e5, 0], [5e5, 9], [0, 0]]]},)),
          "inline geometry is not lon/lat", "(EPSG:4326)"),
    _case("rule-exclude-string", lambda: Rule(everything=True, exclude="Donetsk"),
          "'exclude' is 'Donetsk', not a rule", "pass exclude=Rule(...)"),
    _case("rule-exclude-9-deep", lambda: _nested(9),
          "'exclude' is nested more than 8 deep", "merge the excluded land into one exclude"),
    # Transfer
    _case("transfer-to-itself", lambda: Transfer(name="t", source="UA", target="ua", rule=DONETSK),
          "Transfer: moves land from UA to itself", "set 'target' to the receiving party"),
    _case("transfer-from-dmz", lambda: Transfer(name="t", source="DMZ", target="UA", rule=DONETSK),
          "moves land out of a demilitarised zone", "set 'source' to one of them"),
    _case("transfer-unknown-party", lambda: Transfer(name="t", source="NATO", target="UA", rule=DONETSK),
          "'source' is 'NATO'", "use one of UA, RU, DMZ"),
    _case("transfer-country-name", lambda: Transfer(name="t", source="UA", target="Russia", rule=DONETSK),
          "'target' is 'Russia'", "did you mean RU?"),
    _case("transfer-party-none", lambda: Transfer(name="t", source=None, target="RU", rule=DONETSK),
          "'source' is None", "use one of UA, RU, DMZ"),
    _case("transfer-rule-dict", lambda: Transfer(name="t", source="UA", target="RU", rule={"regions": ["Donetsk"]}),
          "'rule' is {'regions': ['Donetsk']}, not a Rule", "pass rule=Rule(regions=('Donetsk',))"),
    _case("transfer-rule-none", lambda: Transfer(name="t", source="UA", target="RU", rule=None),
          "'rule' is None, not a Rule", "pass rule=Rule("),
    _case("transfer-name-empty", lambda: Transfer(name="  ", source="UA", target="RU", rule=DONETSK),
          "'name' is '  '", 'pass name="..."'),
    _case("transfer-name-number", lambda: Transfer(name=5, source="UA", target="RU", rule=DONETSK),
          "'name' is 5", 'pass name="..."'),
    _case("transfer-claim-number", lambda: Transfer(name="t", source="UA", target="RU", rule=DONETSK, claim=5),
          "'claim' is 5, not text", 'pass claim="..."'),
    _case("transfer-note-none", lambda: Transfer(name="t", source="UA", target="RU", rule=DONETSK, note=None),
          "'note' is None, not text", 'pass note="..."'),
    _case("transfer-sovereignty-unknown", lambda: Transfer(name="t", source="UA", target="DMZ", rule=DONETSK, sovereignty="XX"),
          "'sovereignty' is 'XX'", "use one of UA, RU, DMZ"),
    # Zone
    _case("zone-depth-nan", lambda: Zone(name="z", depth_km=math.nan, withdraw=("UA",)), "Zone: 'depth_km' is nan", DEPTH_FIX),
    _case("zone-depth-inf", lambda: Zone(name="z", depth_km=math.inf, withdraw=("UA",)), "'depth_km' is inf", DEPTH_FIX),
    _case("zone-depth-zero", lambda: Zone(name="z", depth_km=0, withdraw=("UA",)), "'depth_km' is 0", DEPTH_FIX),
    _case("zone-depth-negative", lambda: Zone(name="z", depth_km=-5, withdraw=("UA",)), "'depth_km' is -5", DEPTH_FIX),
    _case("zone-depth-over-200", lambda: Zone(name="z", depth_km=300, withdraw=("UA",)), "'depth_km' is 300", "at most 200"),
    _case("zone-depth-bool", lambda: Zone(name="z", depth_km=True, withdraw=("UA",)), "'depth_km' is True", DEPTH_FIX),
    _case("zone-depth-string", lambda: Zone(name="z", depth_km="5", withdraw=("UA",)), "'depth_km' is '5'", DEPTH_FIX),
    _case("zone-depth-none", lambda: Zone(name="z", depth_km=None, withdraw=("UA",)), "'depth_km' is None", DEPTH_FIX),
    _case("zone-withdraw-dmz", lambda: Zone(name="z", depth_km=5, withdraw=("DMZ",)), "'withdraw' is 'DMZ'", "use one of UA, RU"),
    _case("zone-withdraw-empty", lambda: Zone(name="z", depth_km=5, withdraw=[]), "'withdraw' is []", WITHDRAW_FIX),
    _case("zone-withdraw-twice", lambda: Zone(name="z", depth_km=5, withdraw=("UA", "UA")),
          "'withdraw' is ('UA', 'UA'): a party is named twice", WITHDRAW_FIX),
    _case("zone-withdraw-number", lambda: Zone(name="z", depth_km=5, withdraw=5), "'withdraw' is 5", WITHDRAW_FIX),
    _case("zone-along-border", lambda: Zone(name="z", depth_km=5, withdraw=("UA",), along="border"),
          "'along' is 'border'", 'along = "front"'),
    _case("zone-name-empty", lambda: Zone(name="", depth_km=5, withdraw=("UA",)), "'name' is ''", 'pass name="..."'),
    # Scenario: as_of goes through territory.dates.as_date
    _case("as_of-datetime-with-time", lambda: Scenario(title="x", as_of=dt.datetime(2025, 8, 15, 10), transfers=(MOVE,)),
          "Scenario: 'as_of' 2025-08-15 10:00:00 has a time of day", "give the day alone"),
    _case("as_of-timestamp-with-time", lambda: Scenario(title="x", as_of=pd.Timestamp("2025-08-15 10:00"), transfers=(MOVE,)),
          "'as_of' 2025-08-15 10:00:00 has a time of day", "e.g. 2025-08-15"),
    _case("as_of-not-iso", lambda: Scenario(title="x", as_of="15.08.2025", transfers=(MOVE,)),
          "'as_of' '15.08.2025' is not an ISO date", "YYYY-MM-DD"),
    _case("as_of-none", lambda: Scenario(title="x", as_of=None, transfers=(MOVE,)), "'as_of' is None", AS_OF_FIX),
    _case("as_of-integer", lambda: Scenario(title="x", as_of=20250815, transfers=(MOVE,)), "'as_of' is 20250815, not a date", AS_OF_FIX),
    _case("as_of-nat", lambda: Scenario(title="x", as_of=pd.NaT, transfers=(MOVE,)), "'as_of' is NaT", "YYYY-MM-DD"),
    _case("as_of-time", lambda: Scenario(title="x", as_of=dt.time(10), transfers=(MOVE,)),
          "'as_of' is datetime.time(10, 0), not a date", AS_OF_FIX),
    _case("as_of-long-string", lambda: Scenario(title="x", as_of="2025-08-15" * 1000, transfers=(MOVE,)),
          "'as_of' is '2025-08-152025", AS_OF_FIX),
    _case("scenario-nothing-moves", lambda: Scenario(title="x", as_of="2025-08-15", transfers=()),
          "no transfers and no zones", "pass transfers=(Transfer(...),)"),
    _case("scenario-transfers-of-rules", lambda: Scenario(title="x", as_of="2025-08-15", transfers=[DONETSK]),
          "'transfers' holds a Rule, not a tuple of Transfer objects", "pass transfers=(Transfer(...), ...)"),
    _case("scenario-transfers-string", lambda: Scenario(title="x", as_of="2025-08-15", transfers="t"),
          "'transfers' is 't'", "pass transfers=(Transfer(...), ...)"),
    _case("scenario-one-transfer-bare", lambda: Scenario(title="x", as_of="2025-08-15", transfers=MOVE),
          "'transfers' is a Transfer", "pass transfers=(Transfer(...), ...)"),
    _case("scenario-zones-of-transfers", lambda: Scenario(title="x", as_of="2025-08-15", transfers=(), zones=(MOVE,)),
          "'zones' holds a Transfer", "pass zones=(Zone(...), ...)"),
    _case("scenario-title-empty", lambda: Scenario(title="", as_of="2025-08-15", transfers=(MOVE,)), "'title' is empty", 'pass title="..."'),
    _case("scenario-title-none", lambda: Scenario(title=None, as_of="2025-08-15", transfers=(MOVE,)), "'title' is missing", 'pass title="..."'),
    _case("scenario-names-twice", lambda: Scenario(title="x", as_of="2025-08-15", transfers=(MOVE, MOVE)),
          "the transfer name 't' is used twice", "give every transfer its own name"),
    _case("scenario-path-number", lambda: Scenario(title="x", as_of="2025-08-15", transfers=(MOVE,), path=5),
          "'path' is 5, not a file path", "pass path=Path('my.toml')"),
    _case("scenario-extra-string", lambda: Scenario(title="x", as_of="2025-08-15", transfers=(MOVE,), extra="x"),
          "'extra' is 'x', not a dict", "pass extra={}"),
    # parse_scenario and read_scenario
    _case("parse-a-list", lambda: parse_scenario([]),
          "scenario: document: is [], not a table of keys", "pass the dict that tomllib.load returns",
          ScenarioFormatError),
    _case("parse-none", lambda: parse_scenario(None),
          "document: is None", "or call read_scenario(path)", ScenarioFormatError),
    _case("parse-a-string", lambda: parse_scenario("[scenario]\ntitle = 'x'"),
          "document: is \"[scenario]\\ntitle = 'x'\"", "pass the dict", ScenarioFormatError),
    _case("parse-bytes", lambda: parse_scenario(b"[scenario]"),
          "document: is a bytes", "pass the dict", ScenarioFormatError),
    _case("parse-path-number", lambda: parse_scenario(DOC, path=5),
          "parse_scenario: path is 5", "pass the scenario file as a Path or str"),
    _case("parse-table-string", lambda: parse_scenario(DOC, table="regions.csv"),
          "parse_scenario: table is 'regions.csv'", "pass a RegionTable (load_region_table())"),
    _case("parse-allow-string", lambda: parse_scenario(DOC, allow_paths_outside="yes"),
          "parse_scenario: allow_paths_outside is 'yes'", "pass True or False"),
    _case("parse-json-null", lambda: parse_scenario({**DOC, "transfers": [
              {"name": "t", "from": "UA", "to": "RU", "select": {"all": True, "connected": None}}]}),
          "transfer 't': 'connected' is null", "give it a value or leave the key out", ScenarioFormatError),
    _case("parse-key-not-text", lambda: parse_scenario({**DOC, 1: 2}),
          "file: unknown table(s) [1]", "use ['scenario', 'transfers', 'zones']", ScenarioFormatError),
    _case("parse-transfers-tuple-of-lists", lambda: parse_scenario({**DOC, "transfers": [["UA", "RU"]]}),
          "transfer #1: is ['UA', 'RU'], not a table", "write it as [[transfers]]", ScenarioFormatError),
    _case("read-none", lambda: read_scenario(None),
          "read_scenario: None is not a file or a library name", "read_scenario('alaska-2025')"),
    _case("read-number", lambda: read_scenario(5),
          "read_scenario: 5 is not a file", "read_scenario('alaska-2025')"),
    _case("read-bytes", lambda: read_scenario(b"alaska-2025.toml"),
          "read_scenario: a bytes is not a file", "pass a path to a .toml file or a name"),
    _case("read-nul-byte", lambda: read_scenario("alaska\x00.toml"),
          "scenario 'alaska\\x00.toml' not found", "one of the library's: alaska-2025", DataNotFoundError),
    _case("read-unknown-name", lambda: read_scenario("alaksa-2025"),
          "scenario 'alaksa-2025' not found", "one of the library's: alaska-2025", DataNotFoundError),
    # Record.control: dates go through as_date (no data needed to refuse them)
    _case("control-datetime-with-time", lambda: Record("/nonexistent").control(dt.datetime(2025, 8, 15, 10)),
          "date 2025-08-15 10:00:00 has a time of day", "give the day alone", DataError),
    _case("control-timestamp-with-time", lambda: Record("/nonexistent").control(pd.Timestamp("2025-08-15 10:00")),
          "has a time of day", "e.g. 2025-08-15", DataError),
    _case("control-integer", lambda: Record("/nonexistent").control(20250815),
          "date is 20250815 (int)", "write it as YYYY-MM-DD", DataError),
]  # fmt: skip


@pytest.mark.parametrize(("call", "exc", "key", "fix"), BAD_CALLS)
def test_bad_api_input_names_the_input_and_the_fix(call, exc, key, fix):
    with pytest.raises(exc) as info:
        call()
    message = str(info.value)
    assert key in message
    assert fix in message
    assert "\n" not in message
    assert len(message) < 600


@pytest.fixture(scope="module")
def toy():
    return scenario_world.control()


@pytest.fixture(scope="module")
def toy_scenario():
    return Scenario(title="toy", as_of="2025-01-01", transfers=(MOVE,))


BAD_EVALUATE = [
    pytest.param(lambda sc, ctl: ({"scenario": {}}, ctl), "'scenario' is a dict",
                 "(e.g. parse_scenario(document))", id="scenario-dict"),
    pytest.param(lambda sc, ctl: (None, ctl), "'scenario' is a NoneType",
                 "a library name or a scenario file's path", id="scenario-none"),
    pytest.param(lambda sc, ctl: (sc, Record("/nonexistent")), "'control' is a Record, not a Control or a date",
                 "pass Record().control('2025-01-01')", id="control-record"),
    pytest.param(lambda sc, ctl: (sc, 20250101), "'control' is a int",
                 "a date, or \"latest\"", id="control-number"),
    pytest.param(lambda sc, ctl: (sc, ctl.partition), "'control' is a Partition",
                 "pass Record().control('2025-01-01')", id="control-partition"),
    pytest.param(lambda sc, ctl: (ctl, sc), "'scenario' is a Control",
                 "a library name or a scenario file's path", id="arguments-swapped"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "key", "fix"), BAD_EVALUATE)
def test_evaluate_refuses_wrong_types(toy, toy_scenario, args, key, fix):
    with pytest.raises(ScenarioError) as info:
        evaluate(*args(toy_scenario, toy), people=False)
    message = str(info.value)
    assert message.startswith("evaluate: ")
    assert key in message
    assert fix in message


def test_evaluate_refuses_a_non_boolean_people(toy, toy_scenario):
    with pytest.raises(ScenarioError, match="'people' is a str; pass people=True"):
        evaluate(toy_scenario, toy, people="no")
    with pytest.raises(
        ScenarioError, match="'by_region' is a int; pass by_region=True"
    ):
        evaluate(toy_scenario, toy, people=False, by_region=0)


# --------------------------------------------------------------------------- good input


def test_rule_resolves_region_names_to_ids():
    assert (DONETSK.regions, DONETSK.region_names) == (("UA-14",), ("Donetsk",))
    rule = Rule(regions=("ua-14", "Donetsk Oblast", "luhansk"))
    assert (rule.regions, rule.region_names) == (
        ("UA-14", "UA-09"),
        ("Donetsk", "Luhansk"),
    )
    assert Rule(regions="Donetsk").regions == ("UA-14",)
    kept = Rule(regions=("UA-14",), region_names=("Donetsk Oblast",))
    assert kept.describe("UA") == "Ukrainian-held land in Donetsk Oblast"
    # replace() carries the old names along; they are filled in again
    moved = dataclasses.replace(DONETSK, regions=("Luhansk",))
    assert (moved.regions, moved.region_names) == (("UA-09",), ("Luhansk",))


def test_values_are_normalised():
    rule = Rule(
        within_km_of_front=np.float64(5), within_km_of_border=20, border_with="russia"
    )
    assert (rule.within_km_of_front, type(rule.within_km_of_front)) == (5.0, float)
    assert rule.border_with == ("RU",)
    assert rule.describe("RU") == (
        "Russian-held land within 5 km of the contact line (from its own edge), "
        "within 20 km of the border with Russia"
    )
    t = Transfer(name="t", source=" ua", target="dmz", rule=DONETSK, sovereignty="ru")
    assert (t.source, t.target, t.sovereignty) == ("UA", "DMZ", "RU")
    z = Zone(name="z", depth_km=5, withdraw="ua")
    assert (z.depth_km, z.withdraw) == (5.0, ("UA",))
    sc = Scenario(
        title="x",
        as_of="2025-08-15",
        transfers=[t],
        zones=[z],
        path="x.toml",
        extra=None,
    )
    assert (sc.transfers, sc.zones, sc.path, sc.extra) == (
        (t,),
        (z,),
        Path("x.toml"),
        {},
    )
    assert Rule(polygons="pyproject.toml").polygons == (Path("pyproject.toml"),)


@pytest.mark.parametrize(
    "as_of",
    [
        dt.date(2025, 8, 15),
        dt.datetime(2025, 8, 15),
        pd.Timestamp("2025-08-15"),
        np.datetime64("2025-08-15"),
        "2025-08-15",
    ],
    ids=["date", "datetime-midnight", "timestamp-midnight", "datetime64", "iso-string"],
)
def test_scenario_takes_any_form_of_a_day(as_of):
    sc = Scenario(title="x", as_of=as_of, transfers=(MOVE,))
    assert sc.as_of == dt.date(2025, 8, 15)
    assert type(sc.as_of) is dt.date


def test_exclude_may_nest_eight_deep():
    assert _nested(8).exclude is not None


def test_a_code_built_scenario_evaluates(toy):
    sc = Scenario(
        title="toy",
        as_of=dt.datetime(2025, 1, 1),
        transfers=(
            Transfer(
                name="near",
                source="ua",
                target="RU",
                rule=Rule(everything=True, within_km_of_front=5),
            ),
        ),
    )
    ev = evaluate(sc, toy, people=False)
    assert ev.moves[0].area_km2 > 0
    assert (
        ev.moves[0].rule
        == "Ukrainian-held land everywhere, within 5 km of the contact line (from its own edge)"
    )


@pytest.mark.parametrize("where", ["title", "transfer name", "claim"])
def test_lone_surrogates_are_not_text(where):
    from territory.errors import ScenarioFormatError
    from territory.scenario import parse_scenario

    doc = {
        "scenario": {"title": "T", "as_of": "2025-08-15"},
        "transfers": [{"name": "a", "from": "UA", "to": "RU", "select": {"all": True}}],
    }
    if where == "title":
        doc["scenario"]["title"] = "x\ud800"
    elif where == "claim":
        doc["transfers"][0]["claim"] = "\udfffy"
    else:
        doc["transfers"][0]["name"] = "a\ud800"
    with pytest.raises(ScenarioFormatError, match="half of a character pair"):
        parse_scenario(doc)


def test_swapped_inline_geometry_is_diagnosed():
    """[lat, lon] pairs for a box in Donetsk fall in Iran: say so, not "selects no land"."""
    from territory.errors import ScenarioFormatError
    from territory.scenario import parse_scenario

    ring = [[48.0, 37.5], [48.2, 37.5], [48.2, 37.7], [48.0, 37.7], [48.0, 37.5]]
    doc = {
        "scenario": {"title": "T", "as_of": "2025-08-15"},
        "transfers": [
            {
                "name": "box",
                "from": "UA",
                "to": "RU",
                "select": {"geometry": {"type": "Polygon", "coordinates": [ring]}},
            }
        ],
    }
    with pytest.raises(ScenarioFormatError, match="lon and lat exchanged") as info:
        parse_scenario(doc)
    assert "transfer 'box'" in str(info.value)
    with pytest.raises(ScenarioError, match="lon and lat exchanged"):
        Rule(geometries=({"type": "Polygon", "coordinates": [ring]},))
    # the same ring written [lon, lat] is accepted
    fixed = [[lat, lon] for lon, lat in ring]
    assert Rule(geometries=({"type": "Polygon", "coordinates": [fixed]},)).geometries


@pytest.mark.data
def test_evaluate_takes_a_name_or_path_and_a_date(record, tmp_path):
    """A library name, a file's path and a date (or "latest") compose as the
    objects they stand for do."""
    from territory.scenario import read_scenario, scenario_toml

    sc = read_scenario("alaska-2025")
    expected = evaluate(sc, record.control("2025-08-15"), people=False)
    path = tmp_path / "mine.toml"
    path.write_text(scenario_toml(sc), encoding="utf-8")
    for given in ("alaska-2025", path, str(path)):
        ev = evaluate(given, "2025-08-15", people=False, record=record)
        assert ev.control.as_of == expected.control.as_of
        assert ev.flows() == expected.flows()
        assert ev.front_after_km == expected.front_after_km
    own = evaluate("alaska-2025", people=False, record=record)  # its own date
    assert own.control.as_of.isoformat() == "2025-08-15"
    latest = evaluate(sc, "latest", people=False, record=record)
    assert latest.control.as_of == record.latest_date() != expected.control.as_of


@pytest.mark.data
def test_the_record_takes_latest_wherever_it_takes_a_date(record):
    last = record.latest_date()
    assert record.control("latest").as_of == last
    assert record.control(" Latest ").snapshot == record.control(last).snapshot
    series = record.occupied_series("latest", "latest")
    assert list(series.index.date) == [last]


@pytest.mark.data
def test_the_record_series_take_region_names_and_spellings(record):
    by_id = record.occupied_series("2025-08-15", "2025-08-15", region_ids=["UA-14"])
    by_name = record.occupied_series(
        "2025-08-15", "2025-08-15", region_ids=["Donetsk", "donetska oblast"]
    )
    assert list(by_name.columns) == list(by_id.columns)  # one column, named by id
    assert by_name["UA-14"].iloc[0] == by_id["UA-14"].iloc[0] > 0
    months = record.occupied_by_month(
        "2025-07-01", "2025-08-31", region_ids=["Donetsk"]
    )
    months_by_id = record.occupied_by_month(
        "2025-07-01", "2025-08-31", region_ids=["UA-14"]
    )
    assert list(months["occupied_km2"]) == list(months_by_id["occupied_km2"])
    with pytest.raises(
        DataError, match=r"unknown region 'Donetk'; did you mean Donetsk"
    ):
        record.occupied_series("2025-08-15", "2025-08-15", region_ids=["Donetk"])
    with pytest.raises(DataError, match="unknown region 'Narnia'"):
        record.occupied_by_month("2025-08-01", "2025-08-31", region_ids=["Narnia"])
