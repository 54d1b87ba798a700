"""`territory evaluate SCENARIO --start --end`: a scenario across time."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest
from click.testing import CliRunner

from territory.cli.main import cli

RANGE = ["--start", "2025-08-13", "--end", "2025-08-17", "--every", "2"]
DATES = ["2025-08-13", "2025-08-15", "2025-08-17"]
DONBAS = "transfer:Ukraine withdraws from Donbas_km2"


@pytest.fixture(scope="module")
def in_process(record) -> list[dict]:
    """The sweep's JSON rows, evaluated in this process (--workers 1)."""
    result = CliRunner().invoke(
        cli, ["evaluate", "alaska-2025", *RANGE, "--workers", "1", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.data
def test_sweep_json_is_a_list_of_rows_that_say_their_map(in_process, record):
    assert [r["as_of"] for r in in_process] == DATES
    for row in in_process:
        snap = record.control(row["as_of"]).snapshot
        assert row["snapshot"] == snap.label
        assert row["map_version"] == (snap.version or "")
        assert {"ua_to_ru_km2", "grey_to_dmz_km2", "front_after_km"} <= row.keys()
        assert row["zone_ratio"] is None  # no zone: no denominator
        assert row["cession_ratio"] == row["ua_to_ru_km2"] / row["ru_to_ua_km2"]
        assert row[DONBAS] == row["ua_to_ru_km2"]
        assert row["population_moved"] > 0


@pytest.mark.data
def test_sweep_two_workers_equal_one_and_csv_has_the_same_rows(
    runner, in_process, tmp_path
):
    out = tmp_path / "sweep.csv"
    args = ["evaluate", "alaska-2025", *RANGE, "--workers", "2", "--format", "csv"]
    result = runner.invoke(cli, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == list(in_process[0])  # the same columns, in order
    for got, want in zip(rows, in_process, strict=True):
        for col, value in want.items():  # repr of a float reads back exactly
            if isinstance(value, float):
                assert float(got[col]) == value, col
            else:
                assert got[col] == ("" if value is None else str(value)), col


@pytest.mark.data
def test_sweep_table_and_plot(runner, in_process, tmp_path):
    import matplotlib.image as mpimg

    png = tmp_path / "sweep.png"
    result = runner.invoke(
        cli, ["evaluate", "alaska-2025", *RANGE, "--workers", "1", "--plot", str(png)]
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "evaluated on the control map of each date" in out
    assert "[1] Ukraine withdraws from Donbas (UA → RU)" in out
    assert "Cession ratio: km² Ukraine cedes" in out
    assert "Maps: deepstate-daily" in out
    assert f"{in_process[0]['cession_ratio']:.2f}" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(png)
    assert img.shape[:2] == (900, 1600)
    assert img[..., :3].std() > 0.05


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        pytest.param(["--date", "2025-08-15"], "give one or the other", id="date"),
        pytest.param(["--map", "{tmp}/m.html"], "--map draws one date", id="map"),
        pytest.param(
            ["--export", "{tmp}/e.gpkg"], "--export writes one date", id="export"
        ),
        pytest.param(["--net-only"], "--net-only prints one number", id="net-only"),
        pytest.param(["--scheduler", "nonsense"], "tcp://HOST:PORT", id="scheduler"),
        pytest.param(["--plot", "{tmp}/chart.txt"], "a chart is written as", id="plot"),
    ],
)
def test_sweep_refusals(runner, tmp_path, args, phrase):
    args = [a.format(tmp=tmp_path) for a in args]
    result = runner.invoke(cli, ["evaluate", "alaska-2025", *RANGE, *args])
    assert result.exit_code == 2, result.output
    assert phrase in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        pytest.param(["--end", "2025-08-17"], "--end needs --start", id="end-alone"),
        pytest.param(["--workers", "2"], "--workers is for a sweep", id="workers"),
        pytest.param(["--every", "2"], "--every is for a sweep", id="every"),
    ],
)
def test_sweep_options_need_a_range(runner, args, phrase):
    result = runner.invoke(cli, ["evaluate", "alaska-2025", *args])
    assert result.exit_code == 2, result.output
    assert phrase in result.output


def test_sweep_without_dask_names_the_extra(runner, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    args = ["evaluate", "alaska-2025", *RANGE, "--scheduler", "tcp://127.0.0.1:1"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "pip install 'territory[dask]'" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.data
def test_sweep_start_after_end(runner, record):
    args = ["evaluate", "alaska-2025", "--start", "2025-08-17", "--end", "2025-08-13"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "start 2025-08-17 is after end 2025-08-13" in result.output


@pytest.mark.data
def test_sweep_outside_the_record(runner, record):
    first, _ = record.date_range()
    result = runner.invoke(
        cli, ["evaluate", "alaska-2025", "--start", "2022-01-01", "--end", str(first)]
    )
    assert result.exit_code == 1, result.output
    assert "no control map as of 2022-01-01" in result.output


@pytest.mark.data
def test_sweep_unreachable_scheduler_is_one_line(runner, record, monkeypatch):
    import territory.sweep

    monkeypatch.setattr(territory.sweep, "SCHEDULER_TIMEOUT_S", 0.5)
    args = ["evaluate", "alaska-2025", *RANGE, "--scheduler", "tcp://127.0.0.1:1"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:1'" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.data
def test_a_map_with_a_grey_zone_among_daily_maps_is_marked(runner, tmp_path):
    # DeepState's own snapshot (2025-08-03) draws a grey zone, the daily files
    # none (that land counts as Ukrainian-held there): its Donbas transfer is
    # smaller by the grey land, not by the war; the table and the chart say so
    svg = tmp_path / "sweep.svg"
    args = ["evaluate", "alaska-2025", "--start", "2025-08-02", "--end", "2025-08-04"]
    result = runner.invoke(cli, [*args, "--workers", "1", "--plot", str(svg)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [ln.split()[0] for ln in lines if ln.startswith("2025-08-0")] == [
        "2025-08-02",
        "2025-08-03†",
        "2025-08-04",
    ]
    assert any(ln.startswith("† DeepState's own snapshot") for ln in lines)
    drawn = svg.read_text(encoding="utf-8")
    assert "Ringed (2025-08-03): DeepState" in drawn
    # a range of daily maps only: nothing marked
    plain = tmp_path / "plain.svg"
    result = runner.invoke(
        cli, [*args[:2], *RANGE, "--workers", "1", "--plot", str(plain)]
    )
    assert result.exit_code == 0, result.output
    assert "†" not in result.stdout
    assert "Ringed" not in plain.read_text(encoding="utf-8")
