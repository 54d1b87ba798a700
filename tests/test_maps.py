"""Maps rendered in memory: layers, legend, embedded GeoJSON against the evaluation, escaping."""

import html
import json
import re

import pytest
import shapely

from territory.accounting import RATIO_DEFINITIONS, evaluate
from territory.maps import (
    render_compare,
    render_control,
    render_scenario,
    to_html,
)
from territory.scenario import parse_scenario
from tests import scenario_world
from tests.pages import embedded_geojson
from tests.support import fresh_python


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
    assert 'id="territory-legend"' in page
    assert "km²" in page
    assert "2025-01-01" in page
    assert 'id="territory-headline"' in page
    assert 'id="territory-attribution"' in page
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
    assert svg.startswith("<svg")
    assert svg.count("<path") >= 4


def test_legend_says_when_an_earlier_snapshot_serves_the_date():
    import datetime as dt

    ctl = scenario_world.control()
    assert "Note:" not in to_html(render_control(ctl), self_contained=False)
    gap = ctl.dated(
        dt.date(2025, 1, 2), "no snapshot for 2025-01-02; using the latest earlier one"
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
    assert props["claim"] == "they said so"
    assert props["note"] == "our reading"
    assert "bindPopup" in page  # a click shows the claim and the note
    assert "About this scenario" not in to_html(
        render_scenario(_toy_eval()), self_contained=False
    )  # nothing to say: no empty box


# --------------------------------------------------------------------------- flows, ratios, line


def _mirror_eval(when=None):
    """The toy world with a 5-km mirror zone only: no land changes sides."""
    import tomllib

    text = (
        '[scenario]\ntitle = "Mirror"\nas_of = 2025-01-01\nsource = "test"\n'
        '[[zones]]\nname = "buffer"\ndepth_km = 5\nwithdraw = ["UA", "RU"]\n'
    )
    sc = parse_scenario(tomllib.loads(text), table=scenario_world.table())
    control = scenario_world.control(pocket=False)
    return evaluate(sc, when(control) if when else control, people=False)


def _one_way_eval():
    """Ukraine cedes Beta west to Russia and receives nothing."""
    import tomllib

    text = (
        '[scenario]\ntitle = "One way"\nas_of = 2025-01-01\nsource = "test"\n'
        '[[transfers]]\nname = "Beta west"\nfrom = "UA"\nto = "RU"\n'
        'select = { regions = ["Beta"] }\n'
    )
    sc = parse_scenario(tomllib.loads(text), table=scenario_world.table())
    return evaluate(sc, scenario_world.control(pocket=False), people=False)


def _headline_text(page: str) -> str:
    start = page.index('id="territory-headline"')
    body = page[start : page.index("</details>", start)]
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_headline_of_a_mirror_zone_never_says_ukraine_receives_nothing():
    ev = _mirror_eval()
    # no land changes sides; each side gives a 5-km band along the 111.2-km front
    assert ev.flow_km2("UA", "RU") == ev.flow_km2("RU", "UA") == 0
    assert ev.ratios["cession"] is None
    headline = _headline_text(to_html(render_scenario(ev), self_contained=False))
    assert "receives nothing" not in headline
    assert "No cession" in headline
    assert "zone 1.00" in re.sub(r"\s+", " ", headline)  # the zone ratio, 556/556
    for definition in RATIO_DEFINITIONS.values():
        assert definition in re.sub(r"\s+", " ", headline)


def test_headline_says_receives_nothing_only_when_true():
    page = to_html(render_scenario(_one_way_eval()), self_contained=False)
    headline = re.sub(r"\s+", " ", _headline_text(page))
    assert "receives nothing in return" in headline
    assert "cession none" in headline
    # the toy scenario with a zone: still true, Russia cedes no land
    zone = re.sub(r"\s+", " ", _headline_text(to_html(render_scenario(_toy_eval()))))
    assert "receives nothing in return" in zone
    assert "zone 1.00" in zone
    # with a cession both ways it is never said
    doc = {
        "scenario": {"title": "Two ways", "as_of": "2025-01-01"},
        "transfers": [
            {"name": "west", "from": "UA", "to": "RU", "select": {"regions": ["XB"]}},
            {
                "name": "pocket",
                "from": "RU",
                "to": "UA",
                "select": {"regions": ["XA"], "connected": False},
            },
        ],
    }
    sc = parse_scenario(doc, table=scenario_world.table())
    ev = evaluate(sc, scenario_world.control(pocket=True), people=False)
    both = re.sub(r"\s+", " ", _headline_text(to_html(render_scenario(ev))))
    assert "receives nothing" not in both
    assert f"cession {ev.ratios['cession']:,.2f}" in both


def test_headline_is_tables_with_ruled_headers():
    page = to_html(render_scenario(_toy_eval()), self_contained=False)
    start = page.index('id="territory-headline"')
    box = page[start : page.index("</details>", start)]
    tables_html = re.findall(r'<table class="territory-table">.*?</table>', box)
    heads = [re.findall(r"<th[^>]*>([^<]*)</th>", t) for t in tables_html]
    assert heads == [
        ["Flow", "km²"],
        ["Ratio", "Value", "What it measures"],
        ["Contact line", "km"],
    ]
    assert ".territory-table th{" in page
    assert "border-bottom" in page


def test_scenario_map_draws_the_direct_contact_and_each_zone_edge():
    from territory.geodesy import length_km
    from territory.maps import COLOURS

    ev = _mirror_eval()
    (zone,) = ev.line_after.zones
    page = to_html(render_scenario(ev), self_contained=False)
    lines = {
        html.unescape(f["properties"]["line"]): f
        for fc in embedded_geojson(page)
        for f in fc["features"]
        if "line" in f["properties"]
    }
    # the toy front is the meridian 31.5°E from 48°N to 49°N: 111.2 km; each
    # zone edge is that meridian moved 5 km into each side's land
    assert lines["buffer: Ukrainian edge after"]["properties"]["length_km"] == "111"
    assert lines["buffer: Russian edge after"]["properties"]["length_km"] == "111"
    assert length_km(zone.ua_edge) == pytest.approx(111.2, rel=1e-3)
    ua_x = {round(x, 3) for x, _ in zone.ua_edge.coords}
    ru_x = {round(x, 3) for x, _ in zone.ru_edge.coords}
    assert (
        max(ua_x) < 31.5 < min(ru_x)
    )  # west (Ukrainian) and east (Russian) of the line
    # the direct contact after is empty: the zone runs along the whole line
    assert "Contact line after: direct contact (0 km)" in page
    assert "Contact line after: direct contact" not in lines
    for name in (
        "buffer: Ukrainian edge after (111 km)",
        "buffer: Russian edge after (111 km)",
    ):
        assert name in page, name
    # distinct styles, both in the legend
    assert f'"color": "{COLOURS["edge_ua"]}"' in page
    assert f'"color": "{COLOURS["edge_ru"]}"' in page
    assert '"dashArray": "2 5"' in page
    assert "Zone edge after, Ukrainian side" in page
    assert "Zone edge after, Russian side" in page


def test_compare_map_shows_each_scenario_on_its_own_date():
    import datetime as dt

    def later(control):
        return control.dated(
            dt.date(2025, 1, 2),
            "no snapshot for 2025-01-02; using the latest earlier one",
        )

    a, b = _toy_eval(title="On its day"), _mirror_eval(later)
    page = to_html(render_compare([a, b]), self_contained=False)
    overlays = re.findall(r'"((?:[^"\\]|\\.)*)" : feature_group_', page)
    names = {html.unescape(json.loads(f'"{s}"')) for s in overlays}
    assert {
        "Scenario: On its day (as of 2025-01-01)",
        "Scenario: Mirror (as of 2025-01-02)",
    } <= names
    # each scenario's group holds its own control map: two control layers,
    # one per date, and none shared
    control = [
        fc
        for fc in embedded_geojson(page)
        if fc["features"] and "holder" in fc["features"][0]["properties"]
    ]
    assert sorted(fc["features"][0]["properties"]["as_of"] for fc in control) == [
        "2025-01-01",
        "2025-01-02",
    ]
    assert not any(n.startswith("Russian-held before") for n in names)
    # the table and the legend give each date
    assert '<td class="num">2025-01-01</td>' in page
    assert '<td class="num">2025-01-02*</td>' in page  # an earlier snapshot serves it
    assert "* no snapshot for that date" in page
    assert "Each scenario on the control map of its own date" in page
    assert "no snapshot for 2025-01-02" in page


def test_compare_map_on_one_date_shares_one_control_layer():
    a, b = _toy_eval(title="A"), _mirror_eval()
    page = to_html(render_compare([a, b]), self_contained=False)
    overlays = re.findall(r'"((?:[^"\\]|\\.)*)" : feature_group_', page)
    names = {html.unescape(json.loads(f'"{s}"')) for s in overlays}
    assert {"Scenario: A", "Scenario: Mirror"} <= names
    control = [
        fc
        for fc in embedded_geojson(page)
        if fc["features"] and "holder" in fc["features"][0]["properties"]
    ]
    assert len(control) == 1
    assert any(n.startswith("Russian-held before, 2025-01-01") for n in names)
    assert "Control as of 2025-01-01 (evening)" in page


@pytest.mark.data
def test_the_legend_names_the_map_version(record):
    # the daily file dated 2025-08-16 shows DeepState's map of 15 Aug 16:37 UTC
    page = html.unescape(to_html(render_control(record.control("2025-08-15"))))
    assert "DeepState's map of 2025-08-15 16:37 UTC" in page
    assert "matched to DeepState's published area history" in page


# --------------------------------------------------------------------------- view, legend, places


def _js_bounds(page: str, name: str):
    """The bounds the page's view script holds, ``var focus = [[s, w], [n, e]];``."""
    (raw,) = re.findall(rf"var {name} = (null|\[\[[^;]*\]\]);", page)
    return json.loads(raw)


def _legend_rows(page: str) -> list[tuple[str, list[str], bool]]:
    """The legend's rows: label, the keys of the layers they stand for, shown on opening."""
    start = page.index('id="territory-legend"')
    box = page[start : page.index("</div></div>", start)]
    rows = re.findall(
        r'<div class="territory-legend-row" data-layers="([^"]*)"( style="display:none")?>'
        r'<span class="territory-swatch[^>]*></span>([^<]*)</div>',
        box,
    )
    return [
        (html.unescape(label), keys.split(), not hidden) for keys, hidden, label in rows
    ]


def _groups(page: str) -> dict[str, tuple[str, bool]]:
    """Each keyed layer group: key -> (its JS name, added to the map on opening)."""
    out = {}
    for var, key in re.findall(
        r'var (feature_group_\d+) = L\.featureGroup\(\[\], \{\s*"territoryKey": "(L\d+)"',
        page,
    ):
        out[key] = (var, f"{var}.addTo(" in page)
    return out


def test_legend_rows_are_exactly_the_layers_drawn():
    page = to_html(render_scenario(_toy_eval()), self_contained=False)
    rows, groups = _legend_rows(page), _groups(page)
    assert rows
    assert groups
    # every row stands for layers that exist; every layer drawing something has a row
    assert {k for _, keys, _ in rows for k in keys} == set(groups)
    # shown on opening exactly when one of its layers is on the map on opening
    for label, keys, shown in rows:
        assert shown == any(groups[k][1] for k in keys), label
    labels = [label for label, _, _ in rows]
    assert "Contact line after: direct contact" not in labels  # 0 km: nothing drawn
    assert "Contact line before" in labels
    assert "Zone edge after, Russian side" in labels
    assert any(
        lbl.startswith("Transfers Ukraine → Russia (4,109 km²)") for lbl in labels
    )
    # the page's script follows the layer control
    assert "territoryKey" in page
    assert 'map.on("layeradd"' in page


def test_compare_legend_lists_only_what_it_draws():
    a, b = _toy_eval(title="A"), _mirror_eval()
    page = to_html(render_compare([a, b]), self_contained=False)
    rows, groups = _legend_rows(page), _groups(page)
    labels = [label for label, _, _ in rows]
    assert not [lbl for lbl in labels if "Contact line" in lbl or "Settlement" in lbl]
    assert {k for _, keys, _ in rows for k in keys} == set(groups)
    # the transfer row is scenario A's alone, so hidden when B is chosen
    (transfer,) = [r for r in rows if r[0].startswith("Transfers Ukraine")]
    assert len(transfer[1]) == 1
    (zones,) = [r for r in rows if r[0].startswith("Demilitarised zones")]
    assert len(zones[1]) == 2  # both scenarios have the 5-km zone


def test_scenario_page_opens_on_its_moves_and_control_page_on_the_country():
    from territory.maps.figures import FOCUS_MIN_SPAN_M

    ev = _toy_eval()
    page = to_html(render_scenario(ev), self_contained=False)
    focus, country = _js_bounds(page, "focus"), _js_bounds(page, "country")
    (s, w), (n, e) = focus
    west, south, east, north = shapely.union_all([m.geometry for m in ev.moves]).bounds
    assert s < south
    assert w < west
    assert n > north
    assert e > east
    assert (n - s) * 111.2 >= FOCUS_MIN_SPAN_M / 1000  # at least 150 km across
    assert country == [[48.0, 30.0], [49.0, 33.0]]  # the toy country's land
    assert '"Whole country"' in page
    assert '"Transfers and zones"' in page
    control = to_html(render_control(scenario_world.control()), self_contained=False)
    assert _js_bounds(control, "focus") is None
    assert _js_bounds(control, "country") == country


def test_compare_page_opens_on_all_its_scenarios_moves():
    from territory.maps import focus_bounds

    a, b = _toy_eval(title="A"), _mirror_eval()
    page = to_html(render_compare([a, b]), self_contained=False)
    assert _js_bounds(page, "focus") == focus_bounds([a, b])
    (s, w), (n, e) = focus_bounds([a, b])
    for ev in (a, b):
        west, south, east, north = shapely.union_all(
            [m.geometry for m in ev.moves]
        ).bounds
        assert s < south
        assert w < west
        assert n > north
        assert e > east


def test_focus_ignores_crumbs():
    from dataclasses import replace

    from territory.maps import focus_bounds

    ev = _one_way_eval()
    (move,) = ev.moves
    # a 0.5-km² crumb far east (in "Russia") does not pull the view
    crumb = shapely.box(40.0, 48.0, 40.0095, 48.0047)
    crumbed = replace(ev, moves=[replace(move, geometry=move.geometry.union(crumb))])
    assert focus_bounds([crumbed]) == focus_bounds([ev])
    assert focus_bounds([ev])[1][1] < 35


def test_settlements_above_the_threshold_sized_by_population(monkeypatch):
    from territory.maps import PLACE_MIN_POPULATION, PLACE_RADIUS_PX

    # in Beta west (31.0–31.5 E, 48–49 N), the toy scenario's transfer
    places = [
        {"name": f"town {i}", "population": pop, "lon": 31.2, "lat": 48.1 + i / 10}
        for i, pop in enumerate([250_000, 40_000, 10_000, 9_999, 700])
    ]
    monkeypatch.setattr("territory.people.settlements", lambda: places)
    page = to_html(render_scenario(_toy_eval()), self_contained=False)
    assert "Settlements of 10,000+ in transfers and zones (3 of 5)" in page
    points = [
        f["properties"]
        for fc in embedded_geojson(page)
        for f in fc["features"]
        if "place" in f["properties"]
    ]
    assert [p["place"] for p in points] == ["town 0", "town 1", "town 2"]
    for p in points:
        people = int(p["population"].replace(",", ""))
        assert people >= PLACE_MIN_POPULATION
        # area grows with the population: r² ∝ people
        assert p["radius_px"] ** 2 == pytest.approx(
            PLACE_RADIUS_PX**2 * people / PLACE_MIN_POPULATION, rel=0.03
        )
    # hollow: a light fill, so the land beneath shows; a circle in the legend
    assert '"fillOpacity": 0.2' in page
    assert "territory-place" in page
    (row,) = [r for r in _legend_rows(page) if r[0].startswith("Settlements")]
    assert row[0] == "Settlements of 10,000+ people, sized by population"
    assert re.search(r"territory-swatch-circle[^>]*border-radius:50%", page)
    assert "Settlement in a transfer" not in page  # the old grey square


def test_no_stray_space_in_layer_names_and_removed_land_off():
    page = to_html(render_control(scenario_world.control()), self_contained=False)
    assert " , " not in html.unescape(page)
    assert "Russian-held, 2025-01-01" in page
    overlays = {
        html.unescape(json.loads(f'"{name}"')): var
        for name, var in re.findall(r'"((?:[^"\\]|\\.)*)" : (feature_group_\d+)', page)
    }
    (removed,) = [
        v for k, v in overlays.items() if k.startswith("Removed from the land")
    ]
    assert f"{removed}.addTo(" not in page  # off on opening


def test_headline_is_folded_under_the_reciprocity_in_words():
    from territory.tables import reciprocity_text

    ev = _toy_eval()
    page = to_html(render_scenario(ev), self_contained=False)
    start = page.index('id="territory-headline"')
    assert page[start:].split(">", 1)[1].startswith("<details><summary>")  # closed
    summary = page[start : page.index("</summary>", start)]
    assert html.escape(reciprocity_text(ev), quote=True) in summary


def test_other_countries_land_is_drawn_apart_from_the_sea():
    ev = _toy_eval()
    plain = to_html(render_scenario(ev), self_contained=False)
    assert "Other countries" not in plain
    mask = shapely.box(28.0, 46.0, 36.0, 51.0)  # the toy country and around it
    page = to_html(render_scenario(ev, land=mask), self_contained=False)
    assert "Other countries (offline base)" in page
    assert ("Other countries", True) in [
        (lbl, shown) for lbl, _, shown in _legend_rows(page)
    ]


def test_package_imports_its_modules_when_a_name_is_asked_for():
    code = (
        "import sys, territory.maps as m\n"
        "loaded = sorted(k for k in sys.modules if k.startswith('territory.maps.'))\n"
        "print('LOADED', loaded)\n"
        "missing = [n for n in m.__all__ if getattr(m, n, None) is None]\n"
        "print('MISSING', missing, sorted(m.__all__) == sorted(m._HOME))\n"
        "print('RENDER', 'territory.maps.render' in sys.modules)\n"
        "try:\n    m.no_such_name\nexcept AttributeError as e:\n    print('ERR', e)\n"
    )
    out = fresh_python(code)
    assert "LOADED []" in out  # nothing until asked
    assert "MISSING [] True" in out  # every public name resolves, none unlisted
    assert "RENDER True" in out
    assert "has no attribute 'no_such_name'" in out
