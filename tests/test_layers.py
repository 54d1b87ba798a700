"""The layers go one way (DESIGN.md): no module imports a higher layer, lazily or not."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "territory"

RANK = {
    "errors": 0,
    "dates": 0,
    "_http": 0,
    "crs": 0,
    "buffers": 0,
    "geodesy": 0,
    "manifest": 0,
    "frozen": 0,  # read-only views of shared, kept values
    "deepstate": 1,
    "datasets": 1,
    "io": 1,
    "progress": 0,  # progress bars on stderr; used by every layer
    "versions": 1,
    "regions": 2,
    "borders": 2,
    "control": 2,
    "_line_tiles": 2,  # contact-line lengths tile by tile (accounting)
    "_partition_patch": 2,  # private part of control: partitions map after map
    "scenario": 2,
    "_scenario_values": 2,  # private parts of scenario
    "_scenario_checks": 2,
    "_scenario_parse": 2,
    "_scenario_write": 2,
    "selection": 2,
    "series": 2,  # the partition's figures map after map
    "record": 2.5,  # the data layer's façade: builds Control objects (DESIGN.md)
    "accounting": 3,
    "people": 3,
    "balancing": 3,
    "pace": 3,
    "sweep": 3,  # a scenario across time: accounting on every date of a range
    "tables": 4,
    "exports": 4,  # the whole result as GIS layers
    "charts": 4,  # charts; the palette the maps share
    # the maps package (DESIGN.md "Maps"), in its own order
    "maps.style": 4,  # colours, attribution, `esc`; `tables` escapes with it
    "maps.svg": 4,  # the notebook reprs' small SVG (`tables`)
    "maps.offline": 4,  # Leaflet inlined, stable ids, writing a page
    "maps._draw": 4,  # the static figures' drawing
    "maps.figures": 4.1,  # static maps (matplotlib)
    "maps.page": 4.2,  # the page's chrome, from templates/
    "maps.layers": 4.3,  # folium layers
    "maps.render": 4.4,  # the three pages
    "maps.write": 4.5,  # checking a map's file name, writing a page or a figure
    "maps": 4.6,  # the package's public names
    "cli": 5,
    "__init__": 5,
}


#: Packages whose modules have layers of their own ("maps.page"); the modules
#: of other packages (cli, datasets) share the package's.
LAYERED_PACKAGES = ("maps",)


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    if len(rel.parts) == 1:
        return rel.stem
    if rel.parts[0] in LAYERED_PACKAGES and rel.stem != "__init__":
        return f"{rel.parts[0]}.{rel.stem}"
    return rel.parts[0]


def _submodules(package: str) -> set[str]:
    return {p.stem for p in (PACKAGE / package).glob("*.py")} - {"__init__"}


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("territory")
        ):
            parts = node.module.split(".")
            if len(parts) > 2 and parts[1] in LAYERED_PACKAGES:
                out.add(f"{parts[1]}.{parts[2]}")
            elif len(parts) > 1 and parts[1] in LAYERED_PACKAGES:
                # `from territory.maps import page`: the module; else the package
                subs = _submodules(parts[1])
                out.update(
                    f"{parts[1]}.{a.name}" if a.name in subs else parts[1]
                    for a in node.names
                )
            elif len(parts) > 1:
                out.add(parts[1])
            else:
                out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] != "territory" or len(parts) < 2:
                    continue
                if len(parts) > 2 and parts[1] in LAYERED_PACKAGES:
                    out.add(f"{parts[1]}.{parts[2]}")
                else:
                    out.add(parts[1])
    return out


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "_vendor" not in p.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_layer(path):
    name = _module_name(path)
    assert name in RANK, (
        f"{name}: give the new module a layer in this test and in DESIGN.md"
    )
    upward = {m for m in _imports(path) if m in RANK and RANK[m] > RANK[name]}
    assert not upward, f"{name} imports higher layers {sorted(upward)}"


def test_only_cli_imports_click_and_only_maps_imports_folium():
    for path in MODULES:
        text = path.read_text(encoding="utf-8")
        if _module_name(path) != "cli":
            assert "import click" not in text, path
        if not _module_name(path).startswith("maps"):
            assert "import folium" not in text, path


def test_the_layers_test_sees_the_maps_modules():
    """A new module of the maps package needs a layer here (and in DESIGN.md)."""
    names = {_module_name(p) for p in MODULES}
    assert {"maps", "maps.page", "maps.layers", "maps.figures"} <= names
    assert _imports(PACKAGE / "maps" / "render.py") >= {"maps.layers", "maps.page"}


def test_cli_command_modules_do_not_import_each_other():
    """A command module imports the library and the shared options, no other command.

    What two commands share (evaluating a scenario, writing its map) lives in
    the library (`territory.maps.write`) or in `cli/options`.
    """
    shared = {"territory.cli.options"}
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = (
                    [f"{node.module}.{a.name}" for a in node.names]
                    if node.module == "territory.cli"
                    else [node.module]
                )
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found.update(
                n for n in names if n.startswith("territory.cli.") and n not in shared
            )
        assert not found, (
            f"cli/{path.name} imports other command modules {sorted(found)}"
        )
