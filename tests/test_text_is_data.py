"""Text is data: scenario, region and place text shows literally and never runs.

folium/branca compile templates, and ``MacroElement.render`` compiles each
rendered element a second time, so a title such as ``{{ 5*5 }}`` once rendered
as 25 and a ``lipsum.__globals__.os`` payload ran Python.  Every text field of a
scenario, every region name and every place name is put here on every page kind
(control, scenario, comparison, the CLI's ``map`` and ``evaluate --map``) and in
the notebook reprs, and must show literally (braces included), HTML-escaped,
with no side effect and no template ever compiled from it.
"""

from __future__ import annotations

import html
import json
import re
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territory import tables
from territory.accounting import evaluate
from territory.control import Control
from territory.maps import (
    esc,
    render_compare,
    render_control,
    render_scenario,
    to_html,
)
from territory.regions import Region, RegionTable
from territory.scenario import parse_scenario
from tests import scenario_world
from tests.pages import embedded_geojson
from tests.shapes import LAT0, LON0

#: Would create this directory (relative to the working directory) if run.
PWNED = "pwned-by-a-template"

PAYLOADS = [
    pytest.param("{{ 5*5 }}", id="expression"),
    pytest.param('{{ "zq" ~ "xj" }}', id="concatenation"),
    pytest.param("{{ lipsum.__globals__.os.getuid() }}", id="getuid"),
    pytest.param(f'{{{{ lipsum.__globals__.os.makedirs("{PWNED}") }}}}', id="makedirs"),
    pytest.param("{% for x in range(3) %}x{% endfor %}", id="for-loop"),
    pytest.param("{% if %}", id="broken-if"),
    pytest.param("Swap {{ }}", id="empty-expression"),
    pytest.param("{# unclosed comment", id="comment"),
    pytest.param("{{ '}}' }} }}{{", id="stray-delimiters"),
    pytest.param("</script><img src=x onerror=alert(1)>", id="html"),
    pytest.param("${alert(1)} `tick`", id="js-template-literal"),
    pytest.param("\"double\" 'single' &amp; &lt;", id="quotes-entities"),
    pytest.param("back\\slash \\n \\u0041 \\", id="backslashes"),
    pytest.param("Київ – Zaporizhzhia’s “front” ünïcødé 🇺🇦", id="non-ascii"),
]

#: What an evaluated payload would leave on the page (never a literal part of one).
EVALUATED = {"zqxj", "xxx"}


# --------------------------------------------------------------------------- the world


def _world(region_names: dict[str, str]) -> tuple[RegionTable, Control]:
    """The toy country of `scenario_world`, with these region names."""
    base = scenario_world.control(pocket=True)
    regions = base.regions.copy()
    regions["name"] = [region_names[rid] for rid in regions.index]
    table = RegionTable(
        [
            Region(rid, name, "oblast", name, scenario_world.OFFICIAL_AREA_KM2, ())
            for rid, name in region_names.items()
        ]
    )
    return table, Control(base.as_of, base.snapshot, base.note, regions, base.partition)


def _scenario_doc(text: dict[str, str]) -> dict:
    """A scenario document whose every text field is `text[field]`."""
    return {
        "scenario": {
            "title": text["title"],
            "as_of": "2025-01-01",
            "source": text["source"],
            "citation": text["citation"],
            "description": text["description"],
        },
        "transfers": [
            {
                "name": text["transfer_a"],
                "from": "UA",
                "to": "RU",
                "claim": text["claim_a"],
                "note": text["note_a"],
                "select": {"regions": ["XB"]},
            },
            {
                "name": text["transfer_b"],
                "from": "RU",
                "to": "UA",
                "claim": text["claim_b"],
                "note": text["note_b"],
                "select": {"regions": ["XA"], "connected": False},
            },
        ],
        "zones": [
            {
                "name": text["zone"],
                "depth_km": 5,
                "withdraw": ["UA", "RU"],
                "claim": text["zone_claim"],
                "note": text["zone_note"],
            }
        ],
    }


SCENARIO_FIELDS = (
    "title",
    "source",
    "citation",
    "description",
    "transfer_a",
    "claim_a",
    "note_a",
    "transfer_b",
    "claim_b",
    "note_b",
    "zone",
    "zone_claim",
    "zone_note",
)
REGION_FIELDS = ("XA", "XB", "XC")


def _texts(payload: str) -> dict[str, str]:
    return {f: f"{f} {payload}" for f in (*SCENARIO_FIELDS, *REGION_FIELDS)}


def _places(payload: str) -> list[dict]:
    """Settlements of the toy world (inside both transfers), named with the payload."""
    return [
        {
            "name": f"place-b {payload}",
            "population": 5000,
            "lon": LON0 + 1.2,
            "lat": LAT0 + 0.5,
        },
        {
            "name": f"place-a {payload}",
            "population": 700,
            "lon": LON0 + 0.15,
            "lat": LAT0 + 0.15,
        },
    ]


def _evaluate(text: dict[str, str], *, people: bool = True):
    table, control = _world({rid: text[rid] for rid in REGION_FIELDS})
    sc = parse_scenario(_scenario_doc(text), table=table)
    return evaluate(sc, control, people=people)


# --------------------------------------------------------------------------- checks

_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def shown(page: str) -> str:
    """What a reader can be shown: the page's HTML text and its script strings, unescaped."""
    parts = [html.unescape(page)]
    for m in _JSON_STRING.finditer(page):
        try:
            value = json.loads(m.group())
        except ValueError:
            continue
        if isinstance(value, str):
            parts.append(html.unescape(value))
    return "\n".join(parts)


def assert_literal(page: str, text: str) -> None:
    """`text` shows literally, and never raw where it would be markup or a template."""
    assert text in shown(page), text
    if any(ch in text for ch in "{}<>&\"'"):
        assert text not in page, f"unescaped: {text!r}"


@pytest.fixture
def compiled(monkeypatch):
    """Every template source jinja2 compiles while the test runs."""
    import jinja2

    sources: list[str] = []
    original = jinja2.Environment.compile

    def spy(self, source, *args, **kwargs):
        if isinstance(source, str):
            sources.append(source)
        return original(self, source, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", spy)
    return sources


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """Run in an empty directory, where a payload that ran would leave `PWNED`."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert not (tmp_path / PWNED).exists(), "a template payload ran"


def _check_page(page: str, texts, sources: list[str], payload: str) -> None:
    assert not Path(PWNED).exists(), "a template payload ran"
    for text in texts:
        assert_literal(page, text)
    for marker in EVALUATED - {m for m in EVALUATED if m in payload}:
        assert marker not in page
    if any(d in payload for d in ("{{", "{%", "{#")):
        assert sources, "the spy saw no compiling: the check would be blind"
        assert not [s for s in sources if payload in s], "text became template source"


# --------------------------------------------------------------------------- pages


def test_spy_sees_text_compiled_as_a_template(compiled):
    # The check is not blind: folium.Element compiles its text, and the spy sees it.
    import folium

    folium.Element("{{ 5*5 }}")
    assert any("{{ 5*5 }}" in s for s in compiled)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_scenario_page_shows_every_text_literally(
    payload, compiled, sandbox, monkeypatch
):
    monkeypatch.setattr("territory.people.settlements", lambda: _places(payload))
    text = _texts(payload)
    ev = _evaluate(text)
    page = to_html(render_scenario(ev), self_contained=False)
    places = [p["name"] for p in _places(payload)]
    _check_page(page, [*text.values(), *places], compiled, payload)
    # the page's own boxes carry the escaped text itself, never compiled
    assert f"<title>{esc(text['title'])}</title>" in page
    for field in ("title", "source", "description", "citation"):
        assert esc(text[field]) in page, field
    # the embedded GeoJSON holds each move's text, escaped once
    props = {
        html.unescape(f["properties"]["name"]): f["properties"]
        for fc in embedded_geojson(page)
        for f in fc["features"]
        if "claim" in f["properties"]
    }
    zone_sides = [f"{text['zone']} ({side} side)" for side in ("Ukrainian", "Russian")]
    for names, claim, note in (
        ([text["transfer_a"]], "claim_a", "note_a"),
        ([text["transfer_b"]], "claim_b", "note_b"),
        (zone_sides, "zone_claim", "zone_note"),
    ):
        for name in names:
            assert html.unescape(props[name]["claim"]) == text[claim]
            assert html.unescape(props[name]["note"]) == text[note]
    assert text["XB"] in html.unescape(props[text["transfer_a"]]["regions"])
    assert text["XB"] in html.unescape(props[text["transfer_a"]]["rule"])


@pytest.mark.parametrize("payload", PAYLOADS)
def test_control_page_shows_region_names_literally(payload, compiled, sandbox):
    text = _texts(payload)
    _, control = _world({rid: text[rid] for rid in REGION_FIELDS})
    page = to_html(render_control(control), self_contained=False)
    _check_page(page, [text[r] for r in REGION_FIELDS], compiled, payload)
    # the labels on the map (DivIcons) hold the escaped name
    labels = re.findall(r'"html": ("(?:[^"\\]|\\.)*")', page)
    assert {html.unescape(json.loads(s)) for s in labels} >= {
        f'<div class="territory-label">{text[r]}</div>' for r in REGION_FIELDS
    }


@pytest.mark.parametrize("payload", PAYLOADS)
def test_compare_page_shows_every_text_literally(payload, compiled, sandbox):
    text = _texts(payload)
    ev = _evaluate(text, people=False)
    other = replace(ev, scenario=replace(ev.scenario, title=f"other {payload}"))
    page = to_html(render_compare([ev, other]), self_contained=False)
    shows = [
        t for f, t in text.items() if f not in ("source", "citation", "description")
    ]
    _check_page(page, [*shows, f"other {payload}"], compiled, payload)
    # one switchable layer per scenario, named after its title
    overlays = re.findall(r'("(?:[^"\\]|\\.)*") : feature_group_', page)
    names = {html.unescape(json.loads(s)) for s in overlays}
    assert {f"Scenario: {text['title']}", f"Scenario: other {payload}"} <= names
    assert f"<td>{esc(text['title'])}</td>" in page  # the comparison table


@pytest.mark.parametrize("payload", PAYLOADS)
def test_notebook_reprs_show_text_literally(payload, compiled, sandbox):
    text = _texts(payload)
    ev = _evaluate(text, people=False)
    for page, fields in (
        (tables.evaluation_html(ev), ("title", "transfer_a", "transfer_b", "zone")),
        (
            tables.control_html(ev.control),
            ("XB", "XC"),
        ),  # regions with Russian-held land
        (
            ev.scenario._repr_html_(),
            ("title", "transfer_a", "transfer_b", "zone", "XA", "XB"),
        ),
    ):
        for field in fields:
            assert text[field] in html.unescape(page), field
            if any(ch in payload for ch in "<>&"):
                assert text[field] not in page, field
        assert "<img" not in page
        assert "<script" not in page


def test_escaped_text_reads_back_exactly():
    # esc is the one way text reaches a page: HTML-escaped, braces as references
    nasty = "{{ 5*5 }} {% if %} {# </script>\"'&\\ Київ"
    out = esc(nasty)
    assert html.unescape(out) == nasty
    assert not re.search(r"[{}<>\"']", out)


#: Any text that a UTF-8 file can hold (no lone surrogates: the scenario parser
#: refuses them), with template and markup characters made common.
ANY_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("{}%#<>&\"'\\$` x"),
        st.characters(exclude_categories=["Cs"]),
    ),
    max_size=40,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(title=ANY_TEXT, name=ANY_TEXT, region=ANY_TEXT)
def test_any_text_renders_literally(title, name, region, compiled):
    text = {f: f"{f} x" for f in (*SCENARIO_FIELDS, *REGION_FIELDS)}
    text.update(title=f"Tq7 {title}", transfer_a=f"Nq7 {name}", XB=f"Rq7 {region}")
    compiled.clear()
    ev = _evaluate(text, people=False)
    page = to_html(render_scenario(ev), self_contained=False)
    assert f"<b>{esc(ev.scenario.title)}</b>" in page  # the title box
    feats = [f for fc in embedded_geojson(page) for f in fc["features"]]
    names = {html.unescape(f["properties"].get("name", "")) for f in feats}
    assert ev.moves[0].name in names  # the transfer, as parsed (names are stripped)
    assert text["XB"] in names  # the region's boundary
    control_page = to_html(render_control(ev.control), self_contained=False)
    assert text["XB"] in shown(control_page)
    # text with braces never reaches a compiled template source
    for raw in (ev.scenario.title, ev.moves[0].name, text["XB"]):
        if re.search(r"[{}]", raw):
            assert not [s for s in compiled if raw in s], raw


# --------------------------------------------------------------------------- CLI


def _toml(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string here


def _real_scenario_file(path, payload: str) -> dict[str, str]:
    """Write a scenario for the real record whose every text field carries `payload`."""
    text = _texts(payload)
    doc = _scenario_doc(text)
    doc["scenario"]["as_of"] = "2025-08-15"
    doc["transfers"][0]["select"] = {"regions": ["Donetsk"]}
    doc["transfers"][1]["select"] = {"regions": ["Sumy"], "connected": False}
    lines = ["[scenario]"]
    lines += [f"{k} = {_toml(v)}" for k, v in doc["scenario"].items()]
    for kind in ("transfers", "zones"):
        for item in doc[kind]:
            lines.append(f"[[{kind}]]")
            lines += [f"{k} = {_toml(v)}" for k, v in item.items()]
    source = "\n".join(lines) + "\n"
    assert tomllib.loads(source) == doc  # the file says exactly what we meant
    path.write_text(source, encoding="utf-8")
    return text


CLI_PAYLOADS = [
    pytest.param(f'{{{{ lipsum.__globals__.os.makedirs("{PWNED}") }}}}', id="makedirs"),
    pytest.param("Swap {{ }} {# {% for x in range(3) %}x{% endfor %}", id="templates"),
    pytest.param("</script><img src=x onerror=alert(1)> \"q\" 'q' \\ Київ", id="html"),
]


@pytest.fixture(scope="module")
def cache(record, tmp_path_factory) -> Path:
    """The real record, read through a cache of our own (the real one is never written)."""
    from tests.support import overlay_cache

    return overlay_cache(tmp_path_factory.mktemp("cache") / "c", record.cache.root)


@pytest.mark.data
@pytest.mark.parametrize("payload", CLI_PAYLOADS)
def test_cli_pages_show_text_literally(runner, cache, sandbox, payload):
    from territory.cli.main import cli

    def run(*args: str):
        return runner.invoke(cli, [*args, "--cache", str(cache)])

    text = _real_scenario_file(sandbox / "evil.toml", payload)
    shows = [t for f, t in text.items() if f not in REGION_FIELDS]
    runs = {
        "map.html": ["map", "evil.toml", "-o", "map.html"],
        "evaluate.html": ["evaluate", "evil.toml", "--map", "evaluate.html"],
        "compare.html": [
            "map",
            "--compare",
            "evil.toml",
            "--compare",
            "alaska-2025",
            "-o",
            "compare.html",
        ],
    }
    for out, args in runs.items():
        result = run(*args)
        assert result.exit_code == 0, result.output
        page = (sandbox / out).read_text(encoding="utf-8")
        if out == "compare.html":
            page_shows = [
                t
                for f, t in text.items()
                if f in SCENARIO_FIELDS
                and f not in ("source", "citation", "description")
            ]
        else:
            page_shows = shows
        for t in page_shows:
            assert_literal(page, t)
        assert "Traceback" not in result.output
    # the text outputs print it as plain text
    result = run("evaluate", "evil.toml")
    assert result.exit_code == 0
    assert text["title"] in result.stdout
    doc = json.loads(run("evaluate", "evil.toml", "--format", "json").stdout)
    assert doc["title"] == text["title"]
    assert doc["citation"] == text["citation"]


# --------------------------------------------------------------------------- CSV


@pytest.mark.parametrize(
    "formula",
    ['=HYPERLINK("http://example.invalid","x")', "+1+1", "-2+3", "@SUM(1)", "\t=1"],
)
def test_csv_cells_never_run_as_spreadsheet_formulas(formula):
    text = {f: f"{f} plain" for f in (*SCENARIO_FIELDS, *REGION_FIELDS)}
    text["transfer_a"] = formula
    text["XB"] = formula  # a region name too
    ev = _evaluate(text, people=False)
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(tables.evaluation_csv(ev))))
    names = {r["name"] for r in rows} | {r["region"] for r in rows}
    assert "'" + formula in names  # shown as text, the apostrophe keeps it inert
    assert formula not in names
    for r in rows:  # numbers are numbers, never prefixed
        float(r["area_km2"])


# --------------------------------------------------------------------------- the templates


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_page_templates_escape_every_value(payload):
    """The page's boxes come from the package's templates; every value is data.

    Each box is rendered with the payload in every text it takes: it shows
    escaped (`esc`: quotes too, braces as character references), and no
    box holds a brace of its own, so nothing in it can form a delimiter.
    """
    from territory.maps import page

    legend = page.Legend()
    for kind in ("fill", "line", "dash", "thin", "circle", "zone"):
        legend.add(page.Swatch("#123456", payload, kind=kind), show=kind != "zone")
    when = {"as_of": payload, "snapshot": payload, "version": payload, "note": payload}
    boxes = {
        "title": page.title_box(payload, payload, about=payload, citation=payload),
        "legend": page.render("legend.html", rows=legend.entries(), controls=[when]),
        "legend, several dates": page.render(
            "legend.html", rows=legend.entries(), controls=[when, when]
        ),
        "headline": page.render("headline.html", words=payload, tables=payload),
        "comparison": page.render(
            "compare.html",
            table=payload,
            ratios=[(payload, payload)],
            omitted=[payload],
            zones=False,
            earlier=True,
        ),
        "panels": page.panels(payload, payload),
    }
    for name, box in boxes.items():
        assert esc(payload) in box, name
        assert "{" not in box, name
        assert "}" not in box, name
        if set(payload) & set("<>&\"'{}"):
            assert payload not in box, name
    head = page.head(payload)
    assert f"<title>{esc(payload)}</title>" in head


def test_the_page_templates_are_package_files_that_autoescape():
    from territory.maps import page

    env = page.environment()
    assert env.autoescape is True
    names = set(env.list_templates())
    assert {
        "head.html",
        "title.html",
        "headline.html",
        "legend.html",
        "compare.html",
        "attribution.html",
        "panels.html",
        "view.js",
    } <= names
    # a value is escaped even where a template forgets: autoescape and `esc` both
    assert env.from_string("{{ x }}").render(x="<b>{{") == "&lt;b&gt;&#123;&#123;"
