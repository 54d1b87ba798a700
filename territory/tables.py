"""Tidy tables for output: text tables for people, CSV and JSON for machines.

This is the only layer that rounds numbers; accounting keeps full precision.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from territory.accounting import (
    DMZ,
    FLOW_COLUMNS,
    FLOWS,
    LINE_AFTER_DEFINITION,
    RATIO_DEFINITIONS,
)
from territory.control import GREY, RU, UA

if TYPE_CHECKING:
    import pandas as pd

    from territory.accounting import Evaluation, Move
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


def format_number(value: Any, digits: int | None = 0) -> str:
    """Format a number with thousands separators; missing values as an en dash.

    `digits` None is for a column of text: a number in it gets none.
    """
    value = _clean(value)
    if value is None:
        return "–"
    if isinstance(value, float | int):
        return f"{value:,.{digits or 0}f}"
    return str(value)


def text_table(
    rows: Sequence[Sequence[Any]],
    headers: Sequence[str],
    *,
    digits: Sequence[int | None] | None = None,
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
PROVENANCE_COLUMNS = (
    "as_of",
    "snapshot",
    "snapshot_as_of",
    "earlier_snapshot",
    "map_version",
    "map_dated_by",
)


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
        (the date the snapshot shows), ``earlier_snapshot`` (True when the
        record has no snapshot for `as_of` and an earlier one was used),
        ``map_version`` (when DeepState published the map it shows, ISO UTC;
        empty when not established) and ``map_dated_by`` (how it was dated).

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
        "map_version": snapshot.version or "",
        "map_dated_by": snapshot.dated_by,
    }


def map_version_text(snapshot: Snapshot) -> str:
    """Return the map version a snapshot shows, in words, e.g. for a header line.

    >>> import datetime as dt
    >>> from territory.control import Snapshot
    >>> snap = Snapshot(
    ...     "k",
    ...     "daily 2025-08-16",
    ...     dt.date(2025, 8, 15),
    ...     None,
    ...     False,
    ...     "2025-08-15T16:37:13+00:00",
    ...     "matched to the history",
    ... )
    >>> map_version_text(snap)
    "DeepState's map of 2025-08-15 16:37 UTC (matched to the history)"
    """
    if snapshot.version:
        t = dt.datetime.fromisoformat(snapshot.version)
        when = t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"DeepState's map of {when} ({snapshot.dated_by})"
    if snapshot.dated_by:
        return f"DeepState's map of {snapshot.as_of} ({snapshot.dated_by})"
    return f"DeepState's map of {snapshot.as_of}"


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
    "border_gap_km2",
    "seam_km2",
)


def control_payload(control: Control, *, official_area_km2: float) -> dict[str, Any]:
    """Return the JSON document of a control table."""
    df = control.to_frame().reset_index()
    totals = control.totals(official_area_km2=official_area_km2)
    prov = provenance(control.as_of, control.snapshot)
    return {
        "as_of": control.as_of.isoformat(),
        "snapshot": {
            "label": control.snapshot.label,
            "as_of": control.snapshot.as_of.isoformat(),
            "published": control.snapshot.published,
            "grey_zone": control.snapshot.grey_zone,
            "map_version": control.snapshot.version,
            "map_dated_by": control.snapshot.dated_by,
        },
        "earlier_snapshot": prov["earlier_snapshot"],
        "note": control.note,
        "units": (
            "km²; occupied_pct is Russian-held land as % of the unit's land; "
            "occupied_pct_official is Russian-held land as % of the official area, which "
            "counts inland water and can differ from the land (over 100% in Crimea)"
        ),
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
    df = control.to_frame().reset_index().loc[:, list(CONTROL_COLUMNS)]
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
        "Official area km²",
    ]
    rows = [
        [
            r.name,
            r.land_km2,
            r.occupied_km2,
            *([r.grey_km2] if grey else []),
            r.held_km2,
            r.occupied_pct,
            r.official_area_km2,
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
            official_area_km2,
        ]
    ]
    digits = [0, 0, 0, *([0] if grey else []), 0, 2, 0]
    head = [
        f"Control as of {control.as_of} (evening), from {control.snapshot.label}: "
        f"{map_version_text(control.snapshot)}",
    ]
    if control.note:
        head.append(f"Note: {control.note}")
    table = text_table(rows, headers, digits=digits, footer=foot)
    tail = (
        f"% of land: Russian-held share of the unit's own land (land mask ∪ DeepState, "
        f"territorial sea excluded). Official area: the State Statistics Service's, "
        f"which counts inland water, for comparison (Ukraine {official_area_km2:,.0f} km²). "
        f"{totals['removed_km2']:,.0f} km² of coastline slivers and water DeepState draws "
        f"were removed from the land; {totals.get('border_gap_km2', 0) + totals.get('seam_km2', 0):,.0f} km² "
        "of gaps between DeepState's polygons and the border were given to the side around "
        "them (see DESIGN.md). Kherson: our share is about 1 point above DeepState's "
        "published one, because the 1-km land mask counts the Syvash bays and lagoons "
        "DeepState draws as occupied water as land (see DESIGN.md, Land and the partition)."
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
    """Return a DataFrame as CSV; every CSV goes through here.

    A named index (``region_id``, ``party``, ...: the key of the library's
    frames) becomes the first columns; an unnamed one (0..n) is left out.

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
    named = any(n is not None for n in df.index.names)
    out = df.reset_index() if named else df.copy()
    for col in out.columns:
        if not _is_numeric(out[col]):
            out[col] = out[col].map(_inert)
    return out.to_csv(index=False)


def rows_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Return plain rows (dicts) as CSV, as `frame_csv` writes a frame of them.

    For output built without pandas: the same text, byte for byte (floats
    as Python writes them, NaN and None as empty cells, text a spreadsheet
    would run as a formula made inert).

    Examples
    --------
    >>> print(
    ...     rows_csv(
    ...         [{"name": "=1+1", "km2": -1.5}, {"name": "Donbas", "km2": math.nan}],
    ...         ["name", "km2"],
    ...     )
    ... )
    name,km2
    '=1+1,-1.5
    Donbas,
    <BLANKLINE>
    """
    import csv
    import io

    def cell(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        return _inert(value)

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([cell(r[c]) for c in columns] for r in rows)
    return out.getvalue()


def frame_values(
    rows: Sequence[dict[str, Any]], columns: Sequence[str]
) -> list[dict[str, Any]]:
    """Return `rows` holding, column by column, the values a frame of them holds.

    For output built without pandas that must read as a frame's
    (`rows_csv`, `to_json`): a frame holds a column of numbers with a float
    or a missing value among them as floats, a missing one NaN (so a count
    with one row missing is written ``12.0``, a flow that is ``0`` on some
    rows ``0.0``); a column of whole numbers, and any other column (text,
    dates, flags), as it is, a missing value NaN.  Each row maps `columns`,
    in that order.

    Examples
    --------
    >>> frame_values([{"n": 1, "x": 0}, {"n": 2, "x": 0.5}], ["n", "x"])
    [{'n': 1, 'x': 0.0}, {'n': 2, 'x': 0.5}]
    >>> frame_values([{"n": 1}, {"n": None}], ["n"])
    [{'n': 1.0}, {'n': nan}]
    """
    out = [{c: r.get(c, math.nan) for c in columns} for r in rows]
    for c in columns:
        values = [r[c] for r in out]
        present = [v for v in values if not _missing(v)]
        numbers = all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in present
        )
        floats = len(present) < len(values) or any(
            isinstance(v, float) for v in present
        )
        if present and numbers and floats:
            for r in out:
                r[c] = math.nan if _missing(r[c]) else float(r[c])
    return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _is_numeric(series: Any) -> bool:
    """Return True for a numeric or boolean column (never rewritten by `frame_csv`)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return bool(is_numeric_dtype(series) or is_bool_dtype(series))


# --------------------------------------------------------------------------- scenarios

PARTY_NAMES = {
    "UA": "Ukraine",
    "RU": "Russia",
    "DMZ": "Demilitarised zone",
    "GREY": "Grey zone",
}

#: Every flow of `territory.accounting.FLOWS`, in words.
FLOW_LABELS = {
    (UA, RU): "Ukraine cedes to Russia",
    (RU, UA): "Russia cedes to Ukraine",
    (UA, DMZ): "Ukraine gives to demilitarised zones",
    (RU, DMZ): "Russia gives to demilitarised zones",
    (GREY, DMZ): "Grey-zone land joins demilitarised zones",
}


#: Columns of every scenario CSV that put the ratios and the line into words.
DEFINITION_COLUMNS = {
    "cession_ratio_definition": RATIO_DEFINITIONS["cession"],
    "zone_ratio_definition": RATIO_DEFINITIONS["zone"],
    "contact_line_definition": LINE_AFTER_DEFINITION,
}


def shown_flows(ev: Evaluation) -> list[dict[str, Any]]:
    """Return the flows shown to people, each with its ``label`` in words.

    Every flow of `Evaluation.flows` (``from``, ``to``, ``area_km2``), zeros
    included, except GREY→DMZ when no grey-zone land joins a zone.
    """
    return [
        dict(f, label=FLOW_LABELS[(f["from"], f["to"])])
        for f in ev.flows()
        if f["from"] != GREY or f["area_km2"] > 0
    ]


def reciprocity_text(ev: Evaluation) -> str:
    """Say in words what each side cedes to the other and gives to zones.

    "Receives nothing in return" is said only when Ukraine cedes land to
    Russia and Russia cedes none to Ukraine (the cession ratio is then none);
    with no cession either way, it says so: a pure mirror zone gives
    ``"No cession: neither side cedes land to the other. Zones: ..."``.
    """
    ua_ru, ru_ua = ev.flow_km2(UA, RU), ev.flow_km2(RU, UA)
    ua_dmz, ru_dmz = ev.flow_km2(UA, DMZ), ev.flow_km2(RU, DMZ)
    ratios = ev.ratios
    if ua_ru > 0 and ru_ua > 0:
        cession = (
            f"Ukraine cedes {ua_ru:,.0f} km² to Russia and Russia {ru_ua:,.0f} km² to "
            f"Ukraine: {ratios['cession']:,.2f} km² for each km² Ukraine receives."
        )
    elif ua_ru > 0:
        cession = (
            f"Ukraine cedes {ua_ru:,.0f} km² to Russia and receives nothing in return "
            "(Russia cedes no land to Ukraine)."
        )
    elif ru_ua > 0:
        cession = (
            f"Russia cedes {ru_ua:,.0f} km² to Ukraine; Ukraine cedes none to Russia."
        )
    else:
        cession = "No cession: neither side cedes land to the other."
    if ua_dmz > 0 and ru_dmz > 0:
        zone = (
            f" Zones: Ukraine gives {ua_dmz:,.0f} km² and Russia {ru_dmz:,.0f} km²: "
            f"{ratios['zone']:,.2f} km² from Ukraine for each km² from Russia."
        )
    elif ua_dmz > 0:
        zone = f" Zones: Ukraine gives {ua_dmz:,.0f} km²; Russia gives none."
    elif ru_dmz > 0:
        zone = f" Zones: Russia gives {ru_dmz:,.0f} km²; Ukraine gives none."
    else:
        zone = ""
    return cession + zone


def contact_line_rows(ev: Evaluation) -> list[tuple[str, float]]:
    """Return the contact line for people, km: before, direct contact after, zone edges.

    Each zone (or transfer to DMZ) gives two rows, its Ukrainian and its
    Russian edge; `LINE_AFTER_DEFINITION` says what "after" measures.
    """
    rows = [
        ("before", ev.front_before_km),
        ("after: direct contact", ev.front_after_km),
    ]
    for z in ev.line_after.zones:
        rows += [
            (f"after: {z.name}, Ukrainian edge", z.ua_edge_km),
            (f"after: {z.name}, Russian edge", z.ru_edge_km),
        ]
    return rows


def contact_line_payload(ev: Evaluation) -> dict[str, Any]:
    """Return the contact line as JSON: before, direct contact after, zone edges (km)."""
    return {
        "before": ev.front_before_km,
        "after_direct": ev.front_after_km,
        "zones": [
            {"name": z.name, "ua_edge_km": z.ua_edge_km, "ru_edge_km": z.ru_edge_km}
            for z in ev.line_after.zones
        ],
        "definition": LINE_AFTER_DEFINITION,
    }


def people_payload(m: Move, control: Control) -> dict[str, Any] | None:
    """Return a move's people for JSON (None when people were not counted).

    The count of `territory.people.count_people` (``population``,
    ``definition``, ``capped``, ...) and ``official_counts``: the official
    counts that apply to the move, each with its date and source
    (`territory.people.official_counts_for`; empty when none applies).
    """
    if m.people is None:
        return None
    from territory.people import official_counts_for

    return {
        **m.people,
        "official_counts": official_counts_for(m.source, m.regions, control),
    }


def people_lines(ev: Evaluation) -> list[str]:
    """Return what the people column means, and the figures beside it, as text lines.

    Nothing when people were not counted. Otherwise the definition
    (`territory.people.PEOPLE_DEFINITION`), then per move every unit capped
    at its pre-war population and every official count that applies, with
    its date and source.
    """
    if any(m.people is None for m in ev.moves):
        return []
    from territory.people import PEOPLE_DEFINITION, official_counts_for

    lines = [f"People: {PEOPLE_DEFINITION}."]
    for m in ev.moves:
        people = m.people or {}
        for c in people.get("capped", []):
            lines.append(
                f"  {m.name}: {c['region']} capped at its pre-war population, "
                f"{c['prewar']:,} ({c['prewar_date']}); its named places add up "
                f"to {c['named_places']:,}."
            )
        for c in official_counts_for(m.source, m.regions, ev.control):
            days = c["days_from_as_of"]
            when = (
                f"{abs(days)} days {'after' if days > 0 else 'before'} the map's date"
                if days
                else "the map's date"
            )
            lines.append(
                f"  {m.name}: official count: {c['count']:,} {c['what']} on "
                f"{c['date']} ({when}; {c['source']}, {c['address']}); the move "
                f"takes {100 * c['share_of_land']:.0f}% of that land."
            )
    return lines


def evaluation_payload(ev: Evaluation) -> dict[str, Any]:
    """Return the JSON document of an evaluation (areas in km², lengths in km).

    Besides the transfers (each with its ``group``: the transfer or zone it
    belongs to) and the parties: ``flows`` (every flow of
    `territory.accounting.FLOWS`, zeros included), ``ratios`` (cession and
    zone) with ``ratio_definitions``, ``ratio`` (the cession ratio) and
    ``contact_line_km`` (before, direct contact after, each zone's edges, and
    the definition of "after").
    """
    sc = ev.scenario
    # each party's row, by party (the frame's index), every column of it
    parties = ev.parties_frame().to_dict("index")
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
                "group": m.group,
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
                "people": people_payload(m, ev.control),
            }
            for m in ev.moves
        ],
        "parties": parties,
        "flows": ev.flows(),
        "ratios": ev.ratios,
        "ratio_definitions": dict(RATIO_DEFINITIONS),
        "ratio": ev.ratio,
        "ratio_definition": RATIO_DEFINITIONS["cession"],
        "land_km2": ev.land_km2,
        "land_definition": "land of Ukraine's 27 units (territorial sea excluded) on the as-of date",
        "contact_line_km": contact_line_payload(ev),
        "warnings": ev.warnings,
        "invariants": {"holdings_after_sum_to_land": True, "relative_tolerance": 1e-9},
    }


#: Columns of `evaluation_csv`, then `PROVENANCE_COLUMNS`.
EVALUATION_COLUMNS = (
    "name",
    "kind",
    "from",
    "to",
    "region_id",
    "region",
    "area_km2",
    "group",
    "zone_ua_edge_km",
    "zone_ru_edge_km",
    *FLOW_COLUMNS,
    "cession_ratio",
    "zone_ratio",
    "front_before_km",
    "front_after_km",
    *DEFINITION_COLUMNS,
)


def evaluation_csv(ev: Evaluation) -> str:
    """Return one CSV row per transfer (or zone side) and region, areas in km².

    Columns (`EVALUATION_COLUMNS`): ``name`` (of the move), ``kind``, ``from``,
    ``to``, ``region_id``, ``region`` (its name), ``area_km2`` (in that
    region); ``group`` (the transfer or zone the move belongs to) and, for a
    move into a demilitarised zone, ``zone_ua_edge_km`` / ``zone_ru_edge_km``
    (that zone's Ukrainian and Russian edges after, km; empty otherwise).
    Then, the same on every row, the scenario's totals: every flow
    (``ua_to_ru_km2`` ... ``grey_to_dmz_km2``, as in ``territory compare``),
    ``cession_ratio`` and ``zone_ratio`` (empty: none), ``front_before_km``
    and ``front_after_km`` (the direct contact after), the definitions in
    words (`DEFINITION_COLUMNS`), and which map was used
    (`PROVENANCE_COLUMNS`).
    """
    edges = {z.name: z for z in ev.line_after.zones}
    ratios = ev.ratios
    totals: dict[str, Any] = {
        **{c: ev.flow_km2(a, b) for c, (a, b) in zip(FLOW_COLUMNS, FLOWS, strict=True)},
        "cession_ratio": ratios["cession"],
        "zone_ratio": ratios["zone"],
        "front_before_km": ev.front_before_km,
        "front_after_km": ev.front_after_km,
        **DEFINITION_COLUMNS,
    }
    frame = ev.regions_frame().reset_index()
    into_zone = frame["to"] == DMZ
    for col, attr in (
        ("zone_ua_edge_km", "ua_edge_km"),
        ("zone_ru_edge_km", "ru_edge_km"),
    ):
        frame[col] = [
            getattr(edges[g], attr) if z and g in edges else None
            for g, z in zip(frame["group"], into_zone, strict=True)
        ]
    frame = frame.assign(**totals).reindex(columns=list(EVALUATION_COLUMNS))
    prov = provenance(ev.control.as_of, ev.control.snapshot)
    return frame_csv(frame.assign(**prov))


#: The tables ``territory evaluate --format csv --table`` gives.
EVALUATION_TABLES = ("regions", "transfers", "parties", "flows")


def evaluation_table_csv(ev: Evaluation, table: str = "regions") -> str:
    """Return one of the evaluation's tables as CSV, each row with its map.

    ``regions`` is `evaluation_csv` (one row per move and region, the
    scenario's totals on every row); ``transfers`` one row per transfer or
    zone (``name``, ``kind``, ``from``, ``to``, ``area_km2``, ``regions``,
    ``rule``, ``population``); ``parties`` one row per party (before, after,
    gained, lost, net km² and shares of the land, %); ``flows`` one row per
    flow (``flow`` in words, ``from``, ``to``, ``area_km2``) with both ratios
    and their definitions.  Every row ends with the scenario's title and the
    map it was measured on (`PROVENANCE_COLUMNS`).
    """
    import pandas as pd

    if table == "regions":
        return evaluation_csv(ev)
    if table == "transfers":
        frame = ev.transfers_frame().reset_index()
    elif table == "parties":
        frame = ev.parties_frame().reset_index()
    elif table == "flows":
        ratios = ev.ratios
        frame = pd.DataFrame(
            [
                {
                    "flow": f["label"],
                    "from": f["from"],
                    "to": f["to"],
                    "area_km2": f["area_km2"],
                    "cession_ratio": ratios["cession"],
                    "zone_ratio": ratios["zone"],
                    **{k: v for k, v in DEFINITION_COLUMNS.items() if "ratio" in k},
                }
                for f in shown_flows(ev)
            ]
        )
    else:
        msg = f"unknown table {table!r}; choose one of {', '.join(EVALUATION_TABLES)}"
        raise ValueError(msg)
    frame = frame.assign(scenario=ev.scenario.title)
    return frame_csv(frame.assign(**provenance(ev.control.as_of, ev.control.snapshot)))


def _flows_table(ev: Evaluation) -> str:
    rows = [
        [f["label"], f"{f['from']} → {f['to']}", f["area_km2"]] for f in shown_flows(ev)
    ]
    return text_table(rows, ["Flow", "From → to", "Area km²"], digits=[0, 0, 0])


def _ratios_table(ev: Evaluation) -> str:
    ratios = ev.ratios
    rows = [
        [name, ratio_text(ratios[name]), RATIO_DEFINITIONS[name]]
        for name in ("cession", "zone")
    ]
    return text_table(rows, ["Ratio", "Value", "Definition"], digits=[0, 0, 0])


def ratio_text(value: float | None) -> str:
    """Return a ratio for people: two decimals, or "none" (no denominator)."""
    return "none" if value is None else f"{value:,.2f}"


def evaluation_text(ev: Evaluation) -> str:
    """Return the evaluation for people: moves and rules, flows, ratios, balance, line."""
    sc = ev.scenario
    lines = [
        sc.title,
        f"Control as of {ev.control.as_of} (evening), from {ev.control.snapshot.label}: "
        f"{map_version_text(ev.control.snapshot)}",
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
            ["Transfer", "Direction", "Area km²", "Regions", "People (named places)"],
            digits=[0, 0, 0, 0, 0],
        )
    )
    lines.append("")
    lines.append("Selection rules:")
    for m in ev.moves:
        lines.append(f"  {m.name}: {m.rule}")
        if m.claim:
            lines.append(f"    claim: {m.claim}")
    lines += ["", "Flows:", _flows_table(ev), "", "Ratios:", _ratios_table(ev)]
    lines += ["", f"Reciprocity: {reciprocity_text(ev)}", ""]
    pf = ev.parties_frame().reset_index()
    prow = [
        [
            PARTY_NAMES.get(str(r.party), str(r.party)),
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
                "Holding before km²",
                "Gives km²",
                "Receives km²",
                "Net km²",
                "Holding after km²",
                "% before",
                "% after",
            ],
            digits=[0, 0, 0, 0, 0, 0, 1, 1],
        )
    )
    lines += [
        "",
        "Contact line:",
        text_table(contact_line_rows(ev), ["Line", "km"], digits=[0, 0]),
        f"({LINE_AFTER_DEFINITION})",
        f"Shares are of Ukraine's land on {ev.control.as_of}: {ev.land_km2:,.0f} km² (territorial sea excluded).",
    ]
    lines += people_lines(ev)
    for w in ev.warnings:
        lines.append(f"Warning: {w}")
    return "\n".join(lines)


def compare_frame(evs: Sequence[Evaluation], df: pd.DataFrame) -> pd.DataFrame:
    """Return the comparison `df` (`territory.accounting.compare`) with which map each row used.

    Adds ``snapshot``, ``snapshot_as_of`` and ``earlier_snapshot`` (``as_of``
    is already there) from the evaluations `evs`, in the same order.
    """
    prov = [provenance(ev.control.as_of, ev.control.snapshot) for ev in evs]
    out = df.copy()
    for col in PROVENANCE_COLUMNS:
        out[col] = [p[col] for p in prov]
    return out


def compare_csv(evs: Sequence[Evaluation], df: pd.DataFrame) -> str:
    """Return the comparison as CSV, one row per scenario, with the map each used.

    The columns of `territory.accounting.compare` (every flow, what each side
    gives and receives, both ratios, the contact line), the definitions in
    words (`DEFINITION_COLUMNS`), then `PROVENANCE_COLUMNS`.
    """
    out = compare_frame(evs, df)
    out = out.assign(**DEFINITION_COLUMNS)
    front = [c for c in out.columns if c not in PROVENANCE_COLUMNS]
    return frame_csv(out.loc[:, [*front, *PROVENANCE_COLUMNS]])


def compare_payload(evs: Sequence[Evaluation], df: pd.DataFrame) -> dict[str, Any]:
    """Return the JSON document of a comparison: one entry per scenario.

    Each entry is a row of `compare_frame` (its own ``as_of``; every flow,
    ``ua_gives_km2`` ... ``ru_receives_km2``, both ratios, the contact line),
    plus the ``note`` on the snapshot (None unless an earlier one was used),
    the ``transfers``, ``parties``, ``flows`` and ``contact_line_km`` (each
    zone's edges) of `evaluation_payload`.  ``ratio_definitions`` and
    ``contact_line_definition`` say what the ratios and "after" measure.
    """
    rows = cast("list[dict[str, Any]]", compare_frame(evs, df).to_dict("records"))
    docs = [evaluation_payload(ev) for ev in evs]
    return {
        "ratio_definitions": dict(RATIO_DEFINITIONS),
        "contact_line_definition": LINE_AFTER_DEFINITION,
        "scenarios": [
            dict(
                row,
                note=doc["note"],
                transfers=doc["transfers"],
                parties=doc["parties"],
                flows=doc["flows"],
                contact_line_km=doc["contact_line_km"],
            )
            for row, doc in zip(rows, docs, strict=True)
        ],
    }


def compare_text(df: Any) -> str:
    """Return scenarios side by side for people: flows and ratios, then balance and line.

    Given `compare_frame`'s columns, a date served by an earlier snapshot is
    marked ``*`` and a footnote says so.  Each scenario is on its own as-of
    date (the "As of" column of both tables).
    """
    early = (
        [bool(v) for v in df["earlier_snapshot"]]
        if "earlier_snapshot" in df.columns
        else [False] * len(df)
    )
    dates = [f"{d}*" if e else d for d, e in zip(df["as_of"], early, strict=True)]
    grey = bool((df["grey_to_dmz_km2"] > 0).any())
    flows = [(c, h) for c, h in zip(FLOW_COLUMNS, _FLOW_HEADERS, strict=True)]
    if not grey:
        flows = flows[:-1]
    recs = df.to_dict("records")
    first = text_table(
        [
            [
                r["scenario"],
                d,
                *(r[c] for c, _ in flows),
                r["cession_ratio"],
                r["zone_ratio"],
            ]
            for r, d in zip(recs, dates, strict=True)
        ],
        ["Scenario", "As of", *(h for _, h in flows), "Cession ratio", "Zone ratio"],
        digits=[0, 0, *(0 for _ in flows), 2, 2],
    )
    second = text_table(
        [
            [r["scenario"], d, *(r[c] for c, _ in _BALANCE_COLUMNS)]
            for r, d in zip(recs, dates, strict=True)
        ],
        ["Scenario", "As of", *(h for _, h in _BALANCE_COLUMNS)],
        digits=[0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
    )
    notes = [
        "Flows in km². Ratios ('–': none):",
        *(f"  {name} ratio: {RATIO_DEFINITIONS[name]}" for name in ("cession", "zone")),
        "Gives: to the other side and to zones; receives: from the other side.",
        "Contact line in km: before, where Russian-held land meets other land on "
        f"the as-of date; direct after and zone edges, {LINE_AFTER_DEFINITION}.",
    ]
    if any(early):
        notes.append(
            "* no snapshot for that date: the map of the latest earlier one "
            "(its date is snapshot_as_of in --format csv or json)"
        )
    return "\n".join([first, "", second, "", *notes])


_FLOW_HEADERS = ("UA→RU km²", "RU→UA km²", "UA→DMZ km²", "RU→DMZ km²", "GREY→DMZ km²")

_BALANCE_COLUMNS = (
    ("ua_gives_km2", "UA gives km²"),
    ("ua_receives_km2", "UA receives km²"),
    ("ru_gives_km2", "RU gives km²"),
    ("ru_receives_km2", "RU receives km²"),
    ("ua_share_after_pct", "UA % after"),
    ("front_before_km", "Line before km"),
    ("front_after_km", "Direct after km"),
    ("zone_ua_edge_km", "Zone UA edge km"),
    ("zone_ru_edge_km", "Zone RU edge km"),
)


# --------------------------------------------------------------------------- HTML

#: The style of `html_table` (class ``territory-table``): pages and notebooks include it.
TABLE_CSS = (
    ".territory-table{border-collapse:collapse;margin:3px 0 6px}"
    ".territory-table th{text-align:left;padding:1px 10px 2px 0;"
    "border-bottom:1px solid #868e96;vertical-align:bottom;font-weight:600}"
    ".territory-table td{text-align:left;padding:1px 10px 1px 0;vertical-align:top}"
    ".territory-table .num{text-align:right;white-space:nowrap}"
    ".territory-def{font-size:11px;color:#495057}"
)


def html_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Sequence[bool]
) -> str:
    """Return a small HTML table (class ``territory-table``, see `TABLE_CSS`).

    The column headers are ruled off from the rows.  `headers` and `rows` are
    HTML already (text escaped with `territory.maps.style.esc`); `numeric`
    right-aligns a column (class ``num``).
    """

    def cell(tag: str, value: str, num: bool) -> str:
        return (
            f'<{tag} class="num">{value}</{tag}>' if num else f"<{tag}>{value}</{tag}>"
        )

    head = "".join(cell("th", h, n) for h, n in zip(headers, numeric, strict=True))
    body = "".join(
        "<tr>"
        + "".join(cell("td", v, n) for v, n in zip(r, numeric, strict=True))
        + "</tr>"
        for r in rows
    )
    return f'<table class="territory-table"><tr>{head}</tr>{body}</table>'


def summary_html(ev: Evaluation) -> str:
    """Return the flows, both ratios and the contact line of an evaluation as HTML.

    Three tables with ruled-off headers (flows; ratios with their
    definitions; the line before, the direct contact after and each zone's
    edges), the reciprocity in words (`reciprocity_text`) and what "after"
    measures.  Text from the scenario (zone names) is escaped with
    `territory.maps.style.esc`.  Used by the map's headline and the notebook repr.
    """
    from territory.maps.style import esc

    flows = html_table(
        ["Flow", "km²"],
        [[esc(f["label"]), f"{f['area_km2']:,.0f}"] for f in shown_flows(ev)],
        numeric=[False, True],
    )
    ratios = ev.ratios
    ratio = html_table(
        ["Ratio", "Value", "What it measures"],
        [
            [
                name,
                ratio_text(ratios[name]),
                f'<span class="territory-def">{esc(RATIO_DEFINITIONS[name])}</span>',
            ]
            for name in ("cession", "zone")
        ],
        numeric=[False, True, False],
    )
    line = html_table(
        ["Contact line", "km"],
        [[esc(label), f"{km:,.0f}"] for label, km in contact_line_rows(ev)],
        numeric=[False, True],
    )
    return (
        f"{flows}{ratio}<div>{esc(reciprocity_text(ev))}</div>{line}"
        f'<div class="territory-def">{esc(LINE_AFTER_DEFINITION)}.</div>'
    )


def _note_html(control: Control) -> str:
    """Return the note on an earlier snapshot, as HTML (empty when the date has its own)."""
    import html

    return f"<i>Note: {html.escape(control.note)}.</i> " if control.note else ""


def evaluation_html(ev: Evaluation) -> str:
    """Return an HTML summary (for notebooks): flows, ratios, line, moves, balance, map."""
    from territory.maps.style import esc
    from territory.maps.svg import mini_map_svg

    t = (
        ev.transfers_frame()
        .reset_index()[["name", "from", "to", "area_km2", "regions", "rule"]]
        .round({"area_km2": 1})
    )
    p = ev.parties_frame().reset_index().round(1)
    return (
        f"<style>{TABLE_CSS}</style><h4>{esc(ev.scenario.title)}</h4>"
        f"<p>Control as of {ev.control.as_of} ({esc(ev.control.snapshot.label)}). "
        f"{_note_html(ev.control)}</p>"
        + summary_html(ev)
        + t.to_html(index=False, escape=True)
        + p.to_html(index=False, escape=True)
        + mini_map_svg(ev)
    )


def control_html(control: Control) -> str:
    """Return an HTML summary of a control map (for notebooks): regions with Russian-held land and a small map."""
    import html

    from territory.maps.svg import mini_map_svg

    df = control.to_frame()
    df = df[df["occupied_km2"] > 0].sort_values("occupied_km2", ascending=False)
    cols = ["name", "land_km2", "occupied_km2", "held_km2", "occupied_pct"]
    return (
        f"<b>Control as of {control.as_of}</b> ({html.escape(control.snapshot.label)}). "
        f"{_note_html(control)}Regions with Russian-held land, km²:"
        + df[cols].round(1).to_html(index=False, escape=True)
        + mini_map_svg(control=control)
    )


# Notebook display is presentation: this layer provides it and attaches it to
# the domain and accounting classes when it is imported, so that they never
# import upwards (`territory` imports this module on first use of its API).
def _attach_notebook_display() -> None:
    from territory.accounting import Evaluation
    from territory.control import Control

    # attached here, on first use, so the classes need not import this module
    Control._repr_html_ = control_html  # type: ignore[attr-defined]
    Evaluation._repr_html_ = evaluation_html  # type: ignore[attr-defined]


_attach_notebook_display()
