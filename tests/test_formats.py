"""Every format says which map it used: as_of, snapshot, snapshot_as_of,
earlier_snapshot, map_version and map_dated_by.

No daily file shows a map version of 2025-11-26 (the file dated 2025-11-27
shows DeepState's map of 25 Nov 21:33 UTC, the file of 2025-11-28 that of 27
Nov), so the map as of 2025-11-26 is that of 2025-11-25: every CSV row and
JSON document of `territory control`, `evaluate` and `compare` must say so; a
normal date is not marked.  (`territory timeline`: tests/test_timeline.py.)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from territory import tables
from territory.accounting import (
    FLOWS,
    LINE_AFTER_DEFINITION,
    RATIO_DEFINITIONS,
    compare,
    evaluate,
)
from territory.scenario import parse_scenario
from tests import scenario_world
from tests.support import overlay_cache

PROVENANCE = [
    "as_of",
    "snapshot",
    "snapshot_as_of",
    "earlier_snapshot",
    "map_version",
    "map_dated_by",
]
GAP = "2025-11-26"  # no daily file shows a map version of that day
GAP_SNAPSHOT = ("deepstate-daily 2025-11-27", "2025-11-25", "2025-11-25T21:33:35+00:00")
NORMAL = "2025-08-15"
NORMAL_SNAPSHOT = (
    "deepstate-daily 2025-08-16",
    "2025-08-15",
    "2025-08-15T16:37:13+00:00",
)
GAP_NOTE = "no map version of 2025-11-26"


@pytest.fixture(scope="session")
def cache(record, tmp_path_factory) -> Path:
    return overlay_cache(tmp_path_factory.mktemp("cache") / "c", record.cache.root)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --------------------------------------------------------------------------- synthetic


def _gap(control):
    """The toy control map asked for the day after its snapshot."""
    day = control.snapshot.as_of + dt.timedelta(days=1)
    note = f"no snapshot for {day}; using the latest earlier one"
    return control.dated(day, note)


def _toy_eval(control, title="Toy"):
    doc = {
        "scenario": {"title": title, "as_of": "2025-01-01"},
        "transfers": [
            {
                "name": "west",
                "from": "UA",
                "to": "RU",
                "select": {"regions": ["XB"]},
            },
            {
                "name": "pocket",
                "from": "RU",
                "to": "UA",
                "select": {"regions": ["XA"], "connected": False},
            },
        ],
    }
    sc = parse_scenario(doc, table=scenario_world.table())
    return evaluate(sc, control, people=False)


@pytest.fixture(scope="module")
def toy():
    return scenario_world.control(pocket=True)


def test_provenance_says_which_map():
    snap = scenario_world.control().snapshot
    same = tables.provenance(snap.as_of, snap)
    assert same == {
        "as_of": "2025-01-01",
        "snapshot": "toy map",
        "snapshot_as_of": "2025-01-01",
        "earlier_snapshot": False,
        "map_version": "",  # the toy map's version is not known
        "map_dated_by": "",
    }
    dated = replace(snap, version="2024-12-31T20:00:00+00:00", dated_by="matched")
    assert tables.provenance(snap.as_of, dated)["map_version"] == dated.version
    later = tables.provenance(dt.date(2025, 1, 3), snap)
    assert later["as_of"] == "2025-01-03"
    assert later["earlier_snapshot"] is True


@pytest.mark.parametrize("gap", [False, True], ids=["normal", "gap"])
def test_control_csv_and_json_rows(toy, gap):
    ctl = _gap(toy) if gap else toy
    rows = _rows(tables.control_csv(ctl))
    assert list(rows[0])[-len(PROVENANCE) :] == PROVENANCE
    assert list(rows[0])[:2] == ["region_id", "name"]  # existing columns stay first
    expected = {
        "as_of": ctl.as_of.isoformat(),
        "snapshot": "toy map",
        "snapshot_as_of": "2025-01-01",
        "earlier_snapshot": str(gap),
        "map_version": "",
        "map_dated_by": "",
    }
    assert all({k: r[k] for k in PROVENANCE} == expected for r in rows)
    doc = json.loads(tables.to_json(tables.control_payload(ctl, official_area_km2=1.0)))
    assert doc["earlier_snapshot"] is gap
    assert (doc["note"] is not None) is gap
    for r in doc["regions"]:
        assert r["as_of"] == ctl.as_of.isoformat()
        assert r["earlier_snapshot"] is gap
        assert r["snapshot"] == "toy map"
        assert r["snapshot_as_of"] == "2025-01-01"


@pytest.mark.parametrize("gap", [False, True], ids=["normal", "gap"])
def test_evaluation_csv_and_json(toy, gap):
    ev = _toy_eval(_gap(toy) if gap else toy)
    rows = _rows(tables.evaluation_csv(ev))
    assert list(rows[0]) == [*tables.EVALUATION_COLUMNS, *PROVENANCE]
    # the transfer and the region are separate columns (a region name never
    # hides the transfer's name)
    assert {(r["name"], r["region"]) for r in rows} == {
        ("west", "Beta"),
        ("pocket", "Alpha"),
    }
    assert {r["earlier_snapshot"] for r in rows} == {str(gap)}
    assert {r["snapshot_as_of"] for r in rows} == {"2025-01-01"}
    doc = json.loads(tables.to_json(tables.evaluation_payload(ev)))
    assert doc["snapshot"] == "toy map"
    assert doc["snapshot_as_of"] == "2025-01-01"
    assert doc["earlier_snapshot"] is gap
    assert (doc["note"] is not None) is gap


def test_evaluation_csv_with_no_regions_keeps_its_header(toy):
    ev = _toy_eval(toy)
    empty = replace(ev, moves=[replace(m, regions=[]) for m in ev.moves])
    assert tables.evaluation_csv(empty).splitlines() == [
        ",".join([*tables.EVALUATION_COLUMNS, *PROVENANCE])
    ]


def test_compare_rows_each_say_their_map(toy):
    evs = [_toy_eval(toy, "on its day"), _toy_eval(_gap(toy), "a day later")]
    df = compare(evs)
    rows = _rows(tables.compare_csv(evs, df))
    assert [r["scenario"] for r in rows] == ["on its day", "a day later"]
    assert [r["earlier_snapshot"] for r in rows] == ["False", "True"]
    assert [r["as_of"] for r in rows] == ["2025-01-01", "2025-01-02"]
    assert {r["snapshot_as_of"] for r in rows} == {"2025-01-01"}
    doc = json.loads(tables.to_json(tables.compare_payload(evs, df)))
    a, b = doc["scenarios"]
    assert a["earlier_snapshot"] is False
    assert a["note"] is None
    assert b["earlier_snapshot"] is True
    assert b["note"].startswith("no snapshot")
    assert a["snapshot"] == b["snapshot"] == "toy map"
    assert {"transfers", "parties", "ratio", "file"} <= a.keys()
    assert "snapshot" not in df.columns  # the accounting frame is not modified
    text = tables.compare_text(tables.compare_frame(evs, df))
    assert "2025-01-02*" in text
    assert "2025-01-01*" not in text
    assert "* no snapshot for that date" in text
    assert "*" not in tables.compare_text(df)  # without provenance: unmarked


def _zone_eval(control, *, transfers=True, title="Toy with a zone"):
    """The toy swap of `_toy_eval` (when `transfers`) and a 5-km mirror zone after it."""
    doc = {
        "scenario": {"title": title, "as_of": "2025-01-01"},
        "transfers": [
            {"name": "west", "from": "UA", "to": "RU", "select": {"regions": ["XB"]}},
            {
                "name": "pocket",
                "from": "RU",
                "to": "UA",
                "select": {"regions": ["XA"], "connected": False},
            },
        ]
        if transfers
        else [],
        "zones": [{"name": "buffer", "depth_km": 5, "withdraw": ["UA", "RU"]}],
    }
    sc = parse_scenario(doc, table=scenario_world.table())
    return evaluate(sc, control, people=False)


def _by_flow(items, source="from", target="to", area="area_km2"):
    """Sum areas per (from, to), independently of the accounting's own sums."""
    out: dict[tuple[str, str], float] = {}
    for it in items:
        key = (it[source], it[target])
        out[key] = out.get(key, 0.0) + it[area]
    return out


def test_json_flows_are_the_moves_summed_per_direction(toy):
    from tests.shapes import GEOD, box_at, cell, cell_area_km2

    ev = _zone_eval(toy)
    doc = json.loads(tables.to_json(tables.evaluation_payload(ev)))
    assert [(f["from"], f["to"]) for f in doc["flows"]] == list(FLOWS)
    moves = _by_flow(
        [{"from": m.source, "to": m.target, "area_km2": m.area_km2} for m in ev.moves]
    )
    listed = _by_flow(doc["transfers"])
    for f in doc["flows"]:
        key = (f["from"], f["to"])
        assert f["area_km2"] == pytest.approx(moves.get(key, 0.0), rel=1e-12, abs=0)
        assert f["area_km2"] == pytest.approx(listed.get(key, 0.0), rel=1e-12, abs=0)
    flows = {(f["from"], f["to"]): f["area_km2"] for f in doc["flows"]}
    # by hand: Beta west of the line (31.0-31.5°E) goes to Russia, the pocket
    # (30.1-30.2°E, 48.1-48.2°N) to Ukraine; no grey zone on the toy map
    assert flows[("UA", "RU")] == pytest.approx(
        cell_area_km2(*box_at(1, 0, 1.5, 1)), rel=1e-9
    )
    assert flows[("RU", "UA")] == pytest.approx(
        cell_area_km2(*box_at(0.1, 0.1, 0.2, 0.2)), rel=1e-9
    )
    assert flows[("GREY", "DMZ")] == 0
    # each side gives a 5-km band along the 111.2-km line after the swap
    assert flows[("UA", "DMZ")] == pytest.approx(5 * 111.2, rel=2e-3)
    assert flows[("RU", "DMZ")] == pytest.approx(5 * 111.2, rel=2e-3)
    assert doc["ratios"]["cession"] == pytest.approx(
        flows[("UA", "RU")] / flows[("RU", "UA")], rel=1e-12
    )
    assert doc["ratios"]["zone"] == pytest.approx(
        flows[("UA", "DMZ")] / flows[("RU", "DMZ")], rel=1e-12
    )
    assert doc["ratio"] == doc["ratios"]["cession"]
    assert doc["ratio_definitions"] == RATIO_DEFINITIONS
    line = doc["contact_line_km"]
    assert line["definition"] == LINE_AFTER_DEFINITION
    # before: the 111.2-km meridian at 31.5°E and the pocket's outline
    pocket_km = GEOD.geometry_length(cell(*box_at(0.1, 0.1, 0.2, 0.2))) / 1000
    assert line["before"] == pytest.approx(111.2 + pocket_km, rel=1e-3)
    assert line["after_direct"] == 0  # the zone runs along the whole line
    (zone,) = line["zones"]
    assert zone["name"] == "buffer"
    assert zone["ua_edge_km"] == pytest.approx(111.2, rel=1e-3)
    assert zone["ru_edge_km"] == pytest.approx(111.2, rel=1e-3)
    assert {t["group"] for t in doc["transfers"]} == {"west", "pocket", "buffer"}


def test_csv_carries_flows_ratios_and_zone_edges(toy):
    ev = _zone_eval(toy)
    rows = _rows(tables.evaluation_csv(ev))
    flows = {f"{a.lower()}_to_{b.lower()}_km2": ev.flow_km2(a, b) for a, b in FLOWS}
    for r in rows:
        for col, value in flows.items():
            assert float(r[col]) == pytest.approx(value, rel=1e-12, abs=0)
        assert float(r["cession_ratio"]) == pytest.approx(ev.ratios["cession"])
        assert float(r["zone_ratio"]) == pytest.approx(ev.ratios["zone"])
        assert float(r["front_after_km"]) == ev.front_after_km
        assert r["contact_line_definition"] == LINE_AFTER_DEFINITION
        assert r["cession_ratio_definition"] == RATIO_DEFINITIONS["cession"]
    (edges,) = ev.line_after.zones
    zone_rows = [r for r in rows if r["to"] == "DMZ"]
    assert {r["group"] for r in zone_rows} == {"buffer"}
    assert {float(r["zone_ua_edge_km"]) for r in zone_rows} == {edges.ua_edge_km}
    assert {float(r["zone_ru_edge_km"]) for r in zone_rows} == {edges.ru_edge_km}
    assert all(r["zone_ua_edge_km"] == "" for r in rows if r["to"] != "DMZ")
    # a ratio with no denominator is an empty cell
    mirror = _rows(tables.evaluation_csv(_zone_eval(toy, transfers=False)))
    assert {r["cession_ratio"] for r in mirror} == {""}


def test_text_of_a_mirror_zone_says_no_cession_not_receives_nothing(toy):
    straight = scenario_world.control(pocket=False)  # a straight line: 556/556 km²
    mirror = tables.evaluation_text(_zone_eval(straight, transfers=False))
    assert "receives nothing" not in mirror
    assert "No cession: neither side cedes land to the other." in mirror
    assert "Ukraine gives to demilitarised zones" in mirror
    assert "zone     1.00" in mirror
    assert "cession  none" in mirror
    for definition in (*RATIO_DEFINITIONS.values(), LINE_AFTER_DEFINITION):
        assert definition in mirror
    assert "after: buffer, Ukrainian edge" in mirror
    assert "after: buffer, Russian edge" in mirror
    assert "after: direct contact" in mirror
    one_way = _toy_eval(toy)
    one_way = evaluate(
        replace(one_way.scenario, transfers=one_way.scenario.transfers[:1]),
        scenario_world.control(pocket=False),
        people=False,
    )
    text = tables.evaluation_text(one_way)
    assert "receives nothing in return" in text
    assert "cession  none" in text
    both = tables.evaluation_text(_toy_eval(toy))
    assert "receives nothing" not in both
    # the notebook repr says the same
    html = tables.evaluation_html(_zone_eval(straight, transfers=False))
    assert "receives nothing" not in html
    assert "No cession" in html
    assert "Ukrainian edge" in html
    assert "Russian edge" in html


def test_compare_shows_what_each_side_gives_and_receives(toy):
    evs = [_zone_eval(toy, title="swap and zone"), _toy_eval(_gap(toy), "a day later")]
    df = compare(evs)
    doc = json.loads(tables.to_json(tables.compare_payload(evs, df)))
    assert doc["ratio_definitions"] == RATIO_DEFINITIONS
    assert doc["contact_line_definition"] == LINE_AFTER_DEFINITION
    for row, ev in zip(doc["scenarios"], evs, strict=True):
        moves = _by_flow(
            [
                {"from": m.source, "to": m.target, "area_km2": m.area_km2}
                for m in ev.moves
            ]
        )
        gives = {
            p: sum(a for (s, _), a in moves.items() if s == p) for p in ("UA", "RU")
        }
        gets = {
            p: sum(a for (_, t), a in moves.items() if t == p) for p in ("UA", "RU")
        }
        assert row["as_of"] == ev.control.as_of.isoformat()
        assert row["ru_gives_km2"] == pytest.approx(gives["RU"], rel=1e-12)
        assert row["ua_gives_km2"] == pytest.approx(gives["UA"], rel=1e-12)
        assert row["ru_receives_km2"] == pytest.approx(gets["RU"], rel=1e-12)
        assert row["ua_receives_km2"] == pytest.approx(gets["UA"], rel=1e-12)
        for a, b in FLOWS:
            assert row[f"{a.lower()}_to_{b.lower()}_km2"] == pytest.approx(
                moves.get((a, b), 0.0), rel=1e-12, abs=0
            )
        assert [(f["from"], f["to"]) for f in row["flows"]] == list(FLOWS)
        assert row["cession_ratio"] == row["ratio"]
    zone = [m for m in evs[0].moves if m.kind == "zone"]
    ua_zone = sum(m.area_km2 for m in zone if m.source == "UA")
    ru_zone = sum(m.area_km2 for m in zone if m.source == "RU")
    assert doc["scenarios"][0]["zone_ratio"] == pytest.approx(ua_zone / ru_zone)
    assert doc["scenarios"][1]["zone_ratio"] is None
    assert doc["scenarios"][0]["contact_line_km"]["zones"][0]["name"] == "buffer"
    text = tables.compare_text(tables.compare_frame(evs, df))
    assert "As of" in text
    assert "RU gives km²" in text
    assert "Zone ratio" in text
    assert "2025-01-01 " in text
    assert "2025-01-02*" in text
    for definition in RATIO_DEFINITIONS.values():
        assert definition in text
    rows = _rows(tables.compare_csv(evs, df))
    assert [r["as_of"] for r in rows] == ["2025-01-01", "2025-01-02"]
    assert list(rows[0])[-len(PROVENANCE) :] == PROVENANCE
    assert rows[0]["contact_line_definition"] == LINE_AFTER_DEFINITION


# --------------------------------------------------------------------------- CLI


def _run(runner, cache, *args):
    from territory.cli.main import cli

    result = runner.invoke(cli, [*args, "--cache", str(cache)])
    assert result.exit_code == 0, result.output
    return result.stdout


def _expect(date: str) -> dict[str, str]:
    from territory.versions import MATCHED

    label, snap_day, version = GAP_SNAPSHOT if date == GAP else NORMAL_SNAPSHOT
    return {
        "as_of": date,
        "snapshot": label,
        "snapshot_as_of": snap_day,
        "earlier_snapshot": str(date == GAP),
        "map_version": version,
        "map_dated_by": MATCHED,
    }


@pytest.mark.data
@pytest.mark.parametrize("date", [GAP, NORMAL])
def test_control_cli_csv_and_json(runner, cache, date):
    rows = _rows(_run(runner, cache, "control", "--date", date, "--format", "csv"))
    assert len(rows) == 27
    assert all({k: r[k] for k in PROVENANCE} == _expect(date) for r in rows)
    doc = json.loads(_run(runner, cache, "control", "--date", date, "--format", "json"))
    expect = _expect(date) | {"earlier_snapshot": date == GAP}
    assert all({k: r[k] for k in PROVENANCE} == expect for r in doc["regions"])
    assert doc["earlier_snapshot"] is (date == GAP)
    assert doc["snapshot"]["as_of"] == expect["snapshot_as_of"]
    if date == GAP:
        assert doc["note"].startswith(GAP_NOTE)
        assert "Note: " + GAP_NOTE in _run(runner, cache, "control", "--date", date)
    else:
        assert doc["note"] is None


@pytest.mark.data
@pytest.mark.parametrize("date", [GAP, NORMAL])
def test_evaluate_cli_csv_and_json(runner, cache, date):
    args = ["evaluate", "alaska-2025", "--date", date]
    rows = _rows(_run(runner, cache, *args, "--format", "csv"))
    assert {r["name"] for r in rows} == {
        "Ukraine withdraws from Donbas",
        "Russia returns its pockets in Sumy and Kharkiv",
    }
    assert {r["region"] for r in rows} >= {"Donetsk", "Luhansk", "Sumy", "Kharkiv"}
    assert all({k: r[k] for k in PROVENANCE} == _expect(date) for r in rows)
    doc = json.loads(_run(runner, cache, *args, "--format", "json"))
    assert doc["as_of"] == date
    assert doc["snapshot"] == _expect(date)["snapshot"]
    assert doc["snapshot_as_of"] == _expect(date)["snapshot_as_of"]
    assert doc["earlier_snapshot"] is (date == GAP)
    assert (doc["note"] or "").startswith(GAP_NOTE if date == GAP else "")
    assert (doc["note"] is None) is (date != GAP)


@pytest.mark.data
@pytest.mark.parametrize("date", [GAP, NORMAL])
def test_compare_cli_csv_and_json(runner, cache, date):
    args = ["compare", "alaska-2025", "witkoff-2025-08-08", "--date", date]
    rows = _rows(_run(runner, cache, *args, "--format", "csv"))
    assert [r["file"] for r in rows] == ["alaska-2025.toml", "witkoff-2025-08-08.toml"]
    assert all({k: r[k] for k in PROVENANCE} == _expect(date) for r in rows)
    doc = json.loads(_run(runner, cache, *args, "--format", "json"))
    for row in doc["scenarios"]:
        assert row["earlier_snapshot"] is (date == GAP)
        assert row["snapshot"] == _expect(date)["snapshot"]
        assert row["snapshot_as_of"] == _expect(date)["snapshot_as_of"]
        assert (row["note"] is None) is (date != GAP)
        assert row["transfers"]
        assert row["parties"]


def test_notebook_reprs_say_when_an_earlier_snapshot_serves(toy):
    assert "Note:" not in tables.control_html(toy)
    assert "Note: no snapshot for 2025-01-02" in tables.control_html(_gap(toy))
    assert "Note:" not in tables.evaluation_html(_toy_eval(toy))
    assert "Note: no snapshot for 2025-01-02" in tables.evaluation_html(
        _toy_eval(_gap(toy))
    )
