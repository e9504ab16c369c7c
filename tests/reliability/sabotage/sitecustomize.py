"""Deliberate bugs, loaded into the tap subprocess only when a sabotage is requested.

When RELIABILITY_SABOTAGE is set, `tests/harness.py` runs every tap in a subprocess, with
this folder on its PYTHONPATH and TAP_CENTAUR_SABOTAGE set, e.g.

    RELIABILITY_SABOTAGE=truncated_page_is_empty pytest -m reliability -k soak

Python imports `sitecustomize` at start-up, before `python -m tap_centaur` runs, so the
tap is patched in memory and the working tree stays untouched. Each sabotage is one
plausible bug; every scenario of the suite must go red under its own sabotage:

| sabotage | scenario that must fail |
| --- | --- |
| truncated_page_is_empty | fault soak: a body that is not JSON ends the task quietly |
| premature_bookmark | kill and resume, signals: a task is bookmarked after its first record |
| updated_after_rounded_up | moving data: `updated_after` is sent one second late |
| bad_start_date_ignored | bad config: an unparsable start_date is ignored, not refused |
| bad_cursor_ends_task | bad responses: a cursor that does not advance ends the task quietly |
| token_logged | secrets: the session token is logged at DEBUG and masking is off |
| bookmark_from_server_clock | clocks: a bookmark is the API's `Date` alone, without lookback |
| future_bookmark_trusted | clocks: a bookmark later than both clocks is trusted |
| redirects_followed_anywhere | redirects: a redirect to another origin is followed |
| state_not_checked | broken state: the input state is used as it is, unchecked |
| output_errors_unexplained | output failures: a closed pipe or a full disk gets no words |
| tls_failures_retried | transport: a TLS certificate failure is retried like a reset |
| logout_skipped | logout: the run never logs out |
| pipe_writes_not_atomic | signals anywhere: the output goes to a pipe in 64 KiB writes again |
| signal_exit_waits | signals anywhere: a signal ends the run with `sys.exit`, as before issue 19 |

`redaction_off` (log masking off, nothing else) is an experiment, not a failure: the suite
stays green, since the tap never formats a secret in the first place.
"""

from __future__ import annotations

import os
import typing as t
from datetime import datetime, timedelta, timezone

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import requests


def _truncated_page_is_empty() -> None:
    from tap_centaur import pages
    from tap_centaur.errors import TransientResponseError

    original = pages.decode_json

    def decode_json(response: requests.Response) -> object:
        try:
            return original(response)
        except TransientResponseError:
            if "/results/" in (response.request.url or ""):
                return {"payload": []}
            raise

    pages.decode_json = decode_json


def _premature_bookmark() -> None:
    from tap_centaur.engine import PartitionRun

    original = PartitionRun._take

    def _take(self: t.Any, index: int, page: t.Any) -> Iterator[t.Any]:
        yield from original(self, index, page)
        partition = self._partitions[index]
        if not getattr(self, "_sabotaged", set()) >= {index}:  # after its first page
            self._sabotaged = getattr(self, "_sabotaged", set()) | {index}
            self._states.set_bookmark(partition.context, datetime.now(timezone.utc))
            self._flush_state()

    PartitionRun._take = _take  # type: ignore[method-assign]


def _updated_after_rounded_up() -> None:
    from tap_centaur import clock, streams

    original = clock.format_updated_after

    def format_updated_after(moment: datetime) -> str:
        result: str = original(moment + timedelta(seconds=1))
        return result

    vars(streams)["format_updated_after"] = format_updated_after


def _bad_start_date_ignored() -> None:
    from tap_centaur import settings
    from tap_centaur.errors import ConfigError

    original = settings._start_date

    def _start_date(value: object) -> datetime | None:
        try:
            return original(value)
        except ConfigError:
            return None

    settings._start_date = _start_date


def _bad_cursor_ends_task() -> None:
    from tap_centaur import pagination
    from tap_centaur.errors import PaginationError

    original = pagination.SequenceIdPaginator.get_next

    def get_next(self: t.Any, response: requests.Response) -> t.Any:
        try:
            return original(self, response)
        except PaginationError:
            return None  # the SDK's paginator ends on a falsy token: the task ends quietly

    pagination.SequenceIdPaginator.get_next = get_next  # type: ignore[method-assign]


def _redaction_off() -> None:
    from tap_centaur import redaction

    redaction.RedactingFilter.filter = lambda self, record: True  # type: ignore[method-assign]
    redaction.redact = lambda text: text


def _token_logged() -> None:
    import logging

    from tap_centaur import auth, redaction

    redaction.RedactingFilter.filter = lambda self, record: True  # type: ignore[method-assign]
    original = auth.CentaurAuth._login

    def _login(self: t.Any) -> str:
        token: str = original(self)
        logging.getLogger("tap-centaur").debug("Logged in; session token %s", token)
        return token

    auth.CentaurAuth._login = _login  # type: ignore[method-assign]


def _bookmark_from_server_clock() -> None:
    from tap_centaur.clock import RequestTime

    def bookmark(self: t.Any, lookback: timedelta) -> datetime | None:
        server: datetime | None = self.server_before
        return None if server is None else server.replace(microsecond=0)

    RequestTime.bookmark = bookmark  # type: ignore[method-assign]


def _future_bookmark_trusted() -> None:
    from tap_centaur.clock import RequestTime

    RequestTime.is_future = lambda self, moment: False  # type: ignore[method-assign]


def _redirects_followed_anywhere() -> None:
    import requests

    from tap_centaur.session import ApiSession

    ApiSession.get_redirect_target = requests.Session.get_redirect_target  # type: ignore[method-assign]


def _state_not_checked() -> None:
    import json

    from tap_centaur import tap

    vars(tap)["normalise_state"] = lambda state, where: state
    vars(tap)["read_state_text"] = lambda text, where: json.loads(text)


def _output_errors_unexplained() -> None:
    from tap_centaur import output

    output.output_failure = lambda error: None


def _tls_failures_retried() -> None:
    from tap_centaur import retry

    retry._never_retried = lambda exc: False


def _logout_skipped() -> None:
    from tap_centaur.auth import CentaurAuth

    CentaurAuth.logout = lambda self: None  # type: ignore[method-assign]


def _pipe_writes_not_atomic() -> None:
    from tap_centaur.output import BufferedMsgSpecWriter

    def _write_lines(self: t.Any, fd: int, data: bytes) -> None:
        view, start = memoryview(data), 0
        while start < len(data):
            start += os.write(fd, view[start:])

    BufferedMsgSpecWriter._write_lines = _write_lines  # type: ignore[method-assign]


def _signal_exit_waits() -> None:
    import sys

    from tap_centaur import signals

    def _exit(self: t.Any, lines: list[tuple[int, bytes]]) -> t.NoReturn:
        signals._write(lines)
        sys.exit(128 + self._signum)

    signals.Stopper._exit = _exit  # type: ignore[method-assign]


SABOTAGES: dict[str, Callable[[], None]] = {
    "truncated_page_is_empty": _truncated_page_is_empty,
    "premature_bookmark": _premature_bookmark,
    "updated_after_rounded_up": _updated_after_rounded_up,
    "bad_start_date_ignored": _bad_start_date_ignored,
    "bad_cursor_ends_task": _bad_cursor_ends_task,
    "token_logged": _token_logged,
    "redaction_off": _redaction_off,
    "bookmark_from_server_clock": _bookmark_from_server_clock,
    "future_bookmark_trusted": _future_bookmark_trusted,
    "redirects_followed_anywhere": _redirects_followed_anywhere,
    "state_not_checked": _state_not_checked,
    "output_errors_unexplained": _output_errors_unexplained,
    "tls_failures_retried": _tls_failures_retried,
    "logout_skipped": _logout_skipped,
    "pipe_writes_not_atomic": _pipe_writes_not_atomic,
    "signal_exit_waits": _signal_exit_waits,
}

_name = os.environ.get("TAP_CENTAUR_SABOTAGE")
if _name:
    SABOTAGES[_name]()
