"""Russian-held land over time, against DeepState's own published history."""

import datetime as dt
import io
import json

import pandas as pd
import pytest

from territory.cli.main import cli
from tests.support import cli_without_pandas

pytestmark = pytest.mark.data


def _published(record) -> pd.Series:
    path = record.cache.require("deepstate-areas", dataset="deepstate-areas")
    h = pd.read_csv(path)
    h["t"] = pd.to_datetime(h["time_index"].str.replace(" UTC", ""), utc=True)
    occ = h[
        h["area_type"].isin(["occupied_after_24_02_2022", "occupied_to_24_02_2022"])
    ]
    return occ.groupby("t")["area"].sum()


def test_weekly_series_tracks_the_published_history(record):
    # Every week from the start of the record to the end of the published
    # history (2025-11-28): the daily file dated D+1 shows the last snapshot
    # published before ~03:00 UTC on D+1.  Tolerance 0.1%: DeepState's figures
    # are planar areas of the same polygons (our offset is a few 0.01%).
    published = _published(record)
    series = record.occupied_series("2024-07-07", "2025-11-28", every_days=7)
    assert len(series) >= 70
    deviations = []
    assert series.index.name == "as_of"
    for row in series.itertuples():
        day = row.Index.date()
        cut = pd.Timestamp(f"{day + dt.timedelta(days=1)} 03:00", tz="UTC")
        expected = published[published.index < cut].iloc[-1]
        deviations.append(row.occupied_km2 / expected - 1)
    worst = max(deviations, key=abs)
    assert abs(worst) < 1e-3, f"worst deviation {worst:+.4%}"


def test_new_year_2026_matches_deepstate(record):
    # SOURCES.md: DeepState, 1 Jan 2026: 116,165 km² (the map of 31 Dec 2025).
    series = record.occupied_series("2025-12-31", "2025-12-31")
    assert series.occupied_km2.iloc[0] == pytest.approx(116_165, rel=1e-3)


def test_series_equals_control(record):
    series = record.occupied_series("2025-08-15", "2025-08-16", region_ids=["UA-14"])
    ctl = record.control("2025-08-15")
    df = ctl.to_frame()
    # The series has control's figures: the polygon cut to the regions plus
    # the border gaps and seams the partition gives the occupier (tens of km²
    # along the Russian border), to float rounding.
    assert series.occupied_km2.iloc[0] == pytest.approx(df.occupied_km2.sum(), rel=1e-9)
    assert series["UA-14"].iloc[0] == pytest.approx(
        df.at["UA-14", "occupied_km2"], rel=1e-9
    )
    assert 0 < (df.border_gap_km2 + df.seam_km2).sum() < 100
    assert series.change_km2.iloc[1] == pytest.approx(
        series.occupied_km2.diff().iloc[1]
    )


def test_timeline_cli(runner, record):
    result = runner.invoke(
        cli,
        [
            "timeline",
            "--start",
            "2025-01-01",
            "--end",
            "2025-03-01",
            "--every",
            "30",
            "--region",
            "Donetsk",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["regions"] == {"UA-14": "Donetsk"}
    assert [r["as_of"] for r in doc["rows"]] == ["2025-01-01", "2025-01-31"]
    assert doc["rows"][1]["change_km2"] > 0  # Russia advanced in early 2025
    text = runner.invoke(
        cli,
        ["timeline", "--start", "2025-01-01", "--end", "2025-02-01", "--every", "31"],
    ).stdout
    assert "Russian-held km²" in text


@pytest.mark.parametrize(
    ("args", "code", "phrase"),
    [
        pytest.param(["--every", "0"], 2, "x>=1", id="zero-step"),
        pytest.param(
            ["--region", "Atlantis"],
            2,
            "unknown region 'Atlantis'",
            id="unknown-region",
        ),
        pytest.param(["--start", "2030-01-01"], 1, "covers", id="outside-record"),
    ],
)
def test_timeline_bad_input(runner, record, args, code, phrase):
    result = runner.invoke(cli, ["timeline", *args])
    assert result.exit_code == code, result.output
    assert phrase in result.output


def test_timeline_rows_say_which_map(runner, record):
    # No daily file shows a map version of 2025-11-26 (the file dated
    # 2025-11-27 shows the map of 25 Nov, 21:33 UTC, as the file of 2025-11-25
    # does): the row as of 2025-11-26 is the map of 2025-11-25, and every
    # format says so, with the version and how it was dated.
    args = ["timeline", "--start", "2025-11-25", "--end", "2025-11-27", "--every", "1"]
    csv_text = runner.invoke(cli, [*args, "--format", "csv"]).stdout
    rows = pd.read_csv(io.StringIO(csv_text), dtype=str, keep_default_na=False)
    cols = ["as_of", "snapshot", "snapshot_as_of", "earlier_snapshot", "map_version"]
    assert list(rows.columns[:4]) == cols[:4]
    assert rows[cols].to_dict("records") == [
        {
            "as_of": "2025-11-25",
            "snapshot": "deepstate-daily 2025-11-27",
            "snapshot_as_of": "2025-11-25",
            "earlier_snapshot": "False",
            "map_version": "2025-11-25T21:33:35+00:00",
        },
        {
            "as_of": "2025-11-26",
            "snapshot": "deepstate-daily 2025-11-27",
            "snapshot_as_of": "2025-11-25",
            "earlier_snapshot": "True",
            "map_version": "2025-11-25T21:33:35+00:00",
        },
        {
            "as_of": "2025-11-27",
            "snapshot": "deepstate-daily 2025-11-28",
            "snapshot_as_of": "2025-11-27",
            "earlier_snapshot": "False",
            "map_version": "2025-11-27T19:24:55+00:00",
        },
    ]
    assert set(rows["map_dated_by"]) == {
        "matched to DeepState's published area history"
    }
    doc = json.loads(runner.invoke(cli, [*args, "--format", "json"]).stdout)
    assert [r["earlier_snapshot"] for r in doc["rows"]] == [False, True, False]
    assert [r["note"] is None for r in doc["rows"]] == [True, False, True]
    assert doc["rows"][1]["note"].startswith("no map version of 2025-11-26")
    text = runner.invoke(cli, args).stdout
    assert "2025-11-26*" in text
    assert "2025-11-25*" not in text
    assert "* no map version of that date" in text
    assert "2025-11-25 21:33 UTC" in text
    plain = runner.invoke(
        cli, ["timeline", "--start", "2025-11-24", "--end", "2025-11-24"]
    )
    assert "*" not in plain.stdout


def test_monthly_net_change_matches_deepstates_history(record):
    # DeepState's own monthly change, from its published area history: the
    # last version published by the end of each month (Kyiv) less that of the
    # previous month.  Where the month-end version is the one our month-end
    # map shows (June–August 2025), the two must agree to 1 km²: the steady
    # factor between the measures (1.00045) on ~560 km² is 0.25 km², and the
    # cut to the country changes a month's gain by less than that.
    from territory.versions import KYIV, published_occupied

    history = pd.read_csv(
        record.cache.require("deepstate-areas", dataset="deepstate-areas")
    )
    published = published_occupied(history)

    def at_end_of(day):
        end = pd.Timestamp(
            dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), KYIV)
        )
        return published[published.index < end]

    df = record.occupied_by_month("2025-06-01", "2025-08-31")
    assert [str(m) for m in df.index] == ["2025-06", "2025-07", "2025-08"]
    assert df.loc["2025-07", "maps"] >= 20  # a month is looked up by its name
    for row in df.reset_index().astype({"month": str}).itertuples():
        last = at_end_of(row.as_of)
        before = at_end_of(
            dt.date.fromisoformat(row.month + "-01") - dt.timedelta(days=1)
        )
        assert (
            row.map_version == last.index[-1].isoformat()
        )  # the month-end map is held
        assert row.change_km2 == pytest.approx(last.iloc[-1] - before.iloc[-1], abs=1.0)
        # gross and net come from different geometry (differences between
        # consecutive maps; areas of the month-end maps) and must agree
        assert row.gained_km2 - row.lost_km2 == pytest.approx(row.change_km2, abs=1e-6)
        assert row.gained_km2 >= row.change_km2
        assert row.lost_km2 >= 0
        assert row.maps >= 20  # read from the month's daily maps, not its ends only


def test_timeline_by_month_and_by_region_cli(runner, record):
    args = ["timeline", "--by", "month", "--start", "2025-07-01", "--end", "2025-08-31"]
    doc = json.loads(runner.invoke(cli, [*args, "--format", "json"]).stdout)
    assert doc["area"] == "Ukraine"
    assert [r["month"] for r in doc["rows"]] == [
        "2025-07",
        "2025-08",
    ]
    assert {
        "occupied_km2",
        "change_km2",
        "gained_km2",
        "lost_km2",
        "map_version",
    } <= set(doc["rows"][0])
    text = runner.invoke(cli, args).stdout
    assert "Net change km²" in text
    assert "2025-08" in text
    result = runner.invoke(
        cli,
        [
            "timeline",
            "--by",
            "region",
            "--start",
            "2025-08-15",
            "--end",
            "2025-08-15",
            "--format",
            "csv",
        ],
    )
    rows = pd.read_csv(io.StringIO(result.stdout))
    ids = list(record.regions.index)
    assert len(ids) == 27
    assert ids <= list(rows.columns)
    ctl = record.control("2025-08-15").to_frame()
    for rid in ("UA-14", "UA-09", "UA-23", "UA-59"):  # UA-59: Sumy's border gaps
        assert rows.at[0, rid] == pytest.approx(ctl.at[rid, "occupied_km2"], rel=1e-9)
    bad = runner.invoke(cli, ["timeline", "--by", "region", "--region", "Donetsk"])
    assert bad.exit_code == 2
    assert "leave out --region" in bad.output


def test_rows_are_the_series_and_the_cli_imports_no_pandas(runner, record):
    # `occupied_rows` is `occupied_series` without pandas: the same columns
    # in the same order, the same figures to the last bit (NaN where the
    # frame has no change), and the CLI prints from it exactly what a frame
    # of them printed (CSV through `frame_csv`), without importing pandas.
    from territory.tables import frame_csv

    span = ("2025-11-24", "2025-11-28")
    rows = record.occupied_rows(*span, region_ids=["UA-14", "UA-63"])
    df = record.occupied_series(*span, region_ids=["UA-14", "UA-63"])
    assert [r["as_of"] for r in rows] == list(df.index.date)
    assert list(rows[0])[1:] == list(df.columns)
    for row, (_, frame_row) in zip(rows, df.iterrows(), strict=True):
        for col in df.columns:
            want = frame_row[col]
            if pd.isna(want):  # the first change (NaN), a date with no note
                assert row[col] is None or row[col] != row[col], col
            else:
                assert row[col] == want, col
    # the CSV of the CLI, against the frame's as the CLI used to shape it
    old = df.reset_index()
    old["as_of"] = old["as_of"].dt.date
    old.pop("note")
    old.insert(3, "earlier_snapshot", old["snapshot_as_of"] != old["as_of"])
    for col in ("as_of", "snapshot_as_of"):
        old[col] = old[col].map(dt.date.isoformat)
    args = ["timeline", "--start", span[0], "--end", span[1], "--every", "1"]
    printed = runner.invoke(
        cli, [*args, "--region", "Donetsk", "--region", "Kharkiv", "--format", "csv"]
    ).stdout
    assert printed == frame_csv(old)
    out, pandas = cli_without_pandas(
        [*args, "--by", "region", "--format", "csv"], record.cache.root
    )
    assert not pandas
    assert out.startswith("as_of,snapshot,snapshot_as_of,earlier_snapshot,")
