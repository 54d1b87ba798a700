"""The cache index: what a valid entry is, and the command that repairs one."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
from pathlib import Path
from typing import Any

from territory import deepstate
from territory.errors import DataError
from territory.manifest import (
    Dataset,
    default_cache_dir,
    load_manifest,
)

#: Key prefixes of control snapshots in the index.
SNAPSHOT_PREFIXES = ("deepstate-daily/", "snapshots/")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
INDEX_NAME = "index.json"


def daily_key(day: dt.date) -> str:
    """Return the cache key of the daily file dated `day`."""
    return f"deepstate-daily/{day.isoformat()}"


def _is_snapshot(key: str, entry: Any) -> bool:
    return key.startswith(SNAPSHOT_PREFIXES) or (
        isinstance(entry, dict) and "as_of" in entry
    )


def _iso_day(value: Any) -> dt.date | None:
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _daily_lag() -> dt.timedelta:
    days = load_manifest().dataset("deepstate-daily").extra.get("as_of_lag_days", 0)
    return dt.timedelta(days=int(days))


def _snapshot_time(key: str) -> dt.datetime | None:
    """Return the publication time encoded in a ``snapshots/<unix time>`` key, if plausible."""
    sid = key.removeprefix("snapshots/")
    if not (key.startswith("snapshots/") and sid.isascii() and sid.isdigit()):
        return None
    try:
        deepstate.check_snapshot_id(int(sid), source=key)
    except DataError:
        return None
    return dt.datetime.fromtimestamp(int(sid), tz=dt.UTC)


def _placement(key: str) -> dict[str, Any] | None:
    """Where a snapshot belongs on the timeline, from its key alone (or None)."""
    if key.startswith("deepstate-daily/"):
        day = _iso_day(key.removeprefix("deepstate-daily/"))
        if day is None:
            return None
        return {
            "as_of": (day - _daily_lag()).isoformat(),
            "published": None,
            "snapshot": f"deepstate-daily {day}",
            "grey_zone": False,
        }
    published = _snapshot_time(key)
    if published is None:
        return None
    # an API snapshot has a grey zone and is preferred on its day: a damaged
    # one must be chosen (and fail) rather than silently replaced by a daily file
    return {
        "as_of": published.date().isoformat(),
        "published": published.isoformat(),
        "snapshot": f"deepstate {key.removeprefix('snapshots/')}",
        "grey_zone": True,
    }


def _snapshot_problems(key: str, entry: dict[str, Any]) -> list[str]:
    problems = []
    as_of = _iso_day(entry.get("as_of"))
    if as_of is None:
        problems.append(f"as_of {entry.get('as_of')!r} is not an ISO date")
    if not isinstance(entry.get("grey_zone", False), bool):
        problems.append("grey_zone is not true or false")
    place = _placement(key)
    if place is None:
        problems.append("the key is not deepstate-daily/DATE or snapshots/<unix time>")
        return problems
    # what the outputs name and the order of snapshots on a day come from these:
    # they must be what the key says
    if as_of is not None and place["as_of"] != as_of.isoformat():
        problems.append(
            f"as_of {as_of} does not match the key (expected {place['as_of']})"
        )
    label = entry.get("snapshot")
    if label != place["snapshot"]:
        what = (
            "no snapshot label"
            if label is None
            else f"snapshot label {str(label)[:60]!r}"
        )
        problems.append(f"{what} does not match the key")
    if not place["grey_zone"] and entry.get("grey_zone", False) is not False:
        problems.append("a daily file has no grey zone")
    if entry.get("published") != place["published"]:
        problems.append(
            f"published {str(entry.get('published'))[:40]!r} does not match the key"
        )
    return problems


def _inside(rel: str) -> bool:
    """Return True if the relative path `rel` stays inside the cache directory."""
    # PurePosixPath's parts, without building one per entry of the index
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    return bool(parts) and not rel.startswith("/") and ".." not in parts


def _key_fits(key: str, ds: Dataset) -> bool:
    if ds.is_series:
        return key.startswith(f"{ds.name}/")
    if ds.kind in ("control-snapshot", "control-live"):
        return key.startswith("snapshots/")
    return key == ds.name


def entry_problems(key: str, entry: Any) -> list[str]:
    """Return what is wrong with one index entry (empty if nothing).

    An entry is an object with ``dataset`` (a manifest name), ``path`` (relative,
    inside the cache), ``sha256`` (64 hex digits) and ``size`` (bytes); a
    snapshot's entry also has an ``as_of`` ISO date that matches its key.
    """
    if not isinstance(entry, dict):
        return [f"the entry is {json.dumps(entry)[:40]}, not an object"]
    problems = []
    name = entry.get("dataset")
    ds = load_manifest().datasets.get(name) if isinstance(name, str) else None
    if ds is None:
        problems.append(f"unknown dataset {str(name)[:60]!r}")
    elif not _key_fits(key, ds):
        problems.append(f"the key does not fit dataset {ds.name!r}")
    rel = entry.get("path")
    if not isinstance(rel, str) or not rel or "\\" in rel or "\0" in rel:
        problems.append("no valid path")
    elif not _inside(rel):
        problems.append(f"path {rel[:80]!r} leads outside the cache")
    sha = entry.get("sha256")
    if not isinstance(sha, str) or not _HEX64.fullmatch(sha):
        problems.append("no valid sha256")
    size = entry.get("size")
    if type(size) is not int or size < 0:
        problems.append("no valid size")
    if _is_snapshot(key, entry):
        problems += _snapshot_problems(key, entry)
    return problems


def repair_command(key: str, *, indexed: bool = True, root: Path | None = None) -> str:
    """Return the command that fetches `key` again (or forgets it, if it cannot be).

    Parameters
    ----------
    key
        The index key (``deepstate-daily/2025-06-21``, ``land``, ``snapshots/<id>``).
    indexed
        Whether the index holds `key` (then the fetch needs ``--force``).
    root
        The cache directory; named with ``--cache`` unless it is the default.

    Examples
    --------
    >>> repair_command("deepstate-daily/2025-06-21")
    'territory data fetch --force deepstate-daily --start 2025-06-21 --end 2025-06-21'
    >>> repair_command("land", indexed=False)
    'territory data fetch land'
    """
    manifest = load_manifest()
    force = "--force " if indexed else ""
    where = ""
    if root is not None and root.resolve() != default_cache_dir().resolve():
        where = f" --cache {shlex.quote(str(root))}"
    day = _iso_day(key.removeprefix("deepstate-daily/"))
    if key.startswith("deepstate-daily/") and day is not None:
        return f"territory data fetch {force}deepstate-daily --start {day} --end {day}{where}"
    ds = manifest.datasets.get(key)
    if ds is not None and ds.kind != "control-live" and not ds.is_series:
        return f"territory data fetch {force}{key}{where}"
    for ds in manifest.datasets.values():
        if (
            ds.kind == "control-snapshot"
            and key == f"snapshots/{ds.extra.get('snapshot_id')}"
        ):
            return f"territory data fetch {force}{ds.name}{where}"
    # a live snapshot (or an entry of no known form) cannot be fetched again
    return f"territory data forget {shlex.quote(key)}{where}"


def _read_index(root: Path) -> dict[str, Any]:
    index = root / INDEX_NAME
    fix = f"move it aside and run 'territory data fetch' to rebuild the cache at {root}"
    try:
        text = index.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as err:
        msg = f"cache index {index} cannot be read ({err.strerror}); check its permissions, or {fix}"
        raise DataError(msg) from None
    try:
        entries = json.loads(text)["files"]
        if not isinstance(entries, dict):
            msg = "'files' is not an object"
            raise TypeError(msg)
    except (ValueError, KeyError, TypeError, RecursionError) as err:
        msg = f"cache index {index} is damaged ({type(err).__name__}: {str(err)[:80]}); {fix}"
        raise DataError(msg) from None
    return entries
