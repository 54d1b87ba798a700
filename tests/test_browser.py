"""Maps as a person sees them: real headless Chromium, network off, screenshots in build/."""

import html
import re

import pytest

from tests.browser import CHROMIUM, open_page
from tests.conftest import REPO

pytestmark = [
    pytest.mark.browser,
    pytest.mark.data,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium missing: 'make browser' installs it"
    ),
]

SHOTS = REPO / "build" / "screenshots"


@pytest.fixture(scope="module")
def pages(tmp_path_factory, record):
    from dataclasses import replace

    from territory.accounting import evaluate
    from territory.maps import render_compare, render_control, render_scenario, save_map
    from territory.scenario import Zone, read_scenario

    out = tmp_path_factory.mktemp("maps")
    evs = []
    for name in ("alaska-2025", "european-2025-08-09", "us-28-point-2025-11"):
        sc = read_scenario(name)
        evs.append(evaluate(sc, record.control(sc.as_of)))
    files = {
        "alaska": out / "alaska.html",
        "alaska_zone": out / "alaska-zone.html",
        "control": out / "control.html",
        "compare": out / "compare.html",
        "alaska_cdn": out / "alaska_cdn.html",
    }
    save_map(render_scenario(evs[0]), files["alaska"])
    # Alaska plus a 10-km mirror zone along the line after the swap
    alaska = evs[0].scenario
    zoned = replace(
        alaska,
        title=f"{alaska.title} + 10-km zone",
        zones=(Zone(name="10-km zone", depth_km=10, withdraw=("UA", "RU")),),
    )
    save_map(
        render_scenario(evaluate(zoned, record.control(alaska.as_of))),
        files["alaska_zone"],
    )
    save_map(render_scenario(evs[0]), files["alaska_cdn"], self_contained=False)
    save_map(
        render_control(record.control("2025-08-03")), files["control"]
    )  # the API snapshot: grey zone
    save_map(render_compare(evs), files["compare"])
    return files, evs


def _labels(dom):
    return [
        re.sub(r"\s+", " ", s).strip()
        for s in re.findall(r"<span>\s*([^<]+)</span>", dom)
    ]


def test_scenario_map_renders_offline_with_layers_and_legend(pages):
    files, _evs = pages
    page = open_page(files["alaska"], screenshot=SHOTS / "alaska.png")
    assert page.errors == []
    labels = _labels(page.dom)
    for expected in (
        "Land (offline base)",
        "Oblast boundaries",
        "Russian-held before",
        "Transfers Ukraine → Russia",
        "Transfers Russia → Ukraine",
        "Contact line before",
        "Contact line after",
        "Settlements in transfers",
    ):
        assert any(label.startswith(expected) for label in labels), (expected, labels)
    assert 'id="territory-legend"' in page.dom and "Areas in km²" in page.dom
    assert (
        'id="territory-headline"' in page.dom and "15." in page.dom
    )  # the ratio, 15.3
    assert "DeepStateMap" in page.dom and "geoBoundaries" in page.dom
    drawn = len(re.findall(r'<path[^>]+class="leaflet-interactive"', page.dom))
    assert (
        drawn >= 50
    )  # regions, control, transfers, lines and settlement markers were drawn
    shot = SHOTS / "alaska.png"
    assert shot.stat().st_size > 50_000


def test_control_map_with_grey_zone(pages):
    files, _ = pages
    page = open_page(files["control"], screenshot=SHOTS / "control-2025-08-03.png")
    assert page.errors == []
    labels = _labels(page.dom)
    assert any(lbl.startswith("Grey zone") for lbl in labels)
    assert "Contact line" in " ".join(labels)


def test_alaska_zone_map_shows_flows_ratios_and_zone_edges(pages):
    from territory.accounting import LINE_AFTER_DEFINITION, RATIO_DEFINITIONS

    files, _ = pages
    page = open_page(files["alaska_zone"], screenshot=SHOTS / "alaska-zone.png")
    assert page.errors == []
    labels = _labels(page.dom)
    for expected in (
        "Demilitarised zones",
        "Contact line before",
        "Contact line after: direct contact",
        "10-km zone: Ukrainian edge after",
        "10-km zone: Russian edge after",
    ):
        assert any(label.startswith(expected) for label in labels), (expected, labels)
    start = page.dom.index('id="territory-headline"')
    headline = html.unescape(re.sub(r"<[^>]+>", " ", page.dom[start:]))
    headline = re.sub(r"\s+", " ", headline)
    for text in (
        "Ukraine cedes to Russia",
        "Russia cedes to Ukraine",
        "Ukraine gives to demilitarised zones",
        "Russia gives to demilitarised zones",
        "cession 15.",
        *RATIO_DEFINITIONS.values(),
        "after: 10-km zone, Ukrainian edge",
        "after: 10-km zone, Russian edge",
        LINE_AFTER_DEFINITION,
    ):
        assert text in headline, text
    assert "receives nothing" not in headline
    assert "Zone edge after, Ukrainian side" in page.dom  # the legend


#: Injected into a copy of the compare page: choose scenario N in the layer
#: control, then record the dates of every control feature drawn and the
#: scenario the layer control shows as chosen.
SWITCH = """<script>
window.addEventListener("load", function () {
  document.querySelectorAll(".leaflet-control-layers-base input")[%d].click();
  var map = Object.values(window).find(function (v) { return v instanceof L.Map; });
  var dates = {};
  map.eachLayer(function (layer) {
    var p = layer.feature && layer.feature.properties;
    if (p && p.as_of) dates[p.as_of] = 1;
  });
  document.body.setAttribute("data-shown-dates", Object.keys(dates).sort().join(","));
  var checked = document.querySelector(".leaflet-control-layers-base input:checked");
  document.body.setAttribute("data-checked", checked.parentNode.textContent.trim());
});
</script>"""


def test_compare_map_switches_scenarios_each_on_its_own_date(pages, tmp_path):
    files, evs = pages
    assert len({ev.control.as_of for ev in evs}) == 3  # three dates
    page = open_page(files["compare"], screenshot=SHOTS / "compare.png")
    assert page.errors == []
    radios = re.findall(
        r'type="radio"[^>]*>\s*<span>\s*Scenario: ([^<]*)</span>', page.dom
    )
    assert [html.unescape(r).strip() for r in radios] == [
        f"{ev.scenario.title} (as of {ev.control.as_of})" for ev in evs
    ]
    source = files["compare"].read_text(encoding="utf-8")
    for i, ev in enumerate(evs):
        switched = tmp_path / f"compare-{i}.html"
        switched.write_text(source.replace("</body>", SWITCH % i + "</body>", 1))
        shown = open_page(switched, screenshot=SHOTS / f"compare-{i}.png")
        assert shown.errors == []
        (dates,) = re.findall(r'data-shown-dates="([^"]*)"', shown.dom)
        assert dates == ev.control.as_of.isoformat(), (ev.scenario.title, dates)
        (checked,) = re.findall(r'data-checked="([^"]*)"', shown.dom)
        assert html.unescape(checked) == f"Scenario: {html.unescape(radios[i]).strip()}"


def test_network_is_really_off(pages):
    # The CDN variant cannot load Leaflet here: proof that the network is off,
    # and that the checks above would catch a page that needs it.
    files, _ = pages
    page = open_page(files["alaska_cdn"])
    assert any("L is not defined" in e for e in page.errors)


def test_console_errors_are_caught(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>throw new Error('boom')</script></body></html>")
    assert any("boom" in e for e in open_page(bad).errors)


#: Template and markup in every text of a scenario: must show as typed.
EVIL = (
    "Swap {{ 5*5 }} {% if 1 %}yes{% endif %} {# </script><img src=x onerror=alert(1)>"
)


def test_scenario_text_shows_as_text(record, tmp_path):
    from territory.accounting import evaluate
    from territory.maps import render_compare, render_scenario, save_map
    from territory.scenario import parse_scenario, read_scenario

    doc = {
        "scenario": {
            "title": EVIL,
            "as_of": "2025-08-15",
            "source": f"source {EVIL}",
            "description": f"description {EVIL}",
            "citation": f"citation {EVIL}",
        },
        "transfers": [
            {
                "name": f"Donbas {EVIL}",
                "from": "UA",
                "to": "RU",
                "claim": f"claim {EVIL}",
                "select": {"regions": ["Donetsk"]},
            }
        ],
    }
    ev = evaluate(parse_scenario(doc), record.control("2025-08-15"))
    scenario_page, compare_page = tmp_path / "evil.html", tmp_path / "compare.html"
    save_map(render_scenario(ev), scenario_page)
    alaska = read_scenario("alaska-2025")
    save_map(
        render_compare([ev, evaluate(alaska, record.control(alaska.as_of))]),
        compare_page,
    )
    page = open_page(scenario_page, screenshot=SHOTS / "text-is-data.png")
    assert page.errors == []
    # the serialised DOM holds the text as text: braces as typed, markup escaped
    shown = html.escape(EVIL, quote=False)
    assert "{{ 5*5 }}" in shown
    for text in (shown, f"source {shown}", f"description {shown}", f"citation {shown}"):
        assert text in page.dom, text
    assert f"<title>{shown}</title>" in page.dom
    assert "Swap 25" not in page.dom  # what the template would have made of it
    assert not re.search(r"<img[^>]*src=\"?x", page.dom)
    radios = open_page(compare_page).dom
    labels = re.findall(
        r'type="radio"[^>]*>\s*<span>\s*Scenario: ([^<]*)</span>', radios
    )
    assert [html.unescape(label).strip() for label in labels] == [
        EVIL.strip(),
        alaska.title,
    ]
