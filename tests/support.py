"""Helpers shared by the data-layer tests: where the mirror is, and cache snapshots."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def mirror_dir() -> Path:
    """The geodata mirror: $TERRITORY_MIRROR, else <repo>/../shared/geodata."""
    env = os.environ.get("TERRITORY_MIRROR")
    if env:
        return Path(env).expanduser().resolve()
    return (REPO / ".." / "shared" / "geodata").resolve()


MIRROR = mirror_dir()


def require_mirror(rel: str | Path = "deepstate/daily") -> Path:
    """Return the mirror, or skip (with the reason) when `rel` is not in it."""
    if not (MIRROR / rel).exists():
        pytest.skip(
            f"geodata mirror not found at {MIRROR}; set TERRITORY_MIRROR to run data tests"
        )
    return MIRROR


def tree(root: Path) -> dict[str, str | None]:
    """Map every file and directory under `root`, hidden ones too, to its sha256.

    Directories map to None.
    """
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): None
        if p.is_dir()
        else hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
    }


def isolate_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point the default cache, mirror and live API where no test may reach them.

    Data tests pass their cache and mirror explicitly; the defaults must stay
    unused, and nothing may reach deepstatemap.live or the project's own cache.
    """
    monkeypatch.setenv(
        "TERRITORY_CACHE", str(tmp_path / "default-cache-must-stay-unused")
    )
    monkeypatch.setenv("TERRITORY_DEEPSTATE_API", "http://127.0.0.1:9/not-used")
    monkeypatch.delenv("TERRITORY_MIRROR", raising=False)


def overlay_cache(root: Path, real: Path) -> Path:
    """A cache at `root` that reads the real cache at `real` and writes only into itself.

    Every entry is a symbolic link to the real one, except ``derived/``, a
    directory of its own (linking the partitions already computed), so a test
    may ask for any date without modifying the real cache.
    """
    root.mkdir(parents=True, exist_ok=True)
    for entry in real.iterdir():
        if entry.name != "derived":
            (root / entry.name).symlink_to(entry)
    derived = root / "derived"
    derived.mkdir()
    for f in (real / "derived").glob("*"):
        if f.is_file():
            (derived / f.name).symlink_to(f)
    return root


def partitioned_cache(cache: Path, start: dt.date, end: dt.date, as_of: str) -> Path:
    """Fill `cache` from the mirror with the boundaries, the land and the daily
    files `start` … `end`, and derive the partition of the map as of `as_of`.
    """
    from territory import datasets, record

    mirror = str(require_mirror())
    datasets.fetch(["boundaries", "land"], cache_dir=cache, mirror=mirror)
    datasets.fetch(
        ["deepstate-daily"], cache_dir=cache, mirror=mirror, start=start, end=end
    )
    record.Record(cache).control(as_of)
    return cache


def fresh_python(code: str) -> str:
    """Run `code` in a new interpreter (nothing imported yet) and return its stdout.

    It must succeed.  For what a first import or call loads.
    """
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout


def cli_without_pandas(args: list[str], cache: Path) -> tuple[str, bool]:
    """Run ``territory ARGS`` in a new process on `cache`: its stdout, and
    whether it imported pandas (the command must succeed)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from territory.cli.main import cli\n"
        f"sys.argv = ['territory', *{list(args)!r}]\n"
        "try:\n"
        "    cli()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print('PANDAS', 'pandas' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TERRITORY_CACHE": str(cache)},
    ).stdout
    printed, _, flag = out.rstrip("\n").rpartition("\n")
    assert flag in ("PANDAS True", "PANDAS False"), out[-200:]
    return printed + "\n", flag == "PANDAS True"
