"""The notebooks: committed clean, and run top to bottom on this venv's Python.

Each notebook runs in a fresh ``python3`` kernel.  The kernelspec is written
into a temporary directory put first on JUPYTER_PATH, so ``python3`` means
this interpreter (``sys.executable``) whatever kernelspecs the machine has;
a probe cell appended to the in-memory copy checks that it really does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

#: How a PNG starts, base64-encoded (b"\x89PNG\r\n\x1a\n"): a chart shown inline.
_PNG = "iVBORw0KGgo"

#: Per notebook: cell id -> [(MIME type, or None for any output; text it must contain)].
EXPECTED: dict[str, dict[str, list[tuple[str | None, str]]]] = {
    "explore": {
        "record": [(None, "control maps, as of")],
        "control-table": [("text/html", "Donetsk"), (None, "snapshot deepstate")],
        "control-totals": [(None, "occupied_km2")],
        "gap": [(None, "no map version of 2024-08-17")],
        "control-map": [
            ("text/html", "leaflet"),
            ("text/html", "Who holds what, as of"),
        ],
        "alaska-eval": [("text/html", "Ukraine withdraws from Donbas")],
        "alaska-transfers": [("text/html", "Ukraine withdraws from Donbas")],
        "alaska-parties": [
            ("text/html", "net_km2"),
            (None, "cession ratio: Ukraine cedes"),
        ],
        "alaska-map": [
            ("text/html", "leaflet"),
            ("text/html", "withdraws from Donbas"),
        ],
        "library-compare": [
            ("text/html", "Witkoff"),
            ("text/html", "Alaska summit offer"),
        ],
        "variant-toml": [(None, "10-km demilitarised zone"), (None, "depth_km = 10")],
        "variant-eval": [("text/html", "10-km demilitarised zone (Ukrainian side)")],
        "variant-parties": [("text/html", "DMZ")],
        "variant-map": [("text/html", "leaflet"), ("text/html", "Demilitarised zones")],
        "latest": [("text/html", "ua_to_ru_km2")],
        "variant-compare": [("text/html", "zone_ratio")],
        "balance": [(None, "Russia would have to withdraw")],
        "latest-map": [("text/html", "leaflet"), ("text/html", "Contact line after")],
        "alaska-people": [(None, "GeoNames")],
        "alaska-gdf": [(None, "EPSG:4326"), ("text/html", "withdraws from Donbas")],
        "export-layers": [
            ("text/html", "holdings_after"),
            ("text/html", "contact_line_before"),
            ("text/html", "settlements"),
            ("text/html", "removed"),
        ],
        "export-lines": [("text/html", "direct contact")],
        "scratch-build": [("text/html", "within 20 km of the border with Russia")],
        "scratch-eval": [("text/html", "Ukraine withdraws from Donetsk")],
        "scratch-typo": [(None, "did you mean")],
        "timeline": [("text/html", "UA-14")],
        "by-month": [("text/html", "gained_km2")],
    },
    "reciprocity-and-time": {
        "offer": [("text/html", "Donetsk for the Kharkiv and Sumy pockets")],
        "offer-eval": [("text/html", "cession")],
        "balance": [
            (None, "Russia would have to withdraw"),
            (None, "km of the contact line (from its own edge)"),
        ],
        "balance-check": [("text/html", "cession_ratio")],
        "balance-ratio": [(None, "2 km² for each km² returned")],
        "mirror": [(None, "for both sides to give the zone the same land")],
        "timeline-chart": [("image/png", _PNG)],
        "monthly": [("image/png", _PNG)],
        "pace": [(None, "not a forecast"), (None, "km² a day")],
        "pace-offer": [("text/html", "months_of_advance")],
        "sweep": [("text/html", "cession_ratio"), ("text/html", "2026-08-15")],
        "sweep-chart": [("image/png", _PNG)],
    },
}

_PROBE_ID = "kernel-probe"
_PROBE = (
    "import json, sys\n"
    "import territory\n"
    "print(json.dumps({'prefix': sys.prefix, 'territory': territory.__file__}))"
)


def _output_text(output: dict, mime: str | None) -> str:
    """Return the text of one cell output (`mime` None: every representation)."""
    if output["output_type"] == "stream":
        return output["text"] if mime is None else ""
    if output["output_type"] in ("execute_result", "display_data"):
        data = output.get("data", {})
        values = data.values() if mime is None else [data.get(mime, "")]
        return "\n".join(v if isinstance(v, str) else json.dumps(v) for v in values)
    return ""


@pytest.fixture
def python3_kernel(tmp_path, monkeypatch):
    """Make kernel name ``python3`` launch this interpreter's ipykernel."""
    spec_dir = tmp_path / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (territory venv)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    return "python3"


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"
    assert {p.stem for p in NOTEBOOKS} >= set(EXPECTED)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path):
    """No outputs, no execution counts: notebooks are committed as source only."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        cell.get("id", f"#{i}")
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: clear the outputs of cells {dirty}, then commit"


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, python3_kernel, record):
    """Every cell runs without error and the key cells show what they should."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(_PROBE, id=_PROBE_ID))
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name=python3_kernel,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()  # raises CellExecutionError naming the failing cell and its error

    cells = {cell.id: cell for cell in nb.cells if cell.cell_type == "code"}
    probe = json.loads(_output_text(cells.pop(_PROBE_ID).outputs[0], None))
    assert Path(probe["prefix"]).resolve() == Path(sys.prefix).resolve(), (
        "the kernel runs another Python"
    )
    assert Path(probe["territory"]).resolve().is_relative_to(REPO), (
        "the kernel imports another territory"
    )

    errors = [
        cid
        for cid, cell in cells.items()
        if any(o["output_type"] == "error" for o in cell.outputs)
    ]
    assert not errors, f"{path.name}: cells {errors} show errors"
    for cell_id, expectations in EXPECTED.get(path.stem, {}).items():
        assert cell_id in cells, f"{path.name}: no code cell with id {cell_id!r}"
        for mime, needle in expectations:
            text = "\n".join(_output_text(o, mime) for o in cells[cell_id].outputs)
            assert needle.lower() in text.lower(), (
                f"{path.name}, cell {cell_id!r}: no {mime or 'output'} with {needle!r}"
            )
