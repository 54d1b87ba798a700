"""Write a `Scenario` back as a scenario file (TOML): the inverse of the parser.

Used by ``territory balance -o`` to hand over the solved scenario as a file
anyone can re-evaluate.  Writing goes through ``tomli_w`` (a maintained TOML
writer) so every string is quoted and escaped by the format's own rules.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from territory.scenario import Rule, Scenario, Transfer, Zone


def _rule(rule: Rule, folder: Path | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rule.everything:
        out["all"] = True
    if rule.regions:
        out["regions"] = list(rule.region_names or rule.regions)
    if rule.connected is not None:
        out["connected"] = rule.connected
    if rule.within_km_of_front is not None:
        out["within_km_of_front"] = rule.within_km_of_front
    if rule.within_km_of_border is not None:
        out["within_km_of_border"] = rule.within_km_of_border
    if rule.border_with:
        out["border_with"] = list(rule.border_with)
    if rule.polygons:
        out["polygons"] = [
            os.path.relpath(p.resolve(), folder) if folder is not None else str(p)
            for p in rule.polygons
        ]
    if rule.geometries:
        out["geometry"] = list(rule.geometries)
    if rule.exclude is not None:
        out["exclude"] = _rule(rule.exclude, folder)
    return out


def _cited(item: Transfer | Zone) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("claim", "note"):
        if getattr(item, key):
            out[key] = getattr(item, key)
    if item.sovereignty is not None:
        out["sovereignty"] = item.sovereignty
    return out


def scenario_document(sc: Scenario, folder: Path | None = None) -> dict[str, Any]:
    """Return `sc` as the document the parser reads (polygon paths relative to `folder`)."""
    meta: dict[str, Any] = {"title": sc.title, "as_of": sc.as_of}
    for key in ("source", "citation", "description"):
        if getattr(sc, key):
            meta[key] = getattr(sc, key)
    doc: dict[str, Any] = {"scenario": meta}
    if sc.transfers:
        doc["transfers"] = [
            {
                "name": t.name,
                "from": t.source,
                "to": t.target,
                **_cited(t),
                "select": _rule(t.rule, folder),
            }
            for t in sc.transfers
        ]
    if sc.zones:
        zones = []
        for z in sc.zones:
            entry: dict[str, Any] = {"name": z.name, "withdraw": list(z.withdraw)}
            entry["depth_km"] = (
                dict(z.depth_km) if isinstance(z.depth_km, tuple) else z.depth_km
            )
            entry.update(_cited(z))
            if z.rule is not None:
                entry["select"] = _rule(z.rule, folder)
            zones.append(entry)
        doc["zones"] = zones
    return doc


def scenario_toml(sc: Scenario, folder: Path | None = None) -> str:
    """Return `sc` as scenario-file text (see `scenario_document`)."""
    import tomli_w

    return tomli_w.dumps(scenario_document(sc, folder))
