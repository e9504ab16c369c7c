"""Deliberate bugs, loaded into the tap subprocess only when a sabotage is requested.

When RELIABILITY_SABOTAGE is set, `tests/harness/` runs every tap in a subprocess, with
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
| secret_forms_unmasked | secrets: only a secret's raw form is masked, not its escaped ones |
| excerpt_not_masked | secrets: server text is cut before masking (the log filter masks) |
| server_text_unescaped | log text: control characters of server text reach the log |
| server_text_unbounded | log text: server messages are not cut |
| failure_summary_unbounded | log text: the summary lists every failed task |
| credentials_taken_as_given | secrets, bad config: credentials are neither stripped nor checked |
| api_url_echoed | bad config: an api_url with a bad scheme is echoed, userinfo included |
| bounds_unchecked | bad config: the settings schema has no bounds (for the tap and the SDK) |
| schema_not_checked | bad config: the tap's schema is left to the SDK (exit 1) |
| unicode_digits_parsed | bad config: digits such as '²' go to int() before msgspec converts |
| log_level_unchecked | bad config: an unknown TAP_CENTAUR_LOGLEVEL is left to the SDK |
| login_budget_reset | bad responses: renewals without a served request are never counted |
| unprocessable_is_task_error | bad responses: a 422 is one task's failure, not a rejected request |
| future_start_date_accepted | bad config: a start_date later than now is used as given |
| size_cap_off | hostile inputs: an answer is read whole, however large it inflates |
| decoded_cost_ignored | hostile inputs: the size cap counts bytes, not what JSON takes decoded |
| empty_pages_unbounded | hostile inputs: empty pages that say more follow are followed for ever |
| nesting_unchecked | hostile inputs: records nested past 100 levels are read if msgspec can |
| json_errors_unexplained | hostile inputs: NaN and 1e400 are "not JSON" again, retried |
| pipe_writes_not_atomic | signals anywhere: the output goes to a pipe in 64 KiB writes again |
| signal_exit_waits | signals anywhere: a signal ends the run with `sys.exit`, as before issue 19 |

`redaction_off` (log masking off, nothing else) is an experiment: the tap never formats a
secret itself, so only the tests where a server echoes one (issue 19) go red.
"""

from __future__ import annotations

import os
import typing as t
from datetime import datetime, timedelta

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
    from tap_centaur.engine import ResultsSync

    original = ResultsSync._take

    def _take(self: t.Any, partition: t.Any, page: t.Any) -> Iterator[t.Any]:
        yield from original(self, partition, page)
        if partition.pages == 1 and partition.bookmark:  # after its first page
            self._set_bookmark(partition)
            self._flush_state()

    ResultsSync._take = _take  # type: ignore[method-assign]


def _updated_after_rounded_up() -> None:
    from tap_centaur import clock, engine

    original = clock.format_updated_after

    def format_updated_after(moment: datetime) -> str:
        result: str = original(moment + timedelta(seconds=1))
        return result

    vars(engine)["format_updated_after"] = format_updated_after


def _bad_start_date_ignored() -> None:
    from tap_centaur.errors import ConfigError
    from tap_centaur.setting_checks import CHECKS

    original = CHECKS["start_date"]

    def start_date(name: str, value: object) -> object:
        try:
            return original(name, value)
        except ConfigError:
            return None

    CHECKS["start_date"] = start_date


def _bad_cursor_ends_task() -> None:
    from tap_centaur import client
    from tap_centaur.errors import CentaurAPIError

    original = client.SequenceIdPaginator.get_next

    def get_next(self: t.Any, page: t.Any) -> int | None:
        try:
            return original(self, page)
        except CentaurAPIError:
            return None  # the task ends quietly

    client.SequenceIdPaginator.get_next = get_next  # type: ignore[method-assign]


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


def _secret_forms_unmasked() -> None:
    from tap_centaur import redaction

    redaction.forms_of = lambda secret: {secret}


def _excerpt_not_masked() -> None:
    import logging

    from tap_centaur import redaction

    redact, keep = redaction.redact, redaction.RedactingFilter.filter
    redaction.redact = lambda text: text  # `excerpt` cuts unmasked text...

    def filter(self: t.Any, record: logging.LogRecord) -> bool:  # ...that the filter masks
        record.msg, record.args = redact(record.getMessage()), None
        return keep(self, record)

    redaction.RedactingFilter.filter = filter  # type: ignore[method-assign]


def _server_text_unescaped() -> None:
    from tap_centaur import redaction

    redaction.escape = lambda text: text


def _server_text_unbounded() -> None:
    from tap_centaur import redaction

    redaction.excerpt.__defaults__ = (10**9,)


def _failure_summary_unbounded() -> None:
    from tap_centaur import errors

    errors.FAILURES_LISTED = 10**9


def _credentials_taken_as_given() -> None:
    from tap_centaur.setting_checks import CHECKS

    for name in ("api_key", "username", "api_password", "bearer_token"):
        CHECKS[name] = lambda name, value: value or None


def _api_url_echoed() -> None:
    from tap_centaur.errors import ConfigError
    from tap_centaur.setting_checks import CHECKS

    original = CHECKS["api_url"]

    def api_url(name: str, value: object) -> object:
        if isinstance(value, str) and not value.startswith(("http://", "https://")):
            raise ConfigError(name, f"{value!r} is not an http(s) URL.")
        return original(name, value)

    CHECKS["api_url"] = api_url


def _bounds_unchecked() -> None:
    from tap_centaur.settings import CONFIG_SCHEMA  # also the schema the SDK checks

    def unbounded(node: object) -> None:
        if isinstance(node, dict):
            for bound in ("minimum", "maximum"):
                node.pop(bound, None)
            for value in node.values():
                unbounded(value)
        elif isinstance(node, list):
            for value in node:
                unbounded(value)

    unbounded(CONFIG_SCHEMA)


def _schema_not_checked() -> None:
    from tap_centaur import settings

    settings._check_schema = lambda config: None


def _unicode_digits_parsed() -> None:
    import msgspec

    from tap_centaur import tap

    vars(tap)["check_environment"] = lambda environ, prefix, names: None
    convert = msgspec.convert

    def digits_to_int(value: object) -> object:
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return [digits_to_int(item) for item in value] if isinstance(value, list) else value

    def convert_digits(obj: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
        if isinstance(obj, dict):
            obj = {key: digits_to_int(value) for key, value in obj.items()}
        return convert(obj, *args, **kwargs)

    msgspec.convert = convert_digits


def _log_level_unchecked() -> None:
    from tap_centaur import cli

    vars(cli)["check_log_level"] = lambda environ, prefix: None


def _login_budget_reset() -> None:
    from tap_centaur.auth import CentaurAuth

    renew = CentaurAuth._renew

    def _renew(self: t.Any, rejected_token: str | None, where: str) -> None:
        self._renewals_unused = 0
        renew(self, rejected_token, where)

    CentaurAuth._renew = _renew  # type: ignore[method-assign]


def _unprocessable_is_task_error() -> None:
    from tap_centaur import client, pages
    from tap_centaur.errors import CentaurAPIError

    check = pages.check_status

    def check_status(response: requests.Response, where: str) -> None:
        if response.status_code == 422:
            raise CentaurAPIError(f"the API answered HTTP 422: {response.text[:80]}")
        check(response, where)

    vars(client)["check_status"] = check_status


def _future_start_date_accepted() -> None:
    from tap_centaur.clock import parse_start_date
    from tap_centaur.errors import ConfigError
    from tap_centaur.setting_checks import CHECKS

    original = CHECKS["start_date"]

    def start_date(name: str, value: object) -> object:
        try:
            return original(name, value)
        except ConfigError as error:
            if "later than now" not in str(error):
                raise
            return parse_start_date(str(value))

    CHECKS["start_date"] = start_date


def _decoded_cost_ignored() -> None:
    from tap_centaur import session

    session.VALUE_COST = 0


def _size_cap_off() -> None:
    from tap_centaur.session import ApiSession

    original = ApiSession.__init__

    def __init__(self: t.Any, api_url: str, timeout: float, max_response_mb: int) -> None:
        original(self, api_url, timeout, 1 << 30)  # a petabyte: nothing is ever too large

    ApiSession.__init__ = __init__  # type: ignore[method-assign]


def _empty_pages_unbounded() -> None:
    import sys

    from tap_centaur import client

    original = client.SequenceIdPaginator.__init__

    def __init__(self: t.Any, max_empty_pages: int) -> None:
        original(self, sys.maxsize)

    client.SequenceIdPaginator.__init__ = __init__  # type: ignore[method-assign]


def _nesting_unchecked() -> None:
    from tap_centaur import pages

    pages.MAX_NESTING = 10**9  # only msgspec's own limit is left


def _json_errors_unexplained() -> None:
    from tap_centaur import pages

    pages._json_problem = lambda content, error: None


def _pipe_writes_not_atomic() -> None:
    from tap_centaur import output

    output.PIPE_BUF = output.BUFFER_BYTES  # whole lines, but 64 KiB at a time: not atomic


def _signal_exit_waits() -> None:
    import sys

    os._exit = sys.exit  # type: ignore[assignment]


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
    "secret_forms_unmasked": _secret_forms_unmasked,
    "excerpt_not_masked": _excerpt_not_masked,
    "server_text_unescaped": _server_text_unescaped,
    "server_text_unbounded": _server_text_unbounded,
    "failure_summary_unbounded": _failure_summary_unbounded,
    "credentials_taken_as_given": _credentials_taken_as_given,
    "api_url_echoed": _api_url_echoed,
    "bounds_unchecked": _bounds_unchecked,
    "schema_not_checked": _schema_not_checked,
    "unicode_digits_parsed": _unicode_digits_parsed,
    "log_level_unchecked": _log_level_unchecked,
    "login_budget_reset": _login_budget_reset,
    "unprocessable_is_task_error": _unprocessable_is_task_error,
    "future_start_date_accepted": _future_start_date_accepted,
    "size_cap_off": _size_cap_off,
    "decoded_cost_ignored": _decoded_cost_ignored,
    "empty_pages_unbounded": _empty_pages_unbounded,
    "nesting_unchecked": _nesting_unchecked,
    "json_errors_unexplained": _json_errors_unexplained,
    "pipe_writes_not_atomic": _pipe_writes_not_atomic,
    "signal_exit_waits": _signal_exit_waits,
}

_name = os.environ.get("TAP_CENTAUR_SABOTAGE")
if _name:
    SABOTAGES[_name]()
