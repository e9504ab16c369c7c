"""HTTP sessions that never leave the API's origin and never wait longer than request_timeout.

`requests` follows redirects anywhere, keeps custom headers such as `X-API-KEY` on every hop
and re-sends a POST body (the login password) on a 307 (SDK notes, pitfall 14); and its
timeout bounds each socket read, not the answer, so a body dripped one byte a second never
times out. An `ApiSession` closes both holes: a redirect to another origin (scheme, host or
port) is refused before anything is sent there, same-origin redirects are followed (at most
`MAX_REDIRECTS`), and every answer, body included, must arrive within the timeout.
"""

from __future__ import annotations

import io
import threading
import time
import typing as t
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions

from tap_centaur.errors import CrossOriginRedirectError

if t.TYPE_CHECKING:
    from collections.abc import Callable

MAX_REDIRECTS = 5
_CHUNK = 64 * 1024


class ResponseTimeout(requests.exceptions.ReadTimeout):
    """The whole answer did not arrive within request_timeout (retried like any timeout)."""


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the port made explicit."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def origin_text(url: str) -> str:
    """A URL's origin as `scheme://host:port`, without path or query (safe to print)."""
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}"


class ApiSession(requests.Session):
    """A session bound to one origin, with a deadline on every whole answer."""

    def __init__(self, api_url: str, timeout: float) -> None:
        """Accept redirects only within `api_url`'s origin; answers must take < `timeout` s."""
        super().__init__()
        self.api_url = api_url
        self.timeout = timeout
        self.max_redirects = MAX_REDIRECTS
        self._origin = origin(api_url)
        self.hooks["response"].append(self._read_body_in_time)

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        """The redirect to follow, refusing any other origin before a byte is sent there.

        Raises:
            CrossOriginRedirectError: naming the redirect's origin (never its query).
        """
        target = super().get_redirect_target(resp)
        if target is None:
            return None
        absolute = urljoin(resp.url, target)
        if origin(absolute) != self._origin:
            raise CrossOriginRedirectError(
                status=resp.status_code,
                target=origin_text(absolute),
                api_url=self.api_url,
            )
        return target

    def _read_body_in_time(self, response: requests.Response, **_kwargs: t.Any) -> None:  # noqa: ANN401
        """Read the whole body now, each read bounded by what is left of the timeout.

        Runs as a response hook, before `requests` reads the body itself: the body is then
        served from memory.

        Raises:
            ResponseTimeout: when the answer is not complete within the timeout.
        """
        deadline = time.monotonic() - response.elapsed.total_seconds() + self.timeout
        raw = response.raw
        chunks: list[bytes] = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._timeout(response, sum(map(len, chunks)))
                _limit_next_read(raw, left)
                chunk = raw.read1(_CHUNK, decode_content=True)
                if not chunk:
                    break
                chunks.append(chunk)
        except (TimeoutError, urllib3.exceptions.ReadTimeoutError):
            raise self._timeout(response, sum(map(len, chunks))) from None
        except urllib3.exceptions.ProtocolError as error:
            raise requests.exceptions.ChunkedEncodingError(error) from None
        except urllib3.exceptions.DecodeError as error:
            raise requests.exceptions.ContentDecodingError(error) from None
        finally:
            raw.release_conn()
        response.raw = io.BytesIO(b"".join(chunks))

    def _timeout(self, response: requests.Response, received: int) -> ResponseTimeout:
        return ResponseTimeout(
            f"the answer was not complete within request_timeout={self.timeout:g} s "
            f"(HTTP {response.status_code}, {received} bytes of the body received)",
            request=response.request,
        )


def _limit_next_read(raw: urllib3.BaseHTTPResponse, seconds: float) -> None:
    """Make the next socket read give up when the deadline passes."""
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


class SessionPerThread:
    """One `ApiSession` per thread (sessions are not thread-safe), made on first use."""

    def __init__(self, make: Callable[[], ApiSession]) -> None:
        """Make sessions with `make`."""
        self._make = make
        self._local = threading.local()
        self._all: list[ApiSession] = []
        self._lock = threading.Lock()

    def get(self) -> ApiSession:
        """This thread's session."""
        session: ApiSession | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._make()
            with self._lock:
                self._all.append(session)
        return session

    def close(self) -> None:
        """Close every session made so far (their keep-alive connections)."""
        with self._lock:
            sessions, self._all = self._all, []
        for session in sessions:
            session.close()
