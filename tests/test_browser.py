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
        "witkoff": out / "witkoff.html",
    }
    save_map(render_scenario(evs[0]), files["alaska"])
    witkoff = read_scenario("witkoff-2025-08-08")
    evs.append(evaluate(witkoff, record.control(witkoff.as_of)))  # Donbas only
    save_map(render_scenario(evs[3]), files["witkoff"])
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
    save_map(render_compare(evs[:3]), files["compare"])
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
        "Settlements of 10,000+ in transfers (",
    ):
        assert any(label.startswith(expected) for label in labels), (expected, labels)
    assert 'id="territory-legend"' in page.dom
    assert "Areas in km²" in page.dom
    assert 'id="territory-headline"' in page.dom
    assert "15." in page.dom
    assert "DeepStateMap" in page.dom
    assert "geoBoundaries" in page.dom
    drawn = len(re.findall(r'<path[^>]+class="[^"]*leaflet-interactive', page.dom))
    # land, 27 regions, control, 2 transfers, 2 lines and 11 settlement markers
    assert drawn >= 40
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


#: Injected into a copy of a page: on load, record the map's bounds, the
#: legend's rows against the layers on the map, the boxes' places, the
#: settlement markers and the gaps between table cells (headline unfolded);
#: then switch every layer on and press "Whole country", and record again.
PROBE = """<script>
window.addEventListener("load", function () {
  var map = Object.values(window).find(function (v) { return v instanceof L.Map; });
  var out = {};
  function bounds() {
    var b = map.getBounds();
    return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()];
  }
  function legend() {
    var on = {};
    map.eachLayer(function (l) {
      if (l.options && l.options.territoryKey) on[l.options.territoryKey] = 1;
    });
    var rows = Array.from(document.querySelectorAll("#territory-legend [data-layers]"));
    return {on: Object.keys(on).sort(), rows: rows.map(function (r) {
      return [r.textContent.trim(), r.getAttribute("data-layers").split(" "),
              getComputedStyle(r).display !== "none"];
    })};
  }
  function boxes() {
    var found = {};
    ["#territory-title", "#territory-headline", "#territory-legend",
     "#territory-attribution", ".leaflet-control-layers", ".leaflet-control-zoom",
     ".territory-views", ".leaflet-control-scale", ".leaflet-control-attribution"
    ].forEach(function (s) {
      var e = document.querySelector(s);
      if (!e) return;
      var r = e.getBoundingClientRect();
      if (r.width > 0) found[s] = [r.left, r.top, r.right, r.bottom];
    });
    return found;
  }
  function text(cell) {
    var range = document.createRange();
    range.selectNodeContents(cell);
    var r = range.getBoundingClientRect();
    return r.width > 0 ? r : null;
  }
  out.initial = bounds();
  out.legend = legend();
  out.boxes = boxes();
  out.places = document.querySelectorAll("path.territory-place").length;
  var details = document.querySelector("#territory-headline details");
  if (details) details.open = true;
  out.boxesOpen = boxes();
  out.gaps = [];
  document.querySelectorAll("#territory-headline tr").forEach(function (tr) {
    var cells = Array.from(tr.children);
    for (var i = 1; i < cells.length; i++) {
      var a = text(cells[i - 1]), b = text(cells[i]);
      if (a && b) out.gaps.push([cells[i - 1].textContent, cells[i].textContent, b.left - a.right]);
    }
  });
  document.querySelectorAll(".leaflet-control-layers-overlays input:not(:checked)")
    .forEach(function (i) { i.click(); });
  out.legendAll = legend();
  var button = document.querySelector(".territory-view-country");
  if (button) button.click();
  setTimeout(function () {
    out.country = bounds();
    document.body.setAttribute("data-probe", JSON.stringify(out));
  }, 2000);
});
</script>"""


def _probe(path, tmp_path):
    """Open a copy of the page with `PROBE` and return what it recorded."""
    import json

    probed = tmp_path / f"probe-{path.name}"
    source = path.read_text(encoding="utf-8")
    probed.write_text(source.replace("</body>", PROBE + "</body>", 1), encoding="utf-8")
    page = open_page(probed)
    assert page.errors == []
    (raw,) = re.findall(r'data-probe="([^"]*)"', page.dom)
    return json.loads(html.unescape(raw))


def _contains(outer, inner, tol=0.0):
    """Whether bounds (south, west, north, east) `outer` hold `inner`."""
    s, w, n, e = outer
    s2, w2, n2, e2 = inner
    return s <= s2 + tol and w <= w2 + tol and n >= n2 - tol and e >= e2 - tol


def _overlaps(boxes):
    """The pairs of boxes (left, top, right, bottom) that overlap."""
    names = sorted(boxes)
    return [
        (a, b)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if boxes[a][0] < boxes[b][2] - 0.5
        and boxes[b][0] < boxes[a][2] - 0.5
        and boxes[a][1] < boxes[b][3] - 0.5
        and boxes[b][1] < boxes[a][3] - 0.5
    ]


def _legend_is_the_layers(legend):
    """Every row shown stands for a layer on the map, and every such layer has a row shown."""
    on = set(legend["on"])
    assert on, "no keyed layer on the map"
    for label, keys, shown in legend["rows"]:
        assert shown == bool(on & set(keys)), (label, keys, shown, sorted(on))
    assert on <= {k for _, keys, shown in legend["rows"] if shown for k in keys}


def test_donbas_scenario_opens_on_its_transfers_not_the_country(pages, tmp_path):
    files, evs = pages
    ev = evs[3]
    assert {m.target for m in ev.moves} == {"RU"}  # Donetsk for a ceasefire
    open_page(files["witkoff"], screenshot=SHOTS / "witkoff.png")
    probe = _probe(files["witkoff"], tmp_path)
    west, south, east, north = _parts_bounds(ev)
    cw, cs, ce, cn = ev.control.partition.country["land"].bounds
    initial = probe["initial"]
    assert _contains(initial, (south, west, north, east))
    # smaller than the country: a fraction of its width, less than its height
    assert initial[3] - initial[1] < 0.6 * (ce - cw)
    assert initial[2] - initial[0] < cn - cs
    # "Whole country" shows all of it (the same check that the view fails above)
    assert _contains(probe["country"], (cs, cw, cn, ce), tol=0.05)
    assert not _contains(initial, (cs, cw, cn, ce), tol=0.05)


def test_scenario_page_boxes_legend_and_settlements(pages, tmp_path):
    files, _ = pages
    probe = _probe(files["alaska"], tmp_path)
    assert _overlaps(probe["boxes"]) == []
    assert _overlaps(probe["boxesOpen"]) == []  # the headline unfolded scrolls
    _legend_is_the_layers(probe["legend"])
    _legend_is_the_layers(probe["legendAll"])  # every layer switched on
    labels = {label for label, _, shown in probe["legend"]["rows"] if shown}
    assert not [lbl for lbl in labels if lbl.startswith("Removed from the land")]
    shown_all = {label for label, _, shown in probe["legendAll"]["rows"] if shown}
    assert any(lbl.startswith("Removed from the land") for lbl in shown_all)
    # the headline's columns never run together ("gives km²receives km²")
    assert probe["gaps"], probe
    assert min(g for _, _, g in probe["gaps"]) >= 4, probe["gaps"]
    # settlement markers: those of 10,000+ only, as the layer's name says
    source = files["alaska"].read_text(encoding="utf-8")
    (shown, total) = re.findall(
        r"Settlements of 10,000\+ in transfers \((\d+) of (\d+)\)", source
    )[0]
    assert probe["places"] == int(shown) < int(total)


def test_control_page_opens_on_the_whole_country(pages, tmp_path):
    files, evs = pages
    probe = _probe(files["control"], tmp_path)
    cw, cs, ce, cn = evs[0].control.partition.country["land"].bounds
    assert _contains(probe["initial"], (cs, cw, cn, ce), tol=0.05)
    assert ".territory-views" not in probe["boxes"]  # no view buttons
    assert _overlaps(probe["boxes"]) == []
    _legend_is_the_layers(probe["legend"])


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
  var rows = Array.from(document.querySelectorAll("#territory-legend [data-layers]"));
  document.body.setAttribute("data-legend", rows.filter(function (r) {
    return getComputedStyle(r).display !== "none";
  }).map(function (r) { return r.textContent.trim(); }).join("|"));
});
</script>"""


def test_compare_map_switches_scenarios_each_on_its_own_date(pages, tmp_path):
    files, evs = pages
    evs = evs[:3]
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
        # the legend lists what this scenario draws, on its own date
        (legend,) = re.findall(r'data-legend="([^"]*)"', shown.dom)
        rows = html.unescape(legend).split("|")
        held = [r for r in rows if r.startswith("Russian-held")]
        assert held, rows
        assert all(f", {ev.control.as_of} (" in r for r in held), rows
        keys = {_direction_key(m) for m in ev.moves if m.kind == "transfer"}
        moves = [r for r in rows if r.startswith("Transfers")]
        assert len(moves) == len(keys), (rows, keys)
        assert not [r for r in rows if "Contact line" in r or "Settlement" in r]
    probe = _probe(files["compare"], tmp_path)
    assert _overlaps(probe["boxes"]) == []
    _legend_is_the_layers(probe["legend"])
    assert probe["gaps"], probe
    assert min(g for _, _, g in probe["gaps"]) >= 4, probe["gaps"]
    # it opens on every scenario's moves
    for ev in evs:
        west, south, east, north = _parts_bounds(ev)
        assert _contains(probe["initial"], (south, west, north, east))


def _direction_key(move):
    """A transfer's layer: its direction, any side's land to a zone being one."""
    return "DMZ" if move.target == "DMZ" else (move.source, move.target)


def _parts_bounds(ev):
    """The bounds of an evaluation's moves' parts of at least 1 km² (what the view holds)."""
    import shapely

    from territory.geodesy import area_km2
    from territory.maps.figures import FOCUS_MIN_PART_KM2

    parts = [
        p
        for m in ev.moves
        for p in shapely.get_parts(m.geometry)
        if area_km2(p) >= FOCUS_MIN_PART_KM2
    ]
    return shapely.union_all(parts).bounds


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
