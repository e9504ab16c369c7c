"""Deliberate bugs, loaded into the tap subprocess only when a sabotage is requested.

Under RELIABILITY_SABOTAGE=<name>, `tests/harness/` runs every tap as a subprocess with this
folder on its PYTHONPATH and TAP_CENTAUR_SABOTAGE=<name>: Python imports `sitecustomize` at
start-up, which patches the tap in memory (the working tree stays untouched). Each sabotage is
one plausible bug that must turn its scenario red; docs/RELIABILITY.md says which.
`redaction_off` is an experiment: only the tests where a server echoes a secret go red.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import typing as t
from datetime import timedelta

New = t.Callable[[t.Any], t.Any]  # new(original) -> the replacement
Patch = tuple[str, New]


def _load(target: str) -> t.Any:
    """`module:attribute.attribute`, a dict's key as an attribute; `.module`: tap_centaur's."""
    module, _, path = target.partition(":")
    found: t.Any = importlib.import_module(module, "tap_centaur")
    for part in filter(None, path.split(".")):
        found = found[part] if isinstance(found, dict) else getattr(found, part)
    return found


def _patch(target: str, new: New) -> None:
    cut = max(target.rfind("."), target.rfind(":"))
    owner, name = _load(target[:cut]), target[cut + 1 :]
    if isinstance(owner, dict):
        owner[name] = new(owner[name])
    else:
        setattr(owner, name, new(getattr(owner, name)))


def const(value: object) -> New:
    return lambda _original: value


def caught(error: str, fallback: t.Callable[..., t.Any] = lambda *_: None) -> New:
    """The original, but `fallback(error, *args)` where it raises `error`."""

    def new(original: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        def replacement(*args: t.Any) -> t.Any:
            try:
                return original(*args)
            except _load(error) as raised:
                return fallback(raised, *args)

        return replacement

    return new


def _bookmark_after_first_page(take):
    def _take(self, partition, page):
        yield from take(self, partition, page)
        if partition.pages == 1 and partition.bookmark:
            self._set_bookmark(partition)
            self._flush_state()

    return _take


def _log_token(login):
    def _login(self):
        token = login(self)
        logging.getLogger("tap-centaur").debug("Logged in; session token %s", token)
        return token

    return _login


def _empty_results_page(error, response):
    if "/results/" not in (response.request.url or ""):
        raise error
    return {"payload": []}


def _parse_if_later_than_now(error, name, value):
    if "later than now" not in str(error):
        raise error
    return _load(".clock:parse_start_date")(str(value))


def _mask_whole_message(keep):  # the log filter masks what `excerpt` cut unmasked
    redact = _load(".redaction:redact")

    def filter(self, record):
        record.msg, record.args = redact(record.getMessage()), None
        return keep(self, record)

    return filter


def _echo_bad_scheme(check):
    def api_url(name, value):
        if isinstance(value, str) and not value.startswith(("http://", "https://")):
            raise _load(".errors:ConfigError")(name, f"{value!r} is not an http(s) URL.")
        return check(name, value)

    return api_url


def _unbounded(schema):  # in place: the SDK checks this schema too
    def strip(node):
        return {key: value for key, value in node.items() if key not in ("minimum", "maximum")}

    schema.update(json.loads(json.dumps(schema), object_hook=strip))
    return schema


def _digits_to_int(value):
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return [_digits_to_int(item) for item in value] if isinstance(value, list) else value


def _digits_converted(convert):
    def convert_digits(obj, *args, **kwargs):
        if isinstance(obj, dict):
            obj = {key: _digits_to_int(value) for key, value in obj.items()}
        return convert(obj, *args, **kwargs)

    return convert_digits


def _reset_budget(renew):
    def _renew(self, *args):
        self._renewals_unused = 0
        renew(self, *args)

    return _renew


def _422_as_task_error(check):
    def check_status(response, where):
        if response.status_code == 422:
            error = _load(".errors:CentaurAPIError")
            raise error(f"the API answered HTTP 422: {response.text[:80]}")
        check(response, where)

    return check_status


CONFIG_ERROR = ".errors:ConfigError"
FILTER_OFF = (".redaction:RedactingFilter.filter", const(lambda self, record: True))
IDENTITY = const(lambda text: text)
SABOTAGES: dict[str, Patch | list[Patch]] = {
    "truncated_page_is_empty": (
        ".pages:decode_json",
        caught(".errors:TransientResponseError", _empty_results_page),
    ),
    "premature_bookmark": (".engine:ResultsSync._take", _bookmark_after_first_page),
    "updated_after_rounded_up": (
        ".engine:format_updated_after",
        lambda fmt: lambda moment: fmt(moment + timedelta(seconds=1)),
    ),
    "bad_start_date_ignored": (".setting_checks:CHECKS.start_date", caught(CONFIG_ERROR)),
    "bad_cursor_ends_task": (
        ".client:SequenceIdPaginator.get_next",
        caught(".errors:CentaurAPIError"),
    ),
    "redaction_off": [FILTER_OFF, (".redaction:redact", IDENTITY)],
    "token_logged": [FILTER_OFF, (".auth:CentaurAuth._login", _log_token)],
    "bookmark_from_server_clock": (
        ".clock:RequestTime.bookmark",
        const(lambda self, _: self.server_before and self.server_before.replace(microsecond=0)),
    ),
    "future_bookmark_trusted": (".clock:RequestTime.is_future", const(lambda self, moment: False)),
    "redirects_followed_anywhere": (
        ".session:ApiSession.get_redirect_target",
        lambda _: _load("requests:Session.get_redirect_target"),
    ),
    "state_not_checked": [
        (".tap:normalise_state", const(lambda state, where: state)),
        (".tap:read_state_text", const(lambda read, where: json.loads(read()))),
    ],
    "output_errors_unexplained": (".output:output_failure", const(lambda error: None)),
    "tls_failures_retried": (".retry:_never_retried", const(lambda exc: False)),
    "logout_skipped": (".auth:CentaurAuth.logout", const(lambda self: None)),
    "secret_forms_unmasked": (".redaction:forms_of", const(lambda secret: {secret})),
    "excerpt_not_masked": [
        (".redaction:RedactingFilter.filter", _mask_whole_message),
        (".redaction:redact", IDENTITY),
    ],
    "server_text_unescaped": (".redaction:escape", IDENTITY),
    "server_text_unbounded": (".redaction:excerpt.__defaults__", const((10**9,))),
    "failure_summary_unbounded": (".errors:FAILURES_LISTED", const(10**9)),
    "credentials_taken_as_given": [
        (f".setting_checks:CHECKS.{name}", const(lambda name, value: value or None))
        for name in ("api_key", "username", "api_password", "bearer_token")
    ],
    "api_url_echoed": (".setting_checks:CHECKS.api_url", _echo_bad_scheme),
    "bounds_unchecked": (".settings:CONFIG_SCHEMA", _unbounded),
    "schema_not_checked": (".settings:_check_schema", const(lambda config: None)),
    "unicode_digits_parsed": [
        (".setting_checks:check_environment", const(lambda environ, prefix, names: None)),
        ("msgspec:convert", _digits_converted),
    ],
    "log_level_unchecked": (".setting_checks:check_log_level", const(lambda environ, prefix: None)),
    "login_budget_reset": (".auth:CentaurAuth._renew", _reset_budget),
    "unprocessable_is_task_error": (".client:check_status", _422_as_task_error),
    "future_start_date_accepted": (
        ".setting_checks:CHECKS.start_date",
        caught(CONFIG_ERROR, _parse_if_later_than_now),
    ),
    "decoded_cost_ignored": (".session:VALUE_COST", const(0)),
    "size_cap_off": (  # a petabyte: nothing is ever too large
        ".session:ApiSession.__init__",
        lambda init: lambda self, *args: init(self, *args[:2], 1 << 30),
    ),
    "empty_pages_unbounded": (
        ".client:SequenceIdPaginator.__init__",
        lambda init: lambda self, max_empty_pages: init(self, sys.maxsize),
    ),
    "nesting_unchecked": (".pages:MAX_NESTING", const(10**9)),  # msgspec's limit only
    "json_errors_unexplained": (".pages:_json_problem", const(lambda content, error: None)),
    # whole lines, but 64 KiB at a time: not atomic
    "pipe_writes_not_atomic": (".output:PIPE_BUF", lambda _: _load(".output:BUFFER_BYTES")),
    "signal_exit_waits": ("os:_exit", const(sys.exit)),  # as before issue 19
}

_name = os.environ.get("TAP_CENTAUR_SABOTAGE")
_patches = SABOTAGES[_name] if _name else []
for _target, _new in _patches if isinstance(_patches, list) else [_patches]:
    _patch(_target, _new)
