"""Parsing and checking scenario files: every rule and every failure."""

import datetime as dt

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
    (tmp_path / "zone.geojson").write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        '"geometry":{"type":"Polygon","coordinates":[[[1.2,0],[1.4,0],[1.4,1],[1.2,1],[1.2,0]]]}}]}'
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
select = { geometry = { type = "Polygon", coordinates = [[[2.1, 0.1], [2.2, 0.1], [2.2, 0.2], [2.1, 0.1]]] } }

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
    assert (
        "within 5 km of the contact line" in words[2]
        and "within 50 km of the state border" in words[2]
    )
    assert "inside 1 polygon(s) given in the scenario" in words[3]
    assert sc.transfers[1].source == "RU"
    assert sc.zones[0].describe().endswith("(two-sided)")


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
        assert s.source and s.citation, s.title
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
        "coordinates=[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}\n",
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
