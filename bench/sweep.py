"""A scenario across time: the cost per date of a sweep against one cold evaluation.

Baseline (same run): ``territory evaluate alaska-2025`` in a new process (its
control map's partition in the derived cache), median of 3.

Ours: ``territory evaluate alaska-2025 --start … --end … --every 12`` over a
year (31 dates) in a new process, with the default workers,

- cold: no partition of those dates derived yet (their ``partition-*`` files
  are moved aside for the run and put back after);
- warm: run again, the partitions read from the derived cache.

The figure is the wall time per date, and its ratio to the baseline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.common import derived_aside, median_s

START, END, EVERY = "2025-02-01", "2026-01-31", 12


def _sweep_s(territory: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [
            territory,
            "evaluate",
            "alaska-2025",
            "--start",
            START,
            "--end",
            END,
            "--every",
            str(EVERY),
            "--format",
            "csv",
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "TERRITORY_PROGRESS": "0"},
    )
    return time.perf_counter() - t0


def run(results: dict) -> None:
    from territory.record import Record
    from territory.sweep import sweep_dates

    territory = str(Path(sys.executable).with_name("territory"))
    dates = sweep_dates(START, END, every_days=EVERY)
    base = median_s(
        lambda: subprocess.run(
            [territory, "evaluate", "alaska-2025", "--format", "csv"],
            check=True,
            capture_output=True,
        ),
        3,
        warm=True,
    )
    rec = Record()
    with derived_aside(rec.cache.root, "partition-*.parquet"):
        cold = _sweep_s(territory)
        warm = _sweep_s(territory)
    n = len(dates)
    results["sweep"] = {
        "dates": n,
        "baseline_s": base,
        "baseline": "territory evaluate alaska-2025 (new process, partition derived)",
        "cold_s": cold,
        "warm_s": warm,
        "per_date_cold_s": cold / n,
        "per_date_warm_s": warm / n,
        "ratio_per_date_cold": cold / n / base,
        "ratio_per_date_warm": warm / n / base,
    }
