"""Swap scenarios: small declarative TOML files of named transfers and zones.

A scenario says which land moves from one party to another (or to a neutral
demilitarised zone), each transfer selected by a rule a reader can audit.
This module (with its private parts, below) parses and checks the file;
`territory.accounting` evaluates it.

Scenario files are passed between people, so nothing in one is trusted: any
document either becomes a `Scenario` or raises `ScenarioFormatError` with one
line naming the file, the transfer, the key and the fix.  Paths in
``polygons`` are relative to the scenario's folder and may not leave it
(``allow_paths_outside=True`` lifts that).  Objects built in code (`Rule`,
`Transfer`, `Zone`, `Scenario`) are checked the same way when they are
created, and raise `ScenarioError`.

Example
-------
.. code-block:: toml

    [scenario]
    title = "Alaska summit offer"
    as_of = 2025-08-15
    source = "Reuters, 16 Aug 2025"

    [[transfers]]
    name = "Ukraine withdraws from Donbas"
    from = "UA"
    to = "RU"
    claim = "Kyiv would withdraw fully from Donetsk and Luhansk"
    select = { regions = ["Donetsk", "Luhansk"] }

Parts
-----
This module holds the model (`Rule`, `Transfer`, `Zone`, `Scenario`), its
limits and the public functions.  The rest is private: the value checks in
`territory._scenario_values`, the object checks the classes run when created
in `territory._scenario_checks`, and the file format (parsing, confining
``polygons``, reading files) in `territory._scenario_parse`.  Those modules
import this one; this one reaches them only inside functions, so there is no
import cycle.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from territory.borders import load_neighbours
from territory.errors import DataNotFoundError
from territory.regions import RegionTable

#: Parties a transfer can name; DMZ is the neutral status of demilitarised zones.
PARTIES = ("UA", "RU", "DMZ")
PARTY_ADJECTIVE = {"UA": "Ukrainian-held", "RU": "Russian-held", "DMZ": "demilitarised"}
#: How an evaluation names each side of a zone: ``"Donbas DMZ (Ukrainian side)"``.
ZONE_SIDES = {"UA": "Ukrainian side", "RU": "Russian side", "GREY": "grey zone"}
#: How deep ``exclude`` rules may nest (an exclude inside an exclude ...).
MAX_EXCLUDE_DEPTH = 8
#: The farthest a party may be asked to pull back in a zone, km.
MAX_ZONE_DEPTH_KM = 200.0
#: A scenario is a small text file; larger polygons belong in ``polygons`` files.
MAX_FILE_BYTES = 20_000_000


# --------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """Which land a transfer moves: every given criterion must hold.

    Checked when created (`ScenarioError` with the fix): region names are
    resolved to ids, flags must be booleans, distances finite and positive,
    and a rule needs at least one criterion (``Rule(everything=True)`` for all
    the giver's land).

    Attributes
    ----------
    everything
        All land the giving party holds.
    regions
        Region ids (ISO 3166-2); names and any spelling are accepted and
        resolved (``Rule(regions=("Donetsk",))`` gives ``("UA-14",)``).
    region_names
        The regions' names, for the rule in words (filled in from `regions`).
    connected
        With `regions`: keep only the parts of the giver's holdings that are
        (True) or are not (False) connected to its holdings outside them.
    within_km_of_front, within_km_of_border
        Only land within this true distance (km) of the contact line on the
        as-of date, or of the state land border.
    border_with
        With `within_km_of_border`: only the border with these neighbours
        (ISO 3166-1 alpha-2 codes: RU, BY, PL, SK, HU, RO, MD; English names
        are accepted too); empty means every land border.
    polygons
        Vector files (relative to the scenario) whose polygons bound the land.
    geometries
        Inline GeoJSON geometries (lon/lat) bounding the land.
    exclude
        A rule whose land is taken out of this one's (nested at most
        `MAX_EXCLUDE_DEPTH` deep).

    Examples
    --------
    >>> Rule(regions=("Donetsk", "luhansk oblast")).regions
    ('UA-14', 'UA-09')
    >>> Rule(within_km_of_border=20, border_with="Russia").describe("UA")
    'Ukrainian-held land within 20 km of the border with Russia'
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

    def __post_init__(self) -> None:
        # Imported here: the checks import this module (classes, limits).
        from territory._scenario_checks import _checked, _rule_fields

        _checked(self, _rule_fields)

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
            parts.append(
                f"within {self.within_km_of_front:g} km of the contact line (from its own edge)"
            )
        if self.within_km_of_border is not None:
            if self.border_with:
                names = load_neighbours()
                whom = _join([names[c].name for c in self.border_with])
                parts.append(
                    f"within {self.within_km_of_border:g} km of the border with {whom}"
                )
            else:
                parts.append(
                    f"within {self.within_km_of_border:g} km of the state border"
                )
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer:
    """One area handed from one party to another.

    Built with keywords only (``Transfer(name=..., source="UA", target="RU",
    rule=Rule(regions=("Donetsk",)))``).  Checked when created: `source` and `target` are parties (UA, RU, DMZ; any
    case), different, and land never comes out of a DMZ; `rule` is a `Rule`.
    """

    name: str
    source: str
    target: str
    rule: Rule
    claim: str = ""
    note: str = ""
    sovereignty: str | None = None

    def __post_init__(self) -> None:
        # Imported here: the checks import this module (classes, limits).
        from territory._scenario_checks import _checked, _transfer_fields

        _checked(self, _transfer_fields)

    def describe(self) -> str:
        """Return the selection rule in words."""
        return self.rule.describe(self.source)


@dataclass(frozen=True, slots=True, kw_only=True)
class Zone:
    """A demilitarised zone along the contact line that results from the transfers.

    Each party in `withdraw` pulls back from **its own edge** of the line
    (where the land it holds meets land the other side holds or the grey
    zone) by its depth, in true distance; the land it leaves becomes neutral
    (DMZ).  Grey-zone land within a withdrawing party's depth of its edge
    joins the zone too (the flow GREY→DMZ).  One party: a one-sided zone; both
    with the same depth: a mirror withdrawal; the depths may differ per side.

    Checked when created: every depth is finite, above 0 and at most
    `MAX_ZONE_DEPTH_KM`; a per-side `depth_km` names exactly the withdrawing
    parties; `rule` may not use ``connected`` or ``within_km_of_front`` (the
    zone's depth is its distance from the line).

    Attributes
    ----------
    depth_km
        How far each withdrawing party pulls back, km: one number for all, or
        a mapping ``{"UA": 10, "RU": 20}`` (normalised to a tuple of pairs).
    withdraw
        The parties that pull back (UA, RU or both; default both, or the keys
        of a per-side `depth_km`).
    rule
        Where the zone runs (TOML ``select``): e.g. ``Rule(regions=("Donetsk",))``
        limits it to Donetsk; None runs it along the whole line.
    """

    name: str
    depth_km: float | tuple[tuple[str, float], ...]
    withdraw: tuple[str, ...] = ()
    along: str = "front"
    rule: Rule | None = None
    claim: str = ""
    note: str = ""
    sovereignty: str | None = None

    def __post_init__(self) -> None:
        # Imported here: the checks import this module (classes, limits).
        from territory._scenario_checks import _checked, _zone_fields

        _checked(self, _zone_fields)

    @property
    def depths_km(self) -> dict[str, float]:
        """How far each withdrawing party pulls back, km, by party."""
        if isinstance(self.depth_km, tuple):
            return dict(self.depth_km)
        return dict.fromkeys(self.withdraw, self.depth_km)

    @property
    def mirror(self) -> bool:
        """Both sides pull back the same depth."""
        return len(self.withdraw) == 2 and len(set(self.depths_km.values())) == 1

    def describe(self) -> str:
        """Return the zone rule in words."""
        depths = self.depths_km
        who = " and ".join(
            f"{PARTY_ADJECTIVE[p].split('-')[0]} forces {depths[p]:g} km"
            for p in self.withdraw
        )
        if self.mirror:
            first = PARTY_ADJECTIVE[self.withdraw[0]].split("-")[0]
            second = PARTY_ADJECTIVE[self.withdraw[1]].split("-")[0]
            who = f"{first} and {second} forces {depths[self.withdraw[0]]:g} km each"
        kind = "two-sided" if len(self.withdraw) > 1 else "one-sided"
        if self.mirror:
            kind += ", a mirror withdrawal"
        where = f", {self.rule.describe(None)}" if self.rule is not None else ""
        return (
            f"{who} back from their own edge of the contact line after the "
            f"transfers{where} ({kind})"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A swap scenario: metadata, transfers and zones.

    Built with keywords only.  Checked when created: `as_of` goes through `territory.dates.as_date` (a
    date, an ISO string, or a date-time at midnight), transfer names are
    unique, and there is at least one transfer or zone.
    """

    title: str
    as_of: dt.date
    transfers: tuple[Transfer, ...]
    zones: tuple[Zone, ...] = ()
    source: str = ""
    citation: str = ""
    description: str = ""
    path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Imported here: the checks import this module (classes, limits).
        from territory._scenario_checks import _checked, _scenario_fields

        _checked(self, _scenario_fields)

    @property
    def label(self) -> str:
        """The file name, or the title when the scenario was built in code."""
        return self.path.name if self.path else self.title

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><td>{html.escape(t.name)}</td>"
            f"<td>{html.escape(t.source)}→{html.escape(t.target)}</td>"
            f"<td>{html.escape(t.describe())}</td></tr>"
            for t in self.transfers
        )
        rows += "".join(
            f"<tr><td>{html.escape(z.name)}</td>"
            f"<td>{html.escape('+'.join(z.withdraw))}→DMZ</td>"
            f"<td>{html.escape(z.describe())}</td></tr>"
            for z in self.zones
        )
        return (
            f"<b>{html.escape(self.title)}</b> (as of {html.escape(str(self.as_of))})<br>"
            f"<table><tr><th>Transfer or zone</th><th>Direction</th><th>Rule</th></tr>{rows}</table>"
        )


# --------------------------------------------------------------------------- files


def parse_scenario(
    raw: dict[str, Any],
    *,
    path: Path | str | None = None,
    table: RegionTable | None = None,
    allow_paths_outside: bool = False,
) -> Scenario:
    """Build a `Scenario` from a parsed TOML/JSON document.

    Parameters
    ----------
    raw
        The document, as `tomllib.load` or `json.load` returns it.
    path
        The file it came from: ``polygons`` are relative to its folder (to the
        current folder without it) and messages name it.
    table
        The region table to resolve region names with (default: the shipped one).
    allow_paths_outside
        Let ``polygons`` name absolute paths or files outside the scenario's
        folder (``..``, symlinks).  Off by default: scenario files are passed
        between people, and a file should only read what travels with it.

    Raises
    ------
    ScenarioFormatError
        If the document is malformed; the message names the file, the
        transfer, the key and the fix.
    ScenarioError
        If an argument has the wrong type.
    """
    # Imported here: the parser imports this module (classes, limits).
    from territory._scenario_parse import parse

    return parse(raw, path=path, table=table, allow_paths_outside=allow_paths_outside)


def read_scenario(
    path: str | os.PathLike[str],
    *,
    table: RegionTable | None = None,
    allow_paths_outside: bool = False,
) -> Scenario:
    """Read a scenario file (TOML) and check it.

    Parameters
    ----------
    path
        The ``.toml`` file, the name of a scenario in the library
        (``alaska-2025``; see `library`), or ``default`` for the library's default.
    table
        The region table to resolve region names with (default: the shipped one).
    allow_paths_outside
        Let ``polygons`` leave the scenario's folder (see `parse_scenario`).

    Raises
    ------
    DataNotFoundError
        If there is no such file or library scenario, or it cannot be read.
    ScenarioFormatError
        If the file is not valid TOML or breaks the scenario schema.
    ScenarioError
        If an argument has the wrong type.
    """
    from territory._scenario_parse import read  # lazy, as in parse_scenario

    return read(path, table=table, allow_paths_outside=allow_paths_outside)


def library() -> dict[str, Path]:
    """Return the scenarios shipped in ``geodata/scenarios``, by name (file stem)."""
    from territory.manifest import geodata_dir

    folder = geodata_dir() / "scenarios"
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def default_scenario() -> Path:
    """Return the library scenario marked ``default = true`` (the one `make demo` runs)."""
    for p in library().values():
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue  # a damaged library file is reported when it is read
        meta = raw.get("scenario")
        if isinstance(meta, dict) and meta.get("default") is True:
            return p
    msg = "no library scenario has default = true; mark one in geodata/scenarios"
    raise DataNotFoundError(msg)


def scenario_toml(scenario: Scenario, folder: Path | str | None = None) -> str:
    """Return `scenario` as the text of a scenario file (TOML) that reads back to it.

    Parameters
    ----------
    scenario
        The scenario (read from a file, or built in code).
    folder
        Where the file will be written: ``polygons`` paths are made relative to it.
    """
    from territory._scenario_write import scenario_toml as write

    return write(scenario, None if folder is None else Path(folder))
