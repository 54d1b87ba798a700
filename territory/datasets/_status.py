"""What the cache holds (status) and whether all of it checks out (verify)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from territory.datasets._cache import Cache
from territory.datasets._index import repair_command
from territory.manifest import load_manifest

log = logging.getLogger(__name__)


def _ranges(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    out: list[tuple[dt.date, dt.date]] = []
    for d in sorted(days):
        if out and d - out[-1][1] == dt.timedelta(days=1):
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def status(cache_dir: Path | str | None = None) -> list[dict[str, Any]]:
    """Describe what is cached, per dataset of the manifest.

    Files with damaged index entries are not counted (``territory data
    verify`` names them).

    Returns
    -------
    list of dict
        One per dataset: ``dataset``, ``title``, ``files`` (count cached),
        ``first``/``last`` (dates of a dated series, else None), ``gaps``
        (dates inside the cached range with no file: ``missing_upstream``
        are absent from the source itself, ``not_fetched`` could be fetched),
        ``licence`` and ``attribution``.
    """
    manifest = load_manifest()
    cache = Cache.open(cache_dir)
    valid = {k: e for k, e in cache.entries.items() if cache.has(k)}
    if len(valid) < len(cache.entries):
        log.warning(
            "%d cached files are missing or damaged; run 'territory data verify'",
            len(cache.entries) - len(valid),
        )
    rows = []
    for ds in manifest.datasets.values():
        keys = [k for k, e in valid.items() if e["dataset"] == ds.name]
        row: dict[str, Any] = {
            "dataset": ds.name,
            "title": ds.title,
            "files": len(keys),
            "first": None,
            "last": None,
            "missing_upstream": [],
            "not_fetched": [],
            "licence": ds.licence,
            "attribution": ds.attribution,
        }
        if ds.is_series and keys:
            days = sorted(dt.date.fromisoformat(k.split("/")[1]) for k in keys)
            row["first"], row["last"] = days[0].isoformat(), days[-1].isoformat()
            published = set(ds.checksums())
            have = set(days)
            span = (days[-1] - days[0]).days + 1
            every = [days[0] + dt.timedelta(days=i) for i in range(span)]
            row["missing_upstream"] = [
                d.isoformat() for d in every if d not in published
            ]
            row["not_fetched"] = [
                d.isoformat() for d in every if d in published and d not in have
            ]
        elif keys and ds.kind in ("control-snapshot", "control-live"):
            asof = sorted(valid[k]["as_of"] for k in keys)
            row["first"], row["last"] = asof[0], asof[-1]
        rows.append(row)
    return rows


def verify(cache_dir: Path | str | None = None) -> tuple[int, list[str]]:
    """Re-check every cached file and index entry, as every reader does.

    Each entry goes through `Cache.check` (the readers' check: a valid entry,
    the file present with the recorded size and sha256); then the source
    checksum recorded at fetch time is compared with the manifest's.

    Returns
    -------
    (int, list of str)
        The number of entries checked, and one line per problem, each naming
        its repair command (empty if all is well).
    """
    manifest = load_manifest()
    cache = Cache.open(cache_dir)
    problems = []
    for key in sorted(cache.entries):
        checked = cache.check(key)
        if checked.problem is not None:
            problems.append(checked.problem)
            continue
        entry = cache.entries[key]
        ds = manifest.datasets[entry["dataset"]]
        expected = None
        if ds.is_series:
            expected = ds.checksums().get(dt.date.fromisoformat(key.split("/")[1]))
        elif ds.extra.get("upstream_sha256", True) is not False:
            expected = ds.sha256
        got = entry.get("source_sha256")
        if expected and got and got != expected:
            fix = repair_command(key, root=cache.root)
            problems.append(
                f"{key}: source checksum differs from the manifest; run '{fix}'"
            )
    return len(cache.entries), problems
