"""Retrying transient failures: bounded exponential backoff that honours `Retry-After`."""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
import typing as t

import backoff
import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_centaur.errors import RetriesExhaustedError, TransientResponseError
from tap_centaur.timestamps import parse_http_date, retry_after_seconds

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from backoff.types import Details

P = t.ParamSpec("P")
T = t.TypeVar("T")

#: Failures worth another try: rate limits, server errors, resets, timeouts, cut bodies.
RETRYABLE_EXCEPTIONS: tuple[type[Exception], ...] = (
    RetriableAPIError,
    ConnectionResetError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)

MAX_BACKOFF_SECONDS = 60.0
#: A Retry-After longer than this is cut short (and logged): the run would look hung.
MAX_RETRY_AFTER_SECONDS = 600.0

logger = logging.getLogger("tap-centaur")


class RetryPolicy:
    """Retries a call on transient failures, then fails with a message naming what to try.

    Waits grow exponentially (`backoff_factor` x 2^n, at most 60 s, with jitter). A 429's
    `Retry-After` is honoured and pauses every caller sharing this policy, so parallel
    workers slow down together instead of multiplying retries.
    """

    def __init__(self, *, max_retries: int, backoff_factor: float, request_timeout: float) -> None:
        """Set the retry budget (retries after the first attempt) and the base wait."""
        self.max_retries = max_retries
        self.backoff_factor = backoff_factor
        self.request_timeout = request_timeout
        self._resume_at = 0.0
        self._lock = threading.Lock()
        self._random = random.Random()  # noqa: S311 - jitter, not cryptography
        self.retries = 0

    def retry_after(self, response: requests.Response) -> float | None:
        """Seconds the server asked to wait, measured against the server's own clock."""
        return retry_after_seconds(
            response.headers.get("Retry-After"), parse_http_date(response.headers.get("Date"))
        )

    def wrap(self, func: Callable[P, T], where: Callable[P, str]) -> Callable[P, T]:
        """Return `func` with retries; `where` names the call's target for messages."""

        def attempt(*args: P.args, **kwargs: P.kwargs) -> T:
            self._wait_for_shared_pause()
            return func(*args, **kwargs)

        retrying = backoff.on_exception(
            self._waits,
            RETRYABLE_EXCEPTIONS,
            max_tries=self.max_retries + 1,
            jitter=None,
            on_backoff=self._log_backoff,
            logger=None,
        )(attempt)

        @functools.wraps(func)
        def call(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return retrying(*args, **kwargs)
            except RETRYABLE_EXCEPTIONS as exc:
                raise RetriesExhaustedError(
                    self._exhausted_message(where(*args, **kwargs), exc)
                ) from exc

        return call

    def call(self, func: Callable[[], T], *, where: str) -> T:
        """Call `func` with retries."""
        return self.wrap(func, lambda: where)()

    def _waits(self) -> Generator[float, BaseException | None, None]:
        """Wait times for `backoff`: receives each failure, yields seconds to sleep."""
        exc = yield 0.0
        retry = 0
        while True:
            requested = getattr(exc, "retry_after", None)
            if requested is not None:
                wait = min(float(requested), MAX_RETRY_AFTER_SECONDS)
                self._pause_everyone(wait)
            else:
                ceiling = min(self.backoff_factor * 2**retry, MAX_BACKOFF_SECONDS)
                wait = self._random.uniform(ceiling / 2, ceiling)
            retry += 1
            exc = yield wait

    def _pause_everyone(self, seconds: float) -> None:
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def _wait_for_shared_pause(self) -> None:
        delay = self._resume_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def _log_backoff(self, details: Details) -> None:
        self.retries += 1
        exc = details.get("exception")
        logger.warning(
            "Retrying (%d of %d) in %.1f s after: %s",
            details["tries"],
            self.max_retries,
            details.get("wait", 0.0),
            _describe_failure(exc, self.request_timeout),
        )

    def _exhausted_message(self, where: str, exc: BaseException) -> str:
        tries = self.max_retries + 1
        return (
            f"{where}: giving up after {tries} attempt{'s' if tries > 1 else ''}; last error: "
            f"{_describe_failure(exc, self.request_timeout)}. {_advice(exc)}"
        )


def _describe_failure(exc: BaseException | None, timeout: float) -> str:
    if isinstance(exc, TransientResponseError):
        return str(exc)
    if isinstance(exc, RetriableAPIError):
        return str(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return f"no answer within request_timeout={timeout:g} s"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection closed before the whole body arrived (truncated response)"
    if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionResetError)):
        return "the connection failed or was reset"
    return type(exc).__name__ if exc else "unknown failure"


def _advice(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    if status == 429:
        return "The API kept rate limiting the tap: run it later, or raise max_retries."
    if isinstance(status, int) and status >= 500:
        return "The API kept failing: try again later, or raise max_retries / backoff_factor."
    if isinstance(exc, requests.exceptions.Timeout):
        return "Raise request_timeout, or lower page_size so each page is quicker to serve."
    if isinstance(exc, TransientResponseError):
        return "The API kept sending bodies that are not JSON: try again later."
    return "Check api_url and the network, then try again; or raise max_retries."
