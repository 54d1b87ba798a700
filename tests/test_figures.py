"""Static maps (territory.maps.figures, `territory map … -o FILE.png|svg|pdf`).

Rendering takes seconds on the real data, so one scenario figure is drawn
for the whole module (a Donbas-only scenario with markup and mathtext in
its title) and saved as PNG and SVG; the CLI draws one control figure.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import shapely

from territory.cli.main import cli

#: Text from a scenario file that matplotlib must not read as mathtext and
#: an SVG must hold escaped.
TITLE = "Swap $x^2$ <b>bold</b> & {{ 5*5 }}"
SOURCE = "Costs $5 <i>or</i> $6"
WITKOFF = (
    Path(__file__).resolve().parents[1] / "geodata/scenarios/witkoff-2025-08-08.toml"
)


def _one_line_error(result, phrase: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert phrase in lines[0]


@pytest.fixture(scope="module")
def drawn(record, tmp_path_factory):
    """Witkoff's scenario (Donetsk only) retitled, evaluated and drawn once."""
    from territory.accounting import evaluate
    from territory.maps.figures import render_scenario_figure, save_figure
    from territory.scenario import read_scenario

    tmp = tmp_path_factory.mktemp("figures")
    text = WITKOFF.read_text(encoding="utf-8")
    text = text.replace(
        'title = "Witkoff\'s clarification: Donetsk for a ceasefire (8 Aug 2025)"',
        f'title = "{TITLE}"',
    ).replace(
        'source = "WSJ, citing European officials, ~10 Aug 2025"',
        f'source = "{SOURCE}"',
    )
    assert TITLE in text
    assert SOURCE in text
    path = tmp / "payload.toml"
    path.write_text(text, encoding="utf-8")
    scenario = read_scenario(path)
    ev = evaluate(scenario, record.control(scenario.as_of))
    fig = render_scenario_figure(ev, land=record.land)
    save_figure(fig, tmp / "map.png")
    save_figure(fig, tmp / "map.svg")
    return ev, fig, tmp


@pytest.mark.data
def test_png_is_an_article_sized_image(drawn):
    from PIL import Image

    from territory.maps.figures import DPI, SIZE_IN

    _, _, tmp = drawn
    with Image.open(tmp / "map.png") as img:
        img.verify()
    with Image.open(tmp / "map.png") as img:
        assert img.format == "PNG"
        assert img.size == (round(SIZE_IN[0] * DPI), round(SIZE_IN[1] * DPI))
        assert img.width >= 1600
        shades = img.convert("L").histogram()
        assert sum(1 for n in shades if n) > 50  # a map, not a blank canvas


@pytest.mark.data
def test_svg_holds_text_from_data_literally_and_escaped(drawn):
    _, _, tmp = drawn
    raw = (tmp / "map.svg").read_text(encoding="utf-8")
    texts = ["".join(e.itertext()) for e in ET.parse(tmp / "map.svg").iter()]
    assert TITLE in texts  # one text element: not mathtext, not markup
    assert any(SOURCE in t for t in texts)
    assert "&lt;b&gt;bold&lt;/b&gt;" in raw
    assert "<b>" not in raw
    for label in ("Legend", "Transfer Ukraine → Russia", "Contact line before"):
        assert any(label in t for t in texts), label
    assert any("DeepStateMap" in t and "GeoNames" in t for t in texts)  # attribution


@pytest.mark.data
def test_view_is_focused_on_the_transfers(drawn):
    from territory.geodesy import area_km2
    from territory.maps.figures import (
        FOCUS_MIN_PART_KM2,
        country_extent,
        focus_extent,
        to_figure_crs,
    )

    ev, fig, _ = drawn
    ax = fig.axes[0]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    view = shapely.box(x0, y0, x1, y1)
    for m in ev.moves:
        moved = to_figure_crs(m.geometry)
        assert moved.intersection(view).area / moved.area > 0.999, m.name
        for part in shapely.get_parts(m.geometry):
            if area_km2(part) >= FOCUS_MIN_PART_KM2:
                assert view.contains(to_figure_crs(part)), m.name
    country = shapely.box(*country_extent(ev.control))
    assert view.area < 0.25 * country.area  # Donetsk only: far smaller than the country
    assert shapely.box(*focus_extent(ev)).area < 0.25 * country.area
    assert len(fig.axes) == 2  # the map and the locator inset of the country


@pytest.mark.data
def test_control_figure_from_the_cli(runner, record, tmp_path):
    out = tmp_path / "control.png"
    result = runner.invoke(cli, ["map", "--date", "2025-08-15", "-o", str(out)])
    assert result.exit_code == 0, result.output
    from PIL import Image

    with Image.open(out) as img:
        assert img.width >= 1600
    assert [p.name for p in tmp_path.iterdir()] == ["control.png"]  # no temporary left


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        pytest.param(["-o", "map.jpg"], ".html, .htm, .png, .svg, .pdf", id="bad-ext"),
        pytest.param(["--compare", "all", "-o", "c.png"], "--compare", id="compare"),
        pytest.param(["alaska-2025", "--tiles", "-o", "a.svg"], "--tiles", id="tiles"),
    ],
)
def test_misuse_is_one_line_and_writes_nothing(runner, tmp_path, args, phrase):
    args = [a if a.startswith("-") or "." not in a else str(tmp_path / a) for a in args]
    result = runner.invoke(cli, ["map", *args])
    _one_line_error(result, phrase)
    assert list(tmp_path.iterdir()) == []


def test_save_figure_names_the_accepted_endings(tmp_path):
    from territory.errors import OutputError
    from territory.maps.figures import save_figure

    with pytest.raises(OutputError, match=r"\.png, \.svg, \.pdf"):
        save_figure(object(), tmp_path / "map.gif")
    assert list(tmp_path.iterdir()) == []
