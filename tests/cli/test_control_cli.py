import json
import subprocess
import sys

import pytest

from territory.cli.main import cli
from tests.support import fresh_python


@pytest.mark.data
def test_control_json_has_the_contract(runner, record):
    result = runner.invoke(cli, ["control", "--date", "2025-08-14", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["as_of"] == "2025-08-14"
    assert doc["snapshot"]["label"] == "deepstate-daily 2025-08-15"
    assert len(doc["regions"]) == 27
    keys = {"region_id", "name", "land_km2", "occupied_km2", "held_km2", "occupied_pct"}
    assert keys <= doc["regions"][0].keys()
    assert doc["total"]["occupied_km2"] == pytest.approx(114_480, rel=1e-3)
    assert doc["total"]["held_km2"] > 480_000


@pytest.mark.data
def test_control_table_names_snapshot_and_denominators(runner, record):
    result = runner.invoke(cli, ["control", "--date", "2025-08-15"])
    assert result.exit_code == 0
    assert "deepstate-daily 2025-08-16" in result.stdout
    assert "DeepState's map of 2025-08-15 16:37 UTC" in result.stdout
    # the share is of the unit's land; the official area is shown beside it,
    # with what it counts (a share of it exceeded 100% in Crimea)
    assert "% of land" in result.stdout
    assert "Official area km²" in result.stdout
    assert "% of official area" not in result.stdout
    assert "which counts inland water" in result.stdout
    assert "Kherson: our share is about 1 point above DeepState's" in result.stdout
    assert "Donetsk" in result.stdout


@pytest.mark.data
def test_control_csv_and_output_file(runner, record, tmp_path):
    out = tmp_path / "control.csv"
    result = runner.invoke(
        cli, ["control", "--date", "2025-08-15", "--format", "csv", "-o", str(out)]
    )
    assert result.exit_code == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("region_id,name,land_km2,occupied_km2")
    # every row says which map it is (gap dates: tests/test_formats.py)
    assert lines[0].endswith(
        ",as_of,snapshot,snapshot_as_of,earlier_snapshot,map_version,map_dated_by"
    )
    assert lines[1].endswith(
        ",2025-08-15,deepstate-daily 2025-08-16,2025-08-15,False,2025-08-15T16:37:13+00:00,"
        "matched to DeepState's published area history"
    )
    assert len(lines) == 28


@pytest.mark.parametrize(
    ("args", "code", "phrase"),
    [
        pytest.param(
            ["control", "--date", "2025-13-40"], 2, "YYYY-MM-DD", id="bad-date"
        ),
        pytest.param(
            ["control", "--format", "xml"], 2, "Invalid value", id="bad-format"
        ),
        pytest.param(
            ["control", "--date", "1999-01-01"], 1, "covers", id="outside-record"
        ),
        pytest.param(
            ["control", "-o", "/nonexistent/dir/x.csv"],
            2,
            "does not exist",
            id="bad-output-dir",
        ),
        pytest.param(
            ["measure", "/nonexistent.geojson"], 2, "does not exist", id="missing-file"
        ),
    ],
)
@pytest.mark.data
def test_bad_input_exit_codes(runner, record, args, code, phrase):
    result = runner.invoke(cli, args)
    assert result.exit_code == code, result.output
    assert phrase in result.output
    assert "Traceback" not in result.output


def test_empty_cache_says_how_to_fetch(runner, tmp_path):
    result = runner.invoke(cli, ["control", "--cache", str(tmp_path)])
    assert result.exit_code == 1
    assert "territory data fetch" in result.output
    assert len(result.output.strip().splitlines()) == 1


HEAVY = "('geopandas', 'folium', 'pandas', 'shapely', 'pyproj', 'numpy')"


@pytest.mark.parametrize(
    "args", [["--help"], ["balance", "--help"], ["evaluate", "--help"]]
)
def test_help_imports_no_geometry_library(args):
    code = (
        "import sys; from territory.cli.main import cli\n"
        f"try:\n    cli({args!r})\nexcept SystemExit:\n    pass\n"
        f"bad = [m for m in {HEAVY} if m in sys.modules]\n"
        "print('HEAVY', bad)"
    )
    out = fresh_python(code)
    assert "HEAVY []" in out
    assert "Usage: " in out


def test_import_territory_is_light_and_its_api_complete():
    code = (
        "import sys, territory as t\n"
        f"print('HEAVY', [m for m in {HEAVY} if m in sys.modules])\n"
        "missing = [n for n in t.__all__ if not hasattr(t, n)]\n"
        "print('MISSING', missing, hasattr(t.Control, '_repr_html_'))"
    )
    out = fresh_python(code)
    assert "HEAVY []" in out  # before any use of the API
    assert "MISSING [] True" in out  # every name resolves; the display is attached


def test_regions_command(runner):
    result = runner.invoke(cli, ["regions", "--format", "json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert len(rows) == 27
    assert {"region_id": "UA-14"}.items() <= rows[
        [r["region_id"] for r in rows].index("UA-14")
    ].items()
    text = runner.invoke(cli, ["regions"]).stdout
    assert "UA-23" in text
    assert "Zaporizhzhia" in text


@pytest.mark.parametrize(
    "args",
    [
        ["control", "--date", "latest", "--format", "json"],
        ["evaluate", "alaska-2025", "--date", "LATEST", "--format", "json"],
        ["timeline", "--start", "latest", "--format", "json"],
        ["pace", "--date", "latest", "--format", "json"],
    ],
    ids=["control", "evaluate", "timeline-start", "pace"],
)
def test_latest_is_the_last_date_of_the_record(runner, record, args):
    """'latest' wherever a date is taken: the record's last as-of date."""
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert record.latest_date().isoformat() in text
    explicit = [
        record.latest_date().isoformat() if a.lower() == "latest" else a for a in args
    ]
    assert runner.invoke(cli, explicit).stdout == text


def test_latest_without_a_record_says_how_to_fetch(runner, tmp_path):
    result = runner.invoke(
        cli, ["control", "--cache", str(tmp_path), "--date", "latest"]
    )
    assert result.exit_code == 1
    assert "territory data fetch" in result.output
    assert "Traceback" not in result.output


@pytest.mark.data
def test_the_command_leaves_at_once_with_its_output_and_exit_code(runner, record):
    # `main` (the `territory` command) ends the process once the command has
    # returned and every exit handler has run, standard output flushed:
    # the same output and exit codes as the command run in this process,
    # and an exit handler a command registers still runs
    import os

    def run(args, extra=""):
        code = (
            "import atexit, sys\n"
            f"{extra}\n"
            "from territory.cli.main import main\n"
            f"sys.argv = ['territory', *{args!r}]\n"
            "main()\n"
        )
        return subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            check=False,
            text=True,
            env={**os.environ, "TERRITORY_CACHE": str(record.cache.root)},
        )

    args = ["control", "--date", "2025-08-14", "--format", "csv"]
    done = run(args, "atexit.register(lambda: print('HANDLER RAN', flush=True))")
    assert done.returncode == 0, done.stderr
    assert done.stdout == runner.invoke(cli, args).stdout + "HANDLER RAN\n"
    bad = run(["control", "--date", "1999-01-01"])
    assert bad.returncode == 1
    assert bad.stderr.startswith("Error: no control map as of 1999-01-01")
    assert run(["--bogus"]).returncode == 2
