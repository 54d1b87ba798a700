"""Tidy tables for output: text tables for people, CSV and JSON for machines.

This is the only layer that rounds numbers; accounting keeps full precision.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from territory.control import Control


def _clean(value: Any) -> Any:
    """Make a value JSON-safe: NaN/inf become None, numpy scalars become Python."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(payload: Any) -> str:
    """Serialise `payload` to indented JSON, with NaN and inf as null."""

    def walk(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: walk(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [walk(v) for v in obj]
        return _clean(obj)

    return json.dumps(walk(payload), indent=2, ensure_ascii=False)


def format_number(value: Any, digits: int = 0) -> str:
    """Format a number with thousands separators; missing values as an en dash."""
    value = _clean(value)
    if value is None:
        return "–"
    if isinstance(value, float | int):
        return f"{value:,.{digits}f}"
    return str(value)


def text_table(
    rows: Sequence[Sequence[Any]],
    headers: Sequence[str],
    *,
    digits: Sequence[int] | None = None,
    footer: Sequence[Sequence[Any]] = (),
) -> str:
    """Render rows as an aligned plain-text table (numbers right-aligned)."""
    digits = digits or [0] * len(headers)
    cells = [[format_number(v, d) for v, d in zip(r, digits, strict=True)] for r in [*rows, *footer]]
    numeric = [all(isinstance(_clean(r[i]), float | int) or _clean(r[i]) is None for r in rows) for i in range(len(headers))]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        out = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    body = [line(headers), rule, *(line(c) for c in cells[: len(rows)])]
    if footer:
        body += [rule, *(line(c) for c in cells[len(rows):])]
    return "\n".join(body)


CONTROL_COLUMNS = (
    "region_id", "name", "land_km2", "occupied_km2", "grey_km2", "held_km2",
    "occupied_pct", "official_area_km2", "occupied_pct_official", "removed_km2",
)


def control_payload(control: Control, *, official_area_km2: float) -> dict[str, Any]:
    """Return the JSON document of a control table."""
    df = control.to_frame()
    totals = control.totals(official_area_km2=official_area_km2)
    return {
        "as_of": control.as_of.isoformat(),
        "snapshot": {
            "label": control.snapshot.label,
            "as_of": control.snapshot.as_of.isoformat(),
            "published": control.snapshot.published,
            "grey_zone": control.snapshot.grey_zone,
        },
        "note": control.note,
        "units": "km²; occupied_pct is of the unit's land, occupied_pct_official of its official area",
        "regions": [{c: row[c] for c in CONTROL_COLUMNS} for row in df.to_dict("records")],
        "total": totals,
    }


def control_csv(control: Control) -> str:
    """Return the per-region control table as CSV (full precision)."""
    return control.to_frame().loc[:, list(CONTROL_COLUMNS)].to_csv(index=False)


def control_text(control: Control, *, official_area_km2: float) -> str:
    """Return the control table for people, with a header naming the snapshot."""
    df = control.to_frame().sort_values("occupied_km2", ascending=False)
    totals = control.totals(official_area_km2=official_area_km2)
    grey = control.has_grey_zone
    headers = ["Region", "Land km²", "Russian-held km²", *(["Grey zone km²"] if grey else []),
               "Ukrainian-held km²", "% of land", "% of official area"]
    rows = [
        [r.name, r.land_km2, r.occupied_km2, *([r.grey_km2] if grey else []), r.held_km2,
         r.occupied_pct, r.occupied_pct_official]
        for r in df.itertuples()
    ]
    foot = [["Ukraine", totals["land_km2"], totals["occupied_km2"], *([totals["grey_km2"]] if grey else []),
             totals["held_km2"], totals["occupied_pct"], totals["occupied_pct_official"]]]
    digits = [0, 0, 0, *([0] if grey else []), 0, 2, 2]
    head = [
        f"Control as of {control.as_of} (evening), from {control.snapshot.label}",
    ]
    if control.note:
        head.append(f"Note: {control.note}")
    table = text_table(rows, headers, digits=digits, footer=foot)
    tail = (
        f"% of land: Russian-held share of the unit's own land (land mask ∪ DeepState, "
        f"territorial sea excluded). % of official area: of the State Statistics Service "
        f"area (Ukraine {official_area_km2:,.0f} km²). {totals['removed_km2']:,.0f} km² of "
        "coastline slivers and enclosed water were removed from the land (see DESIGN.md)."
    )
    return "\n".join([*head, "", table, "", tail])


def frame_csv(df: pd.DataFrame) -> str:
    """Return a DataFrame as CSV without its index."""
    return df.to_csv(index=False)
