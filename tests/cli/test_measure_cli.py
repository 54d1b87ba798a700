import json

import pytest
import shapely

from territory.cli.main import cli
from tests.shapes import cell, cell_area_km2


def _write_geojson(path, geoms, crs=None):
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(
        {"name": [f"f{i}" for i in range(len(geoms))]},
        geometry=geoms,
        crs=crs or "EPSG:4326",
    )
    gdf.to_file(path, driver="GeoJSON")
    return path


def test_unit_square_reference(runner, tmp_path):
    path = _write_geojson(tmp_path / "sq.geojson", [shapely.box(0, 0, 1, 1)])
    result = runner.invoke(cli, ["measure", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    # GeographicLib's reference for the lon/lat unit square at the equator.
    assert doc["total"]["area_m2"] == pytest.approx(12_308_778_361.47, abs=0.01)
    assert doc["features"][0]["area_km2"] == pytest.approx(12_308.77836147, abs=1e-8)
    assert doc["total"]["perimeter_km"] > 440


def test_densified_cell_8217_73(runner, tmp_path):
    path = _write_geojson(tmp_path / "cell.geojson", [cell(37, 48, 38, 49)])
    doc = json.loads(
        runner.invoke(cli, ["measure", str(path), "--format", "json"]).stdout
    )
    assert round(doc["total"]["area_km2"], 2) == 8217.73
    assert doc["total"]["area_km2"] == pytest.approx(
        cell_area_km2(37, 48, 38, 49), rel=1e-6
    )


def test_geopackage_in_projected_crs(runner, tmp_path):
    # A 10 km × 10 km square in ETRS89-LAEA (equal-area) is 100 km² within 1e-6.
    sq = shapely.segmentize(
        shapely.box(5_000_000, 2_800_000, 5_010_000, 2_810_000), 100
    )
    path = _write_geojson(tmp_path / "sq.gpkg", [sq], crs="EPSG:3035")
    doc = json.loads(
        runner.invoke(cli, ["measure", str(path), "--format", "json"]).stdout
    )
    assert doc["total"]["area_km2"] == pytest.approx(100.0, rel=1e-6)


def test_table_lists_each_feature_and_total(runner, tmp_path):
    path = _write_geojson(
        tmp_path / "two.geojson", [cell(30, 48, 30.1, 48.1), cell(31, 48, 31.1, 48.1)]
    )
    out = runner.invoke(cli, ["measure", str(path)]).stdout
    assert "f0" in out
    assert "f1" in out
    assert "total" in out


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        pytest.param("not json at all", "cannot be read", id="garbage"),
        pytest.param(
            '{"type": "FeatureCollection", "features": []}', "no features", id="empty"
        ),
        pytest.param(
            '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
            '"geometry":{"type":"Point","coordinates":[1,2]}}]}',
            "no polygons",
            id="points-only",
        ),
    ],
)
def test_bad_files_exit_1_with_one_line(runner, tmp_path, content, phrase):
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    result = runner.invoke(cli, ["measure", str(path)])
    assert result.exit_code == 1
    assert phrase in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_shapefile_without_crs_is_an_error(runner, tmp_path):
    import geopandas as gpd

    path = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]).to_file(path)
    result = runner.invoke(cli, ["measure", str(path)])
    assert result.exit_code == 1
    assert "has no CRS" in result.output
