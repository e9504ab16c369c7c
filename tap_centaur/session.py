"""HTTP sessions that never leave the API's origin and bound every answer in time and size.

`requests` would follow redirects anywhere with `X-API-KEY` (SDK notes, pitfall 14), wait for a
body dripped a byte a second, and hold a body however large it inflates.
"""

from __future__ import annotations

import io
import threading
import time
import typing as t
import zlib
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions

from tap_centaur.errors import CentaurAPIError, TapCentaurError
from tap_centaur.pages import request_label
from tap_centaur.redaction import excerpt

if t.TYPE_CHECKING:
    from collections.abc import Callable

MAX_REDIRECTS = 5
#: Compressed bytes inflated at a time: deflate inflates 4 KiB to at most about 4 MiB.
_INFLATE_STEP = 4 * 1024
#: Bytes counted for each `{`, `[` and `,` of a body on top of its own: what a JSON value may
#: take once decoded (measured with msgspec: 36-83 bytes), so that `max_response_mb` bounds a
#: page's memory, not only its bytes.
VALUE_COST = 128
#: zlib's window bits of each content coding the tap accepts (None: no coding; +16: gzip).
_WBITS = {"": None, "identity": None, "gzip": 31, "x-gzip": 31, "deflate": zlib.MAX_WBITS}


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
    """A session bound to `api_url`'s origin; each whole answer within `timeout` s and the size."""

    def __init__(self, api_url: str, timeout: float, max_response_mb: int) -> None:
        super().__init__()
        self.api_url, self.timeout, self.max_response_mb = api_url, timeout, max_response_mb
        self.max_redirects = MAX_REDIRECTS
        self._origin = origin(api_url)
        self.headers["Accept-Encoding"] = "gzip"
        self.hooks["response"].append(self._read_body_in_time)
        self._environment: dict[tuple[object, ...], t.Any] = {}  # `Session.request`'s kwargs

    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:  # noqa: ANN401
        """Send with `Session.request`'s environment settings (resolved once per origin: CPU)."""
        if "proxies" not in kwargs:  # not sent by `Session.request`, which resolves them itself
            url = request.url or ""
            proxies = tuple(sorted(self.proxies.items()))
            key = (*urlsplit(url)[:2], proxies, self.trust_env, self.verify, self.cert)
            if key not in self._environment:
                self._environment[key] = self.merge_environment_settings(url, {}, None, None, None)
            given = {name: value for name, value in kwargs.items() if value is not None}
            kwargs = {**self._environment[key], **given}  # verify=None: not "do not verify"
        try:
            return super().send(request, **kwargs)
        except requests.exceptions.InvalidHeader as error:  # the answer's: two Content-Lengths
            raise requests.exceptions.ConnectionError(error, request=request) from None

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        """The redirect to follow, refusing any other origin before a byte is sent there."""
        target = super().get_redirect_target(resp)
        if target is None:
            return None
        try:
            absolute = urljoin(resp.url, target)
            shown = origin_text(absolute) if origin(absolute) != self._origin else None
        except ValueError:  # a port out of range, a bracket left open
            shown = "a URL that cannot be parsed"
        if shown is not None:
            raise TapCentaurError(
                f"{request_label(resp.request)}: the API answered HTTP {resp.status_code}, a "
                f"redirect to another origin ({shown}); it was not followed, so no credential "
                f"was sent there. Check api_url ({self.api_url}): it must be the API's own "
                "address, not a page or proxy that redirects elsewhere."
            )
        return target

    def _read_body_in_time(self, response: requests.Response, **_kwargs: t.Any) -> None:  # noqa: ANN401
        """Read and decode the whole body (a response hook, before `requests` reads it)."""
        deadline = time.monotonic() - response.elapsed.total_seconds() + self.timeout
        raw = response.raw
        try:
            body = _DecodedBody(response, self.max_response_mb)
            body.read(raw, deadline)
        except BaseException as error:
            raw.close()  # a half-read connection must not go back to the pool
            if isinstance(error, (TimeoutError, urllib3.exceptions.ReadTimeoutError)):
                raise ResponseTimeout(
                    f"the answer was not complete within request_timeout={self.timeout:g} s (HTTP "
                    f"{response.status_code}, {body.received} bytes of the body received)",
                    request=response.request,
                ) from None
            if isinstance(error, urllib3.exceptions.ProtocolError):
                raise requests.exceptions.ChunkedEncodingError(error) from None
            raise
        raw.release_conn()
        response.raw = _BodyInMemory(body.finish())


class _BodyInMemory(io.BytesIO):
    """A decoded body, handed to `requests` in one read: BytesIO shares it, so it is held once."""

    def read(self, _size: int | None = -1, /) -> bytes:
        return super().read()


class _DecodedBody:
    """A body decoded as it arrives; its bytes and `VALUE_COST` per JSON value count."""

    def __init__(self, response: requests.Response, limit_mb: int) -> None:
        self._response, self._limit_mb = response, limit_mb
        self.coding = response.headers.get("Content-Encoding", "").strip().lower()
        if self.coding not in _WBITS:
            raise self._corrupt("a Content-Encoding the tap does not accept")
        self._wbits = _WBITS[self.coding]
        self._limit = limit_mb << 20
        self._inflater = None if self._wbits is None else zlib.decompressobj(self._wbits)
        self._pieces: list[bytes] = []  # joined once at the end: no growing buffer's slack
        self._cost = 0
        self.received = 0  # bytes as sent

    def read(self, raw: urllib3.BaseHTTPResponse, deadline: float) -> None:
        """Read `raw` undecoded (urllib3 would wait for a whole compressed block) by `deadline`."""
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if sock is not None:
                sock.settimeout(max(left, 0.001))
            chunk = raw.read1(64 * 1024, decode_content=False)
            if not chunk:
                return
            self.received += len(chunk)
            if self._inflater is None:
                self._keep(chunk)
                continue
            view = memoryview(chunk)  # small steps: one step never inflates far past the limit
            for start in range(0, len(view), _INFLATE_STEP):
                rest: bytes | memoryview = view[start : start + _INFLATE_STEP]
                while rest:
                    rest = self._inflate(rest)

    def _keep(self, decoded: bytes) -> None:
        self._pieces.append(decoded)
        values = decoded.count(b"{") + decoded.count(b"[") + decoded.count(b",")
        self._cost += len(decoded) + VALUE_COST * values
        if self._cost > self._limit:
            undone = f" once {self.coding} is undone" if self._wbits else ""
            raise CentaurAPIError(
                f"{request_label(self._response.request)}: the answer (HTTP "
                f"{self._response.status_code}) is larger than max_response_mb={self._limit_mb} "
                f"MiB{undone} (with what its JSON values take in memory); the tap stopped reading "
                "it. Something other than the API's pages answered (a compression bomb, an endless "
                "body); if pages this large are expected, lower page_size or raise max_response_mb."
            )

    def _inflate(self, data: bytes | memoryview) -> bytes:
        """Inflate `data` (up to one byte past the limit); return the next gzip member's input."""
        inflater = t.cast("zlib._Decompress", self._inflater)
        try:
            self._keep(inflater.decompress(data, self._limit + 1 - self._cost))
        except zlib.error as error:
            raise self._corrupt(str(error)) from None
        if not inflater.eof:
            return b""  # all consumed: the output stopped short of the limit
        rest = inflater.unused_data.lstrip(b"\0")
        if rest:
            self._inflater = zlib.decompressobj(t.cast("int", self._wbits))
        return rest

    def finish(self) -> bytes:
        """The whole decoded body (a compressed body that ended early is corrupt)."""
        if self._inflater is not None and self.received and not self._inflater.eof:
            raise self._corrupt("it ended before the end of the compressed data")
        return b"".join(self._pieces)

    def _corrupt(self, reason: str) -> requests.exceptions.ContentDecodingError:
        coding = excerpt(repr(self.coding), 40)
        return requests.exceptions.ContentDecodingError(
            f"the {coding} body is unreadable ({reason})"
        )


class SessionPerThread(threading.local):
    """One `ApiSession` per thread (sessions are not thread-safe)."""

    def __init__(self, make: Callable[[], ApiSession]) -> None:
        self.session = make()  # `threading.local` runs this again in each thread that uses it
