"""Swap scenarios: small declarative TOML files of named transfers and zones.

A scenario says which land moves from one party to another (or to a neutral
demilitarised zone), each transfer selected by a rule a reader can audit.
This module parses and checks the file; `territory.accounting` evaluates it.

Example
-------
.. code-block:: toml

    [scenario]
    title = "Alaska summit offer"
    as_of = "2025-08-15"
    source = "Reuters, 16 Aug 2025"

    [[transfers]]
    name = "Ukraine withdraws from Donbas"
    from = "UA"
    to = "RU"
    claim = "Kyiv would withdraw fully from Donetsk and Luhansk"
    select = { regions = ["Donetsk", "Luhansk"] }
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from territory.errors import DataError, ScenarioFormatError
from territory.regions import RegionTable, load_region_table

#: Parties a transfer can name; DMZ is the neutral status of demilitarised zones.
PARTIES = ("UA", "RU", "DMZ")
PARTY_ADJECTIVE = {"UA": "Ukrainian-held", "RU": "Russian-held", "DMZ": "demilitarised"}

_RULE_KEYS = {
    "all",
    "regions",
    "connected",
    "within_km_of_front",
    "within_km_of_border",
    "polygons",
    "geometry",
    "exclude",
}
_TRANSFER_KEYS = {"name", "from", "to", "select", "claim", "note", "sovereignty"}
_ZONE_KEYS = {"name", "along", "depth_km", "withdraw", "claim", "note", "sovereignty"}
_META_KEYS = {"title", "as_of", "source", "citation", "description", "default"}


@dataclass(frozen=True, slots=True)
class Rule:
    """Which land a transfer moves: every given criterion must hold.

    Attributes
    ----------
    everything
        All land the giving party holds.
    regions
        Region ids (ISO 3166-2): only land inside these regions.
    region_names
        The regions as the file names them (for the rule in words).
    connected
        With `regions`: keep only the parts of the giver's holdings that are
        (True) or are not (False) connected to its holdings outside them.
    within_km_of_front, within_km_of_border
        Only land within this true distance (km) of the contact line on the
        as-of date, or of the state land border.
    border_with
        With `within_km_of_border`: only the border with these neighbours
        (ISO 3166-1 alpha-2 codes: RU, BY, PL, SK, HU, RO, MD); empty means
        every land border.
    polygons
        Vector files (relative to the scenario) whose polygons bound the land.
    geometries
        Inline GeoJSON geometries (lon/lat) bounding the land.
    exclude
        A rule whose land is taken out of this one's.
    """

    everything: bool = False
    regions: tuple[str, ...] = ()
    region_names: tuple[str, ...] = ()
    connected: bool | None = None
    within_km_of_front: float | None = None
    within_km_of_border: float | None = None
    border_with: tuple[str, ...] = ()
    polygons: tuple[Path, ...] = ()
    geometries: tuple[dict[str, Any], ...] = ()
    exclude: Rule | None = None

    def describe(self, giver: str | None = None) -> str:
        """Return the rule in words, e.g. "Ukrainian-held land in Donetsk and Luhansk"."""
        parts = []
        if self.everything:
            parts.append("everywhere")
        if self.region_names:
            parts.append("in " + _join(list(self.region_names)))
        if self.connected is not None:
            who = PARTY_ADJECTIVE.get(giver or "", "its")
            kind = "connected" if self.connected else "not connected"
            parts.append(
                f"only the parts {kind} to {who} land outside {_join(list(self.region_names))}"
            )
        if self.within_km_of_front is not None:
            parts.append(f"within {self.within_km_of_front:g} km of the contact line")
        if self.within_km_of_border is not None:
            parts.append(f"within {self.within_km_of_border:g} km of the state border")
        if self.polygons:
            parts.append(
                "inside the polygons of " + _join([p.name for p in self.polygons])
            )
        if self.geometries:
            parts.append(
                f"inside {len(self.geometries)} polygon(s) given in the scenario"
            )
        text = ", ".join(parts)
        if self.exclude is not None:
            text += f", except land {self.exclude.describe(None)}"
        if giver is not None:
            return f"{PARTY_ADJECTIVE.get(giver, giver)} land {text}"
        return text


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True, slots=True)
class Transfer:
    """One area handed from one party to another."""

    name: str
    source: str
    target: str
    rule: Rule
    claim: str = ""
    note: str = ""
    sovereignty: str | None = None

    def describe(self) -> str:
        """Return the selection rule in words."""
        return self.rule.describe(self.source)


@dataclass(frozen=True, slots=True)
class Zone:
    """A demilitarised buffer along the contact line that results from the transfers.

    Each party in `withdraw` pulls back `depth_km` (true distance) from the
    line; the land it leaves becomes neutral (DMZ).  One party: one-sided zone;
    both: a zone of twice the depth, centred on the line.
    """

    name: str
    depth_km: float
    withdraw: tuple[str, ...]
    along: str = "front"
    claim: str = ""
    note: str = ""
    sovereignty: str | None = None

    def describe(self) -> str:
        """Return the zone rule in words."""
        who = " and ".join(PARTY_ADJECTIVE[p].split("-")[0] for p in self.withdraw)
        side = "two-sided" if len(self.withdraw) > 1 else "one-sided"
        return f"{who} forces pull back {self.depth_km:g} km from the contact line after the transfers ({side})"


@dataclass(frozen=True, slots=True)
class Scenario:
    """A swap scenario: metadata, transfers and zones."""

    title: str
    as_of: dt.date
    transfers: tuple[Transfer, ...]
    zones: tuple[Zone, ...] = ()
    source: str = ""
    citation: str = ""
    description: str = ""
    path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The file name, or the title when the scenario was built in code."""
        return self.path.name if self.path else self.title

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><td>{html.escape(t.name)}</td><td>{t.source}→{t.target}</td>"
            f"<td>{html.escape(t.describe())}</td></tr>"
            for t in self.transfers
        )
        rows += "".join(
            f"<tr><td>{html.escape(z.name)}</td><td>{'+'.join(z.withdraw)}→DMZ</td>"
            f"<td>{html.escape(z.describe())}</td></tr>"
            for z in self.zones
        )
        return (
            f"<b>{html.escape(self.title)}</b> (as of {self.as_of})<br>"
            f"<table><tr><th>Transfer or zone</th><th>Direction</th><th>Rule</th></tr>{rows}</table>"
        )


# --------------------------------------------------------------------------- parsing


class _Ctx:
    def __init__(self, path: Path | None, table: RegionTable) -> None:
        self.path = path
        self.table = table
        self.where = path.name if path else "scenario"

    def fail(self, what: str, problem: str, fix: str) -> ScenarioFormatError:
        return ScenarioFormatError(f"{self.where}: {what}: {problem}; {fix}")


def _parse_rule(raw: Any, ctx: _Ctx, what: str, giver: str) -> Rule:
    if not isinstance(raw, dict):
        raise ctx.fail(
            what, "'select' must be a table", 'write select = { regions = ["Donetsk"] }'
        )
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise ctx.fail(
            what,
            f"unknown selection key(s) {sorted(unknown)}",
            f"use {sorted(_RULE_KEYS)}",
        )
    criteria = set(raw) - {"exclude"}
    if not criteria:
        raise ctx.fail(
            what,
            "the selection rule is empty",
            "say which land moves (regions, polygons, all = true, ...)",
        )
    regions: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    if "regions" in raw:
        rv = raw["regions"]
        if isinstance(rv, str):
            rv = [rv]
        if (
            not isinstance(rv, list)
            or not rv
            or not all(isinstance(x, str) for x in rv)
        ):
            raise ctx.fail(
                what,
                "'regions' must be a list of region names or codes",
                'write regions = ["Donetsk", "Luhansk"]',
            )
        try:
            regions = tuple(ctx.table.ids(rv))
        except DataError as err:  # the lookup's message already names the fix
            raise ScenarioFormatError(f"{ctx.where}: {what}: {err}") from None
        names = tuple(ctx.table.regions[r].name for r in regions)
    connected = raw.get("connected")
    if connected is not None:
        if not isinstance(connected, bool):
            raise ctx.fail(
                what,
                "'connected' must be true or false",
                "write connected = false for pockets",
            )
        if not regions:
            raise ctx.fail(
                what,
                "'connected' needs 'regions'",
                "name the regions whose pockets you mean",
            )
    dist = {}
    for key in ("within_km_of_front", "within_km_of_border"):
        if key in raw:
            v = raw[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
                raise ctx.fail(
                    what,
                    f"'{key}' must be a positive number of km",
                    f"write {key} = 10",
                )
            dist[key] = float(v)
    polygons: tuple[Path, ...] = ()
    if "polygons" in raw:
        pv = raw["polygons"]
        pv = [pv] if isinstance(pv, str) else pv
        if not isinstance(pv, list) or not all(isinstance(x, str) for x in pv):
            raise ctx.fail(
                what,
                "'polygons' must be a file name or a list of them",
                'write polygons = "zone.geojson"',
            )
        base = ctx.path.parent if ctx.path else Path.cwd()
        polygons = tuple((base / x).resolve() for x in pv)
        for p in polygons:
            if not p.is_file():
                raise ctx.fail(
                    what,
                    f"polygon file {p.name!r} not found next to the scenario",
                    f"put it in {base}",
                )
    geometries: tuple[dict[str, Any], ...] = ()
    if "geometry" in raw:
        gv = raw["geometry"]
        gv = [gv] if isinstance(gv, dict) else gv
        if not isinstance(gv, list) or not all(
            isinstance(g, dict) and g.get("type") in ("Polygon", "MultiPolygon")
            for g in gv
        ):
            raise ctx.fail(
                what,
                "'geometry' must be a GeoJSON Polygon or MultiPolygon",
                'write geometry = { type = "Polygon", coordinates = [[[lon, lat], ...]] }',
            )
        _check_inline(gv, ctx, what)
        geometries = tuple(gv)
    everything = raw.get("all", False)
    if not isinstance(everything, bool):
        raise ctx.fail(what, "'all' must be true or false", "write all = true")
    exclude = (
        _parse_rule(raw["exclude"], ctx, f"{what} (exclude)", giver)
        if "exclude" in raw
        else None
    )
    return Rule(
        everything=everything,
        regions=regions,
        region_names=names,
        connected=connected,
        polygons=polygons,
        geometries=geometries,
        exclude=exclude,
        **dist,
    )


def _check_inline(geoms: list[dict[str, Any]], ctx: _Ctx, what: str) -> None:
    import shapely
    from shapely.geometry import shape

    for g in geoms:
        try:
            geom = shape(g)
        except Exception as err:  # shapely raises several types for bad coordinates
            raise ctx.fail(
                what,
                f"inline geometry is malformed ({err})",
                "give [[lon, lat], ...] rings, closed",
            ) from None
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise ctx.fail(
                what,
                "inline geometry is not lon/lat",
                "give coordinates as [lon, lat] in degrees (EPSG:4326)",
            )
        if not shapely.is_valid(geom):
            raise ctx.fail(
                what,
                f"inline geometry is invalid ({shapely.is_valid_reason(geom)})",
                "fix the ring (no self-intersections)",
            )


def _party(value: Any, ctx: _Ctx, what: str, key: str) -> str:
    if not isinstance(value, str) or value.upper() not in PARTIES:
        raise ctx.fail(
            what, f"'{key}' is {value!r}", f"use one of {', '.join(PARTIES)}"
        )
    return value.upper()


def _sovereignty(raw: dict[str, Any], ctx: _Ctx, what: str) -> str | None:
    """Whose sovereignty land moved to a demilitarised zone falls under (optional)."""
    sov = raw.get("sovereignty")
    return None if sov is None else _party(sov, ctx, what, "sovereignty")


def _text(raw: dict[str, Any], key: str, ctx: _Ctx, what: str) -> str:
    v = raw.get(key, "")
    if not isinstance(v, str):
        raise ctx.fail(what, f"'{key}' must be text", f'write {key} = "..."')
    return v


def parse_scenario(
    raw: dict[str, Any], *, path: Path | None = None, table: RegionTable | None = None
) -> Scenario:
    """Build a `Scenario` from a parsed TOML/JSON document.

    Raises
    ------
    ScenarioFormatError
        If the document is malformed; the message names the file, the
        transfer and the fix.
    """
    ctx = _Ctx(path, table or load_region_table())
    meta = raw.get("scenario")
    if not isinstance(meta, dict):
        raise ctx.fail(
            "[scenario]",
            "the table is missing",
            'start the file with [scenario] title = "..." as_of = "YYYY-MM-DD"',
        )
    unknown = set(meta) - _META_KEYS
    if unknown:
        raise ctx.fail(
            "[scenario]",
            f"unknown key(s) {sorted(unknown)}",
            f"use {sorted(_META_KEYS)}",
        )
    title = _text(meta, "title", ctx, "[scenario]")
    if not title.strip():
        raise ctx.fail("[scenario]", "'title' is missing", 'add title = "..."')
    as_of_raw = meta.get("as_of")
    try:
        as_of = (
            as_of_raw
            if isinstance(as_of_raw, dt.date)
            else dt.date.fromisoformat(str(as_of_raw))
        )
    except ValueError:
        raise ctx.fail(
            "[scenario]",
            f"'as_of' is {as_of_raw!r}",
            "write as_of = 2025-08-15 (the date of the control map)",
        ) from None
    unknown_top = set(raw) - {"scenario", "transfers", "zones"}
    if unknown_top:
        raise ctx.fail(
            "file",
            f"unknown table(s) {sorted(unknown_top)}",
            "use [scenario], [[transfers]] and [[zones]]",
        )
    transfers = []
    raw_transfers = raw.get("transfers", [])
    if not isinstance(raw_transfers, list):
        raise ctx.fail(
            "transfers", "must be an array of tables", "write each as [[transfers]]"
        )
    seen: set[str] = set()
    for i, t in enumerate(raw_transfers, 1):
        what = (
            f"transfer {t.get('name', f'#{i}')!r}"
            if isinstance(t, dict)
            else f"transfer #{i}"
        )
        if not isinstance(t, dict):
            raise ctx.fail(what, "is not a table", "write it as [[transfers]]")
        unknown = set(t) - _TRANSFER_KEYS
        if unknown:
            raise ctx.fail(
                what,
                f"unknown key(s) {sorted(unknown)}",
                f"use {sorted(_TRANSFER_KEYS)}",
            )
        name = _text(t, "name", ctx, what).strip()
        if not name:
            raise ctx.fail(what, "has no name", 'add name = "..."')
        if name in seen:
            raise ctx.fail(
                what, "the name is used twice", "give every transfer its own name"
            )
        seen.add(name)
        for key in ("from", "to", "select"):
            if key not in t:
                raise ctx.fail(what, f"'{key}' is missing", f"add {key} = ...")
        source, target = (
            _party(t["from"], ctx, what, "from"),
            _party(t["to"], ctx, what, "to"),
        )
        if source == target:
            raise ctx.fail(
                what,
                f"moves land from {source} to itself",
                "set 'to' to the receiving party",
            )
        if source == "DMZ":
            raise ctx.fail(
                what,
                "moves land out of a demilitarised zone",
                "transfers give land from UA or RU",
            )
        sov = _sovereignty(t, ctx, what)
        transfers.append(
            Transfer(
                name=name,
                source=source,
                target=target,
                rule=_parse_rule(t["select"], ctx, what, source),
                claim=_text(t, "claim", ctx, what),
                note=_text(t, "note", ctx, what),
                sovereignty=sov,
            )
        )
    zones = []
    for i, z in enumerate(raw.get("zones", []), 1):
        what = (
            f"zone {z.get('name', f'#{i}')!r}" if isinstance(z, dict) else f"zone #{i}"
        )
        if not isinstance(z, dict):
            raise ctx.fail(what, "is not a table", "write it as [[zones]]")
        unknown = set(z) - _ZONE_KEYS
        if unknown:
            raise ctx.fail(
                what, f"unknown key(s) {sorted(unknown)}", f"use {sorted(_ZONE_KEYS)}"
            )
        depth = z.get("depth_km")
        if (
            isinstance(depth, bool)
            or not isinstance(depth, int | float)
            or not 0 < depth <= 200
        ):
            raise ctx.fail(
                what,
                f"'depth_km' is {depth!r}",
                "give how far each side pulls back, in km (0-200)",
            )
        withdraw = z.get("withdraw", ["UA", "RU"])
        withdraw = [withdraw] if isinstance(withdraw, str) else withdraw
        if not isinstance(withdraw, list) or not withdraw:
            raise ctx.fail(
                what,
                "'withdraw' must list UA, RU or both",
                'write withdraw = ["UA", "RU"]',
            )
        parties = tuple(_party(w, ctx, what, "withdraw") for w in withdraw)
        if "DMZ" in parties or len(set(parties)) != len(parties):
            raise ctx.fail(
                what,
                f"'withdraw' is {withdraw!r}",
                'write withdraw = ["UA"], ["RU"] or ["UA", "RU"]',
            )
        along = z.get("along", "front")
        if along != "front":
            raise ctx.fail(
                what,
                f"'along' is {along!r}",
                'zones run along the contact line: along = "front"',
            )
        sov = _sovereignty(z, ctx, what)
        zones.append(
            Zone(
                name=_text(z, "name", ctx, what) or f"zone {i}",
                depth_km=float(depth),
                withdraw=parties,
                claim=_text(z, "claim", ctx, what),
                note=_text(z, "note", ctx, what),
                sovereignty=sov,
            )
        )
    if not transfers and not zones:
        raise ctx.fail(
            "file", "no transfers and no zones", "add at least one [[transfers]] table"
        )
    return Scenario(
        title=title,
        as_of=as_of,
        transfers=tuple(transfers),
        zones=tuple(zones),
        source=_text(meta, "source", ctx, "[scenario]"),
        citation=_text(meta, "citation", ctx, "[scenario]"),
        description=_text(meta, "description", ctx, "[scenario]"),
        path=path,
        extra={"default": bool(meta.get("default", False))},
    )


def read_scenario(path: Path | str, *, table: RegionTable | None = None) -> Scenario:
    """Read a scenario file (TOML) and check it.

    Parameters
    ----------
    path
        The ``.toml`` file, the name of a scenario in the library
        (``alaska-2025``; see `library`), or ``default`` for the library's default.

    Raises
    ------
    DataNotFoundError
        If there is no such file or library scenario.
    ScenarioFormatError
        If the file is not valid TOML or breaks the scenario schema.
    """
    from territory.errors import DataNotFoundError

    p = Path(path)
    if str(path) == "default":
        p = default_scenario()
    if not p.is_file():
        lib = library()
        if str(path) in lib:
            p = lib[str(path)]
        else:
            names = ", ".join(sorted(lib))
            msg = f"scenario {str(path)!r} not found; give a .toml file or one of the library's: {names}"
            raise DataNotFoundError(msg)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        msg = f"{p.name}: not valid TOML ({err}); fix the syntax at that line"
        raise ScenarioFormatError(msg) from None
    except UnicodeDecodeError:
        msg = f"{p.name}: not UTF-8 text; save the scenario as UTF-8"
        raise ScenarioFormatError(msg) from None
    return parse_scenario(raw, path=p.resolve(), table=table)


def library() -> dict[str, Path]:
    """Return the scenarios shipped in ``geodata/scenarios``, by name (file stem)."""
    from territory.manifest import geodata_dir

    folder = geodata_dir() / "scenarios"
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def default_scenario() -> Path:
    """Return the library scenario marked ``default = true`` (the one `make demo` runs)."""
    for p in library().values():
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
        if raw.get("scenario", {}).get("default"):
            return p
    from territory.errors import DataNotFoundError

    msg = "no library scenario has default = true; mark one in geodata/scenarios"
    raise DataNotFoundError(msg)
