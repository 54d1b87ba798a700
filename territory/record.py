"""The record: the cached boundaries, land mask and dated control snapshots.

`Record` is the entry point of the data layer for everything above it: it
reads the GeoParquet cache written by `territory.datasets` and answers "which
snapshot shows the map as of date D" and "who holds what on D".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import shapely

from territory.control import Control, Partition, Snapshot, partition_land
from territory.datasets import Cache, atomic_path
from territory.errors import DataError, DataNotFoundError
from territory.manifest import load_manifest

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

log = logging.getLogger(__name__)

#: Bump when `partition_land` changes its result: cached partitions are keyed on it.
PARTITION_VERSION = "partition-3"


def _partition_to_frame(p: Partition) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import pandas as pd

    country = gpd.GeoDataFrame(
        {"region_id": "*", "holder": list(p.country)},
        geometry=list(p.country.values()),
        crs=p.pieces.crs,
    )
    removed = p.removed.rename(columns={"reason": "holder"})
    frames = [
        p.pieces.assign(layer="piece"),
        removed.assign(layer="removed"),
        country.assign(layer="country"),
    ]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=p.pieces.crs)


def _partition_from_frame(df: gpd.GeoDataFrame) -> Partition:
    pieces = df[df["layer"] == "piece"].drop(columns="layer").reset_index(drop=True)
    removed = (
        df[df["layer"] == "removed"]
        .drop(columns="layer")
        .rename(columns={"holder": "reason"})
    )
    country = df[df["layer"] == "country"]
    return Partition(
        pieces=pieces,
        removed=removed.reset_index(drop=True),
        country=dict(zip(country["holder"], country.geometry, strict=True)),
    )


def parse_date(text: object) -> dt.date:
    """Return `text` as a date (see `territory.dates.as_date`); raise `DataError`."""
    from territory.dates import as_date

    return as_date(text)


class Record:
    """Cached data of the record, opened from a cache directory.

    Parameters
    ----------
    cache_dir
        Cache directory; default $TERRITORY_CACHE or ``geodata/cache``.

    Notes
    -----
    Typical use: ``Record().control("2025-08-15").to_frame()``; the cache must
    have been filled by ``territory data fetch`` (or ``make data``).
    """

    def __init__(self, cache_dir: Path | str | None = None) -> None:
        self.cache = Cache.open(cache_dir)
        self._controls: dict[str, Control] = {}

    def __repr__(self) -> str:
        first, last = self.date_range() if self.snapshots else (None, None)
        return f"<Record {self.cache.root} · {len(self.snapshots)} snapshots · as of {first} … {last}>"

    # ------------------------------------------------------------------ static layers
    @cached_property
    def regions(self) -> gpd.GeoDataFrame:
        """The region layer (27 units) with full-resolution boundaries."""
        import geopandas as gpd

        from territory.regions import regions_frame

        path = self.cache.require("boundaries", dataset="boundaries")
        return regions_frame(gpd.read_parquet(path))

    @cached_property
    def display_regions(self) -> gpd.GeoDataFrame:
        """The region layer with simplified boundaries (display only)."""
        import geopandas as gpd

        from territory.regions import regions_frame

        if not self.cache.has("boundaries-simplified"):
            return self.regions
        return regions_frame(gpd.read_parquet(self.cache.path("boundaries-simplified")))

    @cached_property
    def land(self) -> shapely.Geometry:
        """The land mask, one (Multi)Polygon in EPSG:4326."""
        import geopandas as gpd

        path = self.cache.require("land", dataset="land")
        return shapely.union_all(gpd.read_parquet(path).geometry.values)

    # ------------------------------------------------------------------ snapshots
    @cached_property
    def snapshots(self) -> list[Snapshot]:
        """Every cached control snapshot, oldest first."""
        out = []
        for e in self.cache.snapshots():
            if not self.cache.has(e["key"]):
                continue
            out.append(
                Snapshot(
                    key=e["key"],
                    label=e["snapshot"],
                    as_of=dt.date.fromisoformat(e["as_of"]),
                    published=e.get("published"),
                    grey_zone=bool(e.get("grey_zone", False)),
                )
            )
        return out

    def date_range(self) -> tuple[dt.date, dt.date]:
        """Return the first and last as-of dates of the cached record."""
        if not self.snapshots:
            msg = (
                f"no control snapshots in the cache at {self.cache.root}; "
                "run 'territory data fetch' (or 'make data')"
            )
            raise DataNotFoundError(msg)
        return self.snapshots[0].as_of, self.snapshots[-1].as_of

    def latest_date(self) -> dt.date:
        """Return the last as-of date of the record."""
        return self.date_range()[1]

    def snapshot_for(self, as_of: str | dt.date) -> tuple[Snapshot, str | None]:
        """Return the snapshot showing the map as of `as_of`, and a note if it is older.

        "As of D" means the map at the end of day D.  Among the snapshots of
        that date an API snapshot (which has a grey zone) is preferred to the
        daily file; with none for D, the latest earlier snapshot is used and
        the note says so.

        Raises
        ------
        DataNotFoundError
            If `as_of` is outside the cached record; the message names its range.
        """
        day = parse_date(as_of)
        first, last = self.date_range()
        if not first <= day <= last:
            msg = (
                f"no control map as of {day}: the cached record covers {first} … {last}; "
                "pick a date in that range or fetch more with 'territory data fetch'"
            )
            raise DataNotFoundError(msg)
        candidates = [s for s in self.snapshots if s.as_of <= day]
        best_day = candidates[-1].as_of
        same_day = [s for s in candidates if s.as_of == best_day]
        snap = sorted(same_day, key=lambda s: (s.grey_zone, s.published or ""))[-1]
        note = None
        if snap.as_of != day:
            note = f"no snapshot for {day}; using the latest earlier one, as of {snap.as_of} ({snap.label})"
            log.info(
                note
            )  # returned to the caller, which shows it; not a warning twice
        return snap, note

    def read_snapshot(self, snap: Snapshot) -> dict[str, shapely.Geometry]:
        """Return a snapshot's geometries by status (``occupied``, ``grey_zone``, ...)."""
        import geopandas as gpd

        gdf = gpd.read_parquet(self.cache.path(snap.key))
        return dict(zip(gdf["status"], gdf.geometry, strict=True))

    # ------------------------------------------------------------------ control
    def partition(self, snap: Snapshot) -> Partition:
        """Return the land partition of a snapshot, from the derived cache if there.

        The partition depends only on the snapshot, the boundaries, the land
        mask and the partition algorithm; the cached file's name hashes all
        four, so a change to any of them computes it afresh.
        """
        import geopandas as gpd

        parts = [
            self.cache.entries[k]["sha256"] for k in (snap.key, "boundaries", "land")
        ]
        digest = hashlib.sha256(
            "|".join([PARTITION_VERSION, *parts]).encode()
        ).hexdigest()[:16]
        path = self.cache.root / "derived" / f"partition-{digest}.parquet"
        if path.is_file():
            try:
                return _partition_from_frame(gpd.read_parquet(path))
            except (
                Exception
            ) as err:  # a damaged derived file is recomputed, never trusted
                log.warning("recomputing damaged %s (%s)", path.name, err)
        partition = partition_land(self.regions, self.land, self.read_snapshot(snap))
        try:
            with atomic_path(path) as tmp:
                _partition_to_frame(partition).to_parquet(tmp, index=False)
        except OSError as err:
            log.info("could not cache the partition (%s); continuing", err)
        return partition

    def control(self, as_of: str | dt.date | None = None) -> Control:
        """Return who holds what, by region, as of `as_of` (default: the latest date)."""
        day = parse_date(as_of) if as_of is not None else self.latest_date()
        snap, note = self.snapshot_for(day)
        if snap.key not in self._controls:
            partition = self.partition(snap)
            self._controls[snap.key] = Control(
                as_of=snap.as_of,
                snapshot=snap,
                note=None,
                regions=self.regions,
                partition=partition,
            )
        base = self._controls[snap.key]
        return Control(
            as_of=day,
            snapshot=snap,
            note=note,
            regions=base.regions,
            partition=base.partition,
            _cache=base._cache,
        )

    def occupied_series(
        self,
        start: str | dt.date | None = None,
        end: str | dt.date | None = None,
        *,
        every_days: int = 1,
        region_ids: list[str] | None = None,
    ) -> pd.DataFrame:
        """Return Russian-held land over time, km², one row per date.

        Russian-held land needs no partition (it is the occupied polygon cut to
        the regions), so a long series is quick; the figures equal the
        ``occupied_km2`` of `control` for the same dates.

        Parameters
        ----------
        start, end
            As-of dates (default: the whole record).
        every_days
            Step between dates, in days.
        region_ids
            Also give the Russian-held km² of these regions (columns named by id).

        Returns
        -------
        DataFrame
            ``as_of``, ``snapshot``, ``occupied_km2`` (the country), one column
            per requested region, and ``change_km2`` since the previous row.
        """
        import pandas as pd

        from territory.geodesy import area_km2

        first, last = self.date_range()
        lo = parse_date(start) if start else first
        hi = parse_date(end) if end else last
        if every_days < 1:
            msg = f"every_days is {every_days}; give a step of at least 1 day"
            raise DataError(msg)
        self.snapshot_for(lo)
        self.snapshot_for(hi)  # both raise, naming the range, if outside it
        regions = self.regions.set_index("region_id").geometry
        country = shapely.union_all(regions.values)
        rows = []
        day = lo
        while day <= hi:
            snap, _ = self.snapshot_for(day)
            occupied = shapely.intersection(
                self.read_snapshot(snap)["occupied"], country
            )
            row = {
                "as_of": day,
                "snapshot": snap.label,
                "occupied_km2": area_km2(occupied),
            }
            for rid in region_ids or []:
                row[rid] = area_km2(shapely.intersection(occupied, regions[rid]))
            rows.append(row)
            day += dt.timedelta(days=every_days)
        df = pd.DataFrame(rows)
        df["change_km2"] = df["occupied_km2"].diff()
        return df

    @property
    def official_area_km2(self) -> float:
        """Official area of the country (km²) from the manifest."""
        return float(load_manifest().country["official_area_km2"])
