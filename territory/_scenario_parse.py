"""The scenario file format: TOML (or JSON) documents to `Scenario` objects.

Private to `territory.scenario`, whose `parse_scenario` and `read_scenario`
call `parse` and `read` here.  The parser walks the document key by key,
refuses unknown keys and nulls, confines ``polygons`` to the scenario's folder,
and builds the model's objects while `_PARSING` is set, so that their checks
report in the file's keys.  Every problem is one `ScenarioFormatError` line
naming the file, the transfer, the key and the fix.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

# Names that callers may patch on territory.scenario (MAX_FILE_BYTES, library,
# ...) are looked up there when used, as they were before the parser moved out.
import territory.scenario as model
from territory._scenario_checks import _PARSING
from territory._scenario_values import (
    _FILE,
    _as_of,
    _flag,
    _Invalid,
    _is_dir,
    _is_file,
    _name,
    _party,
    _sequence,
    _show,
    _text,
)
from territory.errors import DataNotFoundError, ScenarioError, ScenarioFormatError
from territory.regions import RegionTable, load_region_table

_RULE_KEYS = {
    "all",
    "regions",
    "connected",
    "within_km_of_front",
    "within_km_of_border",
    "border_with",
    "polygons",
    "geometry",
    "exclude",
}
_TRANSFER_KEYS = {"name", "from", "to", "select", "claim", "note", "sovereignty"}
_ZONE_KEYS = {
    "name",
    "along",
    "depth_km",
    "withdraw",
    "select",
    "claim",
    "note",
    "sovereignty",
}
_META_KEYS = {"title", "as_of", "source", "citation", "description", "default"}
_OUTSIDE_FIX = "or pass allow_paths_outside=True (CLI: --allow-paths-outside) if you trust the file"


def _label(path: Path) -> str:
    """Return the file's name for a message: printable, on one line."""
    return path.name if path.name.isprintable() else repr(path.name)


class _Ctx:
    def __init__(
        self, path: Path | None, table: RegionTable, allow_outside: bool
    ) -> None:
        self.path = path
        self.table = table
        self.allow_outside = allow_outside
        self.where = _label(path) if path else "scenario"

    def fail(self, what: str, problem: str, fix: str) -> ScenarioFormatError:
        return ScenarioFormatError(f"{self.where}: {what}: {problem}; {fix}")

    def build(self, what: str, make: Any, *args: Any, **kwargs: Any) -> Any:
        """Call `make` (a class or a check); name the file and `what` on failure."""
        try:
            return make(*args, **kwargs)
        except _Invalid as err:
            raise self.fail(what, err.problem, err.fix) from None


def _no_unknown(
    raw: dict[Any, Any], allowed: set[str], ctx: _Ctx, what: str, kind: str = "key(s)"
) -> None:
    """Refuse keys the format does not know, and keys without a value."""
    unknown = sorted((k for k in raw if k not in allowed), key=str)
    if unknown:
        shown = ", ".join(_show(k) for k in unknown[:6])
        more = f" and {len(unknown) - 6} more" if len(unknown) > 6 else ""
        raise ctx.fail(
            what, f"unknown {kind} [{shown}]{more}", f"use {sorted(allowed)}"
        )
    # TOML has no null, but a JSON document does: a key is there with a value,
    # or not there at all ("connected": null must not read as "not given").
    empty = sorted(k for k, v in raw.items() if v is None)
    if empty:
        raise ctx.fail(
            what, f"'{empty[0]}' is null", "give it a value or leave the key out"
        )


def _polygon_paths(value: Any, ctx: _Ctx, what: str) -> tuple[Path, ...]:
    """Resolve ``polygons`` against the scenario's folder, which they may not leave."""
    items = _sequence(value, str)
    if not items:
        raise ctx.fail(
            what,
            f"'polygons' is {_show(value)}, not a file name or a list of them",
            'write polygons = "zone.geojson"',
        )
    base = ctx.path.parent if ctx.path else Path.cwd()
    try:
        folder = base.resolve()
    except (OSError, RuntimeError, ValueError):
        folder = base.absolute()
    out = []
    for x in items:
        name = _show(x)
        if not x.strip() or "\x00" in x:
            raise ctx.fail(
                what,
                f"'polygons' entry {name} is not a file name",
                'write polygons = "zone.geojson"',
            )
        given = Path(x)
        if given.is_absolute() and not ctx.allow_outside:
            raise ctx.fail(
                what,
                f"polygon file {name} is an absolute path; paths are relative to the scenario's folder",
                f"put the file next to the scenario and write polygons = {_show(given.name)}, {_OUTSIDE_FIX}",
            )
        try:  # symlinks are resolved, so a link that leads out is caught below
            p = (folder / given).resolve()
        except (OSError, RuntimeError, ValueError):
            raise ctx.fail(
                what,
                f"polygon file {name} cannot be resolved (a symlink loop?)",
                "give a plain file next to the scenario",
            ) from None
        if not ctx.allow_outside and not p.is_relative_to(folder):
            raise ctx.fail(
                what,
                f"polygon file {name} lies outside the scenario's folder {str(folder)!r}",
                f"copy it next to the scenario, {_OUTSIDE_FIX}",
            )
        if _is_dir(p):
            raise ctx.fail(
                what,
                f"polygon file {name} is a folder, not a file",
                "name the vector file inside it",
            )
        if not _is_file(p):
            raise ctx.fail(
                what,
                f"polygon file {name} not found in {str(p.parent)!r}",
                "put the file there or fix the name",
            )
        out.append(p)
    return tuple(out)


def _parse_rule(raw: Any, ctx: _Ctx, what: str, depth: int = 0) -> model.Rule:
    key = "select" if depth == 0 else "exclude"
    here = (
        what
        if depth == 0
        else f"{what} (exclude{'' if depth == 1 else f' level {depth}'})"
    )
    if not isinstance(raw, dict):
        raise ctx.fail(
            here,
            f"'{key}' is {_show(raw)}, not a table",
            f'write {key} = {{ regions = ["Donetsk"] }}',
        )
    _no_unknown(raw, _RULE_KEYS, ctx, here, "selection key(s)")
    if not set(raw) - {"exclude"}:
        raise ctx.fail(
            here,
            "the selection rule is empty",
            "say which land moves (regions, polygons, all = true, ...)",
        )
    kwargs: dict[str, Any] = {}
    for file_key, attr in (
        ("all", "everything"),
        ("regions", "regions"),
        ("connected", "connected"),
        ("within_km_of_front", "within_km_of_front"),
        ("within_km_of_border", "within_km_of_border"),
        ("border_with", "border_with"),
        ("geometry", "geometries"),
    ):
        if file_key in raw:
            kwargs[attr] = raw[file_key]
    if "polygons" in raw:
        kwargs["polygons"] = _polygon_paths(raw["polygons"], ctx, here)
    if "exclude" in raw:
        # Checked before descending: no recursion limit.
        if depth >= model.MAX_EXCLUDE_DEPTH:
            raise ctx.fail(
                here,
                f"'exclude' is nested more than {model.MAX_EXCLUDE_DEPTH} deep",
                "merge the excluded land into one exclude (it can list several regions and polygons)",
            )
        kwargs["exclude"] = _parse_rule(raw["exclude"], ctx, what, depth + 1)
    return ctx.build(here, model.Rule, **kwargs)


def _entries(raw: dict[str, Any], key: str, ctx: _Ctx) -> list[Any]:
    value = raw.get(key, [])
    if isinstance(value, list):
        return value
    got = "a single table" if isinstance(value, dict) else _show(value)
    raise ctx.fail(
        key,
        f"'{key}' is {got}, not an array of tables",
        f"write each one as a [[{key}]] table (two brackets)",
    )


def _parse_transfer(t: Any, i: int, ctx: _Ctx, seen: set[str]) -> model.Transfer:
    named = isinstance(t, dict) and isinstance(t.get("name"), str) and t["name"].strip()
    what = f"transfer {_show(t['name'].strip())}" if named else f"transfer #{i}"
    if not isinstance(t, dict):
        raise ctx.fail(what, f"is {_show(t)}, not a table", "write it as [[transfers]]")
    _no_unknown(t, _TRANSFER_KEYS, ctx, what)
    if t.get("name") is None or (isinstance(t["name"], str) and not t["name"].strip()):
        raise ctx.fail(what, "has no name", 'add name = "..."')
    name = ctx.build(what, _name, t["name"], _FILE)
    if name in seen:
        raise ctx.fail(
            what, "the name is used twice", "give every transfer its own name"
        )
    seen.add(name)
    for key in ("from", "to", "select"):
        if key not in t:
            raise ctx.fail(what, f"'{key}' is missing", f"add {key} = ...")
    source = ctx.build(what, _party, t["from"], "source", _FILE)
    ctx.build(what, _party, t["to"], "target", _FILE)
    rule = _parse_rule(t["select"], ctx, what)
    return ctx.build(
        what,
        model.Transfer,
        name=name,
        source=source,
        target=t["to"],
        rule=rule,
        claim=t.get("claim", ""),
        note=t.get("note", ""),
        sovereignty=t.get("sovereignty"),
    )


def _parse_zone(z: Any, i: int, ctx: _Ctx) -> model.Zone:
    named = isinstance(z, dict) and isinstance(z.get("name"), str) and z["name"].strip()
    what = f"zone {_show(z['name'].strip())}" if named else f"zone #{i}"
    if not isinstance(z, dict):
        raise ctx.fail(what, f"is {_show(z)}, not a table", "write it as [[zones]]")
    _no_unknown(z, _ZONE_KEYS, ctx, what)
    name = z.get("name")
    if name is None or (isinstance(name, str) and not name.strip()):
        name = f"zone {i}"
    if "depth_km" not in z:
        raise ctx.fail(
            what,
            "'depth_km' is missing",
            "add depth_km = 10 (how far each side pulls back, km)",
        )
    rule = _parse_rule(z["select"], ctx, what) if "select" in z else None
    return ctx.build(
        what,
        model.Zone,
        name=name,
        depth_km=z["depth_km"],
        withdraw=z.get("withdraw", ()),
        rule=rule,
        along=z.get("along", "front"),
        claim=z.get("claim", ""),
        note=z.get("note", ""),
        sovereignty=z.get("sovereignty"),
    )


def _parse(raw: dict[Any, Any], ctx: _Ctx) -> model.Scenario:
    meta = raw.get("scenario")
    if meta is None:
        err = ctx.fail(
            "[scenario]",
            "the table is missing",
            'start the file with [scenario] title = "..." as_of = "YYYY-MM-DD"',
        )
        raise err
    if not isinstance(meta, dict):
        err = ctx.fail(
            "[scenario]",
            f"'scenario' is {_show(meta)}, not a table",
            'write it as one [scenario] table with title = "..." and as_of = YYYY-MM-DD',
        )
        raise err
    _no_unknown(meta, _META_KEYS, ctx, "[scenario]")
    title = ctx.build(
        "[scenario]", _text, meta.get("title"), "title", _FILE, required=True
    )
    as_of = ctx.build("[scenario]", _as_of, meta.get("as_of"), _FILE)
    default = ctx.build(
        "[scenario]", _flag, meta.get("default", False), "default", _FILE
    )
    texts = {
        k: ctx.build("[scenario]", _text, meta.get(k, ""), k, _FILE)
        for k in ("source", "citation", "description")
    }
    _no_unknown(raw, {"scenario", "transfers", "zones"}, ctx, "file", "table(s)")
    seen: set[str] = set()
    transfers = [
        _parse_transfer(t, i, ctx, seen)
        for i, t in enumerate(_entries(raw, "transfers", ctx), 1)
    ]
    zones = [
        _parse_zone(z, i, ctx) for i, z in enumerate(_entries(raw, "zones", ctx), 1)
    ]
    if not transfers and not zones:
        err = ctx.fail(
            "file", "no transfers and no zones", "add at least one [[transfers]] table"
        )
        raise err
    return ctx.build(
        "file",
        model.Scenario,
        title=title,
        as_of=as_of,
        transfers=tuple(transfers),
        zones=tuple(zones),
        path=ctx.path,
        extra={"default": default},
        **texts,
    )


def parse(
    raw: dict[str, Any],
    *,
    path: Path | str | None = None,
    table: RegionTable | None = None,
    allow_paths_outside: bool = False,
) -> model.Scenario:
    """Build a `Scenario` from a parsed document: the body of `parse_scenario`."""
    if path is not None and (
        not isinstance(path, str | os.PathLike) or not isinstance(os.fspath(path), str)
    ):
        msg = f"parse_scenario: path is {_show(path)}; pass the scenario file as a Path or str, or leave it out"
        raise ScenarioError(msg)
    if table is not None and not isinstance(table, RegionTable):
        msg = f"parse_scenario: table is {_show(table)}; pass a RegionTable (load_region_table()) or leave it out"
        raise ScenarioError(msg)
    if not isinstance(allow_paths_outside, bool):
        msg = f"parse_scenario: allow_paths_outside is {_show(allow_paths_outside)}; pass True or False"
        raise ScenarioError(msg)
    ctx = _Ctx(
        Path(path) if path is not None else None,
        table if table is not None else load_region_table(),
        allow_paths_outside,
    )
    if not isinstance(raw, dict):
        err = ctx.fail(
            "document",
            f"is {_show(raw)}, not a table of keys",
            "pass the dict that tomllib.load returns, or call read_scenario(path)",
        )
        raise err
    token = _PARSING.set(ctx)
    try:
        return _parse(raw, ctx)
    except RecursionError:  # a safety net: every nesting in a scenario is bounded
        err = ctx.fail(
            "file",
            "is nested too deeply",
            "a scenario needs only a few levels of tables",
        )
        raise err from None
    finally:
        _PARSING.reset(token)


def _read_document(p: Path) -> dict[str, Any]:
    """Read a scenario file as TOML; every failure is one line naming the file."""
    label = _label(p)
    try:
        size = p.stat().st_size
        if size > model.MAX_FILE_BYTES:
            msg = f"{label}: is {size / 1e6:,.0f} MB, not a scenario; a scenario is a small text file: put large polygons in a file named in 'polygons'"
            raise ScenarioFormatError(msg)
        data = p.read_bytes()
    except OSError as err:
        msg = f"scenario {label} cannot be read ({err.strerror or type(err).__name__}); check that it is a readable file"
        raise DataNotFoundError(msg) from None
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (Notepad) is harmless
    except UnicodeDecodeError:
        msg = f"{label}: not UTF-8 text; save the scenario as UTF-8"
        raise ScenarioFormatError(msg) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        msg = f"{label}: not valid TOML ({str(err).splitlines()[0]}); fix the syntax at that line"
        raise ScenarioFormatError(msg) from None
    except RecursionError:
        msg = f"{label}: arrays or tables are nested too deeply to read; a scenario needs only a few levels"
        raise ScenarioFormatError(msg) from None
    except ValueError as err:  # e.g. an integer of thousands of digits
        reason = str(err).splitlines()[0][:80] if str(err) else "bad value"
        msg = f"{label}: not valid TOML ({reason}); fix that value"
        raise ScenarioFormatError(msg) from None


def read(
    path: str | os.PathLike[str],
    *,
    table: RegionTable | None = None,
    allow_paths_outside: bool = False,
) -> model.Scenario:
    """Find, read and check a scenario file: the body of `read_scenario`."""
    if not isinstance(path, str | os.PathLike) or not isinstance(os.fspath(path), str):
        msg = (
            f"read_scenario: {_show(path)} is not a file or a library name; "
            "pass a path to a .toml file or a name, e.g. read_scenario('alaska-2025')"
        )
        raise ScenarioError(msg)
    name = os.fspath(path)
    p = model.default_scenario() if name == "default" else Path(name)
    if not _is_file(p):
        lib = model.library()
        if name in lib:
            p = lib[name]
        elif _is_dir(p):
            msg = f"scenario {_show(name)} is a folder; give the .toml file inside it"
            raise DataNotFoundError(msg)
        else:
            names = ", ".join(sorted(lib))
            msg = f"scenario {_show(name)} not found; give a .toml file or one of the library's: {names}"
            raise DataNotFoundError(msg)
    raw = _read_document(p)
    return model.parse_scenario(
        raw, path=p.resolve(), table=table, allow_paths_outside=allow_paths_outside
    )
