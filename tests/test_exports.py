"""The whole result as GIS layers: what each holds, its CRS and units, and
that the figures in the files are the evaluation's."""

import pytest
import shapely

from territory.exports import LAYERS, export_files, export_layers, write_layers
from territory.geodesy import area_km2, length_km
from territory.io import check_outputs

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def zone_ev(record):
    """A library scenario with a transfer and a demilitarised zone."""
    from territory.accounting import evaluate
    from territory.scenario import read_scenario

    sc = read_scenario("us-28-point-2025-11")
    return evaluate(sc, record.control(sc.as_of))


@pytest.fixture(scope="module")
def layers(zone_ev):
    return export_layers(zone_ev)


def test_every_layer_is_there_in_lonlat_with_its_context(zone_ev, layers):
    assert list(layers) == list(LAYERS)
    for name, frame in layers.items():
        assert frame.crs.to_epsg() == 4326, name
        assert {"scenario", "as_of", "snapshot"} <= set(frame.columns), name
        assert set(frame["as_of"]) <= {zone_ev.control.as_of.isoformat()}, name
    assert len(layers["zones"]) >= 1
    assert len(layers["transfers"]) >= 1
    assert set(layers["zones"]["to"]) == {"DMZ"}
    assert "DMZ" not in set(layers["transfers"]["to"])


def test_holdings_are_the_evaluations(zone_ev, layers):
    before = layers["holdings_before"].set_index("party")
    after = layers["holdings_after"].set_index("party")
    for party, km2 in zone_ev.after_km2.items():
        if km2 > 0:
            # the join is snap-rounded to 1e-8°: its area is the pieces' to 1e-9
            assert area_km2(after.geometry[party]) == pytest.approx(km2, rel=1e-9)
            assert after["area_km2"][party] == km2
    for party, km2 in zone_ev.before_km2.items():
        if km2 > 0:
            assert area_km2(before.geometry[party]) == pytest.approx(km2, rel=1e-9)
    assert after["area_km2"].sum() == pytest.approx(zone_ev.land_km2, rel=1e-9)


def test_lines_are_the_evaluations(zone_ev, layers):
    after = layers["contact_line_after"]
    direct = after[after["kind"] == "direct contact"]
    assert direct["length_km"].tolist() == [zone_ev.front_after_km]
    edges = after[after["kind"] == "zone edge"]
    assert len(edges) == 2 * len(zone_ev.line_after.zones)
    for row in edges.itertuples():
        assert row.length_km == pytest.approx(length_km(row.geometry), rel=1e-12)
    before = layers["contact_line_before"]
    assert before["length_km"].tolist() == [zone_ev.front_before_km]
    # the length is measured tile by tile (territory._line_tiles): to 1e-8
    assert length_km(before.geometry.iloc[0]) == pytest.approx(
        zone_ev.front_before_km, rel=1e-8
    )


def test_settlements_lie_in_the_land_they_are_counted_in(zone_ev, layers):
    places = layers["settlements"]
    moves = {m.name: m for m in zone_ev.moves}
    assert len(places) == sum((m.people or {}).get("places", 0) for m in moves.values())
    for row in places.head(50).itertuples():
        assert shapely.covers(moves[row.move].geometry, row.geometry)
    by_move = places.groupby("move")["population"].sum()
    for name, total in by_move.items():
        assert total == moves[name].people["population"]


@pytest.mark.parametrize("suffix", [".gpkg", ".parquet"])
def test_files_read_back_as_written(layers, tmp_path, suffix):
    import geopandas as gpd
    import pyogrio

    files = export_files(tmp_path / f"deal{suffix}")
    targets = check_outputs({str(p): p for p in files})
    write_layers(layers, [(targets[str(p)], names) for p, names in files.items()])
    if suffix == ".gpkg":
        assert [n for n, _ in pyogrio.list_layers(tmp_path / "deal.gpkg")] == list(
            LAYERS
        )
        read = {n: gpd.read_file(tmp_path / "deal.gpkg", layer=n) for n in LAYERS}
        moves = read["transfers"]
    else:
        read = {n: gpd.read_parquet(p) for p, (n, *_) in files.items()}
        moves = read["transfers"]  # the transfers file holds the zones too
        assert len(moves) == len(layers["transfers"]) + len(layers["zones"])
    assert (
        read["holdings_after"]["area_km2"].tolist()
        == layers["holdings_after"]["area_km2"].tolist()
    )
    assert all(f.crs.to_epsg() == 4326 for f in read.values() if len(f))
    assert not list(tmp_path.glob("*.part"))
