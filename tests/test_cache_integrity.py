"""The cache is read only when it is what was fetched.

A small cache (boundaries, land mask, the daily files of 2025-08-14 … 16, i.e.
the maps as of 08-13 … 15, and one derived partition) is fetched once from
the mirror; each test damages a private copy: bytes flipped or cut, files
deleted, index entries broken, derived files altered.  Every reader must
either fail with one line naming the repair command, the same line `data
verify` prints, or give exactly the result of the undamaged cache.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territory import datasets, record
from territory.cli.main import cli
from territory.errors import DataError, DataNotFoundError, TerritoryError
from tests.support import MIRROR, isolate_env, partitioned_cache, tree

pytestmark = pytest.mark.data

DAYS = (dt.date(2025, 8, 14), dt.date(2025, 8, 16))  # file dates
AS_OF = "2025-08-14"  # shown by the file dated 2025-08-15
KEY = "deepstate-daily/2025-08-15"
FILE = "deepstate-daily/2025-08-15.parquet"
FIX = "territory data fetch --force deepstate-daily --start 2025-08-15 --end 2025-08-15"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small cache, with the partition of AS_OF derived.  Read-only."""
    cache = tmp_path_factory.mktemp("small") / "cache"
    return partitioned_cache(cache, DAYS[0], DAYS[1], AS_OF)


@pytest.fixture(scope="module")
def reference(small: Path) -> dict[str, Any]:
    """What the undamaged cache gives."""
    rec = record.Record(small)
    ctl = rec.control(AS_OF)
    return {
        "occupied_km2": ctl.totals()["occupied_km2"],
        "partition": rec.partition(ctl.snapshot),
        "inputs": _inputs(small),
    }


@pytest.fixture
def cache(small: Path, tmp_path: Path) -> Path:
    """A private copy of the small cache."""
    return Path(shutil.copytree(small, tmp_path / "cache"))


def _inputs(cache: Path) -> list[bytes]:
    """Everything the readers give: regions, land and each snapshot, as WKB."""
    rec = record.Record(cache)
    out = [shapely.to_wkb(g) for g in rec.regions.geometry]
    out.append(shapely.to_wkb(rec.land))
    for snap in rec.snapshots:
        out.append(snap.label.encode())
        out += [
            s.encode() + shapely.to_wkb(g) for s, g in rec.read_snapshot(snap).items()
        ]
    return out


def flip(path: Path, offset: int, mask: int = 0x01) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= mask
    path.write_bytes(bytes(data))


def index_of(cache: Path) -> dict[str, Any]:
    return json.loads((cache / "index.json").read_text())["files"]


def write_index(cache: Path, files: dict[str, Any]) -> None:
    (cache / "index.json").write_text(json.dumps({"format": 1, "files": files}))


def one_error_line(output: str) -> str:
    lines = [ln for ln in output.splitlines() if ln.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: "), output
    assert "Traceback" not in output
    return lines[0].removeprefix("Error: ")


def control_cli(cache: Path, day: str = AS_OF) -> Any:
    return CliRunner().invoke(cli, ["control", "--date", day, "--cache", str(cache)])


def refetch(cache: Path, command: str) -> None:
    """Run a repair command as the message gives it (plus the mirror)."""
    args = command.removeprefix("territory ").split()
    result = CliRunner().invoke(cli, [*args, "--mirror", str(MIRROR)])
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- damaged snapshot files


DAMAGE: dict[str, Callable[[Path], None]] = {
    "bit-flip": lambda p: flip(p, p.stat().st_size // 2),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:-100]),
    "emptied": lambda p: p.write_bytes(b""),
    "grown": lambda p: p.write_bytes(p.read_bytes() + b"\0"),
    "other-day": lambda p: shutil.copyfile(p.with_name("2025-08-16.parquet"), p),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_known_figures_are_those_of_the_file_as_fetched(
    damage: str, cache: Path
) -> None:
    # Derived by-region figures are keyed on the checksum the index records:
    # known ones are read without the file (they are the figures of the file
    # as fetched, never of the damaged one); a file missing or of another
    # size is refused; and anything that reads the file refuses it.
    figures = record.Record(cache).occupied_series(AS_OF, AS_OF)["occupied_km2"]
    DAMAGE[damage](cache / FILE)
    rec = record.Record(cache)
    same_size = (cache / FILE).stat().st_size == index_of(cache)[KEY]["size"]
    if same_size:
        again = rec.occupied_series(AS_OF, AS_OF)["occupied_km2"]
        assert again.tolist() == figures.tolist()
        assert "boundaries" not in rec._read_sha256  # nothing else was read
    else:
        with pytest.raises(DataError, match="changed since it was fetched"):
            rec.occupied_series(AS_OF, AS_OF)
    with pytest.raises(DataError, match="changed since it was fetched"):
        rec.control(AS_OF)
    for path in (cache / "derived").glob("series-*.json"):
        path.unlink()  # computing them reads the file: refused
    with pytest.raises(DataError, match="changed since it was fetched"):
        record.Record(cache).occupied_series(AS_OF, AS_OF)


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_snapshot_fails_loudly_then_repairs(
    damage: str, cache: Path, reference: dict[str, Any]
) -> None:
    DAMAGE[damage](cache / FILE)
    listing = tree(cache)
    where = f"{FIX} --cache {cache}"

    rec = record.Record(cache)
    # the damaged file is kept in the record: never "no snapshot; using an earlier one"
    assert KEY in [s.key for s in rec.snapshots]
    with pytest.raises(DataError) as info:
        rec.control(AS_OF)
    msg = str(info.value)
    assert msg.startswith(f"{KEY}: 2025-08-15.parquet changed since it was fetched")
    assert msg.endswith(f"run '{where}'")
    with pytest.raises(DataError, match="changed since it was fetched"):
        rec.occupied_series(AS_OF, AS_OF)

    result = control_cli(cache)
    assert result.exit_code == 1
    assert one_error_line(result.output) == msg
    result = CliRunner().invoke(
        cli,
        ["timeline", "--start", "2025-08-13", "--every", "1", "--cache", str(cache)],
    )
    assert result.exit_code == 1
    assert one_error_line(result.output) == msg

    # data verify flags the same file with the same line: one check for all
    checked, problems = datasets.verify(cache)
    assert problems == [msg]
    assert tree(cache) == listing  # nothing read was written back

    refetch(cache, where)
    assert datasets.verify(cache) == (checked, [])
    total = record.Record(cache).control(AS_OF).totals()["occupied_km2"]
    assert total == pytest.approx(reference["occupied_km2"], rel=1e-12)


def test_deleted_snapshot_names_the_fetch(cache: Path) -> None:
    (cache / FILE).unlink()
    with pytest.raises(DataNotFoundError) as info:
        record.Record(cache).control(AS_OF)
    assert (
        str(info.value)
        == f"{KEY}: file {cache / FILE} is missing; run '{FIX} --cache {cache}'"
    )
    result = control_cli(cache)
    assert result.exit_code == 1
    assert one_error_line(result.output) == str(info.value)


def test_unindexed_published_day_is_not_replaced_by_an_earlier_map(
    cache: Path,
) -> None:
    # an index that lost an entry (say, a flipped key that collided with
    # another) must not quietly show the day before
    files = index_of(cache)
    del files[KEY]
    write_index(cache, files)
    with pytest.raises(DataNotFoundError) as info:
        record.Record(cache).control(AS_OF)
    fix = f"territory data fetch deepstate-daily --start 2025-08-15 --end 2025-08-15 --cache {cache}"
    assert str(info.value).endswith(f"though DeepState published one; run '{fix}'")
    result = control_cli(cache)
    assert result.exit_code == 1
    assert "though DeepState published one" in one_error_line(result.output)
    refetch(cache, fix)
    assert record.Record(cache).control(AS_OF).note is None


@pytest.mark.parametrize(
    ("rel", "key"),
    [("boundaries.parquet", "boundaries"), ("land.parquet", "land")],
)
def test_damaged_static_layer_names_its_dataset(
    rel: str, key: str, cache: Path, reference: dict[str, Any]
) -> None:
    flip(cache / rel, 12345)
    fix = f"territory data fetch --force {key} --cache {cache}"
    with pytest.raises(DataError) as info:
        record.Record(cache).control(AS_OF)
    assert str(info.value).startswith(f"{key}: {rel} changed since it was fetched")
    assert str(info.value).endswith(f"run '{fix}'")
    assert datasets.verify(cache)[1] == [str(info.value)]
    result = control_cli(cache)
    assert result.exit_code == 1
    assert one_error_line(result.output) == str(info.value)
    refetch(cache, fix)
    total = record.Record(cache).control(AS_OF).totals()["occupied_km2"]
    assert total == pytest.approx(reference["occupied_km2"], rel=1e-12)


def test_require_checks_content(cache: Path) -> None:
    files = index_of(cache)
    files["land"]["size"] += 1
    write_index(cache, files)
    with pytest.raises(DataError, match=r"--force land"):
        datasets.Cache.open(cache).require("land", dataset="land")


# ------------------------------------------------------------------------ derived files


def _derived(cache: Path) -> list[Path]:
    return sorted((cache / "derived").glob(f"partition-*{record.PARTITION_SUFFIX}"))


def test_derived_file_is_named_after_inputs_and_content(cache: Path) -> None:
    (path,) = _derived(cache)
    inputs, content = path.stem.removeprefix("partition-").split("-")
    assert datasets.sha256_bytes(path.read_bytes())[:16] == content
    files = index_of(cache)
    parts = [files[k]["sha256"] for k in (KEY, "boundaries", "land")]
    expected = datasets.sha256_bytes(
        "|".join([record.PARTITION_VERSION, *parts]).encode()
    )
    assert inputs == expected[:16]


def test_derived_partition_keeps_the_outline_band(cache: Path) -> None:
    # every contact line needs the band around the land's outline: it is
    # derived with the partition and read back equal to building it anew
    from territory.control import build_outline_band

    ctl = record.Record(cache).control(AS_OF)
    band = ctl.partition.outline_band
    assert band is not None
    rebuilt = build_outline_band(ctl.partition.country["land"])
    assert shapely.equals_exact(band, rebuilt, tolerance=0)
    # a partition kept before the band was (no such layer) builds it when asked
    bare = dataclasses.replace(ctl.partition, outline_band=None)
    line = ctl.contact_line(ctl.holding("RU"))
    again = ctl.with_partition(bare, note=ctl.note)
    assert shapely.equals_exact(again.contact_line(ctl.holding("RU")), line, 0)


def test_damaged_derived_file_is_recomputed(
    cache: Path, reference: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    (path,) = _derived(cache)
    flip(path, 5000)
    total = record.Record(cache).control(AS_OF).totals()["occupied_km2"]
    assert total == pytest.approx(reference["occupied_km2"], rel=1e-12)
    assert "does not match its name" in caplog.text
    assert [p.name for p in _derived(cache)] == [path.name]  # rewritten, sound
    assert datasets.sha256_bytes(path.read_bytes())[:16] == path.stem[-16:]


def test_region_layer_is_read_from_a_checked_copy_of_its_columns(
    cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # the boundaries' code and WKB columns, kept as Arrow beside the
    # partitions: the same region layer as the file read whole
    from geopandas.testing import assert_geodataframe_equal

    from territory.regions import regions_frame

    def layer() -> gpd.GeoDataFrame:
        return record.Record(cache).regions

    def copies() -> list[Path]:
        return sorted((cache / "derived").glob("layer-*.arrow"))

    whole = regions_frame(record.Record(cache)._frame("boundaries"))
    first = layer()  # written now if the cache had none
    (path,) = copies()
    for got in (first, layer()):  # made, then read from the copy
        assert_geodataframe_equal(got, whole, check_less_precise=False)
        assert got.geometry.geom_equals_exact(whole.geometry, tolerance=0).all()
    flip(path, 500)
    assert_geodataframe_equal(layer(), whole, check_less_precise=False)
    assert "does not match its name" in caplog.text
    assert copies() == [path]  # rewritten, sound
    assert datasets.sha256_bytes(path.read_bytes())[:16] == path.stem[-16:]
    # a damaged boundaries file is refused even though the copy is sound
    flip(cache / "boundaries.parquet", 5000)
    with pytest.raises(DataError, match=r"--force boundaries"):
        layer()


def test_old_unchecked_derived_file_is_never_used(
    cache: Path, reference: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The trial's failure: a partition computed from a corrupt snapshot was
    # stored under the name of the good one (partition-<inputs>.parquet) and
    # survived the repair.  Files without their own content hash are ignored.
    (path,) = _derived(cache)
    good = reference["partition"]
    pieces = good.pieces[good.pieces["holder"] != "RU"].reset_index(drop=True)
    wrong = record.Partition(pieces=pieces, removed=good.removed, country=good.country)
    poisoned = path.with_name(path.name.rsplit("-", 1)[0] + path.suffix)
    poisoned.write_bytes(record._partition_bytes(wrong))
    back = record._partition_from_table(
        datasets.read_arrow_table(poisoned.read_bytes())
    )
    assert back.pieces.equals(pieces)
    total = record.Record(cache).control(AS_OF).totals()["occupied_km2"]
    assert total == pytest.approx(reference["occupied_km2"], rel=1e-12)
    assert poisoned.exists()  # ignored, not trusted


# ---------------------------------------------------------------- damaged index entries


def _set(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda files: files[KEY].__setitem__(field, value)


def _drop(field: str) -> Callable[[dict[str, Any]], None]:
    return lambda files: files[KEY].pop(field)


ENTRY_DAMAGE = [
    pytest.param(_drop("sha256"), "no valid sha256", id="sha256-missing"),
    pytest.param(_set("sha256", "xyz"), "no valid sha256", id="sha256-not-hex"),
    pytest.param(lambda f: f.__setitem__(KEY, None), "the entry is null", id="null-entry"),
    pytest.param(lambda f: f.__setitem__(KEY, [1, 2]), "the entry is [1, 2]", id="list-entry"),
    pytest.param(_set("as_of", "2025-13-01"), "as_of '2025-13-01' is not an ISO date", id="as-of-month-13"),
    pytest.param(_set("as_of", "20250814"), "as_of '20250814' is not an ISO date", id="as-of-basic-format"),
    pytest.param(_set("as_of", "2025-08-20"), "as_of 2025-08-20 does not match the key", id="as-of-wrong-day"),
    pytest.param(_drop("as_of"), "as_of None is not an ISO date", id="as-of-missing"),
    pytest.param(_set("size", "54405"), "no valid size", id="size-string"),
    pytest.param(_set("size", True), "no valid size", id="size-boolean"),
    pytest.param(_set("size", -1), "no valid size", id="size-negative"),
    pytest.param(_set("path", "../../victim.parquet"), "leads outside the cache", id="path-dotdot"),
    pytest.param(_set("path", "/etc/passwd"), "leads outside the cache", id="path-absolute"),
    pytest.param(_set("path", 7), "no valid path", id="path-number"),
    pytest.param(_set("dataset", "deepstate-weekly"), "unknown dataset 'deepstate-weekly'", id="unknown-dataset"),
    pytest.param(_set("dataset", "land"), "the key does not fit dataset 'land'", id="wrong-dataset"),
    pytest.param(_drop("snapshot"), "no snapshot label does not match the key", id="label-missing"),
    pytest.param(_set("grey_zone", "yes"), "grey_zone is not true or false", id="grey-zone-string"),
]  # fmt: skip


@pytest.mark.parametrize(("damage", "phrase"), ENTRY_DAMAGE)
def test_damaged_index_entry_is_one_line_and_repaired_by_fetch(
    damage: Callable[[dict[str, Any]], None],
    phrase: str,
    cache: Path,
    reference: dict[str, Any],
) -> None:
    victim = cache.parent / "victim.parquet"
    victim.write_bytes(b"outside the cache")
    files = index_of(cache)
    damage(files)
    write_index(cache, files)
    fix = f"{FIX} --cache {cache}"

    checked, problems = datasets.verify(cache)
    assert len(problems) == 1
    assert problems[0].startswith(f"{KEY}: the index entry is damaged (")
    assert phrase in problems[0]
    assert problems[0].endswith(f"run '{fix}'")

    # readers: the snapshot keeps its place on the timeline, and fails there
    with pytest.raises(DataError) as info:
        record.Record(cache).control(AS_OF)
    assert str(info.value) == problems[0]
    result = control_cli(cache)
    assert result.exit_code == 1
    assert one_error_line(result.output) == problems[0]
    # other days are unaffected
    rec = record.Record(cache)
    assert rec.read_snapshot(rec.snapshot_for("2025-08-15")[0])["occupied"].area > 0

    refetch(cache, fix)
    assert datasets.verify(cache) == (checked, [])
    assert victim.read_bytes() == b"outside the cache"
    total = record.Record(cache).control(AS_OF).totals()["occupied_km2"]
    assert total == pytest.approx(reference["occupied_km2"], rel=1e-12)


@pytest.mark.parametrize(
    ("key", "entry"),
    [
        pytest.param("mystery", {"dataset": "mystery"}, id="unknown-key"),
        pytest.param(
            "snapshots/not-a-time",
            {"dataset": "deepstate-live", "as_of": "2025-08-14", "path": "x"},
            id="unplaceable-snapshot",
        ),
        pytest.param(
            "snapshots/1754164800",
            {"dataset": "deepstate-live", "path": "../../victim.parquet"},
            id="live-snapshot-path-outside",
        ),
    ],
)
def test_entry_that_cannot_be_fetched_again_is_forgotten(
    key: str, entry: dict[str, Any], cache: Path
) -> None:
    victim = cache.parent / "victim.parquet"
    victim.write_bytes(b"outside the cache")
    files = index_of(cache)
    files[key] = entry
    write_index(cache, files)
    checked, problems = datasets.verify(cache)
    (problem,) = problems
    fix = f"territory data forget {key} --cache {cache}"
    assert problem.endswith(f"run '{fix}'")
    result = CliRunner().invoke(cli, ["data", "verify", "--cache", str(cache)])
    assert result.exit_code == 1
    assert problem in result.stderr

    result = CliRunner().invoke(cli, fix.removeprefix("territory ").split())
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"forgot 1: {key}"
    assert datasets.verify(cache) == (checked - 1, [])
    assert victim.read_bytes() == b"outside the cache"


def test_unplaceable_snapshot_entry_stops_the_record(cache: Path) -> None:
    files = index_of(cache)
    files["snapshots/not-a-time"] = {"dataset": "deepstate-live", "as_of": "2025-08-14"}
    write_index(cache, files)
    with pytest.raises(DataError, match=r"territory data forget snapshots/not-a-time"):
        record.Record(cache).snapshots  # noqa: B018
    result = control_cli(cache)
    assert result.exit_code == 1
    assert "territory data forget" in one_error_line(result.output)


def test_forget_unknown_key_removes_nothing(cache: Path) -> None:
    listing = tree(cache)
    with pytest.raises(DataNotFoundError, match="not in the cache"):
        datasets.forget(["nope"], cache_dir=cache)
    assert tree(cache) == listing


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"\xff\xfe garbage", id="not-utf8"),
        pytest.param(b'{"files": null}', id="files-null"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested"),
    ],
)
@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["control", "--date", AS_OF], id="control"),
        pytest.param(["timeline"], id="timeline"),
        pytest.param(["data", "verify"], id="verify"),
        pytest.param(["data", "status"], id="status"),
        pytest.param(["data", "fetch", "land", "--mirror", str(MIRROR)], id="fetch"),
    ],
)
def test_damaged_index_file_is_one_line(
    body: bytes, args: list[str], cache: Path
) -> None:
    (cache / "index.json").write_bytes(body)
    listing = tree(cache)
    result = CliRunner().invoke(cli, [*args, "--cache", str(cache)])
    assert result.exit_code == 1, result.output
    line = one_error_line(result.output)
    assert line.startswith(f"cache index {cache / 'index.json'} is damaged")
    assert "move it aside and run 'territory data fetch'" in line
    assert tree(cache) == listing


# ------------------------------------------------------------------ timeline date order


def test_start_after_end_names_both_dates(cache: Path) -> None:
    with pytest.raises(DataError) as info:
        record.Record(cache).occupied_series("2025-08-15", "2025-08-13")
    assert "start 2025-08-15 is after end 2025-08-13" in str(info.value)
    result = CliRunner().invoke(
        cli,
        [
            "timeline",
            "--start",
            "2025-08-15",
            "--end",
            "2025-08-13",
            "--cache",
            str(cache),
        ],
    )
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert "2025-08-15" in line
    assert "2025-08-13" in line
    assert "--start" in line


# ------------------------------------------------------------ property: flips and cuts

TARGETS = [
    "deepstate-daily/2025-08-14.parquet",
    FILE,
    "deepstate-daily/2025-08-16.parquet",
    "boundaries.parquet",
    "land.parquet",
    "index.json",
]
PROPERTY = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def scratch(small: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of the small cache that the property tests damage and restore."""
    return Path(shutil.copytree(small, tmp_path_factory.mktemp("scratch") / "cache"))


@pytest.fixture(scope="module")
def scratch_record(scratch: Path) -> record.Record:
    """A record of `scratch` whose regions and land are read once."""
    rec = record.Record(scratch)
    rec.regions, rec.land  # noqa: B018
    return rec


@contextlib.contextmanager
def restored(path: Path) -> Iterator[bytes]:
    original = path.read_bytes()
    try:
        yield original
    finally:
        path.write_bytes(original)


def _damage(path: Path, original: bytes, cut: bool, offset: int, mask: int) -> None:
    if cut:
        path.write_bytes(original[: offset % len(original)])
    else:
        flip(path, offset, mask)


@PROPERTY
@given(
    target=st.sampled_from(TARGETS),
    cut=st.booleans(),
    offset=st.integers(min_value=0, max_value=10**7),
    mask=st.integers(min_value=1, max_value=255),
)
def test_any_flip_or_cut_is_caught_or_harmless(
    scratch: Path,
    reference: dict[str, Any],
    target: str,
    cut: bool,
    offset: int,
    mask: int,
) -> None:
    path = scratch / target
    with restored(path) as original:
        _damage(path, original, cut, offset, mask)
        try:
            got: list[bytes] | str = _inputs(scratch)
        except TerritoryError as err:
            got = str(err)
    if isinstance(got, str):
        # caught: one line naming the repair
        assert "\n" not in got
        assert "territory data fetch" in got or "territory data forget" in got, got
        if target != "index.json":
            assert "territory data fetch --force" in got, got
    else:
        # harmless: exactly what the undamaged cache gives (only possible for
        # bytes of the index that no reader uses, such as the fetch time)
        assert target == "index.json"
        assert got == reference["inputs"]


@PROPERTY
@given(
    cut=st.booleans(),
    offset=st.integers(min_value=0, max_value=10**7),
    mask=st.integers(min_value=1, max_value=255),
)
def test_any_damage_to_a_derived_file_is_never_trusted(
    scratch_record: record.Record,
    reference: dict[str, Any],
    cut: bool,
    offset: int,
    mask: int,
) -> None:
    rec, scratch = scratch_record, scratch_record.cache.root
    (path,) = _derived(scratch)
    calls = []

    def recompute(*args: Any) -> Any:
        calls.append(args)
        return reference["partition"]

    with (
        restored(path) as original,
        mock.patch.object(record, "partition_land", recompute),
    ):
        _damage(path, original, cut, offset, mask)
        got = rec.partition(rec.snapshot_for(AS_OF)[0])  # reads the file each time
        assert len(calls) == 1  # recomputed, not read from the damaged file
        # the recomputed partition, handed out with frames of its own
        assert got.country is reference["partition"].country
        assert got.pieces.equals(reference["partition"].pieces)
        assert [p.name for p in _derived(scratch)] == [path.name]
        assert path.read_bytes() == original  # the same partition, written afresh
