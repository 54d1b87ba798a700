"""The catalogue of bad inputs (tests/README.md) names only tests that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _defined() -> set[str]:
    names = set()
    for path in TESTS.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
    return names


def test_every_test_the_catalogue_names_exists():
    text = (TESTS / "README.md").read_text(encoding="utf-8")
    rows = [ln for ln in text.splitlines() if re.match(r"\| [A-Z]\d", ln)]
    assert len(rows) > 150  # the catalogue is there, not an empty shell
    named = set(re.findall(r"\b(test_\w+)\b(?!\.py)", text))
    defined = _defined()
    # a name ending in "_" is a prefix (test_deadline_*): some test must start with it
    missing = {
        n
        for n in named
        if n not in defined and not any(d.startswith(n) for d in defined)
    }
    assert not missing, (
        f"the catalogue names tests that do not exist: {sorted(missing)}"
    )


def test_every_file_the_catalogue_names_exists():
    text = (TESTS / "README.md").read_text(encoding="utf-8")
    files = set(re.findall(r"\b((?:cli/)?test_\w+\.py)", text))
    assert files, "no test files named"
    missing = sorted(f for f in files if not (TESTS / f).is_file())
    assert not missing, f"the catalogue names files that do not exist: {missing}"
