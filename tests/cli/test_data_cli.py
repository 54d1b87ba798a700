"""CLI tests of `territory data fetch|status|verify` (click's CliRunner).

Fetches read the geodata mirror (``@pytest.mark.data``) into tmp caches; one
module-scoped cache of five daily files spanning the upstream gap of
2024-08-18/19 is shared by the read-only tests and copied by those that damage it.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from territory import datasets
from territory.cli.main import cli
from tests.support import isolate_env, require_mirror, tree

# 2024-08-15 … 2024-08-21 holds five files: the 18th and 19th are missing upstream.
GAP_START, GAP_END = "2024-08-15", "2024-08-21"
GAP_DAYS = ["2024-08-15", "2024-08-16", "2024-08-17", "2024-08-20", "2024-08-21"]


def gap_fetch_args(mirror: Path, cache: Path) -> list[str]:
    """The CLI arguments that fetch the daily files around the upstream gap."""
    return [
        "data",
        "fetch",
        "deepstate-daily",
        "--mirror",
        str(mirror),
        "--start",
        GAP_START,
        "--end",
        GAP_END,
        "--cache",
        str(cache),
    ]


@pytest.fixture
def mirror() -> Path:
    return require_mirror()


@pytest.fixture
def cli_runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def gap_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache with the five daily files of 2024-08-15 … 2024-08-21, fetched by the CLI.

    Read-only: tests that change it work on a copy (`own_cache`).
    """
    mirror = require_mirror()
    cache = tmp_path_factory.mktemp("gap") / "cache"
    result = CliRunner().invoke(
        cli,
        gap_fetch_args(mirror, cache),
        env={"TERRITORY_CACHE": str(cache.parent / "unused"), "TERRITORY_MIRROR": None},
    )
    assert result.exit_code == 0, result.output
    return cache


@pytest.fixture
def own_cache(gap_cache: Path, tmp_path: Path) -> Path:
    """A private copy of `gap_cache`."""
    return Path(shutil.copytree(gap_cache, tmp_path / "cache"))


def one_error_line(output: str) -> str:
    lines = [
        line
        for line in output.splitlines()
        if line.strip() and not line.startswith(("Usage:", "Try "))
    ]
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: "), output
    return lines[0]


# -------------------------------------------------------------------------------- fetch


@pytest.mark.data
def test_fetch_range_from_mirror(gap_cache: Path) -> None:
    index = json.loads((gap_cache / "index.json").read_text())["files"]
    assert sorted(index) == [f"deepstate-daily/{d}" for d in GAP_DAYS]
    assert index["deepstate-daily/2024-08-20"]["as_of"] == "2024-08-19"
    assert sorted(p.name for p in (gap_cache / "deepstate-daily").iterdir()) == [
        f"{d}.parquet" for d in GAP_DAYS
    ]


@pytest.mark.data
def test_fetch_reports_counts_and_skips(
    mirror: Path, tmp_path: Path, cli_runner: CliRunner
) -> None:
    cache = tmp_path / "cache"
    args = [
        "data",
        "fetch",
        "deepstate-daily",
        "--mirror",
        str(mirror),
        "--start",
        "2025-08-14",
        "--end",
        "2025-08-15",
        "--cache",
        str(cache),
    ]
    first = cli_runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    fetched, dated = first.stdout.strip().splitlines()
    assert fetched == "fetched 2, already cached 0"
    # no published area history in this cache: both files' dates are inferred
    assert dated.startswith("dated 2 daily files by their map version: 0 matched")
    again = cli_runner.invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == "fetched 0, already cached 2"


@pytest.mark.data
def test_fetch_mirror_from_env(
    mirror: Path, tmp_path: Path, cli_runner: CliRunner
) -> None:
    cache = tmp_path / "cache"
    result = cli_runner.invoke(
        cli,
        [
            "data",
            "fetch",
            "deepstate-daily",
            "--start",
            "2025-08-14",
            "--end",
            "2025-08-14",
            "--cache",
            str(cache),
        ],
        env={"TERRITORY_MIRROR": str(mirror)},
    )
    assert result.exit_code == 0, result.output
    entry = json.loads((cache / "index.json").read_text())["files"][
        "deepstate-daily/2025-08-14"
    ]
    assert entry["source"].startswith(str(mirror))


@pytest.mark.data
def test_fetch_checksum_mismatch_exits_1(
    mirror: Path, tmp_path: Path, cli_runner: CliRunner
) -> None:
    rel = "deepstate/daily/deepstatemap_data_20250814.geojson"
    fake = tmp_path / "fake-mirror"
    (fake / rel).parent.mkdir(parents=True)
    (fake / rel).write_bytes((mirror / rel).read_bytes() + b"\n")
    cache = tmp_path / "cache"
    result = cli_runner.invoke(
        cli,
        [
            "data",
            "fetch",
            "deepstate-daily",
            "--mirror",
            str(fake),
            "--start",
            "2025-08-14",
            "--end",
            "2025-08-14",
            "--cache",
            str(cache),
        ],
    )
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "checksum mismatch" in one_error_line(result.output)
    assert not cache.exists()


def test_fetch_interrupted_exits_130(
    tmp_path: Path, cli_runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(datasets, "fetch", interrupted)
    result = cli_runner.invoke(
        cli,
        [
            "data",
            "fetch",
            "land",
            "--mirror",
            str(tmp_path),
            "--cache",
            str(tmp_path / "c"),
        ],
    )
    assert result.exit_code == 130
    assert "interrupted" in result.output
    assert "Traceback" not in result.output


# ------------------------------------------------------------------------------- misuse


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        pytest.param(["--start", "2025-99-01"], "'--start'", id="bad-start"),
        pytest.param(
            ["--start", "2025-08-01", "--end", "2025-02-30"], "'--end'", id="bad-end"
        ),
        pytest.param(
            ["--start", "15.08.2025"], "'15.08.2025' is not an ISO date", id="not-iso"
        ),
        pytest.param(["--all", "--start", "2025-08-01"], "--all", id="all-with-start"),
        pytest.param(["--all", "--end", "2025-08-01"], "--all", id="all-with-end"),
        pytest.param(
            ["--latest", "deepstate-daily"], "--latest", id="latest-with-dataset"
        ),
        pytest.param(
            ["--latest", "--start", "2025-08-01"], "--latest", id="latest-with-date"
        ),
        pytest.param(["--timeout", "0"], "--timeout", id="zero-timeout"),
        pytest.param(["--no-such-option"], "--no-such-option", id="unknown-option"),
    ],
)
def test_fetch_misuse_exits_2(
    args: list[str], phrase: str, tmp_path: Path, cli_runner: CliRunner
) -> None:
    cache = tmp_path / "cache"
    result = cli_runner.invoke(
        cli, ["data", "fetch", *args, "--mirror", str(tmp_path), "--cache", str(cache)]
    )
    assert result.exit_code == 2, result.output
    line = one_error_line(result.output)
    assert phrase in line
    assert "--date" not in line  # fetch has no --date option: name the one given
    assert "Traceback" not in result.output
    assert not cache.exists()


@pytest.mark.parametrize(
    ("args", "phrases"),
    [
        pytest.param(
            ["deepstate-daly"],
            [
                "unknown dataset 'deepstate-daly'",
                "did you mean deepstate-daily",
                "available: boundaries",
            ],
            id="typo",
        ),
        pytest.param(
            ["nonesuch"],
            [
                "unknown dataset 'nonesuch'",
                "available: boundaries, boundaries-simplified",
            ],
            id="unknown",
        ),
        pytest.param(["deepstate-live"], ["--latest"], id="live-without-latest"),
        pytest.param(
            ["deepstate-daily", "--start", "2023-01-01", "--end", "2023-01-31"],
            ["2023-01-01 … 2023-01-31", "the record covers 2024-07-08 … 2026-08-22"],
            id="outside-record",
        ),
        pytest.param(
            ["deepstate-daily", "--start", "2025-08-20", "--end", "2025-08-10"],
            ["start 2025-08-20 is after end 2025-08-10", "--start"],
            id="reversed-range",
        ),
    ],
)
def test_fetch_errors_exit_1(
    args: list[str], phrases: list[str], tmp_path: Path, cli_runner: CliRunner
) -> None:
    cache = tmp_path / "cache"
    result = cli_runner.invoke(
        cli, ["data", "fetch", *args, "--mirror", str(tmp_path), "--cache", str(cache)]
    )
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    line = one_error_line(result.output)
    for phrase in phrases:
        assert phrase in line
    assert not cache.exists()


# ------------------------------------------------------------------------------- status


@pytest.mark.data
def test_status_text(gap_cache: Path, cli_runner: CliRunner) -> None:
    result = cli_runner.invoke(cli, ["data", "status", "--cache", str(gap_cache)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "deepstate-daily: 5 file(s) 2024-08-15 … 2024-08-21" in out
    assert "missing upstream (no file published): 2024-08-18, 2024-08-19" in out
    assert "not fetched" not in out
    assert "boundaries: 0 file(s)" in out
    assert "licence: ODbL-1.0" in out
    assert (
        "attribution: DeepStateMap (deepstatemap.live), via cyterat/deepstate-map-data"
        in out
    )


@pytest.mark.data
def test_status_json(gap_cache: Path, cli_runner: CliRunner) -> None:
    result = cli_runner.invoke(
        cli, ["data", "status", "--format", "json", "--cache", str(gap_cache)]
    )
    assert result.exit_code == 0, result.output
    rows = {r["dataset"]: r for r in json.loads(result.stdout)}
    daily = rows["deepstate-daily"]
    assert daily["files"] == 5
    assert (daily["first"], daily["last"]) == ("2024-08-15", "2024-08-21")
    assert daily["missing_upstream"] == ["2024-08-18", "2024-08-19"]
    assert daily["not_fetched"] == []
    assert rows["land"]["files"] == 0
    assert all(r["licence"] and r["attribution"] for r in rows.values())


@pytest.mark.data
def test_status_csv(gap_cache: Path, cli_runner: CliRunner) -> None:
    result = cli_runner.invoke(
        cli, ["data", "status", "--format", "csv", "--cache", str(gap_cache)]
    )
    assert result.exit_code == 0, result.output
    rows = {r["dataset"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert rows["deepstate-daily"]["files"] == "5"
    assert rows["deepstate-daily"]["missing_upstream"] == "2024-08-18;2024-08-19"


@pytest.mark.data
def test_status_not_fetched(own_cache: Path, cli_runner: CliRunner) -> None:
    (own_cache / "deepstate-daily" / "2024-08-16.parquet").unlink()
    result = cli_runner.invoke(cli, ["data", "status", "--cache", str(own_cache)])
    assert result.exit_code == 0, result.output
    assert "deepstate-daily: 4 file(s) 2024-08-15 … 2024-08-21" in result.output
    assert "not fetched: 1 day(s), first 2024-08-16" in result.output


def test_status_empty_cache(tmp_path: Path, cli_runner: CliRunner) -> None:
    result = cli_runner.invoke(
        cli, ["data", "status", "--format", "json", "--cache", str(tmp_path / "none")]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows
    assert all(r["files"] == 0 for r in rows)
    assert not (tmp_path / "none").exists()


# ------------------------------------------------------------------------------- verify


@pytest.mark.data
def test_verify_ok(gap_cache: Path, cli_runner: CliRunner) -> None:
    result = cli_runner.invoke(cli, ["data", "verify", "--cache", str(gap_cache)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "5 cached files verified"


@pytest.mark.data
def test_verify_after_corruption(own_cache: Path, cli_runner: CliRunner) -> None:
    target = own_cache / "deepstate-daily" / "2024-08-17.parquet"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))

    result = cli_runner.invoke(cli, ["data", "verify", "--cache", str(own_cache)])

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert (
        "deepstate-daily/2024-08-17: 2024-08-17.parquet changed since it was fetched"
        in result.stderr
    )
    assert "Error: 1 of 5 cached files failed verification" in result.stderr
    assert result.stdout == ""


@pytest.mark.data
def test_verify_after_deletion_then_refetch(
    own_cache: Path, mirror: Path, cli_runner: CliRunner
) -> None:
    (own_cache / "deepstate-daily" / "2024-08-20.parquet").unlink()
    bad = cli_runner.invoke(cli, ["data", "verify", "--cache", str(own_cache)])
    assert bad.exit_code == 1
    assert "deepstate-daily/2024-08-20: file" in bad.stderr
    assert (
        "is missing; run 'territory data fetch --force deepstate-daily "
        f"--start 2024-08-20 --end 2024-08-20 --cache {own_cache}'" in bad.stderr
    )

    fix = cli_runner.invoke(
        cli,
        gap_fetch_args(mirror, own_cache),
    )
    assert fix.exit_code == 0, fix.output
    assert fix.stdout.splitlines()[0] == "fetched 1, already cached 4"
    good = cli_runner.invoke(cli, ["data", "verify", "--cache", str(own_cache)])
    assert good.exit_code == 0, good.output


def test_verify_damaged_index(tmp_path: Path, cli_runner: CliRunner) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "index.json").write_text("[]")
    result = cli_runner.invoke(cli, ["data", "verify", "--cache", str(cache)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "damaged" in one_error_line(result.output)


# ------------------------------------------------------------------- index and forget


@pytest.mark.data
def test_verify_reports_damaged_index_entries(
    own_cache: Path, cli_runner: CliRunner
) -> None:
    index_path = own_cache / "index.json"
    files = json.loads(index_path.read_text())["files"]
    files["deepstate-daily/2024-08-17"]["as_of"] = "2024-13-01"
    files["deepstate-daily/2024-08-20"] = None
    index_path.write_text(json.dumps({"format": 1, "files": files}))
    result = cli_runner.invoke(cli, ["data", "verify", "--cache", str(own_cache)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("deepstate-daily/2024-08-17: the index entry is damaged")
    assert "as_of '2024-13-01' is not an ISO date" in lines[0]
    assert lines[1].startswith("deepstate-daily/2024-08-20: the index entry is damaged")
    assert (
        lines[2]
        == "Error: 2 of 5 cached files failed verification; repair them as shown"
    )


@pytest.mark.data
def test_forget_removes_entry_and_file(own_cache: Path, cli_runner: CliRunner) -> None:
    result = cli_runner.invoke(
        cli, ["data", "forget", "deepstate-daily/2024-08-21", "--cache", str(own_cache)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "forgot 1: deepstate-daily/2024-08-21"
    assert not (own_cache / "deepstate-daily" / "2024-08-21.parquet").exists()
    assert datasets.verify(own_cache) == (4, [])
    again = cli_runner.invoke(
        cli, ["data", "forget", "deepstate-daily/2024-08-21", "--cache", str(own_cache)]
    )
    assert again.exit_code == 1
    assert "not in the cache" in one_error_line(again.output)


def test_forget_needs_a_key(tmp_path: Path, cli_runner: CliRunner) -> None:
    result = cli_runner.invoke(cli, ["data", "forget", "--cache", str(tmp_path / "c")])
    assert result.exit_code == 2
    assert not (tmp_path / "c").exists()


# -------------------------------------------------------------------------------- prune


@pytest.mark.data
def test_prune_removes_derived_partitions_no_map_reads(
    own_cache: Path, cli_runner: CliRunner
) -> None:
    # A partition made from files this cache does not hold (it has no
    # boundaries) is never read: it goes; nothing else does, and a dry run
    # removes nothing.
    derived = own_cache / "derived"
    derived.mkdir(exist_ok=True)
    stale = derived / f"partition-{'0' * 16}-{'1' * 16}.arrow"
    stale.write_bytes(b"x" * 2_000_000)
    (derived / f"series-{'4' * 16}-{'5' * 16}.json").write_text("{}")
    before = tree(own_cache)
    args = ["data", "prune", "--cache", str(own_cache)]
    dry = cli_runner.invoke(cli, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.strip() == "would remove 1 derived file(s) no map reads (2.0 MB)"
    assert tree(own_cache) == before
    done = cli_runner.invoke(cli, args)
    assert done.exit_code == 0, done.output
    assert done.output.strip() == "removed 1 derived file(s) no map reads (2.0 MB)"
    gone = stale.relative_to(own_cache).as_posix()
    assert tree(own_cache) == {k: v for k, v in before.items() if k != gone}
