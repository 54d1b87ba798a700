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


def test_a_thread_still_running_is_waited_for_before_the_exit_handlers(monkeypatch):
    # `main` leaves by the usual exit while a thread of the command still
    # runs (a process pool ending its workers), before any exit handler:
    # those close what such a thread still uses (multiprocessing's close a
    # pool's queues, and a worker not yet told to end then waits for ever)
    import atexit
    import threading

    import territory.cli.main as main_mod

    release = threading.Event()
    worker = threading.Thread(target=release.wait, daemon=False)
    ran: list[bool] = []

    def command() -> None:
        worker.start()
        raise SystemExit(0)

    monkeypatch.setattr(main_mod, "cli", command)
    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: ran.append(worker.is_alive()))
    try:
        with pytest.raises(SystemExit) as done:
            main_mod.main()
    finally:
        release.set()
        worker.join()
    assert done.value.code == 0
    assert ran == []  # no exit handler ran while the thread did
