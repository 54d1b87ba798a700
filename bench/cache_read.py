"""Benchmark: what checking the cache's content costs every reader.

Every reader of the cache reads a file's bytes once, hashes them (sha256) and
compares with the index, then parses from memory (`Cache.read_frame`).  The
baseline, measured in the same run, is what the readers did before: parse the
file from disk unchecked (``geopandas.read_parquet(path)``).  Reported for a
daily snapshot (~55 kB) and for the full-resolution boundaries (~2.2 MB): the
median of repeats and the ratio checked / unchecked, plus the hashing alone as
a share of the checked read.

Run alone with ``python -m bench.cache_read``; ``bench/run.py`` calls `run`.
"""

from __future__ import annotations

import hashlib
import json

from bench.common import median_s

REPEAT = 15


def run(results: dict) -> None:
    """Add ``cache_read`` to `results`: checked vs unchecked reads, as ratios."""
    import geopandas as gpd

    from territory.datasets import Cache

    cache = Cache.open()
    daily = [k for k in sorted(cache.entries) if k.startswith("deepstate-daily/")]
    out: dict[str, float | str] = {
        "baseline": "geopandas.read_parquet(path), unchecked"
    }
    for name, key in (("daily", daily[len(daily) // 2]), ("boundaries", "boundaries")):
        path = cache.path(key)
        data = path.read_bytes()
        unchecked = median_s(lambda p=path: gpd.read_parquet(p), REPEAT, warm=True)
        checked = median_s(lambda k=key: cache.read_frame(k), REPEAT, warm=True)
        hash_only = median_s(
            lambda d=data: hashlib.sha256(d).hexdigest(), REPEAT, warm=True
        )
        out[f"{name}_bytes"] = len(data)
        out[f"{name}_unchecked_s"] = unchecked
        out[f"{name}_checked_s"] = checked
        out[f"{name}_ratio"] = checked / unchecked
        out[f"{name}_hash_share"] = hash_only / checked
    results["cache_read"] = out


if __name__ == "__main__":
    res: dict = {}
    run(res)
    print(json.dumps(res, indent=1, default=float))
