"""The by-region figures map after map (`territory.series`) equal the partition's."""

import numpy as np
import pytest
import shapely

from territory import series
from territory.control import RU, partition_land
from territory.geodesy import area_km2

pytestmark = pytest.mark.data


def _partition_ru_km2(record, by_status):
    p = partition_land(record.regions, record.land, by_status)
    ru = p.pieces[p.pieces["holder"] == RU]
    km2 = ru.assign(a=[area_km2(g) for g in ru.geometry]).groupby("region_id")["a"]
    return km2.sum().reindex(record.regions["region_id"]).fillna(0.0).to_numpy()


@pytest.fixture(scope="module")
def statics(record):
    regions = record.regions
    return series.Statics.build(
        list(regions["region_id"]), regions.geometry.values, record.land
    )


# Consecutive daily maps in spans where the line moved along the Sumy border
# (border gaps appear and vanish there) and across Donetsk; the engine's
# figures are checked against a full partition at the last map of each span.
@pytest.mark.parametrize(("first", "last"), [(300, 306), (600, 604)])
def test_engine_equals_the_partition(record, statics, first, last):
    snaps = record.snapshots[first:last]
    engine = series.Engine(statics)
    for snap in snaps:
        got = engine.step(record.read_snapshot(snap))
    expected = _partition_ru_km2(record, record.read_snapshot(snaps[-1]))
    # 1e-9 relative: the accounting area is additive under every overlay,
    # so only float rounding separates the sum over cells from the whole
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
    assert any(g.reason == "border gap" for g in engine.given)


def test_gross_changes_add_up_to_the_net(record, statics):
    snaps = record.snapshots[400:404]
    engine = series.Engine(statics, gross=True)
    before = engine.step(record.read_snapshot(snaps[0]))
    for snap in snaps[1:]:
        after = engine.step(record.read_snapshot(snap))
        np.testing.assert_allclose(
            engine.gained_km2 - engine.lost_km2, after - before, atol=1e-8
        )
        before = after
    assert engine.gained_km2.sum() >= 0 and engine.lost_km2.sum() >= 0


def test_changed_edges_are_exact():
    # Ukraine's latitudes: two squares sharing three edges of four
    a = shapely.box(36.0, 48.0, 36.1, 48.1)
    b = shapely.Polygon(
        [(36.0, 48.0), (36.1, 48.0), (36.1, 48.1), (36.05, 48.12), (36.0, 48.1)]
    )
    old = series._Map(a, series._EMPTY, {}, {})
    new = series._Map(b, series._EMPTY, {}, {})
    for m in (old, new):
        for status, g in (("occupied", m.occupied), ("grey", m.grey)):
            m.edges[status], m.segments[status] = series._edges(g)
    changed = series.changed_edges(old, new)
    # the old top edge, and the two new edges of the roof
    assert len(changed) == 3
    assert series.changed_edges(old, old).shape == (0, 4)


def test_a_cell_enclosed_by_a_new_polygon_is_recomputed(record, statics):
    # A polygon that appears around whole cells changes no edge inside them:
    # the parity of a ray from each cell's centre finds them.
    engine = series.Engine(statics)
    base = {"occupied": shapely.box(37.0, 47.6, 37.05, 47.65)}
    engine.step(base)
    ring = shapely.box(37.0, 47.6, 37.05, 47.65).union(
        shapely.box(35.9, 48.4, 36.9, 49.1)
    )
    got = engine.step({"occupied": ring})
    expected = _partition_ru_km2(record, {"occupied": ring})
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


def test_damaged_derived_figures_are_never_trusted(record, tmp_path, monkeypatch):
    # The by-region figures are kept in a derived file named after its
    # content; a file changed by one digit, still valid JSON, is recomputed.
    monkeypatch.setattr(type(record), "_derived_dir", lambda self: tmp_path)
    snaps = record.snapshots[500:502]
    first, _ = record.region_figures(snaps)
    (path,) = tmp_path.glob("series-*.json")
    text = path.read_text()
    digit = next(i for i, c in enumerate(text) if c.isdigit() and text[i - 1] == "[")
    bad = text[:digit] + str((int(text[digit]) + 1) % 10) + text[digit + 1 :]
    path.write_text(bad)  # same name, other content
    again, _ = record.region_figures(snaps)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not path.exists() or path.read_text() == text


def test_forked_chunks_equal_one_engine(record, tmp_path, monkeypatch):
    # A long span is shared between processes, each chunk starting with a
    # full map; the figures (and the gross changes) equal one engine's.
    from territory import record as record_module

    snaps = record.snapshots[640:648]
    monkeypatch.setattr(type(record), "_derived_dir", lambda self: tmp_path / "one")
    monkeypatch.setattr(record_module, "PARALLEL_MIN_MAPS", 10_000)
    one_rows, one_steps = record.region_figures(snaps, gross=True)
    monkeypatch.setattr(type(record), "_derived_dir", lambda self: tmp_path / "forked")
    monkeypatch.setattr(record_module, "PARALLEL_MIN_MAPS", 2)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    rows, steps = record.region_figures(snaps, gross=True)
    for a, b in zip(one_rows, rows, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    for a, b in zip(one_steps[1:], steps[1:], strict=True):
        np.testing.assert_allclose(a[0], b[0], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-9, atol=1e-12)
    assert one_steps[0] is None and steps[0] is None


def test_a_long_run_that_disagrees_with_the_partition_is_refused(
    record, tmp_path, monkeypatch
):
    # Negative control of the check that ends every long run: figures off by
    # 1 km² are an InternalError (exit 3), never written or shown.
    from territory import record as record_module
    from territory.errors import InternalError

    monkeypatch.setattr(type(record), "_derived_dir", lambda self: tmp_path)
    monkeypatch.setattr(record_module, "PARALLEL_MIN_MAPS", 2)
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    real = series.Engine.region_km2
    monkeypatch.setattr(series.Engine, "region_km2", lambda self: real(self) + 1.0)
    with pytest.raises(InternalError, match="disagree with its partition"):
        record.region_figures(record.snapshots[700:702])
    assert not list(tmp_path.glob("series-*.json"))
