"""Benchmarks of distance rules: time and peak memory, against reading the control map.

Baseline (measured in the same run): ``Record().control("2025-08-15")``, i.e.
reading the control map and its cached land partition, which every
evaluation does first.  Each figure is the median of several repeats, with a
fresh `SelectionContext` each time (no cached band), reported as a ratio to
the baseline.  Peak memory is the maximum RSS of a child process doing only
that work (``RUSAGE_CHILDREN``), against a child that only reads the map.

Benchmarks
----------
ru_strip_50km    all Ukrainian-held land within 50 km of the Russian border
                 (``all = true, within_km_of_border = 50, border_with = ["RU"]``)
front_zone_30km  the band within 30 km of the whole contact line (a zone's band)
sumy_kharkiv_20km  Ukrainian-held land in Sumy and Kharkiv within 20 km of any
                 land border (the trial's case: 8-24 GB before)

Run alone with ``python bench/distance.py``; ``run(results)`` adds the figures
to a results dict (as bench/run.py does).
"""

from __future__ import annotations

import json
import resource
import statistics
import sys

from bench.common import PY, child_peak_mib, median_s

DATE = "2025-08-15"

SETUP = f"""
from territory.record import Record
from territory.selection import SelectionContext, select
from territory.scenario import Rule
control = Record().control({DATE!r})
"""

CASES = {
    "ru_strip_50km": (
        'select(Rule(everything=True, within_km_of_border=50.0, border_with=("RU",)),'
        ' "UA", SelectionContext(control))'
    ),
    "front_zone_30km": (
        'ctx = SelectionContext(control); ctx.near_line(ctx.front, 30.0, what="zone")'
    ),
    "sumy_kharkiv_20km": (
        'select(Rule(regions=("UA-59", "UA-63"), within_km_of_border=20.0),'
        ' "UA", SelectionContext(control))'
    ),
}


def run(results: dict, repeat: int = 3) -> None:
    """Add the distance benchmarks to `results` (seconds, MiB and ratios)."""
    from territory.record import Record

    namespace: dict = {}
    exec(SETUP, namespace)
    base_s = median_s(lambda: Record().control(DATE), repeat)
    base_mib = statistics.median(
        child_peak_mib([PY, "-c", SETUP]) for _ in range(repeat)
    )
    for name, stmt in CASES.items():
        code = compile(stmt, name, "exec")
        ours_s = median_s(lambda code=code: exec(code, namespace), repeat)
        ours_mib = statistics.median(
            child_peak_mib([PY, "-c", SETUP + stmt]) for _ in range(repeat)
        )
        results[f"distance_{name}"] = {
            "baseline": f"Record().control({DATE!r}) (read the control map)",
            "baseline_s": base_s,
            "ours_s": ours_s,
            "ratio": ours_s / base_s,
            "baseline_peak_mib": base_mib,
            "ours_peak_mib": ours_mib,
            "memory_ratio": ours_mib / base_mib,
        }


if __name__ == "__main__":
    out: dict = {}
    run(out)
    print(json.dumps(out, indent=2, default=float))
    print(
        "self peak MiB",
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        file=sys.stderr,
    )
