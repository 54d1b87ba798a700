"""One small HTTP client for every download: one deadline, a size cap, safe redirects.

Every download has a single wall-clock deadline (``timeout_s`` from the start
of the request to the last byte, whatever the server does), a cap on its size
(checked against Content-Length up front and while reading, so a huge answer
never fills memory), a browser-like User-Agent, and follows redirects only to
``https://`` (plain ``http://`` only to this machine, for tests and local
mirrors).  Every failure is a one-line `FetchError` naming the URL and the fix.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urljoin, urlsplit

from territory.errors import FetchError

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) territory/0.1 (+https://pypi.org/project/territory)"

#: Hosts to which plain http is allowed: this machine only (tests, local mirrors).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: Bytes asked of the socket per read while streaming a body.
CHUNK_BYTES = 1 << 16
#: Bytes in a megabyte, for messages and ``--max-mb`` (decimal, as in "MB").
BYTES_PER_MB = 1_000_000


class HTTPStatusError(FetchError):
    """The server answered with an HTTP error status (kept in `code`)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def url_problem(url: str) -> str | None:
    """Return why `url` may not be fetched, or None if it may.

    Allowed: ``https://host/...``, and ``http://`` to 127.0.0.1, localhost or ::1.

    Examples
    --------
    >>> url_problem("https://deepstatemap.live/api") is None
    True
    >>> url_problem("http://127.0.0.1:8000/api") is None
    True
    >>> url_problem("http://example.org/api")
    'plain http is allowed only to 127.0.0.1, localhost or ::1; use https://'
    >>> url_problem("nonsense")
    'it is not an http(s) URL; use https://host/...'
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "it is not a valid URL; use https://host/..."
    if parts.scheme not in ("https", "http") or not host:
        return "it is not an http(s) URL; use https://host/..."
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        return "plain http is allowed only to 127.0.0.1, localhost or ::1; use https://"
    return None


class _Deadline:
    """One wall-clock deadline for a request and every connection it opens.

    Each socket gets at most the remaining time per operation; a timer shuts
    the sockets down when the deadline passes, so a server that trickles bytes
    (each read within the time-out) cannot hold the download past it.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.end = time.monotonic() + timeout_s
        self.expired = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout_s, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining_s(self) -> float:
        return self.end - time.monotonic()

    def op_timeout_s(self) -> float:
        return max(min(self.remaining_s(), self.timeout_s), 0.001)

    def register(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._socks.append(sock)
            if self.expired:
                self._shut(sock)
        sock.settimeout(self.op_timeout_s())

    def shrink(self) -> None:
        """Give every open socket no more than the remaining time per read."""
        with self._lock:
            socks = list(self._socks)
        for sock in socks:
            if sock.fileno() != -1:
                sock.settimeout(self.op_timeout_s())

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._socks:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._socks.clear()


class _DeadlineConnect:
    """Connection mixin: connect within the deadline and register the socket."""

    timeout: float | None  # as http.client.HTTPConnection declares it

    def __init__(self, *args: Any, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline = deadline

    def connect(self) -> None:
        self.timeout = self._deadline.op_timeout_s()
        # a mixin: the HTTPConnection it is mixed into has connect() and sock
        super().connect()  # type: ignore[misc]
        self._deadline.register(self.sock)  # type: ignore[attr-defined]


class _HTTPConnection(_DeadlineConnect, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineConnect, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        conn = functools.partial(_HTTPConnection, deadline=self._deadline)
        return self.do_open(conn, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        conn = functools.partial(_HTTPSConnection, deadline=self._deadline)
        return self.do_open(conn, req)


class _RefusedRedirectError(FetchError):
    """A redirect to a location `url_problem` refuses."""


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to allowed URLs, without reading the redirect's body."""

    def http_error_302(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
    ) -> Any:
        location = headers.get("location") or headers.get("uri")
        if location is None:
            return None
        newurl = urljoin(req.full_url, location.strip())
        problem = url_problem(newurl)
        if problem is not None:
            fp.close()
            msg = (
                f"{req.full_url} redirects to {newurl!r}, which is refused ({problem})"
            )
            raise _RefusedRedirectError(msg)
        new = self.redirect_request(req, fp, code, msg, headers, newurl)
        if new is None:
            return None
        visited = getattr(req, "redirect_dict", {})
        if visited.get(newurl, 0) >= self.max_repeats or len(visited) >= (
            self.max_redirections
        ):
            fp.close()
            msg = f"{req.full_url} redirects in a loop (last to {newurl})"
            raise _RefusedRedirectError(msg)
        # urllib's own loop counter, an attribute its Request does not declare
        new.redirect_dict = {**visited, newurl: visited.get(newurl, 0) + 1}  # type: ignore[attr-defined]
        fp.close()  # the redirect's own body is never read: it may be anything
        return self.parent.open(new, timeout=req.timeout)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _read_body(resp: Any, deadline: _Deadline, *, max_bytes: int, cap: str) -> bytes:
    length = resp.headers.get("Content-Length")
    if length is not None and length.strip().isdigit() and int(length) > max_bytes:
        msg = f"Content-Length {int(length):,} bytes; {cap}"
        raise _TooLargeError(msg)
    chunks: list[bytes] = []
    total = 0
    while True:
        if deadline.remaining_s() <= 0:
            raise TimeoutError
        deadline.shrink()
        chunk = resp.read1(CHUNK_BYTES)
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            msg = f"more than {max_bytes:,} bytes; {cap}"
            raise _TooLargeError(msg)
        chunks.append(chunk)
    if deadline.expired:
        raise TimeoutError
    body = b"".join(chunks)
    if length is not None and length.strip().isdigit() and len(body) < int(length):
        raise http.client.IncompleteRead(body, int(length) - len(body))
    return body


class _TooLargeError(Exception):
    """The answer is over the size cap (internal; becomes a FetchError)."""


def http_get(
    url: str,
    *,
    timeout_s: float,
    max_bytes: int,
    what: str = "download",
    fix: str = "try again later",
    cap_fix: str = "raise it with --max-mb if the file really is that large",
) -> bytes:
    """Return the body at `url`, within one deadline and a size cap.

    Parameters
    ----------
    url
        The address: ``https://``, or ``http://`` to this machine only.
    timeout_s
        Seconds for the whole download: connecting, waiting, every redirect
        and the transfer.  It ends within a few milliseconds after that.
    max_bytes
        Largest body accepted, in bytes.
    what
        What is being fetched, for the message ("DeepState API").
    fix
        What the user can do when the server cannot be reached.
    cap_fix
        What the user can do when the answer is over `max_bytes`.

    Raises
    ------
    FetchError
        On a refused URL or redirect, an HTTP error status, the deadline, an
        answer over the cap, a truncated or malformed answer, or a network failure.
    """
    problem = url_problem(url)
    if problem is not None:
        msg = f"{what}: {url!r} is refused ({problem})"
        raise FetchError(msg)
    req = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, "Accept": "application/json, */*"}
    )
    deadline = _Deadline(timeout_s)
    opener = urllib.request.build_opener(
        _RedirectHandler(), _HTTPHandler(deadline), _HTTPSHandler(deadline)
    )
    timed_out = (
        f"{what}: no answer within {timeout_s:g} s (the time allowed for the whole "
        f"download) from {url}; try again later or raise --timeout"
    )
    cap = f"the cap is {max_bytes / BYTES_PER_MB:g} MB; {cap_fix}"
    try:
        with opener.open(req, timeout=deadline.op_timeout_s()) as resp:
            return _read_body(resp, deadline, max_bytes=max_bytes, cap=cap)
    except _RefusedRedirectError as err:
        msg = f"{what}: {err}; {fix}"
        raise FetchError(msg) from None
    except _TooLargeError as err:
        msg = f"{what}: the answer from {url} is too large ({err})"
        raise FetchError(msg) from None
    except urllib.error.HTTPError as err:
        err.close()  # it holds the open response: don't leak the socket
        msg = f"{what}: HTTP {err.code} for {url}; {fix}"
        raise HTTPStatusError(msg, err.code) from None
    except http.client.IncompleteRead as err:
        if deadline.expired:
            raise FetchError(timed_out) from None
        got = len(err.partial)
        msg = f"{what}: truncated answer ({got} of {got + (err.expected or 0)} bytes) from {url}; try again"
        raise FetchError(msg) from None
    except http.client.HTTPException as err:
        if deadline.expired:
            raise FetchError(timed_out) from None
        msg = f"{what}: malformed HTTP answer from {url} ({type(err).__name__}); try again later"
        raise FetchError(msg) from None
    except (TimeoutError, urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        if (
            deadline.expired
            or isinstance(err, TimeoutError)
            or isinstance(reason, TimeoutError)
            or "timed out" in str(reason)
        ):
            raise FetchError(timed_out) from None
        msg = f"{what}: cannot reach {url} ({reason}); {fix}"
        raise FetchError(msg) from None
    finally:
        deadline.close()
