"""Tests of the live DeepState API path against a local HTTP server.

A ThreadingHTTPServer on 127.0.0.1 (port 0) stands in for deepstatemap.live.
The first path segment picks what it does: ``<base>/<mode>/history/last``
answers as the API would (``ok``: the raw snapshot of the mirror; ``synthetic``
and the other keys of `STATIC`: a fixed body) or fails (``http500``,
``truncated``, ``slow``); ``/mirror/<rel>`` and ``/truncmirror/<rel>`` serve
files of the geodata mirror, whole or cut short, for the URL-mirror tests.
Every failure must leave the cache exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import box, mapping

from territory import datasets
from territory.cli.main import cli
from territory.errors import DataError, DataNotFoundError, FetchError
from territory.geodesy import area_km2
from territory.record import Record
from tests.support import MIRROR, isolate_env, require_mirror, tree

# --------------------------------------------------------------------------------- data

RAW_SNAPSHOT = Path("deepstate") / "raw" / "1754251105.geojson"
REAL_ID = 1754251105  # 2025-08-03 19:58:25 UTC
SYN_ID = 1754164800  # 2025-08-02 20:00:00 UTC
SLOW_WAIT_S = 10.0  # upper bound on how long the "slow" handler holds a request
CLIENT_TIMEOUT_S = 0.5


def _feature(geom: shapely.Geometry, token: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"name": f"UA /// EN\xa0/// {token}"},
        "geometry": mapping(shapely.force_3d(geom, 0.0)),
    }


def _fc(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


#: A sane synthetic map: ~99,000 km² occupied, a grey strip, a foreign
#: territory and a point.
SYN_MAP = _fc(
    _feature(box(35.0, 46.0, 39.0, 49.0), "geoJSON.status.occupied"),
    _feature(box(34.8, 46.0, 35.2, 49.0), "geoJSON.status.unknown"),
    _feature(box(29.0, 46.5, 29.8, 47.5), "geoJSON.territories.transnistria"),
    {
        "type": "Feature",
        "properties": {"name": "x /// y /// geoJSON.status.attack_direction"},
        "geometry": {"type": "Point", "coordinates": [37.0, 48.0, 0.0]},
    },
)


def _payload(snapshot_id: Any, fc: Any, **extra: Any) -> bytes:
    body = {"id": snapshot_id, "datetime": "2025-08-02T20:00:00Z", "map": fc, **extra}
    return json.dumps(body).encode()


def _tiny_map() -> dict[str, Any]:
    return _fc(_feature(box(37.0, 47.0, 37.01, 47.01), "geoJSON.status.occupied"))


#: Modes that answer 200 with a fixed body.
STATIC: dict[str, bytes] = {
    "synthetic": _payload(SYN_ID, SYN_MAP),
    "nomap": json.dumps({"id": SYN_ID, "datetime": "2025-08-02T20:00:00Z"}).encode(),
    "notdict": json.dumps([{"id": SYN_ID, "map": SYN_MAP}]).encode(),
    "badid": _payload("latest", SYN_MAP),
    "absurd": _payload(SYN_ID, _tiny_map()),
    "notamap": _payload(SYN_ID, [SYN_MAP]),
    "nooccupied": _payload(
        SYN_ID, _fc(_feature(box(35, 46, 39, 49), "geoJSON.territories.karelia"))
    ),
    "badjson": _payload(SYN_ID, SYN_MAP)[:-40],
}


# --------------------------------------------------------------------------- the server


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stop = threading.Event()
        self.user_agents: list[str] = []
        self._real: bytes | None = None

    def real_body(self) -> bytes | None:
        path = MIRROR / RAW_SNAPSHOT
        if self._real is None and path.is_file():
            fc = json.loads(path.read_bytes())
            self._real = json.dumps(
                {"id": REAL_ID, "datetime": "2025-08-03T19:58:25Z", "map": fc}
            ).encode()
        return self._real


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def _send(
        self, body: bytes, *, length: int | None = None, ctype: str = "application/json"
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.user_agents.append(self.headers.get("User-Agent", ""))
        mode, _, rest = self.path.lstrip("/").partition("/")
        if mode in ("mirror", "truncmirror"):
            self._mirror_file(rest, truncate=mode == "truncmirror")
            return
        if rest != "history/last":
            self.send_error(404)
            return
        if mode == "ok":
            body = self.server.real_body()
            if body is None:
                self.send_error(404, "raw snapshot not in the mirror")
            else:
                self._send(body)
        elif mode == "http500":
            self.send_error(500, "Internal Server Error")
        elif mode == "truncated":
            body = STATIC["synthetic"]
            # promise more than is sent, then close the connection
            self._send(body[: len(body) // 2], length=len(body) + 4096)
            self.wfile.flush()
            self.close_connection = True
        elif mode == "slow":
            # hold the request past the client's time-out, bounded, then drop it
            self.server.stop.wait(SLOW_WAIT_S)
            self.close_connection = True
        elif mode in STATIC:
            self._send(STATIC[mode])
        else:
            self.send_error(404)

    def _mirror_file(self, rel: str, *, truncate: bool) -> None:
        path = (MIRROR / rel).resolve()
        if MIRROR not in path.parents or not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        if truncate:
            self._send(body[: len(body) // 3], length=len(body))
            self.wfile.flush()
            self.close_connection = True
        else:
            self._send(body, ctype="application/octet-stream")


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(
        target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield srv
    finally:
        srv.stop.set()  # wake any "slow" handler
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def base(server: _Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path)


@pytest.fixture(autouse=True)
def _collect_leaks() -> Iterator[None]:
    """Collect garbage after each test, so that a socket left open by a failed
    request warns (ResourceWarning → error) in the test that leaked it."""
    yield
    gc.collect()


@pytest.fixture
def need_mirror() -> Path:
    return require_mirror(RAW_SNAPSHOT)


@pytest.fixture
def cli_runner() -> CliRunner:
    return CliRunner()


# ------------------------------------------------------------------------------ helpers


def populated_cache(tmp_path: Path, base: str) -> Path:
    """A cache holding one successful live fetch (the synthetic snapshot)."""
    cache = tmp_path / "cache"
    entry = datasets.fetch_latest(
        cache_dir=cache, api_url=f"{base}/synthetic", timeout_s=5
    )
    assert entry["key"] == f"snapshots/{SYN_ID}"
    return cache


def latest_args(api_url: str, cache: Path) -> list[str]:
    """The CLI arguments of a live fetch from `api_url` into `cache`."""
    return ["data", "fetch", "--latest", "--api-url", api_url, "--cache", str(cache)]


def one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: "), output
    return lines[0]


# ------------------------------------------------------------------------------ success


@pytest.mark.data
@pytest.mark.usefixtures("need_mirror")
def test_fetch_latest_caches_real_snapshot(base: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    entry = datasets.fetch_latest(cache_dir=cache, api_url=f"{base}/ok/", timeout_s=10)

    assert entry["key"] == f"snapshots/{REAL_ID}"
    assert entry["as_of"] == "2025-08-03"
    assert entry["published"] == "2025-08-03T19:58:25+00:00"
    assert entry["grey_zone"] is True
    assert entry["dataset"] == "deepstate-live"
    assert entry["snapshot"] == f"deepstate {REAL_ID}"
    assert entry["source"] == f"{base}/ok/history/last"

    index = json.loads((cache / "index.json").read_text())["files"]
    assert index[entry["key"]] == {k: v for k, v in entry.items() if k != "key"}
    parquet = cache / entry["path"]
    assert parquet.suffix == ".parquet"
    assert entry["sha256"] == hashlib.sha256(parquet.read_bytes()).hexdigest()
    assert not [p for p in cache.rglob("*") if ".part" in p.name]

    gdf = gpd.read_parquet(parquet)
    assert gdf.crs.to_epsg() == 4326
    assert sorted(gdf["status"]) == ["grey_zone", "liberated", "occupied"]
    by_status = dict(zip(gdf["status"], gdf.geometry, strict=True))
    # tolerance: see test_deepstate.test_raw_snapshot_areas
    assert area_km2(by_status["occupied"]) == pytest.approx(114_324.9, rel=5e-4)

    snaps = Record(cache).snapshots
    assert [(s.key, s.as_of, s.grey_zone) for s in snaps] == [
        (f"snapshots/{REAL_ID}", dt.date(2025, 8, 3), True)
    ]
    assert datasets.verify(cache) == (1, [])


def test_fetch_latest_sends_browser_user_agent(
    base: str, server: _Server, tmp_path: Path
) -> None:
    server.user_agents.clear()
    datasets.fetch_latest(
        cache_dir=tmp_path / "cache", api_url=f"{base}/synthetic", timeout_s=5
    )
    assert server.user_agents
    assert all(ua.startswith("Mozilla/5.0") for ua in server.user_agents)


def test_fetch_latest_synthetic_drops_foreign_and_keeps_grey(
    base: str, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    entry = datasets.fetch_latest(
        cache_dir=cache, api_url=f"{base}/synthetic", timeout_s=5
    )
    assert entry["as_of"] == "2025-08-02"
    assert entry["grey_zone"] is True
    gdf = gpd.read_parquet(cache / entry["path"])
    by_status = dict(zip(gdf["status"], gdf.geometry, strict=True))
    assert set(by_status) == {"occupied", "grey_zone"}
    assert area_km2(by_status["occupied"]) == pytest.approx(
        area_km2(box(35, 46, 39, 49)), rel=1e-9
    )
    # the grey strip loses its part under the occupied box
    assert area_km2(by_status["grey_zone"]) == pytest.approx(
        area_km2(box(34.8, 46, 35.0, 49)), rel=1e-9
    )
    assert not shapely.has_z(by_status["occupied"])
    assert by_status["occupied"].bounds[0] >= 35.0  # no Transnistria


def test_fetch_latest_uses_api_env_var(
    base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERRITORY_DEEPSTATE_API", f"{base}/synthetic")
    entry = datasets.fetch_latest(cache_dir=tmp_path / "cache", timeout_s=5)
    assert entry["source"] == f"{base}/synthetic/history/last"


@pytest.mark.data
def test_fetch_latest_joins_daily_record(
    base: str, tmp_path: Path, need_mirror: Path
) -> None:
    cache = tmp_path / "cache"
    day = dt.date(2025, 8, 4)  # the daily file dated 08-04 shows the map as of 08-03
    datasets.fetch(
        ["deepstate-daily"],
        cache_dir=cache,
        mirror=str(need_mirror),
        start=day,
        end=day,
    )
    daily_entry = json.loads((cache / "index.json").read_text())["files"][
        "deepstate-daily/2025-08-04"
    ]

    datasets.fetch_latest(cache_dir=cache, api_url=f"{base}/ok", timeout_s=10)

    index = json.loads((cache / "index.json").read_text())["files"]
    assert index["deepstate-daily/2025-08-04"] == daily_entry  # kept as it was
    rec = Record(cache)
    assert [(s.key, s.as_of) for s in rec.snapshots] == [
        ("deepstate-daily/2025-08-04", dt.date(2025, 8, 3)),
        (f"snapshots/{REAL_ID}", dt.date(2025, 8, 3)),
    ]
    snap, note = rec.snapshot_for("2025-08-03")
    # same day: the API snapshot, which has the grey zone, wins
    assert snap.key == f"snapshots/{REAL_ID}"
    assert note is None


@pytest.mark.data
@pytest.mark.usefixtures("need_mirror")
def test_cli_fetch_latest_success(
    base: str, tmp_path: Path, cli_runner: CliRunner
) -> None:
    cache = tmp_path / "cache"
    result = cli_runner.invoke(
        cli,
        [*latest_args(f"{base}/ok", cache), "--timeout", "10"],
    )
    assert result.exit_code == 0, result.output
    assert f"cached deepstate {REAL_ID}" in result.output
    assert "as of 2025-08-03" in result.output
    entry = json.loads((cache / "index.json").read_text())["files"][
        f"snapshots/{REAL_ID}"
    ]
    assert entry["as_of"] == "2025-08-03"
    assert entry["grey_zone"] is True
    assert [s.key for s in Record(cache).snapshots] == [f"snapshots/{REAL_ID}"]


def test_cli_fetch_latest_api_url_from_env(
    base: str, tmp_path: Path, cli_runner: CliRunner
) -> None:
    cache = tmp_path / "cache"
    result = cli_runner.invoke(
        cli,
        ["data", "fetch", "--latest", "--cache", str(cache)],
        env={"TERRITORY_DEEPSTATE_API": f"{base}/synthetic"},
    )
    assert result.exit_code == 0, result.output
    assert f"cached deepstate {SYN_ID}" in result.output
    assert Record(cache).snapshots[0].grey_zone


# ----------------------------------------------------------------------------- failures

FAILURES = [
    pytest.param("http500", FetchError, "HTTP 500", id="http-500"),
    pytest.param("truncated", FetchError, "truncated", id="truncated-body"),
    pytest.param("badjson", FetchError, "invalid JSON", id="invalid-json"),
    pytest.param(
        "slow",
        FetchError,
        f"no answer within {CLIENT_TIMEOUT_S:g} s",
        id="time-out",
    ),
    pytest.param(
        "refused", FetchError, "DeepState API: cannot reach", id="connection-refused"
    ),
    pytest.param("nomap", DataError, "lacks 'id' or 'map'", id="no-map"),
    pytest.param("notdict", DataError, "lacks 'id' or 'map'", id="not-an-object"),
    pytest.param("badid", DataError, "non-numeric id", id="bad-id"),
    pytest.param(
        "notamap", DataError, "not a GeoJSON FeatureCollection", id="map-not-fc"
    ),
    pytest.param("nooccupied", DataError, "no occupied territory", id="only-foreign"),
    pytest.param("absurd", DataError, "outside the sane band", id="absurd-area"),
]


CLI_FAILURES = [pytest.param(p.values[0], p.values[2], id=p.id) for p in FAILURES]


def _url(mode: str, base: str, closed_port_url: str) -> str:
    return closed_port_url if mode == "refused" else f"{base}/{mode}"


def _timeout(mode: str) -> float:
    # only the time-out case needs a short time-out; the others get slack for a busy CI
    return CLIENT_TIMEOUT_S if mode == "slow" else 5.0


@pytest.mark.parametrize(("mode", "error", "phrase"), FAILURES)
def test_fetch_latest_failure_leaves_cache(
    mode: str,
    error: type[Exception],
    phrase: str,
    base: str,
    closed_port_url: str,
    tmp_path: Path,
) -> None:
    cache = populated_cache(tmp_path, base)
    listing, index = tree(cache), (cache / "index.json").read_bytes()

    with pytest.raises(error, match=phrase):
        datasets.fetch_latest(
            cache_dir=cache,
            api_url=_url(mode, base, closed_port_url),
            timeout_s=_timeout(mode),
        )

    assert tree(cache) == listing
    assert (cache / "index.json").read_bytes() == index


@pytest.mark.parametrize(("mode", "error", "phrase"), FAILURES)
def test_fetch_latest_failure_creates_no_cache(
    mode: str,
    error: type[Exception],
    phrase: str,
    base: str,
    closed_port_url: str,
    tmp_path: Path,
) -> None:
    cache = tmp_path / "fresh-cache"
    with pytest.raises(error, match=phrase):
        datasets.fetch_latest(
            cache_dir=cache,
            api_url=_url(mode, base, closed_port_url),
            timeout_s=_timeout(mode),
        )
    assert not cache.exists()


def test_time_out_is_prompt(base: str, tmp_path: Path) -> None:
    t0 = time.monotonic()
    with pytest.raises(FetchError, match="within"):
        datasets.fetch_latest(
            cache_dir=tmp_path / "c", api_url=f"{base}/slow", timeout_s=CLIENT_TIMEOUT_S
        )
    # the client gives up near its time-out, long before the server lets go
    assert time.monotonic() - t0 < SLOW_WAIT_S / 2


@pytest.mark.parametrize(("mode", "phrase"), CLI_FAILURES)
def test_cli_fetch_latest_failure(
    mode: str,
    phrase: str,
    base: str,
    closed_port_url: str,
    tmp_path: Path,
    cli_runner: CliRunner,
) -> None:
    cache = populated_cache(tmp_path, base)
    listing, index = tree(cache), (cache / "index.json").read_bytes()

    result = cli_runner.invoke(
        cli,
        [
            *latest_args(_url(mode, base, closed_port_url), cache),
            "--timeout",
            str(_timeout(mode)),
        ],
    )

    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    line = one_error_line(result.output)
    assert phrase in line
    assert tree(cache) == listing
    assert (cache / "index.json").read_bytes() == index


# -------------------------------------------------------------- files from a URL mirror


@pytest.mark.data
@pytest.mark.usefixtures("need_mirror")
def test_fetch_from_url_mirror(base: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    report = datasets.fetch(
        ["land"], cache_dir=cache, mirror=f"{base}/mirror/", timeout_s=5
    )
    assert report.fetched == ["land"]
    entry = json.loads((cache / "index.json").read_text())["files"]["land"]
    assert (
        entry["source"]
        == f"{base}/mirror/boundaries/ne_10m_land_ukraine_region.geojson"
    )
    assert (
        entry["source_sha256"]
        == "f51264e6854180d8f8b4d8cd88d063f360a1bf892286e14cbad45ffa52b7f74f"
    )
    assert datasets.verify(cache) == (1, [])


@pytest.mark.data
@pytest.mark.parametrize(
    ("prefix", "error", "phrase"),
    [
        pytest.param("truncmirror", FetchError, "truncated", id="truncated"),
        # a URL mirror without the file answers 404: the same error as a directory mirror
        pytest.param(
            "nothing-here", DataNotFoundError, "is not in the mirror", id="http-404"
        ),
    ],
)
def test_fetch_from_url_mirror_failure_leaves_cache(
    prefix: str, error: type, phrase: str, base: str, tmp_path: Path, need_mirror: Path
) -> None:
    cache = tmp_path / "cache"
    datasets.fetch(["deepstate-areas"], cache_dir=cache, mirror=str(need_mirror))
    listing, index = tree(cache), (cache / "index.json").read_bytes()

    with pytest.raises(error, match=phrase):
        datasets.fetch(
            ["land"], cache_dir=cache, mirror=f"{base}/{prefix}/", timeout_s=5
        )

    assert tree(cache) == listing
    assert (cache / "index.json").read_bytes() == index
