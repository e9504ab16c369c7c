"""Retrying transient failures (not TLS failures, redirect loops): backoff, `Retry-After`."""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
import typing as t

import backoff
import requests
from requests import exceptions as rex
from singer_sdk.exceptions import RetriableAPIError

from tap_centaur.errors import RetriesExhaustedError, TapCentaurError, TransientResponseError
from tap_centaur.redaction import excerpt
from tap_centaur.session import MAX_REDIRECTS, ResponseTimeout, origin_text

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from backoff.types import Details

T = t.TypeVar("T")

#: The SDK's list (`RESTStream.request_decorator`, which does not export it): rate limits,
#: server errors, resets, timeouts, cut bodies.
RETRYABLE_EXCEPTIONS: tuple[type[Exception], ...] = (
    RetriableAPIError,
    ConnectionResetError,
    rex.Timeout,
    rex.ConnectionError,
    rex.ChunkedEncodingError,
    rex.ContentDecodingError,
)
#: A Retry-After longer than this is cut short (and logged): the run would look hung.
MAX_RETRY_AFTER_SECONDS = 600.0

logger = logging.getLogger("tap-centaur")


class RetryPolicy:
    """Retries transient failures (waits: jittered backoff, or a 429's `Retry-After` for all)."""

    def __init__(self, *, max_retries: int, backoff_factor: float, request_timeout: float) -> None:
        self.max_retries, self.backoff_factor = max_retries, backoff_factor
        self.max_backoff = 60.0  # seconds: the longest backoff wait (README: backoff_factor)
        self.request_timeout = request_timeout
        self._resume_at = 0.0
        self._ended = False
        self._lock = threading.Lock()

    def end(self) -> None:
        """The run is over: a request still retrying in a background thread gives up."""
        self._ended = True

    def check_connection_quickly(self) -> None:
        """For a connection check: a few short retries, so an unreachable API fails fast."""
        self.max_retries, self.max_backoff = min(self.max_retries, 2), 1.0

    def call(self, func: Callable[[], T], *, where: str) -> T:
        """Call `func` with retries; `where` names its target in the messages."""

        def attempt() -> T:
            self._wait_for_shared_pause()
            if self._ended:
                raise TapCentaurError(f"{where}: not sent, the run has ended.")
            return func()

        retrying = backoff.on_exception(
            self._waits,
            RETRYABLE_EXCEPTIONS,
            max_tries=self.max_retries + 1,
            giveup=_never_retried,
            jitter=None,
            on_backoff=self._log_backoff,
            logger=None,
        )(attempt)
        try:
            return retrying()
        except rex.SSLError as exc:
            shown = f" with {origin_text(_url_of(exc))}" if _url_of(exc) else ""
            raise TapCentaurError(
                f"{where}: the TLS handshake{shown} failed ({_reason(exc)}); not retried. Check "
                "api_url, and if your network inspects TLS with its own certificate authority, "
                "set REQUESTS_CA_BUNDLE to that authority's certificate file."
            ) from exc
        except rex.TooManyRedirects as exc:
            raise TapCentaurError(
                f"{where}: the API redirected more than {MAX_REDIRECTS} times within its own "
                "origin (a redirect loop). Check api_url: it must be the API's base URL."
            ) from exc
        except RETRYABLE_EXCEPTIONS as exc:
            tries = self.max_retries + 1
            raise RetriesExhaustedError(
                f"{where}: giving up after {tries} attempt{'s' if tries > 1 else ''}; last error: "
                f"{describe_failure(exc, self.request_timeout)}. {_advice(exc)}"
            ) from exc

    def _waits(self) -> Generator[float, BaseException | None, None]:
        """Receive each failure, yield the seconds to sleep (a `backoff` wait generator)."""
        exc = yield 0.0
        for retry in itertools.count():
            requested = getattr(exc, "retry_after", None)
            if self._ended:
                wait = 0.0
            elif requested is not None:
                wait = min(float(requested), MAX_RETRY_AFTER_SECONDS)
                if wait < requested:
                    logger.warning(
                        "The API asked to wait %.0f s (Retry-After); the tap waits %.0f s, "
                        "its longest wait, then tries again.",
                        requested,
                        wait,
                    )
                with self._lock:  # every caller sharing this policy waits it out
                    self._resume_at = max(self._resume_at, time.monotonic() + wait)
            else:
                ceiling = min(self.backoff_factor * 2**retry, self.max_backoff)
                wait = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter
            exc = yield wait

    def _wait_for_shared_pause(self) -> None:
        delay = self._resume_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def _log_backoff(self, details: Details) -> None:
        logger.warning(
            "Retrying (%d of %d) in %.1f s after: %s",
            details["tries"],
            self.max_retries,
            details.get("wait", 0.0),
            describe_failure(details["exception"], self.request_timeout),
        )


def _never_retried(exc: Exception) -> bool:
    """TLS failures repeat identically: retrying only delays the message."""
    return isinstance(exc, rex.SSLError)


def describe_failure(exc: BaseException, timeout: float) -> str:  # noqa: PLR0911
    """What went wrong, in a few words (no URL query, no credential)."""
    if isinstance(exc, (RetriableAPIError, ResponseTimeout, rex.ContentDecodingError)):
        return str(exc)  # the tap's own words (it decodes every body itself)
    if isinstance(exc, rex.ProxyError):
        url = _url_of(exc)
        proxy = url and requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url))
        shown = origin_text(proxy) if proxy else "(HTTPS_PROXY / HTTP_PROXY)"
        return f"the proxy {shown} failed ({_reason(exc)})"
    if isinstance(exc, rex.Timeout):
        return f"no answer within request_timeout={timeout:g} s"
    if isinstance(exc, rex.ChunkedEncodingError):
        return "the connection closed before the whole body arrived (truncated response)"
    if isinstance(exc, rex.ConnectionError):
        where = origin_text(_url_of(exc)) if _url_of(exc) else "the API"
        return f"the connection to {where} failed or was reset ({_reason(exc)})"
    if isinstance(exc, ConnectionResetError):
        return "the connection was reset"
    return type(exc).__name__


def _advice(exc: BaseException) -> str:
    status = getattr(exc, "status", None) or 0
    if status == 429:
        return "The API kept rate limiting the tap: run it later, or raise max_retries."
    if status >= 500:
        return "The API kept failing: try again later, or raise max_retries / backoff_factor."
    if isinstance(exc, TransientResponseError):  # neither 429 nor 5xx: a 200 not decoded
        return (
            "Every answer was something other than the API's JSON: check api_url (a proxy, "
            "captive portal or maintenance page may answer instead), and report it to Centaur "
            "Labs support if api_url is right."
        )
    if isinstance(exc, rex.ProxyError):
        return "Check the proxy in HTTPS_PROXY / HTTP_PROXY (or exclude the API with NO_PROXY)."
    if isinstance(exc, rex.Timeout):
        return "Raise request_timeout, or lower page_size so each page is quicker to serve."
    return "Check api_url and the network, then try again; or raise max_retries."


def _url_of(exc: rex.RequestException) -> str:
    return (exc.request.url if exc.request is not None else None) or ""


def _reason(exc: BaseException) -> str:
    """The innermost cause's text, cut short (urllib3 nests causes in `reason` and `args`)."""
    cause: object = exc
    for _ in range(5):
        inner = getattr(cause, "reason", None)
        if inner is None:
            args = getattr(cause, "args", ())
            inner = next((a for a in reversed(args) if isinstance(a, BaseException)), None)
        if not isinstance(inner, BaseException):
            break
        cause = inner
    return excerpt(str(cause), 160)
