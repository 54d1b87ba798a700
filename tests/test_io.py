"""Reading user files: the usual mistakes are diagnosed, not measured.

Shapes sit at Ukraine's latitudes (around 48°N 35°E), where the swapped
reading (35°N 48°E) falls in Iran and would otherwise be measured silently.
"""

from __future__ import annotations

import json

import pytest

from territory.cli.main import cli
from territory.errors import CRSError, DataError, TerritoryError
from territory.io import diagnose_lonlat, read_vector

SQUARE = [[35.0, 48.0], [35.5, 48.0], [35.5, 48.5], [35.0, 48.5], [35.0, 48.0]]


def _geojson(tmp_path, coords, name="f.geojson", crs=None):
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "box"},
                "geometry": {"type": "Polygon", "coordinates": [coords]},
            }
        ],
    }
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_lonlat_square_is_read(tmp_path):
    gdf = read_vector(_geojson(tmp_path, SQUARE))
    assert gdf.crs.to_epsg() == 4326
    assert len(gdf) == 1


def test_metres_without_crs_are_diagnosed(tmp_path):
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    metres = [list(tr.transform(x, y)) for x, y in SQUARE]
    with pytest.raises(DataError, match=r"not degrees .*metres"):
        read_vector(_geojson(tmp_path, metres))
    # the same coordinates with their CRS declared are fine, and land in Ukraine
    gdf = read_vector(_geojson(tmp_path, metres, "m.geojson", crs="EPSG:3857"))
    assert list(gdf.total_bounds) == pytest.approx([35.0, 48.0, 35.5, 48.5])


def test_swapped_lonlat_is_diagnosed(tmp_path):
    swapped = [[y, x] for x, y in SQUARE]
    with pytest.raises(DataError, match="lon and lat exchanged"):
        read_vector(_geojson(tmp_path, swapped))
    assert len(read_vector(_geojson(tmp_path, swapped), check_lonlat=False)) == 1


def test_far_away_shapes_are_not_called_swapped():
    # a shape in Portugal is outside the covered area, but so is its swap
    assert diagnose_lonlat((-9.2, 38.6, -9.0, 38.8), what="f") is None


@pytest.mark.parametrize(
    ("content", "name", "needle", "exc"),
    [
        ("a,b\n1,2\n", "table.csv", "no geometry", DataError),
        ("not json at all", "bad.geojson", "cannot be read", DataError),
        (
            '{"type": "FeatureCollection", "features": []}',
            "e.geojson",
            "no features",
            DataError,
        ),
    ],
    ids=["csv-table", "garbage", "empty"],
)
def test_unreadable_files_are_one_line(tmp_path, content, name, needle, exc):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(exc, match=needle):
        read_vector(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_vector(tmp_path / "nope.geojson")
    with pytest.raises(DataError, match="not a file"):
        read_vector(tmp_path)


def test_crs_error_is_a_project_error():
    assert issubclass(CRSError, TerritoryError)


def test_measure_cli_refuses_swapped_unless_as_is(runner, tmp_path):
    path = _geojson(tmp_path, [[y, x] for x, y in SQUARE])
    result = runner.invoke(cli, ["measure", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "--as-is" in result.stderr
    assert "exchanged" in result.stderr
    ok = runner.invoke(cli, ["measure", str(path), "--as-is", "--format", "json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["total"]["area_km2"] > 0


def test_measure_cli_on_a_table_is_one_line(runner, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n")
    result = runner.invoke(cli, ["measure", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.strip().startswith("Error:")
    assert "no geometry" in result.stderr
