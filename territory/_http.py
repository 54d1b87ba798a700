"""One small HTTP client for every download: time-outs, a browser-like User-Agent,
and every failure turned into a one-line `FetchError` naming the URL and the fix."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request

from territory.errors import FetchError


class HTTPStatusError(FetchError):
    """The server answered with an HTTP error status (kept in `code`)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) territory/0.1 (+https://pypi.org/project/territory)"


def http_get(
    url: str, *, timeout_s: float, what: str = "download", fix: str = "try again later"
) -> bytes:
    """Return the body at `url`, checked against its Content-Length.

    Parameters
    ----------
    url
        The address.
    timeout_s
        Seconds to wait for the server.
    what
        What is being fetched, for the message ("DeepState API answer").
    fix
        What the user can do when the server cannot be reached.

    Raises
    ------
    FetchError
        On an HTTP error status, a time-out, a truncated or malformed answer,
        or a network failure.
    """
    req = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, "Accept": "application/json, */*"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            body = resp.read()
            expected = resp.headers.get("Content-Length")
    except urllib.error.HTTPError as err:
        err.close()  # it holds the open response: don't leak the socket
        msg = f"{what}: HTTP {err.code} for {url}; {fix}"
        raise HTTPStatusError(msg, err.code) from None
    except http.client.IncompleteRead as err:
        got = len(err.partial)
        msg = f"{what}: truncated answer ({got} of {got + (err.expected or 0)} bytes) from {url}; try again"
        raise FetchError(msg) from None
    except http.client.HTTPException as err:
        msg = f"{what}: malformed HTTP answer from {url} ({type(err).__name__}); try again later"
        raise FetchError(msg) from None
    except (TimeoutError, urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        if (
            isinstance(err, TimeoutError)
            or isinstance(reason, TimeoutError)
            or "timed out" in str(reason)
        ):
            msg = f"{what}: no answer within {timeout_s:g} s from {url}; try again later or raise --timeout"
        else:
            msg = f"{what}: cannot reach {url} ({reason}); {fix}"
        raise FetchError(msg) from None
    if expected is not None and expected.isdigit() and len(body) < int(expected):
        msg = f"{what}: truncated answer ({len(body)} of {expected} bytes) from {url}; try again"
        raise FetchError(msg)
    return body
