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
    "deepstate": 1,
    "datasets": 1,
    "io": 1,
    "progress": 0,  # progress bars on stderr; used by every layer
    "versions": 1,
    "regions": 2,
    "borders": 2,
    "control": 2,
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
    "charts": 4,
    "figures": 4,  # static maps (matplotlib); `_figure_draw` is its drawing
    "_figure_draw": 4,
    "maps": 4,
    "cli": 5,
    "__init__": 5,
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("territory")
        ):
            parts = node.module.split(".")
            if len(parts) > 1:
                out.add(parts[1])
            else:
                out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            out.update(
                a.name.split(".")[1]
                for a in node.names
                if a.name.startswith("territory.")
            )
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
        if _module_name(path) != "maps":
            assert "import folium" not in text, path
