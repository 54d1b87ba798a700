"""Property tests: any input becomes a sound Scenario or one of the project's errors.

A wrong number with exit 0 is the worst failure, a traceback the next worst;
so whatever text, bytes or document a scenario reader is given, it returns a
`Scenario` whose values are all sound, or raises `ScenarioError` (including
`ScenarioFormatError`) or `DataNotFoundError` with a one-line message.

Inputs start from valid scenarios and are then broken in a few places (a
value swapped for junk, a key added or dropped, a line or a byte changed), so
that both outcomes are exercised: a share of the examples is accepted and
checked for soundness, the rest must fail cleanly.
"""

import copy
import datetime as dt
import json
import math
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territory.errors import DataNotFoundError, ScenarioError
from territory.scenario import (
    MAX_EXCLUDE_DEPTH,
    PARTIES,
    Rule,
    Scenario,
    Transfer,
    Zone,
    parse_scenario,
    read_scenario,
)
from tests import scenario_world

EXPECTED = (ScenarioError, DataNotFoundError)
FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,  # nothing written into the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TABLE = scenario_world.table()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A scenario folder with a polygon file; next to it, files it may not reach."""
    box = (
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        '"geometry":{"type":"Polygon","coordinates":[[[30.2,48.2],[30.4,48.2],[30.4,48.4],[30.2,48.2]]]}}]}'
    )
    root = tmp_path_factory.mktemp("fuzz").resolve()
    path = root / "scenarios"
    path.mkdir()
    (path / "zone.geojson").write_text(box)
    (root / "outside.geojson").write_text(box)
    (path / "link.geojson").symlink_to(root / "outside.geojson")
    return path


# ------------------------------------------------------------------ soundness


def check_sound(sc: Scenario, folder=None) -> None:
    """Every value of an accepted scenario is one the accounting can trust."""
    assert type(sc.as_of) is dt.date
    assert isinstance(sc.title, str)
    assert sc.title.strip()
    assert sc.transfers or sc.zones
    assert type(sc.extra.get("default", False)) is bool
    names = [t.name for t in sc.transfers]
    assert len(set(names)) == len(names)
    for t in sc.transfers:
        assert t.source in ("UA", "RU")
        assert t.target in PARTIES
        assert t.source != t.target
        assert t.sovereignty is None or t.sovereignty in PARTIES
        check_rule(t.rule, 0, folder)
        assert isinstance(t.describe(), str)
    for z in sc.zones:
        assert type(z.depth_km) is float
        assert 0 < z.depth_km <= 200
        assert z.withdraw
        assert set(z.withdraw) <= {"UA", "RU"}
        assert len(set(z.withdraw)) == len(z.withdraw)
        assert z.along == "front"
        assert isinstance(z.describe(), str)


def check_rule(rule: Rule, depth: int, folder=None) -> None:
    assert depth <= MAX_EXCLUDE_DEPTH
    assert type(rule.everything) is bool
    assert rule.connected is None or (type(rule.connected) is bool and rule.regions)
    for km in (rule.within_km_of_front, rule.within_km_of_border):
        assert km is None or (type(km) is float and math.isfinite(km) and km > 0)
    assert set(rule.regions) <= set(scenario_world.NAMES)
    assert len(rule.region_names) == len(rule.regions)
    assert set(rule.border_with) <= {"RU", "BY", "PL", "SK", "HU", "RO", "MD"}
    assert not rule.border_with or rule.within_km_of_border is not None
    assert all(p.is_file() for p in rule.polygons)
    # polygon files never leave the scenario's folder
    assert folder is None or all(p.is_relative_to(folder) for p in rule.polygons)
    assert (
        rule.everything
        or rule.regions
        or rule.within_km_of_front
        or rule.within_km_of_border
        or rule.polygons
        or rule.geometries
    )
    if rule.exclude is not None:
        check_rule(rule.exclude, depth + 1, folder)


def outcome(call, folder=None, doc=None) -> str:
    """Run `call`: check the Scenario, or that the error is ours and one line.

    With `doc`, the document it came from must itself have been sound.
    """
    try:
        sc = call()
    except EXPECTED as err:
        assert "\n" not in str(err), str(err)
        return "refused"
    check_sound(sc, folder)
    if doc is not None:
        check_document(doc, folder)
    return "accepted"


def _km_ok(value, limit=math.inf) -> bool:
    if type(value) not in (int, float):
        return False
    try:
        return math.isfinite(float(value)) and 0 < value <= limit
    except OverflowError:
        return False


def check_document(doc, folder) -> None:
    """An accepted document held only sound values: an oracle written apart.

    It catches what a sound-looking Scenario can hide: a flag read from
    "no", a party compared to itself, a path that left the folder.
    """
    meta = doc["scenario"]
    assert type(meta.get("default", False)) is bool
    as_of = meta["as_of"]
    assert isinstance(as_of, dt.date | str)
    if isinstance(as_of, dt.datetime):
        assert as_of.time() == dt.time()
    for t in doc.get("transfers", []):
        assert str(t["from"]).strip().upper() in ("UA", "RU")
        assert str(t["from"]).strip().upper() != str(t["to"]).strip().upper()
        rule = t["select"]
        while rule is not None:
            for key in ("all", "connected"):
                assert key not in rule or type(rule[key]) is bool
            for key in ("within_km_of_front", "within_km_of_border"):
                assert key not in rule or _km_ok(rule[key])
            assert "border_with" not in rule or "within_km_of_border" in rule
            assert "connected" not in rule or rule.get("regions")
            polygons = rule.get("polygons", [])
            for name in [polygons] if isinstance(polygons, str) else polygons:
                assert not Path(name).is_absolute()
                assert (folder / name).resolve().is_relative_to(folder)
            assert (
                rule.get("all") is True
                or rule.get("regions")
                or rule.get("polygons")
                or rule.get("geometry")
                or "within_km_of_front" in rule
                or "within_km_of_border" in rule
            )
            rule = rule.get("exclude")
    for z in doc.get("zones", []):
        assert _km_ok(z["depth_km"], 200)
        withdraw = z.get("withdraw", ["UA", "RU"])
        withdraw = [withdraw] if isinstance(withdraw, str) else withdraw
        assert len({w.upper() for w in withdraw}) == len(withdraw)


# ------------------------------------------------------------------ valid documents

REGION = st.sampled_from(["Alpha", "XB", "gamma", "Beta oblast"])
#: A triangle in Alpha, on the toy country of tests/scenario_world.py (30°E 48°N).
TRIANGLE = {
    "type": "Polygon",
    "coordinates": [[[30.1, 48.1], [30.3, 48.1], [30.3, 48.3], [30.1, 48.1]]],
}
KM = st.floats(min_value=0.01, max_value=2000) | st.integers(1, 500)


@st.composite
def good_rules(draw, depth=0):
    rule = {}
    kind = draw(
        st.sampled_from(["all", "regions", "front", "border", "polygons", "geometry"])
    )
    if kind == "all":
        rule["all"] = True
    if kind == "regions" or draw(st.booleans()):
        rule["regions"] = draw(st.lists(REGION, min_size=1, max_size=3))
        if draw(st.booleans()):
            rule["connected"] = draw(st.booleans())
    if kind == "front" or draw(st.booleans()):
        rule["within_km_of_front"] = draw(KM)
    if kind == "border":
        rule["within_km_of_border"] = draw(KM)
        if draw(st.booleans()):
            rule["border_with"] = draw(
                st.sampled_from(["RU", "russia", ["BY", "Poland"], ["md", "RO"]])
            )
    if kind == "polygons":
        rule["polygons"] = draw(st.sampled_from(["zone.geojson", ["zone.geojson"]]))
    if kind == "geometry":
        rule["geometry"] = draw(st.sampled_from([TRIANGLE, [TRIANGLE]]))
    if depth < MAX_EXCLUDE_DEPTH and draw(st.integers(0, 3)) == 0:
        rule["exclude"] = draw(good_rules(depth + 1))
    return rule


@st.composite
def good_documents(draw):
    meta = {
        "title": draw(st.sampled_from(["Toy", "A swap"])),
        "as_of": draw(
            st.one_of(
                st.dates(min_value=dt.date(2022, 1, 1), max_value=dt.date(2026, 1, 1)),
                st.just(dt.datetime(2025, 1, 1)),
                st.just("2025-01-01"),
            )
        ),
    }
    if draw(st.booleans()):
        meta["default"] = draw(st.booleans())
    transfers = []
    for i in range(draw(st.integers(0, 3))):
        source = draw(st.sampled_from(["UA", "RU", "ru"]))
        targets = [p for p in PARTIES if p != source.upper()]
        t = {
            "name": f"t{i}",
            "from": source,
            "to": draw(st.sampled_from(targets)),
            "select": draw(good_rules()),
        }
        if draw(st.booleans()):
            t["claim"] = "said so"
        if t["to"] == "DMZ" and draw(st.booleans()):
            t["sovereignty"] = draw(st.sampled_from(["UA", "RU"]))
        transfers.append(t)
    zones = []
    for i in range(draw(st.integers(0 if transfers else 1, 2))):
        z = {
            "name": f"z{i}",
            "depth_km": draw(st.floats(0.5, 200) | st.integers(1, 200)),
        }
        if draw(st.booleans()):
            z["withdraw"] = draw(st.sampled_from(["UA", ["RU"], ["UA", "RU"]]))
        zones.append(z)
    doc = {"scenario": meta}
    if transfers:
        doc["transfers"] = transfers
    if zones:
        doc["zones"] = zones
    return copy.deepcopy(doc)  # sampled values are shared: never break them in place


# ------------------------------------------------------------------ breaking them

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [0, 0.0, -0.0, -5, 201, 1e-300, "10", "no", "", "..", "/etc/passwd"]
    ),
    st.text(max_size=12),
    st.dates(),
    st.datetimes(),
    st.times(),
)
JUNK = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=10,
)
KEYS = st.sampled_from(
    [
        "all", "regions", "connected", "within_km_of_front", "within_km_of_border",
        "border_with", "polygons", "geometry", "exclude", "depth_km", "withdraw",
        "along", "name", "from", "to", "select", "as_of", "default", "transfers",
        "zones", "scenario", "type", "coordinates", "x",
    ]
)  # fmt: skip


NAN, INF = math.nan, math.inf
BAD_KM = [NAN, INF, -INF, 0, 0.0, -0.0, -5, 1e-320, True, "10", [10], 10**400, None]
BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[30, 48], [31, 49], [31, 48], [30, 49], [30, 48]]],
}


def _deep_exclude(levels):
    rule = {"all": True}
    for _ in range(levels):
        rule = {"all": True, "exclude": rule}
    return rule


#: Values that break (or nearly break) each key, tried more often than junk.
BAD = {
    "within_km_of_front": BAD_KM,
    "within_km_of_border": BAD_KM,
    "depth_km": [*BAD_KM, 200.0001, 201],
    "all": ["no", "yes", 1, 0, "true", None, False],
    "connected": ["no", 1, None, True],
    "default": ["no", "yes", 1, None],
    "regions": [[], "Alpah", [1], ["Alpha", None], {}, "Atlantis", ["UA-14"]],
    "border_with": [[], "Rusia", "UA", 5, ["RU", 1], "Ukraine", "ru"],
    "polygons": [
        "../outside.geojson", "link.geojson", "/etc/passwd", "", ".", [],
        "missing.geojson", "../scenarios/zone.geojson", ["zone.geojson", "link.geojson"],
    ],
    "geometry": [
        {"type": "Point", "coordinates": [0, 0]}, BOWTIE, [], "x",
        {"type": "Polygon", "coordinates": [[[0, 0], [NAN, 0], [1, 1], [0, 0]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [5e5, 0], [5e5, 9], [0, 0]]]},
    ],
    "exclude": [{}, "x", _deep_exclude(9), _deep_exclude(7), {"all": False}],
    "select": [{}, {"all": False}, "Alpha", {"exclude": {"all": True}}, []],
    "from": ["DMZ", "NATO", "Russia", 1, "", "UA", "RU"],
    "to": ["NATO", "UA", "RU", "dmz", None],
    "sovereignty": ["NATO", "", 1, "DMZ"],
    "as_of": [
        dt.datetime(2025, 1, 1, 10), dt.time(10), "2025-13-01", 20250101, None,
        dt.datetime(2025, 1, 1, tzinfo=dt.UTC), "2025-01-01T00:00:00", True,
    ],
    "title": ["", "  ", 5, None],
    "name": ["", 5, None, "t0", "z0", " t0 "],
    "withdraw": [[], ["UA", "UA"], "DMZ", 5, ["DMZ"], ["ua", "UA"]],
    "along": ["border", 5, "Front"],
    "transfers": [5, {}, [1], "x", []],
    "zones": [5, {}, [1], "x", []],
    "scenario": [5, [], "x", {}],
    0: [5, "x", {}, None, [], {"name": "t0"}],
}  # fmt: skip


def _bad(key):
    pool = BAD.get(key, BAD[0] if isinstance(key, int) else None)
    if pool is None:
        return JUNK
    return st.one_of(st.sampled_from(pool), st.sampled_from(pool), JUNK)


def _slots(node, out):
    """Every (container, key) in `node`, depth first."""
    for key, value in list(node.items() if isinstance(node, dict) else enumerate(node)):
        out.append((node, key))
        if isinstance(value, dict | list):
            _slots(value, out)
    return out


#: Which tables each key belongs in, to break fields where they matter.
HOME = {
    **dict.fromkeys(
        ["all", "regions", "connected", "within_km_of_front", "within_km_of_border",
         "border_with", "polygons", "geometry", "exclude"],
        ("rule",),
    ),
    **dict.fromkeys(["from", "to", "select", "sovereignty"], ("transfer",)),
    **dict.fromkeys(["depth_km", "withdraw", "along"], ("zone",)),
    **dict.fromkeys(["title", "as_of", "default"], ("meta",)),
    **dict.fromkeys(["transfers", "zones", "scenario"], ("doc",)),
    "name": ("transfer", "zone"),
}  # fmt: skip


def _tables(doc):
    """(kind, table) for every table of a document shaped like a scenario."""
    out = [("doc", doc)]
    if isinstance(doc.get("scenario"), dict):
        out.append(("meta", doc["scenario"]))
    for kind, key in (("transfer", "transfers"), ("zone", "zones")):
        entries = doc.get(key)
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            out.append((kind, entry))
            rule = entry.get("select") if kind == "transfer" else None
            while isinstance(rule, dict):
                out.append(("rule", rule))
                rule = rule.get("exclude")
    return out


def break_document(doc, draw, times):
    """Break `doc` in `times` places.

    Mostly one field where it belongs (set to a bad value from `BAD`, or
    dropped); sometimes any value anywhere replaced by junk, or junk added.
    """
    for _ in range(times):
        if draw(st.integers(0, 3)):
            key = draw(st.sampled_from(sorted(HOME)))
            tables = [t for kind, t in _tables(doc) if kind in HOME[key]]
            if not tables:
                continue
            table = draw(st.sampled_from(tables))
            if key in table and draw(st.integers(0, 3)) == 0:
                del table[key]
            else:
                table[key] = copy.deepcopy(draw(_bad(key)))
            continue
        slots = _slots(doc, [])
        if draw(st.booleans()) or not slots:
            tables = [doc] + [c[k] for c, k in slots if isinstance(c[k], dict)]
            table = draw(st.sampled_from(tables))
            key = draw(KEYS)
            table[key] = copy.deepcopy(draw(_bad(key)))
        else:
            node, key = draw(st.sampled_from(slots))
            node[key] = copy.deepcopy(draw(JUNK))
    return doc


def to_toml(doc) -> str:
    """Write a document as TOML (enough for the shapes above)."""
    lines = []
    for key, value in doc.items():
        if isinstance(value, dict):
            lines.append(f"[{_key(key)}]")
            lines.extend(f"{_key(k)} = {_value(v)}" for k, v in value.items())
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) for v in value)
        ):
            for table in value:
                lines.append(f"[[{_key(key)}]]")
                lines.extend(f"{_key(k)} = {_value(v)}" for k, v in table.items())
        else:
            lines.insert(0, f"{_key(key)} = {_value(value)}")
    return "\n".join(lines) + "\n"


def _key(key) -> str:
    return json.dumps(str(key))


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return (
            "nan"
            if math.isnan(v)
            else ("inf" if v > 0 else "-inf")
            if math.isinf(v)
            else repr(v)
        )
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    if v is None:
        return '""'
    return str(v)


LINES = [
    "[scenario]", "[[transfers]]", "[transfers]", "[[zones]]", "transfers = 5",
    "zones = 5", "as_of = 2025-01-01T10:00:00", "as_of = 10:00:00", 'default = "no"',
    'from = "DMZ"', 'to = "UA"', "select = { within_km_of_front = nan }",
    'select = { all = "no" }', 'select = { polygons = "../../etc/passwd" }',
    'select = { polygons = "../outside.geojson" }', 'select = { polygons = "link.geojson" }',
    'select = { all = true, border_with = ["RU", "XX"] }', "depth_km = inf",
    "depth_km = 1e400", 'withdraw = ["UA", "UA"]', 'along = "border"',
    "x = " + "[" * 600 + "]" * 600,
]  # fmt: skip


@st.composite
def texts(draw):
    """A valid scenario as TOML with some of its lines changed, dropped or added."""
    doc = break_document(draw(good_documents()), draw, draw(st.integers(0, 2)))
    lines = to_toml(doc).splitlines()
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(lines)))
        junk = draw(st.sampled_from(LINES) | st.text(max_size=20))
        action = draw(st.sampled_from(["replace", "insert", "drop"]))
        if action == "insert" or i == len(lines):
            lines.insert(i, junk)
        elif action == "drop":
            del lines[i]
        else:
            lines[i] = junk
    return "\n".join(lines)


def _bytes(text_and_edits):
    text, edits = text_and_edits
    data = bytearray(text.encode("utf-8"))
    for pos, byte in edits:
        if data:
            data[pos % len(data)] = byte
    return bytes(data)


BYTES = st.one_of(
    st.binary(max_size=200),
    st.tuples(texts(), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=3)).map(_bytes),
)  # fmt: skip


# ------------------------------------------------------------------ the properties


def test_the_generators_give_valid_scenarios(folder):
    """Unbroken, every generated document and text is accepted (so the fuzz bites)."""

    @settings(FUZZ, max_examples=40)
    @given(doc=good_documents())
    def run(doc):
        assert (
            outcome(
                lambda: parse_scenario(doc, path=folder / "s.toml", table=TABLE), folder
            )
            == "accepted"
        )
        raw = tomllib.loads(to_toml(doc))
        assert (
            outcome(
                lambda: parse_scenario(raw, path=folder / "s.toml", table=TABLE), folder
            )
            == "accepted"
        )

    run()


@FUZZ
@given(doc=good_documents(), data=st.data())
def test_any_broken_document_parses_or_fails_cleanly(folder, doc, data):
    break_document(doc, data.draw, data.draw(st.integers(0, 3)))
    outcome(
        lambda: parse_scenario(doc, path=folder / "s.toml", table=TABLE), folder, doc
    )


@FUZZ
@given(doc=st.one_of(JUNK, st.dictionaries(KEYS, JUNK, max_size=4)))
def test_any_junk_document_fails_cleanly(folder, doc):
    outcome(lambda: parse_scenario(doc, path=folder / "s.toml", table=TABLE), folder)


@FUZZ
@given(text=texts())
def test_any_toml_text_parses_or_fails_cleanly(folder, text):
    try:
        raw = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        raw = None  # not TOML: only read_scenario sees it
    if raw is not None:
        outcome(
            lambda: parse_scenario(raw, path=folder / "s.toml", table=TABLE),
            folder,
            raw,
        )
    path = folder / "text.toml"
    path.write_text(text, encoding="utf-8")
    outcome(lambda: read_scenario(path, table=TABLE), folder)


@FUZZ
@given(data=BYTES)
def test_any_bytes_read_from_a_file_parse_or_fail_cleanly(folder, data):
    path = folder / "bytes.toml"
    path.write_bytes(data)
    outcome(lambda: read_scenario(path, table=TABLE), folder)


DISTANCES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([0, 0.0, -0.0, 201, True, "10", [10], None]),
)
GOOD_CALL = {
    "everything": st.booleans(),
    "regions": st.lists(st.sampled_from(["Donetsk", "UA-09", "sumy"]), max_size=2).map(
        tuple
    ),
    "connected": st.none(),
    "within_km_of_front": st.none() | KM,
    "within_km_of_border": st.just(20),
    "border_with": st.sampled_from(["RU", ("BY", "pl"), ()]),
    "geometries": st.sampled_from([(), (TRIANGLE,)]),
    "exclude": st.none() | st.builds(Rule, everything=st.just(True)),
    "source": st.sampled_from(["UA", "ru"]),
    "target": st.just("DMZ"),
    "depth_km": KM.filter(lambda km: km <= 200),
    "withdraw": st.sampled_from([("UA",), ("RU", "UA"), "ru"]),
    "as_of": st.one_of(
        st.dates(), st.just(dt.datetime(2025, 1, 1)), st.just("2025-01-01")
    ),
}


def _pool(*values):
    return st.one_of(st.sampled_from(values), st.sampled_from(values), JUNK)


BAD_CALL = {
    "everything": _pool("no", 1, None, 0),
    "regions": _pool(("Donetks",), "Atlantis", (1,), ()),
    "connected": _pool("no", 1, False, True),  # True/False without regions: refused
    "within_km_of_front": _pool(*BAD_KM),
    "within_km_of_border": _pool(*BAD_KM),
    "border_with": _pool("Rusia", "UA", 5, ("RU", 1)),
    "geometries": _pool(({"type": "Point", "coordinates": [0, 0]},), (BOWTIE,), "x"),
    "exclude": _pool("x", {"all": True}, Rule(everything=True, exclude=Rule(everything=True))),
    "source": _pool("DMZ", "Russia", "NATO", None, "dmz"),
    "target": _pool("UA", "ru", "NATO", None),
    "depth_km": _pool(*BAD_KM, 201, 200.5),
    "withdraw": _pool(("UA", "UA"), (), "DMZ", ("DMZ",), 5),
    "as_of": _pool(dt.datetime(2025, 1, 1, 10), dt.time(10), "01/01/2025", None, 20250101),
}  # fmt: skip


@FUZZ
@given(data=st.data())
def test_any_constructor_call_gives_a_sound_object_or_scenario_error(data):
    values = {k: data.draw(v, label=k) for k, v in GOOD_CALL.items()}
    broken = data.draw(
        st.lists(st.sampled_from(sorted(BAD_CALL)), max_size=2, unique=True)
    )
    values.update({k: data.draw(BAD_CALL[k], label=f"bad {k}") for k in broken})
    rule_keys = set(GOOD_CALL) - {"source", "target", "depth_km", "withdraw", "as_of"}
    try:
        rule = Rule(**{k: values[k] for k in rule_keys})
        transfer = Transfer(
            name="t", source=values["source"], target=values["target"], rule=rule
        )
        zone = Zone(name="z", depth_km=values["depth_km"], withdraw=values["withdraw"])
        sc = Scenario(
            title="x", as_of=values["as_of"], transfers=(transfer,), zones=(zone,)
        )
    except ScenarioError as err:
        assert "\n" not in str(err)
        return
    assert type(sc.as_of) is dt.date
    rule = sc.transfers[0].rule
    assert type(rule.everything) is bool
    assert rule.connected is None or type(rule.connected) is bool
    for km in (rule.within_km_of_front, rule.within_km_of_border):
        assert km is None or (type(km) is float and math.isfinite(km) and km > 0)
    assert set(rule.border_with) <= {"RU", "BY", "PL"}
    assert sc.transfers[0].source in ("UA", "RU")
    assert sc.transfers[0].target in PARTIES
    assert sc.transfers[0].target != sc.transfers[0].source
    assert type(sc.zones[0].depth_km) is float
    assert 0 < sc.zones[0].depth_km <= 200
    assert set(sc.zones[0].withdraw) <= {"UA", "RU"}


SEGMENTS = [
    "..",
    ".",
    "scenarios",
    "sub",
    "zone.geojson",
    "link.geojson",
    "outside.geojson",
    "",
]


@FUZZ
@given(
    parts=st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=5),
    absolute=st.booleans(),
)
def test_polygon_paths_never_leave_the_folder(folder, parts, absolute):
    name = ("/" if absolute else "") + "/".join(parts)
    doc = {
        "scenario": {"title": "x", "as_of": "2025-01-01"},
        "transfers": [
            {"name": "t", "from": "UA", "to": "RU", "select": {"polygons": name}}
        ],
    }
    if (
        outcome(
            lambda: parse_scenario(doc, path=folder / "s.toml", table=TABLE),
            folder,
            doc,
        )
        == "accepted"
    ):
        assert not absolute
    # allowed outside, a path is still resolved and must be a file
    try:
        sc = parse_scenario(
            doc, path=folder / "s.toml", table=TABLE, allow_paths_outside=True
        )
    except ScenarioError as err:
        assert "\n" not in str(err)
    else:
        assert all(
            p.is_file() and p.is_absolute() for p in sc.transfers[0].rule.polygons
        )


# ------------------------------------------------------------------ field by field
# Each field on its own, in an otherwise valid scenario: accepted exactly when
# an oracle written apart from the parser says the value is sound.


def _doc(meta=None, transfer=None, select=None, zone=None):
    doc = {
        "scenario": {"title": "x", "as_of": "2025-01-01", **(meta or {})},
        "transfers": [
            {
                "name": "t",
                "from": "UA",
                "to": "RU",
                "select": select or {"all": True},
                **(transfer or {}),
            }
        ],
    }
    if zone is not None:
        doc["zones"] = [{"depth_km": 5, **zone}]
    return doc


def _is_bool(v):
    return type(v) is bool


def _party_in(*parties):
    return lambda v: isinstance(v, str) and v.strip().upper() in parties


def _date_ok(v):
    if isinstance(v, dt.datetime):
        return v.time() == dt.time()
    if isinstance(v, dt.date):
        return True
    try:
        return (
            isinstance(v, str)
            and len(v) <= 40
            and bool(dt.date.fromisoformat(v.strip()))
        )
    except ValueError:
        return False


def _names(v):
    items = [v] if isinstance(v, str) else v
    ok = isinstance(items, list) and items and all(isinstance(x, str) for x in items)
    return items if ok else None


def _withdraw_ok(v):
    items = _names(v)
    normal = [x.strip().upper() for x in items or []]
    return (
        bool(items) and set(normal) <= {"UA", "RU"} and len(set(normal)) == len(normal)
    )


NEIGHBOURS = {"ru", "by", "pl", "sk", "hu", "ro", "md", "russia", "belarus", "poland"}
NEIGHBOURS |= {"slovakia", "hungary", "romania", "moldova"}


def _border_ok(v):
    items = _names(v)
    return bool(items) and all(x.strip().casefold() in NEIGHBOURS for x in items)


FIELDS = {
    "all": (lambda v: _doc(select={"all": v, "within_km_of_front": 5}), _is_bool),
    "connected": (lambda v: _doc(select={"regions": ["Alpha"], "connected": v}), _is_bool),
    "default": (lambda v: _doc(meta={"default": v}), _is_bool),
    "within_km_of_front": (lambda v: _doc(select={"within_km_of_front": v}), _km_ok),
    "within_km_of_border": (lambda v: _doc(select={"within_km_of_border": v}), _km_ok),
    "depth_km": (lambda v: _doc(zone={"depth_km": v}), lambda v: _km_ok(v, 200)),
    "from": (lambda v: _doc(transfer={"from": v, "to": "DMZ"}), _party_in("UA", "RU")),
    "to": (lambda v: _doc(transfer={"to": v}), _party_in("RU", "DMZ")),
    "sovereignty": (lambda v: _doc(transfer={"sovereignty": v}), _party_in("UA", "RU", "DMZ")),
    "as_of": (lambda v: _doc(meta={"as_of": v}), _date_ok),
    "withdraw": (lambda v: _doc(zone={"withdraw": v}), _withdraw_ok),
    "border_with": (
        lambda v: _doc(select={"within_km_of_border": 5, "border_with": v}),
        _border_ok,
    ),
}  # fmt: skip
FLAGS = [True, False, 0, 1, "no", "yes", "true", "False", [], None]
KMS = [5, 5.5, 200, 200.01, 1e-300, 10**30, 10**400, 0, -1, -0.0]
KMS += [math.nan, math.inf, -math.inf, True, "5", [5], None]
PARTY_VALUES = ["UA", "RU", "ua", " RU ", "DMZ", "dmz", "Russia", "NATO", "", 1, None]
#: Per field, the values near the edge of sound, tried before junk.
CANDIDATES = {
    "all": FLAGS,
    "connected": FLAGS,
    "default": FLAGS,
    "within_km_of_front": KMS,
    "within_km_of_border": KMS,
    "depth_km": KMS,
    "from": PARTY_VALUES,
    "to": PARTY_VALUES,
    "sovereignty": PARTY_VALUES,
    "as_of": [
        dt.date(2025, 1, 1), dt.datetime(2025, 1, 1), dt.datetime(2025, 1, 1, 10),
        dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.time(10), "2025-01-01",
        " 2025-01-01 ", "2025-13-01", "20250101", "2025-01-01T00:00:00",
        "2025-01-01T10:00", 20250101, True, None,
    ],
    "withdraw": [
        "UA", "ru", ["UA"], ["UA", "RU"], ["UA", "ua"], ["DMZ"], "DMZ", [], ["RU", 1], 5,
    ],
    "border_with": [
        "RU", "russia", " Belarus ", "md", ["RU", "BY"], ["RU", "ru"], "Rusia", "UA",
        "Ukraine", [], ["RU", 1], 5,
    ],
}  # fmt: skip


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_each_field_accepts_exactly_the_sound_values(folder, field):
    make, sound = FIELDS[field]

    @settings(FUZZ, max_examples=50)
    @given(value=st.one_of(st.sampled_from(CANDIDATES[field]), SCALARS, JUNK))
    def check(value):
        doc = make(value)
        got = outcome(
            lambda: parse_scenario(doc, path=folder / "s.toml", table=TABLE), folder
        )
        assert (got == "accepted") == bool(sound(value)), (field, value, got)

    check()


@FUZZ
@given(
    everything=st.none() | st.booleans(),
    regions=st.none() | st.just(["Alpha"]),
    connected=st.none() | st.booleans(),
    front=st.none() | st.just(5),
    border=st.none() | st.just(5),
    border_with=st.none() | st.just("RU"),
    exclude=st.none() | st.just({"all": True}),
)
def test_a_rule_is_accepted_exactly_when_its_criteria_fit(
    folder, everything, regions, connected, front, border, border_with, exclude
):
    values = {
        "all": everything,
        "regions": regions,
        "connected": connected,
        "within_km_of_front": front,
        "within_km_of_border": border,
        "border_with": border_with,
        "exclude": exclude,
    }
    select = {k: v for k, v in values.items() if v is not None}
    doc = _doc()
    doc["transfers"][0]["select"] = select
    sound = (
        (everything is True or regions or front or border)
        and (connected is None or regions)
        and (border_with is None or border)
    )
    got = outcome(
        lambda: parse_scenario(doc, path=folder / "s.toml", table=TABLE), folder
    )
    assert (got == "accepted") == bool(sound), (select, got)


@settings(FUZZ, max_examples=40)
@given(
    levels=st.integers(0, 3000),
    kind=st.sampled_from(["exclude", "array", "table", "geometry"]),
)
def test_nesting_of_any_depth_is_read_or_refused_in_one_line(folder, levels, kind):
    head = '[scenario]\ntitle = "x"\nas_of = 2025-01-01\n[[transfers]]\nname = "t"\nfrom = "UA"\nto = "RU"\n'
    if kind == "exclude":
        select = "{ all = true }"
        for _ in range(levels):
            select = "{ all = true, exclude = " + select + " }"
    elif kind == "array":
        select = (
            "{ all = true, regions = " + "[" * levels + '"Alpha"' + "]" * levels + " }"
        )
    elif kind == "table":
        select = "{ all = true, " + "x = { " * levels + "y = 1" + " }" * levels + " }"
    else:
        coords = "[" * levels + "0" + "]" * levels
        select = f"{{ geometry = {{ type = 'Polygon', coordinates = {coords} }} }}"
    path = folder / "deep.toml"
    path.write_text(head + f"select = {select}\n", encoding="utf-8")
    got = outcome(lambda: read_scenario(path, table=TABLE), folder)
    sound = (kind == "exclude" and levels <= MAX_EXCLUDE_DEPTH) or (
        kind == "array" and levels <= 1
    )
    assert (got == "accepted") == sound
