"""The control layer: who holds which land of each region, as of a date.

Land is the unit's own land, never its territorial sea: the region polygon
intersected with the land mask, plus whatever the control source marks as
occupied there (DeepState draws a finer coastline than the 1-km land mask).
Each region's land is partitioned exactly into Russian-held (``RU``),
grey zone (``GREY``, where the source has one) and Ukrainian-held (``UA``);
thin slivers where the two coastlines disagree, and small cut-off bits of
"held" land inside occupied territory (lakes and lagoons that one source draws
as water and the other as land), are removed from the land with an explicit
tolerance and reported as ``removed_km2``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import shapely
from shapely.geometry.base import BaseGeometry

from territory.crs import STORAGE_CRS, metric_crs_for, transform
from territory.geodesy import area_km2, polygonal

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

log = logging.getLogger(__name__)

RU = "RU"
UA = "UA"
GREY = "GREY"
#: Holders of land in a control map, in display order.
HOLDERS = (RU, GREY, UA)

#: Coastline sliver tolerance: held land thinner than twice this, lying within
#: this distance of both the sea (land mask) and occupied territory, is removed.
#: The land mask is generalised to about 1 km, so 1 km catches the strips
#: between its coast and DeepState's without eating real coastal land.
SLIVER_TOLERANCE_M = 1_000.0

#: Cut-off "held" components smaller than this that lie nearer to occupied
#: territory than to the main held land are lakes, lagoons, spits and islets
#: DeepState leaves out of its polygons, not held pockets.
ENCLAVE_MAX_KM2 = 100.0


@dataclass(frozen=True, slots=True)
class Partition:
    """Per-region land partition (the output of `partition_land`).

    Attributes
    ----------
    pieces
        GeoDataFrame with one row per (region_id, holder) with non-empty land:
        columns ``region_id``, ``holder`` (RU, GREY, UA), ``geometry`` (EPSG:4326).
    removed
        GeoDataFrame of removed slivers and enclaves per region: ``region_id``,
        ``reason`` (``sliver`` or ``enclave``), ``geometry``.
    country
        Country-wide geometry per holder (RU, GREY, UA) and of all ``land``.
    """

    pieces: gpd.GeoDataFrame
    removed: gpd.GeoDataFrame
    country: dict[str, BaseGeometry]


@lru_cache(maxsize=4)
def _metric_buffer(
    geom: BaseGeometry, metric_wkt: str, distance_m: float
) -> BaseGeometry:
    """Buffer a static lon/lat geometry (the sea) in a metric CRS; cached per process."""
    return transform(geom, STORAGE_CRS, metric_wkt).buffer(distance_m)


def _removed_geometries(
    held: BaseGeometry,
    others: BaseGeometry,
    sea: BaseGeometry,
    *,
    sliver_tolerance_m: float,
    enclave_max_km2: float,
) -> tuple[BaseGeometry, BaseGeometry]:
    """Return (slivers, enclaves) of `held` land, in lon/lat."""
    empty = shapely.Polygon()
    if held.is_empty or others.is_empty:
        return empty, empty
    metric = metric_crs_for(held)
    slivers = empty
    t = sliver_tolerance_m
    if t > 0 and not sea.is_empty:
        held_m = transform(held, STORAGE_CRS, metric)
        zone = shapely.intersection(
            _metric_buffer(sea, metric.to_wkt(), t),
            transform(others, STORAGE_CRS, metric).buffer(t),
        )
        if not zone.is_empty:
            local = shapely.intersection(held_m, zone.buffer(3 * t))
            opened = local.buffer(-t).buffer(t)
            sl = shapely.difference(shapely.intersection(held_m, zone), opened)
            slivers = shapely.intersection(transform(sl, metric, STORAGE_CRS), held)
    rest = shapely.difference(held, slivers)
    parts = list(shapely.get_parts(rest))
    if len(parts) < 2 or enclave_max_km2 <= 0:
        return slivers, empty
    sizes = [area_km2(p) for p in parts]
    main = parts[max(range(len(parts)), key=sizes.__getitem__)]
    others_m = transform(others, STORAGE_CRS, metric)
    main_m = transform(main, STORAGE_CRS, metric)
    enclaves = []
    for part, size in zip(parts, sizes, strict=True):
        if part is main or size >= enclave_max_km2:
            continue
        part_m = transform(part, STORAGE_CRS, metric)
        # cut off from the main held land and nearer to occupied territory than
        # to it: water or a spit that one source draws and the other does not
        # (an island off Ukraine's own coast, nearer its held land, stays)
        if shapely.distance(part_m, others_m) < shapely.distance(part_m, main_m):
            enclaves.append(part)
    return slivers, (shapely.union_all(enclaves) if enclaves else empty)


def partition_land(
    regions: gpd.GeoDataFrame,
    land: BaseGeometry,
    by_status: dict[str, BaseGeometry],
    *,
    sliver_tolerance_m: float = SLIVER_TOLERANCE_M,
    enclave_max_km2: float = ENCLAVE_MAX_KM2,
) -> Partition:
    """Partition every region's land into RU-, GREY- and UA-held pieces.

    Parameters
    ----------
    regions
        Region layer (``region_id``, geometry) in EPSG:4326.
    land
        Land mask, EPSG:4326.
    by_status
        Control source: ``occupied`` (required), ``grey_zone`` (optional), in
        EPSG:4326.  ``liberated`` is Ukrainian-held land and needs no special case.
    sliver_tolerance_m, enclave_max_km2
        See `SLIVER_TOLERANCE_M` and `ENCLAVE_MAX_KM2`; 0 disables each.

    Returns
    -------
    Partition
        The pieces add up to each region's land exactly (to float rounding).
    """
    import geopandas as gpd

    from territory.crs import check_crs

    check_crs(regions.crs, what="regions layer")
    country = shapely.union_all(regions.geometry.values)
    occupied = shapely.intersection(by_status["occupied"], country)
    grey = by_status.get("grey_zone")
    grey = (
        shapely.difference(shapely.intersection(grey, country), occupied)
        if grey is not None
        else shapely.Polygon()
    )
    others = shapely.union(occupied, grey)
    country_land = shapely.union(shapely.intersection(country, land), others)
    held = shapely.difference(country_land, others)
    sea = shapely.difference(shapely.box(*shapely.buffer(country, 0.2).bounds), land)
    slivers, enclaves = _removed_geometries(
        held,
        others,
        sea,
        sliver_tolerance_m=sliver_tolerance_m,
        enclave_max_km2=enclave_max_km2,
    )
    held = shapely.difference(held, shapely.union(slivers, enclaves))

    tree = shapely.STRtree(regions.geometry.values)
    piece_rows: list[tuple[str, str, BaseGeometry]] = []
    removed_rows: list[tuple[str, str, BaseGeometry]] = []
    layers = [(RU, occupied), (GREY, grey), (UA, held)]
    for holder, geom in [*layers, ("sliver", slivers), ("enclave", enclaves)]:
        if geom.is_empty:
            continue
        for idx in tree.query(geom):
            rid = regions["region_id"].iat[idx]
            piece = polygonal(shapely.intersection(regions.geometry.iat[idx], geom))
            if piece.is_empty:
                continue
            rows = removed_rows if holder in ("sliver", "enclave") else piece_rows
            rows.append((rid, holder, piece))
    pieces = gpd.GeoDataFrame(
        {"region_id": [r[0] for r in piece_rows], "holder": [r[1] for r in piece_rows]},
        geometry=[r[2] for r in piece_rows],
        crs=STORAGE_CRS,
    )
    removed = gpd.GeoDataFrame(
        {
            "region_id": [r[0] for r in removed_rows],
            "reason": [r[1] for r in removed_rows],
        },
        geometry=[r[2] for r in removed_rows],
        crs=STORAGE_CRS,
    )
    country_geoms = {
        RU: occupied,
        GREY: grey,
        UA: held,
        "land": shapely.difference(country_land, shapely.union(slivers, enclaves)),
    }
    return Partition(pieces=pieces, removed=removed, country=country_geoms)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One control snapshot of the record (a daily file or an API snapshot)."""

    key: str
    label: str
    as_of: dt.date
    published: str | None
    grey_zone: bool


@dataclass(repr=False)
class Control:
    """Who holds what, by region, as of a date.

    Attributes
    ----------
    as_of
        The date asked for: the map as of the evening of that day.
    snapshot
        The snapshot used.
    note
        Set when the snapshot is older than `as_of` (no snapshot for that date).
    regions
        The region layer (``region_id``, ``name``, ``official_area_km2``, geometry).
    partition
        The land partition.
    """

    as_of: dt.date
    snapshot: Snapshot
    note: str | None
    regions: gpd.GeoDataFrame
    partition: Partition
    _cache: dict = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        occupied = self.pieces.loc[self.pieces["holder"] == RU, "area_km2"].sum()
        note = f" ({self.note})" if self.note else ""
        return f"<Control as of {self.as_of} from {self.snapshot.label}: Russian-held {occupied:,.0f} km²{note}>"

    @property
    def pieces(self) -> gpd.GeoDataFrame:
        """Land pieces by region and holder, with ``area_km2``."""
        if "pieces" not in self._cache:
            p = self.partition.pieces.copy()
            p["area_km2"] = [area_km2(g) for g in p.geometry]
            self._cache["pieces"] = p
        return self._cache["pieces"]

    def holding(self, holder: str, region_ids: list[str] | None = None) -> BaseGeometry:
        """Return the land `holder` holds (in `region_ids`, default everywhere).

        Parameters
        ----------
        holder
            ``RU``, ``GREY`` or ``UA`` (``DMZ`` too on a control map after a swap).
        region_ids
            Region ids or names in any spelling (``"UA-14"``, ``"Donetsk"``).

        Raises
        ------
        DataError
            For an unknown holder or region (with the closest names).
        """
        from territory.errors import DataError

        if not isinstance(holder, str) or holder.upper() not in self.partition.country:
            known = ", ".join(k for k in self.partition.country if k != "land")
            msg = f"unknown holder {holder!r}; use one of {known}"
            raise DataError(msg)
        holder = holder.upper()
        if region_ids is None:
            return self.partition.country[holder]
        ids = self.region_ids(region_ids)
        p = self.partition.pieces
        mask = (p["holder"] == holder) & p["region_id"].isin(ids)
        return shapely.union_all(p.geometry[mask].values)

    def region_ids(self, names: list[str] | tuple[str, ...] | str) -> list[str]:
        """Return the ids of regions given by id or by any spelling of their name.

        Raises
        ------
        DataError
            If a name matches no region of this map; the message suggests the
            closest ones.
        """
        import difflib

        from territory.errors import DataError
        from territory.regions import load_region_table

        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list | tuple) or not all(
            isinstance(n, str) for n in names
        ):
            msg = f"regions must be a list of region names or ids, not {names!r}"
            raise DataError(msg)
        ids_here = list(self.regions["region_id"])
        by_name = {
            n.casefold(): rid
            for rid, n in zip(ids_here, self.regions["name"], strict=True)
        }
        out: list[str] = []
        for name in names:
            rid = name if name in ids_here else by_name.get(name.casefold())
            if rid is None:
                try:
                    rid = load_region_table().lookup(name).region_id
                except DataError:
                    rid = None
            if rid not in ids_here:
                close = difflib.get_close_matches(
                    name, [*ids_here, *self.regions["name"]], n=3, cutoff=0.6
                )
                hint = f"did you mean {' or '.join(close)}? " if close else ""
                msg = (
                    f"unknown region {name!r}; {hint}'territory regions' lists them all"
                )
                raise DataError(msg)
            if rid not in out:
                out.append(rid)
        return out

    @cached_property
    def has_grey_zone(self) -> bool:
        """True if the snapshot distinguishes a grey zone."""
        return self.snapshot.grey_zone

    def to_frame(self) -> pd.DataFrame:
        """Return the per-region control table (areas in km²).

        Columns: ``region_id``, ``name``, ``land_km2``, ``occupied_km2``,
        ``grey_km2`` (NaN where the source has no grey zone), ``held_km2``,
        ``removed_km2`` (slivers and enclaves taken out of the land),
        ``official_area_km2``, ``occupied_pct`` (of the unit's land) and
        ``occupied_pct_official`` (of its official area).
        """
        import pandas as pd

        pieces = self.pieces
        sums = pieces.pivot_table(
            index="region_id", columns="holder", values="area_km2", aggfunc="sum"
        )
        sums = sums.reindex(
            index=self.regions["region_id"], columns=list(HOLDERS)
        ).fillna(0.0)
        removed = self.partition.removed
        rem = pd.Series(
            [area_km2(g) for g in removed.geometry],
            index=removed["region_id"],
            dtype=float,
        )
        rem = rem.groupby(level=0).sum().reindex(self.regions["region_id"]).fillna(0.0)
        df = pd.DataFrame(
            {
                "region_id": self.regions["region_id"].to_numpy(),
                "name": self.regions["name"].to_numpy(),
                "land_km2": (sums[RU] + sums[GREY] + sums[UA]).to_numpy(),
                "occupied_km2": sums[RU].to_numpy(),
                "grey_km2": sums[GREY].to_numpy()
                if self.has_grey_zone
                else float("nan"),
                "held_km2": sums[UA].to_numpy(),
                "removed_km2": rem.to_numpy(),
                "official_area_km2": self.regions["official_area_km2"].to_numpy(),
            }
        )
        df["occupied_pct"] = 100.0 * df["occupied_km2"] / df["land_km2"]
        df["occupied_pct_official"] = (
            100.0 * df["occupied_km2"] / df["official_area_km2"]
        )
        return df

    def totals(self, *, official_area_km2: float | None = None) -> dict[str, float]:
        """Return the country totals (km² and %), with both denominators.

        `official_area_km2` defaults to the country's official area from the manifest.
        """
        if official_area_km2 is None:
            from territory.manifest import load_manifest

            official_area_km2 = float(load_manifest().country["official_area_km2"])
        df = self.to_frame()
        out = {
            c: float(df[c].sum())
            for c in ("land_km2", "occupied_km2", "held_km2", "removed_km2")
        }
        out["grey_km2"] = (
            float(df["grey_km2"].sum()) if self.has_grey_zone else float("nan")
        )
        out["official_area_km2"] = official_area_km2
        out["occupied_pct"] = 100.0 * out["occupied_km2"] / out["land_km2"]
        out["occupied_pct_official"] = 100.0 * out["occupied_km2"] / official_area_km2
        return out


#: Half-width (degrees, ~0.1 m) of the band around the land outline inside which
#: a boundary is coast or state border rather than a contact line.
_OUTLINE_EPS_DEG = 1e-6


@lru_cache(maxsize=8)
def _outline_band(land: BaseGeometry) -> BaseGeometry:
    band = shapely.buffer(land.boundary, _OUTLINE_EPS_DEG, quad_segs=1)
    shapely.prepare(band)
    return band


def contact_line(holder_geom: BaseGeometry, land: BaseGeometry) -> BaseGeometry:
    """Return the line where `holder_geom` meets other land inside `land`.

    The parts of the holder's boundary that run along the land's own outline
    (coast, state border, removed water) are not contact lines and are dropped.
    """
    if holder_geom.is_empty:
        return shapely.LineString()
    outline_band = _outline_band(land)
    return shapely.line_merge(shapely.difference(holder_geom.boundary, outline_band))
