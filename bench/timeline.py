"""The whole record by region: `territory` against the plain geopandas way.

Baseline (measured in the same run): what an analyst would write with
geopandas alone — ``read_file`` each daily GeoJSON of the mirror, ``overlay``
it with the land-clipped regions, ``to_crs("EPSG:3035")`` and ``.area`` —
over every `STRIDE`-th daily file (the per-map cost is what is compared;
the whole record takes about a minute this way), timed in one part per cold
run of ours of every kind (part k: every n-th of those files from the k-th,
so each spans the record), each just before its run: the host's speed
drifts within minutes, so besides each kind's median against the whole
baseline (``speedup_cold``, ``speedup_cold_unprepared``,
``speedup_cold_empty``), each run is compared with the part timed just
before it, and the median of those pairs is reported (``..._paired``).

Ours, as a user runs it: ``territory timeline --by region --every 1`` over
the whole record in a new process,

- cold: with no by-region figures and no partition derived yet (the
  ``series-*`` and ``partition-*`` files of the derived cache are moved
  aside for the run and put back after: the check that ends the run works
  its last map out afresh), the median of `COLD_REPEAT` runs, each starting
  with no figure derived; the static layers (``statics-*``: the regions and
  land mask prepared, which no map changes) and the maps' versions are
  derived, as after any earlier run on the cache;
- cold, unprepared: the same with the static layers moved aside too
  (`STATIC_PATTERNS`: the figures' and the partition's, which share them;
  the first run on new boundaries), the median of `REPEAT` runs;
- cold, empty: the whole derived cache moved aside (the maps' versions
  computed too: the first run on a new cache);
- warm: run again, the figures read from the derived cache (median likewise);

with the peak memory of a cold run, and a check that the figures the last
cold run printed (computed map after map) equal `control`'s for a few dates
(1e-9 relative).  The CPU seconds of the cold
runs of each kind (their workers' too) and of the baseline are reported
beside the wall times: the machines are shared, and CPU time is what another
load changes least.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import child_peak_mib, derived_aside

#: The command timed: the whole record by region, as CSV.
_ARGS = ["timeline", "--by", "region", "--every", "1", "--format", "csv"]
#: The derived files of the static layers (no map changes them): the
#: by-region figures' and the partition's, which share the layers, and the
#: border's band (made only when a piece by the border needs it); all moved
#: aside for a first run on new boundaries.
STATIC_PATTERNS = ("statics-*.arrow", "static-layers-*.wkb", "border-band-*.wkb")
#: Every how many daily files the baseline reads.
STRIDE = 8
#: Cold and warm runs timed (the median is kept): the machines are noisy.
REPEAT = 3
#: Cold runs with no figure derived, each paired with the part of the
#: baseline timed just before it: the ratio the target is set on, so more of
#: them than of the other kinds.
COLD_REPEAT = 5


def _naive_timer(
    mirror: Path,
) -> tuple[list[Path], Callable[[list[Path]], tuple[float, float]]]:
    """The daily files the baseline reads, and what times it on some of them.

    The timer returns the wall and CPU seconds it took for the files given
    (the regions clipped to the land once, before any timing).
    """
    import warnings

    import geopandas as gpd

    from territory.record import Record

    rec = Record()
    regions = rec.regions.reset_index()[["region_id", "geometry"]]
    land = gpd.GeoDataFrame(geometry=[rec.land], crs="EPSG:4326")
    clipped = gpd.overlay(regions, land, how="intersection")
    files = sorted((mirror / "deepstate" / "daily").glob("deepstatemap_data_*.geojson"))

    def timed(paths: list[Path]) -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        for path in paths:
            gdf = gpd.read_file(path)
            occ = gdf[gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cut = gpd.overlay(clipped, occ[["geometry"]], how="intersection")
            cut.to_crs("EPSG:3035").area.groupby(cut["region_id"]).sum()
        return time.perf_counter() - t0, time.process_time() - c0

    # the first file read pays once for what reading and cutting set up
    # (about 0.2 s): untimed, or the first part, a second long, would count
    # it, and the whole-record figure eight times over
    timed(files[:1])
    return files[::STRIDE], timed


def _timeline_s(
    territory: str, cpu: list[float] | None = None, out: list[str] | None = None
) -> float:
    """Wall time of a whole-record timeline; its CPU time (with its workers'
    and the children's) appended to `cpu`, and the CSV it wrote to `out`."""
    before = _children_cpu_s()
    t0 = time.perf_counter()
    done = subprocess.run(
        [territory, *_ARGS],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TERRITORY_PROGRESS": "0"},
    )
    wall = time.perf_counter() - t0
    if cpu is not None:
        cpu.append(_children_cpu_s() - before)
    if out is not None:
        out.append(done.stdout)
    return wall


def _children_cpu_s() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def run(results: dict) -> None:
    from territory.record import Record

    repo = Path(__file__).resolve().parents[1]
    mirror = Path(
        os.environ.get("TERRITORY_MIRROR") or repo.parent / "shared" / "geodata"
    )
    territory = str(Path(sys.executable).with_name("territory"))
    rec = Record()
    maps = len({s.key for s in rec.snapshots})
    colds, unprepared, empty = [], [], []
    unprepared_cpus: list[float] = []
    empty_cpus: list[float] = []
    # each cold run right after a part of the baseline's files: the host's
    # speed drifts within minutes, and a pair is timed at one speed
    files, timed = _naive_timer(mirror)
    parts = 2 * REPEAT + COLD_REPEAT
    chunks: dict[str, list[tuple[float, float, int]]] = {}

    def baseline_part(kind: str) -> None:
        k = sum(len(c) for c in chunks.values())
        part = files[k::parts]
        chunks.setdefault(kind, []).append((*timed(part), len(part)))

    with derived_aside(rec.cache.root, "series-*.json") as derived:
        with derived_aside(rec.cache.root, "*"):
            for _ in range(REPEAT):
                for path in derived.glob("*"):  # what an empty run wrote
                    if path.is_file():
                        path.unlink()
                baseline_part("empty")
                empty.append(_timeline_s(territory, empty_cpus))
        # no partition derived either: the check that ends a cold run then
        # works its last map out afresh, as on any cache where no one has
        # asked for that map's control figures
        with derived_aside(rec.cache.root, "partition-*"):
            with contextlib.ExitStack() as stack:
                for pattern in STATIC_PATTERNS:
                    stack.enter_context(derived_aside(rec.cache.root, pattern))
                for _ in range(REPEAT):
                    for pattern in ("series-*.json", *STATIC_PATTERNS):
                        for path in derived.glob(pattern):  # what a cold run wrote
                            path.unlink()
                    baseline_part("unprepared")
                    unprepared.append(_timeline_s(territory, unprepared_cpus))
            cold_cpus: list[float] = []
            printed: list[str] = []
            for _ in range(COLD_REPEAT):
                for path in derived.glob("series-*.json"):  # what a cold run wrote
                    path.unlink()
                baseline_part("cold")
                colds.append(_timeline_s(territory, cold_cpus, printed))
            for path in derived.glob("series-*.json"):
                path.unlink()
            peak = child_peak_mib([territory, *_ARGS])
        warms = [_timeline_s(territory) for _ in range(REPEAT)]
    cold, warm = statistics.median(colds), statistics.median(warms)
    cold_unprepared = statistics.median(unprepared)
    cold_empty = statistics.median(empty)
    every = [c for kind in chunks.values() for c in kind]
    n = sum(c[2] for c in every)
    per_map = sum(c[0] for c in every) / n
    per_map_cpu = sum(c[1] for c in every) / n
    naive = per_map * maps

    # each run against the part of the baseline timed just before it
    paired = {
        kind: [
            (wall / k) * maps / run
            for (wall, _, k), run in zip(chunks[kind], runs, strict=True)
        ]
        for kind, runs in (
            ("cold", colds),
            ("unprepared", unprepared),
            ("empty", empty),
        )
    }

    # CPU seconds, the workers' too: what the machine's other load does
    # not change (the wall times above are what the targets are set on)
    naive_cpu, cold_cpu = per_map_cpu * maps, statistics.median(cold_cpus)
    unprepared_cpu = statistics.median(unprepared_cpus)
    empty_cpu = statistics.median(empty_cpus)
    # what the last cold run printed (computed map after map, not read from
    # the cache) equals control's figures (1e-9 relative) on a few dates
    printed_rows = {
        row["as_of"]: row for row in csv.DictReader(io.StringIO(printed[-1]))
    }
    dates = [rec.snapshots[k].as_of for k in (100, 400, len(rec.snapshots) - 1)]
    worst = 0.0
    for day in dates:
        row = printed_rows[day.isoformat()]
        ctl = rec.control(day).to_frame()["occupied_km2"]
        for rid, km2 in ctl.items():
            worst = max(worst, abs(float(row[rid]) - km2) / max(km2, 1.0))
    results["timeline"] = {
        "maps": maps,
        "baseline_s": naive,
        "baseline": f"geopandas read_file+overlay+to_crs+area, {per_map:.3f} s a map over {n} maps × {maps}",
        "cold_s": cold,
        "cold_runs_s": colds,
        "baseline_cpu_s": naive_cpu,
        "cold_cpu_s": cold_cpu,
        "speedup_cold_cpu": naive_cpu / cold_cpu,
        "cold_unprepared_s": cold_unprepared,
        "cold_unprepared_runs_s": unprepared,
        "speedup_cold_unprepared": naive / cold_unprepared,
        "speedup_cold_unprepared_paired": statistics.median(paired["unprepared"]),
        "speedup_cold_unprepared_paired_runs": paired["unprepared"],
        "cold_unprepared_cpu_s": unprepared_cpu,
        "speedup_cold_unprepared_cpu": naive_cpu / unprepared_cpu,
        "cold_empty_s": cold_empty,
        "cold_empty_runs_s": empty,
        "speedup_cold_empty": naive / cold_empty,
        "speedup_cold_empty_paired": statistics.median(paired["empty"]),
        "speedup_cold_empty_paired_runs": paired["empty"],
        "cold_empty_cpu_s": empty_cpu,
        "speedup_cold_empty_cpu": naive_cpu / empty_cpu,
        "warm_s": warm,
        "warm_runs_s": warms,
        "cpus": os.cpu_count(),
        "speedup_cold": naive / cold,
        "speedup_cold_paired": statistics.median(paired["cold"]),
        "speedup_cold_paired_runs": paired["cold"],
        "speedup_warm": naive / warm,
        "ratio_cold": cold / naive,
        "ratio_warm": warm / naive,
        "peak_mib": peak,
        "max_rel_vs_control": worst,
    }
