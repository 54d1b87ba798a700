"""Fetch under hostile servers, concurrency, interruption and unwritable caches.

A ThreadingHTTPServer on 127.0.0.1 (port 0) serves the geodata mirror under
``/<mode>/<path>``; the mode decides how: ``ok`` (whole file), ``slowok``
(whole file after 0.4 s), ``drip`` (one byte every 50 ms), ``driphead`` (the
status line and headers one byte every 50 ms), ``hugedeclared`` (announces
1 GiB), ``hugestream`` (no length, endless 64 KiB chunks) and ``to<target>``
(a redirect).  Every loop of the server is bounded in time and stops when the
test ends or the client goes away.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from territory import _http, datasets
from territory.cli.main import cli
from territory.errors import DataError, FetchError
from tests.support import MIRROR, isolate_env, require_mirror, tree

LAND = "boundaries/ne_10m_land_ukraine_region.geojson"
DRIP_S = 0.05  # seconds between bytes of the dripping modes
SERVER_LIMIT_S = 10.0  # no handler runs longer than this
D = dt.date


def fetch_days(cache: Path, mirror: Path, start, end) -> datasets.FetchReport:
    """Fetch the daily files dated `start` … `end` from the mirror into `cache`."""
    return datasets.fetch(
        ["deepstate-daily"], cache_dir=cache, mirror=str(mirror), start=start, end=end
    )


# --------------------------------------------------------------------------- the server


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stop = threading.Event()
        self.sent: dict[str, int] = {}
        self.requests: list[str] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        """Keep the test output quiet."""

    def _file(self, rel: str) -> bytes | None:
        path = (MIRROR / rel).resolve()
        if MIRROR not in path.parents or not path.is_file():
            return None
        return path.read_bytes()

    def _head(self, length: int | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        mode, _, rest = self.path.lstrip("/").partition("/")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._serve(mode, rest)  # a client that gives up, as it should

    def _serve(self, mode: str, rest: str) -> None:
        srv = self.server
        if mode.startswith("to"):
            targets = {
                "toftp": f"ftp://127.0.0.1/{rest}",
                "tofile": "file:///etc/passwd",
                "tohttpremote": f"http://example.org/{rest}",  # never contacted
                "toloopback": f"{srv.base}/ok/{rest}",
                "torelative": f"/ok/{rest}",
                "toloop": f"/toloop/{rest}",
            }
            self.send_response(302)
            self.send_header("Location", targets[mode])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "hugedeclared":
            self._head(1 << 30)
            self.wfile.write(b"x" * 65536)
            return
        if mode == "hugestream":
            self._head(None)
            chunk, end = b"x" * 65536, time.monotonic() + SERVER_LIMIT_S
            sent = 0
            while (
                sent < 64_000_000 and time.monotonic() < end and not srv.stop.is_set()
            ):
                self.wfile.write(chunk)
                sent += len(chunk)
                srv.sent[mode] = sent
            return
        if mode == "driphead":
            head = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n" + b"X-Pad: a\r\n" * 40
            for i in range(len(head)):
                if srv.stop.wait(DRIP_S):
                    return
                self.wfile.write(head[i : i + 1])
                self.wfile.flush()
            return
        body = self._file(rest)
        if body is None:
            self.send_error(404)
            return
        if mode == "slowok":
            srv.stop.wait(0.4)
        if mode == "drip":
            self._head(len(body))
            for i in range(min(len(body), int(SERVER_LIMIT_S / DRIP_S))):
                if srv.stop.wait(DRIP_S):
                    return
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
            return
        self._head(len(body))
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    require_mirror("boundaries")
    srv = _Server()
    thread = threading.Thread(
        target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield srv
    finally:
        srv.stop.set()  # end every bounded loop
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


@pytest.fixture(autouse=True)
def _collect_leaks() -> Iterator[None]:
    """A socket left open by a failed download warns (an error) in its own test."""
    yield
    gc.collect()


@pytest.fixture
def mirror() -> Path:
    return require_mirror()


def one_error_line(output: str) -> str:
    lines = [
        ln
        for ln in output.splitlines()
        if ln.strip() and not ln.startswith(("Usage:", "Try "))
    ]
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: "), output
    assert "Traceback" not in output
    return lines[0]


def fetch_land_cli(mirror_url: str, cache: Path, *extra: str) -> Any:
    return CliRunner().invoke(
        cli,
        [
            "data",
            "fetch",
            "land",
            "--mirror",
            mirror_url,
            "--cache",
            str(cache),
            *extra,
        ],
    )


# ---------------------------------------------------------------- one deadline per file


@pytest.mark.parametrize("mode", ["drip", "driphead"])
def test_deadline_bounds_the_whole_download(mode: str, server: _Server) -> None:
    # every read returns within the time-out, but the download never ends:
    # the old client ran 25 s past --timeout 3 against 1 byte/s
    t0 = time.monotonic()
    with pytest.raises(FetchError, match=r"no answer within 0\.6 s \(the time allowed"):
        _http.http_get(f"{server.base}/{mode}/{LAND}", timeout_s=0.6, max_bytes=10**7)
    assert time.monotonic() - t0 < 0.6 + 0.4


def test_deadline_via_cli(server: _Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    t0 = time.monotonic()
    result = fetch_land_cli(f"{server.base}/drip/", cache, "--timeout", "1")
    elapsed = time.monotonic() - t0
    assert result.exit_code == 1, result.output
    assert "no answer within 1 s" in one_error_line(result.output)
    assert "raise --timeout" in result.output
    assert elapsed < 1 + 0.5
    assert not cache.exists()


def test_fast_download_is_unaffected(server: _Server, mirror: Path) -> None:
    body = _http.http_get(f"{server.base}/ok/{LAND}", timeout_s=5, max_bytes=10**6)
    assert body == (mirror / LAND).read_bytes()


# ---------------------------------------------------------------------------- size cap


def test_declared_size_over_cap_is_refused_up_front(server: _Server) -> None:
    t0 = time.monotonic()
    with pytest.raises(FetchError, match=r"too large \(Content-Length 1,073,741,824"):
        _http.http_get(f"{server.base}/hugedeclared/x", timeout_s=5, max_bytes=10**6)
    assert time.monotonic() - t0 < 1.0


def test_streamed_size_over_cap_stops_reading(server: _Server) -> None:
    with pytest.raises(FetchError, match=r"more than 1,000,000 bytes; the cap is 1 MB"):
        _http.http_get(f"{server.base}/hugestream/x", timeout_s=5, max_bytes=10**6)
    time.sleep(0.2)
    # the server was stopped by the client long before its 64 MB: the body was
    # never read into memory past the cap (plus socket buffers)
    assert server.sent["hugestream"] < 16_000_000


def test_cap_via_cli_names_max_mb(server: _Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    result = fetch_land_cli(f"{server.base}/hugedeclared/", cache)
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert "the cap is 64 MB; raise it with --max-mb" in line
    assert not cache.exists()


def test_max_mb_lowers_and_raises_the_cap(
    server: _Server, mirror: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    # the land mask is 51,634 bytes: 0.01 MB is too little, from a URL or a directory
    for source in (f"{server.base}/ok/", str(mirror)):
        result = fetch_land_cli(source, cache, "--max-mb", "0.01")
        assert result.exit_code == 1, result.output
        assert "0.01 MB" in one_error_line(result.output)
        assert "--max-mb" in result.output
        assert not cache.exists()
    result = fetch_land_cli(f"{server.base}/ok/", cache, "--max-mb", "0.06")
    assert result.exit_code == 0, result.output
    assert datasets.verify(cache) == (1, [])


def test_max_mb_must_be_positive(tmp_path: Path) -> None:
    result = fetch_land_cli(str(tmp_path), tmp_path / "c", "--max-mb", "0")
    assert result.exit_code == 2
    assert "--max-mb" in one_error_line(result.output)


# ---------------------------------------------------------------------------- redirects


@pytest.mark.parametrize(
    ("mode", "target"),
    [
        pytest.param("toftp", "ftp://127.0.0.1/", id="ftp"),
        pytest.param("tofile", "file:///etc/passwd", id="file"),
        pytest.param("tohttpremote", "http://example.org/", id="plain-http-remote"),
    ],
)
def test_redirect_off_https_is_refused(
    mode: str, target: str, server: _Server, tmp_path: Path
) -> None:
    with pytest.raises(FetchError, match="which is refused") as info:
        _http.http_get(f"{server.base}/{mode}/{LAND}", timeout_s=5, max_bytes=10**6)
    assert target in str(info.value)
    cache = tmp_path / "cache"
    result = fetch_land_cli(f"{server.base}/{mode}/", cache)
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert f"redirects to '{target}" in line
    assert "use https://" in line
    assert not cache.exists()


@pytest.mark.parametrize("mode", ["toloopback", "torelative"])
def test_redirect_within_loopback_is_followed(
    mode: str, server: _Server, mirror: Path
) -> None:
    body = _http.http_get(f"{server.base}/{mode}/{LAND}", timeout_s=5, max_bytes=10**6)
    assert body == (mirror / LAND).read_bytes()


def test_redirect_loop_is_one_line(server: _Server) -> None:
    with pytest.raises(FetchError, match="redirects in a loop"):
        _http.http_get(f"{server.base}/toloop/x", timeout_s=5, max_bytes=10**6)


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "http://example.org/x"]
)
def test_refused_download_url(url: str) -> None:
    with pytest.raises(FetchError, match="is refused"):
        _http.http_get(url, timeout_s=1, max_bytes=10)


# --------------------------------------------------------------------- one lock a cache


def test_second_writer_stops_at_once_naming_the_first(
    mirror: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    datasets.fetch(["land"], cache_dir=cache, mirror=str(mirror))
    listing = tree(cache)
    with datasets.locked(cache):
        t0 = time.monotonic()
        with pytest.raises(FetchError) as info:
            fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 14))
        assert time.monotonic() - t0 < 1.0
        msg = str(info.value)
        assert f"(pid {os.getpid()} on {socket.gethostname()}, since " in msg
        assert f"is writing to the cache {cache}; wait for it to finish" in msg

        result = CliRunner().invoke(
            cli,
            [
                "data",
                "fetch",
                "deepstate-sample",
                "--mirror",
                str(mirror),
                "--cache",
                str(cache),
            ],
        )
        assert result.exit_code == 1
        assert f"pid {os.getpid()}" in one_error_line(result.output)
        with pytest.raises(FetchError, match="is writing to the cache"):
            datasets.forget(["land"], cache_dir=cache)
    assert tree(cache) == listing  # the lock file went with the lock


def test_concurrent_fetches_lose_no_entry(
    server: _Server, mirror: Path, tmp_path: Path
) -> None:
    # The old code let both runs write and kept one run's index.  Now the
    # second run stops at once; run again after the first, both ranges are
    # indexed in full.
    cache = tmp_path / "cache"
    first_days = (D(2025, 8, 10), D(2025, 8, 12))
    second_days = (D(2025, 8, 20), D(2025, 8, 21))
    outcome: dict[str, Any] = {}

    def slow_first() -> None:
        outcome["first"] = datasets.fetch(
            ["deepstate-daily"],
            cache_dir=cache,
            mirror=f"{server.base}/slowok/",
            start=first_days[0],
            end=first_days[1],
            timeout_s=5,
        )

    thread = threading.Thread(target=slow_first)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # until the first holds the lock
            with contextlib.suppress(OSError):
                if (cache / ".lock").read_text().startswith("pid "):
                    break
            time.sleep(0.01)
        args = ["data", "fetch", "deepstate-daily", "--mirror", str(mirror),
                "--start", str(second_days[0]), "--end", str(second_days[1]),
                "--cache", str(cache)]  # fmt: skip
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1, result.output
        assert "is writing to the cache" in one_error_line(result.output)
    finally:
        thread.join(timeout=20)
    assert len(outcome["first"].fetched) == 3

    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    index = json.loads((cache / "index.json").read_text())["files"]
    assert sorted(index) == [
        f"deepstate-daily/2025-08-{d}" for d in ("10", "11", "12", "20", "21")
    ]
    assert datasets.verify(cache) == (5, [])
    assert not (cache / ".lock").exists()


def test_save_merges_entries_written_since_open(mirror: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    datasets.fetch(["land"], cache_dir=cache, mirror=str(mirror))
    stale = datasets.Cache.open(cache)  # opened before another writer's fetch
    fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 15))
    entry = dict(stale.entries["land"])
    stale.record("land", "land", entry["path"], source=entry["source"])
    stale.save()
    index = json.loads((cache / "index.json").read_text())["files"]
    assert sorted(index) == [
        "deepstate-daily/2025-08-14",
        "deepstate-daily/2025-08-15",
        "land",
    ]


def test_failed_fetch_releases_the_lock(mirror: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    datasets.fetch(["land"], cache_dir=cache, mirror=str(mirror))
    with pytest.raises(FetchError, match="cannot reach"):
        datasets.fetch(
            ["boundaries"], cache_dir=cache, mirror="http://127.0.0.1:9/", timeout_s=1
        )
    assert not (cache / ".lock").exists()
    datasets.fetch(["boundaries-simplified"], cache_dir=cache, mirror=str(mirror))
    assert datasets.verify(cache) == (2, [])


_HOLD_LOCK = """
import sys, time
from territory import datasets
with datasets.locked(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(30)
"""


def test_lock_of_a_killed_writer_is_released(mirror: Path, tmp_path: Path) -> None:
    # kill -9 leaves the lock file behind; the kernel drops the lock with the
    # process, so the next fetch proceeds, and removes the file when done
    cache = tmp_path / "cache"
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(cache)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(FetchError, match=f"pid {proc.pid} "):
            datasets.fetch(["land"], cache_dir=cache, mirror=str(mirror))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert (cache / ".lock").exists()
    report = datasets.fetch(["land"], cache_dir=cache, mirror=str(mirror))
    assert report.fetched == ["land"]
    assert not (cache / ".lock").exists()


# ------------------------------------------------------------------ stale .part files


def test_stale_part_files_are_removed_at_the_start_of_a_fetch(
    mirror: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    datasets.fetch(["land"], cache_dir=cache, mirror=str(mirror))
    (cache / "deepstate-daily").mkdir()
    (cache / "derived").mkdir()
    stale = [
        cache
        / "deepstate-daily"
        / ".2025-08-14.k2j3h4.part.parquet",  # kill -9 in convert
        cache / ".index.a8d7f6.part.json",  # kill -9 while saving the index
        cache / "derived" / ".partition-1234-5678.q1w2e3.part.parquet",
    ]
    fresh = cache / "derived" / ".partition-abcd-ef01.z9x8c7.part.parquet"
    for p in [*stale, fresh]:
        p.write_bytes(b"half a file")
    two_hours_ago = time.time() - 7200
    os.utime(stale[2], (two_hours_ago, two_hours_ago))
    not_ours = cache / "derived" / "notes.part.txt"  # not an atomic_path name
    not_ours.write_bytes(b"keep")

    fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 14))

    for p in stale:
        assert not p.exists(), p
    # a reader may be writing this partition right now: young, so kept
    assert fresh.exists()
    assert not_ours.exists()
    assert datasets.verify(cache) == (2, [])


# ------------------------------------------------------------------ unwritable caches


def test_cache_under_a_file_is_one_line(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cache = blocker / "cache"
    with pytest.raises(DataError) as info:
        datasets.fetch(["land"], cache_dir=cache, mirror=str(mirror))
    assert f"cannot write to the cache directory {cache}" in str(info.value)
    assert "--cache DIR or TERRITORY_CACHE" in str(info.value)

    result = fetch_land_cli(str(mirror), cache)
    assert result.exit_code == 1
    assert "cannot write to the cache directory" in one_error_line(result.output)

    monkeypatch.setenv("TERRITORY_CACHE", str(cache))
    result = CliRunner().invoke(cli, ["data", "fetch", "land", "--mirror", str(mirror)])
    assert result.exit_code == 1
    assert str(cache) in one_error_line(result.output)
    assert blocker.read_text() == "not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_write_failure_mid_fetch_is_one_line_and_leaves_nothing(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    datasets.fetch(["land"], cache_dir=cache, mirror=str(mirror))
    listing = tree(cache)
    real = datasets.atomic_path

    @contextlib.contextmanager
    def read_only(target: Path) -> Iterator[Path]:
        with real(target) as tmp:
            yield tmp
            raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr(datasets._fetch, "atomic_path", read_only)
    with pytest.raises(DataError, match="cannot write to the cache directory"):
        fetch_days(cache, mirror, D(2025, 8, 14), D(2025, 8, 14))
    assert tree(cache) == {**listing, "deepstate-daily": None}


def test_read_only_cache_directory_is_one_line(mirror: Path) -> None:
    # A real EACCES.  root may write anywhere, so as root the command runs as
    # the unprivileged user 'nobody' (uid 65534, through setpriv), in a
    # directory it can read.
    as_root = os.geteuid() == 0
    setpriv = shutil.which("setpriv")
    if as_root and setpriv is None:
        pytest.skip("running as root without setpriv: cannot drop privileges")
    work = Path(tempfile.mkdtemp(prefix="territory-ro-"))
    try:
        work.chmod(0o755)
        cache = work / "cache"
        cache.mkdir()
        cache.chmod(0o555)
        drop = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        args = [*(drop if as_root else []), str(Path(sys.executable).with_name("territory")),
                "data", "fetch", "land", "--mirror", str(mirror), "--cache", str(cache)]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "TERRITORY_MIRROR"}
        env["HOME"] = str(work)
        out = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=work,
            check=False,
        )
        assert out.returncode == 1, out.stderr
        assert out.stdout == ""
        line = one_error_line(out.stderr)
        assert (
            f"cannot write to the cache directory {cache} (Permission denied)" in line
        )
        assert "--cache DIR or TERRITORY_CACHE" in line
        assert list(cache.iterdir()) == []
    finally:
        shutil.rmtree(work, ignore_errors=True)
