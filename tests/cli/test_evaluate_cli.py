import json

import pytest

from territory.accounting import FLOWS, LINE_AFTER_DEFINITION, RATIO_DEFINITIONS
from territory.cli.main import cli
from territory.scenario import read_scenario

pytestmark = pytest.mark.data


def test_evaluate_json_contract(runner, record):
    result = runner.invoke(cli, ["evaluate", "alaska-2025", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {"title", "as_of", "snapshot", "transfers", "parties", "ratio"} <= doc.keys()
    assert doc["as_of"] == "2025-08-15"
    assert doc["snapshot"] == "deepstate-daily 2025-08-16"
    t = doc["transfers"][0]
    assert {"name", "from", "to", "area_km2", "regions"} <= t.keys()
    for party in ("UA", "RU"):
        assert {"before_km2", "after_km2", "gained_km2", "lost_km2", "net_km2"} <= doc[
            "parties"
        ][party].keys()
    assert doc["parties"]["UA"]["net_km2"] == pytest.approx(
        -doc["parties"]["RU"]["net_km2"], rel=1e-9
    )
    assert doc["ratio"] == pytest.approx(
        t["area_km2"] / doc["transfers"][1]["area_km2"], rel=1e-9
    )
    # every flow, zeros included; the ratios with their definitions
    flows = {(f["from"], f["to"]): f["area_km2"] for f in doc["flows"]}
    assert list(flows) == list(FLOWS)
    assert flows[("UA", "RU")] == t["area_km2"]
    assert flows[("UA", "DMZ")] == flows[("RU", "DMZ")] == 0
    assert doc["ratios"] == {"cession": doc["ratio"], "zone": None}
    assert doc["ratio_definitions"] == RATIO_DEFINITIONS
    line = doc["contact_line_km"]
    assert line["definition"] == LINE_AFTER_DEFINITION
    assert line["zones"] == []
    assert 1_000 < line["after_direct"] < line["before"]


def test_evaluate_table_shows_rules_and_balance(runner, record):
    out = runner.invoke(cli, ["evaluate", "alaska-2025"]).stdout
    assert "Ukrainian-held land in Donetsk and Luhansk" in out
    assert "Flows:" in out
    assert "Ukraine cedes to Russia" in out
    assert "Russia cedes to Ukraine" in out
    assert "Reciprocity: Ukraine cedes" in out
    assert "receives nothing" not in out
    for definition in (*RATIO_DEFINITIONS.values(), LINE_AFTER_DEFINITION):
        assert definition in out
    assert "Contact line:" in out
    assert "after: direct contact" in out


def test_evaluate_a_mirror_zone_reports_its_edges_and_no_cession(
    runner, record, tmp_path
):
    path = tmp_path / "mirror.toml"
    path.write_text(
        '[scenario]\ntitle = "Mirror"\nas_of = 2025-08-15\n\n[[zones]]\n'
        'name = "Donetsk zone"\nwithdraw = ["UA", "RU"]\ndepth_km = 10\n'
        'select = { regions = ["Donetsk"] }\n'
    )
    out = runner.invoke(cli, ["evaluate", str(path)])
    assert out.exit_code == 0, out.output
    assert "receives nothing" not in out.stdout
    assert "No cession: neither side cedes land to the other." in out.stdout
    assert "after: Donetsk zone, Ukrainian edge" in out.stdout
    doc = json.loads(
        runner.invoke(cli, ["evaluate", str(path), "--format", "json"]).stdout
    )
    assert doc["ratios"]["cession"] is None
    assert doc["ratios"]["zone"] > 0
    (zone,) = doc["contact_line_km"]["zones"]
    assert zone["name"] == "Donetsk zone"
    assert zone["ua_edge_km"] > 100
    assert zone["ru_edge_km"] > 100
    # the zone runs in Donetsk only: direct contact remains elsewhere
    assert 0 < doc["contact_line_km"]["after_direct"] < doc["contact_line_km"]["before"]
    flows = {(f["from"], f["to"]): f["area_km2"] for f in doc["flows"]}
    by_move: dict[tuple[str, str], float] = {}
    for t in doc["transfers"]:
        key = (t["from"], t["to"])
        by_move[key] = by_move.get(key, 0.0) + t["area_km2"]
    assert flows == {k: pytest.approx(by_move.get(k, 0.0)) for k in FLOWS}


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".parquet"])
def test_export_is_readable(runner, record, tmp_path, suffix):
    import geopandas as gpd

    out = tmp_path / f"alaska{suffix}"
    result = runner.invoke(
        cli, ["evaluate", "alaska-2025", "--export", str(out), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    if suffix == ".parquet":
        gdf = gpd.read_parquet(out)
    else:
        gdf = gpd.read_file(out, layer="transfers")
    assert len(gdf) == 2
    assert gdf.crs.to_epsg() == 4326
    # the land the partition removed (slivers, water) or gave (border gaps,
    # seams): a layer of the GeoPackage, or a file beside the others
    if suffix == ".gpkg":
        removed = gpd.read_file(out, layer="removed")
    else:
        beside = out.with_name(f"alaska-removed{suffix}")
        removed = (
            gpd.read_parquet(beside) if suffix == ".parquet" else gpd.read_file(beside)
        )
    assert {"sliver", "water", "border gap"} <= set(removed["reason"])
    ctl = record.control("2025-08-15").to_frame()
    assert removed[removed["removed"]]["area_km2"].sum() == pytest.approx(
        ctl["removed_km2"].sum(), rel=1e-9
    )
    assert {"name", "from", "to", "area_km2", "rule"} <= set(gdf.columns)
    doc = json.loads(result.stdout)
    assert sorted(gdf["area_km2"]) == pytest.approx(
        sorted(t["area_km2"] for t in doc["transfers"])
    )


def test_net_only_and_date_override(runner, record):
    latest = record.latest_date().isoformat()
    result = runner.invoke(
        cli, ["evaluate", "alaska-2025", "--date", latest, "--net-only"]
    )
    assert result.exit_code == 0
    assert float(result.stdout) < 0


def test_compare_all(runner, record):
    result = runner.invoke(
        cli, ["compare", "alaska-2025", "witkoff-2025-08-08", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    rows = doc["scenarios"]
    assert [r["file"] for r in rows] == ["alaska-2025.toml", "witkoff-2025-08-08.toml"]
    assert rows[1]["ratio"] is None
    assert rows[1]["cession_ratio"] is None
    # each on its own date; what each side gives and receives
    assert [r["as_of"] for r in rows] == ["2025-08-15", "2025-08-08"]
    for r in rows:
        assert r["ru_gives_km2"] == pytest.approx(
            r["ru_to_ua_km2"] + r["ru_to_dmz_km2"]
        )
        assert r["ua_gives_km2"] == pytest.approx(
            r["ua_to_ru_km2"] + r["ua_to_dmz_km2"]
        )
        assert r["ua_receives_km2"] == pytest.approx(r["ru_to_ua_km2"])
    assert rows[0]["ru_gives_km2"] > 0
    assert rows[1]["ru_gives_km2"] == 0
    assert doc["ratio_definitions"] == RATIO_DEFINITIONS
    text = runner.invoke(cli, ["compare", "all"]).stdout
    assert "Alaska" in text
    assert "European" in text
    assert "RU gives km²" in text
    assert "Zone ratio" in text
    for name in ("alaska-2025", "kellogg-2025-05", "witkoff-2025-08-08"):
        as_of = read_scenario(name).as_of.isoformat()
        title = read_scenario(name).title
        (row,) = [ln for ln in text.splitlines() if ln.startswith(title)][:1]
        assert as_of in row, (name, row)


@pytest.mark.parametrize(
    ("content", "code", "phrase"),
    [
        pytest.param("[scenario\n", 2, "not valid TOML", id="toml-syntax"),
        pytest.param(
            '[scenario]\ntitle="x"\nas_of=2025-08-15\n[[transfers]]\nname="t"\nfrom="UA"\nto="RU"\n'
            'select={regions=["Donetzk"]}\n',
            2,
            "transfer 't': unknown region 'Donetzk'",
            id="unknown-region",
        ),
        pytest.param(
            '[scenario]\ntitle="x"\nas_of=2025-08-15\n[[transfers]]\nname="t"\nfrom="RU"\nto="UA"\n'
            'select={regions=["Volyn"]}\n',
            1,
            "transfer 't' selects no land RU holds",
            id="not-held",
        ),
        pytest.param(
            '[scenario]\ntitle="x"\nas_of=2025-08-15\n[[transfers]]\nname="a"\nfrom="UA"\nto="RU"\n'
            'select={regions=["Donetsk"]}\n[[transfers]]\nname="b"\nfrom="UA"\nto="DMZ"\n'
            'select={regions=["Donetsk"], within_km_of_front=5}\n',
            1,
            "both select the same",
            id="overlap",
        ),
        pytest.param(
            '[scenario]\ntitle="x"\nas_of=1999-01-01\n[[transfers]]\nname="t"\nfrom="UA"\nto="RU"\n'
            'select={regions=["Donetsk"]}\n',
            1,
            "covers",
            id="date-outside-record",
        ),
    ],
)
def test_bad_scenarios_one_line_and_exit_code(
    runner, record, tmp_path, content, code, phrase
):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    result = runner.invoke(cli, ["evaluate", str(path)])
    assert result.exit_code == code, result.output
    assert phrase in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unknown_scenario_and_bad_export(runner, record, tmp_path):
    result = runner.invoke(cli, ["evaluate", "nope"])
    assert result.exit_code == 1
    assert "alaska-2025" in result.output
    result = runner.invoke(
        cli, ["evaluate", "alaska-2025", "--export", str(tmp_path / "x.shp")]
    )
    assert result.exit_code == 2
    assert "use .gpkg (every layer), .geojson or .parquet" in result.output
    assert not (tmp_path / "x.shp").exists()


def _outside_scenario(tmp_path):
    """A scenario in its own folder whose polygon file lies in a sibling folder."""
    import json as _json

    outside = tmp_path / "outside"
    outside.mkdir()
    box = [
        [36.2, 49.9],
        [36.4, 49.9],
        [36.4, 50.1],
        [36.2, 50.1],
        [36.2, 49.9],
    ]  # Kharkiv
    (outside / "box.geojson").write_text(
        _json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Polygon", "coordinates": [box]},
                    }
                ],
            }
        )
    )
    folder = tmp_path / "scenarios"
    folder.mkdir()
    path = folder / "s.toml"
    path.write_text(
        '[scenario]\ntitle = "Box"\nas_of = 2025-08-15\n\n[[transfers]]\nname = "box"\n'
        'from = "UA"\nto = "RU"\nselect = { polygons = "../outside/box.geojson" }\n'
    )
    return path


def test_polygons_outside_the_folder_need_the_flag(runner, record, tmp_path):
    path = _outside_scenario(tmp_path)
    refused = runner.invoke(cli, ["evaluate", str(path), "--format", "json"])
    assert refused.exit_code == 2
    assert "Traceback" not in refused.output
    assert "outside the scenario's folder" in refused.stderr
    assert "--allow-paths-outside" in refused.stderr
    allowed = runner.invoke(
        cli, ["evaluate", str(path), "--format", "json", "--allow-paths-outside"]
    )
    assert allowed.exit_code == 0, allowed.output
    (t,) = json.loads(allowed.stdout)["transfers"]
    # the 0.2° × 0.2° box at 50°N is 319.0 km² on the WGS84 ellipsoid (317.8 on
    # a sphere of radius 6,371 km), all of it Ukrainian-held land around Kharkiv
    assert t["area_km2"] == pytest.approx(319.0, rel=0.005)


def _rule_scenario(tmp_path, select: str, name: str = "s.toml"):
    path = tmp_path / name
    path.write_text(
        '[scenario]\ntitle = "Rule"\nas_of = 2025-08-15\n\n[[transfers]]\nname = "strip"\n'
        f'from = "UA"\nto = "RU"\nselect = {{ {select} }}\n'
    )
    return path


def _ua_moved_km2(runner, path) -> float:
    result = runner.invoke(cli, ["evaluate", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["parties"]["UA"]["lost_km2"]


def test_any_distance_beyond_the_country_selects_all_held_land(
    runner, record, tmp_path
):
    held_km2 = record.control("2025-08-15").totals()["held_km2"]
    for km in ("8400", "8800", "1e300"):
        path = _rule_scenario(tmp_path, f"all = true, within_km_of_front = {km}")
        assert _ua_moved_km2(runner, path) == pytest.approx(held_km2, rel=1e-9)


def test_border_with_russia_strip_in_sumy_and_kharkiv(runner, record, tmp_path):
    ru = _rule_scenario(
        tmp_path,
        'regions = ["Sumy", "Kharkiv"], within_km_of_border = 20, border_with = "RU"',
    )
    every = _rule_scenario(
        tmp_path, 'regions = ["Sumy", "Kharkiv"], within_km_of_border = 20', "b.toml"
    )
    by = _rule_scenario(
        tmp_path,
        'regions = ["Chernihiv"], within_km_of_border = 20, border_with = "BY"',
        "c.toml",
    )
    ru_km2 = _ua_moved_km2(runner, ru)
    # Sumy and Kharkiv border only Russia: the strip is the same with every border
    assert ru_km2 == pytest.approx(_ua_moved_km2(runner, every), rel=1e-9)
    # about 20 km × 2 × ~280 km of held border: thousands of km², not the whole oblasts
    assert 5_000 < ru_km2 < 15_000
    assert 1_000 < _ua_moved_km2(runner, by) < 10_000


@pytest.mark.parametrize(
    ("select", "needle"),
    [
        ("all = true, within_km_of_front = nan", "within_km_of_front"),
        ("all = true, within_km_of_front = inf", "within_km_of_front"),
        ("all = true, within_km_of_front = -1", "within_km_of_front"),
        ("all = true, within_km_of_border = 0", "within_km_of_border"),
        ('all = true, border_with = "RU"', "needs 'within_km_of_border'"),
        ('all = true, within_km_of_border = 5, border_with = "XX"', "border_with"),
    ],
)
def test_bad_distances_are_one_line_exit_2(runner, tmp_path, select, needle):
    result = runner.invoke(cli, ["evaluate", str(_rule_scenario(tmp_path, select))])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    (line,) = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert line.startswith("Error: s.toml")
    assert needle in line


def test_a_band_too_narrow_names_the_transfer(runner, record, tmp_path):
    path = _rule_scenario(tmp_path, "all = true, within_km_of_front = 0.0005")
    result = runner.invoke(cli, ["evaluate", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "transfer 'strip'" in result.stderr
    assert "0.001 km" in result.stderr


def test_csv_tables_keep_their_context(runner, record):
    """Each --table names what a row is and the map it was measured on, and
    its figures are those of the JSON result."""
    import csv
    import io

    args = ["evaluate", "us-28-point-2025-11"]
    doc = json.loads(runner.invoke(cli, [*args, "--format", "json"]).stdout)
    read = {}
    for table in ("regions", "transfers", "parties", "flows"):
        result = runner.invoke(cli, [*args, "--format", "csv", "--table", table])
        assert result.exit_code == 0, result.output
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert rows, table
        for row in rows:
            assert row["as_of"] == doc["as_of"], table
            assert row["snapshot"].startswith("deepstate-"), table
        read[table] = rows
    by_name = {t["name"]: t for t in doc["transfers"]}
    assert {r["name"] for r in read["transfers"]} == set(by_name)
    for row in read["transfers"]:
        assert float(row["area_km2"]) == pytest.approx(by_name[row["name"]]["area_km2"])
        assert row["kind"]
        assert row["from"]
        assert row["to"]
        assert row["population"] != ""
    for row in read["regions"]:  # the move, not the region, is the row's name
        assert row["name"] in by_name
        assert row["region"] != row["name"]
    land = sum(float(r["before_km2"]) for r in read["parties"])
    assert sum(float(r["after_km2"]) for r in read["parties"]) == pytest.approx(land)
    flows = {(f["from"], f["to"]): f["area_km2"] for f in doc["flows"]}
    for row in read["flows"]:
        assert float(row["area_km2"]) == pytest.approx(flows[(row["from"], row["to"])])


@pytest.mark.parametrize(
    "extra",
    [[], ["--format", "json"], ["--format", "csv", "--start", "2025-08-01"]],
    ids=["table-format", "json", "sweep"],
)
def test_table_needs_csv_of_one_date(runner, extra):
    result = runner.invoke(
        cli, ["evaluate", "alaska-2025", "--table", "parties", *extra]
    )
    assert result.exit_code == 2
    assert "--table picks a CSV table of one date" in result.output


def test_table_choices_are_the_tables_the_library_writes():
    # the option lists them itself so that `--help` imports no pandas
    from territory.cli.evaluate import evaluate as evaluate_command
    from territory.tables import EVALUATION_TABLES

    (option,) = [p for p in evaluate_command.params if p.name == "table"]
    assert tuple(option.type.choices) == EVALUATION_TABLES
