"""`territory balance` through the CLI, on the record."""

import json

import pytest

from territory.cli.main import cli

pytestmark = pytest.mark.data

ALASKA = [
    "balance",
    "alaska-2025",
    "--transfer",
    "Ukraine withdraws from Donbas",
    "--within",
    "Zaporizhzhia",
    "--within",
    "Kherson",
]


def test_balance_writes_a_scenario_that_evaluates_even(runner, record, tmp_path):
    out = tmp_path / "alaska-balanced.toml"
    result = runner.invoke(cli, [*ALASKA, "-o", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {"depth_km", "area_km2", "target_km2", "output", "answer"} <= doc.keys()
    assert doc["output"] == str(out)
    assert abs(doc["area_km2"] - doc["target_km2"]) <= 0.001 * doc["target_km2"]
    assert doc["answer"].startswith("Russia would have to withdraw")
    assert "Zaporizhzhia and Kherson" in doc["answer"]
    # the band beside it, and the scenario re-evaluates to the same band
    band = json.loads(out.with_suffix(".geojson").read_text())
    assert band["name"] == "alaska-balanced"
    assert band["features"][0]["properties"]["depth_km"] == doc["depth_km"]
    ev = runner.invoke(cli, ["evaluate", str(out), "--format", "json"])
    assert ev.exit_code == 0, ev.output
    flows = {
        (f["from"], f["to"]): f["area_km2"] for f in json.loads(ev.stdout)["flows"]
    }
    # the band is what Russia gives beyond the original offer (its pockets)
    original = runner.invoke(cli, ["evaluate", "alaska-2025", "--format", "json"])
    pockets = {
        (f["from"], f["to"]): f["area_km2"]
        for f in json.loads(original.stdout)["flows"]
    }["RU", "UA"]
    band_km2 = flows["RU", "UA"] - pockets
    assert band_km2 / flows["UA", "RU"] == pytest.approx(1, abs=0.01)


def test_balance_in_words(runner, record):
    result = runner.invoke(cli, [*ALASKA, "--as", "zone"])
    assert result.exit_code == 0, result.output
    assert "into a demilitarised zone" in result.stdout
    assert "own edge of the line" in result.stdout
    assert "not a proposal" in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "phrase"),
    [
        (["balance", "alaska-2025", "--overall"], 2, "--within"),
        (
            ["balance", "alaska-2025", "--within", "Kherson"],
            2,
            "exactly one of --transfer",
        ),
        (["balance", "--within", "Kherson", "--overall"], 2, "name the SCENARIO"),
        (
            ["balance", "alaska-2025", "--within", "Kherson", "--target-km2", "9"],
            2,
            "needs --by",
        ),
        ([*ALASKA, "-o", "x.json"], 2, "not a .toml file"),
        (
            ["balance", "alaska-2025", "--mirror", "--within", "Donetsk"],
            2,
            "--depth-km",
        ),
        (
            ["balance", "alaska-2025", "--within", "Atlantis", "--overall"],
            2,
            "unknown region 'Atlantis'",
        ),
        (
            [
                "balance",
                "alaska-2025",
                "--within",
                "Kherson",
                "--target-km2",
                "50000",
                "--by",
                "RU",
            ],
            1,
            "at most",
        ),
        ([*ALASKA[:4], "--within", "Lviv"], 1, "at most 0 km²"),
        (
            ["balance", "alaska-2025", "--within", "Sumy", "--overall"],
            1,
            "already gives 212 km² of its land in Sumy",
        ),
    ],
)
def test_balance_refusals(runner, record, tmp_path, args, code, phrase):
    result = runner.invoke(cli, args)
    assert result.exit_code == code, result.output
    assert phrase in result.output
    assert "Traceback" not in result.output


def test_mirror_without_a_scenario(runner, record):
    result = runner.invoke(
        cli,
        [
            "balance",
            "--mirror",
            "--within",
            "Donetsk",
            "--depth-km",
            "10",
            "--by",
            "RU",
            "--date",
            "2026-02-18",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["as_of"] == "2026-02-18"
    assert doc["depths_km"]["UA"] == 10
    assert doc["areas_km2"]["RU"] == pytest.approx(doc["areas_km2"]["UA"], rel=0.002)
