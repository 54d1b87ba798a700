"""Maps rendered in memory: layers, legend, embedded GeoJSON against the evaluation, escaping."""

import re

import pytest

from territory.accounting import evaluate
from territory.maps import embedded_geojson, render_control, render_scenario, to_html
from territory.scenario import parse_scenario
from tests import scenario_world


def _toy_eval(title="Toy", name="Beta west"):
    import tomllib

    text = (
        f'[scenario]\ntitle = {title!r}\nas_of = 2025-01-01\nsource = "test"\n'
        f'[[transfers]]\nname = {name!r}\nfrom = "UA"\nto = "RU"\nclaim = "c"\nselect = {{ regions = ["Beta"] }}\n'
        '[[zones]]\nname = "buffer"\ndepth_km = 5\nwithdraw = ["UA", "RU"]\n'
    )
    sc = parse_scenario(tomllib.loads(text), table=scenario_world.table())
    return evaluate(sc, scenario_world.control(pocket=False))


def test_scenario_page_has_layers_legend_and_matching_geojson():
    ev = _toy_eval()
    page = to_html(render_scenario(ev))
    for name in (
        "Land (offline base)",
        "Oblast boundaries",
        "Transfers Ukraine \\u2192 Russia",
        "Demilitarised zones",
        "Contact line before",
        "Contact line after",
    ):
        assert name in page, name
    assert 'id="territory-legend"' in page and "km²" in page and "2025-01-01" in page
    assert 'id="territory-headline"' in page and 'id="territory-attribution"' in page
    collections = embedded_geojson(page)
    moves = [
        f["properties"]
        for fc in collections
        for f in fc["features"]
        if "direction" in f["properties"]
    ]
    assert sorted(p["name"] for p in moves) == sorted(m.name for m in ev.moves)
    for m in ev.moves:
        (props,) = [p for p in moves if p["name"] == m.name]
        assert props["area_km2"] == pytest.approx(round(m.area_km2, 1))
        assert props["rule"] == m.rule.replace("'", "&#x27;")


def test_render_is_stable():
    ev = _toy_eval()
    assert to_html(render_scenario(ev)) == to_html(render_scenario(ev))


def test_self_contained_page_links_nothing_external():
    page = to_html(render_control(scenario_world.control()))
    assert not re.search(r'<script[^>]+src="https?:', page)
    assert not re.search(r'<link[^>]+href="https?:', page)
    assert "L.map(" in page
    cdn = to_html(render_control(scenario_world.control()), self_contained=False)
    assert re.search(r'<script[^>]+src="https://[^"]+leaflet', cdn)
    assert len(page) > len(cdn) + 100_000  # Leaflet itself is inlined


def test_scenario_text_cannot_inject_script():
    evil = '</script><img src=x onerror="alert(1)"><script>alert(2)</script>'
    ev = _toy_eval(title=evil, name=evil)
    page = to_html(render_scenario(ev))
    assert "<img src=x" not in page
    assert "<script>alert(2)" not in page
    assert "&lt;/script&gt;&lt;img src=x" in page


@pytest.mark.data
def test_alaska_page_is_small(record):
    from territory.scenario import read_scenario

    sc = read_scenario("alaska-2025")
    page = to_html(render_scenario(evaluate(sc, record.control(sc.as_of))))
    assert (
        len(page.encode()) < 2_000_000
    )  # the limit for pages people mail around


def test_mini_map_svg_for_notebooks():
    from territory.maps import mini_map_svg

    svg = mini_map_svg(_toy_eval())
    assert svg.startswith("<svg") and svg.count("<path") >= 4


def test_legend_says_when_an_earlier_snapshot_serves_the_date():
    import datetime as dt
    from dataclasses import replace

    ctl = scenario_world.control()
    assert "Note:" not in to_html(render_control(ctl), self_contained=False)
    gap = replace(
        ctl,
        as_of=dt.date(2025, 1, 2),
        note="no snapshot for 2025-01-02; using the latest earlier one",
    )
    page = to_html(render_control(gap), self_contained=False)
    assert "Control as of 2025-01-02 (evening), snapshot toy map." in page
    assert (
        "<b>Note:</b> no snapshot for 2025-01-02; using the latest earlier one" in page
    )


def test_scenario_page_cites_and_explains():
    import tomllib

    text = (
        '[scenario]\ntitle = "Toy"\nas_of = 2025-01-01\nsource = "a paper"\n'
        'citation = "The Paper, 1 Jan 2025"\ndescription = "Beta goes."\n'
        '[[transfers]]\nname = "Beta west"\nfrom = "UA"\nto = "RU"\n'
        'claim = "they said so"\nnote = "our reading"\nselect = { regions = ["Beta"] }\n'
    )
    sc = parse_scenario(tomllib.loads(text), table=scenario_world.table())
    page = to_html(
        render_scenario(evaluate(sc, scenario_world.control(pocket=False))),
        self_contained=False,
    )
    assert "<summary>About this scenario</summary>Beta goes." in page
    assert "<i>Citation:</i> The Paper, 1 Jan 2025" in page
    (props,) = [
        f["properties"]
        for fc in embedded_geojson(page)
        for f in fc["features"]
        if f["properties"].get("name") == "Beta west"
    ]
    assert props["claim"] == "they said so" and props["note"] == "our reading"
    assert "bindPopup" in page  # a click shows the claim and the note
    assert "About this scenario" not in to_html(
        render_scenario(_toy_eval()), self_contained=False
    )  # nothing to say: no empty box
