"""Parsing and checking scenario files: every rule and every failure."""

import datetime as dt
from pathlib import Path

import pytest

from territory.errors import DataNotFoundError, ScenarioFormatError
from territory.scenario import library, parse_scenario, read_scenario
from tests import scenario_world

HEAD = '[scenario]\ntitle = "Toy"\nas_of = 2025-01-01\n'


def _parse(text, tmp_path, name="s.toml"):
    import tomllib

    path = tmp_path / name
    path.write_text(text)
    return parse_scenario(tomllib.loads(text), path=path, table=scenario_world.table())


def test_every_rule_parses_and_reads_back_in_words(tmp_path):
    # shapes on the toy country of tests/scenario_world.py (origin 30°E 48°N)
    (tmp_path / "zone.geojson").write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        '"geometry":{"type":"Polygon","coordinates":[[[31.2,48],[31.4,48],[31.4,49],[31.2,49],[31.2,48]]]}}]}'
    )
    sc = _parse(
        HEAD
        + """
[[transfers]]
name = "regions"
from = "UA"
to = "RU"
select = { regions = ["Beta"], exclude = { polygons = "zone.geojson" } }

[[transfers]]
name = "pockets"
from = "ru"
to = "UA"
select = { regions = ["Alpha", "XB"], connected = false }

[[transfers]]
name = "near front"
from = "UA"
to = "DMZ"
sovereignty = "UA"
select = { all = true, within_km_of_front = 5, within_km_of_border = 50 }

[[transfers]]
name = "inline"
from = "RU"
to = "UA"
select = { geometry = { type = "Polygon", coordinates = [[[32.1, 48.1], [32.2, 48.1], [32.2, 48.2], [32.1, 48.1]]] } }

[[zones]]
name = "buffer"
depth_km = 15
withdraw = ["UA", "RU"]
""",
        tmp_path,
    )
    assert sc.as_of == dt.date(2025, 1, 1)
    words = [t.describe() for t in sc.transfers]
    assert (
        words[0]
        == "Ukrainian-held land in Beta, except land inside the polygons of zone.geojson"
    )
    assert words[1] == (
        "Russian-held land in Alpha and Beta, only the parts not connected to "
        "Russian-held land outside Alpha and Beta"
    )
    assert "within 5 km of the contact line" in words[2]
    assert "within 50 km of the state border" in words[2]
    assert "inside 1 polygon(s) given in the scenario" in words[3]
    assert sc.transfers[1].source == "RU"
    assert sc.zones[0].describe().endswith("(two-sided, a mirror withdrawal)")


def test_library_parses_and_has_one_default():
    names = library()
    assert {
        "alaska-2025",
        "witkoff-2025-08-08",
        "european-2025-08-09",
        "annexation-claim-2022",
        "us-28-point-2025-11",
    } <= set(names)
    scenarios = [read_scenario(p) for p in names.values()]
    assert sum(bool(s.extra["default"]) for s in scenarios) == 1
    for s in scenarios:
        assert s.source, s.title
        assert s.citation, s.title
        assert all(t.claim for t in s.transfers), (
            s.title
        )  # every transfer quotes its claim


BAD = [
    pytest.param("[scenario]\ntitle = 'x'\n", "'as_of' is None", id="no-date"),
    pytest.param("title = 'x'", "[scenario]: the table is missing", id="no-meta"),
    pytest.param(HEAD, "no transfers and no zones", id="empty"),
    pytest.param(
        HEAD
        + "[[transfers]]\nname='t'\nfrom='UA'\nto='RU'\nselect={regions=['Atlantis']}\n",
        "transfer 't': unknown region 'Atlantis'",
        id="unknown-region",
    ),
    pytest.param(
        HEAD + "[[transfers]]\nname='t'\nfrom='UA'\nto='UA'\nselect={all=true}\n",
        "moves land from UA to itself",
        id="self-transfer",
    ),
    pytest.param(
        HEAD + "[[transfers]]\nname='t'\nfrom='NATO'\nto='RU'\nselect={all=true}\n",
        "'from' is 'NATO'; use one of UA, RU, DMZ",
        id="unknown-party",
    ),
    pytest.param(
        HEAD + "[[transfers]]\nname='t'\nfrom='UA'\nto='RU'\nselect={}\n",
        "the selection rule is empty",
        id="empty-rule",
    ),
    pytest.param(
        HEAD
        + "[[transfers]]\nname='t'\nfrom='UA'\nto='RU'\nselect={connected=false}\n",
        "'connected' needs 'regions'",
        id="connected-without-regions",
    ),
    pytest.param(
        HEAD
        + "[[transfers]]\nname='t'\nfrom='UA'\nto='RU'\nselect={within_km_of_front=-3}\n",
        "must be a positive number of km",
        id="negative-distance",
    ),
    pytest.param(
        HEAD
        + "[[transfers]]\nname='t'\nfrom='UA'\nto='RU'\nselect={polygons='missing.geojson'}\n",
        "polygon file 'missing.geojson' not found",
        id="missing-polygon-file",
    ),
    pytest.param(
        HEAD
        + "[[transfers]]\nname='t'\nfrom='UA'\nto='RU'\nselect={geometry={type='Polygon',"
        "coordinates=[[[30,48],[31,49],[31,48],[30,49],[30,48]]]}}\n",
        "inline geometry is invalid",
        id="bowtie",
    ),
    pytest.param(
        HEAD
        + "[[transfers]]\nname='t'\nfrom='UA'\nto='RU'\nselect={geometry={type='Polygon',"
        "coordinates=[[[0,0],[500000,0],[500000,9],[0,0]]]}}\n",
        "not lon/lat",
        id="projected-inline",
    ),
    pytest.param(
        HEAD
        + "[[transfers]]\nname='t'\nfrom='UA'\nto='RU'\nselect={regions=['Beta']}\ncolour='red'\n",
        "unknown key(s) ['colour']",
        id="unknown-key",
    ),
    pytest.param(
        HEAD
        + "[[transfers]]\nname='t'\nfrom='UA'\nto='RU'\nselect={regions=['Beta']}\n"
        "[[transfers]]\nname='t'\nfrom='UA'\nto='RU'\nselect={regions=['Alpha']}\n",
        "the name is used twice",
        id="duplicate-name",
    ),
    pytest.param(
        HEAD + "[[zones]]\nname='z'\ndepth_km=0\n", "'depth_km' is 0", id="zone-depth"
    ),
    pytest.param(
        HEAD + "[[zones]]\nname='z'\ndepth_km=5\nwithdraw=['DMZ']\n",
        "'withdraw'",
        id="zone-withdraw",
    ),
    pytest.param(
        HEAD + "[[transfers]]\nname='t'\nfrom='DMZ'\nto='RU'\nselect={all=true}\n",
        "moves land out of a demilitarised zone",
        id="from-dmz",
    ),
]


@pytest.mark.parametrize(("text", "phrase"), BAD)
def test_malformed_files_name_file_transfer_and_fix(tmp_path, text, phrase):
    with pytest.raises(ScenarioFormatError) as info:
        _parse(text, tmp_path, name="bad.toml")
    message = str(info.value)
    assert message.startswith("bad.toml: ")
    assert phrase in message
    assert ";" in message  # what is wrong; then the fix
    assert "\n" not in message


def test_invalid_toml_and_unknown_library_name(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[scenario\ntitle=")
    with pytest.raises(ScenarioFormatError, match=r"broken.toml: not valid TOML"):
        read_scenario(path)
    with pytest.raises(DataNotFoundError, match="alaska-2025"):
        read_scenario("no-such-scenario")


# --------------------------------------------------------------------------- bad files
# Every bad input a file can hold: one line, exit 2 in the CLI, naming the key
# (or the input) and the fix.  Catalogued in tests/README.md.

TRANSFER = "[[transfers]]\nname = 't'\nfrom = 'UA'\nto = 'RU'\n"


def _sel(select, extra=""):
    """A file with one UA→RU transfer selecting `select`."""
    return HEAD + TRANSFER + extra + f"select = {select}\n"


def _zone(body):
    return HEAD + "[[zones]]\n" + body


def _meta(as_of="2025-01-01", extra=""):
    """A file whose [scenario] has this as_of and extra keys, and one good transfer."""
    return (
        f'[scenario]\ntitle = "Toy"\nas_of = {as_of}\n{extra}'
        + TRANSFER
        + "select = { all = true }\n"
    )


def _nested_exclude(levels):
    rule = "{ all = true }"
    for _ in range(levels):
        rule = "{ all = true, exclude = " + rule + " }"
    return rule


def _case(id_, text, key, fix):
    return pytest.param(text, key, fix, id=id_)


FRONT = "'within_km_of_front' is"
FRONT_FIX = "write within_km_of_front = 10"
DEPTH_FIX = "write depth_km = 10"
WITHDRAW_FIX = 'write withdraw = ["UA", "RU"]'
GEOM_FIX = "rings"

BAD_FILES = [
    # [scenario]: dates go through territory.dates.as_date
    _case("as_of-datetime-with-time", _meta("2025-08-15T10:00:00"),
          "'as_of' 2025-08-15 10:00:00 has a time of day", "give the day alone"),
    _case("as_of-offset-datetime", _meta("2025-08-15T10:00:00+03:00"),
          "'as_of' 2025-08-15 10:00:00+03:00 has a time of day", "e.g. 2025-08-15"),
    _case("as_of-local-time", _meta("10:00:00"),
          "'as_of' is datetime.time(10, 0), not a date", "write as_of = 2025-08-15"),
    _case("as_of-not-iso", _meta("'15/08/2025'"),
          "'as_of' '15/08/2025' is not an ISO date", "YYYY-MM-DD"),
    _case("as_of-integer", _meta("20250815"),
          "'as_of' is 20250815, not a date", "write as_of = 2025-08-15"),
    _case("as_of-array", _meta("[2025, 8, 15]"),
          "'as_of' is [2025, 8, 15]", "write as_of = 2025-08-15"),
    _case("as_of-bool", _meta("true"), "'as_of' is True", "write as_of ="),
    _case("title-not-text", _meta(extra="").replace('title = "Toy"', "title = 5"),
          "'title' is 5, not text", 'write title = "..."'),
    _case("title-blank", _meta().replace('title = "Toy"', "title = '  '"),
          "'title' is empty", 'write title = "..."'),
    _case("title-missing", _meta().replace('title = "Toy"\n', ""),
          "'title' is missing", 'write title = "..."'),
    _case("scenario-not-a-table", "scenario = 5\n",
          "'scenario' is 5, not a table", "one [scenario] table"),
    _case("scenario-array-of-tables", "[[scenario]]\ntitle = 'x'\n",
          "'scenario' is [{'title': 'x'}], not a table", "one [scenario] table"),
    _case("default-string-no", _meta(extra="default = 'no'\n"),
          "'default' is 'no', not a boolean", "use true or false"),
    _case("default-integer", _meta(extra="default = 1\n"),
          "'default' is 1, not a boolean", "use true or false"),
    _case("source-not-text", _meta(extra="source = 5\n"),
          "'source' is 5, not text", 'write source = "..."'),
    _case("description-array", _meta(extra="description = ['a']\n"),
          "'description' is ['a'], not text", 'write description = "..."'),
    _case("unknown-meta-key", _meta(extra="author = 'me'\n"),
          "[scenario]: unknown key(s) ['author']", "use ['as_of', 'citation'"),
    _case("unknown-top-table", _meta() + "[extra]\na = 1\n",
          "unknown table(s) ['extra']", "use ['scenario', 'transfers', 'zones']"),
    # transfers and zones: arrays of tables
    _case("transfers-not-array", "transfers = 5\n" + HEAD,
          "'transfers' is 5, not an array of tables", "[[transfers]] table"),
    _case("transfers-single-table", HEAD + "[transfers]\nname = 't'\n",
          "'transfers' is a single table", "(two brackets)"),
    _case("transfers-array-of-numbers", "transfers = [1, 2]\n" + HEAD,
          "transfer #1: is 1, not a table", "write it as [[transfers]]"),
    _case("zones-not-array", "zones = 5\n" + HEAD,
          "'zones' is 5, not an array of tables", "[[zones]] table"),
    _case("zones-string", "zones = 'x'\n" + HEAD,
          "'zones' is 'x', not an array of tables", "[[zones]] table"),
    _case("zones-array-of-numbers", "zones = [1]\n" + HEAD,
          "zone #1: is 1, not a table", "write it as [[zones]]"),
    _case("transfer-no-name", HEAD + "[[transfers]]\nfrom='UA'\nto='RU'\nselect={all=true}\n",
          "transfer #1: has no name", 'add name = "..."'),
    _case("transfer-name-not-text", HEAD + "[[transfers]]\nname=5\nfrom='UA'\nto='RU'\nselect={all=true}\n",
          "'name' is 5", 'write name = "..."'),
    _case("transfer-missing-to", HEAD + "[[transfers]]\nname='t'\nfrom='UA'\nselect={all=true}\n",
          "'to' is missing", "add to = ..."),
    _case("transfer-missing-select", HEAD + TRANSFER,
          "'select' is missing", "add select = ..."),
    _case("party-not-text", HEAD + "[[transfers]]\nname='t'\nfrom=1\nto='RU'\nselect={all=true}\n",
          "'from' is 1", "use one of UA, RU, DMZ"),
    _case("party-country-name", HEAD + "[[transfers]]\nname='t'\nfrom='UA'\nto='Russia'\nselect={all=true}\n",
          "'to' is 'Russia'", "did you mean RU?"),
    _case("sovereignty-unknown", _sel("{ all = true }", "sovereignty = 'NATO'\n"),
          "'sovereignty' is 'NATO'", "use one of UA, RU, DMZ"),
    # select: the rule
    _case("select-not-table", _sel("'Beta'"),
          "'select' is 'Beta', not a table", "write select = {"),
    _case("select-all-false", _sel("{ all = false }"),
          "the selection rule is empty", "say which land moves"),
    _case("unknown-select-key", _sel("{ region = ['Beta'] }"),
          "unknown selection key(s) ['region']", "use ['all', 'border_with'"),
    _case("all-string", _sel("{ all = 'yes' }"),
          "'all' is 'yes', not a boolean", "use true or false"),
    _case("all-integer", _sel("{ all = 1 }"),
          "'all' is 1, not a boolean", "use true or false"),
    _case("connected-string", _sel("{ regions = ['Beta'], connected = 'no' }"),
          "'connected' is 'no', not a boolean", "use true or false"),
    _case("regions-empty", _sel("{ regions = [] }"),
          "'regions' is []", 'write regions = ["Donetsk", "Luhansk"]'),
    _case("regions-not-text", _sel("{ regions = [1] }"),
          "'regions' is [1]", 'write regions = ["Donetsk", "Luhansk"]'),
    _case("regions-table", _sel("{ regions = { a = 1 } }"),
          "'regions' is {'a': 1}", 'write regions = ["Donetsk", "Luhansk"]'),
    _case("region-typo", _sel("{ regions = ['Alpah'] }"),
          "unknown region 'Alpah'", "did you mean Alpha?"),
    _case("front-nan", _sel("{ within_km_of_front = nan }"), f"{FRONT} nan", FRONT_FIX),
    _case("front-inf", _sel("{ within_km_of_front = inf }"), f"{FRONT} inf", FRONT_FIX),
    _case("front-minus-inf", _sel("{ within_km_of_front = -inf }"), f"{FRONT} -inf", FRONT_FIX),
    _case("front-overflow", _sel("{ within_km_of_front = 1e999 }"), f"{FRONT} inf", FRONT_FIX),
    _case("front-huge-integer", _sel("{ within_km_of_front = 1" + "0" * 400 + " }"),
          f"{FRONT} 1000", FRONT_FIX),
    _case("front-zero", _sel("{ within_km_of_front = 0 }"), f"{FRONT} 0", FRONT_FIX),
    _case("front-zero-float", _sel("{ within_km_of_front = 0.0 }"), f"{FRONT} 0.0", FRONT_FIX),
    _case("front-bool", _sel("{ within_km_of_front = true }"), f"{FRONT} True", FRONT_FIX),
    _case("front-string", _sel("{ within_km_of_front = '10' }"), f"{FRONT} '10'", FRONT_FIX),
    _case("front-array", _sel("{ within_km_of_front = [10] }"), f"{FRONT} [10]", FRONT_FIX),
    _case("front-date", _sel("{ within_km_of_front = 2025-01-01 }"),
          f"{FRONT} datetime.date(2025, 1, 1)", FRONT_FIX),
    _case("border-nan", _sel("{ within_km_of_border = nan }"),
          "'within_km_of_border' is nan", "write within_km_of_border = 10"),
    _case("border-negative", _sel("{ within_km_of_border = -5 }"),
          "'within_km_of_border' is -5", "write within_km_of_border = 10"),
    _case("border_with-without-distance", _sel("{ all = true, border_with = 'RU' }"),
          "'border_with' needs 'within_km_of_border'", "write within_km_of_border = 20"),
    _case("border_with-typo", _sel("{ within_km_of_border = 20, border_with = 'Rusia' }"),
          "'border_with' names 'Rusia', not a land neighbour", "did you mean RU (Russia)?"),
    _case("border_with-own-country", _sel("{ within_km_of_border = 20, border_with = 'UA' }"),
          "'border_with' names 'UA', not a land neighbour", "use one of RU (Russia), BY (Belarus)"),
    _case("border_with-empty", _sel("{ within_km_of_border = 20, border_with = [] }"),
          "'border_with' is []", 'write border_with = ["RU", "BY"]'),
    _case("border_with-number", _sel("{ within_km_of_border = 20, border_with = 5 }"),
          "'border_with' is 5", 'write border_with = ["RU", "BY"]'),
    _case("border_with-mixed", _sel("{ within_km_of_border = 20, border_with = ['RU', 1] }"),
          "'border_with' is ['RU', 1]", 'write border_with = ["RU", "BY"]'),
    _case("exclude-nested-9-deep", _sel(_nested_exclude(9)),
          "'exclude' is nested more than 8 deep", "merge the excluded land into one exclude"),
    _case("exclude-not-table", _sel("{ all = true, exclude = 'Beta' }"),
          "(exclude): 'exclude' is 'Beta', not a table", "write exclude = {"),
    _case("exclude-empty", _sel("{ all = true, exclude = {} }"),
          "(exclude): the selection rule is empty", "say which land moves"),
    _case("exclude-bad-inside", _sel("{ all = true, exclude = { all = true, exclude = { within_km_of_front = nan } } }"),
          "(exclude level 2): 'within_km_of_front' is nan", FRONT_FIX),
    _case("polygons-empty-list", _sel("{ polygons = [] }"),
          "'polygons' is []", 'write polygons = "zone.geojson"'),
    _case("polygons-number", _sel("{ polygons = 5 }"),
          "'polygons' is 5", 'write polygons = "zone.geojson"'),
    _case("polygons-empty-string", _sel("{ polygons = '' }"),
          "'polygons' entry '' is not a file name", 'write polygons = "zone.geojson"'),
    _case("geometry-string", _sel("{ geometry = 'x' }"),
          "'geometry' is 'x', not a GeoJSON Polygon", "write geometry = { type = "),
    _case("geometry-point", _sel("{ geometry = { type = 'Point', coordinates = [0, 0] } }"),
          "not a GeoJSON Polygon or MultiPolygon", "write geometry = { type = "),
    _case("geometry-empty-list", _sel("{ geometry = [] }"),
          "'geometry' is []", "write geometry = { type = "),
    _case("geometry-no-rings", _sel("{ geometry = { type = 'Polygon', coordinates = [] } }"),
          "inline geometry is empty", GEOM_FIX),
    _case("geometry-nan-coordinate",
          _sel("{ geometry = { type = 'Polygon', coordinates = [[[0, 0], [nan, 0], [1, 1], [0, 0]]] } }"),
          "inline geometry is malformed", GEOM_FIX),
    _case("geometry-two-points",
          _sel("{ geometry = { type = 'Polygon', coordinates = [[[0, 0], [1, 1]]] } }"),
          "inline geometry is malformed (A linearring requires", GEOM_FIX),
    _case("geometry-text-coordinates",
          _sel("{ geometry = { type = 'Polygon', coordinates = [[['a', 0], [1, 1], [1, 0], ['a', 0]]] } }"),
          "inline geometry is malformed", GEOM_FIX),
    _case("geometry-deep-arrays",
          _sel("{ geometry = { type = 'Polygon', coordinates = " + "[" * 150 + "]" * 150 + " } }"),
          "inline geometry is malformed", GEOM_FIX),
    _case("geometry-no-coordinates", _sel("{ geometry = { type = 'Polygon' } }"),
          "inline geometry is malformed", GEOM_FIX),
    # zones
    _case("zone-depth-nan", _zone("depth_km = nan\n"), "'depth_km' is nan", DEPTH_FIX),
    _case("zone-depth-inf", _zone("depth_km = inf\n"), "'depth_km' is inf", DEPTH_FIX),
    _case("zone-depth-negative", _zone("depth_km = -5\n"), "'depth_km' is -5", DEPTH_FIX),
    _case("zone-depth-over-200", _zone("depth_km = 201\n"), "'depth_km' is 201", "at most 200"),
    _case("zone-depth-bool", _zone("depth_km = true\n"), "'depth_km' is True", DEPTH_FIX),
    _case("zone-depth-string", _zone("depth_km = '5'\n"), "'depth_km' is '5'", DEPTH_FIX),
    _case("zone-depth-missing", _zone("name = 'z'\n"), "'depth_km' is missing", "add depth_km = 10"),
    _case("zone-withdraw-empty", _zone("depth_km = 5\nwithdraw = []\n"), "'withdraw' is []", WITHDRAW_FIX),
    _case("zone-withdraw-unknown", _zone("depth_km = 5\nwithdraw = 'NATO'\n"),
          "'withdraw' is 'NATO'", "use one of UA, RU"),
    _case("zone-withdraw-twice", _zone("depth_km = 5\nwithdraw = ['UA', 'ua']\n"),
          "'withdraw' is ['UA', 'ua']: a party is named twice", WITHDRAW_FIX),
    _case("zone-withdraw-number", _zone("depth_km = 5\nwithdraw = 5\n"), "'withdraw' is 5", WITHDRAW_FIX),
    _case("zone-along-border", _zone("depth_km = 5\nalong = 'border'\n"),
          "'along' is 'border'", 'along = "front"'),
    _case("zone-name-not-text", _zone("name = 5\ndepth_km = 5\n"), "'name' is 5", 'write name = "..."'),
    _case("zone-names-twice", _zone("name = 'z'\ndepth_km = 5\n[[zones]]\nname = 'z'\ndepth_km = 5\n"),
          "the zone name 'z' is used twice", "give every zone its own name"),
    _case("zone-unknown-key", _zone("depth_km = 5\nwidth_km = 5\n"),
          "unknown key(s) ['width_km']", "use ['along', 'claim'"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "key", "fix"), BAD_FILES)
def test_bad_file_names_the_key_and_the_fix(tmp_path, text, key, fix):
    with pytest.raises(ScenarioFormatError) as info:
        _parse(text, tmp_path, name="bad.toml")
    message = str(info.value)
    assert message.startswith("bad.toml: ")
    assert key in message
    assert fix in message
    assert "\n" not in message


def _read(tmp_path, data, name="bad.toml"):
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return read_scenario(path, table=scenario_world.table())


BAD_READS = [
    pytest.param(_sel(_nested_exclude(3000)), "nested too deeply to read", id="exclude-3000-deep"),
    pytest.param(HEAD + "x = " + "[" * 5000 + "]" * 5000, "nested too deeply to read", id="arrays-5000-deep"),
    pytest.param(HEAD + "x = " + "{ a = " * 2000 + "1" + " }" * 2000, "nested too deeply to read", id="tables-2000-deep"),
    pytest.param(b"\xff\xfe\x00[scenario]", "not UTF-8 text; save the scenario as UTF-8", id="not-utf8"),
    pytest.param(HEAD + "x = " + "9" * 5000, "not valid TOML (Exceeds the limit", id="integer-5000-digits"),
    pytest.param("[scenario\ntitle=", "not valid TOML (", id="invalid-toml"),
    pytest.param("", "[scenario]: the table is missing", id="empty-file"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "phrase"), BAD_READS)
def test_bad_file_contents_are_one_line_when_read(tmp_path, data, phrase):
    with pytest.raises(ScenarioFormatError) as info:
        _read(tmp_path, data)
    message = str(info.value)
    assert message.startswith("bad.toml: ")
    assert phrase in message
    assert ";" in message
    assert "\n" not in message


def test_an_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    import territory.scenario as module

    monkeypatch.setattr(module, "MAX_FILE_BYTES", 100)
    with pytest.raises(
        ScenarioFormatError, match=r"bad.toml: is 0 MB, not a scenario; .*polygons"
    ):
        _read(tmp_path, _sel("{ all = true }"))


def test_a_folder_or_unreadable_file_is_not_found(tmp_path):
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    with pytest.raises(
        DataNotFoundError, match=r"is a folder; give the .toml file inside it"
    ):
        read_scenario(tmp_path)
    # a folder every user can traverse (pytest's own temporary root is private)
    work = Path(tempfile.mkdtemp(prefix="territory-locked-"))
    work.chmod(0o755)
    path = work / "locked.toml"
    path.write_text(_sel("{ all = true }"))
    path.chmod(0)
    expected = "locked.toml cannot be read (Permission denied); check"
    try:
        if not os.access(path, os.R_OK):
            with pytest.raises(DataNotFoundError, match=expected.replace("(", r"\(")):
                read_scenario(path)
            return
        # root reads anything: read as the unprivileged user 'nobody' instead
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot drop privileges")
        code = (
            "import sys; from territory.scenario import read_scenario\n"
            "try:\n    read_scenario(sys.argv[1])\n"
            "except Exception as err:\n    print(type(err).__name__, err)"
        )
        drop = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        out = subprocess.run(
            [*drop, sys.executable, "-c", code, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=work,
            env={**os.environ, "HOME": str(work)},
        )
        assert out.stdout.startswith("DataNotFoundError "), out.stdout + out.stderr
        assert expected in out.stdout
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- polygon paths


@pytest.fixture
def folders(tmp_path):
    """A scenario folder with a polygon file, a sub-folder and a link that leads out."""
    box = (
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        '"geometry":{"type":"Polygon","coordinates":[[[30.2,48.2],[30.4,48.2],[30.4,48.4],[30.2,48.2]]]}}]}'
    )
    inside, outside = tmp_path / "scenarios", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    (inside / "sub").mkdir()
    (inside / "zone.geojson").write_text(box)
    (outside / "box.geojson").write_text(box)
    (inside / "link.geojson").symlink_to(outside / "box.geojson")
    (inside / "sub" / "up.geojson").symlink_to(inside / "zone.geojson")
    return inside, outside


OUTSIDE = "lies outside the scenario's folder"
ALLOW = "allow_paths_outside=True (CLI: --allow-paths-outside)"

BAD_PATHS = [
    pytest.param("/etc/passwd", "polygon file '/etc/passwd' is an absolute path", ALLOW, id="absolute"),
    pytest.param("../../../../etc/passwd", f"polygon file '../../../../etc/passwd' {OUTSIDE}", ALLOW, id="dotdot-to-etc"),
    pytest.param("../outside/box.geojson", f"polygon file '../outside/box.geojson' {OUTSIDE}", ALLOW, id="dotdot-sibling"),
    pytest.param("sub/../../outside/box.geojson", OUTSIDE, ALLOW, id="dotdot-via-subfolder"),
    pytest.param("link.geojson", f"polygon file 'link.geojson' {OUTSIDE}", ALLOW, id="symlink-out"),
    pytest.param("missing.geojson", "polygon file 'missing.geojson' not found in", "put the file there", id="missing"),
    pytest.param("sub", "polygon file 'sub' is a folder, not a file", "name the vector file inside it", id="folder"),
    pytest.param(".", "polygon file '.' is a folder, not a file", "name the vector file inside it", id="own-folder"),
    pytest.param("x" * 5000 + ".geojson", "not found in", "put the file there", id="name-too-long"),
]  # fmt: skip


@pytest.mark.parametrize(("polygons", "key", "fix"), BAD_PATHS)
def test_polygon_paths_stay_in_the_scenario_folder(folders, polygons, key, fix):
    inside, _ = folders
    with pytest.raises(ScenarioFormatError) as info:
        _read(inside, _sel("{ polygons = " + repr(polygons).replace("'", '"') + " }"))
    message = str(info.value)
    assert message.startswith("bad.toml: transfer 't': ")
    assert key in message
    assert fix in message
    assert "\n" not in message
    assert len(message) < 400  # the 5,000-character name is cut short


def test_polygon_paths_inside_the_folder_are_resolved(folders):
    inside, _ = folders
    sc = _read(
        inside,
        _sel(
            '{ polygons = ["zone.geojson", "sub/../zone.geojson", "sub/up.geojson"] }'
        ),
    )
    assert sc.transfers[0].rule.polygons == ((inside / "zone.geojson").resolve(),) * 3


def test_allow_paths_outside_lets_the_user_opt_in(folders):
    inside, outside = folders
    text = _sel(
        f'{{ polygons = ["../outside/box.geojson", "link.geojson", "{outside / "box.geojson"}"] }}'
    )
    sc = read_scenario(
        _write(inside, text), table=scenario_world.table(), allow_paths_outside=True
    )
    assert sc.transfers[0].rule.polygons == ((outside / "box.geojson").resolve(),) * 3
    with pytest.raises(ScenarioFormatError, match="not found in"):  # still a file
        read_scenario(
            _write(inside, _sel('{ polygons = "../outside/nope.geojson" }')),
            table=scenario_world.table(),
            allow_paths_outside=True,
        )


def _write(folder, text):
    path = folder / "s.toml"
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- good files


def test_a_toml_datetime_at_midnight_is_a_date(tmp_path):
    for value in ("2025-08-15T00:00:00", "2025-08-15 00:00:00+03:00", "'2025-08-15'"):
        sc = _parse(_meta(value), tmp_path)
        assert sc.as_of == dt.date(2025, 8, 15)
        assert type(sc.as_of) is dt.date


def test_border_with_takes_codes_and_names_in_any_case(tmp_path):
    sc = _parse(
        _sel('{ within_km_of_border = 20, border_with = ["ru", "Belarus", "RU"] }'),
        tmp_path,
    )
    rule = sc.transfers[0].rule
    assert rule.border_with == ("RU", "BY")
    assert rule.within_km_of_border == 20.0
    assert sc.transfers[0].describe() == (
        "Ukrainian-held land within 20 km of the border with Russia and Belarus"
    )
    one = _parse(_sel('{ within_km_of_border = 20, border_with = "Russia" }'), tmp_path)
    assert (
        one.transfers[0].describe().endswith("within 20 km of the border with Russia")
    )


def test_exclude_may_nest_eight_deep_and_a_bom_is_harmless(tmp_path):
    sc = _read(tmp_path, b"\xef\xbb\xbf" + _sel(_nested_exclude(8)).encode())
    depth, rule = 0, sc.transfers[0].rule
    while rule.exclude is not None:
        depth, rule = depth + 1, rule.exclude
    assert depth == 8


def test_flags_and_distances_are_normalised(tmp_path):
    sc = _parse(
        _sel(
            "{ regions = ['Alpha', 'XA', 'beta'], connected = false }", "from = 'ua'\n"
        ).replace("from = 'UA'\n", ""),
        tmp_path,
    )
    t = sc.transfers[0]
    assert (t.source, t.rule.regions, t.rule.region_names) == (
        "UA",
        ("XA", "XB"),
        ("Alpha", "Beta"),
    )
    assert sc.extra == {"default": False}
    z = _parse(_zone("depth_km = 5\nwithdraw = 'ru'\n"), tmp_path).zones[0]
    assert (z.depth_km, type(z.depth_km), z.withdraw, z.name) == (
        5.0,
        float,
        ("RU",),
        "zone 1",
    )


@pytest.mark.parametrize("name", sorted(library()))
def test_library_scenarios_round_trip_through_toml(name):
    import dataclasses
    import tomllib

    from territory.scenario import scenario_toml

    sc = read_scenario(name)
    back = parse_scenario(
        tomllib.loads(scenario_toml(sc, sc.path.parent)), path=sc.path
    )
    # `default` is the library's own marker, not part of what a scenario says
    assert dataclasses.replace(back, extra={}) == dataclasses.replace(sc, extra={})


def test_a_scenario_built_in_code_round_trips(tmp_path):
    import tomllib

    from territory.scenario import Rule, Scenario, Transfer, Zone, scenario_toml

    (tmp_path / "sub").mkdir()
    poly = tmp_path / "sub" / "area.geojson"
    poly.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
        '"geometry": {"type": "Polygon", "coordinates": [[[37, 48], [38, 48], [38, 49], [37, 48]]]}}]}'
    )
    tricky = 'a "quoted" {{ 5*5 }} title\nwith a newline and a \\ backslash'
    sc = Scenario(
        title=tricky,
        as_of="2025-08-15",
        transfers=(
            Transfer(
                name="t",
                source="UA",
                target="RU",
                rule=Rule(
                    regions=("Donetsk",),
                    polygons=(poly,),
                    exclude=Rule(within_km_of_border=5, border_with=("RU",)),
                ),
                claim=tricky,
            ),
        ),
        zones=(
            Zone(
                name="z",
                depth_km={"UA": 5, "RU": 12.5},
                rule=Rule(regions=("Kherson",)),
                sovereignty="RU",
            ),
        ),
    )
    path = tmp_path / "out.toml"
    path.write_text(scenario_toml(sc, tmp_path), encoding="utf-8")
    back = read_scenario(path)
    assert back.title == tricky
    assert back.transfers[0].claim == tricky
    assert back.transfers[0].rule == sc.transfers[0].rule
    assert back.zones == sc.zones
    assert 'polygons = [\n    "sub/area.geojson",\n]' in path.read_text()
    assert tomllib.loads(path.read_text())["zones"][0]["depth_km"] == {
        "UA": 5,
        "RU": 12.5,
    }


def test_the_model_is_built_with_keywords_only():
    # a positional call would bind by field order, which a new field reorders
    from territory.scenario import Rule, Scenario, Transfer, Zone

    rule = Rule(regions=("Donetsk",))
    with pytest.raises(TypeError):
        Transfer("t", "UA", "RU", rule)  # type: ignore[misc]
    with pytest.raises(TypeError):
        Zone("z", 10)  # type: ignore[misc]
    with pytest.raises(TypeError):
        Rule(True)  # type: ignore[misc]
    t = Transfer(name="t", source="ua", target="ru", rule=rule)
    with pytest.raises(TypeError):
        Scenario("s", "2025-08-15", (t,))  # type: ignore[misc]
    sc = Scenario(title="s", as_of="2025-08-15", transfers=(t,))
    assert (sc.transfers[0].source, sc.transfers[0].rule.regions) == ("UA", ("UA-14",))
