"""Object checks for scenarios: `Rule`, `Transfer`, `Zone` and `Scenario` as a whole.

Private to `territory.scenario`, whose classes call `_checked` from
``__post_init__``.  Each ``_*_fields`` function checks one object's fields
with the value checks of `territory._scenario_values` and returns their
normal form.  In code a problem raises `ScenarioError` naming the class; while
`territory._scenario_parse` reads a file (`_PARSING` is set), it goes to the
parser, which names the file and the transfer.
"""

from __future__ import annotations

import contextvars
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The model's classes call these checks lazily (inside __post_init__), so this
# module may import the model here without a cycle.
import territory.scenario as model
from territory._scenario_values import (
    _CODE,
    _FILE,
    _as_of,
    _border_with,
    _flag,
    _geometries,
    _Invalid,
    _km,
    _maybe_km,
    _name,
    _party,
    _polygon_files,
    _regions,
    _show,
    _Style,
    _text,
)
from territory.errors import ScenarioError
from territory.regions import RegionTable, load_region_table

if TYPE_CHECKING:
    from territory._scenario_parse import _Ctx

#: The parse in progress, if any: objects built during it report to the parser
#: (in the file's keys) and resolve regions with the table it was given.
_PARSING: contextvars.ContextVar[_Ctx | None] = contextvars.ContextVar(
    "territory_scenario_parsing", default=None
)


def _checked(obj: Any, fields: Any) -> None:
    """Check `obj`'s fields and store their normal form (ids, tuples, floats).

    In code a problem raises `ScenarioError` naming the class; while a file is
    parsed it propagates to the parser, which names the file and the transfer.
    """
    ctx = _PARSING.get()
    try:
        values = fields(obj, _FILE if ctx else _CODE, ctx.table if ctx else None)
    except _Invalid as err:
        if ctx is not None:
            raise
        msg = f"{type(obj).__name__}: {err.problem}; {err.fix}"
        raise ScenarioError(msg) from None
    for key, value in values.items():
        object.__setattr__(obj, key, value)


def _rule_fields(r: model.Rule, s: _Style, table: RegionTable | None) -> dict[str, Any]:
    regions, names = _regions(
        r.regions, r.region_names, s, load_region_table() if table is None else table
    )
    connected = None if r.connected is None else _flag(r.connected, "connected", s)
    if connected is not None and not regions:
        msg = "'connected' needs 'regions'"
        raise _Invalid(msg, "name the regions whose pockets you mean")
    border_km = _maybe_km(r.within_km_of_border, "within_km_of_border", s)
    border_with = _border_with(r.border_with, s)
    if border_with and border_km is None:
        msg = "'border_with' needs 'within_km_of_border'"
        raise _Invalid(
            msg,
            s.write("within_km_of_border", "20", "20.0") + " alongside it",
        )
    out = {
        "everything": _flag(r.everything, "everything", s),
        "regions": regions,
        "region_names": names,
        "connected": connected,
        "within_km_of_front": _maybe_km(r.within_km_of_front, "within_km_of_front", s),
        "within_km_of_border": border_km,
        "border_with": border_with,
        "polygons": _polygon_files(r.polygons, s),
        "geometries": _geometries(r.geometries, s),
    }
    if r.exclude is not None and not isinstance(r.exclude, model.Rule):
        msg = f"'exclude' is {_show(r.exclude)}, not a rule"
        raise _Invalid(
            msg,
            'write exclude = { regions = ["..."] }'
            if s.file
            else "pass exclude=Rule(...)",
        )
    depth, inner = 0, r.exclude
    while inner is not None:
        depth += 1
        if depth > model.MAX_EXCLUDE_DEPTH:
            msg = f"'exclude' is nested more than {model.MAX_EXCLUDE_DEPTH} deep"
            raise _Invalid(
                msg,
                "merge the excluded land into one exclude (it can list several regions and polygons)",
            )
        inner = inner.exclude
    criteria = ("everything", "regions", "within_km_of_front", "within_km_of_border")
    if not any(out[k] for k in (*criteria, "polygons", "geometries")):
        msg = "the selection rule is empty"
        raise _Invalid(
            msg,
            "say which land moves (regions, polygons, all = true, ...)"
            if s.file
            else "pass a criterion (regions=, polygons=, within_km_of_front=, ...) or everything=True for all the giver's land",
        )
    return out


def _transfer_fields(
    t: model.Transfer, s: _Style, _table: RegionTable | None
) -> dict[str, Any]:
    name = _name(t.name, s)
    source = _party(t.source, "source", s)
    target = _party(t.target, "target", s)
    if source == target:
        msg = f"moves land from {source} to itself"
        raise _Invalid(
            msg,
            f"set '{s.key('target')}' to the receiving party",
        )
    if source == "DMZ":
        msg = "moves land out of a demilitarised zone"
        raise _Invalid(
            msg,
            f"transfers give land from UA or RU: set '{s.key('source')}' to one of them",
        )
    if not isinstance(t.rule, model.Rule):
        msg = f"'rule' is {_show(t.rule)}, not a Rule"
        raise _Invalid(
            msg,
            "pass rule=Rule(regions=('Donetsk',)) or another Rule",
        )
    return {
        "name": name,
        "source": source,
        "target": target,
        **_citation_fields(t, s),
    }


def _citation_fields(obj: model.Transfer | model.Zone, s: _Style) -> dict[str, Any]:
    """Return the claim, note and sovereignty that transfers and zones both carry."""
    return {
        "claim": _text(obj.claim, "claim", s),
        "note": _text(obj.note, "note", s),
        "sovereignty": None
        if obj.sovereignty is None
        else _party(obj.sovereignty, "sovereignty", s),
    }


def _zone_fields(
    z: model.Zone, s: _Style, _table: RegionTable | None
) -> dict[str, Any]:
    fix = s.write("withdraw", '["UA", "RU"]', '("UA", "RU")') + " (UA, RU or both)"
    w = z.withdraw
    items = (
        [w] if isinstance(w, str) else list(w) if isinstance(w, list | tuple) else []
    )
    depth = z.depth_km
    per_side = isinstance(depth, dict | tuple) and not isinstance(depth, str)
    depths: dict[str, float] = {}
    if per_side:
        depths = _per_side_depths(depth, s)
        if not items:  # the parties that pull back are the depths' keys
            items = list(depths)
    elif isinstance(w, tuple) and not w:  # the default: both sides pull back
        items = ["UA", "RU"]
    if not items:
        msg = f"'withdraw' is {_show(z.withdraw)}"
        raise _Invalid(msg, fix)
    parties = tuple(_party(w, "withdraw", s, ("UA", "RU")) for w in items)
    if len(set(parties)) != len(parties):
        msg = f"'withdraw' is {_show(z.withdraw)}: a party is named twice"
        raise _Invalid(msg, fix)
    if per_side:
        if set(depths) != set(parties):
            msg = (
                f"'depth_km' gives depths for {', '.join(depths) or 'nobody'} but "
                f"'withdraw' names {', '.join(parties)}"
            )
            raise _Invalid(
                msg,
                "give a depth for each withdrawing party and no other, or leave "
                "'withdraw' out",
            )
        depth_km: float | tuple[tuple[str, float], ...] = tuple(
            (p, depths[p]) for p in parties
        )
    else:
        depth_km = _km(depth, "depth_km", s, max_km=model.MAX_ZONE_DEPTH_KM)
    if not (isinstance(z.along, str) and z.along == "front"):
        msg = f"'along' is {_show(z.along)}"
        raise _Invalid(
            msg,
            'zones run along the contact line: along = "front"',
        )
    rule = z.rule
    if rule is not None:
        if not isinstance(rule, model.Rule):
            msg = f"'{s.key('rule')}' is {_show(rule)}, not a Rule"
            raise _Invalid(
                msg,
                s.write(
                    "select", '{ regions = ["Donetsk"] }', "Rule(regions=('Donetsk',))"
                ),
            )
        _check_zone_rule(rule, s)
    return {
        "name": _name(z.name, s),
        "depth_km": depth_km,
        "withdraw": parties,
        "along": "front",
        "rule": rule,
        **_citation_fields(z, s),
    }


def _per_side_depths(value: Any, s: _Style) -> dict[str, float]:
    """Check a per-side depth (``{ UA = 10, RU = 20 }``): party → km."""
    pairs = list(value.items()) if isinstance(value, dict) else list(value)
    if not pairs or not all(
        isinstance(pair, tuple | list) and len(pair) == 2 for pair in pairs
    ):
        msg = f"'depth_km' is {_show(value)}"
        raise _Invalid(
            msg,
            s.write("depth_km", "{ UA = 10, RU = 20 }", "{'UA': 10, 'RU': 20}")
            + " or one number for both sides",
        )
    out: dict[str, float] = {}
    for party, km in pairs:
        p = _party(party, "depth_km", s, ("UA", "RU"))
        if p in out:
            msg = f"'depth_km' gives {p} two depths"
            raise _Invalid(msg, "give each party one depth")
        out[p] = _km(km, f"depth_km.{p}", s, max_km=model.MAX_ZONE_DEPTH_KM)
    return out


def _check_zone_rule(rule: model.Rule, s: _Style) -> None:
    """Check that a zone's rule says only where it runs (its depth is its distance from the line)."""
    r: model.Rule | None = rule
    while r is not None:
        for key in ("connected", "within_km_of_front"):
            if getattr(r, key) is not None:
                msg = f"a zone's '{s.key('rule')}' uses '{key}'"
                raise _Invalid(
                    msg,
                    "a zone's depth is its distance from the line: set depth_km and "
                    "limit where the zone runs with regions, polygons or within_km_of_border",
                )
        r = r.exclude


def _items(value: Any, kind: type, name: str) -> tuple[Any, ...]:
    if isinstance(value, list | tuple):
        wrong = [x for x in value if not isinstance(x, kind)]
        if not wrong:
            return tuple(value)
        got = f"holds {_show(wrong[0])}"
    else:
        got = f"is {_show(value)}"
    msg = f"'{name}' {got}, not a tuple of {kind.__name__} objects"
    raise _Invalid(
        msg,
        f"pass {name}=({kind.__name__}(...), ...)",
    )


def _scenario_fields(
    sc: model.Scenario, s: _Style, _table: RegionTable | None
) -> dict[str, Any]:
    transfers = _items(sc.transfers, model.Transfer, "transfers")
    zones = _items(sc.zones, model.Zone, "zones")
    for kind, things in (("transfer", transfers), ("zone", zones)):
        names = [t.name for t in things]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            msg = f"the {kind} name {_show(twice[0])} is used twice"
            raise _Invalid(
                msg,
                f"give every {kind} its own name",
            )
    # every move of an evaluation is named by its transfer or zone (a zone's
    # sides as "name (Ukrainian side)"), and its tables are indexed by that name
    zone_names = {
        f"{z.name}{side}"
        for z in zones
        for side in ("", *(f" ({s})" for s in model.ZONE_SIDES.values()))
    }
    both = sorted(t.name for t in transfers if t.name in zone_names)
    if both:
        msg = f"the name {_show(both[0])} is used by a transfer and a zone"
        raise _Invalid(msg, "give every transfer and zone its own name")
    if not transfers and not zones:
        msg = "no transfers and no zones"
        raise _Invalid(
            msg,
            "add at least one [[transfers]] table"
            if s.file
            else "pass transfers=(Transfer(...),) or zones=(Zone(...),)",
        )
    path = sc.path
    if path is not None:
        if not isinstance(path, str | os.PathLike) or not isinstance(
            os.fspath(path), str
        ):
            msg = f"'path' is {_show(path)}, not a file path"
            raise _Invalid(
                msg,
                "pass path=Path('my.toml') or leave it out",
            )
        path = Path(path)
    extra = {} if sc.extra is None else sc.extra
    if not isinstance(extra, dict):
        msg = f"'extra' is {_show(extra)}, not a dict"
        raise _Invalid(msg, "pass extra={} or leave it out")
    return {
        "title": _text(sc.title, "title", s, required=True),
        "as_of": _as_of(sc.as_of, s),
        "transfers": transfers,
        "zones": zones,
        "source": _text(sc.source, "source", s),
        "citation": _text(sc.citation, "citation", s),
        "description": _text(sc.description, "description", s),
        "path": path,
        "extra": extra,
    }
