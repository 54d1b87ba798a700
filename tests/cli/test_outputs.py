"""Outputs never destroy what is not theirs; bugs look like bugs.

Every command that writes a file goes through `territory.io`: a regular file is
replaced atomically (keeping its mode), a symlink is followed, a device or FIFO
is written through, and a read-only file, a directory or an unwritable place is
refused with one line before anything is written.  Devices are exercised with
a FIFO in a temporary directory, never with a real device of the machine.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from territory.cli.main import cli
from territory.errors import InternalError, OutputError, TerritoryError
from territory.io import check_output, check_outputs, write_output


def _one_line_error(result, code: int, *needles: str) -> str:
    """Assert a clean failure with `code`: one error line mentioning every needle.

    Click's usage errors may add its "Usage:" and "Try --help" lines around it.
    """
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_read_only_file_is_refused_and_kept(runner, tmp_path):
    target = tmp_path / "ro.txt"
    target.write_text("keep me")
    target.chmod(0o444)
    result = runner.invoke(cli, ["regions", "-o", str(target)])
    _one_line_error(result, 2, "read-only", "ro.txt")
    assert target.read_text() == "keep me"
    assert stat.S_IMODE(target.stat().st_mode) == 0o444


def test_existing_file_is_replaced_with_its_mode(runner, tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    target.chmod(0o640)
    result = runner.invoke(cli, ["regions", "--format", "csv", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text().startswith("region_id,")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no .part left


def test_symlink_is_written_through(runner, tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    result = runner.invoke(cli, ["regions", "--format", "csv", "-o", str(link)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    assert link.resolve() == real
    assert real.read_text().startswith("region_id,")


def test_fifo_is_written_through_not_replaced(runner, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = runner.invoke(cli, ["regions", "--format", "csv", "-o", str(fifo)])
    reader.join(timeout=10)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still a FIFO, not a regular file
    assert got
    assert got[0].startswith(b"region_id,")


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda d: d / "missing" / "x.csv", "does not exist"),
        (lambda d: d, "is a directory"),
        (lambda d: Path("/proc/territory-test.csv"), "not writable"),
    ],
    ids=["missing-dir", "directory", "unwritable-place"],
)
def test_unusable_destinations_are_refused(runner, tmp_path, make, needle):
    before = sorted(tmp_path.rglob("*"))
    result = runner.invoke(cli, ["regions", "-o", str(make(tmp_path))])
    _one_line_error(result, 2, needle)
    assert sorted(tmp_path.rglob("*")) == before


def test_api_check_output_raises_project_error(tmp_path):
    (tmp_path / "ro").write_text("x")
    (tmp_path / "ro").chmod(0o400)
    with pytest.raises(OutputError, match="read-only"):
        write_output(tmp_path / "ro", b"y")
    assert (tmp_path / "ro").read_text() == "x"
    with pytest.raises(OutputError, match="same file"):
        check_outputs({"--map": tmp_path / "a.html", "-o": tmp_path / "a.html"})
    assert isinstance(OutputError("x"), TerritoryError)
    assert check_output(tmp_path / "new.txt").regular


@pytest.mark.data
@pytest.mark.parametrize(
    "outputs",
    [
        ["--map", "a.html", "--export", "b.gpkg", "-o", "missing/x.txt"],
        ["--map", "a.html", "-o", "c.txt", "--export", "b.shp"],
        ["--export", "b.gpkg", "-o", "c.txt", "--map", "a.png"],
        ["--export", "b.gpkg", "--map", "same.html", "-o", "same.html"],
        ["--map", "a.html", "--export", "b.gpkg", "-o", "ro.txt"],
    ],
    ids=["missing-dir", "export-format", "map-not-html", "same-file", "read-only"],
)
def test_evaluate_checks_every_destination_first(runner, record, tmp_path, outputs):
    (tmp_path / "ro.txt").write_text("keep")
    (tmp_path / "ro.txt").chmod(0o444)
    args = [a if a.startswith("-") else str(tmp_path / a) for a in outputs]
    result = runner.invoke(cli, ["evaluate", "alaska-2025", *args])
    _one_line_error(result, 2)
    # nothing written: not the map, not the export, not the table
    assert [p.name for p in tmp_path.iterdir()] == ["ro.txt"]
    assert (tmp_path / "ro.txt").read_text() == "keep"


@pytest.mark.data
def test_evaluate_writes_the_whole_set(runner, record, tmp_path):
    import pyogrio

    result = runner.invoke(
        cli,
        [
            "evaluate",
            "alaska-2025",
            "--map",
            f"{tmp_path}/a.html",
            "--export",
            f"{tmp_path}/b.geojson",
            "-o",
            f"{tmp_path}/c.txt",
        ],
    )
    assert result.exit_code == 0, result.output
    beside = [  # one layer a file: the others beside the transfers
        "contact_line_after",
        "contact_line_before",
        "holdings_after",
        "holdings_before",
        "removed",
        "settlements",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.html",
        *(f"b-{layer}.geojson" for layer in beside),
        "b.geojson",
        "c.txt",
    ]
    # each layer is named for what it holds, not after a temporary file
    assert [name for name, _ in pyogrio.list_layers(tmp_path / "b.geojson")] == [
        "transfers"
    ]
    for layer in beside:
        names = [
            name for name, _ in pyogrio.list_layers(tmp_path / f"b-{layer}.geojson")
        ]
        assert names == [layer]


# ----------------------------------------------------------------------------- bugs


@pytest.mark.data
def test_invariant_failure_is_a_bug_with_traceback(runner, record, monkeypatch):
    import territory.accounting as acc

    monkeypatch.setattr(acc, "INVARIANT_REL", -1.0)  # every balance now "fails"
    with pytest.raises(InternalError, match="bug in territory"):
        acc.evaluate(
            __import__("territory").read_scenario("alaska-2025"),
            record.control("2025-08-15"),
            people=False,
        )
    assert not issubclass(InternalError, TerritoryError)
    result = runner.invoke(cli, ["evaluate", "alaska-2025"])
    assert result.exit_code == 3
    assert "Traceback" in result.stderr
    assert "InternalError" in result.stderr
    assert "please report it" in result.stderr.splitlines()[-1]


def test_unexpected_exception_is_a_bug(runner, monkeypatch):
    from territory import regions

    def broken():
        msg = "boom"
        raise ZeroDivisionError(msg)

    monkeypatch.setattr(regions, "load_region_table", broken)
    result = runner.invoke(cli, ["regions"])
    assert result.exit_code == 3
    assert "ZeroDivisionError" in result.stderr
    assert "bug in territory" in result.stderr


def test_disk_full_is_one_line(runner, monkeypatch, tmp_path):
    import territory.io as tio

    def full(*_a, **_k):
        raise OSError(28, "No space left on device", str(tmp_path / "x.csv"))

    monkeypatch.setattr(tio, "write_output", full)
    result = runner.invoke(cli, ["regions", "-o", str(tmp_path / "x.csv")])
    _one_line_error(result, 1, "No space left on device")


def test_save_map_in_the_api_writes_as_safely_as_the_cli(tmp_path):
    """`territory.maps.save_map` (notebooks) uses the same writer as the CLI."""
    from territory.maps import render_control, save_map
    from tests import scenario_world

    fmap = render_control(scenario_world.control())
    ro = tmp_path / "ro.html"
    ro.write_text("keep")
    ro.chmod(0o444)
    with pytest.raises(OutputError, match="read-only"):
        save_map(fmap, ro)
    assert ro.read_text() == "keep"
    real = tmp_path / "real.html"
    real.write_text("old")
    link = tmp_path / "link.html"
    link.symlink_to(real)
    save_map(fmap, link)
    assert link.is_symlink()
    assert real.read_text().startswith("<!DOCTYPE html>")
