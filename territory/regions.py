"""The region layer: first-level units, their names, codes, areas and geometries."""

from __future__ import annotations

import csv
import difflib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from territory.errors import DataError
from territory.manifest import geodata_dir, load_manifest

if TYPE_CHECKING:
    from collections.abc import Mapping

    import geopandas as gpd
    import pandas as pd

#: The region layer's index (``region_id``) and columns, in order (`regions_frame`).
REGION_COLUMNS = ("region_id", "name", "kind", "official_area_km2", "geometry")


@dataclass(frozen=True, slots=True)
class Region:
    """One first-level unit (oblast, republic or city with special status)."""

    region_id: str
    name: str
    kind: str
    source_name: str
    official_area_km2: float
    aliases: tuple[str, ...]


def _norm(text: str, *, strip_kind: bool = True) -> str:
    """Fold case, accents, apostrophes, hyphens and (optionally) 'oblast'/'region'."""
    text = unicodedata.normalize("NFKD", text).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    for ch in "'’ʼ`-_.,()":
        text = text.replace(ch, " ")
    words = [
        w
        for w in text.split()
        if not strip_kind or w not in {"oblast", "region", "область"}
    ]
    return " ".join(words)


class RegionTable:
    """The region table with lookup by code or any spelling.

    Examples
    --------
    >>> table = load_region_table()
    >>> table.lookup("Zaporizhia").region_id
    'UA-23'
    >>> table.lookup("ua-14").name
    'Donetsk'
    """

    def __init__(self, regions: list[Region]) -> None:
        self._regions = {r.region_id: r for r in regions}
        self._by_key: dict[str, str] = {}
        # Exact spellings first ("Kyiv oblast" is not "Kyiv"), then the same
        # spellings without the words oblast/region ("Donetsk Oblast" = "Donetsk").
        for strip in (False, True):
            for r in regions:
                for key in (r.region_id, r.name, r.source_name, *r.aliases):
                    self._by_key.setdefault(_norm(key, strip_kind=strip), r.region_id)

    @property
    def regions(self) -> Mapping[str, Region]:
        """The regions by id, in the table's order (read-only: the table is shared)."""
        return MappingProxyType(self._regions)

    def __iter__(self):
        return iter(self._regions.values())

    def __len__(self) -> int:
        return len(self._regions)

    def lookup(self, name: str) -> Region:
        """Return the region named `name` (code or any spelling, case-insensitive).

        Raises
        ------
        DataError
            If nothing matches; the message suggests the closest names.
        """
        for key in (_norm(name, strip_kind=False), _norm(name)):
            if key in self._by_key:
                return self._regions[self._by_key[key]]
        close = difflib.get_close_matches(key, self._by_key, n=3, cutoff=0.6)
        names = sorted({self._regions[self._by_key[c]].name for c in close})
        hint = f"did you mean {' or '.join(names)}? " if names else ""
        msg = f"unknown region {name!r}; {hint}'territory regions' lists them all"
        raise DataError(msg)

    def ids(self, names: list[str]) -> list[str]:
        """Return the region ids of `names`, in order, without duplicates."""
        out: list[str] = []
        for n in names:
            rid = self.lookup(n).region_id
            if rid not in out:
                out.append(rid)
        return out


def read_region_table(path: Path) -> RegionTable:
    """Read a region table CSV (region_id, name, kind, source_name, official_area_km2, aliases)."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    problems = []
    regions = []
    for i, row in enumerate(rows, 2):
        try:
            regions.append(
                Region(
                    region_id=row["region_id"],
                    name=row["name"],
                    kind=row["kind"],
                    source_name=row["source_name"],
                    official_area_km2=float(row["official_area_km2"]),
                    aliases=tuple(a for a in row["aliases"].split(";") if a),
                )
            )
        except (KeyError, ValueError, AttributeError) as err:
            problems.append(f"- line {i}: {err}")
    ids = [r.region_id for r in regions]
    # region_id is the join key of every table: it must be unique
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        problems.append(f"- duplicate region_id {', '.join(dupes)}")
    if problems:
        msg = f"region table {path} is malformed:\n" + "\n".join(problems)
        raise DataError(msg)
    return RegionTable(regions)


@lru_cache(maxsize=1)
def load_region_table() -> RegionTable:
    """Return the region table shipped in ``geodata/``."""
    return read_region_table(geodata_dir() / load_manifest().country["regions"])


def regions_frame(
    boundaries: gpd.GeoDataFrame, table: RegionTable | None = None
) -> gpd.GeoDataFrame:
    """Join boundary polygons to the region table by ISO code.

    Parameters
    ----------
    boundaries
        GeoDataFrame with the ISO 3166-2 code in ``shapeISO`` (geoBoundaries)
        or ``region_id``, in EPSG:4326.

    Returns
    -------
    GeoDataFrame
        Indexed by ``region_id`` (ISO 3166-2, e.g. ``UA-14``; the index is
        named so), in the table's order, with the other `REGION_COLUMNS`
        (``name``, ``kind``, ``official_area_km2``, ``geometry``) and the
        boundaries' CRS.

    Raises
    ------
    DataError
        If a region of the table has no boundary, or a boundary no region.
    """
    import geopandas as gpd

    from territory.crs import check_crs

    table = table or load_region_table()
    check_crs(boundaries.crs, what="boundaries layer")
    code = "region_id" if "region_id" in boundaries.columns else "shapeISO"
    by_code = dict(zip(boundaries[code], boundaries.geometry, strict=True))
    missing = [r for r in table.regions if r not in by_code]
    extra = [c for c in by_code if c not in table.regions]
    if missing or extra:
        msg = (
            f"boundaries and region table disagree: no boundary for {missing}, "
            f"no table row for {extra}; re-fetch the boundaries or fix geodata/regions.csv"
        )
        raise DataError(msg)
    rows = list(table)
    import pandas as pd

    return gpd.GeoDataFrame(
        {
            "name": [r.name for r in rows],
            "kind": [r.kind for r in rows],
            "official_area_km2": [r.official_area_km2 for r in rows],
        },
        geometry=[by_code[r.region_id] for r in rows],
        crs=boundaries.crs,
        index=pd.Index([r.region_id for r in rows], name="region_id"),
    )


def layer_ids(regions: pd.DataFrame) -> list[str]:
    """Return the region ids of a region layer, in its order.

    The layer is indexed by ``region_id`` (`regions_frame`), or has a
    ``region_id`` column (a layer built by hand).

    Raises
    ------
    DataError
        If the layer has neither.
    """
    if "region_id" in regions.columns:
        return [str(r) for r in regions["region_id"]]
    if regions.index.name == "region_id":
        return [str(r) for r in regions.index]
    msg = "the region layer has no region_id (index or column); build it with territory.regions.regions_frame"
    raise DataError(msg)


def as_layer(regions: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a region layer indexed by ``region_id`` (`regions_frame`'s form).

    A layer with a ``region_id`` column is re-indexed by it (a new frame);
    one indexed by it already is returned as it is.

    Raises
    ------
    DataError
        If the layer has no ``region_id``, or it repeats one.
    """
    if "region_id" in regions.columns:
        regions = regions.set_index("region_id")
    if regions.index.name != "region_id":
        layer_ids(regions)  # raises, naming the fix
    if not regions.index.is_unique:
        dupes = sorted(set(regions.index[regions.index.duplicated()]))
        msg = f"the region layer repeats region ids {dupes}; give each region once"
        raise DataError(msg)
    return regions
