"""Benchmarks of territory, each against a baseline measured in the same run.

Machines here are noisy, so every figure is reported as a ratio to a baseline
taken in the same run, with the median of several repeats.  Run with
``make bench``; results go to bench/results/latest.json (git-ignored) and
into bench/results.json (kept: the last figures of each benchmark).

Benchmarks
----------
area       accounting area (`geodesy.area_km2`) vs Karney's geodesic area
           (pyproj) on the same DeepState polygon: the fast path's speed-up.
partition  land partition of one snapshot computed cold vs read from the
           derived cache (what a second `territory control` costs).
evaluate   evaluating the Alaska scenario vs reading its control map.
cli        `territory evaluate alaska-2025` wall time vs `python -c "import geopandas"`.
memory     peak RSS of `territory evaluate alaska-2025` vs of importing geopandas.
cache_read reading a cached file with its content check vs without (bench/cache_read.py).
distance   distance rules along the Russian border and the front: time and peak
           memory vs reading the control map (bench/distance.py).
timeline   `territory timeline --by region` over the whole record, cold and warm,
           vs the plain geopandas way; peak memory (bench/timeline.py).
sweep      `territory evaluate SCENARIO --start/--end` over a year: per-date cost,
           cold and warm, vs one cold evaluation (bench/sweep.py).
balance    `territory.balance` on the Alaska cession in Zaporizhzhia and Kherson
           (as a transfer and as a zone) vs one evaluation (bench/balance.py).
browser    Alaska map load time in headless Chromium (network off) vs a bare
           Leaflet page with one polygon; also the page size.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import child_peak_mib, median_s  # noqa: E402

PY = sys.executable
TERRITORY = str(Path(PY).with_name("territory"))


def bench_area(results: dict) -> None:
    from territory.geodesy import area_km2, geodesic_area_perimeter_m
    from territory.record import Record

    rec = Record()
    occ = rec.read_snapshot(rec.snapshot_for("2025-08-15")[0])["occupied"]
    base = median_s(lambda: geodesic_area_perimeter_m(occ), 20)
    ours = median_s(lambda: area_km2(occ), 20)
    results["area"] = {
        "baseline_s": base,
        "ours_s": ours,
        "ratio": ours / base,
        "baseline": "pyproj Geod.geometry_area_perimeter (Karney)",
    }


def bench_partition(results: dict) -> None:
    from territory.control import partition_land
    from territory.record import Record

    rec = Record()
    snap = rec.snapshot_for("2025-08-15")[0]
    rec.partition(snap)  # make sure the derived cache holds it
    by_status = rec.read_snapshot(snap)
    cold = median_s(lambda: partition_land(rec.regions, rec.land, by_status), 3)
    warm = median_s(lambda: rec.partition(snap), 5)
    results["partition"] = {
        "cold_s": cold,
        "cached_s": warm,
        "ratio_cold_to_cached": cold / warm,
    }


def bench_evaluate(results: dict) -> None:
    from territory.accounting import evaluate
    from territory.record import Record
    from territory.scenario import read_scenario

    rec = Record()
    sc = read_scenario("alaska-2025")
    base = median_s(lambda: Record().control(sc.as_of).to_frame(), 3)
    ctl = rec.control(sc.as_of)
    ours = median_s(lambda: evaluate(sc, ctl), 3)
    results["evaluate"] = {"control_s": base, "evaluate_s": ours, "ratio": ours / base}


def bench_cli(results: dict) -> None:
    base = median_s(
        lambda: subprocess.run([PY, "-c", "import geopandas"], check=True), 3
    )
    ours = median_s(
        lambda: subprocess.run(
            [TERRITORY, "evaluate", "alaska-2025", "--format", "json"],
            check=True,
            capture_output=True,
        ),
        3,
    )
    help_s = median_s(
        lambda: subprocess.run([TERRITORY, "--help"], check=True, capture_output=True),
        3,
    )
    results["cli"] = {
        "import_geopandas_s": base,
        "evaluate_s": ours,
        "ratio": ours / base,
        "help_s": help_s,
        "help_ratio": help_s / base,
    }
    mem_base = child_peak_mib([PY, "-c", "import geopandas"])
    mem_ours = child_peak_mib(
        [TERRITORY, "evaluate", "alaska-2025", "--format", "json"]
    )
    results["memory"] = {
        "import_geopandas_mib": mem_base,
        "evaluate_mib": mem_ours,
        "ratio": mem_ours / mem_base,
    }


LOAD_PROBE = (
    "<script>window.addEventListener('load',function(){setTimeout(function(){"
    "document.title='LOADED '+performance.now().toFixed(0);},0);});</script>"
)


def _load_ms(chromium: str, page: Path) -> float:
    html = page.read_text(encoding="utf-8").replace("<head>", "<head>" + LOAD_PROBE, 1)
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / page.name
        probe.write_text(html, encoding="utf-8")
        out = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--proxy-server=http://127.0.0.1:9",
                f"--user-data-dir={tmp}/profile",
                "--window-size=1400,900",
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
    title = out.split("<title>LOADED ", 1)[1].split("<", 1)[0]
    return float(title)


def bench_browser(results: dict) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        results["browser"] = {"skipped": "chromium not installed (make browser)"}
        return
    from territory.accounting import evaluate
    from territory.maps import render_scenario, save_map
    from territory.maps.offline import inline_leaflet
    from territory.record import Record
    from territory.scenario import read_scenario

    with tempfile.TemporaryDirectory() as tmp:
        sc = read_scenario("alaska-2025")
        page = Path(tmp) / "alaska.html"
        save_map(render_scenario(evaluate(sc, Record().control(sc.as_of))), page)
        bare = Path(tmp) / "bare.html"
        bare.write_text(
            "<!DOCTYPE html><html><head>" + inline_leaflet() + "</head><body><div id=m "
            "style='width:100%;height:100vh'></div><script>var m=L.map('m').setView([48,31],6);"
            "L.polygon([[47,30],[49,30],[49,33]]).addTo(m);</script></body></html>",
            encoding="utf-8",
        )
        base = statistics.median(_load_ms(chromium, bare) for _ in range(3))
        ours = statistics.median(_load_ms(chromium, page) for _ in range(3))
        results["browser"] = {
            "bare_leaflet_ms": base,
            "alaska_map_ms": ours,
            "ratio": ours / base,
            "alaska_map_bytes": page.stat().st_size,
        }


def _module_bench(name: str):
    """The `run` function of the benchmark module bench/<name>.py."""
    import importlib

    return importlib.import_module(f"bench.{name}").run


BENCHES = {
    "area": bench_area,
    "partition": bench_partition,
    "evaluate": bench_evaluate,
    "cli": bench_cli,
    "browser": bench_browser,
    "cache_read": "cache_read",
    "distance": "distance",
    "balance": "balance",
    "timeline": "timeline",
    "sweep": "sweep",
}


def main() -> None:
    """Run the benchmarks named on the command line (default: all of them)."""
    wanted = sys.argv[1:] or list(BENCHES)
    unknown = [w for w in wanted if w not in BENCHES]
    if unknown:
        sys.exit(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHES)}")
    # territory's bytecode compiled first, as installing a package does (and
    # as the baseline's packages are): with PYTHONDONTWRITEBYTECODE set, an
    # editable checkout would otherwise compile every module on every start
    import compileall

    compileall.compile_dir(REPO / "territory", quiet=1)
    results: dict = {}
    for name in wanted:
        bench = BENCHES[name]
        if isinstance(bench, str):
            bench = _module_bench(bench)
        before = set(results)
        bench(results)
        for key in sorted(
            set(results) - before
        ):  # a benchmark may report several figures
            print(f"{key:>10}: {json.dumps(results[key], default=float)}")
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2, default=float))
    # bench/results.json keeps the last figures of every benchmark (a partial
    # run updates its own), with the date and machine they were measured on
    kept = REPO / "bench" / "results.json"
    doc = json.loads(kept.read_text()) if kept.exists() else {}
    import datetime as dt
    import os
    import platform

    for key, val in results.items():
        doc[key] = {
            **val,
            "measured": dt.date.today().isoformat(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        }
    kept.write_text(json.dumps(doc, indent=2, sort_keys=True, default=float) + "\n")
    print("\nratios (ours / baseline, same run):")
    for key, val in results.items():
        for k, v in val.items():
            if "ratio" in k and isinstance(v, float):  # (not the lists of runs)
                print(f"  {key}.{k}: {v:.3f}")


if __name__ == "__main__":
    main()
