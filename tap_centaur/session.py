"""HTTP sessions that never leave the API's origin and bound every answer in time and size.

`requests` follows redirects anywhere, keeps custom headers such as `X-API-KEY` on every hop
and re-sends a POST body (the login password) on a 307 (SDK notes, pitfall 14); its timeout
bounds each socket read, not the answer, so a body dripped one byte a second never times out;
and it holds a body however large it inflates. An `ApiSession` closes these holes: a redirect
to another origin (scheme, host or port) is refused before anything is sent there, same-origin
redirects are followed (at most `MAX_REDIRECTS`), every answer, body included, must arrive
within the timeout, and reading stops once the decoded body exceeds `max_response_mb`.
"""

from __future__ import annotations

import os
import threading
import time
import typing as t
import zlib
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.utils import resolve_proxies

from tap_centaur.errors import CrossOriginRedirectError, ResponseTooLargeError
from tap_centaur.pages import request_label
from tap_centaur.redaction import excerpt

if t.TYPE_CHECKING:
    from collections.abc import Callable

MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
#: Compressed bytes inflated at a time: deflate inflates 4 KiB to at most about 4 MiB.
_INFLATE_STEP = 4 * 1024
#: Bytes counted for each `{`, `[` and `,` of a body, on top of the body's own: what a JSON
#: value may cost once decoded into Python objects (measured with msgspec: 65 bytes for real
#: records, 36-83 for pages of tiny objects, which cost up to 30 times their JSON). So
#: `max_response_mb` bounds the memory a page takes once decoded, not only its bytes.
VALUE_COST = 128
#: zlib's window bits of each content coding the tap accepts (None: no coding).
_WBITS: dict[str, int | None] = {
    "": None,
    "identity": None,
    "gzip": 16 + zlib.MAX_WBITS,
    "x-gzip": 16 + zlib.MAX_WBITS,
    "deflate": zlib.MAX_WBITS,
}


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
    return excerpt(f"{scheme}://{host}:{port}", 120)


class ApiSession(requests.Session):
    """A session bound to one origin, with a deadline on every whole answer."""

    def __init__(self, api_url: str, timeout: float, max_response_mb: int) -> None:
        """Redirects only within `api_url`'s origin; answers within `timeout` s and the size."""
        super().__init__()
        self.api_url = api_url
        self.timeout = timeout
        self.max_response_mb = max_response_mb
        self.max_redirects = MAX_REDIRECTS
        self._origin = origin(api_url)
        self.headers["Accept-Encoding"] = "gzip"
        self.hooks["response"].append(self._read_body_in_time)
        self._proxies: dict[tuple[object, ...], dict[str, str]] = {}

    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:  # noqa: ANN401
        """Send as `requests` does, trusting REQUESTS_CA_BUNDLE like `Session.request` does.

        The SDK calls `send` directly, which otherwise ignores REQUESTS_CA_BUNDLE and
        CURL_CA_BUNDLE (networks that inspect TLS need them). The proxies from the
        environment are worked out once per origin, not for every request: `requests` reads
        the whole environment several times for each (a third of the CPU of a run over
        thousands of one-page tasks, docs/PERFORMANCE.md). Headers of an answer that
        contradict themselves are a broken connection (retried), not an unforeseen error.
        """
        if kwargs.get("verify") is None:
            kwargs["verify"] = self._environment_verify()
        if "proxies" not in kwargs:
            kwargs["proxies"] = self._proxies_for(request)
        try:
            return super().send(request, **kwargs)
        except requests.exceptions.InvalidHeader as error:  # the answer's: two Content-Lengths
            raise requests.exceptions.ConnectionError(error, request=request) from None

    def _environment_verify(self) -> bool | str | None:
        """`merge_environment_settings`'s verify, without its proxy lookups (thrown away here)."""
        bundle = None
        if self.trust_env:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        return bundle or self.verify  # as `merge_setting`: the environment's, else the session's

    def _proxies_for(self, request: requests.PreparedRequest) -> dict[str, str]:
        """What `Session.send` would resolve (the session's and the environment's proxies).

        They depend on the URL's scheme and host (with its port as written) only, and the
        environment does not change during a run: resolved once per host and session settings.
        """
        scheme, netloc = urlsplit(request.url or "")[:2]
        key = (scheme, netloc, tuple(sorted(self.proxies.items())), self.trust_env)
        proxies = self._proxies.get(key)
        if proxies is None:
            proxies = resolve_proxies(request, dict(self.proxies), self.trust_env)
            self._proxies[key] = proxies
        return dict(proxies)

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        """The redirect to follow, refusing any other origin before a byte is sent there.

        Raises:
            CrossOriginRedirectError: naming the redirect's origin (never its query), or
                saying that its target cannot be parsed.
        """
        target = super().get_redirect_target(resp)
        if target is None:
            return None
        try:
            absolute = urljoin(resp.url, target)
            shown = origin_text(absolute) if origin(absolute) != self._origin else None
        except ValueError:  # a port out of range, a bracket left open
            shown = "a URL that cannot be parsed"
        if shown is not None:
            raise CrossOriginRedirectError(
                where=request_label(resp.request),
                status=resp.status_code,
                target=shown,
                api_url=self.api_url,
            )
        return target

    def _read_body_in_time(self, response: requests.Response, **_kwargs: t.Any) -> None:  # noqa: ANN401
        """Read and decode the whole body now, each read bounded by what is left of the timeout.

        Runs as a response hook, before `requests` reads the body itself: the body is then
        served from memory. The content coding is undone as the body arrives, so an answer
        that inflates past `max_response_mb` is refused before it is held.

        Raises:
            ResponseTimeout: when the answer is not complete within the timeout.
            ResponseTooLargeError: when the decoded body exceeds max_response_mb.
            requests.exceptions.ContentDecodingError: for a corrupt or unknown coding.
        """
        deadline = time.monotonic() - response.elapsed.total_seconds() + self.timeout
        raw = response.raw
        try:
            body = _DecodedBody(response.headers.get("Content-Encoding", ""), self.max_response_mb)
            _read_until(deadline, raw, body)
        except (TimeoutError, urllib3.exceptions.ReadTimeoutError):
            raw.close()  # a half-read connection must not go back to the pool
            raise self._timeout(response, body.received) from None
        except _TooLargeError:
            raw.close()
            raise self._too_large(response, body.coding) from None
        except urllib3.exceptions.ProtocolError as error:
            raw.close()
            raise requests.exceptions.ChunkedEncodingError(error) from None
        except BaseException:
            raw.close()
            raise
        raw.release_conn()
        response.raw = _BodyInMemory(body.finish())

    def _timeout(self, response: requests.Response, received: int) -> ResponseTimeout:
        return ResponseTimeout(
            f"the answer was not complete within request_timeout={self.timeout:g} s "
            f"(HTTP {response.status_code}, {received} bytes of the body received)",
            request=response.request,
        )

    def _too_large(self, response: requests.Response, coding: str) -> ResponseTooLargeError:
        decoded = f" once {coding} is undone" if coding not in ("", "identity") else ""
        return ResponseTooLargeError(
            f"{request_label(response.request)}: the answer (HTTP {response.status_code}) is "
            f"larger than max_response_mb={self.max_response_mb} MiB{decoded} (with what its "
            "JSON values take in memory); the tap stopped "
            "reading it. No real page is that large: something other than the API's pages "
            "answered (a compression bomb, a body that never ends). If pages this large are "
            "expected, lower page_size or raise max_response_mb."
        )


class _BodyInMemory:
    """A body already read and decoded, handed to `requests` in one read, then let go.

    `requests` joins what it reads into `response.content`; one read of the whole body makes
    that join the body itself, so a page is held once, not twice (as a `BytesIO` would).
    """

    def __init__(self, body: bytes) -> None:
        self._body: bytes | None = body

    def read(self, _size: int = -1) -> bytes:
        """All that is left (whatever the size asked for), then nothing."""
        body, self._body = self._body or b"", None
        return body

    def close(self) -> None:
        """Let the body go."""
        self._body = None


def _read_until(deadline: float, raw: urllib3.BaseHTTPResponse, body: _DecodedBody) -> None:
    """Read the raw body into `body`, one socket read at a time, until the deadline.

    Raw bytes, decoded here: urllib3's own decoding would wait for a whole compressed block,
    however slowly it arrives.

    Raises:
        TimeoutError: at the deadline (the monotonic clock's).
    """
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        _limit_next_read(raw, left)
        chunk = raw.read1(_CHUNK, decode_content=False)
        if not chunk:
            return
        body.add(chunk)


class _TooLargeError(Exception):
    """The decoded body passed its limit (internal to `ApiSession`)."""


class _DecodedBody:
    """A body decoded as it arrives (gzip, deflate or none), refused past a limit in MiB.

    What counts is its bytes and what its JSON values take once decoded (`VALUE_COST` each).
    """

    def __init__(self, content_encoding: str, limit_mb: int) -> None:
        """Expect a body in `content_encoding`, at most `limit_mb` MiB once decoded.

        Raises:
            requests.exceptions.ContentDecodingError: for a coding the tap does not accept.
        """
        self.coding = content_encoding.strip().lower()
        if self.coding not in _WBITS:
            raise requests.exceptions.ContentDecodingError(
                f"unexpected Content-Encoding {self.coding!r}"
            )
        self._wbits = _WBITS[self.coding]
        self._limit = limit_mb << 20
        self._inflater = None if self._wbits is None else zlib.decompressobj(self._wbits)
        self._pieces: list[bytes] = []  # joined once at the end: no growing buffer's slack
        self._cost = 0
        self.received = 0  # bytes as sent

    def add(self, chunk: bytes) -> None:
        """Decode and keep one piece of the body as sent.

        Compressed input goes in small steps, so that what one step inflates to (at most
        about 1,000 times the step) is small too: the body is never held far past the limit.

        Raises:
            _TooLargeError: once the decoded body exceeds the limit.
            requests.exceptions.ContentDecodingError: for a corrupt compressed body.
        """
        self.received += len(chunk)
        if self._inflater is None:
            self._keep(chunk)
            return
        view = memoryview(chunk)
        for start in range(0, len(view), _INFLATE_STEP):
            rest: bytes | memoryview = view[start : start + _INFLATE_STEP]
            while rest:
                rest = self._inflate(rest)

    def _keep(self, decoded: bytes) -> None:
        self._pieces.append(decoded)
        values = decoded.count(b"{") + decoded.count(b"[") + decoded.count(b",")
        self._cost += len(decoded) + VALUE_COST * values
        if self._cost > self._limit:
            raise _TooLargeError

    def _inflate(self, data: bytes | memoryview) -> bytes:
        """Inflate `data` (up to one byte past the limit); the input of a next gzip member."""
        inflater = t.cast("zlib._Decompress", self._inflater)
        try:
            self._keep(inflater.decompress(data, self._limit + 1 - self._cost))
        except zlib.error as error:
            raise self._corrupt(str(error)) from None
        if not inflater.eof:
            return b""  # all consumed: the output stopped short of the limit
        rest = inflater.unused_data.lstrip(b"\0")  # another gzip member may follow
        if rest:
            self._inflater = zlib.decompressobj(t.cast("int", self._wbits))
        return rest

    def finish(self) -> bytes:
        """The whole decoded body.

        Raises:
            requests.exceptions.ContentDecodingError: when a compressed body ended early.
        """
        if self._inflater is not None and self.received and not self._inflater.eof:
            raise self._corrupt("it ended before the end of the compressed data")
        return b"".join(self._pieces)

    def _corrupt(self, reason: str) -> requests.exceptions.ContentDecodingError:
        return requests.exceptions.ContentDecodingError(
            f"the {self.coding} body could not be decompressed ({reason})"
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
