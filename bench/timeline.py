"""The whole record by region: `territory` against the plain geopandas way.

Baseline (measured in the same run): what an analyst would write with
geopandas alone — ``read_file`` each daily GeoJSON of the mirror, ``overlay``
it with the land-clipped regions, ``to_crs("EPSG:3035")`` and ``.area`` —
over every `STRIDE`-th daily file (the per-map cost is what is compared;
the whole record takes about a minute this way).

Ours, as a user runs it: ``territory timeline --by region --every 1`` over
the whole record in a new process,

- cold: with no by-region figures derived yet (the ``series-*`` files of the
  derived cache are moved aside for the run and put back after), the median
  of `REPEAT` runs, each starting with nothing derived;
- warm: run again, the figures read from the derived cache (median likewise);

with the peak memory of a cold run, and a check that the figures equal
`control`'s for a few dates (1e-9 relative).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import child_peak_mib, derived_aside

#: Every how many daily files the baseline reads.
STRIDE = 8
#: Cold and warm runs timed (the median is kept): the machines are noisy.
REPEAT = 3


def _naive_per_map_s(mirror: Path) -> tuple[float, int]:
    import warnings

    import geopandas as gpd

    from territory.record import Record

    rec = Record()
    regions = rec.regions[["region_id", "geometry"]]
    land = gpd.GeoDataFrame(geometry=[rec.land], crs="EPSG:4326")
    clipped = gpd.overlay(regions, land, how="intersection")
    files = sorted((mirror / "deepstate" / "daily").glob("deepstatemap_data_*.geojson"))
    files = files[::STRIDE]
    t0 = time.perf_counter()
    for path in files:
        gdf = gpd.read_file(path)
        occ = gdf[gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cut = gpd.overlay(clipped, occ[["geometry"]], how="intersection")
        cut.to_crs("EPSG:3035").area.groupby(cut["region_id"]).sum()
    return (time.perf_counter() - t0) / len(files), len(files)


def _timeline_s(territory: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [territory, "timeline", "--by", "region", "--every", "1", "--format", "csv"],
        check=True,
        capture_output=True,
        env={**os.environ, "TERRITORY_PROGRESS": "0"},
    )
    return time.perf_counter() - t0


def run(results: dict) -> None:
    from territory.record import Record

    repo = Path(__file__).resolve().parents[1]
    mirror = Path(
        os.environ.get("TERRITORY_MIRROR") or repo.parent / "shared" / "geodata"
    )
    territory = str(Path(sys.executable).with_name("territory"))
    rec = Record()
    maps = len({s.key for s in rec.snapshots})
    colds = []
    with derived_aside(rec.cache.root, "series-*.json") as derived:
        for _ in range(REPEAT):
            for path in derived.glob("series-*.json"):  # what a cold run wrote
                path.unlink()
            colds.append(_timeline_s(territory))
        for path in derived.glob("series-*.json"):
            path.unlink()
        peak = child_peak_mib(
            [territory, "timeline", "--by", "region", "--every", "1", "--format", "csv"]
        )
        warms = [_timeline_s(territory) for _ in range(REPEAT)]
    cold, warm = statistics.median(colds), statistics.median(warms)
    per_map, n = _naive_per_map_s(mirror)
    naive = per_map * maps
    # the figures equal control's (1e-9 relative) on a few dates
    dates = [rec.snapshots[k].as_of for k in (100, 400, len(rec.snapshots) - 1)]
    worst = 0.0
    for day in dates:
        row = rec.occupied_series(day, day, region_ids=list(rec.regions["region_id"]))
        ctl = rec.control(day).to_frame().set_index("region_id")["occupied_km2"]
        for rid, km2 in ctl.items():
            worst = max(worst, abs(float(row[rid].iloc[0]) - km2) / max(km2, 1.0))
    results["timeline"] = {
        "maps": maps,
        "baseline_s": naive,
        "baseline": f"geopandas read_file+overlay+to_crs+area, {per_map:.3f} s a map over {n} maps × {maps}",
        "cold_s": cold,
        "cold_runs_s": colds,
        "warm_s": warm,
        "warm_runs_s": warms,
        "cpus": os.cpu_count(),
        "speedup_cold": naive / cold,
        "speedup_warm": naive / warm,
        "ratio_cold": cold / naive,
        "ratio_warm": warm / naive,
        "peak_mib": peak,
        "max_rel_vs_control": worst,
    }
