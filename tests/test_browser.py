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
    from territory.accounting import evaluate
    from territory.maps import render_compare, render_control, render_scenario, save_map
    from territory.scenario import read_scenario

    out = tmp_path_factory.mktemp("maps")
    evs = []
    for name in ("alaska-2025", "european-2025-08-09", "us-28-point-2025-11"):
        sc = read_scenario(name)
        evs.append(evaluate(sc, record.control(sc.as_of)))
    files = {
        "alaska": out / "alaska.html",
        "control": out / "control.html",
        "compare": out / "compare.html",
        "alaska_cdn": out / "alaska_cdn.html",
    }
    save_map(render_scenario(evs[0]), files["alaska"])
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


def test_compare_map_switches_scenarios(pages):
    files, evs = pages
    page = open_page(files["compare"], screenshot=SHOTS / "compare.png")
    assert page.errors == []
    radios = re.findall(
        r'type="radio"[^>]*>\s*<span>\s*Scenario: ([^<]*)</span>', page.dom
    )
    assert [html.unescape(r) for r in radios] == [ev.scenario.title for ev in evs]


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
