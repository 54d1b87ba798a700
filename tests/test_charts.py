"""Charts (territory.charts, `territory timeline --plot`)."""

import pytest

from territory.charts import _plain
from territory.cli.main import cli


def _pixels(path):
    import matplotlib.image as mpimg

    return mpimg.imread(path)


@pytest.mark.data
def test_monthly_chart_is_article_sized_and_drawn(runner, record, tmp_path):
    out = tmp_path / "monthly.png"
    result = runner.invoke(
        cli,
        [
            "timeline",
            "--by",
            "month",
            "--start",
            "2025-07-01",
            "--end",
            "2025-08-31",
            "--plot",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    img = _pixels(out)
    assert img.shape[:2] == (900, 1600)  # at least 1,600 px wide for an article
    assert img[..., :3].std() > 0.05  # not a blank canvas: bars, axes and text
    assert "Net change km²" in result.stdout  # the table still goes to stdout


@pytest.mark.data
def test_timeline_chart_svg_names_the_regions(runner, record, tmp_path):
    out = tmp_path / "t.svg"
    result = runner.invoke(
        cli,
        [
            "timeline",
            "--start",
            "2025-01-01",
            "--end",
            "2025-06-30",
            "--every",
            "30",
            "--region",
            "Donetsk",
            "--region",
            "Zaporizhzhia",
            "--plot",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml")
    assert "</svg>" in svg
    # text stays text in the SVG: the title and each region's name
    assert "Russian-held land in Ukraine" in svg
    assert "Donetsk" in svg
    assert "Zaporizhzhia" in svg


@pytest.mark.parametrize(
    ("name", "phrase"),
    [
        ("chart.txt", "a chart is written as .png, .svg, .pdf"),
        ("missing/dir/c.png", "missing"),
    ],
)
def test_a_bad_plot_name_is_refused_before_any_work(runner, tmp_path, name, phrase):
    result = runner.invoke(
        cli, ["timeline", "--by", "month", "--plot", str(tmp_path / name)]
    )
    assert result.exit_code == 2, result.output
    assert phrase in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / name).exists()


def test_text_from_data_is_not_mathtext():
    assert _plain("Region $x^2$") == r"Region \$x^2\$"


def test_charts_need_no_pyplot_and_force_no_backend(tmp_path):
    """A chart is a plain Figure: the backend chosen (here svg) is kept, pyplot never imported.

    So Jupyter's inline backend stays in place and a chart that ends a cell
    shows (`_repr_png_`), with no ``%matplotlib`` magic.
    """
    import os
    import subprocess
    import sys

    code = (
        "import sys, io, matplotlib, pandas as pd\n"
        "from matplotlib.image import imread\n"
        "from territory import charts\n"
        "df = pd.DataFrame({'as_of': ['2025-01-01', '2025-02-01'], 'occupied_km2': [1.0, 2.0]})\n"
        "fig = charts.timeline_chart(df, title='t')\n"
        f"charts.save_chart(fig, {str(tmp_path / 'c.png')!r})\n"
        "png = fig._repr_png_()\n"
        "print(png[:4] == b'\\x89PNG', imread(io.BytesIO(png)).shape[:2],\n"
        "      matplotlib.rcParams._get_backend_or_none(), 'matplotlib.pyplot' in sys.modules)\n"
    )
    env = {**os.environ, "MPLBACKEND": "svg"}
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True", "(900,", "1600)", "svg", "False"]
    assert (tmp_path / "c.png").stat().st_size > 10_000
