"""The public API composes: frames indexed by their key, layers with their CRS,
one word per concept ("holding" any holder's land, "held" Ukraine's), and no
shared object a caller's edit could change.
"""

from __future__ import annotations

import pandas as pd
import pytest
import shapely

from territory.accounting import evaluate
from territory.errors import DataError, ScenarioError
from territory.exports import export_layers
from territory.geodesy import area_km2
from territory.regions import load_region_table
from territory.scenario import parse_scenario
from tests import scenario_world

BODY = """
[scenario]
title = "Toy"
as_of = 2025-01-01

[[transfers]]
name = "Beta"
from = "UA"
to = "RU"
select = { regions = ["Beta"] }

[[zones]]
name = "Gamma zone"
depth_km = 5
select = { regions = ["Alpha", "Beta"] }
"""


def _parse(body: str):
    import tomllib

    return parse_scenario(tomllib.loads(body), table=scenario_world.table())


@pytest.fixture
def ctl():
    return scenario_world.control()


@pytest.fixture
def ev(ctl):
    return evaluate(_parse(BODY), ctl, people=False)


# --------------------------------------------------------------------------- keys


def test_control_frames_are_indexed_by_region_id(ctl):
    frame = ctl.to_frame()
    assert frame.index.name == "region_id"
    assert list(frame.index) == ctl.region_ids()
    assert "region_id" not in frame.columns
    assert frame.loc["XB", "name"] == "Beta"
    assert ctl.regions.index.name == "region_id"
    assert ctl.regions.loc["XB", "name"] == "Beta"
    pieces = ctl.pieces
    assert pieces.index.names == ["region_id", "holder"]
    assert pieces.index.is_unique
    assert pieces.loc[("XB", "RU"), "area_km2"] == pytest.approx(
        ctl.holding_km2("RU", "XB"), rel=1e-12
    )
    removed = ctl.removed_frame()
    assert removed.index.names == ["region_id", "reason"]


def test_evaluation_frames_are_indexed_by_their_key(ev):
    parties = ev.parties_frame()
    assert parties.index.name == "party"
    assert parties.loc["UA", "lost_km2"] == pytest.approx(ev.lost_km2("UA"))
    moves = ev.transfers_frame()
    assert moves.index.name == "name"
    assert moves.index.is_unique
    assert list(moves.index) == [m.name for m in ev.moves]
    assert moves.loc["Beta", "to"] == "RU"
    by_region = ev.regions_frame()
    assert by_region.index.names == ["name", "region_id"]
    assert by_region.index.is_unique
    assert by_region.loc[("Beta", "XB"), "area_km2"] == pytest.approx(
        moves.loc["Beta", "area_km2"], rel=1e-9
    )


def test_a_transfer_may_not_share_a_name_with_a_zone():
    # the moves' frames are indexed by name: a clash would make it ambiguous
    body = BODY.replace('name = "Beta"', 'name = "Gamma zone (Ukrainian side)"')
    with pytest.raises(ScenarioError, match="used by a transfer and a zone"):
        _parse(body)


def test_keys_are_columns_in_csv(ev, ctl):
    from territory import tables

    parties = tables.evaluation_table_csv(ev, "parties").splitlines()
    assert parties[0].startswith("party,before_km2")
    assert tables.evaluation_table_csv(ev, "transfers").startswith("name,kind,")
    assert tables.control_csv(ctl).startswith("region_id,name,")
    # a frame with no named index (0..n) is written without it
    assert tables.frame_csv(pd.DataFrame({"a": [1]})) == "a\n1\n"


# --------------------------------------------------------------------------- words


def test_holding_km2_is_any_holders_and_held_km2_is_ukraines(ctl):
    frame = ctl.to_frame()
    for rid in ctl.region_ids():
        assert ctl.holding_km2("UA", rid) == pytest.approx(
            frame.loc[rid, "held_km2"], rel=1e-12
        )
        assert ctl.holding_km2("ru", rid) == pytest.approx(
            frame.loc[rid, "occupied_km2"], rel=1e-12
        )
    both = ctl.holding_km2("RU", ["Alpha", "XB"])
    assert both == pytest.approx(
        frame.loc[["XA", "XB"], "occupied_km2"].sum(), rel=1e-12
    )
    assert ctl.holding_km2("RU", []) == 0.0
    assert not hasattr(ctl, "held_km2")  # one word per concept


@pytest.mark.parametrize(
    ("holder", "regions", "needle"),
    [
        ("XX", None, "unknown holder"),
        ("RU", ["Betta"], "did you mean Beta"),
        ("RU", 5, "list of region names"),
    ],
)
def test_holding_km2_refuses_unknown_holders_and_regions(ctl, holder, regions, needle):
    with pytest.raises(DataError, match=needle):
        ctl.holding_km2(holder, regions)


def test_holdings_is_a_layer_by_holder_with_its_crs(ctl):
    layer = ctl.holdings()
    assert layer.index.name == "holder"
    assert list(layer.index) == ctl.holders()
    assert layer.crs.to_epsg() == 4326
    for holder in layer.index:
        assert layer.loc[holder, "area_km2"] == pytest.approx(
            ctl.holding_km2(holder), rel=1e-12
        )
        assert layer.geometry[holder].equals(ctl.holding(holder))
    beta = ctl.holdings("Beta")
    assert beta.loc["RU", "area_km2"] == pytest.approx(
        area_km2(ctl.holding("RU", "Beta")), rel=1e-9
    )
    assert beta.loc["RU", "area_km2"] < layer.loc["RU", "area_km2"]


def test_every_layer_the_api_returns_has_its_crs(ctl, ev):
    layers = {
        "Control.regions": ctl.regions,
        "Control.pieces": ctl.pieces,
        "Control.holdings": ctl.holdings(),
        "Control.holdings(regions)": ctl.holdings(["Beta"]),
        "Control.removed_frame": ctl.removed_frame(),
        "Evaluation.to_geodataframe": ev.to_geodataframe(),
        "after_control.holdings": ev.after_control().holdings(),
        "after_control.pieces": ev.after_control().pieces,
        **{f"export_layers[{k}]": v for k, v in export_layers(ev).items()},
    }
    missing = [name for name, layer in layers.items() if layer.crs is None]
    assert not missing
    assert all(layer.crs.to_epsg() == 4326 for layer in layers.values())


# --------------------------------------------------------------------------- leaks


def test_edits_to_returned_frames_reach_no_other_call_or_control(ctl):
    other = ctl.dated(ctl.as_of, "another date")
    frame, holdings, regions = ctl.to_frame(), ctl.holdings(), ctl.regions
    pieces = ctl.pieces
    handed = (
        ctl.regions,
        ctl.holdings(),
        ctl.removed_frame(),
        ctl.to_frame(),
        ctl.partition.pieces,
        ctl.partition.removed,
    )
    for got in handed:
        got.iloc[:, 0] = got.iloc[:, 0].iloc[::-1].to_numpy()  # an edit in place
        got["extra"] = 1
    edited = ctl.regions
    edited.loc["XB", "name"] = "Edited"
    assert edited.loc["XB", "name"] == "Edited"  # the negative control: it took
    for c in (ctl, other):
        assert c.regions.equals(regions)
        assert c.to_frame().equals(frame)
        assert c.pieces.drop(columns="geometry").equals(pieces.drop(columns="geometry"))
        assert "extra" not in c.partition.pieces
        assert (
            c.holdings()
            .drop(columns="geometry")
            .equals(holdings.drop(columns="geometry"))
        )


def test_shared_mappings_are_read_only(ctl):
    with pytest.raises(TypeError):
        ctl.partition.country["RU"] = shapely.Polygon()  # type: ignore[index]
    assert not ctl.partition.country["RU"].is_empty
    table = load_region_table()
    with pytest.raises(TypeError):
        table.regions["UA-14"] = None  # type: ignore[index]
    assert load_region_table().lookup("UA-14").name == "Donetsk"


@pytest.mark.data
def test_the_record_hands_out_copies_indexed_by_region_id(record):
    regions = record.regions
    assert regions.index.name == "region_id"
    assert regions.crs.to_epsg() == 4326
    assert record.display_regions.crs.to_epsg() == 4326
    regions.loc["UA-14", "name"] = "Edited"
    ids = record.region_ids
    ids.clear()
    assert record.regions.loc["UA-14", "name"] == "Donetsk"
    assert len(record.region_ids) == 27
    ctl = record.control("2025-08-15")
    assert ctl.regions.loc["UA-14", "name"] == "Donetsk"
    frame = ctl.to_frame()
    assert frame.loc["UA-14", "name"] == "Donetsk"
    assert frame.loc["UA-14", "held_km2"] == pytest.approx(
        ctl.holding_km2("UA", "Donetsk"), rel=1e-12
    )
    assert ctl.holdings("UA-14").crs.to_epsg() == 4326


def test_values_kept_once_per_process_are_read_only():
    # the manifest, the land neighbours and the places counted are read once
    # and handed to every caller: an edit must fail, not reach the next one
    from territory.borders import load_neighbours
    from territory.manifest import load_manifest
    from territory.people import settlements

    manifest = load_manifest()
    with pytest.raises(TypeError):
        manifest.datasets["boundaries"] = None  # type: ignore[index]
    with pytest.raises(TypeError):
        manifest.country["official_area_km2"] = 1.0  # type: ignore[index]
    area = load_manifest().country["official_area_km2"]
    assert area > 600_000  # negative control: the figure itself is untouched
    with pytest.raises(TypeError):
        load_neighbours()["RU"] = None  # type: ignore[index]
    assert load_neighbours()["RU"].name == "Russia"
    places = settlements()
    with pytest.raises((TypeError, AttributeError)):
        places.append({})  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        places[0]["population"] = 0  # type: ignore[index]
    assert settlements()[0]["population"] > 0
    assert dict(places[0]) == dict(settlements()[0])


@pytest.mark.data
def test_the_records_partition_is_handed_out_as_a_copy(record):
    snap, _ = record.snapshot_for("2025-08-15")
    ru = record.control("2025-08-15").holding_km2("RU")
    got = record.partition(snap)
    got.pieces["holder"] = "UA"  # an edit of every row
    assert (got.pieces["holder"] == "UA").all()  # the negative control: it took
    again = record.partition(snap)
    assert (again.pieces["holder"] == "RU").any()
    assert record.control("2025-08-15").holding_km2("RU") == ru


@pytest.mark.data
def test_the_records_snapshots_and_versions_are_read_only(record):
    snaps = record.snapshots
    with pytest.raises((TypeError, AttributeError)):
        snaps.append(snaps[0])  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        record.versions[next(iter(record.versions))] = None  # type: ignore[index]
    assert len(record.snapshots) == len(snaps) > 700
