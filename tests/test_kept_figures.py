"""Figures measured of a map are kept on disk beside its derived partition.

A selection's area, its breakdown by region and its people, and the length
of the contact line, depend on the map alone; `Record` keeps them in
``derived/facts-<inputs>-<content>.json`` (inputs: the partition file's
content and the region layer), and a new Record reads them.  An evaluation
that reads them gives the same numbers as one that measures them, and a
damaged file is measured again, never trusted.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from territory import datasets, record
from territory.accounting import evaluate
from territory.control import KEPT_ON_DISK_KEYS
from territory.scenario import read_scenario
from tests.support import isolate_env, partitioned_cache

pytestmark = pytest.mark.data

AS_OF = "2025-08-15"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache of the map as of AS_OF, its partition derived, no figures kept."""
    day = dt.date(2025, 8, 16)
    return partitioned_cache(tmp_path_factory.mktemp("kept") / "cache", day, day, AS_OF)


@pytest.fixture
def cache(small: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(small, tmp_path / "cache"))


def _facts(cache: Path) -> list[Path]:
    return sorted((cache / datasets.DERIVED_DIR).glob("facts-*.json"))


def _numbers(ev) -> dict:
    return {
        "moves": [(m.name, m.area_km2, m.regions, m.people) for m in ev.moves],
        "before": ev.before_km2,
        "after": ev.after_km2,
        "front": (ev.front_before_km, ev.front_after_km),
    }


def test_kept_figures_are_the_measured_ones(cache):
    sc = read_scenario("alaska-2025")
    assert _facts(cache) == []
    measured = _numbers(evaluate(sc, record.Record(cache).control(AS_OF)))
    (path,) = _facts(cache)
    doc = json.loads(path.read_bytes())
    keys = [tuple(k[:2]) for k, _ in doc["facts"]]
    assert set(keys) == KEPT_ON_DISK_KEYS  # areas, rows, people, the line
    # a new Record reads them into the map's derived values, before evaluating
    ctl = record.Record(cache).control(AS_OF)
    assert ("accounting", "front km") in ctl._cache
    assert _numbers(evaluate(sc, ctl)) == measured
    assert _facts(cache) == [path]  # nothing new: not written again


def test_kept_figures_are_used_not_measured(cache):
    """What is read is what the evaluation reports (the file is not ignored)."""
    sc = read_scenario("alaska-2025")
    evaluate(sc, record.Record(cache).control(AS_OF), people=False)
    (path,) = _facts(cache)
    doc = json.loads(path.read_bytes())
    for item in doc["facts"]:
        if item[0] == ["accounting", "front km"]:
            item[1] = 1.5
    body = json.dumps(doc).encode()
    rec = record.Record(cache)
    path.unlink()
    rec._write_derived(path.name.rsplit("-", 1)[0], ".json", body)
    assert evaluate(sc, rec.control(AS_OF), people=False).front_before_km == 1.5


def test_a_damaged_file_is_measured_again(cache):
    sc = read_scenario("alaska-2025")
    first = _numbers(evaluate(sc, record.Record(cache).control(AS_OF)))
    (path,) = _facts(cache)
    path.write_bytes(path.read_bytes().replace(b"6730", b"6731"))
    ctl = record.Record(cache).control(AS_OF)
    assert ("accounting", "front km") not in ctl._cache
    assert not path.exists()
    assert _numbers(evaluate(sc, ctl)) == first
    assert len(_facts(cache)) == 1


def test_figures_are_kept_per_partition(cache):
    """Another partition of the map (e.g. after a new partition version) has
    figures of its own: they are keyed by the partition file's content."""
    rec = record.Record(cache)
    ctl = rec.control(AS_OF)
    stem = rec._facts_stem(ctl.snapshot)
    rec._partition_content[ctl.snapshot.key] = "0" * 16
    assert rec._facts_stem(ctl.snapshot) != stem
