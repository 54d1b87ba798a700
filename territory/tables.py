"""Tidy tables for output: text tables for people, CSV and JSON for machines.

This is the only layer that rounds numbers; accounting keeps full precision.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datetime as dt

    import pandas as pd

    from territory.control import Control, Snapshot


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
    cells = [
        [format_number(v, d) for v, d in zip(r, digits, strict=True)]
        for r in [*rows, *footer]
    ]
    numeric = [
        all(isinstance(_clean(r[i]), float | int) or _clean(r[i]) is None for r in rows)
        for i in range(len(headers))
    ]
    widths = [
        max(len(h), *(len(c[i]) for c in cells)) if cells else len(h)
        for i, h in enumerate(headers)
    ]

    def line(values: Sequence[str]) -> str:
        out = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    body = [line(headers), rule, *(line(c) for c in cells[: len(rows)])]
    if footer:
        body += [rule, *(line(c) for c in cells[len(rows) :])]
    return "\n".join(body)


#: Columns (CSV) and fields (JSON) saying which map a row comes from.
PROVENANCE_COLUMNS = ("as_of", "snapshot", "snapshot_as_of", "earlier_snapshot")


def provenance(as_of: dt.date, snapshot: Snapshot) -> dict[str, Any]:
    """Return which map a row describes, for CSV columns and JSON fields.

    Parameters
    ----------
    as_of
        The date asked for (the map as of the evening of that day).
    snapshot
        The snapshot that served it.

    Returns
    -------
    dict
        ``as_of`` (ISO date asked), ``snapshot`` (its label), ``snapshot_as_of``
        (the date the snapshot shows) and ``earlier_snapshot`` (True when the
        record has no snapshot for `as_of` and an earlier one was used).

    Examples
    --------
    >>> import datetime as dt
    >>> from territory.control import Snapshot
    >>> snap = Snapshot("k", "daily 2025-11-25", dt.date(2025, 11, 24), None, False)
    >>> provenance(dt.date(2025, 11, 25), snap)["earlier_snapshot"]
    True
    >>> provenance(dt.date(2025, 11, 24), snap)["earlier_snapshot"]
    False
    """
    return {
        "as_of": as_of.isoformat(),
        "snapshot": snapshot.label,
        "snapshot_as_of": snapshot.as_of.isoformat(),
        "earlier_snapshot": snapshot.as_of < as_of,
    }


CONTROL_COLUMNS = (
    "region_id",
    "name",
    "land_km2",
    "occupied_km2",
    "grey_km2",
    "held_km2",
    "occupied_pct",
    "official_area_km2",
    "occupied_pct_official",
    "removed_km2",
)


def control_payload(control: Control, *, official_area_km2: float) -> dict[str, Any]:
    """Return the JSON document of a control table."""
    df = control.to_frame()
    totals = control.totals(official_area_km2=official_area_km2)
    prov = provenance(control.as_of, control.snapshot)
    return {
        "as_of": control.as_of.isoformat(),
        "snapshot": {
            "label": control.snapshot.label,
            "as_of": control.snapshot.as_of.isoformat(),
            "published": control.snapshot.published,
            "grey_zone": control.snapshot.grey_zone,
        },
        "earlier_snapshot": prov["earlier_snapshot"],
        "note": control.note,
        "units": "km²; occupied_pct is of the unit's land, occupied_pct_official of its official area",
        "regions": [
            {**{c: row[c] for c in CONTROL_COLUMNS}, **prov}
            for row in df.to_dict("records")
        ],
        "total": totals,
    }


def control_csv(control: Control) -> str:
    """Return the per-region control table as CSV (full precision).

    Every row also says which map it comes from (`PROVENANCE_COLUMNS`).
    """
    df = control.to_frame().loc[:, list(CONTROL_COLUMNS)]
    return frame_csv(df.assign(**provenance(control.as_of, control.snapshot)))


def control_text(control: Control, *, official_area_km2: float) -> str:
    """Return the control table for people, with a header naming the snapshot."""
    df = control.to_frame().sort_values("occupied_km2", ascending=False)
    totals = control.totals(official_area_km2=official_area_km2)
    grey = control.has_grey_zone
    headers = [
        "Region",
        "Land km²",
        "Russian-held km²",
        *(["Grey zone km²"] if grey else []),
        "Ukrainian-held km²",
        "% of land",
        "% of official area",
    ]
    rows = [
        [
            r.name,
            r.land_km2,
            r.occupied_km2,
            *([r.grey_km2] if grey else []),
            r.held_km2,
            r.occupied_pct,
            r.occupied_pct_official,
        ]
        for r in df.itertuples()
    ]
    foot = [
        [
            "Ukraine",
            totals["land_km2"],
            totals["occupied_km2"],
            *([totals["grey_km2"]] if grey else []),
            totals["held_km2"],
            totals["occupied_pct"],
            totals["occupied_pct_official"],
        ]
    ]
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


#: Text cells starting with these would run as formulas in a spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: Any) -> Any:
    """Prefix a text cell a spreadsheet would run as a formula with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def frame_csv(df: pd.DataFrame) -> str:
    """Return a DataFrame as CSV without its index; every CSV goes through here.

    Text is data: a text cell that a spreadsheet would evaluate as a formula
    (one starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return,
    e.g. a transfer named ``=HYPERLINK(...)``) gets a leading apostrophe, the
    usual defence against CSV injection.  Numbers are never touched.

    Examples
    --------
    >>> import pandas as pd
    >>> print(frame_csv(pd.DataFrame({"name": ["=1+1", "Donbas"], "km2": [-1.5, 2.0]})))
    name,km2
    '=1+1,-1.5
    Donbas,2.0
    <BLANKLINE>
    """
    out = df.copy()
    for col in out.columns:
        if not _is_numeric(out[col]):
            out[col] = out[col].map(_inert)
    return out.to_csv(index=False)


def _is_numeric(series: Any) -> bool:
    """True for a numeric or boolean column (never rewritten by `frame_csv`)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return bool(is_numeric_dtype(series) or is_bool_dtype(series))


# --------------------------------------------------------------------------- scenarios

PARTY_NAMES = {
    "UA": "Ukraine",
    "RU": "Russia",
    "DMZ": "Demilitarised zone",
    "GREY": "Grey zone",
}


def evaluation_payload(ev: Any) -> dict[str, Any]:
    """Return the JSON document of an evaluation (areas in km², lengths in km)."""
    sc = ev.scenario
    parties = {
        r["party"]: {
            k: r[k]
            for k in (
                "before_km2",
                "after_km2",
                "gained_km2",
                "lost_km2",
                "net_km2",
                "share_before_pct",
                "share_after_pct",
            )
        }
        for r in ev.parties_frame().to_dict("records")
    }
    return {
        "title": sc.title,
        "file": str(sc.path) if sc.path else None,
        "as_of": ev.control.as_of.isoformat(),
        "scenario_as_of": sc.as_of.isoformat(),
        "snapshot": ev.control.snapshot.label,
        "snapshot_as_of": ev.control.snapshot.as_of.isoformat(),
        "earlier_snapshot": provenance(ev.control.as_of, ev.control.snapshot)[
            "earlier_snapshot"
        ],
        "note": ev.control.note,
        "source": sc.source,
        "citation": sc.citation,
        "transfers": [
            {
                "name": m.name,
                "kind": m.kind,
                "from": m.source,
                "to": m.target,
                "area_km2": m.area_km2,
                "regions": [
                    {
                        "region_id": r["region_id"],
                        "name": r["name"],
                        "area_km2": r["area_km2"],
                    }
                    for r in m.regions
                ],
                "rule": m.rule,
                "claim": m.claim,
                "note": m.note,
                "sovereignty": m.sovereignty,
                "people": m.people,
            }
            for m in ev.moves
        ],
        "parties": parties,
        "ratio": ev.ratio,
        "ratio_definition": "km² Ukraine gives for each km² it receives (null: it receives nothing)",
        "land_km2": ev.land_km2,
        "land_definition": "land of Ukraine's 27 units (territorial sea excluded) on the as-of date",
        "front_line_km": {"before": ev.front_before_km, "after": ev.front_after_km},
        "warnings": ev.warnings,
        "invariants": {"holdings_after_sum_to_land": True, "relative_tolerance": 1e-9},
    }


#: Columns of `evaluation_csv`, then `PROVENANCE_COLUMNS`.
EVALUATION_COLUMNS = ("name", "kind", "from", "to", "region_id", "region", "area_km2")


def evaluation_csv(ev: Any) -> str:
    """Return one CSV row per transfer (or zone) and region, areas in km².

    Columns: ``name`` (of the transfer), ``kind``, ``from``, ``to``,
    ``region_id``, ``region`` (its name), ``area_km2``, then which map was
    used (`PROVENANCE_COLUMNS`).
    """
    prov = provenance(ev.control.as_of, ev.control.snapshot)
    frame = ev.regions_frame().loc[:, list(EVALUATION_COLUMNS)]
    return frame_csv(frame.assign(**prov))


def evaluation_text(ev: Any) -> str:
    """Return the evaluation for people: transfers with their rules, then the balance."""
    sc = ev.scenario
    lines = [
        sc.title,
        f"Control as of {ev.control.as_of} (evening), from {ev.control.snapshot.label}",
    ]
    if ev.control.as_of != sc.as_of:
        lines.append(
            f"(the scenario was written for {sc.as_of}; evaluated here on {ev.control.as_of})"
        )
    if ev.control.note:
        lines.append(f"Note: {ev.control.note}")
    if sc.source:
        lines.append(f"Source: {sc.source}")
    lines.append("")
    rows = [
        [
            m.name,
            f"{m.source} → {m.target}",
            m.area_km2,
            ", ".join(r["name"] for r in m.regions if r["area_km2"] >= 0.5),
            (m.people or {}).get("population"),
        ]
        for m in ev.moves
    ]
    lines.append(
        text_table(
            rows,
            ["Transfer", "Direction", "Area km²", "Regions", "People (pre-2022)"],
            digits=[0, 0, 0, 0, 0],
        )
    )
    lines.append("")
    lines.append("Selection rules:")
    for m in ev.moves:
        lines.append(f"  {m.name}: {m.rule}")
        if m.claim:
            lines.append(f"    claim: {m.claim}")
    lines.append("")
    pf = ev.parties_frame()
    prow = [
        [
            PARTY_NAMES.get(r.party, r.party),
            r.before_km2,
            r.lost_km2,
            r.gained_km2,
            r.net_km2,
            r.after_km2,
            r.share_before_pct,
            r.share_after_pct,
        ]
        for r in pf.itertuples()
    ]
    lines.append(
        text_table(
            prow,
            [
                "Party",
                "Held before km²",
                "Gives km²",
                "Receives km²",
                "Net km²",
                "Held after km²",
                "% before",
                "% after",
            ],
            digits=[0, 0, 0, 0, 0, 0, 1, 1],
        )
    )
    ratio = (
        f"{ev.ratio:,.2f} km² for each km² it receives"
        if ev.ratio is not None
        else "– (Ukraine receives nothing)"
    )
    lines += [
        "",
        f"Reciprocity: Ukraine gives {ratio}.",
        f"Contact line: {ev.front_before_km:,.0f} km before, {ev.front_after_km:,.0f} km after.",
        f"Shares are of Ukraine's land on {ev.control.as_of}: {ev.land_km2:,.0f} km² (territorial sea excluded).",
        "People: GeoNames places inside each transfer, populations mostly pre-2022.",
    ]
    for w in ev.warnings:
        lines.append(f"Warning: {w}")
    return "\n".join(lines)


def compare_frame(evs: Sequence[Any], df: pd.DataFrame) -> pd.DataFrame:
    """Return the comparison `df` (`territory.accounting.compare`) with which map each row used.

    Adds ``snapshot``, ``snapshot_as_of`` and ``earlier_snapshot`` (``as_of``
    is already there) from the evaluations `evs`, in the same order.
    """
    prov = [provenance(ev.control.as_of, ev.control.snapshot) for ev in evs]
    out = df.copy()
    for col in PROVENANCE_COLUMNS:
        out[col] = [p[col] for p in prov]
    return out


def compare_csv(evs: Sequence[Any], df: pd.DataFrame) -> str:
    """Return the comparison as CSV, one row per scenario, with the map each used."""
    return frame_csv(compare_frame(evs, df))


def compare_payload(evs: Sequence[Any], df: pd.DataFrame) -> dict[str, Any]:
    """Return the JSON document of a comparison: one entry per scenario.

    Each entry is a row of `compare_frame`, plus the ``note`` on the snapshot
    (None unless an earlier one was used), the ``transfers`` and the ``parties``
    of `evaluation_payload`.
    """
    rows = compare_frame(evs, df).to_dict("records")
    docs = [evaluation_payload(ev) for ev in evs]
    return {
        "scenarios": [
            dict(
                row,
                note=doc["note"],
                transfers=doc["transfers"],
                parties=doc["parties"],
            )
            for row, doc in zip(rows, docs, strict=True)
        ]
    }


def compare_text(df: Any) -> str:
    """Return scenarios side by side for people.

    Given `compare_frame`'s columns, a date served by an earlier snapshot is
    marked ``*`` and a footnote says so.
    """
    early = (
        [bool(v) for v in df["earlier_snapshot"]]
        if "earlier_snapshot" in df.columns
        else [False] * len(df)
    )
    rows = [
        [
            r.scenario,
            f"{r.as_of}*" if e else r.as_of,
            r.ua_lost_km2,
            r.ua_gained_km2,
            r.ua_net_km2,
            r.dmz_km2,
            r.ratio,
            r.front_before_km,
            r.front_after_km,
        ]
        for r, e in zip(df.itertuples(), early, strict=True)
    ]
    table = text_table(
        rows,
        [
            "Scenario",
            "As of",
            "UA gives km²",
            "UA receives km²",
            "UA net km²",
            "DMZ km²",
            "Ratio",
            "Front before km",
            "Front after km",
        ],
        digits=[0, 0, 0, 0, 0, 0, 2, 0, 0],
    )
    if any(early):
        table += (
            "\n* no snapshot for that date: the map of the latest earlier one "
            "(its date is snapshot_as_of in --format csv or json)"
        )
    return table


def _note_html(control: Control) -> str:
    """The note on an earlier snapshot, as HTML (empty when the date has its own)."""
    import html

    return f"<i>Note: {html.escape(control.note)}.</i> " if control.note else ""


def evaluation_html(ev: Any) -> str:
    """Return an HTML summary (for notebooks): headline, transfers and balance tables."""
    import html

    from territory.maps import mini_map_svg

    t = ev.transfers_frame()[
        ["name", "from", "to", "area_km2", "regions", "rule"]
    ].round({"area_km2": 1})
    p = ev.parties_frame().round(1)
    ratio = f"{ev.ratio:,.2f}" if ev.ratio is not None else "–"
    return (
        f"<h4>{html.escape(ev.scenario.title)}</h4>"
        f"<p>Control as of {ev.control.as_of} ({html.escape(ev.control.snapshot.label)}). "
        f"{_note_html(ev.control)}Ukraine gives {ratio} km² per km² received; contact line {ev.front_before_km:,.0f} → "
        f"{ev.front_after_km:,.0f} km.</p>"
        + t.to_html(index=False, escape=True)
        + p.to_html(index=False, escape=True)
        + mini_map_svg(ev)
    )


def control_html(control: Control) -> str:
    """Return an HTML summary of a control map (for notebooks): regions with Russian-held land and a small map."""
    import html

    from territory.maps import mini_map_svg

    df = control.to_frame()
    df = df[df["occupied_km2"] > 0].sort_values("occupied_km2", ascending=False)
    cols = ["name", "land_km2", "occupied_km2", "held_km2", "occupied_pct"]
    return (
        f"<b>Control as of {control.as_of}</b> ({html.escape(control.snapshot.label)}). "
        f"{_note_html(control)}Regions with Russian-held land, km²:"
        + df[cols].round(1).to_html(index=False, escape=True)
        + mini_map_svg(control=control)
    )
