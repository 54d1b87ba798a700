"""The command group itself: what every command does before and after its work."""

from __future__ import annotations

import gc

import pytest
from click.testing import CliRunner

from territory.cli import main


def test_commands_leave_without_the_last_collection(monkeypatch: pytest.MonkeyPatch):
    # `gc.freeze` is registered to run at exit, once however many commands run
    calls = []
    monkeypatch.setattr(main.atexit, "register", calls.append)
    main._skip_last_collection.cache_clear()
    try:
        for _ in range(2):
            result = CliRunner().invoke(main.cli, ["regions", "--help"])
            assert result.exit_code == 0, result.output
    finally:
        main._skip_last_collection.cache_clear()
    assert calls == [gc.freeze]
