"""Tests of the live DeepState API path against a local HTTP server.

A ThreadingHTTPServer on 127.0.0.1 (port 0) stands in for deepstatemap.live.
The first path segment picks what it does: ``<base>/<mode>/history/last``
answers as the API would (``ok``: the raw snapshot of the mirror; ``synthetic``:
a plausible map built from the mirror's daily file; the keys of `STATIC` and
of ``server.bodies``: a fixed body) or fails (``http500``, ``truncated``,
``slow``); ``/mirror/<rel>`` and ``/truncmirror/<rel>`` serve files of the
geodata mirror, whole or cut short, for the URL-mirror tests.

A live snapshot is kept only if it is plausible against the cache (region
boundaries, nearest snapshot), so the caches here start as a copy of
`base_cache` (boundaries and three daily files from the mirror).  Every
failure must leave the cache exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import box, mapping, shape

from territory import datasets, deepstate
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


#: A box map of sane area (~99,000 km²), a grey strip, a foreign territory and
#: a point: the body of the failure modes, which fail before any plausibility check.
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


#: The daily file showing the map as of 2025-08-02 (the day of SYN_ID).
SYN_DAILY = Path("deepstate") / "daily" / "deepstatemap_data_20250803.geojson"
#: The grey strip of the synthetic map: a box across the front near Pokrovsk.
SYN_GREY = box(37.0, 48.0, 37.4, 48.3)
#: Days of the daily files in `base_cache`: as of 2025-08-01 … 2025-08-03.
BASE_DAYS = (dt.date(2025, 8, 2), dt.date(2025, 8, 4))


def daily_occupied(rel: Path = SYN_DAILY) -> shapely.Geometry:
    """The occupied (Multi)Polygon of a daily file of the mirror."""
    fc = json.loads((MIRROR / rel).read_bytes())
    return shapely.union_all([shape(f["geometry"]) for f in fc["features"]])


def plausible_map(occupied: shapely.Geometry) -> dict[str, Any]:
    """A raw-format map: `occupied`, the grey strip, Transnistria and a point."""
    return _fc(
        _feature(occupied, "geoJSON.status.occupied"),
        _feature(SYN_GREY, "geoJSON.status.unknown"),
        *SYN_MAP["features"][2:],
    )


#: Modes that answer 200 with a fixed body.
STATIC: dict[str, bytes] = {
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
        self._synthetic: bytes | None = None
        #: Fixed bodies tests register under a mode name of their own.
        self.bodies: dict[str, bytes] = {}

    def synthetic_body(self) -> bytes | None:
        if self._synthetic is None and (MIRROR / SYN_DAILY).is_file():
            self._synthetic = _payload(SYN_ID, plausible_map(daily_occupied()))
        return self._synthetic

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

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
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
        if mode in ("ok", "synthetic"):
            body = (
                self.server.real_body()
                if mode == "ok"
                else self.server.synthetic_body()
            )
            if body is None:
                self.send_error(404, "file not in the mirror")
            else:
                self._send(body)
        elif mode == "http500":
            self.send_error(500, "Internal Server Error")
        elif mode == "truncated":
            body = _payload(SYN_ID, SYN_MAP)
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
        elif mode in self.server.bodies:
            self._send(self.server.bodies[mode])
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


@pytest.fixture(scope="module")
def base_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Boundaries and the daily files of 2025-08-02 … 04 (as of 08-01 … 03). Read-only."""
    mirror = require_mirror(SYN_DAILY)
    cache = tmp_path_factory.mktemp("base") / "cache"
    datasets.fetch(["boundaries"], cache_dir=cache, mirror=str(mirror))
    datasets.fetch(
        ["deepstate-daily"],
        cache_dir=cache,
        mirror=str(mirror),
        start=BASE_DAYS[0],
        end=BASE_DAYS[1],
    )
    return cache


@pytest.fixture(scope="module")
def populated(base_cache: Path, base: str) -> Path:
    """`base_cache` plus one successful live fetch (the synthetic snapshot). Read-only."""
    cache = base_cache.parent.parent / "populated" / "cache"
    shutil.copytree(base_cache, cache)
    entry = datasets.fetch_latest(
        cache_dir=cache, api_url=f"{base}/synthetic", timeout_s=5
    )
    assert entry["key"] == f"snapshots/{SYN_ID}"
    return cache


@pytest.fixture
def fresh(base_cache: Path, tmp_path: Path) -> Path:
    """A private copy of `base_cache`."""
    return Path(shutil.copytree(base_cache, tmp_path / "cache"))


@pytest.fixture
def cli_runner() -> CliRunner:
    return CliRunner()


# ------------------------------------------------------------------------------ helpers


def populated_cache(tmp_path: Path, populated: Path) -> Path:
    """A private copy of a cache holding one successful live fetch."""
    return Path(shutil.copytree(populated, tmp_path / "cache"))


def latest_args(api_url: str, cache: Path) -> list[str]:
    """The CLI arguments of a live fetch from `api_url` into `cache`."""
    return ["data", "fetch", "--latest", "--api-url", api_url, "--cache", str(cache)]


def one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: "), output
    return lines[0]


# ------------------------------------------------------------------------------ success

BASE_KEYS = [
    ("deepstate-daily/2025-08-02", dt.date(2025, 8, 1)),
    ("deepstate-daily/2025-08-03", dt.date(2025, 8, 2)),
    ("deepstate-daily/2025-08-04", dt.date(2025, 8, 3)),
]


@pytest.mark.data
@pytest.mark.usefixtures("need_mirror")
def test_fetch_latest_caches_real_snapshot(base: str, fresh: Path) -> None:
    cache = fresh
    before = json.loads((cache / "index.json").read_text())["files"]
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
    assert {k: v for k, v in index.items() if k != entry["key"]} == before
    parquet = cache / entry["path"]
    assert parquet.suffix == ".parquet"
    assert entry["sha256"] == hashlib.sha256(parquet.read_bytes()).hexdigest()
    assert not [p for p in cache.rglob("*") if ".part" in p.name]
    assert not (cache / ".lock").exists()

    gdf = gpd.read_parquet(parquet)
    assert gdf.crs.to_epsg() == 4326
    assert sorted(gdf["status"]) == ["grey_zone", "liberated", "occupied"]
    by_status = dict(zip(gdf["status"], gdf.geometry, strict=True))
    # tolerance: see test_deepstate.test_raw_snapshot_areas
    assert area_km2(by_status["occupied"]) == pytest.approx(114_324.9, rel=5e-4)

    snaps = Record(cache).snapshots
    assert [(s.key, s.as_of, s.grey_zone) for s in snaps] == [
        *[(k, d, False) for k, d in BASE_KEYS],
        (f"snapshots/{REAL_ID}", dt.date(2025, 8, 3), True),
    ]
    assert datasets.verify(cache) == (len(before) + 1, [])


def test_fetch_latest_sends_browser_user_agent(
    base: str, server: _Server, fresh: Path
) -> None:
    server.user_agents.clear()
    datasets.fetch_latest(cache_dir=fresh, api_url=f"{base}/synthetic", timeout_s=5)
    assert server.user_agents
    assert all(ua.startswith("Mozilla/5.0") for ua in server.user_agents)


def test_fetch_latest_synthetic_drops_foreign_and_keeps_grey(
    base: str, fresh: Path
) -> None:
    entry = datasets.fetch_latest(
        cache_dir=fresh, api_url=f"{base}/synthetic", timeout_s=5
    )
    assert entry["as_of"] == "2025-08-02"
    assert entry["grey_zone"] is True
    gdf = gpd.read_parquet(fresh / entry["path"])
    by_status = dict(zip(gdf["status"], gdf.geometry, strict=True))
    assert set(by_status) == {"occupied", "grey_zone"}
    occupied = daily_occupied()
    assert area_km2(by_status["occupied"]) == pytest.approx(
        area_km2(occupied), rel=1e-9
    )
    # the grey strip loses its part under the occupied land
    expected_grey = area_km2(shapely.difference(SYN_GREY, occupied))
    assert 0 < expected_grey < area_km2(SYN_GREY)
    assert area_km2(by_status["grey_zone"]) == pytest.approx(expected_grey, rel=1e-6)
    assert not shapely.has_z(by_status["occupied"])
    transnistria = box(29.0, 46.5, 29.8, 47.5)
    assert area_km2(shapely.intersection(by_status["occupied"], transnistria)) == 0


def test_fetch_latest_uses_api_env_var(
    base: str, fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERRITORY_DEEPSTATE_API", f"{base}/synthetic")
    entry = datasets.fetch_latest(cache_dir=fresh, timeout_s=5)
    assert entry["source"] == f"{base}/synthetic/history/last"


@pytest.mark.data
@pytest.mark.usefixtures("need_mirror")
def test_fetch_latest_joins_daily_record(base: str, fresh: Path) -> None:
    cache = fresh
    daily_entry = json.loads((cache / "index.json").read_text())["files"][
        "deepstate-daily/2025-08-04"
    ]

    datasets.fetch_latest(cache_dir=cache, api_url=f"{base}/ok", timeout_s=10)

    index = json.loads((cache / "index.json").read_text())["files"]
    assert index["deepstate-daily/2025-08-04"] == daily_entry  # kept as it was
    rec = Record(cache)
    assert [(s.key, s.as_of) for s in rec.snapshots][-2:] == [
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
    base: str, fresh: Path, cli_runner: CliRunner
) -> None:
    cache = fresh
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
    assert [s.key for s in Record(cache).snapshots] == [
        *[k for k, _ in BASE_KEYS],
        f"snapshots/{REAL_ID}",
    ]


def test_cli_fetch_latest_api_url_from_env(
    base: str, fresh: Path, cli_runner: CliRunner
) -> None:
    result = cli_runner.invoke(
        cli,
        ["data", "fetch", "--latest", "--cache", str(fresh)],
        env={"TERRITORY_DEEPSTATE_API": f"{base}/synthetic"},
    )
    assert result.exit_code == 0, result.output
    assert f"cached deepstate {SYN_ID}" in result.output
    snap = Record(fresh).snapshot_for("2025-08-02")[0]
    assert snap.key == f"snapshots/{SYN_ID}"
    assert snap.grey_zone


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
    populated: Path,
) -> None:
    cache = populated_cache(tmp_path, populated)
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
    populated: Path,
) -> None:
    cache = populated_cache(tmp_path, populated)
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


# ------------------------------------------------------------------------ plausibility

SAMPLE_KEY = f"snapshots/{REAL_ID}"


def _register(server: _Server, mode: str, body: bytes) -> str:
    server.bodies[mode] = body
    return mode


def _shifted(geom: shapely.Geometry, dlon: float) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: xy + np.array([dlon, 0.0]))


def _implausible_maps() -> list[Any]:
    """(mode, payload factory, phrase): live answers that must not be kept."""
    return [
        pytest.param(
            "atlantic",
            # a sane area (~99,000 km²) in the Atlantic: Russian-held 0 if kept
            lambda occ: _payload(SYN_ID, plausible_map(box(-35, 40, -31, 43))),
            "0.00% of the occupied area lies inside the region boundaries",
            id="atlantic",
        ),
        pytest.param(
            "half-abroad",
            lambda occ: _payload(SYN_ID, plausible_map(_shifted(occ, 1.5))),
            "of the occupied area lies inside the region boundaries",
            id="shifted-into-russia",
        ),
        pytest.param(
            "no-crimea",
            # Crimea dropped: inside the country, sane, but 23% off yesterday's map
            lambda occ: _payload(
                SYN_ID,
                plausible_map(shapely.difference(occ, box(32.0, 44.0, 36.7, 46.2))),
            ),
            "occupied land differs by",
            id="crimea-missing",
        ),
        pytest.param(
            "nudged",
            # moved 750 m east: still inside the country, but not the same map
            lambda occ: _payload(SYN_ID, plausible_map(_shifted(occ, 0.01))),
            "occupied land differs by 1.58% from the cached deepstate-daily 2025-08-03",
            id="moved-750-m",
        ),
        pytest.param(
            "year-2100",
            lambda occ: _payload(4_102_444_800, plausible_map(occ)),
            "snapshot id 4102444800 is not a time between 2022-02-24 and now",
            id="id-2100",
        ),
        pytest.param(
            "minus-one",
            lambda occ: _payload(-1, plausible_map(occ)),
            "snapshot id -1 is not a time",
            id="id-negative",
        ),
        pytest.param(
            "before-war",
            lambda occ: _payload(1_600_000_000, plausible_map(occ)),
            "is not a time between 2022-02-24",
            id="id-2020",
        ),
        pytest.param(
            "bool-id",
            lambda occ: _payload(True, plausible_map(occ)),
            "bool id 'True'",
            id="id-boolean",
        ),
        pytest.param(
            "float-id",
            lambda occ: _payload(1754164800.5, plausible_map(occ)),
            "float id '1754164800.5'",
            id="id-float",
        ),
        pytest.param(
            "dict-id",
            lambda occ: _payload({"a": [1]}, plausible_map(occ)),
            "dict id",
            id="id-object",
        ),
    ]


@pytest.mark.data
@pytest.mark.parametrize(("mode", "make", "phrase"), _implausible_maps())
def test_implausible_live_snapshot_is_refused(
    mode: str,
    make: Any,
    phrase: str,
    base: str,
    server: _Server,
    fresh: Path,
    cli_runner: CliRunner,
) -> None:
    _register(server, mode, make(daily_occupied()))
    listing = tree(fresh)

    with pytest.raises(DataError, match=re.escape(phrase)):
        datasets.fetch_latest(cache_dir=fresh, api_url=f"{base}/{mode}", timeout_s=5)
    assert tree(fresh) == listing

    result = cli_runner.invoke(cli, latest_args(f"{base}/{mode}", fresh))
    assert result.exit_code == 1, result.output
    assert phrase in one_error_line(result.output)
    assert "Traceback" not in result.output
    assert tree(fresh) == listing


@pytest.mark.data
def test_atlantic_snapshot_would_have_shown_nothing_held(
    base: str, server: _Server, fresh: Path
) -> None:
    # why the check exists: the old code kept this map and `control` printed
    # Russian-held 0 with exit code 0
    mode = _register(
        server, "atlantic-why", _payload(SYN_ID, plausible_map(box(-35, 40, -31, 43)))
    )
    occupied = shapely.box(-35, 40, -31, 43)
    assert 50_000 < area_km2(occupied) < 250_000  # passes the old sane band
    with pytest.raises(DataError, match="not a map of this country"):
        datasets.fetch_latest(cache_dir=fresh, api_url=f"{base}/{mode}", timeout_s=5)
    assert (
        f"snapshots/{SYN_ID}"
        not in json.loads((fresh / "index.json").read_text())["files"]
    )


@pytest.mark.data
@pytest.mark.usefixtures("need_mirror")
def test_live_snapshot_never_replaces_checksummed_sample(
    base: str, fresh: Path, cli_runner: CliRunner
) -> None:
    # deepstate-sample is cached under snapshots/<id>, the key form of live
    # snapshots; a live answer with that id (here, the same map) must not replace it
    datasets.fetch(["deepstate-sample"], cache_dir=fresh, mirror=str(MIRROR))
    sample = json.loads((fresh / "index.json").read_text())["files"][SAMPLE_KEY]
    assert sample["dataset"] == "deepstate-sample"
    listing = tree(fresh)

    with pytest.raises(DataError, match="cached dataset 'deepstate-sample'"):
        datasets.fetch_latest(cache_dir=fresh, api_url=f"{base}/ok", timeout_s=10)
    assert tree(fresh) == listing

    result = cli_runner.invoke(cli, latest_args(f"{base}/ok", fresh))
    assert result.exit_code == 1, result.output
    assert "it was kept and nothing was written" in one_error_line(result.output)
    assert tree(fresh) == listing
    assert datasets.verify(fresh) == (len(BASE_KEYS) + 2, [])


@pytest.mark.data
@pytest.mark.usefixtures("need_mirror")
def test_live_snapshot_may_replace_its_own_entry(base: str, populated: Path) -> None:
    cache = Path(shutil.copytree(populated, populated.parent / "again"))
    first = json.loads((cache / "index.json").read_text())["files"]
    entry = datasets.fetch_latest(
        cache_dir=cache, api_url=f"{base}/synthetic", timeout_s=5
    )
    assert entry["sha256"] == first[f"snapshots/{SYN_ID}"]["sha256"]
    assert datasets.verify(cache) == (len(first), [])


def test_live_fetch_needs_boundaries(base: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(
        DataNotFoundError, match=r"run 'territory data fetch boundaries' first"
    ):
        datasets.fetch_latest(cache_dir=cache, api_url=f"{base}/synthetic", timeout_s=5)
    assert not cache.exists()


@pytest.mark.data
def test_live_fetch_needs_a_snapshot_to_compare(
    base: str, base_cache: Path, tmp_path: Path, cli_runner: CliRunner
) -> None:
    cache = tmp_path / "cache"
    datasets.fetch(["boundaries"], cache_dir=cache, mirror=str(MIRROR))
    listing = tree(cache)
    result = cli_runner.invoke(cli, latest_args(f"{base}/synthetic", cache))
    assert result.exit_code == 1, result.output
    line = one_error_line(result.output)
    assert (
        "run 'territory data fetch deepstate-daily --start 2025-08-03 --end 2025-08-03' first"
        in line
    )
    assert tree(cache) == listing


# ------------------------------------------------------------------- malformed answers

_RING = [[37.0, 47.0], [38.0, 47.0], [38.0, 48.0], [37.0, 48.0], [37.0, 47.0]]


def _raw(features: Any) -> bytes:
    return json.dumps(
        {"id": SYN_ID, "map": {"type": "FeatureCollection", "features": features}}
    ).encode()


def _named(geometry: Any, token: str = "geoJSON.status.occupied") -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"name": f"a /// b /// {token}"},
        "geometry": geometry,
    }


MALFORMED = [
    pytest.param(_raw([1, 2, 3]), "feature #0 is not a JSON object", id="feature-int"),
    pytest.param(
        _raw(["Feature"]), "feature #0 is not a JSON object", id="feature-str"
    ),
    pytest.param(_raw({"a": 1}), "'features' is not a list", id="features-object"),
    pytest.param(
        _raw([_named({"type": "Hexagon", "coordinates": [_RING]})]),
        "geometry of unknown type 'Hexagon'",
        id="geometry-unknown-type",
    ),
    pytest.param(
        _raw([_named("POLYGON((37 47, 38 47, 38 48, 37 47))")]),
        "geometry that is not a GeoJSON object",
        id="geometry-wkt-string",
    ),
    pytest.param(
        _raw([_named({"type": 7, "coordinates": [_RING]})]),
        "geometry that is not a GeoJSON object",
        id="geometry-type-int",
    ),
    pytest.param(
        _raw(
            [
                _named(
                    {"type": "Polygon", "coordinates": [[[37.0, float("nan")], *_RING]]}
                )
            ]
        ),
        "NaN or infinite coordinates",
        id="nan-coordinate",
    ),
    pytest.param(
        _raw(
            [
                _named(
                    {"type": "Polygon", "coordinates": [[[float("inf"), 47.0], *_RING]]}
                )
            ]
        ),
        "NaN or infinite coordinates",
        id="inf-coordinate",
    ),
    pytest.param(
        _raw([_named({"type": "Polygon", "coordinates": [[["37", "47"], *_RING]]})]),
        "malformed coordinates",
        id="string-coordinates",
    ),
    pytest.param(
        _raw([_named({"type": "Polygon", "coordinates": [[[True, False]] * 5]})]),
        "malformed coordinates",
        id="boolean-coordinates",
    ),
    pytest.param(
        _raw([_named({"type": "Polygon", "coordinates": [[[[[37.0, 47.0]]]] * 5]})]),
        "malformed coordinates",
        id="nested-garbage",
    ),
    pytest.param(
        _raw(
            [
                _named(
                    {
                        "type": "Polygon",
                        "coordinates": [[[37.0], [38.0, 47.0, 0, 1]] * 3],
                    }
                )
            ]
        ),
        "malformed coordinates",
        id="ragged-positions",
    ),
    pytest.param(
        _raw([_named({"type": "MultiPolygon", "coordinates": {"x": 1}})]),
        "malformed coordinates",
        id="multipolygon-object",
    ),
    pytest.param(
        _raw([_named({"type": "Polygon", "coordinates": None})]),
        "malformed coordinates",
        id="coordinates-null",
    ),
    pytest.param(
        _raw([_named({"type": "Polygon", "coordinates": [[[1e6, 47.0], *_RING]]})]),
        "outside lon -180…180",
        id="coordinate-out-of-range",
    ),
    pytest.param(
        _raw([_named({"type": "Polygon", "coordinates": [_RING[:2]]})]),
        "a ring of 2 positions",
        id="ring-too-short",
    ),
    pytest.param(
        _raw([{"type": "Feature", "properties": [1], "geometry": None}]),
        "properties that are not a JSON object",
        id="properties-list",
    ),
    pytest.param(
        _raw([{"type": "Feature", "properties": {"name": {"x": 1}}, "geometry": None}]),
        "a name that is not a string",
        id="name-object",
    ),
    pytest.param(
        b'{"id": 1754164800, "map": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "invalid JSON",
        id="deeply-nested-json",
    ),
]


@pytest.mark.parametrize(("body", "phrase"), MALFORMED)
def test_malformed_live_answer_is_one_line(
    body: bytes,
    phrase: str,
    base: str,
    server: _Server,
    tmp_path: Path,
    cli_runner: CliRunner,
) -> None:
    mode = _register(server, f"malformed-{hashlib.sha256(body).hexdigest()[:8]}", body)
    cache = tmp_path / "cache"
    with pytest.raises((DataError, FetchError), match=re.escape(phrase)):
        datasets.fetch_latest(cache_dir=cache, api_url=f"{base}/{mode}", timeout_s=5)
    result = cli_runner.invoke(cli, latest_args(f"{base}/{mode}", cache))
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert phrase in one_error_line(result.output)
    assert not cache.exists()


# ----------------------------------------------------------------------- the API's URL

BAD_URLS = [
    pytest.param("nonsense", "not an http(s) URL", id="not-a-url"),
    pytest.param("ftp://127.0.0.1/api", "not an http(s) URL", id="ftp"),
    pytest.param("file:///etc/passwd", "not an http(s) URL", id="file"),
    pytest.param(
        "http://example.org/api", "plain http is allowed only to", id="http-remote"
    ),
    pytest.param("http://[::1", "not a valid URL", id="broken-ipv6"),
    pytest.param("https://", "not an http(s) URL", id="no-host"),
]


@pytest.mark.parametrize(("url", "phrase"), BAD_URLS)
def test_bad_api_url_from_option_or_env_is_misuse(
    url: str, phrase: str, tmp_path: Path, cli_runner: CliRunner
) -> None:
    cache = tmp_path / "cache"
    for args, env in [
        (["--api-url", url], {}),
        ([], {"TERRITORY_DEEPSTATE_API": url}),
    ]:
        result = cli_runner.invoke(
            cli, ["data", "fetch", "--latest", *args, "--cache", str(cache)], env=env
        )
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        lines = [
            ln
            for ln in result.output.splitlines()
            if ln.strip() and not ln.startswith(("Usage:", "Try "))
        ]
        assert len(lines) == 1, result.output
        assert phrase in lines[0]
        assert "TERRITORY_DEEPSTATE_API" in lines[0]
        assert "--api-url" in lines[0]
    assert not cache.exists()


@pytest.mark.parametrize(("url", "phrase"), BAD_URLS)
def test_bad_api_url_python_api(
    url: str, phrase: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DataError, match=re.escape(phrase)):
        datasets.fetch_latest(cache_dir=tmp_path / "c", api_url=url, timeout_s=1)
    monkeypatch.setenv("TERRITORY_DEEPSTATE_API", url)
    with pytest.raises(DataError, match="TERRITORY_DEEPSTATE_API"):
        datasets.fetch_latest(cache_dir=tmp_path / "c", timeout_s=1)
    assert not (tmp_path / "c").exists()


def test_loopback_http_api_url_is_allowed() -> None:
    for url in ("http://127.0.0.1:1/api", "http://localhost/api", "http://[::1]:8/api"):
        assert deepstate.check_api_url(url) == url
